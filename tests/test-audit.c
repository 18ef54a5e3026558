/*
 * test-audit.c - audit.c: one valid JSON object per line whatever the
 *                sender wrote, no interleaving between threads, syslog
 *                text escaped
 */
#include "audit.h"
#include "audit-chain.h"
#include "quarantine.h"
#include "testfiles.h"
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <ftw.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

static const char report_json[]
    = "{\"mugai_version\":\"0.1.0\",\"verdict\":\"sanitized\",\"removed\":1,\"converted\":2,"
      "\"parts\":[{\"path\":\"1\",\"kind\":\"body\",\"declared_type\":\"text/html\","
      "\"filename\":null,\"size\":10,\"sha256\":\"00\",\"action\":\"to-text\",\"reason\":null},"
      "{\"path\":\"2\",\"kind\":\"attachment\",\"declared_type\":\"application/vnd.ms-excel."
      "sheet.macroEnabled.12\",\"filename\":\"見積書.xlsm\",\"size\":99,\"sha256\":\"ff\","
      "\"action\":\"remove\",\"reason\":\"banned-type\",\"detail\":\"macro\"}]}";

/* The report as the front hands it: data, parsed once here. */
static JsonNode *
report_node (void)
{
  static JsonNode *node;
  if (!node)
    {
      g_autoptr (GError) error = NULL;
      node = json_from_string (report_json, &error);
      g_assert_no_error (error);
      json_node_seal (node);
    }
  return node;
}

static MugaiStoreEntry *
make_entry (void)
{
  MugaiStoreEntry *e = mugai_store_entry_new ();
  e->queue_id = g_strdup ("4ZxY1");
  e->sender = g_strdup ("taro@example.jp");
  g_ptr_array_add (e->recipients, g_strdup ("a@city.lg.jp"));
  g_ptr_array_add (e->recipients, g_strdup ("b@city.lg.jp"));
  e->client_addr = g_strdup ("192.0.2.7");
  e->client_name = g_strdup ("mx.example.jp");
  e->verdict = g_strdup ("sanitized");
  e->status = g_strdup ("sanitized; removed=1; converted=2");
  e->message_id = g_strdup ("m1@example.jp");
  e->subject = g_strdup ("お見積りの件");
  e->size = 12345;
  return e;
}

static MugaiAuditRecord
make_record (const MugaiStoreEntry *e)
{
  return (MugaiAuditRecord){
    .entry = e,
    .quarantine_id = "20261122T004644Z-0123456789ab",
    .action = "deliver",
    .reason = NULL,
    .report = report_node (),
    .duration_total_ms = 12.5,
    .duration_sanitize_ms = 3.25,
  };
}

static JsonObject *
parse_line (JsonParser *parser, const char *line)
{
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_data (parser, line, -1, &error))
    g_error ("not JSON: %s: %s", error->message, line);
  JsonNode *root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

