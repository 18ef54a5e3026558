/*
 * store-sqlite.c - the sqlite backend of the store: an index in SQLite,
 *                  the originals as files
 *
 * SYNOPSIS
 *	store = mugai_store_open ("sqlite:/var/lib/mugai/quarantine", ...);
 *	        ([quarantine] backend = sqlite, the default; quarantine.h)
 *
 * DESCRIPTION
 *	The originals are where the files backend keeps them, written the
 *	same way (store-file.c, "the originals as files"):
 *
 *		DIR/YYYY-MM-DD/ID.eml	the original, octet for octet
 *		DIR/index.sqlite	every entry's record, its state, its
 *					workflow; the accounts; the schema
 *					version
 *
 *	The database is the truth about entries: an entry exists when its
 *	row does.  A row is committed only after its original is durable,
 *	so a crash in between leaves an .eml that no row names: invisible,
 *	and swept an hour later by purge.  Purge deletes the row first and
 *	the file second, so there is never a row without its original.
 *
 *	Durability: WAL with synchronous = FULL, so a COMMIT returns once
 *	the WAL is fsync'ed (https://sqlite.org/pragma.html#pragma_synchronous).
 *	The database and its -wal and -shm files are 0600 (SQLite gives
 *	its journals the mode of the database file, which is made 0600
 *	before SQLite opens it).
 *
 *	A row keeps the entry's JSON record (mugai_store_entry_to_json(),
 *	without the report, which has a column of its own: a list reads
 *	the records only) beside the columns that list searches: time,
 *	state, verdict, and the folded sender, recipients and subject
 *	(mugai_store_search_fold()), searched with instr(): a substring, so
 *	that a word of two characters (請求) is found.  No index helps a
 *	substring: a search reads every row of the time range asked, in
 *	time order, and stops at the limit (bench/RESULTS.md measures a
 *	million).
 *
 *	An update (the release workflow) is BEGIN IMMEDIATE, a read of the
 *	state, and the new record only if the state is still the one the
 *	change was made from: two commands, or two nodes' portals, cannot
 *	both approve the last step.
 *
 *	Upgrades: a directory of the files backend (day directories with
 *	.json records and no index) is refused, never indexed silently:
 *	`mugai quarantine reindex` does it (reindex.c).  A database of
 *	another schema version is refused with SCHEMA (`mugai quarantine
 *	migrate`).
 *
 * THREADS
 *	One connection per handle, every use of it under the handle's lock
 *	(the storer's threads; SQLite is compiled serialized in Debian, but a
 *	transaction spans several calls).  Other processes (the command,
 *	while the storer runs) open their own connection: WAL lets them read
 *	while the storer writes; a writer waits up to BUSY_MS for another.
 *
 * ERRORS
 *	MUGAI_STORE_ERROR naming the database: IO for what SQLite reports
 *	(with its words), EXISTS for an id taken, CORRUPT for a record that
 *	cannot be read, SCHEMA as above.
 */
#include "store-backend.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "report.h"

#define INDEX_NAME "index.sqlite"
#define SCHEMA_VERSION 1
#define BUSY_MS 10000

typedef struct
{
  gpointer originals;
  char *path; /* of the database, for messages */
  sqlite3 *db;
  GMutex lock;
  guint found_version;
} SqliteStore;

static const char schema_sql[]
    = "CREATE TABLE mugai_schema (version INTEGER NOT NULL);"
      "CREATE TABLE entries ("
      " id TEXT PRIMARY KEY, time INTEGER NOT NULL, state TEXT NOT NULL, verdict TEXT,"
      " size INTEGER NOT NULL, sha256 TEXT, node TEXT,"
      " sender_fold TEXT, recipients_fold TEXT, subject_fold TEXT,"
      " record TEXT NOT NULL, report TEXT);"
      "CREATE INDEX entries_time ON entries (time, id);"
      "CREATE INDEX entries_state ON entries (state, time);"
      "CREATE TABLE accounts ("
      " name TEXT PRIMARY KEY, role TEXT NOT NULL, unix_user TEXT UNIQUE, password TEXT,"
      " created INTEGER NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);"
      "CREATE TABLE audit_checkpoint ("
      " node TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL, at INTEGER NOT NULL);";

/* ---- errors ----------------------------------------------------------------- */

