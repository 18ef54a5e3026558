/*
 * mugai.c - the administrator's command
 *
 * SYNOPSIS
 *	mugai sanitize [--config F] [--report R] [INPUT]
 *	mugai sanitize [--config F] [--report R] --mbox IN --out OUT
 *	mugai sanitize [--config F] [--report R] --maildir IN --out DIR
 *	mugai config check [--config F]
 *	mugai quarantine ...   (quarantine-cmd.c)
 *	mugai admin ...        (quarantine-cmd.c)
 *	mugai audit verify [--config F] [--checkpoint F] [LOG...]  (audit-verify.c)
 *
 * DESCRIPTION
 *	Thin glue around the core (sanitize.c): read, call, write, count.
 *	This is a top layer, so it is where logging happens: one key=value
 *	line per refused or failed message on standard error.
 *
 * EXIT STATUS
 *	0 deliver (for mailboxes: every message processed), 3 reject,
 *	64 usage error, 66 input not readable, 75 temporary failure
 *	(sysexits.h values, as Postfix's pipe(8) understands them).
 *	quarantine and config: 0 done, 1 not found or failed, 64 usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "audit-verify.h"
#include "quarantine-cmd.h"
#include "config.h"
#include "control.h"
#include "convert.h"
#include "mailbox.h"
#include "logline.h"
#include "mugai-build.h"
#include "notice.h"
#include "quarantine.h"
#include "sanitize.h"
#include "scan.h"

#define EXIT_DELIVER 0
#define EXIT_REJECT 3
#define EXIT_USAGE 64
#define EXIT_NOINPUT 66
#define EXIT_TEMPFAIL 75

static void
usage (FILE *out)
{
  fprintf (out, "Usage:\n"
                "  mugai sanitize [--config FILE] [--profile NAME] [--report FILE] [INPUT]\n"
                "  mugai sanitize [--config FILE] [--report FILE] --mbox IN --out OUT\n"
                "  mugai sanitize [--config FILE] [--report FILE] --maildir IN --out DIR\n"
                "  mugai config check [--config FILE]\n"
                "  mugai quarantine list|show|extract|purge|check|reindex|migrate ...\n"
                "  mugai quarantine request|approve|deny|release ID ...\n"
                "  mugai admin add|list|disable|enable ...\n"
                "  mugai audit verify [--config FILE] [--checkpoint FILE] [LOG...]\n"
                "  mugai --version\n"
                "See mugai(1).\n");
}

/* ---- counting for the mailbox summary ------------------------------------- */

typedef struct
{
  guint messages;
  guint clean;
  guint sanitized;
  guint rejected;
  guint errors;
  guint converted;
  GHashTable *removed_by_type; /* declared type -> count */
} Summary;

static void
summary_add (Summary *s, const MugaiReport *report)
{
  s->messages++;
  switch (report->verdict)
    {
    case MUGAI_VERDICT_CLEAN:
      s->clean++;
      break;
    case MUGAI_VERDICT_SANITIZED:
      s->sanitized++;
      break;
    case MUGAI_VERDICT_REJECT:
    case MUGAI_VERDICT_DISCARD:
    case MUGAI_VERDICT_HOLD:
      s->rejected++;
      break;
    case MUGAI_VERDICT_TEMPFAIL:
      s->errors++;
      break;
    }
  s->converted += report->converted;
  for (guint i = 0; i < report->parts->len; i++)
    {
      const MugaiPartReport *p = report->parts->pdata[i];
      if (p->action != MUGAI_ACTION_REMOVE)
        continue;
      const char *t = p->declared_type ? p->declared_type : "(unknown)";
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (s->removed_by_type, t));
      g_hash_table_replace (s->removed_by_type, g_strdup (t), GUINT_TO_POINTER (n + 1));
    }
}

