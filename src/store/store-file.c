/*
 * store-file.c - the files backend of the store: a directory per UTC day
 *
 * SYNOPSIS
 *	store = mugai_store_open ("file:/var/lib/mugai/quarantine", ...);
 *	        (or the plain directory; quarantine.h)
 *
 * DESCRIPTION
 *	One entry is two files in a directory per UTC day:
 *
 *		DIR/YYYY-MM-DD/ID.eml	the original, octet for octet
 *		DIR/YYYY-MM-DD/ID.json	the record (mugai_store_entry_to_json())
 *
 *	The day is the one in the id, so an id alone finds its entry.  An
 *	entry exists when both files exist; the .json is renamed into place
 *	last, so readers never see half an entry.  This layout is the one
 *	mugai has always written; records of format 1 without "state" and
 *	"sha256" (written before they were recorded) are read as entries of
 *	the state their verdict implies and of unknown digest.
 *
 *	Every path is resolved relative to a directory descriptor opened
 *	once (openat(2) and friends), and every name in it is built from an
 *	id that passed mugai_store_id_is_valid(); O_NOFOLLOW keeps a planted
 *	symbolic link from leading outside the store.
 *
 *	Durability follows the usual recipe (Postfix's queue files; the
 *	ext4 "rename without fsync" data-loss reports of 2009): write a
 *	temporary file in the final directory, fsync it, rename it, fsync
 *	the directory.  The .eml is made durable first and the .json second, so
 *	that after a crash there is never metadata without its original.
 *	A crash in between leaves an .eml without .json: invisible to
 *	readers, removed by purge.  The final rename refuses to replace an
 *	existing file (RENAME_NOREPLACE, or link(2) where the file system
 *	lacks it), so even an id collision cannot destroy an original.
 *
 *	Modes: the store and its day directories are 0700, the files 0600:
 *	the originals are for mugai's user alone (Postfix reaches the milter
 *	socket through a group of its own, never the store).  A store that
 *	grants more is brought to 0700 when opened for writing; entries
 *	written by an older version (0750/0640) keep their modes but cannot
 *	be reached through it.
 *
 *	No locks: ids are unique (48 random bits per second) and rename is
 *	atomic, so concurrent workers never touch the same file.  Purge can
 *	rmdir an empty day directory while a store is about to create a
 *	file in it; the store then makes the directory again and retries.
 *
 *	Purge decides by the "time" in the record, not by file times,
 *	which a backup restore or `cp` would change.  Only a .json that
 *	cannot be read falls back to its mtime, so that a damaged entry
 *	does not stay for ever.
 *
 *	States: this backend writes the state an entry is added in and has
 *	no way yet to change it (the release workflow will rewrite the
 *	record, durably, the same way); purge removes entries whole, so
 *	PURGED is never seen here.
 *
 * LIMITS
 *	A .json larger than MAX_METADATA is refused as damaged: the reader
 *	(the CLI, run by an administrator) must not be made to swallow an
 *	arbitrary file planted in the store.
 *
 * ERRORS
 *	MUGAI_STORE_ERROR naming the path: NOT_FOUND for ENOENT, EXISTS for
 *	an id taken, CORRUPT for a record that cannot be read, IO for the
 *	rest.
 *
 * THREADS
 *	Thread-safe: the handle is immutable, no function keeps state.
 */
#include "store-backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <gio/gunixinputstream.h>

/* "20261122T004644Z-0123456789ab" */
#define ID_LEN 29
/* "2026-11-22" */
#define DAY_LEN 10
#define COPY_BUFFER (128 * 1024)
/* A report lists at most limits.parts parts (100000 at most) of a few
 * hundred octets each. */
#define MAX_METADATA (64 * 1024 * 1024)
/* Leftovers of a store younger than this may belong to a store still in
 * progress. */
#define LEFTOVER_AGE 3600

typedef struct
{
  char *dir;
  int dirfd;
} FileStore;

