/*
 * quarantine-cmd.c - `mugai quarantine` and `mugai admin`: the store as the
 *                    administrator sees it
 *
 * SYNOPSIS
 *	mugai quarantine list|show|extract|check ...   read the store directly
 *	mugai quarantine purge [--older-than DAYS]       through the storer when it runs
 *	mugai quarantine reindex | migrate               mugai-milter stopped
 *	mugai quarantine request ID --reason T [--mode M] [--recipient A ...]
 *	mugai quarantine approve ID | deny ID --reason T | release ID [--again]
 *	mugai admin add NAME --role R [--unix-user LOGIN] [--password-stdin]
 *	mugai admin list | disable NAME | enable NAME
 *
 * DESCRIPTION
 *	Reading needs no one's leave: the command opens the store itself,
 *	never creating it (a directory made by root would lock the daemon
 *	out).  Writing is the storer's alone (control.h): the workflow's
 *	steps go to run_dir/workflow.sock, where the storer acts for the
 *	account mapped to the caller's Unix login; purge and the accounts go
 *	to run_dir/control.sock (root).  reindex and migrate change the
 *	store's format and are refused while a storer runs.
 *
 * EXIT STATUS
 *	0 done, 1 not found, refused or failed, 64 usage.
 */
#include "quarantine-cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "config.h"
#include "control.h"
#include "logline.h"
#include "password.h"
#include "quarantine.h"

#define EXIT_USAGE 64

static void
usage (FILE *out)
{
  fprintf (out, "Usage:\n"
                "  mugai quarantine list [--config FILE] [--since DAYS] [--until DAYS]\n"
                "        [--sender T] [--recipient T] [--subject T] [--verdict V] [--state S]\n"
                "        [--limit N] [--offset N] [--newest] [--json]\n"
                "  mugai quarantine show|extract [--config FILE] ID\n"
                "  mugai quarantine purge [--config FILE] [--older-than DAYS]\n"
                "  mugai quarantine check|reindex|migrate [--config FILE]\n"
                "  mugai quarantine backup [--config FILE] DIR\n"
                "  mugai quarantine request [--config FILE] ID --reason TEXT\n"
                "        [--mode original|resanitize=PROFILE] [--recipient ADDR ...]\n"
                "  mugai quarantine approve [--config FILE] ID\n"
                "  mugai quarantine deny [--config FILE] ID --reason TEXT\n"
                "  mugai quarantine release [--config FILE] ID [--again]\n"
                "  mugai admin add [--config FILE] NAME --role requester|approver|auditor\n"
                "        [--unix-user LOGIN] [--password-stdin]\n"
                "  mugai admin list|disable|enable [--config FILE] [NAME]\n"
                "See mugai(1).\n");
}

/* ---- reading ----------------------------------------------------------------- */

#define SECONDS_PER_DAY 86400
/* 100 years: anything larger is a typo, and would overflow nothing but
 * still mean nothing */
#define MAX_DAYS 36500

static gboolean
parse_days (const char *option, const char *text, gint64 *cutoff)
{
  guint64 days = 0;
  g_autoptr (GError) error = NULL;
  if (!g_ascii_string_to_unsigned (text, 10, 0, MAX_DAYS, &days, &error))
    {
      fprintf (stderr, "mugai quarantine: %s: %s\n", option, error->message);
      return FALSE;
    }
  *cutoff = g_get_real_time () / G_USEC_PER_SEC - (gint64)days * SECONDS_PER_DAY;
  return TRUE;
}

/* The sender's words for a terminal column: no control or bidi
 * character, at most width characters (the ellipsis is one, and so is a
 * "<U+001B>" made of eight: it is cut like the rest). */
static char *
column_text (const char *text, glong width)
{
  g_autofree char *safe = mugai_text_safe_display (text, (guint)width - 1);
  if (g_utf8_strlen (safe, -1) <= width)
    return g_steal_pointer (&safe);
  g_autofree char *cut = g_utf8_substring (safe, 0, width - 1);
  return g_strconcat (cut, "…", NULL);
}

