/*
 * test-header.c - header.c: RFC 2047, RFC 2231 and raw 8-bit header text
 */
#include "header.h"
#include "testutil.h"

#include <string.h>
#include <gmime/gmime.h>

typedef struct
{
  const char *name;
  const char *raw;
  MugaiHeaderMode mode;
  const char *expect;
} DecodeCase;

static const DecodeCase decode_cases[] = {
  { "plain", " Hello world\n", MUGAI_HEADER_TEXT, "Hello world" },
  { "outlook-jis-folded",
    " =?ISO-2022-JP?B?GyRCOCtAUT1xGyhC?=\n =?ISO-2022-JP?B?GyRCQXdJVSROJDQwRkZiGyhC?=\n",
    MUGAI_HEADER_TEXT, "見積書送付のご案内" },
  { "utf8-split-character", " =?UTF-8?B?5pel5g==?= =?UTF-8?B?nKzoqp4=?=", MUGAI_HEADER_TEXT,
    "日本語" },
  { "q-underscore", " =?utf-8?q?a_b=E6=97=A5?=", MUGAI_HEADER_TEXT, "a b日" },
  { "inside-word", " Re:=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?=", MUGAI_HEADER_TEXT, "Re:山田" },
  { "space-kept-between-text-and-word", " Re: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= san",
    MUGAI_HEADER_TEXT, "Re: 山田 san" },
  { "raw-sjis", " \x8c\x8f\x96\xbc\x83\x65\x83X\x83g", MUGAI_HEADER_TEXT, "件名テスト" },
  { "raw-eucjp", " \xb7\xef\xcc\xbe", MUGAI_HEADER_TEXT, "件名" },
  { "raw-utf8", " 件名", MUGAI_HEADER_TEXT, "件名" },
  { "raw-jis-escapes", " \x1b$B7oL>\x1b(B test", MUGAI_HEADER_TEXT, "件名 test" },
  { "nec-in-jis-word", " =?ISO-2022-JP?B?GyRCLSEbKEI=?=", MUGAI_HEADER_TEXT, "①" },
  { "unknown-charset-falls-back", " =?x-unknown?B?5pel5pys?=", MUGAI_HEADER_TEXT, "日本" },
  { "controls-removed",
    " a\x01"
    "b\tc",
    MUGAI_HEADER_TEXT, "a b c" },
  { "broken-word-left-alone", " =?utf-8?x?abc?= rest", MUGAI_HEADER_TEXT, "=?utf-8?x?abc?= rest" },
  { "phrase-specials-quoted", " =?UTF-8?Q?Yamada=2C_Taro?= <taro@example.jp>", MUGAI_HEADER_PHRASE,
    "\"Yamada, Taro\" <taro@example.jp>" },
  { "phrase-inside-quotes", " \"=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?=\" <yamada@example.jp>",
    MUGAI_HEADER_PHRASE, "\"山田\" <yamada@example.jp>" },
  { "phrase-quote-in-word", " \"=?UTF-8?Q?a=22b?=\" <x@example.jp>", MUGAI_HEADER_PHRASE,
    "\"a\\\"b\" <x@example.jp>" },
  { "phrase-plain", " =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>", MUGAI_HEADER_PHRASE,
    "山田 <yamada@example.jp>" },
  { "phrase-word-in-addr-spec-kept",
    " =?utf-8?Q?a=F0=9F=90=88?=@example.jp, <=?utf-8?B?5pel?=@example.jp>", MUGAI_HEADER_PHRASE,
    "=?utf-8?Q?a=F0=9F=90=88?=@example.jp, <=?utf-8?B?5pel?=@example.jp>" },
  { "phrase-raw-sjis", " \x8e\x52\x93\x63 <yamada@example.jp>", MUGAI_HEADER_PHRASE,
    "山田 <yamada@example.jp>" },
  /* issue 11 */
  { "empty-encoded-word", " =?koi8_r?B?/?= x", MUGAI_HEADER_TEXT, "x" },
  { "base64-short-padding", " =?NONE?B?VEVTVA=?=", MUGAI_HEADER_TEXT, "TEST" },
  { "nul-in-encoded-word-dropped", " =?UTF-8?B?dGUAc3Q=?=", MUGAI_HEADER_TEXT, "test" },
  { "koi8_r-label", " =?koi8_r?B?/NTPINTF09QgxMzRIEFuZHJvaWQgyczJIGlPUw==?=", MUGAI_HEADER_TEXT,
    "Это тест для Android или iOS" },
  { "kddi-emoji-encoded-word", " =?ISO-2022-JP?B?GyRCQmpMPnZeGyhC?=", MUGAI_HEADER_TEXT,
    "題名\xf0\x9f\x8e\xa4" },
  { "raw-gb2312-no-hint", " \xbb\xe1\xd2\xe9\xd7\xca\xc1\xcf", MUGAI_HEADER_TEXT, "会议资料" },
  { "raw-koi8r-no-hint", " \xf4\xc5\xd3\xd4\xcf\xd7\xcf\xc5 \xd0\xc9\xd3\xd8\xcd\xcf",
    MUGAI_HEADER_TEXT, "Тестовое письмо" },
};

