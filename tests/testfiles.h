/*
 * testfiles.h - real inputs made at test time, for the unit tests
 *
 * DESCRIPTION
 *	Archives and documents are made by the programs that make them for
 *	users (zip, 7z, gzip, tar), in a temporary directory, so that the
 *	detectors are tested on what they will meet, not on bytes written to
 *	please them.  A test that cannot run one of those programs fails.
 *
 *	testfiles_dir_new()       a fresh temporary directory (owned path)
 *	testfiles_put()           a file in it (subdirectories made)
 *	testfiles_below_file()    a path below a regular file made in it
 *	                          (that no one, root included, can create)
 *	testfiles_run()           a command run in it (argv), must succeed
 *	testfiles_read()          a file of it, as GBytes
 *	testfiles_rm_rf()         a directory removed with all it holds
 *	testfiles_run_tests()     g_test_run() with a fresh directory made
 *	                          in *dir before and removed after
 *	testfiles_cfb()           a minimal OLE compound file (MS-CFB v3)
 *	                          whose root holds the named entries, the
 *	                          same layout as tests/threatmail.py's cfb()
 */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

static inline char *
testfiles_dir_new (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("mugai-test-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static inline void
testfiles_put (const char *dir, const char *name, const void *data, gssize len)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, data, len < 0 ? (gssize)strlen (data) : len, &error);
  g_assert_no_error (error);
}

static inline char *
testfiles_below_file (const char *dir, const char *name, char **file)
{
  testfiles_put (dir, "file", "", 0);
  *file = g_build_filename (dir, "file", NULL);
  return g_build_filename (*file, name, NULL);
}

static inline void
testfiles_run (const char *dir, const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  const char *env[] = { "LC_ALL=C", "PATH=/usr/local/bin:/usr/bin:/bin", NULL };
  if (!g_spawn_sync (dir, (char **)argv, (char **)env, G_SPAWN_SEARCH_PATH_FROM_ENVP, NULL, NULL,
                     &out, &err, &status, &error))
    g_error ("%s: %s", argv[0], error->message);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("%s: %s\n%s%s", argv[0], error->message, out, err);
}

static inline GBytes *
testfiles_read (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  char *data = NULL;
  gsize len = 0;
  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

static inline void
testfiles_rm_rf (const char *dir)
{
  const char *argv[] = { "rm", "-rf", "--", dir, NULL };
  testfiles_run ("/", argv);
}

static inline int
testfiles_run_tests (char **dir)
{
  *dir = testfiles_dir_new ();
  int rc = g_test_run ();
  testfiles_rm_rf (*dir);
  g_clear_pointer (dir, g_free);
  return rc;
}

typedef struct
{
  const char *name; /* ASCII */
  guint8 type;      /* 1 storage, 2 stream */
} TestCfbEntry;

static inline void
testfiles_put32 (guint8 *p, guint32 v)
{
  p[0] = v & 0xff, p[1] = (v >> 8) & 0xff, p[2] = (v >> 16) & 0xff, p[3] = v >> 24;
}

static inline GBytes *
testfiles_cfb (const TestCfbEntry *entries, gsize n)
{
  const guint32 FREE = 0xFFFFFFFFu, END = 0xFFFFFFFEu, FATSECT = 0xFFFFFFFDu;
  gsize count = n + 1, ndir = (count + 3) / 4;
  gsize len = 512 + 512 + 512 * ndir;
  guint8 *d = g_malloc0 (len);
  static const guint8 magic[] = { 0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1 };
  memcpy (d, magic, sizeof magic);
  const guint16 h16[] = { 0x3E, 3, 0xFFFE, 9, 6 };
  for (gsize i = 0; i < G_N_ELEMENTS (h16); i++)
    d[24 + 2 * i] = h16[i] & 0xff, d[25 + 2 * i] = h16[i] >> 8;
  const guint32 h32[] = { 0, 1, 1, 0, 4096, END, 0, END, 0 };
  for (gsize i = 0; i < G_N_ELEMENTS (h32); i++)
    testfiles_put32 (d + 40 + 4 * i, h32[i]);
  testfiles_put32 (d + 76, 0);
  for (gsize i = 1; i < 109; i++)
    testfiles_put32 (d + 76 + 4 * i, FREE);
  /* the FAT: itself, then the directory's chain */
  guint8 *fat = d + 512;
  memset (fat, 0xff, 512);
  testfiles_put32 (fat, FATSECT);
  for (gsize i = 1; i <= ndir; i++)
    testfiles_put32 (fat + 4 * i, i < ndir ? (guint32)i + 1 : END);
  for (gsize i = 0; i < count; i++)
    {
      guint8 *e = d + 1024 + 128 * i;
      const char *name = i == 0 ? "Root Entry" : entries[i - 1].name;
      gsize nl = strlen (name);
      for (gsize c = 0; c < nl && c < 31; c++)
        e[2 * c] = (guint8)name[c];
      e[64] = (guint8)(2 * MIN (nl, 31) + 2);
      e[66] = i == 0 ? 5 : entries[i - 1].type;
      e[67] = 1;
      guint32 right = (i > 0 && i < count - 1) ? (guint32)i + 1 : FREE;
      guint32 child = (i == 0 && count > 1) ? 1 : FREE;
      testfiles_put32 (e + 68, FREE);
      testfiles_put32 (e + 72, right);
      testfiles_put32 (e + 76, child);
      testfiles_put32 (e + 116, END);
    }
  return g_bytes_new_take (d, len);
}