static gboolean
fail (SqliteStore *s, GError **error, int rc, const char *what)
{
  int code = (rc & 0xff) == SQLITE_CONSTRAINT ? MUGAI_STORE_ERROR_EXISTS
             : (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB
                 ? MUGAI_STORE_ERROR_CORRUPT
                 : MUGAI_STORE_ERROR_IO;
  g_set_error (error, MUGAI_STORE_ERROR, code, "%s: %s: %s", s->path, what,
               s->db ? sqlite3_errmsg (s->db) : sqlite3_errstr (rc));
  return FALSE;
}

static gboolean
exec (SqliteStore *s, const char *sql, GError **error)
{
  int rc = sqlite3_exec (s->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK || fail (s, error, rc, sql);
}

static sqlite3_stmt *
prepare (SqliteStore *s, const char *sql, GError **error)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2 (s->db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK)
    {
      fail (s, error, rc, "prepare");
      return NULL;
    }
  return st;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

static void
bind_text (sqlite3_stmt *st, int i, const char *text)
{
  if (text)
    sqlite3_bind_text (st, i, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (st, i);
}

static void
rollback (SqliteStore *s)
{
  sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- opening ---------------------------------------------------------------- */

/* TRUE when dir holds day directories with .json records: a store of
 * the files backend, which must be indexed on purpose. */
static gboolean
holds_file_records (int dirfd)
{
  g_autoptr (GDir) top = NULL;
  g_autofree char *self = g_strdup_printf ("/proc/self/fd/%d", dirfd);
  top = g_dir_open (self, 0, NULL);
  const char *day;
  while (top && (day = g_dir_read_name (top)))
    {
      if (strlen (day) != 10 || day[4] != '-')
        continue;
      g_autofree char *path = g_build_filename (self, day, NULL);
      g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)))
        if (g_str_has_suffix (name, ".json") && name[0] != '.')
          return TRUE;
    }
  return FALSE;
}

static guint
read_version (SqliteStore *s)
{
  g_autoptr (sqlite3_stmt) st = prepare (s, "SELECT version FROM mugai_schema", NULL);
  if (st && sqlite3_step (st) == SQLITE_ROW)
    return (guint)sqlite3_column_int (st, 0);
  return 0;
}

static void
sqlite_close (gpointer handle)
{
  SqliteStore *s = handle;
  if (s->db)
    sqlite3_close_v2 (s->db);
  if (s->originals)
    mugai_originals_close (s->originals);
  g_mutex_clear (&s->lock);
  g_free (s->path);
  g_free (s);
}

static gboolean create_schema (SqliteStore *s, GError **error);

/* files_store: reindex, the one that may index a files backend's store */
static SqliteStore *
open_index (const char *dir, MugaiStoreMode mode, gboolean files_store, GError **error)
{
  gpointer originals = mugai_originals_open (dir, mode, error);
  if (!originals)
    return NULL;
  SqliteStore *s = g_new0 (SqliteStore, 1);
  g_mutex_init (&s->lock);
  s->originals = originals;
  s->path = g_build_filename (dir, INDEX_NAME, NULL);
  int dirfd = mugai_originals_dirfd (originals);
  struct stat st;
  gboolean exists = fstatat (dirfd, INDEX_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !S_ISREG (st.st_mode))
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT, "%s: not a regular file",
                   s->path);
      sqlite_close (s);
      return NULL;
    }
  if (!exists && !files_store && holds_file_records (dirfd))
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_SCHEMA,
                   "%s holds a store of the files backend and no index: run `mugai quarantine "
                   "reindex` (with mugai-milter stopped) before using it with backend = sqlite",
                   dir);
      sqlite_close (s);
      return NULL;
    }
  if (!exists && mode != MUGAI_STORE_CREATE)
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND,
                   "%s: no quarantine index here (nothing stored yet, or another backend)",
                   s->path);
      sqlite_close (s);
      return NULL;
    }
  if (!exists)
    {
      /* 0600 before SQLite sees it: its journals take this mode */
      int fd
          = openat (dirfd, INDEX_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0 && errno != EEXIST)
        {
          g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO, "%s: %s", s->path,
                       g_strerror (errno));
          sqlite_close (s);
          return NULL;
        }
      if (fd >= 0)
        close (fd);
    }
  int rc = sqlite3_open_v2 (
      s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
  if (rc != SQLITE_OK && mode != MUGAI_STORE_CREATE)
    {
      /* the command on a read-only copy: list and show still work */
      sqlite3_close_v2 (s->db);
      s->db = NULL;
      rc = sqlite3_open_v2 (s->path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, NULL);
    }
  if (rc != SQLITE_OK)
    {
      fail (s, error, rc, "open");
      sqlite_close (s);
      return NULL;
    }
  sqlite3_busy_timeout (s->db, BUSY_MS);
  sqlite3_extended_result_codes (s->db, 1);
  if (!exec (s, "PRAGMA journal_mode = WAL", NULL) && mode == MUGAI_STORE_CREATE)
    {
      fail (s, error, SQLITE_IOERR, "journal_mode = WAL");
      sqlite_close (s);
      return NULL;
    }
  if (!exec (s, "PRAGMA synchronous = FULL", error))
    {
      sqlite_close (s);
      return NULL;
    }
  s->found_version = read_version (s);
  if (s->found_version == 0 && mode == MUGAI_STORE_CREATE)
    create_schema (s, NULL);
  if (s->found_version != SCHEMA_VERSION && mode != MUGAI_STORE_MIGRATE)
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_SCHEMA,
                   "%s: schema version %u, this mugai uses %d: %s", s->path, s->found_version,
                   SCHEMA_VERSION,
                   s->found_version > SCHEMA_VERSION
                       ? "it was written by a newer mugai"
                       : "run `mugai quarantine migrate` (with mugai-milter stopped)");
      sqlite_close (s);
      return NULL;
    }
  return s;
}

