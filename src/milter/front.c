/*
 * front.c - the libmilter front: collect, hand over, apply the answer
 *
 * SYNOPSIS
 *	mugai_front_run (node, reload_path, answer_fd, links, drop, data)
 *
 * DESCRIPTION
 *	The front parses no content at all.  Per SMTP transaction it collects
 *	the envelope and the message as Postfix passes it: header fields and
 *	body chunks, in memory up to spool_threshold, then in an unlinked
 *	file in spool_dir, so that memory per session stays bounded whatever
 *	the message size.  At end of message it connects to the worker pool,
 *	waits at most queue_timeout for a worker to say hello, passes the
 *	spooled message, and waits at most message_timeout for the answer;
 *	past that it kills the worker (its pid came with the hello) and
 *	defers the message.  Then it has the storer keep the original
 *	(storer.c: fsync'ed, before any reply that lets Postfix go on),
 *	applies the answer: header edits and a new body, a 550 refusal, or
 *	a 451 deferral, and has the storer write the audit record, flushed
 *	to disk before the reply; an original or a record that cannot be
 *	kept turns the reply into a 451.  The front itself can open neither
 *	the quarantine nor the audit log (they are the storer's user's).
 *	Both peers are checked before a frame is read (peer.h): an impostor
 *	on the workers' socket, or on the storer's, is refused and logged.
 *
 *	Every failure is a 451 with a reason (fail closed): nothing is ever
 *	accepted unchanged because something went wrong.
 *
 *	SIGUSR1 (sent by the supervisor once the pool took a reload) reads
 *	the settings the front uses from reload_path, the text the supervisor
 *	checked, and answers on answer_fd ('Y' or 'N'); SIGUSR2 (the
 *	supervisor's stop) drains: no new message, the ones
 *	in flight finished, then libmilter stopped.
 *
 * THREAD SAFETY
 *	libmilter runs each SMTP session in its own thread; a session's state
 *	is owned by that thread (smfi_setpriv).  Shared: the settings (under
 *	settings_lock), the links (set before the first session), the count of messages in flight
 *(atomic).
 */
#include "front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmilter/mfapi.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gio.h>

#include "config.h"
#include "edits.h"
#include "ipc.h"
#include "logline.h"
#include "peer.h"
#include "quarantine.h"
#include "report.h"
#include "storer.h"
#include "worker.h"

typedef struct
{
  char *spool_dir;
  gsize spool_threshold;
  guint message_timeout;
  guint queue_timeout;
} Settings;

static GMutex settings_lock;
static Settings settings;
static const char *reload_path;
static int answer_fd = -1;
static MugaiFrontLinks links;   /* the strings owned here */
static gint messages_in_flight; /* between MAIL FROM and end of message */
static gint draining;           /* stopping: no new connection or message */

typedef struct
{
  char *client_addr;
  char *client_name;
  char *sender;
  GPtrArray *rcpts;
  GByteArray *mem; /* the message while it is small */
  int fd;          /* the spool file once it is not */
  gsize size;
  gboolean spool_failed;
  char *spool_error; /* why, for the line at end of message */
  char *msgid;       /* the Message-ID field as it came, for log lines */
  gboolean in_message;
  gint64 started;
} Session;

static void
settings_snapshot (Settings *out)
{
  g_mutex_lock (&settings_lock);
  *out = settings;
  out->spool_dir = g_strdup (settings.spool_dir);
  g_mutex_unlock (&settings_lock);
}

static void
settings_set (const MugaiNodeSettings *node)
{
  g_mutex_lock (&settings_lock);
  g_free (settings.spool_dir);
  settings.spool_dir = g_strdup (node->milter.spool_dir);
  settings.spool_threshold = node->milter.spool_threshold;
  settings.message_timeout = node->milter.message_timeout;
  settings.queue_timeout = node->milter.queue_timeout;
  g_mutex_unlock (&settings_lock);
}

