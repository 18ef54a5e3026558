/*
 * mugai.c - the administrator's command
 *
 * SYNOPSIS
 *	mugai sanitize [--config F] [--report R] [INPUT]
 *	mugai sanitize [--config F] [--report R] --mbox IN --out OUT
 *	mugai sanitize [--config F] [--report R] --maildir IN --out DIR
 *	mugai config check [--config F]
 *	mugai quarantine list [--config F] [--since DAYS] [--until DAYS] [--sender T]
 *	    [--recipient T] [--subject T] [--verdict V] [--state S] [--limit N]
 *	    [--offset N] [--json]
 *	mugai quarantine show [--config F] ID
 *	mugai quarantine extract [--config F] ID
 *	mugai quarantine purge [--config F] [--older-than DAYS]
 *	mugai quarantine check [--config F]
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
                "  mugai quarantine list [--config FILE] [--since DAYS] [--until DAYS]\n"
                "        [--sender T] [--recipient T] [--subject T] [--verdict V] [--state S]\n"
                "        [--limit N] [--offset N] [--json]\n"
                "  mugai quarantine show [--config FILE] ID\n"
                "  mugai quarantine extract [--config FILE] ID\n"
                "  mugai quarantine purge [--config FILE] [--older-than DAYS]\n"
                "  mugai quarantine check [--config FILE]\n"
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

/* ---- quarantine --------------------------------------------------------------- */

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
  printf ("%-29s %-20s %-10s %-32s %4s  %s\n", "ID", "TIME (UTC)", "VERDICT", "SENDER", "RCPT",
          "SUBJECT");
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
      printf ("%-29s %-20s %-10s %s%*s %4u  %s\n", e->id, when, verdict, sender, (int)MAX (pad, 0),
              "", e->recipients ? e->recipients->len : 0, subject);
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

static int
cmd_quarantine (int argc, char **argv)
{
  static const char *const commands[] = { "list", "show", "extract", "purge", "check" };
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
  gboolean as_json = FALSE;
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
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "One JSON object a line", NULL },
    { NULL },
  };
  GOptionEntry purge_entries[] = {
    { "older-than", 0, 0, G_OPTION_ARG_STRING, &older_than, "Remove entries older than DAYS days",
      "DAYS" },
    { NULL },
  };
  gboolean is_list = g_str_equal (cmd, "list"), is_purge = g_str_equal (cmd, "purge");
  gboolean is_check = g_str_equal (cmd, "check");
  g_autofree char *summary = g_strdup_printf ("%s%s - the quarantine store", cmd,
                                              is_list || is_purge || is_check ? "" : " ID");
  g_autoptr (GOptionContext) ctx = g_option_context_new (summary);
  g_option_context_add_main_entries (ctx, common, NULL);
  if (is_list)
    g_option_context_add_main_entries (ctx, list_entries, NULL);
  if (is_purge)
    g_option_context_add_main_entries (ctx, purge_entries, NULL);
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
  gboolean takes_id = !is_list && !is_purge && !is_check;
  if (n != (takes_id ? 2 : 1))
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
              removed, older_than, loaded->node->quarantine_dir, what);
      return 0;
    }
  /* Never create the store from here: a directory made by root with
   * root's owner would lock the daemon out of it. */
  g_autoptr (MugaiStore) q
      = mugai_store_open (loaded->node->quarantine_dir, MUGAI_STORE_EXISTING, &error);
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
                                  .limit = (guint)limit };
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
    return cmd_quarantine (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "audit"))
    return mugai_cmd_audit (argc - 1, argv + 1);
  fprintf (stderr, "mugai: unknown command \"%s\"\n", argv[1]);
  usage (stderr);
  return EXIT_USAGE;
}
