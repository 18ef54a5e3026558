/*
 * sanitize.c - the sanitization core
 *
 * SYNOPSIS
 *	mugai_sanitize (input, policy, engines, options, &output, &report, &error)
 *
 * DESCRIPTION
 *	1. Bound the message size; count its top header fields and an upper
 *	   bound of its MIME entities on the raw octets (a message past the
 *	   header limit or four times the part limit is refused before GMime
 *	   builds anything); parse it with GMime (loose modes: real mail is
 *	   not RFC-perfect, and a strict parser would make us refuse what
 *	   every client shows).
 *	2. Walk the MIME tree ourselves with a depth and a part-count limit
 *	   (past it, parts and unused alternatives are counted, not listed).
 *	   Each entity gets a MugaiPartReport; detectors add findings; the
 *	   policy turns each finding into an action.
 *	3. Text is decoded to UTF-8 (charset.c), inline payloads cut out
 *	   (textpayload.c), HTML and enriched text rendered (html.c) within
 *	   [limits] html_size, html_attributes and html_time (and the
 *	   message's deadline): past them the part is removed as over-limit.
 *	4. A new message is built from the results only: headers re-written
 *	   (header.c decodes, GMime re-encodes), one text/plain body with
 *	   the notice, text/plain attachments, sanitized message/rfc822
 *	   parts.  No original MIME entity is copied into the output.
 *
 * OWNERSHIP
 *	One Ctx per call owns everything about the message; it lives on the
 *	stack of mugai_sanitize() and is cleared in one place.
 *
 * DIAGNOSTICS
 *	Nothing is logged here: findings go to the report, internal
 *	failures to the GError.
 *
 * THREAD SAFETY
 *	Reentrant, given one MugaiEngines per thread.
 */
#include "sanitize.h"

#include <errno.h>
#include <magic.h>
#include <string.h>
#include <libxml/parser.h>

#include "arclist.h"
#include "charset.h"
#include "convert.h"
#include "doctype.h"
#include "filetype.h"
#include "header.h"
#include "html.h"
#include "mugai-gmime.h"
#include "mugai-limits.h"
#include "notice.h"
#include "textpayload.h"

G_DEFINE_QUARK (mugai-sanitize-error-quark, mugai_sanitize_error)

/* libmagic reads at most this much of a part: enough for every magic
 * rule in the Debian database, and bounded per part. */
#define MAGIC_BYTES (1024 * 1024)

struct _MugaiEngines
{
  magic_t magic;
  MugaiScanner *scanner; /* NULL in a lab without signatures */
  MugaiSandboxSlots *slots; /* filters running at once, shared with forked workers */
  char *no_scanner;      /* why there is none */
};

void
mugai_init (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      g_mime_init ();
      xmlInitParser ();
      g_once_init_leave (&once, 1);
    }
}

MugaiEngines *
mugai_engines_new (const MugaiPolicy *policy, GError **error)
{
  g_return_val_if_fail (policy != NULL, NULL);
  g_autoptr (MugaiEngines) engines = g_new0 (MugaiEngines, 1);
  engines->magic = magic_open (MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS);
  if (!engines->magic || magic_load (engines->magic, NULL) != 0)
    {
      g_set_error (error, MUGAI_SANITIZE_ERROR, MUGAI_SANITIZE_ERROR_INTERNAL,
                   "cannot load the libmagic database: %s",
                   engines->magic ? magic_error (engines->magic) : "out of memory");
      return NULL;
    }
  g_autoptr (GError) scan_error = NULL;
  engines->scanner = mugai_scanner_new (&policy->clamav, &scan_error);
  if (!engines->scanner)
    {
      if (policy->clamav_required)
        {
          g_set_error (error, MUGAI_SANITIZE_ERROR, MUGAI_SANITIZE_ERROR_INTERNAL,
                       "%s ([clamav] required = yes: mugai does not run without malware "
                       "scanning)",
                       scan_error->message);
          return NULL;
        }
      engines->no_scanner = g_strdup (scan_error->message);
    }
  engines->slots = mugai_sandbox_slots_new (policy->convert.max_running);
  if (!engines->slots)
    {
      g_set_error (error, MUGAI_SANITIZE_ERROR, MUGAI_SANITIZE_ERROR_INTERNAL,
                   "cannot make the filter slots: %s", g_strerror (errno));
      return NULL;
    }
  return g_steal_pointer (&engines);
}

void
mugai_engines_share_slots (MugaiEngines *engines, const MugaiEngines *from)
{
  g_return_if_fail (engines != NULL);
  if (from == NULL || from->slots == engines->slots
      || mugai_sandbox_slots_count (from->slots) != mugai_sandbox_slots_count (engines->slots))
    return;
  mugai_sandbox_slots_free (engines->slots);
  engines->slots = mugai_sandbox_slots_ref (from->slots);
}

gboolean
mugai_engines_same_slots (const MugaiEngines *a, const MugaiEngines *b)
{
  return a && b && a->slots == b->slots;
}

guint
mugai_engines_slot_count (const MugaiEngines *engines)
{
  g_return_val_if_fail (engines != NULL, 0);
  return mugai_sandbox_slots_count (engines->slots);
}

gboolean
mugai_engines_can_scan (const MugaiEngines *engines)
{
  return engines && engines->scanner;
}

void
mugai_engines_free (MugaiEngines *engines)
{
  if (!engines)
    return;
  if (engines->magic)
    magic_close (engines->magic);
  mugai_scanner_free (engines->scanner);
  mugai_sandbox_slots_free (engines->slots);
  g_free (engines->no_scanner);
  g_free (engines);
}

/* ---- per-call state ---------------------------------------------------- */

typedef struct
{
  const MugaiPolicy *policy;
  MugaiEngines *engines;
  MugaiReport *report;
  GMimeParserOptions *parser_options;
  guint parts_seen;
  gboolean parts_over_noted;
  guint unused_seen; /* alternatives not shown */
  gboolean unused_over_noted;
  gboolean reject;
  gboolean virus;
  GError *scan_error; /* a scan or a filter that could not run: the message is tempfailed */
  gint64 convert_deadline; /* MugaiSanitizeOptions */
  const char *input;       /* the octets GMime parsed (header offsets point here) */
  gsize input_len;
} Ctx;

/* What one message (the outer one, or an attached one) is rebuilt from. */
typedef struct Build Build;
struct Build
{
  Build *parent;
  GString *body;          /* UTF-8 text of the main body */
  GPtrArray *attachments; /* GMimeObject, owned */
  GPtrArray *items;       /* MugaiPartReport, borrowed: listed in the notice */
};

static void
build_init (Build *b, Build *parent)
{
  b->parent = parent;
  b->body = g_string_new (NULL);
  b->attachments = g_ptr_array_new_with_free_func (g_object_unref);
  b->items = g_ptr_array_new ();
}

static void
build_clear (Build *b)
{
  g_string_free (b->body, TRUE);
  g_ptr_array_unref (b->attachments);
  g_ptr_array_unref (b->items);
}

/* An item is listed in the notice of its own message and of every
 * message that contains it. */
static void
build_add_item (Build *b, MugaiPartReport *rec)
{
  for (; b; b = b->parent)
    g_ptr_array_add (b->items, rec);
}

static void
build_append_body (Build *b, const char *text)
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

static char *
child_path (const char *prefix, guint index)
{
  return *prefix ? g_strdup_printf ("%s.%u", prefix, index) : g_strdup_printf ("%u", index);
}

/* Records a finding, lets the policy decide, and applies the decision to
 * the part record.  Returns the action. */
static MugaiAction
decide (Ctx *ctx, MugaiPartReport *rec, Build *build, MugaiFindingCategory category,
        const char *detail)
{
  MugaiFinding *finding = mugai_finding_new (category, rec->path, "%s", detail ? detail : "");
  MugaiAction action = mugai_policy_action (ctx->policy, finding);
  mugai_report_add_finding (ctx->report, finding);

  rec->action = action;
  rec->reason = (int) category;
  if (detail && *detail && !rec->detail)
    rec->detail = g_strdup (detail);
  if (action == MUGAI_ACTION_REJECT)
    ctx->reject = TRUE;
  if (action == MUGAI_ACTION_REMOVE || action == MUGAI_ACTION_TO_TEXT
      || action == MUGAI_ACTION_CONVERT || action == MUGAI_ACTION_REJECT)
    build_add_item (build, rec);
  return action;
}

/* ---- reading a part ---------------------------------------------------- */

static char *
mime_type_of (GMimeObject *obj)
{
  GMimeContentType *ct = g_mime_object_get_content_type (obj);
  if (!ct)
    return g_strdup ("text/plain");
  g_autofree char *mt = g_mime_content_type_get_mime_type (ct);
  return g_ascii_strdown (mt ? mt : "application/octet-stream", -1);
}

/* The file name as the sender's client shows it: Content-Disposition
 * filename first, then Content-Type name (RFC 2183, RFC 2045 legacy),
 * decoded from the raw header so that our charset handling applies. */
static char *
filename_of (GMimeObject *obj, gsize max_len)
{
  GMimeHeaderList *headers = g_mime_object_get_header_list (obj);
  static const struct
  {
    const char *header, *param;
  } where[] = { { "Content-Disposition", "filename" }, { "Content-Type", "name" } };

  for (gsize i = 0; i < G_N_ELEMENTS (where); i++)
    {
      GMimeHeader *h = g_mime_header_list_get_header (headers, where[i].header);
      const char *raw = h ? g_mime_header_get_raw_value (h) : NULL;
      if (!raw || strlen (raw) > max_len)
        continue;
      g_autofree char *name = mugai_header_param (raw, where[i].param);
      if (name)
        {
          g_strstrip (name);
          if (*name)
            return g_steal_pointer (&name);
        }
    }
  return NULL;
}

static gboolean
is_attachment (GMimeObject *obj, const char *filename)
{
  const char *disp = g_mime_object_get_disposition (obj);
  if (disp && g_ascii_strcasecmp (disp, "attachment") == 0)
    return TRUE;
  return filename != NULL;
}

/* Decoded content of a leaf, bounded by limits.part_size.  Returns NULL
 * and sets *over when the part is larger. */
static GByteArray *
decoded_content (GMimePart *part, gsize limit, gboolean *over)
{
  *over = FALSE;
  GMimeDataWrapper *dw = g_mime_part_get_content (part);
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  if (!dw)
    return g_steal_pointer (&bytes);

  /* The encoded size bounds the decoded size from above for every
   * transfer encoding GMime knows (base64 4:3, QP 3:1, uuencode); a
   * generous factor avoids decoding what is surely too large. */
  GMimeStream *raw = g_mime_data_wrapper_get_stream (dw);
  gint64 raw_len = raw ? g_mime_stream_length (raw) : -1;
  if (raw_len > 0 && (guint64) raw_len / 4 > limit)
    {
      *over = TRUE;
      return NULL;
    }

  g_autoptr (GMimeStream) mem = g_mime_stream_mem_new_with_byte_array (bytes);
  g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (mem), FALSE);
  if (g_mime_data_wrapper_write_to_stream (dw, mem) < 0)
    g_byte_array_set_size (bytes, 0);
  if (bytes->len > limit)
    {
      *over = TRUE;
      return NULL;
    }
  return g_steal_pointer (&bytes);
}

