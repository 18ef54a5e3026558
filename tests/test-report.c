/*
 * test-report.c - report.c: the JSON report, as mugai(1) REPORT documents it
 *
 * Each report is parsed back with json-glib and read member by member,
 * as an administrator's script would.
 */
#include "report.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "mugai-build.h"
#include "mugai-limits.h"

static JsonObject *
parse (const char *json, JsonParser **parser_out)
{
  JsonParser *parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (g_utf8_validate (json, -1, NULL));
  if (!json_parser_load_from_data (parser, json, -1, &error))
    g_error ("report is not JSON: %s", error->message);
  *parser_out = parser;
  JsonNode *root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

static MugaiReport *
typical (void)
{
  MugaiReport *r = mugai_report_new ();
  r->verdict = MUGAI_VERDICT_SANITIZED;
  r->status = g_strdup ("sanitized");
  r->message_id = g_strdup ("<a@example.jp>");
  r->subject = g_strdup ("見積書の件");
  r->output_charset = g_strdup ("utf-8");
  r->removed = 1;
  mugai_report_add_part (r, "", "container");
  MugaiPartReport *body = mugai_report_add_part (r, "1", "body");
  body->declared_type = g_strdup ("text/html");
  body->action = MUGAI_ACTION_TO_TEXT;
  body->reason = MUGAI_FINDING_ACTIVE_CONTENT;
  MugaiPartReport *att = mugai_report_add_part (r, "2", "attachment");
  att->filename = g_strdup ("請求書.pdf.exe");
  att->declared_type = g_strdup ("application/pdf");
  att->size = 1234;
  att->action = MUGAI_ACTION_REMOVE;
  att->reason = MUGAI_FINDING_NAME_TRICK;
  att->true_type = g_strdup ("executable");
  att->entries = g_ptr_array_new_with_free_func (mugai_entry_report_free);
  MugaiEntryReport *e = g_new0 (MugaiEntryReport, 1);
  e->name = g_strdup ("a/b.js");
  e->size = -1;
  e->danger = g_strdup ("script");
  e->encrypted = TRUE;
  g_ptr_array_add (att->entries, e);
  att->entries_total = 7;
  mugai_report_add_finding (r, mugai_finding_new (MUGAI_FINDING_ACTIVE_CONTENT, "1", NULL));
  mugai_report_add_finding (
      r, mugai_finding_new (MUGAI_FINDING_NAME_TRICK, "2", "%s", "ends in .exe"));
  return r;
}

static void
test_members (void)
{
  g_autoptr (MugaiReport) r = typical ();
  for (int pretty = 0; pretty <= 1; pretty++)
    {
      g_autofree char *json = mugai_report_to_json (r, pretty);
      g_autoptr (JsonParser) parser = NULL;
      JsonObject *o = parse (json, &parser);
      g_assert_cmpstr (json_object_get_string_member (o, "mugai_version"), ==, MUGAI_VERSION);
      g_assert_cmpstr (json_object_get_string_member (o, "verdict"), ==, "sanitized");
      g_assert_cmpstr (json_object_get_string_member (o, "message_id"), ==, "<a@example.jp>");
      g_assert_cmpstr (json_object_get_string_member (o, "subject"), ==, "見積書の件");
      g_assert_true (json_object_get_null_member (o, "virus"));
      g_assert_cmpint (json_object_get_int_member (o, "removed"), ==, 1);
      g_assert_cmpint (json_object_get_int_member (o, "converted"), ==, 0);
      /* nothing left out: no summary */
      g_assert_false (json_object_has_member (o, "summary"));
      g_assert_false (json_object_has_member (o, "omitted_parts"));

      JsonArray *reasons = json_object_get_array_member (o, "reasons");
      g_assert_cmpuint (json_array_get_length (reasons), ==, 2);
      JsonObject *f = json_array_get_object_element (reasons, 1);
      g_assert_cmpstr (json_object_get_string_member (f, "category"), ==, "name-trick");
      g_assert_cmpstr (json_object_get_string_member (f, "path"), ==, "2");
      g_assert_cmpstr (json_object_get_string_member (f, "detail"), ==, "ends in .exe");

      JsonArray *parts = json_object_get_array_member (o, "parts");
      g_assert_cmpuint (json_array_get_length (parts), ==, 3);
      JsonObject *p1 = json_array_get_object_element (parts, 1);
      g_assert_cmpstr (json_object_get_string_member (p1, "action"), ==, "to-text");
      g_assert_cmpstr (json_object_get_string_member (p1, "reason"), ==, "active-content");
      g_assert_true (json_object_get_null_member (p1, "filename"));
      g_assert_false (json_object_has_member (p1, "entries"));
      JsonObject *p0 = json_array_get_object_element (parts, 0);
      g_assert_true (json_object_get_null_member (p0, "reason"));
      g_assert_cmpstr (json_object_get_string_member (p0, "action"), ==, "keep");
      JsonObject *p2 = json_array_get_object_element (parts, 2);
      g_assert_cmpstr (json_object_get_string_member (p2, "filename"), ==, "請求書.pdf.exe");
      g_assert_cmpint (json_object_get_int_member (p2, "size"), ==, 1234);
      g_assert_cmpstr (json_object_get_string_member (p2, "action"), ==, "remove");
      g_assert_cmpstr (json_object_get_string_member (p2, "reason"), ==, "name-trick");
      g_assert_cmpstr (json_object_get_string_member (p2, "true_type"), ==, "executable");
      g_assert_cmpint (json_object_get_int_member (p2, "entries_total"), ==, 7);
      JsonArray *entries = json_object_get_array_member (p2, "entries");
      g_assert_cmpuint (json_array_get_length (entries), ==, 1);
      JsonObject *e = json_array_get_object_element (entries, 0);
      g_assert_cmpstr (json_object_get_string_member (e, "name"), ==, "a/b.js");
      g_assert_cmpint (json_object_get_int_member (e, "size"), ==, -1);
      g_assert_cmpstr (json_object_get_string_member (e, "danger"), ==, "script");
      g_assert_true (json_object_get_boolean_member (e, "encrypted"));
    }
}

static void
test_raw_octets (void)
{
  /* a raw 8-bit subject (Shift_JIS "見積" undecoded) and a name with a
   * NUL-free invalid sequence: the report stays valid UTF-8, with U+FFFD
   * where the octets were, never the octets themselves */
  g_autoptr (MugaiReport) r = mugai_report_new ();
  r->subject = g_strdup ("\x8c\xa9\x90\xcf ok");
  MugaiPartReport *p = mugai_report_add_part (r, "1", "attachment");
  p->filename = g_strdup ("a\xffz.txt");
  g_autofree char *json = mugai_report_to_json (r, FALSE);
  g_assert_true (g_utf8_validate (json, -1, NULL));
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *o = parse (json, &parser);
  const char *subject = json_object_get_string_member (o, "subject");
  g_assert_true (g_str_has_suffix (subject, " ok"));
  g_assert_nonnull (strstr (subject, "\xef\xbf\xbd"));
  JsonObject *p0 = json_array_get_object_element (json_object_get_array_member (o, "parts"), 0);
  g_assert_cmpstr (json_object_get_string_member (p0, "filename"), ==, "a\xef\xbf\xbdz.txt");
}

static void
test_size_limit (void)
{
  /* many large parts: the report stays within its limit, the first parts
   * are kept, and one summary says how many were left out */
  g_autoptr (MugaiReport) r = mugai_report_new ();
  r->verdict = MUGAI_VERDICT_SANITIZED;
  g_autofree char *long_detail = g_strnfill (4000, 'd');
  const guint n = 2 * MUGAI_LIMIT_REPORT_SIZE / 4000;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *path = g_strdup_printf ("%u", i + 1);
      MugaiPartReport *p = mugai_report_add_part (r, path, "attachment");
      p->detail = g_strdup (long_detail);
      p->action = MUGAI_ACTION_REMOVE;
    }
  for (int pretty = 0; pretty <= 1; pretty++)
    {
      g_autofree char *json = mugai_report_to_json (r, pretty);
      g_assert_cmpuint (strlen (json), <=, MUGAI_LIMIT_REPORT_SIZE);
      g_autoptr (JsonParser) parser = NULL;
      JsonObject *o = parse (json, &parser);
      JsonArray *parts = json_object_get_array_member (o, "parts");
      guint kept = json_array_get_length (parts);
      g_assert_cmpuint (kept, >, 0);
      g_assert_cmpuint (kept, <, n);
      g_assert_cmpstr (
          json_object_get_string_member (json_array_get_object_element (parts, 0), "path"), ==,
          "1");
      g_assert_cmpint (json_object_get_int_member (o, "omitted_parts"), ==, n - kept);
      g_assert_cmpint (json_object_get_int_member (o, "omitted_reasons"), ==, 0);
      g_autofree char *want
          = g_strdup_printf ("the report is limited to %u octets: %u more parts not listed",
                             (guint)MUGAI_LIMIT_REPORT_SIZE, n - kept);
      g_assert_cmpstr (json_object_get_string_member (o, "summary"), ==, want);
    }
}

