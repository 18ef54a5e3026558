/*
 * charset.c - decode Japanese (and other) text to UTF-8 without mojibake
 *
 * DESCRIPTION
 *	See charset.h.  The Japanese families are recognised by their many
 *	aliases; every other charset name goes to iconv through GMime's alias
 *	table (g_mime_charset_iconv_name).  Strict conversion uses
 *	g_convert(), which fails on any invalid sequence; the lossy path
 *	uses a GIConv loop that writes U+FFFD for each invalid octet.
 *
 * OWNERSHIP
 *	Every returned string is owned by the caller.
 */
#include "charset.h"

#include <errno.h>
#include <string.h>
#include <gmime/gmime.h>

typedef enum
{
  FAMILY_OTHER,
  FAMILY_ASCII,
  FAMILY_UTF8,
  FAMILY_ISO2022JP,
  FAMILY_SJIS,
  FAMILY_EUCJP,
  FAMILY_SINGLE_BYTE /* iso-8859-*, windows-125x: anything decodes */
} CharsetFamily;

static CharsetFamily
charset_family (const char *name)
{
  if (!name || !*name)
    return FAMILY_OTHER;

  g_autofree char *n = g_ascii_strdown (name, -1);
  g_strstrip (n);

  static const char *const ascii[] = { "us-ascii", "ascii", "ansi_x3.4-1968", "us", "iso646-us", NULL };
  static const char *const utf8[] = { "utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8", NULL };
  static const char *const sjis[] = { "shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji",
                                      "csshiftjis", "windows-31j", "cp932", "x-ms-cp932",
                                      "ms932", "shift_jisx0213", "x-shift_jis", NULL };
  static const char *const eucjp[] = { "euc-jp", "x-euc-jp", "eucjp", "euc-jp-ms", "eucjp-ms",
                                       "cseucpkdfmtjapanese", "x-euc", "ujis", NULL };

  if (g_strv_contains (ascii, n))
    return FAMILY_ASCII;
  if (g_strv_contains (utf8, n))
    return FAMILY_UTF8;
  if (g_str_has_prefix (n, "iso-2022-jp") || g_str_equal (n, "csiso2022jp")
      || g_str_has_prefix (n, "cp5022") || g_str_equal (n, "jis"))
    return FAMILY_ISO2022JP;
  if (g_strv_contains (sjis, n))
    return FAMILY_SJIS;
  if (g_strv_contains (eucjp, n))
    return FAMILY_EUCJP;
  if (g_str_has_prefix (n, "iso-8859-") || g_str_has_prefix (n, "iso8859-")
      || g_str_has_prefix (n, "windows-125") || g_str_has_prefix (n, "cp125")
      || g_str_equal (n, "latin1") || g_str_equal (n, "iso_8859-1"))
    return FAMILY_SINGLE_BYTE;
  return FAMILY_OTHER;
}

static const char *
family_name (CharsetFamily family)
{
  switch (family)
    {
    case FAMILY_ASCII:
      return "us-ascii";
    case FAMILY_UTF8:
      return "utf-8";
    case FAMILY_ISO2022JP:
      return "iso-2022-jp";
    case FAMILY_SJIS:
      return "shift_jis";
    case FAMILY_EUCJP:
      return "euc-jp";
    default:
      return NULL;
    }
}

/* A charset name from a header is sender text: only plausible names are
 * handed to iconv (which would otherwise try to load a gconv module named
 * after it). */
static gboolean
charset_name_is_sane (const char *name)
{
  gsize n = 0;
  for (const char *p = name; *p; p++, n++)
    if (!(g_ascii_isalnum (*p) || strchr ("-_.:()+", *p)) || n > 40)
      return FALSE;
  return n > 0;
}

char *
mugai_charset_canonical (const char *declared)
{
  CharsetFamily family = charset_family (declared);
  const char *name = family_name (family);
  if (name)
    return g_strdup (name);
  if (!declared || !charset_name_is_sane (declared))
    return NULL;
  return g_ascii_strdown (declared, -1);
}

static gboolean
all_ascii (const char *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if ((guchar) data[i] >= 0x80)
      return FALSE;
  return TRUE;
}

static gboolean
has_iso2022_escape (const char *data, gsize len)
{
  for (gsize i = 0; i + 2 < len; i++)
    if (data[i] == 0x1b && (data[i + 1] == '$' || (data[i + 1] == '(' && data[i + 2] == 'I')))
      return TRUE;
  return FALSE;
}

