/*
 * html-input.c - what libxml2 is given, and how it reads it
 *
 * SYNOPSIS
 *	input = mugai_html_prepare_input (data, len);
 *	most = mugai_html_max_attributes (input->str, input->len, max);
 *	htmlCtxtReadIO (ctxt, mugai_html_bounded_read, NULL, &reader, ...);
 *
 * DESCRIPTION
 *	Invalid UTF-8 and NUL octets in the input are replaced by U+FFFD
 *	first: libxml2 2.9 would otherwise switch to ISO-8859-1 at the first
 *	bad octet and turn the rest of the document into mojibake.  Office's
 *	"downlevel-revealed" conditional markers <![if ...]> and <![endif]>
 *	are removed in text (browsers treat them as bogus comments, libxml2
 *	as text), not inside a tag or a comment.
 *
 *	The bounds of one part (MugaiHtmlBounds), because libxml2 2.9.14 is
 *	quadratic in the attributes of one element twice over:
 *	htmlParseStartTag() compares each attribute with all earlier ones,
 *	and the SAX2 tree builder appends each by walking the list (80,000
 *	attributes in 700 KB: 13.6 s).  Before libxml2 is called, a linear
 *	pre-scan counts the attributes of every start tag as the parser
 *	would (mugai_html_max_attributes()); libxml2 then reads its input
 *	through a callback, 4 KB at a time, that ends the input at the
 *	deadline (mugai_html_bounded_read()); and each element is checked
 *	again when the parser reaches it, before it is built
 *	(mugai_html_bounded_start_element(): a quote opened in script text
 *	can hide a tag from the pre-scan, not from the parser).  The reader
 *	records which bound was passed; mugai_html_render() turns it into
 *	MUGAI_HTML_ERROR_ATTRIBUTES or MUGAI_HTML_ERROR_BUDGET.
 *
 * OWNERSHIP
 *	mugai_html_prepare_input() returns an owned GString.
 *
 * LIMITS
 *	A conditional marker is at most HTML_MAX_CONDITIONAL octets.
 */
#include "html-private.h"

#include <string.h>

#include <libxml/HTMLparser.h>

/* A "<![if ...]>" marker longer than this is not an Office marker. */
#define HTML_MAX_CONDITIONAL 256

/* Valid UTF-8 without NUL (libxml2 would switch to Latin-1 at the first
 * bad octet), without Office's downlevel-revealed conditional markers. */
GString *
mugai_html_prepare_input (const char *data, gsize len)
{
  GString *s = g_string_sized_new (len + 1);
  const char *p = data;
  gsize left = len;
  gsize r;
  gsize wr;
  gboolean in_tag = FALSE;
  gboolean in_comment = FALSE;
  char quote = '\0';

  while (left > 0)
    {
      const char *bad;

      if (g_utf8_validate_len (p, left, &bad))
        {
          g_string_append_len (s, p, left);
          break;
        }
      g_string_append_len (s, p, bad - p);
      g_string_append (s, "\xef\xbf\xbd");
      left -= (bad - p) + 1;
      p = bad + 1;
    }

  /* <![if !supportLists]> ... <![endif]>: browsers see bogus comments and
   * show what is between; libxml2 keeps the markers as text.  Only in text:
   * inside a tag the same octets belong to an attribute (a link target
   * must be shown as the browser reads it), inside a comment they are
   * Office's own "<!--[if mso]>...<![endif]-->". */
  for (r = wr = 0; r < s->len;)
    {
      const char *c = s->str + r;
      gsize rest = s->len - r;

      if (in_comment)
        {
          if (rest >= 3 && memcmp (c, "-->", 3) == 0)
            {
              memmove (s->str + wr, c, 3);
              wr += 3;
              r += 3;
              in_comment = FALSE;
              continue;
            }
        }
      else if (in_tag)
        {
          if (quote != '\0' && *c == quote)
            quote = '\0';
          else if (quote == '\0' && (*c == '"' || *c == '\''))
            quote = *c;
          else if (quote == '\0' && *c == '>')
            in_tag = FALSE;
        }
      else if (*c == '<' && rest >= 4 && memcmp (c, "<!--", 4) == 0)
        {
          memmove (s->str + wr, c, 4);
          wr += 4;
          r += 4;
          in_comment = TRUE;
          continue;
        }
      else if (*c == '<' && rest >= 2 && (g_ascii_isalpha (c[1]) || c[1] == '/'))
        in_tag = TRUE;
      else if (rest >= 6 && c[0] == '<' && c[1] == '!' && c[2] == '[')
        {
          if (rest >= 10 && g_ascii_strncasecmp (c + 3, "endif]>", 7) == 0)
            {
              r += 10;
              continue;
            }
          if (g_ascii_strncasecmp (c + 3, "if", 2) == 0 && (c[5] == ' ' || c[5] == '!'))
            {
              gsize e;

              for (e = 5; e < rest && e < HTML_MAX_CONDITIONAL && c[e] != '<' && c[e] != '>'; e++)
                ;
              if (e < rest && c[e] == '>' && c[e - 1] == ']')
                {
                  r += e + 1;
                  continue;
                }
            }
        }
      s->str[wr++] = s->str[r++];
    }
  g_string_truncate (s, wr);
  return s;
}

