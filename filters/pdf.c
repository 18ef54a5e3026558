/*
 * pdf.c - mugai-filter-pdf: a PDF flattened to page images, or its text
 *
 * SYNOPSIS
 *	mugai-filter-pdf [--text] [--dpi N] [--max-pages N] [--max-pixels N]
 *	                 [--max-input BYTES] < untrusted.pdf > inert
 *
 * DESCRIPTION
 *	Reads one untrusted PDF on standard input.  By default it writes a
 *	new PDF whose pages are nothing but pictures of the original's
 *	pages: each page is rendered by poppler (as for printing, so the
 *	printable appearance of annotations and form fields shows, as
 *	pixels) into an RGB image at --dpi, every colour value made even
 *	(see even_pixels()), and the image is painted on a page of the
 *	original's viewed size (rotation applied).  Nothing of
 *	the original's structure survives: no text, fonts, links,
 *	annotations, forms, JavaScript, actions, embedded files, outlines or
 *	metadata.  The output is built in memory by cairo and written in one
 *	go at the end, so a failure midway writes nothing.
 *
 *	With --text it writes instead the text of each page (UTF-8, as
 *	poppler extracts it), each page followed by "\f\n".  A form feed
 *	inside a page's text becomes a space, so that "\f\n" always ends a
 *	page.
 *
 *	Order of work: options; TZ=UTC (so that cairo's date in the output
 *	needs no /etc/localtime later); fontconfig, poppler and cairo
 *	initialised by rendering a small built-in document, which is kept
 *	(so that fontconfig's configuration and caches are loaded, and
 *	written if stale, and poppler's data directories scanned, while the
 *	process may still do so); mugai_filter_lockdown(); only then is
 *	standard input read.  After the lockdown, fonts and poppler's CMaps
 *	are still opened read-only; nothing can be created, connected or
 *	executed.
 *
 * OWNERSHIP
 *	Single-threaded.  The document's bytes are owned by main() and
 *	referenced by the PopplerDocument; the output buffer is owned by
 *	the PdfSink on main()'s stack.
 *
 * LIMITS
 *	--max-input (64 MiB): the document is held in memory.  Over it:
 *	exit 3.  --max-pages (50): pages past it are not rendered (not an
 *	error; the info line tells the caller).  --dpi (150, 36..600) and
 *	--max-pixels (40000000 per page): a page that would need more
 *	pixels at the dpi is rendered at the resolution that fits, never
 *	refused; one side is also at most PDF_MAX_SIDE pixels (cairo's own
 *	limit).  Output page sizes are at most 14400 points a side (PDF
 *	1.7, Annex C.2: larger pages are scaled down uniformly).  The image
 *	output is at most PDF_MAX_OUTPUT (512 MiB) and the text output at
 *	most PDF_MAX_TEXT (32 MiB): over either, exit 3 (a flate-compressed
 *	content stream can expand far beyond --max-input).  The options
 *	themselves are bounded: --max-pages 1..10000, --max-pixels
 *	65536..400000000, --max-input 1..1 GiB.  Time is bounded by the
 *	sandbox's wall clock, memory by its resource limits.
 *
 * EXIT STATUS
 *	0 done; the last line on standard error is exactly
 *	"info pages=N rendered=M" (N pages in the document, M written).
 *	1 unreadable or malformed document (including one with no pages),
 *	or an internal error; 2 the document needs a password; 3 a limit
 *	above was reached; 64 bad usage.  On any status but 0 nothing is
 *	written on standard output and standard error has one line
 *	"mugai-filter-pdf: <reason>".
 *
 * DIAGNOSTICS
 *	poppler's own warnings about the document (g_log domain "Poppler")
 *	are dropped: they quote the sender's document and would bury the
 *	one line the sandbox reads.
 *
 * BUGS
 *	Pages are flattened at --dpi, so small print in a large page may be
 *	hard to read; that is the price of an inert copy.  Japanese text in
 *	a font that is not embedded (common in documents from older office
 *	suites) needs poppler's CMaps (Debian's poppler-data); without them
 *	it renders as nothing and extracts as nothing.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <fontconfig/fontconfig.h>
#include <poppler.h>

#include "lockdown.h"

#define PROG "mugai-filter-pdf"

#define PDF_DEFAULT_DPI 150
#define PDF_MIN_DPI 36
#define PDF_MAX_DPI 600
#define PDF_DEFAULT_MAX_PAGES 50
/* a cap on the cap: past this the sandbox's wall clock ends the job anyway */
#define PDF_MAX_MAX_PAGES 10000
/* 40 Mpx is A4 at about 900 dpi; one RGB24 image of it is 160 MB */
#define PDF_DEFAULT_MAX_PIXELS G_GINT64_CONSTANT (40000000)
#define PDF_MIN_MAX_PIXELS G_GINT64_CONSTANT (65536)
#define PDF_MAX_MAX_PIXELS G_GINT64_CONSTANT (400000000)
#define PDF_DEFAULT_MAX_INPUT G_GINT64_CONSTANT (64 * 1024 * 1024)
#define PDF_MAX_MAX_INPUT G_GINT64_CONSTANT (1024 * 1024 * 1024)
/* cairo's image surfaces are at most 32767 pixels a side */
#define PDF_MAX_SIDE 32767
/* PDF 1.7 (ISO 32000-1) Annex C.2: page sides from 3 to 14400 units */
#define PDF_MAX_PAGE_POINTS 14400.0
#define PDF_MIN_PAGE_POINTS 3.0
/* output caps: 50 pages of noise at 150 dpi stay below the first */
#define PDF_MAX_OUTPUT (512u * 1024u * 1024u)
#define PDF_MAX_TEXT (32u * 1024u * 1024u)