static void
summary_print (const Summary *s, FILE *out)
{
  fprintf (out, "\n%-60s %8s\n", "", "count");
  fprintf (out, "%-60s %8u\n", "messages", s->messages);
  fprintf (out, "%-60s %8u\n", "  clean", s->clean);
  fprintf (out, "%-60s %8u\n", "  sanitized", s->sanitized);
  fprintf (out, "%-60s %8u\n", "  rejected", s->rejected);
  fprintf (out, "%-60s %8u\n", "  errors (tempfail)", s->errors);
  fprintf (out, "%-60s %8u\n", "parts converted", s->converted);
  g_autoptr (GList) keys = g_hash_table_get_keys (s->removed_by_type);
  keys = g_list_sort (keys, (GCompareFunc)g_strcmp0);
  guint total = 0;
  for (GList *l = keys; l; l = l->next)
    total += GPOINTER_TO_UINT (g_hash_table_lookup (s->removed_by_type, l->data));
  fprintf (out, "%-60s %8u\n", "parts removed", total);
  for (GList *l = keys; l; l = l->next)
    {
      g_autofree char *safe = mugai_text_safe_display (l->data, 56);
      /* pad by characters, not octets: the ellipsis is multi-byte */
      glong pad = 58 - g_utf8_strlen (safe, -1);
      fprintf (out, "  %s%*s %8u\n", safe, (int)MAX (pad, 0), "",
               GPOINTER_TO_UINT (g_hash_table_lookup (s->removed_by_type, l->data)));
    }
}

/* ---- one message ------------------------------------------------------------ */

/* Log lines for the administrator on standard error, one way for all
 * (logline.h): "mugai: qid=- msgid=<ID> source=FILE key=value ...", the
 * command having no queue id. */
static GString *
log_line (const char *source, const char *msgid)
{
  GString *line = g_string_new ("mugai:");
  mugai_log_ids (line, NULL, msgid);
  mugai_log_add (line, "source", source ? source : "-");
  return line;
}

/* libclamav's own messages while this message was scanned (scan.c keeps
 * them instead of printing "LibClamAV Warning: ..." on standard error). */
static void
log_clamav_messages (const char *source, const char *msgid)
{
  guint dropped = 0;
  g_autoptr (GPtrArray) kept = mugai_scan_take_messages (&dropped);
  for (guint i = 0; i < kept->len; i++)
    {
      const MugaiScanMessage *m = kept->pdata[i];
      if (m->level == MUGAI_SCAN_MESSAGE_INFO)
        continue;
      g_autoptr (GString) line = log_line (source, msgid);
      mugai_log_add (line, "clamav", mugai_scan_message_level_name (m->level));
      mugai_log_add (line, "text", m->text);
      fprintf (stderr, "%s\n", line->str);
    }
  if (dropped)
    {
      g_autoptr (GString) line = log_line (source, msgid);
      g_string_append_printf (line, " clamav=dropped count=%u", dropped);
      fprintf (stderr, "%s\n", line->str);
    }
}

/* libclamav's messages about the engine, before any message. */
static void
log_engine_messages (void)
{
  g_autoptr (GPtrArray) kept = mugai_scan_take_messages (NULL);
  for (guint i = 0; i < kept->len; i++)
    {
      const MugaiScanMessage *m = kept->pdata[i];
      if (m->level == MUGAI_SCAN_MESSAGE_INFO)
        continue;
      g_autoptr (GString) line = g_string_new ("mugai:");
      mugai_log_add (line, "clamav", mugai_scan_message_level_name (m->level));
      mugai_log_add (line, "text", m->text);
      fprintf (stderr, "%s\n", line->str);
    }
}

/* The line of a message that was not delivered as it is. */
static void
log_result (const char *source, const MugaiReport *report, const GError *error)
{
  log_clamav_messages (source, report ? report->message_id : NULL);
  if (error)
    {
      g_autoptr (GString) line = log_line (source, NULL);
      mugai_log_add (line, "verdict", "tempfail");
      mugai_log_add (line, "error", error->message);
      fprintf (stderr, "%s\n", line->str);
      return;
    }
  if (report->verdict != MUGAI_VERDICT_REJECT && report->verdict != MUGAI_VERDICT_DISCARD
      && report->verdict != MUGAI_VERDICT_HOLD)
    return;
  const MugaiFinding *f = mugai_report_reject_finding (report);
  g_autoptr (GString) line = log_line (source, report->message_id);
  mugai_log_add (line, "verdict", mugai_verdict_name (report->verdict));
  mugai_log_add (line, "reason", f ? mugai_finding_category_name (f->category) : "unknown");
  mugai_log_add (line, "path", f ? f->path : "");
  mugai_log_add (line, "detail", f ? f->detail : "");
  fprintf (stderr, "%s\n", line->str);
}

