/*
 * fuzz-replay.c - a main() for a libFuzzer target, for the ordinary tree
 *
 * SYNOPSIS
 *	fuzz-replay-TARGET --suffix SUFFIX DIR... [--optional DIR...]
 *
 * DESCRIPTION
 *	Linked with one fuzz/fuzz-TARGET.c instead of libFuzzer: calls its
 *	LLVMFuzzerInitialize() once, then its LLVMFuzzerTestOneInput() on
 *	every regular file of each DIR whose name ends in SUFFIX, in name
 *	order, each in a buffer of exactly its length.  Prints TAP: one
 *	"ok" per file.  A target reports a broken promise by aborting, so a
 *	failure is the test's crash, after a "# FILE" line that names the
 *	input; a DIR with no such file is "not ok" (a seed directory that
 *	went missing must not pass).  Under the ASan tree the sanitizers
 *	judge every input as they would under libFuzzer.  A DIR after
 *	--optional may hold no such file (fuzz/crashes/ before the fuzzer
 *	has found anything for TARGET).
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

int
main (int argc, char **argv)
{
  if (argc < 4 || strcmp (argv[1], "--suffix") != 0)
    {
      fprintf (stderr, "usage: %s --suffix SUFFIX DIR... [--optional DIR...]\n", argv[0]);
      return 64;
    }
  const char *suffix = argv[2];
  LLVMFuzzerInitialize (&argc, &argv);

  guint n = 0;
  gboolean failed = FALSE;
  gboolean optional = FALSE;
  for (int i = 3; i < argc; i++)
    {
      if (strcmp (argv[i], "--optional") == 0)
        {
          optional = TRUE;
          continue;
        }
      g_autoptr (GError) error = NULL;
      g_autoptr (GDir) dir = g_dir_open (argv[i], 0, &error);
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        if (g_str_has_suffix (name, suffix))
          g_ptr_array_add (names, g_build_filename (argv[i], name, NULL));
      g_ptr_array_sort (names, compare_names);
      if (names->len == 0 && optional && dir != NULL)
        continue;
      if (names->len == 0)
        {
          printf ("not ok %u - %s: no *%s file (%s)\n", ++n, argv[i], suffix,
                  error != NULL ? error->message : "empty");
          failed = TRUE;
          continue;
        }
      for (guint j = 0; j < names->len; j++)
        {
          const char *path = names->pdata[j];
          g_autofree char *contents = NULL;
          gsize len;
          g_autoptr (GError) read_error = NULL;

          if (!g_file_get_contents (path, &contents, &len, &read_error))
            {
              printf ("not ok %u - %s: %s\n", ++n, path, read_error->message);
              failed = TRUE;
              continue;
            }
          printf ("# %s\n", path);
          fflush (stdout);
          /* exactly len octets, as libFuzzer passes them */
          g_autofree guint8 *data = g_memdup2 (contents, len);
          LLVMFuzzerTestOneInput (data, len);
          printf ("ok %u - %s (%" G_GSIZE_FORMAT " octets)\n", ++n, path, len);
        }
    }
  printf ("1..%u\n", n);
  return failed ? 1 : 0;
}
