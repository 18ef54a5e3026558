/*
 * html-writer.c - the layout writer of the HTML converter
 *
 * SYNOPSIS
 *	mugai_html_request_break (w, 2);
 *	mugai_html_push_prefix (w, "> ", 2);
 *	mugai_html_emit_text (w, text, len);
 *
 * DESCRIPTION
 *	The walk (html.c) never writes layout itself: it says what it owes
 *	(a newline, a blank line, collapsed white space, a cell separator,
 *	a list marker, indentation) and the writer puts it out only before
 *	the next visible character.  That is what keeps the output free of
 *	trailing blanks and of more than one blank line in a row, and makes
 *	a blank line carry the indentation common to both sides ("> "
 *	becomes ">").  A line break between two East Asian wide characters
 *	disappears (CSS Text 3, 4.1.3).
 *
 *	URLs in the document's text are defanged as they are written
 *	(emit_visible(), url.c's mugai_url_defang_text()) unless the writer
 *	is told to keep them, or is writing a link target (literal).  The
 *	text of the open links is captured as written, for the walk's
 *	phishing check.
 *
 * OWNERSHIP
 *	The Writer borrows its GStrings from mugai_html_render().
 *
 * LIMITS
 *	The output stops at max_output octets, cut at a character boundary
 *	(full is set; the capture goes on).  Indentation at HTML_MAX_PREFIX
 *	octets, literal white space owed in <pre> at HTML_MAX_PRE_SPACE,
 *	captured link text at HTML_MAX_LINK_TEXT.
 */
#include "html-private.h"

#include <string.h>

#include "url.h"

/* "> " and list indentation: 32 quote levels.  Deeper nesting would only
 * push the text off the screen. */
#define HTML_MAX_PREFIX 64

/* Literal white space kept inside <pre> at a time (indentation). */
#define HTML_MAX_PRE_SPACE 256

/* Link text looked at for the mismatch check; longer text is not a URL. */
#define HTML_MAX_LINK_TEXT 2048

/* CSS Text 3, 4.1.3: a segment break between two such characters is
 * removed.  Hangul uses spaces between words, so it is excluded. */
static gboolean
is_east_asian_wide (gunichar c)
{
  if (c >= 0xff61 && c <= 0xff9f) /* halfwidth katakana */
    return TRUE;
  return g_unichar_iswide (c) && g_unichar_get_script (c) != G_UNICODE_SCRIPT_HANGUL;
}

static void
put_raw (Writer *w, const char *s, gsize n)
{
  gsize room;

  if (w->full)
    return;
  room = w->max_output - w->out->len;
  if (n > room)
    {
      gsize cut = room;

      /* s starts at a character boundary; do not split the one at cut. */
      while (cut > 0 && ((guchar)s[cut] & 0xc0) == 0x80)
        cut--;
      g_string_append_len (w->out, s, cut);
      w->full = TRUE;
      return;
    }
  g_string_append_len (w->out, s, n);
}

static void
put_repeat (Writer *w, char c, gsize n)
{
  while (n-- > 0)
    put_raw (w, &c, 1);
}

static void
capture_add (Writer *w, const char *s, gsize n)
{
  if (w->capturing == 0 || w->capture_full)
    return;
  if (w->capture->len + n > HTML_MAX_LINK_TEXT)
    {
      w->capture_full = TRUE;
      return;
    }
  g_string_append_len (w->capture, s, n);
}

/* Writes what is owed before a visible character c. */
static void
flush_layout (Writer *w, gunichar c)
{
  Layout *st = &w->st;
  gboolean line_start = w->out->len == 0;
  gboolean separated = FALSE;

  if (st->want_nl > 0 && w->out->len > 0)
    {
      guint i;

      for (i = 0; i < st->want_nl; i++)
        {
          if (i > 0)
            {
              /* A blank line carries the indentation common to both
               * sides ("> " becomes ">"), without trailing spaces. */
              gsize n = MIN (st->min_prefix, w->prefix->len);

              while (n > 0 && w->prefix->str[n - 1] == ' ')
                n--;
              put_raw (w, w->prefix->str, n);
            }
          put_raw (w, "\n", 1);
        }
      line_start = TRUE;
      separated = TRUE;
    }

  if (line_start)
    {
      gsize after = w->marker_base + w->marker->len;

      if (st->marker_owed && w->marker_base <= w->prefix->len)
        {
          put_raw (w, w->prefix->str, w->marker_base);
          put_raw (w, w->marker->str, w->marker->len);
          if (after < w->prefix->len)
            put_raw (w, w->prefix->str + after, w->prefix->len - after);
        }
      else
        put_raw (w, w->prefix->str, w->prefix->len);
      /* Leading empty cells keep their columns, but only on the row's
       * own line: after a break inside a cell they would mean nothing. */
      if (st->want_tabs > 0 && st->row_fresh)
        put_repeat (w, '\t', st->want_tabs);
      st->content_start = w->out->len;
      if (w->pre > 0)
        put_raw (w, w->pre_space->str, w->pre_space->len);
    }
  else if (st->want_tabs > 0)
    {
      put_repeat (w, '\t', st->want_tabs);
      separated = TRUE;
    }
  else if (w->pre > 0 && w->pre_space->len > 0)
    {
      put_raw (w, w->pre_space->str, w->pre_space->len);
      separated = TRUE;
    }
  else if (w->pre == 0 && st->want_space
           && !(st->space_break && is_east_asian_wide (st->last) && is_east_asian_wide (c)))
    {
      put_raw (w, " ", 1);
      separated = TRUE;
    }

  if (separated)
    capture_add (w, " ", 1);
  st->want_nl = 0;
  st->want_space = FALSE;
  st->space_break = FALSE;
  st->want_tabs = 0;
  st->row_fresh = FALSE;
  st->marker_owed = FALSE;
  st->min_prefix = w->prefix->len;
  g_string_truncate (w->pre_space, 0);
}

