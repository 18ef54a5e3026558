/*
 * bmp.c - decode a Windows bitmap (BMP) to RGB or RGBA pixels
 *
 * DESCRIPTION
 *	mugai_bmp_decode() (bmp.h) reads BITMAPCOREHEADER (12 octets),
 *	BITMAPINFOHEADER (40) and the V2-V5 headers (52, 56, 108, 124);
 *	1/4/8-bit palette and 16/24/32-bit uncompressed (BI_RGB) or
 *	BI_BITFIELDS/BI_ALPHABITFIELDS pixels, bottom-up or top-down.  A
 *	palette index past the colours in the file is black.  A 32-bit
 *	file is RGBA only if some pixel sets a bit of the alpha mask (its
 *	fourth octet is padding in most files, as Chromium decides);
 *	everything else is RGB.
 *
 *	It was written by hand, for mugai-filter-image (image.c), because
 *	no library of the filter's reads BMP; it has its own fuzz target
 *	(fuzz/fuzz-bmp.c) for that reason.
 *
 * LIMITS
 *	Every offset and length is checked against the file before it is
 *	read: the header, the palette (at most 2^bpp entries, 256) and the
 *	pixel rows (stride x height within the file after bfOffBits).
 *	Width and height are checked against the caller's limits before
 *	any pixel memory is allocated, so a 26-octet file that claims
 *	2^31 x 2^31 pixels costs nothing; the pixel buffer is then width x
 *	height x 3 or 4 octets, and the work is one pass (two for 32-bit
 *	and 16-bit masks with alpha) over rows that are in the file.
 *
 * ERRORS
 *	MUGAI_BMP_ERROR_LIMIT for a limit, MUGAI_BMP_ERROR_FAILED for
 *	everything else (unsupported header size, bit depth or compression:
 *	RLE4, RLE8, embedded JPEG/PNG and OS/2 v2 headers are refused;
 *	truncation; a width of 0 or below; out of memory).
 *
 * THREAD SAFETY
 *	Reentrant: no state outside the call.
 */
#include "bmp.h"
#include "octets.h"

#include <string.h>

/* The quark name is a string, not a subtraction. */
/* clang-format off */
G_DEFINE_QUARK (mugai-bmp-error-quark, mugai_bmp_error)
/* clang-format on */

/* Before any pixel memory is allocated.  Both factors are below 2^32,
 * so their product fits in 64 bits.  The messages are those of
 * image.c's check_limits(), which the filter's tests read. */
static gboolean
check_limits (const MugaiBmpLimits *lim, guint64 width, guint64 height, GError **error)
{
  if (width == 0 || height == 0)
    {
      g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_FAILED,
                   "BMP has no pixels (%" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT ")", width,
                   height);
      return FALSE;
    }
  if (width > lim->max_width)
    {
      g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_LIMIT,
                   "BMP width %" G_GUINT64_FORMAT " over the limit of %" G_GUINT64_FORMAT, width,
                   lim->max_width);
      return FALSE;
    }
  if (height > lim->max_height)
    {
      g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_LIMIT,
                   "BMP height %" G_GUINT64_FORMAT " over the limit of %" G_GUINT64_FORMAT, height,
                   lim->max_height);
      return FALSE;
    }
  if (width * height > lim->max_pixels)
    {
      g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_LIMIT,
                   "BMP of %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
                   " pixels over the limit of %" G_GUINT64_FORMAT " pixels",
                   width, height, lim->max_pixels);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  guint32 mask;
  guint shift;
  guint bits;
} BmpChannel;

static BmpChannel
bmp_channel (guint32 mask)
{
  BmpChannel c = { mask, 0, 0 };
  if (mask == 0)
    return c;
  while (!(mask & 1))
    {
      mask >>= 1;
      c.shift++;
    }
  while (mask & 1)
    {
      mask >>= 1;
      c.bits++;
    }
  return c;
}

static guint8
bmp_sample (const BmpChannel *c, guint32 v)
{
  guint32 s = (v & c->mask) >> c->shift;
  if (c->bits == 0)
    return 0; /* no mask: the channel is absent */
  if (c->bits >= 8)
    return (guint8)(s >> (c->bits - 8));
  return (guint8)(s * 255 / ((1u << c->bits) - 1));
}

