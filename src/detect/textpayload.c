/*
 * textpayload.c - find uuencode, yEnc and BinHex payloads inside text
 *
 * NAME
 *	mugai_textpayload_find, mugai_payload_free, mugai_payload_kind_name
 *
 * SYNOPSIS
 *	#include "textpayload.h"
 *
 *	GPtrArray *mugai_textpayload_find (const char *data, gsize len,
 *	                                   guint max_items,
 *	                                   gboolean *over_limit);
 *
 * DESCRIPTION
 *	One forward pass over the lines of the decoded octets of a text part.
 *	A line is the octets up to a LF; CRs before the LF are not part of
 *	it, so CRLF and LF text give the same result.  NULs are ordinary
 *	octets.  Only the first octets of a line are compared with the
 *	markers, which is why the result does not depend on the charset of
 *	the surrounding text (every Japanese encoding starts a line in ASCII
 *	or in a lead octet that cannot be mistaken for a marker).
 *
 *	uuencode: "begin", blanks (SP, TAB), a mode of octal digits, blanks,
 *	a name; then data lines, then "end".  The header line alone makes a
 *	payload, whatever follows: decoders differ in what they accept
 *	(GNU uudecode decodes a data line whatever its length, and a block
 *	whose first line was judged malformed here was kept and turned back
 *	into the program), so prose such as "begin 644 people came" is cut
 *	too (fail closed; "begin the meeting" has no mode and stays).  Data
 *	lines may be shorter than their length character says (old encoders
 *	used SP for zero and transports strip trailing SP; the missing
 *	characters decode as zero) or longer (the rest is ignored, as GNU
 *	uudecode does).  After the data, zero-length lines ("`", " ", "")
 *	and blank lines may precede "end".  Any other line before "end"
 *	means the payload is not what it claims: it is incomplete and runs
 *	to the end of the data.
 *
 *	"begin-base64" mode name (GNU uuencode -m) is treated the same way
 *	and reported as MUGAI_PAYLOAD_UUENCODE: base64 lines, blank lines,
 *	then "====".
 *
 *	yEnc: "=ybegin " with " name=" in the line (yEnc 1.3: name is the
 *	last keyword, so the name is the rest of the line), an optional
 *	"=ypart " line directly after it, data lines, and a line starting
 *	with "=yend".  Since yEnc data is any 8-bit octet there is no
 *	malformed data line: everything up to "=yend" is the payload.
 *	Decoding follows yEnc 1.3: "=" escapes the next octet (minus 64),
 *	every octet is then minus 42, raw CR and LF are not data, and an
 *	escape at the end of a line is dropped.
 *
 *	BinHex 4.0 (RFC 1741): the line "(This file must be converted with
 *	BinHex 4.0)", then the first line that starts with ":" (decoders
 *	such as hexbin skip any text in between, so it is part of the
 *	payload), then BinHex characters and white space up to the closing
 *	":"; the payload ends after the line holding it.  An octet outside
 *	the BinHex alphabet before the closing ":" makes it incomplete.
 *	BinHex is not decoded as a file: decoded_size and sha256 are of the
 *	encoded characters between the colons with white space and line
 *	ends left out (so the value survives rewrapping and CRLF/LF
 *	conversion).  Only the start of the stream is decoded (6-bit, then
 *	the 0x90 run-length code) to read the Macintosh file name from the
 *	BinHex header; the name is "" when the block ends before it.
 *
 *	Names are the raw octets of the header line: cut at the first NUL,
 *	trailing SP, TAB, CR and LF removed, at most TEXTPAYLOAD_NAME_MAX
 *	octets (which may cut a multi-octet character; the caller decodes
 *	the charset and must cope).
 *
 * OWNERSHIP
 *	The returned array and every MugaiPayload in it (name and sha256
 *	included) belong to the caller; the array frees its elements.
 *	data is borrowed and not kept.
 *
 * LIMITS
 *	Time is linear in len: every line is looked at a bounded number of
 *	times (the BinHex search for the ":" line is cached, so many marker
 *	lines without a block do not rescan the rest).  Memory is the result
 *	plus a fixed buffer per payload on the stack; decoded octets go
 *	straight into SHA-256.  At most max_items payloads are returned (see
 *	textpayload.h); the caller passes MUGAI_LIMIT_INLINE_PAYLOADS.
 *
 * DIAGNOSTICS
 *	None at run time: malformed input gives incomplete payloads, never
 *	an error.  data == NULL with len > 0 and max_items == 0 are
 *	programmer errors (g_return_val_if_fail).
 *
 * BUGS
 *	Markers are only found at line starts, so a payload quoted with "> "
 *	is left in the text (uudecode would not decode it either).  BinHex
 *	data and resource forks are neither decoded nor CRC-checked.
 *	A payload that was ended early by max_items keeps complete = TRUE
 *	when its own end line was seen; over_limit says that it was
 *	extended.
 *
 * THREAD SAFETY
 *	Reentrant: no static mutable state.
 */
