/*
 * quarantine.h - the store of original messages: one interface, a backend
 *                per kind of storage
 *
 * DESCRIPTION
 *	Every original that mugai modifies, holds or rejects after
 *	acceptance is kept here, durably, before the SMTP reply (DESIGN.md,
 *	"Nothing lost"), with what is known of it: a MugaiStoreEntry.
 *
 *	A store is opened from a location string.  The backend is chosen by
 *	its scheme, the rest is the backend's business:
 *
 *		file:/var/lib/mugai/quarantine	the files backend (store-file.c)
 *		/var/lib/mugai/quarantine	the same: a location without a
 *						scheme is a directory
 *
 *	Nothing in this header knows how a backend keeps its entries; a
 *	database backend is added beside store-file.c (store-backend.h) and
 *	its callers do not change (OpenSMTPD's queue_backend.c and
 *	queue_fs.c are the model).
 *
 * LIFECYCLE
 *	An entry has a state (MugaiStoreState).  Today the store writes
 *	STORED (the original of a message that went on, or was refused) and
 *	HELD (on_virus = hold: accepted, delivered to no one, kept for a
 *	decision).  The others are the release workflow's, named here so
 *	that every backend keeps the same words (release.h is the machine
 *	that moves between them): REQUESTED (staff or an administrator
 *	asked for the original), APPROVED (by as many approvers as
 *	[release] approvals), SENDING (a release attempt is recorded, its
 *	reply not yet), RELEASED (re-injected), DENIED (the request
 *	refused), EXPIRED (the request waited past [release] request_days),
 *	PURGED (the original removed, the record kept; the files backend
 *	removes both, so never shows it).  Each change is one
 *	mugai_store_update(): from a state, to a state, with the workflow
 *	record, or CONFLICT.
 *
 * OWNERSHIP
 *	MugaiStoreEntry owns all its strings, its recipients and its report.
 *	Entries returned by list and get belong to the caller.
 *
 * THREADS
 *	A MugaiStore is immutable once open: any number of threads and
 *	processes may add, list and read at the same time.
 *
 * ERRORS
 *	MUGAI_STORE_ERROR, with a message that says where (for the files
 *	backend, the path).
 */
#pragma once

#include <gio/gio.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#define MUGAI_STORE_ERROR (mugai_store_error_quark ())
GQuark mugai_store_error_quark (void);

typedef enum
{
  MUGAI_STORE_ERROR_INVALID_ID,  /* not an id mugai_store_new_id() makes */
  MUGAI_STORE_ERROR_NOT_FOUND,   /* no such entry, or no such store */
  MUGAI_STORE_ERROR_EXISTS,      /* an entry of that id is there already */
  MUGAI_STORE_ERROR_CORRUPT,     /* an entry whose record cannot be read */
  MUGAI_STORE_ERROR_IO,          /* the storage failed (ENOSPC, EACCES, EIO...) */
  MUGAI_STORE_ERROR_LOCATION,    /* a location no backend takes */
  MUGAI_STORE_ERROR_CONFLICT,    /* the entry's state is no longer the one the
                                  * change was made from (another node or
                                  * command changed it first) */
  MUGAI_STORE_ERROR_UNSUPPORTED, /* the backend cannot do that (the files
                                  * backend keeps no workflow, no accounts) */
  MUGAI_STORE_ERROR_SCHEMA,      /* the database's schema is not the one this
                                  * version uses: `mugai quarantine migrate` */
} MugaiStoreError;

typedef enum
{
  MUGAI_STORE_STATE_STORED,
  MUGAI_STORE_STATE_HELD,
  MUGAI_STORE_STATE_REQUESTED,
  MUGAI_STORE_STATE_RELEASED,
  MUGAI_STORE_STATE_DENIED,
  MUGAI_STORE_STATE_PURGED,
  MUGAI_STORE_STATE_APPROVED,
  MUGAI_STORE_STATE_SENDING,
  MUGAI_STORE_STATE_EXPIRED,
} MugaiStoreState;

#define MUGAI_STORE_N_STATES (MUGAI_STORE_STATE_EXPIRED + 1)

