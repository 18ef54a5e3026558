/*
 * mailbox.c - read and write mbox files and Maildir folders
 *
 * DESCRIPTION
 *	See mailbox.h.  Lines are read with fgets() into a fixed buffer, so
 *	a line longer than the buffer arrives in pieces; only the first piece
 *	of a line can be a "From " separator or an escaped ">From ".
 *
 * OWNERSHIP
 *	The reader owns its FILE.  Returned GBytes and strings are owned by
 *	the caller.
 */
#include "mailbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#define LINE_BUFFER 65536

struct _MugaiMboxReader
{
  FILE *file;
  char *path;
  char *pending_from; /* separator line read ahead, without newline */
  gboolean eof;
  gsize start, end; /* unread octets in buf */
  char buf[LINE_BUFFER];
};

/* Next piece of a line: up to and including '\n', or as much as the
 * buffer holds.  NUL octets are data (fgets would cut at them).  Returns
 * FALSE at the end of the file or on a read error (errno set). */
static gboolean
next_piece (MugaiMboxReader *r, const char **piece, gsize *len, gboolean *ends_line,
            gboolean *failed)
{
  *failed = FALSE;
  if (r->start == r->end || !memchr (r->buf + r->start, '\n', r->end - r->start))
    {
      /* refill: keep the unread tail at the front */
      memmove (r->buf, r->buf + r->start, r->end - r->start);
      r->end -= r->start;
      r->start = 0;
      if (!r->eof && r->end < sizeof r->buf)
        {
          gsize n = fread (r->buf + r->end, 1, sizeof r->buf - r->end, r->file);
          r->end += n;
          if (n == 0)
            {
              if (ferror (r->file))
                {
                  *failed = TRUE;
                  return FALSE;
                }
              r->eof = TRUE;
            }
        }
    }
  if (r->start == r->end)
    return FALSE;
  const char *p = r->buf + r->start;
  const char *nl = memchr (p, '\n', r->end - r->start);
  *piece = p;
  *len = nl ? (gsize)(nl - p) + 1 : r->end - r->start;
  *ends_line = nl != NULL;
  r->start += *len;
  return TRUE;
}

MugaiMboxReader *
mugai_mbox_reader_open (const char *path, GError **error)
{
  FILE *f = fopen (path, "rb");
  if (!f)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", path,
                   g_strerror (e));
      return NULL;
    }
  MugaiMboxReader *r = g_new0 (MugaiMboxReader, 1);
  r->file = f;
  r->path = g_strdup (path);
  return r;
}

void
mugai_mbox_reader_free (MugaiMboxReader *reader)
{
  if (!reader)
    return;
  fclose (reader->file);
  g_free (reader->path);
  g_free (reader->pending_from);
  g_free (reader);
}

/* A separator longer than the buffer: its tail is not message data. */
static void
skip_rest_of_line (MugaiMboxReader *r, gboolean ends_line)
{
  const char *piece;
  gsize n;
  gboolean failed;
  while (!ends_line && next_piece (r, &piece, &n, &ends_line, &failed))
    ;
}

static gboolean
is_from_line (const char *line, gsize len)
{
  return len >= 5 && memcmp (line, "From ", 5) == 0;
}

/* ">From ", ">>From "...: mboxrd escaping */
static gboolean
is_escaped_from (const char *line, gsize len)
{
  gsize i = 0;
  while (i < len && line[i] == '>')
    i++;
  return i > 0 && len - i >= 5 && memcmp (line + i, "From ", 5) == 0;
}

