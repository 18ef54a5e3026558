/*
 * test-quarantine.c - quarantine.c and `mugai quarantine`: originals kept
 *                     octet for octet, metadata round trip, ids that
 *                     cannot escape the store, failures that leave
 *                     nothing behind, concurrent workers
 */
#include "quarantine.h"
#include "testfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define DAY (24 * 3600)

/* Octets that a text-minded copy would damage: NUL, CR LF, bare CR,
 * ISO-2022-JP escapes, 8-bit, no final newline. */
static const char original[] = "From: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= <a@example.jp>\r\n"
                               "Subject: test\r\n\r\n"
                               "body\r\nbare\rcr\n\x1b$B$3$s$K$A$O\x1b(B\n\xff\xfe\x00tail";

typedef struct
{
  char *root;     /* temporary directory */
  char *dir;      /* the store: root/q */
  char *location; /* the backend's scheme and dir */
  MugaiStore *q;
} Fixture;

/* "" (the files backend) or "sqlite:": every test of the store's
 * interface runs for each backend (meson registers the binary twice) */
static const char *scheme = "";

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->root = g_dir_make_tmp ("mugai-q-XXXXXX", &error);
  g_assert_no_error (error);
  f->dir = g_build_filename (f->root, "q", NULL);
  f->location = g_strconcat (scheme, f->dir, NULL);
  f->q = mugai_store_open (f->location, MUGAI_STORE_CREATE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->q);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  mugai_store_free (f->q);
  testfiles_rm_rf (f->root);
  g_free (f->location);
  g_free (f->dir);
  g_free (f->root);
}

static MugaiStoreEntry *
make_entry (const char *queue_id, gint64 time)
{
  MugaiStoreEntry *e = mugai_store_entry_new ();
  e->id = mugai_store_new_id ();
  e->time = time;
  e->queue_id = g_strdup (queue_id);
  e->sender = g_strdup ("sender@example.jp");
  g_ptr_array_add (e->recipients, g_strdup ("one@city.lg.jp"));
  e->verdict = g_strdup ("sanitized");
  e->status = g_strdup ("sanitized; removed=1; converted=0");
  e->size = sizeof original - 1;
  return e;
}

static GBytes *
original_bytes (void)
{
  return g_bytes_new_static (original, sizeof original - 1);
}

/* The stored original, read back both ways: the stream (what `extract`
 * does) and the bytes, which must agree. */
static GBytes *
read_back (MugaiStore *q, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) in = mugai_store_open_original (q, id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (in);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  guint8 buf[4096];
  gssize n;
  while ((n = g_input_stream_read (in, buf, sizeof buf, NULL, &error)) > 0)
    g_byte_array_append (out, buf, (guint)n);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);
  g_autoptr (GBytes) whole = mugai_store_read_original (q, id, G_MAXSIZE, &error);
  g_assert_no_error (error);
  GBytes *streamed = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  g_assert_true (g_bytes_equal (streamed, whole));
  return streamed;
}

static GPtrArray *
list_since (MugaiStore *q, gint64 since, GError **error)
{
  MugaiStoreFilter filter = { .since = since };
  return mugai_store_list (q, &filter, error);
}

static guint
count_files (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  const char *name;
  /* the sqlite backend's database beside the day directories is not an
   * entry's file */
  while (d && (name = g_dir_read_name (d)))
    if (!g_str_has_prefix (name, "index.sqlite"))
      n++;
  return n;
}

/* The files backend keeps a .json record beside each original; the
 * sqlite backend a row.  Tests that damage a record by hand do it to the
 * files backend's. */
static gboolean
files_backend (void)
{
  return *scheme == '\0';
}

static char *
day_dir (const Fixture *f, const char *id)
{
  g_autofree char *day = g_strdup_printf ("%.4s-%.2s-%.2s", id, id + 4, id + 6);
  return g_build_filename (f->dir, day, NULL);
}

/* ---- ids ---------------------------------------------------------------------- */

typedef struct
{
  const char *id;
  gboolean valid;
} IdCase;

static const IdCase id_cases[] = {
  { "20261122T004644Z-0123456789ab", TRUE },
  { "19700101T000000Z-000000000000", TRUE },
  { "20240229T235960Z-ffffffffffff", TRUE },
  { "", FALSE },
  { "../x", FALSE },
  { "a/b", FALSE },
  { "..", FALSE },
  { "20261122T004644Z-0123456789a/", FALSE },
  { "20261122T004644Z-../../../etc", FALSE },
  { "20261122T004644Z-0123456789AB", FALSE }, /* upper-case hex is not ours */
  { "20261122T004644Z-0123456789abc", FALSE },
  { "20261122T004644Z-0123456789a", FALSE },
  { "20261322T004644Z-0123456789ab", FALSE }, /* month 13 */
  { "20230229T004644Z-0123456789ab", FALSE }, /* not a leap year */
  { "20261122T244644Z-0123456789ab", FALSE },
  { "20261122 004644Z-0123456789ab", FALSE },
  { "20261122T004644Z_0123456789ab", FALSE },
  { "20261122T004644Z-0123456789ab\n", FALSE },
};

static void
test_id_validity (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (id_cases); i++)
    if (mugai_store_id_is_valid (id_cases[i].id) != id_cases[i].valid)
      g_error ("id \"%s\": expected %s", id_cases[i].id, id_cases[i].valid ? "valid" : "invalid");
  g_assert_false (mugai_store_id_is_valid (NULL));
}

static void
test_new_id (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GDateTime) before = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (before, "%Y%m%dT%H%M%SZ-");
  for (int i = 0; i < 2000; i++)
    {
      char *id = mugai_store_new_id ();
      g_assert_true (mugai_store_id_is_valid (id));
      for (const char *p = id; *p; p++)
        g_assert_true (g_ascii_isalnum (*p) || *p == '-');
      g_assert_false (g_hash_table_contains (seen, id));
      g_hash_table_add (seen, id);
    }
  /* the time part is UTC now, so that ids sort by time */
  g_autofree char *id = mugai_store_new_id ();
  g_autoptr (GDateTime) after = g_date_time_new_now_utc ();
  g_autofree char *stamp_after = g_date_time_format (after, "%Y%m%dT%H%M%SZ-");
  g_assert_cmpint (strncmp (id, stamp, 17), >=, 0);
  g_assert_cmpint (strncmp (id, stamp_after, 17), <=, 0);
}

/* ---- storing and reading back ------------------------------------------------- */

