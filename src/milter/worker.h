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

#include "ipc.h"
#include "policy.h"
#include "sanitize.h"

/* The front/worker protocol (frames of ipc.h). */
/* hello: the worker's pid, sent on accept.  request: queue
 * id, envelope sender, client address, client name, recipients; the
 * spooled message goes along as the descriptor.  result: see worker.c;
 * its report member is mugai_report_node_to_text() and the front takes
 * it only through mugai_report_node_from_text(): a report that reader
 * refuses fails the answer as a bad frame would. */
#define MUGAI_IPC_HELLO "(u)"
#define MUGAI_IPC_REQUEST "(ssssas)"
/* A release (the storer asks): the queue id member is "release:", the
 * entry's id (the notice of a message sanitized again names it), a
 * space and the mode ("original": scanned, nothing passed back;
 * "resanitize=NAME": sanitized under that profile, the whole new
 * message passed back as the body descriptor, with no header edits). */
#define MUGAI_IPC_RELEASE_PREFIX "release:"
#define MUGAI_IPC_RESULT "(ussssssta(usus)d)"

typedef struct
{
  guint message_timeout; /* [milter]: alarm() per message; the conversions' deadline */
  guint messages;        /* [milter] worker_messages: then the worker leaves */
  uid_t front_uid;       /* the peer answered for mail ((uid_t) -1: not checked) */
  uid_t storer_uid;      /* the peer answered for a release ((uid_t) -1: none) */
  GHashTable *profiles;  /* [profile NAME] -> MugaiPolicy *: a release's resanitize=NAME */
  /* where the storer keeps what a worker must never reach: named only
   * for the test fault hook that tries (worker.c) */
  char *quarantine_dir;
  char *audit_file;
} MugaiWorkerSettings;

void mugai_worker_run (int listen_fd, const MugaiPolicy *policy,
                       const MugaiWorkerSettings *settings, MugaiEngines *engines);
