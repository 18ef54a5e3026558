/*
 * lockdown.c - the seccomp allowlist every filter puts in force before it
 *              reads the document (see lockdown.h)
 *
 * DESCRIPTION
 *	mugai_filter_lockdown() sets PR_SET_NO_NEW_PRIVS and loads one
 *	libseccomp filter whose default action is SCMP_ACT_KILL_PROCESS.
 *	The allowed system calls are the table syscalls[] below, in one
 *	place so that a filter author who finds a missing call adds one
 *	line.  A row names the call and how it is judged:
 *
 *	ALLOW		always allowed (it can only touch descriptors the
 *			process already holds, its own memory, time, exit)
 *	OPEN_READ	open/openat: allowed when the flags ask for neither
 *			write access, O_CREAT nor O_TRUNC (fonts are opened
 *			lazily by fontconfig and FreeType while poppler
 *			renders); any other open fails with EACCES, so that a
 *			library that tries to write a cache carries on.  With
 *			MUGAI_LOCKDOWN_ALLOW_TMP_WRITE every open is allowed.
 *	TMP_WRITE	calls that change files (unlink, rename, ftruncate,
 *			...): allowed with MUGAI_LOCKDOWN_ALLOW_TMP_WRITE,
 *			otherwise EACCES.
 *	NO_EXEC_PROT	mmap/mprotect: allowed unless PROT_EXEC is asked for,
 *			which fails with EPERM.  Code that a memory corruption
 *			wrote cannot be made executable; a library that
 *			dlopen()s after the lockdown (iconv's gconv modules)
 *			gets an error, not a kill: load such modules before.
 *	FCNTL_SAFE	fcntl: descriptor flags, status flags, dup; no locks,
 *			no leases, no owner changes.
 *	PRLIMIT_READ	prlimit64 with new_limit NULL (getrlimit()).
 *	TGKILL_SELF	tgkill to this process only: abort() and raise()
 *			end the filter with the signal they name, which the
 *			sandbox reports as a crash rather than as a violation.
 *	ENOTTY		ioctl: fails with ENOTTY without reaching a driver;
 *			isatty() is the only ioctl a filter makes.
 *	ENOSYS		openat2: its flags sit behind a pointer seccomp
 *			cannot read; ENOSYS makes callers fall back to openat.
 *
 *	Everything else - socket, connect, execve, fork, clone, clone3
 *	(the filters are single-threaded: poppler and cairo start no
 *	threads), ptrace, kill, mount, unshare, setuid, bpf, ... - kills
 *	the whole process with SIGSYS, which the sandbox reports as
 *	MUGAI_SANDBOX_SECCOMP.  SCMP_FLTATR_CTL_TSYNC puts the filter on
 *	every thread if a library did start one, or fails the lockdown.
 *
 *	Names are resolved by libseccomp for the architecture it runs on;
 *	a name that does not exist there (open, stat, access on aarch64) is
 *	skipped, so one table serves x86_64 and aarch64.  A call of another
 *	ABI (x32, i386 on x86_64) kills the process (SCMP_FLTATR_ACT_BADARCH).
 *
 *	Integer arguments are compared through a 32-bit mask: the kernel
 *	reads them as int, and glibc does not promise what the upper half
 *	of the register holds.
 *
 *	In AddressSanitizer builds, LeakSanitizer is switched off through
 *	__asan_default_options(): its exit-time check starts a tracer
 *	thread with clone() and ptrace(), which the filter forbids, so every
 *	filter would otherwise die of SIGSYS at exit.
 *
 * DIAGNOSTICS
 *	FALSE with G_IO_ERROR_FAILED when prctl or libseccomp fail, naming
 *	the call; the filter must then exit without reading its input.
 *
 *	mugai_filter_confine_foreign() is a second allowlist, for a program
 *	mugai does not write (LibreOffice, filters/soffice.c), built from
 *	what it does in headless convert mode (strace -f of
 *	tests/filter-soffice.py): some 20 threads; file system calls of
 *	every kind (Landlock, put in force by the sandbox before the filter
 *	starts, decides which files); bind, listen and accept on its
 *	single-instance pipe (a Unix stream socket; it will not start
 *	without one) and socketpairs; a fork for popen("paperconf").  The
 *	table foreign_allow[] lists the calls allowed outright; with
 *	arguments judged: socket() of anything but a Unix stream socket and
 *	every connect() fail (EACCES); setsid and setpgid fail (EPERM), so
 *	that nothing leaves the run's process group; signals only to the
 *	own process group and own threads (EPERM); prlimit64 only on itself
 *	(EPERM); clone without namespace flags; execve only of the program
 *	the caller names, in the one call it makes next (the path's address
 *	is compared: a copy at a random address that the program, in its
 *	new address space, cannot know), so LibreOffice's popen child dies
 *	and LibreOffice takes its default paper size.  A call in
 *	foreign_kill[] kills the process: ptrace, process_vm_*,
 *	pidfd_getfd, mount and the new mount API, unshare, setns, clone with
 *	namespace flags, execveat, any other execve, modules, kexec, bpf,
 *	perf_event_open, userfaultfd, keyrings, io_uring, handles, swap,
 *	reboot, clocks, host names.  Any other call fails with ENOSYS
 *	rather than killing: glibc falls back where it can (clone3 to clone,
 *	whose flags are checked), and one optional call LibreOffice makes on
 *	one rare document that the strace did not see costs a feature, not
 *	the conversion.
 *
 * BUGS
 *	Read-only opens of any path the process may read are allowed by
 *	seccomp: Landlock, applied by the sandbox before the filter starts,
 *	limits them to the system's libraries, fonts and configuration
 *	(where the kernel has no Landlock, the permissions of the filter's
 *	uid are all there is).  The foreign allowlist lets LibreOffice fork
 *	(up to RLIMIT_NPROC) and bind() a Unix socket; where the kernel
 *	gives the sandbox no network namespace and no Landlock scope (ABI
 *	6), that includes names in the host's abstract namespace.  The one
 *	execve is recognised by an address: a program that guessed it
 *	(one guess per process, each wrong one kills; some 2^35 pages to
 *	draw from on x86_64) could execute what Landlock lets it execute.
 */
