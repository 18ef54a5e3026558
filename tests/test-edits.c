/*
 * test-edits.c - edits.c: the header edits a milter applies
 */
#include "edits.h"

#include <string.h>

typedef struct
{
  MugaiEditKind kind;
  const char *name;
  guint index;
  const char *value;
} Want;

static void
check (const char *orig, const char *san, const Want *want, gsize n, const char *body)
{
  gsize off = 0;
  g_autoptr (GPtrArray) edits = mugai_edits_compute (orig, strlen (orig), san, strlen (san), &off);
  g_assert_cmpuint (edits->len, ==, n);
  for (gsize i = 0; i < n; i++)
    {
      const MugaiHeaderEdit *e = edits->pdata[i];
      g_assert_cmpint (e->kind, ==, want[i].kind);
      g_assert_cmpstr (e->name, ==, want[i].name);
      g_assert_cmpuint (e->index, ==, want[i].index);
      g_assert_cmpstr (e->value, ==, want[i].value);
    }
  g_assert_cmpstr (san + off, ==, body);
}

static void
test_typical (void)
{
  const char *orig = "Received: from a\r\n\tby b\r\nSubject: =?ISO-2022-JP?B?GyRCOCtAUT1xGyhC?=\r\n"
                     "X-Mugai-Status: clean\r\nFrom: a@example.jp\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: text/html\r\n\r\n<p>x</p>\r\n";
  const char *san = "Received: from a\r\n by b\r\nSubject: =?UTF-8?B?6KaL56mN5pu4?=\r\n"
                    "From: a@example.jp\r\nMIME-Version: 1.0\r\nX-Mugai-Status: sanitized\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n\r\nx\r\n";
  /* changes and deletions last-first, so indexes stay valid; then adds */
  const Want want[] = {
    { MUGAI_EDIT_DELETE, "Content-Type", 1, NULL },
    { MUGAI_EDIT_DELETE, "X-Mugai-Status", 1, NULL },
    { MUGAI_EDIT_CHANGE, "Subject", 1, "=?UTF-8?B?6KaL56mN5pu4?=" },
    { MUGAI_EDIT_ADD, "X-Mugai-Status", 0, "sanitized" },
    { MUGAI_EDIT_ADD, "Content-Type", 0, "text/plain; charset=utf-8" },
  };
  check (orig, san, want, G_N_ELEMENTS (want), "x\r\n");
}

static void
test_occurrences (void)
{
  /* the second Received is dropped: index 2 of its name */
  const char *orig = "Received: one\r\nReceived: two\r\nReceived: three\r\n\r\nb";
  const char *san = "Received: one\r\nReceived: three\r\n\r\nb";
  const Want want[] = {
    { MUGAI_EDIT_DELETE, "Received", 3, NULL },
    { MUGAI_EDIT_CHANGE, "Received", 2, "three" },
  };
  check (orig, san, want, G_N_ELEMENTS (want), "b");
}

static void
test_folded_value_kept (void)
{
  const char *orig = "Subject: long\r\n\r\n";
  const char *san = "Subject: a very\r\n long one\r\n\r\n";
  const Want want[] = { { MUGAI_EDIT_CHANGE, "Subject", 1, "a very\n long one" } };
  check (orig, san, want, G_N_ELEMENTS (want), "");
}

static void
test_refolding_is_no_change (void)
{
  const char *orig = "To: a@example.jp,\r\n\tb@example.jp\r\n\r\n";
  const char *san = "To: a@example.jp, b@example.jp\r\n\r\n";
  check (orig, san, NULL, 0, "");
}

static void
test_blank_continuation_replaced (void)
{
  /* "a\r\n \r\n b" unfolds to the same "a b" as the sanitized value, but
   * the MTA's field keeps its whitespace-only line (where some readers
   * end the header block): it must be replaced all the same */
  const char *orig = "Subject: a\r\n \r\n b\r\nFrom: x@example.jp\r\n\t \t\r\n\r\nbody";
  const char *san = "Subject: a b\r\nFrom: x@example.jp\r\nMIME-Version: 1.0\r\n\r\nb";
  const Want want[] = {
    { MUGAI_EDIT_CHANGE, "From", 1, "x@example.jp" },
    { MUGAI_EDIT_CHANGE, "Subject", 1, "a b" },
    { MUGAI_EDIT_ADD, "MIME-Version", 0, "1.0" },
  };
  check (orig, san, want, G_N_ELEMENTS (want), "b");
}

static void
test_no_blank_line_to_the_mta (void)
{
  /* a sanitized value with such a line (it should never have one) loses
   * it on the way to the MTA */
  const char *orig = "Subject: old\r\n\r\n";
  const char *san = "Subject: new\r\n \r\n value\r\nX-New: a\r\n\t\r\n b\r\n\r\n";
  const Want want[] = {
    { MUGAI_EDIT_CHANGE, "Subject", 1, "new\n value" },
    { MUGAI_EDIT_ADD, "X-New", 0, "a\n b" },
  };
  check (orig, san, want, G_N_ELEMENTS (want), "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/edits/typical", test_typical);
  g_test_add_func ("/edits/occurrences", test_occurrences);
  g_test_add_func ("/edits/folded-value-kept", test_folded_value_kept);
  g_test_add_func ("/edits/refolding-is-no-change", test_refolding_is_no_change);
  g_test_add_func ("/edits/blank-continuation-replaced", test_blank_continuation_replaced);
  g_test_add_func ("/edits/no-blank-line-to-the-mta", test_no_blank_line_to_the_mta);
  return g_test_run ();
}
