/*
 * test-doctype.c - doctype.c: what a document really is
 *
 * The office documents and archives are made at test time by zip, 7z,
 * gzip, bzip2, xz and tar (tests/testfiles.h), laid out as Word, Excel,
 * PowerPoint and LibreOffice lay them out; the OLE files are minimal
 * compound files with the directories Word, Excel, PowerPoint, 一太郎
 * and Outlook write.
 */
#include "doctype.h"

#include "testfiles.h"

static char *dir;

/* a zip made by zip(1) from the given members, "-0 mimetype" first
 * when there is one (as OpenDocument requires) */
static GBytes *
make_zip (const char *name, const char *const *members)
{
  g_autofree char *sub = g_build_filename (dir, name, NULL);
  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  gboolean odf = FALSE;
  for (gsize i = 0; members[i]; i += 2)
    {
      testfiles_put (sub, members[i], members[i + 1], -1);
      odf |= g_str_equal (members[i], "mimetype");
    }
  g_autofree char *zip = g_strconcat ("../", name, ".zip", NULL);
  if (odf)
    {
      const char *first[] = { "zip", "-q", "-0", "-X", zip, "mimetype", NULL };
      testfiles_run (sub, first);
    }
  for (gsize i = 0; members[i]; i += 2)
    {
      if (odf && g_str_equal (members[i], "mimetype"))
        continue;
      const char *add[] = { "zip", "-q", "-X", zip, members[i], NULL };
      testfiles_run (sub, add);
    }
  g_autofree char *file = g_strconcat (name, ".zip", NULL);
  return testfiles_read (dir, file);
}

static void
check_kind (const char *what, GBytes *b, const char *magic, MugaiDocKind want,
            MugaiDocFlags want_flags)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (b, &len);
  MugaiDocFlags flags = 0xff;
  MugaiDocKind got = mugai_doctype_identify (data, len, magic, &flags);
  if (got != want || flags != want_flags)
    g_error ("%s: %s flags %d, expected %s flags %d", what, mugai_doctype_name (got), flags,
             mugai_doctype_name (want), want_flags);
}

static void
test_office_packages (void)
{
  static const char ct[] = "<?xml version=\"1.0\"?><Types/>";
  const char *docx[] = { "[Content_Types].xml", ct, "word/document.xml", "<w:document/>", NULL };
  const char *docm[] = { "[Content_Types].xml",
                         ct,
                         "word/document.xml",
                         "<w:document/>",
                         "word/vbaProject.bin",
                         "VBA",
                         NULL };
  const char *xlsx[] = { "[Content_Types].xml", ct, "xl/workbook.xml", "<workbook/>", NULL };
  const char *pptx[] = { "[Content_Types].xml", ct, "ppt/presentation.xml", "<p/>", NULL };
  const char *odt[]
      = { "mimetype", "application/vnd.oasis.opendocument.text", "content.xml", "<o/>", NULL };
  const char *ods[] = { "mimetype", "application/vnd.oasis.opendocument.spreadsheet", "content.xml",
                        "<o/>", NULL };
  const char *odp[] = { "mimetype", "application/vnd.oasis.opendocument.presentation",
                        "content.xml", "<o/>", NULL };
  const char *odt_basic[] = { "mimetype",
                              "application/vnd.oasis.opendocument.text",
                              "content.xml",
                              "<o/>",
                              "Basic/script-lc.xml",
                              "<l/>",
                              NULL };
  const char *plain[] = { "readme.txt", "hello", "word/not-office.txt", "x", NULL };
  const struct
  {
    const char *name;
    const char *const *members;
    MugaiDocKind kind;
    MugaiDocFlags flags;
  } cases[] = {
    { "docx", docx, MUGAI_DOC_WORD_X, 0 },
    { "docm", docm, MUGAI_DOC_WORD_X, MUGAI_DOC_FLAG_MACROS },
    { "xlsx", xlsx, MUGAI_DOC_EXCEL_X, 0 },
    { "pptx", pptx, MUGAI_DOC_POWERPOINT_X, 0 },
    { "odt", odt, MUGAI_DOC_ODT, 0 },
    { "ods", ods, MUGAI_DOC_ODS, 0 },
    { "odp", odp, MUGAI_DOC_ODP, 0 },
    { "odt-basic", odt_basic, MUGAI_DOC_ODT, MUGAI_DOC_FLAG_MACROS },
    /* "word/" without [Content_Types].xml is only a zip */
    { "plain", plain, MUGAI_DOC_ZIP, 0 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) b = make_zip (cases[i].name, cases[i].members);
      check_kind (cases[i].name, b, "application/zip", cases[i].kind, cases[i].flags);
    }
}

