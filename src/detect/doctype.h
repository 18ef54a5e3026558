/*
 * doctype.h - what a document really is, and what its name and label say
 *
 * DESCRIPTION
 *	mugai_doctype_identify() names the true type of a part's octets:
 *	libmagic's answer refined by mugai's own probes where libmagic is
 *	vague or silent (the directory of an OLE compound file tells Word,
 *	Excel, PowerPoint, 一太郎, Outlook items and password-protected
 *	Office files apart; a zip's member names tell docx/xlsx/pptx and
 *	OpenDocument from a plain archive).  It also reports macros found by
 *	content: a vbaProject.bin member, or VBA storages in an OLE file.
 *
 *	mugai_doctype_for_extension() and mugai_doctype_for_mime() say what
 *	a file name or a declared Content-Type claims; mugai_doctype_compatible()
 *	says whether a claim and the truth agree (a .doc holding RTF or docx
 *	agrees: Word opens all three; a .pdf holding a zip does not).
 *
 * LIMITS
 *	Linear in the part's length: fixed-offset checks, one pass over
 *	128-octet-aligned OLE directory slots, one memmem per member name.
 *
 * THREAD SAFETY
 *	Reentrant; the tables are constant.
 */
#pragma once

#include <glib.h>

typedef enum
{
  MUGAI_DOC_UNKNOWN,
  MUGAI_DOC_TEXT,
  MUGAI_DOC_HTML,
  MUGAI_DOC_PDF,
  MUGAI_DOC_WORD,       /* .doc (OLE) */
  MUGAI_DOC_WORD_X,     /* .docx / .docm */
  MUGAI_DOC_EXCEL,      /* .xls */
  MUGAI_DOC_EXCEL_X,    /* .xlsx / .xlsm */
  MUGAI_DOC_POWERPOINT, /* .ppt */
  MUGAI_DOC_POWERPOINT_X,
  MUGAI_DOC_RTF,
  MUGAI_DOC_ODT,
  MUGAI_DOC_ODS,
  MUGAI_DOC_ODP,
  MUGAI_DOC_ICHITARO,  /* 一太郎 .jtd/.jtt (OLE), and v4-6 .jaw/.jbw/.jfw */
  MUGAI_DOC_DOCUWORKS, /* .xdw / .xbd (by name: see doctype.c) */
  MUGAI_DOC_OUTLOOK_MSG,
  MUGAI_DOC_OLE, /* some other OLE compound file */
  MUGAI_DOC_JPEG,
  MUGAI_DOC_PNG,
  MUGAI_DOC_GIF,
  MUGAI_DOC_BMP,
  MUGAI_DOC_WEBP,
  MUGAI_DOC_TIFF,
  MUGAI_DOC_ZIP,
  MUGAI_DOC_7Z,
  MUGAI_DOC_RAR,
  MUGAI_DOC_LZH,
  MUGAI_DOC_TAR,
  MUGAI_DOC_GZIP,
  MUGAI_DOC_BZIP2,
  MUGAI_DOC_XZ,
  MUGAI_DOC_CAB,
  MUGAI_DOC_EXECUTABLE,
  MUGAI_DOC_N
} MugaiDocKind;

typedef enum
{
  MUGAI_DOC_FLAG_MACROS = 1 << 0,    /* VBA project inside (by content) */
  MUGAI_DOC_FLAG_ENCRYPTED = 1 << 1, /* password-protected Office file (OLE EncryptionInfo) */
} MugaiDocFlags;

/* data/len borrowed; magic_mime is libmagic's MIME type or NULL. */
MugaiDocKind mugai_doctype_identify (const guint8 *data, gsize len, const char *magic_mime,
                                     MugaiDocFlags *flags);

/* Static human names, e.g. "一太郎文書" / "Ichitaro document". */
const char *mugai_doctype_label (MugaiDocKind kind, gboolean japanese);
/* Static machine name, e.g. "ichitaro". */
const char *mugai_doctype_name (MugaiDocKind kind);

MugaiDocKind mugai_doctype_for_extension (const char *filename);
MugaiDocKind mugai_doctype_for_mime (const char *mime_type);

gboolean mugai_doctype_compatible (MugaiDocKind claimed, MugaiDocKind actual);
gboolean mugai_doctype_is_archive (MugaiDocKind kind);

/* TRUE when the OLE compound file in data has a directory entry whose
 * name equals one of names (ASCII, case-insensitive). */
gboolean mugai_doctype_ole_has (const guint8 *data, gsize len, const char *const *names);
