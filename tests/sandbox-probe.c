/*
 * sandbox-probe.c - a filter that misbehaves on request, for test-sandbox
 *
 * SYNOPSIS
 *	sandbox-probe MODE [ARG]
 *
 * DESCRIPTION
 *	Run by tests/test-sandbox.c through mugai_sandbox_run().  Modes
 *	marked (L) call mugai_filter_lockdown() first, like a real filter.
 *
 *	echo (L)	copy standard input to standard output
 *	socket (L)	socket(AF_INET): must die of SIGSYS
 *	exec (L)	execve /bin/true: must die of SIGSYS
 *	abort (L)	abort(): must die of SIGABRT, not SIGSYS
 *	writefile (L)	try opens for writing, PROT_EXEC, isatty, unlink;
 *			print NAME=ERRNO for each, exit 0
 *	tmpwrite	lockdown with MUGAI_LOCKDOWN_ALLOW_TMP_WRITE, then
 *			create, write and unlink a file in the directory
 *	readfont (L)	open ARG (a file) read-only, read it, list /usr
 *	loop		spin forever
 *	sleep		sleep forever (ARG: a tag the test finds in /proc)
 *	alloc (L)	64 MiB blocks until malloc fails; "allocated N MiB"
 *			on standard error, exit 3
 *	flood		write standard output forever
 *	env		print the environment
 *	fds		list /proc/self/fd
 *	sigstate	print the SigBlk and SigIgn lines of /proc/self/status
 *	net		connect to 127.0.0.1 port ARG; print the outcome
 *	grandchild	fork a child that sleeps forever, exit (ARG: a tag)
 *	tmp		print TMPDIR and the working directory, write files
 *	stderr		a long standard error full of control characters and
 *			invalid UTF-8, exit 1
 *
 *	forkbomb	fork up to 1000 children that sleep (ARG: a tag);
 *			print forked=N and the errno of the first failure
 *	escape CONF STEP ARG
 *			the probe of issue 13, one step per run, under CONF:
 *			"plain" (mugai_filter_lockdown, like the own
 *			filters) or "foreign" (mugai_filter_confine_foreign,
 *			like LibreOffice).  STEP: setsid (fork; the child
 *			calls setsid() and sleeps, ARG a tag), bind (a Unix
 *			socket on path ARG), append (to file ARG), read
 *			(file ARG), connect (to the Unix socket ARG), exec
 *			(/bin/true; ARG unused).  Prints
 *			STEP=ok or STEP=ERRNO-NAME; a step seccomp kills
 *			ends the run with SIGSYS.
 *
 *	Exit 64 on a bad command line, 70 when the lockdown fails.
 */
#include "lockdown.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void
lockdown (MugaiLockdownFlags flags)
{
  g_autoptr (GError) error = NULL;
  if (!mugai_filter_lockdown (flags, &error))
    {
      fprintf (stderr, "lockdown: %s\n", error->message);
      exit (70);
    }
}

static const char *
errno_name (int e)
{
  switch (e)
    {
    case 0:
      return "0";
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case ENOTTY:
      return "ENOTTY";
    case ENOENT:
      return "ENOENT";
    case ENETUNREACH:
      return "ENETUNREACH";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case EROFS:
      return "EROFS";
    case ENOTDIR:
      return "ENOTDIR";
    case EAGAIN:
      return "EAGAIN";
    default:
      return "other";
    }
}

static void
try_open (const char *name, const char *path, int flags)
{
  int fd = open (path, flags, 0600);
  printf ("%s=%s\n", name, fd >= 0 ? "opened" : errno_name (errno));
  if (fd >= 0)
    close (fd);
}

