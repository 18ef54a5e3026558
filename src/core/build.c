/*
 * build.c - the output: the parts and the message mugai writes
 *
 * SYNOPSIS
 *	mugai_core_build_init (&build, parent);
 *	mugai_core_build_append_body (&build, text);
 *	mugai_core_add_text_attachment (ctx, &build, rec, text, fallback);
 *	message = mugai_core_rebuild_message (ctx, &build, src, top, qid);
 *	mugai_core_build_clear (&build);
 *
 * DESCRIPTION
 *	A Build collects what one message (the outer one, or an attached
 *	one) is rebuilt from: the text of its body, its attachments, the
 *	parts its notice lists.  The new message is made from that only:
 *	the headers re-written (headers.c), one text/plain body with the
 *	notice (notice.c) at the top or the bottom, then the attachments.
 *	No original MIME entity is copied into the output.
 *
 *	Text parts are written with LF line ends, without control
 *	characters but TAB and FF, in UTF-8 or ISO-2022-JP as the policy
 *	says, in 7bit when every line allows it (else QP or base64: RFC
 *	5322 2.1.1).  A kept text attachment is named *.txt.  A converter's
 *	binary output is a base64 attachment.
 *
 * OWNERSHIP
 *	A Build owns its body and attachments and borrows the part records
 *	it lists (the report owns them); mugai_core_build_clear() frees it.
 *	The parts and the message returned are owned by the caller.
 */
#include "sanitize-private.h"

#include <string.h>

#include "charset.h"
#include "header.h"
#include "notice.h"

void
mugai_core_build_init (Build *b, Build *parent)
{
  b->parent = parent;
  b->body = g_string_new (NULL);
  b->attachments = g_ptr_array_new_with_free_func (g_object_unref);
  b->items = g_ptr_array_new ();
}

void
mugai_core_build_clear (Build *b)
{
  g_string_free (b->body, TRUE);
  g_ptr_array_unref (b->attachments);
  g_ptr_array_unref (b->items);
}

/* An item is listed in the notice of its own message and of every
 * message that contains it. */
void
mugai_core_build_add_item (Build *b, MugaiPartReport *rec)
{
  for (; b; b = b->parent)
    g_ptr_array_add (b->items, rec);
}

void
mugai_core_build_append_body (Build *b, const char *text)
{
  if (!text || !*text)
    return;
  if (b->body->len > 0)
    {
      if (b->body->str[b->body->len - 1] != '\n')
        g_string_append_c (b->body, '\n');
      g_string_append_c (b->body, '\n');
    }
  g_string_append (b->body, text);
}

/* Text written out in the message: line ends LF, no control characters
 * but TAB and FF, valid UTF-8. */
static void
normalize_text (GString *text)
{
  gsize w = 0;
  for (gsize r = 0; r < text->len; r++)
    {
      char c = text->str[r];
      if (c == '\r')
        {
          if (r + 1 < text->len && text->str[r + 1] == '\n')
            continue;
          c = '\n';
        }
      /* C0 controls but TAB, LF and FF go: an ESC would let a terminal
       * sequence or an ISO-2022-JP shift reach the reader as something
       * other than what mugai read and checked */
      if ((guchar)c < 0x20 && c != '\t' && c != '\n' && c != '\f')
        continue;
      if (c == 0x7f)
        continue;
      text->str[w++] = c;
    }
  g_string_truncate (text, w);
}

/* The file name of a part mugai builds, as RFC 2231 UTF-8 (the design and
 * the notice say UTF-8): GMime would otherwise pick the smallest charset
 * that fits (filename*=iso-8859-1''..., iso-8859-5 for Cyrillic), which
 * some clients show as mojibake.  GMime's own folding is kept (RFC 2231
 * continuations for long names). */