static gboolean
create_schema (SqliteStore *s, GError **error)
{
  g_autofree char *sql
      = g_strdup_printf ("BEGIN IMMEDIATE; %s INSERT INTO mugai_schema VALUES (%d); COMMIT",
                         schema_sql, SCHEMA_VERSION);
  /* another process may have made it in the meantime */
  gboolean ok = exec (s, sql, error);
  if (!ok)
    rollback (s);
  s->found_version = read_version (s);
  return ok || s->found_version == SCHEMA_VERSION;
}

static gpointer
sqlite_open (const char *dir, MugaiStoreMode mode, GError **error)
{
  return open_index (dir, mode, FALSE, error);
}

static gboolean
sqlite_migrate (gpointer handle, GError **error)
{
  SqliteStore *s = handle;
  /* version 1 is the first: an index without tables (made by a start
   * that failed halfway) is given them; later versions add their steps
   * here, each in a transaction of its own */
  if (s->found_version == 0)
    return create_schema (s, error);
  g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_SCHEMA,
               "%s: no way from schema version %u to %d known to this mugai", s->path,
               s->found_version, SCHEMA_VERSION);
  return FALSE;
}

/* ---- entries ---------------------------------------------------------------- */

/* The folded recipients, one per line, for instr(). */
static char *
fold_recipients (const MugaiStoreEntry *e)
{
  g_autoptr (GString) all = g_string_new (NULL);
  for (guint i = 0; e->recipients && i < e->recipients->len; i++)
    {
      g_autofree char *f = mugai_store_search_fold (e->recipients->pdata[i]);
      g_string_append (all, f);
      g_string_append_c (all, '\n');
    }
  return g_string_free (g_steal_pointer (&all), FALSE);
}

static char *
fold_or_null (const char *text)
{
  return text ? mugai_store_search_fold (text) : NULL;
}

/* The record as a row keeps it: the entry's JSON without the report. */
static char *
record_of (const MugaiStoreEntry *e)
{
  MugaiStoreEntry bare = *e;
  bare.report = NULL;
  return mugai_store_entry_to_json (&bare, FALSE);
}

/* The row of e (its size, sha256, time and state final), under the lock;
 * one statement is its own transaction, durable (synchronous = FULL)
 * when it returns. */
