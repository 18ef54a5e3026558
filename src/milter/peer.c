/*
 * peer.c - SO_PEERCRED and the parent from /proc (see peer.h)
 */
#include "peer.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

pid_t
mugai_peer_parent_of (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int)pid);
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, NULL))
    return 0;
  /* "PID (COMM) S PPID ...": COMM may hold spaces and parentheses, so
   * the fields start after the last ')' */
  const char *close = strrchr (text, ')');
  if (!close)
    return 0;
  char state = 0;
  int ppid = 0;
  if (sscanf (close + 1, " %c %d", &state, &ppid) != 2 || ppid <= 0)
    return 0;
  return (pid_t)ppid;
}

gboolean
mugai_peer_check (int sock, const MugaiPeerRule *rule, pid_t *pid_out, GError **error)
{
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt (sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "SO_PEERCRED: %s",
                   g_strerror (errno));
      return FALSE;
    }
  if (pid_out)
    *pid_out = cred.pid;
  if (rule->uid != (uid_t)-1 && cred.uid != rule->uid)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "the %s's socket peer pid=%d runs as uid %u, not %u: refused", rule->role,
                   (int)cred.pid, (unsigned)cred.uid, (unsigned)rule->uid);
      return FALSE;
    }
  if (rule->parent > 0)
    {
      pid_t parent = mugai_peer_parent_of (cred.pid);
      if (parent != rule->parent)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                       "the %s's socket peer pid=%d (uid %u) is a child of pid %d, not of %d: "
                       "refused",
                       rule->role, (int)cred.pid, (unsigned)cred.uid, (int)parent,
                       (int)rule->parent);
          return FALSE;
        }
    }
  return TRUE;
}
