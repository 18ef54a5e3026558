/*
 * ipc.h - length-prefixed, typed messages between mugai's processes (the
 *         daemon's roles, the command and the storer), with a file
 *         descriptor alongside
 *
 * DESCRIPTION
 *	A frame is a 4-octet big-endian length followed by a GVariant in
 *	normal form.  A file descriptor (the spooled message, the sanitized
 *	body) travels with the frame as SCM_RIGHTS ancillary data.  The
 *	receiver names the type it expects; a frame of another type, not in
 *	normal form, longer than MUGAI_IPC_MAX_FRAME, or with more than one
 *	descriptor is a protocol violation: the caller ends the peer
 *	(STYLE.md: strict at every boundary).
 *
 * ERRORS
 *	MUGAI_IPC_ERROR: TIMEOUT (deadline passed), CLOSED (peer gone),
 *	PROTOCOL (violation), IO (system call failed).
 *
 * THREAD SAFETY
 *	Reentrant; one socket must not be used by two threads at once.
 */
#pragma once

#include <glib.h>

#define MUGAI_IPC_MAX_FRAME (16u * 1024u * 1024u)

#define MUGAI_IPC_ERROR (mugai_ipc_error_quark ())
GQuark mugai_ipc_error_quark (void);

typedef enum
{
  MUGAI_IPC_ERROR_TIMEOUT,
  MUGAI_IPC_ERROR_CLOSED,
  MUGAI_IPC_ERROR_PROTOCOL,
  MUGAI_IPC_ERROR_IO
} MugaiIpcError;

/* Connects to the Unix socket at path; a full backlog is waited for at
 * most timeout_s seconds.  Returns the socket or -1 (error set). */
int mugai_ipc_connect (const char *path, guint timeout_s, GError **error);

/* Sends msg (floating references are sunk) and fd (-1 for none). */
gboolean mugai_ipc_send (int sock, GVariant *msg, int fd, GError **error);

/* Receives one frame of the given type before deadline (monotonic
 * microseconds, g_get_monotonic_time() based; 0: no deadline).  *fd_out
 * (may be NULL) receives a descriptor or -1. */
GVariant *mugai_ipc_recv (int sock, const char *type, gint64 deadline, int *fd_out, GError **error);
