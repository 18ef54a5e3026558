/*
 * store-list.c - how long the store's list takes at a million entries, per
 *                backend
 *
 * SYNOPSIS
 *	ninja -C build store-list
 *	tests/pgcluster.py run -- build/store-list [-n N] [--file-n N]
 *	        [--only file,sqlite,postgresql] [--runs R]
 *	        [--adds N [--add-size OCTETS]] DIR
 *
 * DESCRIPTION
 *	Fills a store of each backend under DIR (which must be empty or
 *	missing; DIR/file, DIR/sqlite) and the PostgreSQL database of the
 *	DSN file in $MUGAI_TEST_PG_DSN_FILE (what tests/pgcluster.py run
 *	gives its program; without it the postgresql backend is left out)
 *	with N entries (default 1,000,000; the files backend --file-n,
 *	default 100,000, see below), then times mugai_store_list() and
 *	mugai_store_get() on it, each query R times (default 3), and prints
 *	a table (the median, the fastest, the slowest, in milliseconds).
 *
 *	The entries are made from a seeded generator, the same every run:
 *	times spread evenly over the year before now (in time order, as a
 *	node stores them), a sender from 12 local parts at 8 domains, 1 to 3
 *	recipients at a city's domain, a subject from 20 Japanese ones, so
 *	that 請求 is in 2 of 20 (10%) and 見積 in 1 of 20 (5%); 督促 in one
 *	entry of 1000 (0.1%); 該当なし in none (a search that reads every
 *	row); the verdict sanitized (80%), reject (15%) or
 *	hold (5%, the state held); an original of about 400 octets.  No
 *	report (a list does not read it).
 *
 *	How the stores are filled:
 *
 *	    file        mugai_store_add() from 4 threads, every file
 *	                flushed as the backend always does (two files and
 *	                four fsyncs an entry: this is why it gets fewer)
 *	    sqlite      the store made by mugai_store_open(), then the rows
 *	                inserted in one transaction (synchronous = OFF for
 *	                it) with the backend's INSERT and its columns
 *	                computed with the functions it uses
 *	                (mugai_store_entry_to_json() without the report,
 *	                mugai_store_search_fold()); the originals written as
 *	                DIR/sqlite/YYYY-MM-DD/ID.eml (0600, directories
 *	                0700) without a flush each, one syncfs(2) at the end
 *	    postgresql  the same in one transaction (the backend's INSERT
 *	                and columns, the original a binary bytea), then
 *	                ANALYZE, which autovacuum would do on its own
 *
 *	The last 3 entries of each database store are added with
 *	mugai_store_add() instead, and their rows are compared column by
 *	column with what the loader would have written for them: the
 *	program stops (exit 1) when one differs, so the bulk rows are the
 *	backend's own.
 *
 *	With --adds, N more entries are then added to each filled store
 *	through mugai_store_add() with an original of OCTETS random octets
 *	(default 81920, about the harness corpus's mean), from 1 thread and
 *	from 8: what the storer pays per message, flushes included.
 *
 *	Not a test: nothing is asserted about time; bench/RESULTS.md keeps
 *	the figures with the machine they came from.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "quarantine.h"
#include "store-backend.h"

#define SEED 20261204
#define CHECKED 3
#define FILE_THREADS 4
#define YEAR (365 * 24 * 3600)

static const char *const locals[]
    = { "tanaka", "suzuki",  "sato",   "takahashi", "info", "billing",
        "sales",  "noreply", "kyoiku", "keiri",     "somu", "yamamoto" };
static const char *const domains[]
    = { "example.co.jp",      "vendor.example.com", "shop.example.jp",  "pref.example.lg.jp",
        "mail.example.ne.jp", "example.or.jp",      "news.example.com", "kensetsu.example.co.jp" };
static const char *const depts[]
    = { "somu", "keiri", "kyoiku", "hoken", "kikaku", "doboku", "zeimu", "shimin" };
/* 20 subjects: 請求 in 2 (10%), 見積 in 1 (5%); 督促 is drawn apart (0.1%) */
static const char *const subjects[] = {
  "【請求書】%d月分のご請求について",
  "ご請求金額のお知らせ（%d月）",
  "お見積りのご依頼（第%d号）",
  "会議資料の送付について",
  "第%d回 定例会の開催のご案内",
  "Re: 打ち合わせ日程の件",
  "議事録の共有",
  "研修のご案内（%d月）",
  "納品書を送付いたします",
  "【重要】システムメンテナンスのお知らせ",
  "住民説明会の資料",
  "補助金申請書類の確認",
  "契約書（案）の確認依頼",
  "入札公告のお知らせ",
  "Fw: 問い合わせへの回答",
  "広報誌%d月号の原稿",
  "メールマガジン 第%d号",
  "アンケートご協力のお願い",
  "工事完了報告書",
  "年末年始の業務について",
};
#define RARE "督促状の送付について（第%d号）"

