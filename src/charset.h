/*
 * charset.h - decode Japanese (and other) text to UTF-8 without mojibake
 *
 * DESCRIPTION
 *	mugai_charset_decode() turns the octets of a text part or a header
 *	into UTF-8.  The declared charset is checked, not trusted: when the
 *	octets are not valid in it (or it names none), mugai falls back among
 *	ISO-2022-JP, UTF-8, CP932 (Shift_JIS) and EUC-JP and picks the one the
 *	octets are valid in, scoring Japanese plausibility when more than one
 *	fits.  The charset used is returned for the report.
 *
 *	ISO-2022-JP is decoded by our own state machine rather than iconv:
 *	real ISO-2022-JP mail (Outlook, Becky!, many web mailers) carries
 *	the NEC and IBM extension characters of CP50220/CP932 (①, ㈱, ～),
 *	which glibc's strict ISO-2022-JP converter rejects, and GMime 3.2.13
 *	then produces mojibake for the whole word (seen with "①テスト").
 *	JIS X 0208 pairs are mapped to Shift_JIS arithmetically and decoded
 *	as CP932, JIS X 0212 via EUC-JP-MS, JIS X 0213 via EUC-JISX0213.
 *
 * LIMITS
 *	Linear in the input; output at most about 3 times the input.
 *
 * THREAD SAFETY
 *	Reentrant (iconv descriptors are opened per call by GLib).
 */
#pragma once

#include <glib.h>

typedef enum
{
  MUGAI_CHARSET_DECLARED, /* the declared charset fitted */
  MUGAI_CHARSET_FALLBACK, /* declared one absent or wrong; another fitted */
  MUGAI_CHARSET_LOSSY     /* nothing fitted; invalid octets became U+FFFD */
} MugaiCharsetQuality;

/* Decodes data (len octets, NULs allowed) to UTF-8.  declared may be NULL.
 * Always returns valid, NUL-terminated UTF-8 (owned); *used receives the
 * canonical lower-case name of the charset used (owned), e.g.
 * "iso-2022-jp", "shift_jis", "euc-jp", "utf-8", "us-ascii",
 * "iso-8859-1". */
char *mugai_charset_decode (const char *data, gsize len, const char *declared, char **used,
                            MugaiCharsetQuality *quality);

/* The same, with hints: charsets the message declares elsewhere (its text
 * parts), tried first for 8-bit text that is not UTF-8 and does not fit
 * the declared charset, as mail clients do for raw 8-bit headers.  hints
 * is NULL-terminated, or NULL. */
char *mugai_charset_decode_hinted (const char *data, gsize len, const char *declared,
                                   const char *const *hints, char **used,
                                   MugaiCharsetQuality *quality);

/* Strict conversion to UTF-8 in one named charset; NULL when the octets
 * are not valid in it or the charset is unknown. */
char *mugai_charset_convert_strict (const char *data, gsize len, const char *charset,
                                    gsize *out_len);

/* The canonical name mugai uses for a declared charset name (owned):
 * aliases of the Japanese charsets folded, others lower-cased. */
char *mugai_charset_canonical (const char *declared);

/* UTF-8 to ISO-2022-JP (RFC 1468).  NULL when a character cannot be
 * written in it (emoji, ①...): the caller then keeps UTF-8. */
char *mugai_charset_to_iso2022jp (const char *utf8, gsize len, gsize *out_len);

/* TRUE when the octets look like binary rather than text: more than 1 in
 * 100 octets (and more than 8) are C0 controls other than TAB, LF, CR, FF,
 * ESC, SO, SI -- NUL included. */
gboolean mugai_charset_looks_binary (const char *data, gsize len);
