/*
 * sandbox.c - run one filter program on one untrusted document
 *
 * DESCRIPTION
 *	See sandbox.h for the interface.  One run:
 *
 *	1. take a slot (a POSIX record lock on one octet of a shared memfd;
 *	   see SLOTS below), or give up after slot_wait_ms: NO_SLOT;
 *	2. copy the document into a sealed memfd, make a private directory
 *	   (mkdtemp under g_get_tmp_dir(), mode 0700, named after the
 *	   caller's pid: mugai-filter-PID-XXXXXX), make the pipes;
 *	3. fork.  The child, using async-signal-safe calls only: setsid()
 *	   (its own process group, so that everything it starts can be
 *	   killed at once); the memfd, the pipes on 0, 1, 2 and every other
 *	   descriptor closed (close_range); every signal back to its default
 *	   and unblocked (the worker has SIGALRM and SIGCHLD handlers);
 *	   unshare(CLONE_NEWUSER | CLONE_NEWNET), or CLONE_NEWNET alone, or
 *	   neither (see NAMESPACES); PR_SET_PDEATHSIG SIGKILL (a worker
 *	   killed at its deadline takes its filter with it); resource limits
 *	   (core 0, CPU with SIGXCPU a second before SIGKILL, address space,
 *	   file size, descriptors); chdir into the private directory;
 *	   PR_SET_NO_NEW_PRIVS; execve with TMPDIR, PATH and LANG only.  A
 *	   step that fails is reported through a close-on-exec status pipe,
 *	   and so is the namespace level reached: the parent reads EOF there
 *	   once execve succeeded;
 *	4. the parent polls standard output, standard error, the status pipe
 *	   and a pidfd of the child against the wall-clock deadline.  More
 *	   than output_max octets: OUTPUT_LIMIT; the deadline: TIMEOUT; both
 *	   kill the process group at once.  When the child exits, the group
 *	   is killed too (a grandchild holding the pipes open must neither
 *	   survive nor make us wait), and the pipes are drained to EOF;
 *	5. kill the group, waitpid() the child's own pid, wait (at most a
 *	   second) until no member of the group is left, remove the
 *	   directory (descriptor-relative, no symlink is followed), release
 *	   the slot.
 *
 * SLOTS
 *	A slot is octet i of an anonymous file (memfd) made before the
 *	workers are forked; holding it is holding an F_SETLK write lock on
 *	that octet.  POSIX record locks belong to a process, not to a
 *	descriptor: every forked worker shares the descriptor yet competes
 *	for the locks, the filter child does not inherit them, and the
 *	kernel drops them when the holder dies, however it dies.  A
 *	process-shared semaphore in MAP_SHARED memory would leak the slot of
 *	a worker SIGKILLed at its deadline.  (flock() and F_OFD_SETLK locks
 *	belong to the open file description, which fork() shares: every
 *	worker would hold every lock at once, so they do not fit here.)
 *	F_SETLK has no timeout, so a busy set is polled every 10 ms until
 *	slot_wait_ms; the search starts at pid modulo n to spread workers.
 *	The POSIX pitfall - closing any descriptor of the file drops the
 *	process's locks - cannot bite: nothing else ever opens the memfd.
 *
 * NAMESPACES
 *	A new user namespace lets an unprivileged worker make a network
 *	namespace (only a down loopback inside: connect() fails with
 *	ENETUNREACH), and the filter, unmapped in it, loses every capability
 *	at execve even when the worker runs as root.  Where user namespaces
 *	are off (sysctl, container policy), CLONE_NEWNET alone needs
 *	CAP_SYS_ADMIN, so an unprivileged worker gets neither; the filter
 *	then runs in the host's network namespace and only its seccomp
 *	allowlist (no socket()) keeps it off the network.  This is a
 *	security downgrade the administrator must hear of, but this module
 *	logs nothing: it is reported in result->netns for each run, and
 *	mugai_sandbox_isolation() tells a caller (the pool, at start and for
 *	each new generation) what the next filter will get, for it to log.
 *
 * LIMITS
 *	Standard output is bounded by limits->output_max (read at most one
 *	octet past it); standard error keeps its last 4 KiB only, of which
 *	MUGAI_SANDBOX_DIAGNOSTICS_MAX reach the caller; the private directory
 *	is removed to a depth of 64 (filters make no directories).
 *
 * BUGS
 *	A filter that could fork and setsid() (the lockdown forbids both)
 *	would leave its process group; the deadline still ends the run.
 *	A caller killed during a run (a worker at its message deadline)
 *	takes its filter with it (PR_SET_PDEATHSIG) but cannot remove the
 *	private directory: the pool calls mugai_sandbox_sweep() for every
 *	worker it reaps, and once at start for owners that no longer exist.
 *	A process stuck in uninterruptible sleep delays the final waitpid().
 */
