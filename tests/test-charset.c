/*
 * test-charset.c - charset.c: declared charsets checked, fallbacks chosen
 */
#include "charset.h"
#include "testutil.h"

#include <string.h>
#include <gmime/gmime.h>

typedef struct
{
  const char *name;
  const char *data;
  gssize len; /* -1: strlen */
  const char *declared;
  const char *expect_text;
  const char *expect_used;
  MugaiCharsetQuality expect_quality;
} DecodeCase;

static const DecodeCase decode_cases[] = {
  { "ascii", "hello", -1, "us-ascii", "hello", "us-ascii", MUGAI_CHARSET_DECLARED },
  { "utf8", "日本語", -1, "utf-8", "日本語", "utf-8", MUGAI_CHARSET_DECLARED },
  { "utf8-bom", "\xef\xbb\xbfok", -1, "UTF-8", "ok", "utf-8", MUGAI_CHARSET_DECLARED },
  { "sjis", "\x93\xfa\x96{\x8c\xea", -1, "Shift_JIS", "日本語", "shift_jis",
    MUGAI_CHARSET_DECLARED },
  { "windows-31j-nec", "\x87\x40\x87\x8a", -1, "windows-31j", "①㈱", "shift_jis",
    MUGAI_CHARSET_DECLARED },
  { "eucjp", "\xc6\xfc\xcb\xdc\xb8\xec", -1, "EUC-JP", "日本語", "euc-jp", MUGAI_CHARSET_DECLARED },
  { "iso2022jp", "\x1b$BF|K\\8l\x1b(B", -1, "ISO-2022-JP", "日本語", "iso-2022-jp",
    MUGAI_CHARSET_DECLARED },
  /* CP50220 extension characters: glibc's ISO-2022-JP refuses these */
  { "iso2022jp-nec", "\x1b$B-!%F%9%H-j\x1b(B", -1, "iso-2022-jp", "①テスト㈱", "iso-2022-jp",
    MUGAI_CHARSET_DECLARED },
  { "iso2022jp-kana", "\x1b(I1\x1b(B", -1, "iso-2022-jp", "ｱ", "iso-2022-jp",
    MUGAI_CHARSET_DECLARED },
  { "iso2022jp-no-reset-at-eol", "\x1b$BF|\nabc", -1, "iso-2022-jp", "日\nabc", "iso-2022-jp",
    MUGAI_CHARSET_DECLARED },
  /* mislabelled */
  { "declared-jis-really-sjis", "\x93\xfa\x96{\x8c\xea", -1, "iso-2022-jp", "日本語", "shift_jis",
    MUGAI_CHARSET_FALLBACK },
  { "declared-ascii-really-utf8", "caf\xc3\xa9", -1, "us-ascii", "café", "utf-8",
    MUGAI_CHARSET_FALLBACK },
  { "declared-sjis-really-utf8", "日本語です", -1, "shift_jis", "日本語です", "utf-8",
    MUGAI_CHARSET_FALLBACK },
  { "declared-ascii-really-jis", "\x1b$BF|K\\8l\x1b(B", -1, "us-ascii", "日本語", "iso-2022-jp",
    MUGAI_CHARSET_FALLBACK },
  { "none-jis", "\x1b$BF|K\\8l\x1b(B", -1, NULL, "日本語", "iso-2022-jp", MUGAI_CHARSET_DECLARED },
  { "none-sjis", "\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd", -1, NULL, "こんにちは", "shift_jis",
    MUGAI_CHARSET_DECLARED },
  { "none-eucjp", "\xa4\xb3\xa4\xf3\xa4\xcb\xa4\xc1\xa4\xcf", -1, NULL, "こんにちは", "euc-jp",
    MUGAI_CHARSET_DECLARED },
  { "unknown-charset-utf8", "日本", -1, "x-no-such-charset", "日本", "utf-8",
    MUGAI_CHARSET_FALLBACK },
  { "latin1", "caf\xe9", -1, "iso-8859-1", "café", "iso-8859-1", MUGAI_CHARSET_DECLARED },
  { "hostile-charset-name", "abc", -1, "../../etc/passwd", "abc", "us-ascii",
    MUGAI_CHARSET_FALLBACK },
  /* issue 11: labels as clients write them */
  { "label-koi8_r", "\xf0\xd2\xc9\xd7\xc5\xd4", -1, "koi8_r", "Привет", "koi8-r",
    MUGAI_CHARSET_DECLARED },
  { "label-x-sjis", "\x93\xfa\x96{", -1, "x-sjis", "日本", "shift_jis", MUGAI_CHARSET_DECLARED },
  { "label-windows-31j", "\x93\xfa\x96{", -1, "Windows-31J", "日本", "shift_jis",
    MUGAI_CHARSET_DECLARED },
  { "label-shift-jis", "\x93\xfa\x96{", -1, "shift-jis", "日本", "shift_jis",
    MUGAI_CHARSET_DECLARED },
  { "label-sjis", "\x93\xfa\x96{", -1, "SJIS", "日本", "shift_jis", MUGAI_CHARSET_DECLARED },
  { "label-ms932", "\x93\xfa\x96{", -1, "MS932", "日本", "shift_jis", MUGAI_CHARSET_DECLARED },
  { "label-cp932", "\x93\xfa\x96{", -1, "cp932", "日本", "shift_jis", MUGAI_CHARSET_DECLARED },
  { "label-shift_jisx0213", "\x93\xfa\x96{", -1, "Shift_JISX0213", "日本", "shift_jis",
    MUGAI_CHARSET_DECLARED },
  { "label-eucjp-no-hyphen", "\xc6\xfc\xcb\xdc", -1, "eucjp", "日本", "euc-jp",
    MUGAI_CHARSET_DECLARED },
  { "label-x-euc-jp", "\xc6\xfc\xcb\xdc", -1, "x-euc-jp", "日本", "euc-jp",
    MUGAI_CHARSET_DECLARED },
  { "label-euc-jp-ms", "\xc6\xfc\xcb\xdc", -1, "eucJP-ms", "日本", "euc-jp",
    MUGAI_CHARSET_DECLARED },
  { "label-iso-2202-jp-typo", "\x1b$BF|K\\\x1b(B", -1, "iso-2202-jp", "日本", "iso-2022-jp",
    MUGAI_CHARSET_DECLARED },
  { "label-iso2022jp-no-hyphens", "\x1b$BF|K\\\x1b(B", -1, "ISO2022JP", "日本", "iso-2022-jp",
    MUGAI_CHARSET_DECLARED },
  { "label-latin1-underscore", "caf\xe9", -1, "ISO_8859-1", "café", "iso-8859-1",
    MUGAI_CHARSET_DECLARED },
  { "label-iso8859-2-no-hyphen",
    "\xb3\xf3"
    "d\xbc",
    -1, "iso8859-2", "łódź", "iso-8859-2", MUGAI_CHARSET_DECLARED },
  { "label-x-cp1251", "\xcf\xf0\xe8\xe2\xe5\xf2", -1, "x-cp1251", "Привет", "windows-1251",
    MUGAI_CHARSET_DECLARED },
  { "label-gb2312", "\xc4\xe3\xba\xc3", -1, "GB2312", "你好", "gb2312", MUGAI_CHARSET_DECLARED },
  { "label-big5", "\xa7\x41\xa6\x6e", -1, "big5", "你好", "big5", MUGAI_CHARSET_DECLARED },
  { "label-ks_c_5601", "\xbe\xc8\xb3\xe7", -1, "ks_c_5601-1987", "안녕", "euc-kr",
    MUGAI_CHARSET_DECLARED },
  /* 8-bit ISO-8859-1 octets declared us-ascii: windows-1252, not U+FFFD */
  { "declared-ascii-really-latin1",
    "Gr\xfc\xdf"
    "e aus M\xfc"
    "nchen",
    -1, "us-ascii", "Grüße aus München", "windows-1252", MUGAI_CHARSET_FALLBACK },
  /* other languages not read as Japanese */
  { "none-gb2312", "\xc4\xe3\xba\xc3\xa3\xac\xd5\xe2\xca\xc7\xd2\xbb\xb8\xf6\xb2\xe2\xca\xd4", -1,
    NULL, "你好，这是一个测试", "gb18030", MUGAI_CHARSET_DECLARED },
  { "none-koi8r", "\xf0\xd2\xc9\xd7\xc5\xd4, \xcb\xc1\xcb \xc4\xc5\xcc\xc1?", -1, NULL,
    "Привет, как дела?", "koi8-r", MUGAI_CHARSET_DECLARED },
  { "none-cp1251", "\xcf\xf0\xe8\xe2\xe5\xf2, \xea\xe0\xea \xe4\xe5\xeb\xe0?", -1, NULL,
    "Привет, как дела?", "windows-1251", MUGAI_CHARSET_DECLARED },
  { "none-latin2", "Za\xbf\xf3\xb3\xe6 g\xea\xb6l\xb1 ja\xbc\xf1", -1, NULL, "Zażółć gęślą jaźń",
    "iso-8859-2", MUGAI_CHARSET_DECLARED },
  /* half-width katakana words, as old Japanese systems write them, stay
   * Japanese; Thai, whose letters fall on the same octets, stays Thai */
  { "none-halfwidth-katakana", "\xba\xd0\xad\xc6\xc3\xa8\xbe\xdd\xc0\xb0", -1, NULL, "ｺﾐｭﾆﾃｨｾﾝﾀｰ",
    "shift_jis", MUGAI_CHARSET_DECLARED },
  { "none-halfwidth-katakana-short", "\xc3\xbd\xc4", -1, NULL, "ﾃｽﾄ", "shift_jis",
    MUGAI_CHARSET_DECLARED },
  { "none-thai", "\xca\xc7\xd1\xca\xb4\xd5\xa4\xc3\xd1\xba", -1, NULL, "สวัสดีครับ", "windows-874",
    MUGAI_CHARSET_DECLARED },
  /* cut inside its last character: read without it, the cut marked */
  { "none-gb2312-cut", "\xc4\xe3\xba\xc3\xa3\xac\xd5\xe2\xca\xc7\xd2\xbb\xb8\xf6\xb2\xe2\xca", -1,
    NULL, "你好，这是一个测〓", "gb18030", MUGAI_CHARSET_LOSSY },
  { "none-kanji-subject-eucjp", "\xb2\xf1\xb5\xc4\xbb\xf1\xce\xc1\xc1\xf7\xc9\xd5", -1, NULL,
    "会議資料送付", "euc-jp", MUGAI_CHARSET_DECLARED },
  /* the wave-dash family: JIS X 0208's reading for ISO-2022-JP and
   * EUC-JP, CP932's for Shift_JIS */
  { "wave-dash-iso2022jp", "\x1b$B!A!B!]!q!r\"L\x1b(B", -1, "iso-2022-jp", "〜‖−¢£¬", "iso-2022-jp",
    MUGAI_CHARSET_DECLARED },
  { "wave-dash-eucjp", "\xa1\xc1\xa1\xc2\xa1\xdd\xa1\xf1\xa1\xf2\xa2\xcc", -1, "euc-jp", "〜‖−¢£¬",
    "euc-jp", MUGAI_CHARSET_DECLARED },
  { "wave-dash-sjis", "\x81\x60\x81\x61\x81\x7c\x81\x91\x81\x92\x81\xca", -1, "shift_jis",
    "～∥－￠￡￢", "shift_jis", MUGAI_CHARSET_DECLARED },
  /* carrier emoji in ISO-2022-JP, the subject of issue 11 ("題名" and an
   * au emoji, 0x765E): KDDI e-mail JIS 765E is KDDI Shift_JIS F6DC,
   * U+1F3A4 MICROPHONE in EmojiSources.txt; 753A is F659, U+26A0 */
  { "kddi-emoji-subject", "\x1b$BBjL>v^\x1b(B", -1, "iso-2022-jp", "題名\xf0\x9f\x8e\xa4",
    "iso-2022-jp", MUGAI_CHARSET_DECLARED },
  { "kddi-emoji-body", "\x1b$BK\\J8\x1b(B\x1b$Bu:\x1b(B", -1, "iso-2022-jp", "本文\xe2\x9a\xa0",
    "iso-2022-jp", MUGAI_CHARSET_DECLARED },
  /* a KDDI code with no Unicode equivalent (7729, KDDI F748 "MobileQ"):
   * U+3013, and the quality says so */
  { "kddi-unmapped-geta", "\x1b$BF|w)\x1b(B", -1, "iso-2022-jp", "日〓", "iso-2022-jp",
    MUGAI_CHARSET_LOSSY },
  /* rows 0x79-0x7C without KDDI evidence stay CP932's NEC-selected kanji */
  { "nec-selected-taka", "\x1b$B|b66\x1b(B", -1, "iso-2022-jp", "髙橋", "iso-2022-jp",
    MUGAI_CHARSET_DECLARED },
  /* SoftBank web code ESC $ G ! SI: SoftBank F941, U+1F466 BOY */
  { "softbank-webcode",
    "a\x1b$G!\x0f"
    "b",
    -1, "iso-2022-jp",
    "a\xf0\x9f\x91\xa6"
    "b",
    "iso-2022-jp", MUGAI_CHARSET_DECLARED },
  /* DoCoMo F89F (U+2600) in CP932's user-defined area, as ISO-2022-JP-MS
   * writes it: JIS X 0212 row 0x7C */
  { "docomo-udc-0212", "\x1b$(D|!\x1b(B", -1, "iso-2022-jp", "\xe2\x98\x80", "iso-2022-jp",
    MUGAI_CHARSET_DECLARED },
  /* the same emoji in Shift_JIS, as DoCoMo phones send it ("天気" F89F)
   * and KDDI's code for it (F660): CP932 reads both into the Private Use
   * Area, which the carriers' tables map back */
  { "docomo-sjis", "\x93\x56\x8b\x43\xf8\x9f", -1, "shift_jis", "天気\xe2\x98\x80", "shift_jis",
    MUGAI_CHARSET_DECLARED },
  { "kddi-sjis", "\xf6\x60", -1, "shift_jis", "\xe2\x98\x80", "shift_jis", MUGAI_CHARSET_DECLARED },
  /* a user-defined character of no carrier (a company's gaiji): U+3013,
   * never a Private Use code point nobody can show */
  { "sjis-gaiji-geta", "a\xf0\x40", -1, "shift_jis", "a〓", "shift_jis", MUGAI_CHARSET_DECLARED },
  /* UTF-7 under the label Outlook Express writes */
  { "utf-7-unicode-1-1", "+ZeVnLIqe-", -1, "unicode-1-1-utf-7", "日本語", "utf-7",
    MUGAI_CHARSET_DECLARED },
  /* HZ-GB-2312 (RFC 1843), which iconv does not read: 你好 between ~{ ~},
   * "~~" a tilde, "~" at a line's end a soft break */
  { "hz-gb-2312", "a~~b ~{Dc:C~} c~\nd", -1, "HZ-GB-2312", "a~b 你好 cd", "hz-gb-2312",
    MUGAI_CHARSET_DECLARED },
  /* an unknown escape sequence never leaves the JIS octets undecoded */
  { "unknown-escape-skipped", "\x1b$BF|\x1b$(CK\\\x1b(B", -1, "iso-2022-jp", NULL, "iso-2022-jp",
    MUGAI_CHARSET_LOSSY },
};