static gboolean
insert_row (SqliteStore *s, const MugaiStoreEntry *e, GError **error)
{
  g_autofree char *record = record_of (e);
  g_autofree char *report = e->report ? mugai_report_node_to_text (e->report) : NULL;
  g_autofree char *sender = fold_or_null (e->sender);
  g_autofree char *rcpts = fold_recipients (e);
  g_autofree char *subject = fold_or_null (e->subject);
  g_autoptr (sqlite3_stmt) st
      = prepare (s,
                 "INSERT INTO entries (id, time, state, verdict, size, sha256, node,"
                 " sender_fold, recipients_fold, subject_fold, record, report)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                 error);
  if (!st)
    return FALSE;
  bind_text (st, 1, e->id);
  sqlite3_bind_int64 (st, 2, e->time);
  bind_text (st, 3, mugai_store_state_name (e->state));
  bind_text (st, 4, e->verdict);
  sqlite3_bind_int64 (st, 5, (sqlite3_int64)e->size);
  bind_text (st, 6, e->sha256);
  bind_text (st, 7, e->node);
  bind_text (st, 8, sender);
  bind_text (st, 9, rcpts);
  bind_text (st, 10, subject);
  bind_text (st, 11, record);
  bind_text (st, 12, report);
  int rc = sqlite3_step (st);
  return rc == SQLITE_DONE || fail (s, error, rc, "insert");
}

static gboolean
sqlite_add (gpointer handle, int fd, GBytes *data, const MugaiStoreEntry *entry, GError **error)
{
  SqliteStore *s = handle;
  gsize stored = 0;
  g_autofree char *sha256 = NULL;
  /* 1. the original, durable, before anything names it */
  if (!mugai_originals_write (s->originals, entry->id, fd, data, &stored, &sha256, error))
    return FALSE;
  MugaiStoreEntry meta = *entry;
  meta.size = stored;
  meta.sha256 = sha256;
  meta.state = mugai_store_initial_state (entry->verdict);
  if (meta.time == 0)
    meta.time = g_get_real_time () / G_USEC_PER_SEC;

  /* 2. the row, which makes the entry visible once committed */
  g_autoptr (GError) local = NULL;
  g_mutex_lock (&s->lock);
  gboolean ok = insert_row (s, &meta, &local);
  g_mutex_unlock (&s->lock);
  if (!ok)
    {
      /* nothing of it remains: the original goes with the row that
       * could not be written (not when the id was taken: that file is
       * the other entry's, which write refused to replace) */
      if (!g_error_matches (local, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS))
        mugai_originals_remove (s->originals, entry->id, NULL);
      g_propagate_error (error, g_steal_pointer (&local));
    }
  return ok;
}

/* The entry of a row (id, time, record): an unreadable record is still
 * an entry, "unreadable", so that nothing stored is invisible. */
static MugaiStoreEntry *
entry_of_row (SqliteStore *s, sqlite3_stmt *st, GError **error)
{
  const char *id = (const char *)sqlite3_column_text (st, 0);
  gint64 time = sqlite3_column_int64 (st, 1);
  const char *record = (const char *)sqlite3_column_text (st, 2);
  int len = sqlite3_column_bytes (st, 2);
  g_autofree char *where = g_strdup_printf ("%s: %s", s->path, id ? id : "?");
  MugaiStoreEntry *e
      = record && id ? mugai_store_entry_from_json (record, (gsize)len, id, where, error) : NULL;
  if (!e && !error)
    {
      e = mugai_store_entry_new ();
      e->id = g_strdup (id ? id : "?");
      e->time = time;
      e->verdict = g_strdup ("unreadable");
    }
  else if (!e && error && !*error)
    g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT, "%s: damaged record", where);
  return e;
}

static GPtrArray *
sqlite_list (gpointer handle, const MugaiStoreFilter *f, GError **error)
{
  SqliteStore *s = handle;
  MugaiStoreFilter none = { 0 };
  if (!f)
    f = &none;
  g_autoptr (GString) sql = g_string_new ("SELECT id, time, record FROM entries WHERE time >= ?1");
  if (f->before)
    g_string_append (sql, " AND time < ?2");
  if (f->states)
    {
      g_string_append (sql, " AND state IN (");
      for (guint i = 0; i < MUGAI_STORE_N_STATES; i++)
        if (f->states & (1u << i))
          g_string_append_printf (sql, "?%u,", 10 + i);
      sql->str[sql->len - 1] = ')';
    }
  if (f->verdict)
    g_string_append (sql, " AND verdict = ?3");
  if (f->sender)
    g_string_append (sql, " AND instr(sender_fold, ?4) > 0");
  if (f->recipient)
    g_string_append (sql, " AND instr(recipients_fold, ?5) > 0");
  if (f->subject)
    g_string_append (sql, " AND instr(subject_fold, ?6) > 0");
  /* either way along entries_time (time, id): a page stops at its limit */
  g_string_append (sql, f->newest_first ? " ORDER BY time DESC, id DESC LIMIT ?7 OFFSET ?8"
                                        : " ORDER BY time, id LIMIT ?7 OFFSET ?8");
  g_autofree char *sender = fold_or_null (f->sender);
  g_autofree char *rcpt = fold_or_null (f->recipient);
  g_autofree char *subject = fold_or_null (f->subject);

  g_mutex_lock (&s->lock);
  GPtrArray *out = NULL;
  g_autoptr (sqlite3_stmt) st = prepare (s, sql->str, error);
  if (st)
    {
      sqlite3_bind_int64 (st, 1, f->since);
      sqlite3_bind_int64 (st, 2, f->before);
      bind_text (st, 3, f->verdict);
      bind_text (st, 4, sender);
      bind_text (st, 5, rcpt);
      bind_text (st, 6, subject);
      sqlite3_bind_int64 (st, 7, f->limit ? (sqlite3_int64)f->limit : -1);
      sqlite3_bind_int64 (st, 8, f->offset);
      for (guint i = 0; i < MUGAI_STORE_N_STATES; i++)
        if (f->states & (1u << i))
          bind_text (st, 10 + i, mugai_store_state_name ((MugaiStoreState)i));
      out = g_ptr_array_new_with_free_func ((GDestroyNotify)mugai_store_entry_free);
      int rc;
      while ((rc = sqlite3_step (st)) == SQLITE_ROW)
        g_ptr_array_add (out, entry_of_row (s, st, NULL));
      if (rc != SQLITE_DONE)
        {
          fail (s, error, rc, "list");
          g_clear_pointer (&out, g_ptr_array_unref);
        }
    }
  g_mutex_unlock (&s->lock);
  return out;
}