static char *
detect_type (MugaiEngines *engines, const guint8 *data, gsize len)
{
  if (!engines || !engines->magic)
    return NULL;
  const char *t = magic_buffer (engines->magic, data, MIN (len, MAGIC_BYTES));
  return t ? g_strdup (t) : NULL;
}

static void
fill_content_facts (Ctx *ctx, MugaiPartReport *rec, const GByteArray *bytes)
{
  rec->size = bytes->len;
  rec->sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, bytes->data, bytes->len);
  rec->detected_type = detect_type (ctx->engines, bytes->data, bytes->len);
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
      if ((guchar) c < 0x20 && c != '\t' && c != '\n' && c != '\f')
        continue;
      if (c == 0x7f)
        continue;
      text->str[w++] = c;
    }
  g_string_truncate (text, w);
}

/* ---- building output parts --------------------------------------------- */

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
    ascii = (guchar) *p < 0x80;
  if (ascii)
    return;
  GMimeContentDisposition *cd = g_mime_object_get_content_disposition (GMIME_OBJECT (part));
  GMimeParam *p1 = cd ? g_mime_param_list_get_parameter (g_mime_content_disposition_get_parameters (cd),
                                                         "filename")
                      : NULL;
  GMimeParam *p2 = g_mime_param_list_get_parameter (
      g_mime_content_type_get_parameters (g_mime_object_get_content_type (GMIME_OBJECT (part))),
      "name");
  if (p1)
    g_mime_param_set_charset (p1, "UTF-8");
  if (p2)
    g_mime_param_set_charset (p2, "UTF-8");
}

static GMimeObject *
make_text_part (const MugaiPolicy *policy, const char *utf8, const char *filename,
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
      encoded = g_utf8_make_valid (text->str, (gssize) text->len);
      encoded_len = strlen (encoded);
    }

  g_autoptr (GMimePart) part = g_mime_part_new_with_type ("text", "plain");
  g_mime_object_set_content_type_parameter (GMIME_OBJECT (part), "charset", charset);
  g_autoptr (GMimeStream) mem
      = g_mime_stream_mem_new_with_buffer (encoded, encoded_len);
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

static void
add_text_attachment (Ctx *ctx, Build *build, MugaiPartReport *rec, const char *text,
                     const char *fallback_name)
{
  g_autofree char *name = text_attachment_name (rec->filename, fallback_name);
  if (rec->action == MUGAI_ACTION_KEEP && rec->filename && !g_str_equal (name, rec->filename))
    {
      /* renamed: the reader sees a different name, so say so */
      rec->action = MUGAI_ACTION_CONVERT;
      g_free (rec->detail);
      rec->detail = g_strdup (name);
      build_add_item (build, rec);
    }
  g_ptr_array_add (build->attachments, make_text_part (ctx->policy, text, name, NULL));
}

/* ---- leaves ------------------------------------------------------------ */

typedef enum
{
  LEAF_TEXT,
  LEAF_HTML,
  LEAF_ENRICHED,
  LEAF_STATUS_TEXT,
  LEAF_SIGNATURE,
  LEAF_ENCRYPTED,
  LEAF_NOT_INSPECTABLE,
  LEAF_OTHER
} LeafClass;

static LeafClass
classify_leaf (GMimeObject *obj, const char *type)
{
  static const char *const status_types[]
      = { "message/delivery-status", "message/disposition-notification",
          "message/feedback-report", "text/rfc822-headers", "message/global-delivery-status",
          "message/global-disposition-notification", "message/global-headers", NULL };
  static const char *const signature_types[]
      = { "application/pgp-signature", "application/pkcs7-signature",
          "application/x-pkcs7-signature", NULL };
  static const char *const tnef_types[]
      = { "application/ms-tnef", "application/vnd.ms-tnef", "message/partial",
          "message/external-body", NULL };

  if (g_str_equal (type, "text/plain"))
    return LEAF_TEXT;
  if (g_str_equal (type, "text/html") || g_str_equal (type, "application/xhtml+xml"))
    return LEAF_HTML;
  if (g_str_equal (type, "text/enriched") || g_str_equal (type, "text/richtext"))
    return LEAF_ENRICHED;
  if (g_strv_contains (status_types, type))
    return LEAF_STATUS_TEXT;
  if (g_strv_contains (signature_types, type))
    return LEAF_SIGNATURE;
  if (g_str_equal (type, "application/pgp-encrypted"))
    return LEAF_ENCRYPTED;
  if (g_str_equal (type, "application/pkcs7-mime") || g_str_equal (type, "application/x-pkcs7-mime"))
    {
      const char *st = g_mime_object_get_content_type_parameter (obj, "smime-type");
      if (!st || g_ascii_strncasecmp (st, "enveloped", 9) == 0
          || g_ascii_strncasecmp (st, "authEnveloped", 13) == 0)
        return LEAF_ENCRYPTED;
      return LEAF_NOT_INSPECTABLE;
    }
  if (g_strv_contains (tnef_types, type))
    return LEAF_NOT_INSPECTABLE;
  return LEAF_OTHER;
}

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
                     : g_strdup (ctx->policy->language == MUGAI_LANG_JA
                                     ? "終わりの行がないため以降の本文も削除"
                                     : "no end line: the rest of the text was removed too");
  decide (ctx, prec, build, MUGAI_FINDING_INLINE_PAYLOAD, detail);

  g_autofree char *ph = mugai_notice_placeholder (ctx->policy->language,
                                                  mugai_payload_kind_name (pl->kind),
                                                  prec->filename);
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
static char *
cut_decoded_payloads (Ctx *ctx, Build *build, MugaiPartReport *rec, char *text, guint found,
                      gboolean *over)
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
      g_string_append_len (out, in + pos, (gssize) (pl->start - pos));
      report_payload (ctx, build, rec, pl, found + i + 1, out);
      pos = pl->end;
    }
  g_string_append_len (out, in + pos, (gssize) (len - pos));
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
static char *
read_text (Ctx *ctx, Build *build, MugaiPartReport *rec, GMimeObject *obj, const GByteArray *bytes,
           gboolean *binary)
{
  *binary = FALSE;
  const char *declared = g_mime_object_get_content_type_parameter (obj, "charset");
  gboolean over = FALSE;
  g_autoptr (GPtrArray) payloads = mugai_textpayload_find (
      (const char *) bytes->data, bytes->len, ctx->policy->limits.inline_payloads, &over);

  /* What remains once the payloads are cut must be text: yEnc is 8-bit
   * and would make the whole part look binary. */
  g_autoptr (GByteArray) rest = g_byte_array_new ();
  gsize rpos = 0;
  for (guint i = 0; i <= payloads->len; i++)
    {
      const MugaiPayload *pl = i < payloads->len ? payloads->pdata[i] : NULL;
      gsize seg_end = pl ? pl->start : bytes->len;
      if (seg_end > rpos)
        g_byte_array_append (rest, bytes->data + rpos, (guint) (seg_end - rpos));
      if (pl)
        rpos = pl->end;
    }
  /* UTF-16 and UTF-32 text is full of NULs by nature: judged after
   * decoding, not before */
  gboolean wide = declared && (g_ascii_strncasecmp (declared, "utf-16", 6) == 0
                               || g_ascii_strncasecmp (declared, "utf-32", 6) == 0
                               || g_ascii_strncasecmp (declared, "ucs-", 4) == 0
                               || g_ascii_strcasecmp (declared, "unicode") == 0);
  if (wide)
    {
      g_autofree char *used = NULL;
      MugaiCharsetQuality q;
      g_autofree char *text = mugai_charset_decode ((const char *) rest->data, rest->len, declared,
                                                    &used, &q);
      if (q != MUGAI_CHARSET_DECLARED || mugai_charset_looks_binary (text, strlen (text)))
        {
          *binary = TRUE;
          return NULL;
        }
      rec->charset = g_steal_pointer (&used);
      text = cut_decoded_payloads (ctx, build, rec, g_steal_pointer (&text), payloads->len, &over);
      if (over)
        mugai_report_add_finding (ctx->report,
                                  mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, rec->path,
                                                     "more than %u inline payloads",
                                                     ctx->policy->limits.inline_payloads));
      return defang_text (ctx, g_steal_pointer (&text));
    }
  if (mugai_charset_looks_binary ((const char *) rest->data, rest->len))
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
          g_autoptr (GByteArray) clean = g_byte_array_sized_new ((guint) (seg_end - pos));
          for (gsize k = pos; k < seg_end; k++)
            if (bytes->data[k] != 0)
              g_byte_array_append (clean, bytes->data + k, 1);
          g_autofree char *seg = mugai_charset_decode ((const char *) clean->data, clean->len,
                                                       declared, &used, &q);
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
  char *text = cut_decoded_payloads (ctx, build, rec, g_string_free (g_steal_pointer (&out), FALSE),
                                     payloads->len, &over);
  if (over)
    mugai_report_add_finding (ctx->report,
                              mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, rec->path,
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
static char *
read_html (Ctx *ctx, MugaiPartReport *rec, GMimeObject *obj, const GByteArray *bytes,
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
      const char *subtype = g_mime_content_type_get_media_subtype (
          g_mime_object_get_content_type (obj));
      g_autoptr (GMimeFilter) f = g_mime_filter_enriched_new (
          subtype && g_ascii_strcasecmp (subtype, "richtext") == 0
              ? GMIME_FILTER_ENRICHED_IS_RICHTEXT
              : 0);
      g_mime_stream_filter_add (GMIME_STREAM_FILTER (filtered), f);
      if (bytes->len > 0) /* an empty GByteArray's data is NULL: GMime criticals */
        g_mime_stream_write (filtered, (const char *) bytes->data, bytes->len);
      g_mime_stream_flush (filtered);
      data = html->data;
      len = html->len;
    }

  const char *declared = g_mime_object_get_content_type_parameter (obj, "charset");
  g_autofree char *meta = declared ? NULL : mugai_html_meta_charset ((const char *) data, len);
  g_autofree char *used = NULL;
  MugaiCharsetQuality q;
  g_autofree char *utf8 = mugai_charset_decode ((const char *) data, len,
                                                declared ? declared : meta, &used, &q);
  rec->charset = g_steal_pointer (&used);

  const MugaiLimits *limits = &ctx->policy->limits;
  gboolean ja = ctx->policy->language == MUGAI_LANG_JA;
  gsize utf8_len = strlen (utf8);
  if (utf8_len > limits->html_size)
    {
      *over = TRUE;
      *detail = g_strdup_printf (ja ? "HTML が大きすぎるため表示できません（%zu バイト、上限 %zu バイト）"
                                    : "HTML of %zu octets is larger than %zu",
                                 utf8_len, limits->html_size);
      return NULL;
    }
  /* the part's budget, within what the message has left */
  MugaiHtmlBounds bounds = { .max_attributes = limits->html_attributes,
                             .deadline = g_get_monotonic_time ()
                                         + (gint64) limits->html_time * G_TIME_SPAN_MILLISECOND };
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
        *detail = ja ? g_strdup_printf ("HTML の一つの要素に属性が多すぎるため表示できません（上限 %u）",
                                        limits->html_attributes)
                     : g_strdup (error->message);
      else if (g_error_matches (error, MUGAI_HTML_ERROR, MUGAI_HTML_ERROR_BUDGET))
        *detail = g_strdup (ja ? "HTML の表示が制限時間内に終わりませんでした"
                               : "rendering the HTML did not end within its time budget");
      else
        {
          *over = FALSE;
          *detail = g_strdup (error->message);
        }
      return NULL;
    }
  g_autoptr (GString) d = g_string_new (NULL);
  if (stats.links)
    g_string_append_printf (d, ja ? "リンク %u 件" : "%u links", stats.links);
  if (stats.links_mismatch)
    g_string_append_printf (d, ja ? "、表示と実際の行き先が異なるリンク %u 件（(!) 印）"
                                  : ", %u whose text differs from the target (marked (!))",
                            stats.links_mismatch);
  if (stats.scripts || stats.forms)
    g_string_append_printf (d, ja ? "%sスクリプト等 %u 件とフォーム %u 件を除去"
                                  : "%s%u scripts/embedded objects and %u forms dropped",
                            d->len ? (ja ? "、" : ", ") : "", stats.scripts, stats.forms);
  if (stats.truncated)
    g_string_append_printf (d, ja ? "%s長すぎるため途中まで" : "%struncated at the size limit",
                            d->len ? (ja ? "、" : ", ") : "");
  *detail = g_string_free (g_steal_pointer (&d), FALSE);
  return text;
}

