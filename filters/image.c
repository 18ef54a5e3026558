/*
 * image.c - mugai-filter-image: decode one untrusted image, encode it again
 *
 * NAME
 *	mugai-filter-image - rebuild an image from its pixels alone
 *
 * SYNOPSIS
 *	mugai-filter-image [--output same|png|jpeg] [--quality N]
 *	                   [--max-width N] [--max-height N]
 *	                   [--max-pixels N] [--max-input BYTES]
 *
 * DESCRIPTION
 *	Reads one image on standard input, decodes it to 8-bit pixels
 *	(grey, grey+alpha, RGB or RGBA) and writes a new file made from
 *	those pixels alone on standard output.  Nothing of the input
 *	survives but the pixels: no EXIF (GPS positions, camera serials),
 *	no XMP, no comments, no text chunks, no ICC profile, no thumbnail,
 *	and no data after the end of the image (the "polyglot" trick of a
 *	ZIP appended to a JPEG).
 *
 *	The input type is recognised by its magic number only, never by a
 *	file name: JPEG (FF D8 FF), PNG, GIF87a/GIF89a, BMP ("BM") and
 *	WebP ("RIFF" .... "WEBP").  Anything else is refused.
 *
 *	--output same (the default) writes a JPEG for a JPEG input and a
 *	PNG for everything else, so that photographs stay photographs and
 *	drawings stay lossless; --output png or --output jpeg force one.
 *	A PNG keeps the alpha channel of the input; a JPEG has none, and
 *	transparent pixels are composited on white.  JPEG output carries
 *	the JFIF APP0 header and nothing else beyond the image segments.
 *	PNG output has IHDR, IDAT and IEND only.
 *
 *	JPEG: the EXIF Orientation tag (1-8) of the input is applied to
 *	the pixels, since the tag itself is dropped and a phone photograph
 *	would otherwise arrive on its side.  Grey JPEGs stay grey; CMYK
 *	and YCCK are converted to RGB by the naive formula (inverted CMYK
 *	when an Adobe APP14 marker is present, as Photoshop writes it).
 *	GIF: the first frame only, composited on a transparent logical
 *	screen; the frames are counted and reported.  BMP (bmp.c, our own
 *	decoder): BITMAPCOREHEADER, BITMAPINFOHEADER and the V2-V5
 *	headers; 1/4/8-bit palette and 16/24/32-bit uncompressed or
 *	BI_BITFIELDS pixels.  WebP: still images, lossy or lossless, with
 *	or without alpha.
 *
 * OPTIONS
 *	--output same|png|jpeg	output format (default same).
 *	--quality N		JPEG quality 1-100 (default 90).
 *	--max-width N, --max-height N
 *				largest accepted width, height (default
 *				20000 each; at most 1000000).
 *	--max-pixels N		largest accepted width x height (default
 *				50000000; at most 2^28).
 *	--max-input BYTES	largest accepted input (default 64 MiB;
 *				at most 1 GiB).
 *
 * LIMITS
 *	Width and height come from the file's header and are checked
 *	against the limits before any pixel memory is allocated, so a
 *	20-octet PNG that claims 100000 x 100000 pixels costs nothing.  A
 *	GIF's first frame is checked as well as its logical screen, since
 *	LZW expands up to some 2700 times and the decoder's work is the
 *	frame's area, not the screen's.  Memory is about 4 octets a pixel,
 *	twice that when an EXIF orientation is applied; libjpeg is held to
 *	10 octets a pixel plus 64 MiB (progressive coefficient buffers),
 *	and to JPEG_MAX_SCANS scans (the progressive-scan CPU attack, see
 *	libjpeg-turbo's TJPARAM_SCANLIMIT).  libpng is told the same
 *	width/height limits, ignores every ancillary chunk (so no zTXt,
 *	iTXt or iCCP is ever inflated) and caps a chunk at 8 MiB.  At most
 *	GIF_MAX_FRAMES frames are counted.
 *
 * DIAGNOSTICS
 *	On success the last line on standard error is
 *	"info type=image/png width=W height=H", with " frames=N" added for
 *	a GIF input; W and H are the output's.  On failure one line
 *	"mugai-filter-image: <reason>" and nothing on standard output.
 *
 * EXIT STATUS
 *	0 done; 1 (MUGAI_FILTER_FAILED) not a supported image, malformed,
 *	truncated (a JPEG that ends early is refused, not padded with
 *	grey: the reader would see a damaged picture and not know why),
 *	animated WebP; 3 (MUGAI_FILTER_LIMIT) a width, height, pixel,
 *	input-size or scan-count limit; 64 bad command line.
 *
 * BUGS
 *	16-bit PNG samples are reduced to 8 bits.  Colour management is
 *	dropped with the metadata (ICC profiles, gAMA/cHRM, CMYK profiles),
 *	so wide-gamut or CMYK pictures may shift in colour.  Only the
 *	default image of an APNG, the first frame of a GIF are kept;
 *	animated WebP is refused.  BMP RLE4/RLE8, embedded JPEG/PNG and
 *	OS/2 v2 headers are refused.  Orientation is read from the first
 *	EXIF APP1 segment of a JPEG only (not from PNG eXIf or WebP EXIF).
 *	After the first GIF frame, a damaged record ends the frame count
 *	rather than the conversion, as browsers show what they have.
 *
 * FILES
 *	About 1,300 lines in one file on purpose: one concept (pixels
 *	in, pixels out), and every decoder and encoder here is glue around
 *	a library (libjpeg, libpng, giflib, libwebp) written against the
 *	same three things: the Image it fills, check_limits() (the one place
 *	where a size from the file meets the limits) and IMAGE_ERROR, whose
 *	code is the exit status.  The one decoder of our own, BMP, is bmp.c
 *	(a pure function, fuzzed by fuzz/fuzz-bmp.c); the other parser
 *	written here is exif_orientation(), some 40 lines over one IFD.
 *
 * THREAD SAFETY
 *	A single-threaded program.
 *
 * SIZE
 *	About 1,250 lines, one concept: pixels in, pixels out.  Each decoder
 *	(JPEG, PNG, GIF, WebP; BMP in bmp.c) fills the same Image under the
 *	same Limits and each encoder writes it again; the sections are short
 *	and share those two types and the error reporting, so they stay in
 *	the one program they make.
 */
