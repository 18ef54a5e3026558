/*
 * worker.c - one worker process: one message at a time, nothing shared
 *
 * SYNOPSIS
 *	mugai_worker_run (listen_fd, policy, settings, engines)
 *
 * DESCRIPTION
 *	A worker accepts a connection from the front on the pool's socket,
 *	checks that the peer is the front (peer.h: the front's uid, a child
 *	of the supervisor; anyone else is closed on without a word), says
 *	hello with its pid (so that the front can kill it at the
 *	deadline), receives the request and the spooled message, and then:
 *
 *	1. arms alarm(message_timeout): a hang in any parser ends this
 *	   process, never the daemon (SIGALRM's default action);
 *	2. runs the core (sanitize.c) with the quarantine id it will use and
 *	   a deadline for document conversions (the message's, less a tenth
 *	   and at least 2 s), so that a slow document costs its part, not
 *	   the message;
 *	3. answers with the verdict, the quarantine id, the report, the
 *	   header edits and the sanitized body (a memfd passed along).  The
 *	   front has the storer keep the original under that id before it
 *	   lets Postfix go on; a worker can open neither the quarantine nor
 *	   the audit log (their user's, and out of its Landlock domain).
 *
 *	Any failure along the way is answered as a temporary failure with a
 *	reason.  A protocol violation by the front ends the connection.
 *
 *	SIGUSR1 asks the worker to leave after the message in hand (reload,
 *	shutdown); it leaves by itself after settings->messages messages.
 *
 * TEST HOOK
 *	Built with -Dtest_hooks=true, a message with the header field
 *	"X-Mugai-Test-Fault: hang" or "crash" makes the worker hang or
 *	abort, for the poison-message tests; "open-store" makes it try to
 *	open the quarantine and the audit log and say what it got, and
 *	"socket" makes it create an Internet socket (its seccomp filter kills
 *	it), and "no-id" makes it answer "clean" naming no quarantine id (the
 *	front must defer that), for the roles' tests.  Release builds do not have it.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

#include "edits.h"
#include "ipc.h"
#include "logline.h"
#include "mugai-build.h"
#include "peer.h"
#include "quarantine.h"
#include "sanitize.h"
#include "scan.h"

static volatile sig_atomic_t leave_requested;

static void
on_usr1 (int sig)
{
  (void)sig;
  leave_requested = 1;
}

/* What the front is told.  verdict: MugaiVerdict. */
typedef struct
{
  MugaiVerdict verdict;
  char *reply;         /* SMTP text for reject and tempfail */
  char *quarantine_id; /* "" when not stored */
  char *status;
  char *message_id;
  char *subject;
  char *report_json; /* mugai_report_node_to_text(): the one wire form */
  guint64 size;
  GPtrArray *edits;
  int body_fd;
  double sanitize_ms;
} Result;

static void
result_clear (Result *r)
{
  g_free (r->reply);
  g_free (r->quarantine_id);
  g_free (r->status);
  g_free (r->message_id);
  g_free (r->subject);
  g_free (r->report_json);
  g_clear_pointer (&r->edits, g_ptr_array_unref);
  if (r->body_fd >= 0)
    close (r->body_fd);
}

