/*
 * iso2022jp.h - ISO-2022-JP decoding for charset.c (private to src/text)
 */
#pragma once

#include <glib.h>

/* What one ISO-2022-JP decoding did, for the caller's verdict. */
typedef struct
{
  guint geta;    /* characters no table maps: written as U+3013 */
  guint emoji;   /* carrier emoji mapped to Unicode */
  guint skipped; /* escape sequences of other sets, dropped */
} MugaiJisStats;

/* Decodes ISO-2022-JP; NULL only for 8-bit octets (not ISO-2022-JP at
 * all).  st may be NULL.  Owned, NUL-terminated, *out_len its length. */
char *mugai_iso2022jp_decode (const char *data, gsize len, MugaiJisStats *st, gsize *out_len);

/* CP932's reading of the WAVE DASH family (U+FF5E ...) turned into JIS X
 * 0208's (U+301C ...); takes utf8, returns owned text. */
char *mugai_iso2022jp_cp932_to_jis (char *utf8);

/* JIS X 0208 row/cell (0x21-0x7e each) to Shift_JIS, by the arithmetic of
 * JIS X 0208 annex 1, also for the rows past 0x74 the standard leaves
 * empty: 0x75-0x7e become EB-EF, which CP932 leaves empty but for the
 * NEC-selected IBM extensions at ED40-EEFC (rows 0x79-0x7C) and which
 * KDDI's emoji use (emoji.c). */
guint mugai_jis_to_sjis (guint j1, guint j2);