/* "stored", "held", "requested", "released", "denied", "purged",
 * "approved", "sending", "expired" */
const char *mugai_store_state_name (MugaiStoreState state);
/* FALSE for a name that is none of those (out untouched). */
gboolean mugai_store_state_from_name (const char *name, MugaiStoreState *out);

typedef struct
{
  char *id;              /* set by the caller with mugai_store_new_id() */
  gint64 time;           /* unix seconds, UTC, when received; 0 on add: now */
  gsize size;            /* octets of the original; set by the store on add */
  char *sha256;          /* hex, of the original; set by the store on add;
                          * NULL for entries stored before it was recorded */
  MugaiStoreState state; /* on add: STORED, or HELD for verdict "hold" */
  /* the envelope */
  char *queue_id;        /* Postfix queue id ({i}), may be NULL */
  char *sender;          /* envelope MAIL FROM, may be "" */
  GPtrArray *recipients; /* envelope RCPT TO, char* (owned) */
  char *client_addr;     /* may be NULL */
  char *client_name;     /* may be NULL */
  /* the verdict */
  char *verdict;      /* "clean", "sanitized", "reject", "hold"...; "unreadable"
                       * in a list for an entry whose record is damaged */
  char *status;       /* X-Mugai-Status value */
  char *message_id;   /* may be NULL */
  char *subject;      /* decoded, may be NULL */
  JsonNode *report;   /* the report (mugai_report_to_node()), checked, or NULL;
                       * get() fills it, list() does not */
  JsonNode *workflow; /* the release workflow's record (release.h), an
                       * object, or NULL before any request; get() and
                       * list() fill it */
  char *node;         /* the node that stored it ([milter] node_name), may
                       * be NULL */
} MugaiStoreEntry;

/* An empty entry whose recipients array frees its strings. */
MugaiStoreEntry *mugai_store_entry_new (void);
void mugai_store_entry_free (MugaiStoreEntry *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiStoreEntry, mugai_store_entry_free)

/* The entry as JSON (what `mugai quarantine show` prints, and the files
 * backend's record); every string is made valid UTF-8.  The report is
 * put in as the object it is. */
char *mugai_store_entry_to_json (const MugaiStoreEntry *e, gboolean pretty);
/* The envelope and message fields of e (queue_id, sender, recipients,
 * client, verdict, status, message_id, subject, size) as members of the
 * object b is building: the store's record and the audit line describe
 * a message with the same names. */
void mugai_store_entry_add_envelope (JsonBuilder *b, const MugaiStoreEntry *e);

/* "20261122T004644Z-" and 12 random lower-case hex digits (48 bits from
 * getrandom(2)): sorts by time, cannot be guessed from another id, and
 * uses only [0-9A-Za-z-].  Thread-safe and fork-safe. */
char *mugai_store_new_id (void);

/* TRUE when id has exactly the shape mugai_store_new_id() makes; a
 * backend is never given any other id. */
gboolean mugai_store_id_is_valid (const char *id);

typedef struct _MugaiStore MugaiStore;

typedef enum
{
  MUGAI_STORE_EXISTING, /* the administrator's command: the store must
                         * exist (NOT_FOUND), is never created or changed
                         * by opening it, need not be writable (a purge
                         * then fails as the storage says) */
  MUGAI_STORE_CREATE,   /* the daemon: created if missing (files: mode
                         * 0700; a directory open to others is brought to
                         * 0700), refused if it cannot be written */
  MUGAI_STORE_MIGRATE,  /* `mugai quarantine migrate`: as EXISTING, but a
                         * database of an older schema is opened (to be
                         * upgraded) rather than refused */
} MugaiStoreMode;

MugaiStore *mugai_store_open (const char *location, MugaiStoreMode mode, GError **error);
void mugai_store_free (MugaiStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiStore, mugai_store_free)

/* The location as given to open, for messages. */
const char *mugai_store_location (const MugaiStore *store);

