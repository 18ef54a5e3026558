/*
 * charset.c - decode Japanese (and other) text to UTF-8 without mojibake
 *
 * DESCRIPTION
 *	See charset.h.  The Japanese families are recognised by their many
 *	aliases; every other charset name goes to iconv through GMime's alias
 *	table (g_mime_charset_iconv_name).  Strict conversion uses
 *	g_convert(), which fails on any invalid sequence; the lossy path
 *	uses a GIConv loop that writes U+FFFD for each invalid octet.
 *	ISO-2022-JP itself is read and written by iso2022jp.c; this file
 *	names charsets, tells languages apart and decides.
 *
 * OWNERSHIP
 *	Every returned string is owned by the caller.
 */
#include "charset.h"

#include <errno.h>
#include <string.h>
#include <gmime/gmime.h>

#include "emoji.h"
#include "iso2022jp.h"

typedef enum
{
  FAMILY_OTHER,
  FAMILY_ASCII,
  FAMILY_UTF8,
  FAMILY_ISO2022JP,
  FAMILY_SJIS,
  FAMILY_EUCJP,
  FAMILY_HZ,         /* HZ-GB-2312 (RFC 1843): GB2312 in 7 bits between ~{ and ~} */
  FAMILY_SINGLE_BYTE /* iso-8859-*, windows-125x: anything decodes */
} CharsetFamily;

/* ---- charset labels ----------------------------------------------------- */

/* A label as mail clients write it, reduced to lower-case letters and
 * digits, an "x-" prefix dropped: "Shift_JIS", "shift-jis", "x-sjis",
 * "koi8_r", "KOI8-R", "ISO8859-1", "iso_8859-1:1987" compare equal to
 * their canonical forms.  NULL for an empty or absurd label. */
static char *
charset_key (const char *name)
{
  if (!name)
    return NULL;
  while (*name == ' ' || *name == '\t' || *name == '"' || *name == '\'')
    name++;
  if ((name[0] == 'x' || name[0] == 'X') && (name[1] == '-' || name[1] == '_'))
    name += 2;
  GString *k = g_string_sized_new (16);
  for (const char *p = name; *p && k->len < 40; p++)
    if (g_ascii_isalnum (*p))
      g_string_append_c (k, g_ascii_tolower (*p));
  if (k->len == 0)
    {
      g_string_free (k, TRUE);
      return NULL;
    }
  return g_string_free (k, FALSE);
}

typedef struct
{
  const char *key; /* charset_key() form */
  CharsetFamily family;
  const char *canonical; /* the name reported */
  const char *iconv[2];  /* tried in order */
} CharsetLabel;

/* The labels of the WHATWG Encoding Standard and IANA's registry that
 * mail clients write, and the variants seen in the wild.  ISO-8859-1
 * (and US-ASCII text that holds 8-bit octets) is read as windows-1252,
 * as browsers and mail clients do: the octets 0x80-0x9F are that code
 * page's quotes and dashes far more often than C1 controls.  GB2312 and
 * GBK are read as GB18030, EUC-KR as CP949 and Big5 as CP950, their
 * supersets, which decode the same octets the same way. */
