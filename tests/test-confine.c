/*
 * test-confine.c - confine.c and landlock.c: what a confined worker can
 *                  no longer do, at each Landlock ABI, and without it
 *
 * Each case forks a child, confines it as the pool confines a worker,
 * and has it try what an exploited parser would: the child reports each
 * outcome in its exit status (one bit a step), or dies by the signal its
 * seccomp filter sends.  Landlock ABI 1 (Linux 5.13) and 2 (Debian 12's
 * 6.1) are tried on this kernel by capping the ABI; -1 stands for a
 * kernel without Landlock.
 */
#include "confine.h"
#include "landlock.h"

#include <glib/gstdio.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct
{
  char *base;   /* a directory standing for /var/lib/mugai */
  char *secret; /* base/quarantine/original.eml, 0600 */
  char *tmp;    /* the worker's temporary directory */
} Dirs;

static void
dirs_make (Dirs *d)
{
  g_autoptr (GError) error = NULL;
  /* not under /tmp: the worker may write /tmp (LibreOffice's pipe) */
  d->base
      = g_build_filename (g_getenv ("MUGAI_TEST_BUILDDIR") ? g_getenv ("MUGAI_TEST_BUILDDIR") : ".",
                          "confine-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (d->base));
  g_autofree char *q = g_build_filename (d->base, "quarantine", NULL);
  g_assert_cmpint (g_mkdir (q, 0700), ==, 0);
  d->secret = g_build_filename (q, "original.eml", NULL);
  g_assert_true (g_file_set_contents (d->secret, "Subject: secret\r\n\r\nx\r\n", -1, &error));
  d->tmp = g_build_filename (d->base, "tmp", NULL);
  g_assert_cmpint (g_mkdir (d->tmp, 0700), ==, 0);
}

static void
dirs_free (Dirs *d)
{
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", d->base);
  g_assert_cmpint (system (cmd), ==, 0);
  g_free (d->base);
  g_free (d->secret);
  g_free (d->tmp);
}

enum
{
  READ_SECRET = 1 << 0,  /* opened the original */
  WRITE_BASE = 1 << 1,   /* created a file beside the store */
  WRITE_TMP = 1 << 2,    /* created a file in its temporary directory */
  READ_SYSTEM = 1 << 3,  /* read /etc/passwd (the system stays readable) */
  CONNECTED = 1 << 4,    /* connect() on a Unix socket went through */
  COMPLETE = 1 << 5,     /* mugai_worker_confine() said every layer is in force */
  HAS_LANDLOCK = 1 << 6, /* the layers named Landlock */
};

/* A confined child's attempts, as bits of its exit status. */
static int
confined_child (const Dirs *d, int max_abi)
{
  MugaiWorkerJail jail = { d->tmp, "/nonexistent-filters", NULL, max_abi };
  g_autoptr (GString) layers = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  int r = 0;
  if (mugai_worker_confine (&jail, layers, &error))
    r |= COMPLETE;
  if (strstr (layers->str, "landlock"))
    r |= HAS_LANDLOCK;
  int fd = open (d->secret, O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    r |= READ_SECRET, close (fd);
  g_autofree char *beside = g_build_filename (d->base, "planted", NULL);
  fd = open (beside, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0)
    r |= WRITE_BASE, close (fd);
  g_autofree char *mine = g_build_filename (d->tmp, "scratch", NULL);
  fd = open (mine, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0)
    r |= WRITE_TMP, close (fd);
  fd = open ("/etc/passwd", O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    r |= READ_SYSTEM, close (fd);
  int s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  g_strlcpy (sun.sun_path, "/dev/log", sizeof sun.sun_path);
  if (s >= 0 && (connect (s, (struct sockaddr *)&sun, sizeof sun) == 0 || errno != EACCES))
    r |= CONNECTED;
  return r;
}

static int
run_confined (const Dirs *d, int max_abi)
{
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      g_log_set_always_fatal (G_LOG_FATAL_MASK);
      _exit (confined_child (d, max_abi));
    }
  int status = 0;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

/* At the kernel's ABI and at Debian 12's and the first one: the store is
 * out of reach for reading and writing, the temporary directory and the
 * system are not, and connect() is refused. */
static void
test_landlock_abis (void)
{
  int kernel = mugai_landlock_abi ();
  if (kernel == 0)
    {
      g_test_skip ("this kernel has no Landlock");
      return;
    }
  int abis[] = { 0, 2, 1 };
  for (gsize i = 0; i < G_N_ELEMENTS (abis); i++)
    {
      if (abis[i] > kernel)
        continue;
      Dirs d;
      dirs_make (&d);
      int r = run_confined (&d, abis[i]);
      g_test_message ("ABI %d: result 0x%x", abis[i] ? abis[i] : kernel, (unsigned)r);
      g_assert_cmpint (r & COMPLETE, ==, COMPLETE);
      g_assert_cmpint (r & HAS_LANDLOCK, ==, HAS_LANDLOCK);
      g_assert_cmpint (r & READ_SECRET, ==, 0);
      g_assert_cmpint (r & WRITE_BASE, ==, 0);
      g_assert_cmpint (r & WRITE_TMP, ==, WRITE_TMP);
      g_assert_cmpint (r & READ_SYSTEM, ==, READ_SYSTEM);
      g_assert_cmpint (r & CONNECTED, ==, 0);
      dirs_free (&d);
    }
}

/* Without Landlock: said (not complete, no "landlock" among the layers),
 * the other layers still in force (connect() refused); the files are
 * then kept from the workers by their user alone. */
static void
test_without_landlock (void)
{
  Dirs d;
  dirs_make (&d);
  int r = run_confined (&d, -1);
  g_assert_cmpint (r & COMPLETE, ==, 0);
  g_assert_cmpint (r & HAS_LANDLOCK, ==, 0);
  g_assert_cmpint (r & CONNECTED, ==, 0);
  g_assert_cmpint (r & WRITE_TMP, ==, WRITE_TMP);
  dirs_free (&d);
}

/* An Internet socket kills the worker (SIGSYS), and so does ptrace. */
static void
test_seccomp_kills (void)
{
  const char *what[] = { "socket", "ptrace" };
  for (gsize i = 0; i < G_N_ELEMENTS (what); i++)
    {
      Dirs d;
      dirs_make (&d);
      pid_t pid = fork ();
      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        {
          g_log_set_always_fatal (G_LOG_FATAL_MASK);
          MugaiWorkerJail jail = { d.tmp, "/nonexistent-filters", NULL, 0 };
          g_autoptr (GString) layers = g_string_new (NULL);
          mugai_worker_confine (&jail, layers, NULL);
          if (i == 0)
            socket (AF_INET, SOCK_STREAM, 0);
          else
            syscall (SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
          _exit (0);
        }
      int status = 0;
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_test_message ("%s: status 0x%x", what[i], (unsigned)status);
      g_assert_true (WIFSIGNALED (status));
      g_assert_cmpint (WTERMSIG (status), ==, SIGSYS);
      dirs_free (&d);
    }
}

/* -t's words: the layers this kernel offers. */
static void
test_text (void)
{
  gboolean complete = FALSE;
  g_autofree char *text = mugai_worker_confinement_text (&complete);
  g_assert_nonnull (strstr (text, "seccomp"));
  if (mugai_landlock_abi () > 0)
    {
      g_assert_true (complete);
      g_autofree char *abi = g_strdup_printf ("Landlock ABI %d", mugai_landlock_abi ());
      g_assert_nonnull (strstr (text, abi));
    }
  else
    g_assert_nonnull (strstr (text, "NO Landlock"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/confine/landlock-abis", test_landlock_abis);
  g_test_add_func ("/confine/without-landlock", test_without_landlock);
  g_test_add_func ("/confine/seccomp-kills", test_seccomp_kills);
  g_test_add_func ("/confine/text", test_text);
  return g_test_run ();
}
