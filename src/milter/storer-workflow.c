/*
 * storer-workflow.c - the release workflow in the storer (storer-workflow.h)
 */
#include "storer-workflow.h"

#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "ipc.h"
#include "logline.h"
#include "peer.h"
#include "relay.h"
#include "release.h"
#include "report.h"
#include "worker.h"
#include "words.h"

#define RELAY_TIMEOUT 120
#define FIRST_RETRY 60
#define MAX_RETRY_GAP 3600

static MugaiWorkflow wf;
/* The release this thread just answered was deferred (a 4xx, retried):
 * the command's answer says so (control.h's count), and it exits 75. */
static __thread gboolean deferred;
static GMutex sending; /* one release on the wire at a time */

void
mugai_workflow_init (const MugaiWorkflow *w)
{
  wf = *w;
}

static const MugaiNodeSettings *
node (void)
{
  return wf.config->node;
}

static MugaiReleaseRules
rules (void)
{
  return (MugaiReleaseRules){ .approvals = node ()->release.approvals,
                              .request_days = node ()->release.request_days };
}

static gint64
now_s (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* ---- who ---------------------------------------------------------------------- */

/* The login of uid, or NULL. */
static char *
login_of (uid_t uid)
{
  struct passwd pw, *found = NULL;
  char buf[1024];
  if (getpwuid_r (uid, &pw, buf, sizeof buf, &found) == 0 && found)
    return g_strdup (found->pw_name);
  return NULL;
}

/* ---- the relay ------------------------------------------------------------------ */

static MugaiRelay
relay (void)
{
  return (MugaiRelay){ .url = node ()->release.relay,
                       .helo = node ()->release.helo ? node ()->release.helo : g_get_host_name (),
                       .timeout = RELAY_TIMEOUT };
}

/* A notice to the comma-separated addresses; failures are logged, never
 * fatal to the step they tell of. */
static void
notify (const char *addresses, const char *subject, const char *body)
{
  if (!addresses || !*addresses)
    return;
  g_auto (GStrv) list = g_strsplit (addresses, ",", -1);
  g_autoptr (GPtrArray) to = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; list[i]; i++)
    {
      g_autofree char *a = g_strstrip (g_strdup (list[i]));
      if (*a)
        g_ptr_array_add (to, g_steal_pointer (&a));
    }
  if (to->len == 0)
    return;
  /* NULL-terminated before it is joined (g_strjoinv reads to the NULL) */
  g_ptr_array_add (to, NULL);
  g_autofree char *joined = g_strjoinv (", ", (char **)to->pdata);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) msg
      = mugai_relay_build_notice (node ()->release.from, joined, subject, body, &error);
  g_auto (MugaiRelayResult) res = { 0 };
  MugaiRelay r = relay ();
  if (!msg
      || !mugai_relay_send (&r, node ()->release.from, (const char *const *)to->pdata, msg, &res,
                            &error)
      || res.klass != MUGAI_RELAY_SENT)
    g_warning ("storer: notice \"%s\" to %s not sent: %s", subject, joined,
               error       ? error->message
               : res.reply ? res.reply
                           : "no reply");
}

static char *
recipients_text (const MugaiStoreEntry *e)
{
  g_autoptr (GPtrArray) r = mugai_release_recipients (e);
  g_ptr_array_add (r, NULL);
  return g_strjoinv (",", (char **)r->pdata);
}

/* ---- the worker ------------------------------------------------------------------ */

/* The original of e scanned again by a worker (mode "original") or
 * sanitized again under a profile; *content the message to send (the
 * original, or the new one), or *refusal why it must not be sent. */
