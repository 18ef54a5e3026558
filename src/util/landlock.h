/*
 * landlock.h - the kernel's Landlock: a process limits the files it (and
 *              every process it starts) may ever open again
 *
 * DESCRIPTION
 *	mugai_landlock_restrict() builds a ruleset that handles every
 *	file-system right the running kernel knows (its ABI: 1 on Linux
 *	5.13, 2 on 5.19 and Debian 12's 6.1, 3 from 6.2, ...), allows the
 *	rights given for each path beneath it, and puts it in force for the
 *	calling thread and everything it forks or executes afterwards.  A
 *	domain can only be narrowed: a process under it cannot undo it, and
 *	a child that adds one of its own gets the intersection of both.
 *	PR_SET_NO_NEW_PRIVS must be set first (it is, here).
 *
 *	Paths that do not exist are skipped (a font directory a machine does
 *	not have); rights the kernel does not know are dropped from the
 *	rules, and the kernel then does not restrict them either (said in
 *	*abi_out: the caller logs the level it got).
 *
 * ERRORS
 *	G_IO_ERROR_NOT_SUPPORTED: the kernel has no Landlock (or it is off:
 *	lsm= on the kernel command line); nothing was changed.
 *	G_IO_ERROR_FAILED: a system call failed; nothing was put in force.
 */
#pragma once

#include <glib.h>

/* The rights a path may be given (beneath it, recursively). */
typedef enum
{
  MUGAI_LANDLOCK_READ = 1 << 0,    /* open files for reading, list directories */
  MUGAI_LANDLOCK_EXECUTE = 1 << 1, /* execve files */
  MUGAI_LANDLOCK_WRITE = 1 << 2,   /* open files for writing, truncate */
  MUGAI_LANDLOCK_CREATE = 1 << 3,  /* make and remove files, directories, sockets, FIFOs;
                                    * rename within */
} MugaiLandlockRights;

typedef struct
{
  const char *path;
  MugaiLandlockRights rights;
} MugaiLandlockPath;

/* The ABI version of the running kernel's Landlock, 0 when there is none. */
int mugai_landlock_abi (void);

/* max_abi: use at most this ABI (the tests try Debian 12's 2 and the
 * first, 1, on a newer kernel), 0 for the kernel's, -1 for none at all
 * (the tests of what happens without Landlock). */
gboolean mugai_landlock_restrict (const MugaiLandlockPath *paths, gsize n, int max_abi,
                                  int *abi_out, GError **error);