/* ---- errors ----------------------------------------------------------------- */

static int
code_of (int err)
{
  return err == ENOENT   ? MUGAI_STORE_ERROR_NOT_FOUND
         : err == EEXIST ? MUGAI_STORE_ERROR_EXISTS
                         : MUGAI_STORE_ERROR_IO;
}

static void
set_errno_error (GError **error, int err, const char *path, const char *what)
{
  if (what)
    g_set_error (error, MUGAI_STORE_ERROR, code_of (err), "%s: %s: %s", path, what,
                 g_strerror (err));
  else
    g_set_error (error, MUGAI_STORE_ERROR, code_of (err), "%s: %s", path, g_strerror (err));
}

static gboolean
all_digits (const char *s, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
  return TRUE;
}

/* The day directory name of a valid id. */
static void
day_of (const char *id, char out[DAY_LEN + 1])
{
  g_snprintf (out, DAY_LEN + 1, "%.4s-%.2s-%.2s", id, id + 4, id + 6);
}

static gboolean
is_day_name (const char *name)
{
  return strlen (name) == DAY_LEN && all_digits (name, 4) && name[4] == '-'
         && all_digits (name + 5, 2) && name[7] == '-' && all_digits (name + 8, 2);
}

/* If name is "ID" + suffix for a valid ID of this day, copies ID. */
static gboolean
entry_name (const char *name, const char *suffix, const char *day, char id[ID_LEN + 1])
{
  gsize len = strlen (name), slen = strlen (suffix);
  if (len != ID_LEN + slen || !g_str_has_suffix (name, suffix))
    return FALSE;
  memcpy (id, name, ID_LEN);
  id[ID_LEN] = '\0';
  if (!mugai_store_id_is_valid (id))
    return FALSE;
  char d[DAY_LEN + 1];
  day_of (id, d);
  return g_str_equal (d, day);
}

/* ---- files ------------------------------------------------------------------ */

static gboolean
write_all (int fd, const guint8 *buf, gsize len, const char *path, GError **error)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          set_errno_error (error, errno, path, "write");
          return FALSE;
        }
      buf += n;
      len -= (gsize)n;
    }
  return TRUE;
}

static gboolean
copy_from_fd (int out, int in, const char *path, GChecksum *sum, gsize *total, GError **error)
{
  g_autofree guint8 *buf = g_malloc (COPY_BUFFER);
  off_t offset = 0;
  for (;;)
    {
      ssize_t n = pread (in, buf, COPY_BUFFER, offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          set_errno_error (error, errno, path, "reading the original");
          return FALSE;
        }
      if (n == 0)
        break;
      if (!write_all (out, buf, (gsize)n, path, error))
        return FALSE;
      if (sum)
        g_checksum_update (sum, buf, n);
      offset += n;
    }
  *total = (gsize)offset;
  return TRUE;
}

/* rename(2) that never replaces name: an existing entry is never lost,
 * even to an id collision. */
