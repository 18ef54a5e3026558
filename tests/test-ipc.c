/*
 * test-ipc.c - ipc.c: frames, descriptors, deadlines, violations
 */
#include "ipc.h"
#include "worker.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static void
pair (int sv[2])
{
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
}

static void
test_roundtrip_with_fd (void)
{
  int sv[2];
  pair (sv);
  int p[2];
  g_assert_cmpint (pipe (p), ==, 0);
  g_assert_cmpint (write (p[1], "spool", 5), ==, 5);
  close (p[1]);

  GVariantBuilder rcpts;
  g_variant_builder_init (&rcpts, G_VARIANT_TYPE ("as"));
  g_variant_builder_add (&rcpts, "s", "a@example.jp");
  /* a type with 8-octet alignment, stored after the 4-octet length */
  g_assert_true (mugai_ipc_send (sv[0], g_variant_new ("(td)", (guint64)7, 1.5), -1, NULL));
  g_autoptr (GVariant) aligned = mugai_ipc_recv (sv[1], "(td)", 0, NULL, NULL);
  g_assert_nonnull (aligned);
  guint64 seven = 0;
  double half = 0;
  g_variant_get (aligned, "(td)", &seven, &half);
  g_assert_cmpuint (seven, ==, 7);
  g_assert_cmpfloat (half, ==, 1.5);
  g_autoptr (GError) error = NULL;
  g_assert_true (mugai_ipc_send (
      sv[0],
      g_variant_new (MUGAI_IPC_REQUEST, "QID", "s@example.jp", "127.0.0.1", "localhost", &rcpts),
      p[0], &error));
  g_assert_no_error (error);
  close (p[0]);

  int fd = -1;
  g_autoptr (GVariant) v = mugai_ipc_recv (sv[1], MUGAI_IPC_REQUEST, 0, &fd, &error);
  g_assert_no_error (error);
  g_assert_nonnull (v);
  /* every field arrives as it was sent, in its place */
  const char *qid, *sender, *addr, *helo;
  g_autoptr (GVariantIter) to = NULL;
  g_variant_get (v, "(&s&s&s&sas)", &qid, &sender, &addr, &helo, &to);
  g_assert_cmpstr (qid, ==, "QID");
  g_assert_cmpstr (sender, ==, "s@example.jp");
  g_assert_cmpstr (addr, ==, "127.0.0.1");
  g_assert_cmpstr (helo, ==, "localhost");
  g_assert_cmpuint (g_variant_iter_n_children (to), ==, 1);
  const char *rcpt = NULL;
  g_assert_true (g_variant_iter_next (to, "&s", &rcpt));
  g_assert_cmpstr (rcpt, ==, "a@example.jp");
  g_assert_cmpint (fd, >=, 0);
  char buf[8] = "";
  g_assert_cmpint (read (fd, buf, sizeof buf), ==, 5);
  g_assert_cmpmem (buf, 5, "spool", 5);
  close (fd);
  close (sv[0]);
  close (sv[1]);
}

static void
test_timeout (void)
{
  int sv[2];
  pair (sv);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) v
      = mugai_ipc_recv (sv[1], MUGAI_IPC_HELLO, g_get_monotonic_time () + 100 * 1000, NULL, &error);
  g_assert_null (v);
  g_assert_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_TIMEOUT);
  close (sv[0]);
  close (sv[1]);
}

static void
test_closed (void)
{
  int sv[2];
  pair (sv);
  close (sv[0]);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) v = mugai_ipc_recv (sv[1], MUGAI_IPC_HELLO, 0, NULL, &error);
  g_assert_null (v);
  g_assert_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_CLOSED);
  close (sv[1]);
}