static MugaiStoreEntry *
sqlite_get (gpointer handle, const char *id, GError **error)
{
  SqliteStore *s = handle;
  g_mutex_lock (&s->lock);
  MugaiStoreEntry *e = NULL;
  g_autoptr (sqlite3_stmt) st
      = prepare (s, "SELECT id, time, record, report FROM entries WHERE id = ?1", error);
  if (st)
    {
      bind_text (st, 1, id);
      int rc = sqlite3_step (st);
      if (rc == SQLITE_ROW)
        {
          e = entry_of_row (s, st, error);
          const char *report = (const char *)sqlite3_column_text (st, 3);
          g_autoptr (GError) local = NULL;
          if (e && report
              && !(e->report = mugai_report_node_from_text (
                       report, (gsize)sqlite3_column_bytes (st, 3), &local)))
            {
              g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT,
                           "%s: %s: damaged report: %s", s->path, id, local->message);
              g_clear_pointer (&e, mugai_store_entry_free);
            }
        }
      else if (rc == SQLITE_DONE)
        g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND,
                     "%s: %s: no such quarantine entry", s->path, id);
      else
        fail (s, error, rc, "get");
    }
  g_mutex_unlock (&s->lock);
  return e;
}

static gboolean
known (const char *id, gpointer data)
{
  SqliteStore *s = data;
  g_autoptr (sqlite3_stmt) st = prepare (s, "SELECT 1 FROM entries WHERE id = ?1", NULL);
  if (!st)
    return TRUE; /* when in doubt, keep it */
  bind_text (st, 1, id);
  int rc = sqlite3_step (st);
  return rc != SQLITE_DONE;
}

static GInputStream *
sqlite_open_original (gpointer handle, const char *id, GError **error)
{
  SqliteStore *s = handle;
  g_mutex_lock (&s->lock);
  gboolean there = known (id, s);
  g_mutex_unlock (&s->lock);
  if (!there)
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND,
                   "%s: %s: no such quarantine entry", s->path, id);
      return NULL;
    }
  return mugai_originals_read (s->originals, id, error);
}

static guint
sqlite_purge (gpointer handle, gint64 older_than, GError **error)
{
  SqliteStore *s = handle;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  gboolean ok = TRUE;
  g_mutex_lock (&s->lock);
  {
    /* a pending request is never purged: its decision is still to come */
    g_autoptr (sqlite3_stmt) st = prepare (s,
                                           "SELECT id FROM entries WHERE time < ?1 AND state NOT IN"
                                           " ('requested', 'approved', 'sending')",
                                           error);
    ok = st != NULL;
    if (st)
      {
        sqlite3_bind_int64 (st, 1, older_than);
        int rc;
        while ((rc = sqlite3_step (st)) == SQLITE_ROW)
          g_ptr_array_add (ids, g_strdup ((const char *)sqlite3_column_text (st, 0)));
        if (rc != SQLITE_DONE)
          ok = fail (s, error, rc, "purge");
      }
  }
  g_mutex_unlock (&s->lock);
  guint removed = 0;
  g_autoptr (GError) first = NULL;
  for (guint i = 0; ok && i < ids->len; i++)
    {
      const char *id = ids->pdata[i];
      g_mutex_lock (&s->lock);
      g_autoptr (sqlite3_stmt) st = prepare (
          s,
          "DELETE FROM entries WHERE id = ?1 AND state NOT IN ('requested', 'approved', 'sending')",
          &first);
      int rc = SQLITE_ERROR;
      if (st)
        {
          bind_text (st, 1, id);
          rc = sqlite3_step (st);
          if (rc != SQLITE_DONE && !first)
            fail (s, &first, rc, "purge");
        }
      gboolean gone = rc == SQLITE_DONE && sqlite3_changes (s->db) == 1;
      g_mutex_unlock (&s->lock);
      if (!st || rc != SQLITE_DONE)
        break;
      /* the row first: the entry disappears whole at once; a file left
       * by a crash here is swept below, next time */
      if (gone && mugai_originals_remove (s->originals, id, first ? NULL : &first))
        removed++;
    }
  if (ok)
    {
      /* what a crash between an original and its row left: an hour old,
       * whatever the cutoff (that message was never acknowledged) */
      g_mutex_lock (&s->lock);
      mugai_originals_sweep (s->originals, G_MAXINT64, known, s, first ? NULL : &first);
      g_mutex_unlock (&s->lock);
    }
  if (first)
    g_propagate_error (error, g_steal_pointer (&first));
  return removed;
}