#include "sandbox.h"

#include "filters/lockdown.h"
#include "words.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* The quark name is a string, not a subtraction. */
/* clang-format off */
G_DEFINE_QUARK (mugai-sandbox-error-quark, mugai_sandbox_error)
/* clang-format on */

/* ---- slots ---- */

struct _MugaiSandboxSlots
{
  int fd;
  guint n;
  guint refs;
};

#define SLOT_POLL_MS 10

MugaiSandboxSlots *
mugai_sandbox_slots_new (guint n)
{
  int fd = memfd_create ("mugai-sandbox-slots", MFD_CLOEXEC);
  if (fd < 0)
    fd = open (g_get_tmp_dir (), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return NULL;
  MugaiSandboxSlots *s = g_new0 (MugaiSandboxSlots, 1);
  s->fd = fd;
  s->n = n > 0 ? n : (guint)MAX (g_get_num_processors (), 1);
  s->refs = 1;
  return s;
}

MugaiSandboxSlots *
mugai_sandbox_slots_ref (MugaiSandboxSlots *s)
{
  g_return_val_if_fail (s != NULL && s->refs > 0, NULL);
  s->refs++;
  return s;
}

void
mugai_sandbox_slots_free (MugaiSandboxSlots *s)
{
  if (s == NULL || --s->refs > 0)
    return;
  close (s->fd);
  g_free (s);
}

guint
mugai_sandbox_slots_count (const MugaiSandboxSlots *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->n;
}

static int
slot_lock (MugaiSandboxSlots *s, guint i, short type)
{
  struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = i, .l_len = 1 };
  int r;
  do
    r = fcntl (s->fd, F_SETLK, &fl);
  while (r < 0 && errno == EINTR);
  return r;
}

/* The slot taken, or -1: none free within wait_ms (error unset) or a
 * system failure (error set). */
static int
slot_acquire (MugaiSandboxSlots *s, guint wait_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)wait_ms * 1000;
  guint first = (guint)getpid () % s->n;
  for (;;)
    {
      for (guint k = 0; k < s->n; k++)
        {
          guint i = (first + k) % s->n;
          if (slot_lock (s, i, F_WRLCK) == 0)
            return (int)i;
          if (errno != EACCES && errno != EAGAIN)
            {
              g_set_error (error, MUGAI_SANDBOX_ERROR, MUGAI_SANDBOX_ERROR_SYSTEM,
                           "locking a filter slot: %s", g_strerror (errno));
              return -1;
            }
        }
      gint64 left = deadline - g_get_monotonic_time ();
      if (left <= 0)
        return -1;
      g_usleep ((gulong)MIN (left, SLOT_POLL_MS * 1000));
    }
}

/* ---- results ---- */

void
mugai_sandbox_result_clear (MugaiSandboxResult *r)
{
  if (r == NULL)
    return;
  g_clear_pointer (&r->output, g_bytes_unref);
  g_clear_pointer (&r->diagnostics, g_free);
  memset (r, 0, sizeof *r);
}

const char *
mugai_sandbox_outcome_text (MugaiSandboxOutcome o, gboolean japanese)
{
  switch (o)
    {
    case MUGAI_SANDBOX_OK:
      return MUGAI_W (japanese, "converted");
    case MUGAI_SANDBOX_EXIT:
      return MUGAI_W (japanese, "the file could not be converted (unreadable or damaged)");
    case MUGAI_SANDBOX_SIGNAL:
      return MUGAI_W (japanese, "the converter crashed on this file");
    case MUGAI_SANDBOX_SECCOMP:
      return MUGAI_W (japanese, "the converter attempted a forbidden operation on this file");
    case MUGAI_SANDBOX_TIMEOUT:
      return MUGAI_W (japanese, "the conversion took too long");
    case MUGAI_SANDBOX_OUTPUT_LIMIT:
      return MUGAI_W (japanese, "the converted form was too large");
    case MUGAI_SANDBOX_NO_SLOT:
      return MUGAI_W (japanese, "all converters were busy");
    }
  return MUGAI_W (japanese, "the file could not be converted");
}

