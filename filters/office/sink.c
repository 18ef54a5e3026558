/*
 * sink.c - the output of mugai-filter-office: lines, tables, labels
 *
 * DESCRIPTION
 *	A Sink owns the text written so far and the line being built; the
 *	flow (flow.c) and the sheets (sheets.c) write into it, main.c takes
 *	the finished text (sink_finish()).  It makes the output format of
 *	main.c's header: paragraphs as lines, never two blank lines in a
 *	row, table rows as TAB-separated lines, everything inside a cell on
 *	one line, label lines preceded by a blank line, C0 controls but TAB
 *	and LF and DEL dropped, valid UTF-8.
 *
 * LIMITS
 *	max_output (--max-output): once the text would grow past it, the
 *	sink sets over and writes nothing more; the caller stops and
 *	fails.  Cells past MAX_COLUMNS in a row are muted.
 *
 * ERRORS
 *	None of its own: reaching the limit is the over flag, which the
 *	callers turn into an OFFICE_ERROR MUGAI_FILTER_LIMIT.
 */
#include "office.h"

void
sink_init (Sink *s, gsize max_output)
{
  *s = (Sink){ 0 };
  s->out = g_string_new (NULL);
  s->line = g_string_new (NULL);
  s->max_output = max_output;
}

void
sink_clear (Sink *s)
{
  g_string_free (s->out, TRUE);
  g_string_free (s->line, TRUE);
}

static gboolean
sink_room (Sink *s, gsize more)
{
  if (s->over)
    return FALSE;
  if (s->out->len + s->line->len + more > s->max_output)
    {
      s->over = TRUE;
      return FALSE;
    }
  return TRUE;
}

static void
sink_put (Sink *s, const char *p, gsize n)
{
  if (s->mute || !sink_room (s, n))
    return;
  g_string_append_len (s->line, p, (gssize)n);
}

static void
sink_flush_space (Sink *s)
{
  gsize start = s->cell_depth > 0 ? s->cell_start : 0;
  if (!s->pending_space)
    return;
  s->pending_space = FALSE;
  if (s->line->len > start)
    {
      char last = s->line->str[s->line->len - 1];
      if (last != ' ' && last != '\t')
        sink_put (s, " ", 1);
    }
}

/* Text of the document.  collapse: runs of white space are one space
 * (ODF's white-space processing in text:p); otherwise only CR and LF (and TAB in a cell)
 * are turned into spaces, as they cannot stand in a line or a cell. */
void
sink_text (Sink *s, const char *p, gsize n, gboolean collapse)
{
  gsize run = 0; /* visible octets not yet written, p[i - run .. i) */
  for (gsize i = 0; i <= n; i++)
    {
      char c = i < n ? p[i] : '\0';
      gboolean ws = c == '\r' || c == '\n' || (c == '\t' && (collapse || s->cell_depth > 0))
                    || (collapse && c == ' ');
      if (i < n && !ws)
        {
          if (run == 0)
            sink_flush_space (s);
          run++;
          continue;
        }
      if (run > 0)
        sink_put (s, p + i - run, run);
      run = 0;
      if (i == n)
        break;
      if (c == '\n' && i > 0 && p[i - 1] == '\r')
        continue; /* CR LF is one line end, one space */
      if (collapse)
        s->pending_space = TRUE;
      else
        {
          sink_flush_space (s);
          sink_put (s, " ", 1);
        }
    }
}

static void
sink_strip (GString *line)
{
  while (line->len > 0 && (line->str[line->len - 1] == ' ' || line->str[line->len - 1] == '\t'))
    g_string_truncate (line, line->len - 1);
}

/* Moves line to out.  An empty line is a blank line when allow_blank. */
void
sink_emit (Sink *s, gboolean allow_blank)
{
  sink_strip (s->line);
  s->pending_space = FALSE;
  if (s->line->len == 0)
    {
      if (allow_blank && s->out->len > 0 && !s->last_blank && sink_room (s, 1))
        {
          g_string_append_c (s->out, '\n');
          s->last_blank = TRUE;
        }
      return;
    }
  if (sink_room (s, 1))
    {
      g_string_append_len (s->out, s->line->str, (gssize)s->line->len);
      g_string_append_c (s->out, '\n');
      s->last_blank = FALSE;
    }
  g_string_truncate (s->line, 0);
}

void
sink_para_begin (Sink *s)
{
  if (s->cell_depth > 0)
    s->pending_space = TRUE;
  else if (s->line->len > 0)
    sink_emit (s, FALSE);
}

void
sink_para_end (Sink *s)
{
  if (s->cell_depth > 0)
    s->pending_space = TRUE;
  else
    sink_emit (s, TRUE);
}

void
sink_tab (Sink *s)
{
  if (s->cell_depth > 0)
    s->pending_space = TRUE;
  else
    {
      sink_flush_space (s);
      sink_put (s, "\t", 1);
    }
}