static int
rename_noreplace (int dfd, const char *from, const char *to)
{
  if (renameat2 (dfd, from, dfd, to, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS)
    return -1;
  /* a file system without RENAME_NOREPLACE (NFS, some FUSE) */
  if (linkat (dfd, from, dfd, to, 0) != 0)
    return -1;
  unlinkat (dfd, from, 0);
  return 0;
}

/* Opens the day directory, creating it (0700) if asked.  A directory
 * just created is made durable in the store directory. */
static int
open_day (FileStore *q, const char *day, gboolean create, GError **error)
{
  g_autofree char *path = g_build_filename (q->dir, day, NULL);
  if (create)
    {
      if (mkdirat (q->dirfd, day, 0700) == 0)
        {
          if (fsync (q->dirfd) != 0)
            {
              set_errno_error (error, errno, q->dir, "fsync");
              return -1;
            }
        }
      else if (errno != EEXIST)
        {
          set_errno_error (error, errno, path, "mkdir");
          return -1;
        }
    }
  int dfd = openat (q->dirfd, day, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    set_errno_error (error, errno, path, NULL);
  return dfd;
}

/* Writes one file of an entry: temporary name, fsync, no-replace rename,
 * fsync of the directory.  On failure nothing of it remains. */
static gboolean
write_durably (int dfd, const char *dirpath, const char *name, int fd, int src_fd,
               const guint8 *data, gsize len, GChecksum *sum, gsize *written, GError **error)
{
  g_autofree char *tmp = g_strdup_printf (".%s.tmp", name);
  g_autofree char *path = g_build_filename (dirpath, name, NULL);
  gsize total = len;
  gboolean ok = src_fd >= 0 ? copy_from_fd (fd, src_fd, path, sum, &total, error)
                            : write_all (fd, data, len, path, error);
  if (ok && src_fd < 0 && sum)
    g_checksum_update (sum, data, (gssize)len);
  /* the data may still be in the page cache only: ENOSPC and EIO can
   * first show up here */
  if (ok && fsync (fd) != 0)
    {
      set_errno_error (error, errno, path, "fsync");
      ok = FALSE;
    }
  if (close (fd) != 0 && ok)
    {
      set_errno_error (error, errno, path, "close");
      ok = FALSE;
    }
  if (ok && rename_noreplace (dfd, tmp, name) != 0)
    {
      if (errno == EEXIST)
        g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_EXISTS,
                     "%s: an entry with this id exists already", path);
      else
        set_errno_error (error, errno, path, "rename");
      ok = FALSE;
    }
  if (!ok)
    {
      unlinkat (dfd, tmp, 0);
      return FALSE;
    }
  if (fsync (dfd) != 0)
    {
      set_errno_error (error, errno, dirpath, "fsync");
      unlinkat (dfd, name, 0);
      return FALSE;
    }
  if (written)
    *written = total;
  return TRUE;
}

/* Creates the temporary file for name in the day directory.  Purge may
 * remove an empty day directory between our mkdir and our create, so
 * ENOENT is retried a few times. */
static gboolean
create_temp (FileStore *q, const char *day, const char *name, int *dfd_out, int *fd_out,
             GError **error)
{
  g_autofree char *tmp = g_strdup_printf (".%s.tmp", name);
  g_autofree char *dirpath = g_build_filename (q->dir, day, NULL);
  for (int attempt = 0;; attempt++)
    {
      int dfd = open_day (q, day, TRUE, error);
      if (dfd < 0)
        return FALSE;
      int fd = openat (dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd >= 0)
        {
          *dfd_out = dfd;
          *fd_out = fd;
          return TRUE;
        }
      int e = errno;
      close (dfd);
      if (e != ENOENT || attempt == 2)
        {
          g_autofree char *path = g_build_filename (dirpath, tmp, NULL);
          set_errno_error (error, e, path, NULL);
          return FALSE;
        }
    }
}

static gboolean
read_metadata (int dfd, const char *dirpath, const char *id, MugaiStoreEntry **out,
               struct stat *st_out, GError **error)
{
  g_autofree char *name = g_strconcat (id, ".json", NULL);
  g_autofree char *path = g_build_filename (dirpath, name, NULL);
  int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      set_errno_error (error, errno, path, NULL);
      return FALSE;
    }
  struct stat st;
  if (fstat (fd, &st) != 0)
    {
      set_errno_error (error, errno, path, NULL);
      close (fd);
      return FALSE;
    }
  if (st_out)
    *st_out = st;
  if (!S_ISREG (st.st_mode) || st.st_size > MAX_METADATA)
    {
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT,
                   "%s: damaged metadata: not a regular file of at most %d octets", path,
                   MAX_METADATA);
      close (fd);
      return FALSE;
    }
  gsize len = (gsize)st.st_size;
  g_autofree char *text = g_malloc (len + 1);
  gsize got = 0;
  while (got < len)
    {
      ssize_t n = read (fd, text + got, len - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n < 0)
            set_errno_error (error, errno, path, "read");
          else
            g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_CORRUPT,
                         "%s: truncated while read", path);
          close (fd);
          return FALSE;
        }
      got += (gsize)n;
    }
  close (fd);
  text[len] = '\0';
  *out = mugai_store_entry_from_json (text, len, id, path, error);
  return *out != NULL;
}

