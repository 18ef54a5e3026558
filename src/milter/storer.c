/*
 * storer.c - the storer's process and the front's requests to it
 *
 * DESCRIPTION
 *	See storer.h.  The process: the main thread accepts, checks the
 *	peer and hands the connection to a thread of a GThreadPool (the
 *	front's, or the smaller one of everything else: SIDE_THREADS); a
 *	thread of its own waits for the signals.  Nothing here parses mail:
 *	the records come from the front, already built by a worker.
 */
#include "storer.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "audit-chain.h"
#include "control.h"
#include "mugai-limits.h"
#include "storer-workflow.h"
#include "ipc.h"
#include "logline.h"
#include "report.h"

#include <poll.h>
#include <pwd.h>

/* The front's connections served at once; more wait in the backlog. */
#define STORER_THREADS 32
/* The rest (control.sock, workflow.sock, the minute's retries, the daily
 * purge) in threads of their own: workflow.sock is anyone's to connect
 * to, and callers that connect and say nothing, or releases waiting for
 * a relay that does not answer, must never hold up the mail (seen in
 * e2e workflow: 40 idle callers made a message wait 30 s). */
#define SIDE_THREADS 4

/* ---- the wire --------------------------------------------------------------- */

static const char *
or_empty (const char *s)
{
  return s ? s : "";
}

static char *
or_null (const char *s)
{
  return *s ? g_strdup (s) : NULL;
}

GVariant *
mugai_storer_entry_to_variant (const MugaiStoreEntry *e)
{
  GVariantBuilder rcpts;
  g_variant_builder_init (&rcpts, G_VARIANT_TYPE_STRING_ARRAY);
  for (guint i = 0; e->recipients && i < e->recipients->len; i++)
    g_variant_builder_add (&rcpts, "s", (const char *)e->recipients->pdata[i]);
  g_autofree char *report = e->report ? mugai_report_node_to_text (e->report) : NULL;
  return g_variant_new (MUGAI_STORER_ENTRY, or_empty (e->id), or_empty (e->queue_id),
                        or_empty (e->sender), or_empty (e->client_addr), or_empty (e->client_name),
                        &rcpts, or_empty (e->verdict), or_empty (e->status),
                        or_empty (e->message_id), or_empty (e->subject), (guint64)e->size,
                        or_empty (report));
}

MugaiStoreEntry *
mugai_storer_entry_from_variant (GVariant *v, GError **error)
{
  const char *id, *qid, *sender, *addr, *name, *verdict, *status, *msgid, *subject, *report;
  guint64 size;
  g_autoptr (GVariantIter) rcpts = NULL;
  g_variant_get (v, "(&s&s&s&s&sas&s&s&s&st&s)", &id, &qid, &sender, &addr, &name, &rcpts, &verdict,
                 &status, &msgid, &subject, &size, &report);
  g_autoptr (MugaiStoreEntry) e = mugai_store_entry_new ();
  if (*report && !(e->report = mugai_report_node_from_text (report, strlen (report), error)))
    return NULL;
  e->id = or_null (id);
  e->queue_id = or_null (qid);
  e->sender = g_strdup (sender);
  e->client_addr = or_null (addr);
  e->client_name = or_null (name);
  const char *r;
  while (g_variant_iter_next (rcpts, "&s", &r))
    g_ptr_array_add (e->recipients, g_strdup (r));
  e->verdict = or_null (verdict);
  e->status = or_null (status);
  e->message_id = or_null (msgid);
  e->subject = or_null (subject);
  e->size = (gsize)size;
  return g_steal_pointer (&e);
}

/* ---- the storer's process ---------------------------------------------------- */

typedef struct
{
  const MugaiNodeSettings *node;
  GMutex lock; /* guards store and audit (the pointers; each locks itself) */
  MugaiStore *store;
  MugaiAudit *audit;
} Storer;

static Storer storer;
static volatile gint stopping;
static guint first_purge_ms = 60 * 1000;

void
mugai_storer_set_first_purge (guint ms)
{
  first_purge_ms = ms;
}

/* The store, opened again when it could not be (a directory fixed by
 * hand): the message that finds it missing is deferred, the next one may
 * pass. */
static MugaiStore *
store_get (GError **error)
{
  g_mutex_lock (&storer.lock);
  if (!storer.store)
    {
      g_autofree char *location = mugai_node_store_location (storer.node);
      storer.store = mugai_store_open (location, MUGAI_STORE_CREATE, error);
    }
  MugaiStore *s = storer.store;
  g_mutex_unlock (&storer.lock);
  return s;
}

/* ---- the database's copy of the audit log ------------------------------------ */