static char *
convert_with (const char *data, gsize len, const char *iconv_name, gsize *out_len)
{
  gsize bytes_read = 0, bytes_written = 0;
  char *out = g_convert (data, len, "UTF-8", iconv_name, &bytes_read, &bytes_written, NULL);
  if (!out)
    return NULL;
  if (bytes_read != len)
    {
      g_free (out);
      return NULL;
    }
  if (out_len)
    *out_len = bytes_written;
  return out;
}

/* ---- ISO-2022-JP ------------------------------------------------------ */

typedef enum
{
  SEG_ASCII,
  SEG_CP932,
  SEG_EUCJPMS,
  SEG_JISX0213
} Segment;

static gboolean
flush_segment (GString *out, GByteArray *pending, Segment seg)
{
  if (pending->len == 0)
    return TRUE;
  const char *iconv_name = seg == SEG_CP932 ? "CP932" : seg == SEG_EUCJPMS ? "EUC-JP-MS" : "EUC-JISX0213";
  gsize n = 0;
  g_autofree char *utf8 = convert_with ((const char *) pending->data, pending->len, iconv_name, &n);
  if (!utf8)
    return FALSE;
  g_string_append_len (out, utf8, n);
  g_byte_array_set_size (pending, 0);
  return TRUE;
}

/* JIS X 0208 row/cell to Shift_JIS (the arithmetic of JIS X 0208 annex 1).
 * Rows 0x75-0x7e become F0-F9, CP932's user-defined area. */
static void
jis_to_sjis (guchar j1, guchar j2, guint8 out[2])
{
  guint s1 = ((j1 - 0x21) >> 1) + 0x81;
  if (s1 > 0x9f)
    s1 += 0x40;
  guint s2;
  if (j1 & 1)
    {
      s2 = j2 + 0x1f;
      if (s2 >= 0x7f)
        s2++;
    }
  else
    s2 = j2 + 0x7e;
  out[0] = (guint8) s1;
  out[1] = (guint8) s2;
}

