/*
 * textpart.c - text and HTML parts read as the text the reader is shown
 *
 * SYNOPSIS
 *	text = mugai_core_read_text (ctx, build, rec, obj, bytes, &binary);
 *	text = mugai_core_read_html (ctx, rec, obj, bytes, enriched, &detail,
 *	                             &over);
 *	text = mugai_core_cut_decoded_payloads (ctx, build, rec, text, found,
 *	                                        &over);
 *
 * DESCRIPTION
 *	Text is decoded to UTF-8 (charset.c); inline payloads (uuencode,
 *	yEnc, BinHex: textpayload.c) are cut out of the raw octets and again
 *	out of the decoded text, each reported as a part of its own and
 *	replaced by a placeholder line; URLs in the text are defanged unless
 *	[sanitize] text_links = keep.  HTML and enriched text are rendered
 *	(html.c) within [limits] html_size, html_attributes and html_time
 *	(and the message's deadline); the part's detail says what the
 *	rendering found (links, scripts, forms).
 *
 * OWNERSHIP
 *	Returned text is owned by the caller; cut_decoded_payloads() takes
 *	the text it is given.
 *
 * LIMITS
 *	[limits] inline_payloads (both searches together; past it the rest
 *	of the text goes with the last one), html_size, html_attributes,
 *	html_time.
 *
 * ERRORS
 *	read_html() returns NULL with *detail when the part cannot be
 *	rendered, and *over when that is because of a limit.
 */
#include "sanitize-private.h"

#include <string.h>

#include "charset.h"
#include "header.h"
#include "html.h"
#include "notice.h"
#include "textpayload.h"

/* Reports payload pl (number index in its part, from 1), removes it by
 * the policy and appends its placeholder line to out. */
static void
report_payload (Ctx *ctx, Build *build, MugaiPartReport *rec, const MugaiPayload *pl, guint index,
                GString *out)
{
  g_autofree char *ppath = g_strdup_printf ("%s:%u", rec->path, index);
  MugaiPartReport *prec = mugai_report_add_part (ctx->report, ppath, "inline-payload");
  static const char *const types[]
      = { "application/x-uuencode", "application/x-yenc", "application/mac-binhex40" };
  prec->declared_type = g_strdup (types[pl->kind]);
  prec->filename = *pl->name ? mugai_header_decode (pl->name, MUGAI_HEADER_TEXT) : NULL;
  prec->size = pl->decoded_size;
  prec->sha256 = g_strdup (pl->sha256);
  g_autofree char *detail
      = pl->complete ? NULL
                     : g_strdup (MUGAI_W (ctx->policy->language == MUGAI_LANG_JA,
                                          "no end line: the rest of the text was removed too"));
  mugai_core_decide (ctx, prec, build, MUGAI_FINDING_INLINE_PAYLOAD, detail);

  g_autofree char *ph = mugai_notice_placeholder (
      ctx->policy->language, mugai_payload_kind_name (pl->kind), prec->filename);
  if (out->len > 0 && out->str[out->len - 1] != '\n')
    g_string_append_c (out, '\n');
  g_string_append (out, ph);
}

/* The decoded text (UTF-8, owned: taken) searched again for payloads,
 * which are cut out the same way.  The search on the raw octets, before
 * this one, finds yEnc (8-bit, which no charset decoding leaves alone);
 * this one finds what only the decoding shows: uuencode in UTF-16 or
 * UTF-32 text (every other octet a NUL), or a line that starts in
 * ISO-2022-JP's escape back to ASCII.  found: payloads cut already (the
 * limit counts both searches). */