static void
test_format_json (void)
{
  g_autoptr (MugaiStoreEntry) e = make_entry ();
  MugaiAuditRecord rec = make_record (e);
  /* 2026-11-22T00:46:44.123Z */
  gint64 now = G_GINT64_CONSTANT (1795308404) * G_USEC_PER_SEC + 123456;
  g_autofree char *line = mugai_audit_format_json (&rec, now);
  g_assert_null (strchr (line, '\n'));

  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = parse_line (parser, line);
  g_assert_cmpstr (json_object_get_string_member (o, "time"), ==, "2026-11-22T00:46:44.123Z");
  g_assert_cmpstr (json_object_get_string_member (o, "queue_id"), ==, "4ZxY1");
  g_assert_cmpstr (json_object_get_string_member (o, "sender"), ==, "taro@example.jp");
  JsonArray *rcpts = json_object_get_array_member (o, "recipients");
  g_assert_cmpuint (json_array_get_length (rcpts), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (rcpts, 1), ==, "b@city.lg.jp");
  g_assert_cmpstr (json_object_get_string_member (o, "client_addr"), ==, "192.0.2.7");
  g_assert_cmpstr (json_object_get_string_member (o, "client_name"), ==, "mx.example.jp");
  g_assert_cmpstr (json_object_get_string_member (o, "message_id"), ==, "m1@example.jp");
  g_assert_cmpstr (json_object_get_string_member (o, "subject"), ==, "お見積りの件");
  g_assert_cmpint (json_object_get_int_member (o, "size"), ==, 12345);
  g_assert_cmpstr (json_object_get_string_member (o, "verdict"), ==, "sanitized");
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==,
                   "sanitized; removed=1; converted=2");
  g_assert_cmpstr (json_object_get_string_member (o, "action"), ==, "deliver");
  g_assert_true (json_object_get_null_member (o, "reason"));
  g_assert_cmpstr (json_object_get_string_member (o, "quarantine_id"), ==,
                   "20261122T004644Z-0123456789ab");
  g_assert_cmpint (json_object_get_int_member (o, "removed"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (o, "converted"), ==, 2);
  JsonObject *d = json_object_get_object_member (o, "durations_ms");
  g_assert_cmpfloat (json_object_get_double_member (d, "total"), ==, 12.5);
  g_assert_cmpfloat (json_object_get_double_member (d, "sanitize"), ==, 3.25);

  /* parts, each reduced to five members */
  JsonArray *parts = json_object_get_array_member (o, "parts");
  g_assert_cmpuint (json_array_get_length (parts), ==, 2);
  JsonObject *p = json_array_get_object_element (parts, 1);
  g_assert_cmpuint (json_object_get_size (p), ==, 5);
  g_assert_cmpstr (json_object_get_string_member (p, "path"), ==, "2");
  g_assert_cmpstr (json_object_get_string_member (p, "declared_type"), ==,
                   "application/vnd.ms-excel.sheet.macroEnabled.12");
  g_assert_cmpstr (json_object_get_string_member (p, "filename"), ==, "見積書.xlsm");
  g_assert_cmpstr (json_object_get_string_member (p, "action"), ==, "remove");
  g_assert_cmpstr (json_object_get_string_member (p, "reason"), ==, "banned-type");
  JsonObject *p0 = json_array_get_object_element (parts, 0);
  g_assert_true (json_object_get_null_member (p0, "filename"));
  g_assert_true (json_object_get_null_member (p0, "reason"));
}

typedef struct
{
  const char *name;
  const char *report;  /* NULL: none */
  gboolean parts_null; /* "parts" is null */
  gint64 removed;
} ReportCase;

static const ReportCase report_cases[] = {
  { "full", report_json, FALSE, 1 },
  { "none", NULL, TRUE, 0 },
  { "not-an-object", "[1, 2]", TRUE, 0 },
  { "parts-not-array", "{\"parts\": 3, \"removed\": \"x\"}", TRUE, 0 },
  { "odd-parts", "{\"parts\": [1, {\"path\": 7, \"action\": \"remove\"}], \"removed\": 4}", FALSE,
    4 },
};

static void
test_report_case (gconstpointer data)
{
  const ReportCase *c = data;
  g_autoptr (MugaiStoreEntry) e = make_entry ();
  MugaiAuditRecord rec = make_record (e);
  g_autoptr (JsonNode) node = c->report ? json_from_string (c->report, NULL) : NULL;
  g_assert_true (!c->report || node);
  rec.report = node;
  g_autofree char *line = mugai_audit_format_json (&rec, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = parse_line (parser, line);
  g_assert_cmpint (json_object_get_null_member (o, "parts"), ==, c->parts_null);
  g_assert_cmpint (json_object_get_int_member (o, "removed"), ==, c->removed);
  g_autofree char *text = mugai_audit_format_syslog (&rec);
  g_assert_nonnull (text);
}

static void
test_report_from_entry (void)
{
  /* without a report in the record, the entry's report is used */
  g_autoptr (MugaiStoreEntry) e = make_entry ();
  e->report = json_node_ref (report_node ());
  MugaiAuditRecord rec = make_record (e);
  rec.report = NULL;
  g_autofree char *line = mugai_audit_format_json (&rec, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = parse_line (parser, line);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "parts")), ==, 2);
}

/* Sender text that would break a line-based log, or a terminal. */
static const char hostile_sender[]
    = "evil\r\n{\"verdict\":\"clean\"}\x01\x1b[2J\xff\xfe@example.jp";
static const char hostile_subject[] = "件名\n\u202egpj.exe\t\"q\"\\";
static const char hostile_reason[] = "550 5.7.1 bad\nnext line\x7f";

