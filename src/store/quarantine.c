/*
 * quarantine.c - the store of original messages, on a local file system
 *
 * SYNOPSIS
 *	q = mugai_quarantine_open (dir, &error);
 *	entry->id = mugai_quarantine_new_id ();   (before the notice names it)
 *	mugai_quarantine_store (q, fd, NULL, entry, &error);
 *
 * DESCRIPTION
 *	Layout and API: quarantine.h.  Every path is resolved relative to a
 *	directory descriptor opened once (openat(2) and friends), and every
 *	name in it is built from an id that passed
 *	mugai_quarantine_id_is_valid(): an id typed by an administrator
 *	(`mugai quarantine show ../../etc/shadow`) cannot name anything
 *	outside the store, and O_NOFOLLOW keeps a planted symbolic link
 *	from doing so either.
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
 *	Purge decides by the "time" in the metadata, not by file times,
 *	which a backup restore or `cp` would change.  Only a .json that
 *	cannot be parsed falls back to its mtime, so that a damaged entry
 *	does not stay for ever.
 *
 * LIMITS
 *	A .json larger than MAX_METADATA is refused as damaged: the reader
 *	(the CLI, run by an administrator) must not be made to swallow an
 *	arbitrary file planted in the store.
 *
 * THREADS
 *	Thread-safe: the handle is immutable, no function keeps state.
 *
 * SIZE
 *	About 1,000 lines and one concept: the store on a local file system.
 *	The ids, the entry's JSON and the durable writes are its on-disk
 *	format, used by nothing else.
 */
#include "quarantine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-glib/json-glib.h>

#include "logline.h"
#include "notice.h"

/* "20261122T004644Z-0123456789ab" */
#define ID_LEN 29
#define ID_RANDOM_HEX 12
/* "2026-11-22" */
#define DAY_LEN 10
#define COPY_BUFFER (128 * 1024)
/* A report lists at most limits.parts parts (100000 at most) of a few
 * hundred octets each. */
#define MAX_METADATA (64 * 1024 * 1024)
/* Leftovers of a store younger than this may belong to a store still in
 * progress. */
#define LEFTOVER_AGE 3600
#define FORMAT_VERSION 1

struct _MugaiQuarantine
{
  char *dir;
  int dirfd;
};

/* ---- errors ----------------------------------------------------------------- */

static void
set_errno_error (GError **error, int err, const char *path, const char *what)
{
  if (what)
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "%s: %s: %s", path, what,
                 g_strerror (err));
  else
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (err), "%s: %s", path,
                 g_strerror (err));
}

static gboolean
check_id (const char *id, GError **error)
{
  if (mugai_quarantine_id_is_valid (id))
    return TRUE;
  /* the id comes from a command line: show it, but harmlessly */
  g_autofree char *escaped = mugai_log_escape (id, 60);
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
               "\"%s\" is not a quarantine id (they look like 20261122T004644Z-0123456789ab)",
               escaped);
  return FALSE;
}

/* ---- ids -------------------------------------------------------------------- */

static void
fill_random (guint8 *buf, gsize len)
{
  gsize got = 0;
  while (got < len)
    {
      ssize_t n = getrandom (buf + got, len - got, 0);
      if (n > 0)
        got += (gsize) n;
      else if (n < 0 && errno != EINTR)
        break;
    }
  if (got == len)
    return;
  /* getrandom(2) cannot fail on Linux >= 3.17 once the pool is ready;
   * if it does anyway, mix in what differs between forked workers,
   * because GLib's global generator is copied by fork(2).  The
   * no-replace rename still keeps a collision from losing data. */
  guint64 mix = (guint64) g_get_monotonic_time () ^ ((guint64) getpid () << 32);
  for (gsize i = got; i < len; i++)
    buf[i] = (guint8) (g_random_int () ^ (mix >> (8 * (i % 8))));
}

char *
mugai_quarantine_new_id (void)
{
  guint8 r[ID_RANDOM_HEX / 2];
  fill_random (r, sizeof r);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%dT%H%M%SZ");
  return g_strdup_printf ("%s-%02x%02x%02x%02x%02x%02x", stamp, r[0], r[1], r[2], r[3], r[4], r[5]);
}

static gboolean
all_digits (const char *s, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
  return TRUE;
}

static guint
number (const char *s, gsize n)
{
  guint v = 0;
  for (gsize i = 0; i < n; i++)
    v = v * 10 + (guint) (s[i] - '0');
  return v;
}