#include "bmp.h"
#include "lockdown.h"
#include "octets.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <gif_lib.h>
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <webp/decode.h>

/* Ceilings for the options themselves: the pixel buffer (4 octets a
 * pixel) and the encoded output live in memory, and GByteArray counts
 * in guint. */
#define OPTION_MAX_DIMENSION 1000000
#define OPTION_MAX_PIXELS (G_GINT64_CONSTANT (1) << 28)
#define OPTION_MAX_INPUT (G_GINT64_CONSTANT (1) << 30)

/* libjpeg-turbo's fuzzers and tjbench use 500: a progressive JPEG can
 * ask for thousands of tiny scans, each a pass over the whole
 * coefficient buffer ("Two Issues with the JPEG Standard", libjpeg-turbo
 * 2018).  Real encoders write about 10. */
#define JPEG_MAX_SCANS 500

/* Bytes of libjpeg working memory allowed per pixel, plus a fixed
 * allowance: up to 4 components of 2-octet coefficients for a
 * progressive image, and padding to whole MCUs. */
#define JPEG_MEMORY_PER_PIXEL 10
#define JPEG_MEMORY_SLACK (64u << 20)

/* libpng's largest ancillary chunk.  All ancillary chunks are ignored,
 * so this only bounds what is buffered to be skipped. */
#define PNG_CHUNK_MAX (8u << 20)

/* Frames are only counted; giflib keeps a descriptor (and a copy of any
 * local colour map) for every frame it sees. */
#define GIF_MAX_FRAMES 10000

typedef enum
{
  IMAGE_ERROR_FAILED, /* exit 1 */
  IMAGE_ERROR_LIMIT,  /* exit 3 */
} ImageError;

#define IMAGE_ERROR (image_error_quark ())
/* The quark name is a string, not a subtraction. */
/* clang-format off */
static G_DEFINE_QUARK (mugai-filter-image-error-quark, image_error)
/* clang-format on */

typedef enum
{
  TYPE_NONE,
  TYPE_JPEG,
  TYPE_PNG,
  TYPE_GIF,
  TYPE_BMP,
  TYPE_WEBP,
} ImageType;

typedef struct
{
  gint64 max_width;
  gint64 max_height;
  gint64 max_pixels;
} Limits;

/* Decoded pixels: rows of width * channels octets, top to bottom, no
 * padding.  channels is 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA). */
typedef struct
{
  guint32 width;
  guint32 height;
  guint channels;
  guint8 *pixels;
  guint frames;      /* GIF: frames counted; 0 otherwise */
  guint orientation; /* JPEG: EXIF orientation 1-8; 0 when absent */
} Image;

static void
image_clear (Image *img)
{
  g_clear_pointer (&img->pixels, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Image, image_clear)

static ImageType
detect_type (const guint8 *p, gsize len)
{
  static const guint8 png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

  if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
    return TYPE_JPEG;
  if (len >= 8 && memcmp (p, png_sig, 8) == 0)
    return TYPE_PNG;
  if (len >= 6 && (memcmp (p, "GIF87a", 6) == 0 || memcmp (p, "GIF89a", 6) == 0))
    return TYPE_GIF;
  if (len >= 2 && p[0] == 'B' && p[1] == 'M')
    return TYPE_BMP;
  if (len >= 12 && memcmp (p, "RIFF", 4) == 0 && memcmp (p + 8, "WEBP", 4) == 0)
    return TYPE_WEBP;
  return TYPE_NONE;
}

/* The one place where a size from the file meets the limits.  Called
 * before any pixel memory is allocated.  Both factors are below 2^32,
 * so their product fits in 64 bits. */
static gboolean
check_limits (const Limits *lim, const char *what, guint64 width, guint64 height, GError **error)
{
  if (width == 0 || height == 0)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "%s has no pixels (%" G_GUINT64_FORMAT
                   "x%" G_GUINT64_FORMAT ")", what, width, height);
      return FALSE;
    }
  if (width > (guint64) lim->max_width)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_LIMIT,
                   "%s width %" G_GUINT64_FORMAT " over the limit of %" G_GINT64_FORMAT, what,
                   width, lim->max_width);
      return FALSE;
    }
  if (height > (guint64) lim->max_height)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_LIMIT,
                   "%s height %" G_GUINT64_FORMAT " over the limit of %" G_GINT64_FORMAT, what,
                   height, lim->max_height);
      return FALSE;
    }
  if (width * height > (guint64) lim->max_pixels)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_LIMIT,
                   "%s of %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
                   " pixels over the limit of %" G_GINT64_FORMAT " pixels",
                   what, width, height, lim->max_pixels);
      return FALSE;
    }
  return TRUE;
}

/* Allocates img->pixels for width x height x channels; the size was
 * bounded by check_limits() and the option ceilings. */
static gboolean
image_alloc (Image *img, guint32 width, guint32 height, guint channels, GError **error)
{
  gsize size = (gsize) width * height * channels;

  img->pixels = g_try_malloc0 (size);
  if (img->pixels == NULL)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "out of memory for %ux%u pixels",
                   width, height);
      return FALSE;
    }
  img->width = width;
  img->height = height;
  img->channels = channels;
  return TRUE;
}

/* ---- JPEG in ------------------------------------------------------- */

typedef struct
{
  struct jpeg_error_mgr pub;
  jmp_buf jmp;
  char message[JMSG_LENGTH_MAX];
  gboolean limit; /* the failure is a limit, not a malformed file */
} JpegErr;

