/*
 * test-reportwire.c - the report as data between processes (report.c):
 *                     what the worker builds comes back equal, and the
 *                     one reader refuses anything that is not a report
 *                     mugai writes, or is too large
 */
#include "report.h"

#include <string.h>

#include "mugai-limits.h"
#include "testutil.h"

/* A report with every kind of member: strings, null, counts, a finding,
 * parts, an archive member of unknown size, hostile text. */
static MugaiReport *
make_report (void)
{
  MugaiReport *r = mugai_report_new ();
  r->verdict = MUGAI_VERDICT_SANITIZED;
  r->status = g_strdup ("sanitized; removed=1; converted=0");
  r->message_id = g_strdup ("m1@example.jp");
  r->subject = g_strdup ("【重要】\"引用\"\n\u202egpj.exe");
  r->output_charset = g_strdup ("utf-8");
  r->removed = 1;
  MugaiPartReport *body = mugai_report_add_part (r, "1", "body");
  body->declared_type = g_strdup ("text/plain");
  body->charset = g_strdup ("iso-2022-jp");
  body->size = 10;
  body->action = MUGAI_ACTION_KEEP;
  MugaiPartReport *zip = mugai_report_add_part (r, "2", "attachment");
  zip->declared_type = g_strdup ("application/zip");
  zip->filename = g_strdup ("見積書.zip");
  zip->size = 99;
  zip->sha256 = g_strdup ("ff00");
  zip->action = MUGAI_ACTION_REMOVE;
  zip->reason = MUGAI_FINDING_ARCHIVE;
  zip->entries = g_ptr_array_new_with_free_func (mugai_entry_report_free);
  MugaiEntryReport *member = g_new0 (MugaiEntryReport, 1);
  member->name = g_strdup ("inner/a.exe");
  member->size = -1;
  member->danger = g_strdup ("program");
  g_ptr_array_add (zip->entries, member);
  zip->entries_total = 1;
  mugai_report_add_finding (r, mugai_finding_new (MUGAI_FINDING_ARCHIVE, "2", "zip"));
  return r;
}

static void
test_roundtrip (void)
{
  g_autoptr (MugaiReport) r = make_report ();
  g_autoptr (JsonNode) node = mugai_report_to_node (r);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_report_node_check (node, &error));
  g_assert_no_error (error);

  /* one form: the wire text is what `mugai sanitize --report` writes */
  g_autofree char *text = mugai_report_node_to_text (node);
  g_autofree char *json = mugai_report_to_json (r, FALSE);
  g_assert_cmpstr (text, ==, json);

  g_autoptr (JsonNode) back = mugai_report_node_from_text (text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  g_assert_true (json_node_equal (node, back));
  JsonObject *o = json_node_get_object (back);
  g_assert_cmpint (json_object_get_int_member (o, "removed"), ==, 1);
  JsonArray *parts = json_object_get_array_member (o, "parts");
  g_assert_cmpuint (json_array_get_length (parts), ==, 2);
  JsonObject *p = json_array_get_object_element (parts, 1);
  g_assert_cmpstr (json_object_get_string_member (p, "filename"), ==, "見積書.zip");
  JsonObject *m = json_array_get_object_element (json_object_get_array_member (p, "entries"), 0);
  g_assert_cmpint (json_object_get_int_member (m, "size"), ==, -1);
}

typedef struct
{
  const char *name;
  const char *text; /* NUL-terminated unless len */
  gsize len;        /* 0: strlen */
  const char *says; /* in the message */
} Refusal;

