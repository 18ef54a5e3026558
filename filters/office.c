/*
 * office.c - text of an Office Open XML or OpenDocument file
 *
 * NAME
 *	mugai-filter-office - docx, xlsx, pptx, odt, ods, odp to UTF-8 text
 *
 * SYNOPSIS
 *	mugai-filter-office [--lang ja|en] [--max-input BYTES]
 *	                    [--max-entry BYTES] [--max-total BYTES]
 *	                    [--max-entries N] [--max-output BYTES]
 *
 * DESCRIPTION
 *	Reads one untrusted document on standard input and writes its text,
 *	UTF-8 with LF line ends and a final newline, on standard output (in
 *	one write at the end: nothing at all on failure).  The filter runs in
 *	the sandbox (src/convert/sandbox.c); it initialises libxml2, locks itself down
 *	(lockdown.c) and only then reads the document.
 *
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
 *
 *	The output format is fixed (tests/filter-office.py asserts it):
 *
 *	    A paragraph (w:p, a:p, text:p, text:h) is a line; an empty one
 *	    is a blank line, never two in a row, none at the start or end.
 *	    w:tab is a TAB, w:br, w:cr, a:br and text:line-break a newline.
 *	    A table row is a line, its cells separated by TAB; inside a cell,
 *	    paragraphs, breaks, tabs and nested tables become one space.
 *	    Trailing blanks and empty trailing cells are dropped, and so are
 *	    rows with no text.
 *	    docx: the body, then "[ヘッダー]", "[フッター]", "[脚注]",
 *	    "[文末脚注]" and "[コメント]" sections (only those with text).
 *	    Deleted and moved-away text, field codes, ruby readings (w:rt)
 *	    and w:sym are left out; inserted text is kept.
 *	    xlsx: for each sheet in workbook order "[シート: NAME]", then its
 *	    rows; each cell in its column (gaps are empty cells, at most
 *	    16384 columns); shared and inline strings without phonetic runs
 *	    (rPh), booleans as TRUE/FALSE, anything else (numbers, dates,
 *	    errors, formula results) as written in <v>.
 *	    pptx: for each slide in presentation order "[スライド N]", then
 *	    its paragraphs and tables in document order.
 *	    ODF: the same for odt; "[シート: NAME]" before each table of an
 *	    ods, "[スライド N]" before each page of an odp.
 *	    A label line is preceded by a blank line.  --lang en writes
 *	    "[Sheet: NAME]", "[Slide N]", "[Header]", ... instead.
 *	    C0 controls other than TAB and LF, and DEL, are dropped.
 *	    A document without text gives no output at all.
 *
 *	For mc:AlternateContent only the first branch is read (Word writes
 *	a text box twice: DrawingML in mc:Choice, VML in mc:Fallback).
 *
 * XML
 *	Parts are parsed by libxml2's SAX2 interface: no tree, so memory
 *	stays in proportion to the output.  A document type declaration
 *	stops the parser the moment it is seen, before its internal subset
 *	is read, and fails the document: without a DTD there are no entity
 *	definitions, so no "billion laughs" (CVE-2003-1564) and no external
 *	entities (XXE); Office and LibreOffice never write a DOCTYPE in a
 *	part.  Options: XML_PARSE_NONET, NOERROR, NOWARNING and IGNORE_ENC;
 *	never NOENT, DTDLOAD or HUGE.  OPC allows only UTF-8 and UTF-16
 *	parts: UTF-16 is converted here by GLib and libxml2 is told to
 *	ignore the encoding declaration, so that no declaration can make it
 *	look for an iconv module (a dlopen() the lockdown refuses).
 *	Elements nest at most 256 deep (libxml2's own limit without HUGE).
 *
 * LIMITS
 *	Every quantity the sender controls is bounded (defaults in
 *	parentheses): the document (64 MiB), the octets decompressed from one
 *	entry (32 MiB) and from all of them (128 MiB), counted as they are
 *	inflated and never taken from the sizes the archive declares (a zip
 *	bomb inflates 1000 to 1); the entries (10000, counted in the central
 *	directory before libarchive builds its index of them); the output
 *	(16 MiB); columns per row (16384, Excel's maximum); repeated ODF rows
 *	(2^20) and text:s spaces (1024).
 *
 * DIAGNOSTICS
 *	Exit 0 and a last stderr line "info kind=docx" (xlsx, pptx, odt,
 *	ods, odp).  On failure nothing on stdout and one stderr line
 *	'error reason="..."': exit 1 for input that is not a supported
 *	document or is malformed (including legacy binary .doc/.xls/.ppt),
 *	2 for a password-protected document (an OLE file with an
 *	EncryptionInfo stream, or an encrypted zip entry), 3 when a limit was
 *	reached, 64 for bad usage.  Reasons never quote the document.
 *
 * BUGS
 *	No number or date formatting (a date is its serial number), no
 *	SmartArt, charts, text of shapes in xlsx, speaker notes, embedded
 *	objects or ODF drawings (odg).  Percent-encoded part names in
 *	relationship targets are decoded, other IRI forms are not.
 */
#include "lockdown.h"

#include <archive.h>
#include <archive_entry.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MiB (1024 * 1024)

/* Defaults of the command-line limits (see LIMITS above). */
#define DEFAULT_MAX_INPUT (64 * MiB)
#define DEFAULT_MAX_ENTRY (32 * MiB)
#define DEFAULT_MAX_TOTAL (128 * MiB)
#define DEFAULT_MAX_ENTRIES 10000
#define DEFAULT_MAX_OUTPUT (16 * MiB)

/* libxml2 refuses deeper documents itself (xmlParserMaxDepth); counted
 * here too so that the handlers' stacks have a size. */
#define MAX_XML_DEPTH 256
/* Excel's maximum (XFD); a row is never wider. */
#define MAX_COLUMNS 16384
/* table:number-rows-repeated and text:c are 32-bit in a hostile file. */
#define MAX_ROW_REPEAT (1u << 20)
#define MAX_SPACES 1024

#define XML_OPTIONS                                                                                \
  (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC)

/* Error codes are the exit codes (lockdown.h). */
#define OFFICE_ERROR (office_error_quark ())
static GQuark
office_error_quark (void)
{
  return g_quark_from_static_string ("mugai-filter-office-error-quark");
}

typedef struct
{
  guint64 max_input;
  guint64 max_entry;
  guint64 max_total;
  guint64 max_entries;
  guint64 max_output;
  gboolean en;
} OfficeOptions;

static const char *NOT_OFFICE = "not an Office Open XML or OpenDocument file";

/* ------------------------------------------------------------------ */
/* Output: lines, tables, labels                                       */
/* ------------------------------------------------------------------ */

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

static void
sink_init (Sink *s, gsize max_output)
{
  *s = (Sink){ 0 };
  s->out = g_string_new (NULL);
  s->line = g_string_new (NULL);
  s->max_output = max_output;
}

static void
sink_clear (Sink *s)
{
  g_string_free (s->out, TRUE);
  g_string_free (s->line, TRUE);
}

static gboolean
sink_room (Sink *s, gsize more)
{
  if (s->over)
    return FALSE;
  if (s->out->len + s->line->len + more > s->max_output)
    {
      s->over = TRUE;
      return FALSE;
    }
  return TRUE;
}

static void
sink_put (Sink *s, const char *p, gsize n)
{
  if (s->mute || !sink_room (s, n))
    return;
  g_string_append_len (s->line, p, (gssize)n);
}

static void
sink_flush_space (Sink *s)
{
  gsize start = s->cell_depth > 0 ? s->cell_start : 0;
  if (!s->pending_space)
    return;
  s->pending_space = FALSE;
  if (s->line->len > start)
    {
      char last = s->line->str[s->line->len - 1];
      if (last != ' ' && last != '\t')
        sink_put (s, " ", 1);
    }
}

/* Text of the document.  collapse: runs of white space are one space
 * (ODF's white-space processing in text:p); otherwise only CR and LF (and TAB in a cell)
 * are turned into spaces, as they cannot stand in a line or a cell. */
static void
sink_text (Sink *s, const char *p, gsize n, gboolean collapse)
{
  gsize run = 0; /* visible octets not yet written, p[i - run .. i) */
  for (gsize i = 0; i <= n; i++)
    {
      char c = i < n ? p[i] : '\0';
      gboolean ws = c == '\r' || c == '\n' || (c == '\t' && (collapse || s->cell_depth > 0))
                    || (collapse && c == ' ');
      if (i < n && !ws)
        {
          if (run == 0)
            sink_flush_space (s);
          run++;
          continue;
        }
      if (run > 0)
        sink_put (s, p + i - run, run);
      run = 0;
      if (i == n)
        break;
      if (c == '\n' && i > 0 && p[i - 1] == '\r')
        continue; /* CR LF is one line end, one space */
      if (collapse)
        s->pending_space = TRUE;
      else
        {
          sink_flush_space (s);
          sink_put (s, " ", 1);
        }
    }
}

