/*
 * header.h - header text to UTF-8: RFC 2047, RFC 2231, raw 8-bit
 *
 * DESCRIPTION
 *	Japanese mail breaks naive header decoders in four ways, all handled
 *	here: encoded-words in ISO-2022-JP carrying CP50220 extension
 *	characters; a multi-byte character split between two adjacent
 *	encoded-words; raw 8-bit Shift_JIS, EUC-JP or UTF-8 with no
 *	encoded-word at all; encoded-words inside a quoted parameter value
 *	(Outlook's filename="=?ISO-2022-JP?B?...?=").  GMime 3.2.13 decodes
 *	encoded-words through iconv's strict ISO-2022-JP and garbles the
 *	first case, so the decoding of encoded-words is done here and the
 *	octets go through charset.c.  Encoding on output is left to GMime.
 *
 *	mugai_header_decode() returns UTF-8 for a raw (possibly folded)
 *	header value; NUL octets (raw or encoded) are dropped.  In MUGAI_HEADER_TEXT mode (Subject
 *and other unstructured fields) the result is display text: line breaks and other C0 controls
 *become spaces.  In MUGAI_HEADER_PHRASE mode (address fields) decoded words that contain RFC 5322
 *specials are quoted, so that the result still parses as the same list of addresses:
 *"=?UTF-8?Q?a=2C_b?= <x@y>" must stay one mailbox, not become two (a display-name spoofing trick).
 *
 *	mugai_header_param() extracts one parameter of a Content-Type or
 *	Content-Disposition value and decodes it: RFC 2231 extended values
 *	and continuations (filename*0*=...), quoted or bare values, raw
 *	8-bit, and encoded-words inside quotes.
 *
 * LIMITS
 *	The caller bounds the header length (MUGAI_LIMIT_HEADER_LENGTH);
 *	at most 64 RFC 2231 continuation sections are joined.
 *
 * THREAD SAFETY
 *	Reentrant.
 */
#pragma once

#include <glib.h>

typedef enum
{
  MUGAI_HEADER_TEXT,
  MUGAI_HEADER_PHRASE
} MugaiHeaderMode;

char *mugai_header_decode (const char *raw, MugaiHeaderMode mode);

/* The same, with charset hints for raw 8-bit text and encoded-words whose
 * charset does not fit (see mugai_charset_decode_hinted(): the charsets
 * the message's own text parts declare).  hints: NULL-terminated, or NULL. */
char *mugai_header_decode_hinted (const char *raw, MugaiHeaderMode mode, const char *const *hints);

/* Returns the decoded value (owned UTF-8) or NULL when absent. */
char *mugai_header_param (const char *raw, const char *name);

/* TRUE for fields that hold address lists (From, To, Cc, Reply-To...). */
gboolean mugai_header_is_address (const char *name);
