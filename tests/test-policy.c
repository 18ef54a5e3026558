/*
 * test-policy.c - policy.c: the one place where findings become actions
 *
 * Table-driven: for each finding category, about a part and about the
 * whole message, under the default policy and under the choices
 * mugai.conf(5) offers ([sanitize] encrypted, archive), the action that
 * the notice and the SMTP reply will then speak of.
 */
#include "node.h"
#include "policy.h"

#include "mugai-limits.h"
#include "notice.h"

typedef struct
{
  MugaiFindingCategory category;
  const char *path;
  MugaiOn encrypted;
  MugaiOn archive;
  MugaiAction want;
} Case;

static const Case cases[] = {
  /* malware: never delivered, whatever on_virus says */
  { MUGAI_FINDING_VIRUS, "2", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_REJECT },
  { MUGAI_FINDING_VIRUS, "", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_REJECT },
  { MUGAI_FINDING_ENCRYPTED, "2", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_REMOVE },
  { MUGAI_FINDING_ENCRYPTED, "2", MUGAI_ON_REJECT, MUGAI_ON_REMOVE, MUGAI_ACTION_REJECT },
  /* one choice does not leak into the other */
  { MUGAI_FINDING_ENCRYPTED, "2", MUGAI_ON_REMOVE, MUGAI_ON_REJECT, MUGAI_ACTION_REMOVE },
  { MUGAI_FINDING_ARCHIVE, "2", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_REMOVE },
  { MUGAI_FINDING_ARCHIVE, "2", MUGAI_ON_REMOVE, MUGAI_ON_REJECT, MUGAI_ACTION_REJECT },
  { MUGAI_FINDING_ARCHIVE, "2", MUGAI_ON_REJECT, MUGAI_ON_REMOVE, MUGAI_ACTION_REMOVE },
  /* a part over a limit is removed; the message over a limit refused */
  { MUGAI_FINDING_OVER_LIMIT, "1.2", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_REMOVE },
  { MUGAI_FINDING_OVER_LIMIT, "", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_REJECT },
  { MUGAI_FINDING_ACTIVE_CONTENT, "1", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_TO_TEXT },
  { MUGAI_FINDING_CHARSET, "1", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_KEEP },
  { MUGAI_FINDING_TYPE_MISMATCH, "2", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_KEEP },
  { MUGAI_FINDING_CONVERTIBLE, "2", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_CONVERT },
  /* everything that cannot be made harmless is removed, even under the
   * reject choices (they are about encryption and archives only) */
  { MUGAI_FINDING_BANNED_TYPE, "2", MUGAI_ON_REJECT, MUGAI_ON_REJECT, MUGAI_ACTION_REMOVE },
  { MUGAI_FINDING_NAME_TRICK, "2", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_REMOVE },
  { MUGAI_FINDING_NOT_INSPECTABLE, "3", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_REMOVE },
  { MUGAI_FINDING_SIGNATURE, "2", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_REMOVE },
  { MUGAI_FINDING_INLINE_PAYLOAD, "1", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_REMOVE },
  { MUGAI_FINDING_MALFORMED, "2", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_REMOVE },
  { MUGAI_FINDING_MALFORMED, "", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_REMOVE },
  { MUGAI_FINDING_FORGED_HEADER, "", MUGAI_ON_REMOVE, MUGAI_ON_REMOVE, MUGAI_ACTION_REMOVE },
};

static void
test_actions (void)
{
  g_autoptr (MugaiPolicy) policy = mugai_policy_new_default ();
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      policy->encrypted = c->encrypted;
      policy->archive = c->archive;
      g_autoptr (MugaiFinding) f = mugai_finding_new (c->category, c->path, "detail");
      MugaiAction got = mugai_policy_action (policy, f);
      if (got != c->want)
        g_error ("case %zu: %s at \"%s\": %s, expected %s", i,
                 mugai_finding_category_name (c->category), c->path, mugai_action_name (got),
                 mugai_action_name (c->want));
    }
}

static void
test_every_category_decided (void)
{
  /* no category falls through to something that delivers the part as
   * it came, except the two that are only reported (the part's own type
   * decides) */
  g_autoptr (MugaiPolicy) policy = mugai_policy_new_default ();
  for (int c = 0; c < MUGAI_FINDING_N; c++)
    {
      g_autoptr (MugaiFinding) f = mugai_finding_new ((MugaiFindingCategory)c, "2", NULL);
      MugaiAction a = mugai_policy_action (policy, f);
      if (c == MUGAI_FINDING_CHARSET || c == MUGAI_FINDING_TYPE_MISMATCH)
        g_assert_cmpint (a, ==, MUGAI_ACTION_KEEP);
      else
        g_assert_cmpint (a, !=, MUGAI_ACTION_KEEP);
      g_assert_cmpint (a, !=, MUGAI_ACTION_UNUSED);
      g_assert_cmpint (a, !=, MUGAI_ACTION_CONTAINER);
    }
}

static void
test_defaults (void)
{
  /* the defaults mugai.conf(5) documents */
  g_autoptr (MugaiPolicy) p = mugai_policy_new_default ();
  g_assert_cmpuint (p->limits.message_size, ==, MUGAI_LIMIT_MESSAGE_SIZE);
  g_assert_cmpuint (p->limits.depth, ==, MUGAI_LIMIT_DEPTH);
  g_assert_cmpuint (p->limits.parts, ==, MUGAI_LIMIT_PARTS);
  g_assert_cmpint (p->on_virus, ==, MUGAI_VIRUS_REJECT);
  g_assert_cmpint (p->encrypted, ==, MUGAI_ON_REMOVE);
  g_assert_cmpint (p->archive, ==, MUGAI_ON_REMOVE);
  g_assert_cmpint (p->language, ==, MUGAI_LANG_JA);
  g_assert_cmpint (p->links, ==, MUGAI_LINKS_DEFANG);
  g_assert_true (p->clamav_required);
  g_autoptr (MugaiNodeSettings) node = mugai_node_settings_new_default ();
  g_assert_cmpstr (node->milter.socket, ==, "unix:/run/mugai/milter.sock");
  g_assert_cmpstr (node->quarantine_dir, ==, "/var/lib/mugai/quarantine");
  /* the notice template in use is the built-in Japanese one */
  g_assert_cmpstr (p->notice_template, ==, mugai_notice_builtin_template (MUGAI_LANG_JA));
  g_assert_null (p->notice_template_path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policy/actions", test_actions);
  g_test_add_func ("/policy/every-category-decided", test_every_category_decided);
  g_test_add_func ("/policy/defaults", test_defaults);
  return g_test_run ();
}
