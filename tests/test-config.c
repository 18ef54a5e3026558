/*
 * test-config.c - config.c: values accepted, mistakes refused with where
 */
#include "config.h"
#include "convert.h"
#include "testutil.h"

#include <pwd.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

typedef struct
{
  const char *name;
  const char *text;
  const char *error_contains; /* NULL: must load */
} ConfigCase;

static const ConfigCase cases[] = {
  { "empty", "", NULL },
  { "all-keys",
    "[sanitize]\nalternative = text\nlinks = show\nrfc822 = inline\ncharset = iso-2022-jp\n"
    "encrypted = reject\n[notice]\nlanguage = en\nposition = bottom\n"
    "[limits]\nmessage_size = 10M\npart_size = 512K\nheader_length = 4096\ndepth = 5\n"
    "parts = 50\nheaders = 100\ninline_payloads = 3\n",
    NULL },
  { "unknown-group", "[sanitize]\nlinks = drop\n\n[sanitise]\nlinks = drop\n",
    "test.conf:4: unknown group [sanitise]" },
  { "unknown-key", "[limits]\ndepth = 3\nmax_depth = 4\n",
    "test.conf:3: unknown key \"max_depth\" in [limits]" },
  { "bad-choice", "[sanitize]\n\nlinks = hide\n",
    "test.conf:3: [sanitize] links = hide: bad value; allowed: one of: defang | show | drop" },
  { "bad-size", "[limits]\nmessage_size = 10X\n", "allowed: a size in octets" },
  { "size-too-small", "[limits]\nmessage_size = 10\n", "message_size = 10: bad value" },
  { "count-negative", "[limits]\ndepth = -1\n", "depth = -1: bad value" },
  { "count-too-large", "[limits]\ndepth = 1000\n", "from 1 to 100" },
  { "relative-template", "[notice]\ntemplate = notice.txt\n", "an absolute path" },
  { "missing-template", "[notice]\ntemplate = /nonexistent/notice.txt\n",
    "test.conf:2: [notice] template" },
  { "syntax", "[sanitize\nlinks = drop\n", "test.conf:" },
};

static void
test_case (gconstpointer data)
{
  const ConfigCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiConfig) config
      = mugai_config_load_data (c->text, strlen (c->text), "test.conf", &error);
  if (!c->error_contains)
    {
      g_assert_no_error (error);
      g_assert_nonnull (config);
      return;
    }
  g_assert_null (config);
  g_assert_nonnull (error);
  if (!strstr (error->message, c->error_contains))
    g_error ("error \"%s\" lacks \"%s\"", error->message, c->error_contains);
}

static void
test_values (void)
{
  const char *text = "[sanitize]\nlinks = SHOW\ncharset = iso-2022-jp\n[limits]\npart_size = 2M\n"
                     "depth = 7\n[notice]\nlanguage = en\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiConfig) c = mugai_config_load_data (text, strlen (text), "t", &error);
  g_assert_no_error (error);
  const MugaiPolicy *p = c->policy;
  g_assert_cmpint (p->links, ==, MUGAI_LINKS_SHOW);
  g_assert_cmpint (p->charset, ==, MUGAI_OUTPUT_ISO2022JP);
  g_assert_cmpuint (p->limits.part_size, ==, 2 * 1024 * 1024);
  g_assert_cmpuint (p->limits.depth, ==, 7);
  g_assert_cmpint (p->language, ==, MUGAI_LANG_EN);
  g_assert_nonnull (strstr (p->notice_template, "[Notice]"));
  /* untouched keys keep their defaults */
  g_assert_cmpint (p->alternative, ==, MUGAI_ALTERNATIVE_HTML);
  g_assert_cmpuint (p->limits.parts, ==, 500);
}