static const CharsetLabel labels[] = {
  { "usascii", FAMILY_ASCII, "us-ascii", { NULL } },
  { "ascii", FAMILY_ASCII, "us-ascii", { NULL } },
  { "ansix341968", FAMILY_ASCII, "us-ascii", { NULL } },
  { "iso646us", FAMILY_ASCII, "us-ascii", { NULL } },
  { "csascii", FAMILY_ASCII, "us-ascii", { NULL } },
  { "us", FAMILY_ASCII, "us-ascii", { NULL } },
  { "646", FAMILY_ASCII, "us-ascii", { NULL } },
  { "utf8", FAMILY_UTF8, "utf-8", { NULL } },
  { "unicode11utf8", FAMILY_UTF8, "utf-8", { NULL } },
  { "unicode20utf8", FAMILY_UTF8, "utf-8", { NULL } },
  { "unicodeutf8", FAMILY_UTF8, "utf-8", { NULL } },
  { "utf", FAMILY_UTF8, "utf-8", { NULL } },
  { "csiso2022jp", FAMILY_ISO2022JP, "iso-2022-jp", { NULL } },
  { "csiso2022jp2", FAMILY_ISO2022JP, "iso-2022-jp", { NULL } },
  { "jis", FAMILY_ISO2022JP, "iso-2022-jp", { NULL } },
  { "jis7", FAMILY_ISO2022JP, "iso-2022-jp", { NULL } },
  { "sjis", FAMILY_SJIS, "shift_jis", { NULL } },
  { "mskanji", FAMILY_SJIS, "shift_jis", { NULL } },
  { "csshiftjis", FAMILY_SJIS, "shift_jis", { NULL } },
  { "windows31j", FAMILY_SJIS, "shift_jis", { NULL } },
  { "cswindows31j", FAMILY_SJIS, "shift_jis", { NULL } },
  { "cp932", FAMILY_SJIS, "shift_jis", { NULL } },
  { "mscp932", FAMILY_SJIS, "shift_jis", { NULL } },
  { "ms932", FAMILY_SJIS, "shift_jis", { NULL } },
  { "windows932", FAMILY_SJIS, "shift_jis", { NULL } },
  { "ibm943", FAMILY_SJIS, "shift_jis", { NULL } },
  { "cp943", FAMILY_SJIS, "shift_jis", { NULL } },
  { "euc", FAMILY_EUCJP, "euc-jp", { NULL } },
  { "ujis", FAMILY_EUCJP, "euc-jp", { NULL } },
  { "cseucpkdfmtjapanese", FAMILY_EUCJP, "euc-jp", { NULL } },
  { "cp51932", FAMILY_EUCJP, "euc-jp", { NULL } },
  { "eucjapanese", FAMILY_EUCJP, "euc-jp", { NULL } },
  { "iso88591", FAMILY_SINGLE_BYTE, "iso-8859-1", { "CP1252", "ISO-8859-1" } },
  { "iso885911987", FAMILY_SINGLE_BYTE, "iso-8859-1", { "CP1252", "ISO-8859-1" } },
  { "latin1", FAMILY_SINGLE_BYTE, "iso-8859-1", { "CP1252", "ISO-8859-1" } },
  { "l1", FAMILY_SINGLE_BYTE, "iso-8859-1", { "CP1252", "ISO-8859-1" } },
  { "cp819", FAMILY_SINGLE_BYTE, "iso-8859-1", { "CP1252", "ISO-8859-1" } },
  { "ibm819", FAMILY_SINGLE_BYTE, "iso-8859-1", { "CP1252", "ISO-8859-1" } },
  { "csisolatin1", FAMILY_SINGLE_BYTE, "iso-8859-1", { "CP1252", "ISO-8859-1" } },
  { "iso885915", FAMILY_SINGLE_BYTE, "iso-8859-15", { "ISO-8859-15", NULL } },
  { "latin9", FAMILY_SINGLE_BYTE, "iso-8859-15", { "ISO-8859-15", NULL } },
  { "latin0", FAMILY_SINGLE_BYTE, "iso-8859-15", { "ISO-8859-15", NULL } },
  { "iso88592", FAMILY_SINGLE_BYTE, "iso-8859-2", { "ISO-8859-2", NULL } },
  { "latin2", FAMILY_SINGLE_BYTE, "iso-8859-2", { "ISO-8859-2", NULL } },
  { "l2", FAMILY_SINGLE_BYTE, "iso-8859-2", { "ISO-8859-2", NULL } },
  { "csisolatin2", FAMILY_SINGLE_BYTE, "iso-8859-2", { "ISO-8859-2", NULL } },
  { "iso88595", FAMILY_SINGLE_BYTE, "iso-8859-5", { "ISO-8859-5", NULL } },
  { "iso88597", FAMILY_SINGLE_BYTE, "iso-8859-7", { "ISO-8859-7", NULL } },
  { "koi8r", FAMILY_SINGLE_BYTE, "koi8-r", { "KOI8-R", NULL } },
  { "cskoi8r", FAMILY_SINGLE_BYTE, "koi8-r", { "KOI8-R", NULL } },
  { "koi8", FAMILY_SINGLE_BYTE, "koi8-r", { "KOI8-R", NULL } },
  { "koi8u", FAMILY_SINGLE_BYTE, "koi8-u", { "KOI8-U", NULL } },
  { "koi8ru", FAMILY_SINGLE_BYTE, "koi8-u", { "KOI8-RU", "KOI8-U" } },
  { "tis620", FAMILY_SINGLE_BYTE, "tis-620", { "CP874", "TIS-620" } },
  { "iso885911", FAMILY_SINGLE_BYTE, "tis-620", { "CP874", "TIS-620" } },
  { "windows874", FAMILY_SINGLE_BYTE, "windows-874", { "CP874", "TIS-620" } },
  { "cp874", FAMILY_SINGLE_BYTE, "windows-874", { "CP874", "TIS-620" } },
  /* UTF-7: Outlook Express labels it "unicode-1-1-utf-7" */
  { "utf7", FAMILY_OTHER, "utf-7", { "UTF-7", NULL } },
  { "unicode11utf7", FAMILY_OTHER, "utf-7", { "UTF-7", NULL } },
  { "csunicode11utf7", FAMILY_OTHER, "utf-7", { "UTF-7", NULL } },
  { "hzgb2312", FAMILY_HZ, "hz-gb-2312", { NULL } },
  { "hz", FAMILY_HZ, "hz-gb-2312", { NULL } },
  { "gb2312", FAMILY_OTHER, "gb2312", { "GB18030", NULL } },
  { "csgb2312", FAMILY_OTHER, "gb2312", { "GB18030", NULL } },
  { "gb231280", FAMILY_OTHER, "gb2312", { "GB18030", NULL } },
  { "euccn", FAMILY_OTHER, "gb2312", { "GB18030", NULL } },
  { "chinese", FAMILY_OTHER, "gb2312", { "GB18030", NULL } },
  { "gbk", FAMILY_OTHER, "gbk", { "GB18030", NULL } },
  { "cp936", FAMILY_OTHER, "gbk", { "GB18030", NULL } },
  { "ms936", FAMILY_OTHER, "gbk", { "GB18030", NULL } },
  { "windows936", FAMILY_OTHER, "gbk", { "GB18030", NULL } },
  { "gb18030", FAMILY_OTHER, "gb18030", { "GB18030", NULL } },
  { "big5", FAMILY_OTHER, "big5", { "CP950", "BIG5-HKSCS" } },
  { "csbig5", FAMILY_OTHER, "big5", { "CP950", "BIG5-HKSCS" } },
  { "cnbig5", FAMILY_OTHER, "big5", { "CP950", "BIG5-HKSCS" } },
  { "xbig5", FAMILY_OTHER, "big5", { "CP950", "BIG5-HKSCS" } },
  { "cp950", FAMILY_OTHER, "big5", { "CP950", "BIG5-HKSCS" } },
  { "ms950", FAMILY_OTHER, "big5", { "CP950", "BIG5-HKSCS" } },
  { "windows950", FAMILY_OTHER, "big5", { "CP950", "BIG5-HKSCS" } },
  { "big5hkscs", FAMILY_OTHER, "big5-hkscs", { "BIG5-HKSCS", NULL } },
  { "euckr", FAMILY_OTHER, "euc-kr", { "CP949", NULL } },
  { "cseuckr", FAMILY_OTHER, "euc-kr", { "CP949", NULL } },
  { "ksc5601", FAMILY_OTHER, "euc-kr", { "CP949", NULL } },
  { "ksc56011987", FAMILY_OTHER, "euc-kr", { "CP949", NULL } },
  { "ksx1001", FAMILY_OTHER, "euc-kr", { "CP949", NULL } },
  { "korean", FAMILY_OTHER, "euc-kr", { "CP949", NULL } },
  { "cp949", FAMILY_OTHER, "euc-kr", { "CP949", NULL } },
  { "uhc", FAMILY_OTHER, "euc-kr", { "CP949", NULL } },
  { "ms949", FAMILY_OTHER, "euc-kr", { "CP949", NULL } },
  { "windows949", FAMILY_OTHER, "euc-kr", { "CP949", NULL } },
};

/* windows-125x, cp125x, ms125x, iso8859N and latinN for the rest */
static const CharsetLabel *
label_lookup (const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (labels); i++)
    if (g_str_equal (labels[i].key, key))
      return &labels[i];
  return NULL;
}

