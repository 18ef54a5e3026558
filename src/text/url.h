/*
 * url.h - URLs in mail text: cleaned, classified, neutralised
 *
 * DESCRIPTION
 *	One place for what mugai does with a URL, whether it came from an
 *	HTML link (html.c) or was written as plain text (the core's
 *	textpart.c, and HTML text outside a link):
 *
 *	    mugai_url_clean()      a link target as it may be written
 *	    mugai_url_classify()   which targets are written at all
 *	    mugai_url_defang()     hxxps://example[.]com/path
 *	    mugai_url_defang_text()  every URL in a text, defanged as above
 *	    mugai_url_visible_host(), mugai_url_target_host(),
 *	    mugai_url_text_token(), mugai_url_same()
 *	                           what the phishing check compares
 *
 *	Only the forms a mail client turns into a link are looked for in
 *	text: a scheme that clients link (http, https, ftp; letters in any
 *	case) followed by "://", and a host name starting with "www.".
 *
 * LIMITS
 *	A cleaned target is at most URL_MAX_TARGET (2048) octets (see
 *	url.c).  Everything is linear in the length of its input.
 *
 * THREAD SAFETY
 *	Reentrant; no state.
 */
#pragma once

#include <glib.h>

/* What becomes of URLs written as plain text ([sanitize] text_links). */
typedef enum
{
  MUGAI_TEXT_LINKS_DEFANG, /* written as mugai_url_defang() writes them */
  MUGAI_TEXT_LINKS_KEEP    /* left as they are */
} MugaiTextLinks;

/* Length of a leading "scheme" (RFC 3986 3.1) followed by ':', or 0. */
gsize mugai_url_scheme_len (const char *s, gsize len);

/* s[0..scheme_len) is the scheme name (ASCII case ignored). */
gboolean mugai_url_scheme_is (const char *s, gsize scheme_len, const char *name);

typedef enum
{
  MUGAI_URL_NONE,     /* empty */
  MUGAI_URL_FRAGMENT, /* "#...": a place in the same document */
  MUGAI_URL_SCRIPT,   /* javascript:, vbscript:, data: (runs or carries content) */
  MUGAI_URL_BLOCKED,  /* any other scheme mugai does not write (file:, ms-msdt:, ...) */
  MUGAI_URL_WRITABLE  /* http, https, ftp, mailto, tel, or relative */
} MugaiUrlKind;

/* href: a cleaned target (mugai_url_clean).  *scheme receives the
 * scheme in lower case (owned, at most 32 octets) for SCRIPT and
 * BLOCKED, NULL otherwise. */
MugaiUrlKind mugai_url_classify (const char *href, char **scheme);

/* A link target as it may be written: controls and tabs/newlines
 * dropped (WHATWG URL: "java\tscript:" is javascript:), deceptive
 * characters percent-encoded, a non-ASCII host in its IDNA form; *cut
 * set when shortened to URL_MAX_TARGET.  Owned. */
char *mugai_url_clean (const char *raw, gboolean *cut);

/* The neutralised form of a URL: scheme letters "t" -> "x" for
 * http/https/ftp (hxxp, hxxps, fxp), every "." in the host as "[.]", and
 * "@" as "[@]" in mailto: addresses.  Owned. */
char *mugai_url_defang (const char *url);

/* text[0..len) (UTF-8) with every URL a mail client would link (see
 * DESCRIPTION) replaced by mugai_url_defang() of it; punctuation that
 * ends a sentence after a URL is not part of it.  Owned, NUL-terminated;
 * *changed (may be NULL) tells whether anything was replaced. */
char *mugai_url_defang_text (const char *text, gsize len, gboolean *changed);

/* Host of a cleaned target in comparable form, or NULL (relative
 * targets, schemes without a host). */
char *mugai_url_target_host (const char *href);

/* Host named by link text (one token, see mugai_url_text_token), or
 * NULL when the text does not look like a URL, address or host name. */
char *mugai_url_visible_host (const char *text);

/* Link text as one token for comparison (NFKC, invisible characters
 * dropped, trimmed), or NULL when it holds inner white space. */
char *mugai_url_text_token (const char *text, gsize len);

/* Same URL for the purpose of writing it once: ASCII case and one
 * trailing "/" ignored. */
gboolean mugai_url_same (const char *a, const char *b);
