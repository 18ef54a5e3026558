/*
 * test-logline.c - logline.c: the one escaper of text for log lines, and
 *                  the key=value line builder
 *
 * Whatever a mail holds (controls, CR/LF, terminal escapes, invalid
 * UTF-8, quotes, backslashes, megabytes), what reaches a log line is
 * printable ASCII, one line, cut at a character boundary, and reads back
 * (g_strcompress) as the safe form of the text.
 */
#include "logline.h"
#include "testutil.h"

#include <string.h>

typedef struct
{
  const char *name;
  const char *text;
  guint max;
  const char *expect;
} EscapeCase;

static const EscapeCase escape_cases[] = {
  { "plain", "taro@example.jp", 200, "taro@example.jp" },
  { "null", NULL, 200, "" },
  { "controls", "a\001b\033[2Jc\177d", 200, "a<U+0001>b<U+001B>[2Jc<U+007F>d" },
  { "crlf", "x\r\nqid=evil msgid=<forged>", 200, "x<U+000D><U+000A>qid=evil msgid=<forged>" },
  { "tab-nul-bell", "\tq\a", 200, "<U+0009>q<U+0007>" },
  { "c1-and-bidi",
    "inv\xc2\x9b"
    "oice\xe2\x80\xae"
    "fdp.exe",
    200, "inv<U+009B>oice<U+202E>fdp.exe" },
  { "quotes-backslash", "say \"hi\" \\ bye", 200, "say \\\"hi\\\" \\\\ bye" },
  /* every octet outside ASCII as \ooo: 件 is e4 bb b6 */
  { "japanese", "件", 200, "\\344\\273\\266" },
  /* invalid UTF-8 becomes U+FFFD (ef bf bd) */
  { "invalid-utf8", "a\xff\xc3(b", 200, "a\\357\\277\\275\\357\\277\\275(b" },
  /* cut after 3 characters, whole ones, then the ellipsis (e2 80 a6) */
  { "cut-ascii", "abcdef", 3, "abc\\342\\200\\246" },
  { "cut-multibyte", "あいうえお", 2, "\\343\\201\\202\\343\\201\\204\\342\\200\\246" },
  { "not-cut-at-limit", "abc", 3, "abc" },
};

static void
test_escape_case (gconstpointer data)
{
  const EscapeCase *c = data;
  g_autofree char *out = mugai_log_escape (c->text, c->max);
  g_assert_cmpstr (out, ==, c->expect);
}

static gboolean
printable_ascii (const char *s)
{
  for (const char *p = s; *p; p++)
    if ((guchar)*p < 0x20 || (guchar)*p > 0x7e)
      return FALSE;
  return TRUE;
}

/* Random octets, many of them hostile: the result is always printable
 * ASCII, reads back as valid UTF-8 with no control character, and holds
 * at most max characters of the text (plus the ellipsis). */
static void
test_escape_random (void)
{
  GRand *rand = g_rand_new_with_seed (12);
  for (guint round = 0; round < 2000; round++)
    {
      guint len = g_rand_int_range (rand, 0, 600);
      g_autofree char *buf = g_malloc (len + 1);
      for (guint i = 0; i < len; i++)
        {
          /* NUL ends the C string early: 1..255, weighted to the nasty */
          guint pick = g_rand_int_range (rand, 0, 4);
          buf[i] = (char)(pick == 0   ? g_rand_int_range (rand, 1, 0x20)
                          : pick == 1 ? g_rand_int_range (rand, 0x80, 0x100)
                          : pick == 2 ? "\"\\\r\n"[g_rand_int_range (rand, 0, 4)]
                                      : g_rand_int_range (rand, 0x20, 0x7f));
        }
      buf[len] = '\0';
      guint max = g_rand_int_range (rand, 1, 300);
      g_autofree char *out = mugai_log_escape (buf, max);
      g_assert_true (printable_ascii (out));
      g_assert_null (strpbrk (out, "\r\n"));
      g_autofree char *back = g_strcompress (out);
      g_assert_true (g_utf8_validate (back, -1, NULL));
      glong chars = 0;
      for (const char *p = back; *p; p = g_utf8_next_char (p))
        {
          gunichar u = g_utf8_get_char (p);
          g_assert_false (u < 0x20 || (u >= 0x7f && u < 0xa0));
          chars++;
        }
      /* a control counts as one character but reads as "<U+0001>" (8) */
      g_assert_cmpint (chars, <=, (glong)max * 8 + 1);
    }
  g_rand_free (rand);
}