const char *
mugai_sandbox_result_text (const MugaiSandboxResult *r, gboolean japanese)
{
  g_return_val_if_fail (r != NULL, NULL);
  if (r->outcome == MUGAI_SANDBOX_EXIT && r->exit_code == MUGAI_FILTER_ENCRYPTED)
    return MUGAI_W (japanese, "the file is password-protected and cannot be converted");
  if (r->outcome == MUGAI_SANDBOX_EXIT && r->exit_code == MUGAI_FILTER_LIMIT)
    return MUGAI_W (japanese, "the file is over a conversion limit (pages, pixels, size)");
  return mugai_sandbox_outcome_text (r->outcome, japanese);
}

/* The tail of standard error made fit for a log line and a notice: valid
 * UTF-8; line breaks and tabs become spaces; other control characters
 * (C0, DEL, C1) and format characters (bidirectional overrides, zero
 * width joiners: they disguise text in logs) become '?'; the last
 * MUGAI_SANDBOX_DIAGNOSTICS_MAX octets, cut on a character boundary. */
static char *
diagnostics_from (const guint8 *data, gsize len)
{
  g_autofree char *raw = g_malloc (len + 1);
  for (gsize i = 0; i < len; i++)
    raw[i] = data[i] != 0 ? (char)data[i] : '?';
  raw[len] = 0;
  g_autofree char *valid = g_utf8_make_valid (raw, (gssize)len);
  g_autoptr (GString) s = g_string_sized_new (len);
  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      GUnicodeType t = g_unichar_type (c);
      if (c == '\n' || c == '\r' || c == '\t' || t == G_UNICODE_LINE_SEPARATOR
          || t == G_UNICODE_PARAGRAPH_SEPARATOR)
        {
          if (s->len > 0 && s->str[s->len - 1] != ' ')
            g_string_append_c (s, ' ');
        }
      else if (t == G_UNICODE_CONTROL || t == G_UNICODE_FORMAT || t == G_UNICODE_SURROGATE)
        g_string_append_c (s, '?');
      else
        g_string_append_unichar (s, c);
    }
  g_strstrip (s->str);
  const char *start = s->str;
  gsize n = strlen (start);
  if (n > MUGAI_SANDBOX_DIAGNOSTICS_MAX)
    {
      start += n - MUGAI_SANDBOX_DIAGNOSTICS_MAX;
      while (((guchar)*start & 0xc0) == 0x80)
        start++;
    }
  return g_strdup (start);
}

/* ---- the child ---- */

/* The namespaces a filter gets (NAMESPACES above): 'U' user and network,
 * 'N' network only (made with CAP_SYS_ADMIN), '-' none.  In the child,
 * async-signal-safe. */
static char
make_namespaces (void)
{
  if (unshare (CLONE_NEWUSER | CLONE_NEWNET) == 0)
    return 'U';
  return unshare (CLONE_NEWNET) == 0 ? 'N' : '-';
}

/* What the child tells the parent through the status pipe, one record per
 * write (atomic: smaller than PIPE_BUF). */
typedef struct
{
  char kind; /* 'n': namespaces reached, 'e': a step failed */
  char what; /* 'n': 'U' user+net, 'N' net, '-' none; 'e': the step */
  char pad[2];
  int err; /* 'e': errno */
} ChildStatus;

typedef struct
{
  int in_fd, out_fd, err_fd, status_fd;
  pid_t parent;
  const char *dir;
  const char *const *argv;
  char *const *envp;
  const MugaiSandboxLimits *limits;
} ChildSetup;

static void
child_tell (int fd, char kind, char what, int err)
{
  ChildStatus st = { .kind = kind, .what = what, .err = err };
  ssize_t r;
  do
    r = write (fd, &st, sizeof st);
  while (r < 0 && errno == EINTR);
}

G_GNUC_NORETURN static void
child_fail (int fd, char step)
{
  child_tell (fd, 'e', step, errno);
  _exit (127);
}

