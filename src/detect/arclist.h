/*
 * arclist.h - listing archives (zip, 7z, rar, LZH, tar, cab, gzip...)
 *
 * DESCRIPTION
 *	mugai_archive_list() reads an archive from memory with libarchive and
 *	lists its members: the name (decoded: UTF-8 when the archive says so,
 *	otherwise Japanese legacy charsets are tried, since Japanese Windows
 *	writes zip and LZH names in CP932), the size, whether it is
 *	encrypted, what it is by content, whether it is dangerous (a program,
 *	a script, a shortcut... by content or by name), whether its name
 *	lies.  Archives inside archives are listed too, down to a depth.
 *	It only reports: the caller's policy decides.
 *
 * LIMITS
 *	MugaiArchiveLimits bounds the nesting depth, the members listed and
 *	the octets decompressed in all (zip bombs); past a limit the listing
 *	says it is incomplete.  Member names longer than 1024 octets are cut.
 *	Zip is read through its central directory (what Windows shows), not
 *	the local headers a crafted file can make disagree with it.
 *
 * THREAD SAFETY
 *	Reentrant: libarchive runs under a thread-local C.UTF-8 locale.
 */
#pragma once

#include <glib.h>

#include "doctype.h"
#include "filetype.h"

typedef struct
{
  guint max_depth;   /* archives inside archives below the first one */
  guint max_entries; /* members listed, all levels together */
  gsize max_expand;  /* octets decompressed, all levels together */
} MugaiArchiveLimits;

typedef struct
{
  char *name;  /* UTF-8; nested: "inner.zip/member" */
  gint64 size; /* -1 when the archive does not say */
  guint depth; /* 0 for members of the archive itself */
  gboolean directory;
  gboolean encrypted;
  MugaiDocKind kind; /* by content, when it could be read */
  MugaiDangerKind danger;
  MugaiNameFlags name_flags;
  gboolean macros; /* an Office document with a VBA project */
} MugaiArchiveEntry;

typedef struct
{
  MugaiDocKind kind;
  GPtrArray *entries;  /* MugaiArchiveEntry, at most max_entries */
  guint total;         /* members seen, also past max_entries */
  gboolean encrypted;  /* a member (or the header) is encrypted */
  gboolean incomplete; /* a limit cut the listing short */
  gboolean too_deep;   /* nesting went past max_depth */
  guint dangerous;     /* members with danger, name tricks or macros */
  char *error;         /* could not be read to the end (English), or NULL */
} MugaiArchiveListing;

MugaiArchiveListing *mugai_archive_list (const guint8 *data, gsize len, MugaiDocKind kind,
                                         const char *filename, const MugaiArchiveLimits *limits);
void mugai_archive_listing_free (MugaiArchiveListing *listing);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiArchiveListing, mugai_archive_listing_free)

/* TRUE when the member is a reason to treat the archive as dangerous. */
gboolean mugai_archive_entry_dangerous (const MugaiArchiveEntry *entry);
