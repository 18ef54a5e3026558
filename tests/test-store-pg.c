/*
 * test-store-pg.c - the postgresql backend (store-pg.c) through the
 *                   store's API, against a real private cluster
 *
 * DESCRIPTION
 *	Run by tests/pgcluster.py (`pgcluster.py run -- test-store-pg
 *	--tap`), which starts a cluster of its own under a temporary
 *	directory, makes a role that is not a superuser, its database and a
 *	DSN file, and says where in MUGAI_TEST_PG_*.  Each case starts from
 *	an empty database (its public schema dropped and made again), opens
 *	the store, which makes the schema, and talks to the database
 *	directly through libpq where a user would look behind the store's
 *	back (the audit table's refusals, a schema version set by hand).
 *	The down case kills the postmaster and starts it again through
 *	MUGAI_TEST_PG_CTL.  Without those variables (not run by the
 *	wrapper) every case is skipped, saying so.
 */
#include "quarantine.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libpq-fe.h>

#define DAY (24 * 3600)

/* Octets that a text-minded copy would damage: NUL, CR LF, bare CR,
 * ISO-2022-JP escapes, 8-bit, no final newline. */
static const char original[] = "From: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= <a@example.jp>\r\n"
                               "Subject: test\r\n\r\n"
                               "body\r\nbare\rcr\n\x1b$B$3$s$K$A$O\x1b(B\n\xff\xfe\x00tail";

typedef struct
{
  const char *dsn_file; /* the store's DSN file (MUGAI_TEST_PG_DSN_FILE) */
  const char *admin;    /* conninfo as the superuser */
  const char *storer;   /* conninfo as the store's role */
  const char *ctl;      /* "python3 pgcluster.py ctl ROOT" */
  char *location;       /* "postgresql:" dsn_file */
  MugaiStore *q;
} Fixture;

static gboolean
have_cluster (void)
{
  if (g_getenv ("MUGAI_TEST_PG_DSN_FILE") && g_getenv ("MUGAI_TEST_PG_ADMIN")
      && g_getenv ("MUGAI_TEST_PG_STORER") && g_getenv ("MUGAI_TEST_PG_CTL"))
    return TRUE;
  g_test_skip ("no private PostgreSQL cluster: run through tests/pgcluster.py run --");
  return FALSE;
}

/* Runs sql as conninfo's role; returns the SQLSTATE of its failure
 * ("" when it worked), and the first value of its result in *value. */
static char *
sql_as (const char *conninfo, const char *sql, char **value)
{
  PGconn *c = PQconnectdb (conninfo);
  g_assert_cmpint (PQstatus (c), ==, CONNECTION_OK);
  PGresult *r = PQexec (c, sql);
  ExecStatusType st = PQresultStatus (r);
  char *state = g_strdup ("");
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    {
      g_free (state);
      state = g_strdup (PQresultErrorField (r, PG_DIAG_SQLSTATE));
      g_test_message ("%s: %s", sql, PQresultErrorMessage (r));
    }
  if (value)
    *value = st == PGRES_TUPLES_OK && PQntuples (r) > 0 ? g_strdup (PQgetvalue (r, 0, 0)) : NULL;
  PQclear (r);
  PQfinish (c);
  return state;
}

static void
admin_ok (const Fixture *f, const char *sql)
{
  g_autofree char *state = sql_as (f->admin, sql, NULL);
  g_assert_cmpstr (state, ==, "");
}

/* The cluster's postmaster: "kill", "start" or "stop" (pgcluster.py ctl). */
static void
cluster (const Fixture *f, const char *action)
{
  g_autofree char *cmd = g_strdup_printf ("%s %s", f->ctl, action);
  g_auto (GStrv) argv = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_shell_parse_argv (cmd, NULL, &argv, &error));
  int status = -1;
  g_assert_true (
      g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  if (!have_cluster ())
    return;
  f->dsn_file = g_getenv ("MUGAI_TEST_PG_DSN_FILE");
  f->admin = g_getenv ("MUGAI_TEST_PG_ADMIN");
  f->storer = g_getenv ("MUGAI_TEST_PG_STORER");
  f->ctl = g_getenv ("MUGAI_TEST_PG_CTL");
  f->location = g_strconcat ("postgresql:", f->dsn_file, NULL);
  /* an empty database: what a first start of the milter finds */
  admin_ok (f, "DROP SCHEMA IF EXISTS public CASCADE");
  admin_ok (f, "CREATE SCHEMA public AUTHORIZATION mugai_storer");
  g_autoptr (GError) error = NULL;
  f->q = mugai_store_open (f->location, MUGAI_STORE_CREATE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->q);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  mugai_store_free (f->q);
  g_free (f->location);
}

#define NEED_CLUSTER(f)                                                                            \
  do                                                                                               \
    if (!(f)->q)                                                                                   \
      return;                                                                                      \
  while (0)

