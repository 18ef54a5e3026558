/*
 * storer.h - the storer: the one process that writes the quarantine and
 *            the audit log, and the front's side of talking to it
 *
 * SYNOPSIS
 *	mugai_storer_run (listen_fd, control_fd, node, client_rule)
 *	mugai_storer_keep (socket_path, storer_rule, entry, fd, error)
 *	mugai_storer_record (socket_path, storer_rule, record, error)
 *
 * DESCRIPTION
 *	The storer runs under [milter] storer_user, the only user that can
 *	open the quarantine and the audit log (0700 directories, 0600 files).
 *	It listens on run_dir/storer.sock (made by the supervisor, in a
 *	directory only root can write) and answers only a peer that
 *	mugai_peer_check() says is the front: the front's uid, a child of
 *	the storer's own parent (the supervisor).
 *
 *	Two requests, each on a connection of its own, each answered once
 *	the write is on disk:
 *
 *	    keep    an original (its descriptor alongside) and its record:
 *	            mugai_store_add(), fsync'ed (the id is the worker's,
 *	            checked by the store; an id that exists is refused)
 *	    record  one audit record: mugai_audit_write(), fdatasync'ed,
 *	            with the group commit of audit.c across the connections
 *	            served at once (a thread each, at most STORER_THREADS)
 *
 *	The answer is "(bs)": done, or not and why.  The front sends no
 *	reply to Postfix that lets a message go on before both are done.
 *
 *	Signals: SIGWINCH reopens the audit log (the supervisor sends it on
 *	SIGHUP and SIGUSR1, for logrotate); SIGTERM from the supervisor (from
 *	no one else: a signal to the whole process group must not close the
 *	store under the mail in flight) lets the requests under way finish
 *	and exits.
 *
 *	Retention: a minute after the start and then once a day, the
 *	entries received more than [quarantine] keep_days days ago are
 *	purged (0: never), with an audit record.
 *
 *	The administrator's command reaches the store through the control
 *	socket (control.h: run_dir/control.sock, root's, 0600): a purge is
 *	done here and recorded in the audit log with who asked, by the
 *	SO_PEERCRED uid of the connection.  The store issue adds the release
 *	workflow there, and the portal will come the same way: each node has
 *	one writer.
 *
 * WIRE
 *	An entry travels as ENTRY below; empty strings stand for the fields
 *	that may be NULL, and the report is mugai_report_node_to_text(),
 *	taken back only through mugai_report_node_from_text().
 */
#pragma once

#include "audit.h"
#include "config.h"
#include "node.h"
#include "peer.h"
#include "quarantine.h"

/* id, queue id, sender, client address, client name, recipients,
 * verdict, status, message-id, subject, size, report */
#define MUGAI_STORER_ENTRY "(sssssasssssts)"
/* one frame for both requests: 'K' (keep: the original alongside, the
 * rest empty) or 'R' (record), the entry, and for a record the
 * quarantine id, action, reason, total ms, sanitize ms */
#define MUGAI_STORER_REQUEST "(y" MUGAI_STORER_ENTRY "sssdd)"
#define MUGAI_STORER_ANSWER "(bs)"

typedef struct
{
  int listen_fd;            /* storer.sock: the front's requests */
  int control_fd;           /* control.sock (control.h), -1 for none */
  int workflow_fd;          /* workflow.sock (control.h), -1 for none */
  const char *workers_path; /* the pool's socket: a release is scanned there */
  uid_t worker_uid;         /* who answers on it */
  pid_t supervisor;         /* the pool's parent */
} MugaiStorerLinks;

/* The storer's process: serves until SIGTERM; returns the exit status.
 * config: the node's settings and the profiles' names (the policy is
 * read for [limits] message_size only). */
int mugai_storer_run (const MugaiStorerLinks *links, const MugaiConfig *config,
                      const MugaiPeerRule *client);

/* When the first retention purge runs after the start ([quarantine]
 * keep_days; then once a day): a minute, unless a test says sooner. */
void mugai_storer_set_first_purge (guint ms);

/* The front's side: each waits at most MUGAI_STORER_TIMEOUT seconds. */
#define MUGAI_STORER_TIMEOUT 60
gboolean mugai_storer_keep (const char *socket_path, const MugaiPeerRule *storer,
                            const MugaiStoreEntry *entry, int fd, GError **error);
gboolean mugai_storer_record (const char *socket_path, const MugaiPeerRule *storer,
                              const MugaiAuditRecord *record, GError **error);

/* The wire form of an entry and back (exposed for the tests). */
GVariant *mugai_storer_entry_to_variant (const MugaiStoreEntry *entry);
MugaiStoreEntry *mugai_storer_entry_from_variant (GVariant *v, GError **error);