typedef struct
{
  MugaiStoreEntry *e;
  GBytes *original;
} Made;

static void
made_clear (Made *m)
{
  g_clear_pointer (&m->e, mugai_store_entry_free);
  g_clear_pointer (&m->original, g_bytes_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Made, made_clear)

/* Entry i of n, from its own generator (the same entry every run, in any
 * thread). */
static Made
make_entry (guint i, guint n, gint64 end)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (SEED ^ (i * 2654435761u));
  MugaiStoreEntry *e = mugai_store_entry_new ();
  gint64 start = end - YEAR;
  e->time = start + (gint64)((double)i * YEAR / n) + g_rand_int_range (r, 0, MAX (1, YEAR / n));
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (e->time);
  g_autofree char *stamp = g_date_time_format (t, "%Y%m%dT%H%M%SZ");
  e->id = g_strdup_printf ("%s-%06x%06x", stamp, g_rand_int (r) & 0xffffff,
                           g_rand_int (r) & 0xffffff);
  e->queue_id = g_strdup_printf ("4%09X", g_rand_int (r) & 0xfffffff);
  e->sender = g_strdup_printf ("%s%u@%s", locals[g_rand_int_range (r, 0, G_N_ELEMENTS (locals))],
                               g_rand_int_range (r, 1, 100),
                               domains[g_rand_int_range (r, 0, G_N_ELEMENTS (domains))]);
  int nr = g_rand_int_range (r, 1, 4);
  for (int k = 0; k < nr; k++)
    g_ptr_array_add (e->recipients,
                     g_strdup_printf ("%s%d@city.example.lg.jp",
                                      depts[g_rand_int_range (r, 0, G_N_ELEMENTS (depts))], k));
  e->client_addr = g_strdup_printf ("192.0.2.%d", g_rand_int_range (r, 1, 255));
  e->client_name = g_strdup_printf ("mx%d.%s", g_rand_int_range (r, 1, 4),
                                    domains[g_rand_int_range (r, 0, G_N_ELEMENTS (domains))]);
  int v = g_rand_int_range (r, 0, 100);
  e->verdict = g_strdup (v < 80 ? "sanitized" : v < 95 ? "reject" : "hold");
  e->status = g_strdup (v < 80   ? "sanitized; removed=1"
                        : v < 95 ? "rejected; virus=Eicar-Signature"
                                 : "held; virus=Eicar-Signature");
  e->message_id = g_strdup_printf ("<%08x.%u@%s>", g_rand_int (r), i, "example.co.jp");
  int month = g_rand_int_range (r, 1, 13);
  const char *pattern = g_rand_int_range (r, 0, 1000) == 0
                            ? RARE
                            : subjects[g_rand_int_range (r, 0, G_N_ELEMENTS (subjects))];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  e->subject = g_strdup_printf (pattern, month);
#pragma GCC diagnostic pop
  e->node = g_strdup ("mx1");
  g_autofree char *body = g_strnfill ((gsize)g_rand_int_range (r, 100, 300), 'x');
  g_autofree char *text = g_strdup_printf ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
                                           "Message-ID: %s\r\nMIME-Version: 1.0\r\n"
                                           "Content-Type: text/plain; charset=UTF-8\r\n\r\n"
                                           "お世話になっております。\r\n%s\r\n",
                                           e->sender, (char *)e->recipients->pdata[0], e->subject,
                                           e->message_id, body);
  return (Made){ e, g_bytes_new (text, strlen (text)) };
}

