/*
 * fuzz-bmp.c - libFuzzer target: the BMP decoder (filters/bmp.c)
 *
 * DESCRIPTION
 *	The input is a whole BMP file.  mugai_bmp_decode() reads it under
 *	limits of 2048 x 2048 and 2^20 pixels (4 MiB of RGBA at most, so
 *	that an iteration stays fast).  Then its promises (bmp.h) are
 *	checked, and a broken one aborts:
 *
 *	    FALSE comes with an error in MUGAI_BMP_ERROR whose message is
 *	    ASCII (it reaches the filter's stderr after the lockdown);
 *	    TRUE gives pixels, 3 or 4 channels and a size within the limits;
 *	    the same file under limits of exactly its width, height and
 *	    area decodes to the same pixels; one pixel narrower than its
 *	    width or lower than its height is a MUGAI_BMP_ERROR_LIMIT.
 *
 *	The whole pixel buffer is read (summed), so that ASan sees a
 *	buffer shorter than width x height x channels.
 *
 *	tests/meson.build builds this file in the ordinary tree too, with
 *	tests/fuzz-replay.c as its main(), and runs it over fuzz/seeds/bmp/
 *	and fuzz/crashes/bmp-*.bmp: no libFuzzer needed.
 */
#define FUZZ_STANDALONE /* no libmugai: bmp.c stands alone */
#include "bmp.h"
#include "fuzz-common.h"

#include <stdlib.h>
#include <string.h>

static const MugaiBmpLimits FUZZ_LIMITS = { 2048, 2048, 1u << 20 };

static void
check_failure (GError *error, gboolean want_limit)
{
  if (error == NULL || error->domain != MUGAI_BMP_ERROR || error->message == NULL)
    abort ();
  for (const char *m = error->message; *m; m++)
    if ((guchar)*m >= 0x80 || (guchar)*m < 0x20)
      abort ();
  if (want_limit && error->code != MUGAI_BMP_ERROR_LIMIT)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* An exact-length copy: nothing readable after the last octet. */
  guint8 *copy = g_memdup2 (data, size);
  MugaiBmpPixels px = { 0 };
  GError *error = NULL;

  if (!mugai_bmp_decode (copy, size, &FUZZ_LIMITS, &px, &error))
    {
      check_failure (error, FALSE);
      if (px.pixels != NULL)
        abort (); /* out untouched on failure */
      g_error_free (error);
      g_free (copy);
      return 0;
    }
  if (error != NULL || px.pixels == NULL || (px.channels != 3 && px.channels != 4) || px.width == 0
      || px.height == 0 || px.width > FUZZ_LIMITS.max_width || px.height > FUZZ_LIMITS.max_height
      || (guint64)px.width * px.height > FUZZ_LIMITS.max_pixels)
    abort ();
  gsize n = (gsize)px.width * px.height * px.channels;
  volatile guint sum = 0;
  for (gsize i = 0; i < n; i++)
    sum += px.pixels[i];

  MugaiBmpLimits exact = { px.width, px.height, (guint64)px.width * px.height };
  MugaiBmpPixels again = { 0 };
  if (!mugai_bmp_decode (copy, size, &exact, &again, &error))
    abort ();
  if (again.width != px.width || again.height != px.height || again.channels != px.channels
      || memcmp (again.pixels, px.pixels, n) != 0)
    abort ();
  g_free (again.pixels);

  MugaiBmpLimits narrow = exact;
  narrow.max_width--;
  MugaiBmpPixels none = { 0 };
  if (mugai_bmp_decode (copy, size, &narrow, &none, &error))
    abort ();
  check_failure (error, TRUE);
  g_clear_error (&error);
  MugaiBmpLimits low = exact;
  low.max_height--;
  if (mugai_bmp_decode (copy, size, &low, &none, &error))
    abort ();
  check_failure (error, TRUE);
  g_clear_error (&error);

  g_free (px.pixels);
  g_free (copy);
  return 0;
}
