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
 *	The supervisor holds the whole configuration (MugaiConfig: the
 *	policy and the node's settings) and hands each child its part: the
 *	front the node's settings, never the policy; the pool the policy
 *	and the node values it and its workers use (pool.c says which).
 *
 *	It restarts a child that dies, and owns the signals:
 *
 *	    SIGHUP   reload, all or nothing: the file is read once and
 *	             checked as -t checks it (mugai_config_check: syntax,
 *	             users, directories, ClamAV signatures, filters); a file
 *	             that fails is logged and nothing changes.  The text that
 *	             passed is written to spool_dir/reload.conf and the pool
 *	             told first (it builds the new engines: new workers, old
 *	             ones leave after their message); only when the pool
 *	             answers that it took it is the front told (timeouts,
 *	             spool settings), and only then does the supervisor keep
 *	             it as the configuration a restarted child starts from.
 *	             If the pool refuses, every process stays on the old one.
 *	             The children answer on a pipe each (one byte, Y or N).
 *	    SIGUSR1  the front reopens the audit log (also done on SIGHUP):
 *	             logrotate's postrotate after renaming it.
 *	    SIGTERM  stop the front (it stops accepting and lets the mail in
 *	    SIGINT   flight finish), then the pool, then exit.
 *
 *	Children die with the supervisor (PR_SET_PDEATHSIG): after a kill -9
 *	nothing is left holding the milter socket, and Postfix defers the
 *	messages in flight (milter_default_action = tempfail).  A restarted
 *	child starts from the configuration the supervisor accepted last,
 *	never from the file as it is now on disk.
 *
 *	The children run as [milter] user while the supervisor stays root:
 *	signalling them needs CAP_KILL (mugai-milter.service keeps it in
 *	its CapabilityBoundingSet).  A signal that cannot be sent is logged
 *	with the reason (a warning: G_DEBUG=fatal-criticals is for bugs);
 *	a stop that cannot reach the front exits at once (mail in flight is
 *	deferred by Postfix) rather than wait for a drain that was never
 *	asked for.  The kernel's parent-death signal needs that permission
 *	too: without CAP_KILL the children outlive the supervisor (under
 *	systemd, KillMode=mixed ends them).
 *
 *	A build with the test fault hook (-Dtest_hooks=true) says so with a
 *	warning in -t and at start: any sender can then hang or crash a
 *	worker (worker.c).
 *
 * OPTIONS
 *	-c CONFIG  configuration file (else $MUGAI_CONFIG, else
 *	           /etc/mugai/mugai.conf)
 *	-f         stay in the foreground, log to standard error
 *	-t         check the configuration and exit
 *
 * EXIT STATUS
 *	0 after SIGTERM, 1 on a start-up error or a stop that could not
 *	reach the children, 64 usage, 78 bad configuration or a start-up
 *	check failed (sysexits EX_CONFIG).
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

#include "confine.h"
#include "config.h"
#include "control.h"
#include "convert.h"
#include "front.h"
#include "mugai-build.h"
#include "pool.h"
#include "sandbox.h"
#include "sanitize.h"
#include "scan.h"
#include "storer.h"

#define EX_USAGE_ 64
#define EX_CONFIG_ 78

#ifdef MUGAI_TEST_HOOKS
#define TEST_HOOK_WARNING                                                                          \
  "warning: TEST BUILD: the fault hook is compiled in (-Dtest_hooks=true): any sender can hang "   \
  "or crash a worker with the header X-Mugai-Test-Fault; never use this build for real mail "      \
  "(install a release build: meson setup without -Dtest_hooks)"
#endif

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
  static const char *const shared[]
      = { "/",        "/run",       "/var/run",           "/tmp", "/var/tmp", "/var",  "/var/log",
          "/var/lib", "/var/spool", "/var/spool/postfix", "/etc", "/usr",     "/home", "/root",
          "/srv",     "/opt" };
  g_autofree char *canon = g_canonicalize_filename (dir, "/");
  for (gsize i = 0; i < G_N_ELEMENTS (shared); i++)
    if (g_str_equal (canon, shared[i]))
      return TRUE;
  return FALSE;
}

/* Creates dir (and parents) owned by the daemon's user, mode as given;
 * an existing directory keeps its mode unless exact, when it is set to
 * mode (the store and the audit log's directory: an older version made
 * them 0750, which let the group in).  The parents it creates are the
 * user's too, so that the user can walk into dir (what
 * mugai_config_check assumes).  uid (uid_t) -1: nothing is chowned. */
