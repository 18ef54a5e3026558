/*
 * convert.c - converting documents in sandboxed filters (see convert.h)
 *
 * DESCRIPTION
 *	The filters and what they are given:
 *	  mugai-filter-pdf    --dpi N --max-pages N [--text]
 *	  mugai-filter-office --lang ja|en
 *	  mugai-filter-image  (JPEG stays JPEG, the rest becomes PNG)
 *	  mugai-filter-soffice --ext EXT --to pdf|docx|xlsx|pptx --soffice PATH
 *	Each reads the document on standard input and writes its output on
 *	standard output; exit 2 means password-protected, 3 a limit, and the
 *	last line on standard error "info key=value..." says what was done.
 *
 *	An office document through LibreOffice takes two runs, each in its
 *	own sandbox: mugai-filter-soffice makes a PDF (office = image) or,
 *	for the text of a legacy format, a docx/xlsx/pptx; the PDF goes to
 *	mugai-filter-pdf exactly as a PDF attachment would, the OOXML to
 *	mugai-filter-office; LibreOffice's own output never reaches the
 *	message.
 *
 *	Names: an output is always named for what it now is, whatever the
 *	sender called the input, so that nothing opens it as another type
 *	(a PDF sent as "report.shtml" would otherwise be handed to a
 *	browser's HTML parser by its name).  An image-only PDF is NAME.pdf
 *	unless NAME already ends in ".pdf" (見積書.pdf stays 見積書.pdf,
 *	見積書.doc becomes 見積書.doc.pdf, report.shtml report.shtml.pdf);
 *	text is NAME.txt (見積書.xlsx.txt); a re-encoded JPEG keeps a name
 *	ending in .jpg, .jpeg or .jpe and a PNG one ending in .png, and
 *	anything else gets ".jpg" or ".png" after the whole name (x.svg
 *	becomes x.svg.png).  Extensions are compared in ASCII, case
 *	ignored: a full-width "．ｐｄｆ" is not ".pdf" to Windows.
 *
 * LIMITS
 *	From [sandbox]: wall clock, CPU seconds, address space, output size,
 *	filters at once.  Under AddressSanitizer the address-space limit is
 *	not set (its shadow memory needs terabytes of address space).
 */
#include "convert.h"
#include "words.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

void
mugai_conversion_clear (MugaiConversion *c)
{
  g_clear_pointer (&c->output, g_bytes_unref);
  g_clear_pointer (&c->mime_type, g_free);
  g_clear_pointer (&c->filename, g_free);
  g_clear_pointer (&c->text, g_bytes_unref);
  g_clear_pointer (&c->text_filename, g_free);
  g_clear_pointer (&c->detail, g_free);
}

MugaiConvertMode
mugai_convert_mode (const MugaiConvertSettings *s, MugaiDocKind kind)
{
  switch (kind)
    {
    case MUGAI_DOC_PDF:
      return s->pdf == MUGAI_PDF_IMAGE  ? MUGAI_CONVERT_PDF_IMAGE
             : s->pdf == MUGAI_PDF_TEXT ? MUGAI_CONVERT_PDF_TEXT
                                        : MUGAI_CONVERT_NONE;
    case MUGAI_DOC_WORD_X:
    case MUGAI_DOC_EXCEL_X:
    case MUGAI_DOC_POWERPOINT_X:
    case MUGAI_DOC_ODT:
    case MUGAI_DOC_ODS:
    case MUGAI_DOC_ODP:
      return s->office == MUGAI_OFFICE_TEXT    ? MUGAI_CONVERT_OFFICE_TEXT
             : s->office == MUGAI_OFFICE_IMAGE ? MUGAI_CONVERT_OFFICE_IMAGE
                                               : MUGAI_CONVERT_NONE;
    case MUGAI_DOC_WORD:
    case MUGAI_DOC_EXCEL:
    case MUGAI_DOC_POWERPOINT:
    case MUGAI_DOC_RTF:
      return s->office == MUGAI_OFFICE_TEXT    ? MUGAI_CONVERT_OFFICE_LEGACY_TEXT
             : s->office == MUGAI_OFFICE_IMAGE ? MUGAI_CONVERT_OFFICE_IMAGE
                                               : MUGAI_CONVERT_NONE;
    case MUGAI_DOC_JPEG:
    case MUGAI_DOC_PNG:
    case MUGAI_DOC_GIF:
    case MUGAI_DOC_BMP:
    case MUGAI_DOC_WEBP:
      return s->image == MUGAI_IMAGE_REENCODE ? MUGAI_CONVERT_IMAGE : MUGAI_CONVERT_NONE;
    default:
      return MUGAI_CONVERT_NONE;
    }
}

