/*
 * html.h - HTML to readable plain text (libxml2's HTML parser)
 *
 * DESCRIPTION
 *	mugai_html_to_text() renders an HTML document, already converted to
 *	UTF-8 by the caller, as plain text a person can read: paragraphs,
 *	line breaks, headings, lists and tables stay readable; entities are
 *	decoded; script, style, head, comments, forms, frames, objects and
 *	embeds are dropped; images are reduced to their alt text.  Each link
 *	keeps its text, and its target is written after it in the form the
 *	MugaiLinkMode asks for:
 *
 *	    DEFANG  text [hxxps://example[.]com/path]
 *	    SHOW    text [https://example.com/path]
 *	    DROP    text
 *
 *	When the visible text of a link is itself a URL or host name whose
 *	host differs from the real target's host (a classic phishing trick),
 *	the target is preceded by the warning mark "(!) " and the link is
 *	counted in MugaiHtmlStats.links_mismatch, in every mode but DROP,
 *	where the mismatch is still counted.  Targets with a script-capable
 *	scheme (javascript:, vbscript:, data:) are never written out: the
 *	link is shown as "text [リンク（スクリプト）を削除しました]" ("text
 *	[script link removed]" in English).  In fact only http, https, ftp,
 *	mailto, tel and relative targets are written; for any other scheme
 *	(file:, ms-msdt:, ...) only the scheme is shown: "text [file:]".  A
 *	link whose text is its own target is written once, as the target
 *	("hxxps://example[.]com/path").
 *
 *	URLs in the document's text (outside a link, or as the text of a
 *	link to elsewhere) are written defanged like targets when the
 *	options ask for it (MUGAI_TEXT_LINKS_DEFANG; see url.h for what
 *	counts as a URL in text).  The URL code itself is in url.c.
 *
 *	mugai_html_meta_charset() finds the charset a document declares for
 *	itself (<meta charset> or <meta http-equiv="Content-Type">) in its
 *	first 4096 octets, for the caller to use when the MIME part names none.
 *
 * LIMITS
 *	The output is cut at max_output octets (at a UTF-8 character
 *	boundary) and stats->truncated is set; it is set too when libxml2
 *	stopped building the tree early (more than 256 nested elements, a
 *	text node over 10 MB), since the text is then incomplete.  The other
 *	statistics always cover the whole document.  The DOM walk is
 *	iterative or bounded in depth, so a deeply nested document cannot
 *	exhaust the stack.  Network access is disabled in the parser
 *	(HTML_PARSE_NONET).
 *
 * ERRORS
 *	Returns FALSE with MUGAI_HTML_ERROR only when libxml2 cannot build a
 *	document at all; the caller then removes the part (fail closed).
 *
 * THREAD SAFETY
 *	Reentrant; libxml2 must have been initialised (xmlInitParser) once.
 */
#pragma once

#include <glib.h>

#include "url.h"

typedef enum
{
  MUGAI_LINKS_DEFANG,
  MUGAI_LINKS_SHOW,
  MUGAI_LINKS_DROP
} MugaiLinkMode;

typedef struct
{
  guint links;           /* <a href> (and <area href>) elements seen */
  guint links_mismatch;  /* visible URL differs from the target */
  guint scripts;         /* script/style/object/embed/applet/iframe/frame dropped
                          * (also template, frameset; in <head> and <svg> too) */
  guint forms;           /* form elements (controls dropped, labels kept) */
  guint images;          /* img elements (replaced by alt text) */
  gboolean truncated;    /* output cut at max_output, or the parse stopped early */
} MugaiHtmlStats;

#define MUGAI_HTML_ERROR (mugai_html_error_quark ())
GQuark mugai_html_error_quark (void);

typedef enum
{
  MUGAI_HTML_ERROR_PARSE,
  /* past MugaiHtmlBounds: the caller removes the part as over a limit */
  MUGAI_HTML_ERROR_ATTRIBUTES, /* an element with more than max_attributes */
  MUGAI_HTML_ERROR_BUDGET      /* still parsing at the deadline */
} MugaiHtmlError;

/* What one part's rendering may cost, checked before and while libxml2
 * parses it (mugai-limits.h says why). */
typedef struct
{
  guint max_attributes; /* most attributes on one element (a pre-scan of
                         * the octets); 0: no limit */
  gint64 deadline;      /* g_get_monotonic_time() by which the parse must
                         * be over (checked every 4 KB libxml2 reads); 0: none */
} MugaiHtmlBounds;

typedef struct
{
  MugaiLinkMode links;
  MugaiTextLinks text_links;     /* URLs written as text (default: defanged) */
  gboolean english;              /* mugai's own words ("script link removed") in English */
  gsize max_output;
  const MugaiHtmlBounds *bounds; /* borrowed; NULL: no bounds */
} MugaiHtmlOptions;

/* stats may be NULL.  On failure *out_text and *stats are left untouched.
 * With options->bounds: FALSE with MUGAI_HTML_ERROR_ATTRIBUTES when an
 * element has more than bounds->max_attributes attributes (found by a
 * pre-scan before libxml2 is called, or when libxml2 reaches the element,
 * before it builds it), MUGAI_HTML_ERROR_BUDGET when the parse was still
 * running at bounds->deadline (it is stopped there). */
gboolean mugai_html_render (const char *utf8_html, gsize len, const MugaiHtmlOptions *options,
                            char **out_text, MugaiHtmlStats *stats, GError **error);

/* mugai_html_render() with links and max_output, URLs in the text left
 * as they are, Japanese words. */
gboolean mugai_html_to_text (const char *utf8_html, gsize len, MugaiLinkMode links,
                             gsize max_output, char **out_text, MugaiHtmlStats *stats,
                             GError **error);

/* Returns the declared charset (owned, lower case) or NULL. */
char *mugai_html_meta_charset (const char *data, gsize len);

/* mugai_url_defang(), under its older name. */
char *mugai_html_defang_url (const char *url);
