/*
 * test-release.c - the release workflow's state machine (release.h), and
 *                  its steps written to a real sqlite store
 */
#include <string.h>
#include <unistd.h>

#include "quarantine.h"
#include "release.h"
#include "testfiles.h"

static const MugaiReleaseRules one = { .approvals = 1, .request_days = 14 };
static const MugaiReleaseRules two = { .approvals = 2, .request_days = 14 };

static MugaiAccount *
account (const char *name, MugaiRole role)
{
  MugaiAccount *a = mugai_account_new ();
  a->name = g_strdup (name);
  a->role = role;
  return a;
}

static MugaiStoreEntry *
entry (void)
{
  MugaiStoreEntry *e = mugai_store_entry_new ();
  e->id = mugai_store_new_id ();
  e->time = 1795000000;
  e->sender = g_strdup ("<sender@example.jp>");
  g_ptr_array_add (e->recipients, g_strdup ("<Tanaka@City.LG.jp>"));
  g_ptr_array_add (e->recipients, g_strdup ("<suzuki@city.lg.jp>"));
  e->verdict = g_strdup ("sanitized");
  e->state = MUGAI_STORE_STATE_STORED;
  return e;
}

/* e moved by step, as the store would hold it afterwards. */
static void
apply (MugaiStoreEntry *e, MugaiReleaseStep *step)
{
  e->state = step->to;
  g_clear_pointer (&e->workflow, json_node_unref);
  e->workflow = g_steal_pointer (&step->workflow);
}