#include "lockdown.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum
{
  ALLOW,
  OPEN_READ,
  TMP_WRITE,
  NO_EXEC_PROT,
  FCNTL_SAFE,
  PRLIMIT_READ,
  TGKILL_SELF,
  ENOTTY_ERR,
  ENOSYS_ERR,
} RuleKind;

typedef struct
{
  const char *name;
  RuleKind kind;
  guint flags_arg; /* OPEN_READ, NO_EXEC_PROT: which argument holds the flags */
} SyscallRule;

/* The allowlist.  Filter authors: one line per call, with the reason when
 * it is not obvious. */
static const SyscallRule syscalls[] = {
  /* reading and writing descriptors the process holds */
  { "read", ALLOW },
  { "readv", ALLOW },
  { "pread64", ALLOW },
  { "preadv", ALLOW },
  { "write", ALLOW },
  { "writev", ALLOW },
  { "lseek", ALLOW },
  { "close", ALLOW },
  { "dup", ALLOW },
  { "dup2", ALLOW },
  { "dup3", ALLOW },
  { "fcntl", FCNTL_SAFE },
  { "ioctl", ENOTTY_ERR },
  { "fadvise64", ALLOW },

  /* file metadata and read-only opens (fontconfig, FreeType) */
  { "open", OPEN_READ, 1 },
  { "openat", OPEN_READ, 2 },
  { "openat2", ENOSYS_ERR },
  { "creat", TMP_WRITE },
  { "fstat", ALLOW },
  { "stat", ALLOW },
  { "lstat", ALLOW },
  { "newfstatat", ALLOW },
  { "statx", ALLOW },
  { "fstatfs", ALLOW }, /* fontconfig: is the cache file system mmap-safe */
  { "statfs", ALLOW },
  { "getdents64", ALLOW },
  { "getdents", ALLOW },
  { "readlink", ALLOW },
  { "readlinkat", ALLOW },
  { "access", ALLOW },
  { "faccessat", ALLOW },
  { "faccessat2", ALLOW },
  { "getcwd", ALLOW },

  /* changing files: only for MUGAI_LOCKDOWN_ALLOW_TMP_WRITE */
  { "pwrite64", TMP_WRITE },
  { "pwritev", TMP_WRITE },
  { "ftruncate", TMP_WRITE },
  { "fallocate", TMP_WRITE },
  { "fsync", TMP_WRITE },
  { "fdatasync", TMP_WRITE },
  { "unlink", TMP_WRITE },
  { "unlinkat", TMP_WRITE },
  { "rename", TMP_WRITE },
  { "renameat", TMP_WRITE },
  { "renameat2", TMP_WRITE },

  /* memory */
  { "brk", ALLOW },
  { "mmap", NO_EXEC_PROT, 2 },
  { "mprotect", NO_EXEC_PROT, 2 },
  { "munmap", ALLOW },
  { "mremap", ALLOW },
  { "madvise", ALLOW },

  /* signals, synchronisation */
  { "futex", ALLOW },
  { "rt_sigreturn", ALLOW },
  { "rt_sigprocmask", ALLOW },
  { "rt_sigaction", ALLOW },
  { "sigaltstack", ALLOW },
  { "restart_syscall", ALLOW },
  { "tgkill", TGKILL_SELF },

  /* time */
  { "clock_gettime", ALLOW },
  { "clock_getres", ALLOW },
  { "clock_nanosleep", ALLOW },
  { "nanosleep", ALLOW },
  { "gettimeofday", ALLOW },
  { "time", ALLOW },

  /* what the process may learn about itself */
  { "getpid", ALLOW },
  { "gettid", ALLOW },
  { "getuid", ALLOW },
  { "geteuid", ALLOW },
  { "getgid", ALLOW },
  { "getegid", ALLOW },
  { "getrandom", ALLOW },
  { "sched_yield", ALLOW },
  { "sched_getaffinity", ALLOW },
  { "prlimit64", PRLIMIT_READ },
  { "getrlimit", ALLOW },
  { "getrusage", ALLOW },
  { "uname", ALLOW },
  { "sysinfo", ALLOW },

  /* the end */
  { "exit", ALLOW },
  { "exit_group", ALLOW },
};