/* Lowers a limit, never above the hard limit the worker already has. */
static int
child_limit (int resource, rlim_t soft, rlim_t hard)
{
  struct rlimit cur;
  if (getrlimit (resource, &cur) != 0)
    return -1;
  if (cur.rlim_max != RLIM_INFINITY)
    {
      hard = MIN (hard, cur.rlim_max);
      soft = MIN (soft, hard);
    }
  struct rlimit rl = { .rlim_cur = soft, .rlim_max = hard };
  return setrlimit (resource, &rl);
}

/* Runs between fork and execve: async-signal-safe calls only, no malloc,
 * no GLib. */
G_GNUC_NORETURN static void
child_main (const ChildSetup *c)
{
  int status = fcntl (c->status_fd, F_DUPFD_CLOEXEC, 3);
  if (status < 0)
    _exit (127);
  if (setsid () < 0)
    child_fail (status, 's');

  /* Every source above 2 first, so that dup2 onto 0, 1, 2 cannot
   * overwrite one still to be copied (the caller may have closed its
   * standard descriptors, so a pipe may sit on 0). */
  int in = fcntl (c->in_fd, F_DUPFD_CLOEXEC, 3);
  int out = fcntl (c->out_fd, F_DUPFD_CLOEXEC, 3);
  int err = fcntl (c->err_fd, F_DUPFD_CLOEXEC, 3);
  if (in < 0 || out < 0 || err < 0 || dup2 (in, 0) < 0 || dup2 (out, 1) < 0 || dup2 (err, 2) < 0
      || (status != 3 && dup3 (status, 3, O_CLOEXEC) < 0))
    child_fail (status, 'd');
  status = 3;
  if (close_range (4, ~0u, 0) != 0)
    {
      struct rlimit rl;
      int max = getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                    ? (int)MIN (rl.rlim_cur, 1u << 20)
                    : 1 << 16;
      for (int fd = 4; fd < max; fd++)
        close (fd);
    }

  struct sigaction dfl = { .sa_handler = SIG_DFL };
  sigemptyset (&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction (sig, &dfl, NULL); /* glibc refuses its own two: harmless */
  sigset_t none;
  sigemptyset (&none);
  if (sigprocmask (SIG_SETMASK, &none, NULL) != 0)
    child_fail (status, 'g');

  char ns = make_namespaces ();
  child_tell (status, 'n', ns, 0);

  /* After unshare, which changes credentials.  The parent may already be
   * gone: then there is nobody to send the signal. */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    child_fail (status, 'p');
  if (getppid () != c->parent)
    _exit (127);

  const MugaiSandboxLimits *l = c->limits;
  if (child_limit (RLIMIT_CORE, 0, 0) != 0)
    child_fail (status, 'r');
  /* SIGXCPU at the soft limit, SIGKILL one second later at the hard one */
  if (l->cpu_seconds > 0
      && child_limit (RLIMIT_CPU, l->cpu_seconds, (rlim_t)l->cpu_seconds + 1) != 0)
    child_fail (status, 'r');
  if (l->address_space > 0 && child_limit (RLIMIT_AS, l->address_space, l->address_space) != 0)
    child_fail (status, 'r');
  if (l->file_size > 0 && child_limit (RLIMIT_FSIZE, l->file_size, l->file_size) != 0)
    child_fail (status, 'r');
  if (l->open_files > 0 && child_limit (RLIMIT_NOFILE, l->open_files, l->open_files) != 0)
    child_fail (status, 'r');

  if (chdir (c->dir) != 0)
    child_fail (status, 'c');
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    child_fail (status, 'p');
  execve (c->argv[0], (char *const *)c->argv, c->envp);
  child_fail (status, 'x');
}

static const char *
child_step_name (char step)
{
  switch (step)
    {
    case 's':
      return "setsid";
    case 'd':
      return "setting up descriptors";
    case 'g':
      return "resetting signals";
    case 'p':
      return "prctl";
    case 'r':
      return "setting resource limits";
    case 'c':
      return "entering the private directory";
    case 'x':
      return "execve";
    }
  return "setting up";
}

/* ---- the parent ---- */

/* Private directories are DIR_PREFIX, the pid of the process that runs
 * the filter, "-" and six random characters, so that mugai_sandbox_sweep()
 * knows whose they are. */
#define DIR_PREFIX "mugai-filter-"

/* Removes name (a file or a tree) below parent without following symlinks.
 * Best effort: what is left is found by the next tmp cleaner. */
static void
remove_tree_at (int parent, const char *name, int depth)
{
  if (unlinkat (parent, name, 0) == 0 || errno == ENOENT)
    return;
  if (errno != EISDIR && errno != EPERM)
    return;
  if (depth >= 64)
    return;
  int fd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == EACCES && fchmodat (parent, name, 0700, 0) == 0)
    fd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return;
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return;
    }
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
        continue;
      remove_tree_at (dirfd (d), e->d_name, depth + 1);
    }
  closedir (d);
  unlinkat (parent, name, AT_REMOVEDIR);
}

