/*
 * release.c - the release workflow's state machine (release.h)
 *
 * DESCRIPTION
 *	Pure: an entry, who, the rules and the time in; a step (a state and
 *	a workflow record) or the reason it is refused out.  The record is
 *	JSON (json-glib), copied and changed, never edited in place: the
 *	entry given stays as it was read, so the caller can update the
 *	store from its state.
 */
#include "release.h"

#include <string.h>

#include "logline.h"

/* clang-format off */
G_DEFINE_QUARK (mugai-release-error-quark, mugai_release_error)
/* clang-format on */

#define MAX_REASON 1000
#define SECONDS_PER_DAY 86400

void
mugai_release_step_clear (MugaiReleaseStep *step)
{
  g_clear_pointer (&step->workflow, json_node_unref);
}

/* ---- the record ------------------------------------------------------------- */

/* A copy of e's workflow object, or a new empty one. */
static JsonObject *
record_copy (const MugaiStoreEntry *e)
{
  if (e->workflow && JSON_NODE_HOLDS_OBJECT (e->workflow))
    {
      g_autoptr (JsonNode) copy = json_node_copy (e->workflow);
      return json_object_ref (json_node_get_object (copy));
    }
  return json_object_new ();
}

/* Takes record's reference. */
static void
step_set (MugaiReleaseStep *step, MugaiStoreState to, JsonObject *record)
{
  step->to = to;
  step->workflow = json_node_init_object (json_node_alloc (), record);
  json_object_unref (record);
}

/* The object at i of a, or NULL when that element is something else. */
static JsonObject *
object_at (JsonArray *a, guint i)
{
  JsonNode *n = json_array_get_element (a, i);
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static JsonObject *
member_object (const MugaiStoreEntry *e, const char *name)
{
  if (!e->workflow || !JSON_NODE_HOLDS_OBJECT (e->workflow))
    return NULL;
  JsonObject *o = json_node_get_object (e->workflow);
  JsonNode *n = json_object_get_member (o, name);
  return n && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static JsonArray *
member_array (const MugaiStoreEntry *e, const char *name)
{
  if (!e->workflow || !JSON_NODE_HOLDS_OBJECT (e->workflow))
    return NULL;
  JsonObject *o = json_node_get_object (e->workflow);
  JsonNode *n = json_object_get_member (o, name);
  return n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static const char *
string_of (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
             ? json_node_get_string (n)
             : NULL;
}

static gint64
int_of (JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member (o, name) : NULL;
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64
             ? json_node_get_int (n)
             : 0;
}

static JsonObject *
by_at (const char *by, gint64 at)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "by", by);
  json_object_set_int_member (o, "at", at);
  return o;
}

/* ---- who --------------------------------------------------------------------- */

static gboolean
may (const MugaiAccount *who, gboolean requester_too, const char *what, GError **error)
{
  if (!who || who->disabled)
    {
      g_set_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_FORBIDDEN, "%s: %s", what,
                   who ? "this account is disabled" : "no account acts for this login");
      return FALSE;
    }
  if (who->role == MUGAI_ROLE_APPROVER || (requester_too && who->role == MUGAI_ROLE_REQUESTER))
    return TRUE;
  g_set_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_FORBIDDEN,
               "%s: the account %s is a%s %s, and only %s may", what, who->name,
               who->role == MUGAI_ROLE_AUDITOR || who->role == MUGAI_ROLE_APPROVER ? "n" : "",
               mugai_role_name (who->role),
               requester_too ? "requesters and approvers" : "approvers");
  return FALSE;
}

static gboolean
in_state (const MugaiStoreEntry *e, guint states, const char *what, GError **error)
{
  if (states & (1u << e->state))
    return TRUE;
  g_set_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_STATE, "%s: %s is %s", what, e->id,
               mugai_store_state_name (e->state));
  return FALSE;
}

#define BIT(s) (1u << MUGAI_STORE_STATE_##s)

/* ---- the steps ---------------------------------------------------------------- */

static gboolean
reason_ok (const char *reason, const char *what, GError **error)
{
  if (reason && *reason && g_utf8_validate (reason, -1, NULL)
      && g_utf8_strlen (reason, -1) <= MAX_REASON)
    return TRUE;
  g_set_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_INVALID,
               "%s: a reason is required (UTF-8 text of at most %d characters)", what, MAX_REASON);
  return FALSE;
}

static gboolean
mode_ok (const char *mode, GError **error)
{
  if (!mode || g_str_equal (mode, "original"))
    return TRUE;
  if (g_str_has_prefix (mode, "resanitize=") && mugai_account_name_is_valid (mode + 11))
    return TRUE;
  g_autofree char *safe = mugai_log_escape (mode, 60);
  g_set_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_INVALID,
               "request: the mode \"%s\" is none of: original, resanitize=PROFILE", safe);
  return FALSE;
}