/* Everything the guarded steps share lives here, in the frame of a
 * function that does not call setjmp(), so nothing is left
 * indeterminate by the longjmp() (C11 7.13.2.1). */
typedef struct
{
  struct jpeg_decompress_struct cinfo;
  JpegErr err;
  struct jpeg_progress_mgr progress;
  const guint8 *data;
  gsize len;
  guint8 *row; /* one CMYK row, for the conversion */
  Image *img;
} JpegDecode;

static void
jpeg_error_exit_cb (j_common_ptr cinfo)
{
  JpegErr *err = (JpegErr *) cinfo->err;
  cinfo->err->format_message (cinfo, err->message);
  longjmp (err->jmp, 1);
}

static void
jpeg_emit_message_cb (j_common_ptr cinfo, int level)
{
  /* A file that ends before its last scan line would be padded with
   * grey by libjpeg; refuse it instead (see EXIT STATUS).  Other
   * warnings ("extraneous bytes before marker") are common in camera
   * files and harmless. */
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
    cinfo->err->error_exit (cinfo);
  if (level < 0)
    cinfo->err->num_warnings++;
}

static void
jpeg_output_message_cb (j_common_ptr cinfo)
{
  (void) cinfo; /* libjpeg's messages become our one error line */
}

static void
jpeg_progress_cb (j_common_ptr cinfo)
{
  if (cinfo->is_decompressor
      && ((j_decompress_ptr) cinfo)->input_scan_number > JPEG_MAX_SCANS)
    {
      JpegErr *err = (JpegErr *) cinfo->err;
      g_snprintf (err->message, sizeof err->message, "more than %d progressive scans",
                  JPEG_MAX_SCANS);
      err->limit = TRUE;
      longjmp (err->jmp, 1);
    }
}

/* Reads the Orientation tag (0x0112) from IFD0 of an EXIF APP1 segment.
 * Every offset is checked against the segment (at most 65533 octets);
 * the entry loop runs at most (len - 2) / 12 times.  Returns 0 when
 * absent or malformed. */
static guint
exif_orientation (const guint8 *p, gsize len)
{
  if (len < 6 + 8 || memcmp (p, "Exif\0\0", 6) != 0)
    return 0;
  const guint8 *t = p + 6;
  gsize tlen = len - 6;
  gboolean le;
  if (memcmp (t, "II*\0", 4) == 0)
    le = TRUE;
  else if (memcmp (t, "MM\0*", 4) == 0)
    le = FALSE;
  else
    return 0;

  guint32 ifd = le ? rd32le (t + 4) : rd32be (t + 4);
  if (ifd > tlen || tlen - ifd < 2)
    return 0;
  guint count = le ? rd16le (t + ifd) : (guint) (t[ifd] << 8 | t[ifd + 1]);
  gsize max_count = (tlen - ifd - 2) / 12;
  if (count > max_count)
    count = (guint) max_count;
  for (guint i = 0; i < count; i++)
    {
      const guint8 *e = t + ifd + 2 + (gsize) i * 12;
      guint tag = le ? rd16le (e) : (guint) (e[0] << 8 | e[1]);
      guint type = le ? rd16le (e + 2) : (guint) (e[2] << 8 | e[3]);
      if (tag != 0x0112)
        continue;
      if (type != 3) /* SHORT */
        return 0;
      guint value = le ? rd16le (e + 8) : (guint) (e[8] << 8 | e[9]);
      return value >= 1 && value <= 8 ? value : 0;
    }
  return 0;
}

/* Step 1: header, colour space, orientation.  No pixel memory yet. */
static gboolean
jpeg_decode_header (JpegDecode *d)
{
  j_decompress_ptr cinfo = &d->cinfo;

  if (setjmp (d->err.jmp))
    return FALSE;
  jpeg_create_decompress (cinfo);
  d->progress.progress_monitor = jpeg_progress_cb;
  cinfo->progress = &d->progress;
  jpeg_mem_src (cinfo, d->data, (unsigned long) d->len);
  /* The only marker kept, for the orientation; the rest are skipped
   * by the library without being stored. */
  jpeg_save_markers (cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header (cinfo, TRUE);

  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next)
    if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp (m->data, "Exif\0\0", 6) == 0)
      {
        d->img->orientation = exif_orientation (m->data, m->data_length);
        break;
      }

  switch (cinfo->jpeg_color_space)
    {
    case JCS_GRAYSCALE:
      cinfo->out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo->out_color_space = JCS_CMYK;
      break;
    default:
      cinfo->out_color_space = JCS_RGB;
      break;
    }
  return TRUE;
}

/* Step 2: the pixels, into d->img (allocated by the caller). */
static gboolean
jpeg_decode_pixels (JpegDecode *d)
{
  j_decompress_ptr cinfo = &d->cinfo;
  Image *img = d->img;

  if (setjmp (d->err.jmp))
    return FALSE;
  jpeg_start_decompress (cinfo);
  guint want = cinfo->out_color_space == JCS_CMYK ? 4 : img->channels;
  if (cinfo->output_width != img->width || cinfo->output_height != img->height
      || (guint) cinfo->output_components != want)
    {
      g_strlcpy (d->err.message, "decoder output does not match the header", sizeof d->err.message);
      return FALSE;
    }
  gsize stride = (gsize) img->width * img->channels;
  while (cinfo->output_scanline < cinfo->output_height)
    {
      guint y = cinfo->output_scanline;
      guint8 *out = img->pixels + y * stride;
      JSAMPROW row = want == 4 ? d->row : out;
      if (jpeg_read_scanlines (cinfo, &row, 1) != 1)
        {
          g_strlcpy (d->err.message, "no scan line", sizeof d->err.message);
          return FALSE;
        }
      if (want != 4)
        continue;
      /* Photoshop writes Adobe CMYK inverted (APP14); plain CMYK is
       * not.  No profile: the naive formula. */
      gboolean inverted = cinfo->saw_Adobe_marker;
      for (guint x = 0; x < img->width; x++)
        {
          const guint8 *s = d->row + (gsize) x * 4;
          guint c = inverted ? s[0] : 255u - s[0];
          guint m = inverted ? s[1] : 255u - s[1];
          guint yy = inverted ? s[2] : 255u - s[2];
          guint k = inverted ? s[3] : 255u - s[3];
          out[x * 3] = (guint8) ((c * k + 127) / 255);
          out[x * 3 + 1] = (guint8) ((m * k + 127) / 255);
          out[x * 3 + 2] = (guint8) ((yy * k + 127) / 255);
        }
    }
  /* jpeg_finish_decompress() is not called: whatever follows the last
   * scan line (EOI, appended data) is not wanted. */
  return TRUE;
}

