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
 *	   and unblocked (the worker has SIGALRM and SIGCHLD handlers); new
 *	   user, network, pid and mount namespaces, or as many of them as the
 *	   kernel gives (NAMESPACES); the private directory mounted on /tmp
 *	   in the mount namespace; PR_SET_PDEATHSIG SIGKILL (a worker killed
 *	   at its deadline takes its filter with it); RLIMIT_CORE 0 and
 *	   RLIMIT_NPROC (PROCESSES).  With a pid namespace, the child then
 *	   forks twice: the namespace's pid 1, which only reaps, and the
 *	   process that becomes the filter, and waits for the filter; when
 *	   the filter ends it kills pid 1 (the kernel then kills whatever is
 *	   left in the namespace and waits for it), and ends as the filter
 *	   ended: the same exit status, or the same signal raised on itself.
 *	   The process that becomes the filter: resource limits (CPU with
 *	   SIGXCPU a second before SIGKILL, address space, file size,
 *	   descriptors); chdir into the private directory (/tmp when it is
 *	   mounted there); PR_SET_NO_NEW_PRIVS; Landlock (LANDLOCK); execve
 *	   with TMPDIR, PATH and LANG only.  A step that fails is reported
 *	   through a close-on-exec status pipe, and so are the namespaces and
 *	   the Landlock ABI reached: the parent reads EOF there once execve
 *	   succeeded and the child no longer holds it;
 *	4. the parent polls standard output, standard error, the status pipe
 *	   and a pidfd of the child against the wall-clock deadline.  More
 *	   than output_max octets: OUTPUT_LIMIT; the deadline: TIMEOUT; both
 *	   end the run at once.  When the child exits, the run ends too (a
 *	   grandchild holding the pipes open must neither survive nor make
 *	   us wait), and the pipes are drained to EOF;
 *	5. end the run: with a pid namespace, SIGKILL to its pid 1 (through
 *	   a pidfd) while the child is alive to reap the filter, and wait (at
 *	   most a second) until pid 1 has exited, when nothing of the run is
 *	   left; then kill the group, waitpid() the child's own pid; without
 *	   a pid namespace, wait (at most a second) until no member of the
 *	   group is left; remove the directory (descriptor-relative, no
 *	   symlink is followed), release the slot.
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
 *	A new user namespace lets an unprivileged worker make network, pid
 *	and mount namespaces, and the filter, unmapped in it, loses every
 *	capability on the host at execve even when the worker runs as root.
 *	The network namespace has only a down loopback: connect() fails with
 *	ENETUNREACH, abstract Unix socket names are its own.  The pid
 *	namespace ends every process of a run with the run, whatever
 *	session or group it moved to.  The mount namespace (MS_PRIVATE
 *	throughout, nothing propagates back) has the private directory on
 *	/tmp: LibreOffice binds its pipe in /tmp whatever TMPDIR says, and
 *	there it lands in the private directory, where Landlock lets it.
 *	The child tries user+net+pid+mount, then user+net+mount, user+net,
 *	net+pid+mount (root without user namespaces), net alone, nothing.
 *	Where user namespaces are off (sysctl, container policy, systemd's
 *	RestrictNamespaces=), an unprivileged worker gets none of them: the
 *	filter runs in the host's namespaces, its seccomp filter and
 *	Landlock keep it off the network, the process group kill,
 *	seccomp's refusal of setsid/setpgid and RLIMIT_NPROC bound and end
 *	its processes.  A security downgrade the administrator must hear
 *	of, but this module logs nothing: each run reports what it got in
 *	result, and mugai_sandbox_isolation() tells a caller (the pool, at
 *	start and for each new generation) what the next filter will get,
 *	for it to log.
 *
 * LANDLOCK
 *	Applied in the process that becomes the filter, before execve, so
 *	that it holds for every filter and for everything it executes,
 *	whatever the filter does.  The ABI is asked of the kernel
 *	(LANDLOCK_CREATE_RULESET_VERSION) and every right it knows is
 *	handled: ABI 1 the file system (REFER is then always denied: no
 *	rename across directories), 2 REFER, 3 TRUNCATE, 4 TCP bind and
 *	connect (no rule: both refused), 5 device ioctls, 6 abstract Unix
 *	sockets and signals scoped to the domain.  Allowed: read and
 *	execute below /usr, /lib*, /bin, /sbin; read the few files of /etc,
 *	/var and /sys that landlock_paths[] names (the dynamic linker,
 *	fonts, LibreOffice's configuration and shared extensions, the time
 *	zone, the user database), /dev/null (also write), /dev/zero,
 *	/dev/urandom, /dev/random and the filter's own /proc/PID; read and
 *	execute the filter's own program; everything in the private
 *	directory.  So a filter can neither read a quarantined original
 *	nor append to a log, nor make a socket, a file or a link outside
 *	its directory.  Without a mount namespace, making sockets and
 *	removing files below /tmp is allowed as well (LibreOffice makes its
 *	pipe there, and the second start of a new profile removes the one
 *	the first left): a filter may then remove what its uid may remove
 *	in /tmp (with the sticky bit, its own files).  A kernel without
 *	Landlock (or with it off in lsm=): the run goes on with the other
 *	layers, result->landlock_abi is 0 and mugai_sandbox_isolation()
 *	says so.  Connecting to a Unix socket by path is no right of the
 *	ABIs above: the filters' seccomp filters refuse connect() (and the
 *	own filters socket()).
 *
 * HOST PROBE
 *	Which namespaces and which Landlock ABI a run tries is found once per
 *	process (and again when its set of seccomp filters changed), each in
 *	a throw-away child: a seccomp filter the process inherited may kill
 *	a call rather than refuse it (systemd 252's SystemCallFilter=
 *	@system-service has no landlock_* calls; ~@mount kills mount(2)), and
 *	a run must then go on without that layer instead of dying of SIGSYS
 *	in every run.  mugai_sandbox_isolation() reports the same probe.
 *
 * PROCESSES
 *	RLIMIT_NPROC counts the tasks (threads too) of the real uid; since
 *	Linux 5.14 it is counted per user namespace, so in a user namespace
 *	of its own a run's count is its own: SANDBOX_NPROC (128: LibreOffice
 *	starts some 20 threads) bounds a fork bomb without starving other
 *	workers' filters.  Without a user namespace every task of the uid
 *	counts, so the limit is the tasks the uid has when the run starts
 *	(counted through /proc) plus SANDBOX_NPROC: a bound, not a tight
 *	one.  The kernel never enforces it for uid 0 (kernel/fork.c:
 *	INIT_USER), in a user namespace or not: a worker running as root
 *	(no [milter] user) gives its filters no process limit; the pid
 *	namespace and the deadline still end what they start.
 *
 * LIMITS
 *	Standard output is bounded by limits->output_max (read at most one
 *	octet past it); standard error keeps its last 4 KiB only, of which
 *	MUGAI_SANDBOX_DIAGNOSTICS_MAX reach the caller; the private directory
 *	is removed to a depth of 64 (filters make no directories).
 *
 * SIZE
 *	About 1,600 lines, one concept: one run of one filter under every
 *	layer at once.  The child's side (between fork and execve,
 *	async-signal-safe: namespaces, Landlock, limits) and the parent's
 *	(the deadline, the output, the kill of the whole run) share the run's
 *	state and the host probe that decides which layers each run tries;
 *	split, each half would need the other's internals.  Its Landlock
 *	code duplicates src/util/landlock.c (the workers'): it must run
 *	without allocating in the child and also handles ABI 4 and 6; to be
 *	merged there.
 *
 * BUGS
 *	Without a pid namespace, a filter that could fork and setsid() (the
 *	own filters cannot fork; LibreOffice's seccomp refuses setsid and
 *	setpgid) would leave its process group; PR_SET_PDEATHSIG reaches
 *	only direct children.  The deadline still ends the run.
 *	A caller killed during a run (a worker at its message deadline)
 *	takes its filter with it (PR_SET_PDEATHSIG) but cannot remove the
 *	private directory: the pool calls mugai_sandbox_sweep() for every
 *	worker it reaps, and once at start for owners that no longer exist.
 *	A process stuck in uninterruptible sleep delays the final waitpid().
 *	Processes killed at the end of a run are reaped by whoever inherits
 *	them (init, or a subreaper): until then they are zombies, holding
 *	nothing.
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
#include <sched.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/mount.h>
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

/* The layers a run gets (NAMESPACES, LANDLOCK above), as bits: in the
 * status records and in mugai_sandbox_isolation(). */
enum
{
  NS_USER = 1 << 0,
  NS_NET = 1 << 1,
  NS_PID = 1 << 2,
  NS_MNT = 1 << 3,
};

/* The namespaces a filter gets, best first (NAMESPACES above), of those
 * in allowed (HOST PROBE).  In the child, async-signal-safe.  NS_MNT
 * here means only that the namespace was made; private_tmp() decides
 * whether /tmp became the private directory. */
static int
make_namespaces (int allowed)
{
  static const int tries[] = {
    CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS,
    CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS,
    CLONE_NEWUSER | CLONE_NEWNET,
    CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS, /* as root where user namespaces are off */
    CLONE_NEWNET,
  };
  for (gsize i = 0; i < G_N_ELEMENTS (tries); i++)
    {
      int bits
          = ((tries[i] & CLONE_NEWUSER) ? NS_USER : 0) | ((tries[i] & CLONE_NEWNET) ? NS_NET : 0)
            | ((tries[i] & CLONE_NEWPID) ? NS_PID : 0) | ((tries[i] & CLONE_NEWNS) ? NS_MNT : 0);
      if ((bits & ~allowed) == 0 && unshare (tries[i]) == 0)
        return bits;
    }
  return 0;
}

/* In a new mount namespace: nothing propagates back to the host, and the
 * private directory is mounted on /tmp, where LibreOffice binds its pipe
 * whatever TMPDIR says (and where a filter would otherwise see every
 * other program's temporary files).  dir NULL: only check that it can be
 * done (mugai_sandbox_isolation).  FALSE: the filter keeps the host's
 * view. */
static gboolean
private_tmp (const char *dir)
{
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return FALSE;
  if (dir == NULL)
    return TRUE;
  return mount (dir, "/tmp", NULL, MS_BIND, NULL) == 0;
}

/* RLIMIT_NPROC of a run (PROCESSES above): LibreOffice's threads with
 * room to spare; a fork bomb stops here. */
#define SANDBOX_NPROC 128

/* ---- Landlock (LANDLOCK above) ----
 *
 * The UAPI of linux/landlock.h, written out so that mugai builds with
 * the headers of an older kernel (Debian 12's know ABI 2 at most) and
 * uses what the running kernel offers. */

#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_FS_EXECUTE (1ull << 0)
#define LL_FS_WRITE_FILE (1ull << 1)
#define LL_FS_READ_FILE (1ull << 2)
#define LL_FS_READ_DIR (1ull << 3)
#define LL_FS_REMOVE_FILE (1ull << 5)
#define LL_FS_MAKE_SOCK (1ull << 9)
#define LL_FS_ABI1 ((1ull << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define LL_FS_REFER (1ull << 13)      /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)   /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15)  /* ABI 5 */
#define LL_FS_FILE_ONLY                                                                            \
  (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)
#define LL_NET_BIND_TCP (1ull << 0)        /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ull << 1)     /* ABI 4 */
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ull << 1)        /* ABI 6 */