static void
test_ole (void)
{
  const TestCfbEntry word[] = { { "WordDocument", 2 }, { "1Table", 2 } };
  const TestCfbEntry word_vba[]
      = { { "WordDocument", 2 }, { "Macros", 1 }, { "VBA", 1 }, { "_VBA_PROJECT", 2 } };
  const TestCfbEntry word_enc[]
      = { { "WordDocument", 2 }, { "EncryptionInfo", 2 }, { "EncryptedPackage", 2 } };
  const TestCfbEntry excel[] = { { "Workbook", 2 } };
  const TestCfbEntry excel5[] = { { "Book", 2 } };
  const TestCfbEntry ppt[] = { { "PowerPoint Document", 2 }, { "Current User", 2 } };
  const TestCfbEntry taro[]
      = { { "DocumentText", 2 }, { "JSRV_SegmentName", 2 }, { "DocInfo", 2 } };
  const TestCfbEntry msg[] = { { "__properties_version1.0", 2 }, { "__substg1.0_0037001F", 2 } };
  const TestCfbEntry other[] = { { "Contents", 2 } };
  /* a name that only begins like a known one is not it */
  const TestCfbEntry near[] = { { "WordDocumentX", 2 } };
  const struct
  {
    const char *what;
    const TestCfbEntry *e;
    gsize n;
    MugaiDocKind kind;
    MugaiDocFlags flags;
  } cases[] = {
    { "doc", word, G_N_ELEMENTS (word), MUGAI_DOC_WORD, 0 },
    { "doc+vba", word_vba, G_N_ELEMENTS (word_vba), MUGAI_DOC_WORD, MUGAI_DOC_FLAG_MACROS },
    { "doc encrypted", word_enc, G_N_ELEMENTS (word_enc), MUGAI_DOC_WORD,
      MUGAI_DOC_FLAG_ENCRYPTED },
    { "xls", excel, G_N_ELEMENTS (excel), MUGAI_DOC_EXCEL, 0 },
    { "xls (Excel 5)", excel5, G_N_ELEMENTS (excel5), MUGAI_DOC_EXCEL, 0 },
    { "ppt", ppt, G_N_ELEMENTS (ppt), MUGAI_DOC_POWERPOINT, 0 },
    { "jtd", taro, G_N_ELEMENTS (taro), MUGAI_DOC_ICHITARO, 0 },
    { "msg", msg, G_N_ELEMENTS (msg), MUGAI_DOC_OUTLOOK_MSG, 0 },
    { "ole", other, G_N_ELEMENTS (other), MUGAI_DOC_OLE, 0 },
    { "near", near, G_N_ELEMENTS (near), MUGAI_DOC_OLE, 0 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) b = testfiles_cfb (cases[i].e, cases[i].n);
      check_kind (cases[i].what, b, "application/x-ole-storage", cases[i].kind, cases[i].flags);
    }

  /* the directory is read case-insensitively, prefixes only where asked */
  g_autoptr (GBytes) b = testfiles_cfb (taro, G_N_ELEMENTS (taro));
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (b, &len);
  const char *const lower[] = { "documenttext", NULL };
  const char *const prefix[] = { "JSRV_*", NULL };
  const char *const absent[] = { "JSRV_", "WordDocument", NULL };
  g_assert_true (mugai_doctype_ole_has (data, len, lower));
  g_assert_true (mugai_doctype_ole_has (data, len, prefix));
  g_assert_false (mugai_doctype_ole_has (data, len, absent));
  /* cut short of a whole header: not OLE at all */
  g_assert_false (mugai_doctype_ole_has (data, 511, lower));
}

static void
test_archives (void)
{
  testfiles_put (dir, "arc/a.txt", "hello", -1);
  const char *const cmds[][8] = {
    { "7z", "a", "-bd", "-bso0", "a.7z", "arc/a.txt", NULL },
    { "tar", "cf", "a.tar", "arc/a.txt", NULL },
    { "sh", "-c", "gzip -c arc/a.txt > a.txt.gz", NULL },
    { "sh", "-c", "bzip2 -c arc/a.txt > a.txt.bz2", NULL },
    { "sh", "-c", "xz -c arc/a.txt > a.txt.xz", NULL },
    { "sh", "-c", "tar czf a.tgz arc/a.txt", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cmds); i++)
    testfiles_run (dir, cmds[i]);
  const struct
  {
    const char *file;
    MugaiDocKind kind;
  } cases[] = {
    { "a.7z", MUGAI_DOC_7Z },         { "a.tar", MUGAI_DOC_TAR },   { "a.txt.gz", MUGAI_DOC_GZIP },
    { "a.txt.bz2", MUGAI_DOC_BZIP2 }, { "a.txt.xz", MUGAI_DOC_XZ }, { "a.tgz", MUGAI_DOC_GZIP },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) b = testfiles_read (dir, cases[i].file);
      check_kind (cases[i].file, b, NULL, cases[i].kind, 0);
      g_assert_true (mugai_doctype_is_archive (cases[i].kind));
    }
}