static void
set_filename_utf8 (GMimePart *part, const char *filename)
{
  g_mime_part_set_filename (part, filename);
  gboolean ascii = TRUE;
  for (const char *p = filename; *p && ascii; p++)
    ascii = (guchar)*p < 0x80;
  if (ascii)
    return;
  GMimeContentDisposition *cd = g_mime_object_get_content_disposition (GMIME_OBJECT (part));
  GMimeParam *p1 = cd ? g_mime_param_list_get_parameter (
                       g_mime_content_disposition_get_parameters (cd), "filename")
                      : NULL;
  GMimeParam *p2 = g_mime_param_list_get_parameter (
      g_mime_content_type_get_parameters (g_mime_object_get_content_type (GMIME_OBJECT (part))),
      "name");
  if (p1)
    g_mime_param_set_charset (p1, "UTF-8");
  if (p2)
    g_mime_param_set_charset (p2, "UTF-8");
}

GMimeObject *
mugai_core_make_text_part (const MugaiPolicy *policy, const char *utf8, const char *filename,
                           const char **charset_used)
{
  g_autoptr (GString) text = g_string_new (utf8);
  normalize_text (text);

  const char *charset = "utf-8";
  g_autofree char *encoded = NULL;
  gsize encoded_len = 0;
  if (policy->charset == MUGAI_OUTPUT_ISO2022JP)
    {
      encoded = mugai_charset_to_iso2022jp (text->str, text->len, &encoded_len);
      if (encoded)
        charset = "iso-2022-jp";
    }
  if (!encoded)
    {
      encoded = g_utf8_make_valid (text->str, (gssize)text->len);
      encoded_len = strlen (encoded);
    }

  g_autoptr (GMimePart) part = g_mime_part_new_with_type ("text", "plain");
  g_mime_object_set_content_type_parameter (GMIME_OBJECT (part), "charset", charset);
  g_autoptr (GMimeStream) mem = g_mime_stream_mem_new_with_buffer (encoded, encoded_len);
  g_autoptr (GMimeDataWrapper) dw
      = g_mime_data_wrapper_new_with_stream (mem, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content (part, dw);
  /* 7bit when every line is short and ASCII-safe, else QP or base64:
   * the output must survive any relay (RFC 5322 2.1.1 line limit). */
  g_mime_part_set_content_encoding (
      part, g_mime_part_get_best_content_encoding (part, GMIME_ENCODING_CONSTRAINT_7BIT));
  if (filename)
    {
      set_filename_utf8 (part, filename);
      g_mime_object_set_disposition (GMIME_OBJECT (part), "attachment");
    }
  if (charset_used)
    *charset_used = charset;
  return GMIME_OBJECT (g_steal_pointer (&part));
}

/* A kept text attachment must not keep a name that runs as a program
 * when the reader saves and opens it: anything but .txt gets ".txt". */
static char *
text_attachment_name (const char *name, const char *fallback)
{
  if (!name || !*name)
    return g_strdup (fallback);
  g_autofree char *lower = g_utf8_strdown (name, -1);
  if (g_str_has_suffix (lower, ".txt"))
    return g_strdup (name);
  return g_strconcat (name, ".txt", NULL);
}

void
mugai_core_add_text_attachment (Ctx *ctx, Build *build, MugaiPartReport *rec, const char *text,
                                const char *fallback_name)
{
  g_autofree char *name = text_attachment_name (rec->filename, fallback_name);
  if (rec->action == MUGAI_ACTION_KEEP && rec->filename && !g_str_equal (name, rec->filename))
    {
      /* renamed: the reader sees a different name, so say so */
      rec->action = MUGAI_ACTION_CONVERT;
      g_free (rec->detail);
      rec->detail = g_strdup (name);
      mugai_core_build_add_item (build, rec);
    }
  g_ptr_array_add (build->attachments, mugai_core_make_text_part (ctx->policy, text, name, NULL));
}

GMimeObject *
mugai_core_make_binary_part (const char *mime_type, GBytes *data, const char *filename)
{
  g_auto (GStrv) mt = g_strsplit (mime_type, "/", 2);
  g_autoptr (GMimePart) part = g_mime_part_new_with_type (mt[0], mt[1] ? mt[1] : "octet-stream");
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (data, &len);
  g_autoptr (GMimeStream) mem = g_mime_stream_mem_new_with_buffer ((const char *)p, len);
  g_autoptr (GMimeDataWrapper) dw
      = g_mime_data_wrapper_new_with_stream (mem, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content (part, dw);
  g_mime_part_set_content_encoding (part, GMIME_CONTENT_ENCODING_BASE64);
  set_filename_utf8 (part, filename);
  g_mime_object_set_disposition (GMIME_OBJECT (part), "attachment");
  return GMIME_OBJECT (g_steal_pointer (&part));
}

void
mugai_core_append_inline_message (Ctx *ctx, Build *build, GMimeMessage *inner, Build *inner_build)
{
  gboolean ja = ctx->policy->language == MUGAI_LANG_JA;
  g_autoptr (GString) text
      = g_string_new (MUGAI_W (ja, "---------- Attached message ----------\n"));
  static const char *const fields[] = { "From", "Date", "To", "Cc", "Subject" };
  GMimeHeaderList *headers = g_mime_object_get_header_list (GMIME_OBJECT (inner));
  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      GMimeHeader *h = g_mime_header_list_get_header (headers, fields[i]);
      const char *raw = h ? g_mime_header_get_raw_value (h) : NULL;
      if (!raw || strlen (raw) > ctx->policy->limits.header_length)
        continue;
      g_autofree char *v = mugai_header_decode (raw, MUGAI_HEADER_TEXT);
      g_string_append_printf (text, "%s: %s\n", fields[i], v);
    }
  g_string_append_c (text, '\n');
  g_string_append (text, inner_build->body->str);
  mugai_core_build_append_body (build, text->str);
  for (guint i = 0; i < inner_build->attachments->len; i++)
    g_ptr_array_add (build->attachments, g_object_ref (inner_build->attachments->pdata[i]));
}

GMimeMessage *
mugai_core_rebuild_message (Ctx *ctx, Build *build, GMimeMessage *src, gboolean top,
                            const char *quarantine_id)
{
  g_autoptr (GMimeMessage) dst = g_mime_message_new (FALSE);
  mugai_core_copy_headers (ctx, src, dst, top);

  g_autoptr (GString) text = g_string_new (NULL);
  g_autofree char *notice = NULL;
  if (build->items->len > 0)
    notice = mugai_notice_render (ctx->policy, build->items,
                                  top ? ctx->report->parts_omitted_removed : 0, quarantine_id);
  if (notice && ctx->policy->notice_position == MUGAI_NOTICE_TOP)
    {
      g_string_append (text, notice);
      g_string_append_c (text, '\n');
    }
  g_string_append (text, build->body->str);
  if (notice && ctx->policy->notice_position == MUGAI_NOTICE_BOTTOM)
    {
      if (text->len > 0 && text->str[text->len - 1] != '\n')
        g_string_append_c (text, '\n');
      g_string_append (text, "\n");
      g_string_append (text, notice);
    }
  if (text->len > 0 && text->str[text->len - 1] != '\n')
    g_string_append_c (text, '\n');

  const char *charset = NULL;
  g_autoptr (GMimeObject) body = mugai_core_make_text_part (ctx->policy, text->str, NULL, &charset);
  if (top)
    ctx->report->output_charset = g_strdup (charset);

  if (build->attachments->len == 0)
    g_mime_message_set_mime_part (dst, body);
  else
    {
      g_autoptr (GMimeMultipart) mixed = g_mime_multipart_new_with_subtype ("mixed");
      g_mime_multipart_add (mixed, body);
      for (guint i = 0; i < build->attachments->len; i++)
        g_mime_multipart_add (mixed, build->attachments->pdata[i]);
      g_mime_message_set_mime_part (dst, GMIME_OBJECT (mixed));
    }
  return g_steal_pointer (&dst);
}