/* Raw 8-bit text is read in a charset the message declares elsewhere
 * first: three octets of windows-1251 mean nothing alone, beside a
 * windows-1251 body they are "Мир". */
static void
test_hints (void)
{
  const char *const cyr[] = { "windows-1251", NULL };
  g_autofree char *a = mugai_header_decode_hinted (" \xcc\xe8\xf0", MUGAI_HEADER_TEXT, cyr);
  g_assert_cmpstr (a, ==, "Мир");
  /* a hint does not force an implausible reading: Shift_JIS stays */
  const char *const latin[] = { "iso-8859-1", NULL };
  g_autofree char *b
      = mugai_header_decode_hinted (" \x89\xef\x8b\x63\x8e\x91\x97\xbf", MUGAI_HEADER_TEXT, latin);
  g_assert_cmpstr (b, ==, "会議資料");
}

static void
test_decode (gconstpointer data)
{
  const DecodeCase *c = data;
  g_autofree char *out = mugai_header_decode (c->raw, c->mode);
  g_assert_cmpstr (out, ==, c->expect);
}

typedef struct
{
  const char *name;
  const char *raw;
  const char *param;
  const char *expect; /* NULL: absent */
} ParamCase;

static const ParamCase param_cases[] = {
  { "quoted", " attachment; filename=\"report.pdf\"", "filename", "report.pdf" },
  { "token", " attachment; filename=report.pdf", "filename", "report.pdf" },
  { "outlook-encoded-word-in-quotes",
    " attachment;\n filename=\"=?ISO-2022-JP?B?GyRCJUYlOSVIGyhCLnppcA==?=\"", "filename",
    "テスト.zip" },
  { "rfc2231", " attachment; filename*=UTF-8''%E8%A6%8B%E7%A9%8D.pdf", "filename", "見積.pdf" },
  { "rfc2231-language", " attachment; filename*=utf-8'ja'%E8%A6%8B.pdf", "filename", "見.pdf" },
  { "rfc2231-continuation",
    " attachment;\n filename*0*=UTF-8''%E8%A6;\n filename*1*=%8B%E7%A9%8D;\n filename*2=.xlsx",
    "filename", "見積.xlsx" },
  { "rfc2231-sjis", " attachment; filename*=shift_jis''%8C%A9%90%CF.txt", "filename", "見積.txt" },
  { "rfc2231-wins-over-plain",
    " attachment; filename=\"fallback.pdf\"; filename*=UTF-8''%E8%A6%8B.pdf", "filename",
    "見.pdf" },
  { "raw-sjis-quoted", " attachment; filename=\"\x8c\xa9\x90\xcf.pdf\"", "filename", "見積.pdf" },
  { "name-in-content-type", " application/pdf; name=\"a b.pdf\"", "name", "a b.pdf" },
  { "escaped-quote", " attachment; filename=\"a\\\"b.txt\"", "filename", "a\"b.txt" },
  { "absent", " attachment", "filename", NULL },
  { "no-prefix-confusion", " attachment; xfilename=\"no.txt\"; filenames=\"no2.txt\"", "filename",
    NULL },
  { "type-with-semicolon-in-quotes", " application/pdf; x=\"a;b\"; name=ok.pdf", "name", "ok.pdf" },
  { "rfc2231-unknown-charset", " attachment; filename*=x-bogus''%E8%A6%8B.pdf", "filename",
    "見.pdf" },
};

static void
test_param (gconstpointer data)
{
  const ParamCase *c = data;
  g_autofree char *out = mugai_header_param (c->raw, c->param);
  g_assert_cmpstr (out, ==, c->expect);
}

static void
test_is_address (void)
{
  g_assert_true (mugai_header_is_address ("From"));
  g_assert_true (mugai_header_is_address ("reply-to"));
  g_assert_false (mugai_header_is_address ("Subject"));
}

static void
test_many_continuations (void)
{
  /* 200 sections: only the first 64 are joined, no crash, bounded */
  g_autoptr (GString) raw = g_string_new (" attachment");
  for (int i = 0; i < 200; i++)
    g_string_append_printf (raw, "; filename*%d=a", i);
  g_autofree char *out = mugai_header_param (raw->str, "filename");
  g_assert_nonnull (out);
  g_assert_cmpuint (strlen (out), ==, 64);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_mime_init ();
  TESTUTIL_ADD_CASES ("/header/decode", decode_cases, name, test_decode);
  TESTUTIL_ADD_CASES ("/header/param", param_cases, name, test_param);
  g_test_add_func ("/header/is-address", test_is_address);
  g_test_add_func ("/header/hints", test_hints);
  g_test_add_func ("/header/many-continuations", test_many_continuations);
  return g_test_run ();
}
