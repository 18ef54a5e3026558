/*
 * store-pg.c - the PostgreSQL backend of the store: entries, originals,
 *              accounts and an append-only audit table in one database
 *
 * SYNOPSIS
 *	store = mugai_store_open ("postgresql:/etc/mugai/quarantine.dsn", ...);
 *
 * DESCRIPTION
 *	The rest of the location is the path of a file that holds a libpq
 *	connection string ("host=db.example.lg.jp dbname=mugai user=mugai
 *	password=..." or a postgresql:// URI; lines that start with "#" are
 *	comments, the others are joined with spaces).  It may hold a
 *	password, so a file that grants its group or others any access
 *	(mode & 077) is refused, naming the mode: it must be readable by
 *	the storer alone.  The connection string is never put in a message.
 *	Given to libpq with a connect_timeout of CONNECT_TIMEOUT seconds
 *	unless it names its own, and client_encoding UTF8 whatever it says.
 *
 *	The schema (version SCHEMA_VERSION, the same logical schema as the
 *	sqlite backend's):
 *
 *		mugai_schema (version)		one row
 *		entries (id, time, state, verdict, size, sha256, node,
 *		         sender_fold, recipients_fold, subject_fold,
 *		         record, report, original)
 *		accounts (name, role, unix_user unique, password, created,
 *		          disabled)
 *		audit (node, seq, hash, line, at)	append-only, a chain per node
 *
 *	record is mugai_store_entry_to_json() of the entry without its
 *	report; report is the report's text (mugai_report_node_to_text()),
 *	read back through the strict reader; original the octets, a bytea.
 *	The *_fold columns are mugai_store_search_fold() of the sender, the
 *	recipients (each folded, joined by "\n") and the subject: list
 *	applies the whole filter in SQL with strpos() on them, so a word of
 *	two characters (請求) is found (a trigram index needs three), and
 *	pages with ORDER BY time, id (both DESC for newest_first) OFFSET
 *	LIMIT on the (time, id) index.
 *	id and name are COLLATE "C": the order is strcmp's, as quarantine.c's.
 *	The filter is answered by the columns: an entry whose record cannot
 *	be parsed is listed with verdict "unreadable" when its columns match
 *	(its state column stays readable when its record does not).
 *
 *	A fresh database gets the schema at open in MUGAI_STORE_CREATE mode,
 *	under a transaction-scoped advisory lock so that two nodes starting
 *	at once create it once (the role needs CREATE on the schema in its
 *	search_path for that: since PostgreSQL 15 only the database's owner
 *	has it on public); MUGAI_STORE_EXISTING finds no store there
 *	(NOT_FOUND).  A schema of another version is refused at open
 *	(SCHEMA): an older one is upgraded by `mugai quarantine migrate`,
 *	never silently; a newer one was made by a newer mugai.
 *
 *	Ids are unique across nodes (48 random bits per second, and the
 *	primary key: a duplicate is EXISTS, never a replacement).
 *	update is compare-and-set: in one transaction, the row of that id
 *	and that state is locked, its record rewritten with the new state
 *	and workflow and its state column set, WHERE id AND state; no row is
 *	CONFLICT when the entry exists (another node or command moved it
 *	first), NOT_FOUND when it does not.  purge deletes the entries older
 *	than the cutoff whose state is not requested, approved or sending:
 *	a pending request is never purged.
 *
 *	The audit table refuses UPDATE, DELETE and TRUNCATE by itself: a
 *	statement trigger raises an exception, and those privileges are
 *	revoked from PUBLIC and from the role that made the schema.  The
 *	trigger holds even for a superuser's statements; the table's owner
 *	can still drop it (ALTER TABLE is an owner's right), so an operator
 *	who wants the log safe from the storer's own credentials lets another
 *	role own the schema and grants the storer's role SELECT, INSERT and
 *	UPDATE on entries, SELECT and INSERT on the rest.
 *
 *	Every statement is a constant string with parameters (PQexecParams);
 *	no value is ever put into SQL text.
 *
 * DURABILITY
 *	The session runs with synchronous_commit = on, and add is one INSERT
 *	(a transaction of its own, the original a binary parameter): when it
 *	returns TRUE the entry is committed and flushed to the WAL on the
 *	server (and to synchronous standbys where the operator has them), so
 *	the milter's reply that lets the message go on comes after the
 *	commit.  When the database cannot be reached, add fails (IO) and the
 *	milter gives 451.
 *
 *	Reconnection: a broken connection (PQstatus() not OK) is reset
 *	(PQreset()) before the next statement; a statement that fails
 *	because the connection broke under it is run once more on a new
 *	connection.  For add and audit_append that second run may meet the
 *	row the first one committed before the connection broke: a row of
 *	that key with the same content is taken as the one written (the
 *	commit happened), anything else is EXISTS.  An update whose COMMIT
 *	got no answer is not run again: IO, saying that its outcome is not
 *	known (get() tells).
 *
 * LIMITS
 *	An original larger than MAX_ORIGINAL (512 MiB) is refused (IO): a
 *	bytea field holds at most 1 GB, the protocol message that carries it
 *	is refused by the server past 1 GB, and the storer holds the whole
 *	original in memory twice while sending it (its copy, and libpq's
 *	output buffer); the milter's own limit is 64 MiB by default
 *	([limits] message_size).  Reading an original back holds it in
 *	memory once (the stream is over a copy).  The DSN file is at most
 *	MAX_DSN_FILE octets.  A list holds every matching entry (without
 *	reports) in memory: use the filter's limit for pages.
 *
 * ERRORS
 *	MUGAI_STORE_ERROR naming "postgresql:PATH" and what was being done:
 *	IO for a database that cannot be reached or fails a statement (the
 *	server's primary message, never its DETAIL, which may quote values),
 *	EXISTS for a unique key taken, NOT_FOUND, CONFLICT, CORRUPT for a
 *	record or report that cannot be read, SCHEMA, LOCATION for a DSN
 *	file that cannot be used.
 *
 * THREADS
 *	Thread-safe: one connection per handle, used under the handle's
 *	mutex, so the storer's threads take turns (one statement at a time;
 *	a node stores one message per commit).  While a connection is made
 *	again (at most connect_timeout) every thread waits for it.  A
 *	handle is not fork-safe: a child must open its own.
 *
 * SIZE
 *	About 1,400 lines and one concept: the store in one PostgreSQL
 *	database.  Every operation of store-backend.h is here once, each a
 *	small function run by with_connection() (the reconnect and the one
 *	retry live there, not in each); the schema, the parameter helpers and
 *	the reading of rows serve them all.  Split by operation, the files
 *	would share every private helper through a header of their own.
 */
