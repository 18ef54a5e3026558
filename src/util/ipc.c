/*
 * ipc.c - length-prefixed, typed messages with a descriptor alongside
 *
 * DESCRIPTION
 *	See ipc.h.  The descriptor is attached to the first write of a frame
 *	and received with the first read of it; MSG_CMSG_CLOEXEC keeps it
 *	from leaking into anything the receiver runs later.
 */
#include "ipc.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The quark name is a string, not a subtraction. */
/* clang-format off */
G_DEFINE_QUARK (mugai-ipc-error-quark, mugai_ipc_error)
/* clang-format on */

static gboolean
wait_fd (int sock, short events, gint64 deadline, GError **error)
{
  for (;;)
    {
      int timeout = -1;
      if (deadline > 0)
        {
          gint64 left = deadline - g_get_monotonic_time ();
          if (left <= 0)
            {
              g_set_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_TIMEOUT, "timed out");
              return FALSE;
            }
          timeout = (int)MIN (left / 1000 + 1, G_MAXINT);
        }
      struct pollfd p = { .fd = sock, .events = events };
      int r = poll (&p, 1, timeout);
      if (r > 0)
        return TRUE;
      if (r == 0)
        continue; /* re-check the deadline */
      if (errno != EINTR)
        {
          g_set_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_IO, "poll: %s", g_strerror (errno));
          return FALSE;
        }
    }
}

gboolean
mugai_ipc_send (int sock, GVariant *msg, int fd, GError **error)
{
  g_autoptr (GVariant) owned = g_variant_ref_sink (msg);
  g_autoptr (GVariant) normal = g_variant_get_normal_form (owned);
  gsize len = g_variant_get_size (normal);
  if (len > MUGAI_IPC_MAX_FRAME)
    {
      g_set_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_PROTOCOL,
                   "frame of %zu octets too large", len);
      return FALSE;
    }
  /* g_variant_store() needs memory aligned for the type (8 for 't' and
   * 'd'): the variant gets its own buffer, the length goes before it. */
  g_autofree guint8 *data = g_malloc (len ? len : 1);
  g_variant_store (normal, data);
  g_autofree guint8 *buf = g_malloc (len + 4);
  guint32 be = GUINT32_TO_BE ((guint32)len);
  memcpy (buf, &be, 4);
  memcpy (buf + 4, data, len);

  gsize off = 0;
  gboolean fd_sent = fd < 0;
  while (off < len + 4)
    {
      struct iovec iov = { .iov_base = buf + off, .iov_len = len + 4 - off };
      struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
      union
      {
        char buf[CMSG_SPACE (sizeof (int))];
        struct cmsghdr align;
      } control;
      if (!fd_sent)
        {
          memset (&control, 0, sizeof control);
          mh.msg_control = control.buf;
          mh.msg_controllen = sizeof control.buf;
          struct cmsghdr *c = CMSG_FIRSTHDR (&mh);
          c->cmsg_level = SOL_SOCKET;
          c->cmsg_type = SCM_RIGHTS;
          c->cmsg_len = CMSG_LEN (sizeof (int));
          memcpy (CMSG_DATA (c), &fd, sizeof (int));
        }
      ssize_t n = sendmsg (sock, &mh, MSG_NOSIGNAL);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          g_set_error (error, MUGAI_IPC_ERROR,
                       errno == EPIPE || errno == ECONNRESET ? MUGAI_IPC_ERROR_CLOSED
                                                             : MUGAI_IPC_ERROR_IO,
                       "send: %s", g_strerror (errno));
          return FALSE;
        }
      fd_sent = TRUE;
      off += (gsize)n;
    }
  return TRUE;
}

/* Reads exactly len octets; collects at most one descriptor into *fd
 * (the caller closes it on failure) and closes any other that came. */