/* ---- the rows as the database backends write them --------------------------- */

typedef struct
{
  gint64 time, size;
  char *id, *state, *verdict, *sha256, *node, *sender_fold, *recipients_fold, *subject_fold,
      *record;
  GBytes *original;
} Row;

static void
row_clear (Row *w)
{
  g_free (w->id);
  g_free (w->state);
  g_free (w->verdict);
  g_free (w->sha256);
  g_free (w->node);
  g_free (w->sender_fold);
  g_free (w->recipients_fold);
  g_free (w->subject_fold);
  g_free (w->record);
  g_clear_pointer (&w->original, g_bytes_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Row, row_clear)

/* What store-sqlite.c's insert_row() or store-pg.c's pg_add() puts in
 * the row of m: the same functions on the same fields (pg: recipients
 * joined by "\n", sqlite: each followed by one; verdict and node made
 * valid UTF-8 by pg, which changes nothing here). */
static Row
row_of (const Made *m, gboolean pg)
{
  Row w = { 0 };
  gsize len = 0;
  const guint8 *octets = g_bytes_get_data (m->original, &len);
  MugaiStoreEntry meta = *m->e;
  meta.size = len;
  meta.sha256 = w.sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, octets, len);
  meta.state = mugai_store_initial_state (m->e->verdict);
  meta.report = NULL;
  w.id = g_strdup (meta.id);
  w.time = meta.time;
  w.size = (gint64)len;
  w.state = g_strdup (mugai_store_state_name (meta.state));
  w.verdict = g_strdup (meta.verdict);
  w.node = g_strdup (meta.node);
  w.record = mugai_store_entry_to_json (&meta, FALSE);
  w.sender_fold = mugai_store_search_fold (meta.sender);
  w.subject_fold = mugai_store_search_fold (meta.subject);
  g_autoptr (GString) rc = g_string_new (NULL);
  for (guint i = 0; i < meta.recipients->len; i++)
    {
      g_autofree char *f = mugai_store_search_fold (meta.recipients->pdata[i]);
      if (pg && i > 0)
        g_string_append_c (rc, '\n');
      g_string_append (rc, f);
      if (!pg)
        g_string_append_c (rc, '\n');
    }
  w.recipients_fold = g_string_free (g_steal_pointer (&rc), FALSE);
  w.original = g_bytes_ref (m->original);
  return w;
}

/* The columns compared, in the order of both backends' INSERT (report
 * left out: NULL here, and the original: pg only, compared apart). */
#define COLUMNS                                                                                    \
  "id, time, state, verdict, size, sha256, node, sender_fold, recipients_fold,"                    \
  " subject_fold, record"

static void
row_texts (const Row *w, const char *out[11], char ints[2][24])
{
  g_snprintf (ints[0], 24, "%" G_GINT64_FORMAT, w->time);
  g_snprintf (ints[1], 24, "%" G_GINT64_FORMAT, w->size);
  const char *v[11]
      = { w->id,   ints[0],        w->state,           w->verdict,      ints[1],  w->sha256,
          w->node, w->sender_fold, w->recipients_fold, w->subject_fold, w->record };
  memcpy (out, v, sizeof v);
}

static const char *const column_names[11]
    = { "id",   "time",        "state",           "verdict",      "size",  "sha256",
        "node", "sender_fold", "recipients_fold", "subject_fold", "record" };

static gboolean
same (const char *what, const char *id, const char *const want[11], const char *const got[11])
{
  for (int c = 0; c < 11; c++)
    if (g_strcmp0 (want[c], got[c]) != 0)
      {
        fprintf (stderr,
                 "store-list: %s: %s: column %s differs from mugai_store_add's:\n"
                 "  loader: %s\n  add:    %s\n",
                 what, id, column_names[c], want[c] ? want[c] : "NULL", got[c] ? got[c] : "NULL");
        return FALSE;
      }
  return TRUE;
}

