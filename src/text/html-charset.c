/*
 * html-charset.c - the charset an HTML document declares for itself
 *
 * SYNOPSIS
 *	char *mugai_html_meta_charset (const char *data, gsize len);
 *
 * DESCRIPTION
 *	A simplified form of the HTML encoding prescan (HTML 13.2.3.2):
 *	<meta charset> or <meta http-equiv="Content-Type" content="...;
 *	charset=...">, in the first HTML_META_WINDOW octets, for the caller
 *	to use when the MIME part names none.  Comments and other tags'
 *	attribute values are skipped, so a "<meta charset" inside them is
 *	not believed; a tag cut by the end of the window is not believed
 *	either.  As in HTML, a declared UTF-16 is answered as "utf-8": the
 *	bytes scanned were ASCII-compatible, so they are not UTF-16.
 *
 * OWNERSHIP
 *	The name returned is owned by the caller, lower case; NULL when
 *	there is none, or it is not a plausible charset name.
 *
 * LIMITS
 *	HTML_META_WINDOW octets are looked at; a name is at most
 *	HTML_MAX_CHARSET octets of letters, digits and ".:_-".
 *
 * THREAD SAFETY
 *	Reentrant; libxml2 is not used.
 */
#include "html.h"

#include <string.h>

/* HTML's encoding prescan looks at the first 1024 octets; we allow more
 * because mail generators put long comments and styles first. */
#define HTML_META_WINDOW 4096

/* Longest IANA charset name is 45 ("Extended_UNIX_Code_Fixed_Width_for_
 * Japanese"); no encoder we would use has more than 40. */
#define HTML_MAX_CHARSET 40

/* ---------------------------------------------------------------------- */
/* <meta> charset prescan (HTML 13.2.3.2, simplified) */

static gboolean
is_prescan_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static gboolean
has_prefix_ci (const char *s, gsize len, const char *prefix)
{
  gsize n = strlen (prefix);

  return len >= n && g_ascii_strncasecmp (s, prefix, n) == 0;
}

typedef struct
{
  const char *name;
  gsize name_len;
  const char *value;
  gsize value_len;
} Attr;

typedef enum
{
  ATTR_FOUND, /* *a filled, *pos after it */
  ATTR_CLOSE, /* ">" reached, *pos after it */
  ATTR_CUT    /* the window ended inside the tag */
} AttrResult;

/* HTML's "get an attribute" over d[*pos..n).  A tag cut by the end of the
 * window is not believed: what follows might change its meaning. */
static AttrResult
prescan_attr (const char *d, gsize n, gsize *pos, Attr *a)
{
  gsize i = *pos;

  memset (a, 0, sizeof *a);
  while (i < n && (is_prescan_space (d[i]) || d[i] == '/'))
    i++;
  if (i >= n)
    return ATTR_CUT;
  if (d[i] == '>')
    {
      *pos = i + 1;
      return ATTR_CLOSE;
    }
  a->name = d + i;
  while (i < n && !is_prescan_space (d[i]) && d[i] != '/' && d[i] != '>'
         && (d[i] != '=' || i == (gsize)(a->name - d)))
    i++;
  a->name_len = (d + i) - a->name;
  while (i < n && is_prescan_space (d[i]))
    i++;
  if (i >= n)
    return ATTR_CUT;
  if (d[i] != '=')
    {
      *pos = i;
      return ATTR_FOUND;
    }
  i++;
  while (i < n && is_prescan_space (d[i]))
    i++;
  if (i >= n)
    return ATTR_CUT;
  if (d[i] == '"' || d[i] == '\'')
    {
      char q = d[i++];

      a->value = d + i;
      while (i < n && d[i] != q)
        i++;
      if (i >= n)
        return ATTR_CUT;
      a->value_len = (d + i) - a->value;
      i++;
    }
  else
    {
      a->value = d + i;
      while (i < n && !is_prescan_space (d[i]) && d[i] != '>')
        i++;
      if (i >= n)
        return ATTR_CUT;
      a->value_len = (d + i) - a->value;
    }
  *pos = i;
  return ATTR_FOUND;
}

static gboolean
attr_is (const Attr *a, const char *name)
{
  return a->name_len == strlen (name) && g_ascii_strncasecmp (a->name, name, a->name_len) == 0;
}

