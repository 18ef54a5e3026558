/*
 * headers.c - the header rewrite
 *
 * SYNOPSIS
 *	mugai_core_copy_headers (ctx, src, dst, top);
 *	mugai_core_identify (report, message, policy);
 *
 * DESCRIPTION
 *	Every field of the original header is written again into the new
 *	message, or dropped and reported: fields past [limits] headers,
 *	invalid names (RFC 5322 2.2), the MIME fields (the new message has
 *	its own), forged X-Mugai-* fields, fields longer than [limits]
 *	header_length (Subject is shortened instead).  A clean ASCII field
 *	is written back as it came; any other is decoded (header.c) and
 *	re-encoded: addresses as UTF-8 address lists (or kept as they came,
 *	or removed, when they are not addresses), text as RFC 2047 UTF-8.
 *
 *	mugai_core_identify() reads the Subject and Message-ID the report
 *	names (for the log, the audit and the store).
 *
 * LIMITS
 *	[limits] headers and header_length; folded lines within RFC 5322's
 *	998 octets.
 *
 * DIAGNOSTICS
 *	What is dropped or changed is a finding in ctx->report.
 */
#include "sanitize-private.h"

#include <string.h>

#include "header.h"
#include "notice.h"

/* A raw header value that can be written back unchanged: printable
 * ASCII, folded lines within RFC 5322's 998, no blank continuation line. */
static gboolean
header_raw_is_ascii (const char *name, const char *raw)
{
  gsize line = strlen (name) + 1;
  for (const char *p = raw; *p; p++)
    {
      guchar c = (guchar)*p;
      if (c == '\n')
        {
          if (p[1] && p[1] != ' ' && p[1] != '\t')
            return FALSE;
          /* a continuation line of only blanks reads as the end of the
           * header block to many parsers: unfold instead */
          if (p[1]
              && (p[1 + strspn (p + 1, " \t")] == '\n' || p[1 + strspn (p + 1, " \t")] == '\r'))
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
  while (end > s && ((guchar)*end & 0xc0) == 0x80)
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
    if ((guchar)*p < 33 || (guchar)*p > 126 || *p == ':')
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
              || !addresses_plausible (
                  internet_address_group_get_members (INTERNET_ADDRESS_GROUP (a)), FALSE))
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
  gboolean groups_allowed
      = !(g_ascii_strcasecmp (name, "From") == 0 || g_ascii_strcasecmp (name, "Sender") == 0
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
          InternetAddressList *members
              = internet_address_group_get_members (INTERNET_ADDRESS_GROUP (a));
          for (int j = 0; j < internet_address_list_length (members); j++)
            internet_address_set_charset (internet_address_list_get_address (members, j), "utf-8");
        }
    }
  GMimeHeader *added
      = g_mime_header_list_get_header_at (out, g_mime_header_list_get_count (out) - 1);
  g_autofree char *value = internet_address_list_to_string (list, NULL, TRUE);
  g_autofree char *line = g_strdup_printf ("%s: %s", name, value);
  g_autofree char *folded = g_mime_utils_structured_header_fold (ctx->parser_options, NULL, line);
  if (!folded)
    return TRUE;
  const char *v = folded + strlen (name) + 1;
  g_autofree char *with_nl
      = g_str_has_suffix (v, "\n") ? g_strdup (v) : g_strconcat (v, "\n", NULL);
  g_mime_header_set_raw_value (added, with_nl);
  return TRUE;
}

