/*
 * peer.h - who is on the other end of a Unix socket between two roles
 *
 * DESCRIPTION
 *	Every socket between mugai-milter's roles (front and workers, front
 *	and storer) is checked from both ends before a frame is read: the
 *	kernel's SO_PEERCRED says which process connected (or listened) and
 *	under which uid, and /proc says whose child that process is.  A
 *	process that merely runs under the right uid (a filter that got out
 *	of its sandbox, say) is still refused unless it is the child of the
 *	expected parent: a worker must be a child of the pool, which is a
 *	child of the supervisor; the front and the storer are children of
 *	the supervisor.
 *
 *	The parent is read from /proc/PID/stat once the credentials are in
 *	hand; a pid reused between the two reads would have to be a child of
 *	the same parent under the same uid, which is the process expected.
 *
 * ERRORS
 *	G_IO_ERROR_PERMISSION_DENIED: the peer is not the one expected (the
 *	message names its pid, uid and parent, for the log).
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

/* What a peer must be: uid (uid_t) -1 and parent 0 check nothing. */
typedef struct
{
  const char *role; /* "worker", "front", "storer": for the message */
  uid_t uid;
  pid_t parent;
} MugaiPeerRule;

/* Checks the peer of sock against the rule; *pid_out (may be NULL) gets
 * its pid. */
gboolean mugai_peer_check (int sock, const MugaiPeerRule *rule, pid_t *pid_out, GError **error);

/* The parent of pid as /proc says, or 0 when it cannot be read. */
pid_t mugai_peer_parent_of (pid_t pid);