static const Refusal refusals[] = {
  { "not-json", "{\"parts\": [", 0, "report" },
  { "not-an-object", "[1, 2]", 0, "not an object" },
  { "a-string", "\"{}\"", 0, "not an object" },
  { "nul-inside", "{\"subject\":\"a\"}\0{\"x\":1}", 23, "not UTF-8" },
  { "not-utf8", "{\"subject\":\"\xff\xfe\"}", 0, "not UTF-8" },
  { "unknown-member", "{\"verdict\":\"clean\",\"deliver_anyway\":true}", 0, "unknown member" },
  { "removed-negative", "{\"removed\":-1}", 0, "report.removed" },
  { "removed-string", "{\"removed\":\"1\"}", 0, "report.removed" },
  { "virus-number", "{\"virus\":7}", 0, "report.virus" },
  { "parts-object", "{\"parts\":{}}", 0, "report.parts" },
  { "part-not-object", "{\"parts\":[1]}", 0, "report.parts[0]" },
  { "part-path-number", "{\"parts\":[{\"path\":7}]}", 0, "report.parts[0].path" },
  { "unknown-hostile-name", "{\"\\u001b[2J\\u202eevil\":1}", 0, "unknown member" },
  { "part-unknown", "{\"parts\":[{\"path\":\"1\",\"x\":null}]}", 0, "unknown member" },
  { "entry-size", "{\"parts\":[{\"entries\":[{\"size\":-2}]}]}", 0, "entries[0].size" },
  { "entry-encrypted", "{\"parts\":[{\"entries\":[{\"encrypted\":\"yes\"}]}]}", 0,
    "entries[0].encrypted" },
  { "reason-detail", "{\"reasons\":[{\"detail\":[]}]}", 0, "report.reasons[0].detail" },
};

static void
test_refusal (gconstpointer data)
{
  const Refusal *c = data;
  gsize len = c->len ? c->len : strlen (c->text);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = mugai_report_node_from_text (c->text, len, &error);
  g_assert_null (node);
  g_assert_error (error, MUGAI_REPORT_ERROR, MUGAI_REPORT_ERROR_INVALID);
  if (!strstr (error->message, c->says))
    g_error ("%s: \"%s\" does not say \"%s\"", c->name, error->message, c->says);
  /* the message may reach a log: no control or bidi character from the
   * text in it */
  g_assert_null (strchr (error->message, '\x1b'));
  g_assert_null (strstr (error->message, "\u202e"));
}

/* {"summary":"xxx..."} of exactly len octets */
static char *
report_of_size (gsize len)
{
  static const char head[] = "{\"summary\":\"", tail[] = "\"}";
  gsize fill = len - strlen (head) - strlen (tail);
  char *s = g_malloc (len + 1);
  memcpy (s, head, strlen (head));
  memset (s + strlen (head), 'x', fill);
  memcpy (s + strlen (head) + fill, tail, strlen (tail) + 1);
  return s;
}

static void
test_size_limit (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *at = report_of_size (MUGAI_LIMIT_REPORT_SIZE);
  g_autoptr (JsonNode) ok = mugai_report_node_from_text (at, MUGAI_LIMIT_REPORT_SIZE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ok);
  g_autofree char *over = report_of_size (MUGAI_LIMIT_REPORT_SIZE + 1);
  g_autoptr (JsonNode) no = mugai_report_node_from_text (over, MUGAI_LIMIT_REPORT_SIZE + 1, &error);
  g_assert_null (no);
  g_assert_error (error, MUGAI_REPORT_ERROR, MUGAI_REPORT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "more than"));
}

static void
test_older_reports (void)
{
  /* members are optional: a report written before one was added (the
   * store keeps reports for years) is still a report */
  static const char *const accepted[] = {
    "{}",
    "{\"verdict\":\"sanitized\",\"removed\":1,\"parts\":[{\"path\":\"2\",\"filename\":null}]}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonNode) node
          = mugai_report_node_from_text (accepted[i], strlen (accepted[i]), &error);
      g_assert_no_error (error);
      g_assert_nonnull (node);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/reportwire/roundtrip", test_roundtrip);
  TESTUTIL_ADD_CASES ("/reportwire/refused", refusals, name, test_refusal);
  g_test_add_func ("/reportwire/size-limit", test_size_limit);
  g_test_add_func ("/reportwire/older-reports", test_older_reports);
  return g_test_run ();
}
