/*
 * test-storer.c - storer.c: the storer's process and the front's requests
 *
 * A real storer process (forked here, as the supervisor forks it) on a
 * real socket; the test is the front.  What an administrator would look
 * at: the original and its record in the quarantine, the line in the
 * audit log, and what a peer that is not the front gets.
 */
#include "storer.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

typedef struct
{
  char *dir;
  char *sock;
  MugaiNodeSettings *node;
  pid_t pid;
} Fixture;

static void start_at (Fixture *f, const MugaiPeerRule *client, const char *qdir, guint keep_days);

/* The storer listening at dir/storer.sock, answering only peers that
 * match client. */
static void
start (Fixture *f, const MugaiPeerRule *client)
{
  start_at (f, client, NULL, 0);
}

/* ... with the quarantine at qdir (NULL: dir/quarantine) and
 * [quarantine] keep_days. */
static void
start_at (Fixture *f, const MugaiPeerRule *client, const char *qdir, guint keep_days)
{
  g_autoptr (GError) error = NULL;
  f->dir = g_dir_make_tmp ("mugai-storer-XXXXXX", &error);
  g_assert_no_error (error);
  f->sock = g_build_filename (f->dir, "storer.sock", NULL);
  f->node = mugai_node_settings_new_default ();
  g_free (f->node->quarantine_dir);
  f->node->quarantine_dir = qdir ? g_strdup (qdir) : g_build_filename (f->dir, "quarantine", NULL);
  f->node->keep_days = keep_days;
  g_free (f->node->audit_file);
  f->node->audit_file = g_build_filename (f->dir, "log", "audit.jsonl", NULL);
  f->node->audit_syslog = FALSE;
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  g_strlcpy (sun.sun_path, f->sock, sizeof sun.sun_path);
  g_assert_cmpint (bind (fd, (struct sockaddr *)&sun, sizeof sun), ==, 0);
  f->pid = fork ();
  g_assert_cmpint (f->pid, >=, 0);
  if (f->pid == 0)
    {
      /* the storer's warnings (a refused peer) are what it is for, not
       * failures of this test: only g_test_init() made them fatal */
      g_log_set_always_fatal (G_LOG_FATAL_MASK);
      g_log_set_fatal_mask (G_LOG_DOMAIN, G_LOG_FATAL_MASK);
      /* the storer's configuration: the defaults and this node */
      MugaiConfig *config = mugai_config_new_default ();
      mugai_node_settings_free (config->node);
      config->node = f->node;
      MugaiStorerLinks links = { .listen_fd = fd,
                                 .control_fd = -1,
                                 .workflow_fd = -1,
                                 .workers_path = "/nonexistent",
                                 .worker_uid = (uid_t)-1 };
      _exit (mugai_storer_run (&links, config, client));
    }
  close (fd);
  /* listening once it answers a connect */
  for (int i = 0; i < 500; i++)
    {
      int c = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      gboolean up = connect (c, (struct sockaddr *)&sun, sizeof sun) == 0;
      close (c);
      if (up)
        return;
      g_usleep (10 * 1000);
    }
  g_assert_not_reached ();
}

static int
stop (Fixture *f)
{
  kill (f->pid, SIGTERM);
  int status = 0;
  g_assert_cmpint (waitpid (f->pid, &status, 0), ==, f->pid);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", f->dir);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (f->dir);
  g_free (f->sock);
  mugai_node_settings_free (f->node);
  return status;
}

static MugaiStoreEntry *
entry_for (const char *id)
{
  MugaiStoreEntry *e = mugai_store_entry_new ();
  e->id = g_strdup (id);
  e->queue_id = g_strdup ("4ABCQ");
  e->sender = g_strdup ("citizen@example.jp");
  g_ptr_array_add (e->recipients, g_strdup ("soumu@city.example.lg.jp"));
  e->client_addr = g_strdup ("192.0.2.1");
  e->verdict = g_strdup ("sanitized");
  e->status = g_strdup ("sanitized; removed=1; converted=0");
  e->message_id = g_strdup ("<m1@example.jp>");
  e->subject = g_strdup ("見積書の送付");
  const char *report = "{\"verdict\":\"sanitized\",\"removed\":1,\"parts\":[]}";
  e->report = mugai_report_node_from_text (report, strlen (report), NULL);
  return e;
}

static int
original_fd (const char *text)
{
  int fd = memfd_create ("original", MFD_CLOEXEC);
  g_assert_cmpint (write (fd, text, strlen (text)), ==, (ssize_t)strlen (text));
  return fd;
}

