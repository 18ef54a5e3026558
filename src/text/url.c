/*
 * url.c - URLs in mail text: cleaned, classified, neutralised (see url.h)
 *
 * NAME
 *	mugai_url_scheme_len, mugai_url_scheme_is, mugai_url_classify,
 *	mugai_url_clean, mugai_url_defang, mugai_url_defang_text,
 *	mugai_url_target_host, mugai_url_visible_host, mugai_url_text_token,
 *	mugai_url_same
 *
 * DESCRIPTION
 *	Hosts are found the way a browser finds them (WHATWG URL: any
 *	number of "/" or "\" after a special scheme, userinfo before the
 *	last "@").  Defanging writes "hxxp", "hxxps", "fxp" (the letters
 *	keep their case), "[.]" for every dot of the host (and the
 *	ideographic full stops IDNA takes for dots), "[@]" in mailto:
 *	addresses; the rest of the URL is kept, so a reader can still see
 *	where it went.
 *
 *	In text (mugai_url_defang_text), a URL starts at "http://",
 *	"https://", "ftp://" (any case) or "www." followed by a letter or
 *	digit, not preceded by a letter, digit, "+", "-" or "."; it runs over
 *	ASCII characters a URL may hold (RFC 3986 2, and "%") and stops at
 *	white space, a control, a non-ASCII character (Japanese text often
 *	follows a URL with no space) or one of <>"`{}|\^; trailing ".,;:!?'"
 *	and closing brackets without an opening one in the URL are not part
 *	of it (they end the sentence).
 *
 * OWNERSHIP
 *	Every string returned is owned by the caller (g_free).
 *
 * LIMITS
 *	URL_MAX_TARGET for a cleaned target; all else linear in the input.
 *
 * THREAD SAFETY
 *	Reentrant.
 */
#include "url.h"

#include <string.h>

/* A written link target, octets.  The host comes first, so a padded
 * target still shows where it goes. */
#define URL_MAX_TARGET 2048