static gboolean
decode_jpeg (const guint8 *data, gsize len, const Limits *lim, Image *img, GError **error)
{
  JpegDecode d = { 0 };
  gboolean ok = FALSE;

  d.cinfo.err = jpeg_std_error (&d.err.pub);
  d.err.pub.error_exit = jpeg_error_exit_cb;
  d.err.pub.emit_message = jpeg_emit_message_cb;
  d.err.pub.output_message = jpeg_output_message_cb;
  d.data = data;
  d.len = len;
  d.img = img;

  if (!jpeg_decode_header (&d))
    goto failed;
  if (!check_limits (lim, "JPEG", d.cinfo.image_width, d.cinfo.image_height, error))
    goto out;
  d.cinfo.mem->max_memory_to_use
      = (long) ((gsize) d.cinfo.image_width * d.cinfo.image_height * JPEG_MEMORY_PER_PIXEL
                + JPEG_MEMORY_SLACK);
  guint channels = d.cinfo.out_color_space == JCS_GRAYSCALE ? 1 : 3;
  if (!image_alloc (img, d.cinfo.image_width, d.cinfo.image_height, channels, error))
    goto out;
  if (d.cinfo.out_color_space == JCS_CMYK)
    d.row = g_malloc ((gsize) d.cinfo.image_width * 4);
  if (!jpeg_decode_pixels (&d))
    goto failed;
  ok = TRUE;
  goto out;

failed:
  g_set_error (error, IMAGE_ERROR, d.err.limit ? IMAGE_ERROR_LIMIT : IMAGE_ERROR_FAILED,
               "JPEG: %s", d.err.message);
out:
  jpeg_destroy_decompress (&d.cinfo);
  g_free (d.row);
  return ok;
}

/* ---- PNG in -------------------------------------------------------- */

typedef struct
{
  png_structp png;
  png_infop info;
  jmp_buf jmp;
  char message[200];
  const guint8 *data;
  gsize len;
  gsize pos;
  guint32 width;
  guint32 height;
  guint channels;
  int passes;
  Image *img;
} PngDecode;

static void
png_error_cb (png_structp png, png_const_charp msg)
{
  PngDecode *d = png_get_error_ptr (png);
  g_strlcpy (d->message, msg, sizeof d->message);
  longjmp (d->jmp, 1);
}

static void
png_warning_cb (png_structp png, png_const_charp msg)
{
  (void) png; /* damaged ancillary chunks are skipped; nothing to tell */
  (void) msg;
}

static void
png_read_cb (png_structp png, png_bytep out, png_size_t want)
{
  PngDecode *d = png_get_io_ptr (png);
  if (want > d->len - d->pos)
    png_error (png, "file truncated");
  memcpy (out, d->data + d->pos, want);
  d->pos += want;
}

static gboolean
png_decode_header (PngDecode *d, const Limits *lim)
{
  if (setjmp (d->jmp))
    return FALSE;
  png_set_read_fn (d->png, d, png_read_cb);
  png_set_user_limits (d->png, (png_uint_32) lim->max_width, (png_uint_32) lim->max_height);
  png_set_chunk_malloc_max (d->png, PNG_CHUNK_MAX);
  png_set_chunk_cache_max (d->png, 1000);
  /* Every chunk but IHDR, PLTE, tRNS, IDAT and IEND is skipped without
   * being decompressed or stored (png.h, png_set_keep_unknown_chunks
   * with num_chunks < 0). */
  png_set_keep_unknown_chunks (d->png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
  png_read_info (d->png, d->info);

  png_set_expand (d->png); /* palette to RGB, low-depth grey to 8, tRNS to alpha */
  png_set_strip_16 (d->png);
  d->passes = png_set_interlace_handling (d->png);
  png_read_update_info (d->png, d->info);

  d->width = png_get_image_width (d->png, d->info);
  d->height = png_get_image_height (d->png, d->info);
  d->channels = png_get_channels (d->png, d->info);
  if (png_get_bit_depth (d->png, d->info) != 8 || d->channels < 1 || d->channels > 4
      || png_get_rowbytes (d->png, d->info) != (gsize) d->width * d->channels)
    {
      g_strlcpy (d->message, "unexpected row layout", sizeof d->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
png_decode_pixels (PngDecode *d)
{
  Image *img = d->img;
  gsize stride = (gsize) img->width * img->channels;

  if (setjmp (d->jmp))
    return FALSE;
  for (int pass = 0; pass < d->passes; pass++)
    for (guint32 y = 0; y < img->height; y++)
      png_read_row (d->png, img->pixels + y * stride, NULL);
  /* png_read_end() is not called: the chunks after IDAT are unwanted. */
  return TRUE;
}

static gboolean
decode_png (const guint8 *data, gsize len, const Limits *lim, Image *img, GError **error)
{
  PngDecode d = { 0 };
  gboolean ok = FALSE;

  /* The limits on IHDR's own numbers, before libpng sees the file: a
   * limit is exit 3, and libpng would only say "Invalid IHDR data". */
  if (len < 8 + 8 + 13 + 4)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "PNG: file truncated");
      return FALSE;
    }
  if (rd32be (data + 8) != 13 || memcmp (data + 12, "IHDR", 4) != 0)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "PNG: IHDR is not the first chunk");
      return FALSE;
    }
  if (!check_limits (lim, "PNG", rd32be (data + 16), rd32be (data + 20), error))
    return FALSE;

  d.data = data;
  d.len = len;
  d.img = img;
  d.png = png_create_read_struct (PNG_LIBPNG_VER_STRING, &d, png_error_cb, png_warning_cb);
  if (d.png != NULL)
    d.info = png_create_info_struct (d.png);
  if (d.png == NULL || d.info == NULL)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "PNG: cannot initialise libpng");
      goto out;
    }
  if (!png_decode_header (&d, lim))
    goto failed;
  if (!check_limits (lim, "PNG", d.width, d.height, error))
    goto out;
  if (!image_alloc (img, d.width, d.height, d.channels, error))
    goto out;
  if (!png_decode_pixels (&d))
    goto failed;
  ok = TRUE;
  goto out;

