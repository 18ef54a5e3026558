/*
 * audit.h - one JSON line per message, and optionally one syslog line
 *
 * DESCRIPTION
 *	The audit log answers "what happened to this mail, and why" long
 *	after the fact: envelope, ids, verdict, what was done, the SMTP
 *	reply, the quarantine id and, per part, what was removed or
 *	converted.  It is JSON Lines (one object per line, UTF-8) so that
 *	jq(1) and log shippers read it without a parser of ours.
 *
 *	Each line carries:
 *	time ("2026-11-22T00:46:44.123Z", UTC, when written), queue_id,
 *	sender, recipients, client_addr, client_name, message_id, subject,
 *	size, verdict, status, action, reason, quarantine_id, removed,
 *	converted, durations_ms {total, sanitize} and parts [{path,
 *	declared_type, filename, action, reason}].  Unknown values are null.
 *	Last come the hash chain's seq, prev and hash (audit-chain.h): the
 *	log shows when a record was changed, removed or reordered.
 *
 * THREADS
 *	mugai_audit_write() may be called from any number of threads; lines
 *	from several processes appending to the same file do not interleave
 *	either (one write(2) per line on an O_APPEND descriptor).  It returns
 *	once the line is on disk (audit.c: group commit).
 *
 * ERRORS
 *	G_FILE_ERROR naming the file.
 */
#pragma once

#include <glib.h>

#include "quarantine.h"

typedef struct
{
  const MugaiStoreEntry *entry; /* envelope, ids, verdict (borrowed, required) */
  const char *quarantine_id;    /* NULL when not stored */
  const char *action;           /* what was done: "deliver", "reject", "tempfail" */
  const char *reason;           /* SMTP reply text or NULL */
  JsonNode *report;             /* per-part actions (mugai_report_to_node(), as the
                                 * store and the front hand it; borrowed);
                                 * NULL: entry->report */
  double duration_total_ms, duration_sanitize_ms;
} MugaiAuditRecord;

typedef struct _MugaiAudit MugaiAudit;

/* Creates the parent directory (0700) if missing and opens path with
 * O_APPEND|O_CREAT, mode 0600 (an existing file is brought to 0600 if it
 * grants more; a path that is not a regular file is refused).  With
 * use_syslog every record written is also logged at LOG_MAIL|LOG_INFO;
 * calling openlog(3) is the caller's job. */
MugaiAudit *mugai_audit_open (const char *path, gboolean use_syslog, GError **error);

/* Opens the path again, for log rotation by rename (the storer does it
 * on the supervisor's SIGWINCH, sent on SIGHUP and SIGUSR1); the chain
 * goes on in the new file; records written
 * to the old file are flushed there first.  On failure the old file stays
 * in use. */
gboolean mugai_audit_reopen (MugaiAudit *a, GError **error);

void mugai_audit_free (MugaiAudit *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiAudit, mugai_audit_free)

/* Appends one line and returns once it is flushed to disk (fdatasync,
 * shared with the records of other threads written meanwhile).  FALSE:
 * the record is not safely in the log; a failed write is cut off again,
 * a line whose flush failed may remain (it cannot be taken back). */
gboolean mugai_audit_write (MugaiAudit *a, const MugaiAuditRecord *rec, GError **error);

/* Told of every record once it is on disk: its seq and hash (the chain's,
 * audit-chain.h) and its line without the newline, all borrowed for the
 * call.  Called by the thread that wrote it, outside the log's lock, so
 * records may be told out of seq order; it must not block for long (the
 * writer's message waits). */
typedef void (*MugaiAuditMirror) (guint64 seq, const char *hash, const char *line, gpointer data);

/* Sets the mirror (NULL: none), e.g. the storer's copy into the
 * database's append-only audit table.  Returns the seq of the last
 * record before it (0: none): every record after that one is told. */
guint64 mugai_audit_set_mirror (MugaiAudit *a, MugaiAuditMirror mirror, gpointer data);

/* Called with the chain's head each time it is checkpointed (beside the
 * log, on syslog) and at a clean close: the storer keeps it in the store
 * too, where a log replaced by a shorter chain cannot reach it. */
typedef void (*MugaiAuditCheckpointHook) (guint64 seq, const char *hash, gpointer data);
void mugai_audit_set_checkpoint_hook (MugaiAudit *a, MugaiAuditCheckpointHook hook, gpointer data);

/* The JSON line without its newline, and the syslog text; exposed for
 * tests and for callers that log elsewhere. */
char *mugai_audit_format_json (const MugaiAuditRecord *rec, gint64 now_usec);
char *mugai_audit_format_syslog (const MugaiAuditRecord *rec);