static void
sink_strip (GString *line)
{
  while (line->len > 0 && (line->str[line->len - 1] == ' ' || line->str[line->len - 1] == '\t'))
    g_string_truncate (line, line->len - 1);
}

/* Moves line to out.  An empty line is a blank line when allow_blank. */
static void
sink_emit (Sink *s, gboolean allow_blank)
{
  sink_strip (s->line);
  s->pending_space = FALSE;
  if (s->line->len == 0)
    {
      if (allow_blank && s->out->len > 0 && !s->last_blank && sink_room (s, 1))
        {
          g_string_append_c (s->out, '\n');
          s->last_blank = TRUE;
        }
      return;
    }
  if (sink_room (s, 1))
    {
      g_string_append_len (s->out, s->line->str, (gssize)s->line->len);
      g_string_append_c (s->out, '\n');
      s->last_blank = FALSE;
    }
  g_string_truncate (s->line, 0);
}

static void
sink_para_begin (Sink *s)
{
  if (s->cell_depth > 0)
    s->pending_space = TRUE;
  else if (s->line->len > 0)
    sink_emit (s, FALSE);
}

static void
sink_para_end (Sink *s)
{
  if (s->cell_depth > 0)
    s->pending_space = TRUE;
  else
    sink_emit (s, TRUE);
}

static void
sink_tab (Sink *s)
{
  if (s->cell_depth > 0)
    s->pending_space = TRUE;
  else
    {
      sink_flush_space (s);
      sink_put (s, "\t", 1);
    }
}

static void
sink_break (Sink *s)
{
  if (s->cell_depth > 0)
    s->pending_space = TRUE;
  else
    sink_emit (s, TRUE);
}

static void
sink_row_begin (Sink *s)
{
  if (s->cell_depth > 0)
    {
      s->pending_space = TRUE;
      return;
    }
  if (s->line->len > 0)
    sink_emit (s, FALSE);
  s->cells_in_row = 0;
  s->pending_space = FALSE;
}

static void
sink_cell_begin (Sink *s)
{
  if (s->cell_depth++ > 0)
    {
      s->pending_space = TRUE;
      return;
    }
  s->pending_space = FALSE;
  if (s->cells_in_row >= MAX_COLUMNS)
    {
      s->mute = TRUE;
      return;
    }
  if (s->cells_in_row > 0)
    sink_put (s, "\t", 1);
  s->cells_in_row++;
  s->cell_start = s->line->len;
}

static void
sink_cell_end (Sink *s, guint repeat)
{
  if (s->cell_depth == 0)
    return; /* unbalanced: the XML parser would not let it happen */
  if (--s->cell_depth > 0)
    {
      s->pending_space = TRUE;
      return;
    }
  s->pending_space = FALSE;
  if (s->mute)
    {
      s->mute = FALSE;
      return;
    }
  /* ODF table:number-columns-repeated: the same cell again */
  if (repeat > 1)
    {
      g_autofree char *copy
          = g_strndup (s->line->str + s->cell_start, s->line->len - s->cell_start);
      gsize n = strlen (copy);
      for (guint i = 1; i < repeat && s->cells_in_row < MAX_COLUMNS && !s->over; i++)
        {
          sink_put (s, "\t", 1);
          sink_put (s, copy, n);
          s->cells_in_row++;
        }
    }
}

static void
sink_row_end (Sink *s, guint repeat)
{
  if (s->cell_depth > 0)
    {
      s->pending_space = TRUE;
      return;
    }
  s->cells_in_row = 0;
  sink_strip (s->line);
  if (s->line->len == 0)
    return;
  /* ODF table:number-rows-repeated; runs of empty rows cost nothing */
  g_autofree char *copy = repeat > 1 ? g_strndup (s->line->str, s->line->len) : NULL;
  sink_emit (s, FALSE);
  for (guint i = 1; i < repeat && i < MAX_ROW_REPEAT && !s->over; i++)
    {
      g_string_assign (s->line, copy);
      sink_emit (s, FALSE);
    }
}

/* A label line of our own ("[シート: X]"), after a blank line.  The
 * label counts as a blank line so that none follows it directly. */
static void
sink_label (Sink *s, const char *label)
{
  if (s->line->len > 0)
    sink_emit (s, FALSE);
  g_string_truncate (s->line, 0);
  s->cell_depth = 0;
  s->cells_in_row = 0;
  s->mute = FALSE;
  if (s->out->len > 0 && !s->last_blank && sink_room (s, 1))
    g_string_append_c (s->out, '\n');
  sink_text (s, label, strlen (label), FALSE);
  sink_emit (s, FALSE);
  s->last_blank = TRUE;
}

typedef struct
{
  gsize len;
  gboolean last_blank;
} SinkMark;

static SinkMark
sink_mark (Sink *s)
{
  if (s->line->len > 0)
    sink_emit (s, FALSE);
  return (SinkMark){ s->out->len, s->last_blank };
}

/* Undoes a label that no text followed. */
static void
sink_rewind_if_empty (Sink *s, SinkMark m, gsize label_end)
{
  if (s->line->len > 0)
    sink_emit (s, FALSE);
  if (s->out->len == label_end && !s->over)
    {
      g_string_truncate (s->out, m.len);
      s->last_blank = m.last_blank;
    }
}

/* The finished text: valid UTF-8, no C0 controls but TAB and LF, no
 * DEL, a final newline unless it is empty.  Owned by the caller. */
static GString *
sink_finish (Sink *s)
{
  if (s->line->len > 0)
    sink_emit (s, FALSE);
  if (s->out->len >= 2 && s->out->str[s->out->len - 1] == '\n'
      && s->out->str[s->out->len - 2] == '\n')
    g_string_truncate (s->out, s->out->len - 1);
  g_autofree char *valid = NULL;
  const char *p = s->out->str;
  gsize n = s->out->len;
  if (!g_utf8_validate_len (p, n, NULL))
    {
      valid = g_utf8_make_valid (p, (gssize)n);
      p = valid;
      n = strlen (valid);
    }
  GString *text = g_string_sized_new (n + 1);
  for (gsize i = 0; i < n; i++)
    {
      guchar c = (guchar)p[i];
      if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
        continue;
      g_string_append_c (text, (char)c);
    }
  if (text->len > 0 && text->str[text->len - 1] != '\n')
    g_string_append_c (text, '\n');
  return text;
}

/* ------------------------------------------------------------------ */
/* XML: a SAX2 driver                                                  */
/* ------------------------------------------------------------------ */

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

static const struct
{
  const char *uri;
  Ns ns;
} NAMESPACES[] = {
  /* ECMA-376 transitional, then ISO/IEC 29500 strict */
  { "http://schemas.openxmlformats.org/wordprocessingml/2006/main", NS_W },
  { "http://purl.oclc.org/ooxml/wordprocessingml/main", NS_W },
  { "http://schemas.openxmlformats.org/drawingml/2006/main", NS_A },
  { "http://purl.oclc.org/ooxml/drawingml/main", NS_A },
  { "http://schemas.openxmlformats.org/presentationml/2006/main", NS_P },
  { "http://purl.oclc.org/ooxml/presentationml/main", NS_P },
  { "http://schemas.openxmlformats.org/spreadsheetml/2006/main", NS_S },
  { "http://purl.oclc.org/ooxml/spreadsheetml/main", NS_S },
  { "http://schemas.openxmlformats.org/officeDocument/2006/relationships", NS_R },
  { "http://purl.oclc.org/ooxml/officeDocument/relationships", NS_R },
  { "http://schemas.openxmlformats.org/markup-compatibility/2006", NS_MC },
  { "http://schemas.openxmlformats.org/package/2006/relationships", NS_PKGREL },
  { "urn:oasis:names:tc:opendocument:xmlns:office:1.0", NS_OFFICE },
  { "urn:oasis:names:tc:opendocument:xmlns:text:1.0", NS_TEXT },
  { "urn:oasis:names:tc:opendocument:xmlns:table:1.0", NS_TABLE },
  { "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0", NS_DRAW },
  { "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0", NS_PRES },
};

static Ns
ns_lookup (const xmlChar *uri)
{
  if (uri == NULL)
    return NS_NONE;
  for (gsize i = 0; i < G_N_ELEMENTS (NAMESPACES); i++)
    if (strcmp ((const char *)uri, NAMESPACES[i].uri) == 0)
      return NAMESPACES[i].ns;
  return NS_OTHER;
}

/* libxml2's SAX2 attributes: n 5-tuples (localname, prefix, URI, value,
 * end of value).  Borrowed for the duration of a start callback. */
typedef struct
{
  int n;
  const xmlChar **v;
} XmlAttrs;

/* The value of an attribute, or NULL.  Owned by the caller.  Without
 * entity substitution libxml2 hands "&" over as "&#38;" (the SAX2 tree
 * builder would decode it; there is no tree here). */