/* Whether a key names ISO-2022-JP, also with the typos and vendor
 * suffixes senders write ("iso-2202-jp", "ISO-2022-JP-MS", "x-iso-2022-jp-
 * kddi", "CP50220").  A typo costs nothing: the octets decide, and
 * ISO-2022-JP octets are unlike any other charset's. */
static gboolean
key_is_iso2022jp (const char *k)
{
  return g_str_has_prefix (k, "iso2022jp") || g_str_has_prefix (k, "iso2202jp")
         || g_str_has_prefix (k, "iso2022jis") || g_str_has_prefix (k, "is02022jp")
         || g_str_has_prefix (k, "iso022jp") || g_str_has_prefix (k, "iso20222jp")
         || g_str_has_prefix (k, "cp5022");
}

static CharsetFamily
charset_family_of (const char *name, const CharsetLabel **label_out, char **iconv_other)
{
  *label_out = NULL;
  if (iconv_other)
    *iconv_other = NULL;
  g_autofree char *k = charset_key (name);
  if (!k)
    return FAMILY_OTHER;
  const CharsetLabel *l = label_lookup (k);
  if (l)
    {
      *label_out = l;
      return l->family;
    }
  if (key_is_iso2022jp (k))
    return FAMILY_ISO2022JP;
  /* shift_jis, shift-jis, shiftjis, sjis-open, shift_jisx0213,
   * shift_jis-2004, sjis-docomo, "shift-js"... */
  if (g_str_has_prefix (k, "shiftj") || g_str_has_prefix (k, "sjis")
      || g_str_has_prefix (k, "shitfjis") || g_str_has_prefix (k, "shiftsjis"))
    return FAMILY_SJIS;
  if (g_str_has_prefix (k, "eucjp") || g_str_has_prefix (k, "eucjis"))
    return FAMILY_EUCJP;
  /* windows-1250..1258, cp125x, ms-125x / iso8859N, latinN */
  const char *digits = NULL;
  if (g_str_has_prefix (k, "windows125"))
    digits = k + 7;
  else if (g_str_has_prefix (k, "cp125") || g_str_has_prefix (k, "ms125"))
    digits = k + 2;
  else if (g_str_has_prefix (k, "win125"))
    digits = k + 3;
  if (digits && strlen (digits) == 4 && strspn (digits, "0123456789") == 4)
    {
      if (iconv_other)
        *iconv_other = g_strdup_printf ("CP%s", digits);
      return FAMILY_SINGLE_BYTE;
    }
  /* iso8859N only: "iso-8859-8-i" and the like go to GMime's aliases */
  if (g_str_has_prefix (k, "iso8859") && strlen (k) >= 8 && strlen (k) <= 9
      && strspn (k + 7, "0123456789") == strlen (k + 7))
    {
      if (iconv_other)
        *iconv_other = g_strdup_printf ("ISO-8859-%s", k + 7);
      return FAMILY_SINGLE_BYTE;
    }
  return FAMILY_OTHER;
}

static CharsetFamily
charset_family (const char *name)
{
  const CharsetLabel *l;
  return charset_family_of (name, &l, NULL);
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
  const CharsetLabel *l;
  g_autofree char *other = NULL;
  CharsetFamily family = charset_family_of (declared, &l, &other);
  const char *name = family_name (family);
  if (name)
    return g_strdup (name);
  if (l)
    return g_strdup (l->canonical);
  if (other && g_str_has_prefix (other, "CP"))
    return g_strdup_printf ("windows-%s", other + 2);
  if (other)
    return g_ascii_strdown (other, -1);
  if (!declared || !charset_name_is_sane (declared))
    return NULL;
  return g_ascii_strdown (declared, -1);
}

static gboolean
all_ascii (const char *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if ((guchar)data[i] >= 0x80)
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

/* ---- strict conversion per family ------------------------------------- */

/* The iconv names to try for a declared charset outside the Japanese
 * families, or NULL. */
static void
iconv_names (const char *declared, const char *out[2], char **owned)
{
  const CharsetLabel *l;
  out[0] = out[1] = NULL;
  *owned = NULL;
  charset_family_of (declared, &l, owned);
  if (l)
    {
      out[0] = l->iconv[0];
      out[1] = l->iconv[1];
    }
  else if (*owned)
    out[0] = *owned;
  else if (declared && charset_name_is_sane (declared))
    out[0] = g_mime_charset_iconv_name (declared);
}

/* HZ (RFC 1843) to GB2312 octets: "~{" starts two-octet GB2312 with the
 * high bits cleared, "~}" ends it, "~~" is "~", "~" and a line break is
 * a soft line break.  NULL for what RFC 1843 does not allow: an 8-bit
 * octet, an unknown "~" sequence, a GB character cut in half. */
static GString *
hz_to_gb2312 (const char *data, gsize len)
{
  g_autoptr (GString) out = g_string_sized_new (len);
  gboolean gb = FALSE;
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar)data[i];
      if (c >= 0x80)
        return NULL;
      if (c == '~' && i + 1 < len)
        {
          guchar n = (guchar)data[i + 1];
          if (n == '{' || n == '}')
            gb = n == '{';
          else if (n == '~' && !gb)
            g_string_append_c (out, '~');
          else if (n == '\n' && !gb)
            ; /* soft line break */
          else if (n == '\r' && !gb && i + 2 < len && data[i + 2] == '\n')
            i++;
          else
            return NULL;
          i++;
          continue;
        }
      if (gb && c != '\n' && c != '\r')
        {
          if (i + 1 >= len || c < 0x21 || c > 0x7e || (guchar)data[i + 1] < 0x21
              || (guchar)data[i + 1] > 0x7e)
            return NULL;
          g_string_append_c (out, (char)(c | 0x80));
          g_string_append_c (out, (char)(data[i + 1] | 0x80));
          i++;
          continue;
        }
      if (gb)
        gb = FALSE; /* a line break ends GB mode (RFC 1843) */
      g_string_append_c (out, (char)c);
    }
  return g_steal_pointer (&out);
}

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
      {
        MugaiJisStats st;
        char *out = mugai_iso2022jp_decode (data, len, &st, out_len);
        if (out && (st.geta > 0 || st.skipped > 0))
          g_clear_pointer (&out, g_free); /* strict: every character mapped */
        return out;
      }
    case FAMILY_SJIS:
      {
        /* the carriers' emoji come out of CP932 as Private Use: mapped */
        char *out = convert_with (data, len, "CP932", out_len);
        if (out)
          {
            out = mugai_emoji_from_cp932_pua (out, NULL, NULL);
            if (out_len)
              *out_len = strlen (out);
          }
        return out;
      }
    case FAMILY_EUCJP:
      {
        char *out = convert_with (data, len, "EUC-JP-MS", out_len);
        if (!out)
          out = convert_with (data, len, "EUC-JP", out_len);
        if (out)
          {
            out = mugai_iso2022jp_cp932_to_jis (out);
            if (out_len)
              *out_len = strlen (out);
          }
        return out;
      }
    case FAMILY_HZ:
      {
        g_autoptr (GString) gb = hz_to_gb2312 (data, len);
        return gb ? convert_with (gb->str, gb->len, "GB18030", out_len) : NULL;
      }
    case FAMILY_SINGLE_BYTE:
    case FAMILY_OTHER:
      {
        const char *names[2];
        g_autofree char *owned = NULL;
        iconv_names (declared, names, &owned);
        for (int i = 0; i < 2 && names[i]; i++)
          {
            char *out = convert_with (data, len, names[i], out_len);
            if (out)
              return out;
          }
        return NULL;
      }
    }
  return NULL;
}

