/*
 * sanitize.c - the sanitization core: its entry point
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
 *	   every client shows).  Both are here.
 *	2. Walk the MIME tree ourselves with a depth and a part-count limit
 *	   (past it, parts and unused alternatives are counted, not listed).
 *	   Each entity gets a MugaiPartReport; detectors add findings; the
 *	   policy turns each finding into an action (walk.c; what a leaf
 *	   really is, content.c).
 *	3. Text is decoded to UTF-8 (charset.c), inline payloads cut out
 *	   (textpayload.c), HTML and enriched text rendered (html.c) within
 *	   [limits] html_size, html_attributes and html_time (and the
 *	   message's deadline): past them the part is removed as over-limit
 *	   (textpart.c).
 *	4. A new message is built from the results only: headers re-written
 *	   (headers.c: header.c decodes, GMime re-encodes), one text/plain
 *	   body with the notice, text/plain attachments, sanitized
 *	   message/rfc822 parts (build.c).  No original MIME entity is copied
 *	   into the output.
 *	5. The verdict: clean, sanitized, rejected, held or discarded.
 *
 *	The engines (libmagic, ClamAV, the filter slots) are engines.c's;
 *	what the files share is in sanitize-private.h.
 *
 * OWNERSHIP
 *	One Ctx per call owns everything about the message; it lives on the
 *	stack of mugai_sanitize() and is cleared in one place.
 *
 * LIMITS
 *	All from policy->limits (mugai-limits.h); the ones counted on the raw
 *	octets are MUGAI_LIMIT_PARTS_HARD_FACTOR and
 *	MUGAI_LIMIT_HEADERS_TOTAL_FACTOR.
 *
 * DIAGNOSTICS
 *	Nothing is logged here: findings go to the report, internal
 *	failures to the GError.
 *
 * THREAD SAFETY
 *	Reentrant, given one MugaiEngines per thread.
 */
#include "sanitize-private.h"

#include <string.h>

#include "mugai-limits.h"

/* The quark name is a string, not a subtraction. */
/* clang-format off */
G_DEFINE_QUARK (mugai-sanitize-error-quark, mugai_sanitize_error)
/* clang-format on */

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
  /* Lines ended both ways in one message (a part written with LF pasted
   * into a CRLF message): before a boundary GMime then takes one octet
   * too many for the CR it expects, and the last octet of a base64 or
   * quoted-printable line is lost.  Every bare LF becomes CRLF. */
  g_autofree char *mixed = NULL;
  if (memmem (data, len, "\r\n", 2))
    {
      gsize bare = 0;
      for (gsize i = 0; i < len; i++)
        bare += data[i] == '\n' && (i == 0 || data[i - 1] != '\r');
      if (bare > 0)
        {
          mixed = g_malloc (len + bare);
          gsize o = 0;
          for (gsize i = 0; i < len; i++)
            {
              if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
                mixed[o++] = '\r';
              mixed[o++] = data[i];
            }
          data = mixed;
          len = o;
        }
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
            mugai_core_identify (report, hm, policy);
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
  mugai_core_identify (report, message, policy);

  Build build;
  mugai_core_build_init (&build, NULL);
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
  if (mugai_core_scan_run (&ctx, (const guint8 *) data, len, "message", &raw_scan, &raw_sig))
    mugai_core_scan_apply (&ctx, &build, NULL, raw_scan, raw_sig);
  if (!ctx.virus && !ctx.scan_error)
    mugai_core_walk_message_body (&ctx, &build, message, "", 1);
  if (ctx.scan_error)
    {
      g_propagate_error (error, g_steal_pointer (&ctx.scan_error));
      mugai_core_build_clear (&build);
      return FALSE;
    }

  g_autoptr (GMimeMessage) rebuilt = NULL;
  if (!ctx.reject)
    rebuilt = mugai_core_rebuild_message (&ctx, &build, message, TRUE,
                               options ? options->quarantine_id : NULL);
  mugai_core_build_clear (&build);
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