GPtrArray *
mugai_convert_check (const MugaiConvertSettings *s, gboolean *fatal)
{
  GPtrArray *problems = g_ptr_array_new_with_free_func (g_free);
  *fatal = FALSE;
  gboolean office = s->office != MUGAI_OFFICE_REMOVE;
  const struct
  {
    const char *program;
    gboolean needed;
    const char *for_what;
  } programs[] = {
    { "mugai-filter-pdf", s->pdf != MUGAI_PDF_REMOVE || office, "PDF and LibreOffice output" },
    { "mugai-filter-office", s->office == MUGAI_OFFICE_TEXT, "office = text" },
    { "mugai-filter-image", s->image == MUGAI_IMAGE_REENCODE, "image = reencode" },
    { "mugai-filter-soffice", office, "office documents through LibreOffice" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (programs); i++)
    {
      g_autofree char *path = g_build_filename (s->filters_dir, programs[i].program, NULL);
      if (programs[i].needed && access (path, X_OK) != 0)
        {
          g_ptr_array_add (
              problems,
              g_strdup_printf (
                  "error: [sandbox] filters: %s is missing (%s): "
                  "mugai-milter does not start without it (such parts could only be deferred)",
                  path, programs[i].for_what));
          *fatal = TRUE;
        }
    }
  if (office && access (s->soffice, X_OK) != 0)
    g_ptr_array_add (problems,
                     g_strdup_printf ("warning: [sandbox] soffice: LibreOffice (%s) is not "
                                      "installed: %s will be removed",
                                      s->soffice,
                                      s->office == MUGAI_OFFICE_IMAGE
                                          ? "every office document (office = image)"
                                          : ".doc, .xls, .ppt and .rtf attachments"));
  return problems;
}

#define OSL_PIPE_DIR "/tmp"
#define OSL_PIPE_PREFIX "OSL_PIPE_"
#define OSL_PIPE_INFIX "_SingleOfficeIPC_"

static void (*sweeper) (void);

void
mugai_convert_set_sweeper (void (*fn) (void))
{
  sweeper = fn;
}

void
mugai_convert_sweep_stale (void)
{
  int dfd = open (OSL_PIPE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return;
  DIR *d = fdopendir (dfd);
  if (d == NULL)
    {
      close (dfd);
      return;
    }
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      if (!g_str_has_prefix (e->d_name, OSL_PIPE_PREFIX) || !strstr (e->d_name, OSL_PIPE_INFIX))
        continue;
      struct stat st;
      if (fstatat (dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISSOCK (st.st_mode)
          || st.st_uid != geteuid ())
        continue;
      struct sockaddr_un sa = { .sun_family = AF_UNIX };
      if (g_snprintf (sa.sun_path, sizeof sa.sun_path, "%s/%s", OSL_PIPE_DIR, e->d_name)
          >= (int)sizeof sa.sun_path)
        continue;
      int s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (s < 0)
        break;
      /* refused: nobody listens; a live LibreOffice accepts (and sees a
       * connection closed at once, which it takes for a client gone) */
      gboolean stale = connect (s, (struct sockaddr *)&sa, sizeof sa) != 0 && errno == ECONNREFUSED;
      close (s);
      if (stale)
        unlinkat (dfd, e->d_name, 0);
    }
  closedir (d);
}

/* The value of key in the filter's last "info k=v k=v" line, or -1. */
static long
info_value (const char *diagnostics, const char *key)
{
  const char *info = diagnostics ? g_strrstr (diagnostics, "info ") : NULL;
  if (!info)
    return -1;
  g_autofree char *pat = g_strconcat (" ", key, "=", NULL);
  const char *p = strstr (info, pat);
  if (!p)
    return -1;
  p += strlen (pat);
  char *end = NULL;
  long v = strtol (p, &end, 10);
  return end == p || v < 0 ? -1 : v;
}

static char *
info_word (const char *diagnostics, const char *key)
{
  const char *info = diagnostics ? g_strrstr (diagnostics, "info ") : NULL;
  if (!info)
    return NULL;
  g_autofree char *pat = g_strconcat (" ", key, "=", NULL);
  const char *p = strstr (info, pat);
  if (!p)
    return NULL;
  p += strlen (pat);
  gsize n = strcspn (p, " \n");
  return n ? g_strndup (p, MIN (n, 64)) : NULL;
}

/* What every run of one conversion shares. */
typedef struct
{
  MugaiSandboxSlots *slots;
  gint64 deadline; /* monotonic µs, or 0 */
} Job;

/* Runs one filter.  TRUE with *result filled; FALSE with error.  Past
 * the job's deadline (less than a second left) the filter is not started:
 * a TIMEOUT outcome. */
static gboolean
run_filter (const MugaiConvertSettings *s, const Job *job, const char *program,
            const char *const *args, GBytes *input, MugaiSandboxResult *result, GError **error)
{
  guint timeout_ms = s->timeout * 1000u, wait_ms = s->slot_wait * 1000u;
  if (job->deadline > 0)
    {
      gint64 left_ms = (job->deadline - g_get_monotonic_time ()) / 1000;
      if (left_ms < 1000)
        {
          mugai_sandbox_result_clear (result);
          result->outcome = MUGAI_SANDBOX_TIMEOUT;
          result->diagnostics = g_strdup ("");
          return TRUE;
        }
      timeout_ms = (guint)MIN ((gint64)timeout_ms, left_ms);
      wait_ms = (guint)MIN ((gint64)wait_ms, left_ms);
    }
  g_autofree char *path = g_build_filename (s->filters_dir, program, NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, path);
  for (gsize i = 0; args && args[i]; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);
  MugaiSandboxLimits limits = {
    .timeout_ms = timeout_ms,
    .cpu_seconds = s->cpu,
#ifndef __SANITIZE_ADDRESS__
    .address_space = s->memory,
#endif
    .file_size = 64u * 1024u * 1024u,
    .open_files = 64,
    .output_max = s->output_max,
  };
  return mugai_sandbox_run (job->slots, wait_ms, (const char *const *)argv->pdata, input, &limits,
                            result, error);
}

/* Turns an outcome other than OK into out->status and out->detail.
 * TRUE when the run succeeded. */
static gboolean
judge (const MugaiSandboxResult *r, gboolean ja, MugaiConversion *out)
{
  if (r->outcome == MUGAI_SANDBOX_OK)
    return TRUE;
  if (r->outcome == MUGAI_SANDBOX_NO_SLOT)
    out->status = MUGAI_CONVERT_DEFER;
  else if (r->outcome == MUGAI_SANDBOX_EXIT && r->exit_code == 2)
    out->status = MUGAI_CONVERT_ENCRYPTED;
  else if ((r->outcome == MUGAI_SANDBOX_EXIT && r->exit_code == 3)
           || r->outcome == MUGAI_SANDBOX_OUTPUT_LIMIT || r->outcome == MUGAI_SANDBOX_TIMEOUT)
    out->status = MUGAI_CONVERT_LIMIT;
  else
    out->status = MUGAI_CONVERT_FAILED;
  const char *why = mugai_sandbox_result_text (r, ja);
  /* the filter's own one-line reason, when it gave one (its words, not
   * the sender's: filters print fixed English texts) */
  const char *diag = r->diagnostics && *r->diagnostics ? r->diagnostics : NULL;
  if (diag && r->outcome == MUGAI_SANDBOX_EXIT)
    {
      const char *colon = strstr (diag, ": ");
      const char *reason = colon ? colon + 2 : diag;
      out->detail
          = g_strdup_printf (MUGAI_W (ja, "could not be converted: %s (%.160s)"), why, reason);
    }
  else
    out->detail = g_strdup_printf (MUGAI_W (ja, "could not be converted: %s"), why);
  return FALSE;
}

static char *
with_suffix (const char *filename, const char *fallback, const char *suffix)
{
  const char *base = filename && *filename ? filename : fallback;
  return g_strconcat (base, suffix, NULL);
}

/* TRUE when name ends in one of exts (".pdf", ...), ASCII case ignored. */
static gboolean
ends_in (const char *name, const char *const *exts)
{
  gsize n = name ? strlen (name) : 0;
  for (gsize i = 0; exts[i]; i++)
    {
      gsize e = strlen (exts[i]);
      if (n > e && g_ascii_strcasecmp (name + n - e, exts[i]) == 0)
        return TRUE;
    }
  return FALSE;
}

/* The name of an output of a type whose extensions are exts (the first
 * is the one added): filename itself when it already ends in one of
 * them, else filename (or fallback) with exts[0] after it. */
static char *
named_as (const char *filename, const char *fallback, const char *const *exts)
{
  if (filename && *filename && ends_in (filename, exts))
    return g_strdup (filename);
  return with_suffix (filename, fallback, exts[0]);
}

static const char *const pdf_exts[] = { ".pdf", NULL };
static const char *const txt_exts[] = { ".txt", NULL };
static const char *const jpeg_exts[] = { ".jpg", ".jpeg", ".jpe", NULL };
static const char *const png_exts[] = { ".png", NULL };

char *
mugai_convert_output_name (const char *filename, const char *mime_type)
{
  if (g_strcmp0 (mime_type, "application/pdf") == 0)
    return named_as (filename, "document", pdf_exts);
  if (g_strcmp0 (mime_type, "image/jpeg") == 0)
    return named_as (filename, "image", jpeg_exts);
  if (g_strcmp0 (mime_type, "image/png") == 0)
    return named_as (filename, "image", png_exts);
  return with_suffix (filename, "document", txt_exts[0]);
}

/* The extension LibreOffice is given for a true type (its own type
 * detection reads the content; the name only breaks ties). */
static const char *
soffice_ext (MugaiDocKind kind)
{
  switch (kind)
    {
    case MUGAI_DOC_WORD:
      return "doc";
    case MUGAI_DOC_EXCEL:
      return "xls";
    case MUGAI_DOC_POWERPOINT:
      return "ppt";
    case MUGAI_DOC_RTF:
      return "rtf";
    case MUGAI_DOC_WORD_X:
      return "docx";
    case MUGAI_DOC_EXCEL_X:
      return "xlsx";
    case MUGAI_DOC_POWERPOINT_X:
      return "pptx";
    case MUGAI_DOC_ODT:
      return "odt";
    case MUGAI_DOC_ODS:
      return "ods";
    case MUGAI_DOC_ODP:
      return "odp";
    default:
      return NULL;
    }
}

/* A PDF (an attachment, or LibreOffice's) through mugai-filter-pdf: an
 * image-only PDF named name, or (text, and with pdf_text the page text
 * beside the images) text named text_base.txt.  made_by: NULL for a PDF
 * attachment, else what made the PDF, for the detail. */
static gboolean
convert_pdf (const MugaiConvertSettings *s, const Job *job, gboolean ja, gboolean text,
             const char *name, const char *text_base, const char *made_by, GBytes *input,
             MugaiConversion *out, GError **error)
{
  g_auto (MugaiSandboxResult) r = { 0 };
  g_autofree char *dpi = g_strdup_printf ("%u", s->dpi);
  g_autofree char *pages = g_strdup_printf ("%u", s->max_pages);
  const char *args[] = { "--dpi", dpi, "--max-pages", pages, text ? "--text" : NULL, NULL };
  if (!run_filter (s, job, "mugai-filter-pdf", args, input, &r, error))
    return FALSE;
  if (!judge (&r, ja, out))
    return TRUE;
  long n = info_value (r.diagnostics, "pages"), done = info_value (r.diagnostics, "rendered");
  g_autoptr (GString) d = g_string_new (made_by);
  if (text)
    g_string_append (d, made_by ? MUGAI_W (ja, ", its text extracted")
                                : MUGAI_W (ja, "PDF text extracted"));
  else
    g_string_append (
        d, made_by ? MUGAI_W (ja, ", then an image-only PDF (no text, links, scripts or macros)")
                   : MUGAI_W (ja, "converted to an image-only PDF (no text, links or scripts)"));
  if (n >= 0 && done >= 0 && done < n)
    g_string_append_printf (d, MUGAI_W (ja, "; pages 1-%ld of %ld only (pages %ld-%ld left out)"),
                            done, n, done + 1, n);
  else if (n >= 0)
    g_string_append_printf (d, MUGAI_W (ja, ", %ld pages"), n);
  out->output = g_steal_pointer (&r.output);
  out->is_text = text;
  out->mime_type = g_strdup (text ? "text/plain" : "application/pdf");
  out->filename = text ? with_suffix (text_base, "document.pdf", ".txt")
                       : named_as (name, "document", pdf_exts);
  out->status = MUGAI_CONVERT_DONE;
  if (!text && s->pdf_text)
    {
      /* the page text as well, in its own run: a failure there costs the
       * text only, never the image PDF, and the detail says so */
      g_auto (MugaiSandboxResult) t = { 0 };
      const char *targs[] = { "--max-pages", pages, "--text", NULL };
      if (!run_filter (s, job, "mugai-filter-pdf", targs, input, &t, error))
        return FALSE;
      if (t.outcome == MUGAI_SANDBOX_OK)
        {
          out->text = g_steal_pointer (&t.output);
          out->text_filename = with_suffix (text_base, "document.pdf", ".txt");
        }
      else
        g_string_append_printf (d, MUGAI_W (ja, "; the page text could not be extracted: %s"),
                                mugai_sandbox_result_text (&t, ja));
    }
  out->detail = g_string_free (g_steal_pointer (&d), FALSE);
  return TRUE;
}

/* docx/xlsx/pptx/odt/ods/odp through mugai-filter-office: the text as
 * NAME.txt.  made_by: NULL, or what made the OOXML, for the detail. */
static gboolean
convert_office_text (const MugaiConvertSettings *s, const Job *job, gboolean ja,
                     const char *filename, const char *made_by, GBytes *input, MugaiConversion *out,
                     GError **error)
{
  g_auto (MugaiSandboxResult) r = { 0 };
  const char *args[] = { "--lang", ja ? "ja" : "en", NULL };
  if (!run_filter (s, job, "mugai-filter-office", args, input, &r, error))
    return FALSE;
  if (!judge (&r, ja, out))
    return TRUE;
  const char *what
      = MUGAI_W (ja, "document text extracted (no formatting, embedded files or macros)");
  out->detail
      = made_by ? g_strconcat (made_by, MUGAI_W (ja, ", then "), what, NULL) : g_strdup (what);
  out->output = g_steal_pointer (&r.output);
  out->is_text = TRUE;
  out->mime_type = g_strdup ("text/plain");
  out->filename = with_suffix (filename, "document", ".txt");
  out->status = MUGAI_CONVERT_DONE;
  return TRUE;
}

/* An office document through LibreOffice: to PDF, then convert_pdf()
 * (image); or, for text, saved as OOXML, then convert_office_text(), so
 * that a sheet's rows stay rows. */
static gboolean
convert_soffice (const MugaiConvertSettings *s, const Job *job, gboolean ja, gboolean text,
                 MugaiDocKind kind, const char *filename, GBytes *input, MugaiConversion *out,
                 GError **error)
{
  const char *ext = soffice_ext (kind);
  g_return_val_if_fail (ext != NULL, FALSE);
  const char *to = !text                          ? "pdf"
                   : kind == MUGAI_DOC_EXCEL      ? "xlsx"
                   : kind == MUGAI_DOC_POWERPOINT ? "pptx"
                                                  : "docx";
  g_auto (MugaiSandboxResult) r = { 0 };
  const char *args[] = { "--ext", ext, "--to", to, "--soffice", s->soffice, NULL };
  if (!run_filter (s, job, "mugai-filter-soffice", args, input, &r, error))
    return FALSE;
  if (r.outcome == MUGAI_SANDBOX_TIMEOUT || r.outcome == MUGAI_SANDBOX_SIGNAL
      || r.outcome == MUGAI_SANDBOX_SECCOMP || r.outcome == MUGAI_SANDBOX_OUTPUT_LIMIT)
    (sweeper ? sweeper : mugai_convert_sweep_stale) (); /* killed: its pipe is left in /tmp */
  if (!judge (&r, ja, out))
    return TRUE;
  g_autoptr (GBytes) produced = g_steal_pointer (&r.output); /* the PDF, or the OOXML */
  g_autofree char *fallback = g_strconcat ("document.", ext, NULL);
  const char *base = filename && *filename ? filename : fallback;
  if (text)
    return convert_office_text (s, job, ja, base, MUGAI_W (ja, "read by LibreOffice"), produced,
                                out, error);
  g_autofree char *pdf_name = g_strconcat (base, ".pdf", NULL);
  const char *made_by = MUGAI_W (ja, "laid out as PDF by LibreOffice");
  /* 見積書.doc: 見積書.doc.pdf, and with pdf_text 見積書.doc.txt */
  return convert_pdf (s, job, ja, FALSE, pdf_name, base, made_by, produced, out, error);
}

gboolean
mugai_convert_run (const MugaiConvertSettings *s, MugaiSandboxSlots *slots, gboolean ja,
                   MugaiConvertMode mode, MugaiDocKind kind, const char *filename, GBytes *input,
                   gint64 deadline, MugaiConversion *out, GError **error)
{
  const Job job_data = { .slots = slots, .deadline = deadline };
  const Job *job = &job_data;
  memset (out, 0, sizeof *out);
  out->status = MUGAI_CONVERT_FAILED;
  g_auto (MugaiSandboxResult) r = { 0 };

  switch (mode)
    {
    case MUGAI_CONVERT_NONE:
      g_return_val_if_reached (FALSE);
    case MUGAI_CONVERT_PDF_IMAGE:
    case MUGAI_CONVERT_PDF_TEXT:
      return convert_pdf (s, job, ja, mode == MUGAI_CONVERT_PDF_TEXT, filename, filename, NULL,
                          input, out, error);
    case MUGAI_CONVERT_OFFICE_IMAGE:
    case MUGAI_CONVERT_OFFICE_LEGACY_TEXT:
      return convert_soffice (s, job, ja, mode == MUGAI_CONVERT_OFFICE_LEGACY_TEXT, kind, filename,
                              input, out, error);
    case MUGAI_CONVERT_OFFICE_TEXT:
      return convert_office_text (s, job, ja, filename, NULL, input, out, error);
    case MUGAI_CONVERT_IMAGE:
      {
        const char *args[] = { NULL };
        if (!run_filter (s, job, "mugai-filter-image", args, input, &r, error))
          return FALSE;
        if (!judge (&r, ja, out))
          return TRUE;
        g_autofree char *type = info_word (r.diagnostics, "type");
        gboolean jpeg = g_strcmp0 (type, "image/jpeg") == 0;
        out->mime_type = g_strdup (jpeg ? "image/jpeg" : "image/png");
        out->filename = mugai_convert_output_name (filename, out->mime_type);
        out->detail = g_strdup (MUGAI_W (ja, "image re-encoded (no metadata or hidden data)"));
        out->output = g_steal_pointer (&r.output);
        out->status = MUGAI_CONVERT_DONE;
        return TRUE;
      }
    }
  return FALSE;
}