static void
test_store_bytes (Fixture *f, gconstpointer data)
{
  g_autoptr (MugaiStoreEntry) e = make_entry ("4Xyz1", 0);
  g_autoptr (GBytes) in = original_bytes ();
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_store_add (f->q, -1, in, e, &error));
  g_assert_no_error (error);
  g_autoptr (GBytes) back = read_back (f->q, e->id);
  g_assert_true (g_bytes_equal (in, back));

  /* files 0600, the day directory and the store 0700, under a umask
   * that would allow more (022): the originals are mugai's user's alone,
   * not its group's (Postfix may be in that group) */
  g_autofree char *dd = day_dir (f, e->id);
  g_autofree char *eml = g_strdup_printf ("%s/%s.eml", dd, e->id);
  g_autofree char *json = g_strdup_printf ("%s/%s.json", dd, e->id);
  struct stat st;
  g_assert_cmpint (stat (eml, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  if (files_backend ())
    g_assert_cmpint (stat (json, &st), ==, 0);
  else
    {
      g_autofree char *db = g_build_filename (f->dir, "index.sqlite", NULL);
      g_assert_cmpint (stat (db, &st), ==, 0);
    }
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (stat (dd, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0700);
  g_assert_cmpint (stat (f->dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0700);
  /* nothing else: no temporary file left */
  g_assert_cmpuint (count_files (dd), ==, files_backend () ? 2 : 1);

  /* the time was filled in */
  g_autoptr (MugaiStoreEntry) got = mugai_store_get (f->q, e->id, &error);
  g_assert_no_error (error);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_assert_cmpint (got->time, <=, now);
  g_assert_cmpint (got->time, >, now - 60);
}

static void
test_store_fd (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->root, "spool", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (path, original, sizeof original - 1, &error));
  int fd = open (path, O_RDONLY);
  g_assert_cmpint (fd, >=, 0);
  /* the store reads from offset 0 whatever the fd's offset, and leaves
   * the offset alone */
  g_assert_cmpint (lseek (fd, 7, SEEK_SET), ==, 7);

  g_autoptr (MugaiStoreEntry) e = make_entry ("4Xyz2", 0);
  e->size = 0; /* the store records what it stored */
  g_assert_true (mugai_store_add (f->q, fd, NULL, e, &error));
  g_assert_no_error (error);
  g_assert_cmpint (lseek (fd, 0, SEEK_CUR), ==, 7);
  g_assert_cmpint (fcntl (fd, F_GETFD), !=, -1);
  close (fd);

  g_autoptr (GBytes) in = original_bytes ();
  g_autoptr (GBytes) back = read_back (f->q, e->id);
  g_assert_true (g_bytes_equal (in, back));
  g_autoptr (MugaiStoreEntry) got = mugai_store_get (f->q, e->id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (got->size, ==, sizeof original - 1);
}

static void
test_store_empty (Fixture *f, gconstpointer data)
{
  g_autoptr (MugaiStoreEntry) e = make_entry (NULL, 0);
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_store_add (f->q, -1, empty, e, &error));
  g_autoptr (GBytes) back = read_back (f->q, e->id);
  g_assert_cmpuint (g_bytes_get_size (back), ==, 0);
}

static void
test_metadata_roundtrip (Fixture *f, gconstpointer data)
{
  g_autoptr (MugaiStoreEntry) e = make_entry ("4ABCDEF", 1795000000);
  g_free (e->sender);
  e->sender = g_strdup ("bad\xff\xfe@example.jp"); /* raw octets from the envelope */
  g_ptr_array_add (e->recipients, g_strdup ("二番@例え.jp"));
  g_ptr_array_add (e->recipients, g_strdup ("three@city.lg.jp"));
  e->client_addr = g_strdup ("192.0.2.1");
  e->client_name = g_strdup ("mx.example.jp");
  e->message_id = g_strdup ("abc@example.jp");
  e->subject = g_strdup ("【重要】請求書のご確認\n\"引用\"");
  e->report
      = json_from_string ("{\"verdict\":\"sanitized\",\"removed\":1,\"parts\":[{\"path\":\"2\","
                          "\"filename\":\"見積書.xlsm\",\"action\":\"remove\"}]}",
                          NULL);
  g_assert_nonnull (e->report);
  g_autoptr (GBytes) in = original_bytes ();
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_store_add (f->q, -1, in, e, &error));
  g_assert_no_error (error);

  g_autoptr (MugaiStoreEntry) got = mugai_store_get (f->q, e->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->id, ==, e->id);
  g_assert_cmpint (got->time, ==, 1795000000);
  g_assert_cmpstr (got->queue_id, ==, "4ABCDEF");
  g_assert_true (g_utf8_validate (got->sender, -1, NULL));
  g_assert_true (g_str_has_prefix (got->sender, "bad"));
  g_assert_true (g_str_has_suffix (got->sender, "@example.jp"));
  g_assert_cmpuint (got->recipients->len, ==, 3);
  g_assert_cmpstr (got->recipients->pdata[0], ==, "one@city.lg.jp");
  g_assert_cmpstr (got->recipients->pdata[1], ==, "二番@例え.jp");
  g_assert_cmpstr (got->recipients->pdata[2], ==, "three@city.lg.jp");
  g_assert_cmpstr (got->client_addr, ==, "192.0.2.1");
  g_assert_cmpstr (got->client_name, ==, "mx.example.jp");
  g_assert_cmpstr (got->verdict, ==, "sanitized");
  g_assert_cmpstr (got->status, ==, "sanitized; removed=1; converted=0");
  g_assert_cmpstr (got->message_id, ==, "abc@example.jp");
  g_assert_cmpstr (got->subject, ==, "【重要】請求書のご確認\n\"引用\"");
  g_assert_cmpuint (got->size, ==, sizeof original - 1);

  /* the report comes back as the same data */
  g_assert_nonnull (got->report);
  g_assert_true (json_node_equal (e->report, got->report));

  /* absent values stay absent */
  g_autoptr (MugaiStoreEntry) bare = mugai_store_entry_new ();
  bare->id = mugai_store_new_id ();
  bare->sender = g_strdup ("");
  bare->verdict = g_strdup ("reject");
  g_assert_true (mugai_store_add (f->q, -1, in, bare, &error));
  g_autoptr (MugaiStoreEntry) got2 = mugai_store_get (f->q, bare->id, &error);
  g_assert_no_error (error);
  g_assert_null (got2->queue_id);
  g_assert_null (got2->subject);
  g_assert_null (got2->report);
  g_assert_cmpstr (got2->sender, ==, "");
  g_assert_cmpuint (got2->recipients->len, ==, 0);
}

static void
test_duplicate_id (Fixture *f, gconstpointer data)
{
  g_autoptr (MugaiStoreEntry) e = make_entry ("dup", 0);
  g_autoptr (GBytes) in = original_bytes ();
  g_autoptr (GBytes) other = g_bytes_new_static ("other", 5);
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_store_add (f->q, -1, in, e, &error));
  /* the same id again must not replace the first original */
  g_assert_false (mugai_store_add (f->q, -1, other, e, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS);
  g_autoptr (GBytes) back = read_back (f->q, e->id);
  g_assert_true (g_bytes_equal (in, back));
  g_autofree char *dd = day_dir (f, e->id);
  g_assert_cmpuint (count_files (dd), ==, files_backend () ? 2 : 1);
}

/* ---- listing and purging ------------------------------------------------------ */

static void
store_at (Fixture *f, const char *queue_id, gint64 time, GPtrArray *ids)
{
  g_autoptr (MugaiStoreEntry) e = make_entry (queue_id, time);
  g_autoptr (GBytes) in = original_bytes ();
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_store_add (f->q, -1, in, e, &error));
  g_assert_no_error (error);
  if (ids)
    g_ptr_array_add (ids, g_strdup (e->id));
}

/* One entry of the search test: its queue id names it. */
static void
store_search (Fixture *f, const char *qid, gint64 time, const char *sender, const char *rcpt,
              const char *subject, const char *verdict)
{
  g_autoptr (MugaiStoreEntry) e = make_entry (qid, time);
  g_free (e->sender);
  e->sender = g_strdup (sender);
  g_ptr_array_set_size (e->recipients, 0);
  g_ptr_array_add (e->recipients, g_strdup ("kikaku@city.lg.jp"));
  g_ptr_array_add (e->recipients, g_strdup (rcpt));
  e->subject = g_strdup (subject);
  g_free (e->verdict);
  e->verdict = g_strdup (verdict);
  g_autoptr (GBytes) in = original_bytes ();
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_store_add (f->q, -1, in, e, &error));
}

/* The queue ids of what filter lists, in order, space-separated. */
static char *
found (Fixture *f, const MugaiStoreFilter *filter)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) l = mugai_store_list (f->q, filter, &error);
  g_assert_no_error (error);
  g_autoptr (GString) out = g_string_new (NULL);
  for (guint i = 0; i < l->len; i++)
    g_string_append_printf (out, "%s%s", i ? " " : "", ((MugaiStoreEntry *)l->pdata[i])->queue_id);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The searches of `mugai quarantine list`: by sender, recipient, subject
 * (two-character Japanese words, full-width and half-width forms, case),
 * verdict, state and time, and a page of the matches. */
static void
test_search (Fixture *f, gconstpointer data)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  store_search (f, "A", now - 5 * DAY, "billing@vendor.example.com", "keiri@city.lg.jp",
                "【請求書】11月分のご請求", "sanitized");
  store_search (f, "B", now - 3 * DAY, "sales@shop.example.jp", "soumu@city.lg.jp",
                "お見積りのご依頼", "clean");
  store_search (f, "C", now - 2 * DAY, "Billing@Vendor.example.com", "soumu@city.lg.jp",
                "ｾｲｷｭｳｼｮ (Invoice)", "reject");
  store_search (f, "D", now - 1 * DAY, "citizen@example.ne.jp", "keiri@city.lg.jp", "見積書の再送",
                "sanitized");
  struct
  {
    MugaiStoreFilter filter;
    const char *want;
  } cases[] = {
    { { .subject = "請求" }, "A" },
    { { .subject = "見積" }, "B D" },
    { { .subject = "セイキュウ" }, "C" }, /* half-width katakana folded */
    { { .subject = "invoice" }, "C" },    /* case folded */
    { { .sender = "billing@vendor" }, "A C" },
    { { .recipient = "soumu@" }, "B C" },
    { { .verdict = "sanitized" }, "A D" },
    { { .since = now - 3 * DAY - 60, .before = now - 1 * DAY - 60 }, "B C" },
    { { .sender = "example", .offset = 1, .limit = 2 }, "B C" },
    /* newest first: the page counts from the newest */
    { { .subject = "見積", .newest_first = TRUE }, "D B" },
    { { .sender = "example", .offset = 1, .limit = 2, .newest_first = TRUE }, "C B" },
    { { .verdict = "sanitized", .limit = 1, .newest_first = TRUE }, "D" },
    { { .subject = "ない言葉" }, "" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = found (f, &cases[i].filter);
      g_test_message ("case %zu: %s", i, got);
      g_assert_cmpstr (got, ==, cases[i].want);
    }
}

