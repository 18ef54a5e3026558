/*
 * test-arclist.c - arclist.c: what an archive holds, as the notice lists it
 *
 * Every archive is made at test time by zip(1), 7z(1), tar(1) or gzip(1)
 * (tests/testfiles.h), including the ones Japanese Windows makes (zip
 * names in CP932 without the UTF-8 flag) and password-protected ones.
 */
#include "arclist.h"

#include "testfiles.h"

static char *dir;

static const MugaiArchiveLimits wide
    = { .max_depth = 4, .max_entries = 100, .max_expand = 1 << 24 };

/* the headers of a Windows program: a DOS header pointing at "PE\0\0" */
static void
put_pe (const char *name)
{
  guint8 pe[256] = { 'M', 'Z' };
  pe[0x3c] = 0x80;
  memcpy (pe + 0x80, "PE\0\0", 4);
  testfiles_put (dir, name, pe, sizeof pe);
}

/* runs sh -c in the test directory */
static void
sh (const char *script)
{
  const char *argv[] = { "sh", "-ec", script, NULL };
  testfiles_run (dir, argv);
}

static MugaiArchiveListing *
list (const char *file, MugaiDocKind kind, const MugaiArchiveLimits *limits)
{
  g_autoptr (GBytes) b = testfiles_read (dir, file);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (b, &len);
  return mugai_archive_list (data, len, kind, file, limits);
}

static const MugaiArchiveEntry *
find (const MugaiArchiveListing *l, const char *name)
{
  for (guint i = 0; i < l->entries->len; i++)
    {
      const MugaiArchiveEntry *e = l->entries->pdata[i];
      if (g_str_equal (e->name, name))
        return e;
    }
  g_error ("no member \"%s\" in the listing", name);
  return NULL;
}

static void
test_zip_members (void)
{
  /* a program (by content, under an innocent name), a script by name,
   * a decoy double extension, a directory, a plain text */
  testfiles_put (dir, "z1/報告書.txt", "本文です\n", -1);
  put_pe ("z1/sub/photo.jpg");
  testfiles_put (dir, "z1/sub/run.js", "WScript.Echo(1)\n", -1);
  testfiles_put (dir, "z1/請求書.pdf.exe", "%PDF-1.4 not really", -1);
  sh ("cd z1 && LC_ALL=C.UTF-8 zip -q -r ../z1.zip 報告書.txt sub 請求書.pdf.exe");
  g_autoptr (MugaiArchiveListing) l = list ("z1.zip", MUGAI_DOC_ZIP, &wide);
  g_assert_null (l->error);
  g_assert_false (l->encrypted);
  g_assert_false (l->incomplete);
  g_assert_cmpuint (l->total, ==, 5); /* the directory is a member too */
  g_assert_cmpuint (l->entries->len, ==, 5);

  const MugaiArchiveEntry *txt = find (l, "報告書.txt");
  g_assert_cmpint (txt->size, ==, (gint64)strlen ("本文です\n"));
  g_assert_false (mugai_archive_entry_dangerous (txt));
  g_assert_true (find (l, "sub/")->directory);

  const MugaiArchiveEntry *jpg = find (l, "sub/photo.jpg");
  g_assert_cmpint (jpg->kind, ==, MUGAI_DOC_EXECUTABLE);
  g_assert_cmpint (jpg->danger, ==, MUGAI_KIND_EXECUTABLE);
  g_assert_true (mugai_archive_entry_dangerous (jpg));

  const MugaiArchiveEntry *js = find (l, "sub/run.js");
  g_assert_cmpint (js->danger, ==, MUGAI_KIND_SCRIPT);

  const MugaiArchiveEntry *exe = find (l, "請求書.pdf.exe");
  g_assert_true (exe->name_flags & MUGAI_NAME_DOUBLE_EXTENSION);
  g_assert_true (mugai_archive_entry_dangerous (exe));
  g_assert_cmpuint (l->dangerous, ==, 3);
}

static void
test_cp932_names (void)
{
  /* Japanese Windows' zip: the name's octets in CP932, no UTF-8 flag;
   * "見積書.txt" */
  g_autofree char *sub = g_build_filename (dir, "z2", NULL);
  testfiles_put (sub, "\x8c\xa9\x90\xcf\x8f\x91.txt", "x", 1);
  sh ("cd z2 && LC_ALL=C zip -q ../z2.zip *");
  g_autoptr (MugaiArchiveListing) l = list ("z2.zip", MUGAI_DOC_ZIP, &wide);
  g_assert_null (l->error);
  g_assert_cmpuint (l->entries->len, ==, 1);
  g_assert_cmpstr (((MugaiArchiveEntry *)l->entries->pdata[0])->name, ==, "見積書.txt");
}

static void
test_nested (void)
{
  testfiles_put (dir, "z3/evil.js", "x", -1);
  sh ("cd z3 && zip -q inner.zip evil.js && zip -q ../outer.zip inner.zip");
  g_autoptr (MugaiArchiveListing) l = list ("outer.zip", MUGAI_DOC_ZIP, &wide);
  g_assert_cmpuint (l->total, ==, 2);
  const MugaiArchiveEntry *inner = find (l, "inner.zip");
  g_assert_cmpint (inner->kind, ==, MUGAI_DOC_ZIP);
  g_assert_cmpuint (inner->depth, ==, 0);
  const MugaiArchiveEntry *js = find (l, "inner.zip/evil.js");
  g_assert_cmpuint (js->depth, ==, 1);
  g_assert_cmpint (js->danger, ==, MUGAI_KIND_SCRIPT);
  g_assert_cmpuint (l->dangerous, ==, 1);
  g_assert_false (l->too_deep);

  /* listed no deeper than the limit: what is below is not seen, and the
   * listing says so */
  const MugaiArchiveLimits flat = { .max_depth = 0, .max_entries = 100, .max_expand = 1 << 24 };
  g_autoptr (MugaiArchiveListing) f = list ("outer.zip", MUGAI_DOC_ZIP, &flat);
  g_assert_true (f->too_deep);
  g_assert_cmpuint (f->total, ==, 1);
  g_assert_cmpuint (f->dangerous, ==, 0);
}