static void
test_magic_numbers (void)
{
  static const struct
  {
    const char *what;
    const char *data;
    gsize len;
    const char *magic;
    MugaiDocKind kind;
  } cases[] = {
    { "pdf", "%PDF-1.7\n%\xe2\xe3\n1 0 obj", 20, "application/pdf", MUGAI_DOC_PDF },
    /* the content wins over what libmagic (or the sender) says */
    { "pdf said text", "%PDF-1.4\n", 9, "text/plain", MUGAI_DOC_PDF },
    { "png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, NULL, MUGAI_DOC_PNG },
    { "jpeg", "\xff\xd8\xff\xe0\0\x10JFIF", 10, NULL, MUGAI_DOC_JPEG },
    { "gif", "GIF89a\x01\0\x01\0", 10, NULL, MUGAI_DOC_GIF },
    { "rtf", "{\\rtf1\\ansi hello}", 18, "text/rtf", MUGAI_DOC_RTF },
    { "pe", "MZ\x90\0\x03\0\0\0", 8, NULL, MUGAI_DOC_EXECUTABLE },
    { "elf",
      "\x7f"
      "ELF\x02\x01\x01",
      7, NULL, MUGAI_DOC_EXECUTABLE },
    { "lzh", "\x2a\x1c-lh5-\0\0", 9, NULL, MUGAI_DOC_LZH },
    { "cab", "MSCF\0\0\0\0\x10", 9, NULL, MUGAI_DOC_CAB },
    { "rar", "Rar!\x1a\x07\x01\0", 8, NULL, MUGAI_DOC_RAR },
    /* no magic number of ours: libmagic's word, mapped */
    { "bmp by libmagic", "BM\x46\0\0\0", 6, "image/bmp", MUGAI_DOC_BMP },
    { "c source", "int main;", 9, "text/x-c", MUGAI_DOC_TEXT },
    { "html", "<p>x</p>", 8, "text/html", MUGAI_DOC_HTML },
    { "nothing known", "\x01\x02\x03", 3, NULL, MUGAI_DOC_UNKNOWN },
    { "octets", "\x01\x02\x03", 3, "application/octet-stream", MUGAI_DOC_UNKNOWN },
    /* a short "PK" is not a zip; a short OLE magic not OLE */
    { "short ole", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8, NULL, MUGAI_DOC_UNKNOWN },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) b = g_bytes_new_static (cases[i].data, cases[i].len);
      check_kind (cases[i].what, b, cases[i].magic, cases[i].kind, 0);
    }
  g_assert_cmpint (mugai_doctype_identify (NULL, 0, "application/pdf", NULL), ==,
                   MUGAI_DOC_UNKNOWN);
}

static void
test_claims (void)
{
  static const struct
  {
    const char *name;
    MugaiDocKind kind;
  } ext[] = {
    { "見積書.PDF", MUGAI_DOC_PDF },
    { "報告.jtd", MUGAI_DOC_ICHITARO },
    { "a.docm", MUGAI_DOC_WORD_X },
    { "x.tar.gz", MUGAI_DOC_GZIP },
    { "setup.exe", MUGAI_DOC_EXECUTABLE },
    { "a.xdw", MUGAI_DOC_DOCUWORKS },
    { "noext", MUGAI_DOC_UNKNOWN },
    { "trailing.", MUGAI_DOC_UNKNOWN },
    { "a.pdfpdfpdf", MUGAI_DOC_UNKNOWN },
    { "a.unknownx", MUGAI_DOC_UNKNOWN },
    /* a full-width "．ｐｄｆ" is not .pdf */
    { "a\xef\xbc\x8e\xef\xbd\x90\xef\xbd\x84\xef\xbd\x86", MUGAI_DOC_UNKNOWN },
    { NULL, MUGAI_DOC_UNKNOWN },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (ext); i++)
    g_assert_cmpstr (mugai_doctype_name (mugai_doctype_for_extension (ext[i].name)), ==,
                     mugai_doctype_name (ext[i].kind));

  static const struct
  {
    const char *mime;
    MugaiDocKind kind;
  } mime[] = {
    { "application/PDF", MUGAI_DOC_PDF },
    { "application/vnd.ms-excel", MUGAI_DOC_EXCEL },
    { "application/vnd.openxmlformats-officedocument.wordprocessingml.document", MUGAI_DOC_WORD_X },
    { "application/x-js-taro", MUGAI_DOC_ICHITARO },
    { "application/x-zip-compressed", MUGAI_DOC_ZIP },
    { "application/octet-stream", MUGAI_DOC_UNKNOWN },
    { "application/pdf; name=x", MUGAI_DOC_UNKNOWN },
    { NULL, MUGAI_DOC_UNKNOWN },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (mime); i++)
    g_assert_cmpstr (mugai_doctype_name (mugai_doctype_for_mime (mime[i].mime)), ==,
                     mugai_doctype_name (mime[i].kind));
}