static gboolean
has_8bit (const char *s)
{
  for (; *s; s++)
    if ((guchar)*s >= 0x80)
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
  GMimeHeader *added
      = g_mime_header_list_get_header_at (out, g_mime_header_list_get_count (out) - 1);
  const char *raw = g_mime_header_get_raw_value (added);
  if (!raw || !has_8bit (raw))
    return;
  static const char *const ids[]
      = { "message-id", "in-reply-to", "references", "resent-message-id", NULL };
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
  g_autofree char *with_nl
      = g_str_has_suffix (value, "\n") ? g_strdup (value) : g_strconcat (value, "\n", NULL);
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
  if (off < 0 || (guint64)off + name_len + 1 > ctx->input_len)
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
      guchar c = (guchar)*p;
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
      g_string_append_c (v, (char)c);
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

void
mugai_core_copy_headers (Ctx *ctx, GMimeMessage *src, GMimeMessage *dst, gboolean top)
{
  g_autoptr (GPtrArray) hint_list = g_ptr_array_new_with_free_func (g_free);
  collect_charset_hints (g_mime_message_get_mime_part (src), hint_list, 0);
  g_ptr_array_add (hint_list, NULL);
  const char *const *hints = (const char *const *)hint_list->pdata;
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
      if ((guint)i >= limits->headers)
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
          mugai_report_add_finding (
              ctx->report, mugai_finding_new (MUGAI_FINDING_MALFORMED, "",
                                              "header with an invalid name dropped: %s", safe));
          continue;
        }
      if (g_ascii_strncasecmp (name, "Content-", 8) == 0
          || g_ascii_strcasecmp (name, "MIME-Version") == 0)
        continue;
      if (g_ascii_strncasecmp (name, "X-Mugai-", 8) == 0)
        {
          g_autofree char *v = mugai_header_decode (raw, MUGAI_HEADER_TEXT);
          g_autofree char *safe = mugai_text_safe_display (v, 80);
          mugai_report_add_finding (ctx->report, mugai_finding_new (MUGAI_FINDING_FORGED_HEADER, "",
                                                                    "%s: %s", name, safe));
          continue;
        }
      gboolean is_subject = g_ascii_strcasecmp (name, "Subject") == 0;
      gsize raw_len = strlen (raw);
      if (raw_len > limits->header_length && !is_subject)
        {
          mugai_report_add_finding (
              ctx->report, mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, "",
                                              "header %s of %zu octets dropped", name, raw_len));
          continue;
        }
      if (raw_len <= limits->header_length && header_raw_is_clean (name, raw))
        {
          g_mime_header_list_append (out, name, "", NULL);
          GMimeHeader *added
              = g_mime_header_list_get_header_at (out, g_mime_header_list_get_count (out) - 1);
          set_raw_value (added, raw);
          continue;
        }
      MugaiHeaderMode mode
          = mugai_header_is_address (name) ? MUGAI_HEADER_PHRASE : MUGAI_HEADER_TEXT;
      g_autofree char *decoded = mugai_header_decode_hinted (raw, mode, hints);
      if (raw_len > limits->header_length)
        {
          truncate_utf8 (decoded, limits->header_length);
          mugai_report_add_finding (
              ctx->report, mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, "",
                                              "header %s of %zu octets shortened", name, raw_len));
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
          GMimeHeader *added
              = g_mime_header_list_get_header_at (out, g_mime_header_list_get_count (out) - 1);
          set_raw_value (added, raw);
          mugai_report_add_finding (
              ctx->report,
              mugai_finding_new (MUGAI_FINDING_MALFORMED, "",
                                 "%s is not a valid address list; kept as it came", name));
          continue;
        }
      if (mode == MUGAI_HEADER_PHRASE)
        {
          /* Not an address list, and not ASCII that could be written back
           * as it came: no 7-bit form of it would parse as addresses, so
           * the field goes (the original keeps it) and the report says so. */
          g_mime_header_list_remove_at (out, g_mime_header_list_get_count (out) - 1);
          g_autofree char *safe = mugai_text_safe_display (decoded, 80);
          mugai_report_add_finding (
              ctx->report,
              mugai_finding_new (MUGAI_FINDING_MALFORMED, "",
                                 "%s is not a valid address list; removed: %s", name, safe));
          continue;
        }
      ensure_7bit (out, name, decoded);
    }
}

/* The report's Subject and Message-ID. */
void
mugai_core_identify (MugaiReport *report, GMimeMessage *message, const MugaiPolicy *policy)
{
  GMimeHeader *subject = g_mime_header_list_get_header (
      g_mime_object_get_header_list (GMIME_OBJECT (message)), "Subject");
  if (subject && g_mime_header_get_raw_value (subject))
    {
      report->subject
          = mugai_header_decode (g_mime_header_get_raw_value (subject), MUGAI_HEADER_TEXT);
      truncate_utf8 (report->subject, policy->limits.header_length);
    }
  const char *msgid = g_mime_message_get_message_id (message);
  if (msgid)
    report->message_id = g_utf8_make_valid (msgid, MIN ((gssize)strlen (msgid), 998));
}