/* s[0..n) is valid UTF-8 with no white space or control characters. */
static void
emit_visible (Writer *w, const char *s, gsize n, gunichar first, gunichar last)
{
  if (n == 0)
    return;
  if (w->full)
    {
      /* Nothing is written, but link text is still collected for the
       * mismatch count. */
      if (w->st.want_nl > 0 || w->st.want_space || w->st.want_tabs > 0 || w->pre_space->len > 0)
        capture_add (w, " ", 1);
      w->st.want_nl = 0;
      w->st.want_space = FALSE;
      w->st.want_tabs = 0;
      g_string_truncate (w->pre_space, 0);
      capture_add (w, s, n);
      return;
    }
  flush_layout (w, first);
  if (w->defang_text && !w->literal
      && (memchr (s, ':', n) != NULL || memchr (s, 'w', n) != NULL || memchr (s, 'W', n) != NULL))
    {
      /* a URL written as text is neutralised like a link target (the
       * capture keeps it as written, for the phishing check) */
      gboolean changed = FALSE;
      g_autofree char *d = mugai_url_defang_text (s, n, &changed);
      put_raw (w, changed ? d : s, changed ? strlen (d) : n);
    }
  else
    put_raw (w, s, n);
  capture_add (w, s, n);
  w->st.last = last;
}

static void
clear_space (Writer *w)
{
  w->st.want_space = FALSE;
  w->st.space_break = FALSE;
  g_string_truncate (w->pre_space, 0);
}

void
mugai_html_owe_space (Writer *w)
{
  if (w->pre > 0)
    {
      if (w->pre_space->len < HTML_MAX_PRE_SPACE)
        g_string_append_c (w->pre_space, ' ');
    }
  else
    w->st.want_space = TRUE;
}

/* Start a new line (n = 1) or leave a blank line (n = 2). */
void
mugai_html_request_break (Writer *w, guint n)
{
  w->st.want_nl = MAX (w->st.want_nl, n);
  clear_space (w);
  w->st.want_tabs = 0;
  w->st.row_fresh = FALSE;
  w->epoch++;
}

/* <br> and newlines in <pre>: they add up, to at most one blank line. */
void
mugai_html_hard_newline (Writer *w)
{
  w->st.want_nl = MIN (w->st.want_nl + 1, 2);
  clear_space (w);
  w->st.want_tabs = 0;
  w->st.row_fresh = FALSE;
  w->epoch++;
}

void
mugai_html_push_prefix (Writer *w, const char *s, gsize n)
{
  if (w->prefix->len + n <= HTML_MAX_PREFIX)
    g_string_append_len (w->prefix, s, n);
  w->epoch++;
}

void
mugai_html_restore_prefix (Writer *w, gsize len)
{
  if (w->prefix->len > len)
    {
      g_string_truncate (w->prefix, len);
      w->st.min_prefix = MIN (w->st.min_prefix, len);
      w->epoch++;
    }
}

/* Text of the document (valid UTF-8). */
void
mugai_html_emit_text (Writer *w, const char *s, gsize len)
{
  const char *p = s;
  const char *end = s + len;
  const char *run = NULL;
  gunichar first = 0;
  gunichar last = 0;

  while (p < end && !(w->full && (w->capturing == 0 || w->capture_full)))
    {
      gunichar c = g_utf8_get_char (p);
      const char *next = g_utf8_next_char (p);
      gboolean visible = !(is_html_space (c) || c == 0xa0 || is_control (c));

      if (visible)
        {
          if (run == NULL)
            {
              run = p;
              first = c;
            }
          last = c;
          p = next;
          continue;
        }
      if (run != NULL)
        {
          emit_visible (w, run, p - run, first, last);
          run = NULL;
        }

      if (w->pre > 0)
        {
          if (c == '\n')
            mugai_html_hard_newline (w);
          else if (c == '\r')
            {
              if (next >= end || *next != '\n')
                mugai_html_hard_newline (w);
            }
          else if (c == '\t' && w->pre_space->len < HTML_MAX_PRE_SPACE)
            g_string_append_c (w->pre_space, '\t');
          else if (c == ' ' || c == 0xa0 || c == '\f')
            mugai_html_owe_space (w);
        }
      else if (is_html_space (c) || c == 0xa0)
        {
          w->st.want_space = TRUE;
          if (c == '\n' || c == '\r')
            w->st.space_break = TRUE;
        }
      p = next;
    }
  if (run != NULL)
    emit_visible (w, run, p - run, first, last);
}

void
mugai_html_emit_cstring (Writer *w, const char *s)
{
  mugai_html_emit_text (w, s, strlen (s));
}

/* Display width in columns of s[0..n), for heading underlines. */
gsize
mugai_html_display_width (const char *s, gsize n)
{
  const char *p;
  gsize width = 0;

  for (p = s; p < s + n; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iszerowidth (c))
        continue;
      width += g_unichar_iswide (c) ? 2 : 1;
    }
  return width;
}