#include "store-backend.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "report.h"

#define SCHEMA_VERSION 1
#define MAX_ORIGINAL (512u * 1024u * 1024u)
#define MAX_DSN_FILE (64 * 1024)
#define CONNECT_TIMEOUT "10"
#define MAX_PARAMS 16
#define COPY_BUFFER (128 * 1024)
/* pg_advisory_xact_lock() key while the schema is checked or made:
 * "mugai" in ASCII */
#define SCHEMA_LOCK "469853660521"

typedef struct
{
  char *where; /* "postgresql:PATH", for messages */
  char *dsn;   /* the connection string: a secret, never in a message */
  guint found; /* the schema version found at open */
  GMutex lock; /* guards conn and everything below */
  PGconn *conn;
  char constraint[64]; /* the constraint the last failed statement broke */
  gboolean final;      /* set by an operation that must not be run again */
} PgStore;

/* ---- statements ------------------------------------------------------------- */

typedef struct
{
  int n;
  const char *values[MAX_PARAMS];
  int lengths[MAX_PARAMS];
  int formats[MAX_PARAMS];
  char numbers[MAX_PARAMS][24];
} Params;

/* s NULL: SQL NULL.  s must be valid UTF-8 (the server refuses the
 * rest). */
static void
param_text (Params *a, const char *s)
{
  g_assert (a->n < MAX_PARAMS);
  a->values[a->n] = s;
  a->lengths[a->n] = 0;
  a->formats[a->n] = 0;
  a->n++;
}

static void
param_int (Params *a, gint64 v)
{
  g_assert (a->n < MAX_PARAMS);
  g_snprintf (a->numbers[a->n], sizeof a->numbers[0], "%" G_GINT64_FORMAT, v);
  param_text (a, a->numbers[a->n]);
}

static void
param_binary (Params *a, const void *data, gsize len)
{
  g_assert (a->n < MAX_PARAMS && len <= G_MAXINT);
  a->values[a->n] = data;
  a->lengths[a->n] = (int)len;
  a->formats[a->n] = 1;
  a->n++;
}

/* The server's one-line message (never DETAIL, which quotes values), or
 * libpq's for a connection that failed. */
static char *
pg_message (PGconn *conn, const PGresult *r)
{
  const char *m = r ? PQresultErrorField (r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  if (!m || !*m)
    m = conn ? PQerrorMessage (conn) : "out of memory";
  /* libpq's are several lines ("...\n\tIs the server running...") */
  g_auto (GStrv) lines = g_strsplit_set (m, "\r\n", -1);
  g_autoptr (GString) s = g_string_new (NULL);
  for (char **l = lines; *l; l++)
    {
      char *t = g_strstrip (*l);
      if (*t)
        g_string_append_printf (s, "%s%s", s->len ? "; " : "", t);
    }
  g_strdelimit (s->str, "\t", ' ');
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static gboolean
broken (PgStore *p)
{
  return !p->conn || PQstatus (p->conn) != CONNECTION_OK;
}

/* Runs one statement.  A failure sets error (EXISTS for a unique key
 * taken, IO otherwise) and p->constraint, and returns NULL. */
static PGresult *
run (PgStore *p, const char *what, const char *sql, const Params *a, int binary_result,
     GError **error)
{
  p->constraint[0] = '\0';
  PGresult *r = PQexecParams (p->conn, sql, a ? a->n : 0, NULL, a ? a->values : NULL,
                              a ? a->lengths : NULL, a ? a->formats : NULL, binary_result);
  ExecStatusType st = PQresultStatus (r);
  if (r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
    return r;
  const char *state = r ? PQresultErrorField (r, PG_DIAG_SQLSTATE) : NULL;
  const char *constraint = r ? PQresultErrorField (r, PG_DIAG_CONSTRAINT_NAME) : NULL;
  if (constraint)
    g_strlcpy (p->constraint, constraint, sizeof p->constraint);
  gboolean taken = g_strcmp0 (state, "23505") == 0; /* unique_violation */
  g_autofree char *m = pg_message (p->conn, r);
  g_set_error (error, MUGAI_STORE_ERROR, taken ? MUGAI_STORE_ERROR_EXISTS : MUGAI_STORE_ERROR_IO,
               "%s: %s: %s", p->where, what, m);
  PQclear (r);
  return NULL;
}

/* run() of a statement whose rows are not read. */
static gboolean
run_command (PgStore *p, const char *what, const char *sql, const Params *a, GError **error)
{
  PGresult *r = run (p, what, sql, a, 0, error);
  PQclear (r);
  return r != NULL;
}

static void
rollback (PgStore *p)
{
  if (!broken (p))
    PQclear (PQexec (p->conn, "ROLLBACK"));
}

/* ---- the connection --------------------------------------------------------- */

static gboolean
session_setup (PgStore *p, GError **error)
{
  /* the promise of add (DURABILITY): a commit is flushed before its
   * answer, whatever the server's or the role's default */
  return run_command (p, "setting synchronous_commit", "SET synchronous_commit = on", NULL, error);
}

/* A connection that works, made or reset if need be. */
static gboolean
ensure_connection (PgStore *p, GError **error)
{
  if (!broken (p))
    return TRUE;
  if (!p->conn)
    {
      /* keywords before dbname may be overridden by the connection
       * string expanded from it, those after it may not */
      const char *const keys[]
          = { "connect_timeout", "fallback_application_name", "dbname", "client_encoding", NULL };
      const char *const values[] = { CONNECT_TIMEOUT, "mugai", p->dsn, "UTF8", NULL };
      p->conn = PQconnectdbParams (keys, values, 1);
    }
  else
    PQreset (p->conn);
  if (broken (p))
    {
      g_autofree char *m = pg_message (p->conn, NULL);
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO,
                   "%s: cannot connect to PostgreSQL: %s", p->where, m);
      return FALSE;
    }
  return session_setup (p, error);
}

typedef gboolean (*Operation) (PgStore *p, gpointer data, gboolean retry, GError **error);

/* Runs op under the lock on a working connection; once more on a new
 * connection when the first run failed because the connection broke
 * (op sees retry TRUE then), unless op set p->final. */
static gboolean
with_connection (PgStore *p, Operation op, gpointer data, GError **error)
{
  g_mutex_lock (&p->lock);
  gboolean ok = FALSE;
  for (int attempt = 0;; attempt++)
    {
      g_autoptr (GError) local = NULL;
      if (!ensure_connection (p, &local))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          break;
        }
      /* no transaction is left open by an operation that failed: but
       * never start one inside another's remains */
      if (PQtransactionStatus (p->conn) != PQTRANS_IDLE)
        rollback (p);
      p->final = FALSE;
      if (op (p, data, attempt > 0, &local))
        {
          ok = TRUE;
          break;
        }
      if (attempt > 0 || p->final || !broken (p))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          break;
        }
    }
  g_mutex_unlock (&p->lock);
  return ok;
}