/* ENOENT-ish errors become "no such entry" naming the path asked for. */
static void
not_found (GError **error, const char *path)
{
  g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND,
               "%s: no such quarantine entry", path);
}

/* local (taken) handed on, a "not found" of it re-said naming path. */
static void
propagate_naming (GError **error, GError *local, const char *path)
{
  if (g_error_matches (local, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND))
    {
      not_found (error, path);
      g_error_free (local);
    }
  else
    g_propagate_error (error, local);
}

/* ---- the store -------------------------------------------------------------- */

static gpointer
file_open (const char *dir, MugaiStoreMode mode, GError **error)
{
  gboolean writable = mode == MUGAI_STORE_CREATE;
  if (writable)
    {
      struct stat st;
      if (stat (dir, &st) != 0 && errno == ENOENT)
        {
          if (g_mkdir_with_parents (dir, 0700) != 0)
            {
              set_errno_error (error, errno, dir, "mkdir");
              return NULL;
            }
          /* make the new directory itself durable in its parent */
          g_autofree char *parent = g_path_get_dirname (dir);
          int pfd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (pfd >= 0)
            {
              fsync (pfd);
              close (pfd);
            }
        }
    }
  int dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      set_errno_error (error, errno, dir, NULL);
      return NULL;
    }
  /* Say so now, at start-up, rather than at the first message.  root
   * passes any permission check, but a read-only mount still fails. */
  if (writable && faccessat (dirfd, ".", W_OK | X_OK, AT_EACCESS) != 0)
    {
      set_errno_error (error, errno, dir, "not writable");
      close (dirfd);
      return NULL;
    }
  /* A store made by an older version (0750) or by hand: the originals are
   * for mugai's user alone.  Closing the top directory closes every day
   * directory and file under it, whatever their own modes. */
  struct stat st;
  if (writable && fstat (dirfd, &st) == 0 && (st.st_mode & 077) != 0
      && fchmod (dirfd, st.st_mode & 0700) != 0)
    {
      int e = errno;
      g_set_error (error, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_IO,
                   "%s: mode %04o gives others access and cannot be changed: %s", dir,
                   (unsigned)(st.st_mode & 07777), g_strerror (e));
      close (dirfd);
      return NULL;
    }
  FileStore *q = g_new0 (FileStore, 1);
  q->dir = g_strdup (dir);
  q->dirfd = dirfd;
  return q;
}

static void
file_close (gpointer handle)
{
  FileStore *q = handle;
  if (q->dirfd >= 0)
    close (q->dirfd);
  g_free (q->dir);
  g_free (q);
}

/* Step 1 of an add, shared with the sqlite backend: the original,
 * durable under its final name; *stored and *sha256 (hex) what was
 * written. */
static gboolean
write_original (FileStore *q, const char *id, int fd, GBytes *data, gsize *stored, char **sha256,
                GError **error)
{
  char day[DAY_LEN + 1];
  day_of (id, day);
  g_autofree char *dirpath = g_build_filename (q->dir, day, NULL);
  g_autofree char *eml = g_strconcat (id, ".eml", NULL);
  int dfd = -1, tfd = -1;
  if (!create_temp (q, day, eml, &dfd, &tfd, error))
    return FALSE;
  gsize len = 0;
  const guint8 *bytes = data ? g_bytes_get_data (data, &len) : NULL;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gboolean ok = write_durably (dfd, dirpath, eml, tfd, fd, bytes, len, sum, stored, error);
  close (dfd);
  if (ok)
    *sha256 = g_strdup (g_checksum_get_string (sum));
  return ok;
}