#include "textpayload.h"

#include <string.h>

/* A file name in a header line is free text of any length.  1024 octets is
 * four times NAME_MAX (255, the longest name most file systems keep) and
 * more than any notice can show; the bound keeps a hostile megabyte header
 * line from being copied into the report, the log and the notice. */
#define TEXTPAYLOAD_NAME_MAX 1024

#define BINHEX_MARKER "(This file must be converted with BinHex 4.0)"

/* RFC 1741 appendix: the 64 characters of BinHex 4.0, in value order. */
static const char binhex_alphabet[]
    = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";
G_STATIC_ASSERT (sizeof binhex_alphabet == 64 + 1);

typedef struct
{
  const char *s; /* first octet of the line */
  gsize n;       /* octets before the LF, trailing CRs not counted */
  gsize next;    /* offset of the next line, or len */
} Line;

typedef struct
{
  const char *data;
  gsize len;
  /* BinHex: there is no line starting with ':' in [colon_from, colon_at);
   * colon_at is such a line, or len.  Valid when colon_from <= colon_at. */
  gsize colon_from;
  gsize colon_at;
} Scanner;

typedef struct
{
  MugaiPayloadKind kind;
  gboolean base64; /* "begin-base64" */
  gsize name_off;  /* name: octets [name_off, name_off + name_len) */
  gsize name_len;
  gsize body; /* first line after the header; BinHex: the ':' line */
} Start;

/* Decoded octets pass through this buffer into SHA-256, so memory does not
 * grow with the payload. */
typedef struct
{
  GChecksum *sum;
  gsize size;
  gsize fill;
  guchar buf[4096];
} Sink;

static void
sink_flush (Sink *sink)
{
  if (sink->fill > 0)
    g_checksum_update (sink->sum, sink->buf, sink->fill);
  sink->fill = 0;
}

static inline void
sink_put (Sink *sink, guchar octet)
{
  sink->buf[sink->fill++] = octet;
  sink->size++;
  if (sink->fill == sizeof sink->buf)
    sink_flush (sink);
}

static void
line_get (const Scanner *sc, gsize off, Line *line)
{
  const char *nl = memchr (sc->data + off, '\n', sc->len - off);
  gsize end = nl ? (gsize)(nl - sc->data) : sc->len;

  line->next = nl ? end + 1 : sc->len;
  while (end > off && sc->data[end - 1] == '\r')
    end--;
  line->s = sc->data + off;
  line->n = end - off;
}

static gboolean
is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

/* Length of the line without trailing white space. */
static gsize
line_trimmed (const Line *line)
{
  gsize n = line->n;

  while (n > 0 && is_blank (line->s[n - 1]))
    n--;
  return n;
}

static gboolean
line_has_prefix (const Line *line, const char *prefix)
{
  gsize n = strlen (prefix);

  return line->n >= n && memcmp (line->s, prefix, n) == 0;
}

/* The whole line is word, give or take trailing white space. */
static gboolean
line_is_word (const Line *line, const char *word)
{
  gsize n = strlen (word);

  return line_trimmed (line) == n && memcmp (line->s, word, n) == 0;
}

/* The line starts with keyword followed by white space or nothing. */
static gboolean
line_is_keyword (const Line *line, const char *keyword)
{
  gsize n = strlen (keyword);

  return line_has_prefix (line, keyword) && (line->n == n || is_blank (line->s[n]));
}

static char *
name_dup (const char *s, gsize n)
{
  const char *nul = memchr (s, '\0', n);

  if (nul)
    n = (gsize)(nul - s);
  while (n > 0 && (is_blank (s[n - 1]) || s[n - 1] == '\n'))
    n--;
  return g_strndup (s, MIN (n, TEXTPAYLOAD_NAME_MAX));
}

/* uuencode --------------------------------------------------------------- */

static gboolean
uu_char (char c)
{
  return (guchar)c >= 0x20 && (guchar)c <= 0x60;
}

static guint
uu_value (char c)
{
  return ((guchar)c - 0x20) & 0x3f;
}

/* Whether line is a uuencode data line; *octets is the count its length
 * character announces (0 for an empty line or "`").  Every character
 * must be one of uuencode's; the count of them is not checked: a short
 * line decodes its missing characters as zero, and characters past the
 * announced count are ignored, as GNU uudecode ignores them. */