/* ---- the schema ------------------------------------------------------------- */

/* Constant text, run once on a fresh database inside open's transaction. */
static const char schema_sql[]
    = "CREATE TABLE mugai_schema (version integer NOT NULL);"
      "INSERT INTO mugai_schema (version) VALUES (1);"
      "CREATE TABLE entries ("
      " id text COLLATE \"C\" PRIMARY KEY,"
      " time bigint NOT NULL,"
      " state text NOT NULL,"
      " verdict text,"
      " size bigint NOT NULL,"
      " sha256 text,"
      " node text,"
      " sender_fold text,"
      " recipients_fold text,"
      " subject_fold text,"
      " record text NOT NULL,"
      " report text,"
      " original bytea NOT NULL);"
      "CREATE INDEX entries_time ON entries (time, id);"
      "CREATE INDEX entries_state ON entries (state, time);"
      "CREATE TABLE accounts ("
      " name text COLLATE \"C\" CONSTRAINT accounts_pkey PRIMARY KEY,"
      " role text NOT NULL,"
      " unix_user text CONSTRAINT accounts_unix_user_key UNIQUE,"
      " password text,"
      " created bigint NOT NULL,"
      " disabled boolean NOT NULL DEFAULT false);"
      "CREATE TABLE audit ("
      " node text NOT NULL,"
      " seq bigint NOT NULL,"
      " hash text NOT NULL,"
      " line text NOT NULL,"
      " at timestamptz DEFAULT now(),"
      " PRIMARY KEY (node, seq));"
      "CREATE FUNCTION mugai_audit_append_only () RETURNS trigger LANGUAGE plpgsql AS $$"
      " BEGIN"
      "  RAISE EXCEPTION 'mugai: the audit table is append-only: % refused', TG_OP"
      "   USING ERRCODE = 'insufficient_privilege';"
      " END $$;"
      "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit"
      " FOR EACH STATEMENT EXECUTE FUNCTION mugai_audit_append_only ();"
      "REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM PUBLIC, CURRENT_USER;"
      "CREATE TABLE audit_checkpoint ("
      " node text PRIMARY KEY,"
      " seq bigint NOT NULL,"
      " hash text NOT NULL,"
      " at timestamptz DEFAULT now());";

typedef struct
{
  MugaiStoreMode mode;
  guint found;
} SchemaCheck;

static gboolean
schema_op (PgStore *p, gpointer data, gboolean retry, GError **error)
{
  SchemaCheck *c = data;
  if (!run_command (p, "checking the schema", "BEGIN", NULL, error))
    return FALSE;
  PGresult *r = NULL;
  gboolean ok = run_command (p, "checking the schema",
                             "SELECT pg_advisory_xact_lock (" SCHEMA_LOCK ")", NULL, error)
                && (r = run (p, "checking the schema",
                             "SELECT to_regclass ('mugai_schema') IS NOT NULL", NULL, 0, error));
  gboolean fresh = ok && g_str_equal (PQgetvalue (r, 0, 0), "f");
  g_clear_pointer (&r, PQclear);
  if (ok && fresh && c->mode != MUGAI_STORE_CREATE)
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND,
                   "%s: this database holds no mugai store (the milter makes it when it "
                   "starts)",
                   p->where);
      ok = FALSE;
    }
  if (ok && fresh)
    {
      r = PQexec (p->conn, schema_sql);
      if (PQresultStatus (r) != PGRES_COMMAND_OK)
        {
          g_autofree char *m = pg_message (p->conn, r);
          g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO, "%s: making the schema: %s",
                       p->where, m);
          ok = FALSE;
        }
      g_clear_pointer (&r, PQclear);
    }
  if (ok
      && (r = run (p, "checking the schema", "SELECT version FROM mugai_schema", NULL, 0, error)))
    {
      if (PQntuples (r) != 1 || PQgetisnull (r, 0, 0))
        {
          g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_SCHEMA,
                       "%s: the table mugai_schema holds %d rows, not the one with the "
                       "schema's version: not a store mugai made, or damaged",
                       p->where, PQntuples (r));
          ok = FALSE;
        }
      else
        {
          gint64 v = g_ascii_strtoll (PQgetvalue (r, 0, 0), NULL, 10);
          c->found = v < 0 || v > G_MAXUINT ? 0 : (guint)v;
        }
      PQclear (r);
    }
  else
    ok = FALSE;
  if (ok)
    ok = run_command (p, "making the schema", "COMMIT", NULL, error);
  if (!ok)
    rollback (p);
  return ok;
}

/* ---- open and close --------------------------------------------------------- */

/* The connection string of the DSN file, or NULL (LOCATION; IO when it
 * cannot be read). */
