/*
 * audit.c - the audit log: JSON Lines in a file, and a syslog line
 *
 * SYNOPSIS
 *	a = mugai_audit_open (node->audit_file, node->audit_syslog, &error);
 *	mugai_audit_write (a, &record, &error);
 *
 * DESCRIPTION
 *	Format: audit.h.  Each line is built whole in memory and handed to
 *	the kernel with one write(2) on an O_APPEND descriptor: the kernel
 *	appends it atomically with respect to other writers of the same
 *	file, so worker processes and threads never interleave lines.  A
 *	mutex still serialises the threads of one process, so that a short
 *	write (a full disk) finishes its line before another line starts.
 *
 *	Sender text cannot break a line: json-glib escapes control
 *	characters in strings, and every string is made valid UTF-8 first.
 *	The syslog line is for people reading maillog next to Postfix's
 *	own lines, so it follows Postfix's "QUEUEID: key=value, ..." form;
 *	there the text from the mail is cut and escaped with
 *	mugai_log_escape(), like the rest of mugai's log lines.
 *
 *	Fail closed and durable: mugai_audit_write() returns only once the
 *	line is on disk (fdatasync(2)), and the front sends no reply that
 *	lets Postfix go on before that; a line that cannot be written or
 *	flushed is an error, and the message is deferred (451).  The flush
 *	is a group commit: a thread that finds no flush under way flushes
 *	every line written so far with one fdatasync(2) (outside the lock)
 *	and wakes their writers, so concurrent SMTP sessions share one disk
 *	flush instead of queueing for one each (bench/audit-fsync.c).  A
 *	failed write is cut back off the file (ftruncate), so a full disk
 *	leaves no half line.
 *
 *	mugai_audit_reopen() is for rotation by rename (logrotate without
 *	copytruncate): the front calls it on the supervisor's SIGUSR1; lines
 *	written to the old file are flushed there before it is closed.
 *
 *	Modes: the log is created 0600 (its parent 0700 when missing), and
 *	an existing log that grants group or others anything is brought to
 *	0600 when opened: the lines name senders, recipients and subjects.
 *	It must be a regular file.
 *
 * LIMITS
 *	A line is as long as the report is (limits.parts bounds it).
 *	Syslog values: message-id and sender at most 200 characters, the
 *	reason at most 300.
 *
 * THREADS
 *	Thread-safe: one mutex guards the descriptor and the records waiting
 *	for a flush.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <json-glib/json-glib.h>

#include "audit-chain.h"
#include "logline.h"
#include "notice.h"

/* One record waiting for the flush that makes it durable (on the stack of
 * the thread that wrote it). */
typedef struct
{
  gboolean done;
  int err; /* errno of the failed flush, or 0 */
} Waiter;

struct _MugaiAudit
{
  char *path;
  gboolean use_syslog;
  GMutex lock; /* guards everything below */
  GCond flushed;
  int fd;
  MugaiAuditHead head;     /* the chain's last record (audit-chain.h) */
  guint64 checkpointed;    /* the seq of the last checkpoint */
  gint64 checkpoint_at;    /* when (monotonic) */
  gboolean flushing;       /* a thread is in fdatasync() outside the lock */
  GPtrArray *pending;      /* Waiter *: written to fd, not yet flushed */
  MugaiAuditMirror mirror; /* told of every record on disk, or NULL */
  gpointer mirror_data;
  MugaiAuditCheckpointHook checkpoint_hook; /* told of each checkpoint, or NULL */
  gpointer checkpoint_data;
};

/* Opens (creating) the log: O_APPEND, mode 0600, a regular file only.
 * O_NONBLOCK keeps a FIFO planted at the path from blocking the open; it
 * is refused right after. */
static int
open_log (const char *path, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (path);
  if (g_mkdir_with_parents (parent, 0700) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: mkdir: %s", parent,
                   g_strerror (e));
      return -1;
    }
  int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", path,
                   g_strerror (e));
      return -1;
    }
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: not a regular file", path);
      close (fd);
      return -1;
    }
  /* a log created by an older version (0640) or by hand: the records name
   * senders, recipients and subjects, for mugai's user alone */
  if ((st.st_mode & 077) != 0 && fchmod (fd, st.st_mode & 0600) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
                   "%s: mode %04o gives others access and cannot be changed: %s", path,
                   (unsigned)(st.st_mode & 07777), g_strerror (e));
      close (fd);
      return -1;
    }
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

