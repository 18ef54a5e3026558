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

#include "policy.h"
#include "sanitize.h"

typedef struct
{
  guint message_timeout; /* [milter]: alarm() per message; the conversions' deadline */
  char *quarantine_dir;  /* [quarantine] dir: where each original is kept before the answer */
} MugaiWorkerSettings;

void mugai_worker_run (int listen_fd, const MugaiPolicy *policy,
                       const MugaiWorkerSettings *settings, MugaiEngines *engines);
