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
 *
 * A target of code outside libmugai (fuzz-bmp.c: filters/bmp.c) defines
 * FUZZ_STANDALONE before including this file: fuzz_init() then only sets
 * the log handler, and the target links nothing of libmugai.
 *
 * It also declares the libFuzzer entry points and defines
 * LLVMFuzzerInitialize() as fuzz_init() alone; a target that needs more
 * defines FUZZ_OWN_INITIALIZE before including this file and writes its
 * own.
 */
#pragma once

#include <glib.h>

#ifndef FUZZ_STANDALONE
#include "sanitize.h"
#endif

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
#ifndef FUZZ_STANDALONE
  mugai_init ();
#endif
}

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#ifndef FUZZ_OWN_INITIALIZE
int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_init ();
  return 0;
}
#endif