/* poppler-glib has autoptr definitions only in later versions; local
 * aliases work with both */
typedef PopplerDocument PdfDocument;
typedef PopplerPage PdfPage;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdfDocument, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PdfPage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (cairo_t, cairo_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (cairo_surface_t, cairo_surface_destroy)

typedef enum
{
  PDF_ERROR_FAILED = MUGAI_FILTER_FAILED,
  PDF_ERROR_ENCRYPTED = MUGAI_FILTER_ENCRYPTED,
  PDF_ERROR_LIMIT = MUGAI_FILTER_LIMIT,
} PdfError;

#define PDF_ERROR (pdf_error_quark ())
/* The quark name is a string, not a subtraction. */
/* clang-format off */
static G_DEFINE_QUARK (mugai-filter-pdf-error-quark, pdf_error)
    /* clang-format on */

    typedef struct
{
  gboolean text;
  gint dpi;
  gint max_pages;
  gint64 max_pixels;
  gint64 max_input;
} PdfOptions;

/* The output PDF, collected in memory; cairo stops on the first error */
typedef struct
{
  GByteArray *buf;
  gsize max;
  gboolean over;
} PdfSink;

static cairo_status_t
sink_write (void *closure, const unsigned char *data, unsigned int length)
{
  PdfSink *sink = closure;
  if (length > sink->max - sink->buf->len)
    {
      sink->over = TRUE;
      return CAIRO_STATUS_WRITE_ERROR;
    }
  g_byte_array_append (sink->buf, data, length);
  return CAIRO_STATUS_SUCCESS;
}

static void
drop_log (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  (void)domain;
  (void)level;
  (void)message;
  (void)data;
}

/* A one-page document written at run time (so that its cross-reference
 * offsets are right), with text in a standard font: rendering it walks
 * fontconfig's font substitution, FreeType, cairo and pixman once before
 * the lockdown. */
static GBytes *
warmup_document (void)
{
  static const char *const objects[] = {
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72]"
    " /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
    "<< /Length 34 >>\nstream\nBT /F1 12 Tf 4 30 Td (Warm) Tj ET\nendstream",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  };
  GString *pdf = g_string_new ("%PDF-1.4\n");
  gsize offsets[G_N_ELEMENTS (objects)];
  for (gsize i = 0; i < G_N_ELEMENTS (objects); i++)
    {
      offsets[i] = pdf->len;
      g_string_append_printf (pdf, "%zu 0 obj\n%s\nendobj\n", i + 1, objects[i]);
    }
  gsize xref = pdf->len;
  g_string_append_printf (pdf, "xref\n0 %zu\n0000000000 65535 f \n", G_N_ELEMENTS (objects) + 1);
  for (gsize i = 0; i < G_N_ELEMENTS (objects); i++)
    g_string_append_printf (pdf, "%010zu 00000 n \n", offsets[i]);
  g_string_append_printf (pdf, "trailer\n<< /Size %zu /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
                          G_N_ELEMENTS (objects) + 1, xref);
  return g_string_free_to_bytes (pdf);
}

