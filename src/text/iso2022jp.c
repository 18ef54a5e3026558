/*
 * iso2022jp.c - ISO-2022-JP in and out: the decoder that never leaves JIS
 * octets undecoded, and the writer for charset = iso-2022-jp
 *
 * DESCRIPTION
 *	mugai_iso2022jp_decode() reads RFC 1468 with the CP50220 extensions,
 *	JIS X 0212 and JIS X 0213 and the carriers' emoji (emoji.h), one
 *	character at a time; what no table maps becomes U+3013 and is counted
 *	in MugaiJisStats.  mugai_charset_to_iso2022jp() (charset.h) writes
 *	UTF-8 back as ISO-2022-JP.  The WAVE DASH family is read by JIS X
 *	0208's mapping and written back from either reading (see below).
 *	charset.c decides when a text is ISO-2022-JP; this file only reads
 *	and writes it.
 *
 * OWNERSHIP
 *	Every returned string is owned by the caller.
 *
 * LIMITS
 *	Output at most about 1.5 times the input (the buffer is sized so);
 *	one character at a time through iconv, no recursion.
 */
#include "iso2022jp.h"

#include <string.h>

#include "charset.h"
#include "emoji.h"

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

guint
mugai_jis_to_sjis (guint j1, guint j2)
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
  return s1 << 8 | s2;
}

/* One character (1 to 3 octets) through iconv; FALSE when refused. */
static gboolean
convert_one (GIConv *cd, const char *iconv_name, const guint8 *in, gsize n, GString *out)
{
  if (*cd == NULL)
    {
      *cd = g_iconv_open ("UTF-8", iconv_name);
      if (*cd == (GIConv)-1)
        return FALSE;
    }
  if (*cd == (GIConv)-1)
    return FALSE;
  char buf[16];
  char *ip = (char *)in, *op = buf;
  gsize il = n, ol = sizeof buf;
  gsize r = g_iconv (*cd, &ip, &il, &op, &ol);
  g_iconv (*cd, NULL, NULL, NULL, NULL);
  if (r == (gsize)-1 || il != 0 || op == buf)
    return FALSE;
  g_string_append_len (out, buf, (gssize)(op - buf));
  return TRUE;
}

/* The "wave dash" family.  JIS X 0208 and CP932 read six codes of row 1
 * and 2 as different Unicode characters that look alike:
 *
 *	JIS	JIS X 0208 (Unicode's JIS0208.TXT)	CP932
 *	0x2141	U+301C WAVE DASH			U+FF5E FULLWIDTH TILDE
 *	0x2142	U+2016 DOUBLE VERTICAL LINE		U+2225 PARALLEL TO
 *	0x215D	U+2212 MINUS SIGN			U+FF0D FULLWIDTH HYPHEN-MINUS
 *	0x2171	U+00A2 CENT SIGN			U+FFE0 FULLWIDTH CENT SIGN
 *	0x2172	U+00A3 POUND SIGN			U+FFE1 FULLWIDTH POUND SIGN
 *	0x224C	U+00AC NOT SIGN				U+FFE2 FULLWIDTH NOT SIGN
 *
 * Shift_JIS mail is written by Windows, whose code page is CP932: its
 * reading is the writer's, and mugai keeps it for Shift_JIS.  ISO-2022-JP
 * and EUC-JP are read here by the JIS X 0208 mapping, the one glibc,
 * Python, ICU and the Mac and Unix mailers that write most EUC-JP and
 * non-Windows ISO-2022-JP use: a Mac user's WAVE DASH comes back as the
 * character that was typed, and a Windows user's FULLWIDTH TILDE as a
 * character that looks the same in every Japanese font.  No setting:
 * both readings show the same glyph, so a choice per site would only make
 * the output differ between sites.  The JIS form of U+2015 / U+2014
 * (0x213D) is read as U+2015 by both mappings and left alone.
 * mugai_charset_to_iso2022jp() writes either form back to the same JIS
 * code. */
static gunichar
jis0208_wave_family (guint j1, guint j2)
{
  switch (j1 << 8 | j2)
    {
    case 0x2141:
      return 0x301c;
    case 0x2142:
      return 0x2016;
    case 0x215d:
      return 0x2212;
    case 0x2171:
      return 0x00a2;
    case 0x2172:
      return 0x00a3;
    case 0x224c:
      return 0x00ac;
    default:
      return 0;
    }
}

/* The same family decoded by CP932 or EUC-JP-MS, mapped to JIS X 0208's
 * reading (used for EUC-JP text); takes utf8 and returns owned text. */
char *
mugai_iso2022jp_cp932_to_jis (char *utf8)
{
  gboolean any = FALSE;
  for (const char *p = utf8; *p && !any; p++)
    any = (guchar)*p == 0xef || (guchar)*p == 0xe2;
  if (!any)
    return utf8;
  GString *out = g_string_sized_new (strlen (utf8));
  for (const char *p = utf8; *p; p = g_utf8_next_char (p))
    g_string_append_unichar (out, cp932_to_jis_unichar (g_utf8_get_char (p)));
  g_free (utf8);
  return g_string_free (out, FALSE);
}