/* Scans one buffer.  FALSE when there is no engine or the scan failed
 * (then ctx->scan_error is set and the message will be tempfailed). */
static gboolean
scan_run (Ctx *ctx, const guint8 *data, gsize len, const char *name, MugaiScanResult *result,
          char **sig)
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
static gboolean
scan_apply (Ctx *ctx, Build *build, MugaiPartReport *rec, MugaiScanResult result, const char *sig)
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
        decide (ctx, rec, build, MUGAI_FINDING_VIRUS, sig);
      else
        mugai_report_add_finding (ctx->report, mugai_finding_new (MUGAI_FINDING_VIRUS, "", "%s", sig));
      ctx->reject = TRUE;
      return TRUE;
    case MUGAI_SCAN_ENCRYPTED:
      if (!rec)
        return FALSE; /* found again, and decided, per part */
      {
        g_autofree char *d = g_strdup_printf (ja ? "パスワード付きファイルのため検査できません（%s）"
                                                 : "password-protected: cannot be scanned (%s)",
                                              sig);
        decide (ctx, rec, build, MUGAI_FINDING_ENCRYPTED, d);
      }
      return TRUE;
    case MUGAI_SCAN_MACROS:
    case MUGAI_SCAN_BROKEN:
      if (!rec)
        return FALSE;
      decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, sig);
      return TRUE;
    case MUGAI_SCAN_INCOMPLETE:
      {
        /* never a pass: a part ClamAV could not scan to the end goes */
        g_autofree char *d = g_strdup_printf (ja ? "ウイルス検査を最後まで行えませんでした（%s）"
                                                 : "not fully scanned (%s)",
                                              sig);
        if (rec)
          decide (ctx, rec, build, MUGAI_FINDING_OVER_LIMIT, d);
        else
          mugai_report_add_finding (ctx->report,
                                    mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, "", "%s", d));
        return rec != NULL;
      }
    }
  return FALSE;
}

/* ---- what a part really is ------------------------------------------- */

static void
append_detail (MugaiPartReport *rec, const char *text, gboolean ja)
{
  if (!rec->detail)
    rec->detail = g_strdup (text);
  else
    {
      char *d = g_strconcat (rec->detail, ja ? "。" : "; ", text, NULL);
      g_free (rec->detail);
      rec->detail = d;
    }
}

/* Names the content's true type on rec, reports a declared type or an
 * extension that disagrees with it (a finding, not an action: what the
 * part is decides what happens to it), and lists archives.  Returns the
 * listing for an archive, NULL otherwise. */
static MugaiArchiveListing *
describe_content (Ctx *ctx, MugaiPartReport *rec, const GByteArray *bytes, MugaiDocFlags *flags,
                  char **mismatch, MugaiDocKind *kind_out)
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
      g_string_append_printf (m, ja ? "拡張子 %s" : "extension %s", shown);
    }
  if (!mugai_doctype_compatible (by_mime, kind))
    {
      g_autofree char *shown = mugai_text_safe_display (rec->declared_type, 80);
      g_string_append_printf (m, ja ? "%s%s" : "%sdeclared %s", m->len ? (ja ? "・" : " and ") : "",
                              shown);
    }
  if (m->len)
    {
      g_string_append_printf (m, ja ? " の表示と中身（%s）が異なります" : " but the content is %s",
                              mugai_doctype_label (kind, ja));
      mugai_report_add_finding (ctx->report, mugai_finding_new (MUGAI_FINDING_TYPE_MISMATCH,
                                                                rec->path, "%s", m->str));
      *mismatch = g_string_free (g_steal_pointer (&m), FALSE);
    }

  if (!mugai_doctype_is_archive (kind))
    return NULL;
  MugaiArchiveLimits limits = {
    .max_depth = ctx->policy->limits.archive_depth,
    .max_entries = ctx->policy->limits.archive_entries,
    .max_expand = ctx->policy->limits.archive_expand,
  };
  MugaiArchiveListing *listing = mugai_archive_list (bytes->data, bytes->len, kind, rec->filename,
                                                     &limits);
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
            er->danger = g_strdup (ja ? "マクロ付き文書" : "document with macros");
          else
            er->danger = g_strdup (ja ? "名前が種類を偽っています" : "name disguises its type");
        }
      g_ptr_array_add (rec->entries, er);
    }
  return listing;
}

static GMimeObject *
make_binary_part (const char *mime_type, GBytes *data, const char *filename)
{
  g_auto (GStrv) mt = g_strsplit (mime_type, "/", 2);
  g_autoptr (GMimePart) part = g_mime_part_new_with_type (mt[0], mt[1] ? mt[1] : "octet-stream");
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (data, &len);
  g_autoptr (GMimeStream) mem = g_mime_stream_mem_new_with_buffer ((const char *) p, len);
  g_autoptr (GMimeDataWrapper) dw
      = g_mime_data_wrapper_new_with_stream (mem, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content (part, dw);
  g_mime_part_set_content_encoding (part, GMIME_CONTENT_ENCODING_BASE64);
  set_filename_utf8 (part, filename);
  g_mime_object_set_disposition (GMIME_OBJECT (part), "attachment");
  return GMIME_OBJECT (g_steal_pointer (&part));
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
    return g_strdup_printf (ja ? "危険な種類のファイルです: %s" : "dangerous file type: %s",
                            ja ? lja : len_);
  const char *markup = mugai_filetype_markup (data, len);
  if (markup)
    return g_strdup_printf (ja ? "マークアップ（%s）を含みます" : "it holds markup (%s)", markup);
  MugaiDocKind want = is_text ? MUGAI_DOC_TEXT : mugai_doctype_for_mime (mime_type);
  g_autofree char *magic = detect_type (ctx->engines, data, len);
  MugaiDocFlags flags = 0;
  MugaiDocKind got = mugai_doctype_identify (data, len, magic, &flags);
  gboolean is_what_it_says
      = is_text ? !mugai_charset_looks_binary ((const char *) data, len)
                      && (got == MUGAI_DOC_TEXT || got == MUGAI_DOC_UNKNOWN)
                : want != MUGAI_DOC_UNKNOWN && got == want;
  if (!is_what_it_says || flags != 0)
    return g_strdup_printf (ja ? "中身が %s ではありません" : "it is not %s",
                            mugai_doctype_label (want, ja));
  if (mugai_doctype_for_extension (filename) != want)
    return g_strdup_printf (ja ? "名前が %s のものではありません" : "its name is not that of %s",
                            mugai_doctype_label (want, ja));
  return NULL;
}

/* Converts a PDF, an Office document or an image into its inert form in
 * a sandboxed filter, scans the output and attaches it.  TRUE when the
 * part was decided (converted, or removed because conversion failed);
 * FALSE when this type is not converted (the caller removes it). */
static gboolean
convert_part (Ctx *ctx, Build *build, MugaiPartReport *rec, const GByteArray *bytes,
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
      ctx->scan_error = g_error_new (MUGAI_SANITIZE_ERROR, MUGAI_SANITIZE_ERROR_INTERNAL,
                                     "document conversion: no filter slot free within %u s",
                                     cs->slot_wait);
      return TRUE;
    case MUGAI_CONVERT_ENCRYPTED:
      decide (ctx, rec, build, MUGAI_FINDING_ENCRYPTED,
              ja ? "パスワード付きファイルのため検査できません" : "password-protected: cannot be scanned");
      return TRUE;
    case MUGAI_CONVERT_LIMIT:
      decide (ctx, rec, build, MUGAI_FINDING_OVER_LIMIT, c.detail);
      return TRUE;
    case MUGAI_CONVERT_FAILED:
      decide (ctx, rec, build, MUGAI_FINDING_MALFORMED, c.detail);
      return TRUE;
    case MUGAI_CONVERT_DONE:
      break;
    }

  /* every converted output is scanned again before it goes out */
  gsize out_len = 0;
  const guint8 *out = g_bytes_get_data (c.output, &out_len);
  MugaiScanResult scan = MUGAI_SCAN_CLEAN;
  g_autofree char *sig = NULL;
  scan_run (ctx, out, out_len, rec->path, &scan, &sig);
  if (ctx->scan_error)
    return TRUE;
  if (scan != MUGAI_SCAN_CLEAN && scan_apply (ctx, build, rec, scan, sig))
    return TRUE;
  if (c.text)
    {
      gsize tl = 0;
      const guint8 *t = g_bytes_get_data (c.text, &tl);
      g_autofree char *tsig = NULL;
      scan_run (ctx, t, tl, rec->path, &scan, &tsig);
      if (ctx->scan_error)
        return TRUE;
      if (scan != MUGAI_SCAN_CLEAN && scan_apply (ctx, build, rec, scan, tsig))
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
          char *d = g_strdup_printf (ja ? "%s。文字のテキストは添付できません: %s"
                                        : "%s; the page text cannot be attached: %s",
                                     c.detail, tp);
          g_free (c.detail);
          c.detail = d;
          g_clear_pointer (&c.text, g_bytes_unref);
        }
    }
  if (problem)
    {
      g_autofree char *d = g_strdup_printf (ja ? "変換後のファイルを添付できません: %s"
                                               : "the converted file cannot be attached: %s",
                                            problem);
      decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, d);
      return TRUE;
    }

  decide (ctx, rec, build, MUGAI_FINDING_CONVERTIBLE, c.detail);
  if (rec->action != MUGAI_ACTION_CONVERT)
    return TRUE;
  if (c.is_text)
    {
      g_autofree char *text = g_utf8_make_valid ((const char *) out, (gssize) out_len);
      g_ptr_array_add (build->attachments, make_text_part (ctx->policy, text, c.filename, NULL));
    }
  else
    g_ptr_array_add (build->attachments, make_binary_part (c.mime_type, c.output, c.filename));
  if (c.text)
    {
      gsize tl = 0;
      const char *t = g_bytes_get_data (c.text, &tl);
      g_autofree char *text = g_utf8_make_valid (t, (gssize) tl);
      g_ptr_array_add (build->attachments, make_text_part (ctx->policy, text, c.text_filename, NULL));
    }
  return TRUE;
}