static char *
xml_attr (const XmlAttrs *a, Ns ns, const char *local)
{
  for (int i = 0; i < a->n; i++)
    {
      const xmlChar **t = a->v + 5 * i;
      if (strcmp ((const char *)t[0], local) != 0 || ns_lookup (t[2]) != ns)
        continue;
      const char *p = (const char *)t[3], *end = (const char *)t[4];
      GString *v = g_string_sized_new ((gsize)(end - p));
      while (p < end)
        {
          if (end - p >= 5 && memcmp (p, "&#38;", 5) == 0)
            {
              g_string_append_c (v, '&');
              p += 5;
            }
          else
            g_string_append_c (v, *p++);
        }
      return g_string_free (v, FALSE);
    }
  return NULL;
}

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

static void G_GNUC_PRINTF (3, 4) xml_run_fail (XmlRun *run, int code, const char *format, ...)
{
  if (run->error == NULL)
    {
      va_list ap;
      va_start (ap, format);
      run->error = g_error_new_valist (OFFICE_ERROR, code, format, ap);
      va_end (ap);
    }
  run->stop = TRUE;
  xmlStopParser (run->ctxt);
}

static void
sax_start (void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
           int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
           const xmlChar **attributes)
{
  XmlRun *run = ctx;
  if (run->stop)
    return;
  run->depth++;
  if (run->skip_from > 0)
    return;
  if (run->depth > MAX_XML_DEPTH)
    {
      xml_run_fail (run, MUGAI_FILTER_FAILED, "XML elements nested deeper than %d", MAX_XML_DEPTH);
      return;
    }
  XmlAttrs a = { nb_attributes, attributes };
  XmlGo go = run->h->start (run, ns_lookup (uri), (const char *)local, &a);
  if (run->stop)
    return;
  if (go == XML_SKIP)
    run->skip_from = run->depth;
  else if (go == XML_STOP)
    {
      run->stop = TRUE;
      xmlStopParser (run->ctxt);
    }
}

static void
sax_end (void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
  XmlRun *run = ctx;
  if (run->stop)
    return;
  if (run->skip_from > 0)
    {
      if (run->depth == run->skip_from)
        run->skip_from = 0;
    }
  else if (run->h->end != NULL)
    run->h->end (run, ns_lookup (uri), (const char *)local);
  run->depth--;
}

static void
sax_text (void *ctx, const xmlChar *s, int len)
{
  XmlRun *run = ctx;
  if (run->stop || run->skip_from > 0 || run->h->text == NULL || len <= 0)
    return;
  run->h->text (run, (const char *)s, (gsize)len);
}

/* Called as soon as "<!DOCTYPE name" has been read, before any of the
 * internal subset: no entity is ever declared. */
static void
sax_doctype (void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
  XmlRun *run = ctx;
  run->doctype = TRUE;
  run->stop = TRUE;
  xmlStopParser (run->ctxt);
}

static void
sax_silent (void *ctx, xmlErrorPtr error)
{
}

/* What libxml2 is given is UTF-8 that starts with "<" (after a BOM and
 * blanks): UTF-16 (with a BOM or recognisable by "<") is converted here,
 * and anything else, which libxml2 would take for UCS-4 or EBCDIC and
 * hand to iconv, is refused.  *converted owns the converted text. */
static gboolean
xml_input_utf8 (const char **data, gsize *len, char **converted, GError **error)
{
  const guint8 *p = (const guint8 *)*data;
  gsize n = *len, skip = 0;
  int utf16 = 0; /* 1: little endian, 2: big endian */
  if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE)
    utf16 = 1, skip = 2;
  else if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF)
    utf16 = 2, skip = 2;
  else if (n >= 4 && p[0] == '<' && p[1] == 0 && p[2] != 0 && p[3] == 0)
    utf16 = 1;
  else if (n >= 4 && p[0] == 0 && p[1] == '<' && p[2] == 0 && p[3] != 0)
    utf16 = 2;
  if (utf16 != 0)
    {
      gsize units = (n - skip) / 2;
      g_autofree gunichar2 *u = g_new (gunichar2, units + 1);
      for (gsize i = 0; i < units; i++)
        {
          guint8 b0 = p[skip + 2 * i], b1 = p[skip + 2 * i + 1];
          u[i] = (gunichar2)(utf16 == 1 ? b0 | b1 << 8 : b0 << 8 | b1);
        }
      glong written = 0;
      char *s
          = (n - skip) % 2 == 0 ? g_utf16_to_utf8 (u, (glong)units, NULL, &written, NULL) : NULL;
      if (s == NULL)
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                               "an XML part is not valid UTF-16");
          return FALSE;
        }
      *converted = s;
      *data = s;
      *len = (gsize)written;
      p = (const guint8 *)s;
      n = (gsize)written;
    }
  gsize i = n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF ? 3 : 0;
  while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
    i++;
  if (i >= n || p[i] != '<')
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                           "an XML part is neither UTF-8 nor UTF-16 XML");
      return FALSE;
    }
  return TRUE;
}

/* Parses one part, calling h with user.  FALSE (error set) when the
 * part is malformed, has a DOCTYPE, or a handler failed. */
static gboolean
xml_parse (GBytes *part, const XmlHandlers *h, gpointer user, GError **error)
{
  gsize len = 0;
  if (part == NULL)
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED, "a part is missing");
      return FALSE;
    }
  const char *data = g_bytes_get_data (part, &len);
  g_autofree char *converted = NULL;
  if (!xml_input_utf8 (&data, &len, &converted, error))
    return FALSE;
  if (len > G_MAXINT)
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_LIMIT, "an XML part is too large");
      return FALSE;
    }
  xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt (data, (int)len);
  if (ctxt == NULL)
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED, "out of memory");
      return FALSE;
    }
  xmlCtxtUseOptions (ctxt, XML_OPTIONS);
  /* Only these callbacks: no tree, no entity declarations, no
   * getEntity (so "&name;" is an undeclared entity, a fatal error). */
  xmlSAXHandler sax;
  memset (&sax, 0, sizeof sax);
  sax.initialized = XML_SAX2_MAGIC;
  sax.startElementNs = sax_start;
  sax.endElementNs = sax_end;
  sax.characters = sax_text;
  sax.ignorableWhitespace = sax_text;
  sax.cdataBlock = sax_text;
  sax.internalSubset = sax_doctype;
  sax.serror = sax_silent;
  memcpy (ctxt->sax, &sax, sizeof sax);
  XmlRun run = { .h = h, .user = user, .ctxt = ctxt };
  ctxt->userData = &run;
  xmlParseDocument (ctxt);
  gboolean well_formed = ctxt->wellFormed != 0;
  xmlFreeParserCtxt (ctxt);
  if (run.error != NULL)
    {
      g_propagate_error (error, run.error);
      return FALSE;
    }
  if (run.doctype)
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                           "an XML part has a document type declaration (not allowed)");
      return FALSE;
    }
  if (!run.stop && !well_formed)
    {
      g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                           "an XML part is not well-formed");
      return FALSE;
    }
  return TRUE;
}

/* The root element of a part: parsing stops there. */
typedef struct
{
  Ns ns;
  char *local;
} XmlRoot;

static XmlGo
root_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  XmlRoot *root = run->user;
  root->ns = ns;
  root->local = g_strdup (local);
  return XML_STOP;
}

/* ------------------------------------------------------------------ */
/* The package: zip entries by name                                    */
/* ------------------------------------------------------------------ */

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

static void
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
static char *
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

static guint32
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
static gboolean
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
static gboolean
package_load (Package *pkg, GPtrArray *keys, GError **error)
{
  g_autoptr (GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < keys->len; i++)
    if (keys->pdata[i] != NULL)
      g_hash_table_add (wanted, keys->pdata[i]);
  return package_pass (pkg, wanted, error);
}

static GBytes *
package_get (Package *pkg, const char *key)
{
  return key != NULL ? g_hash_table_lookup (pkg->parts, key) : NULL;
}

/* ------------------------------------------------------------------ */
/* Relationships (OPC, ECMA-376 Part 2)                                */
/* ------------------------------------------------------------------ */

typedef struct
{
  char *type;   /* last segment of the Type URI: "worksheet", "slide" */
  char *target; /* folded part name, NULL if external or unusable */
} Rel;

static void
rel_free (gpointer p)
{
  Rel *rel = p;
  g_free (rel->type);
  g_free (rel->target);
  g_free (rel);
}

typedef struct
{
  GPtrArray *list;   /* Rel, in file order */
  GHashTable *by_id; /* Id -> Rel (borrowed from list) */
  char *base;        /* folder of the source part, "" or "word/" */
} Rels;

static void
rels_free (Rels *rels)
{
  if (rels == NULL)
    return;
  g_ptr_array_unref (rels->list);
  g_hash_table_unref (rels->by_id);
  g_free (rels->base);
  g_free (rels);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Rels, rels_free)

