/*
 * pool.c - the worker pool's parent: load once, fork workers, replace them
 *
 * SYNOPSIS
 *	mugai_pool_run (listen_fd, reload_path, answer_fd, config, front_uid)
 *
 * DESCRIPTION
 *	The pool parent loads what is expensive (the libmagic database, the
 *	ClamAV engine) once, then forks the workers from itself so
 *	that they share it copy-on-write.  All workers accept() on the same
 *	listening socket: the kernel hands each new connection from the
 *	front to one idle worker, and a connection waits in the backlog
 *	while all are busy (the front bounds that wait: queue_timeout).
 *
 *	Each worker gets an address-space limit (worker_memory), no core
 *	files, and PR_SET_PDEATHSIG so that it never outlives the pool.  A
 *	worker that exits or is killed (deadline, crash, memory) is replaced;
 *	replacements are throttled if workers die faster than one a second
 *	over the pool, so that a poison message cannot make the pool spin.
 *
 *	SIGHUP (from the supervisor only): the configuration the supervisor
 *	checked is read from reload_path (never the administrator's file,
 *	which may have changed since) and its engines built; if both work,
 *	workers of the new generation are forked and the old ones are asked
 *	(SIGUSR1) to leave after the message in hand: no message waits for
 *	a reload.  Either way the pool answers on answer_fd, one byte: 'Y'
 *	(taken) or 'N' (logged, the old one kept), so that the supervisor
 *	tells the front only what the pool took.
 *
 *	The ClamAV database directory is fingerprinted every reload_check
 *	seconds; when freshclam has changed it, the new engine is compiled
 *	here while the workers go on scanning with the old one, and then a
 *	new generation starts the same way.  A database that fails to load
 *	is logged and the running engine kept: no message is ever scanned
 *	without an engine.
 *	SIGTERM, SIGINT: workers finish their message and leave; the pool
 *	waits for them (at most message_timeout) and exits.  SIGUSR2 from
 *	one of its workers: a LibreOffice was killed, sweep its stale pipe
 *	(the worker's own seccomp filter refuses the connect() that tells a
 *	stale pipe from a live one).
 *
 *	Each worker is confined once forked (confine.h: not dumpable,
 *	Landlock, seccomp) and leaves after worker_messages messages; the
 *	pool forks a fresh one in its place.
 *
 *	Of the configuration the pool keeps the policy (the engines and the
 *	workers' sanitization) and, of the node's settings, only what it
 *	and its workers use: workers, worker_memory, message_timeout (its
 *	drain, the workers' deadline), reload_check and the quarantine
 *	directory and audit file (named for the workers' test fault hook
 *	only: the storer keeps both, and no worker can open them), and
 *	worker_messages, after which a worker leaves and is replaced.  The
 *	socket, the users, the spool and the store are the supervisor's,
 *	the front's and the storer's; a worker is handed the policy and
 *	MugaiWorkerSettings.
 *
 * DIAGNOSTICS
 *	key=value lines through GLib's log (syslog in the daemon).
 */
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "confine.h"
#include "config.h"
#include "convert.h"
#include "logline.h"
#include "sandbox.h"
#include "sanitize.h"
#include "scan.h"
#include "worker.h"

typedef struct
{
  int listen_fd;
  const char *reload_path;
  int answer_fd;
  MugaiPolicy *policy;
  MugaiWorkerSettings worker; /* what a worker is given of the node's settings */
  guint nworkers;             /* [milter] workers */
  gsize worker_memory;        /* [milter] worker_memory */
  guint clamav_reload;        /* [clamav] reload_check */
  char *source;               /* the file the configuration came from, for messages */
  MugaiEngines *engines;
  GHashTable *workers; /* pid -> generation */
  guint generation;
  char *db_state; /* fingerprint of the ClamAV database in use */
  gint64 next_db_check;
  gint64 last_spawn;
  sigset_t saved_mask;
} Pool;

/* Takes the policy of config and the node values the pool needs; frees
 * the rest (config included). */