static void
test_escaping (void)
{
  g_autoptr (MugaiStoreEntry) e = make_entry ();
  g_free (e->sender);
  e->sender = g_strdup (hostile_sender);
  g_free (e->subject);
  e->subject = g_strdup (hostile_subject);
  g_free (e->message_id);
  e->message_id = g_strdup ("id\n@x");
  MugaiAuditRecord rec = make_record (e);
  rec.reason = hostile_reason;

  g_autofree char *line = mugai_audit_format_json (&rec, 0);
  for (const char *p = line; *p; p++)
    g_assert_cmpint ((guchar)*p, >=, 0x20);
  g_assert_true (g_utf8_validate (line, -1, NULL));
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = parse_line (parser, line);
  /* the JSON keeps the text (made valid UTF-8), escaped inside the string */
  const char *sender = json_object_get_string_member (o, "sender");
  g_assert_true (g_str_has_prefix (sender, "evil\r\n{\"verdict\":\"clean\"}\x01\x1b[2J"));
  g_assert_cmpstr (json_object_get_string_member (o, "subject"), ==, hostile_subject);
  g_assert_cmpstr (json_object_get_string_member (o, "verdict"), ==, "sanitized");

  g_autofree char *text = mugai_audit_format_syslog (&rec);
  for (const char *p = text; *p; p++)
    {
      g_assert_cmpint ((guchar)*p, >=, 0x20);
      g_assert_cmpint ((guchar)*p, <, 0x7f);
    }
  g_assert_nonnull (strstr (text, ", reason=550 5.7.1 bad"));
  g_assert_true (g_str_has_prefix (text, "4ZxY1: verdict=sanitized, action=deliver, "));
}

typedef struct
{
  const char *name;
  const char *queue_id;
  const char *sender;
  const char *quarantine_id;
  const char *message_id;
  const char *reason;
  const char *expect;
} SyslogCase;

static const SyslogCase syslog_cases[] = {
  { "full", "4ZxY1", "taro@example.jp", "20261122T004644Z-0123456789ab", "m1@example.jp", NULL,
    "4ZxY1: verdict=sanitized, action=deliver, removed=1, converted=2, "
    "quarantine=20261122T004644Z-0123456789ab, msgid=<m1@example.jp>, from=<taro@example.jp>, "
    "size=12345" },
  { "null-sender-noqueue", NULL, "", NULL, NULL, "451 4.3.0 try again later",
    "NOQUEUE: verdict=sanitized, action=deliver, removed=1, converted=2, from=<>, size=12345, "
    "reason=451 4.3.0 try again later" },
  { "bracketed-sender", "Q1", "<a@b.jp>", NULL, NULL, NULL,
    "Q1: verdict=sanitized, action=deliver, removed=1, converted=2, from=<a@b.jp>, size=12345" },
  { "quotes-escaped", "Q2", "\"x\"@b.jp", NULL, NULL, "a\\b",
    "Q2: verdict=sanitized, action=deliver, removed=1, converted=2, from=<\\\"x\\\"@b.jp>, "
    "size=12345, reason=a\\\\b" },
};

static void
test_syslog_case (gconstpointer data)
{
  const SyslogCase *c = data;
  g_autoptr (MugaiStoreEntry) e = make_entry ();
  g_free (e->queue_id);
  e->queue_id = g_strdup (c->queue_id);
  g_free (e->sender);
  e->sender = g_strdup (c->sender);
  g_free (e->message_id);
  e->message_id = g_strdup (c->message_id);
  MugaiAuditRecord rec = make_record (e);
  rec.quarantine_id = c->quarantine_id;
  rec.reason = c->reason;
  g_autofree char *text = mugai_audit_format_syslog (&rec);
  g_assert_cmpstr (text, ==, c->expect);
}

static void
test_syslog_truncated (void)
{
  g_autoptr (MugaiStoreEntry) e = make_entry ();
  g_autoptr (GString) long_sender = g_string_new (NULL);
  for (int i = 0; i < 5000; i++)
    g_string_append_c (long_sender, 'a');
  g_free (e->sender);
  e->sender = g_strdup (long_sender->str);
  MugaiAuditRecord rec = make_record (e);
  g_autofree char *text = mugai_audit_format_syslog (&rec);
  g_assert_cmpuint (strlen (text), <, 1000);
}

/* ---- the file ----------------------------------------------------------------- */

static char *
read_file (const char *path)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  return g_steal_pointer (&text);
}