static gboolean
prepare_dir (const char *dir, int mode, gboolean exact, uid_t uid, gid_t gid, GError **error)
{
  if ((exact || uid != (uid_t)-1 || gid != (gid_t)-1) && shared_dir (dir))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_PERM,
                   "%s is shared with other programs: give the milter socket, the audit log "
                   "and the quarantine directories of their own",
                   dir);
      return FALSE;
    }
  g_autofree char *first_new = NULL; /* the topmost directory made here */
  for (g_autofree char *walk = g_strdup (dir); !g_file_test (walk, G_FILE_TEST_EXISTS);)
    {
      g_free (first_new);
      first_new = g_strdup (walk);
      char *up = g_path_get_dirname (walk);
      gboolean top = g_str_equal (up, walk);
      g_free (walk);
      walk = up;
      if (top)
        break;
    }
  if (g_mkdir_with_parents (dir, mode) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  /* dir itself, and each directory between it and first_new */
  for (g_autofree char *walk = g_strdup (dir); uid != (uid_t)-1 || gid != (gid_t)-1;)
    {
      if (chown (walk, uid, gid) != 0)
        {
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "chown %s: %s", walk,
                       g_strerror (errno));
          return FALSE;
        }
      if (!first_new || g_str_equal (walk, first_new) || g_str_equal (walk, "/"))
        break;
      char *up = g_path_get_dirname (walk);
      g_free (walk);
      walk = up;
    }
  if (exact && chmod (dir, (mode_t)mode) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "chmod %s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

/* [milter] socket_group, or (gid_t) -1 when not set. */
static gboolean
socket_group (const MugaiNodeSettings *node, gid_t *gid, GError **error)
{
  *gid = (gid_t)-1;
  if (!node->milter.socket_group)
    return TRUE;
  struct group *gr = getgrnam (node->milter.socket_group);
  if (!gr)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "[milter] socket_group %s does not exist", node->milter.socket_group);
      return FALSE;
    }
  *gid = gr->gr_gid;
  return TRUE;
}

/* A role's user: its login (NULL: the starting user's; a copy, as a
 * reload replaces the configuration while users change only at a
 * restart), uid, gid. */
typedef struct
{
  char *name;
  uid_t uid;
  gid_t gid;
} RoleUser;

/* [milter] KEY (user, worker_user, storer_user): a role's user; an unset
 * worker_user or storer_user is the front's (mugai-milter -t warns). */
static gboolean
resolve_user (const char *key, const char *name, const char *group, RoleUser *out, GError **error)
{
  *out = (RoleUser){ g_strdup (name), (uid_t)-1, (gid_t)-1 };
  if (!name)
    return TRUE;
  struct passwd *pw = getpwnam (name);
  if (!pw)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "[milter] %s %s does not exist", key,
                   name);
      return FALSE;
    }
  out->uid = pw->pw_uid;
  out->gid = pw->pw_gid;
  if (group)
    {
      struct group *gr = getgrnam (group);
      if (!gr)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "[milter] group %s does not exist",
                       group);
          return FALSE;
        }
      out->gid = gr->gr_gid;
    }
  return TRUE;
}

/* Drops a child to the daemon's user.  The kernel clears the parent-death
 * signal when the credentials change (prctl(2)): it is armed again here,
 * or a child would outlive a supervisor that is killed or exits. */
static gboolean
become (const RoleUser *u, pid_t supervisor, GError **error)
{
  if (u->uid == (uid_t)-1)
    return TRUE;
  if (setgroups (0, NULL) != 0 || setgid (u->gid) != 0 || initgroups (u->name, u->gid) != 0
      || setuid (u->uid) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "cannot drop privileges to %s: %s", u->name, g_strerror (errno));
      return FALSE;
    }
  if (setuid (0) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "privileges could be regained after dropping them");
      return FALSE;
    }
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid () != supervisor)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the supervisor is gone");
      return FALSE;
    }
  return TRUE;
}

/* A socket between two roles, bound at path in run_dir (which only root
 * may write: no role can put another socket in its place), mode 0600 for
 * the one role that connects (owner; (uid_t) -1: ours).  It is not
 * listening yet: the role that serves it calls listen() once it runs
 * under its own user, so that SO_PEERCRED shows the connecting role that
 * process, not the supervisor (peer.h). */
/* mode: 0600 for a role's socket; 0660 with group for one a second role
 * may reach; 0666 for the workflow's (anyone connects, the storer asks
 * the kernel who). */