static gboolean
uu_line_check (const Line *line, guint *octets)
{
  *octets = 0;
  if (line->n == 0)
    return TRUE;
  for (gsize i = 0; i < line->n; i++)
    if (!uu_char (line->s[i]))
      return FALSE;
  *octets = uu_value (line->s[0]);
  return TRUE;
}

static void
uu_line_decode (const Line *line, guint octets, Sink *sink)
{
  const char *s = line->s + 1;
  gsize have = line->n - 1;
  guint done = 0;

  for (gsize i = 0; done < octets; i += 4)
    {
      guint32 v = 0;

      /* Characters lost at the end of a short line count as zero. */
      for (gsize k = 0; k < 4; k++)
        v = v << 6 | (i + k < have ? uu_value (s[i + k]) : 0);
      for (gint shift = 16; shift >= 0 && done < octets; shift -= 8, done++)
        sink_put (sink, (guchar)(v >> shift));
    }
}

static gsize
uu_body (const Scanner *sc, gsize off, Sink *sink, gboolean *complete)
{
  gboolean tail = FALSE;

  while (off < sc->len)
    {
      Line line;
      guint octets;

      line_get (sc, off, &line);
      if (line_is_word (&line, "end"))
        {
          *complete = TRUE;
          return line.next;
        }
      if (line_trimmed (&line) == 0 || (uu_line_check (&line, &octets) && octets == 0))
        tail = TRUE;
      else if (!tail && uu_line_check (&line, &octets))
        uu_line_decode (&line, octets, sink);
      else
        break;
      off = line.next;
    }
  /* Data after the file that is not "end": fail closed. */
  *complete = FALSE;
  return sc->len;
}

/* begin-base64 ----------------------------------------------------------- */

