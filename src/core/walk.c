/*
 * walk.c - the MIME walk: containers, leaves and the decision per part
 *
 * SYNOPSIS
 *	mugai_core_walk_message_body (ctx, build, message, "", 1);
 *	mugai_core_decide (ctx, rec, build, category, detail);
 *
 * DESCRIPTION
 *	The tree is walked by mugai itself, with a depth and a part-count
 *	limit: past [limits] parts, parts and unused alternatives are
 *	counted, not listed.  Parts are numbered as IMAP does (RFC 3501
 *	6.4.5).  Every entity gets a MugaiPartReport.  A multipart/
 *	alternative shows one alternative (the policy's choice); the others
 *	are listed as unused.  An attached message is walked into a Build of
 *	its own and rebuilt (build.c), or shown inline.
 *
 *	A leaf is decoded within [limits] part_size, scanned (malware
 *	refuses the whole message first), looked at for what it really is
 *	(content.c), for names that lie and for dangerous types, and then
 *	kept as text (textpart.c), converted or removed.
 *
 *	mugai_core_decide() is where every finding of the walk goes: it is
 *	recorded in the report, the policy (policy.c) turns it into an
 *	action, and the action is applied to the part's record (and the part
 *	listed in the notice of every message that holds it).
 *
 * OWNERSHIP
 *	Part records belong to ctx->report; what is made for the output
 *	goes to the Build of the message being walked.
 *
 * LIMITS
 *	policy->limits: depth, parts, part_size, header_length (a file name
 *	longer than that is not read).  holds_html() looks four levels down.
 *
 * ERRORS
 *	A scan or a filter that could not run sets ctx->scan_error; the walk
 *	then stops adding to the message (it will be tempfailed).
 */
#include "sanitize-private.h"

#include <string.h>

#include "charset.h"
#include "filetype.h"
#include "header.h"

static char *
child_path (const char *prefix, guint index)
{
  return *prefix ? g_strdup_printf ("%s.%u", prefix, index) : g_strdup_printf ("%u", index);
}

/* Records a finding, lets the policy decide, and applies the decision to
 * the part record.  Returns the action. */