/* Megabytes of text cost a bounded line. */
static void
test_escape_long (void)
{
  g_autoptr (GString) big = g_string_new (NULL);
  for (int i = 0; i < 200000; i++)
    g_string_append (big, "日本");
  g_autofree char *out = mugai_log_escape (big->str, MUGAI_LOG_VALUE_MAX);
  /* 200 characters of 3 octets, each octet 4 escaped, and the ellipsis */
  g_assert_cmpuint (strlen (out), ==, MUGAI_LOG_VALUE_MAX * 12 + 12);
  g_autofree char *back = g_strcompress (out);
  g_assert_true (g_utf8_validate (back, -1, NULL));
  g_assert_true (g_str_has_suffix (back, "本…"));
}

typedef struct
{
  const char *name;
  const char *value;
  const char *expect;
} AddCase;

static const AddCase add_cases[] = {
  { "token", "reject", "k=reject" },
  { "null", NULL, "k=-" },
  { "empty", "", "k=\"\"" },
  { "space", "a b", "k=\"a b\"" },
  { "equals", "qid=forged", "k=\"qid=forged\"" },
  { "quote", "a\"b", "k=a\\\"b" },
  { "newline", "a\nqid=X", "k=\"a<U+000A>qid=X\"" },
};

static void
test_add_case (gconstpointer data)
{
  const AddCase *c = data;
  g_autoptr (GString) line = g_string_new (NULL);
  mugai_log_add (line, "k", c->value);
  g_assert_cmpstr (line->str, ==, c->expect);
}

static void
test_ids (void)
{
  g_autoptr (GString) line = g_string_new ("front:");
  mugai_log_ids (line, "4ZxY1", "m1@example.jp");
  g_assert_cmpstr (line->str, ==, "front: qid=4ZxY1 msgid=<m1@example.jp>");

  g_string_assign (line, "front:");
  mugai_log_ids (line, "4ZxY1", "<m1@example.jp>");
  g_assert_cmpstr (line->str, ==, "front: qid=4ZxY1 msgid=<m1@example.jp>");

  g_string_assign (line, "mugai:");
  mugai_log_ids (line, NULL, "");
  g_assert_cmpstr (line->str, ==, "mugai: qid=- msgid=-");

  /* a forged id cannot add a pair of its own, nor a line */
  g_string_assign (line, "front:");
  mugai_log_ids (line, "Q1", "x> verdict=clean\r\nfront: qid=Q2 msgid=<y");
  g_assert_cmpstr (line->str, ==,
                   "front: qid=Q1 msgid=\"<x> verdict=clean<U+000D><U+000A>front: qid=Q2 "
                   "msgid=<y>\"");
}

/* SMTP reply text: printable ASCII, cut at max_len octets of the line. */
static void
test_append_ascii (void)
{
  g_autoptr (GString) out = g_string_new ("virus ");
  mugai_text_append_ascii (out, "Win.Test\r\n250 ok\x1b件", 200);
  g_assert_cmpstr (out->str, ==, "virus Win.Test??250 ok????");
  g_string_assign (out, "ab");
  mugai_text_append_ascii (out, "cdefgh", 5);
  g_assert_cmpstr (out->str, ==, "abcde");
  mugai_text_append_ascii (out, NULL, 50);
  g_assert_cmpstr (out->str, ==, "abcde");
}

/* The notice's safe form is the same function (notice.c uses it). */
static void
test_safe_display (void)
{
  g_autofree char *s = mugai_text_safe_display ("請求書\xe2\x80\xae"
                                                "fdp.exe",
                                                4);
  g_assert_cmpstr (s, ==, "請求書<U+202E>…");
  g_autofree char *n = mugai_text_safe_display (NULL, 4);
  g_assert_cmpstr (n, ==, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  TESTUTIL_ADD_CASES ("/logline/escape", escape_cases, name, test_escape_case);
  g_test_add_func ("/logline/escape/random", test_escape_random);
  g_test_add_func ("/logline/escape/long", test_escape_long);
  TESTUTIL_ADD_CASES ("/logline/add", add_cases, name, test_add_case);
  g_test_add_func ("/logline/ids", test_ids);
  g_test_add_func ("/logline/append-ascii", test_append_ascii);
  g_test_add_func ("/logline/safe-display", test_safe_display);
  return g_test_run ();
}
