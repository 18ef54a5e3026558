/*
 * fuzz-common.h - set-up shared by the libFuzzer targets
 *
 * fuzz_init() does what every caller of the library does first
 * (mugai_init(): GMime's charset tables, xmlInitParser()) and makes GLib
 * criticals fatal, as the unit tests do (G_DEBUG=fatal-criticals): a
 * g_return_if_fail() reached from input is a bug, and an abort is what
 * libFuzzer saves as a crash.  A log handler calls abort() itself:
 * GLib's own fatal path raises SIGTRAP (G_BREAKPOINT), which libFuzzer
 * does not catch, so the input would be lost.
 */
#pragma once

#include <glib.h>

#include "sanitize.h"

#include <stdlib.h>

static void
fuzz_log_handler (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  g_log_default_handler (domain, level, message, data);
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_FLAG_FATAL))
    abort ();
}

static inline void
fuzz_init (void)
{
  g_log_set_default_handler (fuzz_log_handler, NULL);
  mugai_init ();
}