/* The charset named by the sender, checked and lower-cased, or NULL. */
static char *
charset_checked (const char *s, gsize len)
{
  gsize i;

  while (len > 0 && is_prescan_space (*s))
    {
      s++;
      len--;
    }
  while (len > 0 && is_prescan_space (s[len - 1]))
    len--;
  if (len == 0 || len > HTML_MAX_CHARSET)
    return NULL;
  for (i = 0; i < len; i++)
    if (!g_ascii_isalnum (s[i]) && s[i] != '.' && s[i] != '_' && s[i] != ':' && s[i] != '-')
      return NULL;
  /* HTML: the prescan only ever sees ASCII-compatible octets. */
  if (has_prefix_ci (s, len, "utf-16"))
    return g_strdup ("utf-8");
  return g_ascii_strdown (s, len);
}

/* HTML "extracting a character encoding from a meta element". */
static char *
charset_from_content (const char *s, gsize len)
{
  gsize i = 0;

  while (i + 7 <= len)
    {
      gsize j;

      if (g_ascii_strncasecmp (s + i, "charset", 7) != 0)
        {
          i++;
          continue;
        }
      j = i + 7;
      while (j < len && is_prescan_space (s[j]))
        j++;
      if (j >= len || s[j] != '=')
        {
          i = j;
          continue;
        }
      j++;
      while (j < len && is_prescan_space (s[j]))
        j++;
      if (j < len && (s[j] == '"' || s[j] == '\''))
        {
          char q = s[j++];
          gsize e = j;

          while (e < len && s[e] != q)
            e++;
          if (e >= len)
            return NULL;
          return charset_checked (s + j, e - j);
        }
      else
        {
          gsize e = j;

          while (e < len && !is_prescan_space (s[e]) && s[e] != ';')
            e++;
          return charset_checked (s + j, e - j);
        }
    }
  return NULL;
}

char *
mugai_html_meta_charset (const char *data, gsize len)
{
  gsize n = MIN (len, HTML_META_WINDOW);
  gsize i = 0;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  while (i < n)
    {
      const char *c = data + i;
      gsize rest = n - i;

      if (*c != '<')
        {
          i++;
          continue;
        }
      if (has_prefix_ci (c, rest, "<!--"))
        {
          const char *e = g_strstr_len (c + 4, rest - 4, "-->");

          i = e != NULL ? (gsize)(e - data) + 3 : n;
          continue;
        }
      if (has_prefix_ci (c, rest, "<meta") && rest > 5 && (is_prescan_space (c[5]) || c[5] == '/'))
        {
          Attr a;
          const char *charset = NULL;
          gsize charset_len = 0;
          const char *content = NULL;
          gsize content_len = 0;
          gboolean pragma = FALSE;
          AttrResult res;

          i += 5;
          while ((res = prescan_attr (data, n, &i, &a)) == ATTR_FOUND)
            {
              if (attr_is (&a, "charset") && charset == NULL && a.value != NULL)
                {
                  charset = a.value;
                  charset_len = a.value_len;
                }
              else if (attr_is (&a, "content") && content == NULL && a.value != NULL)
                {
                  content = a.value;
                  content_len = a.value_len;
                }
              else if (attr_is (&a, "http-equiv") && a.value != NULL && a.value_len == 12
                       && g_ascii_strncasecmp (a.value, "content-type", 12) == 0)
                pragma = TRUE;
            }
          if (res == ATTR_CUT)
            return NULL;
          /* Not usable: HTML goes on to the next <meta>. */
          if (charset != NULL)
            {
              char *found = charset_checked (charset, charset_len);

              if (found != NULL)
                return found;
            }
          else if (pragma && content != NULL)
            {
              char *found = charset_from_content (content, content_len);

              if (found != NULL)
                return found;
            }
          continue;
        }
      if (rest > 1
          && (g_ascii_isalpha (c[1]) || (rest > 2 && c[1] == '/' && g_ascii_isalpha (c[2]))))
        {
          Attr a;
          AttrResult res;

          /* Another tag: its attribute values may hold "<meta". */
          i++;
          while (i < n && !is_prescan_space (data[i]) && data[i] != '>')
            i++;
          while ((res = prescan_attr (data, n, &i, &a)) == ATTR_FOUND)
            ;
          if (res == ATTR_CUT)
            return NULL;
          continue;
        }
      if (rest > 1 && (c[1] == '!' || c[1] == '/' || c[1] == '?'))
        {
          const char *e = memchr (c, '>', rest);

          i = e != NULL ? (gsize)(e - data) + 1 : n;
          continue;
        }
      i++;
    }
  return NULL;
}