static void
print_entries (GPtrArray *entries)
{
  printf ("%-29s %-20s %-10s %-9s %-32s %4s  %s\n", "ID", "TIME (UTC)", "VERDICT", "STATE",
          "SENDER", "RCPT", "SUBJECT");
  for (guint i = 0; i < entries->len; i++)
    {
      const MugaiStoreEntry *e = entries->pdata[i];
      g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (e->time);
      g_autofree char *when = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("?");
      g_autofree char *sender
          = e->sender && *e->sender ? column_text (e->sender, 32) : g_strdup ("<>");
      g_autofree char *subject = column_text (e->subject ? e->subject : "", 60);
      g_autofree char *verdict = column_text (e->verdict ? e->verdict : "?", 10);
      glong pad = 32 - g_utf8_strlen (sender, -1);
      printf ("%-29s %-20s %-10s %-9s %s%*s %4u  %s\n", e->id, when, verdict,
              mugai_store_state_name (e->state), sender, (int)MAX (pad, 0), "",
              e->recipients ? e->recipients->len : 0, subject);
    }
}

static int
copy_to_stdout (GInputStream *in, const char *what)
{
  char buf[65536];
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_input_stream_read (in, buf, sizeof buf, NULL, &error);
      if (n < 0)
        {
          fprintf (stderr, "mugai: %s: %s\n", what, error->message);
          return 1;
        }
      if (n == 0)
        return 0;
      for (ssize_t off = 0; off < n;)
        {
          ssize_t w = write (STDOUT_FILENO, buf + off, (size_t)(n - off));
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              fprintf (stderr, "mugai: standard output: %s\n", g_strerror (errno));
              return 1;
            }
          off += w;
        }
    }
}

/* ---- talking to the storer -------------------------------------------------- */

/* What the storer at run_dir's socket name answers to one request; its
 * words on standard output (done) or standard error (refused). */
static int
ask_storer (const MugaiConfig *loaded, const char *socket_name, const char *verb, gint64 arg,
            const char *id, const char *const *options, const char *const *recipients)
{
  g_autofree char *path = mugai_control_find (loaded->node->milter.run_dir, socket_name);
  if (!path)
    {
      fprintf (stderr,
               "mugai: %s: mugai-milter does not run here (nothing listens on %s/%s): its storer "
               "is the store's one writer and does this\n",
               verb, loaded->node->milter.run_dir, socket_name);
      return 1;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *what = NULL;
  guint deferred = 0;
  if (!mugai_control_call (path, verb, arg, id, options, recipients, &deferred, &what, &error))
    {
      gsize n = strlen (verb);
      if (!what)
        /* no answer at all: the storer stopped (or was killed) while it
         * worked, and the step may or may not have been taken */
        fprintf (stderr, "mugai: %s: no answer from mugai-milter's storer (%s)%s%s%s\n", verb,
                 error->message, id ? ": `mugai quarantine show " : "", id ? id : "",
                 id ? "` (as root) says what was done" : "");
      else if (strncmp (error->message, verb, n) == 0 && error->message[n] == ':')
        /* the storer's words name the step already */
        fprintf (stderr, "mugai: %s\n", error->message);
      else
        fprintf (stderr, "mugai: %s: %s\n", verb, error->message);
      return 1;
    }
  printf ("%s\n", what);
  /* a release the relay deferred is not done yet: 75, as sysexits' TEMPFAIL */
  if (deferred && g_str_equal (verb, "release"))
    return fflush (stdout) == 0 ? 75 : 1;
  return fflush (stdout) == 0 ? 0 : 1;
}

/* reindex and migrate change the store's format: never under a storer. */
static gboolean
storer_stopped (const MugaiConfig *loaded, const char *cmd)
{
  g_autofree char *path = mugai_control_socket (loaded->node->milter.run_dir);
  if (!path)
    return TRUE;
  fprintf (stderr, "mugai quarantine %s: mugai-milter runs (%s answers): stop it first\n", cmd,
           path);
  return FALSE;
}

static int
cmd_reindex (const MugaiConfig *loaded)
{
  if (!storer_stopped (loaded, "reindex"))
    return 1;
  if (loaded->node->quarantine_backend != MUGAI_BACKEND_SQLITE)
    {
      fprintf (stderr, "mugai quarantine reindex: builds the index of [quarantine] backend = "
                       "sqlite, and the configuration names another backend\n");
      return EXIT_USAGE;
    }
  g_autoptr (GError) error = NULL;
  guint already = 0;
  guint added = mugai_store_reindex (loaded->node->quarantine_dir, &already, &error);
  if (error)
    {
      fprintf (stderr, "mugai quarantine reindex: %s (%u entries indexed before it)\n",
               error->message, added);
      return 1;
    }
  printf ("indexed %u entries of %s (%u were indexed already); the .json records stay as they "
          "were, the index is what counts from now on\n",
          added, loaded->node->quarantine_dir, already);
  return 0;
}

static int
cmd_migrate (const MugaiConfig *loaded)
{
  if (!storer_stopped (loaded, "migrate"))
    return 1;
  g_autofree char *location = mugai_node_store_location (loaded->node);
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_MIGRATE, &error);
  if (!q)
    {
      fprintf (stderr, "mugai quarantine migrate: %s\n", error->message);
      return 1;
    }
  guint found = 0, current = 0;
  if (!mugai_store_migrate (q, &found, &current, &error))
    {
      fprintf (stderr, "mugai quarantine migrate: %s\n", error->message);
      return 1;
    }
  if (found == current)
    printf ("%s: schema version %u, the one this mugai uses: nothing to do\n", location, current);
  else
    printf ("%s: schema version %u upgraded to %u\n", location, found, current);
  return 0;
}

