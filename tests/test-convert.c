/*
 * test-convert.c - convert.c: what becomes of a document, under what name
 *
 * The conversions run the real filters of this build tree (found beside
 * the mugai program named by MUGAI_BIN) in the real sandbox, on an image
 * written here; `mugai config check`'s sentences are read as an
 * administrator reads them.
 */
#include "convert.h"

#include <string.h>

#include "testfiles.h"

static char *filters_dir;

static MugaiConvertSettings
settings (void)
{
  return (MugaiConvertSettings){
    .pdf = MUGAI_PDF_IMAGE,
    .dpi = 100,
    .max_pages = 5,
    .office = MUGAI_OFFICE_TEXT,
    .image = MUGAI_IMAGE_REENCODE,
    .filters_dir = filters_dir,
    .soffice = (char *)"/nonexistent/soffice",
    .timeout = 60,
    .cpu = 60,
    .memory = 1024u * 1024u * 1024u,
    .output_max = 16u * 1024u * 1024u,
    .slot_wait = 30,
  };
}

static void
test_mode (void)
{
  static const struct
  {
    MugaiPdfMode pdf;
    MugaiOfficeMode office;
    MugaiImageMode image;
    MugaiDocKind kind;
    MugaiConvertMode want;
  } cases[] = {
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REENCODE, MUGAI_DOC_PDF,
      MUGAI_CONVERT_PDF_IMAGE },
    { MUGAI_PDF_TEXT, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REENCODE, MUGAI_DOC_PDF,
      MUGAI_CONVERT_PDF_TEXT },
    { MUGAI_PDF_REMOVE, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REENCODE, MUGAI_DOC_PDF,
      MUGAI_CONVERT_NONE },
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REENCODE, MUGAI_DOC_WORD_X,
      MUGAI_CONVERT_OFFICE_TEXT },
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REENCODE, MUGAI_DOC_ODS,
      MUGAI_CONVERT_OFFICE_TEXT },
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_IMAGE, MUGAI_IMAGE_REENCODE, MUGAI_DOC_EXCEL_X,
      MUGAI_CONVERT_OFFICE_IMAGE },
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_REMOVE, MUGAI_IMAGE_REENCODE, MUGAI_DOC_POWERPOINT_X,
      MUGAI_CONVERT_NONE },
    /* what mugai cannot read itself goes through LibreOffice */
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REENCODE, MUGAI_DOC_WORD,
      MUGAI_CONVERT_OFFICE_LEGACY_TEXT },
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REENCODE, MUGAI_DOC_RTF,
      MUGAI_CONVERT_OFFICE_LEGACY_TEXT },
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_IMAGE, MUGAI_IMAGE_REENCODE, MUGAI_DOC_EXCEL,
      MUGAI_CONVERT_OFFICE_IMAGE },
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_REMOVE, MUGAI_IMAGE_REENCODE, MUGAI_DOC_POWERPOINT,
      MUGAI_CONVERT_NONE },
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REENCODE, MUGAI_DOC_BMP,
      MUGAI_CONVERT_IMAGE },
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REENCODE, MUGAI_DOC_WEBP,
      MUGAI_CONVERT_IMAGE },
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REMOVE, MUGAI_DOC_JPEG, MUGAI_CONVERT_NONE },
    /* no converter for these: removed */
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REENCODE, MUGAI_DOC_TIFF,
      MUGAI_CONVERT_NONE },
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REENCODE, MUGAI_DOC_ICHITARO,
      MUGAI_CONVERT_NONE },
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REENCODE, MUGAI_DOC_ZIP, MUGAI_CONVERT_NONE },
    { MUGAI_PDF_IMAGE, MUGAI_OFFICE_TEXT, MUGAI_IMAGE_REENCODE, MUGAI_DOC_EXECUTABLE,
      MUGAI_CONVERT_NONE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      MugaiConvertSettings s = settings ();
      s.pdf = cases[i].pdf;
      s.office = cases[i].office;
      s.image = cases[i].image;
      MugaiConvertMode got = mugai_convert_mode (&s, cases[i].kind);
      if (got != cases[i].want)
        g_error ("case %zu (%s): mode %d, expected %d", i, mugai_doctype_name (cases[i].kind), got,
                 cases[i].want);
    }
}

