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
 *	The output is checked as well: it must parse, every text part must
 *	be valid in the charset it declares, and its text must hold no C0
 *	control but TAB, CR, LF and FF (src/core/build.c, normalize_text(): an
 *	ESC would let a terminal sequence or an ISO-2022-JP shift reach the
 *	reader as something other than what mugai read and checked;
 *	fuzz/crashes/README.md, 3).  ISO-2022-JP parts are read back through
 *	mugai's strict reader, which takes out the legitimate shifts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#define FUZZ_OWN_INITIALIZE /* the policies and engines as well */
#include "fuzz-common.h"
#include "mugai-gmime.h"

static MugaiEngines *engines;
static MugaiPolicy *policy_utf8;
static MugaiPolicy *policy_jis;

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

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
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
  return 0;
}

static void
check_text (const char *utf8, gsize len)
{
  if (!g_utf8_validate_len (utf8, len, NULL))
    abort (); /* a text part not valid in its declared charset */
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar)utf8[i];
      if (c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != '\f')
        abort (); /* a control character reached the output text */
    }
}

static void
check_output (GBytes *output)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (output, &len);
  g_autoptr (GMimeStream) stream = g_mime_stream_mem_new_with_buffer (data, len);
  g_autoptr (GMimeParser) parser = g_mime_parser_new_with_stream (stream);
  g_autoptr (GMimeMessage) msg = g_mime_parser_construct_message (parser, NULL);
  if (!msg)
    abort (); /* mugai wrote something that does not parse as a message */

  GMimePartIter *iter = g_mime_part_iter_new (GMIME_OBJECT (msg));
  do
    {
      GMimeObject *obj = g_mime_part_iter_get_current (iter);
      if (!obj || !GMIME_IS_TEXT_PART (obj))
        continue;
      GMimeDataWrapper *dw = g_mime_part_get_content (GMIME_PART (obj));
      if (!dw)
        continue;
      g_autoptr (GByteArray) bytes = g_byte_array_new ();
      g_autoptr (GMimeStream) mem = g_mime_stream_mem_new_with_byte_array (bytes);
      g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (mem), FALSE);
      g_mime_data_wrapper_write_to_stream (dw, mem);
      const char *charset = g_mime_object_get_content_type_parameter (obj, "charset");
      if (charset && g_ascii_strcasecmp (charset, "iso-2022-jp") == 0)
        {
          gsize n = 0;
          g_autofree char *utf8 = mugai_charset_convert_strict ((const char *)bytes->data,
                                                                bytes->len, "iso-2022-jp", &n);
          if (!utf8)
            abort (); /* mugai's ISO-2022-JP that mugai cannot read */
          check_text (utf8, n);
        }
      else
        check_text (bytes->len ? (const char *)bytes->data : "", bytes->len);
    }
  while (g_mime_part_iter_next (iter));
  g_mime_part_iter_free (iter);
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
      if (output)
        check_output (output);
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
  if (size & 1)
    run_one (data, size, policy_jis, TRUE);
  else
    run_one (data, size, policy_utf8, FALSE);
  return 0;
}