void
mugai_sandbox_sweep (pid_t owner)
{
  DIR *d = opendir (g_get_tmp_dir ());
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      if (strncmp (e->d_name, DIR_PREFIX, strlen (DIR_PREFIX)) != 0)
        continue;
      const char *p = e->d_name + strlen (DIR_PREFIX);
      char *end = NULL;
      errno = 0;
      long pid = strtol (p, &end, 10);
      if (errno != 0 || end == p || *end != '-' || pid <= 0 || pid > G_MAXINT)
        continue;
      gboolean gone = owner > 0 ? pid == (long)owner
                                : kill ((pid_t)pid, 0) != 0 && errno == ESRCH;
      if (gone)
        remove_tree_at (dirfd (d), e->d_name, 0);
    }
  closedir (d);
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    {
      close (*fd);
      *fd = -1;
    }
}

/* Everything one run owns; run_state_clear() is the one place it is
 * given back (the child is reaped before that). */
typedef struct
{
  int in_fd;
  int out[2], err[2], status[2];
  int pidfd;
  char *dir;
  char *env[4];
} RunState;

static void
run_state_clear (RunState *st)
{
  close_fd (&st->in_fd);
  for (int i = 0; i < 2; i++)
    {
      close_fd (&st->out[i]);
      close_fd (&st->err[i]);
      close_fd (&st->status[i]);
    }
  close_fd (&st->pidfd);
  if (st->dir != NULL)
    remove_tree_at (AT_FDCWD, st->dir, 0);
  g_clear_pointer (&st->dir, g_free);
  for (gsize i = 0; i < G_N_ELEMENTS (st->env); i++)
    g_clear_pointer (&st->env[i], g_free);
}

static gboolean
system_error (GError **error, const char *what)
{
  int saved = errno;
  g_set_error (error, MUGAI_SANDBOX_ERROR, MUGAI_SANDBOX_ERROR_SYSTEM, "%s: %s", what,
               g_strerror (saved));
  return FALSE;
}

/* The document, in a sealed anonymous file positioned at 0. */
static int
input_memfd (GBytes *input, GError **error)
{
  int fd = memfd_create ("mugai-document", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    {
      system_error (error, "memfd_create");
      return -1;
    }
  gsize len = 0;
  const guint8 *p = input != NULL ? g_bytes_get_data (input, &len) : NULL;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = ENOSPC;
          system_error (error, "writing the document to a memfd");
          close (fd);
          return -1;
        }
      p += n;
      len -= (gsize)n;
    }
  /* The filter cannot change what it was given (nor what a later reader
   * of the same descriptor would see). */
  (void)fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  if (lseek (fd, 0, SEEK_SET) != 0)
    {
      system_error (error, "lseek on the document memfd");
      close (fd);
      return -1;
    }
  return fd;
}

static int
open_pidfd (pid_t pid)
{
#ifdef SYS_pidfd_open
  int fd = (int)syscall (SYS_pidfd_open, pid, 0);
  if (fd >= 0)
    fcntl (fd, F_SETFD, FD_CLOEXEC);
  return fd;
#else
  return -1;
#endif
}

/* Has the child exited (without reaping it)? */
static gboolean
child_exited (pid_t pid)
{
  siginfo_t info = { 0 };
  int r;
  do
    r = waitid (P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT);
  while (r < 0 && errno == EINTR);
  return r < 0 || info.si_pid == pid; /* ECHILD: gone already */
}