gboolean
mugai_mbox_reader_next (MugaiMboxReader *r, gsize limit, GBytes **message, gsize *size,
                        char **from_line, GError **error)
{
  *message = NULL;
  *size = 0;
  *from_line = NULL;
  if (r->eof && r->start == r->end && !r->pending_from)
    return FALSE;

  g_autoptr (GByteArray) data = g_byte_array_new ();
  gsize total = 0;
  gboolean at_line_start = TRUE;
  gboolean prev_blank = TRUE; /* the previous full line was empty */
  gboolean cur_blank = FALSE;
  gboolean have_message = r->pending_from != NULL;
  g_autofree char *sep = g_steal_pointer (&r->pending_from);

  for (;;)
    {
      const char *piece;
      gsize n;
      gboolean ends_line, failed;
      if (!next_piece (r, &piece, &n, &ends_line, &failed))
        {
          if (failed)
            {
              int e = errno;
              g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", r->path,
                           g_strerror (e));
              return FALSE;
            }
          break;
        }

      if (at_line_start && is_from_line (piece, n) && (prev_blank || !have_message))
        {
          if (have_message && (data->len > 0 || total > 0))
            {
              /* next message begins: keep its separator for the next call */
              r->pending_from = g_strndup (piece, ends_line ? n - 1 : n);
              g_strchomp (r->pending_from);
              skip_rest_of_line (r, ends_line);
              break;
            }
          if (!have_message || !sep)
            {
              g_free (sep);
              sep = g_strndup (piece, ends_line ? n - 1 : n);
              g_strchomp (sep);
              have_message = TRUE;
              skip_rest_of_line (r, ends_line);
              at_line_start = TRUE;
              prev_blank = FALSE;
              continue;
            }
        }
      if (at_line_start && is_escaped_from (piece, n))
        piece++, n--;
      if (!have_message && n > 0)
        have_message = TRUE; /* an mbox without a first separator */

      if (at_line_start)
        cur_blank
            = (n == 1 && piece[0] == '\n') || (n == 2 && piece[0] == '\r' && piece[1] == '\n');
      else
        cur_blank = FALSE;

      total += n;
      if (total <= limit)
        g_byte_array_append (data, (const guint8 *)piece, (guint)n);
      if (ends_line)
        prev_blank = cur_blank;
      at_line_start = ends_line;
    }

  if (!have_message)
    return FALSE;

  /* the blank line before the next separator belongs to the mbox format */
  if (data->len > 0 && data->data[data->len - 1] == '\n' && total <= limit)
    {
      gsize l = data->len;
      if (l >= 2 && data->data[l - 2] == '\n')
        g_byte_array_set_size (data, (guint)(l - 1)), total--;
      else if (l >= 3 && data->data[l - 2] == '\r' && data->data[l - 3] == '\n')
        g_byte_array_set_size (data, (guint)(l - 2)), total -= 2;
    }

  *size = total;
  *from_line
      = sep ? g_steal_pointer (&sep) : g_strdup ("From MAILER-DAEMON Thu Jan  1 00:00:00 1970");
  if (total <= limit)
    *message = g_byte_array_free_to_bytes (g_steal_pointer (&data));
  return TRUE;
}

gboolean
mugai_mbox_write (FILE *out, const char *from_line, GBytes *message, GError **error)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (message, &len);
  fprintf (out, "%s\n", from_line);
  const char *p = data, *end = data + len;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', (gsize)(end - p));
      const char *line_end = nl ? nl + 1 : end;
      gsize line_len = (gsize)(line_end - p);
      if (is_escaped_from (p, line_len) || is_from_line (p, line_len))
        fputc ('>', out);
      fwrite (p, 1, (gsize)(line_end - p), out);
      p = line_end;
    }
  if (len == 0 || data[len - 1] != '\n')
    fputc ('\n', out);
  fputc ('\n', out);
  if (ferror (out))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "write error: %s", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *
mugai_maildir_list (const char *dir, GError **error)
{
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  static const char *const subdirs[] = { "cur", "new" };
  gboolean any = FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *sub = g_build_filename (dir, subdirs[i], NULL);
      g_autoptr (GDir) d = g_dir_open (sub, 0, NULL);
      if (!d)
        continue;
      any = TRUE;
      const char *name;
      while ((name = g_dir_read_name (d)))
        {
          if (name[0] == '.')
            continue;
          g_autofree char *path = g_build_filename (sub, name, NULL);
          if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add (paths, g_steal_pointer (&path));
        }
    }
  if (!any)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: not a Maildir (no cur/ or new/)",
                   dir);
      return NULL;
    }
  g_ptr_array_sort (paths, compare_paths);
  return g_steal_pointer (&paths);
}

gboolean
mugai_maildir_deliver (const char *dir, const char *basename, GBytes *message, GError **error)
{
  static const char *const subdirs[] = { "tmp", "new", "cur" };
  for (gsize i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *sub = g_build_filename (dir, subdirs[i], NULL);
      if (g_mkdir_with_parents (sub, 0700) != 0)
        {
          int e = errno;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", sub,
                       g_strerror (e));
          return FALSE;
        }
    }
  g_autofree char *base = g_path_get_basename (basename);
  char *colon = strchr (base, ':');
  if (colon)
    *colon = '\0';
  g_autofree char *tmp = g_build_filename (dir, "tmp", base, NULL);
  g_autofree char *dst = g_build_filename (dir, "new", base, NULL);

  gsize len = 0;
  const char *data = g_bytes_get_data (message, &len);
  int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", tmp, g_strerror (e));
      return FALSE;
    }
  gsize off = 0;
  while (off < len)
    {
      ssize_t w = write (fd, data + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          int e = errno;
          close (fd);
          unlink (tmp);
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", tmp,
                       g_strerror (e));
          return FALSE;
        }
      off += (gsize)w;
    }
  if (fsync (fd) != 0 || close (fd) != 0 || rename (tmp, dst) != 0)
    {
      int e = errno;
      unlink (tmp);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", dst, g_strerror (e));
      return FALSE;
    }
  return TRUE;
}