static void
pool_take (Pool *pool, MugaiConfig *config)
{
  const MugaiNodeSettings *node = config->node;
  mugai_policy_free (pool->policy);
  pool->policy = g_steal_pointer (&config->policy);
  pool->nworkers = node->milter.workers;
  pool->worker_memory = node->milter.worker_memory;
  pool->clamav_reload = node->clamav_reload;
  pool->worker.message_timeout = node->milter.message_timeout;
  pool->worker.messages = node->milter.worker_messages;
  g_free (pool->worker.quarantine_dir);
  pool->worker.quarantine_dir = g_strdup (node->quarantine_dir);
  g_free (pool->worker.audit_file);
  pool->worker.audit_file = g_strdup (node->audit_file);
  /* the named profiles a release may be sanitized again under */
  g_clear_pointer (&pool->worker.profiles, g_hash_table_unref);
  pool->worker.profiles
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)mugai_policy_free);
  for (guint i = 0; config->profiles && i < config->profiles->len; i++)
    {
      g_autoptr (GError) error = NULL;
      const char *name = config->profiles->pdata[i];
      MugaiPolicy *p = mugai_config_profile (config, name, &error);
      if (p)
        g_hash_table_insert (pool->worker.profiles, g_strdup (name), p);
      else
        g_warning ("pool: [profile %s]: %s", name, error->message);
    }
  if (config->source)
    {
      g_free (pool->source);
      pool->source = g_strdup (config->source);
    }
  mugai_config_free (config);
}

/* In a worker: SIGUSR2 to the pool, which sweeps (mugai_pool_run). */
static void
ask_pool_to_sweep (void)
{
  kill (getppid (), SIGUSR2);
}

static pid_t
spawn_worker (Pool *pool)
{
  pid_t parent = getpid ();
  pid_t pid = fork ();
  if (pid < 0)
    {
      g_warning ("pool: fork: %s", g_strerror (errno));
      return -1;
    }
  if (pid == 0)
    {
      /* A worker leaves on SIGUSR1 from the pool, after its message; a
       * SIGTERM to the whole process group (Ctrl-C, a careless init
       * script) must not cut a message in half.  It dies with the pool. */
      signal (SIGHUP, SIG_IGN);
      signal (SIGTERM, SIG_IGN);
      signal (SIGINT, SIG_IGN);
      sigprocmask (SIG_SETMASK, &pool->saved_mask, NULL);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      prctl (PR_SET_NAME, "mugai-worker");
      if (getppid () != parent)
        _exit (0);
      if (pool->answer_fd >= 0)
        close (pool->answer_fd); /* the pool's answers to the supervisor */
      struct rlimit core = { 0, 0 };
      setrlimit (RLIMIT_CORE, &core);
#ifndef __SANITIZE_ADDRESS__
      /* (AddressSanitizer reserves terabytes of shadow address space: the
       * ASan test build runs its workers without this limit) */
      struct rlimit as = { pool->worker_memory, pool->worker_memory };
      setrlimit (RLIMIT_AS, &as);
#endif
      /* a LibreOffice killed at its timeout leaves its pipe in /tmp: the
       * pool, whose connect() is not refused, tells whether it is stale */
      mugai_convert_set_sweeper (ask_pool_to_sweep);
      /* from here on, nothing of what an exploited parser would want
       * first: confine.h */
      MugaiWorkerJail jail
          = { g_get_tmp_dir (), pool->policy->convert.filters_dir, pool->policy->convert.soffice };
      g_autoptr (GString) layers = g_string_new (NULL);
      g_autoptr (GError) error = NULL;
      if (!mugai_worker_confine (&jail, layers, &error))
        g_warning ("worker: confinement incomplete: %s; in force:%s", error->message,
                   layers->len ? layers->str : " nothing");
      else
        g_debug ("worker: confined:%s", layers->str);
      mugai_worker_run (pool->listen_fd, pool->policy, &pool->worker, pool->engines);
      _exit (0);
    }
  g_hash_table_insert (pool->workers, GINT_TO_POINTER (pid), GUINT_TO_POINTER (pool->generation));
  pool->last_spawn = g_get_monotonic_time ();
  return pid;
}

static guint
current_workers (Pool *pool)
{
  guint n = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, pool->workers);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (GPOINTER_TO_UINT (v) == pool->generation)
      n++;
  return n;
}

static void
signal_generation (Pool *pool, guint generation, int sig, gboolean all)
{
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, pool->workers);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (all || GPOINTER_TO_UINT (v) == generation)
      kill (GPOINTER_TO_INT (k), sig);
}

static void
reap (Pool *pool, gboolean stopping)
{
  int status;
  pid_t pid;
  while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
    {
      gpointer gen = NULL;
      if (!g_hash_table_lookup_extended (pool->workers, GINT_TO_POINTER (pid), NULL, &gen))
        continue;
      g_hash_table_remove (pool->workers, GINT_TO_POINTER (pid));
      /* a worker killed during a filter run leaves its private dir, and
       * LibreOffice, killed with it, its pipe */
      mugai_sandbox_sweep (pid);
      if (WIFSIGNALED (status))
        mugai_convert_sweep_stale ();
      if (WIFSIGNALED (status) && !stopping)
        g_warning ("pool: worker pid=%d killed by signal %d (%s)", (int)pid, WTERMSIG (status),
                   WTERMSIG (status) == SIGALRM ? "message deadline" : "crash or kill");
      else if (WIFEXITED (status) && WEXITSTATUS (status) != 0)
        g_warning ("pool: worker pid=%d exited with status %d", (int)pid, WEXITSTATUS (status));
    }
}

