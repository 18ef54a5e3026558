/*
 * test-charset.c - charset.c: declared charsets checked, fallbacks chosen
 */
#include "charset.h"

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
};

static void
test_decode (gconstpointer data)
{
  const DecodeCase *c = data;
  gsize len = c->len < 0 ? strlen (c->data) : (gsize)c->len;
  g_autofree char *used = NULL;
  MugaiCharsetQuality q;
  g_autofree char *out = mugai_charset_decode (c->data, len, c->declared, &used, &q);
  g_assert_cmpstr (out, ==, c->expect_text);
  g_assert_cmpstr (used, ==, c->expect_used);
  g_assert_cmpint (q, ==, c->expect_quality);
}

static void
test_lossy (void)
{
  /* nothing fits: readable parts kept, the rest U+FFFD, output valid UTF-8 */
  const char data[] = "ok \x82\xa0\xff\xfe end";
  g_autofree char *used = NULL;
  MugaiCharsetQuality q;
  g_autofree char *out = mugai_charset_decode (data, sizeof data - 1, "shift_jis", &used, &q);
  g_assert_cmpint (q, ==, MUGAI_CHARSET_LOSSY);
  g_assert_true (g_utf8_validate (out, -1, NULL));
  g_assert_true (g_str_has_prefix (out, "ok "));
  g_assert_true (g_str_has_suffix (out, " end"));
  g_assert_nonnull (strstr (out, "\xef\xbf\xbd"));
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
  for (gsize i = 0; i < G_N_ELEMENTS (decode_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/charset/decode/%s", decode_cases[i].name);
      g_test_add_data_func (path, &decode_cases[i], test_decode);
    }
  g_test_add_func ("/charset/lossy", test_lossy);
  g_test_add_func ("/charset/truncated-jis", test_truncated_jis);
  g_test_add_func ("/charset/to-iso2022jp", test_to_iso2022jp);
  g_test_add_func ("/charset/binary", test_binary);
  g_test_add_func ("/charset/canonical", test_canonical);
  return g_test_run ();
}