#define ARG32 0xffffffffu

static int
add_rule (scmp_filter_ctx ctx, const SyscallRule *rule, int nr, MugaiLockdownFlags flags)
{
  gboolean tmp_write = (flags & MUGAI_LOCKDOWN_ALLOW_TMP_WRITE) != 0;
  int rc = 0;

  switch (rule->kind)
    {
    case ALLOW:
      return seccomp_rule_add (ctx, SCMP_ACT_ALLOW, nr, 0);

    case TMP_WRITE:
      return seccomp_rule_add (ctx, tmp_write ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO (EACCES), nr, 0);

    case OPEN_READ:
      {
        if (tmp_write)
          return seccomp_rule_add (ctx, SCMP_ACT_ALLOW, nr, 0);
        /* Allowed: none of the bits below.  Refused: any one of them.
         * The conditions cover every value, so the default (kill) is
         * never reached for an open.  O_TMPFILE needs write access and
         * is caught by O_ACCMODE; O_TRUNC truncates even with O_RDONLY
         * on Linux when the caller may write. */
        const scmp_datum_t bad[] = { O_WRONLY, O_RDWR, O_ACCMODE, O_CREAT, O_TRUNC };
        const scmp_datum_t mask = O_ACCMODE | O_CREAT | O_TRUNC;
        unsigned arg = rule->flags_arg;
        rc = seccomp_rule_add (ctx, SCMP_ACT_ALLOW, nr, 1,
                               SCMP_CMP (arg, SCMP_CMP_MASKED_EQ, mask, 0));
        for (gsize i = 0; rc == 0 && i < G_N_ELEMENTS (bad); i++)
          {
            scmp_datum_t m = bad[i] == O_CREAT || bad[i] == O_TRUNC ? bad[i] : O_ACCMODE;
            rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), nr, 1,
                                   SCMP_CMP (arg, SCMP_CMP_MASKED_EQ, m, bad[i]));
          }
        return rc;
      }

    case NO_EXEC_PROT:
      rc = seccomp_rule_add (ctx, SCMP_ACT_ALLOW, nr, 1,
                             SCMP_CMP (rule->flags_arg, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
      if (rc == 0)
        rc = seccomp_rule_add (
            ctx, SCMP_ACT_ERRNO (EPERM), nr, 1,
            SCMP_CMP (rule->flags_arg, SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
      return rc;

    case FCNTL_SAFE:
      {
        const scmp_datum_t cmds[]
            = { F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD, F_DUPFD_CLOEXEC };
        for (gsize i = 0; rc == 0 && i < G_N_ELEMENTS (cmds); i++)
          rc = seccomp_rule_add (ctx, SCMP_ACT_ALLOW, nr, 1,
                                 SCMP_A1 (SCMP_CMP_MASKED_EQ, ARG32, cmds[i]));
        return rc;
      }

    case PRLIMIT_READ:
      return seccomp_rule_add (ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A2 (SCMP_CMP_EQ, 0));

    case TGKILL_SELF:
      return seccomp_rule_add (ctx, SCMP_ACT_ALLOW, nr, 1,
                               SCMP_A0 (SCMP_CMP_MASKED_EQ, ARG32, (scmp_datum_t)getpid ()));

    case ENOTTY_ERR:
      return seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOTTY), nr, 0);

    case ENOSYS_ERR:
      return seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), nr, 0);
    }
  g_assert_not_reached ();
}