char *
mugai_core_cut_decoded_payloads (Ctx *ctx, Build *build, MugaiPartReport *rec, char *text,
                                 guint found, gboolean *over)
{
  g_autofree char *in = text;
  gsize len = strlen (in);
  guint limit = ctx->policy->limits.inline_payloads;
  guint left = found < limit ? limit - found : 0;
  gboolean more = FALSE;
  g_autoptr (GPtrArray) payloads = mugai_textpayload_find (in, len, MAX (left, 1), &more);
  if (payloads->len == 0)
    return g_steal_pointer (&in);
  if (left == 0)
    {
      /* past the limit already: the first one takes the rest with it */
      MugaiPayload *first = payloads->pdata[0];
      first->end = len;
      g_ptr_array_set_size (payloads, 1);
      more = TRUE;
    }
  *over = *over || more;
  g_autoptr (GString) out = g_string_sized_new (len);
  gsize pos = 0;
  for (guint i = 0; i < payloads->len; i++)
    {
      const MugaiPayload *pl = payloads->pdata[i];
      g_string_append_len (out, in + pos, (gssize)(pl->start - pos));
      report_payload (ctx, build, rec, pl, found + i + 1, out);
      pos = pl->end;
    }
  g_string_append_len (out, in + pos, (gssize)(len - pos));
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* URLs written in text (owned: taken) neutralised as link targets are,
 * unless [sanitize] text_links = keep. */
static char *
defang_text (Ctx *ctx, char *text)
{
  if (ctx->policy->text_links == MUGAI_TEXT_LINKS_KEEP)
    return text;
  g_autofree char *in = text;
  return mugai_url_defang_text (in, strlen (in), NULL);
}

/* Text of a text part, payloads cut out (searched in the raw octets and
 * again in the decoded text).  Returns owned UTF-8, or NULL with *binary
 * set when what remains is not text. */
char *
mugai_core_read_text (Ctx *ctx, Build *build, MugaiPartReport *rec, GMimeObject *obj,
                      const GByteArray *bytes, gboolean *binary)
{
  *binary = FALSE;
  const char *declared = g_mime_object_get_content_type_parameter (obj, "charset");
  gboolean over = FALSE;
  g_autoptr (GPtrArray) payloads = mugai_textpayload_find (
      (const char *)bytes->data, bytes->len, ctx->policy->limits.inline_payloads, &over);

  /* What remains once the payloads are cut must be text: yEnc is 8-bit
   * and would make the whole part look binary. */
  g_autoptr (GByteArray) rest = g_byte_array_new ();
  gsize rpos = 0;
  for (guint i = 0; i <= payloads->len; i++)
    {
      const MugaiPayload *pl = i < payloads->len ? payloads->pdata[i] : NULL;
      gsize seg_end = pl ? pl->start : bytes->len;
      if (seg_end > rpos)
        g_byte_array_append (rest, bytes->data + rpos, (guint)(seg_end - rpos));
      if (pl)
        rpos = pl->end;
    }
  /* UTF-16 and UTF-32 text is full of NULs by nature: judged after
   * decoding, not before */
  gboolean wide = declared
                  && (g_ascii_strncasecmp (declared, "utf-16", 6) == 0
                      || g_ascii_strncasecmp (declared, "utf-32", 6) == 0
                      || g_ascii_strncasecmp (declared, "ucs-", 4) == 0
                      || g_ascii_strcasecmp (declared, "unicode") == 0);
  if (wide)
    {
      g_autofree char *used = NULL;
      MugaiCharsetQuality q;
      g_autofree char *text
          = mugai_charset_decode ((const char *)rest->data, rest->len, declared, &used, &q);
      if (q != MUGAI_CHARSET_DECLARED || mugai_charset_looks_binary (text, strlen (text)))
        {
          *binary = TRUE;
          return NULL;
        }
      rec->charset = g_steal_pointer (&used);
      text = mugai_core_cut_decoded_payloads (ctx, build, rec, g_steal_pointer (&text),
                                              payloads->len, &over);
      if (over)
        mugai_report_add_finding (ctx->report,
                                  mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, rec->path,
                                                     "more than %u inline payloads",
                                                     ctx->policy->limits.inline_payloads));
      return defang_text (ctx, g_steal_pointer (&text));
    }
  if (mugai_charset_looks_binary ((const char *)rest->data, rest->len))
    {
      *binary = TRUE;
      return NULL;
    }

  g_autoptr (GString) out = g_string_sized_new (bytes->len + 64);
  gsize pos = 0;
  gsize best_len = 0;
  MugaiCharsetQuality worst = MUGAI_CHARSET_DECLARED;
  for (guint i = 0; i <= payloads->len; i++)
    {
      const MugaiPayload *pl = i < payloads->len ? payloads->pdata[i] : NULL;
      gsize seg_end = pl ? pl->start : bytes->len;
      if (seg_end > pos)
        {
          g_autofree char *used = NULL;
          MugaiCharsetQuality q;
          /* stray NULs are dropped: no reader shows them, and they would
           * end the text early in C strings */
          g_autoptr (GByteArray) clean = g_byte_array_sized_new ((guint)(seg_end - pos));
          for (gsize k = pos; k < seg_end; k++)
            if (bytes->data[k] != 0)
              g_byte_array_append (clean, bytes->data + k, 1);
          g_autofree char *seg
              = mugai_charset_decode ((const char *)clean->data, clean->len, declared, &used, &q);
          g_string_append (out, seg);
          if (seg_end - pos >= best_len)
            {
              best_len = seg_end - pos;
              g_free (rec->charset);
              rec->charset = g_steal_pointer (&used);
            }
          if (q > worst)
            worst = q;
        }
      if (!pl)
        break;

      report_payload (ctx, build, rec, pl, i + 1, out);
      pos = pl->end;
    }
  char *text = mugai_core_cut_decoded_payloads (
      ctx, build, rec, g_string_free (g_steal_pointer (&out), FALSE), payloads->len, &over);
  if (over)
    mugai_report_add_finding (ctx->report, mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, rec->path,
                                                              "more than %u inline payloads",
                                                              ctx->policy->limits.inline_payloads));
  if (!rec->charset)
    rec->charset = g_strdup ("us-ascii");
  if (worst != MUGAI_CHARSET_DECLARED)
    {
      g_autofree char *d = g_strdup_printf (
          "declared %s, read as %s%s", declared ? declared : "(none)", rec->charset,
          worst == MUGAI_CHARSET_LOSSY ? "; invalid octets replaced" : "");
      mugai_report_add_finding (ctx->report,
                                mugai_finding_new (MUGAI_FINDING_CHARSET, rec->path, "%s", d));
    }
  return defang_text (ctx, text);
}