failed:
  g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "PNG: %s", d.message);
out:
  if (d.png != NULL)
    png_destroy_read_struct (&d.png, d.info != NULL ? &d.info : NULL, NULL);
  return ok;
}

/* ---- GIF in -------------------------------------------------------- */

typedef struct
{
  const guint8 *data;
  gsize len;
  gsize pos;
} GifCursor;

static int
gif_read_cb (GifFileType *gif, GifByteType *out, int want)
{
  GifCursor *c = gif->UserData;
  if (want <= 0)
    return 0;
  gsize n = MIN ((gsize) want, c->len - c->pos);
  memcpy (out, c->data + c->pos, n);
  c->pos += n;
  return (int) n;
}

static void
gif_close (GifFileType *gif)
{
  int err;
  DGifCloseFile (gif, &err);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GifFileType, gif_close)

/* Skips the LZW data of a frame without decoding it. */
static gboolean
gif_skip_frame (GifFileType *gif)
{
  int code_size;
  GifByteType *block;
  if (DGifGetCode (gif, &code_size, &block) == GIF_ERROR)
    return FALSE;
  while (block != NULL)
    if (DGifGetCodeNext (gif, &block) == GIF_ERROR)
      return FALSE;
  return TRUE;
}

/* Decodes the current frame onto the logical screen in img.  Rows are
 * read one at a time into a line of the frame's width; the part of the
 * frame outside the screen is dropped, as browsers do. */
static gboolean
gif_decode_frame (GifFileType *gif, const Limits *lim, int transparent, Image *img,
                  GError **error)
{
  const GifImageDesc *desc = &gif->Image;
  const ColorMapObject *cmap = desc->ColorMap != NULL ? desc->ColorMap : gif->SColorMap;

  if (cmap == NULL || cmap->Colors == NULL)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "GIF: first frame has no colour map");
      return FALSE;
    }
  if (desc->Left < 0 || desc->Top < 0 || desc->Width < 0 || desc->Height < 0)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "GIF: bad frame descriptor");
      return FALSE;
    }
  if (!check_limits (lim, "GIF frame", (guint64) desc->Width, (guint64) desc->Height, error))
    return FALSE;

  guint64 sw = (guint64) gif->SWidth, sh = (guint64) gif->SHeight;
  gboolean covers = desc->Left == 0 && desc->Top == 0 && (guint64) desc->Width >= sw
                    && (guint64) desc->Height >= sh;
  gboolean alpha = !covers || (transparent >= 0 && transparent < cmap->ColorCount);
  guint ch = alpha ? 4 : 3;
  if (!image_alloc (img, (guint32) sw, (guint32) sh, ch, error))
    return FALSE;

  g_autofree GifPixelType *line = g_malloc ((gsize) desc->Width);
  static const int offsets[4] = { 0, 4, 2, 1 };
  static const int steps[4] = { 8, 8, 4, 2 };
  int npasses = desc->Interlace ? 4 : 1;
  for (int pass = 0; pass < npasses; pass++)
    {
      int first = desc->Interlace ? offsets[pass] : 0;
      int step = desc->Interlace ? steps[pass] : 1;
      for (int y = first; y < desc->Height; y += step)
        {
          if (DGifGetLine (gif, line, desc->Width) == GIF_ERROR)
            {
              g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "GIF: %s",
                           GifErrorString (gif->Error));
              return FALSE;
            }
          guint64 dy = (guint64) desc->Top + (guint64) y;
          if (dy >= sh)
            continue;
          guint8 *out = img->pixels + dy * sw * ch;
          for (int x = 0; x < desc->Width; x++)
            {
              guint64 dx = (guint64) desc->Left + (guint64) x;
              if (dx >= sw)
                break;
              int idx = line[x];
              guint8 *px = out + dx * ch;
              if (idx == transparent)
                continue; /* stays 0,0,0,0 */
              if (idx < cmap->ColorCount)
                {
                  px[0] = cmap->Colors[idx].Red;
                  px[1] = cmap->Colors[idx].Green;
                  px[2] = cmap->Colors[idx].Blue;
                }
              else
                px[0] = px[1] = px[2] = 0; /* index past the map: black */
              if (ch == 4)
                px[3] = 255;
            }
        }
    }
  return TRUE;
}

