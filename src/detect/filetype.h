/*
 * filetype.h - tricky attachment names and dangerous file types
 *
 * DESCRIPTION
 *	mugai_filename_check() reports the ways an attachment's name can make
 *	the reader (or Windows) see something other than what it is: bidi
 *	overrides, controls, zero-width characters, space padding, a decoy
 *	extension in front of a dangerous one, trailing dots and spaces that
 *	Windows strips, and the dangerous extension itself.
 *
 *	mugai_filetype_danger() says whether the octets of a part are a
 *	program, a script, a shortcut, a disk image, a help file or markup
 *	with script in it: by content first, then by the name's extension.
 *
 *	Both only report; the policy decides what to do.
 *
 * LIMITS
 *	Names: linear in their length.  Content: magic numbers at fixed
 *	offsets, and at most the first 1 MiB scanned for markup.
 *
 * THREAD SAFETY
 *	Reentrant; no global state.
 */
#pragma once

#include <glib.h>

typedef enum
{
  MUGAI_NAME_OK = 0,
  MUGAI_NAME_BIDI = 1 << 0,                /* U+202A..202E, U+2066..2069, U+200E, U+200F, U+061C */
  MUGAI_NAME_CONTROL = 1 << 1,             /* C0, C1, DEL */
  MUGAI_NAME_DOUBLE_EXTENSION = 1 << 2,    /* decoy extension before a dangerous one: "a.pdf.exe" */
  MUGAI_NAME_TRAILING = 1 << 3,            /* trailing dots or spaces ("a.exe." runs as a.exe) */
  MUGAI_NAME_TOO_LONG = 1 << 4,            /* more than MUGAI_NAME_MAX_CHARS characters */
  MUGAI_NAME_DANGEROUS_EXTENSION = 1 << 5, /* final extension is in the dangerous list */
  MUGAI_NAME_HIDDEN = 1 << 6 /* zero-width U+200B..200D, U+2060, U+FEFF, or 5+ spaces in a row */
} MugaiNameFlags;

/* Names longer than this (in characters) are reported: Explorer and mail
 * clients cut long names in the middle or at the end, so the extension
 * the reader sees is not the real one. */
#define MUGAI_NAME_MAX_CHARS 200

/* Checks a file name (UTF-8; invalid octets are treated as U+FFFD).
 * NULL gives MUGAI_NAME_OK.  When detail_ja / detail_en are not NULL they
 * receive (owned) one line naming what was found, or NULL when nothing
 * was; the line holds only mugai's own words, code points as "U+XXXX"
 * and extensions from mugai's list, never text copied from the name. */
MugaiNameFlags mugai_filename_check (const char *utf8_name, char **detail_ja, char **detail_en);

typedef enum
{
  MUGAI_KIND_OTHER,
  MUGAI_KIND_EXECUTABLE,
  MUGAI_KIND_SCRIPT,
  MUGAI_KIND_SHORTCUT,
  MUGAI_KIND_DISK_IMAGE,
  MUGAI_KIND_HELP,
  MUGAI_KIND_ACTIVE_MARKUP
} MugaiDangerKind;

/* How much of a part is scanned for script in markup: enough for any
 * real lure page, and it bounds the work an attacker can ask for. */
#define MUGAI_FILETYPE_MARKUP_SCAN (1024 * 1024)

/* Classifies data (len octets, borrowed; NULL allowed when len is 0).
 * filename (borrowed, may be NULL) is consulted after the content.
 * label_ja / label_en, when not NULL, receive an owned short human name
 * of the kind found ("Windows 実行ファイル" / "Windows executable"), or
 * NULL for MUGAI_KIND_OTHER. */
/* Static short name of a kind ("実行ファイル" / "executable"); NULL for
 * MUGAI_KIND_OTHER. */
const char *mugai_filetype_kind_label (MugaiDangerKind kind, gboolean japanese);

MugaiDangerKind mugai_filetype_danger (const guint8 *data, gsize len, const char *filename,
                                       char **label_ja, char **label_en);

/* Looks in all of data (len octets, borrowed; NULL allowed when len is
 * 0), not only its start, for what would make an HTML, SVG or XML
 * parser build markup from it: "<script", "<html", "<svg", "<?xml",
 * "<!doctype", "<iframe" with what ends a tag name after them (white
 * space, "/" or ">"), and "javascript:", "vbscript:" (ASCII case
 * ignored; tabs and newlines inside the URL schemes too).  For octets
 * mugai made itself (a converter's output), where none of them has any
 * business.  Compressed data is random-looking octets, which spell one
 * of these by chance about once in 20 GB ("<svg" and a terminator, the
 * shortest), so a real PDF or photo is not refused for it.  Returns the
 * static token found first (lower case), or NULL.  Linear in len. */
const char *mugai_filetype_markup (const guint8 *data, gsize len);