static gboolean
through_worker (const MugaiStoreEntry *e, const char *mode, GBytes *original, GBytes **content,
                char **refusal, GError **error)
{
  int memfd = memfd_create ("mugai-release", MFD_CLOEXEC);
  if (memfd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "memfd_create: %s",
                   g_strerror (errno));
      return FALSE;
    }
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (original, &len);
  for (gsize off = 0; off < len;)
    {
      ssize_t w = write (memfd, data + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "memfd: %s",
                       g_strerror (errno));
          close (memfd);
          return FALSE;
        }
      off += (gsize)w;
    }
  guint timeout = node ()->milter.message_timeout;
  int sock = mugai_ipc_connect (wf.workers_path, node ()->milter.queue_timeout, error);
  if (sock < 0)
    {
      close (memfd);
      return FALSE;
    }
  pid_t pool = 0;
  MugaiPeerRule rule = { "workers", wf.worker_uid, wf.supervisor };
  g_autoptr (GVariant) hello = NULL;
  g_autoptr (GVariant) result = NULL;
  int body = -1;
  gboolean ok = FALSE;
  if (mugai_peer_check (sock, &rule, &pool, error)
      && (hello = mugai_ipc_recv (sock, MUGAI_IPC_HELLO,
                                  g_get_monotonic_time ()
                                      + (gint64)node ()->milter.queue_timeout * G_USEC_PER_SEC,
                                  NULL, error)))
    {
      guint32 pid = 0;
      g_variant_get (hello, MUGAI_IPC_HELLO, &pid);
      if (pid <= 1 || mugai_peer_parent_of ((pid_t)pid) != pool)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                     "the worker's hello names no worker of the pool");
      else
        {
          GVariantBuilder rcpts;
          g_variant_builder_init (&rcpts, G_VARIANT_TYPE ("as"));
          for (guint i = 0; e->recipients && i < e->recipients->len; i++)
            g_variant_builder_add (&rcpts, "s", (const char *)e->recipients->pdata[i]);
          g_autofree char *job = g_strconcat (MUGAI_IPC_RELEASE_PREFIX, e->id, " ", mode, NULL);
          g_autofree char *sender = g_utf8_make_valid (e->sender ? e->sender : "", -1);
          if (mugai_ipc_send (sock, g_variant_new (MUGAI_IPC_REQUEST, job, sender, "", "", &rcpts),
                              memfd, error))
            result = mugai_ipc_recv (
                sock, MUGAI_IPC_RESULT,
                g_get_monotonic_time () + (gint64)(timeout + 5) * G_USEC_PER_SEC, &body, error);
        }
    }
  close (sock);
  close (memfd);
  if (!result)
    {
      if (body >= 0)
        close (body);
      return FALSE;
    }
  guint32 verdict = 0;
  const char *reply = NULL, *report_text = NULL;
  g_variant_get_child (result, 0, "u", &verdict);
  g_variant_get_child (result, 1, "&s", &reply);
  g_variant_get_child (result, 6, "&s", &report_text);
  g_autoptr (JsonNode) report
      = *report_text ? mugai_report_node_from_text (report_text, strlen (report_text), NULL) : NULL;
  JsonObject *o = report && JSON_NODE_HOLDS_OBJECT (report) ? json_node_get_object (report) : NULL;
  const char *virus = o && json_object_has_member (o, "virus")
                              && JSON_NODE_HOLDS_VALUE (json_object_get_member (o, "virus"))
                          ? json_object_get_string_member (o, "virus")
                          : NULL;
  if (virus && *virus)
    *refusal = g_strdup_printf ("ClamAV finds %s in it with today's signatures", virus);
  else if (verdict == MUGAI_VERDICT_TEMPFAIL)
    *refusal = g_strdup_printf ("it could not be scanned again: %s", reply);
  else if (g_str_has_prefix (mode, "resanitize="))
    {
      if (verdict == MUGAI_VERDICT_REJECT || verdict == MUGAI_VERDICT_HOLD
          || verdict == MUGAI_VERDICT_DISCARD)
        *refusal = g_strdup_printf ("the profile %s refuses it too: %s", mode + 11, reply);
      else if (body < 0 && verdict == MUGAI_VERDICT_CLEAN)
        *content = g_bytes_ref (original);
      else if (body >= 0)
        {
          g_autoptr (GMappedFile) mapped = NULL;
          g_autofree char *path = g_strdup_printf ("/proc/self/fd/%d", body);
          mapped = g_mapped_file_new (path, FALSE, error);
          if (mapped)
            *content = g_mapped_file_get_bytes (mapped);
        }
      else
        *refusal = g_strdup ("the worker sent no message back");
    }
  else
    *content = g_bytes_ref (original);
  if (body >= 0)
    close (body);
  ok = *content != NULL || *refusal != NULL;
  return ok;
}