/* keep: the original and its record are in the quarantine, byte for
 * byte; record: one audit line naming the entry; the same id twice is
 * refused (an original is never replaced). */
static void
test_keep_and_record (void)
{
  Fixture f;
  MugaiPeerRule anyone = { "front", (uid_t)-1, 0 };
  start (&f, &anyone);
  MugaiPeerRule storer = { "storer", getuid (), getpid () };
  g_autofree char *id = mugai_store_new_id ();
  g_autoptr (MugaiStoreEntry) e = entry_for (id);
  const char *mail = "From: citizen@example.jp\r\nSubject: x\r\n\r\nbody\r\n";
  int fd = original_fd (mail);
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_storer_keep (f.sock, &storer, e, fd, &error));
  g_assert_no_error (error);

  g_autofree char *location = mugai_node_store_location (f.node);
  g_autoptr (MugaiStore) store = mugai_store_open (location, MUGAI_STORE_EXISTING, &error);
  g_assert_no_error (error);
  g_autoptr (MugaiStoreEntry) got = mugai_store_get (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->sender, ==, "citizen@example.jp");
  g_assert_cmpstr (got->subject, ==, "見積書の送付");
  g_assert_cmpstr (got->recipients->pdata[0], ==, "soumu@city.example.lg.jp");
  g_assert_cmpuint (got->size, ==, strlen (mail));
  g_assert_nonnull (got->report);
  g_autoptr (GBytes) orig = mugai_store_read_original (store, id, 1 << 20, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (orig, NULL), g_bytes_get_size (orig), mail, strlen (mail));

  /* the same id again: refused, the first one kept */
  g_assert_false (mugai_storer_keep (f.sock, &storer, e, fd, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  close (fd);

  MugaiAuditRecord rec
      = { .entry = e, .quarantine_id = id, .action = "deliver", .duration_total_ms = 12.5 };
  g_assert_true (mugai_storer_record (f.sock, &storer, &rec, &error));
  g_assert_no_error (error);
  g_autofree char *log = NULL;
  g_assert_true (g_file_get_contents (f.node->audit_file, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, id));
  g_assert_nonnull (strstr (log, "\"action\":\"deliver\""));
  g_assert_nonnull (strstr (log, "citizen@example.jp"));
  g_assert_cmpint (strchr (log, '\n') - log + 1, ==, (int)strlen (log)); /* one line */

  /* a record naming something that is no quarantine id: refused */
  MugaiAuditRecord bad = { .entry = e, .quarantine_id = "../../etc/passwd", .action = "deliver" };
  g_assert_false (mugai_storer_record (f.sock, &storer, &bad, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (stop (&f), ==, 0);
}

/* A keep without the original alongside is refused. */
static void
test_keep_needs_original (void)
{
  Fixture f;
  MugaiPeerRule anyone = { "front", (uid_t)-1, 0 };
  start (&f, &anyone);
  MugaiPeerRule storer = { "storer", (uid_t)-1, 0 };
  g_autofree char *id = mugai_store_new_id ();
  g_autoptr (MugaiStoreEntry) e = entry_for (id);
  g_autoptr (GError) error = NULL;
  g_assert_false (mugai_storer_keep (f.sock, &storer, e, -1, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "no original"));
  stop (&f);
}

/* A peer that is not the front: the storer closes on it without a
 * word, and nothing is written. */
static void
test_refuses_other_peers (void)
{
  Fixture f;
  /* the front must be a child of pid 1: this test process is not */
  MugaiPeerRule front = { "front", getuid (), 1 };
  start (&f, &front);
  MugaiPeerRule storer = { "storer", getuid (), getpid () };
  g_autofree char *id = mugai_store_new_id ();
  g_autoptr (MugaiStoreEntry) e = entry_for (id);
  int fd = original_fd ("x");
  g_autoptr (GError) error = NULL;
  g_assert_false (mugai_storer_keep (f.sock, &storer, e, fd, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  close (fd);
  g_autofree char *location = mugai_node_store_location (f.node);
  g_autoptr (MugaiStore) store = mugai_store_open (location, MUGAI_STORE_EXISTING, &error);
  g_assert_no_error (error);
  g_autoptr (MugaiStoreEntry) none = mugai_store_get (store, id, &error);
  g_assert_null (none);
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
  stop (&f);
}

/* The front refuses a storer that is not the one it expects (another
 * uid): nothing is sent. */
static void
test_front_checks_storer (void)
{
  Fixture f;
  MugaiPeerRule anyone = { "front", (uid_t)-1, 0 };
  start (&f, &anyone);
  MugaiPeerRule storer = { "storer", getuid () + 1, 0 };
  g_autofree char *id = mugai_store_new_id ();
  g_autoptr (MugaiStoreEntry) e = entry_for (id);
  int fd = original_fd ("x");
  g_autoptr (GError) error = NULL;
  g_assert_false (mugai_storer_keep (f.sock, &storer, e, fd, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, "refused"));
  close (fd);
  stop (&f);
}

/* The wire form keeps every field, NULLs as NULLs. */
static void
test_entry_wire (void)
{
  g_autoptr (MugaiStoreEntry) e = entry_for ("20261204-000000-aaaaaaaaaaaa");
  g_clear_pointer (&e->client_addr, g_free);
  g_autoptr (GVariant) v = g_variant_ref_sink (mugai_storer_entry_to_variant (e));
  g_assert_cmpstr (g_variant_get_type_string (v), ==, MUGAI_STORER_ENTRY);
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiStoreEntry) back = mugai_storer_entry_from_variant (v, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->id, ==, e->id);
  g_assert_cmpstr (back->queue_id, ==, "4ABCQ");
  g_assert_null (back->client_addr);
  g_assert_cmpstr (back->subject, ==, "見積書の送付");
  g_assert_cmpuint (back->recipients->len, ==, 1);
  g_assert_nonnull (back->report);
}

/* [quarantine] keep_days: the storer purges what is older by itself, and
 * says so in the audit log; what is younger stays. */
static void
test_retention (void)
{
  Fixture f;
  g_autoptr (GError) error = NULL;
  /* an entry of three days ago and one of now, stored directly */
  g_autofree char *dir = g_dir_make_tmp ("mugai-storer-q-XXXXXX", &error);
  g_autofree char *qdir = g_build_filename (dir, "quarantine", NULL);
  g_autofree char *old_id = mugai_store_new_id ();
  g_autofree char *new_id = mugai_store_new_id ();
  {
    g_autofree char *sqlite = g_strconcat ("sqlite:", qdir, NULL);
    g_autoptr (MugaiStore) store = mugai_store_open (sqlite, MUGAI_STORE_CREATE, &error);
    g_assert_no_error (error);
    g_autoptr (MugaiStoreEntry) old = entry_for (old_id);
    old->time = g_get_real_time () / G_USEC_PER_SEC - 3 * 86400;
    g_autoptr (MugaiStoreEntry) fresh = entry_for (new_id);
    g_autoptr (GBytes) mail = g_bytes_new_static ("Subject: x\r\n\r\nx\r\n", 15);
    g_assert_true (mugai_store_add (store, -1, mail, old, &error));
    g_assert_true (mugai_store_add (store, -1, mail, fresh, &error));
  }
  mugai_storer_set_first_purge (50);
  MugaiPeerRule anyone = { "front", (uid_t)-1, 0 };
  start_at (&f, &anyone, qdir, 2);
  g_autofree char *sqlite = g_strconcat ("sqlite:", qdir, NULL);
  g_autoptr (MugaiStore) store = mugai_store_open (sqlite, MUGAI_STORE_EXISTING, &error);
  g_assert_no_error (error);
  gboolean gone = FALSE;
  for (int i = 0; i < 300 && !gone; i++)
    {
      g_autoptr (GError) e = NULL;
      g_autoptr (MugaiStoreEntry) got = mugai_store_get (store, old_id, &e);
      gone = got == NULL;
      if (!gone)
        g_usleep (20 * 1000);
    }
  g_assert_true (gone);
  g_autoptr (MugaiStoreEntry) kept = mugai_store_get (store, new_id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (kept);
  g_autofree char *log = NULL;
  for (int i = 0; i < 100 && !(log && strstr (log, "keep_days = 2")); i++)
    {
      g_clear_pointer (&log, g_free);
      g_file_get_contents (f.node->audit_file, &log, NULL, NULL);
      g_usleep (20 * 1000);
    }
  g_assert_nonnull (log);
  g_assert_nonnull (strstr (log, "\"action\":\"purge\""));
  g_assert_nonnull (strstr (log, "purge by the storer ([quarantine] keep_days = 2): 1 entries"));
  stop (&f);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (cmd), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/storer/entry-wire", test_entry_wire);
  g_test_add_func ("/storer/keep-and-record", test_keep_and_record);
  g_test_add_func ("/storer/keep-needs-original", test_keep_needs_original);
  g_test_add_func ("/storer/refuses-other-peers", test_refuses_other_peers);
  g_test_add_func ("/storer/front-checks-storer", test_front_checks_storer);
  g_test_add_func ("/storer/retention", test_retention);
  return g_test_run ();
}