gboolean
mugai_quarantine_id_is_valid (const char *id)
{
  if (!id || strnlen (id, ID_LEN + 1) != ID_LEN)
    return FALSE;
  if (!all_digits (id, 8) || id[8] != 'T' || !all_digits (id + 9, 6) || id[15] != 'Z'
      || id[16] != '-')
    return FALSE;
  for (gsize i = 17; i < ID_LEN; i++)
    if (!g_ascii_isdigit (id[i]) && !(id[i] >= 'a' && id[i] <= 'f'))
      return FALSE;
  guint year = number (id, 4), month = number (id + 4, 2), day = number (id + 6, 2);
  if (year < 1970 || !g_date_valid_dmy ((GDateDay) day, (GDateMonth) month, (GDateYear) year))
    return FALSE;
  return number (id + 9, 2) < 24 && number (id + 11, 2) < 60 && number (id + 13, 2) < 61;
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
  if (!mugai_quarantine_id_is_valid (id))
    return FALSE;
  char d[DAY_LEN + 1];
  day_of (id, d);
  return g_str_equal (d, day);
}

/* ---- the entry -------------------------------------------------------------- */

MugaiQuarantineEntry *
mugai_quarantine_entry_new (void)
{
  MugaiQuarantineEntry *e = g_new0 (MugaiQuarantineEntry, 1);
  e->recipients = g_ptr_array_new_with_free_func (g_free);
  return e;
}

void
mugai_quarantine_entry_free (MugaiQuarantineEntry *e)
{
  if (!e)
    return;
  g_free (e->id);
  g_free (e->queue_id);
  g_free (e->sender);
  if (e->recipients)
    g_ptr_array_unref (e->recipients);
  g_free (e->client_addr);
  g_free (e->client_name);
  g_free (e->verdict);
  g_free (e->status);
  g_free (e->message_id);
  g_free (e->subject);
  g_free (e->report_json);
  g_free (e);
}


static char *
iso_time (gint64 t)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (t);
  return dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("?");
}

void
mugai_quarantine_entry_add_envelope (JsonBuilder *b, const MugaiQuarantineEntry *e)
{
  mugai_json_add_string (b, "queue_id", e->queue_id);
  mugai_json_add_string (b, "sender", e->sender);
  mugai_json_add_strings (b, "recipients", e->recipients);
  mugai_json_add_string (b, "client_addr", e->client_addr);
  mugai_json_add_string (b, "client_name", e->client_name);
  mugai_json_add_string (b, "verdict", e->verdict);
  mugai_json_add_string (b, "status", e->status);
  mugai_json_add_string (b, "message_id", e->message_id);
  mugai_json_add_string (b, "subject", e->subject);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64) e->size);
}

char *
mugai_quarantine_entry_to_json (const MugaiQuarantineEntry *e, gboolean pretty)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_int_value (b, FORMAT_VERSION);
  mugai_json_add_string (b, "id", e->id);
  json_builder_set_member_name (b, "time");
  json_builder_add_int_value (b, e->time);
  /* for the human reading `show`; "time" is the one that counts */
  g_autofree char *utc = iso_time (e->time);
  mugai_json_add_string (b, "time_utc", utc);
  mugai_quarantine_entry_add_envelope (b, e);

  /* The report goes in as JSON, not as a string in JSON, so that `show`
   * prints it readably; text that does not parse is kept as a string
   * rather than lost. */
  json_builder_set_member_name (b, "report");
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *report = e->report_json ? g_utf8_make_valid (e->report_json, -1) : NULL;
  if (!report)
    json_builder_add_null_value (b);
  else if (json_parser_load_from_data (parser, report, -1, NULL) && json_parser_get_root (parser))
    json_builder_add_value (b, json_node_copy (json_parser_get_root (parser)));
  else
    json_builder_add_string_value (b, report);
  json_builder_end_object (b);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  return json_generator_to_data (gen, NULL);
}

static char *
get_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (n));
}

static gboolean
get_int (JsonObject *o, const char *name, gint64 *out)
{
  JsonNode *n = json_object_get_member (o, name);
  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (n);
  return TRUE;
}

/* Parses ID.json; the id inside must be the one in the file name, so a
 * file copied under another name is not taken for another entry. */