static void
test_omitted_summary (void)
{
  /* parts past [limits] parts: counted in the summary, not listed */
  g_autoptr (MugaiReport) r = mugai_report_new ();
  r->parts_omitted = 5;
  r->parts_omitted_removed = 3;
  r->parts_limit = 100;
  g_autofree char *json = mugai_report_to_json (r, FALSE);
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *o = parse (json, &parser);
  g_assert_cmpint (json_object_get_int_member (o, "omitted_parts"), ==, 5);
  g_assert_cmpstr (
      json_object_get_string_member (o, "summary"), ==,
      "past the limit of 100 MIME parts, 3 parts removed and 2 alternatives not shown, "
      "not listed one by one");

  g_autoptr (MugaiReport) c = mugai_report_new ();
  c->parts_counted = 5000;
  c->parts_limit = 1000;
  g_autofree char *cjson = mugai_report_to_json (c, FALSE);
  g_autoptr (JsonParser) cparser = NULL;
  JsonObject *co = parse (cjson, &cparser);
  g_assert_cmpint (json_object_get_int_member (co, "omitted_parts"), ==, 5000);
  g_assert_cmpstr (
      json_object_get_string_member (co, "summary"), ==,
      "refused before parsing: up to 5000 MIME parts counted, more than 1000; none listed");
}