/* Decides a part by what describe_content() found.  TRUE when decided. */
static gboolean
decide_document (Ctx *ctx, Build *build, MugaiPartReport *rec, MugaiDocFlags flags,
                 const MugaiArchiveListing *listing)
{
  gboolean ja = ctx->policy->language == MUGAI_LANG_JA;
  if (flags & MUGAI_DOC_FLAG_MACROS)
    {
      decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE,
              ja ? "マクロ（VBA）を含む Office 文書です" : "Office document with macros (VBA)");
      return TRUE;
    }
  if (flags & MUGAI_DOC_FLAG_ENCRYPTED)
    {
      decide (ctx, rec, build, MUGAI_FINDING_ENCRYPTED,
              ja ? "パスワード付きファイルのため検査できません" : "password-protected: cannot be scanned");
      return TRUE;
    }
  if (!listing)
    return FALSE;
  const char *label = rec->type_label ? rec->type_label : "";
  g_autofree char *d = NULL;
  if (listing->dangerous)
    {
      d = g_strdup_printf (ja ? "危険なファイルを含む %s です（%u 件）"
                              : "%s holding dangerous files (%u)",
                           label, listing->dangerous);
      decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, d);
    }
  else if (listing->encrypted)
    {
      d = g_strdup_printf (ja ? "パスワード付きファイルのため検査できません（%s）"
                              : "password-protected: cannot be scanned (%s)",
                           label);
      decide (ctx, rec, build, MUGAI_FINDING_ENCRYPTED, d);
    }
  else if (listing->too_deep || listing->incomplete)
    {
      d = g_strdup_printf (ja ? "%sの入れ子・件数・展開量が上限を超えたため中身を確認できません"
                              : "%s nested too deep, too many files or too large to look into",
                           label);
      decide (ctx, rec, build, MUGAI_FINDING_OVER_LIMIT, d);
    }
  else if (listing->error)
    {
      g_autofree char *e = mugai_text_safe_display (listing->error, 120);
      d = g_strdup_printf (ja ? "%sを読めません: %s" : "%s cannot be read: %s", label, e);
      decide (ctx, rec, build, MUGAI_FINDING_MALFORMED, d);
    }
  else
    {
      d = g_strdup_printf (ja ? "%s、%u 件のファイル" : "%s, %u files", label, listing->total);
      decide (ctx, rec, build, MUGAI_FINDING_ARCHIVE, d);
    }
  return TRUE;
}

static gboolean
known_transfer_encoding (GMimeObject *obj)
{
  static const char *const known[] = { "7bit", "8bit", "binary", "base64", "quoted-printable",
                                       "x-uuencode", "uuencode", "x-uue", NULL };
  const char *cte = g_mime_object_get_header (obj, "Content-Transfer-Encoding");
  if (!cte)
    return TRUE;
  g_autofree char *v = g_ascii_strdown (cte, -1);
  g_strstrip (v);
  return *v == '\0' || g_strv_contains (known, v);
}


static void
walk_leaf (Ctx *ctx, Build *build, GMimeObject *obj, const char *path, gboolean top)
{
  MugaiPartReport *rec = mugai_report_add_part (ctx->report, path, "attachment");
  rec->declared_type = mime_type_of (obj);
  rec->filename = filename_of (obj, ctx->policy->limits.header_length);
  gboolean attachment = !top && is_attachment (obj, rec->filename);
  LeafClass cls = classify_leaf (obj, rec->declared_type);

  if (GMIME_IS_MESSAGE_PARTIAL (obj))
    cls = LEAF_NOT_INSPECTABLE;

  gboolean over = FALSE;
  g_autoptr (GByteArray) bytes = decoded_content (GMIME_PART (obj), ctx->policy->limits.part_size,
                                                  &over);
  if (over)
    {
      g_autofree char *d = g_strdup_printf ("part larger than %zu octets",
                                            ctx->policy->limits.part_size);
      decide (ctx, rec, build, MUGAI_FINDING_OVER_LIMIT, d);
      return;
    }
  fill_content_facts (ctx, rec, bytes);
  /* Malware first: it refuses the whole message whatever else the part
   * is.  Other alerts are decided after the name checks, which say more. */
  MugaiScanResult scan = MUGAI_SCAN_CLEAN;
  g_autofree char *sig = NULL;
  scan_run (ctx, bytes->data, bytes->len, rec->path, &scan, &sig);
  if (ctx->scan_error)
    return;
  if ((scan == MUGAI_SCAN_VIRUS || scan == MUGAI_SCAN_PHISHING) && scan_apply (ctx, build, rec, scan, sig))
    return;

  /* what the content is (named in the notice whatever happens next) */
  MugaiDocFlags docflags = 0;
  g_autofree char *mismatch = NULL;
  g_autoptr (MugaiArchiveListing) listing = NULL;
  MugaiDocKind kind = MUGAI_DOC_UNKNOWN;
  if (cls == LEAF_OTHER)
    listing = describe_content (ctx, rec, bytes, &docflags, &mismatch, &kind);

  const char *binary_detail = ctx->policy->language == MUGAI_LANG_JA
                                  ? "テキストと表示されていますが中身はバイナリです"
                                  : "declared as text but holds binary data";
  gboolean textual = cls == LEAF_TEXT || cls == LEAF_HTML || cls == LEAF_ENRICHED
                     || cls == LEAF_STATUS_TEXT;
  if (textual && !known_transfer_encoding (obj))
    {
      /* RFC 2045 6.4: an unknown encoding makes the part opaque data */
      decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE,
              ctx->policy->language == MUGAI_LANG_JA ? "不明な転送エンコーディングです"
                                                     : "unknown transfer encoding");
      return;
    }
  if ((cls == LEAF_HTML || cls == LEAF_ENRICHED)
      && mugai_charset_looks_binary ((const char *) bytes->data, bytes->len))
    {
      decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, binary_detail);
      return;
    }
  gboolean ja = ctx->policy->language == MUGAI_LANG_JA;
  if (rec->filename)
    {
      /* Names that lie: bidi overrides ("invoice<RLO>fdp.exe" shows as
       * "invoiceexe.pdf"), double extensions, trailing dots and spaces
       * Windows strips, padding, invisible characters. */
      g_autofree char *dja = NULL, *den = NULL;
      MugaiNameFlags flags = mugai_filename_check (rec->filename, &dja, &den);
      if (flags & ~MUGAI_NAME_DANGEROUS_EXTENSION)
        {
          decide (ctx, rec, build, MUGAI_FINDING_NAME_TRICK, ja ? dja : den);
          if (mismatch)
            append_detail (rec, mismatch, ja);
          return;
        }
    }
  if (cls == LEAF_OTHER && decide_document (ctx, build, rec, docflags, listing))
    {
      if (mismatch)
        append_detail (rec, mismatch, ja);
      return;
    }
  if (scan_apply (ctx, build, rec, scan, sig))
    {
      if (mismatch)
        append_detail (rec, mismatch, ja);
      return;
    }
  if (attachment)
    {
      /* Always removed, whatever the type was declared as: executables,
       * scripts (by name or content), shortcuts, disk images, help files,
       * markup carrying script.  A script sent as text/plain is not kept
       * as text. */
      g_autofree char *lja = NULL, *len_ = NULL;
      MugaiDangerKind danger = mugai_filetype_danger (bytes->data, bytes->len, rec->filename, &lja,
                                                      &len_);
      if (danger != MUGAI_KIND_OTHER)
        {
          g_autofree char *d = g_strdup_printf (ja ? "危険な種類のファイルです: %s" : "dangerous file type: %s",
                                                ja ? lja : len_);
          decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, d);
          if (mismatch)
            append_detail (rec, mismatch, ja);
          return;
        }
    }

  switch (cls)
    {
    case LEAF_TEXT:
    case LEAF_STATUS_TEXT:
      {
        gboolean binary = FALSE;
        g_autofree char *text = read_text (ctx, build, rec, obj, bytes, &binary);
        if (binary)
          {
            decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, binary_detail);
            return;
          }
        if (!attachment && cls == LEAF_TEXT)
          {
            rec->kind = "body";
            build_append_body (build, text);
          }
        else
          {
            g_autofree char *fallback = g_strdup_printf (
                "%s.txt", cls == LEAF_STATUS_TEXT ? strchr (rec->declared_type, '/') + 1 : "text");
            add_text_attachment (ctx, build, rec, text, fallback);
          }
        return;
      }
    case LEAF_HTML:
    case LEAF_ENRICHED:
      {
        g_autofree char *detail = NULL;
        gboolean over_budget = FALSE;
        g_autofree char *text = read_html (ctx, rec, obj, bytes, cls == LEAF_ENRICHED, &detail,
                                           &over_budget);
        if (!text)
          {
            decide (ctx, rec, build, over_budget ? MUGAI_FINDING_OVER_LIMIT : MUGAI_FINDING_MALFORMED,
                    detail);
            return;
          }
        /* uuencode in a <pre> (or anywhere the page shows text) comes out
         * of the rendering as it would in text/plain: cut it the same way */
        gboolean over_payloads = FALSE;
        text = cut_decoded_payloads (ctx, build, rec, g_steal_pointer (&text), 0, &over_payloads);
        if (over_payloads)
          mugai_report_add_finding (ctx->report,
                                    mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, rec->path,
                                                       "more than %u inline payloads",
                                                       ctx->policy->limits.inline_payloads));
        decide (ctx, rec, build, MUGAI_FINDING_ACTIVE_CONTENT, detail);
        if (!attachment)
          {
            rec->kind = "body";
            build_append_body (build, text);
          }
        else
          add_text_attachment (ctx, build, rec, text,
                               cls == LEAF_HTML ? "attachment.html.txt" : "attachment.txt");
        return;
      }
    case LEAF_SIGNATURE:
      rec->kind = "signature";
      decide (ctx, rec, build, MUGAI_FINDING_SIGNATURE, NULL);
      return;
    case LEAF_ENCRYPTED:
      decide (ctx, rec, build, MUGAI_FINDING_ENCRYPTED, NULL);
      return;
    case LEAF_NOT_INSPECTABLE:
      decide (ctx, rec, build, MUGAI_FINDING_NOT_INSPECTABLE, NULL);
      return;
    case LEAF_OTHER:
      /* a part that lies about its type is not converted: the filter
       * for what it claims to be is not the one for what it is */
      if (!mismatch && convert_part (ctx, build, rec, bytes, kind))
        return;
      decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, mismatch);
      return;
    }
}

/* ---- containers --------------------------------------------------------- */

static void walk_entity (Ctx *ctx, Build *build, GMimeObject *obj, const char *path,
                         const char *child_prefix, guint depth, gboolean top);
static GMimeMessage *rebuild_message (Ctx *ctx, Build *build, GMimeMessage *src, gboolean top,
                                      const char *quarantine_id);
