/*
 * control.h - the storer's two doors for the administrator's command:
 *             what `mugai` asks of the store while mugai-milter runs
 *
 * DESCRIPTION
 *	Each node has one writer of its store and its audit log: the
 *	storer (mugai-milter(8), ROLES).  The command does not write them
 *	itself while the storer runs; it sends its request to one of two
 *	sockets in run_dir, and the storer carries it out and writes the
 *	audit record, naming who asked by the uid the kernel gives it for
 *	the connection (SO_PEERCRED), never by a name the caller sends:
 *
 *	    control.sock   root's, 0600: "purge" (arg: the cutoff),
 *	                   "admin-add" and "admin-set" (options: name, role,
 *	                   unix_user, password: an argon2id hash, disabled)
 *	    workflow.sock  0666: anyone may connect, and the storer maps the
 *	                   peer's uid to its login and the login to its
 *	                   account (quarantine.h): "request" (options:
 *	                   reason, mode; recipients), "approve", "deny"
 *	                   (reason), "release" (again: "yes"), and
 *	                   "show" for an approver or auditor who is not root:
 *	                   the entry's record, read by the storer
 *
 * WIRE
 *	Request MUGAI_CONTROL_REQUEST: verb, argument, entry id (or ""),
 *	options, recipients.  Answer MUGAI_CONTROL_ANSWER: done, message
 *	(the error, or what was done), count.
 */
#pragma once

#include <glib.h>

#define MUGAI_CONTROL_SOCKET "control.sock"
#define MUGAI_WORKFLOW_SOCKET "workflow.sock"
#define MUGAI_CONTROL_REQUEST "(sxsa{ss}as)"
#define MUGAI_CONTROL_ANSWER "(bsu)"
#define MUGAI_CONTROL_TIMEOUT 300 /* a purge of a large store takes a while */

/* The socket of that name in run_dir, or NULL (no storer runs there:
 * nothing listens on it). */
char *mugai_control_find (const char *run_dir, const char *name);
/* The control socket of run_dir, or NULL. */
char *mugai_control_socket (const char *run_dir);

/* One request: *what gets the storer's words (also when it refused),
 * *count its count (purge: entries removed; release: 1 when the relay
 * deferred it and the storer retries).  options: NULL-terminated key, value pairs (NULL
 * for none); recipients NULL-terminated or NULL.  FALSE with error
 * (G_IO_ERROR_FAILED and the storer's words when it refused). */
gboolean mugai_control_call (const char *socket_path, const char *verb, gint64 arg, const char *id,
                             const char *const *options, const char *const *recipients,
                             guint *count, char **what, GError **error);

/* Has the storer at socket_path purge the entries received before
 * cutoff; *removed gets their number, *what the storer's words. */
gboolean mugai_control_purge (const char *socket_path, gint64 cutoff, guint *removed, char **what,
                              GError **error);
