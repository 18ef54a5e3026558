/*
 * fuzz-header.c - libFuzzer target: header decoding (header.c)
 *
 * DESCRIPTION
 *	The input, cut at its first NUL, is a raw header value.  It goes to
 *	mugai_header_decode() in both modes and to mugai_header_param() for
 *	the parameter names the sanitizer asks for.  Every result must be
 *	valid UTF-8 (header.h promises it); a NULL from mugai_header_decode()
 *	is a bug too.
 */
#include <stdint.h>
#include <stdlib.h>

#include "header.h"
#include "fuzz-common.h"

static void
check_utf8 (const char *s)
{
  if (s && !g_utf8_validate (s, -1, NULL))
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const names[] = { "filename", "name", "charset", "boundary", "Filename" };
  char *raw = g_strndup ((const char *)data, size);
  char *s;

  for (int mode = MUGAI_HEADER_TEXT; mode <= MUGAI_HEADER_PHRASE; mode++)
    {
      s = mugai_header_decode (raw, (MugaiHeaderMode)mode);
      if (!s)
        abort ();
      check_utf8 (s);
      g_free (s);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      s = mugai_header_param (raw, names[i]);
      check_utf8 (s);
      g_free (s);
    }
  g_free (raw);
  return 0;
}