static MugaiQuarantineEntry *
entry_from_json (const char *text, gsize len, const char *id, const char *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (parser, text, (gssize) len, &local))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: damaged metadata: %s", path,
                   local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  g_autoptr (MugaiQuarantineEntry) e = mugai_quarantine_entry_new ();
  gint64 size = 0;
  if (!o || !(e->id = get_string (o, "id")) || !g_str_equal (e->id, id)
      || !get_int (o, "time", &e->time) || !get_int (o, "size", &size) || size < 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   "%s: damaged metadata: id, time or size missing or wrong", path);
      return NULL;
    }
  e->size = (gsize) size;
  e->queue_id = get_string (o, "queue_id");
  e->sender = get_string (o, "sender");
  e->client_addr = get_string (o, "client_addr");
  e->client_name = get_string (o, "client_name");
  e->verdict = get_string (o, "verdict");
  e->status = get_string (o, "status");
  e->message_id = get_string (o, "message_id");
  e->subject = get_string (o, "subject");
  JsonNode *rcpts = json_object_get_member (o, "recipients");
  if (rcpts && JSON_NODE_HOLDS_ARRAY (rcpts))
    {
      JsonArray *a = json_node_get_array (rcpts);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *n = json_array_get_element (a, i);
          if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
            g_ptr_array_add (e->recipients, g_strdup (json_node_get_string (n)));
        }
    }
  JsonNode *report = json_object_get_member (o, "report");
  if (report && JSON_NODE_HOLDS_OBJECT (report))
    e->report_json = json_to_string (report, FALSE);
  else if (report && JSON_NODE_HOLDS_VALUE (report)
           && json_node_get_value_type (report) == G_TYPE_STRING)
    e->report_json = g_strdup (json_node_get_string (report));
  return g_steal_pointer (&e);
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
      len -= (gsize) n;
    }
  return TRUE;
}

static gboolean
copy_from_fd (int out, int in, const char *path, gsize *total, GError **error)
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
      if (!write_all (out, buf, (gsize) n, path, error))
        return FALSE;
      offset += n;
    }
  *total = (gsize) offset;
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
open_day (MugaiQuarantine *q, const char *day, gboolean create, GError **error)
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
               const guint8 *data, gsize len, gsize *written, GError **error)
{
  g_autofree char *tmp = g_strdup_printf (".%s.tmp", name);
  g_autofree char *path = g_build_filename (dirpath, name, NULL);
  gsize total = len;
  gboolean ok = src_fd >= 0 ? copy_from_fd (fd, src_fd, path, &total, error)
                            : write_all (fd, data, len, path, error);
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
        g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
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
create_temp (MugaiQuarantine *q, const char *day, const char *name, int *dfd_out, int *fd_out,
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
read_metadata (int dfd, const char *dirpath, const char *id, MugaiQuarantineEntry **out,
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
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   "%s: damaged metadata: not a regular file of at most %d octets", path,
                   MAX_METADATA);
      close (fd);
      return FALSE;
    }
  gsize len = (gsize) st.st_size;
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
            g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: truncated while read",
                         path);
          close (fd);
          return FALSE;
        }
      got += (gsize) n;
    }
  close (fd);
  text[len] = '\0';
  *out = entry_from_json (text, len, id, path, error);
  return *out != NULL;
}

/* ENOENT-ish errors become "no such entry" naming the path asked for. */
static void
not_found (GError **error, const char *path)
{
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no such quarantine entry", path);
}

/* ---- the store -------------------------------------------------------------- */

static MugaiQuarantine *
open_store (const char *dir, gboolean writable, GError **error)
{
  g_return_val_if_fail (dir != NULL, NULL);
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
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
                   "%s: mode %04o gives others access and cannot be changed: %s", dir,
                   (unsigned) (st.st_mode & 07777), g_strerror (e));
      close (dirfd);
      return NULL;
    }
  MugaiQuarantine *q = g_new0 (MugaiQuarantine, 1);
  q->dir = g_strdup (dir);
  q->dirfd = dirfd;
  return q;
}

MugaiQuarantine *
mugai_quarantine_open (const char *dir, GError **error)
{
  return open_store (dir, TRUE, error);
}

MugaiQuarantine *
mugai_quarantine_open_readonly (const char *dir, GError **error)
{
  return open_store (dir, FALSE, error);
}

