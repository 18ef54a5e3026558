/*
 * test-filetype.c - unit tests for filetype.c
 *
 * DESCRIPTION
 *	Two tables: names with the exact flags expected, and contents (built
 *	here from the published magic numbers, never taken from the code
 *	under test) with the expected kind.  A few single-property tests
 *	check details, labels, bounds and NULL handling.
 */
#include "filetype.h"
#include "testutil.h"

#include <string.h>

/* a literal's octets and length, without its NUL */
#define BYTES(s) (const guint8 *)(s), sizeof (s) - 1

typedef struct
{
  const char *path;
  const char *name;
  MugaiNameFlags flags;
} NameCase;

static const NameCase name_cases[] = {
  { "null", NULL, MUGAI_NAME_OK },
  { "empty", "", MUGAI_NAME_OK },
  { "rlo",
    "invoice\u202e"
    "fdp.exe",
    MUGAI_NAME_BIDI | MUGAI_NAME_DANGEROUS_EXTENSION },
  { "lri", "a\u2066b.txt", MUGAI_NAME_BIDI },
  { "double", "a.pdf.exe", MUGAI_NAME_DOUBLE_EXTENSION | MUGAI_NAME_DANGEROUS_EXTENSION },
  { "double-js", "a.doc.js", MUGAI_NAME_DOUBLE_EXTENSION | MUGAI_NAME_DANGEROUS_EXTENSION },
  { "trailing-dot", "a.exe.", MUGAI_NAME_TRAILING | MUGAI_NAME_DANGEROUS_EXTENSION },
  { "trailing-space", "a.exe ", MUGAI_NAME_TRAILING | MUGAI_NAME_DANGEROUS_EXTENSION },
  { "trailing-harmless", "memo.txt.", MUGAI_NAME_TRAILING },
  { "japanese", "報告書.docx", MUGAI_NAME_OK },
  { "upper-pdf", "report.PDF", MUGAI_NAME_OK },
  { "upper-exe", "REPORT.EXE", MUGAI_NAME_DANGEROUS_EXTENSION },
  { "padded", "photo.jpg      .scr",
    MUGAI_NAME_HIDDEN | MUGAI_NAME_DOUBLE_EXTENSION | MUGAI_NAME_DANGEROUS_EXTENSION },
  { "four-spaces", "a    b.txt", MUGAI_NAME_OK },
  { "ideographic-spaces", "a\u3000\u3000\u3000\u3000\u3000b.txt", MUGAI_NAME_HIDDEN },
  { "zero-width", "x\u200b.txt", MUGAI_NAME_HIDDEN },
  { "zero-width-split", "a.ex\u200be", MUGAI_NAME_HIDDEN | MUGAI_NAME_DANGEROUS_EXTENSION },
  { "bom", "\ufeffa.txt", MUGAI_NAME_HIDDEN },
  { "fullwidth", "\uff4d\uff41\uff4c\uff0e\uff45\uff58\uff45", /* ｍａｌ．ｅｘｅ */
    MUGAI_NAME_DANGEROUS_EXTENSION },
  { "control", "a\tb.txt", MUGAI_NAME_CONTROL },
  { "c1",
    "a\xc2\x85"
    "b.txt",
    MUGAI_NAME_CONTROL },
  { "del", "a\x7f.txt", MUGAI_NAME_CONTROL },
  { "path", "C:\\temp\\a.exe", MUGAI_NAME_DANGEROUS_EXTENSION },
  { "path-dir-ext", "dir.exe/readme", MUGAI_NAME_OK },
  { "only-dots", "...", MUGAI_NAME_TRAILING },
  { "dot-exe", ".exe", MUGAI_NAME_DANGEROUS_EXTENSION },
  { "invalid-utf8", "\xff\xfe.pdf", MUGAI_NAME_OK },
  { "lnk", "shortcut.lnk", MUGAI_NAME_DANGEROUS_EXTENSION },
  { "iso", "disk.ISO", MUGAI_NAME_DANGEROUS_EXTENSION },
  { "html", "page.html", MUGAI_NAME_OK },
};

static void
test_name (gconstpointer p)
{
  const NameCase *c = p;
  g_autofree char *ja = NULL, *en = NULL;
  MugaiNameFlags got = mugai_filename_check (c->name, &ja, &en);

  g_assert_cmphex (got, ==, c->flags);
  if (c->flags == MUGAI_NAME_OK)
    {
      g_assert_null (ja);
      g_assert_null (en);
    }
  else
    {
      /* one line each, in mugai's words */
      g_assert_nonnull (ja);
      g_assert_nonnull (en);
      g_assert_true (g_utf8_validate (ja, -1, NULL));
      g_assert_null (strchr (ja, '\n'));
      g_assert_null (strchr (en, '\n'));
      g_assert_cmpuint (strlen (en), >, 0);
    }
}