static void
release_ctx (scmp_filter_ctx *ctx)
{
  if (*ctx != NULL)
    seccomp_release (*ctx);
}

/* no_new_privs, then a filter context with default action def, bad
 * architectures killed, synchronised to every thread.  NULL with error. */
static scmp_filter_ctx
new_filter (uint32_t def, GError **error)
{
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no_new_privs: %s", g_strerror (errno));
      return NULL;
    }
  scmp_filter_ctx ctx = seccomp_init (def);
  if (ctx == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "seccomp_init failed");
      return NULL;
    }
  int rc = seccomp_attr_set (ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc == 0)
    rc = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_TSYNC, 1);
  if (rc != 0)
    {
      seccomp_release (ctx);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "seccomp_attr_set: %s", g_strerror (-rc));
      return NULL;
    }
  return ctx;
}

gboolean
mugai_filter_lockdown (MugaiLockdownFlags flags, GError **error)
{
  __attribute__ ((cleanup (release_ctx))) scmp_filter_ctx ctx
      = new_filter (SCMP_ACT_KILL_PROCESS, error);
  if (ctx == NULL)
    return FALSE;
  int rc;
  /* A binary tree of syscall numbers rather than a linear list; an
   * older libseccomp without it still gives a correct filter. */
  (void)seccomp_attr_set (ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

  for (gsize i = 0; i < G_N_ELEMENTS (syscalls); i++)
    {
      int nr = seccomp_syscall_resolve_name (syscalls[i].name);
      if (nr == __NR_SCMP_ERROR)
        continue; /* unknown to this libseccomp: stays forbidden */
      rc = add_rule (ctx, &syscalls[i], nr, flags);
      if (rc != 0 && nr < 0)
        continue; /* a pseudo number: the call does not exist on this architecture */
      if (rc != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "seccomp rule for %s: %s",
                       syscalls[i].name, g_strerror (-rc));
          return FALSE;
        }
    }

  rc = seccomp_load (ctx);
  if (rc != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "seccomp_load: %s", g_strerror (-rc));
      return FALSE;
    }
  return TRUE;
}

/* The calls of mugai_filter_confine_foreign() that let a compromised
 * program reach beyond its sandbox.  Every one kills. */
static const char *const foreign_kill[] = {
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "kcmp",
  "mount",
  "umount2",
  "pivot_root",
  "chroot",
  "move_mount",
  "open_tree",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "mount_setattr",
  "unshare",
  "setns",
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "bpf",
  "perf_event_open",
  "userfaultfd",
  "fanotify_init",
  "pidfd_getfd",
  "process_madvise",
  "keyctl",
  "add_key",
  "request_key",
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  "open_by_handle_at",
  "execveat", /* a descriptor's program: beyond Landlock's EXECUTE rules */
  "name_to_handle_at",
  "swapon",
  "swapoff",
  "reboot",
  "acct",
  "quotactl",
  "syslog",
  "iopl",
  "ioperm",
  "settimeofday",
  "clock_settime",
  "clock_adjtime",
  "adjtimex",
  "sethostname",
  "setdomainname",
  "vhangup",
};