void
mugai_quarantine_free (MugaiQuarantine *q)
{
  if (!q)
    return;
  if (q->dirfd >= 0)
    close (q->dirfd);
  g_free (q->dir);
  g_free (q);
}

const char *
mugai_quarantine_dir (const MugaiQuarantine *q)
{
  return q->dir;
}

gboolean
mugai_quarantine_store (MugaiQuarantine *q, int fd, GBytes *data, const MugaiQuarantineEntry *entry,
                        GError **error)
{
  g_return_val_if_fail (q != NULL && entry != NULL, FALSE);
  g_return_val_if_fail (fd >= 0 || data != NULL, FALSE);
  if (!check_id (entry->id, error))
    return FALSE;

  char day[DAY_LEN + 1];
  day_of (entry->id, day);
  g_autofree char *dirpath = g_build_filename (q->dir, day, NULL);
  g_autofree char *eml = g_strconcat (entry->id, ".eml", NULL);
  g_autofree char *json = g_strconcat (entry->id, ".json", NULL);

  /* 1. the original */
  int dfd = -1, tfd = -1;
  if (!create_temp (q, day, eml, &dfd, &tfd, error))
    return FALSE;
  gsize len = 0;
  const guint8 *bytes = data ? g_bytes_get_data (data, &len) : NULL;
  gsize stored = 0;
  if (!write_durably (dfd, dirpath, eml, tfd, fd, bytes, len, &stored, error))
    {
      close (dfd);
      return FALSE;
    }
  close (dfd);

  /* 2. the metadata, which makes the entry visible */
  MugaiQuarantineEntry meta = *entry;
  meta.size = stored;
  if (meta.time == 0)
    meta.time = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *text = mugai_quarantine_entry_to_json (&meta, TRUE);
  g_autoptr (GString) line = g_string_new (text);
  g_string_append_c (line, '\n');
  if (!create_temp (q, day, json, &dfd, &tfd, error))
    {
      g_autofree char *p = g_build_filename (q->dir, day, eml, NULL);
      unlink (p);
      return FALSE;
    }
  gboolean ok = write_durably (dfd, dirpath, json, tfd, -1, (const guint8 *) line->str, line->len,
                               NULL, error);
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
list_days (MugaiQuarantine *q, GError **error)
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
  g_ptr_array_sort (days, (GCompareFunc) g_strcmp0);
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

static int
compare_entries (gconstpointer a, gconstpointer b)
{
  const MugaiQuarantineEntry *x = *(MugaiQuarantineEntry *const *) a;
  const MugaiQuarantineEntry *y = *(MugaiQuarantineEntry *const *) b;
  if (x->time != y->time)
    return x->time < y->time ? -1 : 1;
  return strcmp (x->id, y->id);
}

static gboolean
exists_at (int dfd, const char *name)
{
  struct stat st;
  return fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

GPtrArray *
mugai_quarantine_list (MugaiQuarantine *q, gint64 since, GError **error)
{
  g_return_val_if_fail (q != NULL, NULL);
  g_autoptr (GPtrArray) days = list_days (q, error);
  if (!days)
    return NULL;
  g_autoptr (GPtrArray) out
      = g_ptr_array_new_with_free_func ((GDestroyNotify) mugai_quarantine_entry_free);
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
          MugaiQuarantineEntry *e = NULL;
          struct stat st = { 0 };
          g_autoptr (GError) local = NULL;
          if (!read_metadata (dfd, dirpath, id, &e, &st, &local))
            {
              if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
                continue; /* purged while we looked */
              e = mugai_quarantine_entry_new ();
              e->id = g_strdup (id);
              e->time = st.st_mtime;
              e->verdict = g_strdup ("unreadable");
            }
          if (e->time >= since)
            g_ptr_array_add (out, e);
          else
            mugai_quarantine_entry_free (e);
        }
      close (dfd);
    }
  g_ptr_array_sort (out, compare_entries);
  return g_steal_pointer (&out);
}

/* Opens the day directory of a valid id for reading; "no such entry"
 * when it does not exist. */
static int
open_entry_day (MugaiQuarantine *q, const char *id, const char *file, GError **error)
{
  char day[DAY_LEN + 1];
  day_of (id, day);
  g_autoptr (GError) local = NULL;
  int dfd = open_day (q, day, FALSE, &local);
  if (dfd < 0)
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_autofree char *path = g_build_filename (q->dir, day, file, NULL);
          not_found (error, path);
        }
      else
        g_propagate_error (error, g_steal_pointer (&local));
    }
  return dfd;
}