void
sink_break (Sink *s)
{
  if (s->cell_depth > 0)
    s->pending_space = TRUE;
  else
    sink_emit (s, TRUE);
}

void
sink_row_begin (Sink *s)
{
  if (s->cell_depth > 0)
    {
      s->pending_space = TRUE;
      return;
    }
  if (s->line->len > 0)
    sink_emit (s, FALSE);
  s->cells_in_row = 0;
  s->pending_space = FALSE;
}

void
sink_cell_begin (Sink *s)
{
  if (s->cell_depth++ > 0)
    {
      s->pending_space = TRUE;
      return;
    }
  s->pending_space = FALSE;
  if (s->cells_in_row >= MAX_COLUMNS)
    {
      s->mute = TRUE;
      return;
    }
  if (s->cells_in_row > 0)
    sink_put (s, "\t", 1);
  s->cells_in_row++;
  s->cell_start = s->line->len;
}

void
sink_cell_end (Sink *s, guint repeat)
{
  if (s->cell_depth == 0)
    return; /* unbalanced: the XML parser would not let it happen */
  if (--s->cell_depth > 0)
    {
      s->pending_space = TRUE;
      return;
    }
  s->pending_space = FALSE;
  if (s->mute)
    {
      s->mute = FALSE;
      return;
    }
  /* ODF table:number-columns-repeated: the same cell again */
  if (repeat > 1)
    {
      g_autofree char *copy
          = g_strndup (s->line->str + s->cell_start, s->line->len - s->cell_start);
      gsize n = strlen (copy);
      for (guint i = 1; i < repeat && s->cells_in_row < MAX_COLUMNS && !s->over; i++)
        {
          sink_put (s, "\t", 1);
          sink_put (s, copy, n);
          s->cells_in_row++;
        }
    }
}

void
sink_row_end (Sink *s, guint repeat)
{
  if (s->cell_depth > 0)
    {
      s->pending_space = TRUE;
      return;
    }
  s->cells_in_row = 0;
  sink_strip (s->line);
  if (s->line->len == 0)
    return;
  /* ODF table:number-rows-repeated; runs of empty rows cost nothing */
  g_autofree char *copy = repeat > 1 ? g_strndup (s->line->str, s->line->len) : NULL;
  sink_emit (s, FALSE);
  for (guint i = 1; i < repeat && i < MAX_ROW_REPEAT && !s->over; i++)
    {
      g_string_assign (s->line, copy);
      sink_emit (s, FALSE);
    }
}

/* A label line of our own ("[シート: X]"), after a blank line.  The
 * label counts as a blank line so that none follows it directly. */
void
sink_label (Sink *s, const char *label)
{
  if (s->line->len > 0)
    sink_emit (s, FALSE);
  g_string_truncate (s->line, 0);
  s->cell_depth = 0;
  s->cells_in_row = 0;
  s->mute = FALSE;
  if (s->out->len > 0 && !s->last_blank && sink_room (s, 1))
    g_string_append_c (s->out, '\n');
  sink_text (s, label, strlen (label), FALSE);
  sink_emit (s, FALSE);
  s->last_blank = TRUE;
}

SinkMark
sink_mark (Sink *s)
{
  if (s->line->len > 0)
    sink_emit (s, FALSE);
  return (SinkMark){ s->out->len, s->last_blank };
}

/* Undoes a label that no text followed. */
void
sink_rewind_if_empty (Sink *s, SinkMark m, gsize label_end)
{
  if (s->line->len > 0)
    sink_emit (s, FALSE);
  if (s->out->len == label_end && !s->over)
    {
      g_string_truncate (s->out, m.len);
      s->last_blank = m.last_blank;
    }
}

/* The finished text: valid UTF-8, no C0 controls but TAB and LF, no
 * DEL, a final newline unless it is empty.  Owned by the caller. */
GString *
sink_finish (Sink *s)
{
  if (s->line->len > 0)
    sink_emit (s, FALSE);
  if (s->out->len >= 2 && s->out->str[s->out->len - 1] == '\n'
      && s->out->str[s->out->len - 2] == '\n')
    g_string_truncate (s->out, s->out->len - 1);
  g_autofree char *valid = NULL;
  const char *p = s->out->str;
  gsize n = s->out->len;
  if (!g_utf8_validate_len (p, n, NULL))
    {
      valid = g_utf8_make_valid (p, (gssize)n);
      p = valid;
      n = strlen (valid);
    }
  GString *text = g_string_sized_new (n + 1);
  for (gsize i = 0; i < n; i++)
    {
      guchar c = (guchar)p[i];
      if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
        continue;
      g_string_append_c (text, (char)c);
    }
  if (text->len > 0 && text->str[text->len - 1] != '\n')
    g_string_append_c (text, '\n');
  return text;
}