static char *
decode_iso2022jp (const char *data, gsize len, gsize *out_len)
{
  enum { ST_ASCII, ST_0208, ST_KANA, ST_0212, ST_0213_1, ST_0213_2 } st = ST_ASCII;
  g_autoptr (GString) out = g_string_sized_new (len + len / 2);
  g_autoptr (GByteArray) pending = g_byte_array_new ();
  Segment seg = SEG_ASCII;

#define SWITCH_SEG(s)                                                                              \
  do                                                                                               \
    {                                                                                              \
      if (seg != (s))                                                                              \
        {                                                                                          \
          if (!flush_segment (out, pending, seg))                                                  \
            return NULL;                                                                           \
          seg = (s);                                                                               \
        }                                                                                          \
    }                                                                                              \
  while (0)

  gsize i = 0;
  while (i < len)
    {
      guchar c = (guchar) data[i];
      if (c == 0x1b)
        {
          const char *p = data + i + 1;
          gsize left = len - i - 1;
          if (left >= 2 && p[0] == '(' && (p[1] == 'B' || p[1] == 'J' || p[1] == 'H'))
            st = ST_ASCII, i += 3;
          else if (left >= 2 && p[0] == '(' && p[1] == 'I')
            st = ST_KANA, i += 3;
          else if (left >= 2 && p[0] == '$' && (p[1] == '@' || p[1] == 'B'))
            st = ST_0208, i += 3;
          else if (left >= 2 && p[0] == '&' && p[1] == '@')
            i += 3; /* JIS X 0208-1990 announcer: ESC $ B follows */
          else if (left >= 3 && p[0] == '$' && p[1] == '(' && p[2] == 'D')
            st = ST_0212, i += 4;
          else if (left >= 3 && p[0] == '$' && p[1] == '(' && (p[2] == 'O' || p[2] == 'Q'))
            st = ST_0213_1, i += 4;
          else if (left >= 3 && p[0] == '$' && p[1] == '(' && p[2] == 'P')
            st = ST_0213_2, i += 4;
          else if (left >= 3 && p[0] == '$' && p[1] == '(' && p[2] == 'B')
            st = ST_0208, i += 4;
          else
            return NULL; /* ISO-2022-JP-2 G2 sets, Chinese, Korean: not ours */
          continue;
        }
      if (c >= 0x80)
        return NULL;
      if (c == 0x0e) /* SO: half-width katakana (CP50222) */
        {
          st = ST_KANA, i++;
          continue;
        }
      if (c == 0x0f)
        {
          st = ST_ASCII, i++;
          continue;
        }
      if (c == '\n' || c == '\r')
        {
          /* RFC 1468 requires ASCII at line end; senders that forget it
           * would otherwise turn the rest of the text into garbage. */
          st = ST_ASCII;
        }

      switch (st)
        {
        case ST_ASCII:
          SWITCH_SEG (SEG_ASCII);
          g_string_append_c (out, (char) c);
          i++;
          break;
        case ST_KANA:
          if (c < 0x21 || c > 0x5f)
            {
              SWITCH_SEG (SEG_ASCII);
              g_string_append_c (out, (char) c);
            }
          else
            {
              SWITCH_SEG (SEG_CP932);
              guint8 b = (guint8) (c + 0x80);
              g_byte_array_append (pending, &b, 1);
            }
          i++;
          break;
        default:
          if (c < 0x21 || c > 0x7e)
            {
              /* space or control inside a double-byte run: tolerated */
              SWITCH_SEG (SEG_ASCII);
              g_string_append_c (out, (char) c);
              i++;
              break;
            }
          if (i + 1 >= len)
            return NULL;
          guchar c2 = (guchar) data[i + 1];
          if (c2 < 0x21 || c2 > 0x7e)
            return NULL;
          if (st == ST_0208)
            {
              guint8 sj[2];
              SWITCH_SEG (SEG_CP932);
              jis_to_sjis (c, c2, sj);
              g_byte_array_append (pending, sj, 2);
            }
          else if (st == ST_0212)
            {
              guint8 e[3] = { 0x8f, (guint8) (c | 0x80), (guint8) (c2 | 0x80) };
              SWITCH_SEG (SEG_EUCJPMS);
              g_byte_array_append (pending, e, 3);
            }
          else
            {
              guint8 e[3] = { 0x8f, (guint8) (c | 0x80), (guint8) (c2 | 0x80) };
              SWITCH_SEG (SEG_JISX0213);
              if (st == ST_0213_1)
                g_byte_array_append (pending, e + 1, 2);
              else
                g_byte_array_append (pending, e, 3);
            }
          i += 2;
          break;
        }
    }
#undef SWITCH_SEG
  if (!flush_segment (out, pending, seg))
    return NULL;
  if (out_len)
    *out_len = out->len;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- strict conversion per family ------------------------------------- */

static char *
convert_family (const char *data, gsize len, CharsetFamily family, const char *declared,
                gsize *out_len)
{
  switch (family)
    {
    case FAMILY_ASCII:
      if (!all_ascii (data, len))
        return NULL;
      if (out_len)
        *out_len = len;
      return g_strndup (data, len);
    case FAMILY_UTF8:
      {
        /* Skip a byte order mark: some Windows mailers write one. */
        if (len >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
          data += 3, len -= 3;
        if (!g_utf8_validate_len (data, len, NULL))
          return NULL;
        if (out_len)
          *out_len = len;
        return g_strndup (data, len);
      }
    case FAMILY_ISO2022JP:
      return decode_iso2022jp (data, len, out_len);
    case FAMILY_SJIS:
      return convert_with (data, len, "CP932", out_len);
    case FAMILY_EUCJP:
      {
        char *out = convert_with (data, len, "EUC-JP-MS", out_len);
        return out ? out : convert_with (data, len, "EUC-JP", out_len);
      }
    case FAMILY_SINGLE_BYTE:
    case FAMILY_OTHER:
      if (!declared || !charset_name_is_sane (declared))
        return NULL;
      return convert_with (data, len, g_mime_charset_iconv_name (declared), out_len);
    }
  return NULL;
}

char *
mugai_charset_convert_strict (const char *data, gsize len, const char *charset, gsize *out_len)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  return convert_family (data ? data : "", len, charset_family (charset), charset, out_len);
}

/* Japanese plausibility of decoded text: kana and common kanji score,
 * half-width katakana and private-use characters (what EUC-JP looks like
 * when read as CP932) cost. */
static long
japanese_score (const char *utf8)
{
  long score = 0;
  for (const char *p = utf8; *p; p = g_utf8_next_char (p))
    {
      gunichar u = g_utf8_get_char (p);
      if (u < 0x80)
        continue;
      if ((u >= 0x3041 && u <= 0x309f) || (u >= 0x30a0 && u <= 0x30ff))
        score += 3;
      else if (u >= 0x4e00 && u <= 0x9fff)
        score += 2;
      else if ((u >= 0x3000 && u <= 0x303f) || (u >= 0xff01 && u <= 0xff5e))
        score += 1;
      else if (u >= 0xff61 && u <= 0xff9f)
        score -= 2;
      else if (u >= 0xe000 && u <= 0xf8ff)
        score -= 4;
      else
        score -= 1;
    }
  return score;
}

/* Lossy decode: iconv, with U+FFFD for every octet it refuses. */
static char *
decode_lossy (const char *data, gsize len, const char *iconv_name)
{
  GIConv cd = g_iconv_open ("UTF-8", iconv_name);
  if (cd == (GIConv) -1)
    return g_utf8_make_valid (data, (gssize) len);

  g_autoptr (GString) out = g_string_sized_new (len * 2 + 16);
  char buf[4096];
  char *in = (char *) data;
  gsize inleft = len;
  while (inleft > 0)
    {
      char *o = buf;
      gsize oleft = sizeof buf;
      gsize r = g_iconv (cd, &in, &inleft, &o, &oleft);
      g_string_append_len (out, buf, (gssize) (o - buf));
      if (r == (gsize) -1)
        {
          if (errno == E2BIG)
            continue;
          /* EILSEQ or EINVAL (truncated sequence at the end) */
          g_string_append (out, "\xef\xbf\xbd");
          in++, inleft--;
          g_iconv (cd, NULL, NULL, NULL, NULL);
        }
    }
  g_iconv_close (cd);
  /* belt and braces: iconv output is UTF-8, but never trust a module */
  return g_utf8_make_valid (out->str, (gssize) out->len);
}

char *
mugai_charset_decode (const char *data, gsize len, const char *declared, char **used,
                      MugaiCharsetQuality *quality)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  if (!data)
    data = "";

  CharsetFamily family = charset_family (declared);
  gboolean ascii = all_ascii (data, len);
  gboolean valid_utf8 = !ascii && g_utf8_validate_len (data, len, NULL);
  char *out = NULL;

  /* 1. The declared charset, when the octets are valid in it and no
   *    stronger evidence contradicts it.  Valid UTF-8 with multi-byte
   *    sequences almost never happens by chance in legacy text, so it
   *    beats a declared legacy charset (mislabelled UTF-8 is common).
   *    ISO-2022-JP escapes in "us-ascii" or unlabelled text win too. */
  gboolean contradicted = (valid_utf8 && family != FAMILY_UTF8 && family != FAMILY_OTHER)
                          || (ascii && family == FAMILY_ASCII && has_iso2022_escape (data, len));
  if (declared && family != FAMILY_OTHER && !contradicted)
    {
      out = convert_family (data, len, family, declared, NULL);
      if (out)
        {
          *used = family_name (family) ? g_strdup (family_name (family))
                                       : g_ascii_strdown (declared, -1);
          *quality = MUGAI_CHARSET_DECLARED;
          return out;
        }
    }
  else if (declared && family == FAMILY_OTHER && !valid_utf8)
    {
      /* gb2312, big5, koi8-r...: trust iconv's verdict */
      out = convert_family (data, len, family, declared, NULL);
      if (out)
        {
          *used = g_ascii_strdown (declared, -1);
          *quality = MUGAI_CHARSET_DECLARED;
          return out;
        }
    }

  MugaiCharsetQuality q = declared ? MUGAI_CHARSET_FALLBACK : MUGAI_CHARSET_DECLARED;

  /* 2. Detection. */
  if (ascii)
    {
      if (has_iso2022_escape (data, len) && (out = decode_iso2022jp (data, len, NULL)))
        {
          *used = g_strdup ("iso-2022-jp");
          *quality = family == FAMILY_ISO2022JP ? MUGAI_CHARSET_DECLARED : q;
          return out;
        }
      *used = g_strdup ("us-ascii");
      *quality = q;
      return g_utf8_make_valid (data, (gssize) len);
    }
  if (valid_utf8)
    {
      *used = g_strdup ("utf-8");
      *quality = family == FAMILY_UTF8 ? MUGAI_CHARSET_DECLARED : q;
      return convert_family (data, len, FAMILY_UTF8, NULL, NULL);
    }

  g_autofree char *sjis = convert_family (data, len, FAMILY_SJIS, NULL, NULL);
  g_autofree char *euc = convert_family (data, len, FAMILY_EUCJP, NULL, NULL);
  if (sjis && euc)
    {
      if (japanese_score (euc) > japanese_score (sjis))
        g_clear_pointer (&sjis, g_free);
      else
        g_clear_pointer (&euc, g_free);
    }
  if (sjis)
    {
      *used = g_strdup ("shift_jis");
      *quality = q;
      return g_steal_pointer (&sjis);
    }
  if (euc)
    {
      *used = g_strdup ("euc-jp");
      *quality = q;
      return g_steal_pointer (&euc);
    }

  /* 3. Nothing fits: keep what can be read, mark the rest.  Use the
   *    declared charset when iconv knows it, else CP932 (the most common
   *    charset of broken Japanese mail). */
  *quality = MUGAI_CHARSET_LOSSY;
  const char *iconv_name = "CP932";
  if (family == FAMILY_EUCJP)
    iconv_name = "EUC-JP-MS";
  else if (family == FAMILY_UTF8 || family == FAMILY_ASCII)
    iconv_name = "UTF-8";
  else if ((family == FAMILY_OTHER || family == FAMILY_SINGLE_BYTE) && declared
           && charset_name_is_sane (declared))
    iconv_name = g_mime_charset_iconv_name (declared);
  if (g_str_equal (iconv_name, "UTF-8"))
    {
      *used = g_strdup ("utf-8");
      return g_utf8_make_valid (data, (gssize) len);
    }
  if (family_name (family))
    *used = g_strdup (family_name (family));
  else if (g_str_equal (iconv_name, "CP932"))
    *used = g_strdup ("shift_jis");
  else
    *used = g_ascii_strdown (declared, -1);
  return decode_lossy (data, len, iconv_name);
}

