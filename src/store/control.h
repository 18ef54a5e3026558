/*
 * control.h - the storer's control socket: what the administrator's
 *             command asks of the store while mugai-milter runs
 *
 * DESCRIPTION
 *	Each node has one writer of its store and its audit log: the
 *	storer (mugai-milter(8), ROLES).  The command does not write them
 *	itself while the storer runs; it sends its request to
 *	run_dir/control.sock, which the supervisor makes 0600 and root's
 *	(only root reaches it), and the storer carries it out and writes the
 *	audit record, naming who asked by the uid the kernel gives it for
 *	the connection (SO_PEERCRED), never by a name the caller sends.
 *
 *	Requests: "purge" (argument: the cutoff, unix seconds).  The store
 *	issue adds request, approve, deny and release the same way.
 *
 * WIRE
 *	Request MUGAI_CONTROL_REQUEST: verb, argument.  Answer
 *	MUGAI_CONTROL_ANSWER: done, message (the error, or what was done),
 *	count.
 */
#pragma once

#include <glib.h>

#define MUGAI_CONTROL_SOCKET "control.sock"
#define MUGAI_CONTROL_REQUEST "(sx)"
#define MUGAI_CONTROL_ANSWER "(bsu)"
#define MUGAI_CONTROL_TIMEOUT 300 /* a purge of a large store takes a while */

/* The control socket of run_dir, or NULL (no storer runs there: nothing
 * listens on it). */
char *mugai_control_socket (const char *run_dir);

/* Has the storer at socket_path purge the entries received before
 * cutoff; *removed gets their number, *what the storer's words. */
gboolean mugai_control_purge (const char *socket_path, gint64 cutoff, guint *removed, char **what,
                              GError **error);
