/*
 * emoji.c - Japanese carrier emoji to Unicode
 *
 * DESCRIPTION
 *	See emoji.h.  The tables (emoji-table.c) are sorted by Shift_JIS
 *	code and searched by bisection.
 *
 * OWNERSHIP
 *	Nothing allocated but what is appended to the caller's GString.
 */
#include "emoji.h"

#include "iso2022jp.h"

static const MugaiEmojiEntry *
lookup (const MugaiEmojiEntry *table, gsize len, guint sjis)
{
  gsize lo = 0, hi = len;
  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;
      if (table[mid].sjis == sjis)
        return &table[mid];
      if (table[mid].sjis < sjis)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

gboolean
mugai_emoji_append (GString *out, MugaiCarrier carrier, guint sjis)
{
  const MugaiEmojiEntry *e = NULL;
  switch (carrier)
    {
    case MUGAI_CARRIER_DOCOMO:
      e = lookup (mugai_emoji_docomo, mugai_emoji_docomo_len, sjis);
      break;
    case MUGAI_CARRIER_KDDI:
      e = lookup (mugai_emoji_kddi, mugai_emoji_kddi_len, sjis);
      break;
    case MUGAI_CARRIER_SOFTBANK:
      e = lookup (mugai_emoji_softbank, mugai_emoji_softbank_len, sjis);
      break;
    }
  if (!e)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (e->cp) && e->cp[i]; i++)
    g_string_append_unichar (out, e->cp[i]);
  return TRUE;
}

guint
mugai_emoji_kddi_jis_to_sjis (guint j1, guint j2)
{
  if (j1 < 0x75 || j1 > 0x7b || j2 < 0x21 || j2 > 0x7e)
    return 0;
  guint s = mugai_jis_to_sjis (j1, j2);
  if (s >= 0xeb40 && s <= 0xecfc)
    return s + 0x0b00; /* F640-F7FC */
  if (s >= 0xed40 && s <= 0xee8d)
    return s + 0x0600; /* F340-F48D */
  return 0;
}

guint
mugai_emoji_softbank_webcode_to_sjis (char page, guint c)
{
  guint base;
  switch (page)
    {
    case 'G':
      base = 0xf941;
      break;
    case 'E':
      base = 0xf741;
      break;
    case 'F':
      base = 0xf7a1;
      break;
    case 'O':
      base = 0xf9a1;
      break;
    case 'P':
      base = 0xfb41;
      break;
    case 'Q':
      base = 0xfba1;
      break;
    default:
      return 0;
    }
  if (c < 0x21 || c > 0x7a)
    return 0;
  guint trail = (base & 0xff) + (c - 0x21);
  if ((base & 0xff) == 0x41 && trail >= 0x7f)
    trail++; /* Shift_JIS trail bytes skip 0x7F */
  if (trail > 0xfc)
    return 0;
  return (base & 0xff00) | trail;
}

guint
mugai_emoji_udc_jis_to_sjis (gboolean x0212, guint j1, guint j2)
{
  if (j1 < 0x75 || j1 > 0x7e || j2 < 0x21 || j2 > 0x7e)
    return 0;
  /* 940 user-defined characters per set: 10 rows of 94 */
  guint index = (j1 - 0x75) * 94 + (j2 - 0x21) + (x0212 ? 940 : 0);
  guint lead = 0xf0 + index / 188;
  guint t = index % 188;
  return lead << 8 | (t < 63 ? 0x40 + t : 0x41 + t);
}
