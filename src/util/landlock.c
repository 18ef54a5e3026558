/*
 * landlock.c - Landlock rulesets through the raw system calls (see
 *              landlock.h); glibc has no wrappers for them
 */
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Rights added after ABI 1, defined here for older headers. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_CREATE                                                                                  \
  (LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR    \
   | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO     \
   | LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER)

/* Every file-system right ABI n handles. */
static guint64
handled_by (int abi)
{
  guint64 all = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | FS_READ
                | (FS_CREATE & ~LANDLOCK_ACCESS_FS_REFER) | LANDLOCK_ACCESS_FS_MAKE_CHAR
                | LANDLOCK_ACCESS_FS_MAKE_BLOCK;
  if (abi >= 2)
    all |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3)
    all |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5)
    all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  return all;
}

int
mugai_landlock_abi (void)
{
  long abi = syscall (__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi > 0 ? (int)abi : 0;
}

static guint64
rights_of (MugaiLandlockRights r)
{
  guint64 a = 0;
  if (r & MUGAI_LANDLOCK_READ)
    a |= FS_READ;
  if (r & MUGAI_LANDLOCK_EXECUTE)
    a |= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE;
  if (r & MUGAI_LANDLOCK_WRITE)
    a |= LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV;
  if (r & MUGAI_LANDLOCK_CREATE)
    a |= FS_CREATE;
  return a;
}

gboolean
mugai_landlock_restrict (const MugaiLandlockPath *paths, gsize n, int max_abi, int *abi_out,
                         GError **error)
{
  int abi = max_abi < 0 ? 0 : mugai_landlock_abi ();
  if (max_abi > 0 && abi > max_abi)
    abi = max_abi;
  if (abi_out)
    *abi_out = abi;
  if (abi == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "the kernel has no Landlock (Linux 5.13 or later, with landlock in lsm=)");
      return FALSE;
    }
  guint64 handled = handled_by (abi);
  struct landlock_ruleset_attr attr = { .handled_access_fs = handled };
  /* the attribute's size is the ABI's: an older kernel refuses a
   * structure with members it does not know */
  int ruleset
      = (int)syscall (__NR_landlock_create_ruleset, &attr, sizeof attr.handled_access_fs, 0);
  if (ruleset < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "landlock_create_ruleset: %s",
                   g_strerror (errno));
      return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    {
      int fd = open (paths[i].path, O_PATH | O_CLOEXEC);
      if (fd < 0)
        continue; /* not on this machine */
      struct stat st;
      guint64 allowed = rights_of (paths[i].rights) & handled;
      /* rights that only make sense on a directory are refused on a file */
      if (fstat (fd, &st) == 0 && !S_ISDIR (st.st_mode))
        allowed &= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE
                   | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE
                   | LANDLOCK_ACCESS_FS_IOCTL_DEV;
      struct landlock_path_beneath_attr rule = { .allowed_access = allowed, .parent_fd = fd };
      long r = allowed
                   ? syscall (__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0)
                   : 0;
      int e = errno;
      close (fd);
      if (r != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "landlock_add_rule %s: %s",
                       paths[i].path, g_strerror (e));
          close (ruleset);
          return FALSE;
        }
    }
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
      || syscall (__NR_landlock_restrict_self, ruleset, 0) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "landlock_restrict_self: %s",
                   g_strerror (errno));
      close (ruleset);
      return FALSE;
    }
  close (ruleset);
  return TRUE;
}
