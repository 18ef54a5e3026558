/*
 * front.h - the libmilter front of mugai-milter
 *
 * DESCRIPTION
 *	mugai_front_run() registers the milter, listens on
 *	node->milter.socket and serves Postfix until SIGTERM, handing every
 *	message to the worker pool listening on links->workers and keeping
 *	originals and audit records through the storer on links->storer.  On SIGUSR1 it
 *	takes its settings from reload_path and answers on answer_fd.
 *	Returns the process's exit status.  See front.c.
 *
 *	The front parses no mail and is given no policy: only the node's
 *	settings (the socket, the spool and its threshold, the timeouts,
 *	the audit log's place is the storer's business).  It checks both peers
 *	(peer.h): a worker must run as links->worker_uid and be a child of a
 *	child of the front's parent (the pool's), the storer as
 *	links->storer_uid and a child of the front's parent.
 */
#pragma once

#include "node.h"

/* Called once the milter socket exists and before any session: gives
 * the socket to the daemon's user and drops privileges.  FALSE ends the
 * front. */
typedef gboolean (*MugaiFrontDropFunc) (const char *socket_path, gpointer data);

typedef struct
{
  const char *workers; /* the pool's socket */
  const char *storer;  /* the storer's socket */
  uid_t worker_uid;    /* (uid_t) -1: not checked */
  uid_t storer_uid;
} MugaiFrontLinks;

int mugai_front_run (const MugaiNodeSettings *node, const char *reload_path, int answer_fd,
                     const MugaiFrontLinks *links, MugaiFrontDropFunc drop, gpointer drop_data);