static void
test_violations (void)
{
  /* a frame claiming 1 GiB, and a frame of the wrong type */
  int sv[2];
  pair (sv);
  const guint8 huge[4] = { 0x40, 0, 0, 0 };
  g_assert_cmpint (write (sv[0], huge, 4), ==, 4);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) v = mugai_ipc_recv (sv[1], MUGAI_IPC_HELLO, 0, NULL, &error);
  g_assert_null (v);
  g_assert_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_PROTOCOL);
  close (sv[0]);
  close (sv[1]);

  pair (sv);
  g_clear_error (&error);
  /* "(u)" expected, a string arrives: not a (u) in normal form */
  g_assert_true (mugai_ipc_send (sv[0], g_variant_new ("(s)", "hello there"), -1, &error));
  g_autoptr (GVariant) w = mugai_ipc_recv (sv[1], MUGAI_IPC_HELLO, 0, NULL, &error);
  g_assert_null (w);
  g_assert_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_PROTOCOL);
  close (sv[0]);
  close (sv[1]);
}

/* How many of our descriptors point at a memfd named name. */
static guint
count_open (const char *name)
{
  g_autofree char *want = g_strdup_printf ("/memfd:%s (deleted)", name);
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  g_assert_nonnull (dir);
  guint n = 0;
  const char *e;
  while ((e = g_dir_read_name (dir)))
    {
      g_autofree char *link = g_build_filename ("/proc/self/fd", e, NULL);
      g_autofree char *target = g_file_read_link (link, NULL);
      if (target && g_str_equal (target, want))
        n++;
    }
  return n;
}

static void
test_several_fds_closed (void)
{
  /* One control message with three descriptors: a violation, and none of
   * the three stays open in the receiver (the old code kept the first,
   * closed the second and leaked the third). */
  int sv[2];
  pair (sv);
  g_autoptr (GVariant) hello = g_variant_ref_sink (g_variant_new (MUGAI_IPC_HELLO, 42));
  gsize len = g_variant_get_size (hello);
  g_autofree guint8 *frame = g_malloc (len + 4);
  guint32 be = GUINT32_TO_BE ((guint32)len);
  memcpy (frame, &be, 4);
  g_variant_store (hello, frame + 4);

  int fds[3];
  for (int i = 0; i < 3; i++)
    {
      fds[i] = memfd_create ("mugai-test-extra", MFD_CLOEXEC);
      g_assert_cmpint (fds[i], >=, 0);
    }
  union
  {
    char buf[CMSG_SPACE (sizeof fds)];
    struct cmsghdr align;
  } control;
  memset (&control, 0, sizeof control);
  struct iovec iov = { .iov_base = frame, .iov_len = len + 4 };
  struct msghdr mh = { .msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = control.buf,
                       .msg_controllen = sizeof control.buf };
  struct cmsghdr *c = CMSG_FIRSTHDR (&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof fds);
  memcpy (CMSG_DATA (c), fds, sizeof fds);
  g_assert_cmpint (sendmsg (sv[0], &mh, 0), ==, (ssize_t)(len + 4));
  for (int i = 0; i < 3; i++)
    close (fds[i]);
  /* in flight, the kernel holds them; none in our table */
  g_assert_cmpuint (count_open ("mugai-test-extra"), ==, 0);

  g_autoptr (GError) error = NULL;
  int fd = -1;
  g_autoptr (GVariant) v = mugai_ipc_recv (sv[1], MUGAI_IPC_HELLO, 0, &fd, &error);
  g_assert_null (v);
  g_assert_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_PROTOCOL);
  g_assert_cmpint (fd, ==, -1);
  g_assert_cmpuint (count_open ("mugai-test-extra"), ==, 0);
  close (sv[0]);
  close (sv[1]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ipc/roundtrip-with-fd", test_roundtrip_with_fd);
  g_test_add_func ("/ipc/timeout", test_timeout);
  g_test_add_func ("/ipc/closed", test_closed);
  g_test_add_func ("/ipc/violations", test_violations);
  g_test_add_func ("/ipc/several-fds-closed", test_several_fds_closed);
  return g_test_run ();
}