static void
test_write_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-audit-XXXXXX", &error);
  /* the parent directories do not exist yet */
  g_autofree char *path = g_build_filename (root, "log", "mugai", "audit.jsonl", NULL);
  g_autoptr (MugaiAudit) a = mugai_audit_open (path, TRUE, &error);
  g_assert_no_error (error);
  g_autoptr (MugaiStoreEntry) e = make_entry ();
  g_free (e->sender);
  e->sender = g_strdup (hostile_sender);
  MugaiAuditRecord rec = make_record (e);
  for (int i = 0; i < 3; i++)
    {
      g_assert_true (mugai_audit_write (a, &rec, &error));
      g_assert_no_error (error);
    }
  /* mugai's user's alone (umask 022 would allow more): the file 0600,
   * the directory it made 0700 */
  struct stat st;
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_autofree char *parent = g_path_get_dirname (path);
  g_assert_cmpint (stat (parent, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0700);

  g_autofree char *text = read_file (path);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  g_assert_cmpstr (lines[3], ==, "");
  for (int i = 0; i < 3; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonObject *o = parse_line (parser, lines[i]);
      g_assert_true (g_str_has_prefix (json_object_get_string_member (o, "sender"), "evil\r\n"));
    }

  /* rotation by rename: reopen writes to a new file at the path */
  g_autofree char *rotated = g_strconcat (path, ".1", NULL);
  g_assert_cmpint (g_rename (path, rotated), ==, 0);
  g_assert_true (mugai_audit_reopen (a, &error));
  g_assert_true (mugai_audit_write (a, &rec, &error));
  g_autofree char *fresh = read_file (path);
  g_assert_cmpuint (strlen (fresh), ==, strlen (lines[0]) + 1);
  testfiles_rm_rf (root);
}

/* A log of n records through rotation (FILE.1 then FILE), and its
 * checkpoint after a clean close. */
static char *
chained_log (const char *root, int n)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (root, "audit.jsonl", NULL);
  MugaiAudit *a = mugai_audit_open (path, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (MugaiStoreEntry) e = make_entry ();
  MugaiAuditRecord rec = make_record (e);
  for (int i = 0; i < n; i++)
    {
      if (i == n / 2)
        {
          /* rotated halfway: the chain goes on in the new file */
          g_autofree char *rotated = g_strconcat (path, ".1", NULL);
          g_assert_cmpint (g_rename (path, rotated), ==, 0);
          g_assert_true (mugai_audit_reopen (a, &error));
        }
      g_assert_true (mugai_audit_write (a, &rec, &error));
    }
  mugai_audit_free (a);
  return path;
}

static gboolean
verify (const char *path, const char *checkpoint, char **problem)
{
  g_autofree char *rotated = g_strconcat (path, ".1", NULL);
  const char *files[] = { rotated, path, NULL };
  guint64 records = 0;
  return mugai_audit_verify (files, checkpoint, &records, problem);
}

/* Replaces line `index` (0-based) of file by text, or removes it (NULL);
 * with swap, exchanges it with the next line. */
static void
edit_line (const char *file, int index, const char *text, gboolean swap)
{
  g_autofree char *all = read_file (file);
  g_auto (GStrv) lines = g_strsplit (all, "\n", -1);
  g_autoptr (GString) out = g_string_new (NULL);
  for (int i = 0; lines[i] && *lines[i]; i++)
    {
      if (swap && i == index)
        g_string_append_printf (out, "%s\n%s\n", lines[i + 1], lines[i]), i++;
      else if (i == index && !text)
        continue;
      else
        g_string_append_printf (out, "%s\n", i == index ? text : lines[i]);
    }
  g_assert_true (g_file_set_contents (file, out->str, -1, NULL));
}

/* The chain: intact as written (across a rotation, against its
 * checkpoint); and each kind of tampering named at the right place. */