static void walk_message_body (Ctx *ctx, Build *build, GMimeMessage *msg, const char *prefix,
                               guint depth);
static gboolean past_unused_limit (Ctx *ctx);

/* TRUE when obj is or (within a few levels) holds text/html. */
static gboolean
holds_html (GMimeObject *obj, guint budget)
{
  if (budget == 0)
    return FALSE;
  if (GMIME_IS_MULTIPART (obj))
    {
      GMimeMultipart *mp = GMIME_MULTIPART (obj);
      int n = g_mime_multipart_get_count (mp);
      for (int i = 0; i < n; i++)
        if (holds_html (g_mime_multipart_get_part (mp, i), budget - 1))
          return TRUE;
      return FALSE;
    }
  GMimeContentType *ct = g_mime_object_get_content_type (obj);
  return ct && g_mime_content_type_is_type (ct, "text", "html");
}

/* RFC 2046 5.1.4: the last alternative is the richest.  The policy picks
 * HTML (the text alternative may say something else than what the sender
 * saw) or text. */
static int
choose_alternative (GMimeMultipart *mp, MugaiAlternative pref)
{
  int n = g_mime_multipart_get_count (mp);
  for (int i = n - 1; i >= 0; i--)
    {
      GMimeObject *child = g_mime_multipart_get_part (mp, i);
      GMimeContentType *ct = g_mime_object_get_content_type (child);
      gboolean html = holds_html (child, 4);
      gboolean text = ct && g_mime_content_type_is_type (ct, "text", "plain");
      if ((pref == MUGAI_ALTERNATIVE_HTML && html) || (pref == MUGAI_ALTERNATIVE_TEXT && text))
        return i;
    }
  for (int i = n - 1; i >= 0; i--)
    {
      GMimeObject *child = g_mime_multipart_get_part (mp, i);
      GMimeContentType *ct = g_mime_object_get_content_type (child);
      if (holds_html (child, 4) || (ct && g_mime_content_type_is_type (ct, "text", "*")))
        return i;
    }
  return n - 1;
}

static void
walk_multipart (Ctx *ctx, Build *build, GMimeMultipart *mp, MugaiPartReport *rec,
                const char *child_prefix, guint depth)
{
  const char *subtype = g_mime_content_type_get_media_subtype (
      g_mime_object_get_content_type (GMIME_OBJECT (mp)));
  int n = g_mime_multipart_get_count (mp);

  if (GMIME_IS_MULTIPART_ENCRYPTED (mp) || (subtype && g_ascii_strcasecmp (subtype, "encrypted") == 0))
    {
      decide (ctx, rec, build, MUGAI_FINDING_ENCRYPTED, NULL);
      return;
    }

  int chosen = -1;
  if (subtype && g_ascii_strcasecmp (subtype, "alternative") == 0 && n > 0)
    chosen = choose_alternative (mp, ctx->policy->alternative);
  gboolean is_signed = GMIME_IS_MULTIPART_SIGNED (mp) && n == 2;

  for (int i = 0; i < n; i++)
    {
      GMimeObject *child = g_mime_multipart_get_part (mp, i);
      g_autofree char *path = child_path (child_prefix, (guint) i + 1);
      if (chosen >= 0 && i != chosen)
        {
          /* not shown, not delivered: the original keeps it */
          if (past_unused_limit (ctx))
            continue;
          MugaiPartReport *alt = mugai_report_add_part (ctx->report, path, "alternative");
          alt->declared_type = mime_type_of (child);
          alt->action = MUGAI_ACTION_UNUSED;
          continue;
        }
      if (is_signed && i == 1)
        {
          MugaiPartReport *sig = mugai_report_add_part (ctx->report, path, "signature");
          sig->declared_type = mime_type_of (child);
          sig->filename = filename_of (child, ctx->policy->limits.header_length);
          decide (ctx, sig, build, MUGAI_FINDING_SIGNATURE, NULL);
          continue;
        }
      walk_entity (ctx, build, child, path, path, depth + 1, FALSE);
    }
}

static void
append_inline_message (Ctx *ctx, Build *build, GMimeMessage *inner, Build *inner_build)
{
  gboolean ja = ctx->policy->language == MUGAI_LANG_JA;
  g_autoptr (GString) text = g_string_new (ja ? "---------- 添付されたメール ----------\n"
                                              : "---------- Attached message ----------\n");
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
  build_append_body (build, text->str);
  for (guint i = 0; i < inner_build->attachments->len; i++)
    g_ptr_array_add (build->attachments, g_object_ref (inner_build->attachments->pdata[i]));
}

/* Counts one more entity walked.  TRUE when it is past [limits] parts:
 * the first such part is recorded and named in the notice with the
 * finding; later ones are only counted (report->parts_omitted and
 * parts_omitted_removed), so that neither the report nor the notice grows
 * with them: both end with one line that says how many. */
static gboolean
past_part_limit (Ctx *ctx, Build *build, GMimeObject *obj, const char *path)
{
  const MugaiLimits *limits = &ctx->policy->limits;
  if (++ctx->parts_seen <= limits->parts)
    return FALSE;
  if (ctx->parts_over_noted)
    {
      ctx->report->parts_omitted++;
      ctx->report->parts_omitted_removed++;
      ctx->report->parts_limit = limits->parts;
      return TRUE;
    }
  ctx->parts_over_noted = TRUE;
  MugaiPartReport *rec = mugai_report_add_part (ctx->report, path, "attachment");
  rec->declared_type = mime_type_of (obj);
  rec->filename = filename_of (obj, limits->header_length);
  g_autofree char *d = g_strdup_printf ("more than %u MIME parts; this and later parts removed",
                                        limits->parts);
  decide (ctx, rec, build, MUGAI_FINDING_OVER_LIMIT, d);
  return TRUE;
}

/* An alternative not shown is not walked, but listed: past [limits]
 * parts entries of them (60,000 made a 21.5 MB report), they are only
 * counted.  They do not count against the parts walked, so that the
 * alternative shown (often the last) is still rendered. */
static gboolean
past_unused_limit (Ctx *ctx)
{
  const MugaiLimits *limits = &ctx->policy->limits;
  if (++ctx->unused_seen <= limits->parts)
    return FALSE;
  if (!ctx->unused_over_noted)
    {
      ctx->unused_over_noted = TRUE;
      mugai_report_add_finding (ctx->report,
                                mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, "",
                                                   "more than %u unused alternatives; the later "
                                                   "ones are counted, not listed",
                                                   limits->parts));
    }
  ctx->report->parts_omitted++;
  ctx->report->parts_limit = limits->parts;
  return TRUE;
}

static void
walk_entity (Ctx *ctx, Build *build, GMimeObject *obj, const char *path, const char *child_prefix,
             guint depth, gboolean top)
{
  const MugaiLimits *limits = &ctx->policy->limits;

  if (past_part_limit (ctx, build, obj, path))
    return;
  if (depth > limits->depth)
    {
      MugaiPartReport *rec = mugai_report_add_part (ctx->report, path, "container");
      rec->declared_type = mime_type_of (obj);
      g_autofree char *d = g_strdup_printf ("MIME nesting deeper than %u; this part and all inside removed",
                                            limits->depth);
      decide (ctx, rec, build, MUGAI_FINDING_OVER_LIMIT, d);
      return;
    }

  if (GMIME_IS_MULTIPART (obj))
    {
      MugaiPartReport *rec = mugai_report_add_part (ctx->report, path, "container");
      rec->declared_type = mime_type_of (obj);
      rec->action = MUGAI_ACTION_CONTAINER;
      walk_multipart (ctx, build, GMIME_MULTIPART (obj), rec, child_prefix, depth);
      return;
    }

  if (GMIME_IS_MESSAGE_PART (obj))
    {
      MugaiPartReport *rec = mugai_report_add_part (ctx->report, path, "message");
      rec->declared_type = mime_type_of (obj);
      rec->action = MUGAI_ACTION_CONTAINER;
      GMimeMessage *inner = g_mime_message_part_get_message (GMIME_MESSAGE_PART (obj));
      if (!inner)
        {
          decide (ctx, rec, build, MUGAI_FINDING_MALFORMED, "attached message is empty");
          return;
        }
      Build inner_build;
      build_init (&inner_build, build);
      walk_message_body (ctx, &inner_build, inner, path, depth + 1);
      if (ctx->policy->rfc822 == MUGAI_RFC822_INLINE)
        append_inline_message (ctx, build, inner, &inner_build);
      else
        {
          g_autoptr (GMimeMessage) rebuilt = rebuild_message (ctx, &inner_build, inner, FALSE, NULL);
          g_autoptr (GMimeMessagePart) mp = g_mime_message_part_new_with_message ("rfc822", rebuilt);
          g_ptr_array_add (build->attachments, g_steal_pointer (&mp));
        }
      build_clear (&inner_build);
      return;
    }

  if (GMIME_IS_PART (obj))
    {
      walk_leaf (ctx, build, obj, path, top);
      return;
    }

  MugaiPartReport *rec = mugai_report_add_part (ctx->report, path, "attachment");
  rec->declared_type = mime_type_of (obj);
  decide (ctx, rec, build, MUGAI_FINDING_MALFORMED, "unknown MIME entity");
}

/* IMAP numbering (RFC 3501 6.4.5): a message's single body is prefix.1
 * ("1" at the top); the children of its multipart body are prefix.1,
 * prefix.2...  The multipart itself is recorded as prefix.0 ("0"). */
static void
walk_message_body (Ctx *ctx, Build *build, GMimeMessage *msg, const char *prefix, guint depth)
{
  GMimeObject *body = g_mime_message_get_mime_part (msg);
  if (!body)
    return;
  g_autofree char *own = GMIME_IS_MULTIPART (body) ? child_path (prefix, 0) : child_path (prefix, 1);
  walk_entity (ctx, build, body, own, prefix, depth, TRUE);
}

/* ---- headers ------------------------------------------------------------ */

/* A raw header value that can be written back unchanged: printable
 * ASCII, folded lines within RFC 5322's 998, no blank continuation line. */
static gboolean
header_raw_is_ascii (const char *name, const char *raw)
{
  gsize line = strlen (name) + 1;
  for (const char *p = raw; *p; p++)
    {
      guchar c = (guchar) *p;
      if (c == '\n')
        {
          if (p[1] && p[1] != ' ' && p[1] != '\t')
            return FALSE;
          /* a continuation line of only blanks reads as the end of the
           * header block to many parsers: unfold instead */
          if (p[1] && (p[1 + strspn (p + 1, " \t")] == '\n' || p[1 + strspn (p + 1, " \t")] == '\r'))
            return FALSE;
          line = 0;
          continue;
        }
      if (c == '\r' && p[1] == '\n')
        continue;
      if ((c < 0x20 && c != '\t') || c >= 0x7f || ++line > 998)
        return FALSE;
    }
  return TRUE;
}

/* ...and no encoded-word (those are decoded and re-encoded as UTF-8). */
static gboolean
header_raw_is_clean (const char *name, const char *raw)
{
  return !strstr (raw, "=?") && header_raw_is_ascii (name, raw);
}

