/*
 * test-mailbox.c - mailbox.c: mbox (mboxrd) and Maildir, as mutt and
 *                  Dovecot would read what mugai writes
 */
#include "mailbox.h"

#include <string.h>
#include <sys/stat.h>

#include "testfiles.h"

static char *dir;

typedef struct
{
  const char *from; /* separator line, without newline */
  const char *body; /* message octets */
} Msg;

static guint
read_all (const char *path, gsize limit, Msg *got, guint max, gsize *sizes)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiMboxReader) r = mugai_mbox_reader_open (path, &error);
  g_assert_no_error (error);
  guint n = 0;
  for (;;)
    {
      GBytes *m = NULL;
      gsize size = 0;
      char *from = NULL;
      if (!mugai_mbox_reader_next (r, limit, &m, &size, &from, &error))
        break;
      g_assert_cmpuint (n, <, max);
      got[n].from = from;
      got[n].body = m ? g_strndup (g_bytes_get_data (m, NULL), g_bytes_get_size (m)) : NULL;
      if (m)
        g_assert_cmpuint (g_bytes_get_size (m), ==, size);
      sizes[n] = size;
      g_clear_pointer (&m, g_bytes_unref);
      n++;
    }
  g_assert_no_error (error);
  return n;
}

static void
free_msgs (Msg *m, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_free ((char *)m[i].from);
      g_free ((char *)m[i].body);
    }
}

static void
test_read (void)
{
  static const char mbox[] = "From a@example.jp Thu Dec  3 10:00:00 2026\n"
                             "Subject: one\n"
                             "\n"
                             "text\n"
                             "From the start, a line that is not a separator\n"
                             ">From escaped once\n"
                             ">>From escaped twice\n"
                             "\n"
                             "From b@example.jp Thu Dec  3 10:01:00 2026\n"
                             "Subject: two\r\n"
                             "\r\n"
                             "crlf body\r\n"
                             "\r\n"
                             "From c@example.jp Thu Dec  3 10:02:00 2026\n"
                             "Subject: three\n"
                             "\n"
                             "no final newline";
  testfiles_put (dir, "in.mbox", mbox, -1);
  g_autofree char *path = g_build_filename (dir, "in.mbox", NULL);
  Msg m[4];
  gsize sizes[4];
  guint n = read_all (path, 1 << 20, m, 4, sizes);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpstr (m[0].from, ==, "From a@example.jp Thu Dec  3 10:00:00 2026");
  /* a "From " not after a blank line is text; one ">" comes off */
  g_assert_cmpstr (m[0].body, ==,
                   "Subject: one\n\ntext\nFrom the start, a line that is not a separator\n"
                   "From escaped once\n>From escaped twice\n");
  g_assert_cmpstr (m[1].from, ==, "From b@example.jp Thu Dec  3 10:01:00 2026");
  g_assert_cmpstr (m[1].body, ==, "Subject: two\r\n\r\ncrlf body\r\n");
  g_assert_cmpstr (m[2].body, ==, "Subject: three\n\nno final newline");
  free_msgs (m, n);
}

static void
test_over_limit (void)
{
  /* a message past the limit is counted, not kept; the next one reads */
  g_autoptr (GString) big = g_string_new ("From x Thu Dec  3 10:00:00 2026\nSubject: big\n\n");
  for (int i = 0; i < 2000; i++)
    g_string_append (big,
                     "0123456789012345678901234567890123456789012345678901234567890123456789\n");
  g_string_append (big, "\nFrom y Thu Dec  3 10:01:00 2026\nSubject: small\n\nok\n");
  testfiles_put (dir, "big.mbox", big->str, (gssize)big->len);
  g_autofree char *path = g_build_filename (dir, "big.mbox", NULL);
  Msg m[3];
  gsize sizes[3];
  guint n = read_all (path, 4096, m, 3, sizes);
  g_assert_cmpuint (n, ==, 2);
  g_assert_null (m[0].body);
  g_assert_cmpuint (sizes[0], >, 2000 * 71);
  g_assert_cmpstr (m[1].body, ==, "Subject: small\n\nok\n");
  free_msgs (m, n);
}

static void
test_long_line (void)
{
  /* one line longer than the reader's buffer arrives whole */
  g_autoptr (GString) s = g_string_new ("From x Thu Dec  3 10:00:00 2026\nSubject: long\n\n");
  g_autofree char *line = g_strnfill (200000, 'a');
  g_string_append (s, line);
  g_string_append (s, "\n");
  testfiles_put (dir, "long.mbox", s->str, (gssize)s->len);
  g_autofree char *path = g_build_filename (dir, "long.mbox", NULL);
  Msg m[2];
  gsize sizes[2];
  guint n = read_all (path, 1 << 20, m, 2, sizes);
  g_assert_cmpuint (n, ==, 1);
  g_autofree char *want = g_strconcat ("Subject: long\n\n", line, "\n", NULL);
  g_assert_cmpstr (m[0].body, ==, want);
  free_msgs (m, n);
}