/* "word/document.xml" -> "word/"; "" for the package. */
static char *
part_folder (const char *key)
{
  const char *slash = strrchr (key, '/');
  return slash != NULL ? g_strndup (key, (gsize)(slash - key + 1)) : g_strdup ("");
}

/* The relationships part of a part: "word/_rels/document.xml.rels". */
static char *
rels_key (const char *source)
{
  g_autofree char *folder = part_folder (source);
  return g_strconcat (folder, "_rels/", source + strlen (folder), ".rels", NULL);
}

/* A relationship target resolved against the source's folder
 * (RFC 3986 5.2), as a folded key; NULL if it leaves the package. */
static char *
resolve_target (const char *base, const char *target)
{
  g_autofree char *unescaped = g_uri_unescape_string (target, NULL);
  const char *t = unescaped != NULL ? unescaped : target;
  g_autofree char *path = t[0] == '/' ? g_strdup (t + 1) : g_strconcat (base, t, NULL);
  g_auto (GStrv) segs = g_strsplit (path, "/", -1);
  g_autoptr (GPtrArray) out = g_ptr_array_new ();
  for (guint i = 0; segs[i] != NULL; i++)
    {
      if (segs[i][0] == '\0' || strcmp (segs[i], ".") == 0)
        continue;
      if (strcmp (segs[i], "..") == 0)
        {
          if (out->len == 0)
            return NULL;
          g_ptr_array_remove_index (out, out->len - 1);
          continue;
        }
      g_ptr_array_add (out, segs[i]);
    }
  g_ptr_array_add (out, NULL);
  g_autofree char *joined = g_strjoinv ("/", (char **)out->pdata);
  return part_key (joined);
}

static XmlGo
rels_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  Rels *rels = run->user;
  if (ns != NS_PKGREL || strcmp (local, "Relationship") != 0)
    return XML_DESCEND;
  g_autofree char *id = xml_attr (attrs, NS_NONE, "Id");
  g_autofree char *type = xml_attr (attrs, NS_NONE, "Type");
  g_autofree char *target = xml_attr (attrs, NS_NONE, "Target");
  g_autofree char *mode = xml_attr (attrs, NS_NONE, "TargetMode");
  if (id == NULL || type == NULL || target == NULL)
    return XML_SKIP;
  Rel *rel = g_new0 (Rel, 1);
  const char *slash = strrchr (type, '/');
  rel->type = g_strdup (slash != NULL ? slash + 1 : type);
  if (mode == NULL || strcmp (mode, "External") != 0)
    rel->target = resolve_target (rels->base, target);
  g_ptr_array_add (rels->list, rel);
  if (!g_hash_table_contains (rels->by_id, id))
    g_hash_table_insert (rels->by_id, g_steal_pointer (&id), rel);
  return XML_SKIP;
}

static const XmlHandlers RELS_HANDLERS = { rels_start, NULL, NULL };

/* The relationships of source ("" for the package), loaded before;
 * empty when there are none. */
static Rels *
rels_parse (Package *pkg, const char *source, GError **error)
{
  g_autoptr (Rels) rels = g_new0 (Rels, 1);
  rels->list = g_ptr_array_new_with_free_func (rel_free);
  rels->by_id = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  rels->base = part_folder (source);
  g_autofree char *key = source[0] == '\0' ? g_strdup ("_rels/.rels") : rels_key (source);
  GBytes *part = package_get (pkg, key);
  if (part != NULL && !xml_parse (part, &RELS_HANDLERS, rels, error))
    return NULL;
  return g_steal_pointer (&rels);
}

static const char *
rels_target (Rels *rels, const char *id)
{
  Rel *rel = id != NULL ? g_hash_table_lookup (rels->by_id, id) : NULL;
  return rel != NULL ? rel->target : NULL;
}

/* ------------------------------------------------------------------ */
/* Flowing text: docx, pptx, ODF                                       */
/* ------------------------------------------------------------------ */

typedef enum
{
  A_DESCEND,
  A_SKIP,
  A_PARA,
  A_TEXT, /* character data directly inside is text */
  A_TAB,
  A_BREAK,
  A_SPACES, /* text:s */
  A_HYPHEN, /* w:noBreakHyphen */
  A_TABLE,
  A_ROW,
  A_CELL,
  A_ALT,        /* mc:AlternateContent */
  A_ALT_BRANCH, /* mc:Choice, mc:Fallback */
  A_PAGE,       /* draw:page */
} Action;

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

static const char *const KIND_NAMES[] = { "none", "docx", "xlsx", "pptx", "odt", "ods", "odp" };

typedef struct Flow Flow;

typedef struct
{
  Action (*classify) (Flow *f, Ns ns, const char *local, const XmlAttrs *attrs, guint *repeat);
  gboolean collapse;  /* white space collapses (ODF) */
  gboolean para_text; /* character data directly in a paragraph is text (ODF) */
} FlowClass;

struct Flow
{
  const FlowClass *cls;
  Sink *sink;
  const OfficeOptions *opt;
  Kind kind;    /* ODF: set from office:body's child */
  guint pages;  /* draw:page seen */
  guint tables; /* open tables */
  guint depth;  /* open elements (not skipped) */
  guint8 action[MAX_XML_DEPTH + 1];
  guint8 alt_taken[MAX_XML_DEPTH + 1];
  guint32 repeat[MAX_XML_DEPTH + 1];
};

/* "Pr" elements hold properties, never text: w:pPr (with its w:tabs,
 * tab stops that are not tabs), w:rPr, w:sectPr, a:bodyPr, ... */
static gboolean
is_properties (const char *local)
{
  gsize n = strlen (local);
  return n > 2 && strcmp (local + n - 2, "Pr") == 0;
}

static Action
classify_mc (Ns ns, const char *local)
{
  if (strcmp (local, "AlternateContent") == 0)
    return A_ALT;
  if (strcmp (local, "Choice") == 0 || strcmp (local, "Fallback") == 0)
    return A_ALT_BRANCH;
  return A_DESCEND;
}

static Action
classify_docx (Flow *f, Ns ns, const char *local, const XmlAttrs *attrs, guint *repeat)
{
  static const struct
  {
    const char *local;
    Action action;
  } W[] = {
    { "p", A_PARA },
    { "t", A_TEXT },
    { "tab", A_TAB },
    { "ptab", A_TAB },
    { "br", A_BREAK },
    { "cr", A_BREAK },
    { "noBreakHyphen", A_HYPHEN },
    { "tbl", A_TABLE },
    { "tr", A_ROW },
    { "tc", A_CELL },
    /* tracked deletions and moves away, field codes, ruby readings,
     * symbols, grid definitions */
    { "del", A_SKIP },
    { "moveFrom", A_SKIP },
    { "delText", A_SKIP },
    { "instrText", A_SKIP },
    { "delInstrText", A_SKIP },
    { "rt", A_SKIP },
    { "sym", A_SKIP },
    { "tblGrid", A_SKIP },
  };
  if (ns == NS_MC)
    return classify_mc (ns, local);
  if (ns != NS_W)
    return A_DESCEND;
  if (is_properties (local))
    return A_SKIP;
  for (gsize i = 0; i < G_N_ELEMENTS (W); i++)
    if (strcmp (local, W[i].local) == 0)
      return W[i].action;
  return A_DESCEND;
}

static Action
classify_pptx (Flow *f, Ns ns, const char *local, const XmlAttrs *attrs, guint *repeat)
{
  if (ns == NS_MC)
    return classify_mc (ns, local);
  if (ns != NS_A)
    return A_DESCEND;
  if (is_properties (local) || strcmp (local, "lstStyle") == 0 || strcmp (local, "tblGrid") == 0)
    return A_SKIP;
  if (strcmp (local, "p") == 0)
    return A_PARA;
  if (strcmp (local, "t") == 0)
    return A_TEXT;
  if (strcmp (local, "br") == 0)
    return A_BREAK;
  if (strcmp (local, "tbl") == 0)
    return A_TABLE;
  if (strcmp (local, "tr") == 0)
    return A_ROW;
  if (strcmp (local, "tc") == 0)
    return A_CELL;
  return A_DESCEND;
}

/* A repeat count attribute, 1 when absent or bad, at most max. */
static guint
attr_count (const XmlAttrs *attrs, Ns ns, const char *local, guint max)
{
  g_autofree char *v = xml_attr (attrs, ns, local);
  guint64 n = 1;
  if (v == NULL || !g_ascii_string_to_unsigned (v, 10, 1, G_MAXUINT32, &n, NULL))
    return 1;
  return (guint)MIN (n, (guint64)max);
}