/* With backend = postgresql every record of the log is also a row of the
 * database's audit table (store-pg.c: append-only, keyed by node and
 * seq), so that the log of every node sits beside the store and a node's
 * file that was changed or removed can be told from the table.  The file
 * stays the record: a message waits for its line on disk, never for the
 * database.  mirror_told() only queues the row (in seq order); a thread
 * of its own writes the queue in order, and while the database cannot be
 * reached the rows wait (retried every MIRROR_RETRY seconds) and go once
 * it is back.
 *
 * The rows are written in seq order, so the table's highest seq of a node
 * (mugai_store_audit_last()) says where its copy ends: at most
 * MIRROR_BACKLOG rows wait in memory, and a record told past that is not
 * queued; then, and when a storer starts (an earlier one may have
 * stopped with rows waiting), the thread first reads the log file and
 * the one rotated before it for the records after that end and before
 * the first row waiting (catch_up()), MIRROR_BACKLOG at a time, and
 * writes them before any other.  Records that neither file holds any
 * more are said, and left out.  `mugai audit verify` of the file is what
 * proves the chain.  A row the table refuses because it holds another of
 * that node and seq is said and skipped. */
#define MIRROR_BACKLOG 20000
#define MIRROR_RETRY 5

typedef struct
{
  gint64 seq;
  char hash[MUGAI_AUDIT_HASH_HEX + 1];
  char *line;
} MirrorRow;

static struct
{
  GMutex lock; /* guards everything below */
  GCond wake;
  GQueue rows;     /* MirrorRow * told, in seq order */
  GQueue from_log; /* MirrorRow * read by catch_up(), in seq order: first */
  gboolean behind; /* records are missing before rows: catch_up() */
  gboolean stop;
  gint64 attached;  /* the log's last seq before the mirror was set; -1: not yet */
  gint64 told_last; /* the highest seq told */
  GThread *thread;
} mirror;

static void
mirror_row_free (gpointer p)
{
  MirrorRow *r = p;
  g_free (r->line);
  g_free (r);
}

static void
mirror_told (guint64 seq, const char *hash, const char *line, gpointer data)
{
  (void)data;
  g_mutex_lock (&mirror.lock);
  mirror.told_last = MAX (mirror.told_last, (gint64)seq);
  if (mirror.behind || mirror.rows.length >= MIRROR_BACKLOG)
    {
      /* it waits in the file: what is queued stays a run without a hole,
       * after what catch_up() will read */
      if (!mirror.behind)
        g_message ("storer: more than %u audit records wait for the database's audit table: "
                   "the next are copied from the log file once it is back",
                   MIRROR_BACKLOG);
      mirror.behind = TRUE;
      g_queue_clear_full (&mirror.rows, mirror_row_free);
      g_mutex_unlock (&mirror.lock);
      return;
    }
  MirrorRow *r = g_new0 (MirrorRow, 1);
  r->seq = (gint64)seq;
  g_strlcpy (r->hash, hash, sizeof r->hash);
  r->line = g_strdup (line);
  /* writers tell outside the log's lock: almost always the last */
  GList *after = mirror.rows.tail;
  while (after && ((MirrorRow *)after->data)->seq > r->seq)
    after = after->prev;
  if (after)
    g_queue_insert_after (&mirror.rows, after, r);
  else
    g_queue_push_head (&mirror.rows, r);
  g_cond_signal (&mirror.wake);
  g_mutex_unlock (&mirror.lock);
}

static MugaiStore *store_get (GError **error);

/* Appends to rows the chained records of the log file at path with
 * from < seq <= to, in file order, at most max of them; *first gets the
 * first seq the file holds (0: none; with max 0 only that is read).  A
 * file that cannot be read adds nothing. */
static void
read_log_rows (const char *path, gint64 from, gint64 to, guint max, GQueue *rows, gint64 *first)
{
  *first = 0;
  FILE *f = fopen (path, "re");
  if (!f)
    return;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline (&line, &cap, f)) > 0)
    {
      if (line[n - 1] == '\n')
        line[--n] = '\0';
      /* the chain's members come last (audit-chain.h), and a quote in
       * a value is escaped: the last "seq": is the record's.  A record
       * before from is passed over without parsing it (a catch-up may
       * read a year of log). */
      const char *at = g_strrstr (line, "\"seq\":");
      if (*first && at && g_ascii_strtoll (at + 6, NULL, 10) <= from)
        continue;
      g_autoptr (JsonParser) parser = json_parser_new ();
      JsonNode *root = json_parser_load_from_data (parser, line, n, NULL)
                           ? json_parser_get_root (parser)
                           : NULL;
      JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
      JsonNode *seq = o ? json_object_get_member (o, "seq") : NULL;
      JsonNode *hash = o ? json_object_get_member (o, "hash") : NULL;
      if (!seq || !hash || json_node_get_value_type (seq) != G_TYPE_INT64
          || json_node_get_value_type (hash) != G_TYPE_STRING)
        continue; /* a record from before the chain */
      gint64 s = json_node_get_int (seq);
      if (*first == 0)
        *first = s;
      if (rows->length >= max || s > to)
        break;
      if (s <= from)
        continue;
      MirrorRow *r = g_new0 (MirrorRow, 1);
      r->seq = s;
      g_strlcpy (r->hash, json_node_get_string (hash), sizeof r->hash);
      r->line = g_strndup (line, (gsize)n);
      g_queue_push_tail (rows, r);
    }
  free (line);
  fclose (f);
}