static gboolean
read_exact (int sock, guint8 *buf, gsize len, gint64 deadline, int *fd, GError **error)
{
  gsize off = 0;
  while (off < len)
    {
      if (!wait_fd (sock, POLLIN, deadline, error))
        return FALSE;
      struct iovec iov = { .iov_base = buf + off, .iov_len = len - off };
      union
      {
        char buf[CMSG_SPACE (sizeof (int) * 4)];
        struct cmsghdr align;
      } control;
      /* more than 4 descriptors: the kernel closes those that do not
       * fit and sets MSG_CTRUNC (a violation below) */
      struct msghdr mh = { .msg_iov = &iov,
                           .msg_iovlen = 1,
                           .msg_control = control.buf,
                           .msg_controllen = sizeof control.buf };
      ssize_t n = recvmsg (sock, &mh, MSG_CMSG_CLOEXEC);
      if (n < 0)
        {
          if (errno == EINTR || errno == EAGAIN)
            continue;
          g_set_error (error, MUGAI_IPC_ERROR,
                       errno == ECONNRESET ? MUGAI_IPC_ERROR_CLOSED : MUGAI_IPC_ERROR_IO,
                       "receive: %s", g_strerror (errno));
          return FALSE;
        }
      /* Every descriptor that arrived is ours now: keep the first of the
       * frame, close all the others (one control message may carry
       * several, and several control messages may come with one read)
       * before saying that the peer broke the protocol. */
      gboolean extra = FALSE;
      for (struct cmsghdr *c = CMSG_FIRSTHDR (&mh); c; c = CMSG_NXTHDR (&mh, c))
        {
          if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS
              || c->cmsg_len < CMSG_LEN (0))
            continue;
          const guchar *data = CMSG_DATA (c);
          gsize room = (gsize)((const guchar *)control.buf + mh.msg_controllen - data);
          gsize nfds = MIN ((c->cmsg_len - CMSG_LEN (0)), room) / sizeof (int);
          for (gsize i = 0; i < nfds; i++)
            {
              int one;
              memcpy (&one, data + i * sizeof (int), sizeof (int));
              if (*fd < 0 && !extra)
                *fd = one;
              else
                {
                  close (one);
                  extra = TRUE;
                }
            }
        }
      if (extra)
        {
          g_set_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_PROTOCOL,
                       "more than one descriptor in a frame");
          return FALSE;
        }
      if (mh.msg_flags & MSG_CTRUNC)
        {
          g_set_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_PROTOCOL, "truncated control data");
          return FALSE;
        }
      if (n == 0)
        {
          g_set_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_CLOSED,
                       "peer closed the connection");
          return FALSE;
        }
      off += (gsize)n;
    }
  return TRUE;
}

static GVariant *
recv_frame (int sock, const char *type, gint64 deadline, int *fd, GError **error)
{
  guint8 hdr[4];
  if (!read_exact (sock, hdr, 4, deadline, fd, error))
    return NULL;
  guint32 be;
  memcpy (&be, hdr, 4);
  gsize len = GUINT32_FROM_BE (be);
  if (len > MUGAI_IPC_MAX_FRAME)
    {
      g_set_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_PROTOCOL,
                   "frame of %zu octets too large", len);
      return NULL;
    }
  g_autofree guint8 *buf = g_malloc (len ? len : 1);
  if (!read_exact (sock, buf, len, deadline, fd, error))
    return NULL;
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&buf), len);
  g_autoptr (GVariant) v
      = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (type), bytes, FALSE));
  if (!g_variant_is_normal_form (v))
    {
      g_set_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_PROTOCOL,
                   "frame is not a %s in normal form", type);
      return NULL;
    }
  return g_steal_pointer (&v);
}

int
mugai_ipc_connect (const char *path, guint timeout_s, GError **error)
{
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof sun.sun_path)
    {
      g_set_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_IO, "%s: path too long", path);
      return -1;
    }
  g_strlcpy (sun.sun_path, path, sizeof sun.sun_path);
  int sock = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    {
      g_set_error (error, MUGAI_IPC_ERROR, MUGAI_IPC_ERROR_IO, "socket: %s", g_strerror (errno));
      return -1;
    }
  /* connect() on a full backlog waits at most this long */
  struct timeval tv = { .tv_sec = timeout_s };
  setsockopt (sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect (sock, (struct sockaddr *)&sun, sizeof sun) != 0)
    {
      int e = errno;
      g_set_error (error, MUGAI_IPC_ERROR,
                   e == EAGAIN || e == EINPROGRESS ? MUGAI_IPC_ERROR_TIMEOUT : MUGAI_IPC_ERROR_IO,
                   "%s: %s", path, g_strerror (e));
      close (sock);
      errno = e;
      return -1;
    }
  /* the send timeout was for connect(); the frames have deadlines */
  tv.tv_sec = 0;
  setsockopt (sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return sock;
}

GVariant *
mugai_ipc_recv (int sock, const char *type, gint64 deadline, int *fd_out, GError **error)
{
  int fd = -1;
  if (fd_out)
    *fd_out = -1;
  GVariant *v = recv_frame (sock, type, deadline, &fd, error);
  if (v && fd_out)
    *fd_out = fd;
  else if (fd >= 0)
    close (fd);
  return v;
}
