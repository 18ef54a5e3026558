/*
 * bmp.h - the Windows bitmap (BMP) decoder of mugai-filter-image
 *
 * SYNOPSIS
 *	gboolean mugai_bmp_decode (const guint8 *data, gsize len,
 *	                           const MugaiBmpLimits *limits,
 *	                           MugaiBmpPixels *out_pixels, GError **error);
 *
 * DESCRIPTION
 *	A pure function from the octets of one untrusted BMP file (the
 *	"BM" file header included) to 8-bit RGB or RGBA pixels: no I/O, no
 *	global state, no lockdown, so that a fuzz target (fuzz/fuzz-bmp.c)
 *	and a test (tests/test-bmp.c) call it as the filter does.  The
 *	bounds and the formats are in bmp.c's header.
 *
 *	On success out_pixels->pixels is owned by the caller (g_free()); on
 *	failure out_pixels is untouched and error is set in MUGAI_BMP_ERROR:
 *	MUGAI_BMP_ERROR_LIMIT when the width, height or pixel count is over
 *	limits (checked before any pixel memory is allocated),
 *	MUGAI_BMP_ERROR_FAILED for anything else.  Messages never quote the
 *	file and are ASCII.
 *
 * THREAD SAFETY
 *	Reentrant.
 */
#pragma once

#include <glib.h>

typedef enum
{
  MUGAI_BMP_ERROR_FAILED, /* not a BMP we read, malformed, truncated */
  MUGAI_BMP_ERROR_LIMIT,  /* width, height or width x height over the limits */
} MugaiBmpError;

#define MUGAI_BMP_ERROR (mugai_bmp_error_quark ())
GQuark mugai_bmp_error_quark (void);

typedef struct
{
  guint64 max_width;
  guint64 max_height;
  guint64 max_pixels; /* width x height */
} MugaiBmpLimits;

/* Rows of width * channels octets, top to bottom, no padding; channels
 * is 3 (RGB) or 4 (RGBA). */
typedef struct
{
  guint32 width;
  guint32 height;
  guint channels;
  guint8 *pixels;
} MugaiBmpPixels;

gboolean mugai_bmp_decode (const guint8 *data, gsize len, const MugaiBmpLimits *limits,
                           MugaiBmpPixels *out_pixels, GError **error);