/* ---- filling ------------------------------------------------------------------ */

static double
now_s (void)
{
  return (double)g_get_monotonic_time () / G_USEC_PER_SEC;
}

static void
die (const char *what, GError *error)
{
  fprintf (stderr, "store-list: %s: %s\n", what, error ? error->message : "failed");
  exit (1);
}

static void
add_through_api (MugaiStore *q, guint from, guint to, guint n, gint64 end)
{
  for (guint i = from; i < to; i++)
    {
      g_auto (Made) m = make_entry (i, n, end);
      g_autoptr (GError) error = NULL;
      if (!mugai_store_add (q, -1, m.original, m.e, &error))
        die ("add", error);
    }
}

typedef struct
{
  MugaiStore *q;
  guint n, part;
  gint64 end;
} FileJob;

static gpointer
file_thread (gpointer data)
{
  FileJob *j = data;
  for (guint i = j->part; i < j->n; i += FILE_THREADS)
    {
      g_auto (Made) m = make_entry (i, j->n, j->end);
      g_autoptr (GError) error = NULL;
      if (!mugai_store_add (j->q, -1, m.original, m.e, &error))
        die ("add", error);
    }
  return NULL;
}

static void
fill_file (const char *location, guint n, gint64 end)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_CREATE, &error);
  if (!q)
    die (location, error);
  FileJob jobs[FILE_THREADS];
  GThread *threads[FILE_THREADS];
  for (guint t = 0; t < FILE_THREADS; t++)
    {
      jobs[t] = (FileJob){ q, n, t, end };
      threads[t] = g_thread_new ("add", file_thread, &jobs[t]);
    }
  for (guint t = 0; t < FILE_THREADS; t++)
    g_thread_join (threads[t]);
}

/* DIR/YYYY-MM-DD/ID.eml as the originals' writer names it, without its
 * flushes (one syncfs at the end). */
static void
write_original_fast (const char *dir, const char *id, GBytes *octets, GHashTable *days)
{
  char day[11];
  g_snprintf (day, sizeof day, "%.4s-%.2s-%.2s", id, id + 4, id + 6);
  g_autofree char *dpath = g_build_filename (dir, day, NULL);
  if (!g_hash_table_contains (days, day))
    {
      if (mkdir (dpath, 0700) != 0 && errno != EEXIST)
        {
          fprintf (stderr, "store-list: %s: %s\n", dpath, g_strerror (errno));
          exit (1);
        }
      g_hash_table_add (days, g_strdup (day));
    }
  g_autofree char *name = g_strconcat (dpath, "/", id, ".eml", NULL);
  int fd = open (name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  gsize len;
  const char *p = g_bytes_get_data (octets, &len);
  if (fd < 0 || write (fd, p, len) != (ssize_t)len || close (fd) != 0)
    {
      fprintf (stderr, "store-list: %s: %s\n", name, g_strerror (errno));
      exit (1);
    }
}

static void
sq_check (sqlite3 *db, int rc, const char *what)
{
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      fprintf (stderr, "store-list: sqlite: %s: %s\n", what, sqlite3_errmsg (db));
      exit (1);
    }
}

