/*
 * release.h - the release workflow: who may move an entry from which
 *             state to which, and what the entry keeps of it
 *
 * SYNOPSIS
 *	if (mugai_release_request (entry, &who, &rules, &ask, now, &step, &error))
 *	    mugai_store_update (store, entry->id, entry->state, step.to, step.workflow, &error);
 *
 * DESCRIPTION
 *	One state machine, stored with the entry (quarantine.h, LIFECYCLE):
 *
 *	    stored | held | denied | released | expired
 *	        -- request -->  requested
 *	    requested -- approve (the last of [release] approvals) --> approved
 *	    requested -- approve (not the last) --> requested
 *	    requested | approved -- deny --> denied
 *	    requested | approved -- past request_days --> expired
 *	    approved -- begin (an attempt recorded before it is sent) --> sending
 *	    sending -- sent (2xx) --> released
 *	    sending -- temporary (4xx, no connection, cut off before the end of
 *	               the data) --> approved, retry_at set
 *	    sending -- permanent (5xx) or retries exhausted --> approved, failed set
 *	    sending -- no reply to the end of the data --> approved, uncertain set
 *	    sending, found at start-up (a crash mid-send) --> approved, uncertain set
 *
 *	These functions decide and build; they never touch the store.  The
 *	caller (the storer) writes the step with mugai_store_update() from
 *	the state the entry was read in, so two deciders racing (two nodes,
 *	two commands) get CONFLICT, never two approvals counted as one.
 *
 *	Who: an account (quarantine.h) acts, never a free-text name.  A
 *	request needs a requester or an approver; approve, deny and release
 *	an approver; the requester never approves their own request; with
 *	approvals = 2 the two approvals are by two accounts.  A disabled
 *	account can do nothing.
 *
 *	What: a request names the mode ("original" or "resanitize=PROFILE")
 *	and the recipients, only among the message's envelope recipients
 *	(all of them when none are named).
 *
 *	The workflow record (an object) keeps: "request" {by, at, reason,
 *	mode, recipients}, "approvals" [{by, at}], "denied" {by, at,
 *	reason}, "expired" {at}, "attempts" [{n, at, by, result, code,
 *	reply}], "retry_at", "failed", "uncertain", "released" {at, by,
 *	reply}, and "history": the records of earlier requests of the same
 *	entry, oldest first.
 *
 * ERRORS
 *	MUGAI_RELEASE_ERROR: FORBIDDEN (who may not), STATE (not from this
 *	state), INVALID (a mode, a recipient or a reason that is refused).
 *	Every message says what an administrator needs to act on.
 */
#pragma once

#include "quarantine.h"

#define MUGAI_RELEASE_ERROR (mugai_release_error_quark ())
GQuark mugai_release_error_quark (void);

typedef enum
{
  MUGAI_RELEASE_ERROR_FORBIDDEN,
  MUGAI_RELEASE_ERROR_STATE,
  MUGAI_RELEASE_ERROR_INVALID,
} MugaiReleaseError;

typedef struct
{
  guint approvals;    /* 1 or 2 */
  guint request_days; /* a request older than this expires */
} MugaiReleaseRules;

/* What a request asks. */
typedef struct
{
  const char *reason;            /* required, at most 1000 characters */
  const char *mode;              /* "original" (NULL) or "resanitize=PROFILE" */
  const char *const *recipients; /* NULL-terminated; NULL or empty: all */
} MugaiReleaseAsk;

/* One step: the state to move to and the workflow record to store. */
typedef struct
{
  MugaiStoreState to;
  JsonNode *workflow; /* owned */
} MugaiReleaseStep;

void mugai_release_step_clear (MugaiReleaseStep *step);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MugaiReleaseStep, mugai_release_step_clear)

gboolean mugai_release_request (const MugaiStoreEntry *e, const MugaiAccount *who,
                                const MugaiReleaseRules *rules, const MugaiReleaseAsk *ask,
                                gint64 now, MugaiReleaseStep *step, GError **error);
gboolean mugai_release_approve (const MugaiStoreEntry *e, const MugaiAccount *who,
                                const MugaiReleaseRules *rules, gint64 now, MugaiReleaseStep *step,
                                GError **error);
gboolean mugai_release_deny (const MugaiStoreEntry *e, const MugaiAccount *who,
                             const MugaiReleaseRules *rules, const char *reason, gint64 now,
                             MugaiReleaseStep *step, GError **error);
/* TRUE with the step to EXPIRED when e's request is past request_days;
 * FALSE (no error) when it is not. */
gboolean mugai_release_expire (const MugaiStoreEntry *e, const MugaiReleaseRules *rules, gint64 now,
                               MugaiReleaseStep *step);

/* approved -> sending, the attempt recorded.  again: an approver has
 * checked that an uncertain attempt did not arrive (else refused).
 * who NULL: the storer's own retry of a temporary failure. */
gboolean mugai_release_begin (const MugaiStoreEntry *e, const MugaiAccount *who,
                              const MugaiReleaseRules *rules, gboolean again, gint64 now,
                              MugaiReleaseStep *step, GError **error);

typedef enum
{
  MUGAI_RELEASE_SENT,      /* 2xx: released */
  MUGAI_RELEASE_TEMPORARY, /* 4xx or no answer: retried */
  MUGAI_RELEASE_PERMANENT, /* 5xx: failed */
  MUGAI_RELEASE_REFUSED,   /* not sent: ClamAV found something, or the
                            * content could not be made */
  MUGAI_RELEASE_UNCERTAIN, /* the whole message went and no reply to the
                            * end of the data came (a timeout, the
                            * connection lost): it may have arrived (RFC
                            * 1047), so it is never retried by itself */
} MugaiReleaseOutcome;

/* sending -> released or approved, with the reply.  retry_until: the
 * last time a temporary failure is retried (then it is failed);
 * retry_at: when the next attempt is due.  UNCERTAIN: approved with
 * "uncertain" set (the reply says why), so that only release --again
 * sends it once more. */
void mugai_release_finish (const MugaiStoreEntry *e, MugaiReleaseOutcome outcome, guint code,
                           const char *reply, gint64 now, gint64 retry_at, gint64 retry_until,
                           MugaiReleaseStep *step);

/* sending found at start-up: approved, with the attempt marked
 * uncertain (it may or may not have arrived). */
void mugai_release_uncertain (const MugaiStoreEntry *e, gint64 now, MugaiReleaseStep *step);

/* The request's mode, recipients (char*, owned by the array), the
 * approvers' names joined by ",", and the number of the attempt in
 * progress, for the sender. */
const char *mugai_release_mode (const MugaiStoreEntry *e);
GPtrArray *mugai_release_recipients (const MugaiStoreEntry *e);
char *mugai_release_approvers (const MugaiStoreEntry *e);
char *mugai_release_requester (const MugaiStoreEntry *e);
guint mugai_release_attempt (const MugaiStoreEntry *e);
/* When the storer should try again (0: not due for a retry). */
gint64 mugai_release_retry_at (const MugaiStoreEntry *e);
/* The value of the X-Mugai-Released header of the attempt in progress:
 * "id=ID; by=NAME; approved-by=A[,B]; mode=MODE; attempt=N". */
char *mugai_release_header_value (const MugaiStoreEntry *e, const char *by);