static void
message_reset (Session *s)
{
  if (s->in_message)
    {
      s->in_message = FALSE;
      g_atomic_int_dec_and_test (&messages_in_flight);
    }
  g_clear_pointer (&s->sender, g_free);
  g_clear_pointer (&s->rcpts, g_ptr_array_unref);
  g_clear_pointer (&s->mem, g_byte_array_unref);
  if (s->fd >= 0)
    close (s->fd);
  s->fd = -1;
  s->size = 0;
  s->spool_failed = FALSE;
  g_clear_pointer (&s->spool_error, g_free);
  g_clear_pointer (&s->msgid, g_free);
}

static gboolean
write_all (int fd, const void *data, gsize len)
{
  const guint8 *p = data;
  while (len > 0)
    {
      ssize_t w = write (fd, p, len);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return FALSE;
      p += w;
      len -= (gsize)w;
    }
  return TRUE;
}

/* An unlinked file in the spool directory: nothing to clean up after a
 * crash, and nobody else can open it. */
static int
spool_open (const char *dir)
{
  int fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
    return fd;
  g_autofree char *path = g_build_filename (dir, "spool-XXXXXX", NULL);
  fd = g_mkstemp_full (path, O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0)
    unlink (path);
  return fd;
}

static void
spool_append (Session *s, const void *data, gsize len)
{
  if (s->spool_failed)
    return;
  s->size += len;
  if (s->fd < 0)
    {
      Settings st;
      settings_snapshot (&st);
      if (!s->mem)
        s->mem = g_byte_array_new ();
      if (s->mem->len + len <= st.spool_threshold)
        {
          g_byte_array_append (s->mem, data, (guint)len);
          g_free (st.spool_dir);
          return;
        }
      s->fd = spool_open (st.spool_dir);
      if (s->fd < 0)
        {
          /* logged at end of message, where the queue id is known */
          s->spool_error = g_strdup_printf ("cannot create a spool file in %s: %s", st.spool_dir,
                                            g_strerror (errno));
          s->spool_failed = TRUE;
          g_free (st.spool_dir);
          return;
        }
      g_free (st.spool_dir);
      if (!write_all (s->fd, s->mem->data, s->mem->len))
        {
          s->spool_error = g_strdup_printf ("spool write failed: %s", g_strerror (errno));
          s->spool_failed = TRUE;
        }
      g_clear_pointer (&s->mem, g_byte_array_unref);
    }
  if (!s->spool_failed && !write_all (s->fd, data, len))
    {
      s->spool_error = g_strdup_printf ("spool write failed: %s", g_strerror (errno));
      s->spool_failed = TRUE;
    }
}

/* The descriptor handed to the worker: the spool file, or a memfd with
 * the message when it stayed small. */