/* Fills mirror.from_log with the records of the log files after the
 * table's last row of this node and before the first row told (or up to
 * the last told), at most MIRROR_BACKLOG; mirror.behind stays set while
 * more are to be read.  FALSE when the database cannot say where its
 * copy ends (it is away).  mirror.lock held (released while it asks and
 * reads). */
static gboolean
catch_up (void)
{
  MirrorRow *head = g_queue_peek_head (&mirror.rows);
  gint64 upto = head ? head->seq - 1 : MAX (mirror.told_last, mirror.attached);
  /* what is told from here on is queued: upto is fixed */
  mirror.behind = FALSE;
  g_mutex_unlock (&mirror.lock);
  gint64 last = 0;
  g_autoptr (GError) error = NULL;
  MugaiStore *store = store_get (&error);
  gboolean known = store && mugai_store_audit_last (store, storer.node->node_name, &last, &error);
  GQueue rows = G_QUEUE_INIT, older = G_QUEUE_INIT;
  gboolean more = FALSE;
  if (known && last < upto)
    {
      gint64 first = 0, first_older = 0;
      read_log_rows (storer.node->audit_file, 0, 0, 0, &rows, &first);
      if (first == 0 || first > last + 1)
        {
          g_autofree char *rotated = g_strconcat (storer.node->audit_file, ".1", NULL);
          read_log_rows (rotated, last, first ? MIN (upto, first - 1) : upto, MIRROR_BACKLOG,
                         &older, &first_older);
        }
      read_log_rows (storer.node->audit_file, last, upto, MIRROR_BACKLOG - older.length, &rows,
                     &first);
      guint n = older.length + rows.length;
      MirrorRow *oldest = older.length ? older.head->data : rows.length ? rows.head->data : NULL;
      MirrorRow *newest = rows.length ? rows.tail->data : older.length ? older.tail->data : NULL;
      if (!oldest || oldest->seq > last + 1)
        g_warning ("storer: audit records %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                   " are not in %s or the file rotated before it: not copied to the "
                   "database's audit table",
                   last + 1, oldest ? oldest->seq - 1 : upto, storer.node->audit_file);
      if (n)
        g_message ("storer: copying %u audit records from the log to the database's audit "
                   "table (seq %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT ")",
                   n, oldest->seq, newest->seq);
      more = n == MIRROR_BACKLOG && newest->seq < upto;
    }
  g_mutex_lock (&mirror.lock);
  if (!known || more)
    mirror.behind = TRUE;
  MirrorRow *r;
  while ((r = g_queue_pop_head (&older)))
    g_queue_push_tail (&mirror.from_log, r);
  while ((r = g_queue_pop_head (&rows)))
    g_queue_push_tail (&mirror.from_log, r);
  return known;
}

