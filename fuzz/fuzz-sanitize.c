/*
 * fuzz-sanitize.c - libFuzzer target: a whole message through mugai_sanitize()
 *
 * DESCRIPTION
 *	The input bytes are one raw message (headers and body, LF or CRLF).
 *	The policy is the built-in default with a smaller message limit, so
 *	that libFuzzer's inputs stay within it and every iteration is cheap.
 *	The input's length picks the output writer: even lengths write UTF-8
 *	with LF line ends (the CLI), odd ones ISO-2022-JP with CRLF (the
 *	milter), so that one mutation reaches the other writer and a saved
 *	input replays the same way.  Everything made in an iteration is
 *	freed in it, so LeakSanitizer reports real leaks.
 *
 *	The input is copied into a buffer of exactly its length, with no NUL
 *	after it, as the milter's workers (mmap) and `mugai` (GByteArray) hand
 *	it over: a read past the end is an ASan report.
 *
 *	ClamAV is not loaded (no database, [clamav] required = no): the
 *	target fuzzes mugai's own parsing, not libclamav's.
 *
 *	MUGAI_FUZZ_SKIP_KNOWN=1 in the environment skips inputs made only of
 *	blanks (SP, HT, CR, LF): they hit the known over-read in
 *	mugai_sanitize()'s empty-message test (fuzz/crashes/README.md, 1),
 *	which a long run would otherwise rediscover again and again.  Drop
 *	it once that is fixed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

static MugaiEngines *engines;
static MugaiPolicy *policy_utf8;
static MugaiPolicy *policy_jis;
static gboolean skip_known;

static MugaiPolicy *
make_policy (MugaiOutputCharset charset)
{
  MugaiPolicy *p = mugai_policy_new_default ();
  p->limits.message_size = 1024 * 1024;
  p->charset = charset;
  p->clamav_required = FALSE;
  g_free (p->clamav.database);
  p->clamav.database = g_strdup ("/nonexistent");
  return p;
}

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  GError *error = NULL;
  fuzz_init ();
  policy_utf8 = make_policy (MUGAI_OUTPUT_UTF8);
  policy_jis = make_policy (MUGAI_OUTPUT_ISO2022JP);
  engines = mugai_engines_new (policy_utf8, &error);
  if (!engines)
    {
      g_printerr ("fuzz-sanitize: %s\n", error->message);
      abort ();
    }
  skip_known = g_strcmp0 (g_getenv ("MUGAI_FUZZ_SKIP_KNOWN"), "1") == 0;
  return 0;
}

static void
run_one (const uint8_t *data, size_t size, const MugaiPolicy *policy, gboolean crlf)
{
  GBytes *input = g_bytes_new (data, size);
  GBytes *output = NULL;
  MugaiReport *report = NULL;
  GError *error = NULL;
  MugaiSanitizeOptions opts = { .quarantine_id = "fuzz.0001", .crlf = crlf };

  if (mugai_sanitize (input, policy, engines, &opts, &output, &report, &error))
    {
      char *json;
      if (!report)
        abort (); /* the contract: TRUE comes with a report */
      json = mugai_report_to_json (report, FALSE);
      g_free (json);
    }
  else if (!error)
    abort (); /* FALSE must come with an error */

  g_clear_error (&error);
  g_clear_pointer (&report, mugai_report_free);
  g_clear_pointer (&output, g_bytes_unref);
  g_bytes_unref (input);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (skip_known)
    {
      size_t i = 0;
      while (i < size && memchr (" \t\r\n", data[i], 4))
        i++;
      if (i == size)
        return 0;
    }
  if (size & 1)
    run_one (data, size, policy_jis, TRUE);
  else
    run_one (data, size, policy_utf8, FALSE);
  return 0;
}