static void
test_compatible (void)
{
  static const struct
  {
    MugaiDocKind claimed, actual;
    gboolean ok;
  } cases[] = {
    { MUGAI_DOC_PDF, MUGAI_DOC_PDF, TRUE },
    { MUGAI_DOC_PDF, MUGAI_DOC_ZIP, FALSE },
    { MUGAI_DOC_PDF, MUGAI_DOC_EXECUTABLE, FALSE },
    /* Word opens RTF and docx saved as .doc */
    { MUGAI_DOC_WORD, MUGAI_DOC_RTF, TRUE },
    { MUGAI_DOC_WORD, MUGAI_DOC_WORD_X, TRUE },
    { MUGAI_DOC_WORD, MUGAI_DOC_EXCEL, FALSE },
    /* a vague truth does not contradict a precise claim of its container */
    { MUGAI_DOC_WORD_X, MUGAI_DOC_ZIP, TRUE },
    { MUGAI_DOC_ZIP, MUGAI_DOC_WORD_X, TRUE },
    { MUGAI_DOC_EXCEL, MUGAI_DOC_OLE, TRUE },
    { MUGAI_DOC_ZIP, MUGAI_DOC_OLE, FALSE },
    { MUGAI_DOC_TEXT, MUGAI_DOC_HTML, TRUE },
    { MUGAI_DOC_HTML, MUGAI_DOC_TEXT, FALSE },
    { MUGAI_DOC_GZIP, MUGAI_DOC_TAR, TRUE },
    { MUGAI_DOC_JPEG, MUGAI_DOC_PNG, FALSE },
    { MUGAI_DOC_UNKNOWN, MUGAI_DOC_EXECUTABLE, TRUE },
    { MUGAI_DOC_JPEG, MUGAI_DOC_UNKNOWN, TRUE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    if (mugai_doctype_compatible (cases[i].claimed, cases[i].actual) != cases[i].ok)
      g_error ("claimed %s, actual %s: expected %s", mugai_doctype_name (cases[i].claimed),
               mugai_doctype_name (cases[i].actual), cases[i].ok ? "compatible" : "a mismatch");
}

static void
test_labels (void)
{
  g_assert_cmpstr (mugai_doctype_label (MUGAI_DOC_ICHITARO, TRUE), ==, "一太郎文書");
  g_assert_cmpstr (mugai_doctype_label (MUGAI_DOC_ICHITARO, FALSE), ==, "Ichitaro document");
  g_assert_cmpstr (mugai_doctype_label (MUGAI_DOC_EXCEL_X, TRUE), ==, "Excel ブック");
  g_assert_cmpstr (mugai_doctype_name (MUGAI_DOC_POWERPOINT_X), ==, "pptx");
  /* every kind has a name and labels in both languages, names unique */
  for (int k = 0; k < MUGAI_DOC_N; k++)
    {
      g_assert_cmpuint (strlen (mugai_doctype_name (k)), >, 0);
      g_assert_cmpuint (strlen (mugai_doctype_label (k, TRUE)), >, 0);
      g_assert_cmpuint (strlen (mugai_doctype_label (k, FALSE)), >, 0);
      for (int j = 0; j < k; j++)
        g_assert_cmpstr (mugai_doctype_name (j), !=, mugai_doctype_name (k));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/doctype/office-packages", test_office_packages);
  g_test_add_func ("/doctype/ole", test_ole);
  g_test_add_func ("/doctype/archives", test_archives);
  g_test_add_func ("/doctype/magic-numbers", test_magic_numbers);
  g_test_add_func ("/doctype/claims", test_claims);
  g_test_add_func ("/doctype/compatible", test_compatible);
  g_test_add_func ("/doctype/labels", test_labels);
  return testfiles_run_tests (&dir);
}
