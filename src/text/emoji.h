/*
 * emoji.h - Japanese carrier emoji to Unicode
 *
 * DESCRIPTION
 *	Mail from Japanese phones carries the carriers' own pictograms,
 *	written as codes that no standard charset assigns: in Shift_JIS the
 *	carriers' codes (DoCoMo F89F-F9FC, KDDI F340-F7FC, SoftBank F741-FBFE),
 *	and in ISO-2022-JP the forms below.  mugai_emoji_append() maps a
 *	carrier Shift_JIS code to the equivalent Unicode character or sequence
 *	of the Unicode Character Database's EmojiSources.txt (emoji-table.c).
 *	A code with no published equivalent is the caller's to replace with
 *	U+3013 GETA MARK, the conventional mark for a character that cannot
 *	be shown.
 *
 *	The ISO-2022-JP forms, each reconstructed from a published rule:
 *	  - KDDI (au) mail: JIS X 0208 rows 0x75-0x7B after ESC $ B, KDDI's
 *	    "e-mail JIS" codes.  Read as Shift_JIS by the JIS X 0208
 *	    arithmetic they give EB40-EEFC, which KDDI's own table shifts to
 *	    its Shift_JIS codes (EB/EC + 0x0B00, ED40-EE8D + 0x0600; the rule
 *	    of Encode::JP::Mobile's x-iso-2022-jp-kddi, and the email_jis and
 *	    sjis columns of its kddi-table).
 *	  - SoftBank "web codes": ESC $ G/E/F/O/P/Q, characters 0x21..., SI
 *	    (the SoftBank escape that gateways and phones leave in text); each
 *	    page is a run of SoftBank Shift_JIS codes.
 *	  - DoCoMo and SoftBank codes in CP932's user-defined area (F040-F9FC)
 *	    as ISO-2022-JP-MS writes that area: JIS X 0208 rows 0x75-0x7E for
 *	    F040-F4FC, JIS X 0212 (ESC $ ( D) rows 0x75-0x7E for F540-F9FC.
 *
 * THREAD SAFETY
 *	Pure functions over static tables.
 */
#pragma once

#include <glib.h>

typedef enum
{
  MUGAI_CARRIER_DOCOMO,
  MUGAI_CARRIER_KDDI,
  MUGAI_CARRIER_SOFTBANK
} MugaiCarrier;

typedef struct
{
  guint16 sjis;
  guint32 cp[2]; /* a character, or a sequence of two (keycaps, flags); 0 ends */
} MugaiEmojiEntry;

/* Appends the Unicode equivalent of a carrier Shift_JIS code to out;
 * FALSE (nothing appended) when the carrier's table has none. */
gboolean mugai_emoji_append (GString *out, MugaiCarrier carrier, guint sjis);

/* Text decoded from Shift_JIS as CP932 has the carriers' codes in the
 * Private Use Area (CP932 maps its user-defined area F040-F9FC to
 * U+E000-U+E757, in order): each is put back to its Shift_JIS code and
 * mapped as mugai_emoji_append() maps it, DoCoMo's table first for
 * F89F-F9FC, KDDI's for F340-F7FC, then SoftBank's; a code no table
 * maps (a carrier symbol without an equivalent, a company's own gaiji)
 * becomes U+3013.  Takes utf8, returns the new text (the same one when
 * nothing changed); *mapped and *geta (may be NULL) count. */
char *mugai_emoji_from_cp932_pua (char *utf8, guint *mapped, guint *geta);

/* KDDI e-mail JIS (ESC $ B, rows 0x75-0x7B) to KDDI Shift_JIS; 0 when the
 * pair is outside KDDI's e-mail area. */
guint mugai_emoji_kddi_jis_to_sjis (guint j1, guint j2);

/* SoftBank web code (page letter, character 0x21...) to SoftBank
 * Shift_JIS; 0 when not a web code. */
guint mugai_emoji_softbank_webcode_to_sjis (char page, guint c);

/* A user-defined CP932 code (F040-F9FC) from its ISO-2022-JP-MS form:
 * x0212 FALSE for JIS X 0208 rows 0x75-0x7E, TRUE for JIS X 0212 ones;
 * 0 outside those rows. */
guint mugai_emoji_udc_jis_to_sjis (gboolean x0212, guint j1, guint j2);

extern const MugaiEmojiEntry mugai_emoji_docomo[];
extern const gsize mugai_emoji_docomo_len;
extern const MugaiEmojiEntry mugai_emoji_kddi[];
extern const gsize mugai_emoji_kddi_len;
extern const MugaiEmojiEntry mugai_emoji_softbank[];
extern const gsize mugai_emoji_softbank_len;