static char *
read_dsn (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, MUGAI_STORE_ERROR,
                   e == ENOENT ? MUGAI_STORE_ERROR_LOCATION : MUGAI_STORE_ERROR_IO,
                   "postgresql:%s: the DSN file: %s", path, g_strerror (e));
      return NULL;
    }
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > MAX_DSN_FILE)
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_LOCATION,
                   "postgresql:%s: the DSN file is not a regular file of at most %d octets", path,
                   MAX_DSN_FILE);
      close (fd);
      return NULL;
    }
  if ((st.st_mode & 077) != 0)
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_LOCATION,
                   "postgresql:%s: the DSN file has mode %04o: it may hold the database's "
                   "password and must be readable by the storer alone (chmod 600, owned by "
                   "the storer's user)",
                   path, (unsigned)(st.st_mode & 07777));
      close (fd);
      return NULL;
    }
  g_autofree char *text = g_malloc ((gsize)st.st_size + 1);
  gsize got = 0;
  while (got < (gsize)st.st_size)
    {
      ssize_t n = read (fd, text + got, (gsize)st.st_size - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += (gsize)n;
    }
  close (fd);
  text[got] = '\0';
  if (strlen (text) != got || !g_utf8_validate (text, (gssize)got, NULL))
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_LOCATION,
                   "postgresql:%s: the DSN file is not text (UTF-8 without NUL)", path);
      return NULL;
    }
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GString) dsn = g_string_new (NULL);
  for (char **l = lines; *l; l++)
    {
      char *s = g_strstrip (*l);
      if (*s == '\0' || *s == '#')
        continue;
      if (dsn->len)
        g_string_append_c (dsn, ' ');
      g_string_append (dsn, s);
    }
  if (dsn->len == 0)
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_LOCATION,
                   "postgresql:%s: the DSN file holds no connection string", path);
      return NULL;
    }
  return g_string_free (g_steal_pointer (&dsn), FALSE);
}

static void
pg_close (gpointer handle)
{
  PgStore *p = handle;
  if (!p)
    return;
  if (p->conn)
    PQfinish (p->conn);
  g_mutex_clear (&p->lock);
  if (p->dsn)
    {
      memset (p->dsn, 0, strlen (p->dsn));
      g_free (p->dsn);
    }
  g_free (p->where);
  g_free (p);
}

static gpointer
pg_open (const char *rest, MugaiStoreMode mode, GError **error)
{
  char *dsn = read_dsn (rest, error);
  if (!dsn)
    return NULL;
  PgStore *p = g_new0 (PgStore, 1);
  p->where = g_strconcat ("postgresql:", rest, NULL);
  p->dsn = dsn;
  g_mutex_init (&p->lock);
  SchemaCheck c = { .mode = mode };
  if (!with_connection (p, schema_op, &c, error))
    {
      pg_close (p);
      return NULL;
    }
  p->found = c.found;
  if (c.found != SCHEMA_VERSION)
    {
      if (c.found < SCHEMA_VERSION)
        g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_SCHEMA,
                     "%s: the store's schema is version %u, this mugai uses %u: run `mugai "
                     "quarantine migrate`",
                     p->where, c.found, SCHEMA_VERSION);
      else
        g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_SCHEMA,
                     "%s: the store's schema is version %u, made by a newer mugai (this one "
                     "uses %u): upgrade mugai on this node",
                     p->where, c.found, SCHEMA_VERSION);
      pg_close (p);
      return NULL;
    }
  return p;
}

static void
pg_schema (gpointer handle, guint *found, guint *current)
{
  PgStore *p = handle;
  *found = p->found;
  *current = SCHEMA_VERSION;
}

/* ---- entries ---------------------------------------------------------------- */

/* The recipients as recipients_fold holds them: each folded, joined by
 * "\n" (RFC 5321 4.1.2: no path holds CR or LF). */
static char *
fold_recipients (GPtrArray *recipients)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (guint i = 0; recipients && i < recipients->len; i++)
    {
      g_autofree char *f = mugai_store_search_fold (recipients->pdata[i]);
      if (i > 0)
        g_string_append_c (s, '\n');
      g_string_append (s, f);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static char *
fold_or_null (const char *text)
{
  return text ? mugai_store_search_fold (text) : NULL;
}

static char *
valid_or_null (const char *text)
{
  return text ? g_utf8_make_valid (text, -1) : NULL;
}

static void
too_large (PgStore *p, const char *id, GError **error)
{
  g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO,
               "%s: %s: the original is larger than %u octets, the most the postgresql backend "
               "keeps (a bytea field holds at most 1 GB); lower [limits] message_size",
               p->where, id, MAX_ORIGINAL);
}

/* The original from fd (pread from 0 to its end) or data, at most
 * MAX_ORIGINAL octets. */
static GBytes *
read_original (PgStore *p, int fd, GBytes *data, const char *id, GError **error)
{
  if (fd < 0)
    {
      if (g_bytes_get_size (data) <= MAX_ORIGINAL)
        return g_bytes_ref (data);
      too_large (p, id, error);
      return NULL;
    }
  /* a spool file says its size: refused before anything is read */
  struct stat st;
  if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > (off_t)MAX_ORIGINAL)
    {
      too_large (p, id, error);
      return NULL;
    }
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  g_autofree guint8 *chunk = g_malloc (COPY_BUFFER);
  off_t offset = 0;
  for (;;)
    {
      ssize_t n = pread (fd, chunk, COPY_BUFFER, offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO,
                       "%s: %s: reading the original: %s", p->where, id, g_strerror (e));
          return NULL;
        }
      if (n == 0)
        break;
      if (buf->len + (gsize)n > MAX_ORIGINAL)
        {
          too_large (p, id, error);
          return NULL;
        }
      g_byte_array_append (buf, chunk, (guint)n);
      offset += n;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

typedef struct
{
  const char *id;
  GBytes *original;
  char *record; /* what is inserted, also the proof of a retried commit */
  char *report;
  char *sha256;
  char *state;
  gint64 time, size;
  char *verdict, *node, *sender_fold, *recipients_fold, *subject_fold;
} AddRow;