/* Loads everything that reads configuration or may write a cache, while
 * the process still may: the time zone, fontconfig (with a CJK match, so
 * the Japanese fonts' cache is mapped), poppler's global parameters,
 * cairo.  Returns the built-in document: poppler-glib frees its global
 * parameters (and would read its data directories again) when the last
 * document goes, so the caller keeps this one until it exits. */
static PdfDocument *
warm_up (GError **error)
{
  /* glibc stats /etc/localtime on every localtime() while TZ is unset (the
   * sandbox's environment is empty); cairo dates the output with it.  A
   * fixed TZ is read once, here, and keeps the local zone out of the
   * output's metadata. */
  g_setenv ("TZ", "UTC", TRUE);
  tzset ();

  if (!FcInit ())
    {
      g_set_error (error, PDF_ERROR, PDF_ERROR_FAILED, "fontconfig could not be initialised");
      return NULL;
    }
  FcPattern *pattern = FcNameParse ((const FcChar8 *)"sans-serif:lang=ja");
  if (pattern == NULL)
    {
      g_set_error (error, PDF_ERROR, PDF_ERROR_FAILED, "fontconfig: out of memory");
      return NULL;
    }
  FcConfigSubstitute (NULL, pattern, FcMatchPattern);
  FcDefaultSubstitute (pattern);
  FcResult result;
  FcPattern *match = FcFontMatch (NULL, pattern, &result);
  if (match != NULL)
    FcPatternDestroy (match);
  FcPatternDestroy (pattern);

  g_autoptr (GBytes) bytes = warmup_document ();
  g_autoptr (PdfDocument) doc = poppler_document_new_from_bytes (bytes, NULL, error);
  if (doc == NULL)
    return NULL;
  g_autoptr (PdfPage) page = poppler_document_get_page (doc, 0);
  if (page == NULL)
    {
      g_set_error (error, PDF_ERROR, PDF_ERROR_FAILED, "built-in document has no page");
      return NULL;
    }
  g_autoptr (cairo_surface_t) img = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 16, 16);
  g_autoptr (cairo_t) cr = cairo_create (img);
  cairo_scale (cr, 16.0 / 72.0, 16.0 / 72.0);
  poppler_page_render_for_printing (page, cr);
  g_autofree char *text = poppler_page_get_text (page);
  if (cairo_status (cr) != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, PDF_ERROR, PDF_ERROR_FAILED, "cairo: %s",
                   cairo_status_to_string (cairo_status (cr)));
      return NULL;
    }
  return g_steal_pointer (&doc);
}