/* A read-only copy of s in pages of their own at an address drawn at
 * random (not one the program executed next can learn: its address
 * space is new), or, where the kernel refuses every address drawn, where
 * mmap puts it.  NULL on failure. */
static const char *
copy_at_random (const char *s)
{
  gsize len = strlen (s) + 1;
  gsize page = (gsize)sysconf (_SC_PAGESIZE);
  gsize size = (len + page - 1) / page * page;
  void *p = MAP_FAILED;
  for (int i = 0; i < 32 && p == MAP_FAILED; i++)
    {
      guint64 r = 0;
      if (getrandom (&r, sizeof r, 0) != (ssize_t)sizeof r)
        break;
      /* between 4 GiB and 64 TiB: inside every 47-bit address space */
      guint64 lo = G_GUINT64_CONSTANT (1) << 32, hi = G_GUINT64_CONSTANT (1) << 46;
      guint64 addr = (lo + r % (hi - lo)) / page * page;
      p = mmap ((void *)(uintptr_t)addr, size, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    }
  if (p == MAP_FAILED)
    p = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  memcpy (p, s, len);
  if (mprotect (p, size, PROT_READ) != 0)
    return NULL;
  return p;
}

/* What the foreign allowlist lets through without looking at arguments:
 * what LibreOffice 7.4 makes in headless conversion (strace -f of
 * tests/filter-soffice.py, soffice.bin and its threads), what the
 * Python of that test's fake LibreOffice makes, and the neighbours of
 * both that glibc may pick instead (openat for open, ppoll for poll,
 * ...).  Anything not here and not below gets ENOSYS. */
static const char *const foreign_allow[] = {
  /* descriptors */
  "read",
  "write",
  "readv",
  "writev",
  "pread64",
  "pwrite64",
  "preadv",
  "pwritev",
  "preadv2",
  "pwritev2",
  "lseek",
  "close",
  "close_range",
  "dup",
  "dup2",
  "dup3",
  "fcntl",
  "ioctl",
  "fadvise64",
  "readahead",
  "sendfile",
  "copy_file_range",
  "splice",
  "tee",
  "flock",
  /* files: Landlock decides which */
  "open",
  "openat",
  "creat",
  "stat",
  "lstat",
  "fstat",
  "newfstatat",
  "statx",
  "fstatfs",
  "statfs",
  "getdents",
  "getdents64",
  "readlink",
  "readlinkat",
  "access",
  "faccessat",
  "faccessat2",
  "getcwd",
  "chdir",
  "fchdir",
  "umask",
  "mkdir",
  "mkdirat",
  "rmdir",
  "unlink",
  "unlinkat",
  "rename",
  "renameat",
  "renameat2",
  "link",
  "linkat",
  "symlink",
  "symlinkat",
  "chmod",
  "fchmod",
  "fchmodat",
  "chown",
  "fchown",
  "lchown",
  "fchownat",
  "utime",
  "utimes",
  "utimensat",
  "futimesat",
  "truncate",
  "ftruncate",
  "fallocate",
  "fsync",
  "fdatasync",
  "sync_file_range",
  "getxattr",
  "lgetxattr",
  "fgetxattr",
  "listxattr",
  "llistxattr",
  "flistxattr",
  "inotify_init",
  "inotify_init1",
  "inotify_add_watch",
  "inotify_rm_watch",
  /* memory */
  "brk",
  "mmap",
  "munmap",
  "mprotect",
  "mremap",
  "madvise",
  "msync",
  "mincore",
  "mlock",
  "munlock",
  "memfd_create",
  "membarrier",
  /* threads, signals to itself */
  "futex",
  "futex_waitv",
  "set_robust_list",
  "get_robust_list",
  "rseq",
  "set_tid_address",
  "arch_prctl",
  "rt_sigaction",
  "rt_sigprocmask",
  "rt_sigreturn",
  "rt_sigpending",
  "rt_sigtimedwait",
  "rt_sigsuspend",
  "sigaltstack",
  "restart_syscall",
  "pause",
  "prctl",
  "wait4",
  "waitid",
  "exit",
  "exit_group",
  "vfork",
  "fork",
  /* time */
  "clock_gettime",
  "clock_getres",
  "clock_nanosleep",
  "nanosleep",
  "gettimeofday",
  "time",
  "times",
  "alarm",
  "setitimer",
  "getitimer",
  "timer_create",
  "timer_settime",
  "timer_gettime",
  "timer_delete",
  "timer_getoverrun",
  "timerfd_create",
  "timerfd_settime",
  "timerfd_gettime",
  /* what it may learn about itself */
  "getpid",
  "getppid",
  "gettid",
  "getuid",
  "geteuid",
  "getgid",
  "getegid",
  "getgroups",
  "getresuid",
  "getresgid",
  "getpgrp",
  "getpgid",
  "getsid",
  "getrandom",
  "uname",
  "sysinfo",
  "getrlimit",
  "getrusage",
  "sched_yield",
  "sched_getaffinity",
  "sched_getparam",
  "sched_getscheduler",
  "sched_get_priority_max",
  "sched_get_priority_min",
  "getcpu",
  "capget",
  "ioprio_get",
  "getpriority",
  /* waiting, its own pipes and its Unix socket (Landlock decides where it
   * may be bound; connect() is refused below) */
  "poll",
  "ppoll",
  "select",
  "pselect6",
  "epoll_create",
  "epoll_create1",
  "epoll_ctl",
  "epoll_wait",
  "epoll_pwait",
  "epoll_pwait2",
  "eventfd",
  "eventfd2",
  "pipe",
  "pipe2",
  "socketpair",
  "bind",
  "listen",
  "accept",
  "accept4",
  "shutdown",
  "getsockname",
  "getpeername",
  "setsockopt",
  "getsockopt",
  "sendto",
  "recvfrom",
  "sendmsg",
  "recvmsg",
  "sendmmsg",
  "recvmmsg",
};

/* Adds rule for the call name if this architecture has it.  0 or -errno. */
static int
foreign_rule (scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
              const struct scmp_arg_cmp *cmp)
{
  int nr = seccomp_syscall_resolve_name (name);
  if (nr == __NR_SCMP_ERROR)
    return 0;
  int rc = seccomp_rule_add_array (ctx, action, nr, n, cmp);
  return rc != 0 && nr < 0 ? 0 : rc; /* a pseudo number: not on this architecture */
}

gboolean
mugai_filter_confine_foreign (const char *program, const char **exec_path, GError **error)
{
  g_return_val_if_fail ((program == NULL) == (exec_path == NULL), FALSE);
  const char *path = NULL;
  if (program != NULL && (path = copy_at_random (program)) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "mmap: %s", g_strerror (errno));
      return FALSE;
    }
  /* Unlisted calls fail with ENOSYS: glibc falls back where it can
   * (clone3 to clone, whose flags are checked here) and LibreOffice
   * carries on where a call is optional. */
  __attribute__ ((cleanup (release_ctx))) scmp_filter_ctx ctx
      = new_filter (SCMP_ACT_ERRNO (ENOSYS), error);
  if (ctx == NULL)
    return FALSE;
  int rc = 0;
  for (gsize i = 0; rc == 0 && i < G_N_ELEMENTS (foreign_allow); i++)
    rc = foreign_rule (ctx, SCMP_ACT_ALLOW, foreign_allow[i], 0, NULL);

  /* execve: only the one call the caller makes next, recognised by the
   * address of its path (which the program it starts does not know);
   * any other kills.  Every later execve - a compromised LibreOffice's,
   * or its popen("paperconf") - dies of SIGSYS. */
  const scmp_datum_t exec_ok = (scmp_datum_t)(uintptr_t)path;
  if (rc == 0 && path != NULL)
    rc = foreign_rule (ctx, SCMP_ACT_ALLOW, "execve", 1,
                       (struct scmp_arg_cmp[]){ SCMP_A0 (SCMP_CMP_EQ, exec_ok) });
  if (rc == 0)
    rc = foreign_rule (ctx, SCMP_ACT_KILL_PROCESS, "execve", path != NULL ? 1 : 0,
                       (struct scmp_arg_cmp[]){ SCMP_A0 (SCMP_CMP_NE, exec_ok) });

  /* Sockets: Unix stream sockets only, for LibreOffice's own
   * single-instance pipe (it will not start without one), and connect()
   * refused, so that no socket reaches anything.  A Unix datagram socket
   * could reach one with sendto(), so only SOCK_STREAM is allowed. */
  if (rc == 0)
    rc = foreign_rule (ctx, SCMP_ACT_ALLOW, "socket", 2,
                       (struct scmp_arg_cmp[]){ SCMP_A0 (SCMP_CMP_EQ, AF_UNIX),
                                                SCMP_A1 (SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM) });
  if (rc == 0)
    rc = foreign_rule (ctx, SCMP_ACT_ERRNO (EACCES), "socket", 1,
                       (struct scmp_arg_cmp[]){ SCMP_A0 (SCMP_CMP_NE, AF_UNIX) });
  const scmp_datum_t not_stream[] = { SOCK_DGRAM, SOCK_RAW,    SOCK_RDM, SOCK_SEQPACKET,
                                      SOCK_DCCP,  SOCK_PACKET, 0,        7,
                                      8,          9,           11,       12,
                                      13,         14,          15 };
  for (gsize i = 0; rc == 0 && i < G_N_ELEMENTS (not_stream); i++)
    rc = foreign_rule (ctx, SCMP_ACT_ERRNO (EACCES), "socket", 2,
                       (struct scmp_arg_cmp[]){ SCMP_A0 (SCMP_CMP_EQ, AF_UNIX),
                                                SCMP_A1 (SCMP_CMP_MASKED_EQ, 0xf, not_stream[i]) });
  if (rc == 0)
    rc = foreign_rule (ctx, SCMP_ACT_ERRNO (EACCES), "connect", 0, NULL);

  /* A new session or process group would leave the run's process group
   * (the sandbox's kill where it has no pid namespace): refused. */
  if (rc == 0)
    rc = foreign_rule (ctx, SCMP_ACT_ERRNO (EPERM), "setsid", 0, NULL);
  if (rc == 0)
    rc = foreign_rule (ctx, SCMP_ACT_ERRNO (EPERM), "setpgid", 0, NULL);

  /* clone: threads and fork; with a namespace flag it kills.  clone3's
   * flags sit behind a pointer: it is not listed (ENOSYS), and glibc
   * falls back to clone. */
  const scmp_datum_t ns_flags[] = { CLONE_NEWUSER, CLONE_NEWNS,  CLONE_NEWNET,   CLONE_NEWPID,
                                    CLONE_NEWIPC,  CLONE_NEWUTS, CLONE_NEWCGROUP };
  scmp_datum_t ns_all = 0;
  for (gsize i = 0; i < G_N_ELEMENTS (ns_flags); i++)
    ns_all |= ns_flags[i];
  if (rc == 0)
    rc = foreign_rule (ctx, SCMP_ACT_ALLOW, "clone", 1,
                       (struct scmp_arg_cmp[]){ SCMP_A0 (SCMP_CMP_MASKED_EQ, ns_all, 0) });
  for (gsize i = 0; rc == 0 && i < G_N_ELEMENTS (ns_flags); i++)
    rc = foreign_rule (
        ctx, SCMP_ACT_KILL_PROCESS, "clone", 1,
        (struct scmp_arg_cmp[]){ SCMP_A0 (SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]) });

  /* Signals: without a pid namespace kill() could reach the workers of
   * the same uid.  Only its own process group (kill with pid 0) and its
   * own threads (tgkill, sigqueue to itself). */
  const scmp_datum_t self = (scmp_datum_t)getpid ();
  const struct
  {
    const char *name;
    scmp_datum_t allowed;
  } signal_calls[] = {
    { "kill", 0 },
    { "tgkill", self },
    { "rt_sigqueueinfo", self },
    { "rt_tgsigqueueinfo", self },
  };
  for (gsize i = 0; rc == 0 && i < G_N_ELEMENTS (signal_calls); i++)
    {
      rc = foreign_rule (ctx, SCMP_ACT_ALLOW, signal_calls[i].name, 1,
                         (struct scmp_arg_cmp[]){ SCMP_A0 (SCMP_CMP_EQ, signal_calls[i].allowed) });
      if (rc == 0)
        rc = foreign_rule (
            ctx, SCMP_ACT_ERRNO (EPERM), signal_calls[i].name, 1,
            (struct scmp_arg_cmp[]){ SCMP_A0 (SCMP_CMP_NE, signal_calls[i].allowed) });
    }
  static const char *const signal_never[] = { "tkill", "pidfd_open", "pidfd_send_signal" };
  for (gsize i = 0; rc == 0 && i < G_N_ELEMENTS (signal_never); i++)
    rc = foreign_rule (ctx, SCMP_ACT_ERRNO (EPERM), signal_never[i], 0, NULL);

  /* prlimit64 on itself only (pid 0): another process of the same uid
   * could otherwise have its limits lowered */
  if (rc == 0)
    rc = foreign_rule (ctx, SCMP_ACT_ALLOW, "prlimit64", 1,
                       (struct scmp_arg_cmp[]){ SCMP_A0 (SCMP_CMP_EQ, 0) });
  if (rc == 0)
    rc = foreign_rule (ctx, SCMP_ACT_ERRNO (EPERM), "prlimit64", 1,
                       (struct scmp_arg_cmp[]){ SCMP_A0 (SCMP_CMP_NE, 0) });

  /* and what reaches beyond the sandbox kills, rather than ENOSYS: it is
   * an attack, not a feature probe */
  for (gsize i = 0; rc == 0 && i < G_N_ELEMENTS (foreign_kill); i++)
    rc = foreign_rule (ctx, SCMP_ACT_KILL_PROCESS, foreign_kill[i], 0, NULL);
  if (rc == 0)
    rc = seccomp_load (ctx);
  if (rc != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "seccomp (foreign): %s", g_strerror (-rc));
      return FALSE;
    }
  if (exec_path != NULL)
    *exec_path = path;
  return TRUE;
}