static void
test_round_trip (void)
{
  /* what mugai writes reads back octet for octet, "From " lines and all */
  static const char *const bodies[] = {
    "Subject: a\n\nFrom here\n>From there\n\nFrom x Thu Dec  3 10:00:00 2026\nend\n",
    "Subject: b\n\nno newline at the end",
    "",
  };
  g_autofree char *path = g_build_filename (dir, "out.mbox", NULL);
  FILE *out = fopen (path, "wb");
  g_assert_nonnull (out);
  for (gsize i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr (GBytes) b = g_bytes_new_static (bodies[i], strlen (bodies[i]));
      g_autoptr (GError) error = NULL;
      g_assert_true (mugai_mbox_write (out, "From mugai Thu Dec  3 10:00:00 2026", b, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpint (fclose (out), ==, 0);

  g_autoptr (GBytes) file = testfiles_read (dir, "out.mbox");
  g_autofree char *text = g_strndup (g_bytes_get_data (file, NULL), g_bytes_get_size (file));
  g_assert_true (g_str_has_prefix (text,
                                   "From mugai Thu Dec  3 10:00:00 2026\nSubject: a\n\n>From here\n"
                                   ">>From there\n\n>From x Thu"));

  Msg m[4];
  gsize sizes[4];
  guint n = read_all (path, 1 << 20, m, 4, sizes);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpstr (m[0].body, ==, bodies[0]);
  /* a message without a final newline gets one (mbox needs it), the
   * empty one too */
  g_assert_cmpstr (m[1].body, ==, "Subject: b\n\nno newline at the end\n");
  g_assert_cmpstr (m[2].body, ==, "\n");
  free_msgs (m, n);
}

static void
test_maildir (void)
{
  g_autofree char *md = g_build_filename (dir, "Maildir", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_null (mugai_maildir_list (md, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);

  g_autoptr (GBytes) a = g_bytes_new_static ("Subject: a\n\nA\n", 14);
  g_autoptr (GBytes) b = g_bytes_new_static ("Subject: b\n\nB\n", 14);
  /* the info suffix and any directory in the name are dropped */
  g_assert_true (mugai_maildir_deliver (md, "/elsewhere/cur/1700000002.M1.host:2,S", b, &error));
  g_assert_no_error (error);
  g_assert_true (mugai_maildir_deliver (md, "1700000001.M1.host", a, &error));
  g_assert_no_error (error);

  g_autofree char *tmp = g_build_filename (md, "tmp", NULL);
  g_autoptr (GDir) t = g_dir_open (tmp, 0, NULL);
  g_assert_null (g_dir_read_name (t)); /* nothing left behind in tmp/ */
  g_autofree char *delivered = g_build_filename (md, "new", "1700000002.M1.host", NULL);
  struct stat st;
  g_assert_cmpint (stat (delivered, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* a dot file and a directory in cur/ are not messages */
  g_autofree char *cur = g_build_filename (md, "cur", NULL);
  testfiles_put (cur, ".hidden", "x", -1);
  testfiles_put (cur, "sub/x", "x", -1);
  testfiles_put (cur, "1600000000.M1.host:2,S", "Subject: old\n\n", -1);

  g_autoptr (GPtrArray) list = mugai_maildir_list (md, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  g_autofree char *base0 = g_path_get_basename (list->pdata[0]);
  g_autofree char *base1 = g_path_get_basename (list->pdata[1]);
  g_autofree char *base2 = g_path_get_basename (list->pdata[2]);
  g_assert_cmpstr (base0, ==, "1600000000.M1.host:2,S");
  g_assert_true (g_str_has_suffix (list->pdata[0], "/cur/1600000000.M1.host:2,S"));
  g_assert_cmpstr (base1, ==, "1700000001.M1.host");
  g_assert_cmpstr (base2, ==, "1700000002.M1.host");
  g_autoptr (GBytes) back = testfiles_read (md, "new/1700000001.M1.host");
  g_assert_true (g_bytes_equal (back, a));
}

static void
test_missing_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (dir, "no-such.mbox", NULL);
  g_assert_null (mugai_mbox_reader_open (path, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  /* the administrator is told which file */
  g_assert_nonnull (strstr (error->message, "no-such.mbox"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mailbox/read", test_read);
  g_test_add_func ("/mailbox/over-limit", test_over_limit);
  g_test_add_func ("/mailbox/long-line", test_long_line);
  g_test_add_func ("/mailbox/round-trip", test_round_trip);
  g_test_add_func ("/mailbox/maildir", test_maildir);
  g_test_add_func ("/mailbox/missing-file", test_missing_file);
  return testfiles_run_tests (&dir);
}