static void
test_chain (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-audit-XXXXXX", &error);
  g_autofree char *path = chained_log (root, 8);
  g_autofree char *cp = g_strconcat (path, ".checkpoint", NULL);
  g_autofree char *rotated = g_strconcat (path, ".1", NULL);
  g_autofree char *problem = NULL;
  g_assert_true (verify (path, cp, &problem));
  g_assert_null (problem);
  g_autofree char *cptext = read_file (cp);
  g_assert_true (g_str_has_prefix (cptext, "seq=8 hash="));
  /* each line: seq, prev, hash last */
  g_autofree char *text = read_file (path);
  g_assert_nonnull (strstr (text, "\"seq\":5,\"prev\":\""));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_assert_true (g_str_has_suffix (lines[0], "\"}"));

  g_autofree char *saved = read_file (path);
  g_autofree char *saved1 = read_file (rotated);
  struct
  {
    const char *what;
    const char *file_is; /* which file the problem names */
    const char *says;
  } cases[] = {
    { "byte", "audit.jsonl:2:", "was changed" },
    { "removed", "audit.jsonl:2:", "record(s) removed" },
    { "swapped", "audit.jsonl:1:", "reordered" },
    { "truncated", "audit.jsonl:4:", "truncated" },
    { "shorter", NULL, "records were removed from its end, or the log was replaced" },
  };
  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_assert_true (g_file_set_contents (path, saved, -1, NULL));
      g_assert_true (g_file_set_contents (rotated, saved1, -1, NULL));
      g_auto (GStrv) l = g_strsplit (saved, "\n", -1);
      if (c == 0)
        {
          /* one byte of the second record of the current file */
          char *at = strstr (l[1], "taro@example.jp");
          g_assert_nonnull (at);
          at[0] = 'S';
          edit_line (path, 1, l[1], FALSE);
        }
      else if (c == 1)
        edit_line (path, 1, NULL, FALSE);
      else if (c == 2)
        edit_line (path, 0, NULL, TRUE);
      else if (c == 3)
        g_assert_true (g_file_set_contents (path, saved, (gssize)strlen (saved) - 20, NULL));
      else
        {
          /* a shorter chain, valid in itself, in place of both files */
          g_autofree char *other = g_dir_make_tmp ("mugai-audit-XXXXXX", &error);
          g_autofree char *fake = chained_log (other, 4);
          g_autofree char *fake1 = g_strconcat (fake, ".1", NULL);
          g_autofree char *t = read_file (fake), *t1 = read_file (fake1);
          g_assert_true (g_file_set_contents (path, t, -1, NULL));
          g_assert_true (g_file_set_contents (rotated, t1, -1, NULL));
          g_autofree char *ok = NULL;
          /* without the checkpoint it looks fine: that is what it is for */
          g_assert_true (verify (path, NULL, &ok));
          testfiles_rm_rf (other);
        }
      g_clear_pointer (&problem, g_free);
      g_assert_false (verify (path, cp, &problem));
      g_test_message ("%s: %s", cases[c].what, problem);
      g_assert_nonnull (strstr (problem, cases[c].says));
      if (cases[c].file_is)
        g_assert_nonnull (strstr (problem, cases[c].file_is));
    }
  testfiles_rm_rf (root);
}

/* The mirror (the storer's copy into the database's audit table) is told
 * of every record on disk, with the seq, hash and line the file holds,
 * and of none that failed to be written. */
static void
mirror_collect (guint64 seq, const char *hash, const char *line, gpointer data)
{
  g_ptr_array_add (data, g_strdup_printf ("%" G_GUINT64_FORMAT " %s %s", seq, hash, line));
}

static void
test_mirror (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-audit-XXXXXX", &error);
  g_autofree char *path = g_build_filename (root, "audit.jsonl", NULL);
  g_autoptr (MugaiAudit) a = mugai_audit_open (path, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) told = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (MugaiStoreEntry) e = make_entry ();
  MugaiAuditRecord rec = make_record (e);
  g_assert_true (mugai_audit_write (a, &rec, &error));
  /* the records after the one it returns are told */
  g_assert_cmpuint (mugai_audit_set_mirror (a, mirror_collect, told), ==, 1);
  for (int i = 0; i < 3; i++)
    g_assert_true (mugai_audit_write (a, &rec, &error));
  /* none once unset */
  g_assert_cmpuint (mugai_audit_set_mirror (a, NULL, NULL), ==, 4);
  g_assert_true (mugai_audit_write (a, &rec, &error));
  g_autofree char *text = read_file (path);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 6);
  g_assert_cmpuint (told->len, ==, 3);
  for (guint i = 0; i < told->len; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonObject *o = parse_line (parser, lines[i + 1]);
      g_autofree char *want
          = g_strdup_printf ("%" G_GINT64_FORMAT " %s %s", json_object_get_int_member (o, "seq"),
                             json_object_get_string_member (o, "hash"), lines[i + 1]);
      g_assert_cmpstr (told->pdata[i], ==, want);
      g_assert_cmpint (json_object_get_int_member (o, "seq"), ==, i + 2);
    }
  testfiles_rm_rf (root);
}

/* The writer goes on from the chain it finds (a restart), and refuses a
 * log whose last record is not intact. */
