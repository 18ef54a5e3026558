/*
 * test-scan.c - scan.c: a real libclamav engine on a test signature set
 *
 * The signatures are written by the test (the official database is never
 * used): the EICAR test string as a body signature (.ndb) and the MD5 of
 * a known buffer (.hdb), the formats sigtool produces.
 */
#include "scan.h"

#include <string.h>
#include <glib/gstdio.h>

static const char eicar[] = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
static const char hashed[] = "this exact content is listed by hash in the test database\n";

typedef struct
{
  char *dir;
} Db;

static void
db_setup (Db *db, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  db->dir = g_dir_make_tmp ("mugai-clamav-XXXXXX", &error);
  g_assert_no_error (error);
  g_autoptr (GString) hex = g_string_new (NULL);
  for (const char *p = eicar; *p; p++)
    g_string_append_printf (hex, "%02x", (guchar)*p);
  g_autofree char *ndb = g_strdup_printf ("Mugai.Test.EICAR:0:*:%s\n", hex->str);
  g_autofree char *md5 = g_compute_checksum_for_string (G_CHECKSUM_MD5, hashed, -1);
  g_autofree char *hdb = g_strdup_printf ("%s:%zu:Mugai.Test.Hash\n", md5, strlen (hashed));
  g_autofree char *p1 = g_build_filename (db->dir, "mugai-test.ndb", NULL);
  g_autofree char *p2 = g_build_filename (db->dir, "mugai-test.hdb", NULL);
  g_assert_true (g_file_set_contents (p1, ndb, -1, NULL));
  g_assert_true (g_file_set_contents (p2, hdb, -1, NULL));
}

