/*
 * edits.c - header edits from the original to the sanitized message
 *
 * DESCRIPTION
 *	See edits.h.  Header blocks are split with a small reader of our
 *	own: both blocks are already well-formed here (the original as the
 *	MTA passed it field by field, the sanitized one written by GMime).
 *	An original field with a continuation line of only white space is
 *	always replaced (a reader may end the header block there), and no
 *	value handed to the MTA keeps such a line.
 */
#include "edits.h"

#include <string.h>

typedef struct
{
  char *name;
  char *raw;           /* value as written, folding kept, line ends "\n" */
  char *folded;        /* unfolded, whitespace squashed: for comparing */
  guint index;         /* occurrence of this name */
  gboolean blank_line; /* a continuation line of nothing but white space */
} Field;

static void
field_clear (gpointer p)
{
  Field *f = p;
  g_free (f->name);
  g_free (f->raw);
  g_free (f->folded);
}

void
mugai_header_edit_free (MugaiHeaderEdit *edit)
{
  if (!edit)
    return;
  g_free (edit->name);
  g_free (edit->value);
  g_free (edit);
}

static char *
squash (const char *s)
{
  GString *out = g_string_new (NULL);
  gboolean space = FALSE;
  for (; *s; s++)
    {
      if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        space = TRUE;
      else
        {
          if (space && out->len)
            g_string_append_c (out, ' ');
          space = FALSE;
          g_string_append_c (out, *s);
        }
    }
  return g_string_free (out, FALSE);
}

/* A line of nothing but SP, HTAB (and a stray CR): RFC 5322 4.2's
 * obsolete folding allows it, but many readers take it for the blank line
 * that ends the header block and read what follows as the body. */
static gboolean
is_blank (const char *line, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
      return FALSE;
  return TRUE;
}

/* The value for the MTA without whitespace-only continuation lines, so
 * that no edit can hand one on (the sanitized block has none; this is a
 * second fence). */
static char *
value_for_mta (const char *raw)
{
  g_autoptr (GString) out = g_string_new (NULL);
  const char *p = raw;
  gboolean first = TRUE;
  for (;;)
    {
      const char *nl = strchr (p, '\n');
      gsize n = nl ? (gsize)(nl - p) : strlen (p);
      if (first || !is_blank (p, n))
        {
          if (!first)
            g_string_append_c (out, '\n');
          g_string_append_len (out, p, (gssize)n);
        }
      first = FALSE;
      if (!nl)
        break;
      p = nl + 1;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Splits a header block; returns the offset after the blank line. */
static gsize
split_fields (const char *data, gsize len, GArray *fields)
{
  g_autoptr (GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gsize pos = 0;
  Field *cur = NULL;
  GString *value = NULL;
  while (pos < len)
    {
      const char *line = data + pos;
      const char *nl = memchr (line, '\n', len - pos);
      gsize line_len = nl ? (gsize)(nl - line) : len - pos;
      gsize next = pos + line_len + (nl ? 1 : 0);
      gsize content = line_len;
      if (content > 0 && line[content - 1] == '\r')
        content--;
      if (content == 0)
        {
          pos = next;
          break; /* the blank line */
        }
      if ((line[0] == ' ' || line[0] == '\t') && cur)
        {
          g_string_append_c (value, '\n');
          g_string_append_len (value, line, (gssize)content);
          if (is_blank (line, content))
            cur->blank_line = TRUE;
        }
      else
        {
          if (cur)
            {
              cur->raw = g_string_free (value, FALSE);
              cur->folded = squash (cur->raw);
            }
          const char *colon = memchr (line, ':', content);
          Field f = { 0 };
          f.name = g_strndup (line, colon ? (gsize)(colon - line) : content);
          g_strchomp (f.name);
          g_autofree char *key = g_ascii_strdown (f.name, -1);
          guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, key)) + 1;
          g_hash_table_replace (counts, g_steal_pointer (&key), GUINT_TO_POINTER (n));
          f.index = n;
          g_array_append_val (fields, f);
          cur = &g_array_index (fields, Field, fields->len - 1);
          value = g_string_new (NULL);
          if (colon)
            {
              /* the milter protocol passes the value without the one
               * space that follows the colon */
              const char *v = colon + 1;
              if (v < line + content && *v == ' ')
                v++;
              g_string_append_len (value, v, (gssize)(line + content - v));
            }
        }
      pos = next;
    }
  if (cur)
    {
      cur->raw = g_string_free (value, FALSE);
      cur->folded = squash (cur->raw);
    }
  return pos;
}

static MugaiHeaderEdit *
edit_new (MugaiEditKind kind, const Field *f, const char *value)
{
  MugaiHeaderEdit *e = g_new0 (MugaiHeaderEdit, 1);
  e->kind = kind;
  e->name = g_strdup (f->name);
  e->index = kind == MUGAI_EDIT_ADD ? 0 : f->index;
  e->value = value ? value_for_mta (value) : NULL;
  return e;
}

GPtrArray *
mugai_edits_compute (const char *original, gsize original_len, const char *sanitized,
                     gsize sanitized_len, gsize *body_offset)
{
  g_autoptr (GArray) a = g_array_new (FALSE, TRUE, sizeof (Field));
  g_autoptr (GArray) b = g_array_new (FALSE, TRUE, sizeof (Field));
  g_array_set_clear_func (a, field_clear);
  g_array_set_clear_func (b, field_clear);
  split_fields (original, original_len, a);
  *body_offset = split_fields (sanitized, sanitized_len, b);

  g_autoptr (GPtrArray) backwards = g_ptr_array_new ();
  GPtrArray *edits = g_ptr_array_new_with_free_func ((GDestroyNotify)mugai_header_edit_free);
  guint j = 0;
  for (guint i = 0; i < a->len; i++)
    {
      const Field *fa = &g_array_index (a, Field, i);
      const Field *fb = j < b->len ? &g_array_index (b, Field, j) : NULL;
      if (fb && g_ascii_strcasecmp (fa->name, fb->name) == 0)
        {
          /* the MTA's field is replaced when it has a whitespace-only
           * line, even if the value is the same once unfolded: left in
           * place, the line would end the header block for some readers
           * and hide MIME-Version, Content-Type and X-Mugai-Status */
          if (fa->blank_line || !g_str_equal (fa->folded, fb->folded))
            g_ptr_array_add (backwards, edit_new (MUGAI_EDIT_CHANGE, fa, fb->raw));
          j++;
        }
      else
        g_ptr_array_add (backwards, edit_new (MUGAI_EDIT_DELETE, fa, NULL));
    }
  for (guint k = backwards->len; k > 0; k--)
    g_ptr_array_add (edits, backwards->pdata[k - 1]);
  for (; j < b->len; j++)
    {
      const Field *fb = &g_array_index (b, Field, j);
      g_ptr_array_add (edits, edit_new (MUGAI_EDIT_ADD, fb, fb->raw));
    }
  return edits;
}
