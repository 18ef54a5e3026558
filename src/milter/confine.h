/*
 * confine.h - what a worker may still do once its engines are loaded
 *
 * DESCRIPTION
 *	mugai_worker_confine() is called in every worker right after the
 *	pool forks it, before its first message, and cannot be undone:
 *
 *	- PR_SET_DUMPABLE 0: no process of the same uid (a filter that got
 *	  out of its sandbox) may ptrace it or open its /proc/PID/mem;
 *	- Landlock (landlock.h): read and execute the system (/usr, /etc,
 *	  /proc, /sys, /dev), the filters and LibreOffice; write only the
 *	  temporary directory (libclamav's temporary files, the filters'
 *	  private directories), /tmp (LibreOffice binds its pipe there),
 *	  /dev/shm and the null devices.  The quarantine, the audit log, the
 *	  spool, run_dir and every home directory are out of reach even
 *	  were they readable by the workers' user;
 *	- seccomp: an Internet (or any but Unix) socket() kills the worker;
 *	  connect() fails (EACCES); ptrace, process_vm_readv/writev,
 *	  pivot_root, chroot, setns, the new mount API, kernel modules and
 *	  keyrings, bpf, perf, userfaultfd, io_uring, handle-based opens,
 *	  clock and reboot calls kill it.  mount() itself is left to
 *	  Landlock, which refuses every mount of a process in its domain:
 *	  so the filters a confined worker starts get no mount namespace of
 *	  their own (sandbox.c's fallback: LibreOffice's pipe in /tmp).
 *
 *	Both are inherited by everything the worker starts: a filter runs
 *	under the worker's domain and its own (the sandbox's) together.
 *	That is why this is a denylist and allows execve, fork and
 *	socketpair: the filters and LibreOffice must still run under it.
 *	What an exploited worker could execute is limited by Landlock to the
 *	system's own programs, under the same filter.
 *
 *	What is in force is appended to layers ("seccomp landlock-abi=3
 *	nodump"); a layer the kernel refuses is left out of it and the
 *	worker goes on with the others (the pool logs a warning naming
 *	what remains).
 */
#pragma once

#include <glib.h>

typedef struct
{
  const char *tmp_dir;     /* the workers' temporary directory */
  const char *filters_dir; /* [sandbox] filters */
  const char *soffice;     /* [sandbox] soffice, or NULL */
  int landlock_max_abi;    /* 0: the kernel's; the tests set 1, 2 or -1 (none) */
} MugaiWorkerJail;

/* TRUE when every layer is in force; FALSE (error set) when one could
 * not be, the others still applied. */
gboolean mugai_worker_confine (const MugaiWorkerJail *jail, GString *layers, GError **error);

/* What mugai_worker_confine() will put in force on this kernel, for
 * mugai-milter -t and the start-up log: "seccomp, Landlock ABI 3, not
 * dumpable"; *complete is FALSE when a layer is missing (the text says
 * which). */
char *mugai_worker_confinement_text (gboolean *complete);