static char *
truncate_utf8 (char *s, gsize max)
{
  if (strlen (s) <= max)
    return s;
  const char *end = s + max;
  while (end > s && ((guchar) *end & 0xc0) == 0x80)
    end--;
  s[end - s] = '\0';
  return s;
}

static gboolean
header_name_is_valid (const char *name)
{
  if (!*name)
    return FALSE;
  for (const char *p = name; *p; p++)
    if ((guchar) *p < 33 || (guchar) *p > 126 || *p == ':')
      return FALSE;
  return TRUE;
}

/* GMime picks the "best" charset for display names (ISO-8859-1 when it
 * fits); mugai writes UTF-8 everywhere, so the list is formatted again
 * with every name's charset set. */
/* A mailbox without "@domain", a group where RFC 5322 3.6.2 allows only
 * mailboxes (From, Sender), or no address at all where the field has
 * text: the field is not an address list. */
static gboolean
addresses_plausible (InternetAddressList *list, gboolean groups_allowed)
{
  for (int i = 0; i < internet_address_list_length (list); i++)
    {
      InternetAddress *a = internet_address_list_get_address (list, i);
      if (INTERNET_ADDRESS_IS_GROUP (a))
        {
          if (!groups_allowed
              || !addresses_plausible (internet_address_group_get_members (INTERNET_ADDRESS_GROUP (a)),
                                       FALSE))
            return FALSE;
        }
      else if (INTERNET_ADDRESS_IS_MAILBOX (a))
        {
          const char *addr = internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (a));
          const char *at = addr ? strrchr (addr, '@') : NULL;
          if (!at || at == addr || !at[1])
            return FALSE;
        }
    }
  return TRUE;
}


/* Returns FALSE when the value is not a plausible address list. */
static gboolean
encode_addresses_utf8 (Ctx *ctx, GMimeHeaderList *out, const char *name, const char *decoded)
{
  g_autoptr (InternetAddressList) list = internet_address_list_parse (ctx->parser_options, decoded);
  if (!list || internet_address_list_length (list) == 0)
    return *decoded == '\0';
  gboolean groups_allowed = !(g_ascii_strcasecmp (name, "From") == 0
                              || g_ascii_strcasecmp (name, "Sender") == 0
                              || g_ascii_strcasecmp (name, "Resent-From") == 0
                              || g_ascii_strcasecmp (name, "Resent-Sender") == 0);
  if (!addresses_plausible (list, groups_allowed))
    return FALSE;
  for (int i = 0; i < internet_address_list_length (list); i++)
    {
      InternetAddress *a = internet_address_list_get_address (list, i);
      internet_address_set_charset (a, "utf-8");
      if (INTERNET_ADDRESS_IS_GROUP (a))
        {
          InternetAddressList *members = internet_address_group_get_members (INTERNET_ADDRESS_GROUP (a));
          for (int j = 0; j < internet_address_list_length (members); j++)
            internet_address_set_charset (internet_address_list_get_address (members, j), "utf-8");
        }
    }
  GMimeHeader *added = g_mime_header_list_get_header_at (out, g_mime_header_list_get_count (out) - 1);
  g_autofree char *value = internet_address_list_to_string (list, NULL, TRUE);
  g_autofree char *line = g_strdup_printf ("%s: %s", name, value);
  g_autofree char *folded = g_mime_utils_structured_header_fold (ctx->parser_options, NULL, line);
  if (!folded)
    return TRUE;
  const char *v = folded + strlen (name) + 1;
  g_autofree char *with_nl = g_str_has_suffix (v, "\n") ? g_strdup (v) : g_strconcat (v, "\n", NULL);
  g_mime_header_set_raw_value (added, with_nl);
  return TRUE;
}

static gboolean
has_8bit (const char *s)
{
  for (; *s; s++)
    if ((guchar) *s >= 0x80)
      return TRUE;
  return FALSE;
}

static void set_encoded_text (GMimeHeader *added, const char *name, const char *decoded);

/* GMime encodes unstructured text and display names, but writes other
 * structured fields (Received, unknown ones) as given.  Those that still
 * hold 8-bit text are written as RFC 2047 text.  Addresses and message
 * ids with UTF-8 in them are left as RFC 6532 allows: encoding them would
 * break their syntax. */
static void
ensure_7bit (GMimeHeaderList *out, const char *name, const char *decoded)
{
  GMimeHeader *added = g_mime_header_list_get_header_at (out, g_mime_header_list_get_count (out) - 1);
  const char *raw = g_mime_header_get_raw_value (added);
  if (!raw || !has_8bit (raw))
    return;
  static const char *const ids[] = { "message-id", "in-reply-to", "references",
                                     "resent-message-id", NULL };
  g_autofree char *lower = g_ascii_strdown (name, -1);
  if (mugai_header_is_address (name) || g_strv_contains (ids, lower))
    return;
  set_encoded_text (added, name, decoded);
}

/* The field written as RFC 2047 UTF-8 text, folded. */
static void
set_encoded_text (GMimeHeader *added, const char *name, const char *decoded)
{
  g_autofree char *encoded = g_mime_utils_header_encode_text (NULL, decoded, "utf-8");
  g_autofree char *line = g_strdup_printf ("%s: %s", name, encoded);
  g_autofree char *folded = g_mime_utils_unstructured_header_fold (NULL, NULL, line);
  const char *value = folded + strlen (name) + 1;
  g_autofree char *with_nl = g_str_has_suffix (value, "\n") ? g_strdup (value)
                                                             : g_strconcat (value, "\n", NULL);
  g_mime_header_set_raw_value (added, with_nl);
}

/* A raw value written back as it is: GMime's raw values end with their
 * line break, and one that does not would run the next field into this
 * one. */
static void
set_raw_value (GMimeHeader *added, const char *raw)
{
  if (g_str_has_suffix (raw, "\n"))
    g_mime_header_set_raw_value (added, raw);
  else
    {
      g_autofree char *with_nl = g_strconcat (raw, "\n", NULL);
      g_mime_header_set_raw_value (added, with_nl);
    }
}

/* GMime keeps a header value as a C string: a NUL octet in it ends the
 * value there and drops the line break (issue 11: "Subject: te\0st" came
 * out as "Subject: teMIME-Version: 1.0").  The field is read again from
 * the parsed octets at the header's offset, up to its real end, with each
 * NUL and other C0 control (but TAB and the folding) dropped.  NULL when
 * the octets there are not this field (an inner message parsed from a
 * decoded stream) or the value was not cut. */
static char *
reread_cut_value (Ctx *ctx, GMimeHeader *h, const char *name, const char *raw, gsize max)
{
  if (g_str_has_suffix (raw, "\n") || !ctx->input)
    return NULL;
  gint64 off = g_mime_header_get_offset (h);
  gsize name_len = strlen (name);
  if (off < 0 || (guint64) off + name_len + 1 > ctx->input_len)
    return NULL;
  const char *p = ctx->input + off;
  const char *end = ctx->input + ctx->input_len;
  if (g_ascii_strncasecmp (p, name, name_len) != 0)
    return NULL;
  p += name_len;
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  if (p >= end || *p != ':')
    return NULL;
  p++;
  GString *v = g_string_new (NULL);
  for (; p < end && v->len <= max; p++)
    {
      guchar c = (guchar) *p;
      if (c == '\n')
        {
          if (p + 1 < end && (p[1] == ' ' || p[1] == '\t'))
            {
              g_string_append_c (v, '\n');
              continue;
            }
          break;
        }
      if (c == '\r' || (c < 0x20 && c != '\t') || c == 0x7f)
        continue;
      g_string_append_c (v, (char) c);
    }
  g_string_append_c (v, '\n');
  return g_string_free (v, FALSE);
}

/* The charsets a message's own parts declare (text parts, and the
 * multiparts some clients label), in order, at most 8: the hints for raw
 * 8-bit header text, which mail clients read in the charset of the body
 * (issue 11: a GB2312 Subject beside a gb2312 body). */
static void
collect_charset_hints (GMimeObject *obj, GPtrArray *hints, guint depth)
{
  if (!obj || depth > 8 || hints->len >= 8)
    return;
  const char *cs = g_mime_object_get_content_type_parameter (obj, "charset");
  if (cs && *cs)
    {
      gboolean seen = FALSE;
      for (guint i = 0; i < hints->len && !seen; i++)
        seen = g_ascii_strcasecmp (hints->pdata[i], cs) == 0;
      if (!seen)
        g_ptr_array_add (hints, g_strdup (cs));
    }
  if (GMIME_IS_MULTIPART (obj))
    {
      GMimeMultipart *mp = GMIME_MULTIPART (obj);
      int n = g_mime_multipart_get_count (mp);
      for (int i = 0; i < n && i < 64; i++)
        collect_charset_hints (g_mime_multipart_get_part (mp, i), hints, depth + 1);
    }
}

