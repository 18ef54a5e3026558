/*
 * audit.c - the audit log: JSON Lines in a file, and a syslog line
 *
 * SYNOPSIS
 *	a = mugai_audit_open (policy->audit_file, policy->audit_syslog, &error);
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
 *	there the text from the mail is cut with mugai_text_safe_display()
 *	and escaped with g_strescape(), like the rest of mugai's log lines.
 *
 *	Lines are not fsync'ed: once write(2) returns, a crash of the
 *	daemon loses nothing, and the original mail is already durable in
 *	the quarantine; a flush per line would double the disk flushes per
 *	message for the sake of the last seconds before a power cut.
 *
 * LIMITS
 *	A line is as long as the report is (limits.parts bounds it).
 *	Syslog values: message-id and sender at most 200 characters, the
 *	reason at most 300.
 *
 * THREADS
 *	Thread-safe.
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

#include "notice.h"

struct _MugaiAudit
{
  char *path;
  gboolean use_syslog;
  GMutex lock; /* guards fd */
  int fd;
};

static int
open_log (const char *path, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (path);
  if (g_mkdir_with_parents (parent, 0750) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: mkdir: %s", parent,
                   g_strerror (e));
      return -1;
    }
  int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", path,
                   g_strerror (e));
    }
  return fd;
}

MugaiAudit *
mugai_audit_open (const char *path, gboolean use_syslog, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  int fd = open_log (path, error);
  if (fd < 0)
    return NULL;
  MugaiAudit *a = g_new0 (MugaiAudit, 1);
  a->path = g_strdup (path);
  a->use_syslog = use_syslog;
  a->fd = fd;
  g_mutex_init (&a->lock);
  return a;
}

gboolean
mugai_audit_reopen (MugaiAudit *a, GError **error)
{
  g_return_val_if_fail (a != NULL, FALSE);
  int fd = open_log (a->path, error);
  if (fd < 0)
    return FALSE;
  g_mutex_lock (&a->lock);
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
    close (a->fd);
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

/* The report's root object, or NULL; the parser owns it. */
static JsonObject *
parse_report (JsonParser *parser, const MugaiAuditRecord *rec)
{
  const char *json = rec->report_json ? rec->report_json : rec->entry->report_json;
  if (!json)
    return NULL;
  g_autofree char *valid = g_utf8_make_valid (json, -1);
  if (!json_parser_load_from_data (parser, valid, -1, NULL))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  return root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
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
  const MugaiQuarantineEntry *e = rec->entry;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *report = parse_report (parser, rec);

  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (now_usec / G_USEC_PER_SEC);
  g_autofree char *secs = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S") : g_strdup ("?");
  g_autofree char *stamp
      = g_strdup_printf ("%s.%03dZ", secs, (int) (now_usec % G_USEC_PER_SEC / 1000));

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  mugai_json_add_string (b, "time", stamp);
  mugai_quarantine_entry_add_envelope (b, e);
  mugai_json_add_string (b, "action", rec->action);
  mugai_json_add_string (b, "reason", rec->reason);
  mugai_json_add_string (b, "quarantine_id", rec->quarantine_id);
  json_builder_set_member_name (b, "removed");
  json_builder_add_int_value (b, int_member (report, "removed"));
  json_builder_set_member_name (b, "converted");
  json_builder_add_int_value (b, int_member (report, "converted"));
  /* the signature, when ClamAV found one: the audit record names it */
  JsonNode *virus = report ? json_object_get_member (report, "virus") : NULL;
  mugai_json_add_string (b, "virus",
                         virus && JSON_NODE_HOLDS_VALUE (virus) ? json_node_get_string (virus) : NULL);
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

/* Text from the mail, fit for a log line: valid UTF-8, no controls, cut,
 * then quotes, backslashes and non-ASCII escaped. */
static char *
log_text (const char *text, guint max_chars)
{
  g_autofree char *safe = mugai_text_safe_display (text ? text : "", max_chars);
  return g_strescape (safe, NULL);
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
  const MugaiQuarantineEntry *e = rec->entry;
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *report = parse_report (parser, rec);
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

gboolean
mugai_audit_write (MugaiAudit *a, const MugaiAuditRecord *rec, GError **error)
{
  g_return_val_if_fail (a != NULL && rec != NULL && rec->entry != NULL, FALSE);
  g_autofree char *json = mugai_audit_format_json (rec, g_get_real_time ());
  g_autoptr (GString) line = g_string_new (json);
  g_string_append_c (line, '\n');

  int err = 0;
  g_mutex_lock (&a->lock);
  const char *p = line->str;
  gsize left = line->len;
  while (left > 0)
    {
      ssize_t n = write (a->fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          err = errno;
          break;
        }
      p += n;
      left -= (gsize) n;
    }
  g_mutex_unlock (&a->lock);

  if (a->use_syslog)
    {
      g_autofree char *text = mugai_audit_format_syslog (rec);
      syslog (LOG_MAIL | LOG_INFO, "%s", text);
    }
  if (err)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "%s: write: %s", a->path,
                   g_strerror (err));
      return FALSE;
    }
  return TRUE;
}