static void
test_encrypted (void)
{
  testfiles_put (dir, "z4/secret.txt", "the secret", -1);
  sh ("cd z4 && zip -q -P pass ../enc.zip secret.txt && 7z a -bd -bso0 -ppass ../enc.7z secret.txt"
      " && 7z a -bd -bso0 -ppass -mhe=on ../enchdr.7z secret.txt");
  g_autoptr (MugaiArchiveListing) z = list ("enc.zip", MUGAI_DOC_ZIP, &wide);
  g_assert_true (z->encrypted);
  g_assert_true (find (z, "secret.txt")->encrypted);
  g_assert_null (z->error);
  g_autoptr (MugaiArchiveListing) s = list ("enc.7z", MUGAI_DOC_7Z, &wide);
  g_assert_true (s->encrypted);
  /* 7z with its names encrypted too: nothing can be listed */
  g_autoptr (MugaiArchiveListing) h = list ("enchdr.7z", MUGAI_DOC_7Z, &wide);
  g_assert_true (h->encrypted);
  g_assert_cmpuint (h->entries->len, ==, 0);
}

static void
test_limits (void)
{
  sh ("mkdir -p z5 && cd z5 && for i in 1 2 3 4 5; do echo $i > f$i.txt; done"
      " && head -c 200000 /dev/zero > big.bin && zip -q ../five.zip f1.txt f2.txt f3.txt f4.txt "
      "f5.txt"
      " && zip -q ../big.zip big.bin");
  const MugaiArchiveLimits two = { .max_depth = 4, .max_entries = 2, .max_expand = 1 << 24 };
  g_autoptr (MugaiArchiveListing) l = list ("five.zip", MUGAI_DOC_ZIP, &two);
  g_assert_cmpuint (l->entries->len, ==, 2);
  g_assert_true (l->incomplete);
  g_assert_cmpuint (l->total, ==, 3); /* the one that did not fit was seen */

  /* a zip bomb in small: 200 kB of zeros in a few hundred octets */
  const MugaiArchiveLimits small = { .max_depth = 4, .max_entries = 100, .max_expand = 65536 };
  g_autoptr (MugaiArchiveListing) b = list ("big.zip", MUGAI_DOC_ZIP, &small);
  g_assert_true (b->incomplete);
  g_autoptr (MugaiArchiveListing) ok = list ("big.zip", MUGAI_DOC_ZIP, &wide);
  g_assert_false (ok->incomplete);
  g_assert_cmpint (find (ok, "big.bin")->size, ==, 200000);
}

static void
test_other_formats (void)
{
  put_pe ("z6/setup.exe");
  sh ("cd z6 && echo hi > a.txt"
      " && 7z a -bd -bso0 ../six.7z a.txt setup.exe && tar cf ../six.tar a.txt setup.exe"
      " && gzip -c setup.exe > ../setup.exe.gz");
  const struct
  {
    const char *file;
    MugaiDocKind kind;
  } cases[] = { { "six.7z", MUGAI_DOC_7Z }, { "six.tar", MUGAI_DOC_TAR } };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (MugaiArchiveListing) l = list (cases[i].file, cases[i].kind, &wide);
      g_assert_null (l->error);
      g_assert_cmpuint (l->total, ==, 2);
      g_assert_cmpint (find (l, "setup.exe")->danger, ==, MUGAI_KIND_EXECUTABLE);
      g_assert_false (mugai_archive_entry_dangerous (find (l, "a.txt")));
      g_assert_cmpuint (l->dangerous, ==, 1);
    }
  /* one compressed file: the member is the attachment's name without .gz */
  g_autoptr (MugaiArchiveListing) g = list ("setup.exe.gz", MUGAI_DOC_GZIP, &wide);
  g_assert_cmpuint (g->total, ==, 1);
  const MugaiArchiveEntry *e = find (g, "setup.exe");
  g_assert_cmpint (e->kind, ==, MUGAI_DOC_EXECUTABLE);
  g_assert_true (mugai_archive_entry_dangerous (e));
}

static void
test_damaged (void)
{
  /* not an archive at all, and a zip cut in half: an error, never a
   * clean listing */
  static const guint8 junk[] = "PK\003\004 this is not a zip at all";
  g_autoptr (MugaiArchiveListing) j
      = mugai_archive_list (junk, sizeof junk, MUGAI_DOC_ZIP, "j.zip", &wide);
  g_assert_nonnull (j->error);
  g_assert_cmpuint (j->entries->len, ==, 0);

  g_autoptr (GBytes) whole = testfiles_read (dir, "six.tar");
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (whole, &len);
  g_autoptr (MugaiArchiveListing) t
      = mugai_archive_list (data, 700, MUGAI_DOC_TAR, "six.tar", &wide);
  g_assert_nonnull (t->error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/arclist/zip-members", test_zip_members);
  g_test_add_func ("/arclist/cp932-names", test_cp932_names);
  g_test_add_func ("/arclist/nested", test_nested);
  g_test_add_func ("/arclist/encrypted", test_encrypted);
  g_test_add_func ("/arclist/limits", test_limits);
  g_test_add_func ("/arclist/other-formats", test_other_formats);
  g_test_add_func ("/arclist/damaged", test_damaged);
  return testfiles_run_tests (&dir);
}