static void
test_list (Fixture *f, gconstpointer data)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  store_at (f, "three-days", now - 3 * DAY, NULL);
  store_at (f, "one-day", now - 1 * DAY, NULL);
  store_at (f, "two-days", now - 2 * DAY, NULL);
  store_at (f, "now", now, NULL);

  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = list_since (f->q, 0, &error);
  g_assert_no_error (error);
  static const char *const order[] = { "three-days", "two-days", "one-day", "now" };
  g_assert_cmpuint (all->len, ==, G_N_ELEMENTS (order));
  for (guint i = 0; i < all->len; i++)
    g_assert_cmpstr (((MugaiStoreEntry *)all->pdata[i])->queue_id, ==, order[i]);

  g_autoptr (GPtrArray) recent = list_since (f->q, now - 2 * DAY - 60, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (recent->len, ==, 3);
  g_assert_cmpstr (((MugaiStoreEntry *)recent->pdata[0])->queue_id, ==, "two-days");

  /* half an entry (an .eml whose .json never came) is not an entry */
  if (!files_backend ())
    return;
  const MugaiStoreEntry *last = all->pdata[3];
  g_autofree char *dd = day_dir (f, last->id);
  g_autofree char *json = g_strdup_printf ("%s/%s.json", dd, last->id);
  g_assert_cmpint (g_unlink (json), ==, 0);
  g_autoptr (GPtrArray) after = list_since (f->q, 0, &error);
  g_assert_cmpuint (after->len, ==, 3);
  g_autoptr (MugaiStoreEntry) none = mugai_store_get (f->q, last->id, &error);
  g_assert_null (none);
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
}

static void
test_list_damaged (Fixture *f, gconstpointer data)
{
  if (!files_backend ())
    {
      g_test_skip ("damages a .json record of the files backend");
      return;
    }
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  store_at (f, "ok", 0, ids);
  store_at (f, "damaged", 0, ids);
  const char *id = ids->pdata[1];
  g_autofree char *dd = day_dir (f, id);
  g_autofree char *json = g_strdup_printf ("%s/%s.json", dd, id);
  g_assert_true (g_file_set_contents (json, "{\"id\": 3", -1, NULL));

  /* still listed, so that nothing in the store is invisible */
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = list_since (f->q, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  gboolean found = FALSE;
  for (guint i = 0; i < all->len; i++)
    {
      const MugaiStoreEntry *e = all->pdata[i];
      if (g_str_equal (e->id, id))
        {
          g_assert_cmpstr (e->verdict, ==, "unreadable");
          found = TRUE;
        }
    }
  g_assert_true (found);
  /* get says why, naming the file */
  g_autoptr (MugaiStoreEntry) e = mugai_store_get (f->q, id, &error);
  g_assert_null (e);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, json));
}

static void
set_mtime (const char *path, gint64 t)
{
  struct timespec ts[2] = { { .tv_sec = (time_t)t }, { .tv_sec = (time_t)t } };
  g_assert_cmpint (utimensat (AT_FDCWD, path, ts, 0), ==, 0);
}

static void
test_purge (Fixture *f, gconstpointer data)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  store_at (f, "old1", now - 40 * DAY, ids);
  store_at (f, "old2", now - 31 * DAY, ids);
  store_at (f, "new", now - 29 * DAY, ids);
  store_at (f, "now", now, ids);

  /* the metadata time decides, not the file times: make the new entry's
   * files look ancient and an old one's look new */
  g_autofree char *dd = day_dir (f, ids->pdata[0]);
  g_autofree char *new_json = g_strdup_printf ("%s/%s.json", dd, (char *)ids->pdata[2]);
  g_autofree char *new_eml = g_strdup_printf ("%s/%s.eml", dd, (char *)ids->pdata[2]);
  if (files_backend ())
    set_mtime (new_json, now - 400 * DAY);
  set_mtime (new_eml, now - 400 * DAY);

  /* leftovers of interrupted stores: old ones go, a young one stays (it
   * may be a store in progress) */
  g_autofree char *tmp_id = mugai_store_new_id ();
  g_autofree char *tmp = g_strdup_printf ("%s/.%s.eml.tmp", dd, tmp_id);
  g_autofree char *orphan_id = mugai_store_new_id ();
  g_autofree char *orphan = g_strdup_printf ("%s/%s.eml", dd, orphan_id);
  g_autofree char *young_id = mugai_store_new_id ();
  g_autofree char *young = g_strdup_printf ("%s/%s.eml", dd, young_id);
  g_autofree char *foreign = g_strdup_printf ("%s/README", dd);
  g_assert_true (g_file_set_contents (tmp, "partial", -1, NULL));
  g_assert_true (g_file_set_contents (orphan, "orphan", -1, NULL));
  g_assert_true (g_file_set_contents (young, "young", -1, NULL));
  g_assert_true (g_file_set_contents (foreign, "not ours", -1, NULL));
  set_mtime (tmp, now - 40 * DAY);
  set_mtime (orphan, now - 40 * DAY);
  set_mtime (foreign, now - 40 * DAY);

  g_autoptr (GError) error = NULL;
  guint n = mugai_store_purge (f->q, now - 30 * DAY, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);

  g_autoptr (GPtrArray) left = list_since (f->q, 0, &error);
  g_assert_cmpuint (left->len, ==, 2);
  g_assert_cmpstr (((MugaiStoreEntry *)left->pdata[0])->queue_id, ==, "new");
  g_assert_cmpstr (((MugaiStoreEntry *)left->pdata[1])->queue_id, ==, "now");
  g_assert_false (g_file_test (tmp, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (orphan, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (young, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (foreign, G_FILE_TEST_EXISTS));
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *p = g_strdup_printf ("%s/%s.eml", dd, (char *)ids->pdata[i]);
      g_assert_false (g_file_test (p, G_FILE_TEST_EXISTS));
    }

  /* everything; the day directories left empty go too */
  g_assert_cmpint (g_unlink (young), ==, 0);
  g_assert_cmpint (g_unlink (foreign), ==, 0);
  n = mugai_store_purge (f->q, now + 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (count_files (f->dir), ==, 0);

  /* a store into a day directory that purge removed */
  store_at (f, "again", 0, NULL);
  g_autoptr (GPtrArray) again = list_since (f->q, 0, &error);
  g_assert_cmpuint (again->len, ==, 1);
}

/* ---- refusals and failures ---------------------------------------------------- */

static void
test_invalid_ids (Fixture *f, gconstpointer data)
{
  /* a file outside the store that a path trick would reach */
  g_autofree char *secret = g_build_filename (f->root, "x.json", NULL);
  g_assert_true (g_file_set_contents (secret, "{}", -1, NULL));
  static const char *const bad[]
      = { "../x", "", "a/b", "..", "/etc/passwd", "20261122T004644Z-../../../../x" };
  g_autoptr (GBytes) in = original_bytes ();
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (mugai_store_get (f->q, bad[i], &error));
      g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_INVALID_ID);
      g_clear_error (&error);
      g_assert_null (mugai_store_open_original (f->q, bad[i], &error));
      g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_INVALID_ID);
      g_clear_error (&error);
      g_autoptr (MugaiStoreEntry) e = make_entry ("x", 0);
      g_free (e->id);
      e->id = g_strdup (bad[i]);
      g_assert_false (mugai_store_add (f->q, -1, in, e, &error));
      g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_INVALID_ID);
    }
  g_assert_cmpuint (count_files (f->dir), ==, 0);

  /* a valid id that is not there: not found, naming the path */
  g_autoptr (GError) error = NULL;
  const char *missing = "20261122T004644Z-0123456789ab";
  g_assert_null (mugai_store_get (f->q, missing, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, f->dir));
  g_assert_nonnull (strstr (error->message, missing));
}

