/*
 * buildtree.c - where a program run from its build tree finds its parts
 *
 * DESCRIPTION
 *	See buildtree.h.
 */
#include "buildtree.h"

#include <stdlib.h>
#include <string.h>

#include "mugai-build.h"

/* Is path inside dir (dir itself or below it)? */
static gboolean
path_within (const char *path, const char *dir)
{
  gsize n = strlen (dir);
  while (n > 1 && dir[n - 1] == '/')
    n--;
  return n > 0 && strncmp (path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

const char *
mugai_build_tree (void)
{
  static gsize once = 0;
  static const char *tree = NULL;
  if (g_once_init_enter (&once))
    {
      g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
      /* a real path on both sides: a build tree reached through a
       * symbolic link is still the same tree */
      g_autofree char *root = g_canonicalize_filename (MUGAI_BUILD_ROOT, "/");
      char *real = realpath (root, NULL);
      if (exe && real && path_within (exe, real))
        tree = g_strdup (real); /* kept for the process's life */
      free (real);
      g_once_init_leave (&once, 1);
    }
  return tree;
}

const char *
mugai_default_filters_dir (void)
{
  static gsize once = 0;
  static const char *dir = NULL;
  if (g_once_init_enter (&once))
    {
      const char *tree = mugai_build_tree ();
      dir = tree ? g_build_filename (tree, "filters", NULL) : MUGAI_FILTERDIR;
      g_once_init_leave (&once, 1);
    }
  return dir;
}