static gboolean
add_op (PgStore *p, gpointer data, gboolean retry, GError **error)
{
  AddRow *row = data;
  Params a = { 0 };
  param_text (&a, row->id);
  param_int (&a, row->time);
  param_text (&a, row->state);
  param_text (&a, row->verdict);
  param_int (&a, row->size);
  param_text (&a, row->sha256);
  param_text (&a, row->node);
  param_text (&a, row->sender_fold);
  param_text (&a, row->recipients_fold);
  param_text (&a, row->subject_fold);
  param_text (&a, row->record);
  param_text (&a, row->report);
  gsize len = 0;
  const void *octets = g_bytes_get_data (row->original, &len);
  param_binary (&a, octets ? octets : "", len);
  g_autoptr (GError) local = NULL;
  g_autofree char *what = g_strdup_printf ("storing %s", row->id);
  /* one statement, one transaction: committed (and, synchronous_commit
   * on, flushed) before PQexecParams returns */
  if (run_command (p, what,
                   "INSERT INTO entries (id, time, state, verdict, size, sha256, node, "
                   "sender_fold, recipients_fold, subject_fold, record, report, original) "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                   &a, &local))
    return TRUE;
  if (!retry || !g_error_matches (local, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  /* the first run's commit may have happened before the connection
   * broke: the same record and digest are that commit */
  Params k = { 0 };
  param_text (&k, row->id);
  PGresult *r = run (p, what, "SELECT record, sha256 FROM entries WHERE id = $1", &k, 0, error);
  if (!r)
    return FALSE;
  gboolean ours = PQntuples (r) == 1 && g_str_equal (PQgetvalue (r, 0, 0), row->record)
                  && g_str_equal (PQgetvalue (r, 0, 1), row->sha256);
  PQclear (r);
  if (!ours)
    g_propagate_error (error, g_steal_pointer (&local));
  return ours;
}

static gboolean
pg_add (gpointer handle, int fd, GBytes *data, const MugaiStoreEntry *entry, GError **error)
{
  PgStore *p = handle;
  g_autoptr (GBytes) original = read_original (p, fd, data, entry->id, error);
  if (!original)
    return FALSE;
  gsize len = 0;
  const guint8 *octets = g_bytes_get_data (original, &len);
  g_autofree char *sha256
      = g_compute_checksum_for_data (G_CHECKSUM_SHA256, octets ? octets : (const guint8 *)"", len);

  MugaiStoreEntry meta = *entry;
  meta.size = len;
  meta.sha256 = sha256;
  meta.state = mugai_store_initial_state (entry->verdict);
  if (meta.time == 0)
    meta.time = g_get_real_time () / G_USEC_PER_SEC;
  meta.report = NULL; /* in its own column */

  AddRow row = {
    .id = entry->id,
    .original = original,
    .record = mugai_store_entry_to_json (&meta, FALSE),
    .report = entry->report ? mugai_report_node_to_text (entry->report) : NULL,
    .sha256 = sha256,
    .state = (char *)mugai_store_state_name (meta.state),
    .time = meta.time,
    .size = (gint64)len,
    .verdict = valid_or_null (entry->verdict),
    .node = valid_or_null (entry->node),
    .sender_fold = fold_or_null (entry->sender),
    .recipients_fold = fold_recipients (entry->recipients),
    .subject_fold = fold_or_null (entry->subject),
  };
  gboolean ok = with_connection (p, add_op, &row, error);
  g_free (row.record);
  g_free (row.report);
  g_free (row.verdict);
  g_free (row.node);
  g_free (row.sender_fold);
  g_free (row.recipients_fold);
  g_free (row.subject_fold);
  return ok;
}

typedef struct
{
  const MugaiStoreFilter *filter;
  GPtrArray *out;
} ListQuery;

static gboolean
list_op (PgStore *p, gpointer data, gboolean retry, GError **error)
{
  ListQuery *q = data;
  const MugaiStoreFilter *f = q->filter;
  MugaiStoreFilter none = { 0 };
  if (!f)
    f = &none;
  /* the SQL is made of constant pieces, chosen by which members of the
   * filter are set; every value is a parameter */
  g_autoptr (GString) sql
      = g_string_new ("SELECT id, time, state, record FROM entries WHERE time >= $1");
  Params a = { 0 };
  param_int (&a, f->since);
  if (f->before)
    {
      param_int (&a, f->before);
      g_string_append_printf (sql, " AND time < $%d", a.n);
    }
  g_autoptr (GString) states = g_string_new ("{");
  if (f->states)
    {
      for (guint s = 0; s < MUGAI_STORE_N_STATES; s++)
        if (f->states & (1u << s))
          g_string_append_printf (states, "%s%s", states->len > 1 ? "," : "",
                                  mugai_store_state_name ((MugaiStoreState)s));
      g_string_append_c (states, '}');
      param_text (&a, states->str);
      g_string_append_printf (sql, " AND state = ANY ($%d::text[])", a.n);
    }
  g_autofree char *verdict = valid_or_null (f->verdict);
  if (verdict)
    {
      param_text (&a, verdict);
      g_string_append_printf (sql, " AND verdict = $%d", a.n);
    }
  struct
  {
    const char *needle, *column;
  } searches[] = {
    { f->sender, "sender_fold" },
    { f->recipient, "recipients_fold" },
    { f->subject, "subject_fold" },
  };
  char *folded[G_N_ELEMENTS (searches)] = { NULL };
  gboolean impossible = FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (searches); i++)
    {
      if (!searches[i].needle || !*searches[i].needle)
        continue; /* an empty part is in every text, as in quarantine.c */
      folded[i] = mugai_store_search_fold (searches[i].needle);
      /* "\n" joins the recipients: a needle with it would match across
       * two of them, and no one address holds it */
      impossible |= strchr (folded[i], '\n') != NULL;
      param_text (&a, folded[i]);
      g_string_append_printf (sql, " AND strpos (%s, $%d) > 0", searches[i].column, a.n);
    }
  param_int (&a, f->offset);
  /* either way along entries_time (time, id; id COLLATE "C") */
  g_string_append_printf (sql,
                          f->newest_first ? " ORDER BY time DESC, id DESC OFFSET $%d"
                                          : " ORDER BY time, id OFFSET $%d",
                          a.n);
  if (f->limit)
    {
      param_int (&a, f->limit);
      g_string_append_printf (sql, " LIMIT $%d", a.n);
    }
  PGresult *r = impossible ? NULL : run (p, "listing", sql->str, &a, 0, error);
  for (gsize i = 0; i < G_N_ELEMENTS (folded); i++)
    g_free (folded[i]);
  if (impossible)
    return TRUE;
  if (!r)
    return FALSE;
  for (int i = 0; i < PQntuples (r); i++)
    {
      const char *id = PQgetvalue (r, i, 0);
      const char *record = PQgetvalue (r, i, 3);
      MugaiStoreEntry *e
          = mugai_store_entry_from_json (record, (gsize)PQgetlength (r, i, 3), id, p->where, NULL);
      if (!e)
        {
          /* listed all the same, so that nothing is invisible; get()
           * says why */
          e = mugai_store_entry_new ();
          e->id = g_strdup (id);
          e->time = g_ascii_strtoll (PQgetvalue (r, i, 1), NULL, 10);
          mugai_store_state_from_name (PQgetvalue (r, i, 2), &e->state);
          e->verdict = g_strdup ("unreadable");
        }
      g_ptr_array_add (q->out, e);
    }
  PQclear (r);
  return TRUE;
}

static GPtrArray *
pg_list (gpointer handle, const MugaiStoreFilter *filter, GError **error)
{
  PgStore *p = handle;
  g_autoptr (GPtrArray) out
      = g_ptr_array_new_with_free_func ((GDestroyNotify)mugai_store_entry_free);
  ListQuery q = { .filter = filter, .out = out };
  return with_connection (p, list_op, &q, error) ? g_steal_pointer (&out) : NULL;
}

static void
not_found (PgStore *p, const char *id, GError **error)
{
  g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND,
               "%s: %s: no such quarantine entry", p->where, id);
}