static int
spool_finish (Session *s)
{
  if (s->fd >= 0)
    {
      int fd = s->fd;
      s->fd = -1;
      return fd;
    }
  int fd = memfd_create ("mugai-message", MFD_CLOEXEC);
  if (fd < 0)
    return -1;
  if (s->mem && !write_all (fd, s->mem->data, s->mem->len))
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* ---- talking to a worker ------------------------------------------------ */

/* A connection to the pool's socket, checked: the process that listens
 * on it (SO_PEERCRED: the pool, peer.h) runs as the workers' user and is
 * a child of our parent, the supervisor.  *pool gets its pid, the parent
 * every worker's hello must name.  -1 with error set otherwise. */
static int
connect_pool (guint queue_timeout, pid_t *pool, GError **error)
{
  int sock = mugai_ipc_connect (links.workers, queue_timeout, error);
  if (sock < 0)
    return -1;
  MugaiPeerRule rule = { "workers", links.worker_uid, getppid () };
  if (!mugai_peer_check (sock, &rule, pool, error))
    {
      close (sock);
      return -1;
    }
  return sock;
}

typedef struct
{
  guint32 verdict;
  const char *reply, *quarantine_id, *status, *message_id, *subject;
  JsonNode *report; /* checked by mugai_report_node_from_text(), or NULL */
  guint64 size;
  GVariantIter *edits;
  double sanitize_ms;
} Answer;

static char *
reply_text (const char *text)
{
  /* smfi_setreply: printable ASCII, '%' doubled */
  g_autoptr (GString) out = g_string_new ("mugai: ");
  g_autoptr (GString) ascii = g_string_new (NULL);
  mugai_text_append_ascii (ascii, text, 400 - out->len);
  for (const char *p = ascii->str; *p && out->len < 400; p++)
    {
      if (*p == '%')
        g_string_append_c (out, '%');
      g_string_append_c (out, *p);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static sfsistat
tempfail (SMFICTX *ctx, const char *why)
{
  g_autofree char *text = reply_text (why);
  smfi_setreply (ctx, "451", "4.7.0", text);
  return SMFIS_TEMPFAIL;
}

static gboolean
apply_edits (SMFICTX *ctx, GVariantIter *edits)
{
  guint32 kind, index;
  const char *name, *value;
  while (g_variant_iter_next (edits, "(u&su&s)", &kind, &name, &index, &value))
    {
      int r;
      switch (kind)
        {
        case MUGAI_EDIT_CHANGE:
          r = smfi_chgheader (ctx, (char *)name, (int)index, (char *)value);
          break;
        case MUGAI_EDIT_DELETE:
          r = smfi_chgheader (ctx, (char *)name, (int)index, NULL);
          break;
        case MUGAI_EDIT_ADD:
          r = smfi_addheader (ctx, (char *)name, (char *)value);
          break;
        default:
          return FALSE;
        }
      if (r != MI_SUCCESS)
        return FALSE;
    }
  return TRUE;
}

static gboolean
replace_body (SMFICTX *ctx, int fd)
{
  char buf[65536];
  off_t off = 0;
  for (;;)
    {
      ssize_t n = pread (fd, buf, sizeof buf, off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      if (n == 0)
        break;
      if (smfi_replacebody (ctx, (unsigned char *)buf, (int)n) != MI_SUCCESS)
        return FALSE;
      off += n;
    }
  if (off == 0) /* an empty body is still a replacement */
    return smfi_replacebody (ctx, (unsigned char *)"", 0) == MI_SUCCESS;
  return TRUE;
}

/* A log line about the message of session s: "front: qid=Q msgid=<M>"
 * and the pairs the caller adds.  The message id is the worker's when it
 * answered, else the Message-ID field as Postfix passed it (the front
 * parses nothing; the id is only escaped, like any text from a mail). */
static GString *
front_line (const Session *s, const char *qid, const Answer *a)
{
  GString *line = g_string_new ("front:");
  mugai_log_ids (line, qid, a && a->message_id && *a->message_id ? a->message_id : s->msgid);
  return line;
}

/* The storer as the front expects it: its uid, a child of our parent. */
static MugaiPeerRule
storer_rule (void)
{
  return (MugaiPeerRule){ "storer", links.storer_uid, getppid () };
}

/* Writes the record and says whether it is on disk; a record that is not
 * is logged here, and the caller defers a message that would have gone
 * on (fail closed: no mail passes unaudited). */
/* The record of the message of session s as the store and the audit
 * log keep it (borrowed strings: valid while s and a are). */
static MugaiStoreEntry
session_entry (Session *s, const char *qid, const Answer *a)
{
  return (MugaiStoreEntry){
    .id = (char *)(a && *a->quarantine_id ? a->quarantine_id : NULL),
    .queue_id = (char *)qid,
    .sender = s->sender ? s->sender : (char *)"",
    .recipients = s->rcpts,
    .client_addr = s->client_addr,
    .client_name = s->client_name,
    .verdict = (char *)(a ? mugai_verdict_name ((MugaiVerdict)a->verdict) : "tempfail"),
    .status = (char *)(a ? a->status : ""),
    .message_id = (char *)(a && *a->message_id ? a->message_id : NULL),
    .subject = (char *)(a && *a->subject ? a->subject : NULL),
    .size = s->size,
    .report = a ? a->report : NULL,
  };
}

static gboolean
write_audit (Session *s, const char *qid, const char *action, const char *reason, const Answer *a)
{
  MugaiStoreEntry entry = session_entry (s, qid, a);
  MugaiAuditRecord rec = {
    .entry = &entry,
    .quarantine_id = a && *a->quarantine_id ? a->quarantine_id : NULL,
    .action = action,
    .reason = reason,
    .report = a ? a->report : NULL,
    .duration_total_ms = (double)(g_get_monotonic_time () - s->started) / 1000.0,
    .duration_sanitize_ms = a ? a->sanitize_ms : 0,
  };
  g_autoptr (GError) error = NULL;
  MugaiPeerRule rule = storer_rule ();
  if (mugai_storer_record (links.storer, &rule, &rec, &error))
    return TRUE;
  g_autoptr (GString) line = front_line (s, qid, a);
  mugai_log_add (line, "action", action);
  mugai_log_add (line, "error", "audit record not written");
  mugai_log_add (line, "detail", error->message);
  g_warning ("%s", line->str);
  return FALSE;
}

/* The reply when the record of a message that would have gone on (or
 * been refused or discarded) cannot be written: 451, and the original
 * stays in the quarantine (mugai-milter(8)). */
static sfsistat
audit_tempfail (SMFICTX *ctx)
{
  return tempfail (ctx, "cannot write the audit log; try again later");
}

/* ---- callbacks ------------------------------------------------------------ */

static sfsistat
on_negotiate (SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
              unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
  unsigned long need = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;
  if ((f0 & need) != need)
    {
      /* without these actions mugai cannot sanitize: refuse the
       * connection so that the MTA applies milter_default_action */
      g_warning ("front: the MTA does not offer header and body changes; refusing");
      return SMFIS_REJECT;
    }
  *pf0 = need | (f0 & SMFIF_QUARANTINE);
  /* steps we have no use for */
  *pf1 = f1 & (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA);
  *pf2 = 0;
  *pf3 = 0;
  return SMFIS_CONTINUE;
}

static sfsistat
on_connect (SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
  if (g_atomic_int_get (&draining))
    return SMFIS_TEMPFAIL;
  Session *s = g_new0 (Session, 1);
  s->fd = -1;
  s->client_name = g_strdup (hostname ? hostname : "");
  char buf[INET6_ADDRSTRLEN] = "";
  if (addr && addr->sa_family == AF_INET)
    inet_ntop (AF_INET, &((struct sockaddr_in *)addr)->sin_addr, buf, sizeof buf);
  else if (addr && addr->sa_family == AF_INET6)
    inet_ntop (AF_INET6, &((struct sockaddr_in6 *)addr)->sin6_addr, buf, sizeof buf);
  s->client_addr = g_strdup (buf);
  smfi_setpriv (ctx, s);
  return SMFIS_CONTINUE;
}

/* "<user@example.jp>" as the MTA passes it, without the brackets */
static char *
bare_address (const char *arg)
{
  if (!arg)
    return g_strdup ("");
  gsize n = strlen (arg);
  if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>')
    return g_strndup (arg + 1, n - 2);
  return g_strdup (arg);
}

static sfsistat
on_envfrom (SMFICTX *ctx, char **argv)
{
  Session *s = smfi_getpriv (ctx);
  if (!s || g_atomic_int_get (&draining))
    return SMFIS_TEMPFAIL;
  message_reset (s);
  s->sender = bare_address (argv ? argv[0] : NULL);
  s->rcpts = g_ptr_array_new_with_free_func (g_free);
  s->started = g_get_monotonic_time ();
  s->in_message = TRUE;
  g_atomic_int_inc (&messages_in_flight);
  return SMFIS_CONTINUE;
}

static sfsistat
on_envrcpt (SMFICTX *ctx, char **argv)
{
  Session *s = smfi_getpriv (ctx);
  if (!s || !s->rcpts)
    return SMFIS_TEMPFAIL;
  /* Postfix bounds recipients per message (smtpd_recipient_limit) */
  g_ptr_array_add (s->rcpts, bare_address (argv ? argv[0] : NULL));
  return SMFIS_CONTINUE;
}

/* Octets of a Message-ID field kept for the log (RFC 5322 lines are at
 * most 998; the log line cuts at MUGAI_LOG_VALUE_MAX characters). */
#define FRONT_MSGID_MAX 998

static sfsistat
on_header (SMFICTX *ctx, char *name, char *value)
{
  Session *s = smfi_getpriv (ctx);
  if (!s)
    return SMFIS_TEMPFAIL;
  /* the first Message-ID, for log lines only (cut: the logs cut it
   * again; nothing here reads it as anything but text) */
  if (!s->msgid && g_ascii_strcasecmp (name, "Message-ID") == 0)
    s->msgid = g_strstrip (g_strdelimit (g_strndup (value, FRONT_MSGID_MAX), "\r\n\t", ' '));
  spool_append (s, name, strlen (name));
  spool_append (s, ": ", 2);
  /* folded values arrive with bare "\n": the spool is CRLF throughout */
  for (const char *p = value; *p;)
    {
      const char *nl = strchr (p, '\n');
      gsize n = nl ? (gsize)(nl - p) : strlen (p);
      if (n > 0 && p[n - 1] == '\r')
        n--;
      spool_append (s, p, n);
      if (!nl)
        break;
      spool_append (s, "\r\n", 2);
      p = nl + 1;
    }
  spool_append (s, "\r\n", 2);
  return SMFIS_CONTINUE;
}

static sfsistat
on_eoh (SMFICTX *ctx)
{
  Session *s = smfi_getpriv (ctx);
  if (!s)
    return SMFIS_TEMPFAIL;
  spool_append (s, "\r\n", 2);
  return SMFIS_CONTINUE;
}

static sfsistat
on_body (SMFICTX *ctx, unsigned char *chunk, size_t len)
{
  Session *s = smfi_getpriv (ctx);
  if (!s)
    return SMFIS_TEMPFAIL;
  spool_append (s, chunk, len);
  return SMFIS_CONTINUE;
}

static sfsistat
on_eom (SMFICTX *ctx)
{
  Session *s = smfi_getpriv (ctx);
  if (!s)
    return SMFIS_TEMPFAIL;
  const char *qid = smfi_getsymval (ctx, "i");
  if (!qid)
    qid = "NOQUEUE";
  Settings st;
  settings_snapshot (&st);
  g_free (st.spool_dir);

  if (s->spool_failed)
    {
      g_autoptr (GString) line = front_line (s, qid, NULL);
      mugai_log_add (line, "error", s->spool_error ? s->spool_error : "spool write failed");
      g_warning ("%s", line->str);
      write_audit (s, qid, "tempfail", "spool write failed", NULL);
      return tempfail (ctx, "cannot spool the message; try again later");
    }
  int spool = spool_finish (s);
  if (spool < 0)
    {
      g_autoptr (GString) line = front_line (s, qid, NULL);
      mugai_log_addf (line, "error", "cannot pass the spooled message: %s", g_strerror (errno));
      g_warning ("%s", line->str);
      write_audit (s, qid, "tempfail", "spool failed", NULL);
      return tempfail (ctx, "cannot spool the message; try again later");
    }

  g_autoptr (GError) error = NULL;
  pid_t pool = 0;
  int sock = connect_pool (st.queue_timeout, &pool, &error);
  if (sock < 0)
    {
      g_autoptr (GString) line = front_line (s, qid, NULL);
      mugai_log_add (line, "error", "cannot reach the worker pool");
      mugai_log_add (line, "detail", error->message);
      g_warning ("%s", line->str);
      close (spool);
      write_audit (s, qid, "tempfail", "worker pool unavailable", NULL);
      return tempfail (ctx, "no worker available; try again later");
    }

  gint64 queue_deadline = g_get_monotonic_time () + (gint64)st.queue_timeout * G_USEC_PER_SEC;
  g_autoptr (GVariant) hello = mugai_ipc_recv (sock, MUGAI_IPC_HELLO, queue_deadline, NULL, &error);
  if (!hello)
    {
      g_autoptr (GString) line = front_line (s, qid, NULL);
      mugai_log_addf (line, "error", "no worker within %us", st.queue_timeout);
      mugai_log_add (line, "detail", error->message);
      g_warning ("%s", line->str);
      close (sock);
      close (spool);
      write_audit (s, qid, "tempfail", "all workers busy", NULL);
      return tempfail (ctx, "all workers are busy; try again later");
    }
  guint32 worker_pid = 0;
  g_variant_get (hello, MUGAI_IPC_HELLO, &worker_pid);
  if (worker_pid <= 1 || mugai_peer_parent_of ((pid_t)worker_pid) != pool)
    {
      /* only the pool and its workers hold the listening socket: a hello
       * that names another process is a worker that lies */
      g_autoptr (GString) line = front_line (s, qid, NULL);
      g_string_append_printf (line, " worker=%u", worker_pid);
      mugai_log_add (line, "error", "the worker's hello names no worker of the pool: refused");
      g_warning ("%s", line->str);
      close (sock);
      close (spool);
      write_audit (s, qid, "tempfail", "worker failed", NULL);
      return tempfail (ctx, "processing failed; try again later");
    }

  GVariantBuilder rcpts;
  g_variant_builder_init (&rcpts, G_VARIANT_TYPE ("as"));
  for (guint i = 0; s->rcpts && i < s->rcpts->len; i++)
    {
      g_autofree char *r = g_utf8_make_valid (s->rcpts->pdata[i], -1);
      g_variant_builder_add (&rcpts, "s", r);
    }
  g_autofree char *sender = g_utf8_make_valid (s->sender ? s->sender : "", -1);
  g_autofree char *cname = g_utf8_make_valid (s->client_name, -1);
  gboolean sent = mugai_ipc_send (
      sock, g_variant_new (MUGAI_IPC_REQUEST, qid, sender, s->client_addr, cname, &rcpts), spool,
      &error);
  gint64 asked = g_get_monotonic_time ();
  int body = -1;
  g_autoptr (GVariant) result = NULL;
  if (sent)
    result = mugai_ipc_recv (
        sock, MUGAI_IPC_RESULT,
        g_get_monotonic_time () + (gint64)(st.message_timeout + 5) * G_USEC_PER_SEC, &body, &error);
  /* The report in the answer is taken as strictly as the frame: through
   * its one reader, with its size limit.  A worker that sends one that is
   * not mugai's is treated like one that sent a bad frame. */
  g_autoptr (JsonNode) report = NULL;
  if (result)
    {
      const char *text = NULL;
      g_variant_get_child (result, 6, "&s", &text);
      if (*text && !(report = mugai_report_node_from_text (text, strlen (text), &error)))
        {
          g_clear_pointer (&result, g_variant_unref);
          if (body >= 0)
            close (body);
          body = -1;
        }
    }
  if (!result)
    {
      /* a worker past its deadline is ended by its own alarm (the pool
       * logs SIGALRM) or, failing that, by us */
      gboolean timeout = g_error_matches (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_TIMEOUT)
                         || g_get_monotonic_time () - asked
                                >= (gint64)st.message_timeout * G_USEC_PER_SEC - G_USEC_PER_SEC / 2;
      /* only while its connection is still open is the pid surely the
       * worker's (not reused); the pool replaces it */
      if (g_error_matches (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_TIMEOUT) && worker_pid > 1)
        kill ((pid_t)worker_pid, SIGKILL);
      close (sock);
      g_autoptr (GString) line = front_line (s, qid, NULL);
      g_string_append_printf (line, " worker=%u", worker_pid);
      mugai_log_add (line, "error",
                     timeout ? "worker passed its deadline and was killed" : "worker failed");
      mugai_log_add (line, "detail", error->message);
      g_warning ("%s", line->str);
      close (spool);
      write_audit (s, qid, "tempfail", timeout ? "processing timed out" : "worker failed", NULL);
      return tempfail (ctx, timeout ? "processing timed out; try again later"
                                    : "processing failed; try again later");
    }

  close (sock);
  Answer a = { .report = report };
  g_variant_get (result, "(u&s&s&s&s&s@sta(usus)d)", &a.verdict, &a.reply, &a.quarantine_id,
                 &a.status, &a.message_id, &a.subject, NULL, &a.size, &a.edits, &a.sanitize_ms);
  sfsistat ret;
  /* The original goes to the store before any answer that lets Postfix
   * go on (DESIGN.md: nothing lost), under the id the worker gave it in
   * the notice; a record in the audit log names it only once it is kept.
   * A verdict that lets mail go on (or refuses it) without an id to keep
   * the original under is a worker that lies: deferred, never delivered
   * unstored. */
  g_autoptr (GError) kerr = NULL;
  const char *unkept = NULL; /* why the original is not kept */
  if (!*a.quarantine_id && (MugaiVerdict)a.verdict != MUGAI_VERDICT_TEMPFAIL)
    unkept = "the worker's answer names no quarantine id";
  else if (*a.quarantine_id)
    {
      MugaiStoreEntry entry = session_entry (s, qid, &a);
      MugaiPeerRule rule = storer_rule ();
      if (!mugai_storer_keep (links.storer, &rule, &entry, spool, &kerr))
        unkept = "cannot keep the original";
    }
  if (unkept)
    {
      g_autoptr (GString) line = front_line (s, qid, &a);
      mugai_log_add (line, "error", unkept);
      if (kerr)
        mugai_log_add (line, "detail", kerr->message);
      g_warning ("%s", line->str);
      a.quarantine_id = "";
      write_audit (s, qid, "tempfail", unkept, &a);
      close (spool);
      g_variant_iter_free (a.edits);
      if (body >= 0)
        close (body);
      message_reset (s);
      return tempfail (ctx, "cannot keep the original; try again later");
    }
  close (spool);
  switch ((MugaiVerdict)a.verdict)
    {
    case MUGAI_VERDICT_CLEAN:
    case MUGAI_VERDICT_SANITIZED:
      if (body < 0 || !apply_edits (ctx, a.edits) || !replace_body (ctx, body))
        {
          /* Postfix discards partial changes of a transaction that is
           * tempfailed, so nothing half-done is delivered */
          write_audit (s, qid, "tempfail", "cannot apply the changes", &a);
          ret = tempfail (ctx, "cannot rewrite the message; try again later");
        }
      else if (!write_audit (s, qid, "deliver", NULL, &a))
        ret = audit_tempfail (ctx);
      else
        ret = SMFIS_CONTINUE;
      break;
    case MUGAI_VERDICT_REJECT:
      {
        if (!write_audit (s, qid, "reject", a.reply, &a))
          {
            ret = audit_tempfail (ctx);
            break;
          }
        g_autofree char *text = reply_text (a.reply);
        smfi_setreply (ctx, "550", "5.7.1", text);
        ret = SMFIS_REJECT;
        break;
      }
    case MUGAI_VERDICT_DISCARD:
    case MUGAI_VERDICT_HOLD:
      /* malware with on_virus = discard or hold: accepted, nothing goes
       * on; the original is in the quarantine already */
      if (!write_audit (s, qid, a.verdict == MUGAI_VERDICT_HOLD ? "hold" : "discard", a.reply, &a))
        ret = audit_tempfail (ctx);
      else
        ret = SMFIS_DISCARD;
      break;
    case MUGAI_VERDICT_TEMPFAIL:
    default:
      {
        write_audit (s, qid, "tempfail", a.reply, &a);
        g_autoptr (GString) line = front_line (s, qid, &a);
        mugai_log_add (line, "action", "tempfail");
        mugai_log_add (line, "reason", a.reply);
        g_warning ("%s", line->str);
      }
      ret = tempfail (ctx, a.reply);
      break;
    }
  g_variant_iter_free (a.edits);
  if (body >= 0)
    close (body);
  message_reset (s);
  return ret;
}

static sfsistat
on_abort (SMFICTX *ctx)
{
  Session *s = smfi_getpriv (ctx);
  if (s)
    message_reset (s);
  return SMFIS_CONTINUE;
}

static sfsistat
on_close (SMFICTX *ctx)
{
  Session *s = smfi_getpriv (ctx);
  if (s)
    {
      message_reset (s);
      g_free (s->client_addr);
      g_free (s->client_name);
      g_free (s);
      smfi_setpriv (ctx, NULL);
    }
  return SMFIS_CONTINUE;
}

/* Our signals: SIGUSR1 re-reads the settings; SIGUSR2 (the supervisor's
 * stop) drains: new connections and messages are tempfailed, the messages
 * in flight -- a body still arriving included -- are finished, and only
 * then is libmilter told to stop.  libmilter's own SIGTERM handling
 * stops reading every session at once (Debian builds its worker pool), so
 * the front ignores SIGTERM, SIGINT and SIGHUP altogether. */
static gpointer
signal_thread (gpointer data)
{
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGUSR1);
  sigaddset (&set, SIGUSR2);
  for (;;)
    {
      int sig = 0;
      if (sigwait (&set, &sig) != 0)
        continue;
      if (sig == SIGUSR2)
        {
          g_atomic_int_set (&draining, 1);
          gint64 deadline
              = g_get_monotonic_time ()
                + (gint64)(settings.message_timeout + settings.queue_timeout + 10) * G_USEC_PER_SEC;
          while (g_atomic_int_get (&messages_in_flight) > 0 && g_get_monotonic_time () < deadline)
            g_usleep (50 * 1000);
          g_message ("front: drained; messages left in flight=%d",
                     g_atomic_int_get (&messages_in_flight));
          smfi_stop ();
          return NULL;
        }
      g_autoptr (GError) error = NULL;
      g_autofree char *text = NULL;
      gsize len = 0;
      g_autoptr (MugaiConfig) config = NULL;
      if (g_file_get_contents (reload_path, &text, &len, &error))
        config = mugai_config_load_data (text, len, "(reload)", &error);
      char answer = config ? 'Y' : 'N';
      if (!config)
        g_warning ("front: reload refused, keeping the running settings: %s", error->message);
      else
        {
          settings_set (config->node);
          g_message ("front: settings reloaded");
        }
      if (answer_fd >= 0 && write (answer_fd, &answer, 1) != 1)
        g_warning ("front: cannot answer the supervisor: %s", g_strerror (errno));
    }
  return NULL;
}

int
mugai_front_run (const MugaiNodeSettings *node, const char *reload, int answer,
                 const MugaiFrontLinks *l, MugaiFrontDropFunc drop, gpointer drop_data)
{
  reload_path = reload;
  answer_fd = answer;
  links = (MugaiFrontLinks){ g_strdup (l->workers), g_strdup (l->storer), l->worker_uid,
                             l->storer_uid };
  settings_set (node);

  /* SIGUSR1 is ours; libmilter's own signal thread takes SIGHUP, SIGTERM
   * and SIGINT, which the supervisor uses for restart and stop. */
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGUSR1);
  sigaddset (&set, SIGUSR2);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
  signal (SIGTERM, SIG_IGN);
  signal (SIGINT, SIG_IGN);
  signal (SIGHUP, SIG_IGN);
  signal (SIGPIPE, SIG_IGN);
  g_thread_unref (g_thread_new ("signals", signal_thread, NULL));

  struct smfiDesc desc = {
    .xxfi_name = (char *)"mugai",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_QUARANTINE,
    .xxfi_connect = on_connect,
    .xxfi_envfrom = on_envfrom,
    .xxfi_envrcpt = on_envrcpt,
    .xxfi_header = on_header,
    .xxfi_eoh = on_eoh,
    .xxfi_body = on_body,
    .xxfi_eom = on_eom,
    .xxfi_abort = on_abort,
    .xxfi_close = on_close,
    .xxfi_negotiate = on_negotiate,
  };
  if (smfi_register (desc) != MI_SUCCESS)
    {
      g_critical ("front: smfi_register failed");
      return 1;
    }
  if (smfi_setconn ((char *)node->milter.socket) != MI_SUCCESS)
    {
      g_critical ("front: bad socket specification %s", node->milter.socket);
      return 1;
    }
  /* Postfix's own timeouts apply per command; ours must be longer than
   * the longest wait for a worker */
  smfi_settimeout ((int)(node->milter.message_timeout + node->milter.queue_timeout + 30));
  smfi_setbacklog (128);
  if (smfi_opensocket (TRUE) != MI_SUCCESS)
    {
      g_critical ("front: cannot listen on %s", node->milter.socket);
      return 1;
    }
  /* the socket exists (a port below 1024 or a root-owned directory is
   * fine): now become the daemon's user, before the first session */
  const char *sock = node->milter.socket;
  const char *unix_path = g_str_has_prefix (sock, "unix:") || g_str_has_prefix (sock, "local:")
                              ? strchr (sock, ':') + 1
                              : NULL;
  if (drop && !drop (unix_path, drop_data))
    return 1;
  g_message ("front: listening on %s", node->milter.socket);
  int r = smfi_main ();

  /* The drain ran before smfi_stop(); an idle SMTP session is not waited
   * for: once we are gone, Postfix applies milter_default_action
   * (tempfail) to its next message. */
  g_message ("front: stopped");
  return r == MI_SUCCESS ? 0 : 1;
}