static int
open_role_socket_mode (const char *path, uid_t owner, gid_t group, mode_t mode, GError **error)
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
  int r = bind (fd, (struct sockaddr *)&sun, sizeof sun);
  umask (old);
  if (r != 0 || ((owner != (uid_t)-1 || group != (gid_t)-1) && chown (path, owner, group) != 0)
      || (mode != 0600 && chmod (path, mode) != 0))
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", path,
                   g_strerror (errno));
      close (fd);
      return -1;
    }
  return fd;
}

static int
open_role_socket (const char *path, uid_t owner, GError **error)
{
  return open_role_socket_mode (path, owner, (gid_t)-1, 0600, error);
}

typedef enum
{
  ROLE_FRONT,
  ROLE_POOL,
  ROLE_STORER,
  N_ROLES
} Role;

static const char *const role_names[N_ROLES] = { "front", "pool", "storer" };

typedef struct
{
  const char *config_path;
  MugaiConfig *config; /* the accepted configuration: restarted children start from it */
  int worker_fd;       /* the pool's listening socket */
  int storer_fd;       /* the storer's */
  int control_fd;      /* the storer's control socket: root's, 0600 (control.h) */
  int workflow_fd;     /* the storer's workflow socket: 0666 (control.h) */
  char *control_path;
  char *workflow_path;
  char *worker_path;          /* run_dir/workers.sock */
  char *storer_path;          /* run_dir/storer.sock */
  char *reload_path[N_ROLES]; /* run_dir/reload-ROLE.conf: the text a reload hands a child */
  pid_t supervisor;
  sigset_t saved_mask;
  RoleUser user[N_ROLES];
  gid_t sock_gid;      /* [milter] socket_group, or (gid_t) -1 */
  int answer[N_ROLES]; /* read ends of the children's answer pipes, or -1 */
} Daemon;

/* kill() that says loudly when it fails: a root supervisor without
 * CAP_KILL cannot signal children running as another user (EPERM), and
 * a reload or stop that silently did nothing is worse than none. */
static gboolean
signal_child (pid_t pid, int sig, const char *role)
{
  if (pid <= 0)
    return FALSE;
  if (kill (pid, sig) == 0)
    return TRUE;
  int e = errno;
  g_warning ("cannot send SIG%s to the %s pid=%d: %s%s", sigabbrev_np (sig), role, (int)pid,
             g_strerror (e),
             e == EPERM ? " (the supervisor lacks CAP_KILL: see CapabilityBoundingSet= in "
                          "mugai-milter.service)"
                        : "");
  return FALSE;
}

/* One byte from a child's answer pipe: 'Y', 'N', or 0 when there is
 * none yet. */
static char
read_answer (int fd)
{
  char c = 0;
  if (fd < 0)
    return 0;
  ssize_t r = read (fd, &c, 1);
  return r == 1 ? c : 0;
}

/* Who each role runs as and what confines it, in one line: -t and the
 * start-up log say it; *complete is FALSE when a layer is missing.  The
 * filters' layers are probed here; a filter started by a worker lacks
 * the mount namespace whenever the worker is in its Landlock domain
 * (confine.h), which is not counted as missing. */
static char *
isolation_text (const MugaiConfig *config, gboolean *complete)
{
  const MugaiMilterSettings *m = &config->node->milter;
  const char *front = m->user ? m->user : "the starting user";
  g_autofree char *workers = mugai_worker_confinement_text (complete);
  MugaiSandboxIsolation iso = mugai_sandbox_isolation ();
  iso.layers |= MUGAI_SANDBOX_LAYER_MNTNS;
  if (!mugai_sandbox_isolation_complete (&iso))
    *complete = FALSE;
  iso.layers &= ~MUGAI_SANDBOX_LAYER_MNTNS;
  g_autofree char *filters = mugai_sandbox_isolation_text (&iso);
  return g_strdup_printf ("front as %s, workers as %s, storer as %s; workers: %s; filters: %s",
                          front, m->worker_user ? m->worker_user : front,
                          m->storer_user ? m->storer_user : front, workers, filters);
}

/* Prints the start-up check (mugai_config_check) to standard error;
 * TRUE when mugai-milter may start. */