/* Failures that happen even to root, who passes every permission check. */
static void
test_store_fails_day_occupied (Fixture *f, gconstpointer data)
{
  g_autoptr (MugaiStoreEntry) e = make_entry ("blocked", 0);
  g_autofree char *dd = day_dir (f, e->id);
  g_assert_true (g_file_set_contents (dd, "a file where the day directory goes", -1, NULL));
  g_autoptr (GBytes) in = original_bytes ();
  g_autoptr (GError) error = NULL;
  g_assert_false (mugai_store_add (f->q, -1, in, e, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == MUGAI_STORE_ERROR);
  g_assert_nonnull (strstr (error->message, dd));
  g_assert_cmpuint (count_files (f->dir), ==, 1);
}

static void
test_store_fails_reading (Fixture *f, gconstpointer data)
{
  /* a directory as the source: the temporary file exists when pread
   * fails, and must be gone afterwards */
  int fd = open (f->root, O_RDONLY | O_DIRECTORY);
  g_assert_cmpint (fd, >=, 0);
  g_autoptr (MugaiStoreEntry) e = make_entry ("unreadable", 0);
  g_autoptr (GError) error = NULL;
  g_assert_false (mugai_store_add (f->q, fd, NULL, e, &error));
  close (fd);
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO);
  g_autofree char *dd = day_dir (f, e->id);
  g_assert_nonnull (strstr (error->message, dd));
  g_assert_cmpuint (count_files (dd), ==, 0);
}

static void
test_store_fails_writing (Fixture *f, gconstpointer data)
{
  /* RLIMIT_FSIZE makes write(2) fail with EFBIG half way, like a full
   * disk would, for root too; in a child, so the limit stays there */
  g_autoptr (MugaiStoreEntry) e = make_entry ("too-big", 0);
  g_autofree char *dd = day_dir (f, e->id);
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      signal (SIGXFSZ, SIG_IGN);
      struct rlimit rl = { 4096, 4096 };
      setrlimit (RLIMIT_FSIZE, &rl);
      gsize len = 256 * 1024;
      guint8 *big = g_malloc (len);
      memset (big, 'x', len);
      GBytes *in = g_bytes_new_take (big, len);
      GError *error = NULL;
      gboolean ok = mugai_store_add (f->q, -1, in, e, &error);
      int code = 0;
      if (ok)
        code = 10;
      else if (error->domain != MUGAI_STORE_ERROR)
        code = 11;
      else if (!strstr (error->message, dd))
        code = 12;
      else if (count_files (dd) != 0)
        code = 13;
      g_clear_error (&error);
      g_bytes_unref (in);
      _exit (code);
    }
  int status = 0;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_assert_cmpuint (count_files (dd), ==, 0);
}

static void
test_open_not_writable (void)
{
  /* a store below a regular file cannot be made, even by root */
  g_autofree char *root = testfiles_dir_new ();
  g_autofree char *file = NULL;
  g_autofree char *dir = testfiles_below_file (root, "q", &file);
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiStore) q = mugai_store_open (dir, MUGAI_STORE_CREATE, &error);
  g_assert_null (q);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, file));
  g_clear_error (&error);
  /* reading never creates */
  g_autofree char *absent = g_build_filename (root, "absent", NULL);
  g_autoptr (MugaiStore) r = mugai_store_open (absent, MUGAI_STORE_EXISTING, &error);
  g_assert_null (r);
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
  g_assert_false (g_file_test (absent, G_FILE_TEST_EXISTS));
  testfiles_rm_rf (root);
}

static void
test_open_tightens_mode (void)
{
  /* a store left 0750 by an older version is closed to the group when
   * opened for writing; opened for reading it is left alone */
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-q-XXXXXX", &error);
  g_autofree char *dir = g_build_filename (root, "q", NULL);
  g_assert_cmpint (g_mkdir (dir, 0750), ==, 0);
  g_assert_cmpint (chmod (dir, 0755), ==, 0);
  struct stat st;
  {
    g_autoptr (MugaiStore) r = mugai_store_open (dir, MUGAI_STORE_EXISTING, &error);
    g_assert_no_error (error);
    g_assert_cmpint (stat (dir, &st), ==, 0);
    g_assert_cmpint (st.st_mode & 07777, ==, 0755);
  }
  g_autoptr (MugaiStore) q = mugai_store_open (dir, MUGAI_STORE_CREATE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0700);
  testfiles_rm_rf (root);
}

/* ---- concurrency -------------------------------------------------------------- */

#define WRITERS 2
#define PER_WRITER 50

static void
test_concurrent (Fixture *f, gconstpointer data)
{
  pid_t pids[WRITERS];
  for (int w = 0; w < WRITERS; w++)
    {
      pids[w] = fork ();
      g_assert_cmpint (pids[w], >=, 0);
      if (pids[w] == 0)
        {
          /* a worker: own handle, as a forked worker would have */
          GError *error = NULL;
          MugaiStore *q = mugai_store_open (f->location, MUGAI_STORE_CREATE, &error);
          int code = q ? 0 : 20;
          for (int i = 0; q && i < PER_WRITER && code == 0; i++)
            {
              MugaiStoreEntry *e = make_entry (NULL, 0);
              e->queue_id = g_strdup_printf ("w%d-%d", w, i);
              char *text
                  = g_strdup_printf ("Subject: %s\r\n\r\nbody of %s\r\n", e->queue_id, e->queue_id);
              GBytes *in = g_bytes_new_take (text, strlen (text));
              if (!mugai_store_add (q, -1, in, e, &error))
                code = 21;
              g_bytes_unref (in);
              mugai_store_entry_free (e);
            }
          g_clear_error (&error);
          mugai_store_free (q);
          _exit (code);
        }
    }
  for (int w = 0; w < WRITERS; w++)
    {
      int status = 0;
      g_assert_cmpint (waitpid (pids[w], &status, 0), ==, pids[w]);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = list_since (f->q, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, WRITERS * PER_WRITER);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < all->len; i++)
    {
      const MugaiStoreEntry *e = all->pdata[i];
      g_assert_false (g_hash_table_contains (seen, e->queue_id));
      g_hash_table_add (seen, e->queue_id);
      g_autoptr (GBytes) back = read_back (f->q, e->id);
      g_autofree char *want
          = g_strdup_printf ("Subject: %s\r\n\r\nbody of %s\r\n", e->queue_id, e->queue_id);
      g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), want, strlen (want));
    }
}

/* ---- the interface: states, locations, digests, damage ------------------------ */

static void
test_state_names (void)
{
  for (guint i = 0; i < MUGAI_STORE_N_STATES; i++)
    {
      MugaiStoreState back = MUGAI_STORE_N_STATES;
      const char *name = mugai_store_state_name ((MugaiStoreState)i);
      g_assert_true (mugai_store_state_from_name (name, &back));
      g_assert_cmpint (back, ==, i);
    }
  g_assert_cmpstr (mugai_store_state_name (MUGAI_STORE_STATE_REQUESTED), ==, "requested");
  MugaiStoreState untouched = MUGAI_STORE_STATE_DENIED;
  g_assert_false (mugai_store_state_from_name ("Held", &untouched));
  g_assert_false (mugai_store_state_from_name ("", &untouched));
  g_assert_false (mugai_store_state_from_name (NULL, &untouched));
  g_assert_cmpint (untouched, ==, MUGAI_STORE_STATE_DENIED);
}

/* Adds an entry of this verdict; returns its id. */
static char *
add_verdict (Fixture *f, const char *verdict, gint64 time)
{
  g_autoptr (MugaiStoreEntry) e = make_entry (verdict, time);
  g_free (e->verdict);
  e->verdict = g_strdup (verdict);
  /* what the caller says of the state is not what the store records */
  e->state = MUGAI_STORE_STATE_RELEASED;
  g_autoptr (GBytes) in = original_bytes ();
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_store_add (f->q, -1, in, e, &error));
  g_assert_no_error (error);
  return g_strdup (e->id);
}