MugaiAction
mugai_core_decide (Ctx *ctx, MugaiPartReport *rec, Build *build, MugaiFindingCategory category,
                   const char *detail)
{
  MugaiFinding *finding = mugai_finding_new (category, rec->path, "%s", detail ? detail : "");
  MugaiAction action = mugai_policy_action (ctx->policy, finding);
  mugai_report_add_finding (ctx->report, finding);

  rec->action = action;
  rec->reason = (int)category;
  if (detail && *detail && !rec->detail)
    rec->detail = g_strdup (detail);
  if (action == MUGAI_ACTION_REJECT)
    ctx->reject = TRUE;
  if (action == MUGAI_ACTION_REMOVE || action == MUGAI_ACTION_TO_TEXT
      || action == MUGAI_ACTION_CONVERT || action == MUGAI_ACTION_REJECT)
    mugai_core_build_add_item (build, rec);
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
  if (raw_len > 0 && (guint64)raw_len / 4 > limit)
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

static void
fill_content_facts (Ctx *ctx, MugaiPartReport *rec, const GByteArray *bytes)
{
  rec->size = bytes->len;
  rec->sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, bytes->data, bytes->len);
  rec->detected_type = mugai_core_detect_type (ctx->engines, bytes->data, bytes->len);
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
      = { "message/delivery-status",        "message/disposition-notification",
          "message/feedback-report",        "text/rfc822-headers",
          "message/global-delivery-status", "message/global-disposition-notification",
          "message/global-headers",         NULL };
  static const char *const signature_types[]
      = { "application/pgp-signature", "application/pkcs7-signature",
          "application/x-pkcs7-signature", NULL };
  static const char *const tnef_types[] = { "application/ms-tnef", "application/vnd.ms-tnef",
                                            "message/partial", "message/external-body", NULL };

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
  if (g_str_equal (type, "application/pkcs7-mime")
      || g_str_equal (type, "application/x-pkcs7-mime"))
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

static void
append_detail (MugaiPartReport *rec, const char *text, gboolean ja)
{
  if (!rec->detail)
    rec->detail = g_strdup (text);
  else
    {
      char *d = g_strconcat (rec->detail, MUGAI_W (ja, "; "), text, NULL);
      g_free (rec->detail);
      rec->detail = d;
    }
}

static gboolean
known_transfer_encoding (GMimeObject *obj)
{
  static const char *const known[]
      = { "7bit",       "8bit",     "binary", "base64", "quoted-printable",
          "x-uuencode", "uuencode", "x-uue",  NULL };
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
  g_autoptr (GByteArray) bytes
      = decoded_content (GMIME_PART (obj), ctx->policy->limits.part_size, &over);
  if (over)
    {
      g_autofree char *d = g_strdup_printf (
          MUGAI_W (ctx->policy->language == MUGAI_LANG_JA, "part larger than %zu octets"),
          ctx->policy->limits.part_size);
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_OVER_LIMIT, d);
      return;
    }
  fill_content_facts (ctx, rec, bytes);
  /* Malware first: it refuses the whole message whatever else the part
   * is.  Other alerts are decided after the name checks, which say more. */
  MugaiScanResult scan = MUGAI_SCAN_CLEAN;
  g_autofree char *sig = NULL;
  mugai_core_scan_run (ctx, bytes->data, bytes->len, rec->path, &scan, &sig);
  if (ctx->scan_error)
    return;
  if ((scan == MUGAI_SCAN_VIRUS || scan == MUGAI_SCAN_PHISHING)
      && mugai_core_scan_apply (ctx, build, rec, scan, sig))
    return;

  /* what the content is (named in the notice whatever happens next) */
  MugaiDocFlags docflags = 0;
  g_autofree char *mismatch = NULL;
  g_autoptr (MugaiArchiveListing) listing = NULL;
  MugaiDocKind kind = MUGAI_DOC_UNKNOWN;
  if (cls == LEAF_OTHER)
    listing = mugai_core_describe_content (ctx, rec, bytes, &docflags, &mismatch, &kind);

  const char *binary_detail
      = MUGAI_W (ctx->policy->language == MUGAI_LANG_JA, "declared as text but holds binary data");
  gboolean textual
      = cls == LEAF_TEXT || cls == LEAF_HTML || cls == LEAF_ENRICHED || cls == LEAF_STATUS_TEXT;
  if (textual && !known_transfer_encoding (obj))
    {
      /* RFC 2045 6.4: an unknown encoding makes the part opaque data */
      mugai_core_decide (
          ctx, rec, build, MUGAI_FINDING_BANNED_TYPE,
          MUGAI_W (ctx->policy->language == MUGAI_LANG_JA, "unknown transfer encoding"));
      return;
    }
  if ((cls == LEAF_HTML || cls == LEAF_ENRICHED)
      && mugai_charset_looks_binary ((const char *)bytes->data, bytes->len))
    {
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, binary_detail);
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
          mugai_core_decide (ctx, rec, build, MUGAI_FINDING_NAME_TRICK, ja ? dja : den);
          if (mismatch)
            append_detail (rec, mismatch, ja);
          return;
        }
    }
  if (cls == LEAF_OTHER && mugai_core_decide_document (ctx, build, rec, docflags, listing))
    {
      if (mismatch)
        append_detail (rec, mismatch, ja);
      return;
    }
  if (mugai_core_scan_apply (ctx, build, rec, scan, sig))
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
      MugaiDangerKind danger
          = mugai_filetype_danger (bytes->data, bytes->len, rec->filename, &lja, &len_);
      if (danger != MUGAI_KIND_OTHER)
        {
          g_autofree char *d
              = g_strdup_printf (MUGAI_W (ja, "dangerous file type: %s"), ja ? lja : len_);
          mugai_core_decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, d);
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
        g_autofree char *text = mugai_core_read_text (ctx, build, rec, obj, bytes, &binary);
        if (binary)
          {
            mugai_core_decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, binary_detail);
            return;
          }
        if (!attachment && cls == LEAF_TEXT)
          {
            rec->kind = "body";
            mugai_core_build_append_body (build, text);
          }
        else
          {
            g_autofree char *fallback = g_strdup_printf (
                "%s.txt", cls == LEAF_STATUS_TEXT ? strchr (rec->declared_type, '/') + 1 : "text");
            mugai_core_add_text_attachment (ctx, build, rec, text, fallback);
          }
        return;
      }
    case LEAF_HTML:
    case LEAF_ENRICHED:
      {
        g_autofree char *detail = NULL;
        gboolean over_budget = FALSE;
        g_autofree char *text = mugai_core_read_html (ctx, rec, obj, bytes, cls == LEAF_ENRICHED,
                                                      &detail, &over_budget);
        if (!text)
          {
            mugai_core_decide (ctx, rec, build,
                               over_budget ? MUGAI_FINDING_OVER_LIMIT : MUGAI_FINDING_MALFORMED,
                               detail);
            return;
          }
        /* uuencode in a <pre> (or anywhere the page shows text) comes out
         * of the rendering as it would in text/plain: cut it the same way */
        gboolean over_payloads = FALSE;
        text = mugai_core_cut_decoded_payloads (ctx, build, rec, g_steal_pointer (&text), 0,
                                                &over_payloads);
        if (over_payloads)
          mugai_report_add_finding (ctx->report,
                                    mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, rec->path,
                                                       "more than %u inline payloads",
                                                       ctx->policy->limits.inline_payloads));
        mugai_core_decide (ctx, rec, build, MUGAI_FINDING_ACTIVE_CONTENT, detail);
        if (!attachment)
          {
            rec->kind = "body";
            mugai_core_build_append_body (build, text);
          }
        else
          mugai_core_add_text_attachment (
              ctx, build, rec, text, cls == LEAF_HTML ? "attachment.html.txt" : "attachment.txt");
        return;
      }
    case LEAF_SIGNATURE:
      rec->kind = "signature";
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_SIGNATURE, NULL);
      return;
    case LEAF_ENCRYPTED:
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_ENCRYPTED, NULL);
      return;
    case LEAF_NOT_INSPECTABLE:
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_NOT_INSPECTABLE, NULL);
      return;
    case LEAF_OTHER:
      /* a part that lies about its type is not converted: the filter
       * for what it claims to be is not the one for what it is */
      if (!mismatch && mugai_core_convert_part (ctx, build, rec, bytes, kind))
        return;
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_BANNED_TYPE, mismatch);
      return;
    }
}

