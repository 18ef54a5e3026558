/*
 * engines.c - MugaiEngines: what mugai_sanitize() needs that is costly to
 *             make and not thread-safe
 *
 * SYNOPSIS
 *	mugai_init ();
 *	engines = mugai_engines_new (policy, &error);
 *	mugai_engines_share_slots (engines, running);
 *	mugai_engines_free (engines);
 *
 * DESCRIPTION
 *	The libmagic handle, the ClamAV engine (mugai_scanner_new()) and the
 *	filter slots (mugai_sandbox_slots_new(), shared with the forked
 *	workers and with the next generation of engines after a reload).
 *	mugai_init() initialises GMime and libxml2 once per process.
 *	mugai_core_detect_type() is libmagic's answer for a buffer, for the
 *	walk and for the check of a converter's output.
 *
 * OWNERSHIP
 *	The engines own the handle, the scanner and their reference to the
 *	slots; mugai_engines_free() accepts NULL.
 *
 * LIMITS
 *	libmagic reads at most MAGIC_BYTES of a part.
 *
 * ERRORS
 *	mugai_engines_new() fails with MUGAI_SANITIZE_ERROR_INTERNAL when
 *	libmagic's database cannot be loaded, when there is no ClamAV
 *	database and [clamav] required = yes, or when the slots cannot be
 *	made; without a database otherwise, every message is reported as not
 *	scanned (a lab).
 *
 * THREAD SAFETY
 *	mugai_init() is thread-safe.  One MugaiEngines per thread or process.
 */
#include "sanitize-private.h"

#include <errno.h>
#include <magic.h>
#include <libxml/parser.h>

/* libmagic reads at most this much of a part: enough for every magic
 * rule in the Debian database, and bounded per part. */
#define MAGIC_BYTES (1024 * 1024)

void
mugai_init (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      g_mime_init ();
      xmlInitParser ();
      g_once_init_leave (&once, 1);
    }
}

MugaiEngines *
mugai_engines_new (const MugaiPolicy *policy, GError **error)
{
  g_return_val_if_fail (policy != NULL, NULL);
  g_autoptr (MugaiEngines) engines = g_new0 (MugaiEngines, 1);
  engines->magic = magic_open (MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS);
  if (!engines->magic || magic_load (engines->magic, NULL) != 0)
    {
      g_set_error (error, MUGAI_SANITIZE_ERROR, MUGAI_SANITIZE_ERROR_INTERNAL,
                   "cannot load the libmagic database: %s",
                   engines->magic ? magic_error (engines->magic) : "out of memory");
      return NULL;
    }
  g_autoptr (GError) scan_error = NULL;
  engines->scanner = mugai_scanner_new (&policy->clamav, &scan_error);
  if (!engines->scanner)
    {
      if (policy->clamav_required)
        {
          g_set_error (error, MUGAI_SANITIZE_ERROR, MUGAI_SANITIZE_ERROR_INTERNAL,
                       "%s ([clamav] required = yes: mugai does not run without malware "
                       "scanning)",
                       scan_error->message);
          return NULL;
        }
      engines->no_scanner = g_strdup (scan_error->message);
    }
  engines->slots = mugai_sandbox_slots_new (policy->convert.max_running);
  if (!engines->slots)
    {
      g_set_error (error, MUGAI_SANITIZE_ERROR, MUGAI_SANITIZE_ERROR_INTERNAL,
                   "cannot make the filter slots: %s", g_strerror (errno));
      return NULL;
    }
  return g_steal_pointer (&engines);
}

void
mugai_engines_share_slots (MugaiEngines *engines, const MugaiEngines *from)
{
  g_return_if_fail (engines != NULL);
  if (from == NULL || from->slots == engines->slots
      || mugai_sandbox_slots_count (from->slots) != mugai_sandbox_slots_count (engines->slots))
    return;
  mugai_sandbox_slots_free (engines->slots);
  engines->slots = mugai_sandbox_slots_ref (from->slots);
}

gboolean
mugai_engines_same_slots (const MugaiEngines *a, const MugaiEngines *b)
{
  return a && b && a->slots == b->slots;
}

guint
mugai_engines_slot_count (const MugaiEngines *engines)
{
  g_return_val_if_fail (engines != NULL, 0);
  return mugai_sandbox_slots_count (engines->slots);
}

gboolean
mugai_engines_can_scan (const MugaiEngines *engines)
{
  return engines && engines->scanner;
}

void
mugai_engines_free (MugaiEngines *engines)
{
  if (!engines)
    return;
  if (engines->magic)
    magic_close (engines->magic);
  mugai_scanner_free (engines->scanner);
  mugai_sandbox_slots_free (engines->slots);
  g_free (engines->no_scanner);
  g_free (engines);
}

char *
mugai_core_detect_type (MugaiEngines *engines, const guint8 *data, gsize len)
{
  if (!engines || !engines->magic)
    return NULL;
  const char *t = magic_buffer (engines->magic, data, MIN (len, MAGIC_BYTES));
  return t ? g_strdup (t) : NULL;
}