/* The address inside angle brackets, lower-cased for comparison. */
static char *
bare_address (const char *a)
{
  g_autofree char *t = g_strstrip (g_strdup (a));
  gsize n = strlen (t);
  if (n >= 2 && t[0] == '<' && t[n - 1] == '>')
    return g_ascii_strdown (t + 1, (gssize)n - 2);
  return g_ascii_strdown (t, -1);
}

gboolean
mugai_release_request (const MugaiStoreEntry *e, const MugaiAccount *who,
                       const MugaiReleaseRules *rules, const MugaiReleaseAsk *ask, gint64 now,
                       MugaiReleaseStep *step, GError **error)
{
  if (!may (who, TRUE, "request", error)
      || !in_state (e, BIT (STORED) | BIT (HELD) | BIT (DENIED) | BIT (RELEASED) | BIT (EXPIRED),
                    "request", error)
      || !reason_ok (ask->reason, "request", error) || !mode_ok (ask->mode, error))
    return FALSE;
  JsonArray *rcpts = json_array_new ();
  g_autoptr (JsonArray) owned = rcpts;
  if (ask->recipients && ask->recipients[0])
    for (guint i = 0; ask->recipients[i]; i++)
      {
        g_autofree char *want = bare_address (ask->recipients[i]);
        const char *found = NULL;
        for (guint k = 0; e->recipients && k < e->recipients->len && !found; k++)
          {
            g_autofree char *have = bare_address (e->recipients->pdata[k]);
            if (g_str_equal (have, want))
              found = e->recipients->pdata[k];
          }
        if (!found)
          {
            g_autofree char *safe = mugai_log_escape (ask->recipients[i], 80);
            g_set_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_INVALID,
                         "request: %s was not a recipient of %s: a release goes only to the "
                         "message's own envelope recipients",
                         safe, e->id);
            return FALSE;
          }
        json_array_add_string_element (rcpts, found);
      }
  else
    for (guint k = 0; e->recipients && k < e->recipients->len; k++)
      json_array_add_string_element (rcpts, e->recipients->pdata[k]);
  if (json_array_get_length (rcpts) == 0)
    {
      g_set_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_INVALID,
                   "request: %s has no envelope recipient to release it to", e->id);
      return FALSE;
    }

  /* an earlier request's record goes to the history, whole */
  g_autoptr (JsonObject) old = record_copy (e);
  JsonObject *record = json_object_new ();
  JsonArray *history = json_array_new ();
  JsonNode *h = json_object_get_member (old, "history");
  if (h && JSON_NODE_HOLDS_ARRAY (h))
    {
      JsonArray *a = json_node_get_array (h);
      for (guint i = 0; i < json_array_get_length (a); i++)
        json_array_add_element (history, json_node_copy (json_array_get_element (a, i)));
    }
  json_object_remove_member (old, "history");
  if (json_object_get_size (old) > 0)
    json_array_add_object_element (history, json_object_ref (old));
  json_object_set_array_member (record, "history", history);

  JsonObject *req = by_at (who->name, now);
  json_object_set_string_member (req, "reason", ask->reason);
  json_object_set_string_member (req, "mode", ask->mode ? ask->mode : "original");
  json_object_set_array_member (req, "recipients", json_array_ref (rcpts));
  json_object_set_string_member (req, "from_state", mugai_store_state_name (e->state));
  json_object_set_object_member (record, "request", req);
  json_object_set_array_member (record, "approvals", json_array_new ());
  json_object_set_array_member (record, "attempts", json_array_new ());
  (void)rules;
  step_set (step, MUGAI_STORE_STATE_REQUESTED, record);
  return TRUE;
}

gboolean
mugai_release_approve (const MugaiStoreEntry *e, const MugaiAccount *who,
                       const MugaiReleaseRules *rules, gint64 now, MugaiReleaseStep *step,
                       GError **error)
{
  if (!may (who, FALSE, "approve", error) || !in_state (e, BIT (REQUESTED), "approve", error))
    return FALSE;
  JsonObject *req = member_object (e, "request");
  if (g_strcmp0 (string_of (req, "by"), who->name) == 0)
    {
      g_set_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_FORBIDDEN,
                   "approve: %s asked for %s, and a request is never approved by its requester",
                   who->name, e->id);
      return FALSE;
    }
  JsonArray *given = member_array (e, "approvals");
  for (guint i = 0; given && i < json_array_get_length (given); i++)
    if (g_strcmp0 (string_of (object_at (given, i), "by"), who->name) == 0)
      {
        g_set_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_FORBIDDEN,
                     "approve: %s has approved %s already; [release] approvals = %u asks for "
                     "%u different approvers",
                     who->name, e->id, rules->approvals, rules->approvals);
        return FALSE;
      }
  g_autoptr (JsonObject) record = record_copy (e);
  JsonArray *approvals = json_array_new ();
  for (guint i = 0; given && i < json_array_get_length (given); i++)
    json_array_add_element (approvals, json_node_copy (json_array_get_element (given, i)));
  json_array_add_object_element (approvals, by_at (who->name, now));
  guint count = json_array_get_length (approvals);
  json_object_set_array_member (record, "approvals", approvals);
  step_set (step,
            count >= MAX (rules->approvals, 1) ? MUGAI_STORE_STATE_APPROVED
                                               : MUGAI_STORE_STATE_REQUESTED,
            json_object_ref (record));
  return TRUE;
}

