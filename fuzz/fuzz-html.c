/*
 * fuzz-html.c - libFuzzer target: HTML to text (html.c)
 *
 * DESCRIPTION
 *	The input, made valid UTF-8 with g_utf8_make_valid() as the
 *	sanitizer's charset step guarantees, is rendered by
 *	mugai_html_to_text() in all three link modes, with a small output
 *	limit on one of them to reach the truncation path, and by
 *	mugai_html_render() with URLs in the text defanged (English words);
 *	the valid text also goes to mugai_url_defang_text(), whose output
 *	must be valid UTF-8.  The raw input (exactly its length, no NUL
 *	after it) also goes to mugai_html_meta_charset() and
 *	mugai_html_defang_url().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const MugaiLinkMode modes[]
      = { MUGAI_LINKS_DEFANG, MUGAI_LINKS_SHOW, MUGAI_LINKS_DROP, MUGAI_LINKS_SHOW };
  static const gsize limits[] = { 1024 * 1024, 1024 * 1024, 97, 1024 * 1024 };
  char *html = g_utf8_make_valid ((const char *)data, (gssize)size);
  gsize html_len = strlen (html); /* NULs became U+FFFD; strlen is the length */

  for (gsize i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      char *text = NULL;
      GError *error = NULL;
      MugaiHtmlStats stats;
      memset (&stats, 0, sizeof stats);
      const MugaiHtmlOptions opts = { .links = modes[i],
                                      .text_links = MUGAI_TEXT_LINKS_DEFANG,
                                      .english = TRUE,
                                      .max_output = limits[i] };
      gboolean ok = i == 3 ? mugai_html_render (html, html_len, &opts, &text, &stats, &error)
                           : mugai_html_to_text (html, html_len, modes[i], limits[i], &text, &stats,
                                                 &error);
      if (ok)
        {
          if (!text || !g_utf8_validate (text, -1, NULL))
            abort ();
          if (strlen (text) > limits[i])
            abort ();
        }
      else if (!error)
        abort ();
      g_free (text);
      g_clear_error (&error);
    }

  char *defanged_text = mugai_url_defang_text (html, html_len, NULL);
  if (!g_utf8_validate (defanged_text, -1, NULL))
    abort ();
  g_free (defanged_text);

  char *raw = g_malloc (size ? size : 1);
  memcpy (raw, data, size);
  char *cs = mugai_html_meta_charset (raw, size);
  g_free (cs);
  g_free (raw);

  char *url = g_strndup ((const char *)data, size);
  char *defanged = mugai_html_defang_url (url);
  g_free (defanged);
  g_free (url);

  g_free (html);
  return 0;
}