static void
test_name_long (void)
{
  g_autoptr (GString) name = g_string_new (NULL);
  for (int i = 0; i < 246; i++)
    g_string_append_c (name, 'a');
  g_string_append (name, ".txt");
  g_autofree char *en = NULL;

  g_assert_cmphex (mugai_filename_check (name->str, NULL, &en), ==, MUGAI_NAME_TOO_LONG);
  g_assert_cmpstr (en, ==, "name of 250 characters");

  /* exactly the limit is fine; counted in characters, not octets */
  g_string_truncate (name, 0);
  for (int i = 0; i < MUGAI_NAME_MAX_CHARS - 4; i++)
    g_string_append (name, "あ");
  g_string_append (name, ".txt");
  g_assert_cmphex (mugai_filename_check (name->str, NULL, NULL), ==, MUGAI_NAME_OK);
}

static void
test_name_details (void)
{
  g_autofree char *ja = NULL, *en = NULL;

  mugai_filename_check ("invoice\u202e"
                        "fdp.exe",
                        &ja, &en);
  g_assert_cmpstr (en, ==, "bidi control U+202E; dangerous extension .exe");
  g_assert_cmpstr (ja, ==, "書字方向の制御文字 U+202E、危険な拡張子 .exe");
  g_clear_pointer (&ja, g_free);
  g_clear_pointer (&en, g_free);

  /* the extension shown is ours (folded), never the name's own text */
  mugai_filename_check ("A.PDF.EXE", &ja, &en);
  g_assert_cmpstr (en, ==, "double extension .pdf.exe; dangerous extension .exe");
  g_clear_pointer (&ja, g_free);
  g_clear_pointer (&en, g_free);

  /* outputs are set (not freed: they are out-parameters) even when
   * nothing is found */
  char *out = (char *)"stale";
  mugai_filename_check ("ok.txt", &out, NULL);
  g_assert_null (out);
}

typedef struct
{
  const char *path;
  const guint8 *data;
  gsize len;
  const char *filename;
  MugaiDangerKind kind;
} ContentCase;

/* A 512-octet DOS header with e_lfanew as given, and "PE\0\0" there when
 * asked and it fits. */
static guint8 *
make_pe (gsize *len, guint32 lfanew, gboolean with_pe)
{
  *len = 0x200;
  guint8 *d = g_malloc0 (*len);
  d[0] = 'M';
  d[1] = 'Z';
  d[0x3c] = lfanew & 0xff;
  d[0x3d] = (lfanew >> 8) & 0xff;
  d[0x3e] = (lfanew >> 16) & 0xff;
  d[0x3f] = (lfanew >> 24) & 0xff;
  if (with_pe && lfanew + 4 <= *len)
    memcpy (d + lfanew, "PE\0\0", 4);
  return d;
}

static void
check_kind (const guint8 *data, gsize len, const char *filename, MugaiDangerKind expected)
{
  g_autofree char *ja = NULL, *en = NULL;
  MugaiDangerKind got = mugai_filetype_danger (data, len, filename, &ja, &en);

  g_assert_cmpint (got, ==, expected);
  if (expected == MUGAI_KIND_OTHER)
    {
      g_assert_null (ja);
      g_assert_null (en);
    }
  else
    {
      g_assert_nonnull (ja);
      g_assert_nonnull (en);
    }
}

static void
test_pe (void)
{
  gsize len;
  g_autofree guint8 *pe = make_pe (&len, 0x80, TRUE);
  g_autofree char *en = NULL;

  g_assert_cmpint (mugai_filetype_danger (pe, len, "a.txt", NULL, &en), ==, MUGAI_KIND_EXECUTABLE);
  g_assert_cmpstr (en, ==, "Windows executable");

  /* e_lfanew at the very end: "PE\0\0" must fit entirely */
  g_autofree guint8 *edge = make_pe (&len, 0x200 - 4, TRUE);
  g_clear_pointer (&en, g_free);
  mugai_filetype_danger (edge, len, NULL, NULL, &en);
  g_assert_cmpstr (en, ==, "Windows executable");
}

static void
test_pe_bogus_lfanew (void)
{
  /* e_lfanew beyond the buffer (and near 2^32, where a careless
   * offset + 4 wraps): never read, but a full DOS header is still a
   * program -- documented in filetype.c */
  static const guint32 bogus[] = { 0x201, 0x1fd, 0xfffffffe, 0xffffffff, 0x7fffffff };
  for (gsize i = 0; i < G_N_ELEMENTS (bogus); i++)
    {
      gsize len;
      g_autofree guint8 *pe = make_pe (&len, bogus[i], FALSE);
      g_autofree char *en = NULL;

      g_assert_cmpint (mugai_filetype_danger (pe, len, "a.txt", NULL, &en), ==,
                       MUGAI_KIND_EXECUTABLE);
      g_assert_cmpstr (en, ==, "MS-DOS executable");
    }

  /* "MZ" and less than a DOS header: just text that starts with MZ */
  check_kind (BYTES ("MZ is a prefecture code"), "a.txt", MUGAI_KIND_OTHER);
}