static gpointer
mirror_thread (gpointer data)
{
  (void)data;
  gboolean failing = FALSE;
  g_mutex_lock (&mirror.lock);
  /* what an earlier storer left: once the log is open (nothing is told
   * before) and the database answers */
  while (!mirror.stop && mirror.attached < 0)
    g_cond_wait (&mirror.wake, &mirror.lock);
  mirror.behind = TRUE;
  for (;;)
    {
      if (mirror.behind && !failing && g_queue_is_empty (&mirror.from_log))
        {
          if (!catch_up ())
            failing = TRUE;
          continue;
        }
      /* the rows read from the log first; the told ones once nothing is
       * missing before them */
      GQueue *q = !g_queue_is_empty (&mirror.from_log) ? &mirror.from_log
                  : mirror.behind                      ? NULL
                                                       : &mirror.rows;
      MirrorRow *r = q ? g_queue_pop_head (q) : NULL;
      if (!r && !failing)
        {
          if (mirror.stop)
            break;
          g_cond_wait (&mirror.wake, &mirror.lock);
          continue;
        }
      g_mutex_unlock (&mirror.lock);
      g_autoptr (GError) error = NULL;
      MugaiStore *store = store_get (&error);
      gboolean ok = FALSE, skip = FALSE;
      if (r)
        {
          ok = store
               && mugai_store_audit_append (store, storer.node->node_name, r->seq, r->hash, r->line,
                                            &error);
          /* a row of that node and seq that is not this one (a log
           * started again from seq 1, two nodes of one node_name, a row
           * changed in the table) would never go in: said and skipped;
           * anything else (the database away, the store not open) waits */
          skip = store && !ok
                 && g_error_matches (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS);
          if (skip)
            g_warning ("storer: audit record seq %" G_GINT64_FORMAT " cannot be copied to the "
                       "database's audit table, skipped: %s",
                       r->seq, error->message);
        }
      else
        {
          /* nothing to write but the catch-up to try again: is the
           * database back? */
          gint64 last;
          ok = store && mugai_store_audit_last (store, storer.node->node_name, &last, &error);
        }
      g_mutex_lock (&mirror.lock);
      if (ok || skip)
        {
          if (r)
            mirror_row_free (r);
          if (failing && !mirror.behind && g_queue_is_empty (&mirror.from_log)
              && g_queue_is_empty (&mirror.rows))
            g_message ("storer: the database's audit table has caught up");
          failing = FALSE;
          continue;
        }
      /* back at its head; but a told row whose queue was given up
       * meanwhile (mirror_told()) is read from the log with the rest */
      if (r && q == &mirror.rows && mirror.behind)
        mirror_row_free (r);
      else if (r)
        g_queue_push_head (q, r);
      if (!failing)
        g_warning ("storer: audit records not copied to the database's audit table yet, "
                   "retried every %d s: %s",
                   MIRROR_RETRY, error ? error->message : "?");
      failing = TRUE;
      if (mirror.stop)
        break;
      gint64 until = g_get_monotonic_time () + MIRROR_RETRY * G_USEC_PER_SEC;
      while (!mirror.stop && g_cond_wait_until (&mirror.wake, &mirror.lock, until))
        ;
    }
  if (!g_queue_is_empty (&mirror.rows) || !g_queue_is_empty (&mirror.from_log) || mirror.behind)
    g_warning ("storer: stopping with audit records not copied to the database's audit table "
               "(the log file has them: the next start copies them)");
  g_queue_clear_full (&mirror.rows, mirror_row_free);
  g_queue_clear_full (&mirror.from_log, mirror_row_free);
  g_mutex_unlock (&mirror.lock);
  return NULL;
}

static void
mirror_start (void)
{
  g_mutex_init (&mirror.lock);
  g_cond_init (&mirror.wake);
  g_queue_init (&mirror.rows);
  g_queue_init (&mirror.from_log);
  mirror.attached = -1;
  if (storer.node->quarantine_backend == MUGAI_BACKEND_POSTGRESQL)
    mirror.thread = g_thread_new ("audit-mirror", mirror_thread, NULL);
}

static void
mirror_stop (void)
{
  if (!mirror.thread)
    return;
  g_mutex_lock (&mirror.lock);
  mirror.stop = TRUE;
  g_cond_signal (&mirror.wake);
  g_mutex_unlock (&mirror.lock);
  g_thread_join (g_steal_pointer (&mirror.thread));
}

/* The chain's checkpoint goes to the store too (sqlite, postgresql). */
static void
audit_checkpoint (guint64 seq, const char *hash, gpointer data)
{
  g_autoptr (GError) error = NULL;
  MugaiStore *store = storer.store;
  if (store && !mugai_store_checkpoint_put (store, storer.node->node_name, seq, hash, &error))
    g_warning ("storer: audit checkpoint seq=%" G_GUINT64_FORMAT " not kept in the store: %s", seq,
               error->message);
}

/* The log, opened; told to the mirror when there is one.  storer.lock
 * held. */
static gboolean
audit_open_locked (GError **error)
{
  storer.audit = mugai_audit_open (storer.node->audit_file, storer.node->audit_syslog, error);
  if (storer.audit)
    mugai_audit_set_checkpoint_hook (storer.audit, audit_checkpoint, NULL);
  if (storer.audit && mirror.thread)
    {
      guint64 before = mugai_audit_set_mirror (storer.audit, mirror_told, NULL);
      g_mutex_lock (&mirror.lock);
      mirror.attached = (gint64)before;
      g_cond_signal (&mirror.wake);
      g_mutex_unlock (&mirror.lock);
    }
  return storer.audit != NULL;
}