static gboolean
sqlite_update (gpointer handle, const char *id, MugaiStoreState from, MugaiStoreState to,
               JsonNode *workflow, GError **error)
{
  SqliteStore *s = handle;
  g_mutex_lock (&s->lock);
  gboolean ok = exec (s, "BEGIN IMMEDIATE", error);
  g_autoptr (MugaiStoreEntry) e = NULL;
  if (ok)
    {
      g_autoptr (sqlite3_stmt) st
          = prepare (s, "SELECT id, time, record, state FROM entries WHERE id = ?1", error);
      int rc = st ? (bind_text (st, 1, id), sqlite3_step (st)) : SQLITE_ERROR;
      if (rc == SQLITE_ROW)
        {
          const char *now = (const char *)sqlite3_column_text (st, 3);
          MugaiStoreState current;
          if (!mugai_store_state_from_name (now, &current) || current != from)
            {
              g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CONFLICT,
                           "%s: the entry is %s now, not %s", id, now ? now : "?",
                           mugai_store_state_name (from));
              ok = FALSE;
            }
          else
            ok = (e = entry_of_row (s, st, error)) != NULL;
        }
      else
        {
          if (rc == SQLITE_DONE)
            g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND,
                         "%s: %s: no such quarantine entry", s->path, id);
          else if (st)
            fail (s, error, rc, "update");
          ok = FALSE;
        }
    }
  if (ok)
    {
      e->state = to;
      if (workflow)
        {
          g_clear_pointer (&e->workflow, json_node_unref);
          e->workflow = json_node_copy (workflow);
        }
      g_autofree char *record = record_of (e);
      g_autoptr (sqlite3_stmt) st
          = prepare (s, "UPDATE entries SET state = ?2, record = ?3 WHERE id = ?1", error);
      int rc = SQLITE_ERROR;
      if (st)
        {
          bind_text (st, 1, id);
          bind_text (st, 2, mugai_store_state_name (to));
          bind_text (st, 3, record);
          rc = sqlite3_step (st);
        }
      ok = rc == SQLITE_DONE ? exec (s, "COMMIT", error) : st && fail (s, error, rc, "update");
    }
  if (!ok)
    rollback (s);
  g_mutex_unlock (&s->lock);
  return ok;
}

/* ---- accounts --------------------------------------------------------------- */

static GPtrArray *
accounts_locked (SqliteStore *s, GError **error)
{
  g_autoptr (sqlite3_stmt) st = prepare (
      s, "SELECT name, role, unix_user, password, created, disabled FROM accounts ORDER BY name",
      error);
  if (!st)
    return NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)mugai_account_free);
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      MugaiAccount *a = mugai_account_new ();
      a->name = g_strdup ((const char *)sqlite3_column_text (st, 0));
      if (!mugai_role_from_name ((const char *)sqlite3_column_text (st, 1), &a->role))
        a->disabled = TRUE; /* a role this version does not know may do nothing */
      a->unix_user = g_strdup ((const char *)sqlite3_column_text (st, 2));
      a->password = g_strdup ((const char *)sqlite3_column_text (st, 3));
      a->created = sqlite3_column_int64 (st, 4);
      a->disabled = a->disabled || sqlite3_column_int (st, 5) != 0;
      g_ptr_array_add (out, a);
    }
  if (rc != SQLITE_DONE)
    {
      fail (s, error, rc, "accounts");
      return NULL;
    }
  return g_steal_pointer (&out);
}

static GPtrArray *
sqlite_account_list (gpointer handle, GError **error)
{
  SqliteStore *s = handle;
  g_mutex_lock (&s->lock);
  GPtrArray *out = accounts_locked (s, error);
  g_mutex_unlock (&s->lock);
  return out;
}

