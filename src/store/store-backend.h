/*
 * store-backend.h - what a quarantine backend implements (private to
 *                   src/store/)
 *
 * DESCRIPTION
 *	quarantine.c is the interface: it checks ids and arguments, keeps
 *	the words (states, errors, the JSON form of an entry) and hands each
 *	call to the backend chosen by the location's scheme.  A backend is
 *	one file and one MugaiStoreBackend: store-file.c ("file:"),
 *	store-pg.c ("postgresql:"); each is a line in quarantine.c's table.
 *
 *	Every id a backend is given has passed mugai_store_id_is_valid().
 *	A backend reports with MUGAI_STORE_ERROR and the codes of
 *	quarantine.h.
 */
#pragma once

#include "quarantine.h"

typedef struct
{
  const char *scheme; /* "file" */
  /* rest: the location without "scheme:"; the handle is freed by close */
  gpointer (*open) (const char *rest, MugaiStoreMode mode, GError **error);
  void (*close) (gpointer handle);
  /* entry->id is valid; entry's size, sha256 and state are the backend's
   * to compute (from what it stores) */
  gboolean (*add) (gpointer handle, int fd, GBytes *data, const MugaiStoreEntry *entry,
                   GError **error);
  /* every entry (the caller filters and sorts); reports may be left out */
  GPtrArray *(*list) (gpointer handle, const MugaiStoreFilter *filter, GError **error);
  MugaiStoreEntry *(*get) (gpointer handle, const char *id, GError **error);
  GInputStream *(*open_original) (gpointer handle, const char *id, GError **error);
  guint (*purge) (gpointer handle, gint64 older_than, GError **error);
  /* TRUE when list applies the whole filter itself (the searches, the
   * order, offset and limit: a database's indexes); FALSE: quarantine.c
   * filters and sorts what list returns */
  gboolean list_filters;
  /* NULL when the backend keeps no workflow (UNSUPPORTED) */
  gboolean (*update) (gpointer handle, const char *id, MugaiStoreState from, MugaiStoreState to,
                      JsonNode *workflow, GError **error);
  /* NULL when the backend keeps no accounts (UNSUPPORTED); put checks
   * the name and the unix_user's uniqueness inside one transaction */
  gboolean (*account_put) (gpointer handle, const MugaiAccount *a, gboolean replace,
                           GError **error);
  GPtrArray *(*account_list) (gpointer handle, GError **error);
  /* NULL: no append-only table (mugai_store_audit_append() does nothing) */
  /* node: the chain's (each node's storer keeps its own chain) */
  gboolean (*audit_append) (gpointer handle, const char *node, gint64 seq, const char *hash,
                            const char *line, GError **error);
  /* the highest seq of node's rows (0: none); NULL with audit_append */
  gboolean (*audit_last) (gpointer handle, const char *node, gint64 *seq, GError **error);
  /* brings a store opened with MUGAI_STORE_MIGRATE to this build's
   * schema; NULL: nothing to migrate */
  gboolean (*migrate) (gpointer handle, GError **error);
  /* NULL: no place for the audit checkpoint */
  gboolean (*checkpoint_put) (gpointer handle, const char *node, guint64 seq, const char *hash,
                              GError **error);
  gboolean (*checkpoint_get) (gpointer handle, const char *node, guint64 *seq, char **hash,
                              GError **error);
  /* NULL: UNSUPPORTED (mugai_store_backup()) */
  gboolean (*backup) (gpointer handle, const char *dir, guint *entries, GError **error);
  /* the schema version stored, and this build's; NULL: 0 and 0 */
  void (*schema) (gpointer handle, guint *found, guint *current);
} MugaiStoreBackend;

extern const MugaiStoreBackend mugai_store_file_backend;
extern const MugaiStoreBackend mugai_store_sqlite_backend;
extern const MugaiStoreBackend mugai_store_pg_backend;

/* The state an entry of this verdict is added in. */
MugaiStoreState mugai_store_initial_state (const char *verdict);

/* Reads what mugai_store_entry_to_json() wrote.  id: the entry's id as
 * the backend found it (the record must say the same); where: for
 * messages.  A record without a state (written before states were
 * recorded) gets the one its verdict implies; a report member that is not
 * one mugai writes makes the record CORRUPT. */
MugaiStoreEntry *mugai_store_entry_from_json (const char *text, gsize len, const char *id,
                                              const char *where, GError **error);

/* Text as a search compares it: NFKC (full-width and half-width forms
 * to one), case folded; invalid UTF-8 repaired first.  The database
 * backends keep this of sender, recipients and subject in columns. */
char *mugai_store_search_fold (const char *text);

/* ---- the originals as files (store-file.c) -------------------------------- */
/* The files backend's DIR/YYYY-MM-DD/ID.eml, with its durable writes, for
 * a backend that keeps its records elsewhere (store-sqlite.c).  open and
 * close as the files backend's; the handle is thread-safe. */
gpointer mugai_originals_open (const char *dir, MugaiStoreMode mode, GError **error);
void mugai_originals_close (gpointer handle);
/* The store directory's descriptor (the database file lives beside the
 * day directories). */
int mugai_originals_dirfd (gpointer handle);
/* DIR/day/ID.eml from fd (pread from 0) or data, fsync'ed with its
 * directory, never replacing a file (EXISTS); nothing left on failure. */
gboolean mugai_originals_write (gpointer handle, const char *id, int fd, GBytes *data,
                                gsize *stored, char **sha256, GError **error);
GInputStream *mugai_originals_read (gpointer handle, const char *id, GError **error);
/* TRUE also when it was gone already. */
gboolean mugai_originals_remove (gpointer handle, const char *id, GError **error);
typedef gboolean (*MugaiOriginalKnown) (const char *id, gpointer data);
/* Removes what interrupted writes left: temporary files, and originals
 * that known() says no record names, older than older_than and than an
 * hour.  Returns how many. */
guint mugai_originals_sweep (gpointer handle, gint64 older_than, MugaiOriginalKnown known,
                             gpointer data, GError **error);