/* C0, DEL and C1. */
static gboolean
is_control (gunichar c)
{
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* Characters that are invisible or look like a space: inside a URL they
 * only serve to mislead, so a written target shows them percent-encoded. */
static gboolean
is_deceptive (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_FORMAT:
    case G_UNICODE_SPACE_SEPARATOR:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Length of a leading "scheme" (RFC 3986 3.1) followed by ':', or 0. */
gsize
mugai_url_scheme_len (const char *s, gsize len)
{
  gsize i;

  if (len == 0 || !g_ascii_isalpha (s[0]))
    return 0;
  for (i = 1; i < len; i++)
    {
      if (s[i] == ':')
        return i;
      if (!g_ascii_isalnum (s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.')
        return 0;
    }
  return 0;
}

gboolean
mugai_url_scheme_is (const char *s, gsize scheme_len, const char *name)
{
  return scheme_len == strlen (name) && g_ascii_strncasecmp (s, name, scheme_len) == 0;
}

/* Schemes for which browsers accept any number of "/" or "\" before the
 * host, and "http:host" (WHATWG URL, "special schemes"). */
static gboolean
scheme_is_special (const char *s, gsize scheme_len)
{
  return mugai_url_scheme_is (s, scheme_len, "http") || mugai_url_scheme_is (s, scheme_len, "https")
         || mugai_url_scheme_is (s, scheme_len, "ftp") || mugai_url_scheme_is (s, scheme_len, "ws")
         || mugai_url_scheme_is (s, scheme_len, "wss");
}

typedef struct
{
  gsize scheme_len; /* 0: none */
  gsize auth_start; /* authority (userinfo@host:port); empty if none */
  gsize auth_end;
  gsize host_start;
  gsize host_end;
} UrlSpan;

static gboolean
is_slash (char c)
{
  return c == '/' || c == '\\';
}

/* Finds the host the way a browser would.  With no_scheme_host, a
 * scheme-less reference that does not start with "/" is taken to start
 * with a host ("www.example.com/x"), as mail clients do when they turn
 * text into links. */
static void
url_split (const char *s, gsize len, gboolean no_scheme_host, UrlSpan *u)
{
  gsize i = 0;
  gsize k;
  gboolean authority = FALSE;

  memset (u, 0, sizeof *u);
  u->scheme_len = mugai_url_scheme_len (s, len);
  if (u->scheme_len > 0)
    {
      i = u->scheme_len + 1;
      if (scheme_is_special (s, u->scheme_len))
        {
          while (i < len && is_slash (s[i]))
            i++;
          authority = TRUE;
        }
    }
  if (!authority && i + 1 < len && is_slash (s[i]) && is_slash (s[i + 1]))
    {
      i += 2;
      authority = TRUE;
    }
  if (!authority && u->scheme_len == 0 && no_scheme_host && i < len && !is_slash (s[i]))
    authority = TRUE;

  u->auth_start = u->auth_end = u->host_start = u->host_end = i;
  if (!authority)
    return;

  while (i < len && !is_slash (s[i]) && s[i] != '?' && s[i] != '#')
    i++;
  u->auth_end = i;

  u->host_start = u->auth_start;
  for (k = u->auth_start; k < u->auth_end; k++)
    if (s[k] == '@')
      u->host_start = k + 1;

  k = u->host_start;
  if (k < u->auth_end && s[k] == '[')
    {
      while (k < u->auth_end && s[k] != ']')
        k++;
      if (k < u->auth_end)
        k++;
    }
  else
    {
      while (k < u->auth_end && s[k] != ':')
        k++;
    }
  u->host_end = k;
}

/* Appends s[0..len) with every host dot written as "[.]", counting the
 * ideographic full stops that IDNA treats as dots (UTS #46). */
static void
append_defanged_host (GString *out, const char *s, gsize len)
{
  const char *p = s;
  const char *end = s + len;

  while (p < end)
    {
      if (*p == '.')
        {
          g_string_append (out, "[.]");
          p++;
        }
      else if (end - p >= 3
               && (memcmp (p, "\xe3\x80\x82", 3) == 0      /* U+3002 */
                   || memcmp (p, "\xef\xbc\x8e", 3) == 0   /* U+FF0E */
                   || memcmp (p, "\xef\xbd\xa1", 3) == 0)) /* U+FF61 */
        {
          g_string_append (out, "[.]");
          p += 3;
        }
      else
        {
          g_string_append_c (out, *p);
          p++;
        }
    }
}

char *
mugai_url_defang (const char *url)
{
  GString *out;
  UrlSpan u;
  gsize len;
  gsize i;

  g_return_val_if_fail (url != NULL, NULL);

  len = strlen (url);
  out = g_string_sized_new (len + 16);
  url_split (url, len, TRUE, &u);

  i = 0;
  if (u.scheme_len > 0)
    {
      /* "hxxp", "hxxps", "fxp": the letters keep their case. */
      if (mugai_url_scheme_is (url, u.scheme_len, "http")
          || mugai_url_scheme_is (url, u.scheme_len, "https"))
        {
          g_string_append_c (out, url[0]);
          g_string_append_c (out, g_ascii_isupper (url[1]) ? 'X' : 'x');
          g_string_append_c (out, g_ascii_isupper (url[2]) ? 'X' : 'x');
          g_string_append_len (out, url + 3, u.scheme_len - 3);
        }
      else if (mugai_url_scheme_is (url, u.scheme_len, "ftp"))
        {
          g_string_append_c (out, url[0]);
          g_string_append_c (out, g_ascii_isupper (url[1]) ? 'X' : 'x');
          g_string_append_c (out, url[2]);
        }
      else
        g_string_append_len (out, url, u.scheme_len);
      g_string_append_c (out, ':');
      i = u.scheme_len + 1;

      if (mugai_url_scheme_is (url, u.scheme_len, "mailto"))
        {
          /* RFC 6068: addresses up to "?", separated by ",".  Every "@" is
           * broken (a bare address in a header field of the query would
           * be turned into a link too), dots only in the domains. */
          gboolean domain = FALSE;
          gboolean query = FALSE;

          for (; i < len; i++)
            {
              char c = url[i];

              if (c == '?')
                query = TRUE;
              if (c == '@')
                {
                  g_string_append (out, "[@]");
                  domain = !query;
                  continue;
                }
              if (c == ',' || c == '?')
                domain = FALSE;
              if (c == '.' && domain)
                g_string_append (out, "[.]");
              else
                g_string_append_c (out, c);
            }
          return g_string_free (out, FALSE);
        }
    }

  g_string_append_len (out, url + i, u.host_start - i);
  append_defanged_host (out, url + u.host_start, u.host_end - u.host_start);
  g_string_append (out, url + u.host_end);
  return g_string_free (out, FALSE);
}

static gboolean
has_non_ascii (const char *s, gsize len)
{
  gsize i;

  for (i = 0; i < len; i++)
    if ((guchar)s[i] >= 0x80)
      return TRUE;
  return FALSE;
}

/* The target as it may be written: leading and trailing C0/space removed
 * and tab/newline dropped anywhere (WHATWG URL parsing does the same, so
 * "java\tscript:" is javascript:), other controls dropped (they cannot
 * reach the output), and characters that could mislead a reader or break
 * the "[...]" framing percent-encoded: space, "[" and "]" outside an IPv6
 * literal, format and space characters (bidi overrides, U+3000).  A
 * non-ASCII host is written in its IDNA ASCII form ("xn--...").
 * *cut is set when the result was shortened to URL_MAX_TARGET. */
char *
mugai_url_clean (const char *raw, gboolean *cut)
{
  g_autoptr (GString) bare = g_string_new (NULL);
  GString *out;
  UrlSpan u;
  const char *p;
  const char *end;

  *cut = FALSE;
  for (p = raw; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (is_control (c))
        continue;
      if (c == ' ' && bare->len == 0)
        continue;
      /* Encoding only lengthens, so this is enough to reach the cap. */
      if (bare->len > 2 * URL_MAX_TARGET)
        break;
      g_string_append_len (bare, p, g_utf8_next_char (p) - p);
    }
  while (bare->len > 0 && bare->str[bare->len - 1] == ' ')
    g_string_truncate (bare, bare->len - 1);

  url_split (bare->str, bare->len, FALSE, &u);
  if (has_non_ascii (bare->str + u.host_start, u.host_end - u.host_start))
    {
      /* "bаnk.example.jp" with a Cyrillic "а" looks like the real host;
       * its ASCII form (what the browser resolves) does not. */
      g_autofree char *host = g_strndup (bare->str + u.host_start, u.host_end - u.host_start);
      g_autofree char *ascii = g_hostname_to_ascii (host);

      if (ascii != NULL)
        {
          g_string_erase (bare, u.host_start, u.host_end - u.host_start);
          g_string_insert (bare, u.host_start, ascii);
          url_split (bare->str, bare->len, FALSE, &u);
        }
    }
  out = g_string_sized_new (bare->len + 8);
  p = bare->str;
  end = bare->str + bare->len;
  while (p < end)
    {
      gsize at = p - bare->str;
      const char *next = g_utf8_next_char (p);
      gunichar c = g_utf8_get_char (p);
      gboolean in_host = at >= u.host_start && at < u.host_end;

      if (out->len >= URL_MAX_TARGET)
        {
          *cut = TRUE;
          break;
        }
      if (c == ' ' || ((c == '[' || c == ']') && !in_host) || (c >= 0x80 && is_deceptive (c)))
        {
          for (; p < next; p++)
            g_string_append_printf (out, "%%%02X", (guchar)*p);
          continue;
        }
      g_string_append_len (out, p, next - p);
      p = next;
    }
  return g_string_free (out, FALSE);
}

/* Host in comparable form: IDNA ASCII, lower case, no trailing dot, no
 * leading "www.".  Takes the span's raw host. */
static char *
host_normalize (const char *host, gsize len)
{
  g_autofree char *raw = NULL;
  g_autofree char *ascii = NULL;
  const char *h;
  gsize n;

  while (len > 0 && host[len - 1] == '.')
    len--;
  if (len == 0)
    return NULL;
  raw = g_strndup (host, len);
  if (!g_utf8_validate (raw, -1, NULL))
    return NULL;
  ascii = g_hostname_to_ascii (raw);
  h = ascii != NULL ? ascii : raw;
  n = strlen (h);
  while (n > 0 && h[n - 1] == '.')
    n--;
  if (n >= 4 && g_ascii_strncasecmp (h, "www.", 4) == 0)
    {
      h += 4;
      n -= 4;
    }
  if (n == 0)
    return NULL;
  return g_ascii_strdown (h, n);
}

/* Domain of the first address of a mailto: body, or of a bare address. */
static char *
address_domain (const char *s, gsize len)
{
  const char *at = NULL;
  gsize i;

  for (i = 0; i < len && s[i] != '?' && s[i] != ','; i++)
    if (s[i] == '@')
      at = s + i;
  if (at == NULL)
    return NULL;
  return host_normalize (at + 1, (s + i) - (at + 1));
}

/* Host of a link target (already cleaned), or NULL for relative targets
 * and schemes without a host. */
char *
mugai_url_target_host (const char *href)
{
  gsize len = strlen (href);
  UrlSpan u;

  url_split (href, len, FALSE, &u);
  if (mugai_url_scheme_is (href, u.scheme_len, "mailto"))
    return address_domain (href + u.scheme_len + 1, len - u.scheme_len - 1);
  if (u.host_end == u.host_start)
    return NULL;
  return host_normalize (href + u.host_start, u.host_end - u.host_start);
}

/* File name extensions that would otherwise pass for a top-level domain
 * in link text such as "report.pdf". */
static gboolean
is_file_extension (const char *tld, gsize len)
{
  static const char *const ext[] = {
    "asp", "aspx", "bat",  "bin", "cgi", "cmd", "csv",  "doc", "docm", "docx", "exe", "gif",
    "gz",  "htm",  "html", "ics", "img", "iso", "jpeg", "jpg", "js",   "jsp",  "lnk", "mov",
    "mp3", "mp4",  "msg",  "msi", "one", "pdf", "php",  "png", "ppt",  "pptx", "ps1", "rar",
    "rtf", "svg",  "tar",  "tgz", "txt", "vbs", "wav",  "xls", "xlsm", "xlsx", "xml", "zip",
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (ext); i++)
    if (strlen (ext[i]) == len && g_ascii_strncasecmp (tld, ext[i], len) == 0)
      return TRUE;
  return FALSE;
}

/* "city.example.jp": at least two labels, letters/digits/hyphens (or
 * non-ASCII, for IDN), and a top-level label of two or more letters that
 * is not a common file extension. */
static gboolean
looks_like_domain (const char *s, gsize len)
{
  gsize i;
  gsize label = 0;
  gsize labels = 1;
  gsize tld = 0;
  gboolean tld_alpha = TRUE;

  if (len == 0)
    return FALSE;
  for (i = 0; i < len; i++)
    {
      guchar c = s[i];

      if (c == '.')
        {
          if (label == 0)
            return FALSE;
          labels++;
          label = 0;
          tld = i + 1;
          tld_alpha = TRUE;
          continue;
        }
      if (!(g_ascii_isalnum (c) || c == '-' || c >= 0x80))
        return FALSE;
      if (!(g_ascii_isalpha (c) || c >= 0x80))
        tld_alpha = FALSE;
      label++;
    }
  return labels >= 2 && label >= 2 && tld_alpha && !is_file_extension (s + tld, len - tld);
}

/* Host named by link text, or NULL if the text does not look like a URL,
 * an address or a host name.  The text is one token already normalised
 * (NFKC, no white space). */
char *
mugai_url_visible_host (const char *text)
{
  gsize len = strlen (text);
  const char *s = text;
  UrlSpan u;
  gsize i;

  /* Brackets and sentence punctuation around a URL are not part of it. */
  while (len > 0 && strchr ("(<[\"'", s[0]) != NULL)
    {
      s++;
      len--;
    }
  while (len > 0 && strchr (")>]\"'.,;:!?", s[len - 1]) != NULL)
    len--;
  if (len == 0)
    return NULL;

  url_split (s, len, FALSE, &u);
  if (u.scheme_len > 0 && u.auth_end > u.auth_start)
    {
      if (!scheme_is_special (s, u.scheme_len))
        return NULL;
      return host_normalize (s + u.host_start, u.host_end - u.host_start);
    }
  if (u.scheme_len > 0)
    {
      if (mugai_url_scheme_is (s, u.scheme_len, "mailto"))
        return address_domain (s + u.scheme_len + 1, len - u.scheme_len - 1);
      return NULL;
    }

  for (i = 0; i < len && !is_slash (s[i]) && s[i] != '?' && s[i] != '#'; i++)
    if (s[i] == '@')
      return address_domain (s, len);

  url_split (s, len, TRUE, &u);
  if (u.host_end == u.host_start)
    return NULL;
  if (u.host_end - u.host_start > 4 && g_ascii_strncasecmp (s + u.host_start, "www.", 4) == 0)
    return host_normalize (s + u.host_start, u.host_end - u.host_start);
  if (!looks_like_domain (s + u.host_start, u.host_end - u.host_start))
    return NULL;
  return host_normalize (s + u.host_start, u.host_end - u.host_start);
}

/* Link text as one token for comparison: NFKC (fullwidth "ｗｗｗ．" is
 * "www."), invisible format characters removed, trimmed.  NULL when the
 * text has inner white space or nothing is left. */
char *
mugai_url_text_token (const char *text, gsize len)
{
  g_autofree char *nfkc = g_utf8_normalize (text, len, G_NORMALIZE_ALL_COMPOSE);
  GString *out;
  const char *p;

  if (nfkc == NULL)
    return NULL;
  out = g_string_new (NULL);
  for (p = nfkc; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == 0x3002)
        c = '.';
      if (g_unichar_isspace (c) || g_unichar_type (c) == G_UNICODE_SPACE_SEPARATOR)
        {
          if (out->len > 0)
            g_string_append_c (out, ' ');
          continue;
        }
      if (g_unichar_type (c) == G_UNICODE_FORMAT || is_control (c))
        continue;
      g_string_append_unichar (out, c);
    }
  while (out->len > 0 && out->str[out->len - 1] == ' ')
    g_string_truncate (out, out->len - 1);
  if (out->len == 0 || strchr (out->str, ' ') != NULL)
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  return g_string_free (out, FALSE);
}

/* Same URL for the purpose of writing it once: ASCII case and one trailing
 * "/" ignored. */
gboolean
mugai_url_same (const char *a, const char *b)
{
  gsize la = strlen (a);
  gsize lb = strlen (b);

  if (la > 0 && a[la - 1] == '/')
    la--;
  if (lb > 0 && b[lb - 1] == '/')
    lb--;
  return la == lb && la > 0 && g_ascii_strncasecmp (a, b, la) == 0;
}

MugaiUrlKind
mugai_url_classify (const char *href, char **scheme)
{
  gsize len = strlen (href);
  gsize n = mugai_url_scheme_len (href, len);

  *scheme = NULL;
  if (len == 0)
    return MUGAI_URL_NONE;
  if (href[0] == '#')
    return MUGAI_URL_FRAGMENT;
  if (n == 0)
    return MUGAI_URL_WRITABLE;
  if (mugai_url_scheme_is (href, n, "http") || mugai_url_scheme_is (href, n, "https")
      || mugai_url_scheme_is (href, n, "ftp") || mugai_url_scheme_is (href, n, "mailto")
      || mugai_url_scheme_is (href, n, "tel"))
    return MUGAI_URL_WRITABLE;
  *scheme = g_ascii_strdown (href, MIN (n, 32));
  if (mugai_url_scheme_is (href, n, "javascript") || mugai_url_scheme_is (href, n, "vbscript")
      || mugai_url_scheme_is (href, n, "data"))
    return MUGAI_URL_SCRIPT;
  return MUGAI_URL_BLOCKED;
}

/* Length of the URL start at s[0..len) ("https://", "www.x"), or 0. */
static gsize
text_url_start (const char *s, gsize len)
{
  static const char *const schemes[] = { "http://", "https://", "ftp://" };
  for (gsize i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      gsize n = strlen (schemes[i]);
      if (len >= n && g_ascii_strncasecmp (s, schemes[i], n) == 0)
        return n;
    }
  if (len >= 5 && g_ascii_strncasecmp (s, "www.", 4) == 0 && g_ascii_isalnum (s[4]))
    return 4;
  return 0;
}

static gboolean
text_url_char (char c)
{
  return (guchar)c > 0x20 && (guchar)c < 0x7f && !strchr ("<>\"`{}|\\^", c);
}

/* Drops what ends a sentence, not the URL, from s[0..n): returns the
 * new length. */
static gsize
text_url_trim (const char *s, gsize n)
{
  while (n > 0)
    {
      char c = s[n - 1];
      const char *close = strchr (")]}", c);
      if (close && c != '\0')
        {
          char open = c == ')' ? '(' : c == ']' ? '[' : '{';
          gsize opens = 0, closes = 0;
          for (gsize i = 0; i < n; i++)
            opens += s[i] == open, closes += s[i] == c;
          if (opens >= closes)
            break;
        }
      else if (!strchr (".,;:!?'", c) || c == '\0')
        break;
      n--;
    }
  return n;
}

char *
mugai_url_defang_text (const char *text, gsize len, gboolean *changed)
{
  g_return_val_if_fail (text != NULL || len == 0, NULL);

  GString *out = g_string_sized_new (len + 16);
  gsize done = 0;
  gboolean any = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];
      if (!(c == 'h' || c == 'H' || c == 'f' || c == 'F' || c == 'w' || c == 'W'))
        continue;
      if (i > 0 && (g_ascii_isalnum (text[i - 1]) || strchr ("+-.", text[i - 1])))
        continue;
      gsize start = text_url_start (text + i, len - i);
      if (start == 0)
        continue;
      gsize end = i + start;
      while (end < len && text_url_char (text[end]))
        end++;
      end = i + MAX (text_url_trim (text + i, end - i), start);
      g_autofree char *url = g_strndup (text + i, end - i);
      g_autofree char *defanged = mugai_url_defang (url);
      g_string_append_len (out, text + done, (gssize)(i - done));
      g_string_append (out, defanged);
      done = end;
      i = end - 1;
      any = TRUE;
    }
  g_string_append_len (out, text + done, (gssize)(len - done));
  if (changed)
    *changed = any;
  return g_string_free (out, FALSE);
}
