/*
 * arclist.c - listing archives with libarchive (see arclist.h)
 *
 * DESCRIPTION
 *	Formats read: zip (through the central directory), 7-Zip, RAR 4 and
 *	5, LZH (lh0-lh7), tar, cab, and a single gzip/bzip2/xz file.  Every
 *	member is read (within the budget) so that its type comes from its
 *	content, and a member that is itself an archive is listed in turn.
 *
 *	Names.  libarchive converts names to the current locale, which in
 *	mugai's processes is "C" and cannot hold Japanese.  A thread-local
 *	C.UTF-8 locale is used instead (uselocale(), never setlocale()).
 *	A zip name without the UTF-8 flag then comes through as its raw
 *	octets; LZH names are asked for as ISO-8859-1, which maps each octet
 *	to one code point and so gives the raw octets back.  Raw octets that
 *	are not UTF-8 go through mugai's charset guesser, which prefers the
 *	Japanese charsets (CP932 from Japanese Windows, EUC-JP from old Unix).
 *
 * ERRORS
 *	A damaged archive is listed as far as it could be read, with the
 *	reason in ->error; the caller treats it like any unreadable part.
 */
#include "arclist.h"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <string.h>

#include "charset.h"

#define NAME_MAX_OCTETS 1024

typedef struct
{
  MugaiArchiveListing *out;
  const MugaiArchiveLimits *limits;
  gsize expanded;
} Walk;

static void
entry_free (gpointer p)
{
  MugaiArchiveEntry *e = p;
  g_free (e->name);
  g_free (e);
}

void
mugai_archive_listing_free (MugaiArchiveListing *listing)
{
  if (!listing)
    return;
  g_ptr_array_unref (listing->entries);
  g_free (listing->error);
  g_free (listing);
}

gboolean
mugai_archive_entry_dangerous (const MugaiArchiveEntry *e)
{
  return e->danger != MUGAI_KIND_OTHER || e->macros
         || (e->name_flags & ~(MugaiNameFlags)MUGAI_NAME_TOO_LONG) != 0;
}

static locale_t
utf8_locale (void)
{
  static gsize once = 0;
  static locale_t loc = (locale_t)0;
  if (g_once_init_enter (&once))
    {
      loc = newlocale (LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
      g_once_init_leave (&once, 1);
    }
  return loc;
}

/* The member's name as UTF-8. */
static char *
entry_name (struct archive_entry *entry, gboolean latin1_mapped)
{
  const char *raw = archive_entry_pathname (entry);
  if (!raw)
    raw = archive_entry_pathname_utf8 (entry);
  if (!raw)
    return g_strdup ("?");
  gsize n = strnlen (raw, NAME_MAX_OCTETS);
  g_autofree char *octets = NULL;
  if (latin1_mapped && g_utf8_validate (raw, (gssize)n, NULL))
    {
      /* U+0000..U+00FF back to the octets the archive holds */
      GString *b = g_string_sized_new (n);
      for (const char *p = raw; p < raw + n && *p; p = g_utf8_next_char (p))
        {
          gunichar u = g_utf8_get_char (p);
          g_string_append_c (b, (char)(u <= 0xff ? u : '?'));
        }
      n = b->len;
      octets = g_string_free (b, FALSE);
    }
  else
    octets = g_strndup (raw, n);
  if (g_utf8_validate (octets, (gssize)n, NULL))
    return g_steal_pointer (&octets);
  g_autofree char *used = NULL;
  MugaiCharsetQuality q;
  return mugai_charset_decode (octets, n, NULL, &used, &q);
}

static void list_level (Walk *w, const guint8 *data, gsize len, MugaiDocKind kind,
                        const char *prefix, const char *filename, guint depth);

static void
set_error (Walk *w, struct archive *a, const char *fallback)
{
  if (w->out->error)
    return;
  const char *e = a ? archive_error_string (a) : NULL;
  w->out->error = g_strdup (e && *e ? e : fallback);
}

/* Reads the current member, at most what is left of the budget.
 * NULL when it could not be read (encrypted, damaged) or the budget
 * ran out (then the listing is marked incomplete). */
static GByteArray *
read_member (Walk *w, struct archive *a, MugaiArchiveEntry *e)
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
          const char *msg = archive_error_string (a);
          if (e->encrypted || (msg && (strstr (msg, "ncrypt") || strstr (msg, "assphrase"))))
            {
              e->encrypted = TRUE;
              w->out->encrypted = TRUE;
            }
          else
            set_error (w, a, "member could not be read");
          return NULL;
        }
      if ((gsize)n > w->limits->max_expand - w->expanded)
        {
          w->out->incomplete = TRUE;
          return NULL;
        }
      w->expanded += (gsize)n;
      g_byte_array_append (buf, chunk, (guint)n);
    }
  return g_steal_pointer (&buf);
}