typedef struct
{
  const char *id;
  MugaiStoreEntry *entry;
} GetQuery;

static gboolean
get_op (PgStore *p, gpointer data, gboolean retry, GError **error)
{
  GetQuery *q = data;
  Params a = { 0 };
  param_text (&a, q->id);
  g_autofree char *what = g_strdup_printf ("reading %s", q->id);
  PGresult *r = run (p, what, "SELECT record, report FROM entries WHERE id = $1", &a, 0, error);
  if (!r)
    return FALSE;
  if (PQntuples (r) == 0)
    {
      not_found (p, q->id, error);
      PQclear (r);
      return FALSE;
    }
  g_autofree char *where = g_strdup_printf ("%s: %s", p->where, q->id);
  g_autoptr (MugaiStoreEntry) e = mugai_store_entry_from_json (
      PQgetvalue (r, 0, 0), (gsize)PQgetlength (r, 0, 0), q->id, where, error);
  if (e && !PQgetisnull (r, 0, 1))
    {
      g_autoptr (GError) local = NULL;
      e->report = mugai_report_node_from_text (PQgetvalue (r, 0, 1), (gsize)PQgetlength (r, 0, 1),
                                               &local);
      if (!e->report)
        {
          g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT,
                       "%s: damaged report: %s", where, local->message);
          g_clear_pointer (&e, mugai_store_entry_free);
        }
    }
  PQclear (r);
  q->entry = g_steal_pointer (&e);
  return q->entry != NULL;
}

static MugaiStoreEntry *
pg_get (gpointer handle, const char *id, GError **error)
{
  GetQuery q = { .id = id };
  return with_connection (handle, get_op, &q, error) ? q.entry : NULL;
}

typedef struct
{
  const char *id;
  GBytes *original;
} OriginalQuery;

static gboolean
original_op (PgStore *p, gpointer data, gboolean retry, GError **error)
{
  OriginalQuery *q = data;
  Params a = { 0 };
  param_text (&a, q->id);
  g_autofree char *what = g_strdup_printf ("reading the original of %s", q->id);
  /* binary result: the octets as they are, not hex text twice their size */
  PGresult *r = run (p, what, "SELECT original FROM entries WHERE id = $1", &a, 1, error);
  if (!r)
    return FALSE;
  if (PQntuples (r) == 0)
    not_found (p, q->id, error);
  else
    q->original = g_bytes_new (PQgetvalue (r, 0, 0), (gsize)PQgetlength (r, 0, 0));
  PQclear (r);
  return q->original != NULL;
}

static GInputStream *
pg_open_original (gpointer handle, const char *id, GError **error)
{
  OriginalQuery q = { .id = id };
  if (!with_connection (handle, original_op, &q, error))
    return NULL;
  GInputStream *in = g_memory_input_stream_new_from_bytes (q.original);
  g_bytes_unref (q.original);
  return in;
}

typedef struct
{
  gint64 older_than;
  guint removed;
} PurgeQuery;

static gboolean
purge_op (PgStore *p, gpointer data, gboolean retry, GError **error)
{
  PurgeQuery *q = data;
  Params a = { 0 };
  param_int (&a, q->older_than);
  /* a pending request is never purged (quarantine.h) */
  PGresult *r = run (p, "purging",
                     "DELETE FROM entries WHERE time < $1 "
                     "AND state <> ALL ('{requested,approved,sending}'::text[])",
                     &a, 0, error);
  if (!r)
    return FALSE;
  q->removed += (guint)g_ascii_strtoull (PQcmdTuples (r), NULL, 10);
  PQclear (r);
  return TRUE;
}

static guint
pg_purge (gpointer handle, gint64 older_than, GError **error)
{
  PurgeQuery q = { .older_than = older_than };
  with_connection (handle, purge_op, &q, error);
  return q.removed;
}

typedef struct
{
  const char *id;
  MugaiStoreState from, to;
  JsonNode *workflow;
} UpdateQuery;

