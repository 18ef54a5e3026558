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
 *	mugai_filter_confine_foreign() is the other way round, for a program
 *	mugai does not write (LibreOffice, filters/soffice.c): default allow,
 *	and a denylist of what reaches beyond the sandbox - socket() other
 *	than a Unix stream socket and every connect() fail (EACCES); setsid
 *	and setpgid fail (EPERM), so that nothing leaves the run's process
 *	group; signals
 *	only to the own process group and own threads (EPERM); execve only
 *	of the program the caller names, in the one call it makes next
 *	(the path's address is compared: a copy at a random address that the
 *	program, in its new address space, cannot know), any other execve
 *	and every execveat kill; ptrace,
 *	process_vm_*, pidfd_getfd, mount and the new mount API, unshare,
 *	setns, clone with namespace flags, modules, kexec, bpf,
 *	perf_event_open, userfaultfd, keyrings, io_uring, handles, swap,
 *	reboot, clocks, host names kill the process; clone3 fails with
 *	ENOSYS so that glibc falls back to clone, whose flags are checked.
 *
 *	Why still a denylist for LibreOffice: in headless convert mode it
 *	starts some 20 threads, binds, listens on and accepts on its
 *	single-instance pipe (a Unix stream socket; it will not start
 *	without it), makes socketpairs, and popen()s "paperconf" through
 *	/bin/sh (fork and execve, which now kills that child: LibreOffice
 *	takes its default paper size; strace -f of mugai-filter-soffice).  An
 *	allowlist that lets all of that through buys little over this list,
 *	and one call LibreOffice makes on one rare document and nobody saw
 *	would cost the conversion; so the sandbox (src/convert/sandbox.c)
 *	confines the rest: Landlock limits what it reads, where it writes
 *	and makes sockets (only in its private directory, which a mount
 *	namespace makes its /tmp, where its pipe goes), a pid namespace and
 *	RLIMIT_NPROC bound and end what it forks, a network namespace (and
 *	Landlock's TCP rules and abstract-socket scope) keep it off the
 *	network.
 *
 * BUGS
 *	Read-only opens of any path the process may read are allowed by
 *	seccomp: Landlock, applied by the sandbox before the filter starts,
 *	limits them to the system's libraries, fonts and configuration
 *	(where the kernel has no Landlock, the permissions of the filter's
 *	uid are all there is).  The foreign denylist lets LibreOffice fork
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

/* The denylist of mugai_filter_confine_foreign(): calls that let a
 * compromised program reach beyond its sandbox.  Every one kills. */
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
  __attribute__ ((cleanup (release_ctx))) scmp_filter_ctx ctx = new_filter (SCMP_ACT_ALLOW, error);
  if (ctx == NULL)
    return FALSE;
  int rc = 0;
  /* execve: only the one call the caller makes next, recognised by the
   * address of its path (which the program it starts does not know);
   * any other kills.  Every later execve - a compromised LibreOffice's,
   * or its popen("paperconf") - dies of SIGSYS. */
  int nr = seccomp_syscall_resolve_name ("execve");
  if (nr != __NR_SCMP_ERROR && path != NULL)
    /* (allowing the one is the default action) */
    rc = seccomp_rule_add (ctx, SCMP_ACT_KILL_PROCESS, nr, 1,
                           SCMP_A0 (SCMP_CMP_NE, (scmp_datum_t)(uintptr_t)path));
  else if (nr != __NR_SCMP_ERROR)
    rc = seccomp_rule_add (ctx, SCMP_ACT_KILL_PROCESS, nr, 0);
  /* Sockets: Unix stream sockets only, for LibreOffice's own
   * single-instance pipe (it will not start without one), and connect()
   * refused, so that no socket reaches anything.  A Unix datagram socket
   * could reach one with sendto(), so only SOCK_STREAM is allowed. */
  nr = seccomp_syscall_resolve_name ("socket");
  if (rc == 0 && nr != __NR_SCMP_ERROR)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), nr, 1, SCMP_A0 (SCMP_CMP_NE, AF_UNIX));
  const scmp_datum_t not_stream[] = { SOCK_DGRAM, SOCK_RAW,    SOCK_RDM, SOCK_SEQPACKET,
                                      SOCK_DCCP,  SOCK_PACKET, 0,        7,
                                      8,          9,           11,       12,
                                      13,         14,          15 };
  for (gsize i = 0; rc == 0 && nr != __NR_SCMP_ERROR && i < G_N_ELEMENTS (not_stream); i++)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), nr, 1,
                           SCMP_A1 (SCMP_CMP_MASKED_EQ, 0xf, not_stream[i]));
  nr = seccomp_syscall_resolve_name ("connect");
  if (rc == 0 && nr != __NR_SCMP_ERROR)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), nr, 0);
  /* A new session or process group would leave the run's process group
   * (the sandbox's kill where it has no pid namespace): refused. */
  static const char *const no_group[] = { "setsid", "setpgid" };
  for (gsize i = 0; rc == 0 && i < G_N_ELEMENTS (no_group); i++)
    {
      nr = seccomp_syscall_resolve_name (no_group[i]);
      if (nr != __NR_SCMP_ERROR)
        rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), nr, 0);
    }
  /* clone3's flags sit behind a pointer: ENOSYS makes glibc use clone,
   * whose namespace flags are checked here */
  nr = seccomp_syscall_resolve_name ("clone3");
  if (rc == 0 && nr != __NR_SCMP_ERROR)
    rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), nr, 0);
  const scmp_datum_t ns_flags[] = { CLONE_NEWUSER, CLONE_NEWNS,  CLONE_NEWNET,   CLONE_NEWPID,
                                    CLONE_NEWIPC,  CLONE_NEWUTS, CLONE_NEWCGROUP };
  nr = seccomp_syscall_resolve_name ("clone");
  for (gsize i = 0; rc == 0 && nr != __NR_SCMP_ERROR && i < G_N_ELEMENTS (ns_flags); i++)
    rc = seccomp_rule_add (ctx, SCMP_ACT_KILL_PROCESS, nr, 1,
                           SCMP_A0 (SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
  /* Signals: the process runs as the worker's user, so kill() could
   * reach the workers and the pool.  Only its own process group (kill
   * with pid 0) and its own threads (tgkill, sigqueue to itself). */
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
      nr = seccomp_syscall_resolve_name (signal_calls[i].name);
      if (nr != __NR_SCMP_ERROR)
        rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), nr, 1,
                               SCMP_A0 (SCMP_CMP_NE, signal_calls[i].allowed));
    }
  static const char *const signal_never[] = { "tkill", "pidfd_open", "pidfd_send_signal" };
  for (gsize i = 0; rc == 0 && i < G_N_ELEMENTS (signal_never); i++)
    {
      nr = seccomp_syscall_resolve_name (signal_never[i]);
      if (nr != __NR_SCMP_ERROR)
        rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), nr, 0);
    }
  for (gsize i = 0; rc == 0 && i < G_N_ELEMENTS (foreign_kill); i++)
    {
      nr = seccomp_syscall_resolve_name (foreign_kill[i]);
      if (nr == __NR_SCMP_ERROR)
        continue;
      rc = seccomp_rule_add (ctx, SCMP_ACT_KILL_PROCESS, nr, 0);
      if (rc != 0 && nr < 0)
        rc = 0; /* not on this architecture */
    }
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