static void
test_states (Fixture *f, gconstpointer data)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *held = add_verdict (f, "hold", now - 100);
  g_autofree char *sanitized = add_verdict (f, "sanitized", now - 50);
  g_autofree char *rejected = add_verdict (f, "reject", now);

  /* a held message waits for a decision; the others are records */
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiStoreEntry) h = mugai_store_get (f->q, held, &error);
  g_assert_no_error (error);
  g_assert_cmpint (h->state, ==, MUGAI_STORE_STATE_HELD);
  g_autoptr (MugaiStoreEntry) s = mugai_store_get (f->q, sanitized, &error);
  g_assert_cmpint (s->state, ==, MUGAI_STORE_STATE_STORED);
  g_autoptr (MugaiStoreEntry) r = mugai_store_get (f->q, rejected, &error);
  g_assert_cmpint (r->state, ==, MUGAI_STORE_STATE_STORED);

  /* the record says so in words */
  g_autofree char *dd = day_dir (f, held);
  g_autofree char *text = mugai_store_entry_to_json (h, TRUE);
  g_assert_nonnull (strstr (text, "\"state\" : \"held\""));

  /* the filter: by state, by time */
  MugaiStoreFilter only_held = { .states = 1u << MUGAI_STORE_STATE_HELD };
  g_autoptr (GPtrArray) a = mugai_store_list (f->q, &only_held, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (a->len, ==, 1);
  g_assert_cmpstr (((MugaiStoreEntry *)a->pdata[0])->id, ==, held);
  MugaiStoreFilter released = { .states = 1u << MUGAI_STORE_STATE_RELEASED };
  g_autoptr (GPtrArray) b = mugai_store_list (f->q, &released, &error);
  g_assert_cmpuint (b->len, ==, 0);
  MugaiStoreFilter window = { .since = now - 60, .before = now };
  g_autoptr (GPtrArray) c = mugai_store_list (f->q, &window, &error);
  g_assert_cmpuint (c->len, ==, 1);
  g_assert_cmpstr (((MugaiStoreEntry *)c->pdata[0])->id, ==, sanitized);
  g_autoptr (GPtrArray) all = mugai_store_list (f->q, NULL, &error);
  g_assert_cmpuint (all->len, ==, 3);
  /* a list carries no reports */
  for (guint i = 0; i < all->len; i++)
    g_assert_null (((MugaiStoreEntry *)all->pdata[i])->report);
}

static void
test_sha256 (Fixture *f, gconstpointer data)
{
  g_autofree char *want = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)original,
                                                       sizeof original - 1);
  /* from bytes and from a descriptor */
  g_autofree char *id = add_verdict (f, "sanitized", 0);
  g_autofree char *path = g_build_filename (f->root, "spool", NULL);
  g_assert_true (g_file_set_contents (path, original, sizeof original - 1, NULL));
  int fd = open (path, O_RDONLY);
  g_autoptr (MugaiStoreEntry) e = make_entry ("fd", 0);
  e->sha256 = g_strdup ("caller's value, not the store's");
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_store_add (f->q, fd, NULL, e, &error));
  close (fd);
  const char *ids[] = { id, e->id };
  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autoptr (MugaiStoreEntry) got = mugai_store_get (f->q, ids[i], &error);
      g_assert_no_error (error);
      g_assert_cmpstr (got->sha256, ==, want);
    }
}

static void
test_locations (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-q-XXXXXX", &error);
  g_autofree char *file_loc = g_strconcat ("file:", root, NULL);
  g_autofree char *file_url = g_strconcat ("file://", root, NULL);
  const char *same[] = { root, file_loc, file_url };
  g_autofree char *id = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (same); i++)
    {
      g_autoptr (MugaiStore) q = mugai_store_open (same[i], MUGAI_STORE_CREATE, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (mugai_store_location (q), ==, same[i]);
      if (!id)
        {
          g_autoptr (MugaiStoreEntry) e = make_entry ("loc", 0);
          g_autoptr (GBytes) in = original_bytes ();
          g_assert_true (mugai_store_add (q, -1, in, e, &error));
          id = g_strdup (e->id);
        }
      /* the same store whatever the spelling */
      g_autoptr (MugaiStoreEntry) got = mugai_store_get (q, id, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (got->queue_id, ==, "loc");
    }
  /* no backend for these: said so, nothing made */
  static const char *const refused[] = {
    "mysql:/var/lib/mugai/q",    "postgresql://db/mugai",      "file:", "sqlite:", "", "x:relative",
    "file://host/var/lib/mugai", "sqlite://host/var/lib/mugai"
  };
  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (MugaiStore) q = mugai_store_open (refused[i], MUGAI_STORE_CREATE, &error);
      g_assert_null (q);
      g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_LOCATION);
      g_clear_error (&error);
    }
  g_assert_false (g_file_test ("x:relative", G_FILE_TEST_EXISTS));
  testfiles_rm_rf (root);
}