static void
test_decode (gconstpointer data)
{
  const DecodeCase *c = data;
  gsize len = c->len < 0 ? strlen (c->data) : (gsize)c->len;
  g_autofree char *used = NULL;
  MugaiCharsetQuality q;
  g_autofree char *out = mugai_charset_decode (c->data, len, c->declared, &used, &q);
  if (c->expect_text)
    g_assert_cmpstr (out, ==, c->expect_text);
  else
    g_assert_null (strchr (out, '\x1b')); /* at least: no escape left */
  g_assert_cmpstr (used, ==, c->expect_used);
  g_assert_cmpint (q, ==, c->expect_quality);
}

static void
test_lossy (void)
{
  /* nothing fits: readable parts kept, each undecodable octet of the
   * Japanese reading U+3013 (never U+FFFD), output valid UTF-8 */
  const char data[] = "ok \x82\xa0\x82\xa2\x82 end";
  g_autofree char *used = NULL;
  MugaiCharsetQuality q;
  g_autofree char *out = mugai_charset_decode (data, sizeof data - 1, "shift_jis", &used, &q);
  g_assert_cmpint (q, ==, MUGAI_CHARSET_LOSSY);
  g_assert_true (g_utf8_validate (out, -1, NULL));
  g_assert_true (g_str_has_prefix (out, "ok "));
  g_assert_true (g_str_has_suffix (out, " end"));
  g_assert_cmpstr (out, ==, "ok あい〓 end");
  g_assert_null (strstr (out, "\xef\xbf\xbd"));
}