static void
test_msi (void)
{
  gsize len = 0x600;
  g_autofree guint8 *d = g_malloc0 (len);
  static const guint8 ole[] = { 0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1 };
  static const guint8 msi_clsid[] = { 0x84, 0x10, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
                                      0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46 };
  memcpy (d, ole, sizeof ole);
  d[0x1e] = 9; /* 512-octet sectors */
  d[0x30] = 1; /* directory in sector 1, at offset 0x400 */
  memcpy (d + 0x400 + 0x50, msi_clsid, sizeof msi_clsid);
  check_kind (d, len, "setup.bin", MUGAI_KIND_EXECUTABLE);

  /* a Word document (no MSI CLSID) is not dangerous by content */
  d[0x400 + 0x50] = 0x06;
  d[0x400 + 0x51] = 0x09;
  check_kind (d, len, "a.doc", MUGAI_KIND_OTHER);

  /* directory sector beyond the data, and a huge one */
  memcpy (d + 0x400 + 0x50, msi_clsid, sizeof msi_clsid);
  d[0x30] = 2;
  check_kind (d, len, "a.doc", MUGAI_KIND_OTHER);
  d[0x30] = d[0x31] = d[0x32] = 0xff;
  d[0x33] = 0xf0;
  check_kind (d, len, "a.doc", MUGAI_KIND_OTHER);
}

static guint8 *
make_at (gsize len, gsize off, const void *magic, gsize n)
{
  guint8 *d = g_malloc0 (len);
  memcpy (d + off, magic, n);
  return d;
}

static void
test_disk_images (void)
{
  static const gsize offs[] = { 0x8001, 0x8801, 0x9001 };
  for (gsize i = 0; i < G_N_ELEMENTS (offs); i++)
    {
      g_autofree guint8 *iso = make_at (0xa000, offs[i], "CD001", 5);
      check_kind (iso, 0xa000, "a.pdf", MUGAI_KIND_DISK_IMAGE);
    }
  /* "CD001" cut off by the end of the data */
  g_autofree guint8 *cut = make_at (0x8004, 0x8001, "CD0", 3);
  check_kind (cut, 0x8004, "a.bin", MUGAI_KIND_OTHER);

  g_autofree guint8 *vhd = make_at (4096, 4096 - 512, "conectix", 8);
  check_kind (vhd, 4096, "a.bin", MUGAI_KIND_DISK_IMAGE);
  check_kind (BYTES ("vhdxfile\0\0"), "a.bin", MUGAI_KIND_DISK_IMAGE);
  g_autofree guint8 *dmg = make_at (2048, 2048 - 512, "koly", 4);
  check_kind (dmg, 2048, "a.bin", MUGAI_KIND_DISK_IMAGE);
}

#define LNK_HEADER                                                                                 \
  "\x4c\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"
#define SVG_SCRIPT                                                                                 \
  "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\">"                            \
  "<script>alert(1)</script></svg>\n"
#define SVG_PLAIN                                                                                  \
  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\"><rect width=\"10\" height=\"10\""        \
  " fill=\"red\"/><text>Click on=the button</text></svg>\n"
#define PDF "%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"