static void
test_roundtrip (void)
{
  /* `mugai config check` prints what the loader accepts, and the same policy */
  const char *text = "[sanitize]\nrfc822 = inline\n[limits]\nheaders = 77\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiConfig) p = mugai_config_load_data (text, strlen (text), "t", &error);
  g_assert_no_error (error);
  g_autofree char *printed = mugai_config_to_string (p);
  g_autoptr (MugaiConfig) q = mugai_config_load_data (printed, strlen (printed), "printed", &error);
  g_assert_no_error (error);
  g_assert_cmpint (q->policy->rfc822, ==, MUGAI_RFC822_INLINE);
  g_assert_cmpuint (q->policy->limits.headers, ==, 77);
  g_assert_nonnull (strstr (printed, "headers = 77"));
}

static void
test_template_file (void)
{
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  int fd = g_file_open_tmp ("mugai-notice-XXXXXX", &path, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, "NOTICE ${items}", -1, &error));
  g_autofree char *text = g_strdup_printf ("[notice]\ntemplate = %s\n", path);
  g_autoptr (MugaiConfig) p = mugai_config_load_data (text, strlen (text), "t", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (p->policy->notice_template, ==, "NOTICE ${items}");
  g_unlink (path);
}

static void
test_env_default_missing (void)
{
  /* MUGAI_CONFIG naming a missing file means built-in defaults; --config
   * naming a missing file is an error */
  g_autoptr (GError) error = NULL;
  g_setenv ("MUGAI_CONFIG", "/nonexistent/mugai.conf", TRUE);
  g_autoptr (MugaiConfig) p = mugai_config_load (NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p);
  g_autoptr (MugaiConfig) q = mugai_config_load ("/nonexistent/mugai.conf", &error);
  g_assert_null (q);
  g_assert_error (error, MUGAI_CONFIG_ERROR, MUGAI_CONFIG_ERROR_READ);
}