/* Copies name (a file of the audit log's directory) into dir, if there. */
static gboolean
copy_file (const char *from, const char *dir)
{
  if (!g_file_test (from, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  g_autofree char *base = g_path_get_basename (from);
  g_autofree char *to = g_build_filename (dir, base, NULL);
  g_autoptr (GFile) src = g_file_new_for_path (from);
  g_autoptr (GFile) dst = g_file_new_for_path (to);
  g_autoptr (GError) error = NULL;
  if (!g_file_copy (src, dst, G_FILE_COPY_NOFOLLOW_SYMLINKS | G_FILE_COPY_ALL_METADATA, NULL, NULL,
                    NULL, &error))
    {
      fprintf (stderr, "mugai quarantine backup: %s: %s\n", from, error->message);
      return FALSE;
    }
  return TRUE;
}

static int
cmd_backup (const MugaiConfig *loaded, const char *dir)
{
  if (!g_path_is_absolute (dir))
    {
      fprintf (stderr, "mugai quarantine backup: DIR must be an absolute path\n");
      return EXIT_USAGE;
    }
  g_autofree char *location = mugai_node_store_location (loaded->node);
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_EXISTING, &error);
  guint entries = 0;
  if (!q || !mugai_store_backup (q, dir, &entries, &error))
    {
      fprintf (stderr, "mugai quarantine backup: %s\n", error->message);
      return 1;
    }
  /* the audit log after the index: its checkpoint then covers at least
   * every record of what the index holds */
  g_autofree char *audit_dir = g_build_filename (dir, "audit", NULL);
  if (g_mkdir (audit_dir, 0700) != 0)
    {
      fprintf (stderr, "mugai quarantine backup: %s: %s\n", audit_dir, g_strerror (errno));
      return 1;
    }
  const char *log = loaded->node->audit_file;
  g_autofree char *checkpoint = g_strconcat (log, ".checkpoint", NULL);
  gboolean ok = copy_file (log, audit_dir) && copy_file (checkpoint, audit_dir);
  for (int i = 1; ok && i < 100; i++)
    {
      g_autofree char *rotated = g_strdup_printf ("%s.%d", log, i);
      if (!g_file_test (rotated, G_FILE_TEST_EXISTS))
        break;
      ok = copy_file (rotated, audit_dir);
    }
  if (!ok)
    return 1;
  printf ("backed up %u entries of %s to %s, and the audit log to %s\n", entries, location, dir,
          audit_dir);
  return 0;
}

/* ---- accounts --------------------------------------------------------------- */

/* A line of standard input without its end, the terminal's echo off
 * while it is typed. */
static char *
read_password (void)
{
  struct termios old, quiet;
  gboolean tty = isatty (STDIN_FILENO) && tcgetattr (STDIN_FILENO, &old) == 0;
  if (tty)
    {
      fprintf (stderr, "password: ");
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t)ECHO;
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
    }
  char buf[1100];
  char *line = fgets (buf, sizeof buf, stdin);
  if (tty)
    {
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &old);
      fprintf (stderr, "\n");
    }
  if (!line)
    return NULL;
  buf[strcspn (buf, "\r\n")] = '\0';
  char *out = g_strdup (buf);
  memset (buf, 0, sizeof buf);
  return out;
}