MugaiAudit *
mugai_audit_open (const char *path, gboolean use_syslog, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  /* the chain goes on from the last record there (or in the file rotated
   * before it): a log whose end is not intact is refused */
  MugaiAuditHead head;
  if (!mugai_audit_head_recover (path, &head, error))
    return NULL;
  int fd = open_log (path, error);
  if (fd < 0)
    return NULL;
  MugaiAudit *a = g_new0 (MugaiAudit, 1);
  a->head = head;
  a->checkpointed = head.seq;
  a->checkpoint_at = g_get_monotonic_time ();
  a->path = g_strdup (path);
  a->use_syslog = use_syslog;
  a->fd = fd;
  a->pending = g_ptr_array_new ();
  g_mutex_init (&a->lock);
  g_cond_init (&a->flushed);
  return a;
}

/* Settles the records in batch: flushed (err 0) or not.  Lock held. */
static void
settle (MugaiAudit *a, GPtrArray *batch, int err)
{
  for (guint i = 0; i < batch->len; i++)
    {
      Waiter *w = batch->pdata[i];
      w->done = TRUE;
      w->err = err;
    }
  g_cond_broadcast (&a->flushed);
}

gboolean
mugai_audit_reopen (MugaiAudit *a, GError **error)
{
  g_return_val_if_fail (a != NULL, FALSE);
  int fd = open_log (a->path, error);
  if (fd < 0)
    return FALSE;
  g_mutex_lock (&a->lock);
  /* the records written to the old file are flushed there first, so that
   * none of them is lost with the rotation */
  while (a->flushing)
    g_cond_wait (&a->flushed, &a->lock);
  if (a->pending->len > 0)
    {
      g_autoptr (GPtrArray) batch = g_steal_pointer (&a->pending);
      a->pending = g_ptr_array_new ();
      settle (a, batch, fdatasync (a->fd) == 0 ? 0 : errno);
    }
  int old = a->fd;
  a->fd = fd;
  g_mutex_unlock (&a->lock);
  close (old);
  return TRUE;
}

void
mugai_audit_free (MugaiAudit *a)
{
  if (!a)
    return;
  if (a->fd >= 0)
    {
      fdatasync (a->fd);
      close (a->fd);
    }
  /* a clean stop checkpoints the end of the chain (of a log that is still
   * there) */
  if (a->head.seq != a->checkpointed && g_file_test (a->path, G_FILE_TEST_EXISTS))
    {
      g_autoptr (GError) error = NULL;
      if (!mugai_audit_checkpoint_write (a->path, &a->head, &error))
        g_warning ("audit: checkpoint not written: %s", error->message);
    }
  if (a->head.seq != 0 && a->checkpoint_hook)
    a->checkpoint_hook (a->head.seq, a->head.hash, a->checkpoint_data);
  g_ptr_array_unref (a->pending);
  g_cond_clear (&a->flushed);
  g_mutex_clear (&a->lock);
  g_free (a->path);
  g_free (a);
}

/* ---- formatting --------------------------------------------------------------- */

/* Copies member name of from (a string or null) into the builder. */
static void
copy_string_member (JsonBuilder *b, JsonObject *from, const char *name)
{
  JsonNode *n = json_object_get_member (from, name);
  const char *s = n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
                      ? json_node_get_string (n)
                      : NULL;
  mugai_json_add_string (b, name, s);
}

static gint64
int_member (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;
  if (n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64)
    return json_node_get_int (n);
  return 0;
}

/* The report's object, or NULL: data already (the front took it from
 * the worker's answer through mugai_report_node_from_text()), never
 * text to parse here.  The members are still read by their types. */
static JsonObject *
report_object (const MugaiAuditRecord *rec)
{
  JsonNode *node = rec->report ? rec->report : rec->entry->report;
  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static void
append_ms (GString *out, double ms)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.3f",
                                         isfinite (ms) && ms >= 0 && ms < 1e12 ? ms : 0.0));
}