static gboolean
sqlite_account_put (gpointer handle, const MugaiAccount *a, gboolean replace, GError **error)
{
  SqliteStore *s = handle;
  g_mutex_lock (&s->lock);
  gboolean ok = exec (s, "BEGIN IMMEDIATE", error);
  g_autoptr (GPtrArray) all = ok ? accounts_locked (s, error) : NULL;
  ok = all != NULL;
  gboolean found = FALSE;
  for (guint i = 0; ok && i < all->len; i++)
    {
      const MugaiAccount *o = all->pdata[i];
      if (g_str_equal (o->name, a->name))
        found = TRUE;
      else if (a->unix_user && g_strcmp0 (o->unix_user, a->unix_user) == 0)
        {
          g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS,
                       "the Unix user %s acts as the account %s already: one login, one account",
                       a->unix_user, o->name);
          ok = FALSE;
        }
    }
  if (ok && found != replace)
    {
      g_set_error (error, MUGAI_STORE_ERROR,
                   found ? MUGAI_STORE_ERROR_EXISTS : MUGAI_STORE_ERROR_NOT_FOUND,
                   found ? "an account named %s exists already" : "no account named %s", a->name);
      ok = FALSE;
    }
  if (ok)
    {
      g_autoptr (sqlite3_stmt) st
          = prepare (s,
                     "INSERT OR REPLACE INTO accounts (name, role, unix_user, password, created,"
                     " disabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     error);
      int rc = SQLITE_ERROR;
      if (st)
        {
          bind_text (st, 1, a->name);
          bind_text (st, 2, mugai_role_name (a->role));
          bind_text (st, 3, a->unix_user);
          bind_text (st, 4, a->password);
          sqlite3_bind_int64 (st, 5, a->created);
          sqlite3_bind_int (st, 6, a->disabled ? 1 : 0);
          rc = sqlite3_step (st);
        }
      ok = rc == SQLITE_DONE ? exec (s, "COMMIT", error) : st && fail (s, error, rc, "account");
    }
  if (!ok)
    rollback (s);
  g_mutex_unlock (&s->lock);
  return ok;
}

/* ---- backup ------------------------------------------------------------------- */

static gboolean
sqlite_backup (gpointer handle, const char *dir, guint *entries, GError **error)
{
  SqliteStore *s = handle;
  if (g_file_test (dir, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS,
                   "%s exists: a backup goes to a new directory", dir);
      return FALSE;
    }
  g_autoptr (GError) local = NULL;
  /* a store of its own: its directory 0700, its index made by SQLite's
   * online backup of ours (one snapshot, taken while the storer writes) */
  SqliteStore *copy = open_index (dir, MUGAI_STORE_CREATE, FALSE, error);
  if (!copy)
    return FALSE;
  g_mutex_lock (&s->lock);
  sqlite3_backup *b = sqlite3_backup_init (copy->db, "main", s->db, "main");
  int rc = b ? sqlite3_backup_step (b, -1) : sqlite3_errcode (copy->db);
  if (b)
    sqlite3_backup_finish (b);
  g_mutex_unlock (&s->lock);
  if (rc != SQLITE_DONE)
    {
      fail (copy, error, rc, "backup");
      sqlite_close (copy);
      return FALSE;
    }
  /* the originals the snapshot names */
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  {
    g_autoptr (sqlite3_stmt) st = prepare (copy, "SELECT id FROM entries ORDER BY time, id", error);
    if (!st)
      {
        sqlite_close (copy);
        return FALSE;
      }
    while (sqlite3_step (st) == SQLITE_ROW)
      g_ptr_array_add (ids, g_strdup ((const char *)sqlite3_column_text (st, 0)));
  }
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < ids->len; i++)
    {
      const char *id = ids->pdata[i];
      g_autoptr (GError) e = NULL;
      g_autoptr (GInputStream) in = mugai_originals_read (s->originals, id, &e);
      g_autoptr (GBytes) data = NULL;
      if (in)
        {
          g_autoptr (GOutputStream) mem = g_memory_output_stream_new_resizable ();
          if (g_output_stream_splice (mem, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &e) >= 0)
            data = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
        }
      if (!data && g_error_matches (e, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND))
        {
          /* purged since the snapshot: out of the copy too */
          g_autoptr (sqlite3_stmt) del = prepare (copy, "DELETE FROM entries WHERE id = ?1", NULL);
          if (del)
            {
              bind_text (del, 1, id);
              sqlite3_step (del);
            }
          continue;
        }
      gsize stored = 0;
      g_autofree char *sha = NULL;
      if (!data || !mugai_originals_write (copy->originals, id, -1, data, &stored, &sha, &e))
        {
          g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO, "backup of %s: %s", id,
                       e ? e->message : "?");
          ok = FALSE;
          break;
        }
      (*entries)++;
    }
  sqlite_close (copy);
  return ok;
}

/* ---- the audit checkpoint --------------------------------------------------- */

