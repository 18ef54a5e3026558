/*
 * office.h - what the files of mugai-filter-office share (private)
 *
 * DESCRIPTION
 *	The types and functions one file of filters/office/ defines and
 *	another calls, in the order of the files: sink.c (the output),
 *	xml.c (the SAX2 driver), package.c (zip entries), rels.c
 *	(relationships), flow.c (flowing text), sheets.c (xlsx); main.c
 *	calls them.  Nothing here is installed or used outside the filter.
 *	The limits that more than one file uses are here, with why; the
 *	command-line defaults are in main.c.
 *
 * ERRORS
 *	Every failure is a GError in OFFICE_ERROR whose code is the exit
 *	status (MUGAI_FILTER_FAILED, _ENCRYPTED, _LIMIT; lockdown.h).
 *	Messages never quote the document.
 *
 * THREAD SAFETY
 *	A single-threaded program.
 */
#pragma once

#include "lockdown.h"

#include <archive.h>
#include <archive_entry.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* libxml2 refuses deeper documents itself (xmlParserMaxDepth); counted
 * here too so that the handlers' stacks have a size. */
#define MAX_XML_DEPTH 256
/* Excel's maximum (XFD); a row is never wider. */
#define MAX_COLUMNS 16384
/* table:number-rows-repeated and text:c are 32-bit in a hostile file. */
#define MAX_ROW_REPEAT (1u << 20)
#define MAX_SPACES 1024

/* Error codes are the exit codes (lockdown.h). */
#define OFFICE_ERROR (office_error_quark ())
GQuark office_error_quark (void);

typedef struct
{
  guint64 max_input;
  guint64 max_entry;
  guint64 max_total;
  guint64 max_entries;
  guint64 max_output;
  gboolean en;
} OfficeOptions;

#define NOT_OFFICE "not an Office Open XML or OpenDocument file"

/* ---- sink.c: output lines, tables, labels ------------------------- */

/* A Sink owns the text written so far (out) and the line being built.
 * Tables: a row of the outermost table is one line; anything inside a
 * cell that would start a new line or cell becomes a pending space. */
typedef struct
{
  GString *out;
  GString *line;
  gsize max_output;
  gboolean over;          /* max_output reached: stop */
  gboolean last_blank;    /* out ends with a blank line (or a label) */
  gboolean pending_space; /* a space owed before the next visible text */
  guint cell_depth;       /* open cells, nested ones included */
  gsize cell_start;       /* offset in line of the outermost open cell */
  guint cells_in_row;     /* cells so far in the outermost open row */
  gboolean mute;          /* in a cell past MAX_COLUMNS */
} Sink;

typedef struct
{
  gsize len;
  gboolean last_blank;
} SinkMark;

void sink_init (Sink *s, gsize max_output);
void sink_clear (Sink *s);
void sink_text (Sink *s, const char *p, gsize n, gboolean collapse);
void sink_emit (Sink *s, gboolean allow_blank);
void sink_para_begin (Sink *s);
void sink_para_end (Sink *s);
void sink_tab (Sink *s);
void sink_break (Sink *s);
void sink_row_begin (Sink *s);
void sink_cell_begin (Sink *s);
void sink_cell_end (Sink *s, guint repeat);
void sink_row_end (Sink *s, guint repeat);
void sink_label (Sink *s, const char *label);
SinkMark sink_mark (Sink *s);
void sink_rewind_if_empty (Sink *s, SinkMark m, gsize label_end);
GString *sink_finish (Sink *s);

/* ---- xml.c: a SAX2 driver ----------------------------------------- */

typedef enum
{
  NS_NONE, /* no namespace (most OOXML attributes) */
  NS_OTHER,
  NS_W,      /* WordprocessingML */
  NS_A,      /* DrawingML */
  NS_P,      /* PresentationML */
  NS_S,      /* SpreadsheetML */
  NS_R,      /* officeDocument relationships (r:id) */
  NS_MC,     /* markup compatibility */
  NS_PKGREL, /* package relationships (.rels) */
  NS_OFFICE, /* ODF */
  NS_TEXT,
  NS_TABLE,
  NS_DRAW,
  NS_PRES,
} Ns;