static gboolean
report_check (const MugaiConfig *config)
{
  gboolean fatal = FALSE;
  g_autoptr (GPtrArray) problems = mugai_config_check (config, &fatal);
  for (guint i = 0; i < problems->len; i++)
    fprintf (stderr, "mugai-milter: %s\n", (const char *)problems->pdata[i]);
  /* the isolation layers in force for each role (mugai-milter(8), ROLES) */
  gboolean complete = TRUE;
  g_autofree char *iso = isolation_text (config, &complete);
  fprintf (stderr, "mugai-milter: %sisolation: %s\n", complete ? "" : "warning: ", iso);
#ifdef TEST_HOOK_WARNING
  fprintf (stderr, "mugai-milter: %s\n", TEST_HOOK_WARNING);
#endif
  return !fatal;
}

static gboolean
front_drop (const char *socket_path, gpointer data)
{
  Daemon *d = data;
  const RoleUser *u = &d->user[ROLE_FRONT];
  g_autoptr (GError) error = NULL;
  /* the socket: the front's user, and the group Postfix is let in by
   * (socket_group, else the front's group); 0660 */
  gid_t gid = d->sock_gid != (gid_t)-1 ? d->sock_gid : u->gid;
  if (socket_path && (u->uid != (uid_t)-1 || gid != (gid_t)-1)
      && (chown (socket_path, u->uid, gid) != 0 || chmod (socket_path, 0660) != 0))
    {
      g_critical ("front: chown/chmod %s: %s", socket_path, g_strerror (errno));
      return FALSE;
    }
  if (!become (u, d->supervisor, &error))
    {
      g_critical ("front: %s", error->message);
      return FALSE;
    }
  return TRUE;
}

/* Forks the child of one role; returns its pid, or -1. */
static pid_t
start_child (Daemon *d, Role role)
{
  int answer[2];
  if (pipe2 (answer, O_CLOEXEC) != 0)
    {
      g_warning ("pipe: %s", g_strerror (errno));
      return -1;
    }
  pid_t pid = fork ();
  if (pid != 0)
    {
      close (answer[1]);
      if (pid < 0)
        {
          g_warning ("fork: %s", g_strerror (errno));
          close (answer[0]);
          return -1;
        }
      fcntl (answer[0], F_SETFL, O_NONBLOCK);
      if (d->answer[role] >= 0)
        close (d->answer[role]);
      d->answer[role] = answer[0];
      return pid;
    }

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != d->supervisor)
    _exit (1);
  close (answer[0]);
  for (int r = 0; r < N_ROLES; r++)
    if (d->answer[r] >= 0)
      close (d->answer[r]);
  signal (SIGHUP, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  signal (SIGINT, SIG_DFL);
  signal (SIGCHLD, SIG_DFL);
  /* each role holds only its own listening socket */
  if (role != ROLE_POOL)
    close (d->worker_fd);
  if (role != ROLE_STORER)
    {
      close (d->storer_fd);
      close (d->control_fd);
      close (d->workflow_fd);
    }
  prctl (PR_SET_NAME, role == ROLE_FRONT  ? "mugai-front"
                      : role == ROLE_POOL ? "mugai-pool"
                                          : "mugai-storer");
  sigprocmask (SIG_SETMASK, &d->saved_mask, NULL);
  const RoleUser *u = &d->user[role];
  if (role == ROLE_FRONT)
    {
      umask (007); /* the milter socket: owner and group (postfix) */
      /* the front's copy of the policy: it has no use for one */
      g_clear_pointer (&d->config->policy, mugai_policy_free);
      MugaiFrontLinks links
          = { d->worker_path, d->storer_path, d->user[ROLE_POOL].uid, d->user[ROLE_STORER].uid };
      _exit (mugai_front_run (d->config->node, d->reload_path[ROLE_FRONT], answer[1], &links,
                              front_drop, d));
    }
  g_autoptr (GError) error = NULL;
  if (!become (u, d->supervisor, &error))
    {
      g_critical ("%s: %s", role_names[role], error->message);
      _exit (1);
    }
  if (role == ROLE_STORER)
    {
      close (answer[1]); /* it takes no reload (mugai-milter(8)) */
      /* it keeps the policy for [limits] message_size (a release reads
       * originals up to it) and parses nothing with it */
      MugaiPeerRule front = { "front", d->user[ROLE_FRONT].uid, d->supervisor };
      MugaiStorerLinks links = { .listen_fd = d->storer_fd,
                                 .control_fd = d->control_fd,
                                 .workflow_fd = d->workflow_fd,
                                 .workers_path = d->worker_path,
                                 .worker_uid = d->user[ROLE_POOL].uid,
                                 .supervisor = d->supervisor };
      _exit (mugai_storer_run (&links, d->config, &front));
    }
  /* the accepted configuration, as it is in memory: never the file on
   * disk, which may be one a reload refused (the child's copy: the pool
   * keeps its part and frees the rest) */
  _exit (mugai_pool_run (d->worker_fd, d->reload_path[ROLE_POOL], answer[1],
                         g_steal_pointer (&d->config), d->user[ROLE_FRONT].uid,
                         d->user[ROLE_STORER].uid));
}