/* Stores the original under entry->id: read from fd (with pread(2),
 * from offset 0 to end of file; fd's offset is not moved and fd stays
 * open) or, when fd < 0, from data.  The store records the octets it
 * actually stored (size, sha256), entry->time or, when 0, now, and the
 * state from the verdict (entry->state is not read).
 *
 * Durable before return, and whole or not at all: an entry is visible
 * only once everything of it is safely stored, and on any failure
 * (ENOSPC, EACCES, EFBIG...) nothing of it remains.  An existing entry of
 * the same id is never replaced (EXISTS). */
gboolean mugai_store_add (MugaiStore *store, int fd, GBytes *data, const MugaiStoreEntry *entry,
                          GError **error);

/* What list returns; zero members mean "any". */
typedef struct
{
  gint64 since;  /* oldest time included */
  gint64 before; /* times from this one on are left out; 0: no bound */
  guint states;  /* a bit (1u << state) per state wanted; 0: all */
  /* searches: NULL matches all.  Text is compared as it is shown, folded
   * (NFKC, case): "請求" finds 請求書, "ｾｲｷｭｳ" finds セイキュウ. */
  const char *sender;    /* a part of the envelope sender */
  const char *recipient; /* a part of one envelope recipient */
  const char *subject;   /* a part of the decoded subject */
  const char *verdict;   /* exactly ("sanitized", "reject"...) */
  guint offset;          /* the first this many matches are skipped */
  guint limit;           /* at most this many returned; 0: all */
  gboolean newest_first; /* the order reversed (time, then id, both
                          * descending): offset and limit count from the
                          * newest, so the latest page is one query */
} MugaiStoreFilter;

/* MugaiStoreEntry* (without their reports), oldest first (by time, then
 * id) or, with newest_first, newest first; filter may be NULL.  An entry whose record cannot be
 * read is still listed, with verdict "unreadable" and the backend's best guess of its time, so that
 * nothing in the store is invisible (whatever the filter's states); get() then says why. */
GPtrArray *mugai_store_list (MugaiStore *store, const MugaiStoreFilter *filter, GError **error);

/* The entry with its report: INVALID_ID, NOT_FOUND, CORRUPT (the record
 * is damaged, or its report is not one mugai writes), IO. */
MugaiStoreEntry *mugai_store_get (MugaiStore *store, const char *id, GError **error);

/* The original, octet for octet, as a stream to read to its end (errors
 * as for get), or whole when it is at most max_size octets (IO when
 * larger). */
GInputStream *mugai_store_open_original (MugaiStore *store, const char *id, GError **error);
GBytes *mugai_store_read_original (MugaiStore *store, const char *id, gsize max_size,
                                   GError **error);

/* Removes every entry whose time is before older_than (unix seconds),
 * whole (a reader never sees half of one), and whatever interrupted adds
 * left behind that is older than that and than an hour.  Returns the
 * number of entries removed; on failure error says what could not be
 * removed, and the count still says how many were. */
guint mugai_store_purge (MugaiStore *store, gint64 older_than, GError **error);

/* Moves id from state `from` to `to` and replaces its workflow record
 * (an object, or NULL to keep the one there), atomically and durably:
 * CONFLICT when its state is not `from` any more, NOT_FOUND, UNSUPPORTED
 * (the files backend). */
gboolean mugai_store_update (MugaiStore *store, const char *id, MugaiStoreState from,
                             MugaiStoreState to, JsonNode *workflow, GError **error);

/* The backend's name ("file", "sqlite", "postgresql"). */
const char *mugai_store_backend_name (const MugaiStore *store);

/* ---- accounts: who may act (mugai admin) ---------------------------------- */

typedef enum
{
  MUGAI_ROLE_REQUESTER, /* may ask for an original (staff) */
  MUGAI_ROLE_APPROVER,  /* may approve, deny, release; and request */
  MUGAI_ROLE_AUDITOR,   /* may read the store and the audit log, nothing more */
} MugaiRole;

/* "requester", "approver", "auditor"; FALSE for another name. */
const char *mugai_role_name (MugaiRole role);
gboolean mugai_role_from_name (const char *name, MugaiRole *out);