char *
mugai_charset_convert_strict (const char *data, gsize len, const char *charset, gsize *out_len)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  return convert_family (data ? data : "", len, charset_family (charset), charset, out_len);
}

/* ---- telling languages apart ------------------------------------------- */

typedef enum
{
  LANG_JA,
  LANG_ZH_HANS,
  LANG_ZH_HANT,
  LANG_KO,
  LANG_CYRILLIC,
  LANG_LATIN,
  LANG_THAI
} Lang;

/* The readings tried for 8-bit text that is not UTF-8 and whose declared
 * charset (if any) does not fit, in the order of the mail a Japanese
 * municipality gets: Japanese first, then its neighbours' languages,
 * Russian, and the European ones. */
static const struct
{
  const char *name; /* reported */
  const char *iconv;
  Lang lang;
} candidates[] = {
  { "shift_jis", "CP932", LANG_JA },
  { "euc-jp", "EUC-JP-MS", LANG_JA },
  { "gb18030", "GB18030", LANG_ZH_HANS },
  { "big5", "CP950", LANG_ZH_HANT },
  { "euc-kr", "CP949", LANG_KO },
  { "windows-1251", "CP1251", LANG_CYRILLIC },
  { "koi8-r", "KOI8-R", LANG_CYRILLIC },
  { "windows-1252", "CP1252", LANG_LATIN },
  { "iso-8859-2", "ISO-8859-2", LANG_LATIN },
  { "windows-1250", "CP1250", LANG_LATIN },
  { "windows-874", "CP874", LANG_THAI },
};

/* The most frequent characters of each language (from the usual
 * frequency lists): real text hits them often, the same octets read in
 * another CJK charset almost never do. */
static const char common_hans[] = "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你"
                                  "对生能而子那得于着下自之年过发后作里"
                                  "用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好"
                                  "小部其些主样理心她本前开但因只从想实"
                                  "日者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两"
                                  "高间由问很最重并物手应战向头文体政美"
                                  "相见被利什二等产或新己制身果加西月话合回特代内信表化老给世位次度"
                                  "门任常先海通教儿原东声提立及比员解水"
                                  "名真论处走义各入几口认条平系气题活更别打女变四神总何电数安少报才"
                                  "结反受目太量再感建务做接必场件计管期"
                                  "市直资命山金指许统区保至队形社便空决治展马科司五基眼书非则听白却"
                                  "界达光放强即像难且权思王象完设式色路"
                                  "记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切"
                                  "院让识候带导争运笑飞风步改收根干造言"
                                  "联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫"
                                  "台单影具罗字爱击流备兵连调深商算质团"
                                  "集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支"
                                  "视消越器容照须九增研写称企八功吗包片"
                                  "史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号"
                                  "尽另周较注语仅考落青随选列武红响虽推"
                                  "势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星"
                                  "够章音跟志底站严巴例防族供效续施留讲"
                                  "型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀"
                                  "攻父苏密低朝友诉止细愿千值仍男钱破网"
                                  "您邮件附档请谢";
static const char common_hant[] = "的一是不了在人有我他這個們中來上大為和國地到以說時要就出會可也你"
                                  "對生能而子那得於著下自之年過發後作裡"
                                  "用道行所然家種事成方多經麼去法學如都同現當沒動面起看定天分還進好"
                                  "小部其些主樣理心她本前開但因只從想實"
                                  "日者意無力它與長把機十民第公此已工使情明性知全三又關點正業外將兩"
                                  "高間由問很最重並物手應戰向頭文體政美"
                                  "相見被利什二等產或新己制身果加西月話合回特代內信表化老給世位次度"
                                  "門任常先海通教兒原東聲提立及比員解水"
                                  "名真論處走義各入幾口認條平系氣題活更別打女變四神總何電數安少報才"
                                  "結反受目太量再感建務做接必場件計管期"
                                  "市直資命山金指許統區保至隊形社便空決治展馬科司五基眼書非則聽白卻"
                                  "界達光放強即像難且權思王象完設式色路"
                                  "記南品住告類求據程北邊死張該交規萬取拉格望覺術領共確傳師觀清今切"
                                  "院讓識候帶導爭運笑飛風步改收根乾造言"
                                  "您郵件附檔請謝";
static const char common_hangul[]
    = "이다는의에하고을를가지서한로기으사도리자대나수아정시니어해인일들게그있것보요만전구장부국주우"
      "제상"
      "위적성과내때라면습까오여중경세개원회발생소문된리동용없계음화마연년공민방관분실학간저비신진거"
      "께님드립합니다안녕세요감사";

static GHashTable *
char_set_of (const char *chars)
{
  GHashTable *set = g_hash_table_new (NULL, NULL);
  for (const char *p = chars; *p; p = g_utf8_next_char (p))
    g_hash_table_add (set, GUINT_TO_POINTER (g_utf8_get_char (p)));
  return set;
}

