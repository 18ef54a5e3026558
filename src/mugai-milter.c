/*
 * mugai-milter.c - the daemon: a supervisor, a libmilter front, a pool
 *
 * SYNOPSIS
 *	mugai-milter [-c CONFIG] [-f] [-t]
 *
 * DESCRIPTION
 *	The supervisor (this process, single-threaded, parsing nothing but
 *	its configuration) prepares the directories, opens the workers'
 *	socket and forks two children, each of which drops to [milter] user
 *	and group: the pool at once, the front as soon as the milter socket
 *	exists (so a port below 1024 or a root-owned directory works):
 *
 *	    front   libmilter threads, no content parsing (front.c)
 *	    pool    loads the engines once and forks the workers (pool.c)
 *
 *	It restarts a child that dies, and owns the signals:
 *
 *	    SIGHUP   validate the configuration file; if it is bad, log why
 *	             and keep running as before; if it is good, tell the
 *	             pool (new workers, old ones leave after their message)
 *	             and the front (timeouts, spool settings).
 *	    SIGUSR1  the front reopens the audit log (also done on SIGHUP):
 *	             logrotate's postrotate after renaming it.
 *	    SIGTERM  stop the front (it stops accepting and lets the mail in
 *	    SIGINT   flight finish), then the pool, then exit.
 *
 *	Children die with the supervisor (PR_SET_PDEATHSIG): after a kill -9
 *	nothing is left holding the milter socket, and Postfix defers the
 *	messages in flight (milter_default_action = tempfail).
 *
 * OPTIONS
 *	-c CONFIG  configuration file (else $MUGAI_CONFIG, else
 *	           /etc/mugai/mugai.conf)
 *	-f         stay in the foreground, log to standard error
 *	-t         check the configuration and exit
 *
 * EXIT STATUS
 *	0 after SIGTERM, 1 on a start-up error, 64 usage, 78 bad
 *	configuration (sysexits EX_CONFIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <gio/gio.h>

#include "config.h"
#include "convert.h"
#include "front.h"
#include "mugai-build.h"
#include "pool.h"
#include "sanitize.h"
#include "scan.h"

#define EX_USAGE_ 64
#define EX_CONFIG_ 78

static gboolean use_syslog;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  const char *message = NULL;
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE"))
      message = fields[i].value;
  if (!message)
    return G_LOG_WRITER_UNHANDLED;
  if (!use_syslog)
    return g_log_writer_standard_streams (level, fields, n_fields, data);
  int prio = LOG_INFO;
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    prio = LOG_ERR;
  else if (level & G_LOG_LEVEL_WARNING)
    prio = LOG_WARNING;
  else if (level & G_LOG_LEVEL_DEBUG)
    prio = LOG_DEBUG;
  syslog (prio, "%s", message);
  return G_LOG_WRITER_HANDLED;
}

/* Directories other programs live in: never given to the daemon's user
 * nor closed to everyone else (audit file = /var/log/audit.jsonl would
 * otherwise make /var/log mugai's, 0700). */
static gboolean
shared_dir (const char *dir)
{
  static const char *const shared[] = { "/",         "/run",     "/var/run", "/tmp",
                                        "/var/tmp",  "/var",     "/var/log", "/var/lib",
                                        "/var/spool", "/var/spool/postfix", "/etc", "/usr",
                                        "/home",     "/root",    "/srv",     "/opt" };
  g_autofree char *canon = g_canonicalize_filename (dir, "/");
  for (gsize i = 0; i < G_N_ELEMENTS (shared); i++)
    if (g_str_equal (canon, shared[i]))
      return TRUE;
  return FALSE;
}

/* Creates dir (and parents) owned by the daemon's user, mode as given;
 * an existing directory keeps its mode unless exact, when it is set to
 * mode (the store and the audit log's directory: an older version made
 * them 0750, which let the group in).  uid or gid (uid_t/gid_t) -1: that
 * one is left as it is (chown(2)). */