typedef struct
{
  char *name; /* [A-Za-z0-9._-]{1,64} */
  MugaiRole role;
  char *unix_user; /* the login it acts for on the command line, or NULL */
  char *password;  /* the argon2id encoded hash ($argon2id$v=19$...), or
                    * NULL: no password (command line only) */
  gint64 created;  /* unix seconds */
  gboolean disabled;
} MugaiAccount;

MugaiAccount *mugai_account_new (void);
void mugai_account_free (MugaiAccount *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiAccount, mugai_account_free)
gboolean mugai_account_name_is_valid (const char *name);

/* Adds a (EXISTS when the name is taken) or, with replace, replaces the
 * account of that name (NOT_FOUND when there is none).  A unix_user
 * already mapped to another account is refused (EXISTS): one login is
 * one account. */
gboolean mugai_store_account_put (MugaiStore *store, const MugaiAccount *a, gboolean replace,
                                  GError **error);
/* Every account, by name. */
GPtrArray *mugai_store_account_list (MugaiStore *store, GError **error);
/* The account of that name, or of that Unix login (name NULL); NULL and
 * NOT_FOUND when there is none. */
MugaiAccount *mugai_store_account_get (MugaiStore *store, const char *name, const char *unix_user,
                                       GError **error);

/* Appends one audit record (its line as written to the log, with its
 * seq and hash) to the store's append-only table, where the backend has
 * one (postgresql: UPDATE and DELETE refused by the database); TRUE
 * and nothing done where it has none. */
gboolean mugai_store_audit_append (MugaiStore *store, const char *node, gint64 seq,
                                   const char *hash, const char *line, GError **error);

/* The audit chain's checkpoint of a node (its last seq and hash), kept
 * in the store where it has a place for it (sqlite, postgresql): put
 * never moves it back; get gives FALSE (no error) when there is none.
 * Nothing and FALSE for the files backend. */
gboolean mugai_store_checkpoint_put (MugaiStore *store, const char *node, guint64 seq,
                                     const char *hash, GError **error);
gboolean mugai_store_checkpoint_get (MugaiStore *store, const char *node, guint64 *seq, char **hash,
                                     GError **error);

/* The highest seq of node's rows in that table (0: none yet), so that a
 * storer that starts can copy what an earlier one could not; 0 where
 * there is no table. */
gboolean mugai_store_audit_last (MugaiStore *store, const char *node, gint64 *seq, GError **error);

/* ---- schema (database backends) ------------------------------------------- */

/* The schema version the store holds and the one this build uses
 * (both 0 for the files backend). */
void mugai_store_schema (MugaiStore *store, guint *found, guint *current);

/* Upgrades a store opened with MUGAI_STORE_MIGRATE to this build's
 * schema; *found and *current the versions before and after. */
gboolean mugai_store_migrate (MugaiStore *store, guint *found, guint *current, GError **error);

/* Builds the sqlite index (DIR/index.sqlite) of the files backend's
 * store in dir: every entry whose record and original are there, its
 * original left where it is.  Entries indexed already are counted in
 * *already and left alone, so it can be run again.  Returns the number
 * added; error set when it stopped. */
guint mugai_store_reindex (const char *dir, guint *already, GError **error);

/* A consistent copy of the store in dir (which must not exist): the
 * sqlite backend's index as of one moment (SQLite's online backup) and
 * the originals it names, copied after it; an entry purged while the
 * copy ran is left out of the copy's index too, so that the copy is a
 * store that `mugai quarantine check` accepts.  *entries gets how many
 * it holds.  UNSUPPORTED for the other backends (postgresql: pg_dump). */
gboolean mugai_store_backup (MugaiStore *store, const char *dir, guint *entries, GError **error);

/* Reads every entry back: its record, and its original against the size
 * and SHA-256 the record keeps.  Returns the problems found, one line
 * each ("ID: ..."; empty: all intact), *checked the entries read; NULL
 * when the store cannot be listed at all. */
GPtrArray *mugai_store_check (MugaiStore *store, guint *checked, GError **error);