/* libclamav's messages of loading an engine (an old database, a
 * signature it skipped), logged here, before the workers are forked: a
 * worker logs only those of its own messages. */
static void
log_clamav_messages (void)
{
  guint dropped = 0;
  g_autoptr (GPtrArray) kept = mugai_scan_take_messages (&dropped);
  for (guint i = 0; i < kept->len; i++)
    {
      const MugaiScanMessage *m = kept->pdata[i];
      g_autoptr (GString) line = g_string_new ("pool:");
      mugai_log_add (line, "clamav", mugai_scan_message_level_name (m->level));
      mugai_log_add (line, "text", m->text);
      /* about the engine, not a mail: libclamav's warnings (a database
       * older than 7 days) are the administrator's too */
      g_log (G_LOG_DOMAIN,
             m->level == MUGAI_SCAN_MESSAGE_INFO ? G_LOG_LEVEL_DEBUG : G_LOG_LEVEL_WARNING, "%s",
             line->str);
    }
  if (dropped)
    g_message ("pool: clamav=dropped count=%u", dropped);
}

/* A filter run without one of the sandbox's layers (sandbox.c,
 * NAMESPACES, LANDLOCK) is a security downgrade: said at start and for
 * each generation, as a warning naming what is in force and what is not. */
static void
log_isolation (void)
{
  MugaiSandboxIsolation iso = mugai_sandbox_isolation ();
  /* under the workers' Landlock domain a filter gets no mount namespace
   * (confine.h): expected, not a downgrade */
  MugaiSandboxIsolation expected = iso;
  expected.layers |= MUGAI_SANDBOX_LAYER_MNTNS;
  if (mugai_sandbox_isolation_complete (&expected))
    return;
  g_autoptr (GString) line = g_string_new ("pool:");
  g_autofree char *detail = mugai_sandbox_isolation_text (&iso);
  mugai_log_add (line, "sandbox", iso.known ? "downgraded" : "unknown");
  mugai_log_add (line, "detail", detail);
  g_warning ("%s", line->str);
}

/* Replaces the running generation: fresh workers forked from the new
 * configuration (taken; NULL: the one in use) and engines, the old ones
 * asked to leave after their message. */
static void
new_generation (Pool *pool, MugaiConfig *config, MugaiEngines *engines, const char *why)
{
  guint old = pool->generation;
  log_clamav_messages ();
  log_isolation ();
  /* one cap on filters for old and new workers together */
  mugai_engines_share_slots (engines, pool->engines);
  /* the old ones stay alive in the old workers only (fork copied them) */
  mugai_engines_free (pool->engines);
  pool->engines = engines;
  if (config)
    pool_take (pool, config);
  g_free (pool->db_state);
  pool->db_state = mugai_scanner_db_state (pool->policy->clamav.database);
  pool->generation++;
  for (guint i = 0; i < pool->nworkers; i++)
    spawn_worker (pool);
  signal_generation (pool, old, SIGUSR1, FALSE);
  g_message ("pool: %s; generation=%u workers=%u", why, pool->generation, pool->nworkers);
}

static gboolean
reload_take (Pool *pool, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (pool->reload_path, &text, &len, error))
    return FALSE;
  g_autoptr (MugaiConfig) fresh
      = mugai_config_load_data (text, len, pool->source ? pool->source : "(reload)", error);
  if (!fresh)
    return FALSE;
  MugaiEngines *engines = mugai_engines_new (fresh->policy, error);
  if (!engines)
    {
      log_clamav_messages ();
      return FALSE;
    }
  new_generation (pool, g_steal_pointer (&fresh), engines, "configuration reloaded");
  return TRUE;
}

static void
reload (Pool *pool)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = reload_take (pool, &error);
  if (!ok)
    g_warning ("pool: reload refused, keeping the running configuration: %s", error->message);
  char answer = ok ? 'Y' : 'N';
  if (pool->answer_fd >= 0 && write (pool->answer_fd, &answer, 1) != 1)
    g_warning ("pool: cannot answer the supervisor: %s", g_strerror (errno));
}

/* freshclam replaced the database: compile the new engine here, while the
 * workers go on with the old one; a database that does not load is
 * logged and the old engine kept. */