static gboolean
update_op (PgStore *p, gpointer data, gboolean retry, GError **error)
{
  UpdateQuery *q = data;
  g_autofree char *what = g_strdup_printf ("changing the state of %s", q->id);
  const char *from = mugai_store_state_name (q->from), *to = mugai_store_state_name (q->to);
  if (!run_command (p, what, "BEGIN", NULL, error))
    return FALSE;
  Params a = { 0 };
  param_text (&a, q->id);
  param_text (&a, from);
  PGresult *r = run (p, what, "SELECT record FROM entries WHERE id = $1 AND state = $2 FOR UPDATE",
                     &a, 0, error);
  if (!r)
    {
      rollback (p);
      return FALSE;
    }
  if (PQntuples (r) == 0)
    {
      PQclear (r);
      Params k = { 0 };
      param_text (&k, q->id);
      r = run (p, what, "SELECT state FROM entries WHERE id = $1", &k, 0, error);
      if (r && PQntuples (r) == 0)
        not_found (p, q->id, error);
      else if (r)
        g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CONFLICT,
                     "%s: %s is %s, not %s any more: another node or command changed it first",
                     p->where, q->id, PQgetvalue (r, 0, 0), from);
      PQclear (r);
      rollback (p);
      return FALSE;
    }
  g_autofree char *where = g_strdup_printf ("%s: %s", p->where, q->id);
  g_autoptr (MugaiStoreEntry) e = mugai_store_entry_from_json (
      PQgetvalue (r, 0, 0), (gsize)PQgetlength (r, 0, 0), q->id, where, error);
  PQclear (r);
  if (!e)
    {
      rollback (p);
      return FALSE;
    }
  e->state = q->to;
  if (q->workflow)
    {
      g_clear_pointer (&e->workflow, json_node_unref);
      e->workflow = json_node_copy (q->workflow);
    }
  g_autofree char *record = mugai_store_entry_to_json (e, FALSE);
  param_text (&a, to);
  param_text (&a, record);
  if (!run_command (p, what,
                    "UPDATE entries SET state = $3, record = $4 WHERE id = $1 AND state = $2", &a,
                    error))
    {
      rollback (p);
      return FALSE;
    }
  g_autoptr (GError) local = NULL;
  if (run_command (p, what, "COMMIT", NULL, &local))
    return TRUE;
  if (broken (p))
    {
      /* the commit may or may not have happened: not run again */
      p->final = TRUE;
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO,
                   "%s: %s: the connection broke at COMMIT: whether it is %s now is not known "
                   "(`mugai quarantine show` tells)",
                   p->where, q->id, to);
    }
  else
    g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

static gboolean
pg_update (gpointer handle, const char *id, MugaiStoreState from, MugaiStoreState to,
           JsonNode *workflow, GError **error)
{
  UpdateQuery q = { .id = id, .from = from, .to = to, .workflow = workflow };
  return with_connection (handle, update_op, &q, error);
}

/* ---- accounts --------------------------------------------------------------- */

typedef struct
{
  const MugaiAccount *account;
  gboolean replace;
} AccountPut;

static gboolean
account_put_op (PgStore *p, gpointer data, gboolean retry, GError **error)
{
  AccountPut *q = data;
  const MugaiAccount *acc = q->account;
  g_autofree char *password = valid_or_null (acc->password);
  Params a = { 0 };
  param_text (&a, acc->name);
  param_text (&a, mugai_role_name (acc->role));
  param_text (&a, acc->unix_user);
  param_text (&a, password);
  param_int (&a, acc->created);
  param_text (&a, acc->disabled ? "true" : "false");
  g_autofree char *what
      = g_strdup_printf ("%s the account %s", q->replace ? "replacing" : "adding", acc->name);
  g_autoptr (GError) local = NULL;
  /* one statement each: the keys' uniqueness is the database's, in the
   * statement's own transaction */
  PGresult *r = run (p, what,
                     q->replace ? "UPDATE accounts SET role = $2, unix_user = $3, password = $4, "
                                  "created = $5, disabled = $6 WHERE name = $1"
                                : "INSERT INTO accounts (name, role, unix_user, password, created, "
                                  "disabled) VALUES ($1, $2, $3, $4, $5, $6)",
                     &a, 0, &local);
  if (r)
    {
      gboolean none = q->replace && g_str_equal (PQcmdTuples (r), "0");
      PQclear (r);
      if (none)
        g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND,
                     "%s: no account named \"%s\"", p->where, acc->name);
      return !none;
    }
  if (g_error_matches (local, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS))
    {
      if (g_str_equal (p->constraint, "accounts_unix_user_key"))
        g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS,
                     "%s: the Unix user \"%s\" is mapped to another account already: one login "
                     "is one account",
                     p->where, acc->unix_user);
      else
        g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS,
                     "%s: an account named \"%s\" exists already", p->where, acc->name);
      return FALSE;
    }
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

static gboolean
pg_account_put (gpointer handle, const MugaiAccount *a, gboolean replace, GError **error)
{
  AccountPut q = { .account = a, .replace = replace };
  return with_connection (handle, account_put_op, &q, error);
}

static gboolean
account_list_op (PgStore *p, gpointer data, gboolean retry, GError **error)
{
  GPtrArray *out = data;
  g_ptr_array_set_size (out, 0);
  PGresult *r = run (p, "listing the accounts",
                     "SELECT name, role, unix_user, password, created, disabled FROM accounts "
                     "ORDER BY name",
                     NULL, 0, error);
  if (!r)
    return FALSE;
  for (int i = 0; i < PQntuples (r); i++)
    {
      g_autoptr (MugaiAccount) acc = mugai_account_new ();
      acc->name = g_strdup (PQgetvalue (r, i, 0));
      if (!mugai_role_from_name (PQgetvalue (r, i, 1), &acc->role))
        {
          g_autofree char *safe = g_strescape (PQgetvalue (r, i, 1), NULL);
          g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT,
                       "%s: the account %s has the role \"%.40s\", none mugai knows", p->where,
                       acc->name, safe);
          PQclear (r);
          return FALSE;
        }
      acc->unix_user = PQgetisnull (r, i, 2) ? NULL : g_strdup (PQgetvalue (r, i, 2));
      acc->password = PQgetisnull (r, i, 3) ? NULL : g_strdup (PQgetvalue (r, i, 3));
      acc->created = g_ascii_strtoll (PQgetvalue (r, i, 4), NULL, 10);
      acc->disabled = g_str_equal (PQgetvalue (r, i, 5), "t");
      g_ptr_array_add (out, g_steal_pointer (&acc));
    }
  PQclear (r);
  return TRUE;
}

