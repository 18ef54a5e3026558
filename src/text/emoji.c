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

#include <string.h>

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

/* U+E000-U+E757 back to CP932's F040-F9FC: 188 codes a lead octet,
 * trail octets 40-7E and 80-FC. */
static guint
pua_to_sjis (gunichar u)
{
  guint idx = (guint)(u - 0xe000);
  guint lead = 0xf0 + idx / 188, t = idx % 188;
  return (lead << 8) | (t + (t < 0x3f ? 0x40 : 0x41));
}

char *
mugai_emoji_from_cp932_pua (char *utf8, guint *mapped, guint *geta)
{
  guint m = 0, g = 0;
  gboolean any = FALSE;
  for (const char *p = utf8; *p && !any; p = g_utf8_next_char (p))
    {
      gunichar u = g_utf8_get_char (p);
      any = u >= 0xe000 && u <= 0xe757;
    }
  if (any)
    {
      GString *out = g_string_sized_new (strlen (utf8) + 16);
      for (const char *p = utf8; *p; p = g_utf8_next_char (p))
        {
          gunichar u = g_utf8_get_char (p);
          if (u < 0xe000 || u > 0xe757)
            {
              g_string_append_unichar (out, u);
              continue;
            }
          guint sjis = pua_to_sjis (u);
          gboolean done = (sjis >= 0xf89f && sjis <= 0xf9fc
                           && mugai_emoji_append (out, MUGAI_CARRIER_DOCOMO, sjis))
                          || (sjis >= 0xf340 && sjis <= 0xf7fc
                              && mugai_emoji_append (out, MUGAI_CARRIER_KDDI, sjis))
                          || mugai_emoji_append (out, MUGAI_CARRIER_SOFTBANK, sjis);
          if (done)
            m++;
          else
            {
              g_string_append (out, "\xe3\x80\x93"); /* U+3013 GETA MARK */
              g++;
            }
        }
      g_free (utf8);
      utf8 = g_string_free (out, FALSE);
    }
  if (mapped)
    *mapped = m;
  if (geta)
    *geta = g;
  return utf8;
}