static void
check_database (Pool *pool)
{
  gint64 now = g_get_monotonic_time ();
  if (now < pool->next_db_check)
    return;
  pool->next_db_check = now + (gint64)pool->clamav_reload * G_USEC_PER_SEC;
  g_autofree char *state = mugai_scanner_db_state (pool->policy->clamav.database);
  if (!state || g_strcmp0 (state, pool->db_state) == 0)
    return;
  g_autoptr (GError) error = NULL;
  MugaiEngines *engines = mugai_engines_new (pool->policy, &error);
  if (!engines)
    {
      log_clamav_messages ();
      g_warning ("pool: new ClamAV database not loaded, keeping the running engine: %s",
                 error->message);
      g_free (pool->db_state);
      pool->db_state = g_steal_pointer (&state); /* do not retry until it changes again */
      return;
    }
  new_generation (pool, NULL, engines, "ClamAV database reloaded");
}

int
mugai_pool_run (int listen_fd, const char *reload_path, int answer_fd, MugaiConfig *config,
                uid_t front_uid, uid_t storer_uid)
{
  Pool pool = {
    .listen_fd = listen_fd,
    .reload_path = reload_path,
    .answer_fd = answer_fd,
    .workers = g_hash_table_new (g_direct_hash, g_direct_equal),
    .worker.front_uid = front_uid,
    .worker.storer_uid = storer_uid,
  };
  pool_take (&pool, config);
  /* the front's SO_PEERCRED names this process (the workers' parent)
   * from here on: peer.h */
  if (listen (listen_fd, 128) != 0)
    {
      g_critical ("pool: listen: %s", g_strerror (errno));
      return 1;
    }
  const MugaiPolicy *policy = pool.policy;
  g_autoptr (GError) error = NULL;
  pool.engines = mugai_engines_new (policy, &error);
  log_clamav_messages ();
  if (!pool.engines)
    {
      g_critical ("pool: %s", error->message);
      return 1;
    }
  log_isolation ();
  pool.db_state = mugai_scanner_db_state (policy->clamav.database);
  pool.next_db_check = g_get_monotonic_time () + (gint64)pool.clamav_reload * G_USEC_PER_SEC;

  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGCHLD);
  sigaddset (&set, SIGHUP);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGUSR2);
  sigprocmask (SIG_BLOCK, &set, &pool.saved_mask);

  /* private directories of filter runs of processes that no longer
   * exist (a pool killed before it could sweep after its workers) */
  mugai_sandbox_sweep (0);
  mugai_convert_sweep_stale ();
  for (guint i = 0; i < pool.nworkers; i++)
    spawn_worker (&pool);
  g_message ("pool: started; workers=%u", pool.nworkers);

  gboolean stopping = FALSE;
  gint64 stop_deadline = 0;
  for (;;)
    {
      struct timespec ts = { 1, 0 };
      siginfo_t info = { 0 };
      int sig = sigtimedwait (&set, &info, &ts);
      /* Stop and reload come from the supervisor, which first lets the
       * front finish the mail in flight; the same signal sent to the
       * whole process group must not stop the pool under it. */
      gboolean from_supervisor = info.si_pid == getppid ();
      /* a worker whose LibreOffice was killed: its pipe is stale */
      if (sig == SIGUSR2
          && g_hash_table_contains (pool.workers, GINT_TO_POINTER ((int)info.si_pid)))
        mugai_convert_sweep_stale ();
      if (sig == SIGHUP && !stopping && from_supervisor)
        reload (&pool);
      else if ((sig == SIGTERM || sig == SIGINT) && !stopping && from_supervisor)
        {
          stopping = TRUE;
          stop_deadline = g_get_monotonic_time ()
                          + (gint64)(pool.worker.message_timeout + 5) * G_USEC_PER_SEC;
          signal_generation (&pool, 0, SIGUSR1, TRUE);
        }
      reap (&pool, stopping);

      if (stopping)
        {
          if (g_hash_table_size (pool.workers) == 0)
            break;
          if (g_get_monotonic_time () > stop_deadline)
            {
              signal_generation (&pool, 0, SIGKILL, TRUE);
              stop_deadline = G_MAXINT64;
            }
          continue;
        }
      check_database (&pool);
      /* replace the dead, one a second at most when they keep dying */
      while (current_workers (&pool) < pool.nworkers)
        {
          gboolean burst = current_workers (&pool) > 0
                           && g_get_monotonic_time () - pool.last_spawn < G_USEC_PER_SEC;
          if (burst || spawn_worker (&pool) < 0)
            break;
        }
    }
  g_message ("pool: stopped");
  g_hash_table_unref (pool.workers);
  mugai_engines_free (pool.engines);
  mugai_policy_free (pool.policy);
  g_free (pool.worker.quarantine_dir);
  g_clear_pointer (&pool.worker.profiles, g_hash_table_unref);
  g_free (pool.worker.audit_file);
  g_free (pool.source);
  g_free (pool.db_state);
  return 0;
}
