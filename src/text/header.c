/*
 * header.c - header text to UTF-8: RFC 2047, RFC 2231, raw 8-bit
 *
 * DESCRIPTION
 *	See header.h.  Encoded-words are recognised loosely, as GMime's
 *	loose mode and every mail client do: also inside a word
 *	("Re:=?ISO-2022-JP?B?...?=") and inside quotes.  Whitespace between
 *	two encoded-words is dropped (RFC 2047 6.2).  Adjacent encoded-words
 *	in the same charset are joined before conversion, because Japanese
 *	senders split words inside a multi-byte character and ISO-2022-JP
 *	shift states run across words.
 *
 * OWNERSHIP
 *	Returned strings are owned by the caller.
 */
#include "header.h"

#include <string.h>

#include "charset.h"

#define MAX_CONTINUATIONS 64

/* Unfold (RFC 5322 2.2.3): CRLF or LF followed by WSP is removed, the
 * WSP kept.  A bare line break left over is kept for the caller. */
static char *
unfold (const char *raw)
{
  GString *out = g_string_sized_new (strlen (raw));
  for (const char *p = raw; *p; p++)
    {
      if (*p == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t'))
        {
          p++;
          continue;
        }
      if (*p == '\n' && (p[1] == ' ' || p[1] == '\t'))
        continue;
      g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

typedef struct
{
  const char *start; /* of "=?" */
  const char *end;   /* after "?=" */
  char *charset;     /* owned, without RFC 2231 language */
  GByteArray *bytes; /* decoded octets */
} EncodedWord;

static void
encoded_word_clear (EncodedWord *ew)
{
  g_clear_pointer (&ew->charset, g_free);
  g_clear_pointer (&ew->bytes, g_byte_array_unref);
}

static int
hexval (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Parses "=?charset?X?text?=" at p; fills ew and returns TRUE. */
static gboolean
encoded_word_parse (const char *p, EncodedWord *ew)
{
  if (p[0] != '=' || p[1] != '?')
    return FALSE;
  const char *cs = p + 2;
  const char *q1 = strchr (cs, '?');
  if (!q1 || q1 == cs || q1 - cs > 64)
    return FALSE;
  for (const char *c = cs; c < q1; c++)
    if (!g_ascii_isgraph (*c))
      return FALSE;
  char enc = g_ascii_toupper (q1[1]);
  if ((enc != 'B' && enc != 'Q') || q1[2] != '?')
    return FALSE;
  const char *text = q1 + 3;
  const char *q2 = text;
  while (*q2 && *q2 != '?' && *q2 != ' ' && *q2 != '\t' && *q2 != '\r' && *q2 != '\n')
    q2++;
  if (q2[0] != '?' || q2[1] != '=')
    return FALSE;

  g_autoptr (GByteArray) bytes = g_byte_array_sized_new ((guint) (q2 - text));
  if (enc == 'B')
    {
      /* Characters outside the alphabet are skipped and a missing padding
       * is tolerated, as mail clients do. */
      gint state = 0;
      guint save = 0;
      /* The padding is made up again from the length: "VEVTVA=" (one
       * '=' short) must still end in its last octet, "TEST" not "TES". */
      g_autoptr (GString) b64 = g_string_sized_new ((gsize) (q2 - text) + 4);
      for (const char *c = text; c < q2; c++)
        if (g_ascii_isalnum (*c) || *c == '+' || *c == '/')
          g_string_append_c (b64, *c);
      if (b64->len % 4 == 2)
        g_string_append (b64, "==");
      else if (b64->len % 4 == 3)
        g_string_append_c (b64, '=');
      gsize n = b64->len;
      guchar *buf = g_malloc (n / 4 * 3 + 3);
      gsize outlen = g_base64_decode_step (b64->str, n, buf, &state, &save);
      g_byte_array_append (bytes, buf, (guint) outlen);
      g_free (buf);
    }
  else
    {
      for (const char *c = text; c < q2; c++)
        {
          guint8 b;
          if (*c == '_')
            b = ' ';
          else if (*c == '=' && c + 2 < q2 && hexval (c[1]) >= 0 && hexval (c[2]) >= 0)
            {
              b = (guint8) (hexval (c[1]) << 4 | hexval (c[2]));
              c += 2;
            }
          else
            b = (guint8) *c;
          g_byte_array_append (bytes, &b, 1);
        }
    }

  g_autofree char *charset = g_strndup (cs, (gsize) (q1 - cs));
  char *star = strchr (charset, '*'); /* RFC 2231 section 5 language */
  if (star)
    *star = '\0';

  ew->start = p;
  ew->end = q2 + 2;
  ew->charset = g_steal_pointer (&charset);
  ew->bytes = g_steal_pointer (&bytes);
  return TRUE;
}

/* Display text: no line breaks or other controls survive into a
 * header we write or a notice line. */
static void
append_display (GString *out, const char *utf8)
{
  for (const char *p = utf8; *p; p = g_utf8_next_char (p))
    {
      gunichar u = g_utf8_get_char (p);
      if (u < 0x20 || u == 0x7f)
        {
          if (u != 0)
            g_string_append_c (out, ' ');
        }
      else
        g_string_append_unichar (out, u);
    }
}

static gboolean
needs_quoting (const char *utf8)
{
  return strpbrk (utf8, "()<>[]:;@\\,.\"") != NULL;
}

/* Appends decoded text in phrase mode, keeping the address syntax. */
static void
append_phrase_word (GString *out, const char *utf8, gboolean in_quotes, int comment_depth)
{
  g_autoptr (GString) text = g_string_new (NULL);
  append_display (text, utf8);
  if (in_quotes || comment_depth > 0)
    {
      for (const char *p = text->str; *p; p++)
        {
          if (*p == '"' || *p == '\\' || (comment_depth > 0 && (*p == '(' || *p == ')')))
            g_string_append_c (out, '\\');
          g_string_append_c (out, *p);
        }
    }
  else if (needs_quoting (text->str))
    {
      g_string_append_c (out, '"');
      for (const char *p = text->str; *p; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (out, '\\');
          g_string_append_c (out, *p);
        }
      g_string_append_c (out, '"');
    }
  else
    g_string_append (out, text->str);
}

/* Octets of a header to UTF-8: NULs dropped first (no reader shows one,
 * and C strings would end there), then charset.c with the hints. */
static char *
decode_octets (const char *data, gsize len, const char *charset, const char *const *hints)
{
  g_autofree char *clean = NULL;
  if (!data) /* an empty GByteArray's data */
    data = "", len = 0;
  if (len > 0 && memchr (data, '\0', len))
    {
      clean = g_malloc (len);
      gsize n = 0;
      for (gsize i = 0; i < len; i++)
        if (data[i] != '\0')
          clean[n++] = data[i];
      data = clean, len = n;
    }
  g_autofree char *used = NULL;
  MugaiCharsetQuality quality;
  return mugai_charset_decode_hinted (data, len, charset, hints, &used, &quality);
}

static void
append_raw_segment (GString *out, const char *start, gsize len, MugaiHeaderMode mode,
                    gboolean *in_quotes, int *comment_depth, gboolean *in_angle,
                    const char *const *hints)
{
  if (len == 0)
    return;
  g_autofree char *utf8 = decode_octets (start, len, NULL, hints);
  if (mode == MUGAI_HEADER_TEXT)
    {
      append_display (out, utf8);
      return;
    }
  /* Track quotes and comments so encoded-words after this segment are
   * escaped for the context they sit in. */
  gboolean escaped = FALSE;
  for (const char *p = utf8; *p; p++)
    {
      if (escaped)
        escaped = FALSE;
      else if (*p == '\\')
        escaped = TRUE;
      else if (*p == '"' && *comment_depth == 0)
        *in_quotes = !*in_quotes;
      else if (!*in_quotes && *p == '(')
        (*comment_depth)++;
      else if (!*in_quotes && *p == ')' && *comment_depth > 0)
        (*comment_depth)--;
      else if (!*in_quotes && *comment_depth == 0 && *p == '<')
        *in_angle = TRUE;
      else if (!*in_quotes && *comment_depth == 0 && *p == '>')
        *in_angle = FALSE;
    }
  append_display (out, utf8);
}

/* Whether an encoded-word at p (raw text since the last flush starts at
 * from) sits in an address: between angle brackets or touching '@'. */
static gboolean
in_addr_spec (const char *from, const char *p, const char *word_end, gboolean in_quotes,
              int comment_depth, gboolean in_angle)
{
  for (const char *c = from; c < p; c++)
    {
      if (*c == '"' && comment_depth == 0)
        in_quotes = !in_quotes;
      else if (!in_quotes && *c == '(')
        comment_depth++;
      else if (!in_quotes && *c == ')' && comment_depth > 0)
        comment_depth--;
      else if (!in_quotes && comment_depth == 0 && *c == '<')
        in_angle = TRUE;
      else if (!in_quotes && comment_depth == 0 && *c == '>')
        in_angle = FALSE;
    }
  if (in_quotes || comment_depth > 0)
    return FALSE;
  return in_angle || (p > from && p[-1] == '@') || *word_end == '@';
}

char *
mugai_header_decode (const char *raw, MugaiHeaderMode mode)
{
  return mugai_header_decode_hinted (raw, mode, NULL);
}

char *
mugai_header_decode_hinted (const char *raw, MugaiHeaderMode mode, const char *const *hints)
{
  g_return_val_if_fail (raw != NULL, NULL);

  g_autofree char *value = unfold (raw);
  g_autoptr (GString) out = g_string_sized_new (strlen (value) + 16);
  gboolean in_quotes = FALSE;
  gboolean in_angle = FALSE;
  int comment_depth = 0;

  const char *p = value;
  const char *raw_start = value;
  while (*p)
    {
      EncodedWord ew = { 0 };
      if (!(p[0] == '=' && p[1] == '?' && encoded_word_parse (p, &ew)))
        {
          p++;
          continue;
        }
      if (mode == MUGAI_HEADER_PHRASE && in_addr_spec (raw_start, p, ew.end, in_quotes, comment_depth, in_angle))
        {
          /* RFC 2047 5(3): never inside an addr-spec; decoding one there
           * would put 8-bit text into an address */
          p = ew.end;
          encoded_word_clear (&ew);
          continue;
        }
      append_raw_segment (out, raw_start, (gsize) (p - raw_start), mode, &in_quotes, &comment_depth,
                          &in_angle, hints);

      /* Join the run of encoded-words in the same charset. */
      g_autoptr (GByteArray) run = g_byte_array_new ();
      g_byte_array_append (run, ew.bytes->data, ew.bytes->len);
      g_autofree char *charset = g_strdup (ew.charset);
      const char *end = ew.end;
      encoded_word_clear (&ew);
      for (;;)
        {
          const char *next = end;
          while (*next == ' ' || *next == '\t' || *next == '\r' || *next == '\n')
            next++;
          EncodedWord ew2 = { 0 };
          if (!(next[0] == '=' && next[1] == '?' && encoded_word_parse (next, &ew2)))
            break;
          if (g_ascii_strcasecmp (ew2.charset, charset) != 0)
            {
              /* different charset: flush the run, continue with the new one */
              g_autofree char *utf8 = decode_octets ((const char *) run->data, run->len, charset,
                                                     hints);
              if (mode == MUGAI_HEADER_PHRASE)
                append_phrase_word (out, utf8, in_quotes, comment_depth);
              else
                append_display (out, utf8);
              g_byte_array_set_size (run, 0);
              g_free (charset);
              charset = g_strdup (ew2.charset);
            }
          g_byte_array_append (run, ew2.bytes->data, ew2.bytes->len);
          end = ew2.end;
          encoded_word_clear (&ew2);
        }
      g_autofree char *utf8 = decode_octets ((const char *) run->data, run->len, charset, hints);
      if (mode == MUGAI_HEADER_PHRASE)
        append_phrase_word (out, utf8, in_quotes, comment_depth);
      else
        append_display (out, utf8);
      p = raw_start = end;
    }
  append_raw_segment (out, raw_start, (gsize) (p - raw_start), mode, &in_quotes, &comment_depth,
                      &in_angle, hints);

  g_strstrip (out->str);
  out->len = strlen (out->str);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- parameters -------------------------------------------------------- */

typedef struct
{
  char *value; /* raw octets (quotes and escapes removed) */
  gboolean extended;
} Section;

static void
section_clear (gpointer data)
{
  Section *s = data;
  g_free (s->value);
}

static void
percent_decode (GByteArray *out, const char *s)
{
  for (const char *p = s; *p; p++)
    {
      guint8 b = (guint8) *p;
      if (*p == '%' && hexval (p[1]) >= 0 && hexval (p[2]) >= 0)
        {
          b = (guint8) (hexval (p[1]) << 4 | hexval (p[2]));
          p += 2;
        }
      g_byte_array_append (out, &b, 1);
    }
}

/* Reads one parameter value at *pp: quoted-string or token.  Loose: an
 * unquoted value runs to the next ';' (broken mailers write spaces). */
static char *
read_value (const char **pp)
{
  const char *p = *pp;
  GString *v = g_string_new (NULL);
  if (*p == '"')
    {
      p++;
      while (*p && *p != '"')
        {
          if (*p == '\\' && p[1])
            p++;
          g_string_append_c (v, *p++);
        }
      if (*p == '"')
        p++;
    }
  else
    {
      while (*p && *p != ';')
        g_string_append_c (v, *p++);
      while (v->len > 0 && (v->str[v->len - 1] == ' ' || v->str[v->len - 1] == '\t'))
        g_string_truncate (v, v->len - 1);
    }
  *pp = p;
  return g_string_free (v, FALSE);
}

char *
mugai_header_param (const char *raw, const char *name)
{
  g_return_val_if_fail (raw != NULL && name != NULL, NULL);

  g_autofree char *value = unfold (raw);
  gsize name_len = strlen (name);
  g_autofree char *plain = NULL;
  g_autofree char *ext = NULL;
  Section sections[MAX_CONTINUATIONS] = { 0 };
  gboolean have_sections = FALSE;

  /* skip the type or disposition token */
  const char *p = value;
  gboolean q = FALSE;
  while (*p && (q || *p != ';'))
    {
      if (*p == '"')
        q = !q;
      p++;
    }

  while (*p)
    {
      while (*p == ';' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
      const char *attr = p;
      while (*p && *p != '=' && *p != ';' && *p != ' ' && *p != '\t')
        p++;
      gsize attr_len = (gsize) (p - attr);
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p != '=')
        {
          while (*p && *p != ';')
            p++;
          continue;
        }
      p++;
      while (*p == ' ' || *p == '\t')
        p++;
      g_autofree char *v = read_value (&p);
      while (*p && *p != ';')
        p++;

      if (attr_len < name_len || g_ascii_strncasecmp (attr, name, name_len) != 0)
        continue;
      const char *rest = attr + name_len;
      gsize rest_len = attr_len - name_len;
      if (rest_len == 0)
        {
          if (!plain)
            plain = g_steal_pointer (&v);
        }
      else if (rest_len == 1 && rest[0] == '*')
        {
          if (!ext)
            ext = g_steal_pointer (&v);
        }
      else if (rest[0] == '*' && g_ascii_isdigit (rest[1]))
        {
          guint n = 0;
          gsize i = 1;
          while (i < rest_len && g_ascii_isdigit (rest[i]) && n < 1000)
            n = n * 10 + (guint) (rest[i++] - '0');
          gboolean extended = i < rest_len && rest[i] == '*';
          if (n < MAX_CONTINUATIONS && !sections[n].value)
            {
              sections[n].value = g_steal_pointer (&v);
              sections[n].extended = extended;
              have_sections = TRUE;
            }
        }
    }

  char *result = NULL;
  if (have_sections || ext)
    {
      g_autoptr (GByteArray) bytes = g_byte_array_new ();
      g_autofree char *charset = NULL;
      for (guint n = 0; n < MAX_CONTINUATIONS + 1; n++)
        {
          const char *s;
          gboolean extended;
          if (!have_sections)
            {
              if (n > 0)
                break;
              s = ext, extended = TRUE;
            }
          else
            {
              if (n == MAX_CONTINUATIONS || !sections[n].value)
                break;
              s = sections[n].value, extended = sections[n].extended;
            }
          if (extended && n == 0)
            {
              /* charset'language'octets */
              const char *a1 = strchr (s, '\'');
              const char *a2 = a1 ? strchr (a1 + 1, '\'') : NULL;
              if (a1 && a2)
                {
                  charset = g_strndup (s, (gsize) (a1 - s));
                  s = a2 + 1;
                }
            }
          if (extended)
            percent_decode (bytes, s);
          else
            g_byte_array_append (bytes, (const guint8 *) s, (guint) strlen (s));
        }
      g_autofree char *utf8 = decode_octets ((const char *) bytes->data, bytes->len,
                                             charset && *charset ? charset : NULL, NULL);
      g_autoptr (GString) out = g_string_new (NULL);
      append_display (out, utf8);
      result = g_string_free (g_steal_pointer (&out), FALSE);
    }
  else if (plain)
    result = mugai_header_decode (plain, MUGAI_HEADER_TEXT);

  for (guint n = 0; n < MAX_CONTINUATIONS; n++)
    section_clear (&sections[n]);
  return result;
}

gboolean
mugai_header_is_address (const char *name)
{
  static const char *const names[]
      = { "from", "to", "cc", "bcc", "reply-to", "sender", "resent-from", "resent-to",
          "resent-cc", "resent-bcc", "resent-sender", "disposition-notification-to",
          "return-receipt-to", "mail-followup-to", "mail-reply-to", "errors-to", NULL };
  g_autofree char *n = g_ascii_strdown (name, -1);
  return g_strv_contains (names, n);
}