static MugaiAudit *
audit_get (GError **error)
{
  g_mutex_lock (&storer.lock);
  if (!storer.audit)
    audit_open_locked (error);
  MugaiAudit *a = storer.audit;
  g_mutex_unlock (&storer.lock);
  return a;
}

static void
audit_reopen (void)
{
  g_autoptr (GError) error = NULL;
  g_mutex_lock (&storer.lock);
  gboolean ok
      = storer.audit ? mugai_audit_reopen (storer.audit, &error) : audit_open_locked (&error);
  g_mutex_unlock (&storer.lock);
  if (ok)
    g_message ("storer: audit log reopened: %s", storer.node->audit_file);
  else
    g_warning ("storer: audit log not reopened, mail is deferred until it can be written: %s",
               error->message);
}

static gboolean
do_keep (MugaiStoreEntry *entry, int fd, GError **error)
{
  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no original came along");
      return FALSE;
    }
  entry->time = 0; /* the store's clock, not the caller's */
  /* which node kept it is the storer's word ([milter] node_name), not
   * the front's: with several nodes on one database it says whose log
   * and whose Postfix queue id to look in */
  g_free (entry->node);
  entry->node = g_strdup (storer.node->node_name);
  MugaiStore *store = store_get (error);
  return store && mugai_store_add (store, fd, NULL, entry, error);
}

static gboolean
do_record (MugaiStoreEntry *entry, GVariant *req, GError **error)
{
  const char *qid, *action, *reason;
  double total, sanitize;
  g_variant_get (req, "(y@" MUGAI_STORER_ENTRY "&s&s&sdd)", NULL, NULL, &qid, &action, &reason,
                 &total, &sanitize);
  if (!*action)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "a record without an action");
      return FALSE;
    }
  if (*qid && !mugai_store_id_is_valid (qid))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "not a quarantine id");
      return FALSE;
    }
  MugaiAuditRecord rec = {
    .entry = entry,
    .quarantine_id = *qid ? qid : NULL,
    .action = action,
    .reason = *reason ? reason : NULL,
    .report = entry->report,
    .duration_total_ms = total,
    .duration_sanitize_ms = sanitize,
  };
  MugaiAudit *audit = audit_get (error);
  return audit && mugai_audit_write (audit, &rec, error);
}

/* One connection: one request, one answer. */
static void
serve (gpointer data, gpointer user_data)
{
  (void)user_data;
  int conn = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  int fd = -1;
  gint64 deadline = g_get_monotonic_time () + MUGAI_STORER_TIMEOUT * G_USEC_PER_SEC;
  g_autoptr (GVariant) req = mugai_ipc_recv (conn, MUGAI_STORER_REQUEST, deadline, &fd, &error);
  guint8 kind = 0;
  gboolean ok = FALSE;
  if (req)
    {
      g_autoptr (GVariant) ev = g_variant_get_child_value (req, 1);
      g_autoptr (MugaiStoreEntry) entry = mugai_storer_entry_from_variant (ev, &error);
      g_variant_get_child (req, 0, "y", &kind);
      if (!entry)
        ;
      else if (kind == 'K')
        ok = do_keep (entry, fd, &error);
      else if (kind == 'R')
        ok = do_record (entry, req, &error);
      else
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown request %u",
                     (unsigned)kind);
    }
  if (fd >= 0)
    close (fd);
  if (!req && g_error_matches (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_CLOSED))
    {
      /* a peer that asked nothing (a probe of the socket): nothing to
       * answer, nothing written */
      g_debug ("storer: a connection closed without a request");
      close (conn);
      return;
    }
  if (!ok)
    {
      g_autoptr (GString) line = g_string_new ("storer:");
      mugai_log_add (line, "request", kind == 'K' ? "keep" : kind == 'R' ? "record" : "?");
      mugai_log_add (line, "error", error ? error->message : "?");
      g_warning ("%s", line->str);
    }
  g_autoptr (GError) e2 = NULL;
  if (!mugai_ipc_send (conn, g_variant_new (MUGAI_STORER_ANSWER, ok, ok ? "" : error->message), -1,
                       &e2))
    g_warning ("storer: cannot answer the front: %s", e2->message);
  close (conn);
}

/* An audit record of a step of the workflow: the entry it is about,
 * action, and what (who did it), and a log line. */
static void
record_entry (const MugaiStoreEntry *e, const char *action, const char *what)
{
  MugaiAuditRecord rec = { .entry = e, .quarantine_id = e->id, .action = action, .reason = what };
  g_autoptr (GError) error = NULL;
  MugaiAudit *audit = audit_get (&error);
  /* the record keeps the text as it is (UTF-8: a reason in Japanese);
   * the log line is printable ASCII, as every log line */
  g_autofree char *logged = mugai_log_escape (what, 4000);
  if (!audit || !mugai_audit_write (audit, &rec, &error))
    g_warning ("storer: %s; audit record not written: %s", logged, error->message);
  g_message ("storer: %s", logged);
}