static void
test_reject_finding (void)
{
  /* the finding that decided the reject is the one on the rejected part,
   * not the first finding of the message */
  g_autoptr (MugaiReport) r = mugai_report_new ();
  mugai_report_add_part (r, "1", "body");
  MugaiPartReport *p = mugai_report_add_part (r, "2", "attachment");
  mugai_report_add_finding (r, mugai_finding_new (MUGAI_FINDING_CHARSET, "1", NULL));
  mugai_report_add_finding (r, mugai_finding_new (MUGAI_FINDING_ARCHIVE, "2", "listed"));
  mugai_report_add_finding (r, mugai_finding_new (MUGAI_FINDING_ENCRYPTED, "2", "zip"));
  g_assert_null (mugai_report_reject_finding (r));
  p->action = MUGAI_ACTION_REJECT;
  p->reason = MUGAI_FINDING_ENCRYPTED;
  const MugaiFinding *f = mugai_report_reject_finding (r);
  g_assert_nonnull (f);
  g_assert_cmpint (f->category, ==, MUGAI_FINDING_ENCRYPTED);
  g_assert_cmpstr (f->detail, ==, "zip");

  /* no rejected part: a finding about the whole message */
  g_autoptr (MugaiReport) m = mugai_report_new ();
  mugai_report_add_finding (m, mugai_finding_new (MUGAI_FINDING_CHARSET, "1", NULL));
  mugai_report_add_finding (m, mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, "", "too big"));
  f = mugai_report_reject_finding (m);
  g_assert_nonnull (f);
  g_assert_cmpstr (f->detail, ==, "too big");
}

static void
test_verdict_names (void)
{
  static const struct
  {
    MugaiVerdict v;
    const char *name;
  } names[] = {
    { MUGAI_VERDICT_CLEAN, "clean" },     { MUGAI_VERDICT_SANITIZED, "sanitized" },
    { MUGAI_VERDICT_REJECT, "reject" },   { MUGAI_VERDICT_TEMPFAIL, "tempfail" },
    { MUGAI_VERDICT_DISCARD, "discard" }, { MUGAI_VERDICT_HOLD, "hold" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_cmpstr (mugai_verdict_name (names[i].v), ==, names[i].name);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/report/members", test_members);
  g_test_add_func ("/report/raw-octets", test_raw_octets);
  g_test_add_func ("/report/size-limit", test_size_limit);
  g_test_add_func ("/report/omitted-summary", test_omitted_summary);
  g_test_add_func ("/report/reject-finding", test_reject_finding);
  g_test_add_func ("/report/verdict-names", test_verdict_names);
  return g_test_run ();
}