static Action
classify_odf (Flow *f, Ns ns, const char *local, const XmlAttrs *attrs, guint *repeat)
{
  switch (ns)
    {
    case NS_OFFICE:
      if (strcmp (local, "text") == 0)
        f->kind = KIND_ODT;
      else if (strcmp (local, "spreadsheet") == 0)
        f->kind = KIND_ODS;
      else if (strcmp (local, "presentation") == 0)
        f->kind = KIND_ODP;
      else if (strcmp (local, "annotation") == 0 || strcmp (local, "annotation-end") == 0
               || strcmp (local, "forms") == 0 || strcmp (local, "scripts") == 0
               || strcmp (local, "font-face-decls") == 0 || strcmp (local, "automatic-styles") == 0)
        return A_SKIP;
      return A_DESCEND;
    case NS_TEXT:
      if (strcmp (local, "p") == 0 || strcmp (local, "h") == 0)
        return A_PARA;
      if (strcmp (local, "s") == 0)
        {
          *repeat = attr_count (attrs, NS_TEXT, "c", MAX_SPACES);
          return A_SPACES;
        }
      if (strcmp (local, "tab") == 0)
        return A_TAB;
      if (strcmp (local, "line-break") == 0)
        return A_BREAK;
      /* deleted text kept for change tracking; declarations */
      if (strcmp (local, "tracked-changes") == 0 || g_str_has_suffix (local, "-decls"))
        return A_SKIP;
      return A_TEXT;
    case NS_TABLE:
      if (strcmp (local, "table") == 0)
        {
          if (f->kind == KIND_ODS && f->tables == 0)
            {
              g_autofree char *name = xml_attr (attrs, NS_TABLE, "name");
              g_autofree char *label = g_strdup_printf (f->opt->en ? "[Sheet: %s]" : "[シート: %s]",
                                                        name != NULL ? name : "");
              sink_label (f->sink, label);
            }
          return A_TABLE;
        }
      if (strcmp (local, "table-row") == 0)
        {
          *repeat = attr_count (attrs, NS_TABLE, "number-rows-repeated", MAX_ROW_REPEAT);
          return A_ROW;
        }
      if (strcmp (local, "table-cell") == 0 || strcmp (local, "covered-table-cell") == 0)
        {
          *repeat = attr_count (attrs, NS_TABLE, "number-columns-repeated", MAX_COLUMNS);
          return A_CELL;
        }
      if (strcmp (local, "table-columns") == 0 || strcmp (local, "table-column") == 0
          || strcmp (local, "table-header-columns") == 0 || strcmp (local, "named-expressions") == 0
          || strcmp (local, "database-ranges") == 0 || strcmp (local, "content-validations") == 0
          || strcmp (local, "calculation-settings") == 0 || strcmp (local, "table-source") == 0)
        return A_SKIP;
      return A_DESCEND;
    case NS_DRAW:
      if (strcmp (local, "page") == 0 && f->kind == KIND_ODP)
        return A_PAGE;
      return A_DESCEND;
    case NS_PRES:
      /* speaker notes: left out, as for pptx */
      if (strcmp (local, "notes") == 0)
        return A_SKIP;
      return A_DESCEND;
    default:
      return A_DESCEND;
    }
}

static const FlowClass DOCX_FLOW = { classify_docx, FALSE, FALSE };
static const FlowClass PPTX_FLOW = { classify_pptx, FALSE, FALSE };
static const FlowClass ODF_FLOW = { classify_odf, TRUE, TRUE };

static void
flow_check (XmlRun *run, Flow *f)
{
  if (f->sink->over)
    xml_run_fail (run, MUGAI_FILTER_LIMIT, "text longer than %zu octets (--max-output)",
                  f->sink->max_output);
}

static XmlGo
flow_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  Flow *f = run->user;
  Sink *s = f->sink;
  guint repeat = 1;
  Action action = f->cls->classify (f, ns, local, attrs, &repeat);
  XmlGo go = XML_DESCEND;
  switch (action)
    {
    case A_SKIP:
      go = XML_SKIP;
      break;
    case A_ALT_BRANCH:
      if (f->depth > 0 && f->action[f->depth] == A_ALT)
        {
          if (f->alt_taken[f->depth])
            go = XML_SKIP;
          f->alt_taken[f->depth] = TRUE;
        }
      break;
    case A_TAB:
      sink_tab (s);
      go = XML_SKIP;
      break;
    case A_BREAK:
      sink_break (s);
      go = XML_SKIP;
      break;
    case A_SPACES:
      for (guint i = 0; i < repeat; i++)
        sink_text (s, " ", 1, FALSE);
      go = XML_SKIP;
      break;
    case A_HYPHEN:
      sink_text (s, "-", 1, FALSE);
      go = XML_SKIP;
      break;
    case A_PARA:
      sink_para_begin (s);
      break;
    case A_TABLE:
      f->tables++;
      break;
    case A_ROW:
      sink_row_begin (s);
      break;
    case A_CELL:
      sink_cell_begin (s);
      break;
    case A_PAGE:
      {
        g_autofree char *label
            = g_strdup_printf (f->opt->en ? "[Slide %u]" : "[スライド %u]", ++f->pages);
        sink_label (s, label);
      }
      break;
    case A_DESCEND:
    case A_TEXT:
    case A_ALT:
      break;
    }
  flow_check (run, f);
  if (go != XML_DESCEND)
    return go;
  f->depth++;
  f->action[f->depth] = (guint8)action;
  f->alt_taken[f->depth] = FALSE;
  f->repeat[f->depth] = repeat;
  return XML_DESCEND;
}

static void
flow_end (XmlRun *run, Ns ns, const char *local)
{
  Flow *f = run->user;
  Sink *s = f->sink;
  if (f->depth == 0)
    return;
  guint repeat = f->repeat[f->depth];
  switch ((Action)f->action[f->depth--])
    {
    case A_PARA:
      sink_para_end (s);
      break;
    case A_TABLE:
      f->tables--;
      break;
    case A_ROW:
      sink_row_end (s, repeat);
      break;
    case A_CELL:
      sink_cell_end (s, repeat);
      break;
    default:
      break;
    }
  flow_check (run, f);
}

static void
flow_text (XmlRun *run, const char *p, gsize len)
{
  Flow *f = run->user;
  Action top = f->depth > 0 ? (Action)f->action[f->depth] : A_DESCEND;
  if (top == A_TEXT || (top == A_PARA && f->cls->para_text))
    sink_text (f->sink, p, len, f->cls->collapse);
  flow_check (run, f);
}

static const XmlHandlers FLOW_HANDLERS = { flow_start, flow_end, flow_text };