static gboolean
write_report_line (FILE *report_file, const MugaiReport *report, gboolean pretty)
{
  if (!report_file)
    return TRUE;
  g_autofree char *json = mugai_report_to_json (report, pretty);
  fprintf (report_file, "%s\n", json);
  return !ferror (report_file);
}

static MugaiReport *
tempfail_report (const GError *error)
{
  MugaiReport *r = mugai_report_new ();
  r->verdict = MUGAI_VERDICT_TEMPFAIL;
  r->status = g_strdup ("tempfail");
  mugai_report_add_finding (r, mugai_finding_new (MUGAI_FINDING_MALFORMED, "", "internal error: %s",
                                                  error ? error->message : "unknown"));
  return r;
}

/* Reads all of a file or stdin, at most limit + 1 octets kept. */
static GBytes *
read_input (const char *path, gsize limit, gsize *size, GError **error)
{
  FILE *f = path ? fopen (path, "rb") : stdin;
  if (!f)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", path,
                   g_strerror (e));
      return NULL;
    }
  g_autoptr (GByteArray) data = g_byte_array_new ();
  char buf[65536];
  gsize total = 0, n;
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    {
      total += n;
      if (total <= limit)
        g_byte_array_append (data, (const guint8 *)buf, (guint)n);
    }
  gboolean failed = ferror (f);
  int e = errno;
  if (path)
    fclose (f);
  if (failed)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s",
                   path ? path : "standard input", g_strerror (e));
      return NULL;
    }
  *size = total;
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

/* A parser that loops on hostile input (GMime before 3.2.15 had such a
 * bug) must not hang an administrator's run: past the per-message
 * deadline the command stops with a temporary failure.  (The milter's
 * workers have the same deadline and are replaced instead.) */
static void
on_deadline (int sig)
{
  static const char msg[]
      = "\nmugai: message processing passed its deadline ([milter] message_timeout); stopped\n";
  (void)sig;
  if (write (STDERR_FILENO, msg, sizeof msg - 1) < 0)
    _exit (EXIT_TEMPFAIL);
  _exit (EXIT_TEMPFAIL);
}

/* Runs the core on one message; never fails: an internal error becomes
 * a tempfail report.  timeout: [milter] message_timeout, the one node
 * setting sanitizing uses here (a worker's deadline per message). */
static MugaiReport *
process (GBytes *input, gsize size, const MugaiPolicy *policy, MugaiEngines *engines, guint timeout,
         GBytes **output, const char *source)
{
  *output = NULL;
  if (size > policy->limits.message_size)
    {
      MugaiReport *r = mugai_sanitize_refuse_oversize (policy, size);
      log_result (source, r, NULL);
      return r;
    }
  MugaiReport *report = NULL;
  g_autoptr (GError) error = NULL;
  signal (SIGALRM, on_deadline);
  alarm (timeout);
  gboolean ok = mugai_sanitize (input, policy, engines, NULL, output, &report, &error);
  alarm (0);
  if (!ok)
    {
      log_result (source, NULL, error);
      return tempfail_report (error);
    }
  log_result (source, report, NULL);
  return report;
}

static void
progress (const Summary *s, gboolean tty)
{
  if (tty)
    fprintf (stderr, "\r%u messages: %u clean, %u sanitized, %u rejected, %u errors", s->messages,
             s->clean, s->sanitized, s->rejected, s->errors);
}

static int
sanitize_mbox (const char *in, const char *out, FILE *report_file, const MugaiPolicy *policy,
               MugaiEngines *engines, guint timeout)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiMboxReader) reader = mugai_mbox_reader_open (in, &error);
  if (!reader)
    {
      fprintf (stderr, "mugai: %s\n", error->message);
      return EXIT_NOINPUT;
    }
  FILE *o = fopen (out, "wb");
  if (!o)
    {
      fprintf (stderr, "mugai: %s: %s\n", out, g_strerror (errno));
      return EXIT_TEMPFAIL;
    }
  Summary s = { .removed_by_type = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL) };
  gboolean tty = isatty (STDERR_FILENO);
  gboolean write_failed = FALSE;
  GBytes *message = NULL;
  gsize size = 0;
  char *from = NULL;
  guint index = 0;
  while (
      mugai_mbox_reader_next (reader, policy->limits.message_size, &message, &size, &from, &error))
    {
      g_autoptr (GBytes) msg = message;
      g_autofree char *from_line = from;
      g_autofree char *source = g_strdup_printf ("%s#%u", in, ++index);
      g_autoptr (GBytes) output = NULL;
      g_autoptr (MugaiReport) report
          = process (msg, size, policy, engines, timeout, &output, source);
      if (output && !mugai_mbox_write (o, from_line, output, &error))
        {
          fprintf (stderr, "mugai: %s: %s\n", out, error->message);
          write_failed = TRUE;
          break;
        }
      write_report_line (report_file, report, FALSE);
      summary_add (&s, report);
      progress (&s, tty);
    }
  if (error && !write_failed)
    fprintf (stderr, "mugai: %s\n", error->message);
  if (fclose (o) != 0)
    write_failed = TRUE;
  if (tty)
    fputc ('\n', stderr);
  summary_print (&s, stderr);
  guint errors = s.errors;
  g_hash_table_unref (s.removed_by_type);
  return (write_failed || error || errors) ? EXIT_TEMPFAIL : EXIT_DELIVER;
}

