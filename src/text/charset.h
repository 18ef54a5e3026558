/*
 * charset.h - decode Japanese (and other) text to UTF-8 without mojibake
 *
 * DESCRIPTION
 *	mugai_charset_decode() turns the octets of a text part or a header
 *	into UTF-8.  The declared charset is checked, not trusted, but wins
 *	whenever the octets are valid in it; its label is read as clients
 *	write it ("koi8_r", "x-sjis", "windows-31j", "eucjp", "iso-2202-jp").
 *	When it names none or does not fit: ISO-2022-JP (7-bit with escapes),
 *	UTF-8, UTF-8 with a few broken octets, then the charsets the caller
 *	hints at (mugai_charset_decode_hinted()), then Japanese (CP932,
 *	EUC-JP), Chinese (GB18030, Big5), Korean, Russian (windows-1251,
 *	KOI8-R), European (windows-1252, ISO-8859-2, windows-1250) and Thai
 *	readings, ranked by how plausible each reading is as text of its
 *	language (Japanese and the hints first, with half again their score).
 *	When nothing reads cleanly, the reading with the fewest invalid
 *	sequences, each becoming U+3013 (Japanese) or its windows-1252 octet
 *	(UTF-8): never U+FFFD.  The charset used is returned for the report.
 *
 *	ISO-2022-JP is decoded by our own state machine rather than iconv:
 *	real ISO-2022-JP mail (Outlook, Becky!, many web mailers) carries
 *	the NEC and IBM extension characters of CP50220/CP932 (①, ㈱, ～),
 *	which glibc's strict ISO-2022-JP converter rejects, and GMime 3.2.13
 *	then produces mojibake for the whole word (seen with "①テスト").
 *	JIS X 0208 pairs are mapped to Shift_JIS arithmetically and decoded
 *	as CP932 (but for the wave-dash family, read by JIS X 0208's mapping:
 *	see charset.c), JIS X 0212 via EUC-JP-MS, JIS X 0213 via
 *	EUC-JISX0213; the carriers' emoji by emoji.h.  Nothing leaves as
 *	undecoded JIS: a code no table maps is U+3013 and an unknown escape
 *	sequence is skipped, with MUGAI_CHARSET_LOSSY.
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