static void
test_chain_resumes (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-audit-XXXXXX", &error);
  g_autofree char *path = chained_log (root, 4);
  /* a second writer (the storer restarted) on the same file */
  MugaiAudit *a = mugai_audit_open (path, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (MugaiStoreEntry) e = make_entry ();
  MugaiAuditRecord rec = make_record (e);
  g_assert_true (mugai_audit_write (a, &rec, &error));
  mugai_audit_free (a);
  g_autofree char *cp = g_strconcat (path, ".checkpoint", NULL);
  g_autofree char *problem = NULL;
  g_assert_true (verify (path, cp, &problem));
  g_autofree char *text = read_file (path);
  g_assert_nonnull (strstr (text, "\"seq\":5,"));
  /* a last record changed: the writer will not chain on from it */
  char *at = g_strrstr (text, "taro@example.jp");
  at[0] = 'X';
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_assert_null (mugai_audit_open (path, FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  testfiles_rm_rf (root);
}

static void
test_open_fails (void)
{
  /* below a regular file: fails for root too, naming the path */
  g_autofree char *root = testfiles_dir_new ();
  g_autofree char *file = NULL;
  g_autofree char *path = testfiles_below_file (root, "audit.jsonl", &file);
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiAudit) a = mugai_audit_open (path, FALSE, &error);
  g_assert_null (a);
  g_assert_nonnull (error);
  g_assert_true (error->domain == G_FILE_ERROR);
  g_assert_nonnull (strstr (error->message, file));
  testfiles_rm_rf (root);
}

static void
test_mode_tightened (void)
{
  /* a log left 0640 by an older version is brought to 0600 when opened,
   * and again when reopened */
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-audit-XXXXXX", &error);
  g_autofree char *path = g_build_filename (root, "audit.jsonl", NULL);
  g_assert_true (g_file_set_contents (path, "", 0, NULL));
  g_assert_cmpint (chmod (path, 0640), ==, 0);
  g_autoptr (MugaiAudit) a = mugai_audit_open (path, FALSE, &error);
  g_assert_no_error (error);
  struct stat st;
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (chmod (path, 0644), ==, 0);
  g_assert_true (mugai_audit_reopen (a, &error));
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  testfiles_rm_rf (root);
}

static void
test_not_a_file (void)
{
  /* a directory or a FIFO at the path is refused at once (a FIFO
   * without a reader would block the open for ever) */
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-audit-XXXXXX", &error);
  g_autofree char *dir = g_build_filename (root, "dir", NULL);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_autoptr (MugaiAudit) a = mugai_audit_open (dir, FALSE, &error);
  g_assert_null (a);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, dir));
  g_clear_error (&error);
  g_autofree char *fifo = g_build_filename (root, "fifo", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_autoptr (MugaiAudit) b = mugai_audit_open (fifo, FALSE, &error);
  g_assert_null (b);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, fifo));
  testfiles_rm_rf (root);
}

static void
test_write_fails (void)
{
  /* A write that cannot finish (here: past RLIMIT_FSIZE, as on a full
   * disk) is an error naming the file, and the half line is cut off
   * again: the next record starts on a line of its own. */
  if (g_test_subprocess ())
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *root = g_dir_make_tmp ("mugai-audit-XXXXXX", &error);
      g_autofree char *path = g_build_filename (root, "audit.jsonl", NULL);
      g_autoptr (MugaiAudit) a = mugai_audit_open (path, FALSE, &error);
      g_assert_no_error (error);
      g_autoptr (MugaiStoreEntry) e = make_entry ();
      MugaiAuditRecord rec = make_record (e);
      g_assert_true (mugai_audit_write (a, &rec, &error));
      struct stat st;
      g_assert_cmpint (stat (path, &st), ==, 0);
      off_t one = st.st_size;
      signal (SIGXFSZ, SIG_IGN);
      struct rlimit rl, saved;
      g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
      rl = saved;
      rl.rlim_cur = (rlim_t)(one + one / 2);
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &rl), ==, 0);
      g_assert_false (mugai_audit_write (a, &rec, &error));
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_cmpint (stat (path, &st), ==, 0);
      g_assert_cmpint (st.st_size, ==, one);
      g_clear_error (&error);
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
      mugai_audit_write (a, &rec, &error);
      g_assert_no_error (error);
      g_autofree char *text = read_file (path);
      g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
      g_assert_cmpuint (g_strv_length (lines), ==, 3);
      for (int i = 0; i < 2; i++)
        {
          g_autoptr (JsonParser) parser = json_parser_new ();
          JsonObject *o = parse_line (parser, lines[i]);
          g_assert_cmpstr (json_object_get_string_member (o, "queue_id"), ==, "4ZxY1");
        }
      testfiles_rm_rf (root);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

#define ROTATE_THREADS 4
#define ROTATE_PER_THREAD 300

typedef struct
{
  MugaiAudit *audit;
  int n;
  gint *written;
} RotWriter;

