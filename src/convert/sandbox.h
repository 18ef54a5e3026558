/*
 * sandbox.h - run one filter program on one untrusted document
 *
 * SYNOPSIS
 *	MugaiSandboxSlots *slots = mugai_sandbox_slots_new (0);  (before fork)
 *	g_auto (MugaiSandboxResult) r = { 0 };
 *	if (!mugai_sandbox_run (slots, wait_ms, argv, input, &limits, &r, &error))
 *	        tempfail (error);
 *	else if (r.outcome != MUGAI_SANDBOX_OK)
 *	        remove the part, naming mugai_sandbox_outcome_text (r.outcome, TRUE)
 *	else
 *	        use r.output
 *
 * DESCRIPTION
 *	mugai_sandbox_run() forks, puts the child in its own session,
 *	resource limits (RLIMIT_NPROC too), an empty environment, a private
 *	temporary directory, (when the kernel allows) new user, network, pid
 *	and mount namespaces and a Landlock domain (read only the system's
 *	libraries, fonts and configuration, write only the private
 *	directory), and executes argv[0] with the document on standard
 *	input.  It collects standard output (at most limits->output_max
 *	octets) and the tail of standard error, enforces a wall-clock
 *	deadline, ends every process of the run when it is done (the pid
 *	namespace, or the process group), and reaps the child.  The filter
 *	itself adds a seccomp allowlist (filters/lockdown.h).
 *
 *	Everything the document can cause is an outcome in result, not an
 *	error: a crash, a seccomp kill, a timeout, too much output, a
 *	non-zero exit.  result->output is set only for MUGAI_SANDBOX_OK, so
 *	a partial output can never be used by mistake.
 *
 *	MugaiSandboxSlots caps how many filters run at once on the host,
 *	across every process forked after the set was made.  A slot is a
 *	POSIX record lock, which the kernel drops when its holder dies: a
 *	worker killed at its deadline cannot leak a slot.
 *
 * LIMITS
 *	Each of cpu_seconds, address_space, file_size and open_files left 0
 *	leaves that resource limit as the caller has it (address_space 0 is
 *	what AddressSanitizer builds need).  timeout_ms and output_max must
 *	not be 0.  The core dump limit is always 0.
 *
 * ERRORS
 *	MUGAI_SANDBOX_ERROR_SYSTEM: a call mugai itself needs failed (memfd,
 *	pipe, fork, mkdtemp, waitpid); MUGAI_SANDBOX_ERROR_SETUP: the child
 *	could not be set up or argv[0] could not be executed.  Both are
 *	mugai's problem, not the document's: the caller tempfails.
 *
 * THREAD SAFETY
 *	Call from a single-threaded process (the workers, the CLI): slots
 *	are per-process record locks.  Safe with SIGALRM and SIGCHLD
 *	handlers installed: it installs none, blocks SIGCHLD while it runs
 *	(so a handler that reaps any child cannot steal the filter's
 *	status) and waits for its own pid only.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

#define MUGAI_SANDBOX_ERROR (mugai_sandbox_error_quark ())
GQuark mugai_sandbox_error_quark (void);

typedef enum
{
  MUGAI_SANDBOX_ERROR_SYSTEM,
  MUGAI_SANDBOX_ERROR_SETUP,
} MugaiSandboxError;

/* At most this many octets of standard error end up in diagnostics. */
#define MUGAI_SANDBOX_DIAGNOSTICS_MAX 1024

typedef struct
{
  guint timeout_ms;    /* wall clock for the whole run, incl. waiting for output */
  guint cpu_seconds;   /* RLIMIT_CPU (SIGXCPU, then SIGKILL a second later) */
  gsize address_space; /* RLIMIT_AS */
  gsize file_size;     /* RLIMIT_FSIZE */
  guint open_files;    /* RLIMIT_NOFILE */
  gsize output_max;    /* more on stdout: killed, MUGAI_SANDBOX_OUTPUT_LIMIT */
} MugaiSandboxLimits;

typedef enum
{
  MUGAI_SANDBOX_OK,
  MUGAI_SANDBOX_EXIT,    /* exited non-zero: exit_code */
  MUGAI_SANDBOX_SIGNAL,  /* killed by a signal other than SIGSYS: signal */
  MUGAI_SANDBOX_SECCOMP, /* SIGSYS: the filter tried a forbidden system call */
  MUGAI_SANDBOX_TIMEOUT,
  MUGAI_SANDBOX_OUTPUT_LIMIT,
  MUGAI_SANDBOX_NO_SLOT, /* no slot free within slot_wait_ms: defer */
} MugaiSandboxOutcome;