static int
cmd_admin (int argc, char **argv)
{
  const char *cmd = argc > 1 ? argv[1] : NULL;
  static const char *const commands[] = { "add", "list", "disable", "enable" };
  gboolean known = FALSE;
  for (gsize i = 0; cmd && i < G_N_ELEMENTS (commands); i++)
    known = known || g_str_equal (cmd, commands[i]);
  if (!known)
    {
      if (cmd)
        fprintf (stderr, "mugai admin: unknown command \"%s\"\n", cmd);
      usage (stderr);
      return EXIT_USAGE;
    }
  g_autofree char *config = NULL, *role = NULL, *unix_user = NULL;
  gboolean password_stdin = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "Configuration file", "FILE" },
    { "role", 0, 0, G_OPTION_ARG_STRING, &role, "requester, approver or auditor", "ROLE" },
    { "unix-user", 0, 0, G_OPTION_ARG_STRING, &unix_user, "The login it acts for", "LOGIN" },
    { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &password_stdin,
      "Read a password (for the portal) from standard input", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (cmd);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  int n = argc - 1;
  char **args = argv + 1;
  if (!g_option_context_parse (ctx, &n, &args, &error))
    {
      fprintf (stderr, "mugai admin %s: %s\n", cmd, error->message);
      return EXIT_USAGE;
    }
  gboolean is_list = g_str_equal (cmd, "list");
  if (n != (is_list ? 1 : 2))
    {
      usage (stderr);
      return EXIT_USAGE;
    }
  g_autoptr (MugaiConfig) loaded = mugai_config_load (config, &error);
  if (!loaded)
    {
      fprintf (stderr, "mugai: configuration: %s\n", error->message);
      return 1;
    }
  if (is_list)
    {
      g_autofree char *location = mugai_node_store_location (loaded->node);
      g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_EXISTING, &error);
      g_autoptr (GPtrArray) all = q ? mugai_store_account_list (q, &error) : NULL;
      if (!all)
        {
          fprintf (stderr, "mugai admin list: %s\n", error->message);
          return 1;
        }
      printf ("%-24s %-10s %-16s %-8s %s\n", "NAME", "ROLE", "UNIX USER", "PASSWORD", "STATE");
      for (guint i = 0; i < all->len; i++)
        {
          const MugaiAccount *a = all->pdata[i];
          printf ("%-24s %-10s %-16s %-8s %s\n", a->name, mugai_role_name (a->role),
                  a->unix_user ? a->unix_user : "-", a->password ? "set" : "-",
                  a->disabled ? "disabled" : "active");
        }
      return fflush (stdout) == 0 ? 0 : 1;
    }
  const char *name = args[1];
  if (g_str_equal (cmd, "add"))
    {
      MugaiRole r;
      if (!role || !mugai_role_from_name (role, &r))
        {
          fprintf (stderr, "mugai admin add: --role requester, approver or auditor\n");
          return EXIT_USAGE;
        }
      g_autofree char *hash = NULL;
      if (password_stdin)
        {
          g_autofree char *password = read_password ();
          hash = password ? mugai_password_hash (password, &error) : NULL;
          if (password)
            memset (password, 0, strlen (password));
          if (!hash)
            {
              fprintf (stderr, "mugai admin add: %s\n",
                       error ? error->message : "no password on standard input");
              return 1;
            }
        }
      const char *options[] = {
        "name",           name, "role", role, "unix_user", unix_user ? unix_user : "", "password",
        hash ? hash : "", NULL
      };
      return ask_storer (loaded, MUGAI_CONTROL_SOCKET, "admin-add", 0, NULL, options, NULL);
    }
  const char *options[]
      = { "name", name, "disabled", g_str_equal (cmd, "disable") ? "yes" : "no", NULL };
  return ask_storer (loaded, MUGAI_CONTROL_SOCKET, "admin-set", 0, NULL, options, NULL);
}