static gboolean
file_add (gpointer handle, int fd, GBytes *data, const MugaiStoreEntry *entry, GError **error)
{
  FileStore *q = handle;

  char day[DAY_LEN + 1];
  day_of (entry->id, day);
  g_autofree char *dirpath = g_build_filename (q->dir, day, NULL);
  g_autofree char *eml = g_strconcat (entry->id, ".eml", NULL);
  g_autofree char *json = g_strconcat (entry->id, ".json", NULL);

  /* 1. the original */
  gsize stored = 0;
  g_autofree char *sha256 = NULL;
  if (!write_original (q, entry->id, fd, data, &stored, &sha256, error))
    return FALSE;

  /* 2. the metadata, which makes the entry visible */
  MugaiStoreEntry meta = *entry;
  meta.size = stored;
  meta.sha256 = sha256;
  meta.state = mugai_store_initial_state (entry->verdict);
  if (meta.time == 0)
    meta.time = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *text = mugai_store_entry_to_json (&meta, TRUE);
  g_autoptr (GString) line = g_string_new (text);
  g_string_append_c (line, '\n');
  int dfd = -1, tfd = -1;
  if (!create_temp (q, day, json, &dfd, &tfd, error))
    {
      g_autofree char *p = g_build_filename (q->dir, day, eml, NULL);
      unlink (p);
      return FALSE;
    }
  gboolean ok = write_durably (dfd, dirpath, json, tfd, -1, (const guint8 *)line->str, line->len,
                               NULL, NULL, error);
  if (!ok)
    unlinkat (dfd, eml, 0);
  close (dfd);
  return ok;
}

/* Opens the directory again through a new open file description, so
 * that readdir's position is not shared with other threads. */