static gboolean
prepare_dir (const char *dir, int mode, gboolean exact, uid_t uid, gid_t gid, GError **error)
{
  if ((exact || uid != (uid_t) -1 || gid != (gid_t) -1) && shared_dir (dir))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_PERM,
                   "%s is shared with other programs: give the milter socket, the audit log "
                   "and the quarantine directories of their own",
                   dir);
      return FALSE;
    }
  if (g_mkdir_with_parents (dir, mode) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  if ((uid != (uid_t) -1 || gid != (gid_t) -1) && chown (dir, uid, gid) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "chown %s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  if (exact && chmod (dir, (mode_t) mode) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "chmod %s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

/* [milter] socket_group, or (gid_t) -1 when not set. */
static gboolean
socket_group (const MugaiPolicy *policy, gid_t *gid, GError **error)
{
  *gid = (gid_t) -1;
  if (!policy->milter.socket_group)
    return TRUE;
  struct group *gr = getgrnam (policy->milter.socket_group);
  if (!gr)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "[milter] socket_group %s does not exist", policy->milter.socket_group);
      return FALSE;
    }
  *gid = gr->gr_gid;
  return TRUE;
}

static gboolean
drop_privileges (const MugaiPolicy *policy, uid_t *uid, gid_t *gid, GError **error)
{
  *uid = (uid_t) -1;
  *gid = (gid_t) -1;
  if (!policy->milter.user)
    return TRUE;
  struct passwd *pw = getpwnam (policy->milter.user);
  if (!pw)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "[milter] user %s does not exist",
                   policy->milter.user);
      return FALSE;
    }
  *uid = pw->pw_uid;
  *gid = pw->pw_gid;
  if (policy->milter.group)
    {
      struct group *gr = getgrnam (policy->milter.group);
      if (!gr)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "[milter] group %s does not exist",
                       policy->milter.group);
          return FALSE;
        }
      *gid = gr->gr_gid;
    }
  return TRUE;
}

static gboolean
become (uid_t uid, gid_t gid, const char *user, GError **error)
{
  if (uid == (uid_t) -1)
    return TRUE;
  if (setgroups (0, NULL) != 0 || setgid (gid) != 0 || initgroups (user, gid) != 0
      || setuid (uid) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "cannot drop privileges to %s: %s", user, g_strerror (errno));
      return FALSE;
    }
  if (setuid (0) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "privileges could be regained after dropping them");
      return FALSE;
    }
  return TRUE;
}

static int
open_worker_socket (const char *path, GError **error)
{
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof sun.sun_path)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG, "%s: path too long", path);
      close (fd);
      return -1;
    }
  g_strlcpy (sun.sun_path, path, sizeof sun.sun_path);
  unlink (path);
  mode_t old = umask (077);
  int r = bind (fd, (struct sockaddr *) &sun, sizeof sun);
  umask (old);
  if (r != 0 || listen (fd, 128) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", path,
                   g_strerror (errno));
      close (fd);
      return -1;
    }
  return fd;
}

typedef struct
{
  const char *config_path;
  MugaiPolicy *policy;
  int worker_fd;
  char *worker_path;
  pid_t supervisor;
  sigset_t saved_mask;
  uid_t uid;
  gid_t gid;
  gid_t sock_gid; /* [milter] socket_group, or (gid_t) -1 */
} Daemon;

static gboolean
front_drop (const char *socket_path, gpointer data)
{
  Daemon *d = data;
  g_autoptr (GError) error = NULL;
  /* the socket: the daemon's user, and the group Postfix is let in by
   * (socket_group, else the daemon's group); 0660 */
  gid_t gid = d->sock_gid != (gid_t) -1 ? d->sock_gid : d->gid;
  if (socket_path && (d->uid != (uid_t) -1 || gid != (gid_t) -1)
      && (chown (socket_path, d->uid, gid) != 0 || chmod (socket_path, 0660) != 0))
    {
      g_critical ("front: chown/chmod %s: %s", socket_path, g_strerror (errno));
      return FALSE;
    }
  if (d->uid == (uid_t) -1)
    return TRUE;
  if (!become (d->uid, d->gid, d->policy->milter.user, &error))
    {
      g_critical ("front: %s", error->message);
      return FALSE;
    }
  return TRUE;
}