/* ---- containers --------------------------------------------------------- */

static void walk_entity (Ctx *ctx, Build *build, GMimeObject *obj, const char *path,
                         const char *child_prefix, guint depth, gboolean top);
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
  const char *subtype
      = g_mime_content_type_get_media_subtype (g_mime_object_get_content_type (GMIME_OBJECT (mp)));
  int n = g_mime_multipart_get_count (mp);

  if (GMIME_IS_MULTIPART_ENCRYPTED (mp)
      || (subtype && g_ascii_strcasecmp (subtype, "encrypted") == 0))
    {
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_ENCRYPTED, NULL);
      return;
    }

  int chosen = -1;
  if (subtype && g_ascii_strcasecmp (subtype, "alternative") == 0 && n > 0)
    chosen = choose_alternative (mp, ctx->policy->alternative);
  gboolean is_signed = GMIME_IS_MULTIPART_SIGNED (mp) && n == 2;

  for (int i = 0; i < n; i++)
    {
      GMimeObject *child = g_mime_multipart_get_part (mp, i);
      g_autofree char *path = child_path (child_prefix, (guint)i + 1);
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
          mugai_core_decide (ctx, sig, build, MUGAI_FINDING_SIGNATURE, NULL);
          continue;
        }
      walk_entity (ctx, build, child, path, path, depth + 1, FALSE);
    }
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
  g_autofree char *d
      = g_strdup_printf (MUGAI_W (ctx->policy->language == MUGAI_LANG_JA,
                                  "more than %u MIME parts; this and later parts removed"),
                         limits->parts);
  mugai_core_decide (ctx, rec, build, MUGAI_FINDING_OVER_LIMIT, d);
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
      g_autofree char *d = g_strdup_printf (
          MUGAI_W (ctx->policy->language == MUGAI_LANG_JA,
                   "MIME nesting deeper than %u; this part and all inside removed"),
          limits->depth);
      mugai_core_decide (ctx, rec, build, MUGAI_FINDING_OVER_LIMIT, d);
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
          mugai_core_decide (
              ctx, rec, build, MUGAI_FINDING_MALFORMED,
              MUGAI_W (ctx->policy->language == MUGAI_LANG_JA, "attached message is empty"));
          return;
        }
      Build inner_build;
      mugai_core_build_init (&inner_build, build);
      mugai_core_walk_message_body (ctx, &inner_build, inner, path, depth + 1);
      if (ctx->policy->rfc822 == MUGAI_RFC822_INLINE)
        mugai_core_append_inline_message (ctx, build, inner, &inner_build);
      else
        {
          g_autoptr (GMimeMessage) rebuilt
              = mugai_core_rebuild_message (ctx, &inner_build, inner, FALSE, NULL);
          g_autoptr (GMimeMessagePart) mp
              = g_mime_message_part_new_with_message ("rfc822", rebuilt);
          g_ptr_array_add (build->attachments, g_steal_pointer (&mp));
        }
      mugai_core_build_clear (&inner_build);
      return;
    }

  if (GMIME_IS_PART (obj))
    {
      walk_leaf (ctx, build, obj, path, top);
      return;
    }

  MugaiPartReport *rec = mugai_report_add_part (ctx->report, path, "attachment");
  rec->declared_type = mime_type_of (obj);
  mugai_core_decide (ctx, rec, build, MUGAI_FINDING_MALFORMED,
                     MUGAI_W (ctx->policy->language == MUGAI_LANG_JA, "unknown MIME entity"));
}

/* IMAP numbering (RFC 3501 6.4.5): a message's single body is prefix.1
 * ("1" at the top); the children of its multipart body are prefix.1,
 * prefix.2...  The multipart itself is recorded as prefix.0 ("0"). */
void
mugai_core_walk_message_body (Ctx *ctx, Build *build, GMimeMessage *msg, const char *prefix,
                              guint depth)
{
  GMimeObject *body = g_mime_message_get_mime_part (msg);
  if (!body)
    return;
  g_autofree char *own
      = GMIME_IS_MULTIPART (body) ? child_path (prefix, 0) : child_path (prefix, 1);
  walk_entity (ctx, build, body, own, prefix, depth, TRUE);
}