gboolean
mugai_release_deny (const MugaiStoreEntry *e, const MugaiAccount *who,
                    const MugaiReleaseRules *rules, const char *reason, gint64 now,
                    MugaiReleaseStep *step, GError **error)
{
  if (!may (who, FALSE, "deny", error)
      || !in_state (e, BIT (REQUESTED) | BIT (APPROVED), "deny", error)
      || !reason_ok (reason, "deny", error))
    return FALSE;
  g_autoptr (JsonObject) record = record_copy (e);
  JsonObject *d = by_at (who->name, now);
  json_object_set_string_member (d, "reason", reason);
  json_object_set_object_member (record, "denied", d);
  (void)rules;
  step_set (step, MUGAI_STORE_STATE_DENIED, json_object_ref (record));
  return TRUE;
}

gboolean
mugai_release_expire (const MugaiStoreEntry *e, const MugaiReleaseRules *rules, gint64 now,
                      MugaiReleaseStep *step)
{
  if (!(BIT (REQUESTED) & (1u << e->state)) && !(BIT (APPROVED) & (1u << e->state)))
    return FALSE;
  gint64 at = int_of (member_object (e, "request"), "at");
  if (at == 0 || now - at <= (gint64)rules->request_days * SECONDS_PER_DAY)
    return FALSE;
  g_autoptr (JsonObject) record = record_copy (e);
  JsonObject *x = json_object_new ();
  json_object_set_int_member (x, "at", now);
  json_object_set_object_member (record, "expired", x);
  step_set (step, MUGAI_STORE_STATE_EXPIRED, json_object_ref (record));
  return TRUE;
}

gboolean
mugai_release_begin (const MugaiStoreEntry *e, const MugaiAccount *who,
                     const MugaiReleaseRules *rules, gboolean again, gint64 now,
                     MugaiReleaseStep *step, GError **error)
{
  if (who && !may (who, FALSE, "release", error))
    return FALSE;
  if (!in_state (e, BIT (APPROVED), "release", error))
    return FALSE;
  JsonObject *wf = e->workflow ? json_node_get_object (e->workflow) : NULL;
  if (wf && json_object_has_member (wf, "uncertain") && !again)
    {
      g_set_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_STATE,
                   "release: attempt %u of %s was cut off before its reply (%s): look in the "
                   "LGWAN-side server's log for X-Mugai-Released id=%s; attempt=%u, and only if "
                   "it is not there, release it again with --again",
                   mugai_release_attempt (e), e->id, string_of (wf, "uncertain"), e->id,
                   mugai_release_attempt (e));
      return FALSE;
    }
  g_autoptr (JsonObject) record = record_copy (e);
  JsonArray *attempts = json_array_new ();
  JsonArray *before = member_array (e, "attempts");
  for (guint i = 0; before && i < json_array_get_length (before); i++)
    json_array_add_element (attempts, json_node_copy (json_array_get_element (before, i)));
  JsonObject *a = by_at (who ? who->name : "mugai (retry)", now);
  json_object_set_int_member (a, "n", json_array_get_length (attempts) + 1);
  json_object_set_string_member (a, "result", "sending");
  json_array_add_object_element (attempts, a);
  json_object_set_array_member (record, "attempts", attempts);
  json_object_remove_member (record, "uncertain");
  json_object_remove_member (record, "failed");
  json_object_remove_member (record, "retry_at");
  (void)rules;
  step_set (step, MUGAI_STORE_STATE_SENDING, json_object_ref (record));
  return TRUE;
}

static const char *const outcome_names[] = { [MUGAI_RELEASE_SENT] = "sent",
                                             [MUGAI_RELEASE_TEMPORARY] = "temporary",
                                             [MUGAI_RELEASE_PERMANENT] = "permanent",
                                             [MUGAI_RELEASE_REFUSED] = "refused",
                                             [MUGAI_RELEASE_UNCERTAIN] = "uncertain" };