static gboolean
decode_gif (const guint8 *data, gsize len, const Limits *lim, Image *img, GError **error)
{
  GifCursor cursor = { data, len, 0 };
  int err = 0;
  g_autoptr (GifFileType) gif = DGifOpen (&cursor, gif_read_cb, &err);

  if (gif == NULL)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "GIF: %s", GifErrorString (err));
      return FALSE;
    }
  if (!check_limits (lim, "GIF screen", (guint64) gif->SWidth, (guint64) gif->SHeight, error))
    return FALSE;

  int transparent = NO_TRANSPARENT_COLOR;
  guint frames = 0;
  gboolean done = FALSE;
  while (!done && frames < GIF_MAX_FRAMES)
    {
      GifRecordType rec;
      if (DGifGetRecordType (gif, &rec) == GIF_ERROR)
        break;
      switch (rec)
        {
        case IMAGE_DESC_RECORD_TYPE:
          if (DGifGetImageDesc (gif) == GIF_ERROR)
            {
              done = TRUE;
              break;
            }
          frames++;
          if (frames == 1)
            {
              if (!gif_decode_frame (gif, lim, transparent, img, error))
                return FALSE;
            }
          else if (!gif_skip_frame (gif))
            done = TRUE;
          break;
        case EXTENSION_RECORD_TYPE:
          {
            int code;
            GifByteType *ext;
            if (DGifGetExtension (gif, &code, &ext) == GIF_ERROR)
              {
                done = TRUE;
                break;
              }
            if (code == GRAPHICS_EXT_FUNC_CODE && frames == 0 && ext != NULL && ext[0] >= 4)
              {
                GraphicsControlBlock gcb;
                if (DGifExtensionToGCB (ext[0], ext + 1, &gcb) == GIF_OK)
                  transparent = gcb.TransparentColor;
              }
            while (ext != NULL && !done)
              if (DGifGetExtensionNext (gif, &ext) == GIF_ERROR)
                done = TRUE;
          }
          break;
        case TERMINATE_RECORD_TYPE:
        default:
          done = TRUE;
          break;
        }
    }
  if (frames == 0)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "GIF: no image: %s",
                   GifErrorString (gif->Error));
      return FALSE;
    }
  img->frames = frames;
  return TRUE;
}

/* ---- BMP in: bmp.c ------------------------------------------------ */

static gboolean
decode_bmp (const guint8 *data, gsize len, const Limits *lim, Image *img, GError **error)
{
  MugaiBmpLimits bmp_lim = { (guint64) lim->max_width, (guint64) lim->max_height,
                             (guint64) lim->max_pixels };
  MugaiBmpPixels px;

  if (!mugai_bmp_decode (data, len, &bmp_lim, &px, error))
    return FALSE; /* in MUGAI_BMP_ERROR, which fail() knows */
  img->width = px.width;
  img->height = px.height;
  img->channels = px.channels;
  img->pixels = px.pixels;
  return TRUE;
}

/* ---- WebP in ------------------------------------------------------- */

static gboolean
decode_webp (const guint8 *data, gsize len, const Limits *lim, Image *img, GError **error)
{
  WebPBitstreamFeatures f;
  VP8StatusCode status = WebPGetFeatures (data, len, &f);

  if (status != VP8_STATUS_OK)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "WebP: bad header (status %d)",
                   (int) status);
      return FALSE;
    }
  if (f.has_animation)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "WebP: animated WebP not supported");
      return FALSE;
    }
  if (!check_limits (lim, "WebP", (guint64) MAX (f.width, 0), (guint64) MAX (f.height, 0), error))
    return FALSE;
  guint ch = f.has_alpha ? 4 : 3;
  if (!image_alloc (img, (guint32) f.width, (guint32) f.height, ch, error))
    return FALSE;
  gsize stride = (gsize) img->width * ch;
  gsize size = stride * img->height;
  guint8 *done = f.has_alpha
                     ? WebPDecodeRGBAInto (data, len, img->pixels, size, (int) stride)
                     : WebPDecodeRGBInto (data, len, img->pixels, size, (int) stride);
  if (done == NULL)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "WebP: cannot decode");
      return FALSE;
    }
  return TRUE;
}

/* ---- orientation --------------------------------------------------- */

/* Applies EXIF orientation 2-8 (TIFF 6.0 tag 274): the stored rows are
 * transformed so that the picture reads upright without the tag. */
static gboolean
apply_orientation (const Limits *lim, Image *img, GError **error)
{
  guint o = img->orientation;
  if (o < 2 || o > 8)
    return TRUE;

  gboolean swap = o >= 5;
  guint32 w = img->width, h = img->height;
  guint32 ow = swap ? h : w, oh = swap ? w : h;
  if (!check_limits (lim, "rotated image", ow, oh, error))
    return FALSE;
  guint ch = img->channels;
  guint8 *out = g_try_malloc ((gsize) w * h * ch);
  if (out == NULL)
    {
      g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "out of memory for the rotation");
      return FALSE;
    }
  for (guint32 oy = 0; oy < oh; oy++)
    for (guint32 ox = 0; ox < ow; ox++)
      {
        guint32 sx, sy;
        switch (o)
          {
          case 2: sx = w - 1 - ox; sy = oy; break;          /* mirror */
          case 3: sx = w - 1 - ox; sy = h - 1 - oy; break;  /* 180 */
          case 4: sx = ox; sy = h - 1 - oy; break;          /* flip */
          case 5: sx = oy; sy = ox; break;                  /* transpose */
          case 6: sx = oy; sy = h - 1 - ox; break;          /* 90 clockwise */
          case 7: sx = w - 1 - oy; sy = h - 1 - ox; break;  /* transverse */
          default: sx = w - 1 - oy; sy = ox; break;         /* 8: 90 counter-clockwise */
          }
        memcpy (out + ((gsize) oy * ow + ox) * ch, img->pixels + ((gsize) sy * w + sx) * ch, ch);
      }
  g_free (img->pixels);
  img->pixels = out;
  img->width = ow;
  img->height = oh;
  return TRUE;
}

/* ---- PNG out ------------------------------------------------------- */

typedef struct
{
  png_structp png;
  png_infop info;
  jmp_buf jmp;
  char message[200];
  GByteArray *out;
  const Image *img;
} PngEncode;