static gboolean
is_common (Lang lang, gunichar u)
{
  static GHashTable *sets[3];
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      sets[0] = char_set_of (common_hans);
      sets[1] = char_set_of (common_hant);
      sets[2] = char_set_of (common_hangul);
      g_once_init_leave (&once, 1);
    }
  int i = lang == LANG_ZH_HANS ? 0 : lang == LANG_ZH_HANT ? 1 : lang == LANG_KO ? 2 : -1;
  return i >= 0 && g_hash_table_contains (sets[i], GUINT_TO_POINTER (u));
}

static gboolean
ascii_letter (gunichar u)
{
  return u < 0x80 && g_ascii_isalpha ((char)u);
}

#define IS_KANA(u) (((u) >= 0x3041 && (u) <= 0x309f) || ((u) >= 0x30a0 && (u) <= 0x30ff))
#define IS_HAN(u)                                                                                  \
  (((u) >= 0x4e00 && (u) <= 0x9fff) || ((u) >= 0x3400 && (u) <= 0x4dbf)                            \
   || ((u) >= 0xf900 && (u) <= 0xfaff))
#define IS_HANGUL(u) ((u) >= 0xac00 && (u) <= 0xd7a3)
#define IS_CJK_PUNCT(u) (((u) >= 0x3000 && (u) <= 0x303f) || ((u) >= 0xff01 && (u) <= 0xff5e))

/* Whether a small half-width kana (ｧ-ｯ) or the long mark (ｰ) stands
 * where katakana writes it: ｬｭｮ after an i-row kana (ｷｮｳ), ｧｨｩｪｫ after
 * the kana that take them (ﾌｧ, ﾃｨ, ｳｫ), ｯ before a consonant, ｰ after a
 * kana.  Chinese read as Shift_JIS puts them anywhere. */
static gboolean
halfwidth_small_fits (gunichar prev, gunichar u, gunichar next)
{
  gboolean prev_kana = prev >= 0xff66 && prev <= 0xff9f;
  if (u == 0xff70)
    return prev_kana;
  if (u == 0xff6f)
    return next >= 0xff76 && next <= 0xff9c; /* ｶ..ﾜ: not a vowel, not ﾝ */
  if (u >= 0xff6c && u <= 0xff6e)
    return prev == 0xff77 || prev == 0xff7c || prev == 0xff81 || prev == 0xff86 || prev == 0xff8b
           || prev == 0xff90 || prev == 0xff98 || prev == 0xff9e || prev == 0xff9f;
  /* ｧｨｩｪｫ */
  return prev == 0xff73 || prev == 0xff78 || prev == 0xff7c || prev == 0xff7d || prev == 0xff81
         || prev == 0xff82 || prev == 0xff83 || prev == 0xff84 || prev == 0xff8c || prev == 0xff9e;
}

/* How plausible the decoded text is as the given language: each non-ASCII
 * character scores by what it would be in real text of that language.
 * Scores of one text in different readings are compared (same octets), so
 * a multi-byte reading, with half the characters, scores more per
 * character.  Wrong readings look alike across languages: half-width
 * katakana and private-use characters (Latin or Chinese read as
 * Shift_JIS), a kanji glued inside an ASCII word (é+letter read as one
 * Shift_JIS character), capitals inside Cyrillic words (KOI8-R read as
 * windows-1251 and back), long runs of accented letters (any multi-byte
 * charset read as Latin-1), symbols inside words (ISO-8859-2 read as
 * windows-1252). */