static PdfDocument *
open_document (GBytes *bytes, GError **error)
{
  g_autoptr (GError) local = NULL;
  PdfDocument *doc = poppler_document_new_from_bytes (bytes, NULL, &local);
  if (doc == NULL)
    {
      if (g_error_matches (local, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
        g_set_error (error, PDF_ERROR, PDF_ERROR_ENCRYPTED,
                     "document is encrypted with a password");
      else
        g_set_error (error, PDF_ERROR, PDF_ERROR_FAILED, "not a readable PDF: %s",
                     local != NULL ? local->message : "unknown error");
      return NULL;
    }
  if (poppler_document_get_n_pages (doc) <= 0)
    {
      g_object_unref (doc);
      g_set_error (error, PDF_ERROR, PDF_ERROR_FAILED, "document has no pages");
      return NULL;
    }
  return doc;
}

/* Size of the output page, in points, from the page's viewed size (poppler
 * applies /Rotate), scaled down uniformly to the PDF limit when larger. */
static gboolean
page_size (PdfPage *page, int index, double *width, double *height, GError **error)
{
  double w = 0.0, h = 0.0;
  poppler_page_get_size (page, &w, &h);
  if (!isfinite (w) || !isfinite (h) || w <= 0.0 || h <= 0.0)
    {
      g_set_error (error, PDF_ERROR, PDF_ERROR_FAILED, "page %d has no area", index + 1);
      return FALSE;
    }
  double longest = MAX (w, h);
  if (longest > PDF_MAX_PAGE_POINTS)
    {
      w *= PDF_MAX_PAGE_POINTS / longest;
      h *= PDF_MAX_PAGE_POINTS / longest;
    }
  *width = CLAMP (w, PDF_MIN_PAGE_POINTS, PDF_MAX_PAGE_POINTS);
  *height = CLAMP (h, PDF_MIN_PAGE_POINTS, PDF_MAX_PAGE_POINTS);
  return TRUE;
}

/* Pixels for a page of width x height points at dpi, within max_pixels:
 * scaled down uniformly when over, at least one and at most PDF_MAX_SIDE
 * a side.  Both sides are at most 14400 points (page_size()), so the
 * products below cannot overflow a double's exact range. */
static void
page_pixels (double width, double height, int dpi, gint64 max_pixels, int *w_px, int *h_px)
{
  double w = width * dpi / 72.0;
  double h = height * dpi / 72.0;
  if (w * h > (double)max_pixels)
    {
      double f = sqrt ((double)max_pixels / (w * h));
      w *= f;
      h *= f;
    }
  *w_px = (int)CLAMP (floor (w), 1.0, (double)PDF_MAX_SIDE);
  *h_px = (int)CLAMP (floor (h), 1.0, (double)PDF_MAX_SIDE);
}

static gboolean
cairo_check (cairo_status_t status, const char *what, int index, GError **error)
{
  if (status == CAIRO_STATUS_SUCCESS)
    return TRUE;
  g_set_error (error, PDF_ERROR, PDF_ERROR_FAILED, "page %d: %s: %s", index + 1, what,
               cairo_status_to_string (status));
  return FALSE;
}

/* Clears the lowest bit of every colour value of img (invisible: 1/255
 * of the range).  cairo stores the page image zlib-compressed, and zlib
 * stores incompressible rows (noise) as they are, so a sender who
 * controls the pixels would control octets of our output: a page of
 * noise spelling "<script>" made a PDF that an HTML parser runs.  With
 * even octets only, no ASCII markup can be spelt in those rows: "<" is
 * even, but "s", "m", "g", "i", "a", "?", "!" and "=" are odd, so no
 * "<script", "<html", "<svg", "<iframe", "<?xml", "<!DOCTYPE",
 * "javascript:" and no attribute at all.  (What zlib does compress is
 * not the sender's octets; mugai checks every output for markup as well,
 * and refuses it.) */
static void
even_pixels (cairo_surface_t *img)
{
  unsigned char *data = cairo_image_surface_get_data (img);
  int stride = cairo_image_surface_get_stride (img);
  int h = cairo_image_surface_get_height (img);
  if (data == NULL)
    return;
  for (size_t i = 0; i < (size_t)stride * (size_t)h; i++)
    data[i] &= 0xfe;
  cairo_surface_mark_dirty (img);
}

/* Renders page index of doc as an image on the current page of out */
static gboolean
render_page (PdfDocument *doc, int index, const PdfOptions *opt, cairo_surface_t *out_surface,
             cairo_t *out, GError **error)
{
  g_autoptr (PdfPage) page = poppler_document_get_page (doc, index);
  if (page == NULL)
    {
      g_set_error (error, PDF_ERROR, PDF_ERROR_FAILED, "page %d cannot be read", index + 1);
      return FALSE;
    }
  double src_w = 0.0, src_h = 0.0;
  poppler_page_get_size (page, &src_w, &src_h);
  double width, height;
  if (!page_size (page, index, &width, &height, error))
    return FALSE;
  int w_px, h_px;
  page_pixels (width, height, opt->dpi, opt->max_pixels, &w_px, &h_px);

  g_autoptr (cairo_surface_t) img = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w_px, h_px);
  if (!cairo_check (cairo_surface_status (img), "image", index, error))
    return FALSE;
  {
    g_autoptr (cairo_t) cr = cairo_create (img);
    cairo_set_source_rgb (cr, 1.0, 1.0, 1.0);
    cairo_paint (cr);
    cairo_scale (cr, w_px / src_w, h_px / src_h);
    poppler_page_render_for_printing (page, cr);
    if (!cairo_check (cairo_status (cr), "rendering", index, error))
      return FALSE;
  }
  cairo_surface_flush (img);
  even_pixels (img);

  cairo_pdf_surface_set_size (out_surface, width, height);
  cairo_save (out);
  cairo_scale (out, width / w_px, height / h_px);
  cairo_set_source_surface (out, img, 0.0, 0.0);
  cairo_paint (out);
  cairo_restore (out);
  cairo_show_page (out);
  return cairo_check (cairo_status (out), "output", index, error);
}

static GBytes *
convert_to_images (PdfDocument *doc, const PdfOptions *opt, int *rendered, GError **error)
{
  int pages = MIN (poppler_document_get_n_pages (doc), opt->max_pages);
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  PdfSink sink = { buf, PDF_MAX_OUTPUT, FALSE };

  /* the first page's size is set again by render_page() */
  g_autoptr (cairo_surface_t) surface
      = cairo_pdf_surface_create_for_stream (sink_write, &sink, 612.0, 792.0);
  if (!cairo_check (cairo_surface_status (surface), "output", 0, error))
    return NULL;
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, PROG);
  g_autoptr (cairo_t) out = cairo_create (surface);
  for (int i = 0; i < pages; i++)
    {
      if (!render_page (doc, i, opt, surface, out, error))
        {
          if (sink.over)
            {
              g_clear_error (error);
              g_set_error (error, PDF_ERROR, PDF_ERROR_LIMIT, "output larger than %u octets",
                           PDF_MAX_OUTPUT);
            }
          return NULL;
        }
    }
  g_clear_pointer (&out, cairo_destroy);
  cairo_surface_finish (surface);
  if (sink.over)
    {
      g_set_error (error, PDF_ERROR, PDF_ERROR_LIMIT, "output larger than %u octets",
                   PDF_MAX_OUTPUT);
      return NULL;
    }
  if (!cairo_check (cairo_surface_status (surface), "output", pages - 1, error))
    return NULL;
  *rendered = pages;
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

static GBytes *
convert_to_text (PdfDocument *doc, const PdfOptions *opt, int *rendered, GError **error)
{
  int pages = MIN (poppler_document_get_n_pages (doc), opt->max_pages);
  g_autoptr (GString) out = g_string_new (NULL);
  for (int i = 0; i < pages; i++)
    {
      g_autoptr (PdfPage) page = poppler_document_get_page (doc, i);
      if (page == NULL)
        {
          g_set_error (error, PDF_ERROR, PDF_ERROR_FAILED, "page %d cannot be read", i + 1);
          return NULL;
        }
      g_autofree char *raw = poppler_page_get_text (page);
      if (raw != NULL)
        {
          g_autofree char *text = g_utf8_make_valid (raw, -1);
          for (char *p = text; *p != '\0'; p++)
            if (*p == '\f')
              *p = ' ';
          if (strlen (text) > PDF_MAX_TEXT - out->len)
            {
              g_set_error (error, PDF_ERROR, PDF_ERROR_LIMIT, "text longer than %u octets",
                           PDF_MAX_TEXT);
              return NULL;
            }
          g_string_append (out, text);
        }
      g_string_append (out, "\f\n");
    }
  *rendered = pages;
  return g_string_free_to_bytes (g_steal_pointer (&out));
}

static int
fail (const GError *error)
{
  g_autofree char *line = g_strdup (error->message);
  g_strdelimit (line, "\r\n", ' ');
  fprintf (stderr, PROG ": %s\n", line);
  if (error->domain == PDF_ERROR)
    return error->code;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
    return MUGAI_FILTER_LIMIT; /* mugai_filter_read_stdin(): over --max-input */
  return MUGAI_FILTER_FAILED;
}

static gboolean
parse_options (int *argc, char ***argv, PdfOptions *opt, GError **error)
{
  *opt = (PdfOptions){ FALSE, PDF_DEFAULT_DPI, PDF_DEFAULT_MAX_PAGES, PDF_DEFAULT_MAX_PIXELS,
                       PDF_DEFAULT_MAX_INPUT };
  GOptionEntry entries[] = {
    { "text", 0, 0, G_OPTION_ARG_NONE, &opt->text, "Write the text of each page instead", NULL },
    { "dpi", 0, 0, G_OPTION_ARG_INT, &opt->dpi, "Resolution of the page images (36..600)", "N" },
    { "max-pages", 0, 0, G_OPTION_ARG_INT, &opt->max_pages, "Pages written at most", "N" },
    { "max-pixels", 0, 0, G_OPTION_ARG_INT64, &opt->max_pixels, "Pixels per page image at most",
      "N" },
    { "max-input", 0, 0, G_OPTION_ARG_INT64, &opt->max_input, "Document size at most", "BYTES" },
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("< document.pdf > output");
  g_option_context_set_summary (context, "Writes an inert form of a PDF: page images, or text.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;
  if (*argc != 1)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "unexpected argument: %s",
                 (*argv)[1]);
  else if (opt->dpi < PDF_MIN_DPI || opt->dpi > PDF_MAX_DPI)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--dpi must be %d to %d",
                 PDF_MIN_DPI, PDF_MAX_DPI);
  else if (opt->max_pages < 1 || opt->max_pages > PDF_MAX_MAX_PAGES)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--max-pages must be 1 to %d",
                 PDF_MAX_MAX_PAGES);
  else if (opt->max_pixels < PDF_MIN_MAX_PIXELS || opt->max_pixels > PDF_MAX_MAX_PIXELS)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--max-pixels must be %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                 PDF_MIN_MAX_PIXELS, PDF_MAX_MAX_PIXELS);
  else if (opt->max_input < 1 || opt->max_input > PDF_MAX_MAX_INPUT)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--max-input must be 1 to %" G_GINT64_FORMAT, PDF_MAX_MAX_INPUT);
  else
    return TRUE;
  return FALSE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  PdfOptions opt;
  if (!parse_options (&argc, &argv, &opt, &error))
    {
      fprintf (stderr, PROG ": %s\n", error->message);
      return MUGAI_FILTER_USAGE;
    }

  /* poppler-glib logs every syntax warning about the document at level
   * INFO; its own g_return_if_fail() criticals still go through */
  g_log_set_handler (
      "Poppler", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
      drop_log, NULL);
  g_autoptr (PdfDocument) warm = warm_up (&error);
  if (warm == NULL)
    return fail (error);
  if (!mugai_filter_lockdown (MUGAI_LOCKDOWN_DEFAULT, &error))
    return fail (error);

  g_autoptr (GBytes) input = mugai_filter_read_stdin ((gsize)opt.max_input, &error);
  if (input == NULL)
    return fail (error);
  g_autoptr (PdfDocument) doc = open_document (input, &error);
  if (doc == NULL)
    return fail (error);

  int rendered = 0;
  g_autoptr (GBytes) output = opt.text ? convert_to_text (doc, &opt, &rendered, &error)
                                       : convert_to_images (doc, &opt, &rendered, &error);
  if (output == NULL)
    return fail (error);
  gsize len = 0;
  const void *data = g_bytes_get_data (output, &len);
  if (!mugai_filter_write_stdout (data, len, &error))
    return fail (error);
  fprintf (stderr, "info pages=%d rendered=%d\n", poppler_document_get_n_pages (doc), rendered);
  return MUGAI_FILTER_OK;
}