static int
sanitize_maildir (const char *in, const char *out, FILE *report_file, const MugaiPolicy *policy,
                  MugaiEngines *engines, guint timeout)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) paths = mugai_maildir_list (in, &error);
  if (!paths)
    {
      fprintf (stderr, "mugai: %s\n", error->message);
      return EXIT_NOINPUT;
    }
  Summary s = { .removed_by_type = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL) };
  gboolean tty = isatty (STDERR_FILENO);
  gboolean failed = FALSE;
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = paths->pdata[i];
      gsize size = 0;
      g_autoptr (GBytes) msg = read_input (path, policy->limits.message_size, &size, &error);
      if (!msg)
        {
          fprintf (stderr, "mugai: %s\n", error->message);
          g_clear_error (&error);
          s.messages++, s.errors++;
          failed = TRUE;
          continue;
        }
      g_autoptr (GBytes) output = NULL;
      g_autoptr (MugaiReport) report = process (msg, size, policy, engines, timeout, &output, path);
      if (output && !mugai_maildir_deliver (out, path, output, &error))
        {
          fprintf (stderr, "mugai: %s\n", error->message);
          g_clear_error (&error);
          failed = TRUE;
        }
      write_report_line (report_file, report, FALSE);
      summary_add (&s, report);
      progress (&s, tty);
    }
  if (tty)
    fputc ('\n', stderr);
  summary_print (&s, stderr);
  guint errors = s.errors;
  g_hash_table_unref (s.removed_by_type);
  return (failed || errors) ? EXIT_TEMPFAIL : EXIT_DELIVER;
}