static gboolean
flow_part (Sink *sink, const OfficeOptions *opt, const FlowClass *cls, GBytes *part, Kind *kind,
           GError **error)
{
  g_autofree Flow *f = g_new0 (Flow, 1);
  f->cls = cls;
  f->sink = sink;
  f->opt = opt;
  f->kind = kind != NULL ? *kind : KIND_NONE;
  if (!xml_parse (part, &FLOW_HANDLERS, f, error))
    return FALSE;
  /* a part ends its last line, whatever its elements */
  sink->cell_depth = 0;
  sink->mute = FALSE;
  sink_emit (sink, FALSE);
  if (kind != NULL)
    *kind = f->kind;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* docx                                                                */
/* ------------------------------------------------------------------ */

static gboolean
convert_docx (Package *pkg, const char *main_key, Sink *sink, GError **error)
{
  static const struct
  {
    const char *type, *ja, *en;
  } SECTIONS[] = {
    { "header", "[ヘッダー]", "[Header]" },     { "footer", "[フッター]", "[Footer]" },
    { "footnotes", "[脚注]", "[Footnotes]" },   { "endnotes", "[文末脚注]", "[Endnotes]" },
    { "comments", "[コメント]", "[Comments]" },
  };
  const OfficeOptions *opt = pkg->opt;
  g_autoptr (Rels) rels = rels_parse (pkg, main_key, error);
  if (rels == NULL)
    return FALSE;
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  for (guint i = 0; i < rels->list->len; i++)
    {
      Rel *rel = rels->list->pdata[i];
      for (gsize j = 0; j < G_N_ELEMENTS (SECTIONS); j++)
        if (strcmp (rel->type, SECTIONS[j].type) == 0)
          g_ptr_array_add (keys, rel->target);
    }
  if (!package_load (pkg, keys, error))
    return FALSE;
  if (!flow_part (sink, opt, &DOCX_FLOW, package_get (pkg, main_key), NULL, error))
    return FALSE;
  for (gsize j = 0; j < G_N_ELEMENTS (SECTIONS); j++)
    {
      SinkMark mark = sink_mark (sink);
      sink_label (sink, opt->en ? SECTIONS[j].en : SECTIONS[j].ja);
      gsize label_end = sink->out->len;
      g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint i = 0; i < rels->list->len; i++)
        {
          Rel *rel = rels->list->pdata[i];
          GBytes *part = package_get (pkg, rel->target);
          if (strcmp (rel->type, SECTIONS[j].type) != 0 || part == NULL
              || !g_hash_table_add (seen, rel->target))
            continue;
          if (!flow_part (sink, opt, &DOCX_FLOW, part, NULL, error))
            return FALSE;
        }
      sink_rewind_if_empty (sink, mark, label_end);
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* pptx                                                                */
/* ------------------------------------------------------------------ */

/* The sheets of a workbook, the slides of a presentation: each must be
 * a part of its own, so there cannot be more than there are entries. */
typedef struct
{
  GPtrArray *refs;
  guint64 max;
} RefList;

static gboolean
ref_list_add (XmlRun *run, RefList *list, gpointer ref)
{
  if (list->refs->len >= list->max)
    {
      xml_run_fail (run, MUGAI_FILTER_LIMIT,
                    "more sheets or slides than zip entries (--max-entries %" G_GUINT64_FORMAT ")",
                    list->max);
      return FALSE;
    }
  g_ptr_array_add (list->refs, ref);
  return TRUE;
}

static XmlGo
presentation_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  RefList *list = run->user;
  if (ns == NS_P && strcmp (local, "sldId") == 0)
    {
      char *id = xml_attr (attrs, NS_R, "id");
      if (id != NULL && !ref_list_add (run, list, id))
        g_free (id);
      return XML_SKIP;
    }
  return XML_DESCEND;
}

static const XmlHandlers PRESENTATION_HANDLERS = { presentation_start, NULL, NULL };

static gboolean
convert_pptx (Package *pkg, const char *main_key, Sink *sink, GError **error)
{
  g_autoptr (Rels) rels = rels_parse (pkg, main_key, error);
  if (rels == NULL)
    return FALSE;
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  RefList list = { ids, pkg->opt->max_entries };
  if (!xml_parse (package_get (pkg, main_key), &PRESENTATION_HANDLERS, &list, error))
    return FALSE;
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  g_autoptr (GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < ids->len; i++)
    {
      const char *target = rels_target (rels, ids->pdata[i]);
      if (target == NULL || !g_hash_table_contains (pkg->names, target))
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                               "a slide of the presentation is missing");
          return FALSE;
        }
      /* read once: a part listed many times would be parsed many times */
      if (!g_hash_table_add (used, (gpointer)target))
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                               "a slide of the presentation is listed twice");
          return FALSE;
        }
      g_ptr_array_add (keys, (gpointer)target);
    }
  if (!package_load (pkg, keys, error))
    return FALSE;
  for (guint i = 0; i < keys->len; i++)
    {
      g_autofree char *label
          = g_strdup_printf (pkg->opt->en ? "[Slide %u]" : "[スライド %u]", i + 1);
      sink_label (sink, label);
      if (!flow_part (sink, pkg->opt, &PPTX_FLOW, package_get (pkg, keys->pdata[i]), NULL, error))
        return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* xlsx                                                                */
/* ------------------------------------------------------------------ */

/* ST_Xstring (ECMA-376 Part 1): "_xHHHH_" stands for the UTF-16
 * unit HHHH (Excel writes controls, such as CR, that way).  Controls are
 * dropped later; surrogates and NUL stay as written. */
static char *
xstring_decode (const char *s, gsize n)
{
  GString *out = g_string_sized_new (n);
  for (gsize i = 0; i < n;)
    {
      if (n - i >= 7 && s[i] == '_' && s[i + 1] == 'x' && s[i + 6] == '_'
          && g_ascii_isxdigit (s[i + 2]) && g_ascii_isxdigit (s[i + 3])
          && g_ascii_isxdigit (s[i + 4]) && g_ascii_isxdigit (s[i + 5]))
        {
          gunichar c = (gunichar)(g_ascii_xdigit_value (s[i + 2]) << 12
                                  | g_ascii_xdigit_value (s[i + 3]) << 8
                                  | g_ascii_xdigit_value (s[i + 4]) << 4
                                  | g_ascii_xdigit_value (s[i + 5]));
          if (c != 0 && g_unichar_validate (c))
            {
              g_string_append_unichar (out, c);
              i += 7;
              continue;
            }
        }
      g_string_append_c (out, s[i++]);
    }
  return g_string_free (out, FALSE);
}

/* The shared strings, decoded, one after the other with their NULs in
 * one arena: "<si/>" is five octets, and a pointer and an allocation
 * for each of millions of them would weigh ten times the part. */
typedef struct
{
  GString *arena;
  GArray *offsets; /* gsize: where each string starts in arena */
  GString *cur;
  gboolean in_si, in_t;
} SharedStrings;

static const char *
sst_get (const SharedStrings *sst, guint64 i)
{
  return i < sst->offsets->len ? sst->arena->str + g_array_index (sst->offsets, gsize, i) : "";
}

static XmlGo
sst_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  SharedStrings *sst = run->user;
  if (ns != NS_S)
    return XML_DESCEND;
  if (strcmp (local, "si") == 0)
    {
      sst->in_si = TRUE;
      g_string_truncate (sst->cur, 0);
    }
  else if (strcmp (local, "t") == 0)
    sst->in_t = TRUE;
  else if (strcmp (local, "rPh") == 0 || strcmp (local, "phoneticPr") == 0)
    return XML_SKIP; /* furigana */
  return XML_DESCEND;
}

static void
sst_end (XmlRun *run, Ns ns, const char *local)
{
  SharedStrings *sst = run->user;
  if (ns != NS_S)
    return;
  if (strcmp (local, "t") == 0)
    sst->in_t = FALSE;
  else if (strcmp (local, "si") == 0 && sst->in_si)
    {
      g_autofree char *text = xstring_decode (sst->cur->str, sst->cur->len);
      gsize offset = sst->arena->len;
      g_string_append_len (sst->arena, text, (gssize)strlen (text) + 1);
      g_array_append_val (sst->offsets, offset);
      sst->in_si = FALSE;
    }
}

static void
sst_text (XmlRun *run, const char *p, gsize len)
{
  SharedStrings *sst = run->user;
  if (sst->in_si && sst->in_t)
    g_string_append_len (sst->cur, p, (gssize)len);
}

static const XmlHandlers SST_HANDLERS = { sst_start, sst_end, sst_text };

typedef struct
{
  char *name;
  char *id;
} SheetRef;

static void
sheet_ref_free (gpointer p)
{
  SheetRef *ref = p;
  g_free (ref->name);
  g_free (ref->id);
  g_free (ref);
}

static XmlGo
workbook_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  RefList *list = run->user;
  if (ns == NS_S && strcmp (local, "sheet") == 0)
    {
      SheetRef *ref = g_new0 (SheetRef, 1);
      ref->name = xml_attr (attrs, NS_NONE, "name");
      ref->id = xml_attr (attrs, NS_R, "id");
      if (!ref_list_add (run, list, ref))
        sheet_ref_free (ref);
      return XML_SKIP;
    }
  return XML_DESCEND;
}

static const XmlHandlers WORKBOOK_HANDLERS = { workbook_start, NULL, NULL };

typedef struct
{
  guint col;
  guint seq; /* document order, to keep the sort stable */
  char *text;
} XCell;

typedef struct
{
  Sink *sink;
  const SharedStrings *sst;
  GArray *cells; /* XCell of the current row */
  guint next_col;
  guint col; /* of the current cell, 0 if out of range */
  char *type;
  GString *value;
  gboolean in_c, in_v, in_is, in_t;
} SheetWalk;

/* "BC12" -> 55; 0 when not a cell reference within MAX_COLUMNS. */
static guint
column_of (const char *ref)
{
  guint col = 0, letters = 0;
  for (; g_ascii_isalpha (*ref); ref++)
    {
      if (++letters > 3)
        return 0;
      col = col * 26 + (guint)(g_ascii_toupper (*ref) - 'A' + 1);
    }
  return letters > 0 && col <= MAX_COLUMNS ? col : 0;
}

static XmlGo
sheet_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  SheetWalk *w = run->user;
  if (ns != NS_S)
    return XML_DESCEND;
  if (strcmp (local, "row") == 0)
    {
      g_array_set_size (w->cells, 0);
      w->next_col = 1;
    }
  else if (strcmp (local, "c") == 0)
    {
      g_autofree char *ref = xml_attr (attrs, NS_NONE, "r");
      guint col = ref != NULL ? column_of (ref) : 0;
      if (col == 0)
        col = w->next_col;
      w->col = col <= MAX_COLUMNS ? col : 0;
      w->next_col = col + 1;
      g_free (w->type);
      w->type = xml_attr (attrs, NS_NONE, "t");
      g_string_truncate (w->value, 0);
      w->in_c = TRUE;
    }
  else if (strcmp (local, "v") == 0 && w->in_c)
    w->in_v = TRUE;
  else if (strcmp (local, "is") == 0 && w->in_c)
    w->in_is = TRUE;
  else if (strcmp (local, "t") == 0 && w->in_is)
    w->in_t = TRUE;
  else if (strcmp (local, "rPh") == 0 || strcmp (local, "f") == 0 || strcmp (local, "extLst") == 0
           || strcmp (local, "sheetPr") == 0 || strcmp (local, "cols") == 0)
    return XML_SKIP;
  return XML_DESCEND;
}