static void
png_encode_error_cb (png_structp png, png_const_charp msg)
{
  PngEncode *e = png_get_error_ptr (png);
  g_strlcpy (e->message, msg, sizeof e->message);
  longjmp (e->jmp, 1);
}

static void
png_write_cb (png_structp png, png_bytep data, png_size_t len)
{
  PngEncode *e = png_get_io_ptr (png);
  g_byte_array_append (e->out, data, (guint) len);
}

static void
png_flush_cb (png_structp png)
{
  (void) png;
}

static gboolean
png_encode_guarded (PngEncode *e)
{
  static const int types[5] = { 0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA };
  const Image *img = e->img;
  gsize stride = (gsize) img->width * img->channels;

  if (setjmp (e->jmp))
    return FALSE;
  png_set_write_fn (e->png, e, png_write_cb, png_flush_cb);
  /* IHDR, IDAT, IEND: no other chunk is ever set on the info struct. */
  png_set_IHDR (e->png, e->info, img->width, img->height, 8, types[img->channels],
                PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info (e->png, e->info);
  for (guint32 y = 0; y < img->height; y++)
    png_write_row (e->png, img->pixels + y * stride);
  png_write_end (e->png, NULL);
  return TRUE;
}

static GBytes *
encode_png (const Image *img, GError **error)
{
  PngEncode e = { 0 };
  GBytes *result = NULL;

  e.img = img;
  e.out = g_byte_array_new ();
  e.png = png_create_write_struct (PNG_LIBPNG_VER_STRING, &e, png_encode_error_cb, png_warning_cb);
  if (e.png != NULL)
    e.info = png_create_info_struct (e.png);
  if (e.png == NULL || e.info == NULL)
    g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "PNG: cannot initialise libpng");
  else if (!png_encode_guarded (&e))
    g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "PNG output: %s", e.message);
  else
    result = g_byte_array_free_to_bytes (g_steal_pointer (&e.out));
  if (e.png != NULL)
    png_destroy_write_struct (&e.png, e.info != NULL ? &e.info : NULL);
  if (e.out != NULL)
    g_byte_array_unref (e.out);
  return result;
}

/* ---- JPEG out ------------------------------------------------------ */

typedef struct
{
  struct jpeg_compress_struct cinfo;
  JpegErr err;
  struct jpeg_destination_mgr dest;
  guint8 chunk[16384];
  GByteArray *out;
  guint8 *row; /* one row with alpha composited on white */
  const Image *img;
  int quality;
} JpegEncode;

static void
jpeg_dest_init_cb (j_compress_ptr cinfo)
{
  JpegEncode *e = cinfo->client_data;
  e->dest.next_output_byte = e->chunk;
  e->dest.free_in_buffer = sizeof e->chunk;
}

static boolean
jpeg_dest_empty_cb (j_compress_ptr cinfo)
{
  JpegEncode *e = cinfo->client_data;
  g_byte_array_append (e->out, e->chunk, sizeof e->chunk);
  e->dest.next_output_byte = e->chunk;
  e->dest.free_in_buffer = sizeof e->chunk;
  return TRUE;
}

static void
jpeg_dest_term_cb (j_compress_ptr cinfo)
{
  JpegEncode *e = cinfo->client_data;
  g_byte_array_append (e->out, e->chunk, (guint) (sizeof e->chunk - e->dest.free_in_buffer));
}

static gboolean
jpeg_encode_guarded (JpegEncode *e)
{
  j_compress_ptr cinfo = &e->cinfo;
  const Image *img = e->img;
  gboolean grey = img->channels <= 2;
  gsize stride = (gsize) img->width * img->channels;

  if (setjmp (e->err.jmp))
    return FALSE;
  jpeg_create_compress (cinfo);
  cinfo->client_data = e;
  e->dest.init_destination = jpeg_dest_init_cb;
  e->dest.empty_output_buffer = jpeg_dest_empty_cb;
  e->dest.term_destination = jpeg_dest_term_cb;
  cinfo->dest = &e->dest;
  cinfo->image_width = img->width;
  cinfo->image_height = img->height;
  cinfo->input_components = grey ? 1 : 3;
  cinfo->in_color_space = grey ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults (cinfo); /* JFIF APP0 on, no other marker */
  jpeg_set_quality (cinfo, e->quality, TRUE);
  cinfo->optimize_coding = TRUE;
  jpeg_start_compress (cinfo, TRUE);
  while (cinfo->next_scanline < cinfo->image_height)
    {
      const guint8 *in = img->pixels + cinfo->next_scanline * stride;
      JSAMPROW row = (JSAMPROW) in;
      if (img->channels == 2 || img->channels == 4)
        {
          guint colour = img->channels - 1;
          for (guint32 x = 0; x < img->width; x++)
            {
              const guint8 *s = in + (gsize) x * img->channels;
              guint alpha = s[colour];
              for (guint c = 0; c < colour; c++)
                e->row[(gsize) x * colour + c]
                    = (guint8) ((s[c] * alpha + 255 * (255 - alpha) + 127) / 255);
            }
          row = e->row;
        }
      jpeg_write_scanlines (cinfo, &row, 1);
    }
  jpeg_finish_compress (cinfo);
  return TRUE;
}

static GBytes *
encode_jpeg (const Image *img, int quality, GError **error)
{
  JpegEncode e = { 0 };
  GBytes *result = NULL;

  e.cinfo.err = jpeg_std_error (&e.err.pub);
  e.err.pub.error_exit = jpeg_error_exit_cb;
  e.err.pub.output_message = jpeg_output_message_cb;
  e.img = img;
  e.quality = quality;
  e.out = g_byte_array_new ();
  e.row = g_malloc ((gsize) img->width * 3);
  if (!jpeg_encode_guarded (&e))
    g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "JPEG output: %s", e.err.message);
  else
    result = g_byte_array_free_to_bytes (g_steal_pointer (&e.out));
  jpeg_destroy_compress (&e.cinfo);
  if (e.out != NULL)
    g_byte_array_unref (e.out);
  g_free (e.row);
  return result;
}