static void
copy_headers (Ctx *ctx, GMimeMessage *src, GMimeMessage *dst, gboolean top)
{
  g_autoptr (GPtrArray) hint_list = g_ptr_array_new_with_free_func (g_free);
  collect_charset_hints (g_mime_message_get_mime_part (src), hint_list, 0);
  g_ptr_array_add (hint_list, NULL);
  const char *const *hints = (const char *const *) hint_list->pdata;
  const MugaiLimits *limits = &ctx->policy->limits;
  GMimeHeaderList *list = g_mime_object_get_header_list (GMIME_OBJECT (src));
  GMimeHeaderList *out = g_mime_object_get_header_list (GMIME_OBJECT (dst));
  int n = g_mime_header_list_get_count (list);

  for (int i = 0; i < n; i++)
    {
      GMimeHeader *h = g_mime_header_list_get_header_at (list, i);
      const char *name = g_mime_header_get_name (h);
      const char *raw = g_mime_header_get_raw_value (h);
      if (!name || !raw)
        continue;
      g_autofree char *reread = reread_cut_value (ctx, h, name, raw, limits->header_length + 1);
      if (reread)
        raw = reread;
      if ((guint) i >= limits->headers)
        {
          if (top)
            mugai_report_add_finding (ctx->report,
                                      mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, "",
                                                         "more than %u header fields; %d dropped",
                                                         limits->headers, n - i));
          break;
        }
      if (!header_name_is_valid (name))
        {
          /* RFC 5322 2.2: printable ASCII but ':'.  Broken folding makes
           * parsers see names like ":cc:content-type;" and such a line
           * ends the header block for others. */
          g_autofree char *safe = mugai_text_safe_display (name, 60);
          mugai_report_add_finding (ctx->report,
                                    mugai_finding_new (MUGAI_FINDING_MALFORMED, "",
                                                       "header with an invalid name dropped: %s",
                                                       safe));
          continue;
        }
      if (g_ascii_strncasecmp (name, "Content-", 8) == 0
          || g_ascii_strcasecmp (name, "MIME-Version") == 0)
        continue;
      if (g_ascii_strncasecmp (name, "X-Mugai-", 8) == 0)
        {
          g_autofree char *v = mugai_header_decode (raw, MUGAI_HEADER_TEXT);
          g_autofree char *safe = mugai_text_safe_display (v, 80);
          mugai_report_add_finding (ctx->report,
                                    mugai_finding_new (MUGAI_FINDING_FORGED_HEADER, "", "%s: %s",
                                                       name, safe));
          continue;
        }
      gboolean is_subject = g_ascii_strcasecmp (name, "Subject") == 0;
      gsize raw_len = strlen (raw);
      if (raw_len > limits->header_length && !is_subject)
        {
          mugai_report_add_finding (ctx->report,
                                    mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, "",
                                                       "header %s of %zu octets dropped", name,
                                                       raw_len));
          continue;
        }
      if (raw_len <= limits->header_length && header_raw_is_clean (name, raw))
        {
          g_mime_header_list_append (out, name, "", NULL);
          GMimeHeader *added = g_mime_header_list_get_header_at (
              out, g_mime_header_list_get_count (out) - 1);
          set_raw_value (added, raw);
          continue;
        }
      MugaiHeaderMode mode = mugai_header_is_address (name) ? MUGAI_HEADER_PHRASE
                                                            : MUGAI_HEADER_TEXT;
      g_autofree char *decoded = mugai_header_decode_hinted (raw, mode, hints);
      if (raw_len > limits->header_length)
        {
          truncate_utf8 (decoded, limits->header_length);
          mugai_report_add_finding (ctx->report,
                                    mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, "",
                                                       "header %s of %zu octets shortened", name,
                                                       raw_len));
        }
      g_strstrip (decoded);
      if (mode == MUGAI_HEADER_PHRASE)
        {
          /* Address fields are formatted by encode_addresses_utf8() alone:
           * handing GMime the decoded text would let its own parser decode
           * leftovers such as an encoded-word with an impossible charset
           * name, which GMime 3.2.13's encoder then trips over. */
          g_mime_header_list_append (out, name, "", NULL);
          if (encode_addresses_utf8 (ctx, out, name, decoded))
            continue;
        }
      else
        g_mime_object_append_header (GMIME_OBJECT (dst), name, decoded, "utf-8");
      if (mode == MUGAI_HEADER_PHRASE && raw_len <= limits->header_length
          && header_raw_is_ascii (name, raw))
        {
          /* Not an address list GMime can make sense of (a bare word, the
           * rest of a header block run together by a broken sender):
           * rewriting it would only invent structure.  The ASCII original
           * is written back as it came, and reported. */
          GMimeHeader *added = g_mime_header_list_get_header_at (
              out, g_mime_header_list_get_count (out) - 1);
          set_raw_value (added, raw);
          mugai_report_add_finding (ctx->report,
                                    mugai_finding_new (MUGAI_FINDING_MALFORMED, "",
                                                       "%s is not a valid address list; kept as it came",
                                                       name));
          continue;
        }
      if (mode == MUGAI_HEADER_PHRASE)
        {
          /* Not an address list, and not ASCII that could be written back
           * as it came: no 7-bit form of it would parse as addresses, so
           * the field goes (the original keeps it) and the report says so. */
          g_mime_header_list_remove_at (out, g_mime_header_list_get_count (out) - 1);
          g_autofree char *safe = mugai_text_safe_display (decoded, 80);
          mugai_report_add_finding (ctx->report,
                                    mugai_finding_new (MUGAI_FINDING_MALFORMED, "",
                                                       "%s is not a valid address list; removed: %s",
                                                       name, safe));
          continue;
        }
      ensure_7bit (out, name, decoded);
    }
}

