/*
 * content.c - what a leaf's content really is: scanned, identified,
 *             listed, converted
 *
 * SYNOPSIS
 *	mugai_core_scan_run (ctx, data, len, name, &result, &sig);
 *	mugai_core_scan_apply (ctx, build, rec, result, sig);
 *	listing = mugai_core_describe_content (ctx, rec, bytes, &flags,
 *	                                       &mismatch, &kind);
 *	mugai_core_decide_document (ctx, build, rec, flags, listing);
 *	mugai_core_convert_part (ctx, build, rec, bytes, kind);
 *
 * DESCRIPTION
 *	ClamAV's answer becomes a finding (a virus refuses the message).  The
 *	true type (doctype.c) is named on the part, a declared type or an
 *	extension that disagrees with it is reported, and archives are
 *	listed (arclist.c).  Macros, encryption and what an archive holds
 *	decide the part.  A PDF, an Office document or an image is converted
 *	in a sandboxed filter (convert.c); the output is scanned again and
 *	checked like an attachment and more (output_problem()) before it is
 *	attached: fail closed.
 *
 * OWNERSHIP
 *	describe_content() returns an owned listing, or NULL for what is not
 *	an archive.
 *
 * LIMITS
 *	[limits] archive_depth, archive_entries, archive_expand; the
 *	converters' own ([sandbox]) and the message's deadline.
 *
 * ERRORS
 *	A scan or a filter that could not run sets ctx->scan_error
 *	(MUGAI_SANITIZE_ERROR_INTERNAL): the message is tempfailed.
 */
#include "sanitize-private.h"

#include <string.h>

#include "charset.h"
#include "convert.h"
#include "filetype.h"
#include "notice.h"

/* Scans one buffer.  FALSE when there is no engine or the scan failed
 * (then ctx->scan_error is set and the message will be tempfailed). */
gboolean
mugai_core_scan_run (Ctx *ctx, const guint8 *data, gsize len, const char *name,
                     MugaiScanResult *result, char **sig)
{
  *result = MUGAI_SCAN_CLEAN;
  *sig = NULL;
  if (!ctx->engines || !ctx->engines->scanner || ctx->scan_error)
    return FALSE;
  if (mugai_scanner_scan (ctx->engines->scanner, data, len, name, result, sig, &ctx->scan_error))
    return TRUE;
  g_prefix_error (&ctx->scan_error, "malware scan: ");
  return FALSE;
}

/* Turns ClamAV's answer into a finding on rec (or on the whole message
 * when rec is NULL).  Returns TRUE when the part must not be used further
 * (removed, or the message refused). */
gboolean
mugai_core_scan_apply (Ctx *ctx, Build *build, MugaiPartReport *rec, MugaiScanResult result,
                       const char *sig)
{
  gboolean ja = ctx->policy->language == MUGAI_LANG_JA;
  switch (result)
    {
    case MUGAI_SCAN_CLEAN:
      return FALSE;
    case MUGAI_SCAN_VIRUS:
    case MUGAI_SCAN_PHISHING:
      ctx->virus = TRUE;
      if (!ctx->report->virus)
        ctx->report->virus = g_strdup (sig);
      if (rec)
        mugai_core_decide (ctx, rec, build, MUGAI_FINDING_VIRUS, sig);
      else
        mugai_report_add_finding (ctx->report,
                                  mugai_finding_new (MUGAI_FINDING_VIRUS, "", "%s", sig));
      ctx->reject = TRUE;
      return TRUE;
    case MUGAI_SCAN_ENCRYPTED:
      if (!rec)
        return FALSE; /* found again, and decided, per part */
      {
        g_autofree char *d
            = g_strdup_printf (MUGAI_W (ja, "password-protected: cannot be scanned (%s)"), sig);
        mugai_core_decide (ctx, rec, build, MUGAI_FINDING_ENCRYPTED, d);
      }
      return TRUE;
    case MUGAI_SCAN_MACROS:
    case MUGAI_SCAN_BROKEN:
      if (!rec)
        return FALSE;
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, sig);
      return TRUE;
    case MUGAI_SCAN_INCOMPLETE:
      {
        /* never a pass: a part ClamAV could not scan to the end goes */
        g_autofree char *d = g_strdup_printf (MUGAI_W (ja, "not fully scanned (%s)"), sig);
        if (rec)
          mugai_core_decide (ctx, rec, build, MUGAI_FINDING_OVER_LIMIT, d);
        else
          mugai_report_add_finding (ctx->report,
                                    mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, "", "%s", d));
        return rec != NULL;
      }
    }
  return FALSE;
}