static int
mode_writefile (void)
{
  lockdown (MUGAI_LOCKDOWN_DEFAULT);
  try_open ("wronly_creat", "x", O_WRONLY | O_CREAT);
  try_open ("rdwr", "/dev/null", O_RDWR);
  try_open ("rdonly_creat", "y", O_RDONLY | O_CREAT);
  try_open ("rdonly_trunc", "/dev/null", O_RDONLY | O_TRUNC);
  try_open ("tmpfile", ".", O_TMPFILE | O_RDWR);
  void *m = mmap (NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf ("mmap_exec=%s\n", m == MAP_FAILED ? errno_name (errno) : "mapped");
  void *w = mmap (NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf ("mmap_rw=%s\n", w == MAP_FAILED ? errno_name (errno) : "mapped");
  if (w != MAP_FAILED)
    printf ("mprotect_exec=%s\n",
            mprotect (w, 4096, PROT_READ | PROT_EXEC) != 0 ? errno_name (errno) : "done");
  errno = 0;
  int tty = isatty (0);
  printf ("isatty=%d %s\n", tty, errno_name (errno));
  printf ("unlink=%s\n", unlink ("x") != 0 ? errno_name (errno) : "done");
  fflush (stdout);
  return 0;
}

static int
mode_tmpwrite (void)
{
  lockdown (MUGAI_LOCKDOWN_ALLOW_TMP_WRITE);
  int fd = open ("scratch", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write (fd, "data", 4) != 4 || close (fd) != 0)
    {
      printf ("created=%s\n", errno_name (errno));
      return 1;
    }
  printf ("created=ok\nunlink=%s\n", unlink ("scratch") == 0 ? "ok" : errno_name (errno));
  return 0;
}

static int
mode_readfont (const char *path)
{
  lockdown (MUGAI_LOCKDOWN_DEFAULT);
  FILE *f = fopen (path, "rbe");
  if (f == NULL)
    {
      printf ("open=%s\n", errno_name (errno));
      return 1;
    }
  char buf[65536];
  size_t total = 0, n;
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    total += n;
  fclose (f);
  printf ("read=%zu\n", total);
  DIR *d = opendir ("/usr"); /* readable under Landlock too */
  int entries = 0;
  if (d != NULL)
    {
      while (readdir (d) != NULL)
        entries++;
      closedir (d);
    }
  printf ("entries=%d\n", entries);
  return 0;
}

static int
mode_alloc (void)
{
  lockdown (MUGAI_LOCKDOWN_DEFAULT);
  const size_t block = 64u << 20;
  int mib = 0;
  /* 4 GiB without failing: no limit is in force */
  for (int i = 0; i < 64; i++)
    {
      char *p = malloc (block);
      if (p == NULL)
        {
          fprintf (stderr, "allocated %d MiB\n", mib);
          return 3;
        }
      memset (p, 1, block);
      mib += 64;
    }
  fprintf (stderr, "allocated %d MiB without a limit\n", mib);
  return 4;
}

static int
mode_flood (void)
{
  static char buf[65536];
  memset (buf, 'x', sizeof buf);
  /* 1 GiB: longer than any test's limit */
  for (int i = 0; i < 16384; i++)
    if (write (1, buf, sizeof buf) < 0)
      return 1;
  return 0;
}

static int
mode_fds (void)
{
  DIR *d = opendir ("/proc/self/fd");
  if (d == NULL)
    return 1;
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      if (e->d_name[0] == '.')
        continue;
      if (atoi (e->d_name) == dirfd (d))
        continue;
      printf ("%s\n", e->d_name);
    }
  closedir (d);
  return 0;
}

static int
mode_sigstate (void)
{
  FILE *f = fopen ("/proc/self/status", "re");
  if (f == NULL)
    return 1;
  char line[512];
  while (fgets (line, sizeof line, f) != NULL)
    if (strncmp (line, "SigBlk:", 7) == 0 || strncmp (line, "SigIgn:", 7) == 0)
      fputs (line, stdout);
  fclose (f);
  return 0;
}

static int
mode_net (const char *port)
{
  int s = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    {
      printf ("socket=%s\n", errno_name (errno));
      return 0;
    }
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons ((uint16_t)atoi (port)) };
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (connect (s, (struct sockaddr *)&sin, sizeof sin) == 0)
    printf ("connect=ok\n");
  else
    printf ("connect=fail %s\n", errno_name (errno));
  close (s);
  return 0;
}

static int
mode_grandchild (void)
{
  pid_t pid = fork ();
  if (pid < 0)
    return 1;
  if (pid == 0)
    {
      /* keeps standard output and error open, as a leftover would */
      for (;;)
        pause ();
    }
  printf ("forked\n");
  fflush (stdout);
  return 0;
}