typedef struct
{
  MugaiSandboxOutcome outcome;
  int exit_code;     /* MUGAI_SANDBOX_EXIT */
  int signal;        /* MUGAI_SANDBOX_SIGNAL, MUGAI_SANDBOX_SECCOMP */
  GBytes *output;    /* owned; only for MUGAI_SANDBOX_OK, else NULL */
  char *diagnostics; /* owned; the tail of standard error, at most
                      * MUGAI_SANDBOX_DIAGNOSTICS_MAX octets, valid UTF-8,
                      * no control or format characters; "" when silent */
  gboolean netns;    /* the filter ran in a network namespace of its own;
                      * FALSE: seccomp alone kept it off the network */
  gboolean userns;   /* ... in a user namespace of its own */
  gboolean pidns;    /* ... in a pid namespace of its own: nothing it started
                      * outlived the run */
  gboolean mntns;    /* ... in a mount namespace of its own, with the private
                      * directory on /tmp */
  int landlock_abi;  /* the Landlock ABI of its domain, 0: none */
} MugaiSandboxResult;

void mugai_sandbox_result_clear (MugaiSandboxResult *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MugaiSandboxResult, mugai_sandbox_result_clear)

typedef struct _MugaiSandboxSlots MugaiSandboxSlots;

/* n slots, 0 meaning the number of online CPUs.  Make the set before
 * forking the processes that share it.  NULL (errno set) only when the
 * kernel refuses an anonymous file. */
MugaiSandboxSlots *mugai_sandbox_slots_new (guint n);
/* Another holder of the same set (a new worker generation after a
 * reload competes for the same slots as the old one).  Not thread-safe:
 * the pool parent only. */
MugaiSandboxSlots *mugai_sandbox_slots_ref (MugaiSandboxSlots *s);
/* Drops one holder; the last one closes the set.  Accepts NULL. */
void mugai_sandbox_slots_free (MugaiSandboxSlots *s);
guint mugai_sandbox_slots_count (const MugaiSandboxSlots *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiSandboxSlots, mugai_sandbox_slots_free)

/* slots NULL: no cap.  argv[0] an absolute path; argv and input borrowed.
 * result is cleared first; on FALSE it holds nothing. */
gboolean mugai_sandbox_run (MugaiSandboxSlots *slots, guint slot_wait_ms, const char *const *argv,
                            GBytes *input, const MugaiSandboxLimits *limits,
                            MugaiSandboxResult *result, GError **error);

/* Removes the private directories left by runs whose caller died during
 * the run (a worker killed at its message deadline: its filter died with
 * it, but nobody removed the directory).  owner > 0: those of that
 * process, which must be dead; 0: those of every process that no longer
 * exists.  Best effort, silent. */
void mugai_sandbox_sweep (pid_t owner);

/* The layers around the next filter run on this host, for this
 * process's credentials (user namespaces may be off: sysctl, container
 * policy, systemd's RestrictNamespaces=; Landlock may be absent from the
 * kernel or not enabled in its lsm= list). */
typedef enum
{
  MUGAI_SANDBOX_LAYER_USERNS = 1 << 0,   /* the filter has no capability on the host */
  MUGAI_SANDBOX_LAYER_NETNS = 1 << 1,    /* no network but a down loopback */
  MUGAI_SANDBOX_LAYER_PIDNS = 1 << 2,    /* every process of a run dies with it */
  MUGAI_SANDBOX_LAYER_MNTNS = 1 << 3,    /* the private directory is the filter's /tmp */
  MUGAI_SANDBOX_LAYER_LANDLOCK = 1 << 4, /* reads only what filters need, writes only
                                          * the private directory */
  MUGAI_SANDBOX_LAYER_SECCOMP = 1 << 5,  /* the filter's own (filters/lockdown.c); always */
} MugaiSandboxLayers;

#define MUGAI_SANDBOX_LAYERS_ALL ((MugaiSandboxLayers)((1 << 6) - 1))

typedef struct
{
  gboolean known;            /* FALSE: the probe could not fork; layers is 0 */
  MugaiSandboxLayers layers; /* those in force */
  int landlock_abi;          /* with MUGAI_SANDBOX_LAYER_LANDLOCK */
} MugaiSandboxIsolation;

/* Forks a child that makes the namespaces and the Landlock domain a
 * filter run makes, and says which it got.  Reports, does not log:
 * anything but every layer is a downgrade that the caller logs as a
 * warning, with mugai_sandbox_isolation_text().  Not thread-safe (fork). */
MugaiSandboxIsolation mugai_sandbox_isolation (void);
/* Tests: use at most Landlock ABI abi (0: what the kernel offers), to
 * run what an older kernel gives (Debian 12's 6.1 offers ABI 2).  For
 * the runs and probes this process makes from then on. */
void mugai_sandbox_set_landlock_cap (int abi);

/* Every layer in force. */
gboolean mugai_sandbox_isolation_complete (const MugaiSandboxIsolation *i);
/* "in force: ...; missing: ..." naming each layer (and the Landlock
 * ABI), for the log.  Free with g_free. */
char *mugai_sandbox_isolation_text (const MugaiSandboxIsolation *i);

/* A short reason for the notice and the log; static, never NULL. */
const char *mugai_sandbox_outcome_text (MugaiSandboxOutcome o, gboolean japanese);

/* Like mugai_sandbox_outcome_text(), but a MUGAI_SANDBOX_EXIT with one of
 * the exit codes of filters/lockdown.h (encrypted, limit) gets its own
 * reason. */
const char *mugai_sandbox_result_text (const MugaiSandboxResult *r, gboolean japanese);