static void
kill_group (pid_t pid)
{
  /* the group, and the child itself in case it died before setsid() */
  kill (-pid, SIGKILL);
  kill (pid, SIGKILL);
}

/* Reads what is there on fd into buf, at most room octets (room+1 are
 * asked for, so that one too many is seen).  Returns the octets read,
 * 0 on EOF, -1 with errno on a failure (EAGAIN: nothing there). */
static gssize
read_some (int fd, GByteArray *buf, gsize room)
{
  gsize want = room >= 65536 ? 65536 : room + 1;
  guint old = buf->len;
  g_byte_array_set_size (buf, old + (guint)want);
  ssize_t n;
  do
    n = read (fd, buf->data + old, want);
  while (n < 0 && errno == EINTR);
  g_byte_array_set_size (buf, old + (guint)MAX (n, 0));
  return n;
}

#define STDERR_KEEP 4096

MugaiSandboxIsolation
mugai_sandbox_isolation (void)
{
  pid_t pid = fork ();
  if (pid < 0)
    return MUGAI_SANDBOX_ISOLATION_UNKNOWN;
  if (pid == 0)
    {
      char ns = make_namespaces ();
      _exit (ns == 'U' ? 0 : ns == 'N' ? 1 : 2);
    }
  int status = 0;
  pid_t w;
  do
    w = waitpid (pid, &status, 0);
  while (w < 0 && errno == EINTR);
  if (w != pid || !WIFEXITED (status))
    return MUGAI_SANDBOX_ISOLATION_UNKNOWN;
  switch (WEXITSTATUS (status))
    {
    case 0:
      return MUGAI_SANDBOX_ISOLATION_FULL;
    case 1:
      return MUGAI_SANDBOX_ISOLATION_NETNS;
    default:
      return MUGAI_SANDBOX_ISOLATION_SECCOMP;
    }
}

const char *
mugai_sandbox_isolation_text (MugaiSandboxIsolation i)
{
  switch (i)
    {
    case MUGAI_SANDBOX_ISOLATION_FULL:
      return "user and network namespaces";
    case MUGAI_SANDBOX_ISOLATION_NETNS:
      return "no user namespace: a network namespace made with the caller's privileges, "
             "the filter keeps its capabilities";
    case MUGAI_SANDBOX_ISOLATION_SECCOMP:
      return "no user or network namespace: filters rely on seccomp alone to stay off the "
             "network";
    case MUGAI_SANDBOX_ISOLATION_UNKNOWN:
    default:
      return "unknown: the namespace probe could not run";
    }
}

/* Forks, supervises and reaps one child; fills result.  FALSE only for a
 * failure of mugai's own (GError). */
