/*
 * front.h - the libmilter front of mugai-milter
 *
 * DESCRIPTION
 *	mugai_front_run() registers the milter, listens on
 *	node->milter.socket and serves Postfix until SIGTERM, handing every
 *	message to the worker pool listening on worker_socket.  On SIGUSR1 it
 *	takes its settings from reload_path and answers on answer_fd.
 *	Returns the process's exit status.  See front.c.
 *
 *	The front parses no mail and is given no policy: only the node's
 *	settings (the socket, the spool and its threshold, the timeouts,
 *	the audit log).
 */
#pragma once

#include "node.h"

/* Called once the milter socket exists and before any session: gives
 * the socket to the daemon's user and drops privileges.  FALSE ends the
 * front. */
typedef gboolean (*MugaiFrontDropFunc) (const char *socket_path, gpointer data);

int mugai_front_run (const MugaiNodeSettings *node, const char *reload_path, int answer_fd,
                     const char *worker_socket, MugaiFrontDropFunc drop, gpointer drop_data);