/* An audit record of something the storer did that is about no message
 * (a purge): action and what, with who asked in it; and a log line. */
static void
record_action (const char *action, const char *what, gboolean failed)
{
  g_autoptr (GPtrArray) no_one = g_ptr_array_new ();
  MugaiStoreEntry none = { .sender = (char *)"", .recipients = no_one };
  MugaiAuditRecord rec = { .entry = &none, .action = action, .reason = what };
  g_autoptr (GError) error = NULL;
  MugaiAudit *audit = audit_get (&error);
  if (!audit || !mugai_audit_write (audit, &rec, &error))
    g_warning ("storer: %s; audit record not written: %s", what, error->message);
  if (failed)
    g_warning ("storer: %s", what);
  else
    g_message ("storer: %s", what);
}

/* Who is on the other end of a control connection, as the audit record
 * names them: "LOGIN (uid N)", from the kernel's word for the uid. */
static char *
who_is (int conn, uid_t *uid)
{
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt (conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return NULL;
  *uid = cred.uid;
  struct passwd pw, *found = NULL;
  char buf[1024];
  if (getpwuid_r (cred.uid, &pw, buf, sizeof buf, &found) == 0 && found)
    return g_strdup_printf ("%s (uid %u)", found->pw_name, (unsigned)cred.uid);
  return g_strdup_printf ("uid %u", (unsigned)cred.uid);
}

/* One control connection (control.h): one request, one answer, and an
 * audit record of what was done and by whom. */
static void
serve_control (int conn)
{
  g_autoptr (GError) error = NULL;
  uid_t uid = (uid_t)-1;
  g_autofree char *who = who_is (conn, &uid);
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  g_autoptr (GVariant) req = mugai_ipc_recv (conn, MUGAI_CONTROL_REQUEST, deadline, NULL, &error);
  if (!req || !who)
    {
      close (conn);
      return;
    }
  const char *verb = NULL;
  gint64 arg = 0;
  g_variant_get_child (req, 0, "&s", &verb);
  g_variant_get_child (req, 1, "x", &arg);
  g_autoptr (GVariant) options = g_variant_get_child_value (req, 3);
  guint count = 0;
  g_autofree char *what = NULL;
  gboolean ok = FALSE;
  if (g_str_equal (verb, "purge"))
    {
      MugaiStore *store = store_get (&error);
      if (store)
        {
          count = mugai_store_purge (store, arg, &error);
          ok = error == NULL;
        }
      g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (arg);
      g_autofree char *cutoff = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("?");
      what = g_strdup_printf ("purge by %s: %u entries received before %s%s%s", who, count, cutoff,
                              ok ? "" : ", then: ", ok ? "" : error->message);
    }
  else if (g_str_equal (verb, "admin-add") || g_str_equal (verb, "admin-set"))
    ok = mugai_workflow_admin (verb, options, who, &what);
  else
    what = g_strdup_printf ("unknown request from %s", who);
  /* the record says who did what, even of a purge that failed halfway */
  record_action (verb, what, !ok);
  mugai_ipc_send (conn, g_variant_new (MUGAI_CONTROL_ANSWER, ok, what, (guint32)count), -1, NULL);
  close (conn);
}

/* [quarantine] keep_days: the entries received before that many days
 * ago are purged, and an audit record says so. */
static void
retention_purge (void)
{
  guint days = storer.node->keep_days;
  gint64 cutoff = g_get_real_time () / G_USEC_PER_SEC - (gint64)days * 86400;
  g_autoptr (GError) error = NULL;
  guint count = 0;
  MugaiStore *store = store_get (&error);
  if (store)
    count = mugai_store_purge (store, cutoff, &error);
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (cutoff);
  g_autofree char *when = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("?");
  g_autofree char *what
      = g_strdup_printf ("purge by the storer ([quarantine] keep_days = %u): %u entries received "
                         "before %s%s%s",
                         days, count, when, error ? ", then: " : "", error ? error->message : "");
  record_action ("purge", what, error != NULL);
}

/* A connection of any socket, handed to the threads: the control
 * socket's marked by CONTROL_BIT, the workflow's by WORKFLOW_BIT;
 * RETENTION_JOB is the daily purge, WORKFLOW_JOB the minute's retries. */
#define CONTROL_BIT 0x40000000
#define WORKFLOW_BIT 0x20000000
#define RETENTION_JOB 0x1fffffff
#define WORKFLOW_JOB 0x1ffffffe

static void
serve_any (gpointer data, gpointer user_data)
{
  int v = GPOINTER_TO_INT (data);
  if (v == RETENTION_JOB)
    retention_purge ();
  else if (v == WORKFLOW_JOB)
    mugai_workflow_tick ();
  else if (v & CONTROL_BIT)
    serve_control (v & ~CONTROL_BIT);
  else if (v & WORKFLOW_BIT)
    mugai_workflow_serve (v & ~WORKFLOW_BIT);
  else
    serve (data, user_data);
}

/* Accepts one connection of fd and hands it to the threads, marked. */
static void
accept_to (int fd, int bit, GThreadPool *threads)
{
  int c = accept4 (fd, NULL, NULL, SOCK_CLOEXEC);
  if (c >= 0 && c < WORKFLOW_JOB - 1)
    g_thread_pool_push (threads, GINT_TO_POINTER (c | bit), NULL);
  else if (c >= 0)
    close (c);
}

static gpointer
signal_thread (gpointer data)
{
  int listen_fd = GPOINTER_TO_INT (data);
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGWINCH);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  for (;;)
    {
      siginfo_t info = { 0 };
      int sig = sigwaitinfo (&set, &info);
      if (sig < 0)
        continue;
      if (sig == SIGWINCH)
        audit_reopen ();
      /* The stop comes from the supervisor once the front has drained;
       * the same signal sent to the whole process group (a careless
       * script, Ctrl-C) must not close the store under mail in flight. */
      else if (info.si_pid == getppid ())
        {
          g_atomic_int_set (&stopping, 1);
          /* poll() wakes up, accept() returns EINVAL from here on */
          shutdown (listen_fd, SHUT_RDWR);
          return NULL;
        }
    }
}