static gint
b64_value (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

static gboolean
b64_line_check (const Line *line, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (b64_value (line->s[i]) < 0 && line->s[i] != '=')
      return FALSE;
  return n > 0;
}

typedef struct
{
  guint32 bits;
  guint count;   /* sextets in bits */
  gboolean done; /* padding seen: the rest is not data */
} B64State;

static void
b64_decode (B64State *st, const char *s, gsize n, Sink *sink)
{
  for (gsize i = 0; i < n && !st->done; i++)
    {
      gint v = b64_value (s[i]);

      if (v < 0)
        {
          /* '=': flush the partial group (2 sextets give 1 octet, 3 give 2). */
          if (st->count >= 2)
            sink_put (sink, (guchar)(st->bits >> (st->count * 6 - 8)));
          if (st->count == 3)
            sink_put (sink, (guchar)(st->bits >> 2));
          st->done = TRUE;
          break;
        }
      st->bits = st->bits << 6 | (guint32)v;
      if (++st->count == 4)
        {
          sink_put (sink, (guchar)(st->bits >> 16));
          sink_put (sink, (guchar)(st->bits >> 8));
          sink_put (sink, (guchar)st->bits);
          st->bits = 0;
          st->count = 0;
        }
    }
}

static gsize
b64_body (const Scanner *sc, gsize off, Sink *sink, gboolean *complete)
{
  B64State st = { 0 };
  gboolean tail = FALSE;

  while (off < sc->len)
    {
      Line line;

      line_get (sc, off, &line);
      if (line_is_word (&line, "===="))
        {
          *complete = TRUE;
          return line.next;
        }

      gsize n = line_trimmed (&line);

      if (n == 0)
        tail = TRUE;
      else if (!tail && b64_line_check (&line, n))
        b64_decode (&st, line.s, n, sink);
      else
        break;
      off = line.next;
    }
  *complete = FALSE;
  return sc->len;
}

/* yEnc ------------------------------------------------------------------- */

static gsize
yenc_body (const Scanner *sc, gsize off, Sink *sink, gboolean *complete)
{
  gboolean first = TRUE;

  while (off < sc->len)
    {
      Line line;

      line_get (sc, off, &line);
      if (line_is_keyword (&line, "=yend"))
        {
          *complete = TRUE;
          return line.next;
        }
      if (!(first && line_is_keyword (&line, "=ypart")))
        {
          for (gsize i = 0; i < line.n; i++)
            {
              guchar c = (guchar)line.s[i];

              if (c == '\r')
                continue;
              if (c == '=')
                {
                  /* An escape cannot span lines (yEnc 1.3); drop it. */
                  if (++i == line.n)
                    break;
                  c = (guchar)(line.s[i] - 64);
                }
              sink_put (sink, (guchar)(c - 42));
            }
        }
      first = FALSE;
      off = line.next;
    }
  *complete = FALSE;
  return sc->len;
}

/* BinHex ----------------------------------------------------------------- */

/* Reads the file name from the start of the BinHex stream: 6-bit groups,
 * then the run-length code (0x90 n repeats the previous octet n - 1 more
 * times, 0x90 0x00 is a literal 0x90), then a length octet and the name. */
typedef struct
{
  guint32 bits;
  guint nbits;
  gboolean in_run; /* previous octet was 0x90 */
  guchar last;
  guint fill;         /* octets of header[] filled */
  guchar header[256]; /* length octet + at most 255 name octets */
} BinHexName;

static gboolean
binhex_name_done (const BinHexName *bn)
{
  return bn->fill > 0 && bn->fill >= 1u + bn->header[0];
}

static void
binhex_name_octet (BinHexName *bn, guchar octet)
{
  guint repeat = 1;
  guchar out = octet;

  if (bn->in_run)
    {
      bn->in_run = FALSE;
      if (octet == 0)
        out = 0x90;
      else
        {
          out = bn->last;
          repeat = octet - 1u;
        }
    }
  else if (octet == 0x90)
    {
      bn->in_run = TRUE;
      return;
    }
  bn->last = out;
  for (guint i = 0; i < repeat && !binhex_name_done (bn); i++)
    bn->header[bn->fill++] = out;
}

static void
binhex_name_char (BinHexName *bn, guint value)
{
  if (binhex_name_done (bn))
    return;
  bn->bits = (bn->bits << 6 | value) & 0xffffff;
  bn->nbits += 6;
  if (bn->nbits >= 8)
    {
      bn->nbits -= 8;
      binhex_name_octet (bn, (guchar)(bn->bits >> bn->nbits));
    }
}

/* First line at or after off that starts with ':', or len.  Remembered, so
 * that a text full of marker lines and no block is still read once. */
static gsize
binhex_colon_line (Scanner *sc, gsize off)
{
  if (sc->colon_from <= off && off <= sc->colon_at)
    return sc->colon_at;

  gsize at = off;

  while (at < sc->len && sc->data[at] != ':')
    {
      const char *nl = memchr (sc->data + at, '\n', sc->len - at);

      at = nl ? (gsize)(nl - sc->data) + 1 : sc->len;
    }
  sc->colon_from = off;
  sc->colon_at = at;
  return at;
}

static gsize
binhex_body (const Scanner *sc, gsize off, Sink *sink, gboolean *complete, char **name)
{
  BinHexName bn = { 0 };

  /* off is the opening ':'. */
  for (gsize i = off + 1; i < sc->len; i++)
    {
      char c = sc->data[i];
      const char *p;

      if (c == ':')
        {
          const char *nl = memchr (sc->data + i, '\n', sc->len - i);

          *complete = TRUE;
          if (binhex_name_done (&bn))
            *name = name_dup ((const char *)bn.header + 1, bn.header[0]);
          return nl ? (gsize)(nl - sc->data) + 1 : sc->len;
        }
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
        continue;
      p = memchr (binhex_alphabet, c, sizeof binhex_alphabet - 1);
      if (!p)
        break;
      sink_put (sink, (guchar)c);
      binhex_name_char (&bn, (guint)(p - binhex_alphabet));
    }
  *complete = FALSE;
  if (binhex_name_done (&bn))
    *name = name_dup ((const char *)bn.header + 1, bn.header[0]);
  return sc->len;
}

/* Finding and cutting ---------------------------------------------------- */

/* "begin" or "begin-base64", blanks, octal digits, blanks, a name: the
 * line alone makes a payload, whatever follows it (decoders differ in
 * what they accept after it; mugai must not be the one that looks away). */
static gboolean
uu_start (const Scanner *sc, const Line *line, Start *st)
{
  gsize i, digits = 0;

  if (line_has_prefix (line, "begin-base64") && line->n > 12 && is_blank (line->s[12]))
    {
      st->base64 = TRUE;
      i = 12;
    }
  else if (line_has_prefix (line, "begin") && line->n > 5 && is_blank (line->s[5]))
    {
      st->base64 = FALSE;
      i = 5;
    }
  else
    return FALSE;

  while (i < line->n && is_blank (line->s[i]))
    i++;
  while (i < line->n && line->s[i] >= '0' && line->s[i] <= '7')
    i++, digits++;
  if (digits == 0 || i >= line->n || !is_blank (line->s[i]))
    return FALSE;
  while (i < line->n && is_blank (line->s[i]))
    i++;
  if (i >= line->n)
    return FALSE;

  st->kind = MUGAI_PAYLOAD_UUENCODE;
  st->name_off = (gsize)(line->s - sc->data) + i;
  st->name_len = line->n - i;
  st->body = line->next;
  return TRUE;
}

static gboolean
yenc_start (const Scanner *sc, const Line *line, Start *st)
{
  static const char key[] = " name=";
  const gsize keylen = sizeof key - 1;

  if (!line_has_prefix (line, "=ybegin "))
    return FALSE;
  /* The space that ends "=ybegin" may be the one before "name=". */
  for (gsize i = strlen ("=ybegin"); i + keylen <= line->n; i++)
    if (memcmp (line->s + i, key, keylen) == 0)
      {
        st->kind = MUGAI_PAYLOAD_YENC;
        st->name_off = (gsize)(line->s - sc->data) + i + keylen;
        st->name_len = line->n - i - keylen;
        st->body = line->next;
        return TRUE;
      }
  return FALSE;
}

static gboolean
binhex_start (Scanner *sc, const Line *line, Start *st)
{
  if (!line_is_word (line, BINHEX_MARKER))
    return FALSE;
  st->kind = MUGAI_PAYLOAD_BINHEX;
  st->name_off = 0;
  st->name_len = 0;
  st->body = binhex_colon_line (sc, line->next);
  return st->body < sc->len;
}

static gboolean
detect_start (Scanner *sc, const Line *line, Start *st)
{
  if (line->n == 0)
    return FALSE;
  switch (line->s[0])
    {
    case 'b':
      return uu_start (sc, line, st);
    case '=':
      return yenc_start (sc, line, st);
    case '(':
      return binhex_start (sc, line, st);
    default:
      return FALSE;
    }
}

static MugaiPayload *
payload_cut (const Scanner *sc, gsize start, const Start *st)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *name = NULL;
  gboolean complete = FALSE;
  Sink sink = { .sum = sum };
  gsize end;

  switch (st->kind)
    {
    case MUGAI_PAYLOAD_UUENCODE:
      end = st->base64 ? b64_body (sc, st->body, &sink, &complete)
                       : uu_body (sc, st->body, &sink, &complete);
      break;
    case MUGAI_PAYLOAD_YENC:
      end = yenc_body (sc, st->body, &sink, &complete);
      break;
    case MUGAI_PAYLOAD_BINHEX:
    default:
      end = binhex_body (sc, st->body, &sink, &complete, &name);
      break;
    }
  sink_flush (&sink);

  MugaiPayload *payload = g_new0 (MugaiPayload, 1);

  payload->kind = st->kind;
  payload->start = start;
  payload->end = end;
  if (!name)
    name = name_dup (sc->data + st->name_off, st->name_len);
  payload->name = g_steal_pointer (&name);
  payload->decoded_size = sink.size;
  payload->sha256 = g_strdup (g_checksum_get_string (sum));
  payload->complete = complete;
  return payload;
}