static long
plausibility (const char *utf8, Lang lang)
{
  long score = 0;
  gunichar prev = ' ';
  guint run = 0; /* consecutive non-ASCII characters so far */
  /* A kanji weighs like two letters (it takes two octets).  Japanese
   * prose always has kana: twelve kanji or more with none at all beside
   * them (more than a subject's compound nouns) are more likely Chinese
   * read in a Japanese charset, and weigh less. */
  long kanji_weight = 4;
  /* Thai writes a vowel or tone mark every two or three letters; a run
   * of bare consonants is Chinese or Korean read as TIS-620 */
  long thai_weight = 3;
  if (lang == LANG_THAI)
    {
      guint cons = 0, marks = 0;
      for (const char *p = utf8; *p; p = g_utf8_next_char (p))
        {
          gunichar u = g_utf8_get_char (p);
          cons += u >= 0x0e01 && u <= 0x0e2e ? 1 : 0;
          marks += u >= 0x0e30 && u <= 0x0e4e ? 1 : 0;
        }
      if (cons >= 6 && marks * 6 < cons)
        thai_weight = 0;
    }
  if (lang == LANG_JA)
    {
      guint han = 0, kana = 0;
      for (const char *p = utf8; *p; p = g_utf8_next_char (p))
        {
          gunichar u = g_utf8_get_char (p);
          han += IS_HAN (u) ? 1 : 0;
          kana += IS_KANA (u) ? 1 : 0;
        }
      if (han >= 12 && kana == 0)
        kanji_weight = 2;
    }
  for (const char *p = utf8; *p; p = g_utf8_next_char (p))
    {
      gunichar u = g_utf8_get_char (p);
      const char *n = g_utf8_next_char (p);
      gunichar next = *n ? g_utf8_get_char (n) : ' ';
      if (u < 0x80)
        {
          prev = u;
          run = 0;
          continue;
        }
      run++;
      gboolean in_word = ascii_letter (prev) || ascii_letter (next);
      if (u >= 0x80 && u <= 0x9f)
        score -= 8; /* C1 control: no real text has one */
      else if (u >= 0xe000 && u <= 0xf8ff)
        score -= 6;
      else if (u == 0xfffd)
        score -= 10;
      else
        switch (lang)
          {
          case LANG_JA:
            if (IS_KANA (u))
              score += 6;
            else if (IS_HAN (u))
              score += ascii_letter (prev) && ascii_letter (next) ? -6 : kanji_weight;
            else if (IS_CJK_PUNCT (u) || (u >= 0x2010 && u <= 0x266f))
              score += 2;
            else if (u >= 0xff61 && u <= 0xff9f)
              {
                /* half-width katakana: old Japanese systems write whole
                 * words in it (ｺﾐｭﾆﾃｨｾﾝﾀｰ); a lone one, or one glued to
                 * ASCII letters, is Latin-1 (Ä, É) or Chinese read as
                 * Shift_JIS (whose octets A1-DF are all half-width kana,
                 * so a run weighs little but for its voicing marks) */
                gboolean in_run
                    = (prev >= 0xff61 && prev <= 0xff9f) || (next >= 0xff61 && next <= 0xff9f);
                /* its punctuation (｡｢｣､･) never stands inside a word:
                 * Thai's commonest letters (ก, ค) read as Shift_JIS do */
                gboolean inside
                    = prev >= 0xff66 && prev <= 0xff9f && next >= 0xff66 && next <= 0xff9f;
                /* the voicing marks follow the kana that take them */
                gboolean voiced = (u == 0xff9e
                                   && (prev == 0xff73 || (prev >= 0xff76 && prev <= 0xff84)
                                       || (prev >= 0xff8a && prev <= 0xff8e)))
                                  || (u == 0xff9f && prev >= 0xff8a && prev <= 0xff8e);
                if (u <= 0xff65)
                  score += inside ? -4 : 0;
                else if (u >= 0xff9e)
                  score += voiced ? 4 : -3;
                else if (in_word || !in_run)
                  score -= 3;
                else if (u >= 0xff67 && u <= 0xff70)
                  score += halfwidth_small_fits (prev, u, next) ? 2 : -3;
                else
                  score += 2;
              }
            else
              score -= 2;
            break;
          case LANG_ZH_HANS:
          case LANG_ZH_HANT:
          case LANG_KO:
            if (lang == LANG_KO ? IS_HANGUL (u) : IS_HAN (u))
              score += is_common (lang, u) ? 8 : 2;
            else if (lang == LANG_KO && IS_HAN (u))
              score += 0;
            else if (IS_CJK_PUNCT (u) || (u >= 0x2010 && u <= 0x266f))
              score += 2;
            else
              score -= 3;
            break;
          case LANG_CYRILLIC:
            if (in_word && u >= 0x0400 && u <= 0x045f)
              score -= 2; /* a Cyrillic letter inside a Latin word */
            else if (u >= 0x0430 && u <= 0x045f)
              score += 3;
            else if (u >= 0x0400 && u <= 0x042f)
              score += (prev >= 0x0400 && prev <= 0x045f) ? -2 : 3;
            else if (u == 0x00ab || u == 0x00bb || u == 0x2116 || u == 0x201e || u == 0x201c
                     || u == 0x2013 || u == 0x2014 || u == 0x2026)
              score += 1;
            else
              score -= 3;
            break;
          case LANG_LATIN:
            if (((u >= 0x00c0 && u <= 0x024f && u != 0xd7 && u != 0xf7) || u == 0x0152
                 || u == 0x0153)
                && g_unichar_isupper (u) && prev < 0x80 && g_ascii_islower ((char)prev))
              score -= 2; /* a capital after a small letter: "IntelŽ" is "Intel®" */
            else if ((u >= 0x00c0 && u <= 0x024f && u != 0xd7 && u != 0xf7) || u == 0x0152
                     || u == 0x0153)
              score += run >= 3 && !in_word ? 0 : in_word ? 3 : 1;
            else if (u == 0x20ac || u == 0xa0 || u == 0xab || u == 0xbb || u == 0xb0 || u == 0xa9
                     || u == 0xae || u == 0x2122 || u == 0xa7 || u == 0xa3
                     || (u >= 0x2013 && u <= 0x2026 && u != 0x201a && u != 0x201e))
              score += 1; /* € « » ° © ® ™ § £, quotes and dashes */
            else
              score -= in_word ? 4 : 2;
            break;
          case LANG_THAI:
            if (in_word)
              {
                score -= 2;
                break;
              }
            /* consonants; vowels and tone marks only where Thai writes
             * them (after a consonant, or a leading vowel before one) */
            if (u == 0x0e03 || u == 0x0e05 || u == 0x0e06 || (u >= 0x0e0c && u <= 0x0e12)
                || u == 0x0e24 || u == 0x0e26 || u == 0x0e2c || u == 0x0e2e)
              score -= 2; /* letters of Pali and Sanskrit words, rare in mail; where
                           * Korean's commonest syllables (가, 고...) fall */
            else if (u >= 0x0e01 && u <= 0x0e2e)
              score += thai_weight;
            else if (u == 0x0e31 || (u >= 0x0e34 && u <= 0x0e3a) || (u >= 0x0e47 && u <= 0x0e4e))
              score += (prev >= 0x0e01 && prev <= 0x0e30) || prev == 0x0e31
                               || (prev >= 0x0e34 && prev <= 0x0e39)
                           ? 3
                           : -3;
            else if (u >= 0x0e40 && u <= 0x0e44)
              score += next >= 0x0e01 && next <= 0x0e2e ? 3 : -3;
            else if (u == 0x0e2f || u == 0x0e30 || u == 0x0e32 || u == 0x0e33 || u == 0x0e45
                     || u == 0x0e46)
              score += 1;
            else if (u >= 0x0e4f && u <= 0x0e5b)
              score -= 3; /* Thai digits and rare signs */
            else
              score -= 3;
            break;
          }
      prev = u;
    }
  return score;
}

/* ---- lossy decoding ---------------------------------------------------- */

/* An octet read as windows-1252, without iconv: one table, built once.
 * Its five holes (0x81, 0x8D, 0x8F, 0x90, 0x9D) have no character: they
 * become U+3013 like any other octet that cannot be shown, never a C1
 * control. */
static gunichar
cp1252_char (guchar b)
{
  static gunichar table[128];
  static gsize once = 0;
  if (b < 0x80)
    return b ? b : 0xfffd;
  if (g_once_init_enter (&once))
    {
      for (guint i = 0; i < 128; i++)
        {
          guchar c = (guchar)(0x80 + i);
          g_autofree char *one = convert_with ((const char *)&c, 1, "CP1252", NULL);
          gunichar u = one ? g_utf8_get_char (one) : 0x3013;
          table[i] = u >= 0x80 && u <= 0x9f ? 0x3013 : u;
        }
      g_once_init_leave (&once, 1);
    }
  return table[b - 0x80];
}

/* Decodes through iconv; every octet iconv refuses becomes repl_utf8, or
 * with repl_utf8 NULL its windows-1252 reading (UTF-8 text with a Latin-1
 * fragment pasted in: the usual cause of invalid octets in UTF-8 mail).
 * *errors counts them.  NULL if iconv does not know the charset. */