/* ---- the command ------------------------------------------------------------ */

static int
cmd_quarantine (int argc, char **argv)
{
  static const char *const commands[]
      = { "list",    "show",    "extract", "purge", "check",   "reindex",
          "migrate", "request", "approve", "deny",  "release", "backup" };
  const char *cmd = argc > 1 ? argv[1] : NULL;
  gboolean known = FALSE;
  for (gsize i = 0; cmd && i < G_N_ELEMENTS (commands); i++)
    known = known || g_str_equal (cmd, commands[i]);
  if (!known)
    {
      if (cmd)
        fprintf (stderr, "mugai quarantine: unknown command \"%s\"\n", cmd);
      usage (stderr);
      return EXIT_USAGE;
    }

  g_autofree char *config = NULL;
  g_autofree char *since = NULL;
  g_autofree char *older_than = NULL;
  GOptionEntry common[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "Configuration file", "FILE" },
    { NULL },
  };
  g_autofree char *until = NULL, *sender = NULL, *recipient = NULL, *subject = NULL;
  g_autofree char *verdict = NULL, *state = NULL;
  gint limit = 0, offset = 0;
  gboolean as_json = FALSE, newest = FALSE;
  /* the search texts as given (FILENAME: no conversion from the locale's
   * charset, which is ASCII under cron and systemd): UTF-8 is expected,
   * anything else is repaired when compared */
  GOptionEntry list_entries[] = {
    { "since", 0, 0, G_OPTION_ARG_STRING, &since, "Only entries of the last DAYS days", "DAYS" },
    { "until", 0, 0, G_OPTION_ARG_STRING, &until, "Only entries older than DAYS days", "DAYS" },
    { "sender", 0, 0, G_OPTION_ARG_FILENAME, &sender, "The envelope sender contains TEXT", "TEXT" },
    { "recipient", 0, 0, G_OPTION_ARG_FILENAME, &recipient, "A recipient contains TEXT", "TEXT" },
    { "subject", 0, 0, G_OPTION_ARG_FILENAME, &subject, "The subject contains TEXT", "TEXT" },
    { "verdict", 0, 0, G_OPTION_ARG_STRING, &verdict, "The verdict is V", "V" },
    { "state", 0, 0, G_OPTION_ARG_STRING, &state, "The entry's state is S", "S" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &limit, "At most N entries", "N" },
    { "offset", 0, 0, G_OPTION_ARG_INT, &offset, "Skip the first N matches", "N" },
    { "newest", 0, 0, G_OPTION_ARG_NONE, &newest, "Newest first (--limit N: the latest N)", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "One JSON object a line", NULL },
    { NULL },
  };
  GOptionEntry purge_entries[] = {
    { "older-than", 0, 0, G_OPTION_ARG_STRING, &older_than, "Remove entries older than DAYS days",
      "DAYS" },
    { NULL },
  };
  g_autofree char *reason = NULL, *mode = NULL;
  g_auto (GStrv) to = NULL;
  gboolean again = FALSE;
  GOptionEntry workflow_entries[] = {
    { "reason", 0, 0, G_OPTION_ARG_FILENAME, &reason, "Why (recorded)", "TEXT" },
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, "original (default) or resanitize=PROFILE",
      "MODE" },
    { "recipient", 0, 0, G_OPTION_ARG_STRING_ARRAY, &to,
      "Release to this envelope recipient only (repeatable)", "ADDR" },
    { "again", 0, 0, G_OPTION_ARG_NONE, &again,
      "Send an attempt that was cut off again (checked that it did not arrive)", NULL },
    { NULL },
  };
  gboolean is_list = g_str_equal (cmd, "list"), is_purge = g_str_equal (cmd, "purge");
  gboolean is_check = g_str_equal (cmd, "check");
  gboolean whole_store = is_list || is_purge || is_check || g_str_equal (cmd, "reindex")
                         || g_str_equal (cmd, "migrate");
  gboolean is_workflow = g_str_equal (cmd, "request") || g_str_equal (cmd, "approve")
                         || g_str_equal (cmd, "deny") || g_str_equal (cmd, "release");
  g_autofree char *summary
      = g_strdup_printf ("%s%s - the quarantine store", cmd, whole_store ? "" : " ID");
  g_autoptr (GOptionContext) ctx = g_option_context_new (summary);
  g_option_context_add_main_entries (ctx, common, NULL);
  if (is_list)
    g_option_context_add_main_entries (ctx, list_entries, NULL);
  if (is_purge)
    g_option_context_add_main_entries (ctx, purge_entries, NULL);
  if (is_workflow)
    g_option_context_add_main_entries (ctx, workflow_entries, NULL);
  g_autoptr (GError) error = NULL;
  /* argv[1], the command, stands for the program name */
  int n = argc - 1;
  char **args = argv + 1;
  if (!g_option_context_parse (ctx, &n, &args, &error))
    {
      fprintf (stderr, "mugai quarantine %s: %s\n", cmd, error->message);
      usage (stderr);
      return EXIT_USAGE;
    }
  if (n != (whole_store ? 1 : 2))
    {
      usage (stderr);
      return EXIT_USAGE;
    }
  gint64 cutoff = 0;
  if ((since && !parse_days ("--since", since, &cutoff))
      || (older_than && !parse_days ("--older-than", older_than, &cutoff)))
    return EXIT_USAGE;

  g_autoptr (MugaiConfig) loaded = mugai_config_load (config, &error);
  if (!loaded)
    {
      fprintf (stderr, "mugai: configuration: %s\n", error->message);
      return 1;
    }
  if (g_str_equal (cmd, "reindex"))
    return cmd_reindex (loaded);
  if (g_str_equal (cmd, "backup"))
    return cmd_backup (loaded, args[1]);
  if (g_str_equal (cmd, "migrate"))
    return cmd_migrate (loaded);
  if (is_workflow)
    {
      const char *id = args[1];
      if (!mugai_store_id_is_valid (id))
        {
          g_autofree char *safe = mugai_log_escape (id, 60);
          fprintf (stderr, "mugai quarantine %s: \"%s\" is not a quarantine id\n", cmd, safe);
          return EXIT_USAGE;
        }
      if ((g_str_equal (cmd, "request") || g_str_equal (cmd, "deny")) && !reason)
        {
          fprintf (stderr, "mugai quarantine %s: --reason TEXT is required (it is recorded)\n",
                   cmd);
          return EXIT_USAGE;
        }
      const char *options[] = { "reason", reason ? reason : "", "mode", mode ? mode : "original",
                                "again",  again ? "yes" : "no", NULL };
      return ask_storer (loaded, MUGAI_WORKFLOW_SOCKET, cmd, 0, id, options,
                         (const char *const *)to);
    }
  /* purge without --older-than: the retention the configuration keeps */
  if (is_purge && !older_than)
    {
      if (loaded->node->keep_days == 0)
        {
          fprintf (stderr, "mugai quarantine: purge: no --older-than, and [quarantine] keep_days "
                           "= 0 keeps everything\n");
          return EXIT_USAGE;
        }
      older_than = g_strdup_printf ("%u", loaded->node->keep_days);
      if (!parse_days ("[quarantine] keep_days", older_than, &cutoff))
        return EXIT_USAGE;
    }
  /* show by an approver or an auditor who is not root: the store is the
   * storer's alone, so the storer reads the record for them (control.h) */
  g_autofree char *workflow
      = g_str_equal (cmd, "show") && geteuid () != 0
            ? mugai_control_find (loaded->node->milter.run_dir, MUGAI_WORKFLOW_SOCKET)
            : NULL;
  if (workflow)
    {
      if (!mugai_store_id_is_valid (args[1]))
        {
          g_autofree char *safe = mugai_log_escape (args[1], 60);
          fprintf (stderr, "mugai quarantine show: \"%s\" is not a quarantine id\n", safe);
          return EXIT_USAGE;
        }
      return ask_storer (loaded, MUGAI_WORKFLOW_SOCKET, "show", 0, args[1], NULL, NULL);
    }
  g_autofree char *location = mugai_node_store_location (loaded->node);
  /* While mugai-milter runs, its storer is the store's one writer: the
   * purge is asked of it (control.h), and it records who asked. */
  g_autofree char *control = is_purge ? mugai_control_socket (loaded->node->milter.run_dir) : NULL;
  if (control)
    {
      guint removed = 0;
      g_autofree char *what = NULL;
      if (!mugai_control_purge (control, cutoff, &removed, &what, &error))
        {
          fprintf (stderr, "mugai: quarantine: the storer of mugai-milter (%s): %s\n", control,
                   error->message);
          return 1;
        }
      printf ("purged %u entries older than %s days from %s (by mugai-milter's storer: %s)\n",
              removed, older_than, location, what);
      return 0;
    }
  /* Never create the store from here: a directory made by root with
   * root's owner would lock the daemon out of it. */
  g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_EXISTING, &error);
  if (!q)
    {
      fprintf (stderr, "mugai: quarantine: %s\n", error->message);
      return 1;
    }
  if (is_list)
    {
      MugaiStoreFilter filter = { .since = cutoff,
                                  .sender = sender,
                                  .recipient = recipient,
                                  .subject = subject,
                                  .verdict = verdict,
                                  .offset = (guint)offset,
                                  .limit = (guint)limit,
                                  .newest_first = newest };
      if (until && !parse_days ("--until", until, &filter.before))
        return EXIT_USAGE;
      MugaiStoreState st;
      if (state && !mugai_store_state_from_name (state, &st))
        {
          fprintf (stderr, "mugai quarantine: --state %s: not a state (stored, held, ...)\n",
                   state);
          return EXIT_USAGE;
        }
      if (state)
        filter.states = 1u << st;
      if (limit < 0 || offset < 0)
        {
          fprintf (stderr, "mugai quarantine: --limit and --offset take 0 or more\n");
          return EXIT_USAGE;
        }
      g_autoptr (GPtrArray) entries = mugai_store_list (q, &filter, &error);
      if (!entries)
        {
          fprintf (stderr, "mugai: quarantine: %s\n", error->message);
          return 1;
        }
      if (as_json)
        for (guint i = 0; i < entries->len; i++)
          {
            g_autofree char *json = mugai_store_entry_to_json (entries->pdata[i], FALSE);
            printf ("%s\n", json);
          }
      else
        print_entries (entries);
      return fflush (stdout) == 0 ? 0 : 1;
    }
  if (is_check)
    {
      guint checked = 0;
      g_autoptr (GPtrArray) problems = mugai_store_check (q, &checked, &error);
      if (!problems)
        {
          fprintf (stderr, "mugai: quarantine: %s\n", error->message);
          return 1;
        }
      for (guint i = 0; i < problems->len; i++)
        printf ("%s\n", (const char *)problems->pdata[i]);
      printf ("checked %u entries of %s: %s\n", checked, mugai_store_location (q),
              problems->len ? "NOT INTACT" : "every record readable, every original as recorded");
      return problems->len ? 1 : 0;
    }
  if (is_purge)
    {
      guint removed = mugai_store_purge (q, cutoff, &error);
      printf ("purged %u entries older than %s days from %s\n", removed, older_than,
              mugai_store_location (q));
      if (error)
        {
          fprintf (stderr, "mugai: quarantine: %s\n", error->message);
          return 1;
        }
      return 0;
    }
  const char *id = args[1];
  if (g_str_equal (cmd, "show"))
    {
      g_autoptr (MugaiStoreEntry) e = mugai_store_get (q, id, &error);
      if (!e)
        {
          fprintf (stderr, "mugai: quarantine: %s\n", error->message);
          return 1;
        }
      g_autofree char *json = mugai_store_entry_to_json (e, TRUE);
      printf ("%s\n", json);
      return fflush (stdout) == 0 ? 0 : 1;
    }
  g_autoptr (GInputStream) original = mugai_store_open_original (q, id, &error);
  if (!original)
    {
      fprintf (stderr, "mugai: quarantine: %s\n", error->message);
      return 1;
    }
  g_autofree char *what = g_strdup_printf ("quarantine entry %s", id);
  return copy_to_stdout (original, what);
}

int
mugai_cmd_quarantine (int argc, char **argv)
{
  return cmd_quarantine (argc, argv);
}

int
mugai_cmd_admin (int argc, char **argv)
{
  return cmd_admin (argc, argv);
}