char *
mugai_audit_format_json (const MugaiAuditRecord *rec, gint64 now_usec)
{
  const MugaiStoreEntry *e = rec->entry;
  JsonObject *report = report_object (rec);

  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (now_usec / G_USEC_PER_SEC);
  g_autofree char *secs = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S") : g_strdup ("?");
  g_autofree char *stamp
      = g_strdup_printf ("%s.%03dZ", secs, (int)(now_usec % G_USEC_PER_SEC / 1000));

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  mugai_json_add_string (b, "time", stamp);
  mugai_store_entry_add_envelope (b, e);
  mugai_json_add_string (b, "action", rec->action);
  mugai_json_add_string (b, "reason", rec->reason);
  mugai_json_add_string (b, "quarantine_id", rec->quarantine_id);
  json_builder_set_member_name (b, "removed");
  json_builder_add_int_value (b, int_member (report, "removed"));
  json_builder_set_member_name (b, "converted");
  json_builder_add_int_value (b, int_member (report, "converted"));
  /* the signature, when ClamAV found one: the audit record names it */
  JsonNode *virus = report ? json_object_get_member (report, "virus") : NULL;
  mugai_json_add_string (
      b, "virus", virus && JSON_NODE_HOLDS_VALUE (virus) ? json_node_get_string (virus) : NULL);
  json_builder_set_member_name (b, "parts");
  JsonNode *parts = report ? json_object_get_member (report, "parts") : NULL;
  if (parts && JSON_NODE_HOLDS_ARRAY (parts))
    {
      JsonArray *a = json_node_get_array (parts);
      json_builder_begin_array (b);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *n = json_array_get_element (a, i);
          if (!JSON_NODE_HOLDS_OBJECT (n))
            continue;
          JsonObject *p = json_node_get_object (n);
          json_builder_begin_object (b);
          copy_string_member (b, p, "path");
          copy_string_member (b, p, "declared_type");
          copy_string_member (b, p, "filename");
          copy_string_member (b, p, "action");
          copy_string_member (b, p, "reason");
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
    }
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  g_autofree char *text = json_generator_to_data (gen, NULL);

  /* The durations are appended by hand: json-glib writes doubles with
   * "%.17g", so 0.333 would read 0.33300000000000002; microseconds
   * ("%.3f") are the precision that means something here. */
  g_autoptr (GString) out = g_string_new (text);
  g_assert (out->len > 0 && out->str[out->len - 1] == '}');
  g_string_truncate (out, out->len - 1);
  g_string_append (out, ",\"durations_ms\":{\"total\":");
  append_ms (out, rec->duration_total_ms);
  g_string_append (out, ",\"sanitize\":");
  append_ms (out, rec->duration_sanitize_ms);
  g_string_append (out, "}}");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Text from the mail, fit for a log line (logline.h: valid UTF-8, no
 * controls, cut, then quotes, backslashes and non-ASCII escaped). */
static char *
log_text (const char *text, guint max_chars)
{
  return mugai_log_escape (text, max_chars);
}

/* Postfix's own form for addresses: from=<a@b>, from=<> for the null
 * sender. */
static char *
log_address (const char *addr)
{
  const char *s = addr ? addr : "";
  gsize len = strlen (s);
  if (len >= 2 && s[0] == '<' && s[len - 1] == '>')
    {
      g_autofree char *inner = g_strndup (s + 1, len - 2);
      return log_text (inner, 200);
    }
  return log_text (s, 200);
}

char *
mugai_audit_format_syslog (const MugaiAuditRecord *rec)
{
  const MugaiStoreEntry *e = rec->entry;
  JsonObject *report = report_object (rec);
  g_autoptr (GString) s = g_string_new (NULL);

  g_autofree char *qid = e->queue_id ? log_text (e->queue_id, 40) : g_strdup ("NOQUEUE");
  g_autofree char *verdict = log_text (e->verdict ? e->verdict : "unknown", 20);
  g_autofree char *action = log_text (rec->action ? rec->action : "unknown", 20);
  g_string_append_printf (
      s, "%s: verdict=%s, action=%s, removed=%" G_GINT64_FORMAT ", converted=%" G_GINT64_FORMAT,
      qid, verdict, action, int_member (report, "removed"), int_member (report, "converted"));
  if (rec->quarantine_id)
    {
      g_autofree char *q = log_text (rec->quarantine_id, 40);
      g_string_append_printf (s, ", quarantine=%s", q);
    }
  if (e->message_id)
    {
      g_autofree char *m = log_text (e->message_id, 200);
      g_string_append_printf (s, ", msgid=<%s>", m);
    }
  g_autofree char *from = log_address (e->sender);
  g_string_append_printf (s, ", from=<%s>, size=%zu", from, e->size);
  /* free text last, as Postfix does, so that its commas cannot be
   * mistaken for separators of the fields before it */
  if (rec->reason)
    {
      g_autofree char *r = log_text (rec->reason, 300);
      g_string_append_printf (s, ", reason=%s", r);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* ---- writing ------------------------------------------------------------------ */

/* Appends the line whole; on failure cuts the file back to where it was,
 * so that no half line is left for the next one to run into.  Lock held. */
static int
append_line (MugaiAudit *a, const GString *line)
{
  off_t start = lseek (a->fd, 0, SEEK_END);
  const char *p = line->str;
  gsize left = line->len;
  while (left > 0)
    {
      ssize_t n = write (a->fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int err = n < 0 ? errno : EIO;
          if (start >= 0 && left < line->len)
            (void)!ftruncate (a->fd, start);
          return err;
        }
      p += n;
      left -= (gsize)n;
    }
  return 0;
}

/* Every MUGAI_AUDIT_CHECKPOINT_EVERY records and every minute: the
 * chain's head beside the log and on syslog (audit-chain.h).  A
 * checkpoint that cannot be written is logged, not fatal: the records
 * themselves are.  Lock held. */
static void
maybe_checkpoint (MugaiAudit *a)
{
  gint64 now = g_get_monotonic_time ();
  if (a->head.seq - a->checkpointed < MUGAI_AUDIT_CHECKPOINT_EVERY
      && now - a->checkpoint_at < MUGAI_AUDIT_CHECKPOINT_SECONDS * G_USEC_PER_SEC)
    return;
  g_autoptr (GError) error = NULL;
  if (!mugai_audit_checkpoint_write (a->path, &a->head, &error))
    g_warning ("audit: checkpoint not written: %s", error->message);
  syslog (LOG_MAIL | LOG_NOTICE, "audit checkpoint seq=%" G_GUINT64_FORMAT " hash=%s", a->head.seq,
          a->head.hash);
  if (a->checkpoint_hook)
    a->checkpoint_hook (a->head.seq, a->head.hash, a->checkpoint_data);
  a->checkpointed = a->head.seq;
  a->checkpoint_at = now;
}

/* Waits until the record of w is flushed (group commit): the first thread
 * to find no flush running takes every record written so far, flushes
 * them with one fdatasync(2) outside the lock and wakes their writers;
 * records written meanwhile go with the next flush.  Lock held. */
static int
wait_flushed (MugaiAudit *a, Waiter *w)
{
  while (!w->done)
    {
      if (a->flushing)
        {
          g_cond_wait (&a->flushed, &a->lock);
          continue;
        }
      g_autoptr (GPtrArray) batch = g_steal_pointer (&a->pending);
      a->pending = g_ptr_array_new ();
      a->flushing = TRUE;
      int fd = a->fd; /* reopen waits while flushing: fd stays open */
      g_mutex_unlock (&a->lock);
      int err = fdatasync (fd) == 0 ? 0 : errno;
      g_mutex_lock (&a->lock);
      a->flushing = FALSE;
      settle (a, batch, err);
    }
  return w->err;
}

guint64
mugai_audit_set_mirror (MugaiAudit *a, MugaiAuditMirror mirror, gpointer data)
{
  g_return_val_if_fail (a != NULL, 0);
  g_mutex_lock (&a->lock);
  a->mirror = mirror;
  a->mirror_data = data;
  guint64 seq = a->head.seq;
  g_mutex_unlock (&a->lock);
  return seq;
}

void
mugai_audit_set_checkpoint_hook (MugaiAudit *a, MugaiAuditCheckpointHook hook, gpointer data)
{
  g_mutex_lock (&a->lock);
  a->checkpoint_hook = hook;
  a->checkpoint_data = data;
  g_mutex_unlock (&a->lock);
}

gboolean
mugai_audit_write (MugaiAudit *a, const MugaiAuditRecord *rec, GError **error)
{
  g_return_val_if_fail (a != NULL && rec != NULL && rec->entry != NULL, FALSE);
  g_autofree char *json = mugai_audit_format_json (rec, g_get_real_time ());

  Waiter w = { 0 };
  g_mutex_lock (&a->lock);
  /* the chain's next link is made under the lock, in the order the lines
   * go to the file; a line that is not written does not move it on */
  MugaiAuditHead next = a->head;
  g_autofree char *chained = mugai_audit_chain_line (json, &next);
  g_autoptr (GString) line = g_string_new (chained);
  g_string_append_c (line, '\n');
  int err = append_line (a, line);
  MugaiAuditMirror mirror = a->mirror;
  gpointer mirror_data = a->mirror_data;
  const char *what = "write";
  if (!err)
    {
      a->head = next;
      maybe_checkpoint (a);
      g_ptr_array_add (a->pending, &w);
      err = wait_flushed (a, &w);
      what = "fdatasync";
    }
  g_mutex_unlock (&a->lock);

  if (err)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "%s: %s: %s", a->path, what,
                   g_strerror (err));
      return FALSE;
    }
  /* only a record that is in the file is told to syslog and to the
   * mirror: the caller defers a message whose record could not be
   * written */
  if (mirror && chained)
    mirror (next.seq, next.hash, chained, mirror_data);
  if (a->use_syslog)
    {
      g_autofree char *text = mugai_audit_format_syslog (rec);
      syslog (LOG_MAIL | LOG_INFO, "%s", text);
    }
  return TRUE;
}