/* The record with the last attempt's result filled in. */
static JsonObject *
with_last_attempt (const MugaiStoreEntry *e, const char *result, guint code, const char *reply,
                   gint64 now)
{
  JsonObject *record = record_copy (e);
  JsonNode *n = json_object_get_member (record, "attempts");
  JsonArray *attempts = n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
  guint len = attempts ? json_array_get_length (attempts) : 0;
  JsonObject *last = len > 0 ? object_at (attempts, len - 1) : NULL;
  if (last)
    {
      json_object_set_string_member (last, "result", result);
      json_object_set_int_member (last, "code", code);
      json_object_set_string_member (last, "reply", reply ? reply : "");
      json_object_set_int_member (last, "done_at", now);
    }
  return record;
}

void
mugai_release_finish (const MugaiStoreEntry *e, MugaiReleaseOutcome outcome, guint code,
                      const char *reply, gint64 now, gint64 retry_at, gint64 retry_until,
                      MugaiReleaseStep *step)
{
  g_autoptr (JsonObject) record = with_last_attempt (e, outcome_names[outcome], code, reply, now);
  if (outcome == MUGAI_RELEASE_SENT)
    {
      JsonArray *attempts = member_array (e, "attempts");
      guint len = attempts ? json_array_get_length (attempts) : 0;
      JsonObject *last = len ? object_at (attempts, len - 1) : NULL;
      JsonObject *r = by_at (string_of (last, "by") ? string_of (last, "by") : "?", now);
      json_object_set_string_member (r, "reply", reply ? reply : "");
      json_object_set_object_member (record, "released", r);
      step_set (step, MUGAI_STORE_STATE_RELEASED, json_object_ref (record));
      return;
    }
  if (outcome == MUGAI_RELEASE_UNCERTAIN)
    {
      g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (now);
      g_autofree char *when = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("?");
      g_autofree char *what
          = g_strdup_printf ("no reply to the end of the data at %s: %s", when, reply ? reply : "");
      json_object_set_string_member (record, "uncertain", what);
    }
  else if (outcome == MUGAI_RELEASE_TEMPORARY && retry_at <= retry_until)
    json_object_set_int_member (record, "retry_at", retry_at);
  else
    json_object_set_string_member (record, "failed", reply ? reply : "");
  step_set (step, MUGAI_STORE_STATE_APPROVED, json_object_ref (record));
}

void
mugai_release_uncertain (const MugaiStoreEntry *e, gint64 now, MugaiReleaseStep *step)
{
  g_autoptr (JsonObject) record = with_last_attempt (
      e, "uncertain", 0, "cut off before the reply (mugai-milter stopped)", now);
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (now);
  g_autofree char *when = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("?");
  g_autofree char *what = g_strdup_printf ("found cut off at %s", when);
  json_object_set_string_member (record, "uncertain", what);
  step_set (step, MUGAI_STORE_STATE_APPROVED, json_object_ref (record));
}

/* ---- reading ------------------------------------------------------------------ */

const char *
mugai_release_mode (const MugaiStoreEntry *e)
{
  const char *m = string_of (member_object (e, "request"), "mode");
  return m ? m : "original";
}

GPtrArray *
mugai_release_recipients (const MugaiStoreEntry *e)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  JsonObject *req = member_object (e, "request");
  JsonNode *n = req ? json_object_get_member (req, "recipients") : NULL;
  JsonArray *a = n && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
  for (guint i = 0; a && i < json_array_get_length (a); i++)
    {
      JsonNode *r = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_VALUE (r) && json_node_get_value_type (r) == G_TYPE_STRING)
        g_ptr_array_add (out, g_strdup (json_node_get_string (r)));
    }
  return out;
}

char *
mugai_release_approvers (const MugaiStoreEntry *e)
{
  g_autoptr (GString) s = g_string_new (NULL);
  JsonArray *a = member_array (e, "approvals");
  for (guint i = 0; a && i < json_array_get_length (a); i++)
    {
      const char *by = string_of (object_at (a, i), "by");
      if (by)
        g_string_append_printf (s, "%s%s", s->len ? "," : "", by);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

char *
mugai_release_requester (const MugaiStoreEntry *e)
{
  return g_strdup (string_of (member_object (e, "request"), "by"));
}

guint
mugai_release_attempt (const MugaiStoreEntry *e)
{
  JsonArray *a = member_array (e, "attempts");
  return a ? json_array_get_length (a) : 0;
}

gint64
mugai_release_retry_at (const MugaiStoreEntry *e)
{
  if (!e->workflow || !JSON_NODE_HOLDS_OBJECT (e->workflow))
    return 0;
  return int_of (json_node_get_object (e->workflow), "retry_at");
}

char *
mugai_release_header_value (const MugaiStoreEntry *e, const char *by)
{
  g_autofree char *approvers = mugai_release_approvers (e);
  return g_strdup_printf ("id=%s; by=%s; approved-by=%s; mode=%s; attempt=%u", e->id, by,
                          *approvers ? approvers : "-", mugai_release_mode (e),
                          mugai_release_attempt (e));
}