static int
cmd_sanitize (int argc, char **argv)
{
  g_autofree char *config = NULL;
  g_autofree char *profile = NULL;
  g_autofree char *report_path = NULL;
  g_autofree char *mbox = NULL;
  g_autofree char *maildir = NULL;
  g_autofree char *out = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "Configuration file", "FILE" },
    { "report", 'r', 0, G_OPTION_ARG_FILENAME, &report_path, "Write the JSON report here", "FILE" },
    { "profile", 'p', 0, G_OPTION_ARG_STRING, &profile, "Sanitize under [profile NAME]", "NAME" },
    { "mbox", 0, 0, G_OPTION_ARG_FILENAME, &mbox, "Sanitize every message of an mbox", "IN" },
    { "maildir", 0, 0, G_OPTION_ARG_FILENAME, &maildir, "Sanitize every message of a Maildir",
      "IN" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Output mbox or Maildir", "OUT" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("[INPUT] - sanitize mail");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "mugai sanitize: %s\n", error->message);
      usage (stderr);
      return EXIT_USAGE;
    }
  gboolean mailbox = mbox || maildir;
  if ((mbox && maildir) || (mailbox && (!out || argc > 1)) || (!mailbox && (out || argc > 2)))
    {
      usage (stderr);
      return EXIT_USAGE;
    }

  g_autoptr (MugaiConfig) loaded = mugai_config_load (config, &error);
  if (!loaded)
    {
      fprintf (stderr, "mugai: configuration: %s\n", error->message);
      return EXIT_TEMPFAIL;
    }
  const guint timeout = loaded->node->milter.message_timeout;
  /* [profile NAME]: the main policy with that group's keys over it */
  g_autoptr (MugaiPolicy) policy = profile ? mugai_config_profile (loaded, profile, &error)
                                           : mugai_config_steal_policy (g_steal_pointer (&loaded));
  if (!policy)
    {
      fprintf (stderr, "mugai: configuration: %s\n", error->message);
      return 1;
    }
  g_autoptr (MugaiEngines) engines = mugai_engines_new (policy, &error);
  /* what libclamav said while loading (an old database): no message yet */
  log_engine_messages ();
  if (!engines)
    {
      fprintf (stderr, "mugai: %s\n", error->message);
      return EXIT_TEMPFAIL;
    }

  FILE *report_file = NULL;
  if (report_path)
    {
      report_file = fopen (report_path, "w");
      if (!report_file)
        {
          fprintf (stderr, "mugai: %s: %s\n", report_path, g_strerror (errno));
          return EXIT_TEMPFAIL;
        }
    }

  int status;
  if (mbox)
    status = sanitize_mbox (mbox, out, report_file, policy, engines, timeout);
  else if (maildir)
    status = sanitize_maildir (maildir, out, report_file, policy, engines, timeout);
  else
    {
      const char *input = argc > 1 && !g_str_equal (argv[1], "-") ? argv[1] : NULL;
      gsize size = 0;
      g_autoptr (GBytes) msg = read_input (input, policy->limits.message_size, &size, &error);
      if (!msg)
        {
          fprintf (stderr, "mugai: %s\n", error->message);
          if (report_file)
            fclose (report_file);
          return EXIT_NOINPUT;
        }
      g_autoptr (GBytes) output = NULL;
      g_autoptr (MugaiReport) report
          = process (msg, size, policy, engines, timeout, &output, input);
      write_report_line (report_file, report, TRUE);
      if (output)
        {
          gsize len = 0;
          const char *data = g_bytes_get_data (output, &len);
          if (fwrite (data, 1, len, stdout) != len || fflush (stdout) != 0)
            {
              fprintf (stderr, "mugai: standard output: %s\n", g_strerror (errno));
              report->verdict = MUGAI_VERDICT_TEMPFAIL;
            }
        }
      status = report->verdict == MUGAI_VERDICT_TEMPFAIL ? EXIT_TEMPFAIL
               : output                                  ? EXIT_DELIVER
                                                         : EXIT_REJECT;
    }
  if (report_file && fclose (report_file) != 0)
    {
      fprintf (stderr, "mugai: %s: %s\n", report_path, g_strerror (errno));
      return EXIT_TEMPFAIL;
    }
  return status;
}

static int
cmd_config (int argc, char **argv)
{
  g_autofree char *config = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "Configuration file", "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx
      = g_option_context_new ("check - print the effective configuration");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2
      || !g_str_equal (argv[1], "check"))
    {
      if (error)
        fprintf (stderr, "mugai config: %s\n", error->message);
      usage (stderr);
      return EXIT_USAGE;
    }
  g_autoptr (MugaiConfig) loaded = mugai_config_load (config, &error);
  if (!loaded)
    {
      fprintf (stderr, "mugai: configuration: %s\n", error->message);
      return 1;
    }
  g_autofree char *text = mugai_config_to_string (loaded);
  fputs (text, stdout);
  /* what the file cannot say, checked as mugai-milter checks it at start
   * (users, directories, ClamAV signatures, filters): one function, so an
   * error here is exactly where the milter would refuse to start */
  gboolean fatal = FALSE;
  g_autoptr (GPtrArray) problems = mugai_config_check (loaded, &fatal);
  for (guint i = 0; i < problems->len; i++)
    fprintf (stderr, "mugai: %s\n", (const char *)problems->pdata[i]);
  if (fatal)
    fprintf (stderr, "mugai: mugai-milter would refuse to start with this configuration\n");
  return fatal ? 1 : 0;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      usage (stderr);
      return EXIT_USAGE;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      printf ("mugai %s\n", MUGAI_VERSION);
      return 0;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    {
      usage (stdout);
      return 0;
    }
  mugai_init ();
  if (g_str_equal (argv[1], "sanitize"))
    return cmd_sanitize (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "config"))
    return cmd_config (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "quarantine"))
    return mugai_cmd_quarantine (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "admin"))
    return mugai_cmd_admin (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "audit"))
    return mugai_cmd_audit (argc - 1, argv + 1);
  fprintf (stderr, "mugai: unknown command \"%s\"\n", argv[1]);
  usage (stderr);
  return EXIT_USAGE;
}
