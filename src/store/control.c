/*
 * control.c - the command's side of the storer's control and workflow
 *             sockets (control.h); the storer's side is src/milter/storer.c
 */
#include "control.h"

#include <errno.h>
#include <gio/gio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc.h"

char *
mugai_control_find (const char *run_dir, const char *name)
{
  g_autofree char *path = g_build_filename (run_dir, name, NULL);
  struct stat st;
  if (stat (path, &st) != 0 || !S_ISSOCK (st.st_mode))
    return NULL;
  /* a socket file left by a daemon that is gone: nothing listens */
  int s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  g_strlcpy (sun.sun_path, path, sizeof sun.sun_path);
  gboolean refused
      = s >= 0 && connect (s, (struct sockaddr *)&sun, sizeof sun) != 0 && errno == ECONNREFUSED;
  if (s >= 0)
    close (s);
  return refused ? NULL : g_steal_pointer (&path);
}

char *
mugai_control_socket (const char *run_dir)
{
  return mugai_control_find (run_dir, MUGAI_CONTROL_SOCKET);
}

gboolean
mugai_control_call (const char *path, const char *verb, gint64 arg, const char *id,
                    const char *const *options, const char *const *recipients, guint *count,
                    char **what, GError **error)
{
  GVariantBuilder opts, rcpts;
  g_variant_builder_init (&opts, G_VARIANT_TYPE ("a{ss}"));
  for (guint i = 0; options && options[i] && options[i + 1]; i += 2)
    g_variant_builder_add (&opts, "{ss}", options[i], options[i + 1]);
  g_variant_builder_init (&rcpts, G_VARIANT_TYPE_STRING_ARRAY);
  for (guint i = 0; recipients && recipients[i]; i++)
    g_variant_builder_add (&rcpts, "s", recipients[i]);
  GVariant *req = g_variant_new (MUGAI_CONTROL_REQUEST, verb, arg, id ? id : "", &opts, &rcpts);
  g_autoptr (GVariant) sunk = g_variant_ref_sink (req);

  int sock = mugai_ipc_connect (path, 10, error);
  if (sock < 0)
    return FALSE;
  gint64 deadline = g_get_monotonic_time () + (gint64)MUGAI_CONTROL_TIMEOUT * G_USEC_PER_SEC;
  g_autoptr (GVariant) answer = NULL;
  gboolean ok = FALSE;
  if (mugai_ipc_send (sock, sunk, -1, error)
      && (answer = mugai_ipc_recv (sock, MUGAI_CONTROL_ANSWER, deadline, NULL, error)))
    {
      const char *text = NULL;
      guint32 n = 0;
      g_variant_get (answer, "(b&su)", &ok, &text, &n);
      if (count)
        *count = n;
      if (what)
        *what = g_strdup (text);
      if (!ok)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", text);
    }
  else if (error && !*error)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: no answer from the storer", path);
  close (sock);
  return ok;
}

gboolean
mugai_control_purge (const char *path, gint64 cutoff, guint *removed, char **what, GError **error)
{
  return mugai_control_call (path, "purge", cutoff, NULL, NULL, NULL, removed, what, error);
}