static void
test_not_found (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *missing = "20261122T004644Z-0123456789ab";
  g_assert_null (mugai_store_get (f->q, missing, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (mugai_store_open_original (f->q, missing, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (mugai_store_read_original (f->q, missing, G_MAXSIZE, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* half an entry is no entry, whichever half */
  g_autofree char *id = add_verdict (f, "sanitized", 0);
  if (!files_backend ())
    return;
  g_autofree char *dd = day_dir (f, id);
  g_autofree char *json = g_strdup_printf ("%s/%s.json", dd, id);
  g_autofree char *saved = g_strdup_printf ("%s/saved", f->root);
  g_assert_cmpint (g_rename (json, saved), ==, 0);
  g_assert_null (mugai_store_open_original (f->q, id, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (g_rename (saved, json), ==, 0);
  g_autofree char *eml = g_strdup_printf ("%s/%s.eml", dd, id);
  g_assert_cmpint (g_unlink (eml), ==, 0);
  g_assert_null (mugai_store_get (f->q, id, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
}

static void
test_read_original_limit (Fixture *f, gconstpointer data)
{
  g_autofree char *id = add_verdict (f, "sanitized", 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) exact = mugai_store_read_original (f->q, id, sizeof original - 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (exact), ==, sizeof original - 1);
  g_autoptr (GBytes) cut = mugai_store_read_original (f->q, id, sizeof original - 2, &error);
  g_assert_null (cut);
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO);
}

/* A record as mugai writes it but for one member, for the damage cases. */
static char *
record_with (const char *id, const char *extra)
{
  return g_strdup_printf ("{\"format\":1,\"id\":\"%s\",\"time\":1795000000,\"size\":3,"
                          "\"verdict\":\"sanitized\"%s}\n",
                          id, extra);
}

typedef struct
{
  const char *name;
  const char *extra; /* members added to a good record; NULL: text is the record */
  const char *text;  /* @ID@ stands for the entry's id */
} Damage;

static const Damage damages[] = {
  { "not-json", NULL, "{\"id\": 3" },
  { "not-an-object", NULL, "[]" },
  { "no-time", NULL, "{\"format\":1,\"id\":\"@ID@\",\"size\":3}" },
  { "other-id", NULL, "{\"id\":\"20200101T000000Z-000000000000\",\"time\":1,\"size\":3}" },
  { "state-unknown", ",\"state\":\"frozen\"", NULL },
  { "state-number", ",\"state\":1", NULL },
  { "sha256-short", ",\"sha256\":\"abc\"", NULL },
  { "report-string", ",\"report\":\"{\\\"verdict\\\":\\\"clean\\\"}\"", NULL },
  { "report-array", ",\"report\":[]", NULL },
  { "report-parts", ",\"report\":{\"parts\":3}", NULL },
  { "report-unknown", ",\"report\":{\"verdict\":\"clean\",\"deliver\":true}", NULL },
};

static void
test_corrupt (Fixture *f, gconstpointer data)
{
  if (!files_backend ())
    {
      g_test_skip ("damages the files backend's records (sqlite: /quarantine/sqlite-damaged)");
      return;
    }
  const Damage *d = data;
  g_autofree char *id = add_verdict (f, "sanitized", 0);
  g_autofree char *dd = day_dir (f, id);
  g_autofree char *json = g_strdup_printf ("%s/%s.json", dd, id);
  g_auto (GStrv) pieces = d->text ? g_strsplit (d->text, "@ID@", -1) : NULL;
  g_autofree char *text = d->extra ? record_with (id, d->extra) : g_strjoinv (id, pieces);
  g_assert_true (g_file_set_contents (json, text, -1, NULL));

  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiStoreEntry) e = mugai_store_get (f->q, id, &error);
  g_assert_null (e);
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, json));
  g_clear_error (&error);
  /* listed all the same, whatever the filter asks for */
  MugaiStoreFilter held = { .states = 1u << MUGAI_STORE_STATE_HELD };
  g_autoptr (GPtrArray) all = mugai_store_list (f->q, &held, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 1);
  g_assert_cmpstr (((MugaiStoreEntry *)all->pdata[0])->verdict, ==, "unreadable");
  /* the original is still there to be read */
  g_autoptr (GBytes) back = mugai_store_read_original (f->q, id, G_MAXSIZE, &error);
  g_assert_no_error (error);
}

static void
test_corrupt_files (Fixture *f, gconstpointer data)
{
  if (!files_backend ())
    {
      g_test_skip ("damages the files backend's records (sqlite: /quarantine/sqlite-damaged)");
      return;
    }
  /* a record that is not a file, and one too large to be read */
  g_autofree char *a = add_verdict (f, "sanitized", 0);
  g_autofree char *b = add_verdict (f, "sanitized", 0);
  g_autofree char *dd = day_dir (f, a);
  g_autofree char *ja = g_strdup_printf ("%s/%s.json", dd, a);
  g_autofree char *jb = g_strdup_printf ("%s/%s.json", dd, b);
  g_assert_cmpint (g_unlink (ja), ==, 0);
  g_assert_cmpint (g_mkdir (ja, 0700), ==, 0);
  int fd = open (jb, O_WRONLY);
  g_assert_cmpint (ftruncate (fd, 64 * 1024 * 1024 + 1), ==, 0); /* sparse */
  close (fd);
  const char *ids[] = { a, b };
  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (MugaiStoreEntry) e = mugai_store_get (f->q, ids[i], &error);
      g_assert_null (e);
      g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT);
    }
  g_assert_cmpint (g_rmdir (ja), ==, 0);
}

/* An entry exactly as the version before the interface wrote it: format
 * 1 without state or sha256, pretty-printed, files 0640 in a day
 * directory 0750 (older versions still), the report as an object. */
static const char old_record[]
    = "{\n"
      "  \"format\" : 1,\n"
      "  \"id\" : \"%s\",\n"
      "  \"time\" : %" G_GINT64_FORMAT ",\n"
      "  \"time_utc\" : \"%s\",\n"
      "  \"queue_id\" : \"4ZxY1\",\n"
      "  \"sender\" : \"taro@example.jp\",\n"
      "  \"recipients\" : [\n    \"a@city.lg.jp\"\n  ],\n"
      "  \"client_addr\" : \"192.0.2.7\",\n"
      "  \"client_name\" : null,\n"
      "  \"verdict\" : \"%s\",\n"
      "  \"status\" : \"sanitized; removed=1; converted=0\",\n"
      "  \"message_id\" : \"m1@example.jp\",\n"
      "  \"subject\" : \"お見積りの件\",\n"
      "  \"size\" : %zu,\n"
      "  \"report\" : {\n"
      "    \"mugai_version\" : \"0.1.0\",\n"
      "    \"verdict\" : \"sanitized\",\n"
      "    \"status\" : \"sanitized; removed=1; converted=0\",\n"
      "    \"message_id\" : \"m1@example.jp\",\n"
      "    \"subject\" : \"お見積りの件\",\n"
      "    \"output_charset\" : \"utf-8\",\n"
      "    \"virus\" : null,\n"
      "    \"removed\" : 1,\n"
      "    \"converted\" : 0,\n"
      "    \"reasons\" : [\n"
      "      {\n        \"category\" : \"banned-type\",\n        \"path\" : \"2\",\n"
      "        \"detail\" : \"macro\"\n      }\n"
      "    ],\n"
      "    \"parts\" : [\n"
      "      {\n        \"path\" : \"2\",\n        \"kind\" : \"attachment\",\n"
      "        \"declared_type\" : \"application/vnd.ms-excel.sheet.macroEnabled.12\",\n"
      "        \"detected_type\" : null,\n        \"filename\" : \"見積書.xlsm\",\n"
      "        \"size\" : 99,\n        \"sha256\" : \"ff\",\n        \"charset\" : null,\n"
      "        \"action\" : \"remove\",\n        \"reason\" : \"banned-type\",\n"
      "        \"detail\" : \"macro\",\n        \"true_type\" : null,\n"
      "        \"type_label\" : null\n      }\n"
      "    ]\n"
      "  }\n"
      "}\n";

static void
write_old_entry (const char *dir, const char *id, const char *verdict, gint64 time)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (time);
  g_autofree char *utc = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *day = g_strdup_printf ("%.4s-%.2s-%.2s", id, id + 4, id + 6);
  g_autofree char *dd = g_build_filename (dir, day, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dd, 0750), ==, 0);
  g_autofree char *eml = g_strdup_printf ("%s/%s.eml", dd, id);
  g_autofree char *json = g_strdup_printf ("%s/%s.json", dd, id);
  g_autofree char *text = g_strdup_printf (old_record, id, time, utc, verdict, sizeof original - 1);
  g_assert_true (g_file_set_contents (eml, original, sizeof original - 1, NULL));
  g_assert_true (g_file_set_contents (json, text, -1, NULL));
  g_assert_cmpint (chmod (eml, 0640), ==, 0);
  g_assert_cmpint (chmod (json, 0640), ==, 0);
}

static void
test_old_layout (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-q-XXXXXX", &error);
  g_autofree char *dir = g_build_filename (root, "q", NULL);
  const char *sanitized = "20261122T004644Z-0123456789ab";
  const char *held = "20261122T004645Z-abcdef012345";
  write_old_entry (dir, sanitized, "sanitized", 1795308404);
  write_old_entry (dir, held, "hold", 1795308405);

  /* what `mugai quarantine` opens: the store as it is */
  g_autoptr (MugaiStore) q = mugai_store_open (dir, MUGAI_STORE_EXISTING, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) all = mugai_store_list (q, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  const MugaiStoreEntry *first = all->pdata[0];
  g_assert_cmpstr (first->id, ==, sanitized);
  g_assert_cmpstr (first->verdict, ==, "sanitized");
  g_assert_cmpint (first->time, ==, 1795308404);

  g_autoptr (MugaiStoreEntry) e = mugai_store_get (q, sanitized, &error);
  g_assert_no_error (error);
  g_assert_cmpint (e->state, ==, MUGAI_STORE_STATE_STORED);
  g_assert_null (e->sha256); /* not recorded then */
  g_assert_cmpstr (e->subject, ==, "お見積りの件");
  g_assert_cmpstr (e->recipients->pdata[0], ==, "a@city.lg.jp");
  g_assert_null (e->client_name);
  g_assert_cmpuint (e->size, ==, sizeof original - 1);
  g_assert_nonnull (e->report);
  JsonObject *report = json_node_get_object (e->report);
  JsonArray *parts = json_object_get_array_member (report, "parts");
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (parts, 0), "filename"), ==,
      "見積書.xlsm");
  g_autoptr (MugaiStoreEntry) h = mugai_store_get (q, held, &error);
  g_assert_no_error (error);
  g_assert_cmpint (h->state, ==, MUGAI_STORE_STATE_HELD);
  g_autoptr (GBytes) back = read_back (q, sanitized);
  g_assert_cmpmem (g_bytes_get_data (back, NULL), g_bytes_get_size (back), original,
                   sizeof original - 1);

  /* show's JSON keeps every member the old record had, the report too */
  g_autofree char *shown = mugai_store_entry_to_json (e, TRUE);
  g_autoptr (JsonNode) node = json_from_string (shown, &error);
  g_assert_no_error (error);
  JsonObject *o = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (o, "time_utc"), ==, "2026-11-22T00:46:44Z");
  g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "stored");
  g_assert_true (json_object_get_null_member (o, "sha256"));
  g_assert_true (json_node_equal (json_object_get_member (o, "report"), e->report));

  /* and purge goes by the recorded time */
  g_autoptr (MugaiStore) w = mugai_store_open (dir, MUGAI_STORE_CREATE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mugai_store_purge (w, 1795308405, &error), ==, 1); /* before, not at */
  g_assert_no_error (error);
  g_autoptr (GPtrArray) left = mugai_store_list (w, NULL, &error);
  g_assert_cmpuint (left->len, ==, 1);
  g_assert_cmpstr (((MugaiStoreEntry *)left->pdata[0])->id, ==, held);
  testfiles_rm_rf (root);
}

/* ---- the command -------------------------------------------------------------- */