static const ContentCase content_cases[] = {
  { "elf",
    BYTES ("\x7f"
           "ELF\x02\x01\x01"),
    "a.txt", MUGAI_KIND_EXECUTABLE },
  { "macho", BYTES ("\xcf\xfa\xed\xfe\x07\x00\x00\x01"), NULL, MUGAI_KIND_EXECUTABLE },
  { "java", BYTES ("\xca\xfe\xba\xbe\x00\x00\x00\x34"), NULL, MUGAI_KIND_EXECUTABLE },
  { "macho-fat", BYTES ("\xca\xfe\xba\xbe\x00\x00\x00\x02"), NULL, MUGAI_KIND_EXECUTABLE },
  { "lnk", (const guint8 *)LNK_HEADER, sizeof LNK_HEADER - 1, "a.pdf", MUGAI_KIND_SHORTCUT },
  { "chm", BYTES ("ITSF\x03\x00\x00\x00"), "a.txt", MUGAI_KIND_HELP },
  { "shebang", BYTES ("#!/bin/sh\nrm -rf ~\n"), "a.txt", MUGAI_KIND_SCRIPT },
  { "svg-script", (const guint8 *)SVG_SCRIPT, sizeof SVG_SCRIPT - 1, "a.svg",
    MUGAI_KIND_ACTIVE_MARKUP },
  { "svg-script-unnamed", (const guint8 *)SVG_SCRIPT, sizeof SVG_SCRIPT - 1, NULL,
    MUGAI_KIND_ACTIVE_MARKUP },
  { "svg-plain", (const guint8 *)SVG_PLAIN, sizeof SVG_PLAIN - 1, "a.svg", MUGAI_KIND_OTHER },
  { "html-onload", BYTES ("<html><body onload=\"go()\">hi</body></html>"), "a.html",
    MUGAI_KIND_ACTIVE_MARKUP },
  { "svg-slash-onload", BYTES ("<svg/onload=alert(1)>"), "a.svg", MUGAI_KIND_ACTIVE_MARKUP },
  { "html-on-space-eq", BYTES ("<img src=x onerror =alert(1)>"), "a.htm",
    MUGAI_KIND_ACTIVE_MARKUP },
  { "html-ns-script", BYTES ("<svg:script>x</svg:script>"), "a.xhtml", MUGAI_KIND_ACTIVE_MARKUP },
  { "html-js-url", BYTES ("<a href=\"java\tscript:go()\">x</a>"), "a.html",
    MUGAI_KIND_ACTIVE_MARKUP },
  { "html-plain", BYTES ("<html><body><p>on=2 scripts</p></body></html>"), "a.html",
    MUGAI_KIND_OTHER },
  { "html-script-as-txt", BYTES ("<script>x</script>"), "notes.txt", MUGAI_KIND_ACTIVE_MARKUP },
  { "text-mentions-script", BYTES ("use a <script> tag"), "notes.txt", MUGAI_KIND_OTHER },
  { "hta-plain", BYTES ("<html>hi</html>"), "a.hta", MUGAI_KIND_SCRIPT },
  { "js-by-name", BYTES ("hello world\n"), "x.js", MUGAI_KIND_SCRIPT },
  { "exe-by-name", BYTES ("hello world\n"), "x.pdf.EXE ", MUGAI_KIND_EXECUTABLE },
  { "lnk-by-name", BYTES ("x"), "x.lnk", MUGAI_KIND_SHORTCUT },
  { "vhdx-by-name", BYTES ("x"), "x.vhdx", MUGAI_KIND_DISK_IMAGE },
  { "hlp-by-name", BYTES ("x"), "x.hlp", MUGAI_KIND_HELP },
  { "fullwidth-name", BYTES ("x"), "\uff41\uff0e\uff4a\uff53", MUGAI_KIND_SCRIPT },
  { "pdf", (const guint8 *)PDF, sizeof PDF - 1, "x.pdf", MUGAI_KIND_OTHER },
  { "empty", BYTES (""), "x.pdf", MUGAI_KIND_OTHER },
  { "null", NULL, 0, NULL, MUGAI_KIND_OTHER },
  { "null-js", NULL, 0, "x.js", MUGAI_KIND_SCRIPT },
};

static void
test_content (gconstpointer p)
{
  const ContentCase *c = p;
  check_kind (c->data, c->len, c->filename, c->kind);
}

static void
test_markup_bound (void)
{
  /* script after the first MiB is not looked for: the scan is bounded */
  gsize len = MUGAI_FILETYPE_MARKUP_SCAN + 64;
  g_autofree guint8 *d = g_malloc (len);
  memset (d, ' ', len);
  memcpy (d, "<html>", 6);
  memcpy (d + MUGAI_FILETYPE_MARKUP_SCAN + 8, "<script>", 8);
  check_kind (d, len, "a.html", MUGAI_KIND_OTHER);
  memcpy (d + MUGAI_FILETYPE_MARKUP_SCAN - 16, "<script>", 8);
  check_kind (d, len, "a.html", MUGAI_KIND_ACTIVE_MARKUP);

  /* a long tab run after "j" stays linear and ends at the buffer */
  memset (d, '\t', len);
  d[0] = '<';
  d[1] = 'a';
  d[2] = ' ';
  d[3] = 'j';
  check_kind (d, len, "a.html", MUGAI_KIND_OTHER);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  TESTUTIL_ADD_CASES ("/filetype/name", name_cases, path, test_name);
  TESTUTIL_ADD_CASES ("/filetype/content", content_cases, path, test_content);
  g_test_add_func ("/filetype/name-long", test_name_long);
  g_test_add_func ("/filetype/name-details", test_name_details);
  g_test_add_func ("/filetype/pe", test_pe);
  g_test_add_func ("/filetype/pe-bogus-lfanew", test_pe_bogus_lfanew);
  g_test_add_func ("/filetype/msi", test_msi);
  g_test_add_func ("/filetype/disk-images", test_disk_images);
  g_test_add_func ("/filetype/markup-bound", test_markup_bound);

  return g_test_run ();
}