/* Names the content's true type on rec, reports a declared type or an
 * extension that disagrees with it (a finding, not an action: what the
 * part is decides what happens to it), and lists archives.  Returns the
 * listing for an archive, NULL otherwise. */
MugaiArchiveListing *
mugai_core_describe_content (Ctx *ctx, MugaiPartReport *rec, const GByteArray *bytes,
                             MugaiDocFlags *flags, char **mismatch, MugaiDocKind *kind_out)
{
  gboolean ja = ctx->policy->language == MUGAI_LANG_JA;
  MugaiDocKind kind = mugai_doctype_identify (bytes->data, bytes->len, rec->detected_type, flags);
  MugaiDocKind by_ext = mugai_doctype_for_extension (rec->filename);
  MugaiDocKind by_mime = mugai_doctype_for_mime (rec->declared_type);
  /* DocuWorks has no signature mugai could verify: its extension names
   * it when the content is nothing else mugai knows */
  if (kind == MUGAI_DOC_UNKNOWN && by_ext == MUGAI_DOC_DOCUWORKS)
    kind = by_ext;
  *kind_out = kind;
  if (kind != MUGAI_DOC_UNKNOWN)
    {
      rec->true_type = g_strdup (mugai_doctype_name (kind));
      rec->type_label = g_strdup (mugai_doctype_label (kind, ja));
    }

  const char *ext = rec->filename ? strrchr (rec->filename, '.') : NULL;
  g_autoptr (GString) m = g_string_new (NULL);
  /* a password-protected docx/xlsx/pptx is an OLE file by design */
  if (*flags & MUGAI_DOC_FLAG_ENCRYPTED)
    by_ext = by_mime = MUGAI_DOC_UNKNOWN;
  if (!mugai_doctype_compatible (by_ext, kind) && ext)
    {
      g_autofree char *shown = mugai_text_safe_display (ext, 16);
      g_string_append_printf (m, MUGAI_W (ja, "extension %s"), shown);
    }
  if (!mugai_doctype_compatible (by_mime, kind))
    {
      g_autofree char *shown = mugai_text_safe_display (rec->declared_type, 80);
      g_string_append_printf (m, MUGAI_W (ja, "%sdeclared %s"), m->len ? MUGAI_W (ja, " and ") : "",
                              shown);
    }
  if (m->len)
    {
      g_string_append_printf (m, MUGAI_W (ja, " but the content is %s"),
                              mugai_doctype_label (kind, ja));
      mugai_report_add_finding (
          ctx->report, mugai_finding_new (MUGAI_FINDING_TYPE_MISMATCH, rec->path, "%s", m->str));
      *mismatch = g_string_free (g_steal_pointer (&m), FALSE);
    }

  if (!mugai_doctype_is_archive (kind))
    return NULL;
  MugaiArchiveLimits limits = {
    .max_depth = ctx->policy->limits.archive_depth,
    .max_entries = ctx->policy->limits.archive_entries,
    .max_expand = ctx->policy->limits.archive_expand,
  };
  MugaiArchiveListing *listing
      = mugai_archive_list (bytes->data, bytes->len, kind, rec->filename, &limits);
  rec->entries = g_ptr_array_new_with_free_func (mugai_entry_report_free);
  rec->entries_total = listing->total;
  for (guint i = 0; i < listing->entries->len; i++)
    {
      const MugaiArchiveEntry *e = listing->entries->pdata[i];
      MugaiEntryReport *er = g_new0 (MugaiEntryReport, 1);
      er->name = g_strdup (e->name);
      er->size = e->directory ? -1 : e->size;
      er->encrypted = e->encrypted;
      if (e->kind != MUGAI_DOC_UNKNOWN)
        er->type = g_strdup (mugai_doctype_name (e->kind));
      if (mugai_archive_entry_dangerous (e))
        {
          if (e->danger != MUGAI_KIND_OTHER)
            er->danger = g_strdup (mugai_filetype_kind_label (e->danger, ja));
          else if (e->macros)
            er->danger = g_strdup (MUGAI_W (ja, "document with macros"));
          else
            er->danger = g_strdup (MUGAI_W (ja, "name disguises its type"));
        }
      g_ptr_array_add (rec->entries, er);
    }
  return listing;
}

/* What keeps one converter output from being attached, or NULL: the
 * checks an attachment gets (a name that lies, a dangerous type by
 * content or name) and two more that only mugai's own output can be
 * held to: it is what it is named and labelled (a PDF is a PDF named
 * *.pdf, text is text named *.txt), and there is no markup anywhere in
 * its octets (a PDF whose noisy page pixels spell "<script>" comes out
 * of zlib uncompressed, and a browser's HTML parser would find them).
 * Owned, in the policy's language. */