static GMimeMessage *
rebuild_message (Ctx *ctx, Build *build, GMimeMessage *src, gboolean top, const char *quarantine_id)
{
  g_autoptr (GMimeMessage) dst = g_mime_message_new (FALSE);
  copy_headers (ctx, src, dst, top);

  g_autoptr (GString) text = g_string_new (NULL);
  g_autofree char *notice = NULL;
  if (build->items->len > 0)
    notice = mugai_notice_render (ctx->policy, build->items,
                                  top ? ctx->report->parts_omitted_removed : 0,
                                  quarantine_id);
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
  g_autoptr (GMimeObject) body = make_text_part (ctx->policy, text->str, NULL, &charset);
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

/* ---- entry point ---------------------------------------------------------- */

static void
finish_report (MugaiReport *report, gboolean reject, gboolean virus, MugaiOnVirus on_virus)
{
  for (guint i = 0; i < report->parts->len; i++)
    {
      const MugaiPartReport *p = report->parts->pdata[i];
      if (p->action == MUGAI_ACTION_REMOVE)
        report->removed++;
      else if (p->action == MUGAI_ACTION_TO_TEXT || p->action == MUGAI_ACTION_CONVERT)
        report->converted++;
    }
  report->removed += report->parts_omitted_removed;
  if (virus && on_virus != MUGAI_VIRUS_REJECT)
    {
      report->verdict = on_virus == MUGAI_VIRUS_HOLD ? MUGAI_VERDICT_HOLD : MUGAI_VERDICT_DISCARD;
      report->status = g_strdup (on_virus == MUGAI_VIRUS_HOLD ? "held" : "discarded");
    }
  else if (reject)
    {
      report->verdict = MUGAI_VERDICT_REJECT;
      report->status = g_strdup ("rejected");
    }
  else if (report->removed == 0 && report->converted == 0)
    {
      report->verdict = MUGAI_VERDICT_CLEAN;
      report->status = g_strdup ("clean");
    }
  else
    {
      report->verdict = MUGAI_VERDICT_SANITIZED;
      report->status = g_strdup_printf ("sanitized; removed=%u; converted=%u", report->removed,
                                        report->converted);
    }
}

static void
reject_whole (MugaiReport *report, MugaiFindingCategory category, const char *detail)
{
  MugaiFinding *f = mugai_finding_new (category, "", "%s", detail);
  mugai_report_add_finding (report, f);
}

/* The input is not NUL-terminated (an mmap of the spool in the milter):
 * only the len octets are looked at. */
static gboolean
only_blanks (const char *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r' && data[i] != '\n')
      return FALSE;
  return TRUE;
}

/* ---- bounds counted on the raw octets, before GMime ------------------- */

static gboolean
is_lwsp_nl (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2045 5.1 token characters: printable ASCII but space and tspecials. */
static gboolean
is_token_char (char c)
{
  return c > 0x20 && c < 0x7f && !strchr ("()<>@,;:\\\"/[]?=", c);
}

/* Reads the value of a "boundary" parameter whose name ends at data[i].
 * Returns FALSE when the name is not followed by '='.  Sets *exact to
 * FALSE when the value is written in a form GMime would decode into
 * something else than its octets (RFC 2231 "boundary*", RFC 2047
 * encoded-words, quoted-pairs, comments, folding inside quotes, 8-bit
 * octets), so that the caller falls back to a cruder bound. */
static gboolean
read_boundary (const char *data, gsize len, gsize i, char **value, gboolean *exact)
{
  while (i < len && is_lwsp_nl (data[i]))
    i++;
  if (i >= len)
    return FALSE;
  if (data[i] == '*' || data[i] == '(')
    {
      *exact = FALSE;
      return FALSE;
    }
  if (data[i] != '=')
    return FALSE;
  for (i++; i < len && is_lwsp_nl (data[i]); i++)
    ;
  gsize start = i, end = i;
  if (i < len && data[i] == '"')
    {
      start = ++i;
      while (i < len && data[i] != '"')
        {
          guchar c = (guchar) data[i];
          if (c < 0x21 || c > 0x7e || c == '\\')
            {
              *exact = FALSE;
              return FALSE;
            }
          i++;
        }
      if (i >= len)
        {
          *exact = FALSE;
          return FALSE;
        }
      end = i;
    }
  else
    {
      while (i < len && is_token_char (data[i]))
        i++;
      end = i;
      if (i < len && !is_lwsp_nl (data[i]) && data[i] != ';')
        {
          *exact = FALSE;
          return FALSE;
        }
    }
  if (end == start || g_strstr_len (data + start, (gssize) (end - start), "=?"))
    {
      *exact = FALSE;
      return FALSE;
    }
  *value = g_strndup (data + start, end - start);
  return TRUE;
}

/* "message" followed by blanks and '/', '(' or '"': where a content type
 * of an attached message may be written (counted generously). */
static gboolean
message_type_at (const char *data, gsize len, gsize i)
{
  if (i + 7 > len || g_ascii_strncasecmp (data + i, "message", 7) != 0)
    return FALSE;
  gsize j = i + 7;
  while (j < len && is_lwsp_nl (data[j]))
    j++;
  return j < len && (data[j] == '/' || data[j] == '(' || data[j] == '"');
}

typedef struct
{
  guint entities;    /* upper bound of the MIME entities GMime would build */
  guint top_headers; /* fields of the message's own header block */
  guint all_headers; /* upper bound of the fields of every header block */
} RawCounts;

/* Upper bounds of what GMime would build from the message, without
 * building it.
 *
 * Entities: GMime starts a multipart's child only at a line that is
 * exactly "--" and the boundary of an enclosing multipart (with an
 * end-of-line CR; gmime-parser.c check_boundary()), so children are at
 * most the lines "--VALUE" for the values of every "boundary=" anywhere in
 * the octets (a superset of the declared ones).  An attached message adds
 * its body, and needs a content type "message" followed by '/' (or a
 * comment or a quote).  When a boundary is written in a form GMime decodes
 * (see read_boundary), or more of them are declared than the bound allows
 * anyway, every line that begins with "--" counts as a delimiter.
 *
 * Header fields: GMime starts a field at each line of a header block that
 * does not begin with a blank; a block ends at the first empty line.
 * Blocks begin at the top, after each delimiter line, and after a block
 * that names a message type (the attached message's own header). */
static void
raw_counts (const char *data, gsize len, guint max_boundaries, RawCounts *out)
{
  g_autoptr (GHashTable) boundaries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GArray) message_at = g_array_new (FALSE, FALSE, sizeof (gsize));
  gboolean exact = TRUE;
  gsize longest = 0;
  for (gsize i = 0; i + 7 <= len; i++)
    {
      char c = data[i] | 0x20;
      if (c == 'b' && exact && i + 8 <= len && g_ascii_strncasecmp (data + i, "boundary", 8) == 0)
        {
          char *value = NULL;
          if (read_boundary (data, len, i + 8, &value, &exact))
            {
              longest = MAX (longest, strlen (value));
              g_hash_table_add (boundaries, value);
              if (g_hash_table_size (boundaries) > max_boundaries)
                exact = FALSE;
            }
        }
      else if (c == 'm' && message_type_at (data, len, i))
        g_array_append_val (message_at, i);
    }

  guint64 lines = 0, fields = 0, top = 0;
  gboolean in_header = TRUE, is_top = TRUE;
  gsize block_start = 0;
  guint next_message = 0; /* index into message_at */
  g_autofree char *key = g_malloc (longest + 1);
  for (gsize i = 0; i < len;)
    {
      const char *nl = memchr (data + i, '\n', len - i);
      gsize end = nl ? (gsize) (nl - data) : len;
      gsize l = end - i;
      if (in_header)
        {
          if (l == 0 || (l == 1 && data[i] == '\r'))
            {
              /* the block ends; an attached message's header follows
               * when the block named a message type */
              gboolean nested = FALSE;
              while (next_message < message_at->len
                     && g_array_index (message_at, gsize, next_message) < i)
                {
                  if (g_array_index (message_at, gsize, next_message) >= block_start)
                    nested = TRUE;
                  next_message++;
                }
              is_top = FALSE;
              in_header = nested;
              block_start = end + 1;
              i = end + 1;
              continue;
            }
          if (data[i] != ' ' && data[i] != '\t')
            {
              fields++;
              if (is_top)
                top++;
            }
        }
      if (l >= 2 && data[i] == '-' && data[i + 1] == '-')
        {
          gsize e = end;
          while (e > i + 2 && (data[e - 1] == '\r' || data[e - 1] == ' ' || data[e - 1] == '\t'))
            e--;
          gsize klen = e - (i + 2);
          gboolean delimiter = !exact;
          if (exact && klen <= longest)
            {
              memcpy (key, data + i + 2, klen);
              key[klen] = '\0';
              delimiter = g_hash_table_contains (boundaries, key);
            }
          if (delimiter)
            {
              /* a child's header block begins on the next line (a line
               * in a header block cannot be one for GMime, but counting
               * it only makes the bound larger) */
              lines++;
              in_header = TRUE;
              is_top = FALSE;
              block_start = end + 1;
            }
        }
      i = end + 1;
    }
  out->entities = (guint) MIN (1 + lines + 2 * (guint64) message_at->len, G_MAXUINT);
  out->all_headers = (guint) MIN (fields, G_MAXUINT);
  out->top_headers = (guint) MIN (top, G_MAXUINT);
}

/* A message past the header limits or the hard part bound is refused
 * before it is parsed (mugai-limits.h says why): TRUE, with the finding
 * in the report. */
static gboolean
raw_over_limit (MugaiReport *report, const MugaiLimits *limits, const char *data, gsize len,
                gboolean *head_within)
{
  guint hard = limits->parts * MUGAI_LIMIT_PARTS_HARD_FACTOR;
  RawCounts n;
  raw_counts (data, len, hard, &n);
  *head_within = n.top_headers <= limits->headers;
  if (!*head_within)
    {
      g_autofree char *d = g_strdup_printf ("more than %u header fields (%u)", limits->headers,
                                            n.top_headers);
      reject_whole (report, MUGAI_FINDING_OVER_LIMIT, d);
      return TRUE;
    }
  if (n.entities > hard)
    {
      g_autofree char *d = g_strdup_printf ("more than %u MIME parts (up to %u counted before parsing)",
                                            hard, n.entities);
      reject_whole (report, MUGAI_FINDING_OVER_LIMIT, d);
      report->parts_counted = n.entities;
      report->parts_limit = hard;
      return TRUE;
    }
  guint all = limits->headers * MUGAI_LIMIT_HEADERS_TOTAL_FACTOR;
  if (n.all_headers > all)
    {
      g_autofree char *d = g_strdup_printf (
          "more than %u header fields in all its parts (up to %u counted before parsing)", all,
          n.all_headers);
      reject_whole (report, MUGAI_FINDING_OVER_LIMIT, d);
      return TRUE;
    }
  return FALSE;
}

/* The octets of the top header block, its empty line included. */
static gsize
head_length (const char *data, gsize len)
{
  for (gsize i = 0; i < len;)
    {
      const char *nl = memchr (data + i, '\n', len - i);
      if (!nl)
        return len;
      gsize end = (gsize) (nl - data);
      if (end == i || (end == i + 1 && data[i] == '\r'))
        return end + 1;
      i = end + 1;
    }
  return len;
}

/* The report's Subject and Message-ID. */
static void
identify (MugaiReport *report, GMimeMessage *message, const MugaiPolicy *policy)
{
  GMimeHeader *subject = g_mime_header_list_get_header (
      g_mime_object_get_header_list (GMIME_OBJECT (message)), "Subject");
  if (subject && g_mime_header_get_raw_value (subject))
    {
      report->subject = mugai_header_decode (g_mime_header_get_raw_value (subject), MUGAI_HEADER_TEXT);
      truncate_utf8 (report->subject, policy->limits.header_length);
    }
  const char *msgid = g_mime_message_get_message_id (message);
  if (msgid)
    report->message_id = g_utf8_make_valid (msgid, MIN ((gssize) strlen (msgid), 998));
}

MugaiReport *
mugai_sanitize_refuse_oversize (const MugaiPolicy *policy, gsize size)
{
  MugaiReport *report = mugai_report_new ();
  g_autofree char *d = g_strdup_printf ("message of %zu octets is larger than %zu", size,
                                        policy->limits.message_size);
  reject_whole (report, MUGAI_FINDING_OVER_LIMIT, d);
  finish_report (report, TRUE, FALSE, MUGAI_VIRUS_REJECT);
  return report;
}

gboolean
mugai_sanitize (GBytes *input, const MugaiPolicy *policy, MugaiEngines *engines,
                const MugaiSanitizeOptions *options, GBytes **output, MugaiReport **report_out,
                GError **error)
{
  g_return_val_if_fail (input != NULL && policy != NULL && output != NULL && report_out != NULL,
                        FALSE);
  mugai_init ();

  g_autoptr (MugaiReport) report = mugai_report_new ();
  gsize len = 0;
  const char *data = g_bytes_get_data (input, &len);

  if (len > policy->limits.message_size)
    {
      *output = NULL;
      *report_out = mugai_sanitize_refuse_oversize (policy, len);
      return TRUE;
    }
  if (only_blanks (data, len))
    {
      reject_whole (report, MUGAI_FINDING_MALFORMED, "empty message");
      finish_report (report, TRUE, FALSE, MUGAI_VIRUS_REJECT);
      *output = NULL;
      *report_out = g_steal_pointer (&report);
      return TRUE;
    }

  /* A UTF-8 byte order mark before the first header (some Windows tools
   * write one) would make GMime read every header as body text. */
  if (len >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    data += 3, len -= 3;
  /* Old Mac mailers and some gateways end lines with a bare CR; GMime
   * knows only LF and CRLF and would read a whole header block as one
   * field (and Postfix passes such lines to the milter as they are).  A
   * CR not followed by LF is a line end: no encoded content (base64,
   * quoted-printable) holds one, and a binary part that does is removed
   * anyway. */
  g_autofree char *normalized = NULL;
  const char *cr = memchr (data, '\r', len);
  while (cr && cr + 1 < data + len && cr[1] == '\n')
    cr = memchr (cr + 2, '\r', (gsize) (data + len - cr - 2));
  if (cr)
    {
      normalized = g_malloc (len);
      for (gsize i = 0; i < len; i++)
        normalized[i] = (data[i] == '\r' && (i + 1 >= len || data[i + 1] != '\n')) ? '\n' : data[i];
      data = normalized;
    }

  g_autoptr (GMimeParserOptions) popts = g_mime_parser_options_new ();
  g_mime_parser_options_set_rfc2047_compliance_mode (popts, GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_parameter_compliance_mode (popts, GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_address_compliance_mode (popts, GMIME_RFC_COMPLIANCE_LOOSE);
  const char *fallback[] = { "UTF-8", "CP932", "EUC-JP", NULL };
  g_mime_parser_options_set_fallback_charsets (popts, fallback);

  gboolean head_within = FALSE;
  if (raw_over_limit (report, &policy->limits, data, len, &head_within))
    {
      /* Subject and Message-ID for the log, the audit and the store: from
       * the top header block alone, when that is within its limit */
      if (head_within)
        {
          gsize head = head_length (data, len);
          g_autoptr (GMimeStream) hs = g_mime_stream_mem_new_with_buffer (data, head);
          g_autoptr (GMimeParser) hp = g_mime_parser_new_with_stream (hs);
          g_mime_parser_set_format (hp, GMIME_FORMAT_MESSAGE);
          g_autoptr (GMimeMessage) hm = g_mime_parser_construct_message (hp, popts);
          if (hm)
            identify (report, hm, policy);
        }
      finish_report (report, TRUE, FALSE, MUGAI_VIRUS_REJECT);
      *output = NULL;
      *report_out = g_steal_pointer (&report);
      return TRUE;
    }

  g_autoptr (GMimeStream) stream = g_mime_stream_mem_new_with_buffer (data, len);
  g_autoptr (GMimeParser) parser = g_mime_parser_new_with_stream (stream);
  g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
  g_autoptr (GMimeMessage) message = g_mime_parser_construct_message (parser, popts);
  if (!message)
    {
      reject_whole (report, MUGAI_FINDING_MALFORMED, "not a mail message: no header found");
      finish_report (report, TRUE, FALSE, MUGAI_VIRUS_REJECT);
      *output = NULL;
      *report_out = g_steal_pointer (&report);
      return TRUE;
    }

  Ctx ctx = { .policy = policy,
              .engines = engines,
              .report = report,
              .parser_options = popts,
              .convert_deadline = options ? options->convert_deadline : 0,
              .input = data,
              .input_len = len };
  identify (report, message, policy);

  Build build;
  build_init (&build, NULL);
  /* The raw message first (what a client would be handed), then every
   * decoded leaf on its way through the walk. */
  if (!engines || !engines->scanner)
    mugai_report_add_finding (report,
                              mugai_finding_new (MUGAI_FINDING_NOT_INSPECTABLE, "",
                                                 "malware scan unavailable: %s",
                                                 engines && engines->no_scanner ? engines->no_scanner
                                                                                : "no engine"));
  MugaiScanResult raw_scan;
  g_autofree char *raw_sig = NULL;
  if (scan_run (&ctx, (const guint8 *) data, len, "message", &raw_scan, &raw_sig))
    scan_apply (&ctx, &build, NULL, raw_scan, raw_sig);
  if (!ctx.virus && !ctx.scan_error)
    walk_message_body (&ctx, &build, message, "", 1);
  if (ctx.scan_error)
    {
      g_propagate_error (error, g_steal_pointer (&ctx.scan_error));
      build_clear (&build);
      return FALSE;
    }

  g_autoptr (GMimeMessage) rebuilt = NULL;
  if (!ctx.reject)
    rebuilt = rebuild_message (&ctx, &build, message, TRUE,
                               options ? options->quarantine_id : NULL);
  build_clear (&build);
  finish_report (report, ctx.reject, ctx.virus, policy->on_virus);

  if (ctx.reject)
    {
      *output = NULL;
      *report_out = g_steal_pointer (&report);
      return TRUE;
    }

  g_mime_object_append_header (GMIME_OBJECT (rebuilt), "X-Mugai-Status", report->status, NULL);

  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GMimeStream) out_stream = g_mime_stream_mem_new_with_byte_array (out);
  g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (out_stream), FALSE);
  g_autoptr (GMimeFormatOptions) fmt = g_mime_format_options_new ();
  g_mime_format_options_set_newline_format (fmt, options && options->crlf
                                                     ? GMIME_NEWLINE_FORMAT_DOS
                                                     : GMIME_NEWLINE_FORMAT_UNIX);
  if (g_mime_object_write_to_stream (GMIME_OBJECT (rebuilt), fmt, out_stream) < 0)
    {
      g_set_error (error, MUGAI_SANITIZE_ERROR, MUGAI_SANITIZE_ERROR_INTERNAL,
                   "cannot serialise the sanitized message");
      return FALSE;
    }
  *output = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  *report_out = g_steal_pointer (&report);
  return TRUE;
}