typedef struct
{
  int status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

/* Runs `mugai quarantine ARGS... --config CONFIG`. */
static void
run_mugai (Run *r, const char *config, const char *const *args)
{
  const char *bin = g_getenv ("MUGAI_BIN");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *)bin);
  g_ptr_array_add (argv, (char *)"quarantine");
  for (gsize i = 0; args[i]; i++)
    g_ptr_array_add (argv, (char *)args[i]);
  if (config)
    {
      g_ptr_array_add (argv, (char *)"--config");
      g_ptr_array_add (argv, (char *)config);
    }
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  int wait_status = 0;
  g_assert_true (g_spawn_sync (NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &r->out, &r->err, &wait_status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  r->status = WEXITSTATUS (wait_status);
}

static void
test_cli (Fixture *f, gconstpointer data)
{
  if (!g_getenv ("MUGAI_BIN"))
    {
      g_test_skip ("MUGAI_BIN not set");
      return;
    }
  g_autofree char *config = g_build_filename (f->root, "mugai.conf", NULL);
  /* a run_dir of its own: with the default (/run/mugai-milter) a purge
   * went to the storer of whatever mugai-milter runs on the host (a
   * bench, another test), which purged its own store */
  g_autofree char *text
      = g_strdup_printf ("[milter]\nrun_dir = %s/run\n[quarantine]\nbackend = %s\ndir = %s\n",
                         f->root, files_backend () ? "files" : "sqlite", f->dir);
  g_assert_true (g_file_set_contents (config, text, -1, NULL));

  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr (MugaiStoreEntry) old = make_entry ("OLD", now - 40 * DAY);
  old->subject = g_strdup ("古いお知らせ");
  g_autoptr (MugaiStoreEntry) recent = make_entry ("RECENT", now - 60);
  recent->subject = g_strdup ("【重要】\x1b[31m請求書\u202eexe.pdf のご確認をお願いいたします、"
                              "とても長い件名ですのでここで切れるはずです。まだ続きます。");
  g_ptr_array_add (recent->recipients, g_strdup ("two@city.lg.jp"));
  g_autoptr (GBytes) in = original_bytes ();
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_store_add (f->q, -1, in, old, &error));
  g_assert_true (mugai_store_add (f->q, -1, in, recent, &error));

  /* list: a header and one aligned line per entry, oldest first */
  Run r = { 0 };
  run_mugai (&r, config, (const char *const[]){ "list", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_auto (GStrv) lines = g_strsplit (r.out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4); /* header, 2, "" */
  g_assert_true (g_str_has_prefix (lines[0], "ID "));
  g_assert_true (g_str_has_prefix (lines[1], old->id));
  g_assert_true (g_str_has_prefix (lines[2], recent->id));
  g_assert_nonnull (strstr (lines[1], "古いお知らせ"));
  g_assert_nonnull (strstr (lines[2], "sender@example.jp"));
  g_assert_nonnull (strstr (lines[2], "   2  "));
  /* no escape or bidi control reaches the terminal; long subjects cut */
  g_assert_null (strstr (r.out, "\x1b"));
  g_assert_null (strstr (r.out, "\u202e"));
  g_assert_nonnull (strstr (lines[2], "…"));
  const char *subject = strstr (lines[2], "【重要】");
  g_assert_nonnull (subject);
  g_assert_cmpint (g_utf8_strlen (subject, -1), <=, 60);
  /* columns line up: the verdict starts at the same place */
  g_assert_cmpint (strstr (lines[1], "sanitized") - lines[1], ==,
                   strstr (lines[2], "sanitized") - lines[2]);
  run_clear (&r);

  /* --newest --limit 1: the latest entry alone */
  run_mugai (&r, config, (const char *const[]){ "list", "--newest", "--limit", "1", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_auto (GStrv) newest = g_strsplit (r.out, "\n", -1);
  g_assert_cmpuint (g_strv_length (newest), ==, 3); /* header, 1, "" */
  g_assert_true (g_str_has_prefix (newest[1], recent->id));
  run_clear (&r);

  run_mugai (&r, config, (const char *const[]){ "list", "--since", "7", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, old->id));
  g_assert_nonnull (strstr (r.out, recent->id));
  run_clear (&r);

  /* show: the metadata, as JSON */
  run_mugai (&r, config, (const char *const[]){ "show", recent->id, NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_autoptr (JsonNode) node = json_from_string (r.out, &error);
  g_assert_no_error (error);
  JsonObject *o = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (o, "id"), ==, recent->id);
  g_assert_cmpstr (json_object_get_string_member (o, "queue_id"), ==, "RECENT");
  g_assert_cmpstr (json_object_get_string_member (o, "subject"), ==, recent->subject);
  g_assert_cmpstr (json_object_get_string_member (o, "state"), ==, "stored");
  g_autofree char *digest = g_compute_checksum_for_data (
      G_CHECKSUM_SHA256, (const guchar *)original, sizeof original - 1);
  g_assert_cmpstr (json_object_get_string_member (o, "sha256"), ==, digest);
  run_clear (&r);

  /* extract: octet for octet (the original holds a NUL, so through a
   * shell redirection into a file) */
  g_autofree char *out_path = g_build_filename (f->root, "extracted.eml", NULL);
  g_autofree char *cmd = g_strdup_printf ("'%s' quarantine extract --config '%s' %s > '%s'",
                                          g_getenv ("MUGAI_BIN"), config, old->id, out_path);
  int wait_status = 0;
  g_assert_true (g_spawn_sync (NULL, (char *[]){ (char *)"/bin/sh", (char *)"-c", cmd, NULL }, NULL,
                               G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &wait_status, &error));
  g_assert_true (WIFEXITED (wait_status) && WEXITSTATUS (wait_status) == 0);
  g_autofree char *extracted = NULL;
  gsize extracted_len = 0;
  g_assert_true (g_file_get_contents (out_path, &extracted, &extracted_len, &error));
  g_assert_cmpmem (extracted, extracted_len, original, sizeof original - 1);

  /* refusals: a path trick, an id not there, usage mistakes */
  run_mugai (&r, config, (const char *const[]){ "show", "../x", NULL });
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "not a quarantine id"));
  run_clear (&r);
  run_mugai (&r, config, (const char *const[]){ "extract", "20200101T000000Z-0123456789ab", NULL });
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, f->dir));
  g_assert_cmpstr (r.out, ==, "");
  run_clear (&r);
  const char *const *usage_cases[] = {
    (const char *const[]){ NULL },
    (const char *const[]){ "bogus", NULL },
    (const char *const[]){ "show", NULL },
    (const char *const[]){ "show", "a", "b", NULL },
    (const char *const[]){ "purge", "--older-than", "ten", NULL },
    (const char *const[]){ "list", "--since", "-1", NULL },
    (const char *const[]){ "list", "extra", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (usage_cases); i++)
    {
      run_mugai (&r, config, usage_cases[i]);
      g_assert_cmpint (r.status, ==, 64);
      run_clear (&r);
    }
  /* a store that does not exist is an error naming it, and is not made */
  g_autofree char *bad_config = g_build_filename (f->root, "bad.conf", NULL);
  g_autofree char *absent = g_build_filename (f->root, "absent", NULL);
  g_autofree char *bad_text = g_strdup_printf ("[quarantine]\ndir = %s\n", absent);
  g_assert_true (g_file_set_contents (bad_config, bad_text, -1, NULL));
  run_mugai (&r, bad_config, (const char *const[]){ "list", NULL });
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, absent));
  g_assert_false (g_file_test (absent, G_FILE_TEST_EXISTS));
  run_clear (&r);

  /* check: every record readable, every original as recorded; then one
   * octet of an original changed, and it is named */
  run_mugai (&r, config, (const char *const[]){ "check", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "checked 2 entries"));
  run_clear (&r);
  g_autofree char *odd = day_dir (f, old->id);
  g_autofree char *oeml = g_strdup_printf ("%s/%s.eml", odd, old->id);
  g_autofree char *otext = NULL;
  gsize olen = 0;
  g_assert_true (g_file_get_contents (oeml, &otext, &olen, NULL));
  otext[olen - 2] ^= 0x20;
  g_assert_cmpint (g_chmod (oeml, 0600), ==, 0);
  g_assert_true (g_file_set_contents (oeml, otext, (gssize)olen, NULL));
  run_mugai (&r, config, (const char *const[]){ "check", NULL });
  g_assert_cmpint (r.status, ==, 1);
  g_autofree char *named
      = g_strdup_printf ("%s: the original's SHA-256 is not the one recorded", old->id);
  g_assert_nonnull (strstr (r.out, named));
  g_assert_null (strstr (r.out, recent->id));
  run_clear (&r);
  otext[olen - 2] ^= 0x20;
  g_assert_true (g_file_set_contents (oeml, otext, (gssize)olen, NULL));

  /* a search, as JSON lines: the old entry alone, whole */
  run_mugai (&r, config, (const char *const[]){ "list", "--subject", "お知らせ", "--json", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, old->id));
  g_assert_null (strstr (r.out, recent->id));
  g_assert_cmpint (strchr (r.out, '\n') - r.out + 1, ==, (int)strlen (r.out));
  g_assert_nonnull (strstr (r.out, "\"subject\":\"古いお知らせ\""));
  run_clear (&r);
  run_mugai (&r, config, (const char *const[]){ "list", "--state", "nonsense", NULL });
  g_assert_cmpint (r.status, ==, 64);
  run_clear (&r);

  /* purge without --older-than: [quarantine] keep_days (366 by default:
   * nothing here is that old) */
  run_mugai (&r, config, (const char *const[]){ "purge", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "purged 0 entries older than 366 days"));
  run_clear (&r);
  /* ... and with keep_days = 0 (keep everything) it needs --older-than */
  g_autofree char *keep_config = g_build_filename (f->root, "keep.conf", NULL);
  g_autofree char *keep_text = g_strdup_printf ("[quarantine]\ndir = %s\nkeep_days = 0\n", f->dir);
  g_assert_true (g_file_set_contents (keep_config, keep_text, -1, NULL));
  run_mugai (&r, keep_config, (const char *const[]){ "purge", NULL });
  g_assert_cmpint (r.status, ==, 64);
  g_assert_nonnull (strstr (r.err, "keep_days = 0 keeps everything"));
  run_clear (&r);

  /* purge: the old entry goes, the count is printed */
  run_mugai (&r, config, (const char *const[]){ "purge", "--older-than", "30", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "purged 1 "));
  run_clear (&r);
  run_mugai (&r, config, (const char *const[]){ "show", old->id, NULL });
  g_assert_cmpint (r.status, ==, 1);
  run_clear (&r);
  run_mugai (&r, config, (const char *const[]){ "list", NULL });
  g_assert_cmpint (r.status, ==, 0);
  g_assert_null (strstr (r.out, old->id));
  g_assert_nonnull (strstr (r.out, recent->id));
  run_clear (&r);
}