/* ---- main ---------------------------------------------------------- */

static gboolean
decode (ImageType type, const guint8 *data, gsize len, const Limits *lim, Image *img,
        GError **error)
{
  switch (type)
    {
    case TYPE_JPEG:
      return decode_jpeg (data, len, lim, img, error) && apply_orientation (lim, img, error);
    case TYPE_PNG:
      return decode_png (data, len, lim, img, error);
    case TYPE_GIF:
      return decode_gif (data, len, lim, img, error);
    case TYPE_BMP:
      return decode_bmp (data, len, lim, img, error);
    case TYPE_WEBP:
      return decode_webp (data, len, lim, img, error);
    case TYPE_NONE:
    default:
      break;
    }
  g_set_error (error, IMAGE_ERROR, IMAGE_ERROR_FAILED, "not a supported image");
  return FALSE;
}

/* After the lockdown, standard error is written with stdio rather than
 * g_printerr(): g_printerr() converts to the locale's charset, which
 * opens charset.alias and the gconv cache (and could dlopen an iconv
 * module).  Every message here is ASCII: our own text and libjpeg's,
 * libpng's, giflib's and GIO's fixed English strings. */
static int
fail (const GError *error)
{
  fprintf (stderr, "mugai-filter-image: %s\n", error->message);
  if ((error->domain == IMAGE_ERROR && error->code == IMAGE_ERROR_LIMIT)
      || g_error_matches (error, MUGAI_BMP_ERROR, MUGAI_BMP_ERROR_LIMIT)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
    return MUGAI_FILTER_LIMIT;
  return MUGAI_FILTER_FAILED;
}

static int
usage (GOptionContext *context, const char *message)
{
  g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);
  g_printerr ("mugai-filter-image: %s\n%s", message, help);
  return MUGAI_FILTER_USAGE;
}

int
main (int argc, char **argv)
{
  g_autofree char *output = NULL;
  int quality = 90;
  int max_width = 20000;
  int max_height = 20000;
  gint64 max_pixels = 50000000;
  gint64 max_input = 64 << 20;
  GOptionEntry entries[] = {
    { "output", 0, 0, G_OPTION_ARG_STRING, &output, "Output format (default same)",
      "same|png|jpeg" },
    { "quality", 0, 0, G_OPTION_ARG_INT, &quality, "JPEG quality 1-100 (default 90)", "N" },
    { "max-width", 0, 0, G_OPTION_ARG_INT, &max_width, "Largest width (default 20000)", "N" },
    { "max-height", 0, 0, G_OPTION_ARG_INT, &max_height, "Largest height (default 20000)", "N" },
    { "max-pixels", 0, 0, G_OPTION_ARG_INT64, &max_pixels,
      "Largest width x height (default 50000000)", "N" },
    { "max-input", 0, 0, G_OPTION_ARG_INT64, &max_input, "Largest input (default 64 MiB)",
      "BYTES" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (GOptionContext) context
      = g_option_context_new ("- re-encode one image from standard input");
  g_autoptr (GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_help_enabled (context, TRUE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage (context, error->message);
  if (argc > 1)
    return usage (context, "unexpected argument");
  enum { OUT_SAME, OUT_PNG, OUT_JPEG } out_kind;
  if (output == NULL || strcmp (output, "same") == 0)
    out_kind = OUT_SAME;
  else if (strcmp (output, "png") == 0)
    out_kind = OUT_PNG;
  else if (strcmp (output, "jpeg") == 0)
    out_kind = OUT_JPEG;
  else
    return usage (context, "--output must be same, png or jpeg");
  if (quality < 1 || quality > 100)
    return usage (context, "--quality must be 1-100");
  if (max_width < 1 || max_width > OPTION_MAX_DIMENSION || max_height < 1
      || max_height > OPTION_MAX_DIMENSION)
    return usage (context, "--max-width and --max-height must be 1-1000000");
  if (max_pixels < 1 || max_pixels > OPTION_MAX_PIXELS)
    return usage (context, "--max-pixels must be 1-268435456");
  if (max_input < 1 || max_input > OPTION_MAX_INPUT)
    return usage (context, "--max-input must be 1-1073741824");

  if (!mugai_filter_lockdown (MUGAI_LOCKDOWN_DEFAULT, &error))
    return fail (error);

  /* From here on the input is hostile. */
  g_autoptr (GBytes) input = mugai_filter_read_stdin ((gsize) max_input, &error);
  if (input == NULL)
    return fail (error);
  gsize len;
  const guint8 *data = g_bytes_get_data (input, &len);
  ImageType type = detect_type (data, len);
  Limits lim = { max_width, max_height, max_pixels };
  g_auto (Image) img = { 0 };
  if (!decode (type, data, len, &lim, &img, &error))
    return fail (error);

  gboolean jpeg_out = out_kind == OUT_JPEG || (out_kind == OUT_SAME && type == TYPE_JPEG);
  g_autoptr (GBytes) encoded
      = jpeg_out ? encode_jpeg (&img, quality, &error) : encode_png (&img, &error);
  if (encoded == NULL)
    return fail (error);
  gsize out_len;
  const guint8 *out = g_bytes_get_data (encoded, &out_len);
  if (!mugai_filter_write_stdout (out, out_len, &error))
    return fail (error);

  g_autofree char *frames = img.frames > 0 ? g_strdup_printf (" frames=%u", img.frames) : NULL;
  fprintf (stderr, "info type=%s width=%u height=%u%s\n", jpeg_out ? "image/jpeg" : "image/png",
           img.width, img.height, frames != NULL ? frames : "");
  return MUGAI_FILTER_OK;
}