static gpointer
rot_writer (gpointer data)
{
  RotWriter *w = data;
  for (int i = 0; i < ROTATE_PER_THREAD; i++)
    {
      g_autoptr (MugaiStoreEntry) e = make_entry ();
      g_free (e->queue_id);
      e->queue_id = g_strdup_printf ("r%d-%d", w->n, i);
      MugaiAuditRecord rec = make_record (e);
      g_autoptr (GError) error = NULL;
      if (!mugai_audit_write (w->audit, &rec, &error))
        g_error ("%s", error->message);
      g_atomic_int_inc (w->written);
    }
  return NULL;
}

static void
count_qids (const char *path, GHashTable *seen)
{
  g_autofree char *text = read_file (path);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] && *lines[i]; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonObject *o = parse_line (parser, lines[i]);
      const char *qid = json_object_get_string_member (o, "queue_id");
      g_assert_false (g_hash_table_contains (seen, qid));
      g_hash_table_add (seen, g_strdup (qid));
    }
}

static void
test_rotate_under_load (void)
{
  /* logrotate renames the file while threads write; after the reopen new
   * records go to the new file, and no record is lost or doubled */
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-audit-XXXXXX", &error);
  g_autofree char *path = g_build_filename (root, "audit.jsonl", NULL);
  g_autofree char *rotated = g_strconcat (path, ".1", NULL);
  g_autoptr (MugaiAudit) a = mugai_audit_open (path, FALSE, &error);
  g_assert_no_error (error);
  gint written = 0;
  RotWriter w[ROTATE_THREADS];
  GThread *t[ROTATE_THREADS];
  for (int i = 0; i < ROTATE_THREADS; i++)
    {
      w[i] = (RotWriter){ a, i, &written };
      t[i] = g_thread_new ("writer", rot_writer, &w[i]);
    }
  while (g_atomic_int_get (&written) < ROTATE_THREADS * ROTATE_PER_THREAD / 3)
    g_usleep (1000);
  g_assert_cmpint (g_rename (path, rotated), ==, 0);
  g_assert_true (mugai_audit_reopen (a, &error));
  int at_reopen = g_atomic_int_get (&written);
  for (int i = 0; i < ROTATE_THREADS; i++)
    g_thread_join (t[i]);

  g_autoptr (GHashTable) before = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) after = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  count_qids (rotated, before);
  count_qids (path, after);
  /* every write that had returned before the reopen is in the old file */
  g_assert_cmpuint (g_hash_table_size (before), >=, (guint)at_reopen - ROTATE_THREADS);
  g_assert_cmpuint (g_hash_table_size (after), >, 0);
  g_assert_cmpuint (g_hash_table_size (before) + g_hash_table_size (after), ==,
                    ROTATE_THREADS * ROTATE_PER_THREAD);
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init (&it, before);
  while (g_hash_table_iter_next (&it, &k, NULL))
    g_assert_false (g_hash_table_contains (after, k));
  testfiles_rm_rf (root);
}

#define THREADS 8
#define PER_THREAD 200

typedef struct
{
  MugaiAudit *audit;
  int n;
} Writer;

static gpointer
writer (gpointer data)
{
  Writer *w = data;
  for (int i = 0; i < PER_THREAD; i++)
    {
      g_autoptr (MugaiStoreEntry) e = make_entry ();
      g_free (e->queue_id);
      e->queue_id = g_strdup_printf ("t%d-%d", w->n, i);
      /* long lines, past PIPE_BUF, make interleaving easy to see */
      g_autoptr (GString) subject = g_string_new (NULL);
      for (int k = 0; k < 300; k++)
        g_string_append (subject, "件名");
      g_free (e->subject);
      e->subject = g_strdup (subject->str);
      MugaiAuditRecord rec = make_record (e);
      g_autoptr (GError) error = NULL;
      if (!mugai_audit_write (w->audit, &rec, &error))
        g_error ("%s", error->message);
    }
  return NULL;
}

static void
test_threads (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-audit-XXXXXX", &error);
  g_autofree char *path = g_build_filename (root, "audit.jsonl", NULL);
  g_autoptr (MugaiAudit) a = mugai_audit_open (path, FALSE, &error);
  g_assert_no_error (error);
  Writer w[THREADS];
  GThread *t[THREADS];
  for (int i = 0; i < THREADS; i++)
    {
      w[i] = (Writer){ a, i };
      t[i] = g_thread_new ("writer", writer, &w[i]);
    }
  for (int i = 0; i < THREADS; i++)
    g_thread_join (t[i]);

  g_autofree char *text = read_file (path);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, THREADS * PER_THREAD + 1);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < THREADS * PER_THREAD; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonObject *o = parse_line (parser, lines[i]);
      const char *qid = json_object_get_string_member (o, "queue_id");
      g_assert_false (g_hash_table_contains (seen, qid));
      g_hash_table_add (seen, g_strdup (qid));
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, THREADS * PER_THREAD);
  testfiles_rm_rf (root);
}