gboolean
mugai_html_is_blank (const char *s, gsize len)
{
  gsize i;

  for (i = 0; i < len; i++)
    if (!is_html_space ((guchar)s[i]))
      return FALSE;
  return TRUE;
}

/* The most attributes on one start tag, counting as libxml2 2.9's
 * htmlParseStartTag() does from each "<" followed by a letter: after the
 * name, blank-separated attributes up to the ">" outside quotes (a "<"
 * does not end a tag there).  Stops at max + 1.  One pass, linear: a tag
 * that begins inside script text and swallows a real one in a quote can
 * hide attributes from it, which is why the parse also has a deadline. */
guint
mugai_html_max_attributes (const char *s, gsize len, guint max)
{
  guint most = 0;
  gsize i = 0;
  while (i < len)
    {
      if (s[i] != '<' || i + 1 >= len || !g_ascii_isalpha (s[i + 1]))
        {
          i++;
          continue;
        }
      for (i += 2; i < len && !is_html_space ((guchar)s[i]) && s[i] != '>' && s[i] != '/'; i++)
        ;
      guint n = 0;
      while (i < len && s[i] != '>')
        {
          if (is_html_space ((guchar)s[i]) || s[i] == '/')
            {
              i++;
              continue;
            }
          n++; /* a name, or what libxml2 skips as a bogus one */
          while (i < len && !is_html_space ((guchar)s[i]) && s[i] != '=' && s[i] != '>')
            i++;
          while (i < len && is_html_space ((guchar)s[i]))
            i++;
          if (i < len && s[i] == '=')
            {
              for (i++; i < len && is_html_space ((guchar)s[i]); i++)
                ;
              if (i < len && (s[i] == '"' || s[i] == '\''))
                {
                  const char *q = memchr (s + i + 1, s[i], len - i - 1);
                  i = q ? (gsize)(q - s) + 1 : len;
                }
              else
                while (i < len && !is_html_space ((guchar)s[i]) && s[i] != '>')
                  i++;
            }
          if (n > max)
            return n;
        }
      most = MAX (most, n);
    }
  return most;
}

int
mugai_html_bounded_read (void *context, char *buffer, int len)
{
  BoundedInput *in = context;
  if (in->deadline != 0 && g_get_monotonic_time () >= in->deadline)
    {
      in->expired = TRUE;
      return 0;
    }
  gsize n = MIN ((gsize)MAX (len, 0), MIN (in->len - in->pos, 4096));
  memcpy (buffer, in->data + in->pos, n);
  in->pos += n;
  return (int)n;
}

/* libxml2 2.9's SAX2 tree builder appends each attribute by walking the
 * element's list (xmlNewPropInternal): quadratic again, after the parse.
 * An element past the bounds (one the pre-scan missed, or one reached
 * after the deadline) stops the parser before it is built. */
void
mugai_html_bounded_start_element (void *ctx, const xmlChar *name, const xmlChar **atts)
{
  xmlParserCtxtPtr ctxt = ctx;
  BoundedInput *in = ctxt->_private;
  guint n = 0;
  while (atts != NULL && atts[2 * n] != NULL)
    n++;
  if (in->max_attributes > 0 && n > in->max_attributes)
    in->too_many = TRUE;
  else if (in->deadline != 0 && g_get_monotonic_time () >= in->deadline)
    in->expired = TRUE;
  if (in->too_many || in->expired)
    {
      xmlStopParser (ctxt);
      return;
    }
  if (in->start_element != NULL)
    in->start_element (ctx, name, atts);
}