static char *
output_problem (Ctx *ctx, const guint8 *data, gsize len, const char *mime_type,
                const char *filename, gboolean is_text)
{
  gboolean ja = ctx->policy->language == MUGAI_LANG_JA;
  g_autofree char *dja = NULL, *den = NULL;
  if (mugai_filename_check (filename, &dja, &den) != MUGAI_NAME_OK)
    return ja ? g_steal_pointer (&dja) : g_steal_pointer (&den);
  g_autofree char *lja = NULL, *len_ = NULL;
  if (mugai_filetype_danger (data, len, filename, &lja, &len_) != MUGAI_KIND_OTHER)
    return g_strdup_printf (MUGAI_W (ja, "dangerous file type: %s"), ja ? lja : len_);
  const char *markup = mugai_filetype_markup (data, len);
  if (markup)
    return g_strdup_printf (MUGAI_W (ja, "it holds markup (%s)"), markup);
  MugaiDocKind want = is_text ? MUGAI_DOC_TEXT : mugai_doctype_for_mime (mime_type);
  g_autofree char *magic = mugai_core_detect_type (ctx->engines, data, len);
  MugaiDocFlags flags = 0;
  MugaiDocKind got = mugai_doctype_identify (data, len, magic, &flags);
  gboolean is_what_it_says = is_text ? !mugai_charset_looks_binary ((const char *)data, len)
                                           && (got == MUGAI_DOC_TEXT || got == MUGAI_DOC_UNKNOWN)
                                     : want != MUGAI_DOC_UNKNOWN && got == want;
  if (!is_what_it_says || flags != 0)
    return g_strdup_printf (MUGAI_W (ja, "it is not %s"), mugai_doctype_label (want, ja));
  if (mugai_doctype_for_extension (filename) != want)
    return g_strdup_printf (MUGAI_W (ja, "its name is not that of %s"),
                            mugai_doctype_label (want, ja));
  return NULL;
}

/* Converts a PDF, an Office document or an image into its inert form in
 * a sandboxed filter, scans the output and attaches it.  TRUE when the
 * part was decided (converted, or removed because conversion failed);
 * FALSE when this type is not converted (the caller removes it). */
