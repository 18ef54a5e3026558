/*
 * audit-chain.h - the audit log as a hash chain: every record names the
 *                 one before it, so that a change shows
 *
 * DESCRIPTION
 *	Every record the storer writes carries "seq" (1, 2, 3... across
 *	rotated files, never reset), "prev" (the "hash" of the record before
 *	it, 64 zeros before the first) and, as its last member, "hash": the
 *	SHA-256, in hex, of the record's own line up to that member, with
 *	the closing brace put back:
 *
 *	    {"time":...,"seq":7,"prev":"ab12..."}            <- what is hashed
 *	    {"time":...,"seq":7,"prev":"ab12...","hash":"9f3c..."}
 *
 *	A byte changed in a record breaks its hash; a record removed breaks
 *	the seq that follows; two records swapped break prev.  Removing
 *	records from the end, or replacing the file by a shorter chain that
 *	is valid in itself, is what the checkpoint is for: every
 *	MUGAI_AUDIT_CHECKPOINT_EVERY records and every minute the writer
 *	puts the last seq and hash in FILE.checkpoint (beside the log) and
 *	on syslog ("audit checkpoint seq=N hash=H"), where a remote log
 *	server keeps it out of an attacker's reach.
 *
 *	Records written before the chain existed (no "seq") are accepted
 *	before the first chained record only.
 */
#pragma once

#include <glib.h>

#define MUGAI_AUDIT_HASH_HEX 64
#define MUGAI_AUDIT_CHECKPOINT_EVERY 100
#define MUGAI_AUDIT_CHECKPOINT_SECONDS 60

/* The head of the chain: the last record's seq and hash. */
typedef struct
{
  guint64 seq; /* 0: no record yet */
  char hash[MUGAI_AUDIT_HASH_HEX + 1];
} MugaiAuditHead;

/* The head before any record: seq 0, 64 zeros. */
void mugai_audit_head_init (MugaiAuditHead *head);

/* The line (without its newline) for a record whose JSON text, without
 * the chain members, is json (an object): seq and prev added from head,
 * then the hash; head moves on to it.  NULL when json is no object. */
char *mugai_audit_chain_line (const char *json, MugaiAuditHead *head);

/* The head as the last chained record of the file at path says, or of
 * the file rotated before it (path.1) when path is empty or missing.
 * FALSE when the last line there is not one the chain can continue
 * from (error says why: the writer refuses to start a chain that would
 * not verify). */
gboolean mugai_audit_head_recover (const char *path, MugaiAuditHead *head, GError **error);

/* FILE.checkpoint: writes head there (atomically, 0600). */
gboolean mugai_audit_checkpoint_write (const char *log_path, const MugaiAuditHead *head,
                                       GError **error);

/* Walks the chain through files, oldest first.  TRUE when intact;
 * otherwise *problem names the first place where it is not ("FILE:LINE:
 * ...").  *records gets the number of chained records read.  The
 * checkpoint (NULL: none) is compared with the end of the chain. */
/* The same against a head held elsewhere (the store's checkpoint); name
 * says which in the problem ("the store's checkpoint"). */
gboolean mugai_audit_verify_head (const char *const *files, const MugaiAuditHead *checkpoint,
                                  const char *name, guint64 *records, char **problem);
gboolean mugai_audit_verify (const char *const *files, const char *checkpoint, guint64 *records,
                             char **problem);