/* ---- ISO-2022-JP output ----------------------------------------------- */

/* CP932 decodes a few JIS X 0208 code points to different Unicode
 * characters than JIS does (the "wave dash problem"); map them back so
 * that text read from Shift_JIS can be written as ISO-2022-JP. */
static gunichar
cp932_to_jis_unichar (gunichar u)
{
  switch (u)
    {
    case 0xff5e:
      return 0x301c; /* FULLWIDTH TILDE -> WAVE DASH */
    case 0x2225:
      return 0x2016; /* PARALLEL TO -> DOUBLE VERTICAL LINE */
    case 0xff0d:
      return 0x2212; /* FULLWIDTH HYPHEN-MINUS -> MINUS SIGN */
    case 0xffe0:
      return 0x00a2;
    case 0xffe1:
      return 0x00a3;
    case 0xffe2:
      return 0x00ac;
    default:
      return u;
    }
}

char *
mugai_charset_to_iso2022jp (const char *utf8, gsize len, gsize *out_len)
{
  g_return_val_if_fail (utf8 != NULL, NULL);
  if (!g_utf8_validate_len (utf8, len, NULL))
    return NULL;
  /* shift sequences in the text itself would be read as ours */
  for (gsize i = 0; i < len; i++)
    if (utf8[i] == 0x1b || utf8[i] == 0x0e || utf8[i] == 0x0f)
      return NULL;

  g_autoptr (GString) mapped = g_string_sized_new (len);
  for (const char *p = utf8; p < utf8 + len; p = g_utf8_next_char (p))
    g_string_append_unichar (mapped, cp932_to_jis_unichar (g_utf8_get_char (p)));

  gsize bytes_read = 0, bytes_written = 0;
  char *out = g_convert (mapped->str, (gssize) mapped->len, "ISO-2022-JP", "UTF-8", &bytes_read,
                         &bytes_written, NULL);
  if (!out || bytes_read != mapped->len)
    {
      g_free (out);
      return NULL;
    }
  if (out_len)
    *out_len = bytes_written;
  return out;
}

gboolean
mugai_charset_looks_binary (const char *data, gsize len)
{
  gsize controls = 0;
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) data[i];
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b
          && c != 0x0e && c != 0x0f)
        controls++;
    }
  /* A few stray controls, NULs included, occur in real text (broken
   * mailers pad with NUL); more than 1 in 100 octets is not text. */
  return controls > 8 && controls * 100 > len;
}