GBytes *
mugai_filter_read_stdin (gsize max, GError **error)
{
  /* The sandbox hands the document over in a memfd: its size is known
   * before anything is read, and a document over max is refused at once. */
  struct stat st;
  guint reserve = 0;
  if (fstat (STDIN_FILENO, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > 0)
    {
      if ((guint64)st.st_size > max)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "document larger than %zu octets",
                       max);
          return NULL;
        }
      reserve = (guint)MIN ((guint64)st.st_size + 1, (guint64)G_MAXUINT);
    }
  g_autoptr (GByteArray) buf = g_byte_array_sized_new (reserve);

  guint8 chunk[65536];
  for (;;)
    {
      ssize_t n = read (STDIN_FILENO, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "reading the document: %s",
                       g_strerror (errno));
          return NULL;
        }
      if (n == 0)
        break;
      if ((gsize)n > max - buf->len)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "document larger than %zu octets",
                       max);
          return NULL;
        }
      g_byte_array_append (buf, chunk, (guint)n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

gboolean
mugai_filter_write_stdout (const void *data, gsize len, GError **error)
{
  const guint8 *p = data;
  while (len > 0)
    {
      ssize_t n = write (STDOUT_FILENO, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "writing the output: %s",
                       n < 0 ? g_strerror (errno) : "short write");
          return FALSE;
        }
      p += n;
      len -= (gsize)n;
    }
  return TRUE;
}

#if defined(__SANITIZE_ADDRESS__)
#define MUGAI_LOCKDOWN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MUGAI_LOCKDOWN_ASAN 1
#endif
#endif

#ifdef MUGAI_LOCKDOWN_ASAN
/* See DESCRIPTION: LeakSanitizer cannot run under the filter. */
const char *__asan_default_options (void);
__attribute__ ((used, visibility ("default"))) const char *
__asan_default_options (void)
{
  return "detect_leaks=0";
}
#endif