static void
fill_sqlite (const char *dir, guint n, gint64 end)
{
  g_autofree char *location = g_strconcat ("sqlite:", dir, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_CREATE, &error);
  if (!q)
    die (location, error);
  g_autofree char *path = g_build_filename (dir, "index.sqlite", NULL);
  sqlite3 *db = NULL;
  sq_check (db, sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), "open");
  sqlite3_busy_timeout (db, 10000);
  sq_check (db, sqlite3_exec (db, "PRAGMA synchronous = OFF; BEGIN", NULL, NULL, NULL), "begin");
  sqlite3_stmt *st = NULL;
  /* store-sqlite.c insert_row()'s statement */
  sq_check (db,
            sqlite3_prepare_v2 (db,
                                "INSERT INTO entries (id, time, state, verdict, size, sha256, node,"
                                " sender_fold, recipients_fold, subject_fold, record, report)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                                -1, &st, NULL),
            "prepare");
  g_autoptr (GHashTable) days = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < n - CHECKED; i++)
    {
      g_auto (Made) m = make_entry (i, n, end);
      g_auto (Row) w = row_of (&m, FALSE);
      write_original_fast (dir, w.id, w.original, days);
      sqlite3_reset (st);
      sqlite3_bind_text (st, 1, w.id, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (st, 2, w.time);
      sqlite3_bind_text (st, 3, w.state, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 4, w.verdict, -1, SQLITE_STATIC);
      sqlite3_bind_int64 (st, 5, w.size);
      sqlite3_bind_text (st, 6, w.sha256, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 7, w.node, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 8, w.sender_fold, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 9, w.recipients_fold, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 10, w.subject_fold, -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 11, w.record, -1, SQLITE_STATIC);
      sqlite3_bind_null (st, 12);
      sq_check (db, sqlite3_step (st), "insert");
    }
  sqlite3_finalize (st);
  sq_check (db, sqlite3_exec (db, "COMMIT", NULL, NULL, NULL), "commit");
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || syncfs (dfd) != 0)
    {
      fprintf (stderr, "store-list: syncfs %s: %s\n", dir, g_strerror (errno));
      exit (1);
    }
  close (dfd);

  /* the last ones through the backend, compared with the loader's rows */
  add_through_api (q, n - CHECKED, n, n, end);
  sq_check (db,
            sqlite3_prepare_v2 (db, "SELECT " COLUMNS " FROM entries WHERE id = ?1", -1, &st, NULL),
            "prepare");
  for (guint i = n - CHECKED; i < n; i++)
    {
      g_auto (Made) m = make_entry (i, n, end);
      g_auto (Row) w = row_of (&m, FALSE);
      const char *want[11], *got[11];
      char ints[2][24];
      row_texts (&w, want, ints);
      sqlite3_reset (st);
      sqlite3_bind_text (st, 1, w.id, -1, SQLITE_STATIC);
      if (sqlite3_step (st) != SQLITE_ROW)
        {
          fprintf (stderr, "store-list: sqlite: %s not found after add\n", w.id);
          exit (1);
        }
      for (int c = 0; c < 11; c++)
        got[c] = (const char *)sqlite3_column_text (st, c);
      if (!same ("sqlite", w.id, want, got))
        exit (1);
    }
  sqlite3_finalize (st);
  sqlite3_close (db);
}

static char *
read_dsn (const char *dsn_file)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (dsn_file, &text, NULL, &error))
    die (dsn_file, error);
  g_autoptr (GString) out = g_string_new (NULL);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++)
    if (**l && **l != '#')
      g_string_append_printf (out, "%s%s", out->len ? " " : "", *l);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static PGresult *
pg_ok (PGconn *c, PGresult *r, const char *what)
{
  ExecStatusType s = PQresultStatus (r);
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
    {
      fprintf (stderr, "store-list: postgresql: %s: %s", what, PQerrorMessage (c));
      exit (1);
    }
  return r;
}