/* ---- the steps ------------------------------------------------------------------ */

/* Writes step from e's state; on success e is what the store now holds. */
static gboolean
take_step (MugaiStore *store, MugaiStoreEntry *e, MugaiReleaseStep *step, GError **error)
{
  if (!mugai_store_update (store, e->id, e->state, step->to, step->workflow, error))
    return FALSE;
  e->state = step->to;
  g_clear_pointer (&e->workflow, json_node_unref);
  e->workflow = g_steal_pointer (&step->workflow);
  return TRUE;
}

/* The entry, with a request past request_days expired first. */
static MugaiStoreEntry *
load (MugaiStore *store, const char *id, GError **error)
{
  g_autoptr (MugaiStoreEntry) e = mugai_store_get (store, id, error);
  if (!e)
    return NULL;
  MugaiReleaseRules r = rules ();
  g_auto (MugaiReleaseStep) step = { 0 };
  if (mugai_release_expire (e, &r, now_s (), &step))
    {
      g_autoptr (GError) local = NULL;
      if (take_step (store, e, &step, &local))
        {
          g_autofree char *what
              = g_strdup_printf ("expire %s: requested more than %u days ago ([release] "
                                 "request_days)",
                                 e->id, r.request_days);
          wf.record (e, "expire", what);
        }
    }
  return g_steal_pointer (&e);
}

static guint64
backoff (guint attempt)
{
  guint64 gap = FIRST_RETRY;
  for (guint i = 1; i < attempt && gap < MAX_RETRY_GAP; i++)
    gap *= 2;
  return MIN (gap, MAX_RETRY_GAP);
}