static void
append_geta (GString *out, MugaiJisStats *st)
{
  g_string_append (out, "\xe3\x80\x93"); /* U+3013 GETA MARK */
  st->geta++;
}

/* A carrier code in CP932's user-defined area: DoCoMo F89F-F9FC, else
 * SoftBank F741-F7FE / F941-F9FE (F9 is ambiguous: DoCoMo's table is
 * tried first, as DoCoMo sends Shift_JIS and SoftBank UTF-8 to PCs). */
static gboolean
append_udc_emoji (GString *out, guint sjis, MugaiJisStats *st)
{
  if (sjis >= 0xf89f && sjis <= 0xf9fc && mugai_emoji_append (out, MUGAI_CARRIER_DOCOMO, sjis))
    return st->emoji++, TRUE;
  if (((sjis >= 0xf741 && sjis <= 0xf7fe) || (sjis >= 0xf941 && sjis <= 0xf9fe))
      && mugai_emoji_append (out, MUGAI_CARRIER_SOFTBANK, sjis))
    return st->emoji++, TRUE;
  return FALSE;
}

/* Decodes ISO-2022-JP (RFC 1468) with the CP50220 extensions, JIS X 0212
 * and JIS X 0213 sets, and the carriers' emoji (emoji.h).  NULL only for
 * 8-bit octets (then the text is not ISO-2022-JP at all); anything else
 * that no table maps -- an unknown escape sequence is skipped -- becomes
 * U+3013 and is counted in st, so that no run of JIS octets ever leaves
 * undecoded.  kddi: read rows 0x79-0x7B as KDDI emoji rather than as
 * CP932's NEC-selected IBM extensions (髙, 﨑...). */