int
mugai_storer_run (const MugaiStorerLinks *links, const MugaiConfig *config,
                  const MugaiPeerRule *client)
{
  const MugaiNodeSettings *node = config->node;
  int listen_fd = links->listen_fd, control_fd = links->control_fd;
  int workflow_fd = links->workflow_fd;
  storer.node = node;
  g_mutex_init (&storer.lock);
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGWINCH);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
  signal (SIGPIPE, SIG_IGN);
  signal (SIGHUP, SIG_IGN);
  g_thread_unref (g_thread_new ("signals", signal_thread, GINT_TO_POINTER (listen_fd)));

  /* Listening before anything slow (the store's open, a PostgreSQL
   * connection, the reconciliation below): a socket bound but not yet
   * listening refuses a connection, and the command took that for "no
   * mugai-milter runs here" (seen in e2e workflow: `mugai admin add`
   * right after the start), the front for a storer that is not there.
   * What connects now waits in the backlog until the loop below
   * accepts it, after the reconciliation.  The front's SO_PEERCRED
   * names this process (its user) from here on. */
  if (listen (listen_fd, 128) != 0 || (control_fd >= 0 && listen (control_fd, 16) != 0)
      || (workflow_fd >= 0 && listen (workflow_fd, 16) != 0))
    {
      g_critical ("storer: listen: %s", g_strerror (errno));
      return 1;
    }

  mirror_start ();
  g_autoptr (GError) error = NULL;
  if (!store_get (&error))
    g_warning ("storer: quarantine unavailable, mail is deferred until it can be written: %s",
               error->message);
  g_clear_error (&error);
  if (!audit_get (&error))
    g_warning ("storer: audit log unavailable, mail is deferred until it can be written: %s",
               error->message);
  g_clear_error (&error);

  MugaiWorkflow wf = { .config = config,
                       .workers_path = links->workers_path,
                       .worker_uid = links->worker_uid,
                       .supervisor = links->supervisor,
                       .max_message = config->policy ? config->policy->limits.message_size
                                                     : MUGAI_LIMIT_MESSAGE_SIZE,
                       .store = store_get,
                       .record = record_entry };
  mugai_workflow_init (&wf);
  /* a release cut off by a crash is never sent again by itself */
  mugai_workflow_reconcile ();

  GThreadPool *threads = g_thread_pool_new (serve_any, NULL, STORER_THREADS, FALSE, NULL);
  GThreadPool *side = g_thread_pool_new (serve_any, NULL, SIDE_THREADS, FALSE, NULL);
  g_autofree char *location = mugai_node_store_location (node);
  g_message ("storer: serving; quarantine=%s audit=%s", location, node->audit_file);
  /* the retention purge: a minute after the start, then once a day */
  gint64 next_purge = g_get_monotonic_time () + (gint64)first_purge_ms * 1000;
  gint64 next_tick = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!g_atomic_int_get (&stopping))
    {
      gint64 now = g_get_monotonic_time ();
      if (now >= next_tick)
        {
          g_thread_pool_push (side, GINT_TO_POINTER (WORKFLOW_JOB), NULL);
          next_tick = now + 60 * G_USEC_PER_SEC;
        }
      if (node->keep_days > 0 && now >= next_purge)
        {
          g_thread_pool_push (side, GINT_TO_POINTER (RETENTION_JOB), NULL);
          next_purge = now + (gint64)86400 * G_USEC_PER_SEC;
        }
      gint64 until = MIN (next_tick, node->keep_days > 0 ? next_purge : next_tick);
      int wait_ms = (int)MIN ((until - now) / 1000 + 1, 60000);
      struct pollfd fds[3]
          = { { listen_fd, POLLIN, 0 }, { control_fd, POLLIN, 0 }, { workflow_fd, POLLIN, 0 } };
      int ready = poll (fds, 3, wait_ms);
      if (ready <= 0)
        continue;
      /* the control socket's mode (root's, 0600) says who may; the
       * workflow's (0666) asks the kernel, and the accounts say; the
       * record says who did */
      if (control_fd >= 0 && (fds[1].revents & POLLIN))
        accept_to (control_fd, CONTROL_BIT, side);
      if (workflow_fd >= 0 && (fds[2].revents & POLLIN))
        accept_to (workflow_fd, WORKFLOW_BIT, side);
      if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      int conn = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (conn >= 0)
        fcntl (conn, F_SETFL, 0);
      if (conn < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
            continue;
          if (g_atomic_int_get (&stopping))
            break;
          g_warning ("storer: accept: %s", g_strerror (errno));
          g_usleep (100 * 1000);
          continue;
        }
      g_autoptr (GError) refused = NULL;
      if (!mugai_peer_check (conn, client, NULL, &refused))
        {
          g_warning ("storer: %s", refused->message);
          close (conn);
          continue;
        }
      g_thread_pool_push (threads, GINT_TO_POINTER (conn), NULL);
    }
  /* the requests under way finish: their answers let mail go on */
  g_thread_pool_free (threads, FALSE, TRUE);
  g_thread_pool_free (side, FALSE, TRUE);
  /* the rows waiting are written while the store is still open */
  mirror_stop ();
  /* then the log: its last checkpoint goes to the store as it closes */
  g_clear_pointer (&storer.audit, mugai_audit_free);
  g_clear_pointer (&storer.store, mugai_store_free);
  g_message ("storer: stopped");
  return 0;
}