typedef enum
{
  RELOAD_IDLE,
  RELOAD_POOL,  /* the pool was told; waiting for its answer */
  RELOAD_FRONT, /* the pool took it; the front was told */
} ReloadPhase;

typedef struct
{
  ReloadPhase phase;
  MugaiConfig *pending; /* checked, handed to the children, not yet taken by all */
  gboolean again;       /* a SIGHUP came while one was under way */
} Reload;

/* Writes the checked text where a child reads it (owned by the child's
 * user, 0600, in run_dir), atomically. */
static gboolean
write_reload_file (Daemon *d, Role role, const char *text, gsize len, GError **error)
{
  const char *path = d->reload_path[role];
  const RoleUser *u = &d->user[role];
  g_autofree char *tmp = g_strconcat (path, ".tmp", NULL);
  if (!g_file_set_contents_full (tmp, text, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 error))
    return FALSE;
  if ((u->uid != (uid_t)-1 && chown (tmp, u->uid, u->gid) != 0) || rename (tmp, path) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: %s", path,
                   g_strerror (errno));
      unlink (tmp);
      return FALSE;
    }
  return TRUE;
}

/* The directories each role writes, made and given to it: the spool to
 * the front, the store and the audit log's directory to the storer
 * (exactly 0700: nobody else may even list them). */
static gboolean
prepare_role_dirs (const Daemon *d, const MugaiNodeSettings *node, GError **error)
{
  const RoleUser *front = &d->user[ROLE_FRONT], *storer = &d->user[ROLE_STORER];
  g_autofree char *audit_dir = g_path_get_dirname (node->audit_file);
  return prepare_dir (node->milter.spool_dir, 0700, FALSE, front->uid, front->gid, error)
         && prepare_dir (node->quarantine_dir, 0700, TRUE, storer->uid, storer->gid, error)
         && prepare_dir (audit_dir, 0700, TRUE, storer->uid, storer->gid, error);
}

/* SIGHUP: the file read once, checked as -t checks it, its directories
 * prepared, its text handed to the pool.  Nothing is taken yet. */
static void
reload_begin (Daemon *d, Reload *r, pid_t pool)
{
  g_autoptr (GError) e = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr (MugaiConfig) fresh = mugai_config_load_text (d->config_path, &text, &len, &e);
  if (!fresh)
    {
      g_warning ("reload refused, keeping the running configuration: %s", e->message);
      return;
    }
  gboolean fatal = FALSE;
  g_autoptr (GPtrArray) problems = mugai_config_check (fresh, &fatal);
  for (guint i = 0; i < problems->len; i++)
    g_warning ("reload: %s", (const char *)problems->pdata[i]);
  if (fatal)
    {
      g_warning ("reload refused, keeping the running configuration: it fails the start-up "
                 "check (mugai-milter -t)");
      return;
    }
  const MugaiNodeSettings *now = d->config->node, *next = fresh->node;
  if (g_strcmp0 (next->milter.socket, now->milter.socket) != 0)
    g_warning ("reload: a new [milter] socket takes effect only after a restart");
  if (g_strcmp0 (next->milter.user, now->milter.user) != 0
      || g_strcmp0 (next->milter.group, now->milter.group) != 0
      || g_strcmp0 (next->milter.worker_user, now->milter.worker_user) != 0
      || g_strcmp0 (next->milter.storer_user, now->milter.storer_user) != 0
      || g_strcmp0 (next->milter.run_dir, now->milter.run_dir) != 0)
    g_warning ("reload: a new [milter] user, group, worker_user, storer_user or run_dir takes "
               "effect only after a restart");
  if (g_strcmp0 (next->quarantine_dir, now->quarantine_dir) != 0
      || g_strcmp0 (next->audit_file, now->audit_file) != 0
      || next->audit_syslog != now->audit_syslog)
    g_warning ("reload: the storer keeps [quarantine] dir and [audit] until a restart");
  if (!prepare_role_dirs (d, next, &e) || !write_reload_file (d, ROLE_POOL, text, len, &e)
      || !write_reload_file (d, ROLE_FRONT, text, len, &e))
    {
      g_warning ("reload refused, keeping the running configuration: %s", e->message);
      return;
    }
  if (pool <= 0)
    {
      g_warning ("reload refused, keeping the running configuration: the pool is being "
                 "restarted; send SIGHUP again");
      return;
    }
  if (!signal_child (pool, SIGHUP, "pool"))
    {
      g_warning ("reload refused, keeping the running configuration: the pool cannot be told");
      return;
    }
  r->pending = g_steal_pointer (&fresh);
  r->phase = RELOAD_POOL;
}