static MugaiStoreEntry *
make_entry (const char *subject, gint64 time)
{
  MugaiStoreEntry *e = mugai_store_entry_new ();
  e->id = mugai_store_new_id ();
  e->time = time;
  e->queue_id = g_strdup ("4ABCDEF");
  e->sender = g_strdup ("Sender@Example.JP");
  g_ptr_array_add (e->recipients, g_strdup ("one@city.lg.jp"));
  e->verdict = g_strdup ("sanitized");
  e->status = g_strdup ("sanitized; removed=1; converted=0");
  e->subject = g_strdup (subject);
  e->node = g_strdup ("node-a");
  return e;
}

static GBytes *
original_bytes (void)
{
  return g_bytes_new_static (original, sizeof original - 1);
}

static MugaiStoreEntry *
add (Fixture *f, const char *subject, gint64 time)
{
  MugaiStoreEntry *e = make_entry (subject, time);
  g_autoptr (GBytes) in = original_bytes ();
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_store_add (f->q, -1, in, e, &error));
  g_assert_no_error (error);
  return e;
}

static GBytes *
read_back (MugaiStore *q, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) in = mugai_store_open_original (q, id, &error);
  g_assert_no_error (error);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  guint8 buf[4096];
  gssize n;
  while ((n = g_input_stream_read (in, buf, sizeof buf, NULL, &error)) > 0)
    g_byte_array_append (out, buf, (guint)n);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* The ids a filter lists, in order, joined by " ". */
static char *
listed (MugaiStore *q, const MugaiStoreFilter *filter)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = mugai_store_list (q, filter, &error);
  g_assert_no_error (error);
  g_assert_nonnull (all);
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; i < all->len; i++)
    g_string_append_printf (s, "%s%s", i ? " " : "", ((MugaiStoreEntry *)all->pdata[i])->id);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static char *
ids (MugaiStoreEntry *a, MugaiStoreEntry *b, MugaiStoreEntry *c)
{
  return g_strjoin (" ", a ? a->id : "", b ? b->id : NULL, c ? c->id : NULL, NULL);
}

/* ---- entries ------------------------------------------------------------------ */