/* libxml2's SAX2 attributes: n 5-tuples (localname, prefix, URI, value,
 * end of value).  Borrowed for the duration of a start callback. */
typedef struct
{
  int n;
  const xmlChar **v;
} XmlAttrs;

typedef struct XmlRun XmlRun;

typedef enum
{
  XML_DESCEND,
  XML_SKIP, /* the element's content is not seen, nor its end */
  XML_STOP, /* done: the rest of the part is not parsed */
} XmlGo;

typedef struct
{
  XmlGo (*start) (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs);
  void (*end) (XmlRun *run, Ns ns, const char *local);
  void (*text) (XmlRun *run, const char *s, gsize len);
} XmlHandlers;

struct XmlRun
{
  const XmlHandlers *h;
  gpointer user;
  xmlParserCtxtPtr ctxt;
  guint depth;
  guint skip_from; /* depth of the element being skipped, 0 if none */
  gboolean stop;
  gboolean doctype;
  GError *error;
};

/* The root element of a part: parsing stops there. */
typedef struct
{
  Ns ns;
  char *local;
} XmlRoot;

char *xml_attr (const XmlAttrs *a, Ns ns, const char *local);
void xml_run_fail (XmlRun *run, int code, const char *format, ...) G_GNUC_PRINTF (3, 4);
void sax_silent (void *ctx, xmlErrorPtr error);
gboolean xml_parse (GBytes *part, const XmlHandlers *h, gpointer user, GError **error);
XmlGo root_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs);

/* ---- package.c: zip entries by name ------------------------------- */

typedef struct archive MugaiArchive;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiArchive, archive_read_free)

typedef struct
{
  const guint8 *data;
  gsize len;
  const OfficeOptions *opt;
  GHashTable *names; /* folded name -> itself: every usable entry */
  GHashTable *parts; /* folded name -> GBytes: the entries loaded */
  guint64 total;     /* octets decompressed so far, all passes */
} Package;

void package_clear (Package *pkg);
char *part_key (const char *name);
guint32 le16 (const guint8 *p);
gboolean zip_check_entries (const guint8 *p, gsize len, guint64 max_entries, GError **error);
gboolean package_load (Package *pkg, GPtrArray *keys, GError **error);
GBytes *package_get (Package *pkg, const char *key);

/* ---- rels.c: relationships ---------------------------------------- */

typedef struct
{
  char *type;   /* last segment of the Type URI: "worksheet", "slide" */
  char *target; /* folded part name, NULL if external or unusable */
} Rel;

typedef struct
{
  GPtrArray *list;   /* Rel, in file order */
  GHashTable *by_id; /* Id -> Rel (borrowed from list) */
  char *base;        /* folder of the source part, "" or "word/" */
} Rels;

void rels_free (Rels *rels);
char *rels_key (const char *source);
Rels *rels_parse (Package *pkg, const char *source, GError **error);
const char *rels_target (Rels *rels, const char *id);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Rels, rels_free)

/* ---- flow.c: flowing text (docx, pptx, ODF) ----------------------- */

/* What the document is, for the last "info kind=" line (main.c) */
typedef enum
{
  KIND_NONE,
  KIND_DOCX,
  KIND_XLSX,
  KIND_PPTX,
  KIND_ODT,
  KIND_ODS,
  KIND_ODP,
} Kind;

/* The sheets of a workbook, the slides of a presentation: each must be
 * a part of its own, so there cannot be more than there are entries. */
typedef struct
{
  GPtrArray *refs;
  guint64 max;
} RefList;

typedef struct FlowClass FlowClass;
extern const FlowClass ODF_FLOW;

gboolean flow_part (Sink *sink, const OfficeOptions *opt, const FlowClass *cls, GBytes *part,
                    Kind *kind, GError **error);
gboolean convert_docx (Package *pkg, const char *main_key, Sink *sink, GError **error);
gboolean ref_list_add (XmlRun *run, RefList *list, gpointer ref);
gboolean convert_pptx (Package *pkg, const char *main_key, Sink *sink, GError **error);

/* ---- sheets.c: xlsx ----------------------------------------------- */

gboolean convert_xlsx (Package *pkg, const char *main_key, Sink *sink, GError **error);