static char *
decode_lossy (const char *data, gsize len, const char *iconv_name, const char *repl_utf8,
              guint *errors)
{
  *errors = 0;
  GIConv cd = g_iconv_open ("UTF-8", iconv_name);
  if (cd == (GIConv)-1)
    return NULL;

  g_autoptr (GString) out = g_string_sized_new (len * 2 + 16);
  char buf[4096];
  char *in = (char *)data;
  gsize inleft = len;
  while (inleft > 0)
    {
      char *o = buf;
      gsize oleft = sizeof buf;
      gsize r = g_iconv (cd, &in, &inleft, &o, &oleft);
      g_string_append_len (out, buf, (gssize)(o - buf));
      if (r == (gsize)-1)
        {
          if (errno == E2BIG)
            continue;
          /* EILSEQ or EINVAL (truncated sequence at the end) */
          guchar b = (guchar)*in;
          if (repl_utf8)
            g_string_append (out, repl_utf8);
          else
            g_string_append_unichar (out, cp1252_char (b));
          (*errors)++;
          in++, inleft--;
          g_iconv (cd, NULL, NULL, NULL, NULL);
        }
    }
  g_iconv_close (cd);
  /* belt and braces: iconv output is UTF-8, but never trust a module */
  return g_utf8_make_valid (out->str, (gssize)out->len);
}

/* ---- the decision ------------------------------------------------------ */

typedef struct
{
  char *text;
  char *name;
  long score;
  gboolean cut; /* read without a last, incomplete character */
} Reading;

static gboolean
reading_take (Reading *best, char *text, const char *name, long score)
{
  if (best->text && score <= best->score)
    {
      g_free (text);
      return FALSE;
    }
  g_free (best->text);
  g_free (best->name);
  best->text = text;
  best->name = g_strdup (name);
  best->score = score;
  best->cut = FALSE;
  return TRUE;
}

/* JIS X 0208 level-2 kanji (and JIS X 0212, IBM extension) pairs in
 * Shift_JIS or EUC-JP octets.  Japanese prose is written mostly in level
 * 1 (the 2965 common kanji); Thai, Chinese or Korean octets read as
 * Japanese land in level 2 as often as not. */
static long
jis_rare_kanji (const char *data, gsize len, gboolean euc)
{
  long n = 0;
  for (gsize i = 0; i + 1 < len; i++)
    {
      guchar a = (guchar)data[i], b = (guchar)data[i + 1];
      if (euc)
        {
          if (a == 0x8f)
            n++, i += 2;
          else if (a == 0x8e)
            i++;
          else if (a >= 0xa1 && b >= 0xa1)
            n += a >= 0xd0 && a <= 0xfe ? 1 : 0, i++;
        }
      else if ((a >= 0x81 && a <= 0x9f) || (a >= 0xe0 && a <= 0xfc))
        {
          n += (a == 0x98 && b >= 0x9f) || (a >= 0x99 && a <= 0x9f) || a >= 0xe0 ? 1 : 0;
          i++;
        }
    }
  return n;
}

/* The language a declared charset is written in, to judge its reading. */
static Lang
lang_of (CharsetFamily family, const char *canon)
{
  static const struct
  {
    const char *name;
    Lang lang;
  } langs[] = {
    { "gb2312", LANG_ZH_HANS },        { "gbk", LANG_ZH_HANS },        { "gb18030", LANG_ZH_HANS },
    { "big5", LANG_ZH_HANT },          { "big5-hkscs", LANG_ZH_HANT }, { "euc-kr", LANG_KO },
    { "windows-1251", LANG_CYRILLIC }, { "koi8-r", LANG_CYRILLIC },    { "koi8-u", LANG_CYRILLIC },
    { "iso-8859-5", LANG_CYRILLIC },   { "tis-620", LANG_THAI },       { "windows-874", LANG_THAI },
  };
  if (family == FAMILY_SJIS || family == FAMILY_EUCJP)
    return LANG_JA;
  for (gsize i = 0; canon && i < G_N_ELEMENTS (langs); i++)
    if (g_str_equal (langs[i].name, canon))
      return langs[i].lang;
  return LANG_LATIN;
}

/* 8-bit text that is not UTF-8: the hints first (charsets the message
 * declares elsewhere, as mail clients use them), then the candidates.
 * A hint's reading and a Japanese one get half again their score
 * ("Japanese first"; a hint first of all), so that only a clearly better
 * reading in another language displaces them: a Shift_JIS subject beside
 * an ISO-8859-1 body stays Japanese. */
static gboolean
detect_8bit (const char *data, gsize len, const char *const *hints, Reading *best)
{
  for (gsize h = 0; hints && hints[h]; h++)
    {
      CharsetFamily f = charset_family (hints[h]);
      if (f == FAMILY_ASCII || f == FAMILY_UTF8 || f == FAMILY_ISO2022JP)
        continue;
      char *text = convert_family (data, len, f, hints[h], NULL);
      if (!text)
        continue;
      g_autofree char *canon = mugai_charset_canonical (hints[h]);
      Lang lang = lang_of (f, canon);
      /* as a Japanese reading: half again its score, and ahead on a tie */
      long sc = plausibility (text, lang);
      if (sc > 0)
        sc += sc / 2 + 1;
      reading_take (best, text, canon ? canon : hints[h], sc);
    }

  for (gsize c = 0; c < G_N_ELEMENTS (candidates); c++)
    {
      long cut_cost = 0;
      char *text = NULL;
      /* a text cut inside its last character (a truncated part, a lost
       * final octet) is read without it, the cut marked U+3013 */
      for (gsize cut = 0; cut < 3 && cut < len && !text; cut++)
        {
          text = candidates[c].lang == LANG_JA
                     ? convert_family (data, len - cut, c == 0 ? FAMILY_SJIS : FAMILY_EUCJP, NULL,
                                       NULL)
                     : convert_with (data, len - cut, candidates[c].iconv, NULL);
          if (text && cut > 0)
            {
              char *marked = g_strconcat (text, "\xe3\x80\x93", NULL);
              g_free (text);
              text = marked;
              cut_cost = 6;
            }
        }
      if (!text)
        continue;
      long s = plausibility (text, candidates[c].lang) - cut_cost;
      gboolean cut = cut_cost > 0;
      if (candidates[c].lang == LANG_JA)
        {
          s -= 3 * jis_rare_kanji (data, len, c == 1);
          if (s > 0)
            s += s / 2;
        }
      if (reading_take (best, text, candidates[c].name, s))
        best->cut = cut;
    }
  /* a plausible character's worth at least: a few octets of noise read in
   * some single-byte charset are no evidence */
  return best->text != NULL && best->score >= 3;
}

