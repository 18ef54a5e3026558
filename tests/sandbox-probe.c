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
 *	readfont (L)	open ARG (a file) read-only, read it, list /
 *	loop		spin forever
 *	sleep		write the pid to ARG (when given), sleep forever
 *	alloc (L)	64 MiB blocks until malloc fails; "allocated N MiB"
 *			on standard error, exit 3
 *	flood		write standard output forever
 *	env		print the environment
 *	fds		list /proc/self/fd
 *	sigstate	print the SigBlk and SigIgn lines of /proc/self/status
 *	net		connect to 127.0.0.1 port ARG; print the outcome
 *	grandchild	fork a child that sleeps forever, print its pid, exit
 *	tmp		print TMPDIR and the working directory, write files
 *	stderr		a long standard error full of control characters and
 *			invalid UTF-8, exit 1
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
#include <sys/socket.h>
#include <sys/stat.h>
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
  DIR *d = opendir ("/");
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
  printf ("pid=%ld\n", (long)pid);
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

static int
mode_sleep (const char *pidfile)
{
  if (pidfile != NULL)
    {
      char tmpname[4096];
      snprintf (tmpname, sizeof tmpname, "%s.tmp", pidfile);
      FILE *f = fopen (tmpname, "we");
      if (f == NULL || fprintf (f, "%ld\n", (long)getpid ()) < 0 || fclose (f) != 0
          || rename (tmpname, pidfile) != 0)
        return 1;
    }
  for (;;)
    pause ();
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
    return mode_sleep (arg);
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
  return MUGAI_FILTER_USAGE;
}