gboolean
mugai_core_convert_part (Ctx *ctx, Build *build, MugaiPartReport *rec, const GByteArray *bytes,
                         MugaiDocKind kind)
{
  const MugaiConvertSettings *cs = &ctx->policy->convert;
  MugaiConvertMode mode = mugai_convert_mode (cs, kind);
  if (mode == MUGAI_CONVERT_NONE || !ctx->engines)
    return FALSE;
  gboolean ja = ctx->policy->language == MUGAI_LANG_JA;
  g_autoptr (GBytes) input = g_bytes_new (bytes->data, bytes->len);
  g_auto (MugaiConversion) c = { 0 };
  g_autoptr (GError) error = NULL;
  if (!mugai_convert_run (cs, ctx->engines->slots, ja, mode, kind, rec->filename, input,
                          ctx->convert_deadline, &c, &error))
    {
      /* mugai could not run its filter: not the document's fault */
      ctx->scan_error = g_error_new (MUGAI_SANITIZE_ERROR, MUGAI_SANITIZE_ERROR_INTERNAL,
                                     "document conversion: %s", error->message);
      return TRUE;
    }
  switch (c.status)
    {
    case MUGAI_CONVERT_DEFER:
      ctx->scan_error
          = g_error_new (MUGAI_SANITIZE_ERROR, MUGAI_SANITIZE_ERROR_INTERNAL,
                         "document conversion: no filter slot free within %u s", cs->slot_wait);
      return TRUE;
    case MUGAI_CONVERT_ENCRYPTED:
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_ENCRYPTED,
                         MUGAI_W (ja, "password-protected: cannot be scanned"));
      return TRUE;
    case MUGAI_CONVERT_LIMIT:
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_OVER_LIMIT, c.detail);
      return TRUE;
    case MUGAI_CONVERT_FAILED:
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_MALFORMED, c.detail);
      return TRUE;
    case MUGAI_CONVERT_DONE:
      break;
    }

  /* every converted output is scanned again before it goes out */
  gsize out_len = 0;
  const guint8 *out = g_bytes_get_data (c.output, &out_len);
  MugaiScanResult scan = MUGAI_SCAN_CLEAN;
  g_autofree char *sig = NULL;
  mugai_core_scan_run (ctx, out, out_len, rec->path, &scan, &sig);
  if (ctx->scan_error)
    return TRUE;
  if (scan != MUGAI_SCAN_CLEAN && mugai_core_scan_apply (ctx, build, rec, scan, sig))
    return TRUE;
  if (c.text)
    {
      gsize tl = 0;
      const guint8 *t = g_bytes_get_data (c.text, &tl);
      g_autofree char *tsig = NULL;
      mugai_core_scan_run (ctx, t, tl, rec->path, &scan, &tsig);
      if (ctx->scan_error)
        return TRUE;
      if (scan != MUGAI_SCAN_CLEAN && mugai_core_scan_apply (ctx, build, rec, scan, tsig))
        return TRUE;
    }

  /* and checked like an attachment, and more: fail closed */
  g_autofree char *problem = output_problem (ctx, out, out_len, c.mime_type, c.filename, c.is_text);
  if (!problem && c.text)
    {
      /* the page text beside the images costs only itself */
      gsize tl = 0;
      const guint8 *t = g_bytes_get_data (c.text, &tl);
      g_autofree char *tp = output_problem (ctx, t, tl, "text/plain", c.text_filename, TRUE);
      if (tp)
        {
          char *d = g_strdup_printf (MUGAI_W (ja, "%s; the page text cannot be attached: %s"),
                                     c.detail, tp);
          g_free (c.detail);
          c.detail = d;
          g_clear_pointer (&c.text, g_bytes_unref);
        }
    }
  if (problem)
    {
      g_autofree char *d
          = g_strdup_printf (MUGAI_W (ja, "the converted file cannot be attached: %s"), problem);
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, d);
      return TRUE;
    }

  mugai_core_decide (ctx, rec, build, MUGAI_FINDING_CONVERTIBLE, c.detail);
  if (rec->action != MUGAI_ACTION_CONVERT)
    return TRUE;
  if (c.is_text)
    {
      g_autofree char *text = g_utf8_make_valid ((const char *)out, (gssize)out_len);
      g_ptr_array_add (build->attachments,
                       mugai_core_make_text_part (ctx->policy, text, c.filename, NULL));
    }
  else
    g_ptr_array_add (build->attachments,
                     mugai_core_make_binary_part (c.mime_type, c.output, c.filename));
  if (c.text)
    {
      gsize tl = 0;
      const char *t = g_bytes_get_data (c.text, &tl);
      g_autofree char *text = g_utf8_make_valid (t, (gssize)tl);
      g_ptr_array_add (build->attachments,
                       mugai_core_make_text_part (ctx->policy, text, c.text_filename, NULL));
    }
  return TRUE;
}

/* Decides a part by what mugai_core_describe_content() found.  TRUE when decided. */
gboolean
mugai_core_decide_document (Ctx *ctx, Build *build, MugaiPartReport *rec, MugaiDocFlags flags,
                            const MugaiArchiveListing *listing)
{
  gboolean ja = ctx->policy->language == MUGAI_LANG_JA;
  if (flags & MUGAI_DOC_FLAG_MACROS)
    {
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE,
                         MUGAI_W (ja, "Office document with macros (VBA)"));
      return TRUE;
    }
  if (flags & MUGAI_DOC_FLAG_ENCRYPTED)
    {
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_ENCRYPTED,
                         MUGAI_W (ja, "password-protected: cannot be scanned"));
      return TRUE;
    }
  if (!listing)
    return FALSE;
  const char *label = rec->type_label ? rec->type_label : "";
  g_autofree char *d = NULL;
  if (listing->dangerous)
    {
      d = g_strdup_printf (MUGAI_W (ja, "%s holding dangerous files (%u)"), label,
                           listing->dangerous);
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, d);
    }
  else if (listing->encrypted)
    {
      d = g_strdup_printf (MUGAI_W (ja, "password-protected: cannot be scanned (%s)"), label);
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_ENCRYPTED, d);
    }
  else if (listing->too_deep || listing->incomplete)
    {
      d = g_strdup_printf (
          MUGAI_W (ja, "%s nested too deep, too many files or too large to look into"), label);
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_OVER_LIMIT, d);
    }
  else if (listing->error)
    {
      g_autofree char *e = mugai_text_safe_display (listing->error, 120);
      d = g_strdup_printf (MUGAI_W (ja, "%s cannot be read: %s"), label, e);
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_MALFORMED, d);
    }
  else
    {
      d = g_strdup_printf (MUGAI_W (ja, "%s, %u files"), label, listing->total);
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_ARCHIVE, d);
    }
  return TRUE;
}