/* An upgrade: a store of the files backend is refused by the sqlite
 * backend until `reindex` has made its index, and then everything in it
 * is there, originals untouched; a second reindex adds nothing. */
static void
test_sqlite_reindex (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-q-XXXXXX", &error);
  g_autofree char *dir = g_build_filename (root, "q", NULL);
  g_autofree char *id = NULL;
  {
    g_autoptr (MugaiStore) files = mugai_store_open (dir, MUGAI_STORE_CREATE, &error);
    g_assert_no_error (error);
    g_autoptr (MugaiStoreEntry) e = make_entry ("OLD1", 0);
    e->subject = g_strdup ("請求書の件");
    g_autoptr (GBytes) in = original_bytes ();
    g_assert_true (mugai_store_add (files, -1, in, e, &error));
    id = g_strdup (e->id);
  }
  g_autofree char *location = g_strconcat ("sqlite:", dir, NULL);
  g_autoptr (MugaiStore) refused = mugai_store_open (location, MUGAI_STORE_CREATE, &error);
  g_assert_null (refused);
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_SCHEMA);
  g_assert_nonnull (strstr (error->message, "reindex"));
  g_clear_error (&error);

  guint already = 0;
  g_assert_cmpuint (mugai_store_reindex (dir, &already, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_cmpuint (already, ==, 0);
  g_assert_cmpuint (mugai_store_reindex (dir, &already, &error), ==, 0);
  g_assert_cmpuint (already, ==, 1);

  g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_EXISTING, &error);
  g_assert_no_error (error);
  MugaiStoreFilter word = { .subject = "請求" };
  g_autoptr (GPtrArray) found = mugai_store_list (q, &word, &error);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpstr (((MugaiStoreEntry *)found->pdata[0])->id, ==, id);
  g_autoptr (GBytes) back = read_back (q, id);
  g_autoptr (GBytes) in = original_bytes ();
  g_assert_true (g_bytes_equal (in, back));
  guint checked = 0;
  g_autoptr (GPtrArray) problems = mugai_store_check (q, &checked, &error);
  g_assert_cmpuint (checked, ==, 1);
  g_assert_cmpuint (problems->len, ==, 0);
  guint found_v = 0, current = 0;
  mugai_store_schema (q, &found_v, &current);
  g_assert_cmpuint (found_v, ==, current);
  g_assert_cmpuint (current, >=, 1);
  testfiles_rm_rf (root);
}

/* A backup is a store of its own that `check` accepts, holding what the
 * store held; the files backend says it has none of its own. */
static void
test_backup (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  store_at (f, "one", 0, ids);
  store_at (f, "two", 0, ids);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_build_filename (f->root, "backup", NULL);
  guint entries = 0;
  if (files_backend ())
    {
      g_assert_false (mugai_store_backup (f->q, dir, &entries, &error));
      g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_UNSUPPORTED);
      return;
    }
  g_assert_true (mugai_store_backup (f->q, dir, &entries, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (entries, ==, 2);
  /* never over an existing directory */
  g_assert_false (mugai_store_backup (f->q, dir, &entries, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  /* the original store moves on; the copy does not */
  g_assert_cmpuint (mugai_store_purge (f->q, G_MAXINT64 / 2, &error), ==, 2);
  g_autofree char *location = g_strconcat ("sqlite:", dir, NULL);
  g_autoptr (MugaiStore) copy = mugai_store_open (location, MUGAI_STORE_EXISTING, &error);
  g_assert_no_error (error);
  guint checked = 0;
  g_autoptr (GPtrArray) problems = mugai_store_check (copy, &checked, &error);
  g_assert_cmpuint (checked, ==, 2);
  g_assert_cmpuint (problems->len, ==, 0);
  g_autoptr (GBytes) back = read_back (copy, ids->pdata[1]);
  g_autoptr (GBytes) in = original_bytes ();
  g_assert_true (g_bytes_equal (in, back));
}

/* The audit checkpoint kept in the store: per node, never moved back. */
static void
test_checkpoint (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint64 seq = 0;
  g_autofree char *hash = NULL;
  g_assert_false (mugai_store_checkpoint_get (f->q, "node-a", &seq, &hash, &error));
  g_assert_no_error (error);
  const char *h1 = "1111111111111111111111111111111111111111111111111111111111111111";
  const char *h2 = "2222222222222222222222222222222222222222222222222222222222222222";
  g_assert_true (mugai_store_checkpoint_put (f->q, "node-a", 200, h2, &error));
  g_assert_no_error (error);
  if (files_backend ())
    {
      /* no place for it: the file beside the log is the checkpoint */
      g_assert_false (mugai_store_checkpoint_get (f->q, "node-a", &seq, &hash, &error));
      return;
    }
  g_assert_true (mugai_store_checkpoint_put (f->q, "node-a", 100, h1, &error));
  g_assert_true (mugai_store_checkpoint_put (f->q, "node-b", 7, h1, &error));
  g_assert_true (mugai_store_checkpoint_get (f->q, "node-a", &seq, &hash, &error));
  g_assert_cmpuint (seq, ==, 200);
  g_assert_cmpstr (hash, ==, h2);
  g_clear_pointer (&hash, g_free);
  g_assert_true (mugai_store_checkpoint_get (f->q, "node-b", &seq, &hash, &error));
  g_assert_cmpuint (seq, ==, 7);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc > 1 && g_str_equal (argv[1], "sqlite"))
    scheme = "sqlite:";
  umask (022);
#define ADD(name, fn)                                                                              \
  g_test_add ("/quarantine/" name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  g_test_add_func ("/quarantine/id-validity", test_id_validity);
  g_test_add_func ("/quarantine/new-id", test_new_id);
  g_test_add_func ("/quarantine/open-not-writable", test_open_not_writable);
  g_test_add_func ("/quarantine/open-tightens-mode", test_open_tightens_mode);
  ADD ("store-bytes", test_store_bytes);
  ADD ("store-fd", test_store_fd);
  ADD ("store-empty", test_store_empty);
  ADD ("metadata-roundtrip", test_metadata_roundtrip);
  ADD ("duplicate-id", test_duplicate_id);
  ADD ("list", test_list);
  ADD ("search", test_search);
  ADD ("list-damaged", test_list_damaged);
  ADD ("purge", test_purge);
  ADD ("invalid-ids", test_invalid_ids);
  ADD ("store-fails-day-occupied", test_store_fails_day_occupied);
  ADD ("store-fails-reading", test_store_fails_reading);
  ADD ("store-fails-writing", test_store_fails_writing);
  ADD ("concurrent", test_concurrent);
  ADD ("cli", test_cli);
  g_test_add_func ("/quarantine/state-names", test_state_names);
  g_test_add_func ("/quarantine/locations", test_locations);
  g_test_add_func ("/quarantine/old-layout", test_old_layout);
  g_test_add_func ("/quarantine/sqlite-reindex", test_sqlite_reindex);
  ADD ("states", test_states);
  ADD ("sha256", test_sha256);
  ADD ("backup", test_backup);
  ADD ("checkpoint", test_checkpoint);
  ADD ("not-found", test_not_found);
  ADD ("read-original-limit", test_read_original_limit);
  ADD ("corrupt-files", test_corrupt_files);
  for (gsize i = 0; i < G_N_ELEMENTS (damages); i++)
    {
      g_autofree char *name = g_strdup_printf ("/quarantine/corrupt/%s", damages[i].name);
      g_test_add (name, Fixture, &damages[i], fixture_set_up, test_corrupt, fixture_tear_down);
    }
#undef ADD
  return g_test_run ();
}
