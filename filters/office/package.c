/*
 * package.c - the package of an Office document: zip entries by name
 *
 * DESCRIPTION
 *	The package is read from memory with libarchive's seekable zip
 *	reader, the one that trusts the central directory as Office does; a
 *	zip without one (truncated, or a bare stream of local headers) is not
 *	a document.  Only the parts the text needs are decompressed, in a
 *	few passes over the archive: the package relationships first, then
 *	the main part and its relationships, then what they point to.  Part
 *	names are compared ignoring ASCII case, as OPC (ECMA-376 Part 2)
 *	defines part name equivalence; two entries whose names differ only
 *	in case make the package malformed, so that no reader can pick the
 *	other one of the two.  Entry names that are no part names ("../x",
 *	"/x", "a//b", backslashes, controls) are never looked up.  The
 *	sheets or slides listed must all exist, each once.
 *	package_load() decompresses the parts named (a pass over the
 *	archive, none when all are loaded); package_get() returns one.
 *	zip_check_entries() counts the central directory's records before
 *	libarchive sees them.  part_key() is the one place where a name
 *	becomes a lookup key.
 *
 * LIMITS
 *	--max-entry octets inflated from one entry and --max-total from all
 *	of them, counted as they are inflated and never taken from the
 *	sizes the archive declares (a zip bomb inflates 1000 to 1);
 *	--max-entries entries, counted in the central directory before
 *	libarchive builds its index of them and again as they are read.
 *
 * ERRORS
 *	OFFICE_ERROR: MUGAI_FILTER_FAILED for a file that is no zip, a
 *	damaged archive or entry, two entries of one name;
 *	MUGAI_FILTER_ENCRYPTED for an encrypted entry; MUGAI_FILTER_LIMIT for
 *	the limits above.
 */
#include "office.h"

void
package_clear (Package *pkg)
{
  g_clear_pointer (&pkg->names, g_hash_table_unref);
  g_clear_pointer (&pkg->parts, g_hash_table_unref);
}

/* The lookup key of an entry or part name (ASCII case folded), or NULL
 * for a name that is no OPC part name: empty, absolute, with empty, "."
 * or ".." segments (a directory, "../x"), backslashes or controls.
 * Nothing is ever written to a file, but such a name must not alias a
 * part either. */
char *
part_key (const char *name)
{
  if (name == NULL || name[0] == '\0' || name[0] == '/')
    return NULL;
  for (const char *p = name; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == '\\' || *p == 0x7f)
      return NULL;
  g_auto (GStrv) segs = g_strsplit (name, "/", -1);
  for (guint i = 0; segs[i] != NULL; i++)
    if (segs[i][0] == '\0' || strcmp (segs[i], ".") == 0 || strcmp (segs[i], "..") == 0)
      return NULL;
  return g_ascii_strdown (name, -1);
}

guint32
le16 (const guint8 *p)
{
  return (guint32)p[0] | (guint32)p[1] << 8;
}

static guint32
le32 (const guint8 *p)
{
  return le16 (p) | le16 (p + 2) << 16;
}

static guint64
le64 (const guint8 *p)
{
  return (guint64)le32 (p) | (guint64)le32 (p + 4) << 32;
}

/* Counts the central directory's records before libarchive does:
 * its seekable reader allocates an index entry for every record, which
 * for a 64 MiB directory of 46-octet records is over a million.  A
 * directory that cannot be found is left to libarchive to refuse. */
gboolean
zip_check_entries (const guint8 *p, gsize len, guint64 max_entries, GError **error)
{
  if (len < 22)
    return TRUE;
  gsize lo = len > 22 + 65535 ? len - 22 - 65535 : 0, eocd = 0;
  gboolean found = FALSE;
  for (gsize i = len - 22 + 1; i-- > lo;)
    if (memcmp (p + i, "PK\5\6", 4) == 0)
      {
        eocd = i;
        found = TRUE;
        break;
      }
  if (!found)
    return TRUE;
  guint64 cd_size = le32 (p + eocd + 12);
  gsize cd_end = eocd;
  if ((cd_size == 0xFFFFFFFF || le16 (p + eocd + 10) == 0xFFFF) && eocd >= 20
      && memcmp (p + eocd - 20, "PK\6\7", 4) == 0)
    {
      guint64 z = le64 (p + eocd - 20 + 8);
      if (z <= eocd - 20 && eocd - 20 - z >= 56 && memcmp (p + z, "PK\6\6", 4) == 0)
        {
          cd_size = le64 (p + z + 40);
          cd_end = (gsize)z;
        }
    }
  if (cd_size > cd_end)
    return TRUE;
  gsize off = cd_end - (gsize)cd_size;
  guint64 count = 0;
  while (off + 46 <= cd_end && memcmp (p + off, "PK\1\2", 4) == 0)
    {
      if (++count > max_entries)
        {
          g_set_error (error, OFFICE_ERROR, MUGAI_FILTER_LIMIT,
                       "more than %" G_GUINT64_FORMAT " zip entries (--max-entries)", max_entries);
          return FALSE;
        }
      off += 46 + (gsize)le16 (p + off + 28) + le16 (p + off + 30) + le16 (p + off + 32);
    }
  return TRUE;
}