MugaiQuarantineEntry *
mugai_quarantine_get (MugaiQuarantine *q, const char *id, GError **error)
{
  g_return_val_if_fail (q != NULL, NULL);
  if (!check_id (id, error))
    return NULL;
  g_autofree char *json = g_strconcat (id, ".json", NULL);
  g_autofree char *eml = g_strconcat (id, ".eml", NULL);
  int dfd = open_entry_day (q, id, json, error);
  if (dfd < 0)
    return NULL;
  char day[DAY_LEN + 1];
  day_of (id, day);
  g_autofree char *dirpath = g_build_filename (q->dir, day, NULL);
  g_autoptr (GError) local = NULL;
  MugaiQuarantineEntry *e = NULL;
  /* an entry exists when both files do */
  if (!exists_at (dfd, eml))
    {
      g_autofree char *path = g_build_filename (dirpath, json, NULL);
      not_found (error, path);
    }
  else if (!read_metadata (dfd, dirpath, id, &e, NULL, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_autofree char *path = g_build_filename (dirpath, json, NULL);
          not_found (error, path);
        }
      else
        g_propagate_error (error, g_steal_pointer (&local));
    }
  close (dfd);
  return e;
}

int
mugai_quarantine_open_original (MugaiQuarantine *q, const char *id, GError **error)
{
  g_return_val_if_fail (q != NULL, -1);
  if (!check_id (id, error))
    return -1;
  g_autofree char *json = g_strconcat (id, ".json", NULL);
  g_autofree char *eml = g_strconcat (id, ".eml", NULL);
  int dfd = open_entry_day (q, id, eml, error);
  if (dfd < 0)
    return -1;
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
  return fd;
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

guint
mugai_quarantine_purge (MugaiQuarantine *q, gint64 older_than, GError **error)
{
  g_return_val_if_fail (q != NULL, 0);
  g_autoptr (GError) first = NULL;
  g_autoptr (GPtrArray) days = list_days (q, &first);
  if (!days)
    {
      g_propagate_error (error, g_steal_pointer (&first));
      return 0;
    }
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  guint removed = 0;
  for (guint i = 0; i < days->len; i++)
    {
      const char *day = days->pdata[i];
      g_autofree char *dirpath = g_build_filename (q->dir, day, NULL);
      g_autoptr (GError) local = NULL;
      int dfd = open_day (q, day, FALSE, &local);
      if (dfd < 0)
        {
          if (!first)
            first = g_steal_pointer (&local);
          continue;
        }
      /* names are read before anything is removed: readdir(3) does not
       * promise a stable walk of a directory that changes under it */
      g_autoptr (GPtrArray) names = list_names (dfd, dirpath, first ? NULL : &first);
      for (guint k = 0; names && k < names->len; k++)
        {
          const char *name = names->pdata[k];
          char id[ID_LEN + 1];
          if (entry_name (name, ".json", day, id))
            {
              MugaiQuarantineEntry *e = NULL;
              struct stat st = { 0 };
              gint64 t;
              if (read_metadata (dfd, dirpath, id, &e, &st, NULL))
                t = e->time;
              else if (st.st_mtime != 0)
                t = st.st_mtime;
              else
                continue; /* vanished: another purge */
              mugai_quarantine_entry_free (e);
              if (t >= older_than)
                continue;
              g_autofree char *eml = g_strconcat (id, ".eml", NULL);
              /* metadata first: the entry disappears whole at once */
              if (unlinkat (dfd, name, 0) != 0)
                {
                  if (errno != ENOENT && !first)
                    {
                      g_autofree char *path = g_build_filename (dirpath, name, NULL);
                      set_errno_error (&first, errno, path, "unlink");
                    }
                  continue;
                }
              remove_at (dfd, dirpath, eml, &first);
              removed++;
            }
          else if (is_leftover (dfd, name, day))
            {
              struct stat st;
              if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime < older_than
                  && st.st_mtime < now - LEFTOVER_AGE)
                remove_at (dfd, dirpath, name, &first);
            }
        }
      close (dfd);
      /* fails, as it should, while anything is left in it */
      unlinkat (q->dirfd, day, AT_REMOVEDIR);
    }
  if (first)
    g_propagate_error (error, g_steal_pointer (&first));
  return removed;
}