static void
test_truncated_jis (void)
{
  /* a double-byte run cut in the middle of a pair is not valid JIS */
  g_assert_null (mugai_charset_convert_strict ("\x1b$BF", 4, "iso-2022-jp", NULL));
  g_assert_null (mugai_charset_convert_strict ("\x1b$(Cxx", 6, "iso-2022-jp", NULL));
}

static void
test_to_iso2022jp (void)
{
  gsize len = 0;
  g_autofree char *jis = mugai_charset_to_iso2022jp ("日本語", strlen ("日本語"), &len);
  g_assert_nonnull (jis);
  g_assert_cmpmem (jis, len, "\x1b$BF|K\\8l\x1b(B", 12);

  /* the wave dash read from Shift_JIS (U+FF5E) is written as JIS 0x2141 */
  g_autofree char *wave = mugai_charset_to_iso2022jp ("～", strlen ("～"), &len);
  g_assert_nonnull (wave);
  g_assert_cmpmem (wave, len, "\x1b$B!A\x1b(B", 8);

  /* emoji cannot be written: NULL, the caller keeps UTF-8 */
  g_assert_null (mugai_charset_to_iso2022jp ("😀", strlen ("😀"), &len));
}

static void
test_binary (void)
{
  g_assert_false (mugai_charset_looks_binary ("a\0b", 3)); /* a stray NUL */
  char pe[512] = "MZ";
  g_assert_true (mugai_charset_looks_binary (pe, sizeof pe)); /* NUL padding */
  g_assert_false (mugai_charset_looks_binary ("plain\ttext\r\n", 12));
  g_assert_false (mugai_charset_looks_binary ("\x1b$BF|\x1b(B", 8));
  char ctl[100];
  memset (ctl, 0x01, sizeof ctl);
  g_assert_true (mugai_charset_looks_binary (ctl, sizeof ctl));
}

static void
test_canonical (void)
{
  g_autofree char *a = mugai_charset_canonical ("X-SJIS");
  g_autofree char *b = mugai_charset_canonical ("ISO-2022-JP-2");
  g_autofree char *c = mugai_charset_canonical ("KOI8-R");
  g_autofree char *d = mugai_charset_canonical ("bad name!");
  g_assert_cmpstr (a, ==, "shift_jis");
  g_assert_cmpstr (b, ==, "iso-2022-jp");
  g_assert_cmpstr (c, ==, "koi8-r");
  g_assert_null (d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_mime_init ();
  TESTUTIL_ADD_CASES ("/charset/decode", decode_cases, name, test_decode);
  g_test_add_func ("/charset/lossy", test_lossy);
  g_test_add_func ("/charset/truncated-jis", test_truncated_jis);
  g_test_add_func ("/charset/to-iso2022jp", test_to_iso2022jp);
  g_test_add_func ("/charset/binary", test_binary);
  g_test_add_func ("/charset/canonical", test_canonical);
  return g_test_run ();
}