/* Reads the current entry's data, counting every inflated octet. */
static GBytes *
package_read_entry (Package *pkg, struct archive *a, GError **error)
{
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  guint8 chunk[65536];
  for (;;)
    {
      la_ssize_t n = archive_read_data (a, chunk, sizeof chunk);
      if (n == 0)
        break;
      if (n < 0)
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED, "damaged zip entry");
          return NULL;
        }
      if ((guint64)buf->len + (guint64)n > pkg->opt->max_entry)
        {
          g_set_error (error, OFFICE_ERROR, MUGAI_FILTER_LIMIT,
                       "a zip entry inflates to more than %" G_GUINT64_FORMAT
                       " octets (--max-entry)",
                       pkg->opt->max_entry);
          return NULL;
        }
      if (pkg->total + (guint64)n > pkg->opt->max_total)
        {
          g_set_error (error, OFFICE_ERROR, MUGAI_FILTER_LIMIT,
                       "the zip entries inflate to more than %" G_GUINT64_FORMAT
                       " octets in all (--max-total)",
                       pkg->opt->max_total);
          return NULL;
        }
      pkg->total += (guint64)n;
      g_byte_array_append (buf, chunk, (guint)n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

/* One pass over the archive.  The first (names still NULL) lists every
 * entry and refuses duplicates; every pass loads the wanted entries not
 * loaded yet.  wanted: folded names (a set). */
static gboolean
package_pass (Package *pkg, GHashTable *wanted, GError **error)
{
  gboolean listing = pkg->names == NULL;
  if (!listing)
    {
      gboolean any = FALSE;
      GHashTableIter it;
      gpointer key;
      g_hash_table_iter_init (&it, wanted);
      while (!any && g_hash_table_iter_next (&it, &key, NULL))
        any = g_hash_table_contains (pkg->names, key) && !g_hash_table_contains (pkg->parts, key);
      if (!any)
        return TRUE;
    }
  else
    {
      pkg->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      pkg->parts
          = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
    }
  g_autoptr (MugaiArchive) a = archive_read_new ();
  if (a == NULL || archive_read_support_format_zip_seekable (a) != ARCHIVE_OK)
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED, "libarchive: out of memory");
      return FALSE;
    }
  if (archive_read_open_memory (a, pkg->data, pkg->len) != ARCHIVE_OK)
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED, NOT_OFFICE);
      return FALSE;
    }
  guint64 count = 0;
  for (;;)
    {
      struct archive_entry *e = NULL;
      int r = archive_read_next_header (a, &e);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                               count == 0 ? NOT_OFFICE : "damaged zip archive");
          return FALSE;
        }
      if (++count > pkg->opt->max_entries)
        {
          g_set_error (error, OFFICE_ERROR, MUGAI_FILTER_LIMIT,
                       "more than %" G_GUINT64_FORMAT " zip entries (--max-entries)",
                       pkg->opt->max_entries);
          return FALSE;
        }
      const char *name = archive_entry_pathname_utf8 (e);
      if (name == NULL)
        name = archive_entry_pathname (e);
      g_autofree char *key = part_key (name);
      if (key == NULL || archive_entry_filetype (e) != AE_IFREG)
        continue;
      if (listing)
        {
          if (g_hash_table_contains (pkg->names, key))
            {
              g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                                   "two zip entries have the same name");
              return FALSE;
            }
          g_hash_table_add (pkg->names, g_strdup (key));
        }
      if (!g_hash_table_contains (wanted, key) || g_hash_table_contains (pkg->parts, key))
        continue;
      if (archive_entry_is_encrypted (e))
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_ENCRYPTED,
                               "a zip entry is encrypted");
          return FALSE;
        }
      GBytes *bytes = package_read_entry (pkg, a, error);
      if (bytes == NULL)
        return FALSE;
      g_hash_table_insert (pkg->parts, g_steal_pointer (&key), bytes);
    }
  return TRUE;
}

/* Loads the parts named (folded keys; NULLs are ignored). */
gboolean
package_load (Package *pkg, GPtrArray *keys, GError **error)
{
  g_autoptr (GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < keys->len; i++)
    if (keys->pdata[i] != NULL)
      g_hash_table_add (wanted, keys->pdata[i]);
  return package_pass (pkg, wanted, error);
}

GBytes *
package_get (Package *pkg, const char *key)
{
  return key != NULL ? g_hash_table_lookup (pkg->parts, key) : NULL;
}