/* The pending configuration becomes the one restarted children start
 * from. */
static void
reload_adopt (Daemon *d, Reload *r)
{
  mugai_config_free (d->config);
  d->config = g_steal_pointer (&r->pending);
  r->phase = RELOAD_IDLE;
  g_message ("reload: configuration accepted by the pool and the front");
}

static void
reload_drop (Reload *r, const char *why)
{
  g_warning ("reload refused, keeping the running configuration: %s", why);
  g_clear_pointer (&r->pending, mugai_config_free);
  r->phase = RELOAD_IDLE;
}

/* The children's answers, and their deaths, move a reload on. */
static void
reload_step (Daemon *d, Reload *r, pid_t pool, pid_t *front)
{
  if (r->phase == RELOAD_POOL)
    {
      char a = read_answer (d->answer[ROLE_POOL]);
      if (pool <= 0)
        reload_drop (r, "the pool died before it answered; it restarts on the old one");
      else if (a == 'N')
        reload_drop (r, "the pool could not take it (see its log line); every process stays on "
                        "the old one");
      else if (a == 'Y')
        {
          if (*front <= 0)
            reload_adopt (d, r); /* the front restarts from it */
          else if (signal_child (*front, SIGUSR1, "front"))
            r->phase = RELOAD_FRONT;
          else
            {
              /* the pool has it: a new front from it */
              g_warning ("reload: the front could not be told; restarting it");
              signal_child (*front, SIGUSR2, "front");
              reload_adopt (d, r);
            }
        }
    }
  else if (r->phase == RELOAD_FRONT)
    {
      char a = read_answer (d->answer[ROLE_FRONT]);
      if (*front <= 0 || a == 'Y')
        reload_adopt (d, r);
      else if (a == 'N')
        {
          /* cannot happen but by I/O errors: the pool runs the new one,
           * so a front that failed to read it is replaced by one started
           * from it (a drain: the mail in flight is finished) */
          g_warning ("reload: the front could not read the new configuration; restarting it");
          signal_child (*front, SIGUSR2, "front");
          reload_adopt (d, r);
        }
    }
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
  g_autoptr (MugaiConfig) loaded = mugai_config_load (config, &error);
  if (!loaded)
    {
      fprintf (stderr, "mugai-milter: configuration: %s\n", error->message);
      return EX_CONFIG_;
    }
  /* Everything the start needs beyond the file (users, directories,
   * ClamAV signatures, filters): the same check as -t, a reload and
   * `mugai config check`, said where the administrator looks */
  if (!report_check (loaded))
    {
      fprintf (stderr, "mugai-milter: configuration %s: refusing to %s\n",
               loaded->source ? loaded->source : "(built-in defaults)",
               check ? "accept it" : "start");
      return EX_CONFIG_;
    }
  if (check)
    {
      printf ("mugai-milter: configuration %s is valid\n",
              loaded->source ? loaded->source : "(built-in defaults)");
      return 0;
    }

  use_syslog = !foreground;
  g_log_set_writer_func (log_writer, NULL, NULL);
  openlog ("mugai-milter", LOG_PID, LOG_MAIL);

  /* the users of the roles (mugai-milter(8), ROLES): the store and the
   * audit log are the storer's alone (0700), the spool the front's;
   * Postfix gets in only to the socket, by socket_group */
  const MugaiNodeSettings *node = loaded->node;
  const MugaiMilterSettings *m = &node->milter;
  Daemon d = {
    .config_path = config, .worker_fd = -1, .storer_fd = -1, .control_fd = -1, .workflow_fd = -1
  };
  for (int r = 0; r < N_ROLES; r++)
    d.answer[r] = -1;
  if (!resolve_user ("user", m->user, m->group, &d.user[ROLE_FRONT], &error)
      || !resolve_user ("worker_user", m->worker_user, NULL, &d.user[ROLE_POOL], &error)
      || !resolve_user ("storer_user", m->storer_user, NULL, &d.user[ROLE_STORER], &error)
      || !socket_group (node, &d.sock_gid, &error)
      || !prepare_role_dirs (&d, node, &error)
      /* the supervisor's own: root's when it is root, 0755, so that no
       * role can replace a socket or a reload file in it */
      || !prepare_dir (m->run_dir, 0755, TRUE, (uid_t)-1, (gid_t)-1, &error))
    {
      fprintf (stderr, "mugai-milter: %s\n", error->message);
      return 1;
    }
  for (int r = ROLE_POOL; r <= ROLE_STORER; r++)
    if (!d.user[r].name)
      {
        /* unset: the front's (mugai-milter -t warns) */
        d.user[r] = d.user[ROLE_FRONT];
        d.user[r].name = g_strdup (d.user[ROLE_FRONT].name);
      }
  const RoleUser *front_user = &d.user[ROLE_FRONT];
  if (g_str_has_prefix (m->socket, "unix:") || g_str_has_prefix (m->socket, "local:"))
    {
      g_autofree char *sock_dir = g_path_get_dirname (strchr (m->socket, ':') + 1);
      /* with socket_group the directory is the group's way to the
       * socket: traverse only (0710) */
      if (d.sock_gid != (gid_t)-1
              ? !prepare_dir (sock_dir, 0710, TRUE, front_user->uid, d.sock_gid, &error)
              : !prepare_dir (sock_dir, 0750, FALSE, front_user->uid, front_user->gid, &error))
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
  if (node->milter.pid_file)
    {
      g_autofree char *pid = g_strdup_printf ("%d\n", (int)getpid ());
      if (!g_file_set_contents (node->milter.pid_file, pid, -1, &error))
        g_warning ("cannot write the pid file: %s", error->message);
      g_clear_error (&error);
    }

  d.config = g_steal_pointer (&loaded);
  d.supervisor = getpid ();
  node = d.config->node;
  d.worker_path = g_build_filename (node->milter.run_dir, "workers.sock", NULL);
  d.storer_path = g_build_filename (node->milter.run_dir, "storer.sock", NULL);
  for (int r = 0; r < N_ROLES; r++)
    {
      g_autofree char *name = g_strdup_printf ("reload-%s.conf", role_names[r]);
      d.reload_path[r] = g_build_filename (node->milter.run_dir, name, NULL);
      unlink (d.reload_path[r]); /* a previous run's: no child reads it before a reload */
    }
  /* the storer's socket is the front's to connect to, nobody else's; the
   * pool's the front's and the storer's (a release is scanned by a
   * worker, storer-workflow.c), each worker checking which one it is */
  d.worker_fd = open_role_socket_mode (d.worker_path, front_user->uid, d.user[ROLE_STORER].gid,
                                       0660, &error);
  if (d.worker_fd >= 0)
    d.storer_fd = open_role_socket (d.storer_path, front_user->uid, &error);
  /* the administrator's way to the store: root's alone */
  d.control_path = g_build_filename (node->milter.run_dir, MUGAI_CONTROL_SOCKET, NULL);
  if (d.storer_fd >= 0)
    d.control_fd = open_role_socket (d.control_path, (uid_t)-1, &error);
  /* the release workflow's: anyone may ask, the storer decides */
  d.workflow_path = g_build_filename (node->milter.run_dir, MUGAI_WORKFLOW_SOCKET, NULL);
  if (d.control_fd >= 0)
    d.workflow_fd = open_role_socket_mode (d.workflow_path, (uid_t)-1, (gid_t)-1, 0666, &error);
  if (d.worker_fd < 0 || d.storer_fd < 0 || d.control_fd < 0 || d.workflow_fd < 0)
    {
      g_critical ("cannot open the roles' sockets: %s", error->message);
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

#ifdef TEST_HOOK_WARNING
  g_warning ("%s", TEST_HOOK_WARNING);
#endif
  /* the storer first: the front's first message needs it */
  pid_t storer = start_child (&d, ROLE_STORER);
  pid_t pool = start_child (&d, ROLE_POOL);
  pid_t front = start_child (&d, ROLE_FRONT);
  g_message ("started; version=%s front=%d pool=%d storer=%d config=%s", MUGAI_VERSION, (int)front,
             (int)pool, (int)storer, d.config->source ? d.config->source : "(built-in defaults)");

  gboolean stopping = FALSE;
  int exit_status = 0;
  gint64 restart_after = 0;
  Reload reload = { RELOAD_IDLE, NULL, FALSE };
  for (;;)
    {
      /* a reload under way waits for the children's answers: look often */
      struct timespec ts = { 0, 0 };
      if (reload.phase == RELOAD_IDLE)
        ts.tv_sec = 1;
      else
        ts.tv_nsec = 100 * 1000 * 1000;
      int sig = sigtimedwait (&set, NULL, &ts);
      /* the audit log is reopened on both (logrotate after a rename),
       * whatever becomes of the reload */
      if ((sig == SIGHUP || sig == SIGUSR1) && storer > 0)
        signal_child (storer, SIGWINCH, "storer");
      if (sig == SIGHUP && !stopping)
        {
          if (reload.phase != RELOAD_IDLE)
            {
              g_message ("reload: one is under way; this one follows it");
              reload.again = TRUE;
            }
          else
            reload_begin (&d, &reload, pool);
        }
      else if ((sig == SIGTERM || sig == SIGINT) && !stopping)
        {
          stopping = TRUE;
          if (reload.phase != RELOAD_IDLE)
            reload_drop (&reload, "stopping");
          g_message ("stopping: waiting for mail in flight");
          /* the front drains on SIGUSR2 (see front.c), then the pool */
          gboolean told = front > 0
                              ? signal_child (front, SIGUSR2, "front")
                              : (pool <= 0 || signal_child (pool, SIGTERM, "pool"))
                                    && (storer <= 0 || signal_child (storer, SIGTERM, "storer"));
          if (!told)
            {
              /* the kernel's parent-death signal needs the same
               * permission: without CAP_KILL only systemd's KillMode=mixed
               * ends the children */
              g_warning ("stopping at once: the children cannot be told to finish their mail "
                         "(Postfix defers the mail in flight)");
              exit_status = 1;
              break;
            }
        }

      int status;
      pid_t pid;
      while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
        {
          Role role;
          if (pid == front)
            role = ROLE_FRONT, front = -1;
          else if (pid == pool)
            role = ROLE_POOL, pool = -1;
          else if (pid == storer)
            role = ROLE_STORER, storer = -1;
          else
            continue;
          if (stopping)
            {
              /* the front is the storer's only client and the pool's: once
               * it has drained, both may go */
              if (role == ROLE_FRONT && pool > 0 && !signal_child (pool, SIGTERM, "pool"))
                {
                  exit_status = 1;
                  pool = -1; /* it dies with this process */
                }
              if (role == ROLE_FRONT && storer > 0 && !signal_child (storer, SIGTERM, "storer"))
                {
                  exit_status = 1;
                  storer = -1;
                }
              continue;
            }
          g_warning ("%s pid=%d died (%s %d); restarting", role_names[role], (int)pid,
                     WIFSIGNALED (status) ? "signal" : "status",
                     WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
          restart_after = g_get_monotonic_time () + G_USEC_PER_SEC;
        }
      if (stopping && front < 0 && pool < 0 && storer < 0)
        break;
      if (!stopping)
        {
          reload_step (&d, &reload, pool, &front);
          if (reload.phase == RELOAD_IDLE && reload.again)
            {
              reload.again = FALSE;
              reload_begin (&d, &reload, pool);
            }
        }
      if (!stopping && (front < 0 || pool < 0 || storer < 0)
          && g_get_monotonic_time () >= restart_after)
        {
          if (storer < 0)
            storer = start_child (&d, ROLE_STORER);
          if (pool < 0)
            pool = start_child (&d, ROLE_POOL);
          if (front < 0)
            front = start_child (&d, ROLE_FRONT);
        }
    }
  g_clear_pointer (&reload.pending, mugai_config_free);
  if (d.config->node->milter.pid_file)
    unlink (d.config->node->milter.pid_file);
  unlink (d.worker_path);
  unlink (d.storer_path);
  unlink (d.control_path);
  unlink (d.workflow_path);
  g_free (d.worker_path);
  g_free (d.storer_path);
  g_free (d.control_path);
  g_free (d.workflow_path);
  for (int r = 0; r < N_ROLES; r++)
    {
      unlink (d.reload_path[r]);
      g_free (d.reload_path[r]);
      g_free (d.user[r].name);
    }
  mugai_config_free (d.config);
  g_message ("stopped");
  return exit_status;
}
