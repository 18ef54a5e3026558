/*
 * worker.h - one worker process of the milter's pool
 *
 * DESCRIPTION
 *	mugai_worker_run() serves messages from the front on listen_fd, one
 *	at a time, until SIGUSR1 asks it to leave.  See worker.c.
 *
 *	A worker reads the mail of strangers: it is given the policy and
 *	engines the core needs, and of the node's settings only the two it
 *	uses itself (MugaiWorkerSettings), never the socket, the user, the
 *	audit log, or what the node will hold later (database DSNs, the
 *	portal's secrets).  Its address-space limit (worker_memory) is set
 *	by the pool before it starts.
 */
#pragma once

#include <sys/types.h>

#include "policy.h"
#include "sanitize.h"

typedef struct
{
  guint message_timeout; /* [milter]: alarm() per message; the conversions' deadline */
  guint messages;        /* [milter] worker_messages: then the worker leaves */
  uid_t front_uid;       /* the only peer answered ((uid_t) -1: not checked) */
  /* where the storer keeps what a worker must never reach: named only
   * for the test fault hook that tries (worker.c) */
  char *quarantine_dir;
  char *audit_file;
} MugaiWorkerSettings;

void mugai_worker_run (int listen_fd, const MugaiPolicy *policy,
                       const MugaiWorkerSettings *settings, MugaiEngines *engines);