static void
test_roundtrip (Fixture *f, gconstpointer data)
{
  NEED_CLUSTER (f);
  g_assert_cmpstr (mugai_store_backend_name (f->q), ==, "postgresql");
  guint found = 9, current = 9;
  mugai_store_schema (f->q, &found, &current);
  g_assert_cmpuint (found, ==, 1);
  g_assert_cmpuint (current, ==, 1);

  /* from a file descriptor, the way the storer hands a spooled message */
  g_autoptr (MugaiStoreEntry) e = make_entry ("【重要】請求書のご確認", 1795000000);
  g_ptr_array_add (e->recipients, g_strdup ("二番@例え.jp"));
  e->report
      = json_from_string ("{\"verdict\":\"sanitized\",\"removed\":1,\"parts\":[{\"path\":\"2\","
                          "\"filename\":\"見積書.xlsm\",\"action\":\"remove\"}]}",
                          NULL);
  g_assert_nonnull (e->report);
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  int fd = g_file_open_tmp ("mugai-pg-XXXXXX", &tmp, &error);
  g_assert_no_error (error);
  g_assert_cmpint (write (fd, original, sizeof original - 1), ==, sizeof original - 1);
  g_assert_true (mugai_store_add (f->q, fd, NULL, e, &error));
  g_assert_no_error (error);
  close (fd);
  g_unlink (tmp);

  g_autoptr (MugaiStoreEntry) got = mugai_store_get (f->q, e->id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got->id, ==, e->id);
  g_assert_cmpint (got->time, ==, 1795000000);
  g_assert_cmpint (got->state, ==, MUGAI_STORE_STATE_STORED);
  g_assert_cmpuint (got->size, ==, sizeof original - 1);
  g_autofree char *sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guint8 *)original,
                                                      sizeof original - 1);
  g_assert_cmpstr (got->sha256, ==, sum);
  g_assert_cmpstr (got->subject, ==, "【重要】請求書のご確認");
  g_assert_cmpstr (got->sender, ==, "Sender@Example.JP");
  g_assert_cmpuint (got->recipients->len, ==, 2);
  g_assert_cmpstr (got->recipients->pdata[1], ==, "二番@例え.jp");
  g_assert_cmpstr (got->node, ==, "node-a");
  g_assert_nonnull (got->report);
  g_assert_true (json_node_equal (e->report, got->report));

  g_autoptr (GBytes) back = read_back (f->q, e->id);
  g_autoptr (GBytes) want = original_bytes ();
  g_assert_true (g_bytes_equal (back, want));

  /* a hold is added held; from bytes; an empty original is an original */
  g_autoptr (MugaiStoreEntry) h = make_entry (NULL, 1795000100);
  g_free (h->verdict);
  h->verdict = g_strdup ("hold");
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_assert_true (mugai_store_add (f->q, -1, empty, h, &error));
  g_assert_no_error (error);
  g_autoptr (MugaiStoreEntry) goth = mugai_store_get (f->q, h->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (goth->state, ==, MUGAI_STORE_STATE_HELD);
  g_assert_null (goth->report);
  g_assert_null (goth->subject);
  g_autoptr (GBytes) back_empty = read_back (f->q, h->id);
  g_assert_cmpuint (g_bytes_get_size (back_empty), ==, 0);

  /* list: both, oldest first, without reports */
  g_autoptr (GPtrArray) all = mugai_store_list (f->q, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  g_assert_cmpstr (((MugaiStoreEntry *)all->pdata[0])->id, ==, e->id);
  g_assert_cmpstr (((MugaiStoreEntry *)all->pdata[1])->id, ==, h->id);
  g_assert_null (((MugaiStoreEntry *)all->pdata[0])->report);

  /* an id is never stored twice, and the first stays as it was */
  g_autoptr (MugaiStoreEntry) dup = make_entry ("other", 1795000200);
  g_free (dup->id);
  dup->id = g_strdup (e->id);
  g_assert_false (mugai_store_add (f->q, -1, empty, dup, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  g_autoptr (GBytes) still = read_back (f->q, e->id);
  g_assert_true (g_bytes_equal (still, want));

  /* what is not there */
  g_assert_null (mugai_store_get (f->q, "20261122T004644Z-0123456789ab", &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (mugai_store_open_original (f->q, "20261122T004644Z-0123456789ab", &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* what the check command reads: all intact */
  guint checked = 0;
  g_autoptr (GPtrArray) problems = mugai_store_check (f->q, &checked, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (checked, ==, 2);
  g_assert_cmpuint (problems->len, ==, 0);
}

static void
test_search (Fixture *f, gconstpointer data)
{
  NEED_CLUSTER (f);
  g_autoptr (MugaiStoreEntry) invoice = add (f, "【重要】請求書のご確認", 1795000000);
  g_autoptr (MugaiStoreEntry) half = add (f, "ｾｲｷｭｳｼｮ ｿｳﾌ", 1795000010);
  g_autoptr (MugaiStoreEntry) wide = add (f, "ＩＮＶＯＩＣＥ　No.12", 1795000020);
  g_autoptr (MugaiStoreEntry) quote = add (f, "お見積のお願い", 1795000030);
  struct
  {
    const char *subject;
    MugaiStoreEntry *a, *b;
  } cases[] = {
    { "請求", invoice, NULL },      /* two characters: no trigram needed */
    { "見積", quote, NULL },        /* two characters */
    { "セイキュウ", half, NULL },   /* full-width kana finds half-width */
    { "ｾｲｷｭｳ", half, NULL },        /* and half-width itself */
    { "invoice", wide, NULL },      /* full-width Latin, any case */
    { "INVOICE NO.1", wide, NULL }, /* the ideographic space is a space */
    { "の", invoice, quote },       /* in order */
    { "請求書のご確認です", NULL, NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      MugaiStoreFilter fl = { .subject = cases[i].subject };
      g_autofree char *got = listed (f->q, &fl);
      g_autofree char *want = ids (cases[i].a, cases[i].b, NULL);
      g_test_message ("subject %s", cases[i].subject);
      g_assert_cmpstr (got, ==, want);
    }
  /* sender and recipient, folded too */
  MugaiStoreFilter by_sender = { .sender = "sender@example.jp", .subject = "請求" };
  g_autofree char *s = listed (f->q, &by_sender);
  g_assert_cmpstr (s, ==, invoice->id);
  MugaiStoreFilter by_rcpt = { .recipient = "ＯＮＥ@CITY", .limit = 1 };
  g_autofree char *r = listed (f->q, &by_rcpt);
  g_assert_cmpstr (r, ==, invoice->id);
  MugaiStoreFilter nobody = { .recipient = "two@" };
  g_autofree char *n = listed (f->q, &nobody);
  g_assert_cmpstr (n, ==, "");
  /* values reach SQL as parameters only: quotes and wildcards are text */
  MugaiStoreFilter quoted = { .subject = "' OR '1'='1" };
  g_autofree char *qq = listed (f->q, &quoted);
  g_assert_cmpstr (qq, ==, "");
  MugaiStoreFilter percent = { .subject = "%" };
  g_autofree char *pp = listed (f->q, &percent);
  g_assert_cmpstr (pp, ==, "");
  /* verdict, exactly */
  MugaiStoreFilter verdict = { .verdict = "sanitized", .since = 1795000015 };
  g_autofree char *v = listed (f->q, &verdict);
  g_autofree char *vwant = ids (wide, quote, NULL);
  g_assert_cmpstr (v, ==, vwant);
  MugaiStoreFilter verdict2 = { .verdict = "sanit" };
  g_autofree char *v2 = listed (f->q, &verdict2);
  g_assert_cmpstr (v2, ==, "");
}

static void
test_states_and_pages (Fixture *f, gconstpointer data)
{
  NEED_CLUSTER (f);
  MugaiStoreEntry *e[6];
  for (int i = 0; i < 6; i++)
    e[i] = add (f, "page", 1795000000 + (i / 2) * 10); /* two per second, by id */
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_store_update (f->q, e[1]->id, MUGAI_STORE_STATE_STORED,
                                     MUGAI_STORE_STATE_REQUESTED, NULL, &error));
  g_assert_true (mugai_store_update (f->q, e[4]->id, MUGAI_STORE_STATE_STORED,
                                     MUGAI_STORE_STATE_DENIED, NULL, &error));
  g_assert_no_error (error);

  /* the order is time, then id */
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  for (int i = 0; i < 6; i++)
    g_ptr_array_add (sorted, e[i]);
  for (int i = 0; i < 6; i += 2)
    if (strcmp (e[i]->id, e[i + 1]->id) > 0)
      {
        sorted->pdata[i] = e[i + 1];
        sorted->pdata[i + 1] = e[i];
      }
  g_autoptr (GString) all = g_string_new (NULL);
  for (int i = 0; i < 6; i++)
    g_string_append_printf (all, "%s%s", i ? " " : "", ((MugaiStoreEntry *)sorted->pdata[i])->id);
  g_autofree char *got_all = listed (f->q, NULL);
  g_assert_cmpstr (got_all, ==, all->str);

  /* pages of two */
  for (guint page = 0; page < 3; page++)
    {
      MugaiStoreFilter fl = { .offset = page * 2, .limit = 2 };
      g_autofree char *got = listed (f->q, &fl);
      g_autofree char *want = ids (sorted->pdata[page * 2], sorted->pdata[page * 2 + 1], NULL);
      g_assert_cmpstr (got, ==, want);
    }
  /* newest first: pages of two from the newest */
  for (guint page = 0; page < 3; page++)
    {
      MugaiStoreFilter fl = { .offset = page * 2, .limit = 2, .newest_first = TRUE };
      g_autofree char *got = listed (f->q, &fl);
      g_autofree char *want = ids (sorted->pdata[5 - page * 2], sorted->pdata[4 - page * 2], NULL);
      g_assert_cmpstr (got, ==, want);
    }
  MugaiStoreFilter past = { .offset = 6 };
  g_autofree char *none = listed (f->q, &past);
  g_assert_cmpstr (none, ==, "");

  /* states: a bit each */
  MugaiStoreFilter requested = { .states = 1u << MUGAI_STORE_STATE_REQUESTED };
  g_autofree char *r = listed (f->q, &requested);
  g_assert_cmpstr (r, ==, e[1]->id);
  MugaiStoreFilter two
      = { .states = (1u << MUGAI_STORE_STATE_REQUESTED) | (1u << MUGAI_STORE_STATE_DENIED) };
  g_autofree char *rd = listed (f->q, &two);
  g_autofree char *rdwant = ids (e[1], e[4], NULL);
  g_assert_cmpstr (rd, ==, rdwant);
  MugaiStoreFilter stored = { .states = 1u << MUGAI_STORE_STATE_STORED, .limit = 1, .offset = 1 };
  g_autoptr (GPtrArray) st = mugai_store_list (f->q, &stored, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (st->len, ==, 1);
  g_assert_cmpint (((MugaiStoreEntry *)st->pdata[0])->state, ==, MUGAI_STORE_STATE_STORED);

  /* since and before: [since, before) */
  MugaiStoreFilter middle = { .since = 1795000010, .before = 1795000020 };
  g_autofree char *m = listed (f->q, &middle);
  g_autofree char *mwant = ids (sorted->pdata[2], sorted->pdata[3], NULL);
  g_assert_cmpstr (m, ==, mwant);
  for (int i = 0; i < 6; i++)
    mugai_store_entry_free (e[i]);
}

static void
test_update (Fixture *f, gconstpointer data)
{
  NEED_CLUSTER (f);
  g_autoptr (MugaiStoreEntry) e = add (f, "update", 1795000000);
  g_autoptr (JsonNode) wf
      = json_from_string ("{\"requester\":\"tanaka\",\"reason\":\"見積が必要\"}", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_store_update (f->q, e->id, MUGAI_STORE_STATE_STORED,
                                     MUGAI_STORE_STATE_REQUESTED, wf, &error));
  g_assert_no_error (error);
  g_autoptr (MugaiStoreEntry) got = mugai_store_get (f->q, e->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (got->state, ==, MUGAI_STORE_STATE_REQUESTED);
  g_assert_nonnull (got->workflow);
  g_assert_true (json_node_equal (got->workflow, wf));
  g_assert_cmpstr (got->subject, ==, "update"); /* the rest kept */

  /* a second change from the old state: someone else was first */
  g_assert_false (mugai_store_update (f->q, e->id, MUGAI_STORE_STATE_STORED,
                                      MUGAI_STORE_STATE_REQUESTED, NULL, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CONFLICT);
  g_assert_nonnull (strstr (error->message, "requested"));
  g_clear_error (&error);

  /* NULL keeps the workflow record */
  g_assert_true (mugai_store_update (f->q, e->id, MUGAI_STORE_STATE_REQUESTED,
                                     MUGAI_STORE_STATE_APPROVED, NULL, &error));
  g_autoptr (MugaiStoreEntry) got2 = mugai_store_get (f->q, e->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (got2->state, ==, MUGAI_STORE_STATE_APPROVED);
  g_assert_true (json_node_equal (got2->workflow, wf));

  /* the column the list filters on moved with the record */
  MugaiStoreFilter approved = { .states = 1u << MUGAI_STORE_STATE_APPROVED };
  g_autofree char *a = listed (f->q, &approved);
  g_assert_cmpstr (a, ==, e->id);

  g_assert_false (mugai_store_update (f->q, "20261122T004644Z-0123456789ab",
                                      MUGAI_STORE_STATE_STORED, MUGAI_STORE_STATE_REQUESTED, NULL,
                                      &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
}

static void
test_purge (Fixture *f, gconstpointer data)
{
  NEED_CLUSTER (f);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr (MugaiStoreEntry) old = add (f, "old", now - 400 * DAY);
  g_autoptr (MugaiStoreEntry) pending = add (f, "old, requested", now - 400 * DAY);
  g_autoptr (MugaiStoreEntry) sending = add (f, "old, sending", now - 400 * DAY);
  g_autoptr (MugaiStoreEntry) denied = add (f, "old, denied", now - 400 * DAY);
  g_autoptr (MugaiStoreEntry) recent = add (f, "recent", now - DAY);
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_store_update (f->q, pending->id, MUGAI_STORE_STATE_STORED,
                                     MUGAI_STORE_STATE_REQUESTED, NULL, &error));
  g_assert_true (mugai_store_update (f->q, sending->id, MUGAI_STORE_STATE_STORED,
                                     MUGAI_STORE_STATE_SENDING, NULL, &error));
  g_assert_true (mugai_store_update (f->q, denied->id, MUGAI_STORE_STATE_STORED,
                                     MUGAI_STORE_STATE_DENIED, NULL, &error));
  g_assert_no_error (error);
  guint removed = mugai_store_purge (f->q, now - 366 * DAY, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (removed, ==, 2);
  g_autofree char *left = listed (f->q, NULL);
  g_autofree char *want = NULL;
  /* pending and sending have the same time: by id */
  if (strcmp (pending->id, sending->id) < 0)
    want = ids (pending, sending, recent);
  else
    want = ids (sending, pending, recent);
  g_assert_cmpstr (left, ==, want);
  g_assert_null (mugai_store_get (f->q, old->id, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
}

static void
test_unreadable (Fixture *f, gconstpointer data)
{
  NEED_CLUSTER (f);
  g_autoptr (MugaiStoreEntry) good = add (f, "good", 1795000000);
  g_autoptr (MugaiStoreEntry) bad = add (f, "bad", 1795000010);
  g_autoptr (MugaiStoreEntry) badreport = add (f, "bad report", 1795000020);
  g_autofree char *damage
      = g_strdup_printf ("UPDATE entries SET record = '{\"id\": 1' WHERE id = '%s'", bad->id);
  admin_ok (f, damage);
  g_autofree char *damage2 = g_strdup_printf (
      "UPDATE entries SET report = '{\"verdict\": [1]}' WHERE id = '%s'", badreport->id);
  admin_ok (f, damage2);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = mugai_store_list (f->q, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 3);
  MugaiStoreEntry *b = all->pdata[1];
  g_assert_cmpstr (b->id, ==, bad->id);
  g_assert_cmpstr (b->verdict, ==, "unreadable");
  g_assert_cmpint (b->time, ==, 1795000010);
  g_assert_null (mugai_store_get (f->q, bad->id, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT);
  g_clear_error (&error);
  g_assert_null (mugai_store_get (f->q, badreport->id, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT);
  g_clear_error (&error);
  guint checked = 0;
  g_autoptr (GPtrArray) problems = mugai_store_check (f->q, &checked, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (checked, ==, 3);
  g_assert_cmpuint (problems->len, ==, 2);
  /* an original changed behind the store's back is seen by check */
  g_autofree char *tamper = g_strdup_printf (
      "UPDATE entries SET original = original || '\\x00'::bytea WHERE id = '%s'", good->id);
  admin_ok (f, tamper);
  g_autoptr (GPtrArray) problems2 = mugai_store_check (f->q, &checked, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (problems2->len, ==, 3);
}

static void
test_large (Fixture *f, gconstpointer data)
{
  NEED_CLUSTER (f);
  /* 8 MiB of every octet value, through a file descriptor */
  gsize len = 8 * 1024 * 1024;
  g_autofree guint8 *octets = g_malloc (len);
  GRand *rand = g_rand_new_with_seed (7);
  for (gsize i = 0; i < len; i++)
    octets[i] = (guint8)g_rand_int (rand);
  g_rand_free (rand);
  g_autofree char *tmp = NULL;
  g_autoptr (GError) error = NULL;
  int fd = g_file_open_tmp ("mugai-pg-XXXXXX", &tmp, &error);
  g_assert_no_error (error);
  g_assert_cmpint (write (fd, octets, len), ==, (gssize)len);
  g_autoptr (MugaiStoreEntry) e = make_entry ("large", 1795000000);
  g_assert_true (mugai_store_add (f->q, fd, NULL, e, &error));
  g_assert_no_error (error);
  g_autoptr (GBytes) back = read_back (f->q, e->id);
  g_autoptr (GBytes) want = g_bytes_new_static (octets, len);
  g_assert_true (g_bytes_equal (back, want));

  /* past the backend's limit (512 MiB): refused, nothing stored; the
   * sparse file is never read */
  g_assert_cmpint (ftruncate (fd, (off_t)512 * 1024 * 1024 + 1), ==, 0);
  g_autoptr (MugaiStoreEntry) big = make_entry ("too large", 1795000010);
  g_assert_false (mugai_store_add (f->q, fd, NULL, big, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "larger than"));
  g_clear_error (&error);
  close (fd);
  g_unlink (tmp);
  g_autofree char *all = listed (f->q, NULL);
  g_assert_cmpstr (all, ==, e->id);
}

/* ---- accounts and audit ------------------------------------------------------- */

static MugaiAccount *
account (const char *name, MugaiRole role, const char *unix_user)
{
  MugaiAccount *a = mugai_account_new ();
  a->name = g_strdup (name);
  a->role = role;
  a->unix_user = g_strdup (unix_user);
  a->password = g_strdup ("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA");
  a->created = 1795000000;
  return a;
}

static void
test_accounts (Fixture *f, gconstpointer data)
{
  NEED_CLUSTER (f);
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiAccount) suzuki = account ("suzuki", MUGAI_ROLE_APPROVER, "suzuki");
  g_autoptr (MugaiAccount) tanaka = account ("tanaka", MUGAI_ROLE_REQUESTER, NULL);
  g_assert_true (mugai_store_account_put (f->q, suzuki, FALSE, &error));
  g_assert_true (mugai_store_account_put (f->q, tanaka, FALSE, &error));
  g_assert_no_error (error);

  /* the name is taken */
  g_autoptr (MugaiAccount) again = account ("suzuki", MUGAI_ROLE_AUDITOR, NULL);
  g_assert_false (mugai_store_account_put (f->q, again, FALSE, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "account named"));
  g_clear_error (&error);
  /* one login, one account */
  g_autoptr (MugaiAccount) second = account ("suzuki2", MUGAI_ROLE_APPROVER, "suzuki");
  g_assert_false (mugai_store_account_put (f->q, second, FALSE, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "Unix user"));
  g_clear_error (&error);
  g_autoptr (MugaiAccount) steal = account ("tanaka", MUGAI_ROLE_REQUESTER, "suzuki");
  g_assert_false (mugai_store_account_put (f->q, steal, TRUE, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  /* replace: what is there; not what is not */
  tanaka->disabled = TRUE;
  g_free (tanaka->unix_user);
  tanaka->unix_user = g_strdup ("tanaka");
  g_assert_true (mugai_store_account_put (f->q, tanaka, TRUE, &error));
  g_assert_no_error (error);
  g_autoptr (MugaiAccount) ghost = account ("ghost", MUGAI_ROLE_AUDITOR, NULL);
  g_assert_false (mugai_store_account_put (f->q, ghost, TRUE, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_autoptr (GPtrArray) all = mugai_store_account_list (f->q, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  MugaiAccount *a0 = all->pdata[0], *a1 = all->pdata[1];
  g_assert_cmpstr (a0->name, ==, "suzuki");
  g_assert_cmpint (a0->role, ==, MUGAI_ROLE_APPROVER);
  g_assert_cmpstr (a0->unix_user, ==, "suzuki");
  g_assert_cmpstr (a0->password, ==, suzuki->password);
  g_assert_cmpint (a0->created, ==, 1795000000);
  g_assert_false (a0->disabled);
  g_assert_cmpstr (a1->name, ==, "tanaka");
  g_assert_true (a1->disabled);
  g_autoptr (MugaiAccount) by_login = mugai_store_account_get (f->q, NULL, "tanaka", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (by_login->name, ==, "tanaka");
}

static void
test_audit_append_only (Fixture *f, gconstpointer data)
{
  NEED_CLUSTER (f);
  g_autoptr (GError) error = NULL;
  g_assert_true (
      mugai_store_audit_append (f->q, "node-a", 1, "aa11", "seq=1 event=store id=x", &error));
  g_assert_true (
      mugai_store_audit_append (f->q, "node-a", 2, "bb22", "seq=2 event=request by=鈴木", &error));
  g_assert_no_error (error);
  g_assert_false (mugai_store_audit_append (f->q, "node-a", 2, "cc33", "seq=2 again", &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  /* another node's chain has its own seq 1 */
  g_assert_true (mugai_store_audit_append (f->q, "node-b", 1, "dd44", "seq=1 node b", &error));
  g_assert_no_error (error);
  /* the highest seq of each node's chain (a storer that starts copies
   * from there) */
  gint64 last = -1;
  g_assert_true (mugai_store_audit_last (f->q, "node-a", &last, &error));
  g_assert_cmpint (last, ==, 2);
  g_assert_true (mugai_store_audit_last (f->q, "node-b", &last, &error));
  g_assert_cmpint (last, ==, 1);
  g_assert_true (mugai_store_audit_last (f->q, "node-c", &last, &error));
  g_assert_cmpint (last, ==, 0);
  g_assert_no_error (error);

  const char *const changes[] = {
    "UPDATE audit SET line = 'seq=1 event=nothing' WHERE seq = 1",
    "DELETE FROM audit WHERE seq = 2",
    "TRUNCATE audit",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (changes); i++)
    {
      /* the store's own role: the privilege is revoked */
      g_autofree char *as_storer = sql_as (f->storer, changes[i], NULL);
      g_assert_cmpstr (as_storer, ==, "42501");
      /* a superuser passes every privilege check: the trigger refuses */
      g_autofree char *as_admin = sql_as (f->admin, changes[i], NULL);
      g_assert_cmpstr (as_admin, ==, "42501");
    }
  /* a statement that matches no row is refused all the same */
  g_autofree char *none = sql_as (f->admin, "DELETE FROM audit WHERE seq = 99", NULL);
  g_assert_cmpstr (none, ==, "42501");
  g_autofree char *lines = NULL;
  g_autofree char *ok = sql_as (f->admin,
                                "SELECT string_agg (seq || ' ' || hash || ' ' || line, "
                                "'|' ORDER BY seq) FROM audit WHERE node = 'node-a'",
                                &lines);
  g_assert_cmpstr (ok, ==, "");
  g_assert_cmpstr (lines, ==, "1 aa11 seq=1 event=store id=x|2 bb22 seq=2 event=request by=鈴木");
}

/* ---- schema and location ------------------------------------------------------ */

static void
test_schema_version (Fixture *f, gconstpointer data)
{
  NEED_CLUSTER (f);
  g_autoptr (GError) error = NULL;
  admin_ok (f, "UPDATE mugai_schema SET version = 0");
  g_autoptr (MugaiStore) older = mugai_store_open (f->location, MUGAI_STORE_CREATE, &error);
  g_assert_null (older);
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_SCHEMA);
  g_assert_nonnull (strstr (error->message, "mugai quarantine migrate"));
  g_clear_error (&error);
  admin_ok (f, "UPDATE mugai_schema SET version = 2");
  g_autoptr (MugaiStore) newer = mugai_store_open (f->location, MUGAI_STORE_EXISTING, &error);
  g_assert_null (newer);
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_SCHEMA);
  g_assert_nonnull (strstr (error->message, "newer"));
  g_clear_error (&error);
  admin_ok (f, "UPDATE mugai_schema SET version = 1");
  g_autoptr (MugaiStore) same = mugai_store_open (f->location, MUGAI_STORE_EXISTING, &error);
  g_assert_no_error (error);

  /* a database without a store: the command does not make one */
  admin_ok (f, "DROP SCHEMA public CASCADE");
  admin_ok (f, "CREATE SCHEMA public AUTHORIZATION mugai_storer");
  g_autoptr (MugaiStore) fresh = mugai_store_open (f->location, MUGAI_STORE_EXISTING, &error);
  g_assert_null (fresh);
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_autofree char *tables = NULL;
  g_autofree char *ok
      = sql_as (f->admin, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", &tables);
  g_assert_cmpstr (tables, ==, "0");
}

static void
test_dsn_file (Fixture *f, gconstpointer data)
{
  NEED_CLUSTER (f);
  g_autoptr (GError) error = NULL;
  struct stat st;
  g_assert_cmpint (g_stat (f->dsn_file, &st), ==, 0);
  g_assert_cmpint (g_chmod (f->dsn_file, 0640), ==, 0);
  g_autoptr (MugaiStore) open_to_group = mugai_store_open (f->location, MUGAI_STORE_CREATE, &error);
  g_assert_cmpint (g_chmod (f->dsn_file, st.st_mode & 07777), ==, 0);
  g_assert_null (open_to_group);
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_LOCATION);
  g_assert_nonnull (strstr (error->message, "0640"));
  g_assert_nonnull (strstr (error->message, "readable by the storer alone"));
  /* the connection string is a secret: never in a message */
  g_assert_null (strstr (error->message, "user="));
  g_clear_error (&error);
  g_autoptr (MugaiStore) missing
      = mugai_store_open ("postgresql:/nonexistent/mugai.dsn", MUGAI_STORE_CREATE, &error);
  g_assert_null (missing);
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_LOCATION);
  g_clear_error (&error);
  /* a database that is not there: IO, and the DSN not shown */
  g_autofree char *root = g_dir_make_tmp ("mugai-pg-dsn-XXXXXX", &error);
  g_autofree char *path = g_build_filename (root, "x.dsn", NULL);
  g_autofree char *dsn = g_strdup_printf ("%s dbname=nosuchdb password=Sekret", f->storer);
  g_assert_true (g_file_set_contents_full (path, dsn, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error));
  g_autofree char *loc = g_strconcat ("postgresql:", path, NULL);
  g_autoptr (MugaiStore) nodb = mugai_store_open (loc, MUGAI_STORE_CREATE, &error);
  g_unlink (path);
  g_rmdir (root);
  g_assert_null (nodb);
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO);
  g_assert_null (strstr (error->message, "Sekret"));
}

/* ---- the database goes away --------------------------------------------------- */

static void
test_database_down (Fixture *f, gconstpointer data)
{
  NEED_CLUSTER (f);
  g_autoptr (MugaiStoreEntry) before = add (f, "before", 1795000000);
  cluster (f, "kill");
  g_autoptr (MugaiStoreEntry) e = make_entry ("while down", 1795000010);
  g_autoptr (GBytes) in = original_bytes ();
  g_autoptr (GError) error = NULL;
  /* the milter answers 451 to this */
  g_assert_false (mugai_store_add (f->q, -1, in, e, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_null (mugai_store_list (f->q, NULL, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO);
  g_clear_error (&error);

  /* back: the same handle reconnects, the same message is stored */
  cluster (f, "start");
  g_assert_true (mugai_store_add (f->q, -1, in, e, &error));
  g_assert_no_error (error);

  /* a restart between two calls is not even seen */
  cluster (f, "stop");
  cluster (f, "start");
  g_autoptr (MugaiStoreEntry) after = add (f, "after a restart", 1795000020);
  g_autofree char *all = listed (f->q, NULL);
  g_autofree char *want = ids (before, e, after);
  g_assert_cmpstr (all, ==, want);
  g_autoptr (GBytes) back = read_back (f->q, e->id);
  g_assert_true (g_bytes_equal (back, in));
}

/* ---- threads ------------------------------------------------------------------ */

#define THREADS 32
#define PER_THREAD 4

static gpointer
adder (gpointer data)
{
  Fixture *f = data;
  for (int i = 0; i < PER_THREAD; i++)
    {
      g_autoptr (MugaiStoreEntry) e = make_entry ("thread", 1795000000 + i);
      g_autoptr (GBytes) in = original_bytes ();
      g_autoptr (GError) error = NULL;
      if (!mugai_store_add (f->q, -1, in, e, &error))
        return g_strdup (error->message);
      g_autoptr (MugaiStoreEntry) got = mugai_store_get (f->q, e->id, &error);
      if (!got)
        return g_strdup (error->message);
    }
  return NULL;
}

static void
test_threads (Fixture *f, gconstpointer data)
{
  NEED_CLUSTER (f);
  GThread *t[THREADS];
  for (int i = 0; i < THREADS; i++)
    t[i] = g_thread_new ("adder", adder, f);
  for (int i = 0; i < THREADS; i++)
    {
      g_autofree char *failure = g_thread_join (t[i]);
      g_assert_null (failure);
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = mugai_store_list (f->q, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, THREADS * PER_THREAD);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn)                                                                              \
  g_test_add ("/store-pg/" name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("roundtrip", test_roundtrip);
  ADD ("search", test_search);
  ADD ("states-and-pages", test_states_and_pages);
  ADD ("update", test_update);
  ADD ("purge", test_purge);
  ADD ("unreadable", test_unreadable);
  ADD ("large", test_large);
  ADD ("accounts", test_accounts);
  ADD ("audit-append-only", test_audit_append_only);
  ADD ("schema-version", test_schema_version);
  ADD ("dsn-file", test_dsn_file);
  ADD ("database-down", test_database_down);
  ADD ("threads", test_threads);
#undef ADD
  return g_test_run ();
}
