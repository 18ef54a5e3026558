/*
 * logline.c - printable text, and the one way to write a log line
 *
 * DESCRIPTION
 *	See logline.h.  Before this module each log writer escaped on its
 *	own (g_strescape() here and there, with or without cutting, with or
 *	without the safe form first); now every line about a message is
 *	built with mugai_log_ids() and mugai_log_add().
 */
#include "logline.h"

#include <string.h>

char *
mugai_text_safe_display (const char *utf8, guint max_chars)
{
  g_autoptr (GString) out = g_string_new (NULL);
  guint n = 0;
  if (!utf8)
    return g_strdup ("");
  /* header names and other raw text may not be UTF-8 at all */
  g_autofree char *valid = g_utf8_make_valid (utf8, -1);
  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar u = g_utf8_get_char (p);
      if (n >= max_chars)
        {
          g_string_append (out, "…");
          break;
        }
      /* C0/C1 controls, bidi embeddings, overrides and isolates, zero
       * width characters, line/paragraph separators, BOM */
      if (u < 0x20 || (u >= 0x7f && u < 0xa0) || (u >= 0x200b && u <= 0x200f)
          || (u >= 0x2028 && u <= 0x202e) || (u >= 0x2066 && u <= 0x2069) || u == 0xfeff
          || u == 0x061c)
        g_string_append_printf (out, "<U+%04X>", u);
      else
        g_string_append_unichar (out, u);
      n++;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
mugai_log_escape (const char *text, guint max_chars)
{
  g_autofree char *safe = mugai_text_safe_display (text ? text : "", max_chars);
  /* no control is left in safe: g_strescape() backslashes '"' and '\'
   * and writes the octets of non-ASCII characters as \ooo */
  return g_strescape (safe, NULL);
}

void
mugai_text_append_ascii (GString *out, const char *text, gsize max_len)
{
  g_return_if_fail (out != NULL);
  for (const char *p = text ? text : ""; *p && out->len < max_len; p++)
    g_string_append_c (out, ((guchar)*p >= 0x20 && (guchar)*p < 0x7f) ? *p : '?');
}

void
mugai_log_add (GString *line, const char *key, const char *value)
{
  g_return_if_fail (line != NULL && key != NULL);
  if (line->len > 0)
    g_string_append_c (line, ' ');
  g_string_append (line, key);
  g_string_append_c (line, '=');
  if (!value)
    {
      g_string_append_c (line, '-');
      return;
    }
  g_autofree char *v = mugai_log_escape (value, MUGAI_LOG_VALUE_MAX);
  gboolean quote = !*v || strpbrk (v, " =") != NULL;
  if (quote)
    g_string_append_c (line, '"');
  g_string_append (line, v);
  if (quote)
    g_string_append_c (line, '"');
}

void
mugai_log_addf (GString *line, const char *key, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *value = g_strdup_vprintf (format, ap);
  va_end (ap);
  mugai_log_add (line, key, value);
}

void
mugai_log_ids (GString *line, const char *qid, const char *msgid)
{
  mugai_log_add (line, "qid", qid && *qid ? qid : NULL);
  if (!msgid || !*msgid)
    {
      mugai_log_add (line, "msgid", NULL);
      return;
    }
  gsize n = strlen (msgid);
  g_autofree char *bracketed = n >= 2 && msgid[0] == '<' && msgid[n - 1] == '>'
                                   ? g_strdup (msgid)
                                   : g_strdup_printf ("<%s>", msgid);
  mugai_log_add (line, "msgid", bracketed);
}