static void
fill_pg (const char *dsn_file, guint n, gint64 end)
{
  g_autofree char *location = g_strconcat ("postgresql:", dsn_file, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_CREATE, &error);
  if (!q)
    die (location, error);
  g_autofree char *dsn = read_dsn (dsn_file);
  PGconn *c = PQconnectdb (dsn);
  if (PQstatus (c) != CONNECTION_OK)
    {
      fprintf (stderr, "store-list: postgresql: %s", PQerrorMessage (c));
      exit (1);
    }
  PQclear (pg_ok (c, PQexec (c, "SET client_encoding = 'UTF8'"), "encoding"));
  PQclear (pg_ok (c, PQexec (c, "BEGIN"), "begin"));
  /* store-pg.c add_op()'s statement */
  PQclear (pg_ok (c,
                  PQprepare (c, "add",
                             "INSERT INTO entries (id, time, state, verdict, size, sha256, node, "
                             "sender_fold, recipients_fold, subject_fold, record, report, "
                             "original) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                             "$12, $13)",
                             13, NULL),
                  "prepare"));
  for (guint i = 0; i < n - CHECKED; i++)
    {
      g_auto (Made) m = make_entry (i, n, end);
      g_auto (Row) w = row_of (&m, TRUE);
      const char *v[13];
      char ints[2][24];
      row_texts (&w, v, ints);
      v[11] = NULL; /* report */
      gsize len;
      v[12] = g_bytes_get_data (w.original, &len);
      int lengths[13] = { 0 };
      lengths[12] = (int)len;
      int formats[13] = { 0 };
      formats[12] = 1;
      PQclear (pg_ok (c, PQexecPrepared (c, "add", 13, v, lengths, formats, 0), "insert"));
    }
  PQclear (pg_ok (c, PQexec (c, "COMMIT"), "commit"));
  PQclear (pg_ok (c, PQexec (c, "ANALYZE entries"), "analyze"));

  add_through_api (q, n - CHECKED, n, n, end);
  for (guint i = n - CHECKED; i < n; i++)
    {
      g_auto (Made) m = make_entry (i, n, end);
      g_auto (Row) w = row_of (&m, TRUE);
      const char *want[11], *got[11];
      char ints[2][24];
      row_texts (&w, want, ints);
      const char *k[1] = { w.id };
      PGresult *r
          = pg_ok (c,
                   PQexecParams (c, "SELECT " COLUMNS ", original FROM entries WHERE id = $1", 1,
                                 NULL, k, NULL, NULL, 1),
                   "select");
      if (PQntuples (r) != 1)
        {
          fprintf (stderr, "store-list: postgresql: %s not found after add\n", w.id);
          exit (1);
        }
      /* binary results: the text columns are their octets; time and size
       * int8 in network order */
      char got_ints[2][24];
      for (int col = 0; col < 11; col++)
        {
          if (col == 1 || col == 4)
            {
              const guint8 *b = (const guint8 *)PQgetvalue (r, 0, col);
              guint64 x = 0;
              for (int o = 0; o < 8; o++)
                x = x << 8 | b[o];
              g_snprintf (got_ints[col == 1 ? 0 : 1], 24, "%" G_GINT64_FORMAT, (gint64)x);
              got[col] = got_ints[col == 1 ? 0 : 1];
            }
          else
            got[col] = PQgetisnull (r, 0, col) ? NULL : PQgetvalue (r, 0, col);
        }
      gsize len;
      const void *octets = g_bytes_get_data (w.original, &len);
      gboolean ok = same ("postgresql", w.id, want, got) && (gsize)PQgetlength (r, 0, 11) == len
                    && memcmp (PQgetvalue (r, 0, 11), octets, len) == 0;
      PQclear (r);
      if (!ok)
        {
          fprintf (stderr, "store-list: postgresql: %s: the row differs\n", w.id);
          exit (1);
        }
    }
  PQfinish (c);
}

/* ---- timing ------------------------------------------------------------------- */

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct
{
  const char *name;
  MugaiStoreFilter filter;
  gboolean get; /* mugai_store_get() of an entry in the middle */
} Query;