/* Sends the approved e (who: the approver, or NULL for a retry). */
static gboolean
release (MugaiStore *store, MugaiStoreEntry *e, const MugaiAccount *who, gboolean again,
         char **what, GError **error)
{
  g_mutex_lock (&sending);
  MugaiReleaseRules r = rules ();
  g_auto (MugaiReleaseStep) step = { 0 };
  const char *by = who ? who->name : "mugai (retry)";
  gboolean ok = mugai_release_begin (e, who, &r, again, now_s (), &step, error)
                && take_step (store, e, &step, error);
  if (!ok)
    {
      g_mutex_unlock (&sending);
      return FALSE;
    }
  guint attempt = mugai_release_attempt (e);
  const char *mode = mugai_release_mode (e);
  g_autofree char *rcpts = recipients_text (e);
  g_autofree char *begun = g_strdup_printf ("release %s: attempt %u by %s, mode %s, to %s", e->id,
                                            attempt, by, mode, rcpts);
  wf.record (e, "release-attempt", begun);

  /* what goes out: the original, scanned again (and sanitized again) */
  g_autoptr (GError) local = NULL;
  g_autoptr (GBytes) original = mugai_store_read_original (store, e->id, wf.max_message, &local);
  g_autoptr (GBytes) content = NULL;
  g_autofree char *refusal = NULL;
  if (!original)
    refusal = g_strdup_printf ("the original cannot be read: %s", local->message);
  else if (!through_worker (e, mode, original, &content, &refusal, &local))
    refusal = g_strdup_printf ("no worker scanned it: %s", local->message);

  MugaiReleaseOutcome outcome = MUGAI_RELEASE_REFUSED;
  guint code = 0;
  g_autofree char *reply = NULL;
  gint64 t = now_s ();
  if (!refusal)
    {
      g_autofree char *header = mugai_release_header_value (e, by);
      g_autoptr (GBytes) prepared = mugai_relay_prepare (content, header, &local);
      g_autoptr (GPtrArray) to = mugai_release_recipients (e);
      g_ptr_array_add (to, NULL);
      g_auto (MugaiRelayResult) res = { 0 };
      MugaiRelay rl = relay ();
      /* the envelope sender as received, its angle brackets off */
      g_autofree char *sender = g_strdup (e->sender ? e->sender : "");
      gsize sl = strlen (sender);
      if (sl >= 2 && sender[0] == '<' && sender[sl - 1] == '>')
        {
          memmove (sender, sender + 1, sl - 2);
          sender[sl - 2] = '\0';
        }
      if (!prepared)
        refusal = g_strdup_printf ("the message cannot be prepared: %s", local->message);
      else if (!mugai_relay_send (&rl, sender, (const char *const *)to->pdata, prepared, &res,
                                  &local))
        {
          outcome = MUGAI_RELEASE_TEMPORARY;
          reply = g_strdup (local->message);
        }
      else if (res.klass != MUGAI_RELAY_SENT && (res.maybe_delivered || res.code == 354))
        {
          /* the data went (the last reply the relay gave is DATA's
           * 354), and no reply to its end came: the relay may have
           * queued it (RFC 1047), so a retry could deliver it twice; it
           * waits for an approver's --again.  354 as well as
           * maybe_delivered: relay.c's maybe_delivered is never set
           * with libcurl 7.88 (it stops reading at the announced size,
           * so the read callback never sees its end), and a data cut
           * off before its end is only an approver's look more. */
          outcome = MUGAI_RELEASE_UNCERTAIN;
          reply = g_strdup_printf ("the message was sent after DATA, then %s",
                                   res.detail ? res.detail : "no reply came");
        }
      else
        {
          outcome = res.klass == MUGAI_RELAY_SENT        ? MUGAI_RELEASE_SENT
                    : res.klass == MUGAI_RELAY_TEMPORARY ? MUGAI_RELEASE_TEMPORARY
                                                         : MUGAI_RELEASE_PERMANENT;
          code = res.code;
          g_autoptr (GString) said = g_string_new (res.reply    ? res.reply
                                                   : res.detail ? res.detail
                                                                : "no reply");
          /* sent to the others: the record names who did not get it
           * (not retried: a second send would reach them alone, which
           * the state machine does not keep yet) */
          for (guint i = 0; res.refused && i < res.refused->len; i++)
            {
              const MugaiRelayRefusal *no = res.refused->pdata[i];
              g_string_append_printf (said, "; %s refused it: %s", no->recipient,
                                      no->reply ? no->reply : "");
            }
          reply = g_string_free (g_steal_pointer (&said), FALSE);
        }
    }
  if (refusal)
    reply = g_steal_pointer (&refusal);
  gint64 first = 0;
  JsonArray *attempts = NULL;
  if (e->workflow && JSON_NODE_HOLDS_OBJECT (e->workflow))
    {
      JsonNode *n = json_object_get_member (json_node_get_object (e->workflow), "attempts");
      attempts = n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
    }
  for (guint i = 0; attempts && i < json_array_get_length (attempts) && !first; i++)
    {
      JsonNode *a = json_array_get_element (attempts, i);
      if (JSON_NODE_HOLDS_OBJECT (a))
        first = json_object_get_int_member_with_default (json_node_get_object (a), "at", 0);
    }
  gint64 retry_at = t + (gint64)backoff (attempt);
  gint64 retry_until = (first ? first : t) + (gint64)node ()->release.retry_minutes * 60;
  mugai_release_finish (e, outcome, code, reply, t, retry_at, retry_until, &step);
  ok = take_step (store, e, &step, error);
  g_mutex_unlock (&sending);

  const char *action = outcome == MUGAI_RELEASE_SENT        ? "release"
                       : outcome == MUGAI_RELEASE_REFUSED   ? "release-refused"
                       : outcome == MUGAI_RELEASE_TEMPORARY ? "release-deferred"
                       : outcome == MUGAI_RELEASE_UNCERTAIN ? "release-uncertain"
                                                            : "release-failed";
  deferred = outcome == MUGAI_RELEASE_TEMPORARY && mugai_release_retry_at (e) != 0;
  g_autofree char *done = NULL;
  if (outcome == MUGAI_RELEASE_SENT)
    done = g_strdup_printf ("released %s (attempt %u by %s, mode %s) to %s: %s", e->id, attempt, by,
                            mode, rcpts, reply);
  else if (outcome == MUGAI_RELEASE_REFUSED)
    done = g_strdup_printf ("release of %s refused: %s", e->id, reply);
  else if (outcome == MUGAI_RELEASE_UNCERTAIN)
    done = g_strdup_printf (
        "release of %s: attempt %u may have arrived (%s): not sent again by itself; look for "
        "X-Mugai-Released id=%s; attempt=%u in the LGWAN-side log, then `mugai quarantine "
        "release %s --again` if it is not there",
        e->id, attempt, reply, e->id, attempt, e->id);
  else if (deferred)
    done = g_strdup_printf (
        "release of %s deferred (attempt %u): %s; tried again in %" G_GUINT64_FORMAT " s", e->id,
        attempt, reply, backoff (attempt));
  else
    done = g_strdup_printf ("release of %s failed (attempt %u): %s", e->id, attempt, reply);
  wf.record (e, action, done);
  if (!ok)
    return FALSE;
  if (outcome == MUGAI_RELEASE_SENT)
    {
      g_autofree char *subject = g_strdup_printf (
          "[mugai] %s / %s: %s", MUGAI_W (TRUE, "original released"), "original released", e->id);
      g_autofree char *body
          = g_strdup_printf ("%s\n%s\n\nid: %s\nsubject: %s\nmode: %s\nreply: %s\n",
                             MUGAI_W (TRUE, "The original of a quarantined message was delivered."),
                             "The original of a quarantined message was delivered.", e->id,
                             e->subject ? e->subject : "", mode, reply);
      notify (rcpts, subject, body);
    }
  *what = g_steal_pointer (&done);
  if (outcome != MUGAI_RELEASE_SENT
      && !(outcome == MUGAI_RELEASE_TEMPORARY && mugai_release_retry_at (e)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", *what);
      return FALSE;
    }
  return TRUE;
}

/* One step asked on workflow.sock by login (account who). */
static gboolean
workflow_step (MugaiStore *store, const char *verb, const char *id, GVariant *options,
               const char *const *recipients, const MugaiAccount *who, const char *asker,
               char **what, GError **error)
{
  /* the record, for the approvers and auditors who are not root (the
   * store is the storer's alone): read only, nothing changed or recorded */
  if (g_str_equal (verb, "show"))
    {
      if (who->disabled || (who->role != MUGAI_ROLE_APPROVER && who->role != MUGAI_ROLE_AUDITOR))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                       "show: the account %s may not read entries (approvers and auditors may)",
                       who->name);
          return FALSE;
        }
      g_autoptr (MugaiStoreEntry) shown = mugai_store_get (store, id, error);
      if (!shown)
        return FALSE;
      *what = mugai_store_entry_to_json (shown, TRUE);
      return TRUE;
    }
  g_autoptr (MugaiStoreEntry) e = load (store, id, error);
  if (!e)
    return FALSE;
  MugaiReleaseRules r = rules ();
  g_auto (MugaiReleaseStep) step = { 0 };
  const char *reason = NULL, *mode = NULL, *again = NULL;
  g_variant_lookup (options, "reason", "&s", &reason);
  g_variant_lookup (options, "mode", "&s", &mode);
  g_variant_lookup (options, "again", "&s", &again);
  gint64 t = now_s ();
  if (g_str_equal (verb, "request"))
    {
      if (mode && g_str_has_prefix (mode, "resanitize="))
        {
          gboolean known = FALSE;
          for (guint i = 0; wf.config->profiles && i < wf.config->profiles->len; i++)
            known = known || g_str_equal (wf.config->profiles->pdata[i], mode + 11);
          if (!known)
            {
              g_autofree char *safe = mugai_log_escape (mode + 11, 60);
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "request: the configuration has no [profile %s]", safe);
              return FALSE;
            }
        }
      MugaiReleaseAsk ask = { .reason = reason, .mode = mode, .recipients = recipients };
      if (!mugai_release_request (e, who, &r, &ask, t, &step, error)
          || !take_step (store, e, &step, error))
        return FALSE;
      g_autofree char *rcpts = recipients_text (e);
      /* readable (a Japanese reason stays Japanese in the record and on
       * the requester's terminal), harmless (no control character); the
       * log line escapes it again (storer.c) */
      g_autofree char *safe = mugai_text_safe_display (reason, 200);
      *what = g_strdup_printf ("request %s by %s (%s), mode %s, to %s: %s", e->id, who->name, asker,
                               mugai_release_mode (e), rcpts, safe);
      wf.record (e, "request", *what);
      g_autofree char *subject = g_strdup_printf (
          "[mugai] %s / %s: %s", MUGAI_W (TRUE, "release requested"), "release requested", e->id);
      g_autofree char *body = g_strdup_printf (
          "%s\n%s\n\n"
          "  mugai quarantine approve %s\n  mugai quarantine deny %s --reason TEXT\n\n"
          "id: %s\nfrom: %s\nto: %s\nsubject: %s\nrequested by: %s\nreason: %s\nmode: %s\n",
          MUGAI_W (TRUE, "The release of a quarantined original was requested. To decide:"),
          "The release of a quarantined original was requested. To decide:", e->id, e->id, e->id,
          e->sender ? e->sender : "", rcpts, e->subject ? e->subject : "", who->name, safe,
          mugai_release_mode (e));
      notify (node ()->release.notify, subject, body);
      return TRUE;
    }
  if (g_str_equal (verb, "approve"))
    {
      if (!mugai_release_approve (e, who, &r, t, &step, error)
          || !take_step (store, e, &step, error))
        return FALSE;
      g_autofree char *approvers = mugai_release_approvers (e);
      gboolean done = e->state == MUGAI_STORE_STATE_APPROVED;
      g_autofree char *line = g_strdup_printf (
          "approve %s by %s (%s): %s", e->id, who->name, asker,
          done ? "approved" : "one more approval is needed ([release] approvals = 2)");
      wf.record (e, "approve", line);
      if (done && node ()->release.on_approve == MUGAI_ON_APPROVE_SEND)
        {
          g_autofree char *sent = NULL;
          gboolean ok = release (store, e, who, FALSE, &sent, error);
          *what = g_strdup_printf ("%s; %s", line, sent ? sent : "");
          return ok;
        }
      *what = g_strdup_printf ("%s (approved by %s)%s", line, approvers,
                               done ? "; `mugai quarantine release` sends it" : "");
      return TRUE;
    }
  if (g_str_equal (verb, "deny"))
    {
      if (!mugai_release_deny (e, who, &r, reason, t, &step, error)
          || !take_step (store, e, &step, error))
        return FALSE;
      g_autofree char *safe = mugai_text_safe_display (reason, 200);
      *what = g_strdup_printf ("deny %s by %s (%s): %s", e->id, who->name, asker, safe);
      wf.record (e, "deny", *what);
      g_autofree char *rcpts = recipients_text (e);
      g_autofree char *subject = g_strdup_printf (
          "[mugai] %s / %s: %s", MUGAI_W (TRUE, "release denied"), "release denied", e->id);
      g_autofree char *body = g_strdup_printf ("id: %s\nsubject: %s\nreason: %s\n", e->id,
                                               e->subject ? e->subject : "", safe);
      notify (rcpts, subject, body);
      return TRUE;
    }
  if (g_str_equal (verb, "release"))
    return release (store, e, who, g_strcmp0 (again, "yes") == 0, what, error);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown request %s", verb);
  return FALSE;
}