static GPtrArray *
pg_account_list (gpointer handle, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)mugai_account_free);
  return with_connection (handle, account_list_op, out, error) ? g_steal_pointer (&out) : NULL;
}

/* ---- audit ------------------------------------------------------------------ */

typedef struct
{
  const char *node;
  gint64 seq;
  const char *hash, *line;
} AuditRow;

static gboolean
audit_op (PgStore *p, gpointer data, gboolean retry, GError **error)
{
  AuditRow *q = data;
  Params a = { 0 };
  param_int (&a, q->seq);
  param_text (&a, q->hash);
  param_text (&a, q->line);
  param_text (&a, q->node);
  g_autofree char *what = g_strdup_printf ("appending audit record %" G_GINT64_FORMAT, q->seq);
  g_autoptr (GError) local = NULL;
  if (run_command (p, what, "INSERT INTO audit (seq, hash, line, node) VALUES ($1, $2, $3, $4)", &a,
                   &local))
    return TRUE;
  if (retry && g_error_matches (local, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS))
    {
      /* the first run may have committed before the connection broke */
      Params k = { 0 };
      param_int (&k, q->seq);
      param_text (&k, q->node);
      PGresult *r
          = run (p, what, "SELECT hash, line FROM audit WHERE seq = $1 AND node = $2", &k, 0, NULL);
      gboolean ours = r && PQntuples (r) == 1 && g_str_equal (PQgetvalue (r, 0, 0), q->hash)
                      && g_str_equal (PQgetvalue (r, 0, 1), q->line);
      PQclear (r);
      if (ours)
        return TRUE;
    }
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

static gboolean
pg_audit_append (gpointer handle, const char *node, gint64 seq, const char *hash, const char *line,
                 GError **error)
{
  PgStore *p = handle;
  /* kept as written to the log, whose hash covers it: never repaired */
  if (!g_utf8_validate (hash, -1, NULL) || !g_utf8_validate (line, -1, NULL))
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO,
                   "%s: audit record %" G_GINT64_FORMAT " is not UTF-8", p->where, seq);
      return FALSE;
    }
  AuditRow q = { .node = node, .seq = seq, .hash = hash, .line = line };
  return with_connection (p, audit_op, &q, error);
}

/* ---- the audit checkpoint ---------------------------------------------------- */

typedef struct
{
  const char *node, *hash;
  guint64 seq;
  char *found;
} CheckpointRow;

static gboolean
checkpoint_put_op (PgStore *p, gpointer data, gboolean retry, GError **error)
{
  CheckpointRow *q = data;
  Params a = { 0 };
  param_text (&a, q->node);
  param_int (&a, (gint64)q->seq);
  param_text (&a, q->hash);
  /* never back: a checkpoint only moves on */
  return run_command (p, "writing the audit checkpoint",
                      "INSERT INTO audit_checkpoint (node, seq, hash) VALUES ($1, $2, $3)"
                      " ON CONFLICT (node) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,"
                      " at = now() WHERE excluded.seq >= audit_checkpoint.seq",
                      &a, error);
}

static gboolean
pg_checkpoint_put (gpointer handle, const char *node, guint64 seq, const char *hash, GError **error)
{
  CheckpointRow q = { .node = node, .seq = seq, .hash = hash };
  return with_connection (handle, checkpoint_put_op, &q, error);
}

static gboolean
checkpoint_get_op (PgStore *p, gpointer data, gboolean retry, GError **error)
{
  CheckpointRow *q = data;
  Params a = { 0 };
  param_text (&a, q->node);
  PGresult *r = run (p, "reading the audit checkpoint",
                     "SELECT seq, hash FROM audit_checkpoint WHERE node = $1", &a, 0, error);
  if (!r)
    return FALSE;
  if (PQntuples (r) == 1)
    {
      q->seq = g_ascii_strtoull (PQgetvalue (r, 0, 0), NULL, 10);
      q->found = g_strdup (PQgetvalue (r, 0, 1));
    }
  PQclear (r);
  return TRUE;
}

static gboolean
pg_checkpoint_get (gpointer handle, const char *node, guint64 *seq, char **hash, GError **error)
{
  CheckpointRow q = { .node = node };
  if (!with_connection (handle, checkpoint_get_op, &q, error) || !q.found)
    return FALSE;
  *seq = q.seq;
  *hash = q.found;
  return TRUE;
}

typedef struct
{
  const char *node;
  gint64 seq;
} AuditLast;

static gboolean
audit_last_op (PgStore *p, gpointer data, gboolean retry, GError **error)
{
  AuditLast *q = data;
  Params a = { 0 };
  param_text (&a, q->node);
  PGresult *r = run (p, "reading the audit table",
                     "SELECT coalesce (max (seq), 0) FROM audit WHERE node = $1", &a, 0, error);
  if (!r)
    return FALSE;
  q->seq = PQntuples (r) == 1 ? g_ascii_strtoll (PQgetvalue (r, 0, 0), NULL, 10) : 0;
  PQclear (r);
  return TRUE;
}

static gboolean
pg_audit_last (gpointer handle, const char *node, gint64 *seq, GError **error)
{
  AuditLast q = { .node = node };
  if (!with_connection (handle, audit_last_op, &q, error))
    return FALSE;
  *seq = q.seq;
  return TRUE;
}

const MugaiStoreBackend mugai_store_pg_backend = {
  .scheme = "postgresql",
  .open = pg_open,
  .close = pg_close,
  .add = pg_add,
  .list = pg_list,
  .get = pg_get,
  .open_original = pg_open_original,
  .purge = pg_purge,
  .list_filters = TRUE,
  .update = pg_update,
  .account_put = pg_account_put,
  .account_list = pg_account_list,
  .audit_append = pg_audit_append,
  .checkpoint_put = pg_checkpoint_put,
  .checkpoint_get = pg_checkpoint_get,
  .audit_last = pg_audit_last,
  .schema = pg_schema,
};
