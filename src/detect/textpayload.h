/*
 * textpayload.h - binary payloads hidden inside text parts
 *
 * DESCRIPTION
 *	Old but still working ways to carry a file inside a text body:
 *	uuencode ("begin 644 name" ... "end"), yEnc ("=ybegin ... name=..."
 *	... "=yend") and BinHex 4.0 ("(This file must be converted with
 *	BinHex 4.0)" then ":...:").  mugai_textpayload_find() scans octets
 *	and returns where each payload starts and ends, so the caller can
 *	cut it out and name it in the notice like an attachment.  The
 *	caller runs it twice: on the transfer-decoded octets of a text part
 *	(before any charset conversion, since yEnc is 8-bit), and again on
 *	the UTF-8 text the charset decoding gave (uuencode in UTF-16 text is
 *	found only there).  A "begin MODE NAME" line is a payload whatever
 *	follows it (see textpayload.c).
 *
 *	A payload runs from the first octet of its header line to the octet
 *	after the newline of its end line.  A payload whose end line is
 *	missing runs to the end of the data (complete = FALSE): fail closed,
 *	the rest of the text is not passed through.
 *
 *	Only line starts are examined, so the markers are found in UTF-8,
 *	Shift_JIS, EUC-JP and ISO-2022-JP text alike (lines start in ASCII).
 *
 * LIMITS
 *	At most max_items payloads are returned; when more exist the last one
 *	returned runs to the end of the data and *over_limit is set.  Decoding
 *	(for size and SHA-256) is streaming: memory does not grow with the
 *	payload beyond the size of the input.
 *
 * THREAD SAFETY
 *	Reentrant.
 */
#pragma once

#include <glib.h>

typedef enum
{
  MUGAI_PAYLOAD_UUENCODE,
  MUGAI_PAYLOAD_YENC,
  MUGAI_PAYLOAD_BINHEX
} MugaiPayloadKind;

typedef struct
{
  MugaiPayloadKind kind;
  gsize start; /* offset of the header line */
  gsize end;   /* offset after the end line (exclusive) */
  char *name;  /* owned: file name as raw octets from the header line, NUL-terminated; may be "" */
  gsize decoded_size; /* octets of the decoded file (BinHex: of the encoded block) */
  char *sha256;       /* owned: hex SHA-256 of the decoded file (BinHex: of the encoded block) */
  gboolean complete;  /* end line found */
} MugaiPayload;

void mugai_payload_free (MugaiPayload *payload);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MugaiPayload, mugai_payload_free)

/* Returns an owned array of MugaiPayload (free func set), sorted by start,
 * non-overlapping; empty when there is none. */
GPtrArray *mugai_textpayload_find (const char *data, gsize len, guint max_items,
                                   gboolean *over_limit);

const char *mugai_payload_kind_name (MugaiPayloadKind kind); /* "uuencode", "yenc", "binhex" */