void
mugai_workflow_serve (int conn)
{
  g_autoptr (GError) error = NULL;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt (conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    {
      close (conn);
      return;
    }
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  g_autoptr (GVariant) req = mugai_ipc_recv (conn, MUGAI_CONTROL_REQUEST, deadline, NULL, &error);
  if (!req)
    {
      close (conn);
      return;
    }
  const char *verb = NULL, *id = NULL;
  gint64 arg = 0;
  g_autoptr (GVariant) options = NULL;
  g_autofree const char **rcpts = NULL;
  g_variant_get_child (req, 0, "&s", &verb);
  g_variant_get_child (req, 1, "x", &arg);
  g_variant_get_child (req, 2, "&s", &id);
  options = g_variant_get_child_value (req, 3);
  g_autoptr (GVariant) rv = g_variant_get_child_value (req, 4);
  rcpts = g_variant_get_strv (rv, NULL);

  g_autofree char *login = login_of (cred.uid);
  g_autofree char *asker = g_strdup_printf ("%s, uid %u", login ? login : "?", (unsigned)cred.uid);
  g_autofree char *what = NULL;
  gboolean ok = FALSE;
  MugaiStore *store = wf.store (&error);
  g_autoptr (MugaiAccount) who = NULL;
  if (store && login)
    {
      g_autoptr (GError) none = NULL;
      who = mugai_store_account_get (store, NULL, login, &none);
    }
  if (store && !who)
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                 "%s: the login %s has no account (mugai admin add NAME --role ... --unix-user "
                 "%s)",
                 verb, login ? login : asker, login ? login : "LOGIN");
  else if (store && !mugai_store_id_is_valid (id))
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: not a quarantine id", verb);
  else if (store)
    {
      deferred = FALSE;
      ok = workflow_step (store, verb, id, options, rcpts, who, asker, &what, &error);
    }
  if (!ok)
    {
      /* a refusal is a record too: who tried what */
      g_autofree char *line = g_strdup_printf ("%s %s by %s refused: %s", verb,
                                               mugai_store_id_is_valid (id) ? id : "(bad id)",
                                               asker, error ? error->message : "?");
      if (!what || !error)
        {
          /* the entry's id, so that its records show who tried what */
          g_autoptr (GPtrArray) none = g_ptr_array_new ();
          MugaiStoreEntry about = { .id = mugai_store_id_is_valid (id) ? (char *)id : NULL,
                                    .sender = (char *)"",
                                    .recipients = none };
          wf.record (&about, "refused", line);
        }
      g_free (what);
      what = g_strdup (error ? error->message : line);
    }
  mugai_ipc_send (conn, g_variant_new (MUGAI_CONTROL_ANSWER, ok, what, (guint32)(ok && deferred)),
                  -1, NULL);
  close (conn);
}