/* HTML (or enriched text turned into HTML) to text.  NULL with *detail
 * when the part cannot be rendered; *over set too when that is because it
 * is past a [limits] html_* bound (the part costs itself, not the
 * message). */
char *
mugai_core_read_html (Ctx *ctx, MugaiPartReport *rec, GMimeObject *obj, const GByteArray *bytes,
                      gboolean enriched, char **detail, gboolean *over)
{
  g_autoptr (GByteArray) html = NULL;
  const guint8 *data = bytes->data;
  gsize len = bytes->len;
  if (enriched)
    {
      /* GMime's own converter: text/enriched or richtext to HTML */
      html = g_byte_array_new ();
      g_autoptr (GMimeStream) mem = g_mime_stream_mem_new_with_byte_array (html);
      g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (mem), FALSE);
      g_autoptr (GMimeStream) filtered = g_mime_stream_filter_new (mem);
      const char *subtype
          = g_mime_content_type_get_media_subtype (g_mime_object_get_content_type (obj));
      g_autoptr (GMimeFilter) f
          = g_mime_filter_enriched_new (subtype && g_ascii_strcasecmp (subtype, "richtext") == 0
                                            ? GMIME_FILTER_ENRICHED_IS_RICHTEXT
                                            : 0);
      g_mime_stream_filter_add (GMIME_STREAM_FILTER (filtered), f);
      if (bytes->len > 0) /* an empty GByteArray's data is NULL: GMime criticals */
        g_mime_stream_write (filtered, (const char *)bytes->data, bytes->len);
      g_mime_stream_flush (filtered);
      data = html->data;
      len = html->len;
    }

  const char *declared = g_mime_object_get_content_type_parameter (obj, "charset");
  g_autofree char *meta = declared ? NULL : mugai_html_meta_charset ((const char *)data, len);
  g_autofree char *used = NULL;
  MugaiCharsetQuality q;
  g_autofree char *utf8
      = mugai_charset_decode ((const char *)data, len, declared ? declared : meta, &used, &q);
  rec->charset = g_steal_pointer (&used);

  const MugaiLimits *limits = &ctx->policy->limits;
  gboolean ja = ctx->policy->language == MUGAI_LANG_JA;
  gsize utf8_len = strlen (utf8);
  if (utf8_len > limits->html_size)
    {
      *over = TRUE;
      *detail = g_strdup_printf (MUGAI_W (ja, "HTML of %zu octets is larger than %zu"), utf8_len,
                                 limits->html_size);
      return NULL;
    }
  /* the part's budget, within what the message has left */
  MugaiHtmlBounds bounds = { .max_attributes = limits->html_attributes,
                             .deadline = g_get_monotonic_time ()
                                         + (gint64)limits->html_time * G_TIME_SPAN_MILLISECOND };
  if (ctx->convert_deadline != 0)
    bounds.deadline = MIN (bounds.deadline, ctx->convert_deadline);
  MugaiHtmlStats stats = { 0 };
  g_autoptr (GError) error = NULL;
  char *text = NULL;
  const MugaiHtmlOptions hopts = {
    .links = ctx->policy->links,
    .text_links = ctx->policy->text_links,
    .english = ctx->policy->language == MUGAI_LANG_EN,
    .max_output = limits->part_size,
    .bounds = &bounds,
  };
  if (!mugai_html_render (utf8, utf8_len, &hopts, &text, &stats, &error))
    {
      *over = TRUE;
      if (g_error_matches (error, MUGAI_HTML_ERROR, MUGAI_HTML_ERROR_ATTRIBUTES))
        /* html.c's own message, in the notice's language */
        *detail = g_strdup_printf (MUGAI_W (ja, "an HTML element with more than %u attributes"),
                                   limits->html_attributes);
      else if (g_error_matches (error, MUGAI_HTML_ERROR, MUGAI_HTML_ERROR_BUDGET))
        *detail = g_strdup (MUGAI_W (ja, "rendering the HTML did not end within its time budget"));
      else
        {
          *over = FALSE;
          *detail = g_strdup (error->message);
        }
      return NULL;
    }
  g_autoptr (GString) d = g_string_new (NULL);
  if (stats.links)
    g_string_append_printf (d, MUGAI_W (ja, "%u links"), stats.links);
  if (stats.links_mismatch)
    g_string_append_printf (d, MUGAI_W (ja, ", %u whose text differs from the target (marked (!))"),
                            stats.links_mismatch);
  if (stats.scripts || stats.forms)
    g_string_append_printf (d, MUGAI_W (ja, "%s%u scripts/embedded objects and %u forms dropped"),
                            d->len ? MUGAI_W (ja, ", ") : "", stats.scripts, stats.forms);
  if (stats.truncated)
    g_string_append_printf (d, MUGAI_W (ja, "%struncated at the size limit"),
                            d->len ? MUGAI_W (ja, ", ") : "");
  *detail = g_string_free (g_steal_pointer (&d), FALSE);
  return text;
}