static gboolean
sqlite_checkpoint_put (gpointer handle, const char *node, guint64 seq, const char *hash,
                       GError **error)
{
  SqliteStore *s = handle;
  g_mutex_lock (&s->lock);
  g_autoptr (sqlite3_stmt) st
      = prepare (s,
                 "INSERT INTO audit_checkpoint (node, seq, hash, at) VALUES (?1, ?2, ?3, ?4)"
                 " ON CONFLICT (node) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,"
                 " at = excluded.at WHERE excluded.seq >= audit_checkpoint.seq",
                 error);
  int rc = SQLITE_ERROR;
  if (st)
    {
      bind_text (st, 1, node);
      sqlite3_bind_int64 (st, 2, (sqlite3_int64)seq);
      bind_text (st, 3, hash);
      sqlite3_bind_int64 (st, 4, g_get_real_time () / G_USEC_PER_SEC);
      rc = sqlite3_step (st);
    }
  gboolean ok = rc == SQLITE_DONE || (st && fail (s, error, rc, "checkpoint"));
  g_mutex_unlock (&s->lock);
  return ok;
}

static gboolean
sqlite_checkpoint_get (gpointer handle, const char *node, guint64 *seq, char **hash, GError **error)
{
  SqliteStore *s = handle;
  g_mutex_lock (&s->lock);
  g_autoptr (sqlite3_stmt) st
      = prepare (s, "SELECT seq, hash FROM audit_checkpoint WHERE node = ?1", error);
  gboolean found = FALSE;
  if (st)
    {
      bind_text (st, 1, node);
      if (sqlite3_step (st) == SQLITE_ROW)
        {
          *seq = (guint64)sqlite3_column_int64 (st, 0);
          *hash = g_strdup ((const char *)sqlite3_column_text (st, 1));
          found = *hash != NULL;
        }
    }
  g_mutex_unlock (&s->lock);
  return found;
}

static void
sqlite_schema (gpointer handle, guint *found, guint *current)
{
  SqliteStore *s = handle;
  *found = s->found_version;
  *current = SCHEMA_VERSION;
}

const MugaiStoreBackend mugai_store_sqlite_backend = {
  .scheme = "sqlite",
  .open = sqlite_open,
  .close = sqlite_close,
  .add = sqlite_add,
  .list = sqlite_list,
  .get = sqlite_get,
  .open_original = sqlite_open_original,
  .purge = sqlite_purge,
  .list_filters = TRUE,
  .update = sqlite_update,
  .account_put = sqlite_account_put,
  .account_list = sqlite_account_list,
  .schema = sqlite_schema,
  .migrate = sqlite_migrate,
  .backup = sqlite_backup,
  .checkpoint_put = sqlite_checkpoint_put,
  .checkpoint_get = sqlite_checkpoint_get,
};

/* ---- reindex ---------------------------------------------------------------- */

guint
mugai_store_reindex (const char *dir, guint *already, GError **error)
{
  *already = 0;
  g_autofree char *files_location = g_strconcat ("file:", dir, NULL);
  g_autoptr (MugaiStore) files = mugai_store_open (files_location, MUGAI_STORE_EXISTING, error);
  if (!files)
    return 0;
  g_autoptr (GPtrArray) all = mugai_store_list (files, NULL, error);
  if (!all)
    return 0;
  SqliteStore *s = open_index (dir, MUGAI_STORE_CREATE, TRUE, error);
  if (!s)
    return 0;
  guint added = 0;
  g_autoptr (GString) unreadable = g_string_new (NULL);
  guint bad = 0;
  for (guint i = 0; i < all->len; i++)
    {
      const MugaiStoreEntry *listed = all->pdata[i];
      g_autoptr (GError) local = NULL;
      g_autoptr (MugaiStoreEntry) e = mugai_store_get (files, listed->id, &local);
      if (!e)
        {
          /* nothing is lost: the files stay, and the command says which */
          if (bad++ < 10)
            g_string_append_printf (unreadable, "%s%s", unreadable->len ? ", " : "", listed->id);
          continue;
        }
      g_mutex_lock (&s->lock);
      gboolean ok = insert_row (s, e, &local);
      g_mutex_unlock (&s->lock);
      if (ok)
        added++;
      else if (g_error_matches (local, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS))
        (*already)++;
      else
        {
          g_propagate_error (error, g_steal_pointer (&local));
          sqlite_close (s);
          return added;
        }
    }
  sqlite_close (s);
  if (bad)
    g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT,
                 "%u records could not be read and are not indexed (their files are left as they "
                 "are): %s%s",
                 bad, unreadable->str, bad > 10 ? ", ..." : "");
  return added;
}