static void
db_teardown (Db *db, gconstpointer data)
{
  g_autoptr (GDir) d = g_dir_open (db->dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (db->dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (db->dir);
  g_free (db->dir);
}

static MugaiScanSettings
settings_for (const char *dir)
{
  return (MugaiScanSettings){
    .database = (char *)dir,
    .max_scansize = 10 * 1024 * 1024,
    .max_filesize = 5 * 1024 * 1024,
    .max_recursion = 8,
    .max_files = 100,
    .max_scantime = 30000,
    .heuristic_broken = TRUE,
    .heuristic_macros = TRUE,
    .heuristic_encrypted = TRUE,
    .heuristic_phishing = TRUE,
  };
}

static void
test_detects (Db *db, gconstpointer data)
{
  MugaiScanSettings st = settings_for (db->dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiScanner) s = mugai_scanner_new (&st, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mugai_scanner_signatures (s), ==, 2);

  MugaiScanResult r;
  g_autofree char *sig = NULL;
  g_assert_true (mugai_scanner_scan (s, eicar, strlen (eicar), "eicar", &r, &sig, &error));
  g_assert_cmpint (r, ==, MUGAI_SCAN_VIRUS);
  g_assert_true (g_str_has_prefix (sig, "Mugai.Test.EICAR"));

  /* inside other text too */
  g_autofree char *wrapped = g_strdup_printf ("Subject: hi\r\n\r\nsee %s here\r\n", eicar);
  g_autofree char *sig2 = NULL;
  g_assert_true (mugai_scanner_scan (s, wrapped, strlen (wrapped), "mail", &r, &sig2, &error));
  g_assert_cmpint (r, ==, MUGAI_SCAN_VIRUS);

  g_autofree char *sig3 = NULL;
  g_assert_true (mugai_scanner_scan (s, hashed, strlen (hashed), "hashed", &r, &sig3, &error));
  g_assert_cmpint (r, ==, MUGAI_SCAN_VIRUS);
  g_assert_true (g_str_has_prefix (sig3, "Mugai.Test.Hash"));

  g_autofree char *sig4 = NULL;
  const char clean[] = "日本語の普通のメールです。\n";
  g_assert_true (mugai_scanner_scan (s, clean, sizeof clean - 1, "clean", &r, &sig4, &error));
  g_assert_cmpint (r, ==, MUGAI_SCAN_CLEAN);
  g_assert_null (sig4);
}

static void
test_exceeds_max_is_not_clean (Db *db, gconstpointer data)
{
  MugaiScanSettings st = settings_for (db->dir);
  st.max_filesize = 4096;
  st.max_scansize = 4096;
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiScanner) s = mugai_scanner_new (&st, &error);
  g_assert_no_error (error);
  g_autofree char *big = g_malloc0 (64 * 1024);
  memset (big, 'a', 64 * 1024);
  MugaiScanResult r;
  g_autofree char *sig = NULL;
  g_assert_true (mugai_scanner_scan (s, big, 64 * 1024, "big", &r, &sig, &error));
  if (r != MUGAI_SCAN_INCOMPLETE)
    g_error ("result %d signature %s", r, sig);
  g_assert_true (g_str_has_prefix (sig, "Heuristics.Limits.Exceeded"));
}

static void
test_empty_database_refused (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("mugai-clamav-empty-XXXXXX", &error);
  MugaiScanSettings st = settings_for (dir);
  g_autoptr (MugaiScanner) s = mugai_scanner_new (&st, &error);
  g_assert_null (s);
  g_assert_error (error, MUGAI_SCAN_ERROR, MUGAI_SCAN_ERROR_DATABASE);
  g_rmdir (dir);
}

static void
test_db_state_changes (Db *db, gconstpointer data)
{
  g_autofree char *a = mugai_scanner_db_state (db->dir);
  g_assert_nonnull (a);
  g_autofree char *p = g_build_filename (db->dir, "more.ndb", NULL);
  g_assert_true (g_file_set_contents (p, "Mugai.Test.More:0:*:6d756761692d6d6f7265\n", -1, NULL));
  g_autofree char *b = mugai_scanner_db_state (db->dir);
  g_assert_cmpstr (a, !=, b);
  g_assert_null (mugai_scanner_db_state ("/nonexistent/clamav"));
}

/* libclamav's own messages are kept for the caller, never printed: a
 * message/partial makes it warn "Partial message received"; an empty
 * database makes it complain about the directory, which the error then
 * carries. */
static void
test_messages_kept (Db *db, gconstpointer data)
{
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      /* nothing of libclamav's reached standard error */
      g_test_trap_assert_stderr_unmatched ("*LibClamAV*");
      g_test_trap_assert_stderr_unmatched ("*Partial message*");
      return;
    }
  MugaiScanSettings st = settings_for (db->dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiScanner) s = mugai_scanner_new (&st, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) before = mugai_scan_take_messages (NULL);
  static const char partial[]
      = "From: a@example.jp\r\nSubject: partial\r\nMIME-Version: 1.0\r\n"
        "Content-Type: message/partial; id=\"p1@example.jp\"; number=1; total=2\r\n\r\n"
        "Message-ID: <whole@example.jp>\r\nContent-Type: text/plain\r\n\r\nhalf\r\n";
  MugaiScanResult result;
  g_assert_true (
      mugai_scanner_scan (s, partial, strlen (partial), "partial", &result, NULL, &error));
  g_assert_no_error (error);
  guint dropped = 1;
  g_autoptr (GPtrArray) kept = mugai_scan_take_messages (&dropped);
  g_assert_cmpuint (dropped, ==, 0);
  gboolean seen = FALSE;
  for (guint i = 0; i < kept->len; i++)
    {
      const MugaiScanMessage *m = kept->pdata[i];
      g_test_message ("%s %s", mugai_scan_message_level_name (m->level), m->text);
      g_assert_true (g_utf8_validate (m->text, -1, NULL));
      g_assert_null (strchr (m->text, '\n'));
      if (m->during_scan && m->level == MUGAI_SCAN_MESSAGE_WARNING
          && g_str_has_prefix (m->text, "Partial message received"))
        seen = TRUE;
    }
  g_assert_true (seen);
  /* taken: the next take is empty */
  g_autoptr (GPtrArray) again = mugai_scan_take_messages (NULL);
  g_assert_cmpuint (again->len, ==, 0);

  g_autofree char *empty = g_dir_make_tmp ("mugai-clamav-empty-XXXXXX", NULL);
  g_assert_nonnull (empty);
  MugaiScanSettings none = settings_for (empty);
  g_autoptr (GError) e2 = NULL;
  g_autoptr (MugaiScanner) no = mugai_scanner_new (&none, &e2);
  g_rmdir (empty);
  g_assert_null (no);
  g_assert_error (e2, MUGAI_SCAN_ERROR, MUGAI_SCAN_ERROR_DATABASE);
  g_test_message ("%s", e2->message);
  g_assert_nonnull (strstr (e2->message, "(libclamav: "));
  g_assert_nonnull (strstr (e2->message, "add the line \"database = DIR\" under [clamav]"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/scan/detects", Db, NULL, db_setup, test_detects, db_teardown);
  g_test_add ("/scan/exceeds-max-is-not-clean", Db, NULL, db_setup, test_exceeds_max_is_not_clean,
              db_teardown);
  g_test_add_func ("/scan/empty-database-refused", test_empty_database_refused);
  g_test_add ("/scan/messages-kept", Db, NULL, db_setup, test_messages_kept, db_teardown);
  g_test_add ("/scan/db-state-changes", Db, NULL, db_setup, test_db_state_changes, db_teardown);
  return g_test_run ();
}