static void
list_level (Walk *w, const guint8 *data, gsize len, MugaiDocKind kind, const char *prefix,
            const char *filename, guint depth)
{
  struct archive *a = archive_read_new ();
  if (!a)
    {
      set_error (w, NULL, "out of memory");
      return;
    }
  gboolean raw = kind == MUGAI_DOC_GZIP || kind == MUGAI_DOC_BZIP2 || kind == MUGAI_DOC_XZ;
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_bzip2 (a);
  archive_read_support_filter_xz (a);
  archive_read_support_format_zip_seekable (a);
  archive_read_support_format_7zip (a);
  archive_read_support_format_rar (a);
  archive_read_support_format_rar5 (a);
  archive_read_support_format_lha (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_cab (a);
  if (raw)
    archive_read_support_format_raw (a);
  archive_read_set_options (a, "lha:hdrcharset=ISO-8859-1");

  if (archive_read_open_memory (a, data, len) != ARCHIVE_OK)
    {
      const char *msg = archive_error_string (a);
      if (msg && (strstr (msg, "ncrypt") || strstr (msg, "assphrase")))
        w->out->encrypted = TRUE; /* 7z with encrypted headers */
      else
        set_error (w, a, "not a readable archive");
      archive_read_free (a);
      return;
    }

  gboolean lha = FALSE;
  for (;;)
    {
      struct archive_entry *entry;
      int r = archive_read_next_header (a, &entry);
      if (r == ARCHIVE_EOF)
        break;
      if (r == ARCHIVE_FATAL || r == ARCHIVE_RETRY)
        {
          const char *msg = archive_error_string (a);
          if (msg && (strstr (msg, "ncrypt") || strstr (msg, "assphrase")))
            w->out->encrypted = TRUE;
          else
            set_error (w, a, "damaged archive");
          break;
        }
      lha = archive_format (a) == ARCHIVE_FORMAT_LHA;
      w->out->total++;
      if (w->out->entries->len >= w->limits->max_entries)
        {
          w->out->incomplete = TRUE;
          break;
        }

      MugaiArchiveEntry *e = g_new0 (MugaiArchiveEntry, 1);
      g_autofree char *name = NULL;
      if (archive_format (a) == ARCHIVE_FORMAT_RAW)
        {
          /* a compressed single file: it is the attachment without ".gz" */
          const char *base = filename ? filename : "data";
          const char *dot = strrchr (base, '.');
          name = dot && dot != base ? g_strndup (base, (gsize)(dot - base)) : g_strdup (base);
        }
      else
        name = entry_name (entry, lha);
      e->name = prefix ? g_strconcat (prefix, "/", name, NULL) : g_strdup (name);
      e->size = archive_entry_size_is_set (entry) ? archive_entry_size (entry) : -1;
      e->depth = depth;
      e->directory = archive_entry_filetype (entry) == AE_IFDIR;
      e->encrypted = archive_entry_is_encrypted (entry) != 0;
      if (e->encrypted)
        w->out->encrypted = TRUE;
      g_ptr_array_add (w->out->entries, e);

      /* the name is judged on its last component, as the reader sees it */
      const char *slash = strrchr (name, '/');
      const char *leaf = slash ? slash + 1 : name;
      if (!e->directory)
        {
          e->name_flags = mugai_filename_check (leaf, NULL, NULL);
          e->danger = mugai_filetype_danger (NULL, 0, leaf, NULL, NULL);
        }
      if (e->directory || e->encrypted || archive_entry_filetype (entry) == AE_IFLNK)
        {
          if (!mugai_archive_entry_dangerous (e))
            continue;
          w->out->dangerous++;
          continue;
        }

      g_autoptr (GByteArray) content = read_member (w, a, e);
      if (content)
        {
          MugaiDocFlags flags = 0;
          e->kind = mugai_doctype_identify (content->data, content->len, NULL, &flags);
          MugaiDangerKind d = mugai_filetype_danger (content->data, content->len, leaf, NULL, NULL);
          if (d != MUGAI_KIND_OTHER)
            e->danger = d;
          if (flags & MUGAI_DOC_FLAG_MACROS)
            e->macros = TRUE;
          if (flags & MUGAI_DOC_FLAG_ENCRYPTED)
            {
              e->encrypted = TRUE;
              w->out->encrypted = TRUE;
            }
          if (e->size < 0)
            e->size = (gint64)content->len;
        }
      if (mugai_archive_entry_dangerous (e))
        w->out->dangerous++;

      if (content && mugai_doctype_is_archive (e->kind))
        {
          if (depth + 1 > w->limits->max_depth)
            w->out->too_deep = TRUE;
          else
            list_level (w, content->data, content->len, e->kind, e->name, leaf, depth + 1);
        }
      if (w->out->incomplete)
        break;
    }
  archive_read_free (a);
}

MugaiArchiveListing *
mugai_archive_list (const guint8 *data, gsize len, MugaiDocKind kind, const char *filename,
                    const MugaiArchiveLimits *limits)
{
  MugaiArchiveListing *out = g_new0 (MugaiArchiveListing, 1);
  out->kind = kind;
  out->entries = g_ptr_array_new_with_free_func (entry_free);
  Walk w = { .out = out, .limits = limits };

  locale_t loc = utf8_locale ();
  locale_t old = loc ? uselocale (loc) : (locale_t)0;
  list_level (&w, data, len, kind, NULL, filename, 0);
  if (loc)
    uselocale (old);
  return out;
}