/* ---- accounts --------------------------------------------------------------------- */

gboolean
mugai_workflow_admin (const char *verb, GVariant *options, const char *who, char **what)
{
  g_autoptr (GError) error = NULL;
  MugaiStore *store = wf.store (&error);
  const char *name = "", *role = "", *unix_user = "", *password = "", *disabled = "";
  g_variant_lookup (options, "name", "&s", &name);
  g_variant_lookup (options, "role", "&s", &role);
  g_variant_lookup (options, "unix_user", "&s", &unix_user);
  g_variant_lookup (options, "password", "&s", &password);
  g_variant_lookup (options, "disabled", "&s", &disabled);
  gboolean ok = FALSE;
  g_autofree char *safe = mugai_log_escape (name, 64);
  if (store && g_str_equal (verb, "admin-add"))
    {
      g_autoptr (MugaiAccount) a = mugai_account_new ();
      a->name = g_strdup (name);
      a->unix_user = *unix_user ? g_strdup (unix_user) : NULL;
      a->password = *password ? g_strdup (password) : NULL;
      a->created = now_s ();
      if (*password && !g_str_has_prefix (password, "$argon2id$"))
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "the password is not an argon2id hash");
      else if (!mugai_role_from_name (role, &a->role))
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "--role requester, approver or auditor");
      else
        ok = mugai_store_account_put (store, a, FALSE, &error);
      *what = ok ? g_strdup_printf ("admin add %s (%s%s%s%s) by %s", safe, role,
                                    *unix_user ? ", unix user " : "", unix_user,
                                    *password ? ", with a password" : "", who)
                 : g_strdup_printf ("admin add %s by %s refused: %s", safe, who, error->message);
    }
  else if (store)
    {
      g_autoptr (MugaiAccount) a = mugai_store_account_get (store, name, NULL, &error);
      if (a)
        {
          a->disabled = g_str_equal (disabled, "yes");
          ok = mugai_store_account_put (store, a, TRUE, &error);
        }
      *what = ok ? g_strdup_printf ("admin %s %s by %s", a->disabled ? "disable" : "enable", safe,
                                    who)
                 : g_strdup_printf ("admin set %s by %s refused: %s", safe, who, error->message);
    }
  else
    *what = g_strdup_printf ("%s by %s: %s", verb, who, error->message);
  return ok;
}