static int
xcell_compare (gconstpointer a, gconstpointer b)
{
  const XCell *x = a, *y = b;
  if (x->col != y->col)
    return x->col < y->col ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
sheet_row (SheetWalk *w)
{
  Sink *s = w->sink;
  g_array_sort (w->cells, xcell_compare);
  sink_row_begin (s);
  guint col = 1;
  for (guint i = 0; i < w->cells->len; i++)
    {
      XCell *c = &g_array_index (w->cells, XCell, i);
      if (c->col < col)
        continue; /* two cells in one column: the first is kept */
      for (; col < c->col; col++)
        {
          sink_cell_begin (s);
          sink_cell_end (s, 1);
        }
      sink_cell_begin (s);
      sink_text (s, c->text, strlen (c->text), FALSE);
      sink_cell_end (s, 1);
      col++;
    }
  sink_row_end (s, 1);
  g_array_set_size (w->cells, 0); /* xcell_clear frees the texts */
}

static char *
sheet_cell_value (SheetWalk *w)
{
  const char *type = w->type != NULL ? w->type : "n";
  const char *v = w->value->str;
  if (strcmp (type, "s") == 0)
    {
      guint64 i = 0;
      if (!g_ascii_string_to_unsigned (v, 10, 0, G_MAXUINT32, &i, NULL))
        return g_strdup ("");
      return g_strdup (sst_get (w->sst, i));
    }
  if (strcmp (type, "b") == 0)
    return g_strdup (strcmp (v, "1") == 0 ? "TRUE" : strcmp (v, "0") == 0 ? "FALSE" : v);
  if (strcmp (type, "inlineStr") == 0 || strcmp (type, "str") == 0)
    return xstring_decode (v, w->value->len);
  return g_strdup (v); /* n, d, e: as written */
}

static void
sheet_end (XmlRun *run, Ns ns, const char *local)
{
  SheetWalk *w = run->user;
  if (ns != NS_S)
    return;
  if (strcmp (local, "v") == 0)
    w->in_v = FALSE;
  else if (strcmp (local, "t") == 0)
    w->in_t = FALSE;
  else if (strcmp (local, "is") == 0)
    w->in_is = FALSE;
  else if (strcmp (local, "c") == 0 && w->in_c)
    {
      w->in_c = FALSE;
      g_autofree char *text = sheet_cell_value (w);
      if (text[0] != '\0' && w->col > 0 && w->cells->len < MAX_COLUMNS)
        {
          XCell c = { w->col, w->cells->len, g_steal_pointer (&text) };
          g_array_append_val (w->cells, c);
        }
    }
  else if (strcmp (local, "row") == 0)
    sheet_row (w);
  if (w->sink->over)
    xml_run_fail (run, MUGAI_FILTER_LIMIT, "text longer than %zu octets (--max-output)",
                  w->sink->max_output);
}

static void
sheet_text (XmlRun *run, const char *p, gsize len)
{
  SheetWalk *w = run->user;
  if (w->in_v || (w->in_is && w->in_t))
    g_string_append_len (w->value, p, (gssize)len);
}

static const XmlHandlers SHEET_HANDLERS = { sheet_start, sheet_end, sheet_text };

static void
xcell_clear (gpointer p)
{
  g_free (((XCell *)p)->text);
}

static gboolean
convert_xlsx (Package *pkg, const char *main_key, Sink *sink, GError **error)
{
  g_autoptr (Rels) rels = rels_parse (pkg, main_key, error);
  if (rels == NULL)
    return FALSE;
  g_autoptr (GPtrArray) sheets = g_ptr_array_new_with_free_func (sheet_ref_free);
  RefList list = { sheets, pkg->opt->max_entries };
  if (!xml_parse (package_get (pkg, main_key), &WORKBOOK_HANDLERS, &list, error))
    return FALSE;
  g_autoptr (GHashTable) used = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  const char *sst_key = NULL;
  for (guint i = 0; i < rels->list->len; i++)
    {
      Rel *rel = rels->list->pdata[i];
      if (strcmp (rel->type, "sharedStrings") == 0 && rel->target != NULL)
        sst_key = rel->target;
    }
  g_ptr_array_add (keys, (gpointer)sst_key);
  for (guint i = 0; i < sheets->len; i++)
    {
      SheetRef *ref = sheets->pdata[i];
      const char *target = rels_target (rels, ref->id);
      if (target == NULL || !g_hash_table_contains (pkg->names, target))
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                               "a sheet of the workbook is missing");
          return FALSE;
        }
      if (!g_hash_table_add (used, (gpointer)target))
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                               "a sheet of the workbook is listed twice");
          return FALSE;
        }
      g_ptr_array_add (keys, (gpointer)target);
    }
  if (!package_load (pkg, keys, error))
    return FALSE;

  g_autoptr (GString) arena = g_string_new (NULL);
  g_autoptr (GArray) offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr (GString) cur = g_string_new (NULL);
  SharedStrings sst = { arena, offsets, cur, FALSE, FALSE };
  GBytes *sst_part = package_get (pkg, sst_key);
  if (sst_part != NULL && !xml_parse (sst_part, &SST_HANDLERS, &sst, error))
    return FALSE;
  for (guint i = 0; i < sheets->len; i++)
    {
      SheetRef *ref = sheets->pdata[i];
      g_autofree char *label = g_strdup_printf (pkg->opt->en ? "[Sheet: %s]" : "[シート: %s]",
                                                ref->name != NULL ? ref->name : "");
      sink_label (sink, label);
      SheetWalk w = { .sink = sink, .sst = &sst };
      w.cells = g_array_new (FALSE, FALSE, sizeof (XCell));
      g_array_set_clear_func (w.cells, xcell_clear);
      w.value = g_string_new (NULL);
      gboolean ok = xml_parse (package_get (pkg, keys->pdata[i + 1]), &SHEET_HANDLERS, &w, error);
      g_array_unref (w.cells);
      g_string_free (w.value, TRUE);
      g_free (w.type);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Detection                                                           */
/* ------------------------------------------------------------------ */

static const guint8 OLE_MAGIC[8] = { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 };

/* An OLE compound file (MS-CFB) with a stream named "EncryptionInfo" is
 * a password-protected OOXML package (MS-OFFCRYPTO).  Directory
 * entries are 128 octets at 128-octet offsets after the 512-octet header
 * (4096-octet sectors keep that alignment): the name is UTF-16LE, its
 * length in octets with the NUL at +64, the type (2: stream) at +66.
 * Looking only there keeps the words of a .doc from matching. */
static gboolean
ole_is_encrypted (const guint8 *p, gsize len)
{
  static const char name[] = "EncryptionInfo";
  guint8 utf16[28];
  for (gsize i = 0; i < 14; i++)
    {
      utf16[2 * i] = (guint8)name[i];
      utf16[2 * i + 1] = 0;
    }
  for (gsize off = 512; off + 128 <= len; off += 128)
    if (memcmp (p + off, utf16, sizeof utf16) == 0 && le16 (p + off + 64) == 30 && p[off + 66] == 2)
      return TRUE;
  return FALSE;
}

static void
add_key (GPtrArray *keys, const char *key)
{
  g_ptr_array_add (keys, g_strdup (key));
}

static gboolean
convert (GBytes *input, const OfficeOptions *opt, GString **out_text, Kind *out_kind,
         GError **error)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (input, &len);
  if (len >= sizeof OLE_MAGIC && memcmp (data, OLE_MAGIC, sizeof OLE_MAGIC) == 0)
    {
      if (ole_is_encrypted (data, len))
        g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_ENCRYPTED,
                             "password-protected Office document");
      else
        g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED,
                             "legacy binary Office format: not supported by the text filter");
      return FALSE;
    }
  if (!zip_check_entries (data, len, opt->max_entries, error))
    return FALSE;

  Package pkg = { .data = data, .len = len, .opt = opt };
  Sink sink;
  sink_init (&sink, (gsize)opt->max_output);
  gboolean ok = FALSE;
  Kind kind = KIND_NONE;
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  add_key (keys, "[content_types].xml");
  add_key (keys, "_rels/.rels");
  add_key (keys, "mimetype");
  add_key (keys, "content.xml");
  if (!package_load (&pkg, keys, error))
    goto out;

  if (g_hash_table_contains (pkg.names, "[content_types].xml"))
    {
      /* OOXML: the main part is the target of the package's
       * officeDocument relationship; its root element says which kind */
      g_autoptr (Rels) rels = rels_parse (&pkg, "", error);
      if (rels == NULL)
        goto out;
      g_ptr_array_set_size (keys, 0);
      for (guint i = 0; i < rels->list->len; i++)
        {
          Rel *rel = rels->list->pdata[i];
          if (strcmp (rel->type, "officeDocument") == 0 && rel->target != NULL
              && g_hash_table_contains (pkg.names, rel->target))
            {
              add_key (keys, rel->target);
              break;
            }
        }
      if (keys->len == 0)
        {
          static const char *const PROBES[]
              = { "word/document.xml", "xl/workbook.xml", "ppt/presentation.xml" };
          for (gsize i = 0; i < G_N_ELEMENTS (PROBES) && keys->len == 0; i++)
            if (g_hash_table_contains (pkg.names, PROBES[i]))
              add_key (keys, PROBES[i]);
        }
      if (keys->len == 0)
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED, NOT_OFFICE);
          goto out;
        }
      g_autofree char *main_key = g_strdup (keys->pdata[0]);
      g_ptr_array_add (keys, rels_key (main_key));
      if (!package_load (&pkg, keys, error))
        goto out;
      XmlRoot root = { NS_NONE, NULL };
      if (!xml_parse (package_get (&pkg, main_key), &(XmlHandlers){ root_start, NULL, NULL }, &root,
                      error))
        goto out;
      g_autofree char *root_local = root.local;
      if (root_local != NULL && root.ns == NS_W && strcmp (root_local, "document") == 0)
        kind = KIND_DOCX, ok = convert_docx (&pkg, main_key, &sink, error);
      else if (root_local != NULL && root.ns == NS_S && strcmp (root_local, "workbook") == 0)
        kind = KIND_XLSX, ok = convert_xlsx (&pkg, main_key, &sink, error);
      else if (root_local != NULL && root.ns == NS_P && strcmp (root_local, "presentation") == 0)
        kind = KIND_PPTX, ok = convert_pptx (&pkg, main_key, &sink, error);
      else
        g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED, NOT_OFFICE);
    }
  else if (package_get (&pkg, "content.xml") != NULL)
    {
      /* ODF: "mimetype", when there, names an OpenDocument type; the
       * child of office:body says which */
      GBytes *mime = package_get (&pkg, "mimetype");
      static const char ODF_MIME[] = "application/vnd.oasis.opendocument.";
      gsize mime_len = 0;
      const char *mime_data = mime != NULL ? g_bytes_get_data (mime, &mime_len) : NULL;
      if (mime != NULL
          && (mime_len < sizeof ODF_MIME - 1 || memcmp (mime_data, ODF_MIME, sizeof ODF_MIME - 1)))
        {
          g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED, NOT_OFFICE);
          goto out;
        }
      if (!flow_part (&sink, opt, &ODF_FLOW, package_get (&pkg, "content.xml"), &kind, error))
        goto out;
      if (kind == KIND_NONE)
        g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED, NOT_OFFICE);
      else
        ok = TRUE;
    }
  else
    g_set_error_literal (error, OFFICE_ERROR, MUGAI_FILTER_FAILED, NOT_OFFICE);