static int
mode_tmp (void)
{
  char cwd[4096];
  if (getcwd (cwd, sizeof cwd) == NULL)
    return 1;
  const char *tmp = getenv ("TMPDIR");
  printf ("TMPDIR=%s\ncwd=%s\n", tmp ? tmp : "(unset)", cwd);
  FILE *f = fopen ("probe.txt", "we");
  if (f == NULL || fputs ("left behind\n", f) < 0 || fclose (f) != 0)
    return 1;
  if (mkdir ("sub", 0700) != 0)
    return 1;
  f = fopen ("sub/deeper.txt", "we");
  if (f == NULL || fputs ("left behind\n", f) < 0 || fclose (f) != 0)
    return 1;
  if (symlink ("/etc", "link") != 0)
    return 1;
  printf ("wrote\n");
  return 0;
}

static int
mode_stderr (void)
{
  for (int i = 0; i < 200; i++)
    fprintf (stderr,
             "line %d \x1b[31mred\x1b[0m bell\a nul%c \xff\xfe bad \xe2\x80\xae"
             "evil\xe2\x80\xac \xc2\x85 c1 tab\there\r\n",
             i, 0);
  fprintf (stderr, "日本語の診断 LAST-LINE ok\n");
  return 1;
}

G_GNUC_NORETURN static void
mode_sleep (void)
{
  /* ARG is a tag on the command line, by which the test finds this
   * process in /proc (the pid it has here may be one of a pid namespace) */
  for (;;)
    pause ();
}

static void
say (const char *step, int ok)
{
  printf ("%s=%s\n", step, ok ? "ok" : errno_name (errno));
  fflush (stdout);
}