static DIR *
open_dir_at (int at, const char *name, const char *path, GError **error)
{
  int fd = openat (at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (!d)
    {
      set_errno_error (error, errno, path, NULL);
      if (fd >= 0)
        close (fd);
    }
  return d;
}

/* The day directories, sorted. */
static GPtrArray *
list_days (FileStore *q, GError **error)
{
  DIR *d = open_dir_at (q->dirfd, ".", q->dir, error);
  if (!d)
    return NULL;
  GPtrArray *days = g_ptr_array_new_with_free_func (g_free);
  struct dirent *de;
  while ((de = readdir (d)))
    if (is_day_name (de->d_name))
      g_ptr_array_add (days, g_strdup (de->d_name));
  closedir (d);
  g_ptr_array_sort (days, (GCompareFunc)g_strcmp0);
  return days;
}

static GPtrArray *
list_names (int dfd, const char *path, GError **error)
{
  DIR *d = open_dir_at (dfd, ".", path, error);
  if (!d)
    return NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *de;
  while ((de = readdir (d)))
    g_ptr_array_add (names, g_strdup (de->d_name));
  closedir (d);
  return names;
}

static gboolean
exists_at (int dfd, const char *name)
{
  struct stat st;
  return fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static GPtrArray *
file_list (gpointer handle, const MugaiStoreFilter *filter, GError **error)
{
  FileStore *q = handle;
  gint64 since = filter ? filter->since : 0;
  g_autoptr (GPtrArray) days = list_days (q, error);
  if (!days)
    return NULL;
  g_autoptr (GPtrArray) out
      = g_ptr_array_new_with_free_func ((GDestroyNotify)mugai_store_entry_free);
  for (guint i = 0; i < days->len; i++)
    {
      const char *day = days->pdata[i];
      g_autofree char *dirpath = g_build_filename (q->dir, day, NULL);
      int dfd = open_day (q, day, FALSE, error);
      if (dfd < 0)
        return NULL;
      g_autoptr (GPtrArray) names = list_names (dfd, dirpath, error);
      if (!names)
        {
          close (dfd);
          return NULL;
        }
      for (guint k = 0; k < names->len; k++)
        {
          char id[ID_LEN + 1];
          if (!entry_name (names->pdata[k], ".json", day, id))
            continue;
          g_autofree char *eml = g_strconcat (id, ".eml", NULL);
          if (!exists_at (dfd, eml))
            continue;
          MugaiStoreEntry *e = NULL;
          struct stat st = { 0 };
          g_autoptr (GError) local = NULL;
          if (!read_metadata (dfd, dirpath, id, &e, &st, &local))
            {
              if (g_error_matches (local, MUGAI_STORE_ERROR, MUGAI_STORE_ERROR_NOT_FOUND))
                continue; /* purged while we looked */
              e = mugai_store_entry_new ();
              e->id = g_strdup (id);
              e->time = st.st_mtime;
              e->verdict = g_strdup ("unreadable");
            }
          /* a list holds no reports: it may be long */
          g_clear_pointer (&e->report, json_node_unref);
          if (e->time >= since)
            g_ptr_array_add (out, e);
          else
            mugai_store_entry_free (e);
        }
      close (dfd);
    }
  return g_steal_pointer (&out);
}

/* Opens the day directory of a valid id for reading; "no such entry"
 * when it does not exist. */
static int
open_entry_day (FileStore *q, const char *id, const char *file, GError **error)
{
  char day[DAY_LEN + 1];
  day_of (id, day);
  g_autoptr (GError) local = NULL;
  int dfd = open_day (q, day, FALSE, &local);
  if (dfd < 0)
    {
      g_autofree char *path = g_build_filename (q->dir, day, file, NULL);
      propagate_naming (error, g_steal_pointer (&local), path);
    }
  return dfd;
}

static MugaiStoreEntry *
file_get (gpointer handle, const char *id, GError **error)
{
  FileStore *q = handle;
  g_autofree char *json = g_strconcat (id, ".json", NULL);
  g_autofree char *eml = g_strconcat (id, ".eml", NULL);
  int dfd = open_entry_day (q, id, json, error);
  if (dfd < 0)
    return NULL;
  char day[DAY_LEN + 1];
  day_of (id, day);
  g_autofree char *dirpath = g_build_filename (q->dir, day, NULL);
  g_autoptr (GError) local = NULL;
  MugaiStoreEntry *e = NULL;
  /* an entry exists when both files do */
  if (!exists_at (dfd, eml))
    {
      g_autofree char *path = g_build_filename (dirpath, json, NULL);
      not_found (error, path);
    }
  else if (!read_metadata (dfd, dirpath, id, &e, NULL, &local))
    {
      g_autofree char *path = g_build_filename (dirpath, json, NULL);
      propagate_naming (error, g_steal_pointer (&local), path);
    }
  close (dfd);
  return e;
}

static GInputStream *
file_open_original (gpointer handle, const char *id, GError **error)
{
  FileStore *q = handle;
  g_autofree char *json = g_strconcat (id, ".json", NULL);
  g_autofree char *eml = g_strconcat (id, ".eml", NULL);
  int dfd = open_entry_day (q, id, eml, error);
  if (dfd < 0)
    return NULL;
  char day[DAY_LEN + 1];
  day_of (id, day);
  g_autofree char *path = g_build_filename (q->dir, day, eml, NULL);
  int fd = -1;
  if (!exists_at (dfd, json))
    not_found (error, path);
  else if ((fd = openat (dfd, eml, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
    {
      if (errno == ENOENT)
        not_found (error, path);
      else
        set_errno_error (error, errno, path, NULL);
    }
  close (dfd);
  return fd >= 0 ? g_unix_input_stream_new (fd, TRUE) : NULL;
}

/* Removes name unless already gone; the first failure is kept. */
static void
remove_at (int dfd, const char *dirpath, const char *name, GError **error)
{
  if (unlinkat (dfd, name, 0) == 0 || errno == ENOENT)
    return;
  if (error && !*error)
    {
      g_autofree char *path = g_build_filename (dirpath, name, NULL);
      set_errno_error (error, errno, path, "unlink");
    }
}

/* A temporary file or an .eml whose .json never came: what a store
 * interrupted by a crash (or by a failure it could not clean) leaves. */
static gboolean
is_leftover (int dfd, const char *name, const char *day)
{
  char id[ID_LEN + 1];
  if (name[0] == '.' && g_str_has_suffix (name, ".tmp"))
    {
      g_autofree char *inner = g_strndup (name + 1, strlen (name) - 5);
      return entry_name (inner, ".eml", day, id) || entry_name (inner, ".json", day, id);
    }
  if (!entry_name (name, ".eml", day, id))
    return FALSE;
  g_autofree char *json = g_strconcat (id, ".json", NULL);
  return !exists_at (dfd, json);
}

/* What a walk of the day directories does with each name in one (names
 * are read before anything is removed: readdir(3) does not promise a
 * stable walk of a directory that changes under it).  *first keeps the
 * first failure. */
typedef void (*DayNameFn) (int dfd, const char *dirpath, const char *day, const char *name,
                           gpointer data, GError **first);

/* Every name of every day directory to fn; each day directory left
 * empty removed. */
static void
walk_days (FileStore *q, DayNameFn fn, gpointer data, GError **error)
{
  g_autoptr (GError) first = NULL;
  g_autoptr (GPtrArray) days = list_days (q, &first);
  for (guint i = 0; days && i < days->len; i++)
    {
      const char *day = days->pdata[i];
      g_autofree char *dirpath = g_build_filename (q->dir, day, NULL);
      int dfd = open_day (q, day, FALSE, first ? NULL : &first);
      if (dfd < 0)
        continue;
      g_autoptr (GPtrArray) names = list_names (dfd, dirpath, first ? NULL : &first);
      for (guint k = 0; names && k < names->len; k++)
        fn (dfd, dirpath, day, names->pdata[k], data, &first);
      close (dfd);
      /* fails, as it should, while anything is left in it */
      unlinkat (q->dirfd, day, AT_REMOVEDIR);
    }
  if (first)
    g_propagate_error (error, g_steal_pointer (&first));
}

/* A leftover (is_leftover(), or a name the sweep's known() disowns) old
 * enough to be no store still in progress. */
static gboolean
old_enough (int dfd, const char *name, gint64 older_than)
{
  struct stat st;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  return fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime < older_than
         && st.st_mtime < now - LEFTOVER_AGE;
}

typedef struct
{
  gint64 older_than;
  guint removed;
  MugaiOriginalKnown known; /* the sweep's */
  gpointer known_data;
} Purge;

static void
purge_name (int dfd, const char *dirpath, const char *day, const char *name, gpointer data,
            GError **first)
{
  Purge *p = data;
  char id[ID_LEN + 1];
  if (entry_name (name, ".json", day, id))
    {
      MugaiStoreEntry *e = NULL;
      struct stat st = { 0 };
      gint64 t;
      if (read_metadata (dfd, dirpath, id, &e, &st, NULL))
        t = e->time;
      else if (st.st_mtime != 0)
        t = st.st_mtime;
      else
        return; /* vanished: another purge */
      mugai_store_entry_free (e);
      if (t >= p->older_than)
        return;
      g_autofree char *eml = g_strconcat (id, ".eml", NULL);
      /* metadata first: the entry disappears whole at once */
      if (unlinkat (dfd, name, 0) != 0)
        {
          if (errno != ENOENT && !*first)
            {
              g_autofree char *path = g_build_filename (dirpath, name, NULL);
              set_errno_error (first, errno, path, "unlink");
            }
          return;
        }
      remove_at (dfd, dirpath, eml, first);
      p->removed++;
    }
  else if (is_leftover (dfd, name, day) && old_enough (dfd, name, p->older_than))
    remove_at (dfd, dirpath, name, first);
}

static guint
file_purge (gpointer handle, gint64 older_than, GError **error)
{
  Purge p = { .older_than = older_than };
  walk_days (handle, purge_name, &p, error);
  return p.removed;
}

/* ---- the originals alone, for the sqlite backend (store-backend.h) ------- */

gpointer
mugai_originals_open (const char *dir, MugaiStoreMode mode, GError **error)
{
  return file_open (dir, mode, error);
}

void
mugai_originals_close (gpointer handle)
{
  file_close (handle);
}

int
mugai_originals_dirfd (gpointer handle)
{
  return ((FileStore *)handle)->dirfd;
}

gboolean
mugai_originals_write (gpointer handle, const char *id, int fd, GBytes *data, gsize *stored,
                       char **sha256, GError **error)
{
  return write_original (handle, id, fd, data, stored, sha256, error);
}

GInputStream *
mugai_originals_read (gpointer handle, const char *id, GError **error)
{
  FileStore *q = handle;
  g_autofree char *eml = g_strconcat (id, ".eml", NULL);
  int dfd = open_entry_day (q, id, eml, error);
  if (dfd < 0)
    return NULL;
  char day[DAY_LEN + 1];
  day_of (id, day);
  g_autofree char *path = g_build_filename (q->dir, day, eml, NULL);
  int fd = openat (dfd, eml, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    not_found (error, path);
  else if (fd < 0)
    set_errno_error (error, errno, path, NULL);
  close (dfd);
  return fd >= 0 ? g_unix_input_stream_new (fd, TRUE) : NULL;
}

gboolean
mugai_originals_remove (gpointer handle, const char *id, GError **error)
{
  FileStore *q = handle;
  g_autofree char *eml = g_strconcat (id, ".eml", NULL);
  char day[DAY_LEN + 1];
  day_of (id, day);
  g_autofree char *dirpath = g_build_filename (q->dir, day, NULL);
  g_autoptr (GError) local = NULL;
  int dfd = open_day (q, day, FALSE, &local);
  if (dfd < 0)
    return TRUE; /* the day is gone: so is the original */
  g_autoptr (GError) failed = NULL;
  remove_at (dfd, dirpath, eml, &failed);
  close (dfd);
  /* fails, as it should, while anything is left in it */
  unlinkat (q->dirfd, day, AT_REMOVEDIR);
  if (failed)
    {
      g_propagate_error (error, g_steal_pointer (&failed));
      return FALSE;
    }
  return TRUE;
}

static void
sweep_name (int dfd, const char *dirpath, const char *day, const char *name, gpointer data,
            GError **first)
{
  Purge *p = data;
  char id[ID_LEN + 1];
  gboolean tmp = name[0] == '.' && g_str_has_suffix (name, ".tmp");
  if (!tmp && !entry_name (name, ".eml", day, id))
    return;
  /* the age first: known() asks the database */
  if (old_enough (dfd, name, p->older_than) && (tmp || !p->known (id, p->known_data)))
    {
      remove_at (dfd, dirpath, name, first);
      p->removed++;
    }
}

guint
mugai_originals_sweep (gpointer handle, gint64 older_than, MugaiOriginalKnown known, gpointer data,
                       GError **error)
{
  Purge p = { .older_than = older_than, .known = known, .known_data = data };
  walk_days (handle, sweep_name, &p, error);
  return p.removed;
}

const MugaiStoreBackend mugai_store_file_backend = {
  .scheme = "file",
  .open = file_open,
  .close = file_close,
  .add = file_add,
  .list = file_list,
  .get = file_get,
  .open_original = file_open_original,
  .purge = file_purge,
};