/* ---- the front's side ------------------------------------------------------- */

static gboolean
request (const char *path, const MugaiPeerRule *rule, GVariant *msg, int fd, GError **error)
{
  g_autoptr (GVariant) sunk = g_variant_ref_sink (msg);
  int sock = mugai_ipc_connect (path, MUGAI_STORER_TIMEOUT, error);
  if (sock < 0)
    return FALSE;
  gboolean ok = FALSE;
  gint64 deadline = g_get_monotonic_time () + MUGAI_STORER_TIMEOUT * G_USEC_PER_SEC;
  g_autoptr (GVariant) answer = NULL;
  if (mugai_peer_check (sock, rule, NULL, error) && mugai_ipc_send (sock, sunk, fd, error)
      && (answer = mugai_ipc_recv (sock, MUGAI_STORER_ANSWER, deadline, NULL, error)))
    {
      const char *why;
      g_variant_get (answer, "(b&s)", &ok, &why);
      if (!ok)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", why);
    }
  else if (error && !*error)
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "storer: %s",
                 g_strerror (errno));
  close (sock);
  return ok;
}

gboolean
mugai_storer_keep (const char *path, const MugaiPeerRule *rule, const MugaiStoreEntry *entry,
                   int fd, GError **error)
{
  return request (path, rule,
                  g_variant_new ("(y@" MUGAI_STORER_ENTRY "sssdd)", (guint8)'K',
                                 mugai_storer_entry_to_variant (entry), "", "", "", 0.0, 0.0),
                  fd, error);
}

gboolean
mugai_storer_record (const char *path, const MugaiPeerRule *rule, const MugaiAuditRecord *rec,
                     GError **error)
{
  MugaiStoreEntry with_report = *rec->entry;
  if (rec->report)
    with_report.report = rec->report;
  return request (path, rule,
                  g_variant_new ("(y@" MUGAI_STORER_ENTRY "sssdd)", (guint8)'R',
                                 mugai_storer_entry_to_variant (&with_report),
                                 or_empty (rec->quarantine_id), or_empty (rec->action),
                                 or_empty (rec->reason), rec->duration_total_ms,
                                 rec->duration_sanitize_ms),
                  -1, error);
}