static void
test_request_refusals (void)
{
  g_autoptr (MugaiStoreEntry) e = entry ();
  g_autoptr (MugaiAccount) staff = account ("staff", MUGAI_ROLE_REQUESTER);
  g_autoptr (MugaiAccount) auditor = account ("audit", MUGAI_ROLE_AUDITOR);
  g_autoptr (GError) error = NULL;
  g_auto (MugaiReleaseStep) step = { 0 };
  MugaiReleaseAsk ask = { .reason = "見積書が必要です" };

  /* a login with no account */
  g_assert_false (mugai_release_request (e, NULL, &one, &ask, 1795000100, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_FORBIDDEN);
  g_assert_nonnull (strstr (error->message, "no account"));
  g_clear_error (&error);
  /* an auditor reads, never asks */
  g_assert_false (mugai_release_request (e, auditor, &one, &ask, 1795000100, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_FORBIDDEN);
  g_clear_error (&error);
  /* a disabled account is no account */
  staff->disabled = TRUE;
  g_assert_false (mugai_release_request (e, staff, &one, &ask, 1795000100, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_FORBIDDEN);
  g_clear_error (&error);
  staff->disabled = FALSE;
  /* an address the message was not for */
  const char *const outsider[] = { "boss@example.com", NULL };
  MugaiReleaseAsk elsewhere = { .reason = "x", .recipients = outsider };
  g_assert_false (mugai_release_request (e, staff, &one, &elsewhere, 1795000100, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "boss@example.com"));
  g_clear_error (&error);
  /* no reason, and a mode that is none */
  MugaiReleaseAsk no_reason = { .reason = "" };
  g_assert_false (mugai_release_request (e, staff, &one, &no_reason, 1795000100, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_INVALID);
  g_clear_error (&error);
  MugaiReleaseAsk bad_mode = { .reason = "x", .mode = "resanitize=../etc" };
  g_assert_false (mugai_release_request (e, staff, &one, &bad_mode, 1795000100, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_INVALID);
  g_clear_error (&error);
  /* a request in progress is not asked again */
  e->state = MUGAI_STORE_STATE_REQUESTED;
  g_assert_false (mugai_release_request (e, staff, &one, &ask, 1795000100, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_STATE);
}

static void
test_one_approver (void)
{
  g_autoptr (MugaiStoreEntry) e = entry ();
  g_autoptr (MugaiAccount) staff = account ("staff", MUGAI_ROLE_REQUESTER);
  g_autoptr (MugaiAccount) boss = account ("boss", MUGAI_ROLE_APPROVER);
  g_autoptr (GError) error = NULL;
  g_auto (MugaiReleaseStep) step = { 0 };
  /* a recipient named in another case and with brackets: the envelope's
   * own spelling is what goes out */
  const char *const to[] = { "tanaka@city.lg.jp", NULL };
  MugaiReleaseAsk ask = { .reason = "見積書が必要です", .recipients = to };
  g_assert_true (mugai_release_request (e, staff, &one, &ask, 1795000100, &step, &error));
  g_assert_no_error (error);
  g_assert_cmpint (step.to, ==, MUGAI_STORE_STATE_REQUESTED);
  apply (e, &step);
  g_autoptr (GPtrArray) rcpts = mugai_release_recipients (e);
  g_assert_cmpuint (rcpts->len, ==, 1);
  g_assert_cmpstr (rcpts->pdata[0], ==, "<Tanaka@City.LG.jp>");
  g_assert_cmpstr (mugai_release_mode (e), ==, "original");

  /* the requester cannot approve; a requester-only account neither */
  g_autoptr (MugaiAccount) self = account ("staff", MUGAI_ROLE_APPROVER);
  g_assert_false (mugai_release_approve (e, self, &one, 1795000200, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_FORBIDDEN);
  g_assert_nonnull (strstr (error->message, "requester"));
  g_clear_error (&error);
  g_autoptr (MugaiAccount) other_staff = account ("other", MUGAI_ROLE_REQUESTER);
  g_assert_false (mugai_release_approve (e, other_staff, &one, 1795000200, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_FORBIDDEN);
  g_clear_error (&error);
  /* nothing to release before the approval */
  g_assert_false (mugai_release_begin (e, boss, &one, FALSE, 1795000200, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_STATE);
  g_clear_error (&error);

  g_assert_true (mugai_release_approve (e, boss, &one, 1795000300, &step, &error));
  g_assert_cmpint (step.to, ==, MUGAI_STORE_STATE_APPROVED);
  apply (e, &step);

  g_assert_true (mugai_release_begin (e, boss, &one, FALSE, 1795000400, &step, &error));
  g_assert_cmpint (step.to, ==, MUGAI_STORE_STATE_SENDING);
  apply (e, &step);
  g_autofree char *header = mugai_release_header_value (e, "boss");
  g_autofree char *want
      = g_strdup_printf ("id=%s; by=boss; approved-by=boss; mode=original; attempt=1", e->id);
  g_assert_cmpstr (header, ==, want);

  mugai_release_finish (e, MUGAI_RELEASE_SENT, 250, "250 2.0.0 Ok: queued as 4Xyz", 1795000401, 0,
                        0, &step);
  g_assert_cmpint (step.to, ==, MUGAI_STORE_STATE_RELEASED);
  apply (e, &step);
  g_autofree char *json = mugai_store_entry_to_json (e, FALSE);
  g_assert_nonnull (strstr (json, "queued as 4Xyz"));
  g_assert_nonnull (strstr (json, "\"result\":\"sent\""));

  /* a later request keeps the first in the history */
  MugaiReleaseAsk again = { .reason = "もう一度" };
  g_assert_true (mugai_release_request (e, staff, &one, &again, 1795000500, &step, &error));
  apply (e, &step);
  g_autofree char *json2 = mugai_store_entry_to_json (e, FALSE);
  g_assert_nonnull (strstr (json2, "\"history\":[{"));
  g_assert_nonnull (strstr (json2, "queued as 4Xyz"));
  g_assert_cmpuint (mugai_release_attempt (e), ==, 0);
}

static void
test_two_approvers (void)
{
  g_autoptr (MugaiStoreEntry) e = entry ();
  g_autoptr (MugaiAccount) staff = account ("staff", MUGAI_ROLE_REQUESTER);
  g_autoptr (MugaiAccount) a = account ("a", MUGAI_ROLE_APPROVER);
  g_autoptr (MugaiAccount) b = account ("b", MUGAI_ROLE_APPROVER);
  g_autoptr (GError) error = NULL;
  g_auto (MugaiReleaseStep) step = { 0 };
  MugaiReleaseAsk ask = { .reason = "r", .mode = "resanitize=loose" };
  g_assert_true (mugai_release_request (e, staff, &two, &ask, 1795000100, &step, &error));
  apply (e, &step);
  g_assert_cmpstr (mugai_release_mode (e), ==, "resanitize=loose");
  g_assert_true (mugai_release_approve (e, a, &two, 1795000200, &step, &error));
  /* one approver where two are required: still a request */
  g_assert_cmpint (step.to, ==, MUGAI_STORE_STATE_REQUESTED);
  apply (e, &step);
  g_assert_false (mugai_release_approve (e, a, &two, 1795000300, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_FORBIDDEN);
  g_assert_nonnull (strstr (error->message, "already"));
  g_clear_error (&error);
  g_assert_true (mugai_release_approve (e, b, &two, 1795000300, &step, &error));
  g_assert_cmpint (step.to, ==, MUGAI_STORE_STATE_APPROVED);
  apply (e, &step);
  g_autofree char *approvers = mugai_release_approvers (e);
  g_assert_cmpstr (approvers, ==, "a,b");
}

static void
test_deny_expire (void)
{
  g_autoptr (MugaiStoreEntry) e = entry ();
  g_autoptr (MugaiAccount) staff = account ("staff", MUGAI_ROLE_REQUESTER);
  g_autoptr (MugaiAccount) boss = account ("boss", MUGAI_ROLE_APPROVER);
  g_autoptr (GError) error = NULL;
  g_auto (MugaiReleaseStep) step = { 0 };
  MugaiReleaseAsk ask = { .reason = "r" };
  g_assert_true (mugai_release_request (e, staff, &one, &ask, 1795000000, &step, &error));
  apply (e, &step);
  /* not yet past request_days; then past it */
  g_assert_false (mugai_release_expire (e, &one, 1795000000 + 13 * 86400, &step));
  g_assert_true (mugai_release_expire (e, &one, 1795000000 + 15 * 86400, &step));
  g_assert_cmpint (step.to, ==, MUGAI_STORE_STATE_EXPIRED);
  mugai_release_step_clear (&step);
  /* a deny needs a reason, and an approver */
  g_assert_false (mugai_release_deny (e, boss, &one, NULL, 1795000100, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (mugai_release_deny (e, staff, &one, "no", 1795000100, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_FORBIDDEN);
  g_clear_error (&error);
  g_assert_true (mugai_release_deny (e, boss, &one, "業務外です", 1795000100, &step, &error));
  g_assert_cmpint (step.to, ==, MUGAI_STORE_STATE_DENIED);
  apply (e, &step);
  g_assert_false (mugai_release_approve (e, boss, &one, 1795000200, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_STATE);
}

static void
test_retry_and_uncertain (void)
{
  g_autoptr (MugaiStoreEntry) e = entry ();
  g_autoptr (MugaiAccount) staff = account ("staff", MUGAI_ROLE_REQUESTER);
  g_autoptr (MugaiAccount) boss = account ("boss", MUGAI_ROLE_APPROVER);
  g_autoptr (GError) error = NULL;
  g_auto (MugaiReleaseStep) step = { 0 };
  MugaiReleaseAsk ask = { .reason = "r" };
  g_assert_true (mugai_release_request (e, staff, &one, &ask, 1795000000, &step, &error));
  apply (e, &step);
  g_assert_true (mugai_release_approve (e, boss, &one, 1795000001, &step, &error));
  apply (e, &step);
  g_assert_true (mugai_release_begin (e, boss, &one, FALSE, 1795000002, &step, &error));
  apply (e, &step);
  /* 4xx: back to approved, a retry due */
  mugai_release_finish (e, MUGAI_RELEASE_TEMPORARY, 451, "451 4.3.0 try later", 1795000003,
                        1795000063, 1795086400, &step);
  g_assert_cmpint (step.to, ==, MUGAI_STORE_STATE_APPROVED);
  apply (e, &step);
  g_assert_cmpint (mugai_release_retry_at (e), ==, 1795000063);
  /* the storer's own retry, then a crash mid-send */
  g_assert_true (mugai_release_begin (e, NULL, &one, FALSE, 1795000063, &step, &error));
  apply (e, &step);
  g_assert_cmpuint (mugai_release_attempt (e), ==, 2);
  g_assert_cmpint (mugai_release_retry_at (e), ==, 0);
  mugai_release_uncertain (e, 1795000100, &step);
  g_assert_cmpint (step.to, ==, MUGAI_STORE_STATE_APPROVED);
  apply (e, &step);
  /* never sent again unnoticed: refused, naming what to look for */
  g_assert_false (mugai_release_begin (e, boss, &one, FALSE, 1795000200, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_STATE);
  g_assert_nonnull (strstr (error->message, "attempt=2"));
  g_assert_nonnull (strstr (error->message, "--again"));
  g_clear_error (&error);
  g_assert_true (mugai_release_begin (e, boss, &one, TRUE, 1795000200, &step, &error));
  apply (e, &step);
  /* 5xx: failed, no retry */
  mugai_release_finish (e, MUGAI_RELEASE_PERMANENT, 554, "554 5.7.1 no", 1795000201, 1795000261,
                        1795086400, &step);
  apply (e, &step);
  g_assert_cmpint (e->state, ==, MUGAI_STORE_STATE_APPROVED);
  g_assert_cmpint (mugai_release_retry_at (e), ==, 0);
  g_autofree char *json = mugai_store_entry_to_json (e, FALSE);
  g_assert_nonnull (strstr (json, "\"failed\":\"554 5.7.1 no\""));
}

/* No reply once the whole message was sent: it may have arrived, so it
 * is neither retried by the storer nor sent again without --again. */
static void
test_no_reply_after_data (void)
{
  g_autoptr (MugaiStoreEntry) e = entry ();
  g_autoptr (MugaiAccount) staff = account ("staff", MUGAI_ROLE_REQUESTER);
  g_autoptr (MugaiAccount) boss = account ("boss", MUGAI_ROLE_APPROVER);
  g_autoptr (GError) error = NULL;
  g_auto (MugaiReleaseStep) step = { 0 };
  MugaiReleaseAsk ask = { .reason = "r" };
  g_assert_true (mugai_release_request (e, staff, &one, &ask, 1795000000, &step, &error));
  apply (e, &step);
  g_assert_true (mugai_release_approve (e, boss, &one, 1795000001, &step, &error));
  apply (e, &step);
  g_assert_true (mugai_release_begin (e, boss, &one, FALSE, 1795000002, &step, &error));
  apply (e, &step);
  mugai_release_finish (e, MUGAI_RELEASE_UNCERTAIN, 0,
                        "the whole message was sent, then Connection died", 1795000003, 1795000063,
                        1795086400, &step);
  g_assert_cmpint (step.to, ==, MUGAI_STORE_STATE_APPROVED);
  apply (e, &step);
  g_assert_cmpint (mugai_release_retry_at (e), ==, 0);
  g_autofree char *json = mugai_store_entry_to_json (e, FALSE);
  g_assert_nonnull (strstr (json, "\"result\":\"uncertain\""));
  g_assert_null (strstr (json, "\"failed\""));
  g_assert_false (mugai_release_begin (e, boss, &one, FALSE, 1795000100, &step, &error));
  g_assert_error (error, MUGAI_RELEASE_ERROR, MUGAI_RELEASE_ERROR_STATE);
  g_assert_nonnull (strstr (error->message, "no reply to the end of the data"));
  g_assert_nonnull (strstr (error->message, "--again"));
  g_clear_error (&error);
  g_assert_true (mugai_release_begin (e, boss, &one, TRUE, 1795000100, &step, &error));
  apply (e, &step);
  g_assert_cmpuint (mugai_release_attempt (e), ==, 2);
}

/* The steps written to a real store: the record survives, and two
 * deciders racing from the same state get CONFLICT for the second. */
static void
test_store_update (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-release-XXXXXX", &error);
  g_autofree char *location = g_strconcat ("sqlite:", root, "/q", NULL);
  g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_CREATE, &error);
  g_assert_no_error (error);
  g_autoptr (MugaiStoreEntry) e = entry ();
  g_autoptr (GBytes) mail = g_bytes_new_static ("Subject: x\r\n\r\nx\r\n", 15);
  g_assert_true (mugai_store_add (q, -1, mail, e, &error));
  g_autoptr (MugaiAccount) staff = account ("staff", MUGAI_ROLE_REQUESTER);
  g_auto (MugaiReleaseStep) step = { 0 };
  MugaiReleaseAsk ask = { .reason = "請求書" };
  g_assert_true (mugai_release_request (e, staff, &one, &ask, 1795000000, &step, &error));
  g_assert_true (mugai_store_update (q, e->id, e->state, step.to, step.workflow, &error));
  g_assert_no_error (error);
  /* the same step again, from the state it was read in: refused */
  g_assert_false (mugai_store_update (q, e->id, e->state, step.to, step.workflow, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CONFLICT);
  g_clear_error (&error);
  g_autoptr (MugaiStoreEntry) back = mugai_store_get (q, e->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->state, ==, MUGAI_STORE_STATE_REQUESTED);
  g_autofree char *who = mugai_release_requester (back);
  g_assert_cmpstr (who, ==, "staff");
  /* a list shows the state, and a pending request is never purged */
  MugaiStoreFilter pending = { .states = 1u << MUGAI_STORE_STATE_REQUESTED };
  g_autoptr (GPtrArray) listed = mugai_store_list (q, &pending, &error);
  g_assert_cmpuint (listed->len, ==, 1);
  g_assert_cmpuint (mugai_store_purge (q, G_MAXINT64 / 2, &error), ==, 0);
  g_assert_no_error (error);
  g_autoptr (MugaiStoreEntry) kept = mugai_store_get (q, e->id, &error);
  g_assert_no_error (error);
  /* the files backend says it keeps no workflow */
  g_autofree char *files = g_strconcat (root, "/f", NULL);
  g_autoptr (MugaiStore) f = mugai_store_open (files, MUGAI_STORE_CREATE, &error);
  g_assert_no_error (error);
  g_assert_false (mugai_store_update (f, e->id, MUGAI_STORE_STATE_STORED,
                                      MUGAI_STORE_STATE_REQUESTED, NULL, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_UNSUPPORTED);
  testfiles_rm_rf (root);
}

static void
test_accounts (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp ("mugai-release-XXXXXX", &error);
  g_autofree char *location = g_strconcat ("sqlite:", root, "/q", NULL);
  g_autoptr (MugaiStore) q = mugai_store_open (location, MUGAI_STORE_CREATE, &error);
  g_autoptr (MugaiAccount) a = account ("sato", MUGAI_ROLE_APPROVER);
  a->unix_user = g_strdup ("sato");
  g_assert_true (mugai_store_account_put (q, a, FALSE, &error));
  g_assert_no_error (error);
  /* one name, one account; one login, one account */
  g_assert_false (mugai_store_account_put (q, a, FALSE, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  g_autoptr (MugaiAccount) b = account ("sato2", MUGAI_ROLE_APPROVER);
  b->unix_user = g_strdup ("sato");
  g_assert_false (mugai_store_account_put (q, b, FALSE, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, "one login"));
  g_clear_error (&error);
  g_autoptr (MugaiAccount) bad = account ("../x", MUGAI_ROLE_APPROVER);
  g_assert_false (mugai_store_account_put (q, bad, FALSE, &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_INVALID_ID);
  g_clear_error (&error);
  g_autoptr (MugaiAccount) found = mugai_store_account_get (q, NULL, "sato", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found->name, ==, "sato");
  g_assert_cmpint (found->role, ==, MUGAI_ROLE_APPROVER);
  /* disabled by replacing */
  found->disabled = TRUE;
  g_assert_true (mugai_store_account_put (q, found, TRUE, &error));
  g_autoptr (MugaiAccount) again = mugai_store_account_get (q, "sato", NULL, &error);
  g_assert_true (again->disabled);
  g_assert_null (mugai_store_account_get (q, NULL, "nobody", &error));
  g_assert_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND);
  testfiles_rm_rf (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/release/request-refusals", test_request_refusals);
  g_test_add_func ("/release/one-approver", test_one_approver);
  g_test_add_func ("/release/two-approvers", test_two_approvers);
  g_test_add_func ("/release/deny-expire", test_deny_expire);
  g_test_add_func ("/release/retry-and-uncertain", test_retry_and_uncertain);
  g_test_add_func ("/release/no-reply-after-data", test_no_reply_after_data);
  g_test_add_func ("/release/store-update", test_store_update);
  g_test_add_func ("/release/accounts", test_accounts);
  return g_test_run ();
}