GPtrArray *
mugai_textpayload_find (const char *data, gsize len, guint max_items, gboolean *over_limit)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (max_items > 0, NULL);

  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify)mugai_payload_free);
  Scanner sc = { .data = data, .len = len, .colon_from = 1, .colon_at = 0 };
  gboolean over = FALSE;
  gsize off = 0;

  while (off < len)
    {
      Line line;
      Start st;

      line_get (&sc, off, &line);
      if (!detect_start (&sc, &line, &st))
        {
          off = line.next;
          continue;
        }
      if (found->len == max_items)
        {
          /* One payload too many: the last one kept takes the rest of the
           * text with it, so nothing past the limit is passed through. */
          MugaiPayload *last = g_ptr_array_index (found, found->len - 1);

          last->end = len;
          over = TRUE;
          break;
        }

      MugaiPayload *payload = payload_cut (&sc, off, &st);

      off = payload->end;
      g_ptr_array_add (found, payload);
    }

  if (over_limit)
    *over_limit = over;
  return g_steal_pointer (&found);
}

void
mugai_payload_free (MugaiPayload *payload)
{
  if (!payload)
    return;
  g_free (payload->name);
  g_free (payload->sha256);
  g_free (payload);
}

const char *
mugai_payload_kind_name (MugaiPayloadKind kind)
{
  switch (kind)
    {
    case MUGAI_PAYLOAD_UUENCODE:
      return "uuencode";
    case MUGAI_PAYLOAD_YENC:
      return "yenc";
    case MUGAI_PAYLOAD_BINHEX:
      return "binhex";
    default:
      g_return_val_if_reached ("unknown");
    }
}