static void
time_store (const char *backend, const char *location, guint n, guint runs, gint64 end)
{
  g_autoptr (GError) error = NULL;
  double t0 = now_s ();
  g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_EXISTING, &error);
  if (!q)
    die (location, error);
  double opened = now_s () - t0;
  g_auto (Made) middle = make_entry (n / 2, n, end);
  gint64 week = end - 7 * 24 * 3600;
  const Query queries[] = {
    { "newest 50", { .limit = 50, .newest_first = TRUE } },
    { "oldest 50", { .limit = 50 } },
    { "subject 請求, newest 50", { .subject = "請求", .limit = 50, .newest_first = TRUE } },
    { "subject 見積, newest 50", { .subject = "見積", .limit = 50, .newest_first = TRUE } },
    { "subject 督促 (0.1%), newest 50", { .subject = "督促", .limit = 50, .newest_first = TRUE } },
    { "subject 該当なし (no entry), newest 50",
      { .subject = "該当なし", .limit = 50, .newest_first = TRUE } },
    { "subject 請求, all (count)", { .subject = "請求" } },
    { "subject 見積, all (count)", { .subject = "見積" } },
    { "subject 請求, last 7 days", { .subject = "請求", .since = week, .newest_first = TRUE } },
    { "sender tanaka, newest 50", { .sender = "tanaka", .limit = 50, .newest_first = TRUE } },
    { "recipient zeimu, newest 50", { .recipient = "zeimu", .limit = 50, .newest_first = TRUE } },
    { "state held, newest 50",
      { .states = 1u << MUGAI_STORE_STATE_HELD, .limit = 50, .newest_first = TRUE } },
    { "state held, all (count)", { .states = 1u << MUGAI_STORE_STATE_HELD } },
    { "get (an id)", { 0 }, TRUE },
  };
  printf ("%s: %u entries, open %.1f ms\n", backend, n, opened * 1000);
  printf ("| backend | entries | query | matches | median | fastest | slowest |\n");
  printf ("|---|---:|---|---:|---:|---:|---:|\n");
  for (gsize k = 0; k < G_N_ELEMENTS (queries); k++)
    {
      g_autofree double *t = g_new (double, runs);
      guint matches = 0;
      for (guint r = 0; r < runs; r++)
        {
          double a = now_s ();
          if (queries[k].get)
            {
              g_autoptr (MugaiStoreEntry) e = mugai_store_get (q, middle.e->id, &error);
              if (!e)
                die ("get", error);
              matches = 1;
            }
          else
            {
              g_autoptr (GPtrArray) l = mugai_store_list (q, &queries[k].filter, &error);
              if (!l)
                die ("list", error);
              matches = l->len;
            }
          t[r] = now_s () - a;
        }
      qsort (t, runs, sizeof *t, (int (*) (const void *, const void *))cmp_double);
      printf ("| %s | %u | %s | %u | %.1f ms | %.1f ms | %.1f ms |\n", backend, n, queries[k].name,
              matches, t[runs / 2] * 1000, t[0] * 1000, t[runs - 1] * 1000);
      fflush (stdout);
    }
  printf ("\n");
}

/* ---- adds: what the storer pays per message ----------------------------------- */

typedef struct
{
  MugaiStore *q;
  GBytes *original;
  guint from, n, step, total;
  gint64 end;
} AddJob;

static gpointer
add_thread (gpointer data)
{
  AddJob *j = data;
  for (guint i = j->from; i < j->n; i += j->step)
    {
      /* ids apart from the filled ones: entry numbers past them */
      g_auto (Made) m = make_entry (j->total + i, j->total + j->n, j->end);
      g_autoptr (GError) error = NULL;
      if (!mugai_store_add (j->q, -1, j->original, m.e, &error))
        die ("add", error);
    }
  return NULL;
}

/* adds originals of size octets through mugai_store_add() into the
 * filled store, from 1 and from 8 threads (the storer's are the pool's
 * sessions finishing together), and prints adds per second */
static void
time_adds (const char *backend, const char *location, guint adds, guint size, guint total,
           gint64 end)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_CREATE, &error);
  if (!q)
    die (location, error);
  g_autofree guint8 *octets = g_malloc (size);
  g_autoptr (GRand) r = g_rand_new_with_seed (SEED);
  for (guint i = 0; i < size; i++)
    octets[i] = (guint8)g_rand_int (r);
  g_autoptr (GBytes) original = g_bytes_new_take (g_steal_pointer (&octets), size);
  static const guint thread_counts[] = { 1, 8 };
  printf ("| backend | original | threads | adds | took | rate | per add |\n");
  printf ("|---|---:|---:|---:|---:|---:|---:|\n");
  for (gsize k = 0; k < G_N_ELEMENTS (thread_counts); k++)
    {
      guint t = thread_counts[k];
      g_autofree GThread **threads = g_new (GThread *, t);
      g_autofree AddJob *jobs = g_new (AddJob, t);
      /* each round its own entry numbers */
      guint base = total + (guint)k * adds;
      double a = now_s ();
      for (guint i = 0; i < t; i++)
        {
          jobs[i] = (AddJob){ q, original, i, adds, t, base, end };
          threads[i] = g_thread_new ("add", add_thread, &jobs[i]);
        }
      for (guint i = 0; i < t; i++)
        g_thread_join (threads[i]);
      double took = now_s () - a;
      printf ("| %s | %u octets | %u threads | %u adds | %.1f s | %.0f adds/s | %.2f ms/add |\n",
              backend, size, t, adds, took, adds / took, took * 1000 / adds);
      fflush (stdout);
    }
  printf ("\n");
}