char *
mugai_charset_decode_hinted (const char *data, gsize len, const char *declared,
                             const char *const *hints, char **used, MugaiCharsetQuality *quality)
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
  if (declared && !contradicted && (family != FAMILY_OTHER || !valid_utf8))
    {
      out = convert_family (data, len, family, declared, NULL);
      if (out)
        {
          *used = mugai_charset_canonical (declared);
          if (!*used)
            *used = g_strdup ("us-ascii");
          *quality = MUGAI_CHARSET_DECLARED;
          return out;
        }
    }

  MugaiCharsetQuality q = declared ? MUGAI_CHARSET_FALLBACK : MUGAI_CHARSET_DECLARED;

  /* 2. ISO-2022-JP: 7-bit with its escapes.  Never left undecoded: what
   *    no table maps is U+3013 (and the quality says so). */
  if (ascii)
    {
      MugaiJisStats st;
      if (has_iso2022_escape (data, len) && (out = mugai_iso2022jp_decode (data, len, &st, NULL)))
        {
          *used = g_strdup ("iso-2022-jp");
          *quality = st.geta > 0 || st.skipped > 0 ? MUGAI_CHARSET_LOSSY
                     : family == FAMILY_ISO2022JP  ? MUGAI_CHARSET_DECLARED
                                                   : q;
          return out;
        }
      *used = g_strdup ("us-ascii");
      *quality = q;
      return g_utf8_make_valid (data, (gssize)len);
    }
  if (valid_utf8)
    {
      *used = g_strdup ("utf-8");
      *quality = family == FAMILY_UTF8 ? MUGAI_CHARSET_DECLARED : q;
      return convert_family (data, len, FAMILY_UTF8, NULL, NULL);
    }

  /* 3. UTF-8 whose multi-byte sequences are nearly all valid is UTF-8
   *    with a few broken octets (a cut, a bad base64 line, a Latin-1
   *    fragment pasted in), in whatever language: read as such, before
   *    its octets can look like windows-1251 or Shift_JIS. */
  {
    guint errors = 0;
    char *text = decode_lossy (data, len, "UTF-8", NULL, &errors);
    glong chars = 0;
    for (const char *p = text; p && *p; p++)
      chars += (guchar)*p >= 0xc0 ? 1 : 0;
    /* EUC-JP and Shift_JIS form valid UTF-8 sequences by chance (a lead
     * C2-DF before A1-BF), one character in ten at most, and invalid
     * ones everywhere else: four valid sequences to one invalid is
     * far beyond that */
    if (text && errors > 0 && (glong)errors * 4 < chars - (glong)errors)
      {
        *used = g_strdup ("utf-8");
        *quality = MUGAI_CHARSET_LOSSY;
        return text;
      }
    g_free (text);
  }

  /* 4. 8-bit text: the hints, then the ranked readings. */
  Reading best = { 0 };
  if (detect_8bit (data, len, hints, &best))
    {
      *used = g_steal_pointer (&best.name);
      *quality = best.cut ? MUGAI_CHARSET_LOSSY : q;
      return best.text;
    }

  /* 5. Nothing reads cleanly and plausibly: the reading with the fewest
   *    invalid sequences among UTF-8 (invalid octets read as
   *    windows-1252), Shift_JIS and EUC-JP (invalid octets become
   *    U+3013, the Japanese mark for a character that cannot be shown)
   *    and the declared charset. */
  *quality = MUGAI_CHARSET_LOSSY;
  struct
  {
    const char *iconv, *name, *repl;
    Lang lang;
  } lossy[] = {
    { "UTF-8", "utf-8", NULL, LANG_LATIN },
    { "CP932", "shift_jis", "\xe3\x80\x93", LANG_JA },
    { "EUC-JP-MS", "euc-jp", "\xe3\x80\x93", LANG_JA },
  };
  Reading fallback = { 0 };
  const char *declared_iconv[2] = { NULL, NULL };
  g_autofree char *owned = NULL;
  if (family == FAMILY_OTHER || family == FAMILY_SINGLE_BYTE)
    iconv_names (declared, declared_iconv, &owned);
  if (declared_iconv[0])
    {
      guint errors = 0;
      char *text = decode_lossy (data, len, declared_iconv[0], "\xe3\x80\x93", &errors);
      g_autofree char *canon = mugai_charset_canonical (declared);
      if (text)
        reading_take (&fallback, text, canon ? canon : "us-ascii", 6 - 12L * errors);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (lossy); i++)
    {
      guint errors = 0;
      char *text = decode_lossy (data, len, lossy[i].iconv, lossy[i].repl, &errors);
      if (!text)
        continue;
      long s = plausibility (text, lossy[i].lang) - 12L * errors;
      if (family_name (family) && g_str_equal (family_name (family), lossy[i].name))
        s += 6; /* the declared one, on a tie */
      reading_take (&fallback, text, lossy[i].name, s);
    }
  if (!fallback.text)
    fallback = best;
  else
    {
      g_free (best.text);
      g_free (best.name);
    }
  *used = fallback.name;
  return fallback.text ? fallback.text : g_utf8_make_valid (data, (gssize)len);
}

char *
mugai_charset_decode (const char *data, gsize len, const char *declared, char **used,
                      MugaiCharsetQuality *quality)
{
  return mugai_charset_decode_hinted (data, len, declared, NULL, used, quality);
}

gboolean
mugai_charset_looks_binary (const char *data, gsize len)
{
  gsize controls = 0;
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar)data[i];
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b && c != 0x0e
          && c != 0x0f)
        controls++;
    }
  /* A few stray controls, NULs included, occur in real text (broken
   * mailers pad with NUL); more than 1 in 100 octets is not text. */
  return controls > 8 && controls * 100 > len;
}