static gboolean
run_child (RunState *st, const char *const *argv, const MugaiSandboxLimits *limits,
           MugaiSandboxResult *result, GError **error)
{
  if (pipe2 (st->out, O_CLOEXEC) != 0 || pipe2 (st->err, O_CLOEXEC) != 0
      || pipe2 (st->status, O_CLOEXEC) != 0)
    return system_error (error, "pipe2");

  ChildSetup setup = {
    .in_fd = st->in_fd,
    .out_fd = st->out[1],
    .err_fd = st->err[1],
    .status_fd = st->status[1],
    .parent = getpid (),
    .dir = st->dir,
    .argv = argv,
    .envp = st->env,
    .limits = limits,
  };
  gint64 deadline = g_get_monotonic_time () + (gint64)limits->timeout_ms * 1000;
  pid_t pid = fork ();
  if (pid < 0)
    return system_error (error, "fork");
  if (pid == 0)
    child_main (&setup);

  close_fd (&st->out[1]);
  close_fd (&st->err[1]);
  close_fd (&st->status[1]);
  close_fd (&st->in_fd);
  for (int i = 0; i < 3; i++)
    {
      int fd = i == 0 ? st->out[0] : i == 1 ? st->err[0] : st->status[0];
      fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
    }
  st->pidfd = open_pidfd (pid);

  /* A GByteArray holds at most G_MAXUINT octets: a larger limit is
   * that one, which no inert form comes near. */
  gsize output_max = MIN (limits->output_max, (gsize)G_MAXUINT - 65536);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GByteArray) err = g_byte_array_new ();
  ChildStatus cs = { 0 };
  char setup_step = 0;
  int setup_errno = 0;
  gboolean exited = FALSE, timed_out = FALSE, over = FALSE;
  int saved_errno = 0;
  const char *failed_call = NULL;
  enum
  {
    PFD_OUT,
    PFD_ERR,
    PFD_STATUS,
    PFD_PID,
    PFD_N
  };
  struct pollfd p[PFD_N] = {
    [PFD_OUT] = { .fd = st->out[0], .events = POLLIN },
    [PFD_ERR] = { .fd = st->err[0], .events = POLLIN },
    [PFD_STATUS] = { .fd = st->status[0], .events = POLLIN },
    [PFD_PID] = { .fd = st->pidfd, .events = POLLIN },
  };

  while (p[PFD_OUT].fd >= 0 || p[PFD_ERR].fd >= 0 || p[PFD_STATUS].fd >= 0 || !exited)
    {
      gint64 left = deadline - g_get_monotonic_time ();
      if (left <= 0)
        {
          timed_out = TRUE;
          break;
        }
      int timeout = (int)MIN ((left + 999) / 1000, G_MAXINT);
      if (!exited && st->pidfd < 0)
        timeout = MIN (timeout, SLOT_POLL_MS); /* no pidfd: look now and then */
      int r = poll (p, PFD_N, timeout);
      if (r < 0 && errno == EINTR)
        {
          /* a worker's SIGALRM may come faster than the poll timeout:
           * fall through, so that the exit check below still runs */
          for (int i = 0; i < PFD_N; i++)
            p[i].revents = 0;
          r = 0;
        }
      if (r < 0)
        {
          saved_errno = errno;
          failed_call = "poll";
          break;
        }

      if (p[PFD_OUT].fd >= 0 && p[PFD_OUT].revents)
        {
          gssize n = read_some (p[PFD_OUT].fd, out, output_max - out->len);
          if (n == 0 || (n < 0 && errno != EAGAIN))
            p[PFD_OUT].fd = -1;
          if (out->len > output_max)
            {
              over = TRUE;
              break;
            }
        }
      if (p[PFD_ERR].fd >= 0 && p[PFD_ERR].revents)
        {
          gssize n = read_some (p[PFD_ERR].fd, err, STDERR_KEEP);
          if (n == 0 || (n < 0 && errno != EAGAIN))
            p[PFD_ERR].fd = -1;
          if (err->len > 2 * STDERR_KEEP)
            g_byte_array_remove_range (err, 0, err->len - STDERR_KEEP);
        }
      if (p[PFD_STATUS].fd >= 0 && p[PFD_STATUS].revents)
        {
          ssize_t n;
          do
            n = read (p[PFD_STATUS].fd, &cs, sizeof cs);
          while (n < 0 && errno == EINTR);
          if (n == (ssize_t)sizeof cs && cs.kind == 'n')
            {
              result->netns = cs.what != '-';
            }
          else if (n == (ssize_t)sizeof cs && cs.kind == 'e')
            {
              setup_step = cs.what;
              setup_errno = cs.err;
            }
          else if (!(n < 0 && errno == EAGAIN))
            p[PFD_STATUS].fd = -1; /* EOF (execve done), or a short record: stop listening */
        }
      if (!exited && (st->pidfd >= 0 ? p[PFD_PID].revents != 0 : child_exited (pid)))
        {
          /* The child is a zombie: its pid, and so the group id, cannot
           * be reused yet.  Whatever it left behind goes now, so that
           * the pipes reach EOF. */
          exited = TRUE;
          p[PFD_PID].fd = -1;
          kill (-pid, SIGKILL);
        }
    }

  kill_group (pid);
  int wstatus = 0;
  pid_t w;
  do
    w = waitpid (pid, &wstatus, 0);
  while (w < 0 && errno == EINTR);
  if (w < 0 && !timed_out && !over && failed_call == NULL)
    {
      /* SIGCHLD set to SIG_IGN (auto-reaping) by the caller */
      saved_errno = errno;
      failed_call = "waitpid";
    }
  /* What the filter started (LibreOffice's processes) got SIGKILL with
   * the group; wait briefly until the group is gone, so that what they
   * held - a listening socket, open files - is released when the run
   * returns.  (The group id cannot be reused while members remain; a
   * member not yet reaped by its new parent counts, hence the bound.) */
  for (int i = 0; i < 200 && kill (-pid, 0) == 0; i++)
    g_usleep (5000);

  if (failed_call != NULL)
    {
      errno = saved_errno;
      return system_error (error, failed_call);
    }
  if (setup_step != 0)
    {
      g_set_error (error, MUGAI_SANDBOX_ERROR, MUGAI_SANDBOX_ERROR_SETUP, "cannot run %s: %s: %s",
                   argv[0], child_step_name (setup_step), g_strerror (setup_errno));
      return FALSE;
    }

  if (timed_out)
    result->outcome = MUGAI_SANDBOX_TIMEOUT;
  else if (over)
    result->outcome = MUGAI_SANDBOX_OUTPUT_LIMIT;
  else if (WIFSIGNALED (wstatus))
    {
      result->signal = WTERMSIG (wstatus);
      result->outcome = result->signal == SIGSYS ? MUGAI_SANDBOX_SECCOMP : MUGAI_SANDBOX_SIGNAL;
    }
  else if (WIFEXITED (wstatus) && WEXITSTATUS (wstatus) != 0)
    {
      result->outcome = MUGAI_SANDBOX_EXIT;
      result->exit_code = WEXITSTATUS (wstatus);
    }
  else
    result->outcome = MUGAI_SANDBOX_OK;

  if (result->outcome == MUGAI_SANDBOX_OK)
    result->output = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  gsize keep = MIN (err->len, STDERR_KEEP);
  result->diagnostics = diagnostics_from (err->data + err->len - keep, keep);
  return TRUE;
}

