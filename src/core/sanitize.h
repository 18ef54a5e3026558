/*
 * sanitize.h - the sanitization core: (message, policy, engines) ->
 *              (new message, report)
 *
 * DESCRIPTION
 *	mugai_sanitize() is a pure function of its inputs: it reads the raw
 *	message, walks its MIME tree within the policy's limits, decides per
 *	part through policy.c, and builds a new message that holds only
 *	text: a text/plain body (with the notice), text/plain attachments
 *	and sanitized attached messages.  Nothing of the original MIME
 *	structure is copied; every header is re-written.  `mugai sanitize`,
 *	the milter's workers and the tests all call it.
 *
 *	The caller decides what to do with the verdict in the report:
 *	CLEAN and SANITIZED come with *output set; REJECT comes with
 *	*output NULL.  FALSE with an error means an internal failure: the
 *	caller must treat the message as a temporary failure (fail closed).
 *
 * ENGINES
 *	MugaiEngines holds what is expensive to create and not thread-safe:
 *	the libmagic handle, the ClamAV engine and the filter slots
 *	(engines.c).  Use one per thread or process.
 *
 * LIMITS
 *	All from policy->limits (mugai-limits.h).
 */
#pragma once

#include <glib.h>

#include "policy.h"
#include "report.h"

typedef struct _MugaiEngines MugaiEngines;

/* Initialises GMime and libxml2 once per process. */
void mugai_init (void);

/* Loads libmagic and, from policy->clamav, the ClamAV engine.  Without a
 * loadable database: an error when [clamav] required = yes (the default),
 * else engines that report every message as not scanned (a lab). */
MugaiEngines *mugai_engines_new (const MugaiPolicy *policy, GError **error);

/* TRUE when a ClamAV engine is loaded. */
gboolean mugai_engines_can_scan (const MugaiEngines *engines);
void mugai_engines_free (MugaiEngines *engines);
/* A new generation of engines takes the filter slots of the running one
 * when their number is the same, so that old and new workers together
 * never run more than [sandbox] max_running filters.  (A reload that
 * changes max_running makes a new set: for the moment both generations
 * run, up to the sum of the two.) */
void mugai_engines_share_slots (MugaiEngines *engines, const MugaiEngines *from);
gboolean mugai_engines_same_slots (const MugaiEngines *a, const MugaiEngines *b);
guint mugai_engines_slot_count (const MugaiEngines *engines);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiEngines, mugai_engines_free)

typedef struct
{
  const char *quarantine_id; /* shown in the notice; NULL when no store */
  gboolean crlf;             /* write CRLF line ends (milter) instead of LF */
  gint64 convert_deadline;   /* g_get_monotonic_time() by which every filter run
                              * must be over (the milter's message deadline less
                              * what the rest needs); 0: only [sandbox] timeout.
                              * A conversion that would pass it costs the part,
                              * not the message. */
} MugaiSanitizeOptions;

gboolean mugai_sanitize (GBytes *input, const MugaiPolicy *policy, MugaiEngines *engines,
                         const MugaiSanitizeOptions *options, GBytes **output,
                         MugaiReport **report, GError **error);

/* The report for a message refused for its size before it was read
 * whole (mailbox readers, the milter front). */
MugaiReport *mugai_sanitize_refuse_oversize (const MugaiPolicy *policy, gsize size);

#define MUGAI_SANITIZE_ERROR (mugai_sanitize_error_quark ())
GQuark mugai_sanitize_error_quark (void);

typedef enum
{
  MUGAI_SANITIZE_ERROR_INTERNAL
} MugaiSanitizeError;