static void result_tempfail (Result *r, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
result_tempfail (Result *r, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_free (r->reply);
  r->reply = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  r->verdict = MUGAI_VERDICT_TEMPFAIL;
  if (r->body_fd >= 0)
    close (r->body_fd);
  r->body_fd = -1;
  g_clear_pointer (&r->edits, g_ptr_array_unref);
}

static GVariant *
result_to_variant (const Result *r)
{
  GVariantBuilder edits;
  g_variant_builder_init (&edits, G_VARIANT_TYPE ("a(usus)"));
  for (guint i = 0; r->edits && i < r->edits->len; i++)
    {
      const MugaiHeaderEdit *e = r->edits->pdata[i];
      g_variant_builder_add (&edits, "(usus)", (guint32)e->kind, e->name, (guint32)e->index,
                             e->value ? e->value : "");
    }
  return g_variant_new (MUGAI_IPC_RESULT, (guint32)r->verdict, r->reply ? r->reply : "",
                        r->quarantine_id ? r->quarantine_id : "", r->status ? r->status : "",
                        r->message_id ? r->message_id : "", r->subject ? r->subject : "",
                        r->report_json ? r->report_json : "", r->size, &edits, r->sanitize_ms);
}

/* SMTP reply texts are ASCII: sender text in a finding is made so
 * (mugai_text_append_ascii). */
static char *
ascii_reason (const MugaiFinding *f)
{
  if (!f)
    return g_strdup ("message refused by policy");
  g_autoptr (GString) out = g_string_new (mugai_finding_category_name (f->category));
  gboolean ascii = TRUE;
  for (const char *c = f->detail; c && *c && ascii; c++)
    ascii = (guchar)*c < 0x80;
  /* SMTP replies are ASCII (RFC 5321 4.2): a detail in Japanese (language
   * = ja) would reach the sender as "????", so the category's English
   * words stand in for it */
  if (f->detail && *f->detail && ascii)
    {
      g_string_append (out, ": ");
      mugai_text_append_ascii (out, f->detail, 200);
    }
  else if (f->detail && *f->detail)
    {
      const char *en = mugai_finding_category_text (f->category, MUGAI_LANG_EN);
      if (g_str_has_prefix (en, out->str))
        g_string_truncate (out, 0); /* "encrypted: cannot be inspected" names itself */
      else
        g_string_append (out, ": ");
      mugai_text_append_ascii (out, en, 200);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

#ifdef MUGAI_TEST_HOOKS
/* What a worker that a message took over could try (the roles' tests):
 * "open-store" opens the quarantine and the audit log and says in the
 * tempfail reply what it got; "socket" makes an Internet socket, which
 * the worker's seccomp filter answers by killing it. */
static gboolean
test_fault (const char *data, gsize len, const MugaiWorkerSettings *settings, Result *r)
{
  const char *end = g_strstr_len (data, (gssize)len, "\r\n\r\n");
  gsize hlen = end ? (gsize)(end - data) : len;
  const char *h = g_strstr_len (data, (gssize)hlen, "X-Mugai-Test-Fault:");
  if (!h)
    return FALSE;
  if (g_str_has_prefix (h + 19, " hang"))
    for (;;)
      pause ();
  if (g_str_has_prefix (h + 19, " crash"))
    abort ();
  if (g_str_has_prefix (h + 19, " socket"))
    {
      int fd = socket (AF_INET, SOCK_STREAM, 0);
      result_tempfail (r, "fault socket: %s", fd >= 0 ? "made" : g_strerror (errno));
      if (fd >= 0)
        close (fd);
      return TRUE;
    }
  if (g_str_has_prefix (h + 19, " no-id"))
    {
      /* a worker that lies: "deliver", and no original to keep */
      r->verdict = MUGAI_VERDICT_CLEAN;
      return TRUE;
    }
  if (g_str_has_prefix (h + 19, " open-store"))
    {
      int q = open (settings->quarantine_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      int qe = errno;
      int a = open (settings->audit_file, O_WRONLY | O_APPEND | O_CLOEXEC);
      int ae = errno;
      result_tempfail (r, "fault open-store: quarantine=%s audit=%s",
                       q >= 0 ? "opened" : g_strerror (qe), a >= 0 ? "opened" : g_strerror (ae));
      if (q >= 0)
        close (q);
      if (a >= 0)
        close (a);
      return TRUE;
    }
  return FALSE;
}
#endif

static int
body_to_memfd (const char *data, gsize len, GError **error)
{
  int fd = memfd_create ("mugai-body", MFD_CLOEXEC);
  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "memfd_create: %s",
                   g_strerror (errno));
      return -1;
    }
  gsize off = 0;
  while (off < len)
    {
      ssize_t w = write (fd, data + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "memfd write: %s",
                       g_strerror (errno));
          close (fd);
          return -1;
        }
      off += (gsize)w;
    }
  return fd;
}

/* libclamav's messages about this message (scan.c keeps them), as lines
 * of ours with its ids.  A warning about a mail (a partial MIME message,
 * a broken archive) is the mail's, not the gateway's: LOG_INFO; an error
 * of libclamav's own: LOG_WARNING. */
static void
log_clamav_messages (const char *queue_id, const char *message_id)
{
  guint dropped = 0;
  g_autoptr (GPtrArray) kept = mugai_scan_take_messages (&dropped);
  for (guint i = 0; i < kept->len; i++)
    {
      const MugaiScanMessage *m = kept->pdata[i];
      g_autoptr (GString) line = g_string_new ("worker:");
      mugai_log_ids (line, queue_id, message_id);
      mugai_log_add (line, "clamav", mugai_scan_message_level_name (m->level));
      mugai_log_add (line, "text", m->text);
      GLogLevelFlags level = m->level == MUGAI_SCAN_MESSAGE_ERROR     ? G_LOG_LEVEL_WARNING
                             : m->level == MUGAI_SCAN_MESSAGE_WARNING ? G_LOG_LEVEL_MESSAGE
                                                                      : G_LOG_LEVEL_DEBUG;
      g_log (G_LOG_DOMAIN, level, "%s", line->str);
    }
  if (dropped)
    {
      g_autoptr (GString) line = g_string_new ("worker:");
      mugai_log_ids (line, queue_id, message_id);
      g_string_append_printf (line, " clamav=dropped count=%u", dropped);
      g_message ("%s", line->str);
    }
}

static void
handle (int conn, const MugaiPolicy *policy, const MugaiWorkerSettings *settings,
        MugaiEngines *engines)
{
  g_autoptr (GError) error = NULL;
  /* the front, and only the front: its uid, a child of the supervisor
   * (our parent's parent); nothing is said to anyone else */
  MugaiPeerRule front = { "front", settings->front_uid, mugai_peer_parent_of (getppid ()) };
  /* or the storer, for a release: the same parent, its own uid */
  MugaiPeerRule storer = { "storer", settings->storer_uid, front.parent };
  gboolean from_storer = FALSE;
  if (!mugai_peer_check (conn, &front, NULL, &error))
    {
      g_autoptr (GError) second = NULL;
      if (settings->storer_uid == (uid_t)-1 || !mugai_peer_check (conn, &storer, NULL, &second))
        {
          g_warning ("worker: %s", error->message);
          return;
        }
      g_clear_error (&error);
      from_storer = TRUE;
    }
  else if (settings->storer_uid != (uid_t)-1 && settings->storer_uid == settings->front_uid)
    from_storer = TRUE; /* one user for both: the request says which */
  if (!mugai_ipc_send (conn, g_variant_new (MUGAI_IPC_HELLO, (guint32)getpid ()), -1, &error))
    return;

  int spool = -1;
  /* the front sends the request right after the hello */
  g_autoptr (GVariant) req = mugai_ipc_recv (
      conn, MUGAI_IPC_REQUEST, g_get_monotonic_time () + 30 * G_USEC_PER_SEC, &spool, &error);
  if (!req || spool < 0)
    {
      g_warning ("worker: bad request from the front: %s",
                 error ? error->message : "no message descriptor");
      if (spool >= 0)
        close (spool);
      return;
    }

  alarm (settings->message_timeout);
  gint64 t0 = g_get_monotonic_time ();

  /* borrowed from req ("&s"), which lives until the answer is sent:
   * "s" made four copies a message that nobody freed */
  const char *queue_id, *sender, *client_addr, *client_name;
  g_autoptr (GVariantIter) rcpts = NULL;
  g_variant_get (req, "(&s&s&s&sas)", &queue_id, &sender, &client_addr, &client_name, &rcpts);

  Result r = { .body_fd = -1 };
  /* a release: the original scanned again (and sanitized again under a
   * profile) with the signatures of now, for the storer alone; the
   * request names the entry ("release:ID MODE") */
  const char *release = NULL;
  g_autofree char *release_id = NULL;
  if (from_storer && g_str_has_prefix (queue_id, MUGAI_IPC_RELEASE_PREFIX))
    {
      const char *rest = queue_id + strlen (MUGAI_IPC_RELEASE_PREFIX);
      const char *space = strchr (rest, ' ');
      release_id = space ? g_strndup (rest, (gsize)(space - rest)) : NULL;
      release = space ? space + 1 : "";
    }
  /* the id the original is kept under (by the storer, through the
   * front; a release's is the entry's own): the notice names it */
  g_autofree char *id = release ? g_strdup (release_id ? release_id : "") : mugai_store_new_id ();

  struct stat st;
  void *map = MAP_FAILED;
  g_autoptr (GBytes) input = NULL;
  g_autoptr (MugaiReport) report = NULL;
  g_autoptr (GBytes) output = NULL;
  g_autoptr (JsonNode) report_node = NULL;
  const MugaiPolicy *use = policy;
  if (release && !mugai_store_id_is_valid (id))
    {
      result_tempfail (&r, "a release request that names no quarantine id");
      goto answer;
    }
  if (release && g_str_has_prefix (release, "resanitize="))
    {
      use = settings->profiles ? g_hash_table_lookup (settings->profiles, release + 11) : NULL;
      if (!use)
        {
          result_tempfail (&r, "no [profile %s] to sanitize the release under", release + 11);
          goto answer;
        }
    }
  else if (release && !g_str_equal (release, "original"))
    {
      result_tempfail (&r, "a release mode this worker does not know");
      goto answer;
    }
  /* a release goes out only scanned with today's signatures: with
   * [clamav] required = no and no database, mail is still sanitized,
   * but an original is never let out unscanned (fail closed) */
  if (release && !mugai_engines_can_scan (engines))
    {
      result_tempfail (&r, "no ClamAV database is loaded ([clamav] required = no), and a release "
                           "is sent only once scanned with today's signatures");
      goto answer;
    }
  if (fstat (spool, &st) != 0)
    {
      result_tempfail (&r, "cannot read the spooled message: %s", g_strerror (errno));
      goto answer;
    }
  r.size = (guint64)st.st_size;
  if ((gsize)st.st_size > use->limits.message_size)
    report = mugai_sanitize_refuse_oversize (use, (gsize)st.st_size);
  else
    {
      if (st.st_size > 0)
        map = mmap (NULL, (gsize)st.st_size, PROT_READ, MAP_PRIVATE, spool, 0);
      if (st.st_size > 0 && map == MAP_FAILED)
        {
          result_tempfail (&r, "cannot map the spooled message: %s", g_strerror (errno));
          goto answer;
        }
      input = g_bytes_new_static (st.st_size > 0 ? map : "", (gsize)st.st_size);
#ifdef MUGAI_TEST_HOOKS
      if (test_fault (g_bytes_get_data (input, NULL), g_bytes_get_size (input), settings, &r))
        goto answer;
#endif
      /* Conversions end before the message deadline, with a tenth of it
       * (at least 2 s) left for the rest: scanning the outputs, storing
       * the original, answering.  A slow document then costs its part,
       * not the whole message (which would be deferred again and again). */
      gint64 budget = (gint64)settings->message_timeout * G_USEC_PER_SEC;
      gint64 reserve = MAX (2 * G_USEC_PER_SEC, budget / 10);
      MugaiSanitizeOptions opts = { .quarantine_id = id,
                                    .crlf = TRUE,
                                    .convert_deadline = t0 + MAX (budget - reserve, 0) };
      gboolean ok = mugai_sanitize (input, use, engines, &opts, &output, &report, &error);
      log_clamav_messages (queue_id, report ? report->message_id : NULL);
      if (!ok)
        {
          result_tempfail (&r, "internal error: %s", error->message);
          goto answer;
        }
    }
  r.sanitize_ms = (double)(g_get_monotonic_time () - t0) / 1000.0;

  r.verdict = report->verdict;
  r.status = g_strdup (report->status);
  r.message_id = g_strdup (report->message_id);
  r.subject = g_strdup (report->subject);
  /* the report as data, built once: the front gets its one wire form
   * and hands the same to the storer */
  report_node = mugai_report_to_node (report);
  r.report_json = mugai_report_node_to_text (report_node);
  if (report->virus)
    {
      /* "550 5.7.1 virus <name> found": signature names are ASCII */
      g_autoptr (GString) v = g_string_new ("virus ");
      mugai_text_append_ascii (v, report->virus, 200);
      g_string_append (v, " found");
      r.reply = g_string_free (g_steal_pointer (&v), FALSE);
    }
  else if (report->verdict == MUGAI_VERDICT_REJECT)
    r.reply = ascii_reason (mugai_report_reject_finding (report));

  /* the front has the storer keep the original under this id before it
   * lets Postfix go on (DESIGN.md: nothing lost) */
  r.quarantine_id = g_strdup (id);

  if (output && release && g_str_has_prefix (release, "resanitize="))
    {
      /* the whole new message: the storer sends it as it is */
      r.body_fd
          = body_to_memfd (g_bytes_get_data (output, NULL), g_bytes_get_size (output), &error);
      if (r.body_fd < 0)
        result_tempfail (&r, "cannot pass the sanitized message: %s", error->message);
    }
  else if (output && !release)
    {
      gsize out_len = 0;
      const char *out = g_bytes_get_data (output, &out_len);
      gsize body_offset = 0;
      r.edits = mugai_edits_compute (g_bytes_get_data (input, NULL), g_bytes_get_size (input), out,
                                     out_len, &body_offset);
      r.body_fd = body_to_memfd (out + body_offset, out_len - body_offset, &error);
      if (r.body_fd < 0)
        result_tempfail (&r, "cannot pass the sanitized body: %s", error->message);
    }

answer:
  if (!mugai_ipc_send (conn, result_to_variant (&r), r.body_fd, &error))
    {
      g_autoptr (GString) line = g_string_new ("worker:");
      mugai_log_ids (line, queue_id, report ? report->message_id : NULL);
      mugai_log_add (line, "error", "cannot answer the front");
      mugai_log_add (line, "detail", error->message);
      g_warning ("%s", line->str);
    }
  alarm (0);
  result_clear (&r);
  g_clear_pointer (&output, g_bytes_unref);
  g_clear_pointer (&input, g_bytes_unref);
  if (map != MAP_FAILED)
    munmap (map, (gsize)st.st_size);
  close (spool);
}

void
mugai_worker_run (int listen_fd, const MugaiPolicy *policy, const MugaiWorkerSettings *settings,
                  MugaiEngines *engines)
{
  struct sigaction sa = { .sa_handler = on_usr1 };
  sigemptyset (&sa.sa_mask);
  sigaction (SIGUSR1, &sa, NULL); /* no SA_RESTART: accept() returns */
  signal (SIGALRM, SIG_DFL);
  signal (SIGPIPE, SIG_IGN);

  for (guint handled = 0; !leave_requested && handled < settings->messages;)
    {
      int conn = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (conn < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          g_warning ("worker: accept: %s", g_strerror (errno));
          g_usleep (100 * 1000);
          continue;
        }
      handle (conn, policy, settings, engines);
      close (conn);
      handled++;
    }
}