/* ---- the storer's own work ------------------------------------------------------- */

static GPtrArray *
in_state (MugaiStore *store, guint states)
{
  MugaiStoreFilter f = { .states = states };
  g_autoptr (GError) error = NULL;
  GPtrArray *out = mugai_store_list (store, &f, &error);
  if (!out)
    g_warning ("storer: workflow: %s", error->message);
  return out;
}

void
mugai_workflow_reconcile (void)
{
  g_autoptr (GError) error = NULL;
  MugaiStore *store = wf.store (&error);
  if (!store)
    return;
  g_autoptr (GPtrArray) cut = in_state (store, 1u << MUGAI_STORE_STATE_SENDING);
  for (guint i = 0; cut && i < cut->len; i++)
    {
      g_autoptr (GError) local = NULL;
      g_autoptr (MugaiStoreEntry) e
          = mugai_store_get (store, ((MugaiStoreEntry *)cut->pdata[i])->id, &local);
      if (!e)
        continue;
      g_auto (MugaiReleaseStep) step = { 0 };
      mugai_release_uncertain (e, now_s (), &step);
      if (!take_step (store, e, &step, &local))
        {
          g_warning ("storer: %s: %s", e->id, local->message);
          continue;
        }
      g_autofree char *what = g_strdup_printf (
          "release of %s: attempt %u was cut off before its reply (mugai-milter stopped): not "
          "sent again by itself; look for X-Mugai-Released id=%s; attempt=%u in the LGWAN-side "
          "log, then `mugai quarantine release %s --again` if it is not there",
          e->id, mugai_release_attempt (e), e->id, mugai_release_attempt (e), e->id);
      wf.record (e, "release-uncertain", what);
      g_warning ("storer: %s", what);
    }
}

void
mugai_workflow_tick (void)
{
  g_autoptr (GError) error = NULL;
  MugaiStore *store = wf.store (&error);
  if (!store)
    return;
  gint64 t = now_s ();
  g_autoptr (GPtrArray) open
      = in_state (store, (1u << MUGAI_STORE_STATE_REQUESTED) | (1u << MUGAI_STORE_STATE_APPROVED));
  for (guint i = 0; open && i < open->len; i++)
    {
      const MugaiStoreEntry *listed = open->pdata[i];
      g_autoptr (GError) local = NULL;
      /* load() expires what is past its days */
      g_autoptr (MugaiStoreEntry) e = load (store, listed->id, &local);
      if (!e || e->state != MUGAI_STORE_STATE_APPROVED)
        continue;
      gint64 due = mugai_release_retry_at (e);
      if (due == 0 || due > t)
        continue;
      g_autofree char *what = NULL;
      if (!release (store, e, NULL, FALSE, &what, &local))
        g_message ("storer: %s", local ? local->message : what);
    }
}