int
main (int argc, char **argv)
{
  gint n = 1000000, file_n = 100000, runs = 3, adds = 0, add_size = 81920;
  g_autofree char *only = NULL;
  GOptionEntry entries[] = {
    { "n", 'n', 0, G_OPTION_ARG_INT, &n, "Entries in each database store", "N" },
    { "file-n", 0, 0, G_OPTION_ARG_INT, &file_n, "Entries in the files backend's store", "N" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "Backends, comma-separated", "LIST" },
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Times each query is run", "R" },
    { "adds", 0, 0, G_OPTION_ARG_INT, &adds, "Then time N adds (1 and 8 threads)", "N" },
    { "add-size", 0, 0, G_OPTION_ARG_INT, &add_size, "Octets of each added original", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2 || n <= CHECKED
      || file_n <= 0 || runs <= 0 || adds < 0 || add_size <= 0)
    {
      fprintf (stderr, "usage: store-list [-n N] [--file-n N] [--only LIST] [--runs R] [--adds N "
                       "[--add-size OCTETS]] DIR\n");
      return 64;
    }
  const char *dir = argv[1];
  g_auto (GStrv) want = g_strsplit (only ? only : "file,sqlite,postgresql", ",", -1);
  const char *dsn_file = g_getenv ("MUGAI_TEST_PG_DSN_FILE");
  if (g_strv_contains ((const char *const *)want, "postgresql") && !dsn_file)
    fprintf (stderr, "store-list: no MUGAI_TEST_PG_DSN_FILE (run under tests/pgcluster.py run "
                     "--): postgresql left out\n");
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      fprintf (stderr, "store-list: %s: %s\n", dir, g_strerror (errno));
      return 1;
    }
  gint64 end = g_get_real_time () / G_USEC_PER_SEC - 3600;
  struct
  {
    const char *name;
    guint n;
  } plan[] = { { "file", (guint)file_n }, { "sqlite", (guint)n }, { "postgresql", (guint)n } };
  for (gsize b = 0; b < G_N_ELEMENTS (plan); b++)
    {
      if (!g_strv_contains ((const char *const *)want, plan[b].name))
        continue;
      g_autofree char *sub = g_build_filename (dir, plan[b].name, NULL);
      g_autofree char *location = NULL;
      double t0 = now_s ();
      if (b == 0)
        {
          location = g_strconcat ("file:", sub, NULL);
          fill_file (location, plan[b].n, end);
        }
      else if (b == 1)
        {
          if (g_mkdir_with_parents (sub, 0700) != 0)
            {
              fprintf (stderr, "store-list: %s: %s\n", sub, g_strerror (errno));
              return 1;
            }
          location = g_strconcat ("sqlite:", sub, NULL);
          fill_sqlite (sub, plan[b].n, end);
        }
      else
        {
          if (!dsn_file)
            continue;
          location = g_strconcat ("postgresql:", dsn_file, NULL);
          fill_pg (dsn_file, plan[b].n, end);
        }
      printf ("%s: filled with %u entries in %.1f s%s\n", plan[b].name, plan[b].n, now_s () - t0,
              b == 0 ? "" : " (the last 3 through mugai_store_add, rows identical)");
      fflush (stdout);
      time_store (plan[b].name, location, plan[b].n, (guint)runs, end);
      if (adds > 0)
        time_adds (plan[b].name, location, (guint)adds, (guint)add_size, plan[b].n, end);
    }
  return 0;
}