out:
  if (ok && sink.over)
    {
      g_set_error (error, OFFICE_ERROR, MUGAI_FILTER_LIMIT,
                   "text longer than %zu octets (--max-output)", sink.max_output);
      ok = FALSE;
    }
  if (ok)
    {
      *out_text = sink_finish (&sink);
      *out_kind = kind;
    }
  sink_clear (&sink);
  package_clear (&pkg);
  return ok;
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

static void
xml_silent_generic (void *ctx, const char *msg, ...)
{
}

/* A zip of one deflated entry, "\u00e9.xml" with the UTF-8 name flag. */
static const char WARM_ZIP[]
    = "\120\113\003\004\024\000\000\010\010\000\000\000\041\130\053\204\046\022"
      "\006\000\000\000\004\000\000\000\006\000\000\000\303\251\056\170\155\154"
      "\263\251\320\267\003\000\120\113\001\002\024\003\024\000\000\010\010\000"
      "\000\000\041\130\053\204\046\022\006\000\000\000\004\000\000\000\006\000"
      "\000\000\000\000\000\000\000\000\000\000\200\001\000\000\000\000\303\251"
      "\056\170\155\154\120\113\005\006\000\000\000\000\001\000\001\000\064\000"
      "\000\000\052\000\000\000\000\000";

/* Before the lockdown, does once what libarchive does on its first
 * entry and would otherwise do after it: glibc's iconv reads
 * gconv-modules.cache (libarchive sets up its name conversions), and
 * mktime() (the entry's DOS time) reads /etc/localtime and then stats
 * it again for every entry.  TZ is set so that it does not: nothing in
 * the output depends on time, and the sandbox's environment is empty. */
static void
warm_up_libarchive (void)
{
  g_setenv ("TZ", "UTC0", TRUE);
  tzset ();
  g_autoptr (MugaiArchive) a = archive_read_new ();
  struct archive_entry *e = NULL;
  char buf[16];
  if (a == NULL || archive_read_support_format_zip_seekable (a) != ARCHIVE_OK
      || archive_read_open_memory (a, WARM_ZIP, sizeof WARM_ZIP - 1) != ARCHIVE_OK)
    return;
  while (archive_read_next_header (a, &e) >= ARCHIVE_WARN)
    if (archive_read_data (a, buf, sizeof buf) < 0)
      break;
}

static void
report_error (const GError *error)
{
  g_autofree char *reason = g_strescape (error->message, NULL);
  g_printerr ("error reason=\"%s\"\n", reason);
}

static int
exit_code_of (const GError *error)
{
  if (error->domain == OFFICE_ERROR)
    return error->code;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
    return MUGAI_FILTER_LIMIT;
  return MUGAI_FILTER_FAILED;
}

int
main (int argc, char **argv)
{
  g_autofree char *lang = NULL;
  gint64 max_input = DEFAULT_MAX_INPUT, max_entry = DEFAULT_MAX_ENTRY;
  gint64 max_total = DEFAULT_MAX_TOTAL, max_entries = DEFAULT_MAX_ENTRIES;
  gint64 max_output = DEFAULT_MAX_OUTPUT;
  GOptionEntry entries[] = {
    { "lang", 0, 0, G_OPTION_ARG_STRING, &lang, "Language of the labels (ja)", "ja|en" },
    { "max-input", 0, 0, G_OPTION_ARG_INT64, &max_input, "Largest document (64 MiB)", "BYTES" },
    { "max-entry", 0, 0, G_OPTION_ARG_INT64, &max_entry,
      "Most octets inflated from one zip entry (32 MiB)", "BYTES" },
    { "max-total", 0, 0, G_OPTION_ARG_INT64, &max_total,
      "Most octets inflated from all entries (128 MiB)", "BYTES" },
    { "max-entries", 0, 0, G_OPTION_ARG_INT64, &max_entries, "Most zip entries (10000)", "N" },
    { "max-output", 0, 0, G_OPTION_ARG_INT64, &max_output, "Longest text (16 MiB)", "BYTES" },
    { NULL },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) context
      = g_option_context_new ("- text of a docx, xlsx, pptx, odt, ods or odp on standard input");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("mugai-filter-office: %s\n", error->message);
      return MUGAI_FILTER_USAGE;
    }
  if (argc > 1 || (lang != NULL && strcmp (lang, "ja") != 0 && strcmp (lang, "en") != 0)
      || max_input <= 0 || max_entry <= 0 || max_entry > G_MAXINT || max_total <= 0
      || max_entries <= 0 || max_output <= 0 || (guint64)max_output > G_MAXSIZE / 2)
    {
      g_printerr ("mugai-filter-office: bad usage (see --help)\n");
      return MUGAI_FILTER_USAGE;
    }
  OfficeOptions opt = {
    .max_input = (guint64)max_input,
    .max_entry = (guint64)max_entry,
    .max_total = (guint64)max_total,
    .max_entries = (guint64)max_entries,
    .max_output = (guint64)max_output,
    .en = lang != NULL && strcmp (lang, "en") == 0,
  };

  xmlInitParser ();
  xmlSetGenericErrorFunc (NULL, xml_silent_generic);
  xmlSetStructuredErrorFunc (NULL, sax_silent);
  warm_up_libarchive ();
  /* g_printerr() looks the locale's charset up once, in charset.alias */
  g_get_charset (NULL);

  if (!mugai_filter_lockdown (MUGAI_LOCKDOWN_DEFAULT, &error))
    {
      report_error (error);
      return MUGAI_FILTER_FAILED;
    }
  g_autoptr (GBytes) input
      = mugai_filter_read_stdin ((gsize)MIN (opt.max_input, (guint64)G_MAXSIZE), &error);
  if (input == NULL)
    {
      report_error (error);
      return exit_code_of (error);
    }
  GString *text = NULL;
  Kind kind = KIND_NONE;
  if (!convert (input, &opt, &text, &kind, &error))
    {
      report_error (error);
      return exit_code_of (error);
    }
  gboolean written = mugai_filter_write_stdout (text->str, text->len, &error);
  g_string_free (text, TRUE);
  if (!written)
    {
      report_error (error);
      return MUGAI_FILTER_FAILED;
    }
  g_printerr ("info kind=%s\n", KIND_NAMES[kind]);
  return MUGAI_FILTER_OK;
}
