/*
 * main.c - mugai-filter-office: text of an Office Open XML or OpenDocument file
 *
 * NAME
 *	mugai-filter-office - docx, xlsx, pptx, odt, ods, odp to UTF-8 text
 *
 * SYNOPSIS
 *	mugai-filter-office [--lang ja|en] [--max-input BYTES]
 *	                    [--max-entry BYTES] [--max-total BYTES]
 *	                    [--max-entries N] [--max-output BYTES]
 *
 * FILES
 *	One program, one concept, in a file per section (filters/office/),
 *	sharing the private office.h:
 *	main.c (this file: options, lockdown, detection and dispatch by
 *	kind), package.c (zip entries by name), rels.c (OPC
 *	relationships), xml.c (the SAX2 driver every part goes through),
 *	flow.c (flowing text: docx, pptx, ODF), sheets.c (xlsx), sink.c
 *	(the output: lines, tables, labels).
 *
 * DESCRIPTION
 *	Reads one untrusted document on standard input and writes its text,
 *	UTF-8 with LF line ends and a final newline, on standard output (in
 *	one write at the end: nothing at all on failure).  The filter runs in
 *	the sandbox (src/convert/sandbox.c); it initialises libxml2, locks itself down
 *	(lockdown.c) and only then reads the document.
 *
 *	How the zip is read (the central directory, case-folded part
 *	names, duplicates refused) is in package.c; how each XML part is
 *	parsed (SAX2, no DTD, hence no entities; UTF-8 and UTF-16 only) in
 *	xml.c.
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
#include "office.h"

#define MiB (1024 * 1024)

/* Defaults of the command-line limits (see LIMITS above). */
#define DEFAULT_MAX_INPUT (64 * MiB)
#define DEFAULT_MAX_ENTRY (32 * MiB)
#define DEFAULT_MAX_TOTAL (128 * MiB)
#define DEFAULT_MAX_ENTRIES 10000
#define DEFAULT_MAX_OUTPUT (16 * MiB)

GQuark
office_error_quark (void)
{
  return g_quark_from_static_string ("mugai-filter-office-error-quark");
}

static const char *const KIND_NAMES[] = { "none", "docx", "xlsx", "pptx", "odt", "ods", "odp" };

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
