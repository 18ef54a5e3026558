/*
 * quarantine.h - the store of original messages
 *
 * DESCRIPTION
 *	Every original that mugai modifies, holds or rejects after
 *	acceptance is kept here, durably, before the SMTP reply (DESIGN.md,
 *	"Nothing lost").  One entry is two files in a directory per UTC day:
 *
 *		DIR/YYYY-MM-DD/ID.eml	the original, octet for octet
 *		DIR/YYYY-MM-DD/ID.json	the metadata (MugaiQuarantineEntry)
 *
 *	The day is the one in the id, so an id alone finds its entry.  An
 *	entry exists when both files exist; the .json is renamed into place
 *	last, so readers never see half an entry.
 *
 *	The functions here are the whole interface of the store, so that it
 *	can later be backed by a database without touching its callers.
 *
 * OWNERSHIP
 *	MugaiQuarantineEntry owns all its strings and its recipients.
 *	Entries returned by list and get belong to the caller.
 *
 * THREADS
 *	A MugaiQuarantine is immutable once open: any number of threads and
 *	processes may store, list and read at the same time, without locks.
 *
 * ERRORS
 *	G_FILE_ERROR, with a message that names the path.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

typedef struct
{
  char *id;              /* set by the caller with mugai_quarantine_new_id() */
  gint64 time;           /* unix seconds, UTC, when stored; 0 on store: now */
  char *queue_id;        /* Postfix queue id ({i}), may be NULL */
  char *sender;          /* envelope MAIL FROM, may be "" */
  GPtrArray *recipients; /* envelope RCPT TO, char* (owned) */
  char *client_addr;     /* may be NULL */
  char *client_name;     /* may be NULL */
  char *verdict;         /* "clean", "sanitized", "reject", "tempfail" */
  char *status;          /* X-Mugai-Status value */
  char *message_id;      /* may be NULL */
  char *subject;         /* decoded, may be NULL */
  gsize size;            /* octets of the original */
  char *report_json;     /* the full report as JSON text, may be NULL */
} MugaiQuarantineEntry;

/* An empty entry whose recipients array frees its strings. */
MugaiQuarantineEntry *mugai_quarantine_entry_new (void);
void mugai_quarantine_entry_free (MugaiQuarantineEntry *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiQuarantineEntry, mugai_quarantine_entry_free)

/* The metadata as stored in ID.json (and printed by `mugai quarantine
 * show`); every string is made valid UTF-8. */
char *mugai_quarantine_entry_to_json (const MugaiQuarantineEntry *e, gboolean pretty);
/* The envelope and message fields of e (queue_id, sender, recipients,
 * client, verdict, status, message_id, subject, size) as members of the
 * object b is building: the quarantine's metadata and the audit line
 * describe a message with the same names. */
void mugai_quarantine_entry_add_envelope (JsonBuilder *b, const MugaiQuarantineEntry *e);

typedef struct _MugaiQuarantine MugaiQuarantine;

/* Creates dir (mode 0700, with its parents) if missing; fails if it is
 * not a writable directory.  A dir that grants group or others anything
 * is brought to 0700 (day directories are made 0700, files 0600). */
MugaiQuarantine *mugai_quarantine_open (const char *dir, GError **error);

/* For reading only (list, get, open_original): dir must exist; it is
 * not created and need not be writable. */
MugaiQuarantine *mugai_quarantine_open_readonly (const char *dir, GError **error);

void mugai_quarantine_free (MugaiQuarantine *q);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiQuarantine, mugai_quarantine_free)

const char *mugai_quarantine_dir (const MugaiQuarantine *q);

/* "20261122T004644Z-" and 12 random lower-case hex digits (48 bits from
 * getrandom(2)): sorts by time, cannot be guessed from another id, and
 * uses only [0-9A-Za-z-].  Thread-safe and fork-safe. */
char *mugai_quarantine_new_id (void);

/* TRUE when id has exactly the shape mugai_quarantine_new_id() makes;
 * only such ids are ever turned into paths. */
gboolean mugai_quarantine_id_is_valid (const char *id);

/* Stores the original under entry->id: read from fd (with pread(2),
 * from offset 0 to end of file; fd's offset is not moved and fd stays
 * open) or, when fd < 0, from data.  The metadata records the octets
 * actually stored as "size", and entry->time or, when 0, now.
 *
 * Durable before return: each file is written to a temporary name in
 * the day directory, fsync'ed, renamed to its final name and the
 * directory fsync'ed; the .eml first, then the .json.  An existing
 * entry of the same id is never replaced.  On any failure (ENOSPC,
 * EACCES, EFBIG...) returns FALSE with a G_FILE_ERROR naming the path,
 * and removes whatever it had written. */
gboolean mugai_quarantine_store (MugaiQuarantine *q, int fd, GBytes *data,
                                 const MugaiQuarantineEntry *entry, GError **error);

/* MugaiQuarantineEntry*, oldest first (by time, then id); since: the
 * oldest time included, 0 for all.  An entry whose .json cannot be read
 * is still listed, with verdict "unreadable" and the file's mtime, so
 * that nothing in the store is invisible; get() then says why. */
GPtrArray *mugai_quarantine_list (MugaiQuarantine *q, gint64 since, GError **error);

/* G_FILE_ERROR_INVAL for a malformed id, G_FILE_ERROR_NOENT when no
 * such entry. */
MugaiQuarantineEntry *mugai_quarantine_get (MugaiQuarantine *q, const char *id, GError **error);

/* A read-only fd on the original, to be closed by the caller; -1 with
 * error as for get(). */
int mugai_quarantine_open_original (MugaiQuarantine *q, const char *id, GError **error);

/* Removes every entry whose metadata "time" is before older_than (unix
 * seconds).  The .json goes first, so an entry disappears whole.  Also
 * removes leftovers of interrupted stores (temporary files, an .eml
 * without .json) whose mtime is before older_than and more than an hour
 * old, and day directories left empty.  Returns the number of entries
 * removed; on failure error names the first path that could not be
 * removed, and the count still says how many were. */
guint mugai_quarantine_purge (MugaiQuarantine *q, gint64 older_than, GError **error);