/* mugai_convert_check(): the programs the settings need, said in words */
static void
test_convert_check (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("mugai-config-XXXXXX", &error);
  g_assert_no_error (error);
  const char *text = "[convert]\noffice = image\n";
  g_autoptr (MugaiConfig) c = mugai_config_load_data (text, strlen (text), "t.conf", &error);
  g_assert_no_error (error);
  MugaiPolicy *p = c->policy;
  g_free (p->convert.filters_dir);
  p->convert.filters_dir = g_strdup (dir);
  g_free (p->convert.soffice);
  p->convert.soffice = g_build_filename (dir, "soffice", NULL);

  /* nothing there: every filter missing is an error, LibreOffice a warning */
  gboolean fatal = FALSE;
  g_autoptr (GPtrArray) all = mugai_convert_check (&p->convert, &fatal);
  g_assert_true (fatal);
  g_assert_cmpuint (all->len, ==, 4); /* pdf, image, soffice filters; LibreOffice */
  g_assert_true (strstr (all->pdata[0], "error: [sandbox] filters: ") != NULL);
  g_assert_true (strstr (all->pdata[0], "mugai-filter-pdf is missing") != NULL);
  g_assert_true (g_str_has_prefix (all->pdata[3], "warning: [sandbox] soffice: LibreOffice"));
  g_assert_true (strstr (all->pdata[3], "every office document") != NULL);

  /* the programs there (executable), LibreOffice not: one warning */
  const char *progs[]
      = { "mugai-filter-pdf", "mugai-filter-office", "mugai-filter-image", "mugai-filter-soffice" };
  for (gsize i = 0; i < G_N_ELEMENTS (progs); i++)
    {
      g_autofree char *path = g_build_filename (dir, progs[i], NULL);
      g_assert_true (g_file_set_contents (path, "#!/bin/sh\n", -1, NULL));
      g_assert_cmpint (g_chmod (path, 0755), ==, 0);
    }
  p->convert.office = MUGAI_OFFICE_TEXT;
  g_autoptr (GPtrArray) lo = mugai_convert_check (&p->convert, &fatal);
  g_assert_false (fatal);
  g_assert_cmpuint (lo->len, ==, 1);
  g_assert_true (strstr (lo->pdata[0], ".doc, .xls, .ppt and .rtf attachments will be removed"));

  /* office = remove needs no LibreOffice */
  p->convert.office = MUGAI_OFFICE_REMOVE;
  g_autoptr (GPtrArray) none = mugai_convert_check (&p->convert, &fatal);
  g_assert_false (fatal);
  g_assert_cmpuint (none->len, ==, 0);

  for (gsize i = 0; i < G_N_ELEMENTS (progs); i++)
    {
      g_autofree char *path = g_build_filename (dir, progs[i], NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

/* mugai_config_check(): what mugai-milter -t, its start, its reload and
 * `mugai config check` refuse, said where */
static gboolean
lines_have (GPtrArray *lines, const char *prefix, const char *needle)
{
  for (guint i = 0; i < lines->len; i++)
    if (g_str_has_prefix (lines->pdata[i], prefix) && strstr (lines->pdata[i], needle))
      return TRUE;
  return FALSE;
}

/* $MUGAI_CONFIG as the test started (test_env_default_missing changes it) */
static char *test_config;

static MugaiConfig *
check_policy (const char *dir, const char *extra)
{
  /* the test configuration ($MUGAI_CONFIG: the test signatures, this
   * tree's filters) with every directory under dir */
  g_autoptr (GError) error = NULL;
  g_autofree char *base = NULL;
  g_assert_true (g_file_get_contents (test_config, &base, NULL, &error));
  g_autofree char *text = g_strdup_printf (
      "%s\n[milter]\nsocket = unix:%s/run/milter.sock\nspool_dir = %s/lib/spool\n%s"
      "[quarantine]\ndir = %s/lib/quarantine\n[audit]\nfile = %s/log/audit.jsonl\n",
      base, dir, dir, extra, dir, dir);
  MugaiConfig *p = mugai_config_load_data (text, strlen (text), "check.conf", &error);
  g_assert_no_error (error);
  return p;
}

static void
test_start_check (void)
{
  if (!test_config)
    {
      g_test_skip ("MUGAI_CONFIG (the test configuration) is not set");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("mugai-check-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);

  /* the test configuration as it is: nothing to say */
  gboolean fatal = TRUE;
  g_autoptr (MugaiConfig) good = check_policy (dir, "");
  g_autoptr (GPtrArray) none = mugai_config_check (good, &fatal);
  for (guint i = 0; i < none->len; i++)
    g_test_message ("%s", (const char *)none->pdata[i]);
  g_assert_false (fatal);

  /* a user that does not exist (-t used to pass it; the start refused) */
  g_autoptr (MugaiConfig) nouser = check_policy (dir, "user = mugai-no-such-user\n");
  g_autoptr (GPtrArray) l1 = mugai_config_check (nouser, &fatal);
  g_assert_true (fatal);
  g_assert_true (lines_have (l1, "error: ", "[milter] user mugai-no-such-user does not exist"));

  /* the roles' users need the front's: a worker_user alone is refused */
  g_autoptr (MugaiConfig) lone = check_policy (dir, "worker_user = nobody\n");
  g_autoptr (GPtrArray) l1b = mugai_config_check (lone, &fatal);
  g_assert_true (fatal);
  g_assert_true (lines_have (l1b, "error: ", "worker_user and storer_user need a [milter] user"));
  g_autoptr (MugaiConfig) nostorer
      = check_policy (dir, "user = nobody\nstorer_user = mugai-none\n");
  g_autoptr (GPtrArray) l1c = mugai_config_check (nostorer, &fatal);
  g_assert_true (fatal);
  g_assert_true (lines_have (l1c, "error: ", "[milter] storer_user mugai-none does not exist"));

  /* an empty ClamAV directory: refused, named */
  g_autofree char *empty = g_build_filename (dir, "emptydb", NULL);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  g_autoptr (MugaiConfig) nodb = check_policy (dir, "");
  g_free (nodb->policy->clamav.database);
  nodb->policy->clamav.database = g_strdup (empty);
  g_autoptr (GPtrArray) l2 = mugai_config_check (nodb, &fatal);
  g_assert_true (fatal);
  g_assert_true (lines_have (l2, "error: ", "no loadable ClamAV signatures in"));
  /* ... which a lab may allow: a warning then */
  nodb->policy->clamav_required = FALSE;
  g_autoptr (GPtrArray) l3 = mugai_config_check (nodb, &fatal);
  g_assert_false (fatal);
  g_assert_true (lines_have (l3, "warning: ", "running WITHOUT malware scanning"));

  /* a socket libmilter would not take */
  g_autoptr (MugaiConfig) badsock = check_policy (dir, "");
  g_free (badsock->node->milter.socket);
  badsock->node->milter.socket = g_strdup ("inet:port@127.0.0.1");
  g_autoptr (GPtrArray) l4 = mugai_config_check (badsock, &fatal);
  g_assert_true (fatal);
  g_assert_true (lines_have (l4, "error: ", "[milter] socket = inet:port@127.0.0.1"));

  /* a directory that is a file */
  g_autofree char *file = g_build_filename (dir, "file", NULL);
  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  g_autoptr (MugaiConfig) notdir = check_policy (dir, "");
  g_free (notdir->node->quarantine_dir);
  notdir->node->quarantine_dir = g_build_filename (file, "quarantine", NULL);
  g_autoptr (GPtrArray) l5 = mugai_config_check (notdir, &fatal);
  g_assert_true (fatal);
  g_assert_true (lines_have (l5, "error: [quarantine] dir ", "is not a directory"));

  /* as root: a user that cannot walk into the directories */
  if (geteuid () == 0 && g_chmod (dir, 0700) == 0)
    {
      g_autoptr (MugaiConfig) locked = check_policy (dir, "user = nobody\n");
      g_autoptr (GPtrArray) l6 = mugai_config_check (locked, &fatal);
      g_assert_true (fatal);
      g_assert_true (
          lines_have (l6, "error: [milter] spool_dir ", "[milter] user nobody cannot enter"));
      g_assert_true (lines_have (l6, "error: [audit] file's directory ", "cannot enter"));
      /* one user for every role: said, not fatal by itself */
      g_assert_true (lines_have (l6, "warning: ", "do not each have a user of their own"));

      /* each role's directories are checked for that role's user: the
       * store and the log for the storer's, the spool for the front's */
      g_autoptr (MugaiConfig) roles
          = check_policy (dir, "user = nobody\nworker_user = bin\nstorer_user = daemon\n");
      g_autoptr (GPtrArray) l7 = mugai_config_check (roles, &fatal);
      g_assert_true (fatal);
      g_assert_true (
          lines_have (l7, "error: [milter] spool_dir ", "[milter] user nobody cannot enter"));
      g_assert_true (
          lines_have (l7, "error: [quarantine] dir ", "[milter] storer_user daemon cannot enter"));
      g_assert_false (lines_have (l7, "warning: ", "do not each have a user of their own"));
      g_chmod (dir, 0755);
    }

  g_unlink (file);
  g_rmdir (empty);
  g_rmdir (dir);
}

/* [quarantine] backend = postgresql: the DSN file is checked as the
 * storer will open it (missing, not a file, readable by others, not
 * readable by the storer's user: refused, named) */
static void
test_dsn_check (void)
{
  if (!test_config)
    {
      g_test_skip ("MUGAI_CONFIG (the test configuration) is not set");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("mugai-dsn-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  g_autofree char *dsn = g_build_filename (dir, "quarantine.dsn", NULL);
  gboolean fatal = FALSE;
  g_autoptr (MugaiConfig) c = check_policy (dir, "");
  c->node->quarantine_backend = MUGAI_BACKEND_POSTGRESQL;
  g_free (c->node->quarantine_dsn_file);
  c->node->quarantine_dsn_file = g_strdup (dsn);

  /* missing */
  g_autoptr (GPtrArray) l1 = mugai_config_check (c, &fatal);
  g_assert_true (fatal);
  g_assert_true (lines_have (l1, "error: [quarantine] dsn_file ", "No such file"));

  /* a directory */
  g_assert_cmpint (g_mkdir (dsn, 0700), ==, 0);
  g_autoptr (GPtrArray) l2 = mugai_config_check (c, &fatal);
  g_assert_true (fatal);
  g_assert_true (lines_have (l2, "error: [quarantine] dsn_file ", "not a regular file"));
  g_rmdir (dsn);

  /* its group may read it: it may hold the password */
  g_assert_true (g_file_set_contents (dsn, "dbname=mugai\n", -1, NULL));
  g_assert_cmpint (g_chmod (dsn, 0640), ==, 0);
  g_autoptr (GPtrArray) l3 = mugai_config_check (c, &fatal);
  g_assert_true (fatal);
  g_assert_true (lines_have (l3, "error: [quarantine] dsn_file ", "mode 0640"));

  /* 0600, the starting user's (every role's): nothing to say about it */
  g_assert_cmpint (g_chmod (dsn, 0600), ==, 0);
  g_autoptr (GPtrArray) l4 = mugai_config_check (c, &fatal);
  for (guint i = 0; i < l4->len; i++)
    g_test_message ("%s", (const char *)l4->pdata[i]);
  g_assert_false (lines_have (l4, "error: [quarantine] dsn_file ", ""));
  g_assert_false (fatal);

  /* as root: the storer's user must be able to read it */
  struct passwd *daemon_pw = getpwnam ("daemon");
  if (geteuid () == 0 && daemon_pw)
    {
      g_autoptr (MugaiConfig) roles
          = check_policy (dir, "user = nobody\nworker_user = bin\nstorer_user = daemon\n");
      roles->node->quarantine_backend = MUGAI_BACKEND_POSTGRESQL;
      g_free (roles->node->quarantine_dsn_file);
      roles->node->quarantine_dsn_file = g_strdup (dsn);
      g_autoptr (GPtrArray) l5 = mugai_config_check (roles, &fatal);
      g_assert_true (fatal);
      g_assert_true (lines_have (l5, "error: [quarantine] dsn_file ",
                                 "[milter] storer_user daemon cannot read it"));
      g_assert_cmpint (chown (dsn, daemon_pw->pw_uid, daemon_pw->pw_gid), ==, 0);
      g_autoptr (GPtrArray) l6 = mugai_config_check (roles, &fatal);
      g_assert_false (lines_have (l6, "error: [quarantine] dsn_file ", ""));
      /* ... and walk to it */
      g_assert_cmpint (g_chmod (dir, 0700), ==, 0);
      g_autoptr (GPtrArray) l7 = mugai_config_check (roles, &fatal);
      g_assert_true (fatal);
      g_assert_true (lines_have (l7, "error: [quarantine] dsn_file ",
                                 "[milter] storer_user daemon cannot enter"));
      g_chmod (dir, 0755);
    }
  g_unlink (dsn);
  g_rmdir (dir);
}

/* One file, two parts: each key lands in the part that needs it (the
 * node's settings or the core's policy), and `mugai config check` prints
 * both, in mugai.conf(5)'s order, as text that loads back to the same. */
static void
test_parts (void)
{
  const char *text = "[sanitize]\nlinks = drop\n[milter]\nworkers = 3\nuser = mugai\n"
                     "socket_group = postfix\nmessage_timeout = 90\nspool_threshold = 64K\n"
                     "[quarantine]\ndir = /srv/q\n[audit]\nfile = /srv/a/audit.jsonl\n"
                     "syslog = no\n[clamav]\nreload_check = 7\nrequired = no\n"
                     "[limits]\ndepth = 9\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiConfig) c = mugai_config_load_data (text, strlen (text), "parts.conf", &error);
  g_assert_no_error (error);
  const MugaiNodeSettings *n = c->node;
  g_assert_cmpuint (n->milter.workers, ==, 3);
  g_assert_cmpstr (n->milter.user, ==, "mugai");
  g_assert_cmpstr (n->milter.socket_group, ==, "postfix");
  g_assert_cmpuint (n->milter.message_timeout, ==, 90);
  g_assert_cmpuint (n->milter.spool_threshold, ==, 64 * 1024);
  g_assert_cmpstr (n->quarantine_dir, ==, "/srv/q");
  g_assert_cmpstr (n->audit_file, ==, "/srv/a/audit.jsonl");
  g_assert_false (n->audit_syslog);
  g_assert_cmpuint (n->clamav_reload, ==, 7);
  /* the node's untouched keys keep their defaults */
  g_assert_cmpstr (n->milter.socket, ==, "unix:/run/mugai/milter.sock");
  g_assert_cmpuint (n->milter.queue_timeout, ==, 60);
  g_assert_null (n->milter.pid_file);
  const MugaiPolicy *p = c->policy;
  g_assert_cmpint (p->links, ==, MUGAI_LINKS_DROP);
  g_assert_false (p->clamav_required);
  g_assert_cmpuint (p->limits.depth, ==, 9);
  g_assert_cmpstr (c->source, ==, "parts.conf");

  g_autofree char *printed = mugai_config_to_string (c);
  g_assert_true (g_str_has_prefix (printed, "# effective configuration (source: parts.conf)\n"));
  const char *order[]
      = { "[sanitize]\n", "[notice]\n",  "[milter]\n",  "[quarantine]\n", "[audit]\n",
          "[clamav]\n",   "[convert]\n", "[sandbox]\n", "[limits]\n" };
  const char *at = printed;
  for (gsize i = 0; i < G_N_ELEMENTS (order); i++)
    {
      const char *next = strstr (at, order[i]);
      if (!next)
        g_error ("%s missing or out of order in:\n%s", order[i], printed);
      at = next;
    }
  g_assert_nonnull (strstr (printed, "\nworkers = 3\n"));
  g_assert_nonnull (strstr (printed, "\nreload_check = 7\n"));
  g_assert_nonnull (strstr (printed, "\nsyslog = no\n"));
  g_assert_nonnull (strstr (printed, "\n# pid_file = (not set)\n"));

  g_autoptr (MugaiConfig) q = mugai_config_load_data (printed, strlen (printed), "printed", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (q->node->milter.workers, ==, 3);
  g_assert_cmpstr (q->node->milter.socket_group, ==, "postfix");
  g_assert_cmpstr (q->node->quarantine_dir, ==, "/srv/q");
  g_assert_false (q->node->audit_syslog);
  g_assert_cmpuint (q->node->clamav_reload, ==, 7);
  g_assert_cmpint (q->policy->links, ==, MUGAI_LINKS_DROP);
  g_assert_cmpuint (q->policy->limits.depth, ==, 9);
  g_autofree char *again = mugai_config_to_string (q);
  g_assert_cmpstr (strchr (again, '\n'), ==, strchr (printed, '\n'));
}

/* The policy alone, for a caller that keeps nothing of the node (the
 * command's sanitize, the core's tests): the file's values, and a
 * failed load gives NULL without a crash. */
static void
test_steal_policy (void)
{
  const char *text = "[sanitize]\ncharset = iso-2022-jp\n[milter]\nworkers = 2\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiPolicy) p
      = mugai_config_steal_policy (mugai_config_load_data (text, strlen (text), "t", &error));
  g_assert_no_error (error);
  g_assert_nonnull (p);
  g_assert_cmpint (p->charset, ==, MUGAI_OUTPUT_ISO2022JP);
  const char *bad = "[milter]\nworkers = 0\n";
  g_autoptr (MugaiPolicy) none
      = mugai_config_steal_policy (mugai_config_load_data (bad, strlen (bad), "t", &error));
  g_assert_null (none);
  g_assert_error (error, MUGAI_CONFIG_ERROR, MUGAI_CONFIG_ERROR_VALUE);
  g_assert_nonnull (strstr (error->message, "[milter] workers = 0: bad value"));
}

/* [profile NAME]: the main policy with the group's keys over it; the
 * main policy itself untouched; a bad profile refused at load, naming
 * its line. */
static void
test_profiles (void)
{
  const char *text = "[convert]\npdf = remove\n[limits]\nparts = 300\n"
                     "[profile partner]\nconvert.pdf = image\nlinks = drop\nparts = 50\n"
                     "[profile plain]\n";
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiConfig) c = mugai_config_load_data (text, strlen (text), "p.conf", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (c->profiles->len, ==, 2);
  g_assert_cmpint (c->policy->convert.pdf, ==, MUGAI_PDF_REMOVE);
  g_autoptr (MugaiPolicy) p = mugai_config_profile (c, "partner", &error);
  g_assert_no_error (error);
  g_assert_cmpint (p->convert.pdf, ==, MUGAI_PDF_IMAGE);
  g_assert_cmpint (p->links, ==, MUGAI_LINKS_DROP);
  g_assert_cmpuint (p->limits.parts, ==, 50);
  g_assert_cmpstr (p->profile, ==, "partner");
  /* an empty profile is the main policy under another name */
  g_autoptr (MugaiPolicy) plain = mugai_config_profile (c, "plain", &error);
  g_assert_no_error (error);
  g_assert_cmpint (plain->convert.pdf, ==, MUGAI_PDF_REMOVE);
  g_assert_cmpuint (plain->limits.parts, ==, 300);
  /* the main policy is what it was */
  g_assert_cmpint (c->policy->links, !=, MUGAI_LINKS_DROP);
  g_assert_null (mugai_config_profile (c, "nosuch", &error));
  g_assert_error (error, MUGAI_CONFIG_ERROR, MUGAI_CONFIG_ERROR_UNKNOWN);
  g_assert_nonnull (strstr (error->message, "profiles: partner plain"));
  g_clear_error (&error);
  /* `mugai config check` shows them */
  g_autofree char *printed = mugai_config_to_string (c);
  g_assert_nonnull (
      strstr (printed, "[profile partner]\n# over the policy above\nconvert.pdf = image\n"));

  struct
  {
    const char *text, *says;
  } bad[] = {
    { "[profile x]\nmilter.user = root\n",
      "p.conf:2: [profile x] milter.user: a profile sets keys" },
    { "[profile x]\nuser = root\n", "a profile sets keys of [sanitize], [convert]" },
    { "[profile x]\npdf = sometimes\n", "bad value" },
    { "[profile ../x]\nlinks = drop\n", "a profile's name is 1 to 32" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (MugaiConfig) b
          = mugai_config_load_data (bad[i].text, strlen (bad[i].text), "p.conf", &error);
      g_assert_null (b);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, bad[i].says));
      g_clear_error (&error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  test_config = g_strdup (g_getenv ("MUGAI_CONFIG"));
  TESTUTIL_ADD_CASES ("/config/load", cases, name, test_case);
  g_test_add_func ("/config/values", test_values);
  g_test_add_func ("/config/roundtrip", test_roundtrip);
  g_test_add_func ("/config/template-file", test_template_file);
  g_test_add_func ("/config/env-default-missing", test_env_default_missing);
  g_test_add_func ("/config/convert-check", test_convert_check);
  g_test_add_func ("/config/start-check", test_start_check);
  g_test_add_func ("/config/dsn-check", test_dsn_check);
  g_test_add_func ("/config/parts", test_parts);
  g_test_add_func ("/config/steal-policy", test_steal_policy);
  g_test_add_func ("/config/profiles", test_profiles);
  return g_test_run ();
}