static void
test_output_name (void)
{
  static const struct
  {
    const char *in, *mime, *want;
  } cases[] = {
    { "見積書.pdf", "application/pdf", "見積書.pdf" },
    { "見積書.PDF", "application/pdf", "見積書.PDF" },
    { "見積書.doc", "application/pdf", "見積書.doc.pdf" },
    { "report.shtml", "application/pdf", "report.shtml.pdf" },
    /* full-width "．ｐｄｆ" is not .pdf to Windows */
    { "a\xef\xbc\x8e\xef\xbd\x90\xef\xbd\x84\xef\xbd\x86", "application/pdf",
      "a\xef\xbc\x8e\xef\xbd\x90\xef\xbd\x84\xef\xbd\x86.pdf" },
    { "見積書.xlsx", "text/plain", "見積書.xlsx.txt" },
    { "photo.JPG", "image/jpeg", "photo.JPG" },
    { "photo.jpe", "image/jpeg", "photo.jpe" },
    { "photo.png", "image/jpeg", "photo.png.jpg" },
    { "x.svg", "image/png", "x.svg.png" },
    { "scan.png", "image/png", "scan.png" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = mugai_convert_output_name (cases[i].in, cases[i].mime);
      g_assert_cmpstr (got, ==, cases[i].want);
    }
  /* no name: still named for what it is */
  g_autofree char *none = mugai_convert_output_name (NULL, "application/pdf");
  g_assert_true (g_str_has_suffix (none, ".pdf"));
}

static gboolean
has_line (GPtrArray *problems, const char *start, const char *part)
{
  for (guint i = 0; i < problems->len; i++)
    if (g_str_has_prefix (problems->pdata[i], start) && strstr (problems->pdata[i], part))
      return TRUE;
  return FALSE;
}

static void
test_check (void)
{
  /* this build's filters, no LibreOffice: a warning, not fatal */
  MugaiConvertSettings s = settings ();
  gboolean fatal = TRUE;
  g_autoptr (GPtrArray) p = mugai_convert_check (&s, &fatal);
  g_assert_false (fatal);
  g_assert_cmpuint (p->len, ==, 1);
  g_assert_cmpstr (
      p->pdata[0], ==,
      "warning: [sandbox] soffice: LibreOffice (/nonexistent/soffice) is not installed: "
      ".doc, .xls, .ppt and .rtf attachments will be removed");

  /* filters missing: one error for each program the settings need */
  g_autofree char *empty = testfiles_dir_new ();
  s.filters_dir = empty;
  s.office = MUGAI_OFFICE_REMOVE;
  g_autoptr (GPtrArray) q = mugai_convert_check (&s, &fatal);
  g_assert_true (fatal);
  g_assert_cmpuint (q->len, ==, 2);
  g_assert_true (has_line (q, "error: [sandbox] filters: ", "/mugai-filter-pdf is missing"));
  g_assert_true (has_line (q, "error: [sandbox] filters: ", "/mugai-filter-image is missing"));
  g_assert_false (has_line (q, "", "soffice"));

  /* nothing converted: nothing needed */
  s.pdf = MUGAI_PDF_REMOVE;
  s.image = MUGAI_IMAGE_REMOVE;
  g_autoptr (GPtrArray) r = mugai_convert_check (&s, &fatal);
  g_assert_false (fatal);
  g_assert_cmpuint (r->len, ==, 0);
  testfiles_rm_rf (empty);
}

/* a 2x2 24-bit BMP: red, green / blue, white */
static GBytes *
bmp (void)
{
  static const guint8 b[] = {
    'B',  'M', 70,   0,    0,    0,    0, 0,    0,    0, 54, 0, 0, 0, /* file header */
    40,   0,   0,    0,    2,    0,    0, 0,    2,    0, 0,  0, 1, 0, 24, 0, 0, 0, 0, 0, 16,
    0,    0,   0,    0x13, 0x0b, 0,    0, 0x13, 0x0b, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0, /* info header
                                                                                       */
    0xff, 0,   0,    0xff, 0xff, 0xff, 0, 0, /* bottom row */
    0,    0,   0xff, 0,    0xff, 0,    0, 0, /* top row */
  };
  return g_bytes_new_static (b, sizeof b);
}

static void
test_run_image (void)
{
  MugaiConvertSettings s = settings ();
  g_autoptr (MugaiSandboxSlots) slots = mugai_sandbox_slots_new (1);
  g_autoptr (GBytes) in = bmp ();
  g_autoptr (GError) error = NULL;
  g_auto (MugaiConversion) c = { 0 };
  g_assert_true (mugai_convert_run (&s, slots, TRUE, MUGAI_CONVERT_IMAGE, MUGAI_DOC_BMP, "scan.bmp",
                                    in, 0, &c, &error));
  g_assert_no_error (error);
  if (c.status != MUGAI_CONVERT_DONE)
    g_error ("image not converted: %s", c.detail);
  g_assert_cmpstr (c.mime_type, ==, "image/png");
  g_assert_cmpstr (c.filename, ==, "scan.bmp.png");
  g_assert_false (c.is_text);
  g_assert_cmpstr (c.detail, ==,
                   "画像を再作成（撮影情報などのメタデータや隠しデータは含まれません）");
  gsize len = 0;
  const guint8 *png = g_bytes_get_data (c.output, &len);
  g_assert_cmpuint (len, >, 8);
  g_assert_cmpmem (png, 8, "\x89PNG\r\n\x1a\n", 8);
}

static void
test_run_failures (void)
{
  MugaiConvertSettings s = settings ();
  g_autoptr (MugaiSandboxSlots) slots = mugai_sandbox_slots_new (1);

  /* not an image at all: removed, and the reason says the filter failed */
  {
    g_autoptr (GBytes) junk = g_bytes_new_static ("BM this is not a bitmap", 23);
    g_autoptr (GError) error = NULL;
    g_auto (MugaiConversion) c = { 0 };
    g_assert_true (mugai_convert_run (&s, slots, FALSE, MUGAI_CONVERT_IMAGE, MUGAI_DOC_BMP, "x.bmp",
                                      junk, 0, &c, &error));
    g_assert_no_error (error);
    g_assert_cmpint (c.status, ==, MUGAI_CONVERT_FAILED);
    g_assert_true (g_str_has_prefix (c.detail, "could not be converted: "));
    g_assert_null (c.output);
  }

  /* no time left in the message: not even started (the filters directory
   * does not exist, so a start would be an error) */
  {
    MugaiConvertSettings gone = s;
    gone.filters_dir = (char *)"/nonexistent/filters";
    g_autoptr (GBytes) in = bmp ();
    g_autoptr (GError) error = NULL;
    g_auto (MugaiConversion) c = { 0 };
    g_assert_true (mugai_convert_run (&gone, slots, FALSE, MUGAI_CONVERT_IMAGE, MUGAI_DOC_BMP,
                                      "x.bmp", in, g_get_monotonic_time () + 500 * 1000, &c,
                                      &error));
    g_assert_no_error (error);
    g_assert_cmpint (c.status, ==, MUGAI_CONVERT_LIMIT);
    g_assert_null (c.output);

    /* with time left, the missing program is mugai's own failure:
     * an error, the message is tempfailed */
    g_auto (MugaiConversion) d = { 0 };
    g_assert_false (mugai_convert_run (&gone, slots, FALSE, MUGAI_CONVERT_IMAGE, MUGAI_DOC_BMP,
                                       "x.bmp", in, 0, &d, &error));
    g_assert_nonnull (error);
    g_assert_nonnull (strstr (error->message, "mugai-filter-image"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *bin = g_getenv ("MUGAI_BIN");
  if (!bin)
    g_error ("MUGAI_BIN is not set (tests/meson.build sets it): the filters are found beside it");
  g_autofree char *srcdir = g_path_get_dirname (bin);
  g_autofree char *top = g_path_get_dirname (srcdir);
  filters_dir = g_build_filename (top, "filters", NULL);
  g_test_add_func ("/convert/mode", test_mode);
  g_test_add_func ("/convert/output-name", test_output_name);
  g_test_add_func ("/convert/check", test_check);
  g_test_add_func ("/convert/run-image", test_run_image);
  g_test_add_func ("/convert/run-failures", test_run_failures);
  int rc = g_test_run ();
  g_free (filters_dir);
  return rc;
}