gboolean
mugai_bmp_decode (const guint8 *p, gsize len, const MugaiBmpLimits *lim, MugaiBmpPixels *out_pixels,
                  GError **error)
{
  enum
  {
    BI_RGB = 0,
    BI_BITFIELDS = 3,
    BI_ALPHABITFIELDS = 6
  };

  if (len < 14 + 12)
    {
      g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_FAILED, "BMP: file truncated");
      return FALSE;
    }
  guint32 off_bits = rd32le (p + 10);
  guint32 hsize = rd32le (p + 14);
  if (hsize != 12 && hsize != 40 && hsize != 52 && hsize != 56 && hsize != 108 && hsize != 124)
    {
      g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_FAILED,
                   "BMP: header of %u octets not supported", hsize);
      return FALSE;
    }
  if (len < 14 + (gsize)hsize)
    {
      g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_FAILED, "BMP: file truncated");
      return FALSE;
    }

  gint64 width, height;
  guint bpp;
  guint32 compression = BI_RGB, colours_used = 0;
  if (hsize == 12)
    {
      width = rd16le (p + 18);
      height = rd16le (p + 20);
      bpp = rd16le (p + 24);
    }
  else
    {
      width = (gint32)rd32le (p + 18);
      height = (gint32)rd32le (p + 22);
      bpp = rd16le (p + 28);
      compression = rd32le (p + 30);
      colours_used = rd32le (p + 46);
    }
  gboolean top_down = height < 0;
  if (top_down)
    height = -height; /* from gint32, so no overflow */
  if (width < 0)
    {
      g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_FAILED, "BMP: negative width");
      return FALSE;
    }
  if (!check_limits (lim, (guint64)width, (guint64)height, error))
    return FALSE;

  if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)
    {
      g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_FAILED,
                   "BMP: %u bits per pixel not supported", bpp);
      return FALSE;
    }
  gboolean bitfields = compression == BI_BITFIELDS || compression == BI_ALPHABITFIELDS;
  if (!(compression == BI_RGB || (bitfields && (bpp == 16 || bpp == 32))))
    {
      g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_FAILED,
                   "BMP: compression %u with %u bits per pixel not supported", compression, bpp);
      return FALSE;
    }

  /* Channel masks: the defaults of BI_RGB, or the three (four) masks
   * at offset 54, which is inside a V2+ header and right after a
   * BITMAPINFOHEADER. */
  BmpChannel r, g, b, a;
  if (bpp == 16 && !bitfields)
    {
      r = bmp_channel (0x7c00);
      g = bmp_channel (0x03e0);
      b = bmp_channel (0x001f);
      a = bmp_channel (0);
    }
  else if (bpp == 32 && !bitfields)
    {
      r = bmp_channel (0x00ff0000);
      g = bmp_channel (0x0000ff00);
      b = bmp_channel (0x000000ff);
      a = bmp_channel (0xff000000); /* used only if some pixel is not 0 */
    }
  else if (bitfields)
    {
      gboolean has_alpha_mask = hsize >= 56 || compression == BI_ALPHABITFIELDS;
      if (len < 54 + (has_alpha_mask ? 16u : 12u))
        {
          g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_FAILED, "BMP: file truncated");
          return FALSE;
        }
      r = bmp_channel (rd32le (p + 54));
      g = bmp_channel (rd32le (p + 58));
      b = bmp_channel (rd32le (p + 62));
      a = bmp_channel (has_alpha_mask ? rd32le (p + 66) : 0);
    }
  else
    r = g = b = a = bmp_channel (0);

  /* Palette: RGBQUADs (RGBTRIPLEs for a core header) after the header. */
  guint8 palette[256][3] = { { 0 } };
  guint ncolours = 0;
  if (bpp <= 8)
    {
      gsize esize = hsize == 12 ? 3 : 4;
      gsize start = 14 + (gsize)hsize;
      ncolours = colours_used != 0 && colours_used < (1u << bpp) ? colours_used : 1u << bpp;
      if (len - start < ncolours * esize)
        {
          g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_FAILED, "BMP: palette truncated");
          return FALSE;
        }
      for (guint i = 0; i < ncolours; i++)
        {
          const guint8 *e = p + start + i * esize;
          palette[i][0] = e[2];
          palette[i][1] = e[1];
          palette[i][2] = e[0];
        }
    }

  guint64 stride = ((guint64)width * bpp + 31) / 32 * 4;
  if (off_bits > len || stride * (guint64)height > len - off_bits)
    {
      g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_FAILED, "BMP: pixel data truncated");
      return FALSE;
    }
  const guint8 *bits = p + off_bits;
  guint bytes = bpp / 8;

  /* A 32-bit BI_RGB file's fourth octet is usually padding (0); it is
   * alpha only if some pixel sets it (as Chromium decides). */
  gboolean alpha = FALSE;
  if (a.mask != 0)
    for (gint64 row = 0; row < height && !alpha; row++)
      for (gint64 x = 0; x < width; x++)
        {
          const guint8 *s = bits + row * stride + x * bytes;
          guint32 v = bytes == 4 ? rd32le (s) : rd16le (s);
          if (v & a.mask)
            {
              alpha = TRUE;
              break;
            }
        }

  guint ch = alpha ? 4 : 3;
  /* Bounded by check_limits(): at most 4 x max_pixels octets. */
  g_autofree guint8 *pixels = g_try_malloc0 ((gsize)width * (gsize)height * ch);
  if (pixels == NULL)
    {
      g_set_error (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_FAILED, "out of memory for %ux%u pixels",
                   (guint32)width, (guint32)height);
      return FALSE;
    }
  for (gint64 row = 0; row < height; row++)
    {
      const guint8 *s = bits + row * stride;
      gint64 y = top_down ? row : height - 1 - row;
      guint8 *out = pixels + y * width * ch;
      for (gint64 x = 0; x < width; x++, out += ch)
        {
          if (bpp <= 8)
            {
              guint shift = 8 - bpp - (guint)(x * bpp % 8);
              guint idx = (s[x * bpp / 8] >> shift) & ((1u << bpp) - 1);
              if (idx < ncolours)
                memcpy (out, palette[idx], 3);
            }
          else if (bpp == 24)
            {
              out[0] = s[x * 3 + 2];
              out[1] = s[x * 3 + 1];
              out[2] = s[x * 3];
            }
          else
            {
              guint32 v = bytes == 4 ? rd32le (s + x * 4) : rd16le (s + x * 2);
              out[0] = bmp_sample (&r, v);
              out[1] = bmp_sample (&g, v);
              out[2] = bmp_sample (&b, v);
              if (alpha)
                out[3] = bmp_sample (&a, v);
            }
        }
    }
  out_pixels->width = (guint32)width;
  out_pixels->height = (guint32)height;
  out_pixels->channels = ch;
  out_pixels->pixels = g_steal_pointer (&pixels);
  return TRUE;
}
