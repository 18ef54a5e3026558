/*
 * fuzz-charset.c - libFuzzer target: charset detection and conversion
 *
 * DESCRIPTION
 *	The first input byte picks a declared charset from a small table
 *	(NULL, the Japanese charsets, UTF-8/16, an unknown name); the rest
 *	is the octets of a text part, NULs included, in a buffer of exactly
 *	their length.  mugai_charset_decode() must return valid UTF-8 and a
 *	charset name; its output then goes to mugai_charset_to_iso2022jp()
 *	(the ISO-2022-JP output writer), whose output, when there is one,
 *	must be accepted by our own strict ISO-2022-JP reader.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "fuzz-common.h"

static const char *const declared_table[] = {
  NULL, "iso-2022-jp", "shift_jis", "euc-jp", "utf-8", "us-ascii", "utf-16", "x-bogus",
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  const char *declared = declared_table[data[0] % G_N_ELEMENTS (declared_table)];
  gsize len = size - 1;
  char *buf = g_malloc (len ? len : 1);
  memcpy (buf, data + 1, len);

  char *used = NULL;
  MugaiCharsetQuality quality = MUGAI_CHARSET_LOSSY;
  char *utf8 = mugai_charset_decode (buf, len, declared, &used, &quality);
  if (!utf8 || !used || !g_utf8_validate (utf8, -1, NULL))
    abort ();

  gsize jis_len = 0;
  char *jis = mugai_charset_to_iso2022jp (utf8, strlen (utf8), &jis_len);
  if (jis)
    {
      /* What we write as ISO-2022-JP our own reader must accept.  (Not
       * compared with the input: the writer maps CP932 look-alikes such
       * as U+FF5E to their JIS code points on purpose.) */
      char *back = mugai_charset_convert_strict (jis, jis_len, "iso-2022-jp", NULL);
      if (!back || !g_utf8_validate (back, -1, NULL))
        abort ();
      g_free (back);
    }

  char *canon = mugai_charset_canonical (used);
  g_free (canon);
  (void)mugai_charset_looks_binary (buf, len);

  g_free (jis);
  g_free (utf8);
  g_free (used);
  g_free (buf);
  return 0;
}