struct ll_ruleset_attr
{
  guint64 handled_access_fs;
  guint64 handled_access_net; /* ABI 4 */
  guint64 scoped;             /* ABI 6 */
};

struct ll_path_beneath_attr
{
  guint64 allowed_access;
  gint32 parent_fd;
} __attribute__ ((packed));

static int landlock_cap; /* mugai_sandbox_set_landlock_cap() */

void
mugai_sandbox_set_landlock_cap (int abi)
{
  landlock_cap = MAX (abi, 0);
}

/* The highest Landlock ABI the kernel offers (at most landlock_cap when
 * set), 0 for none. */
static int
landlock_abi (void)
{
#ifdef SYS_landlock_create_ruleset
  long v = syscall (SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  if (landlock_cap > 0)
    v = MIN (v, landlock_cap);
  return v > 0 ? (int)MIN (v, 99) : 0;
#else
  return 0;
#endif
}

#define R_EXEC (LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR)
#define R_READ (LL_FS_READ_FILE | LL_FS_READ_DIR)

/* What every filter may read (R_EXEC also execute): found with strace -f
 * on the pdf, office, image and soffice filters.  A path that does not
 * exist on this host is skipped. */
static const struct
{
  const char *path;
  guint64 access;
} landlock_paths[] = {
  /* programs, libraries, fonts, LibreOffice's install, locales */
  { "/usr", R_EXEC },
  { "/lib", R_EXEC },
  { "/lib64", R_EXEC },
  { "/lib32", R_EXEC },
  { "/libx32", R_EXEC },
  { "/bin", R_EXEC },
  { "/sbin", R_EXEC },
  /* configuration: the dynamic linker, fonts, LibreOffice, time zone,
   * the user database glibc and LibreOffice ask for the user's name */
  { "/etc/ld.so.cache", R_READ },
  { "/etc/ld.so.preload", R_READ },
  { "/etc/fonts", R_READ },
  { "/etc/libreoffice", R_READ },
  { "/etc/localtime", R_READ },
  { "/etc/passwd", R_READ },
  { "/etc/group", R_READ },
  { "/etc/nsswitch.conf", R_READ },
  { "/etc/gnutls", R_READ },
  { "/etc/papersize", R_READ },
  { "/etc/locale.alias", R_READ },
  { "/var/cache/fontconfig", R_READ },
  /* where Debian's LibreOffice links its shared extensions and cache */
  { "/var/lib/libreoffice", R_READ },
  { "/var/spool/libreoffice", R_READ },
  /* glibc's count of CPUs (LibreOffice's thread pool) */
  { "/sys/devices/system/cpu", R_READ },
  { "/dev/null", R_READ | LL_FS_WRITE_FILE },
  { "/dev/zero", R_READ },
  { "/dev/urandom", R_READ },
  { "/dev/random", R_READ },
  /* the process itself: /proc/self resolves to its own /proc/PID here,
   * which is all of /proc it can reach (maps for AddressSanitizer, fd
   * and status for the probe, exe for LibreOffice) */
  { "/proc/self", R_READ },
};

static gboolean
landlock_add (int ruleset, const char *path, guint64 access, guint64 handled)
{
#ifdef SYS_landlock_add_rule
  int fd = open (path, O_PATH | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT || errno == EACCES || errno == ENOTDIR; /* not here: skipped */
  struct stat st;
  if (fstat (fd, &st) != 0)
    {
      close (fd);
      return FALSE;
    }
  struct ll_path_beneath_attr rule = { .allowed_access = access & handled, .parent_fd = fd };
  if (!S_ISDIR (st.st_mode))
    rule.allowed_access &= LL_FS_FILE_ONLY;
  long r = syscall (SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule, 0);
  close (fd);
  return r == 0;
#else
  return FALSE;
#endif
}

/* Puts the filter's Landlock domain in force: read (and execute) what
 * landlock_paths[] names and the filter itself, everything in the
 * private directory; no TCP bind or connect (ABI 4); no abstract Unix
 * socket or signal outside the domain (ABI 6).  tmp_sock: also create
 * sockets and remove files below /tmp (no mount namespace: LibreOffice's
 * pipe, which its second start finds and removes).  The ABI
 * in force, 0 when the kernel has none (the run goes on), -1 when a rule
 * could not be added or the domain not entered (errno).  No-new-privs
 * must be set.  Async-signal-safe. */
static int
landlock_confine (int abi, const char *self, const char *dir, gboolean tmp_sock)
{
#if defined(SYS_landlock_create_ruleset) && defined(SYS_landlock_restrict_self)
  if (abi <= 0)
    return 0;
  struct ll_ruleset_attr attr = { .handled_access_fs = LL_FS_ABI1 };
  gsize size = sizeof attr.handled_access_fs;
  if (abi >= 2)
    attr.handled_access_fs |= LL_FS_REFER;
  if (abi >= 3)
    attr.handled_access_fs |= LL_FS_TRUNCATE;
  if (abi >= 4)
    {
      attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
      size = offsetof (struct ll_ruleset_attr, scoped);
    }
  if (abi >= 5)
    attr.handled_access_fs |= LL_FS_IOCTL_DEV;
  if (abi >= 6)
    {
      attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
      size = sizeof attr;
    }
  guint64 handled = attr.handled_access_fs;
  int ruleset = (int)syscall (SYS_landlock_create_ruleset, &attr, size, 0);
  if (ruleset < 0)
    return -1;
  gboolean ok = TRUE;
  for (gsize i = 0; ok && i < G_N_ELEMENTS (landlock_paths); i++)
    ok = landlock_add (ruleset, landlock_paths[i].path, landlock_paths[i].access, handled);
  if (ok)
    ok = landlock_add (ruleset, self, R_EXEC, handled);
  if (ok)
    ok = landlock_add (ruleset, dir, handled, handled);
  if (ok && tmp_sock)
    ok = landlock_add (ruleset, "/tmp", LL_FS_MAKE_SOCK | LL_FS_REMOVE_FILE, handled);
  if (ok)
    ok = syscall (SYS_landlock_restrict_self, ruleset, 0) == 0;
  int saved = errno;
  close (ruleset);
  errno = saved;
  return ok ? abi : -1;
#else
  return 0;
#endif
}

/* ---- RLIMIT_NPROC (PROCESSES above) ---- */

/* Tasks (threads included) of the real uid, counted through /proc with
 * system calls only (between fork and execve).  -1 when /proc cannot be
 * read. */
static long
count_user_tasks (uid_t uid)
{
  int proc = open ("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0)
    return -1;
  long n = 0;
  char buf[4096];
  for (;;)
    {
      long len = syscall (SYS_getdents64, proc, buf, sizeof buf);
      if (len <= 0)
        break;
      for (long off = 0; off < len;)
        {
          struct
          {
            guint64 ino;
            gint64 off;
            unsigned short reclen;
            unsigned char type;
            char name[];
          } *d = (void *)(buf + off);
          off += d->reclen;
          if (d->name[0] < '1' || d->name[0] > '9')
            continue;
          struct stat st;
          /* the owner of /proc/PID is the effective uid: near enough;
           * /proc/PID/task has two links plus one per thread */
          if (fstatat (proc, d->name, &st, 0) != 0 || st.st_uid != uid)
            continue;
          char task[300];
          gsize k = 0;
          for (const char *p = d->name; *p && k < sizeof task - 6; p++)
            task[k++] = *p;
          memcpy (task + k, "/task", 6);
          n += fstatat (proc, task, &st, 0) == 0 && st.st_nlink > 2 ? (long)st.st_nlink - 2 : 1;
        }
    }
  close (proc);
  return n;
}

/* ---- the child ---- */

/* What the child tells the parent through the status pipe, one record per
 * write (atomic: smaller than PIPE_BUF). */
typedef struct
{
  char kind; /* 'n': namespaces reached, 'l': Landlock, 'i': the pid of the pid
              * namespace's init (in err), 'e': a step failed */
  char what; /* 'n': NS_ bits; 'l': the ABI in force, 0 none; 'e': the step */
  char pad[2];
  int err; /* 'e': errno */
} ChildStatus;

typedef struct
{
  int in_fd, out_fd, err_fd, status_fd;
  pid_t parent;
  const char *dir;
  const char *const *argv;
  char *const *envp;     /* TMPDIR the private directory's path */
  char *const *envp_tmp; /* TMPDIR=/tmp: the private directory mounted there */
  const MugaiSandboxLimits *limits;
  int ns_allowed;   /* NS_ bits the host probe found safe to try */
  int landlock_abi; /* what the host probe found, 0: none or refused */
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

/* The last steps, in the process that becomes the filter: resource
 * limits, the private directory, no-new-privs, Landlock, execve. */
G_GNUC_NORETURN static void
filter_exec (const ChildSetup *c, int status, int ns)
{
  const MugaiSandboxLimits *l = c->limits;
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

  gboolean tmp = (ns & NS_MNT) != 0;
  if (chdir (tmp ? "/tmp" : c->dir) != 0)
    child_fail (status, 'c');
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    child_fail (status, 'p');
  int abi = landlock_confine (c->landlock_abi, c->argv[0], tmp ? "/tmp" : c->dir, !tmp);
  if (abi < 0)
    child_fail (status, 'l');
  child_tell (status, 'l', (char)abi, 0);
  execve (c->argv[0], (char *const *)c->argv, tmp ? c->envp_tmp : c->envp);
  child_fail (status, 'x');
}

static void
on_sigchld (int sig)
{
  (void)sig;
}

/* pid 1 of the run's pid namespace: it only reaps what is orphaned to
 * it, and dies with the process that made it.  The filter is not pid 1,
 * so that signals reach it as they would anywhere (the kernel drops a
 * signal to a namespace's init that it has no handler for: abort()
 * would not end it). */
G_GNUC_NORETURN static void
pid1_main (void)
{
  struct sigaction sa = { .sa_handler = on_sigchld };
  sigemptyset (&sa.sa_mask);
  sigaction (SIGCHLD, &sa, NULL);
  for (;;)
    if (waitpid (-1, NULL, __WALL) < 0 && errno == ECHILD)
      pause ();
}

/* Forks a child that dies with this process (PR_SET_PDEATHSIG), checking
 * through a pipe that this process was still alive once the signal was
 * armed.  In the child: returns 0.  In the parent: the pid, or -1. */
static pid_t
fork_tied (void)
{
  int alive[2];
  if (pipe2 (alive, O_CLOEXEC) != 0)
    return -1;
  pid_t pid = fork ();
  if (pid == 0)
    {
      close (alive[1]);
      if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
        _exit (127);
      struct pollfd p = { .fd = alive[0], .events = POLLIN };
      if (poll (&p, 1, 0) != 0) /* POLLHUP: the parent is gone already */
        _exit (127);
      close (alive[0]);
      return 0;
    }
  close (alive[0]);
  /* alive[1] stays open for the life of this process (close-on-exec) */
  return pid;
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

  uid_t uid = getuid ();
  int ns = make_namespaces (c->ns_allowed);
  if ((ns & NS_MNT) && !private_tmp (c->dir))
    ns &= ~NS_MNT;
  child_tell (status, 'n', (char)ns, 0);

  /* After unshare, which changes credentials.  The parent may already be
   * gone: then there is nobody to send the signal. */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
    child_fail (status, 'p');
  if (getppid () != c->parent)
    _exit (127);

  /* Also for the processes forked below (the core of one that mirrors a
   * signal, see below). */
  if (child_limit (RLIMIT_CORE, 0, 0) != 0)
    child_fail (status, 'r');
  /* PROCESSES above: in a user namespace of its own the count is this
   * run's; otherwise every task of the uid counts. */
  long nproc = SANDBOX_NPROC;
  if (!(ns & NS_USER))
    {
      long mine = count_user_tasks (uid);
      nproc = mine < 0 ? -1 : mine + SANDBOX_NPROC;
    }
  if (nproc > 0 && child_limit (RLIMIT_NPROC, (rlim_t)nproc, (rlim_t)nproc) != 0)
    child_fail (status, 'r');

  if (!(ns & NS_PID))
    filter_exec (c, status, ns);

  /* The first child in the new pid namespace is its pid 1, the second
   * the filter; when this process ends, both die (PR_SET_PDEATHSIG), and
   * with pid 1 every process left in the namespace. */
  pid_t init = fork_tied ();
  if (init == 0)
    {
      close_range (0, ~0u, 0);
      pid1_main ();
    }
  if (init < 0)
    child_fail (status, 'f');
  child_tell (status, 'i', 0, (int)init);
  pid_t filter = fork_tied ();
  if (filter == 0)
    filter_exec (c, status, ns);
  if (filter < 0)
    child_fail (status, 'f');
  /* hold no pipe: the parent sees EOF when the filter's processes are done */
  close (0);
  close (1);
  close (2);
  close (status);

  int st = 0;
  while (waitpid (filter, &st, 0) < 0)
    if (errno != EINTR)
      _exit (127);
  /* everything the filter left goes with pid 1; once pid 1 is reaped,
   * the namespace is empty */
  kill (init, SIGKILL);
  while (waitpid (init, NULL, 0) < 0 && errno == EINTR)
    ;
  /* the filter's end, as the caller would have seen it without us */
  if (WIFEXITED (st))
    _exit (WEXITSTATUS (st));
  if (WIFSIGNALED (st))
    {
      sigaction (WTERMSIG (st), &dfl, NULL);
      kill (getpid (), WTERMSIG (st));
    }
  _exit (127);
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
    case 'l':
      return "Landlock";
    case 'f':
      return "forking in the pid namespace";
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
      gboolean gone = owner > 0 ? pid == (long)owner : kill ((pid_t)pid, 0) != 0 && errno == ESRCH;
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
  int init_pidfd; /* the run's pid namespace's init, -1: none */
  char *dir;
  char *env[4];
  char *env_tmp[4];
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
  close_fd (&st->init_pidfd);
  if (st->dir != NULL)
    remove_tree_at (AT_FDCWD, st->dir, 0);
  g_clear_pointer (&st->dir, g_free);
  for (gsize i = 0; i < G_N_ELEMENTS (st->env); i++)
    {
      g_clear_pointer (&st->env[i], g_free);
      g_clear_pointer (&st->env_tmp[i], g_free);
    }
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

/* ---- the host probe (HOST PROBE above) ---- */

typedef struct
{
  int ns;  /* NS_ bits a child can make (NS_MNT: and mount in it) */
  int abi; /* Landlock ABI a child can enter, 0: none */
} HostLayers;

/* Forks a child running fn and returns its exit status, or -1 when it
 * did not exit (killed: by a seccomp filter the caller inherited). */
static int
probe_child (int (*fn) (int), int arg)
{
  pid_t pid = fork ();
  if (pid < 0)
    return -1;
  if (pid == 0)
    _exit (fn (arg));
  int status = 0;
  pid_t w;
  do
    w = waitpid (pid, &status, 0);
  while (w < 0 && errno == EINTR);
  return w == pid && WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static int
probe_namespaces (int allowed)
{
  int ns = make_namespaces (allowed);
  if ((ns & NS_MNT) && !private_tmp (NULL))
    ns &= ~NS_MNT;
  if ((ns & NS_PID) != 0)
    {
      /* the first fork in it must succeed (pid 1) */
      pid_t init = fork ();
      if (init == 0)
        _exit (0);
      if (init < 0 || waitpid (init, NULL, 0) != init)
        ns &= ~NS_PID;
    }
  return ns;
}

static int
probe_landlock (int unused)
{
  (void)unused;
  int abi = landlock_abi ();
  if (abi > 0 && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
    abi = landlock_confine (abi, "/proc/self/exe", "/", FALSE);
  return MIN (MAX (abi, 0), 99);
}

/* What a filter run can get here, each layer tried in a child of its
 * own: a seccomp filter of the service manager or of the caller that
 * kills a call the sandbox makes (systemd 252's @system-service has no
 * landlock_*; ~@mount kills mount) costs that layer, not every run.
 * known FALSE when no child could be forked. */
static HostLayers
probe_host (gboolean *known)
{
  HostLayers h = { 0 };
  int all = NS_USER | NS_NET | NS_PID | NS_MNT;
  int ns = probe_child (probe_namespaces, all);
  if (ns < 0) /* killed, by mount(2) presumably: without the mount namespace */
    ns = probe_child (probe_namespaces, all & ~NS_MNT);
  int abi = probe_child (probe_landlock, 0);
  *known = ns >= 0 || abi >= 0;
  h.ns = MAX (ns, 0);
  h.abi = MAX (abi, 0);
  return h;
}

/* The number of seccomp filters on this process, -1 if unknown. */
static long
seccomp_filter_count (void)
{
  g_autofree char *status = NULL;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  const char *p = strstr (status, "\nSeccomp_filters:");
  return p != NULL ? strtol (p + strlen ("\nSeccomp_filters:"), NULL, 10) : -1;
}

/* probe_host(), once per process and set of seccomp filters (a worker
 * forked from the pool probes again; so does one that puts a filter of
 * its own in force, which can only take calls away). */
static HostLayers
host_layers (void)
{
  static pid_t pid;
  static long filters = -2;
  static int cap = -1;
  static HostLayers h;
  long f = seccomp_filter_count ();
  if (pid != getpid () || f != filters || f < 0 || cap != landlock_cap)
    {
      gboolean known;
      h = probe_host (&known);
      pid = getpid ();
      filters = f;
      cap = landlock_cap;
      if (!known)
        pid = 0; /* try again next time */
    }
  return h;
}

MugaiSandboxIsolation
mugai_sandbox_isolation (void)
{
  MugaiSandboxIsolation iso = { 0 };
  HostLayers h = probe_host (&iso.known);
  if (!iso.known)
    return iso;
  iso.layers = MUGAI_SANDBOX_LAYER_SECCOMP;
  if (h.ns & NS_USER)
    iso.layers |= MUGAI_SANDBOX_LAYER_USERNS;
  if (h.ns & NS_NET)
    iso.layers |= MUGAI_SANDBOX_LAYER_NETNS;
  if (h.ns & NS_PID)
    iso.layers |= MUGAI_SANDBOX_LAYER_PIDNS;
  if (h.ns & NS_MNT)
    iso.layers |= MUGAI_SANDBOX_LAYER_MNTNS;
  iso.landlock_abi = h.abi;
  if (iso.landlock_abi > 0)
    iso.layers |= MUGAI_SANDBOX_LAYER_LANDLOCK;
  return iso;
}

gboolean
mugai_sandbox_isolation_complete (const MugaiSandboxIsolation *i)
{
  g_return_val_if_fail (i != NULL, FALSE);
  return i->known && (i->layers & MUGAI_SANDBOX_LAYERS_ALL) == MUGAI_SANDBOX_LAYERS_ALL;
}

char *
mugai_sandbox_isolation_text (const MugaiSandboxIsolation *i)
{
  g_return_val_if_fail (i != NULL, NULL);
  if (!i->known)
    return g_strdup ("unknown: the sandbox probe could not run");
  static const struct
  {
    MugaiSandboxLayers layer;
    const char *name;
    const char *without; /* what missing it means */
  } names[] = {
    { MUGAI_SANDBOX_LAYER_USERNS, "user namespace", "a filter keeps the worker's capabilities" },
    { MUGAI_SANDBOX_LAYER_NETNS, "network namespace",
      "seccomp and Landlock alone keep filters off the network" },
    { MUGAI_SANDBOX_LAYER_PIDNS, "pid namespace",
      "the process group kill, seccomp (no setsid) and RLIMIT_NPROC end a run's processes" },
    { MUGAI_SANDBOX_LAYER_MNTNS, "mount namespace",
      "filters see the host's /tmp; LibreOffice's pipe is made there" },
    { MUGAI_SANDBOX_LAYER_LANDLOCK, "Landlock",
      "filters may read whatever the filter uid may read" },
    { MUGAI_SANDBOX_LAYER_SECCOMP, "seccomp", NULL },
  };
  g_autoptr (GString) in = g_string_new ("in force: ");
  g_autoptr (GString) out = g_string_new ("");
  for (gsize k = 0; k < G_N_ELEMENTS (names); k++)
    {
      if (i->layers & names[k].layer)
        {
          if (in->len > strlen ("in force: "))
            g_string_append (in, ", ");
          g_string_append (in, names[k].name);
          if (names[k].layer == MUGAI_SANDBOX_LAYER_LANDLOCK)
            g_string_append_printf (in, " ABI %d", i->landlock_abi);
        }
      else
        g_string_append_printf (out, "%s%s (%s)", out->len ? ", " : "", names[k].name,
                                names[k].without ? names[k].without : "");
    }
  g_string_append_printf (in, "; missing: %s", out->len ? out->str : "none");
  return g_string_free (g_steal_pointer (&in), FALSE);
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
    .envp_tmp = st->env_tmp,
    .limits = limits,
  };
  HostLayers host = host_layers ();
  setup.ns_allowed = host.ns;
  setup.landlock_abi = host.abi;
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
              result->userns = (cs.what & NS_USER) != 0;
              result->netns = (cs.what & NS_NET) != 0;
              result->pidns = (cs.what & NS_PID) != 0;
              result->mntns = (cs.what & NS_MNT) != 0;
            }
          else if (n == (ssize_t)sizeof cs && cs.kind == 'l')
            result->landlock_abi = cs.what;
          else if (n == (ssize_t)sizeof cs && cs.kind == 'i' && st->init_pidfd < 0 && cs.err > 0)
            st->init_pidfd = open_pidfd ((pid_t)cs.err); /* alive: its parent is */
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

  if (st->init_pidfd >= 0)
    {
      /* A pid namespace: its init first, while the process that made it
       * is alive to reap the filter (the kernel kills everything in the
       * namespace and waits until it is reaped before init exits).  Once
       * init has exited, every process of the run is gone. */
#ifdef SYS_pidfd_send_signal
      syscall (SYS_pidfd_send_signal, st->init_pidfd, SIGKILL, NULL, 0);
#endif
      struct pollfd done = { .fd = st->init_pidfd, .events = POLLIN };
      int r;
      do
        r = poll (&done, 1, 1000);
      while (r < 0 && errno == EINTR);
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
  if (st->init_pidfd < 0)
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

  RunState st = { .in_fd = -1,
                  .out = { -1, -1 },
                  .err = { -1, -1 },
                  .status = { -1, -1 },
                  .pidfd = -1,
                  .init_pidfd = -1 };
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
      st.env_tmp[0] = g_strdup ("TMPDIR=/tmp");
      st.env_tmp[1] = g_strdup (st.env[1]);
      st.env_tmp[2] = g_strdup (st.env[2]);
      st.env_tmp[3] = NULL;
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