static char *
decode_iso2022jp_with (const char *data, gsize len, gboolean kddi, MugaiJisStats *st,
                       gboolean *kddi_seen, gsize *out_len)
{
  enum
  {
    ST_ASCII,
    ST_0208,
    ST_KANA,
    ST_0212,
    ST_0213_1,
    ST_0213_2,
    ST_WEBCODE
  } state
      = ST_ASCII;
  g_autoptr (GString) out = g_string_sized_new (len + len / 2);
  GIConv cd_cp932 = NULL, cd_eucms = NULL, cd_0213 = NULL;
  char webpage = 0;
  *st = (MugaiJisStats){ 0 };
  *kddi_seen = FALSE;
  gboolean ok = TRUE;

  gsize i = 0;
  while (i < len && ok)
    {
      guchar c = (guchar)data[i];
      if (c >= 0x80)
        {
          ok = FALSE;
          break;
        }
      if (c == 0x1b)
        {
          const char *p = data + i + 1;
          gsize left = len - i - 1;
          if (left >= 2 && p[0] == '(' && (p[1] == 'B' || p[1] == 'J' || p[1] == 'H'))
            state = ST_ASCII, i += 3;
          else if (left >= 2 && p[0] == '(' && p[1] == 'I')
            state = ST_KANA, i += 3;
          else if (left >= 2 && p[0] == '$' && (p[1] == '@' || p[1] == 'B'))
            state = ST_0208, i += 3;
          else if (left >= 2 && p[0] == '&' && p[1] == '@')
            i += 3; /* JIS X 0208-1990 announcer: ESC $ B follows */
          else if (left >= 3 && p[0] == '$' && p[1] == '(' && p[2] == 'D')
            state = ST_0212, i += 4;
          else if (left >= 3 && p[0] == '$' && p[1] == '(' && (p[2] == 'O' || p[2] == 'Q'))
            state = ST_0213_1, i += 4;
          else if (left >= 3 && p[0] == '$' && p[1] == '(' && p[2] == 'P')
            state = ST_0213_2, i += 4;
          else if (left >= 3 && p[0] == '$' && p[1] == '(' && p[2] == 'B')
            state = ST_0208, i += 4;
          else if (left >= 2 && p[0] == '$' && strchr ("GEFOPQ", p[1]))
            state = ST_WEBCODE, webpage = p[1], i += 3; /* SoftBank, up to SI */
          else
            {
              /* ISO-2022-JP-2's G2 sets, Chinese, Korean, or garbage: the
               * sequence (intermediates 0x20-0x2F, one final byte) is
               * skipped and what follows read in the current set. */
              st->skipped++;
              i++;
              while (i < len && (guchar)data[i] >= 0x20 && (guchar)data[i] <= 0x2f)
                i++;
              if (i < len && (guchar)data[i] >= 0x30 && (guchar)data[i] <= 0x7e)
                i++;
            }
          continue;
        }
      if (c == 0x0e) /* SO: half-width katakana (CP50222) */
        {
          state = ST_KANA, i++;
          continue;
        }
      if (c == 0x0f)
        {
          state = ST_ASCII, i++;
          continue;
        }
      if (c == '\n' || c == '\r')
        {
          /* RFC 1468 requires ASCII at line end; senders that forget it
           * would otherwise turn the rest of the text into garbage. */
          state = ST_ASCII;
        }

      if (state == ST_ASCII)
        {
          g_string_append_c (out, (char)c);
          i++;
          continue;
        }
      if (state == ST_KANA)
        {
          guint8 b = (guint8)(c + 0x80);
          if (c < 0x21 || c > 0x5f)
            g_string_append_c (out, (char)c);
          else if (!convert_one (&cd_cp932, "CP932", &b, 1, out))
            append_geta (out, st);
          i++;
          continue;
        }
      if (c < 0x21 || c > 0x7e)
        {
          /* space or control inside a double-byte run: tolerated */
          g_string_append_c (out, (char)c);
          i++;
          continue;
        }
      if (state == ST_WEBCODE)
        {
          guint sjis = mugai_emoji_softbank_webcode_to_sjis (webpage, c);
          if (sjis && mugai_emoji_append (out, MUGAI_CARRIER_SOFTBANK, sjis))
            st->emoji++;
          else
            append_geta (out, st);
          i++;
          continue;
        }
      guchar c2 = i + 1 < len ? (guchar)data[i + 1] : 0;
      if (c2 >= 0x80)
        {
          ok = FALSE;
          break;
        }
      if (c2 < 0x21 || c2 > 0x7e)
        {
          /* half a pair: the lone octet is lost, what follows is read */
          append_geta (out, st);
          i++;
          continue;
        }
      i += 2;

      if (state == ST_0208)
        {
          gunichar wave = jis0208_wave_family (c, c2);
          if (wave)
            {
              g_string_append_unichar (out, wave);
              continue;
            }
          guint kddi_sjis = mugai_emoji_kddi_jis_to_sjis (c, c2);
          if (kddi_sjis && (c <= 0x78 || kddi))
            {
              if (c <= 0x78)
                *kddi_seen = TRUE;
              if (mugai_emoji_append (out, MUGAI_CARRIER_KDDI, kddi_sjis))
                st->emoji++;
              else
                append_geta (out, st);
              continue;
            }
          guint sjis = mugai_jis_to_sjis (c, c2);
          guint8 sj[2] = { (guint8)(sjis >> 8), (guint8)sjis };
          if (c < 0x75 || (c >= 0x79 && c <= 0x7c))
            {
              if (convert_one (&cd_cp932, "CP932", sj, 2, out))
                continue;
            }
          if (kddi_sjis && mugai_emoji_append (out, MUGAI_CARRIER_KDDI, kddi_sjis))
            {
              st->emoji++;
              continue;
            }
          guint udc = mugai_emoji_udc_jis_to_sjis (FALSE, c, c2);
          if (!(udc && append_udc_emoji (out, udc, st)))
            append_geta (out, st);
        }
      else if (state == ST_0212)
        {
          guint udc = mugai_emoji_udc_jis_to_sjis (TRUE, c, c2);
          guint8 e[3] = { 0x8f, (guint8)(c | 0x80), (guint8)(c2 | 0x80) };
          if (udc)
            {
              if (!append_udc_emoji (out, udc, st))
                append_geta (out, st);
            }
          else if (!convert_one (&cd_eucms, "EUC-JP-MS", e, 3, out))
            append_geta (out, st);
        }
      else
        {
          guint8 e[3] = { 0x8f, (guint8)(c | 0x80), (guint8)(c2 | 0x80) };
          gboolean done = state == ST_0213_1 ? convert_one (&cd_0213, "EUC-JISX0213", e + 1, 2, out)
                                             : convert_one (&cd_0213, "EUC-JISX0213", e, 3, out);
          if (!done)
            append_geta (out, st);
        }
    }
  for (GIConv *cd = &cd_cp932; cd; cd = cd == &cd_cp932   ? &cd_eucms
                                        : cd == &cd_eucms ? &cd_0213
                                                          : NULL)
    if (*cd && *cd != (GIConv)-1)
      g_iconv_close (*cd);
  if (!ok)
    return NULL;
  if (out_len)
    *out_len = out->len;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* KDDI's rows 0x79-0x7B are also CP932's NEC-selected IBM extensions
 * (髙, 﨑, 德...), which Outlook's ISO-2022-JP carries: they are read as
 * kanji unless the same text holds KDDI emoji in rows 0x75-0x78, which
 * nothing else writes. */
char *
mugai_iso2022jp_decode (const char *data, gsize len, MugaiJisStats *st, gsize *out_len)
{
  gboolean kddi_seen = FALSE;
  MugaiJisStats local;
  if (!st)
    st = &local;
  char *out = decode_iso2022jp_with (data, len, FALSE, st, &kddi_seen, out_len);
  if (out && kddi_seen)
    {
      g_free (out);
      out = decode_iso2022jp_with (data, len, TRUE, st, &kddi_seen, out_len);
    }
  return out;
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
  char *out = g_convert (mapped->str, (gssize)mapped->len, "ISO-2022-JP", "UTF-8", &bytes_read,
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
