/*
 * convert.h - turning a document into an inert form in a sandboxed filter
 *
 * DESCRIPTION
 *	mugai_convert_mode() says, from [convert], what becomes of a part of
 *	a given true type: an image-only PDF, text, a re-encoded image, or
 *	nothing (removed).  Office documents mugai cannot read itself
 *	(.doc, .xls, .ppt, .rtf) are read by LibreOffice
 *	(mugai-filter-soffice): saved as docx/xlsx/pptx for their text
 *	(mugai-filter-office), or laid out into a PDF for office = image,
 *	as every office document is then, which goes through
 *	mugai-filter-pdf like any PDF.  mugai_convert_run() runs the filter programs
 *	(filters/) on it through the sandbox (sandbox.c) and returns the
 *	inert output with the name and type it goes out under.
 *
 *	The caller scans every output with ClamAV before it goes into the
 *	message and decides from the status: a failure, a timeout or a limit
 *	removes the part (never the original instead), ENCRYPTED goes to the
 *	encrypted policy, DEFER tempfails the message (no filter slot).
 *
 * ERRORS
 *	FALSE with error: mugai itself could not run a filter (fork, memfd,
 *	exec of a missing program): the message is tempfailed.
 */
#pragma once

#include <glib.h>

#include "doctype.h"
#include "sandbox.h"

/* Converting attachments into inert forms in sandboxed filters
 * ([convert] and [sandbox]; see convert.c and sandbox.c). */
typedef enum
{
  MUGAI_PDF_IMAGE, /* pages rendered to an image-only PDF */
  MUGAI_PDF_TEXT,  /* the text of the pages, as a .txt */
  MUGAI_PDF_REMOVE
} MugaiPdfMode;

typedef enum
{
  MUGAI_OFFICE_TEXT,  /* docx/xlsx/pptx/odt/ods/odp to text; .doc/.xls/.ppt/.rtf
                       * through LibreOffice to PDF, then its text */
  MUGAI_OFFICE_IMAGE, /* every office type through LibreOffice to PDF, then
                       * an image-only PDF */
  MUGAI_OFFICE_REMOVE
} MugaiOfficeMode;

typedef enum
{
  MUGAI_IMAGE_REENCODE, /* decoded and written again: no metadata, no trailing data */
  MUGAI_IMAGE_REMOVE
} MugaiImageMode;

typedef struct
{
  MugaiPdfMode pdf;
  gboolean pdf_text; /* with pdf = image or office = image: the page text too */
  guint dpi;
  guint max_pages;
  MugaiOfficeMode office;
  MugaiImageMode image;
  char *filters_dir; /* where the mugai-filter-* programs are */
  char *soffice;     /* LibreOffice's soffice, for mugai-filter-soffice */
  guint timeout;     /* seconds of wall clock per filter run */
  guint cpu;         /* seconds of CPU per filter run */
  gsize memory;      /* address space of a filter */
  gsize output_max;  /* octets a filter may write */
  guint max_running; /* filters at once on the host; 0: one per core */
  guint slot_wait;   /* seconds to wait for a free slot, then defer */
} MugaiConvertSettings;

typedef enum
{
  MUGAI_CONVERT_NONE, /* no conversion for this type: removed */
  MUGAI_CONVERT_PDF_IMAGE,
  MUGAI_CONVERT_PDF_TEXT,
  MUGAI_CONVERT_OFFICE_TEXT,        /* OOXML/ODF text, mugai-filter-office */
  MUGAI_CONVERT_OFFICE_IMAGE,       /* LibreOffice to PDF, then an image-only PDF */
  MUGAI_CONVERT_OFFICE_LEGACY_TEXT, /* .doc/.xls/.ppt/.rtf: LibreOffice to OOXML, then its text */
  MUGAI_CONVERT_IMAGE
} MugaiConvertMode;

typedef enum
{
  MUGAI_CONVERT_DONE,
  MUGAI_CONVERT_FAILED,    /* detail says why: remove the part */
  MUGAI_CONVERT_LIMIT,     /* a limit of the filter: remove, over-limit */
  MUGAI_CONVERT_ENCRYPTED, /* password-protected */
  MUGAI_CONVERT_DEFER      /* no filter slot in time: tempfail */
} MugaiConvertStatus;

typedef struct
{
  MugaiConvertStatus status;
  GBytes *output;   /* DONE: the inert document */
  char *mime_type;  /* DONE: its type */
  char *filename;   /* DONE: its name */
  gboolean is_text; /* DONE: output is UTF-8 text (goes out as text/plain) */
  GBytes *text;     /* PDF with pdf_text: the page text, or NULL */
  char *text_filename;
  char *detail; /* policy language: what was done, or why not */
} MugaiConversion;

void mugai_conversion_clear (MugaiConversion *c);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MugaiConversion, mugai_conversion_clear)

MugaiConvertMode mugai_convert_mode (const MugaiConvertSettings *settings, MugaiDocKind kind);

/* What keeps these settings from working on this host, one sentence each
 * for the administrator (`mugai config check`), starting "error: " or
 * "warning: ".  *fatal is set when a
 * filter program that the settings need is missing: every message with
 * such a part would be deferred.  A missing LibreOffice is not fatal: the
 * parts that need it are removed with that reason. */
GPtrArray *mugai_convert_check (const MugaiConvertSettings *settings, gboolean *fatal);

/* LibreOffice binds its single-instance pipe as a socket file
 * /tmp/OSL_PIPE_<uid>_SingleOfficeIPC_<hash>, whatever TMPDIR says, and
 * leaves it there when it is killed (a timeout).  Removes such files
 * owned by this process's user that nothing listens on any more.  Called
 * after a LibreOffice run that did not end well, and by the pool at start
 * and for each worker it reaps. */
void mugai_convert_sweep_stale (void);

/* Who sweeps after a LibreOffice run that did not end well: NULL (the
 * default) sweeps in this process; a worker, whose seccomp filter refuses
 * the connect() that tells a stale pipe from a live one, sets a function
 * that asks its pool to (mugai-milter's pool.c).  Process-wide. */
void mugai_convert_set_sweeper (void (*sweeper) (void));

/* The name an output of mime_type (application/pdf, image/jpeg,
 * image/png; anything else is text) gets when the input was called
 * filename (may be NULL): see convert.c, "Names".  Owned. */
char *mugai_convert_output_name (const char *filename, const char *mime_type);

/* kind: the part's true type (mugai_convert_mode() gave mode for it). */
/* deadline: g_get_monotonic_time() by which every filter run must be
 * over, or 0.  Each run gets the shorter of [sandbox] timeout and what is
 * left; with nothing left the part is not converted (LIMIT: removed as
 * over a limit, "no time left in this message"). */
gboolean mugai_convert_run (const MugaiConvertSettings *settings, MugaiSandboxSlots *slots,
                            gboolean japanese, MugaiConvertMode mode, MugaiDocKind kind,
                            const char *filename, GBytes *input, gint64 deadline,
                            MugaiConversion *out, GError **error);