static int
unix_socket_at (const char *path, struct sockaddr_un *sun)
{
  memset (sun, 0, sizeof *sun);
  sun->sun_family = AF_UNIX;
  if (strlen (path) >= sizeof sun->sun_path)
    return -1;
  strcpy (sun->sun_path, path);
  return socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static int
mode_escape (const char *conf, const char *step, const char *arg)
{
  g_autoptr (GError) error = NULL;
  if (strcmp (conf, "plain") == 0)
    lockdown (MUGAI_LOCKDOWN_DEFAULT);
  else if (strcmp (conf, "foreign") != 0)
    return MUGAI_FILTER_USAGE;
  else if (!mugai_filter_confine_foreign (NULL, NULL, &error))
    {
      fprintf (stderr, "confine: %s\n", error->message);
      return 70;
    }

  if (strcmp (step, "exec") == 0)
    {
      char *const args[] = { (char *)"/bin/true", NULL };
      execve ("/bin/true", args, environ);
      say ("execve", 0);
      return 0;
    }
  if (strcmp (step, "setsid") == 0)
    {
      int p[2];
      if (pipe (p) != 0)
        return 1;
      pid_t pid = fork ();
      if (pid < 0)
        {
          say ("fork", 0);
          return 0;
        }
      if (pid == 0)
        {
          /* the child: its own session, then sleep (the tag is on its
           * command line, inherited) */
          int ok = setsid () >= 0;
          int e = errno;
          char r = ok ? 'y' : (char)e;
          if (write (p[1], &r, 1) != 1)
            _exit (1);
          for (;;)
            pause ();
        }
      char r = 0;
      if (read (p[0], &r, 1) != 1)
        return 1;
      errno = r == 'y' ? 0 : r;
      say ("fork", 1);
      say ("setsid", r == 'y');
      return 0; /* the child is left sleeping */
    }
  struct sockaddr_un sun;
  if (strcmp (step, "bind") == 0)
    {
      int s = unix_socket_at (arg, &sun);
      say ("socket", s >= 0);
      if (s >= 0)
        say ("bind", bind (s, (struct sockaddr *)&sun, sizeof sun) == 0);
      return 0;
    }
  if (strcmp (step, "connect") == 0)
    {
      int s = unix_socket_at (arg, &sun);
      say ("socket", s >= 0);
      if (s >= 0)
        say ("connect", connect (s, (struct sockaddr *)&sun, sizeof sun) == 0);
      return 0;
    }
  if (strcmp (step, "append") == 0)
    {
      int fd = open (arg, O_WRONLY | O_APPEND | O_CLOEXEC);
      say ("open", fd >= 0);
      if (fd >= 0)
        say ("append", write (fd, "PROBE\n", 6) == 6);
      return 0;
    }
  if (strcmp (step, "read") == 0)
    {
      int fd = open (arg, O_RDONLY | O_CLOEXEC);
      say ("open", fd >= 0);
      char buf[256];
      ssize_t n = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;
      if (fd >= 0)
        say ("read", n >= 0);
      if (n > 0)
        {
          buf[n] = 0;
          printf ("content=%s\n", buf);
        }
      return 0;
    }
  return MUGAI_FILTER_USAGE;
}

static int
mode_forkbomb (void)
{
  int n = 0;
  for (; n < 1000; n++)
    {
      pid_t pid = fork ();
      if (pid < 0)
        break;
      if (pid == 0)
        for (;;)
          pause ();
    }
  int e = errno;
  struct rlimit rl = { 0 };
  getrlimit (RLIMIT_NPROC, &rl);
  printf ("forked=%d %s limit=%lld\n", n, n < 1000 ? errno_name (e) : "-", (long long)rl.rlim_cur);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    return MUGAI_FILTER_USAGE;
  const char *mode = argv[1];
  const char *arg = argc > 2 ? argv[2] : NULL;

  if (strcmp (mode, "echo") == 0)
    {
      lockdown (MUGAI_LOCKDOWN_DEFAULT);
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) in = mugai_filter_read_stdin (64u << 20, &error);
      gsize len;
      const void *data = in ? g_bytes_get_data (in, &len) : NULL;
      if (in == NULL || !mugai_filter_write_stdout (data, len, &error))
        {
          fprintf (stderr, "echo: %s\n", error->message);
          return MUGAI_FILTER_FAILED;
        }
      return 0;
    }
  if (strcmp (mode, "socket") == 0)
    {
      lockdown (MUGAI_LOCKDOWN_DEFAULT);
      int s = socket (AF_INET, SOCK_STREAM, 0);
      printf ("socket returned %d\n", s);
      return 0;
    }
  if (strcmp (mode, "exec") == 0)
    {
      lockdown (MUGAI_LOCKDOWN_DEFAULT);
      char *const args[] = { (char *)"/bin/true", NULL };
      execve ("/bin/true", args, environ);
      printf ("execve returned %s\n", errno_name (errno));
      return 0;
    }
  if (strcmp (mode, "abort") == 0)
    {
      lockdown (MUGAI_LOCKDOWN_DEFAULT);
      abort ();
    }
  if (strcmp (mode, "writefile") == 0)
    return mode_writefile ();
  if (strcmp (mode, "tmpwrite") == 0)
    return mode_tmpwrite ();
  if (strcmp (mode, "readfont") == 0 && arg != NULL)
    return mode_readfont (arg);
  if (strcmp (mode, "loop") == 0)
    {
      volatile unsigned long spin = 0;
      for (;;)
        spin++;
    }
  if (strcmp (mode, "sleep") == 0)
    mode_sleep ();
  if (strcmp (mode, "alloc") == 0)
    return mode_alloc ();
  if (strcmp (mode, "flood") == 0)
    return mode_flood ();
  if (strcmp (mode, "env") == 0)
    {
      for (char **e = environ; *e != NULL; e++)
        printf ("%s\n", *e);
      return 0;
    }
  if (strcmp (mode, "fds") == 0)
    return mode_fds ();
  if (strcmp (mode, "sigstate") == 0)
    return mode_sigstate ();
  if (strcmp (mode, "net") == 0 && arg != NULL)
    return mode_net (arg);
  if (strcmp (mode, "grandchild") == 0)
    return mode_grandchild ();
  if (strcmp (mode, "tmp") == 0)
    return mode_tmp ();
  if (strcmp (mode, "stderr") == 0)
    return mode_stderr ();
  if (strcmp (mode, "forkbomb") == 0)
    return mode_forkbomb ();
  if (strcmp (mode, "escape") == 0 && argc == 5)
    return mode_escape (argv[2], argv[3], argv[4]);
  return MUGAI_FILTER_USAGE;
}