static pid_t
start_child (Daemon *d, gboolean front)
{
  pid_t pid = fork ();
  if (pid != 0)
    return pid;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != d->supervisor)
    _exit (1);
  signal (SIGHUP, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  signal (SIGINT, SIG_DFL);
  signal (SIGCHLD, SIG_DFL);
  if (front)
    {
      close (d->worker_fd);
      sigprocmask (SIG_SETMASK, &d->saved_mask, NULL);
      prctl (PR_SET_NAME, "mugai-front");
      umask (007); /* the milter socket: owner and group (postfix) */
      _exit (mugai_front_run (d->policy, d->config_path, d->worker_path, front_drop, d));
    }
  prctl (PR_SET_NAME, "mugai-pool");
  sigprocmask (SIG_SETMASK, &d->saved_mask, NULL);
  g_autoptr (GError) error = NULL;
  if (!become (d->uid, d->gid, d->policy->milter.user, &error))
    {
      g_critical ("pool: %s", error->message);
      _exit (1);
    }
  MugaiPolicy *copy = mugai_config_load (d->config_path, NULL);
  _exit (mugai_pool_run (d->worker_fd, d->config_path, copy ? copy : d->policy));
}

int
main (int argc, char **argv)
{
  g_autofree char *config = NULL;
  gboolean foreground = FALSE, check = FALSE, version = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "Configuration file", "FILE" },
    { "foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground, "Stay in the foreground", NULL },
    { "test", 't', 0, G_OPTION_ARG_NONE, &check, "Check the configuration and exit", NULL },
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- mugai sanitization milter");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 1)
    {
      fprintf (stderr, "mugai-milter: %s\n", error ? error->message : "unexpected argument");
      return EX_USAGE_;
    }
  if (version)
    {
      printf ("mugai-milter %s\n", MUGAI_VERSION);
      return 0;
    }

  mugai_init ();
  g_autoptr (MugaiPolicy) policy = mugai_config_load (config, &error);
  if (!policy)
    {
      fprintf (stderr, "mugai-milter: configuration: %s\n", error->message);
      return EX_CONFIG_;
    }
  /* Converters that are not there: said at start, where the administrator
   * looks (mail with such parts is deferred or the parts removed, never
   * passed) */
  {
    gboolean fatal = FALSE;
    g_autoptr (GPtrArray) problems = mugai_convert_check (&policy->convert, &fatal);
    for (guint i = 0; i < problems->len; i++)
      fprintf (stderr, "mugai-milter: %s\n", (const char *)problems->pdata[i]);
  }
  /* No malware scanning, no service (a lab may say [clamav] required = no) */
  guint sigs = 0;
  if (!mugai_scanner_check_database (policy->clamav.database, &sigs, &error))
    {
      if (policy->clamav_required)
        {
          fprintf (stderr, "mugai-milter: %s; refusing to start ([clamav] required = yes)\n",
                   error->message);
          return EX_CONFIG_;
        }
      fprintf (stderr, "mugai-milter: warning: %s; running WITHOUT malware scanning "
                       "([clamav] required = no)\n",
               error->message);
      g_clear_error (&error);
    }
  if (check)
    {
      printf ("mugai-milter: configuration %s is valid\n",
              policy->source ? policy->source : "(built-in defaults)");
      return 0;
    }

  use_syslog = !foreground;
  g_log_set_writer_func (log_writer, NULL, NULL);
  openlog ("mugai-milter", LOG_PID, LOG_MAIL);

  uid_t uid;
  gid_t gid, sock_gid;
  /* the store and the audit log are mugai's alone (0700): Postfix gets
   * in only to the socket, by socket_group */
  if (!drop_privileges (policy, &uid, &gid, &error) || !socket_group (policy, &sock_gid, &error)
      || !prepare_dir (policy->milter.spool_dir, 0700, FALSE, uid, gid, &error)
      || !prepare_dir (policy->quarantine_dir, 0700, TRUE, uid, gid, &error))
    {
      fprintf (stderr, "mugai-milter: %s\n", error->message);
      return 1;
    }
  g_autofree char *audit_dir = g_path_get_dirname (policy->audit_file);
  if (!prepare_dir (audit_dir, 0700, TRUE, uid, gid, &error))
    {
      fprintf (stderr, "mugai-milter: %s\n", error->message);
      return 1;
    }
  if (g_str_has_prefix (policy->milter.socket, "unix:") || g_str_has_prefix (policy->milter.socket, "local:"))
    {
      g_autofree char *sock_dir = g_path_get_dirname (strchr (policy->milter.socket, ':') + 1);
      /* with socket_group the directory is the group's way to the
       * socket: traverse only (0710) */
      if (sock_gid != (gid_t) -1
              ? !prepare_dir (sock_dir, 0710, TRUE, uid, sock_gid, &error)
              : !prepare_dir (sock_dir, 0750, FALSE, uid, gid, &error))
        {
          fprintf (stderr, "mugai-milter: %s\n", error->message);
          return 1;
        }
    }

  if (!foreground && daemon (0, 0) != 0)
    {
      fprintf (stderr, "mugai-milter: daemon: %s\n", g_strerror (errno));
      return 1;
    }
  if (policy->milter.pid_file)
    {
      g_autofree char *pid = g_strdup_printf ("%d\n", (int) getpid ());
      if (!g_file_set_contents (policy->milter.pid_file, pid, -1, &error))
        g_warning ("cannot write the pid file: %s", error->message);
      g_clear_error (&error);
    }

  Daemon d = {
    .config_path = config, .policy = policy, .supervisor = getpid (), .uid = uid, .gid = gid,
    .sock_gid = sock_gid
  };
  d.worker_path = g_build_filename (policy->milter.spool_dir, "workers.sock", NULL);
  d.worker_fd = open_worker_socket (d.worker_path, &error);
  if (d.worker_fd >= 0 && uid != (uid_t) -1 && chown (d.worker_path, uid, gid) != 0)
    g_warning ("chown %s: %s", d.worker_path, g_strerror (errno));
  if (d.worker_fd < 0)
    {
      g_critical ("cannot open the workers' socket: %s", error->message);
      return 1;
    }

  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGCHLD);
  sigaddset (&set, SIGHUP);
  sigaddset (&set, SIGUSR1);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  sigprocmask (SIG_BLOCK, &set, &d.saved_mask);

  pid_t pool = start_child (&d, FALSE);
  pid_t front = start_child (&d, TRUE);
  g_message ("started; version=%s front=%d pool=%d config=%s", MUGAI_VERSION, (int) front,
             (int) pool, policy->source ? policy->source : "(built-in defaults)");

  gboolean stopping = FALSE;
  gint64 restart_after = 0;
  for (;;)
    {
      struct timespec ts = { 1, 0 };
      int sig = sigtimedwait (&set, NULL, &ts);
      /* the audit log is reopened on both (logrotate after a rename),
       * whatever becomes of the reload */
      if ((sig == SIGHUP || sig == SIGUSR1) && front > 0)
        kill (front, SIGWINCH);
      if (sig == SIGHUP && !stopping)
        {
          g_autoptr (GError) e = NULL;
          g_autoptr (MugaiPolicy) fresh = mugai_config_load (config, &e);
          if (!fresh)
            g_warning ("reload refused, keeping the running configuration: %s", e->message);
          else
            {
              if (g_strcmp0 (fresh->milter.socket, policy->milter.socket) != 0)
                g_warning ("reload: a new [milter] socket takes effect only after a restart");
              kill (pool, SIGHUP);
              kill (front, SIGUSR1);
              /* children restarted later start from the new one */
              mugai_policy_free (d.policy);
              d.policy = policy = g_steal_pointer (&fresh);
              g_message ("reload: configuration accepted");
            }
        }
      else if ((sig == SIGTERM || sig == SIGINT) && !stopping)
        {
          stopping = TRUE;
          g_message ("stopping: waiting for mail in flight");
          /* the front drains on SIGUSR2 (see front.c), then the pool */
          if (front > 0)
            kill (front, SIGUSR2);
          else if (pool > 0)
            kill (pool, SIGTERM);
        }

      int status;
      pid_t pid;
      while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
        {
          gboolean was_front = pid == front;
          if (pid == front)
            front = -1;
          else if (pid == pool)
            pool = -1;
          else
            continue;
          if (stopping)
            {
              if (was_front && pool > 0)
                kill (pool, SIGTERM);
              continue;
            }
          g_warning ("%s pid=%d died (%s %d); restarting", was_front ? "front" : "pool", (int) pid,
                     WIFSIGNALED (status) ? "signal" : "status",
                     WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
          restart_after = g_get_monotonic_time () + G_USEC_PER_SEC;
        }
      if (stopping && front < 0 && pool < 0)
        break;
      if (!stopping && (front < 0 || pool < 0) && g_get_monotonic_time () >= restart_after)
        {
          if (pool < 0)
            pool = start_child (&d, FALSE);
          if (front < 0)
            front = start_child (&d, TRUE);
        }
    }
  if (policy->milter.pid_file)
    unlink (policy->milter.pid_file);
  unlink (d.worker_path);
  g_free (d.worker_path);
  g_message ("stopped");
  return 0;
}