gboolean
mugai_sandbox_run (MugaiSandboxSlots *slots, guint slot_wait_ms, const char *const *argv,
                   GBytes *input, const MugaiSandboxLimits *limits, MugaiSandboxResult *result,
                   GError **error)
{
  g_return_val_if_fail (argv != NULL && argv[0] != NULL && g_path_is_absolute (argv[0]), FALSE);
  g_return_val_if_fail (limits != NULL && limits->timeout_ms > 0 && limits->output_max > 0, FALSE);
  g_return_val_if_fail (result != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  mugai_sandbox_result_clear (result);

  /* A SIGCHLD handler of the caller that reaps any child would take the
   * filter's status; with SIGCHLD blocked it runs after we reaped. */
  sigset_t chld, old_mask;
  sigemptyset (&chld);
  sigaddset (&chld, SIGCHLD);
  sigprocmask (SIG_BLOCK, &chld, &old_mask);

  int slot = -1;
  if (slots != NULL)
    {
      GError *slot_error = NULL;
      slot = slot_acquire (slots, slot_wait_ms, &slot_error);
      if (slot < 0)
        {
          sigprocmask (SIG_SETMASK, &old_mask, NULL);
          if (slot_error != NULL)
            {
              g_propagate_error (error, slot_error);
              return FALSE;
            }
          result->outcome = MUGAI_SANDBOX_NO_SLOT;
          result->diagnostics = g_strdup ("");
          return TRUE;
        }
    }

  RunState st
      = { .in_fd = -1, .out = { -1, -1 }, .err = { -1, -1 }, .status = { -1, -1 }, .pidfd = -1 };
  gboolean ok = FALSE;
  g_autofree char *base = g_strdup_printf (DIR_PREFIX "%ld-XXXXXX", (long)getpid ());
  g_autofree char *template = g_build_filename (g_get_tmp_dir (), base, NULL);
  if (g_mkdtemp_full (template, 0700) == NULL)
    system_error (error, "making the filter's private directory");
  else
    {
      st.dir = g_steal_pointer (&template);
      st.env[0] = g_strconcat ("TMPDIR=", st.dir, NULL);
      st.env[1] = g_strdup ("PATH=/usr/bin:/bin");
      st.env[2] = g_strdup ("LANG=C.UTF-8");
      st.env[3] = NULL;
      st.in_fd = input_memfd (input, error);
      if (st.in_fd >= 0)
        ok = run_child (&st, argv, limits, result, error);
    }

  run_state_clear (&st);
  if (slot >= 0)
    slot_lock (slots, (guint)slot, F_UNLCK);
  sigprocmask (SIG_SETMASK, &old_mask, NULL);
  if (!ok)
    mugai_sandbox_result_clear (result);
  return ok;
}
