/*
 * storer-workflow.h - the storer's half of the release workflow: the
 *                     requests of workflow.sock and control.sock, and the
 *                     release it sends
 *
 * DESCRIPTION
 *	The storer (storer.h) is the store's one writer, so every step of
 *	the workflow (release.h) is taken here: who asks is the kernel's
 *	word for the connection (SO_PEERCRED) turned into a login
 *	(getpwuid_r) and the login into an account (mugai admin); the step
 *	is decided by release.c and written with mugai_store_update() from
 *	the state the entry was read in; every step is an audit record.
 *
 *	A release, once approved (by `mugai quarantine release`, or by the
 *	last approval with [release] on_approve = send):
 *
 *	1. approved -> sending, the attempt written (with its number) before
 *	   anything is sent;
 *	2. the original is handed to a worker of the pool (the storer
 *	   parses no mail): scanned again with today's signatures, and for
 *	   resanitize=PROFILE sanitized again under that profile.  A virus
 *	   refuses the release with its name;
 *	3. every X-Mugai-* header field of the message removed,
 *	   X-Mugai-Released added (relay.h), and sent by SMTP to [release]
 *	   relay with the original envelope sender and the request's
 *	   recipients;
 *	4. sending -> released (2xx), or back to approved: a 4xx retried
 *	   with backoff (1, 2, 4 ... minutes, at most an hour apart) for
 *	   [release] retry_minutes, a 5xx failed with its reply; no reply
 *	   at all once the whole message was sent (a timeout, the
 *	   connection lost after the data) is uncertain, as below.
 *
 *	Once: an entry found in "sending" when the storer starts (a crash
 *	between 1 and 4), or whose data went without a reply to its end,
 *	is not sent again by itself: it is marked
 *	uncertain, logged, and `mugai quarantine release --again` sends it
 *	once an approver has looked in the LGWAN-side server's log for its
 *	X-Mugai-Released id and attempt.  So a message is delivered at most
 *	once without an approver's word, and at least once with it.
 *
 *	Notices: with [release] notify set, the approvers there are told of
 *	each request; the request's recipients are told of the outcome
 *	(approved and sent, denied, failed), through the same relay.
 *
 * THREADS
 *	Called from the storer's threads; steps are atomic in the store
 *	(CONFLICT for the slower of two), sends are one at a time.
 */
#pragma once

#include <sys/types.h>

#include "audit.h"
#include "config.h"
#include "quarantine.h"

typedef struct
{
  const MugaiConfig *config; /* the node's settings, the profiles' names */
  const char *workers_path;  /* run_dir/workers.sock */
  uid_t worker_uid;          /* who answers there */
  pid_t supervisor;          /* the pool's parent */
  gsize max_message;         /* [limits] message_size: the largest original read */
  MugaiStore *(*store) (GError **error);
  /* writes one audit record: action, what (who and what was done) */
  void (*record) (const MugaiStoreEntry *e, const char *action, const char *what);
} MugaiWorkflow;

void mugai_workflow_init (const MugaiWorkflow *wf);

/* One request of workflow.sock (control.h) on conn, answered. */
void mugai_workflow_serve (int conn);

/* "admin-add", "admin-set" of control.sock: options a{ss}; *what says
 * what was done or why not. */
gboolean mugai_workflow_admin (const char *verb, GVariant *options, const char *who, char **what);

/* At start: entries left in "sending" are marked uncertain. */
void mugai_workflow_reconcile (void);

/* Every minute: the retries that are due, and requests past
 * [release] request_days expired. */
void mugai_workflow_tick (void);