/* mugai audit verify holds the log to the checkpoint the store keeps as
 * well: a log replaced, .checkpoint file and all, by a shorter chain that
 * is valid in itself is still found. */
static void
test_store_checkpoint (void)
{
  const char *bin = g_getenv ("MUGAI_BIN");
  if (!bin)
    {
      g_test_skip ("MUGAI_BIN not set");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-audit-XXXXXX", &error);
  g_autofree char *path = chained_log (root, 8);
  g_autofree char *cp = g_strconcat (path, ".checkpoint", NULL);
  g_autofree char *cp_text = read_file (cp);
  guint64 seq = 0;
  char hash[65] = { 0 };
  g_assert_cmpint (sscanf (cp_text, "seq=%" G_GUINT64_FORMAT " hash=%64s", &seq, hash), ==, 2);
  g_assert_cmpuint (seq, ==, 8);
  /* the store's copy, as the storer puts it there */
  g_autofree char *qdir = g_build_filename (root, "q", NULL);
  g_autofree char *location = g_strconcat ("sqlite:", qdir, NULL);
  {
    g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_CREATE, &error);
    g_assert_no_error (error);
    g_assert_true (mugai_store_checkpoint_put (q, "node-x", seq, hash, &error));
  }
  g_autofree char *config = g_build_filename (root, "mugai.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[milter]\nnode_name = node-x\n[quarantine]\ndir = "
                                           "%s\n[audit]\nfile = %s\n",
                                           qdir, path);
  g_assert_true (g_file_set_contents (config, text, -1, NULL));
  const char *argv[] = { bin, "audit", "verify", "--config", config, NULL };
  g_autofree char *out = NULL;
  int status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                               &out, NULL, &status, &error));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out, "and to the checkpoint in sqlite:"));
  g_clear_pointer (&out, g_free);

  /* both files and the .checkpoint replaced by a shorter valid chain */
  g_autofree char *other = g_dir_make_tmp ("mugai-audit-XXXXXX", &error);
  g_autofree char *fake = chained_log (other, 4);
  const char *suffixes[] = { "", ".1", ".checkpoint" };
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *from = g_strconcat (fake, suffixes[i], NULL);
      g_autofree char *to = g_strconcat (path, suffixes[i], NULL);
      g_autofree char *t = read_file (from);
      g_assert_true (g_file_set_contents (to, t, -1, NULL));
    }
  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                               &out, NULL, &status, &error));
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out, "NOT INTACT"));
  g_assert_nonnull (strstr (out, "the checkpoint in sqlite:"));
  g_assert_nonnull (strstr (out, "names seq 8"));
  testfiles_rm_rf (other);
  testfiles_rm_rf (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  umask (022);
  g_test_add_func ("/audit/format-json", test_format_json);
  TESTUTIL_ADD_CASES ("/audit/report", report_cases, name, test_report_case);
  g_test_add_func ("/audit/report-from-entry", test_report_from_entry);
  g_test_add_func ("/audit/escaping", test_escaping);
  TESTUTIL_ADD_CASES ("/audit/syslog", syslog_cases, name, test_syslog_case);
  g_test_add_func ("/audit/syslog-truncated", test_syslog_truncated);
  g_test_add_func ("/audit/write-file", test_write_file);
  g_test_add_func ("/audit/open-fails", test_open_fails);
  g_test_add_func ("/audit/chain", test_chain);
  g_test_add_func ("/audit/chain-resumes", test_chain_resumes);
  g_test_add_func ("/audit/store-checkpoint", test_store_checkpoint);
  g_test_add_func ("/audit/mirror", test_mirror);
  g_test_add_func ("/audit/mode-tightened", test_mode_tightened);
  g_test_add_func ("/audit/not-a-file", test_not_a_file);
  g_test_add_func ("/audit/write-fails", test_write_fails);
  g_test_add_func ("/audit/rotate-under-load", test_rotate_under_load);
  g_test_add_func ("/audit/threads", test_threads);
  return g_test_run ();
}
