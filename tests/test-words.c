/*
 * test-words.c - the catalogue of words (src/util/words.c)
 *
 * DESCRIPTION
 *	Every Japanese text takes the arguments its English key takes (the
 *	compiler checks the English only); every key written in src/ with
 *	MUGAI_W or MUGAI_W_KEY is in the table, and every entry of the
 *	table is used; and what a reader sees: a Japanese notice says in
 *	Japanese why parts past the limits were removed.
 */
#include "words.h"

#include <string.h>

#include "config.h"
#include "mugai-gmime.h"
#include "sanitize.h"
#include "testutil.h"

/* One conversion of a printf format: the argument's type as length
 * modifier and conversion ("ld", "zu", "s"), its position (1...) or 0. */
typedef struct
{
  char type[8];
  guint position;
} Spec;

/* The conversions of fmt, in order; FALSE (with why) for what the
 * catalogue does not allow: '*' widths, an unknown conversion. */
static gboolean
parse_format (const char *fmt, GArray *specs, char **why)
{
  for (const char *p = fmt; *p; p++)
    {
      if (*p != '%')
        continue;
      p++;
      if (*p == '%')
        continue;
      Spec s = { { 0 }, 0 };
      const char *q = p;
      guint n = 0;
      while (g_ascii_isdigit (*q))
        n = n * 10 + (guint)(*q++ - '0');
      if (*q == '$' && q > p)
        {
          s.position = n;
          p = q + 1;
        }
      while (*p && strchr ("-+ #0'", *p))
        p++;
      while (g_ascii_isdigit (*p))
        p++;
      if (*p == '.')
        for (p++; g_ascii_isdigit (*p); p++)
          ;
      if (*p == '*')
        {
          *why = g_strdup_printf ("'*' in \"%s\"", fmt);
          return FALSE;
        }
      gsize t = 0;
      while (*p && strchr ("hlzjtL", *p) && t < 3)
        s.type[t++] = *p++;
      if (!*p || !strchr ("diouxXcsfeEgGp", *p))
        {
          *why = g_strdup_printf ("unknown conversion in \"%s\"", fmt);
          return FALSE;
        }
      s.type[t] = *p;
      g_array_append_val (specs, s);
    }
  return TRUE;
}

/* NULL when ja takes the arguments of en, else what differs. */
static char *
specifiers_differ (const char *en, const char *ja)
{
  g_autoptr (GArray) e = g_array_new (FALSE, TRUE, sizeof (Spec));
  g_autoptr (GArray) j = g_array_new (FALSE, TRUE, sizeof (Spec));
  char *why = NULL;
  if (!parse_format (en, e, &why) || !parse_format (ja, j, &why))
    return why;
  if (e->len != j->len)
    return g_strdup_printf ("%u conversions in \"%s\", %u in \"%s\"", e->len, en, j->len, ja);
  for (guint i = 0; i < e->len; i++)
    if (g_array_index (e, Spec, i).position != 0)
      return g_strdup_printf ("numbered argument in the key \"%s\"", en);
  gboolean numbered = j->len > 0 && g_array_index (j, Spec, 0).position != 0;
  g_autofree gboolean *seen = g_new0 (gboolean, j->len + 1);
  for (guint i = 0; i < j->len; i++)
    {
      const Spec *s = &g_array_index (j, Spec, i);
      if ((s->position != 0) != numbered)
        return g_strdup_printf ("numbered and plain arguments mixed in \"%s\"", ja);
      guint arg = numbered ? s->position : i + 1;
      if (arg < 1 || arg > e->len || seen[arg])
        return g_strdup_printf ("argument %u out of range or twice in \"%s\"", arg, ja);
      seen[arg] = TRUE;
      if (strcmp (s->type, g_array_index (e, Spec, arg - 1).type) != 0)
        return g_strdup_printf ("argument %u is %%%s in \"%s\" but %%%s in \"%s\"", arg, s->type,
                                ja, g_array_index (e, Spec, arg - 1).type, en);
    }
  return NULL;
}

static void
test_checker (void)
{
  /* the checker itself, so that a pass of the table means something */
  g_autofree char *same = specifiers_differ ("%s, %u files", "%s、%u 件のファイル");
  g_assert_null (same);
  g_autofree char *swapped = specifiers_differ ("%s of %u", "%2$u の %1$s");
  g_assert_null (swapped);
  g_autofree char *order = specifiers_differ ("%s of %u", "%u の %s");
  g_assert_nonnull (order);
  g_autofree char *missing = specifiers_differ ("%s of %u", "%s");
  g_assert_nonnull (missing);
  g_autofree char *width = specifiers_differ ("part of %zu octets", "%u バイト");
  g_assert_nonnull (width);
  g_autofree char *mixed = specifiers_differ ("%s of %u", "%2$u の %s");
  g_assert_nonnull (mixed);
  g_autofree char *twice = specifiers_differ ("%s of %s", "%1$s の %1$s");
  g_assert_nonnull (twice);
  g_autofree char *percent = specifiers_differ ("100%% of %s", "%s の 100%%");
  g_assert_null (percent);
}

static void
test_table_formats (void)
{
  gsize n = 0;
  const MugaiWordsEntry *w = mugai_words_table (&n);
  g_assert_cmpuint (n, >, 50);
  g_autoptr (GHashTable) keys = g_hash_table_new (g_str_hash, g_str_equal);
  for (gsize i = 0; i < n; i++)
    {
      g_assert_nonnull (w[i].en);
      g_assert_nonnull (w[i].ja);
      g_assert_cmpstr (w[i].en, !=, "");
      g_assert_cmpstr (w[i].ja, !=, "");
      g_assert_true (g_str_is_ascii (w[i].en));
      g_assert_true (g_utf8_validate (w[i].ja, -1, NULL));
      if (!g_hash_table_add (keys, (gpointer)w[i].en))
        g_error ("key \"%s\" twice in the catalogue", w[i].en);
      g_autofree char *why = specifiers_differ (w[i].en, w[i].ja);
      if (why)
        g_error ("%s", why);
    }
}

static void
test_lookup (void)
{
  g_assert_cmpstr (mugai_words_get (MUGAI_LANG_JA, "malware detected"), ==,
                   "ウイルスを検出しました");
  const char *key = "malware detected";
  g_assert_true (mugai_words_get (MUGAI_LANG_EN, key) == key);
  /* a key not in the table comes back as it is (the sources test keeps
   * that from reaching a reader) */
  g_assert_cmpstr (mugai_words_get (MUGAI_LANG_JA, "no such text"), ==, "no such text");
  g_autofree char *d = g_strdup_printf (
      MUGAI_W (TRUE, "; pages 1-%ld of %ld only (pages %ld-%ld left out)"), 3L, 10L, 4L, 10L);
  g_assert_cmpstr (d, ==, "。全 10 ページのうち 1〜3 ページのみ（4〜10 ページは含まれていません）");
}

/* The C string literal at *p (and those right after it, which the
 * compiler joins), unescaped; NULL when *p is not one. */
static char *
read_literals (const char **pp)
{
  const char *p = *pp;
  g_autoptr (GString) out = NULL;
  for (;;)
    {
      while (g_ascii_isspace (*p))
        p++;
      if (*p != '"')
        break;
      if (!out)
        out = g_string_new (NULL);
      for (p++; *p && *p != '"'; p++)
        {
          if (*p != '\\')
            {
              g_string_append_c (out, *p);
              continue;
            }
          p++;
          switch (*p)
            {
            case 'n':
              g_string_append_c (out, '\n');
              break;
            case 't':
              g_string_append_c (out, '\t');
              break;
            default:
              g_string_append_c (out, *p);
              break; /* \" \\ */
            }
        }
      if (*p == '"')
        p++;
    }
  *pp = p;
  return out ? g_string_free (g_steal_pointer (&out), FALSE) : NULL;
}

/* The keys of every MUGAI_W (x, "...") and MUGAI_W_KEY ("...") in text. */
static void
collect_keys (const char *text, const char *file, GHashTable *used)
{
  for (const char *p = text; (p = strstr (p, "MUGAI_W")) != NULL;)
    {
      p += strlen ("MUGAI_W");
      gboolean key_only = g_str_has_prefix (p, "_KEY");
      if (key_only)
        p += 4;
      else if (g_ascii_isalnum (*p) || *p == '_')
        continue;
      while (*p == ' ')
        p++;
      if (*p != '(')
        continue;
      p++;
      if (!key_only)
        {
          /* past the first argument: to the comma at depth 0 */
          int depth = 0;
          for (; *p && !(depth == 0 && *p == ','); p++)
            if (*p == '(')
              depth++;
            else if (*p == ')' && depth-- == 0)
              break;
          if (*p != ',')
            continue;
          p++;
        }
      char *key = read_literals (&p);
      if (!key)
        g_error ("%s: MUGAI_W without a string literal", file);
      g_hash_table_add (used, key);
    }
}

static void
scan_dir (const char *dir, GHashTable *used, guint *files)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  const char *name;
  while ((name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        scan_dir (path, used, files);
      else if ((g_str_has_suffix (name, ".c") || g_str_has_suffix (name, ".h"))
               && strcmp (name, "words.h") != 0) /* the definitions and their example */
        {
          g_autofree char *text = NULL;
          g_assert_true (g_file_get_contents (path, &text, NULL, &error));
          collect_keys (text, path, used);
          (*files)++;
        }
    }
}

static void
test_sources (void)
{
  /* the source tree (tests/meson.build sets it; by hand:
   * MUGAI_SRCDIR=. build-test/tests/test-words) */
  const char *srcdir = g_getenv ("MUGAI_SRCDIR");
  g_assert_nonnull (srcdir);
  g_autoptr (GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *src = g_build_filename (srcdir, "src", NULL);
  guint files = 0;
  scan_dir (src, used, &files);
  g_assert_cmpuint (files, >, 20);

  gsize n = 0;
  const MugaiWordsEntry *w = mugai_words_table (&n);
  g_autoptr (GHashTable) table = g_hash_table_new (g_str_hash, g_str_equal);
  for (gsize i = 0; i < n; i++)
    g_hash_table_add (table, (gpointer)w[i].en);

  g_autoptr (GString) problems = g_string_new (NULL);
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init (&it, used);
  while (g_hash_table_iter_next (&it, &k, NULL))
    if (!g_hash_table_contains (table, k))
      g_string_append_printf (problems, "used in src/ but not in the catalogue: \"%s\"\n",
                              (const char *)k);
  for (gsize i = 0; i < n; i++)
    if (!g_hash_table_contains (used, w[i].en))
      g_string_append_printf (problems, "in the catalogue but used nowhere: \"%s\"\n", w[i].en);
  if (problems->len)
    g_error ("%s", problems->str);
  g_assert_cmpuint (g_hash_table_size (used), ==, n);
}

/* Whether a string literal's text holds kana, kanji or Japanese
 * punctuation (U+3000..U+30FF, U+4E00..U+9FFF, U+FF00..U+FFEF). */
static gboolean
is_japanese (const char *text, gsize len)
{
  g_autofree char *valid = g_utf8_make_valid (text, (gssize)len);
  for (const char *p = valid; *p; p = g_utf8_next_char (p))
    {
      gunichar u = g_utf8_get_char (p);
      if ((u >= 0x3000 && u <= 0x30ff) || (u >= 0x4e00 && u <= 0x9fff)
          || (u >= 0xff00 && u <= 0xffef))
        return TRUE;
    }
  return FALSE;
}

/* The Japanese string literals of a C file, comments left out, added to
 * found as "file: literal" lines. */
static void
japanese_literals (const char *text, const char *name, GString *found)
{
  for (const char *p = text; *p;)
    {
      if (p[0] == '/' && p[1] == '*')
        {
          const char *end = strstr (p + 2, "*/");
          p = end ? end + 2 : p + strlen (p);
        }
      else if (p[0] == '/' && p[1] == '/')
        p += strcspn (p, "\n");
      else if (*p == '\'')
        {
          for (p++; *p && *p != '\''; p++)
            if (*p == '\\' && p[1])
              p++;
          if (*p)
            p++;
        }
      else if (*p == '"')
        {
          const char *start = ++p;
          for (; *p && *p != '"'; p++)
            if (*p == '\\' && p[1])
              p++;
          if (is_japanese (start, (gsize)(p - start)))
            g_string_append_printf (found, "%s: \"%.*s\"\n", name, (int)(p - start), start);
          if (*p)
            p++;
        }
      else
        p++;
    }
}

static void
collect_japanese (const char *dir, GString *found)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  const char *name;
  while ((name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        collect_japanese (path, found);
      else if (g_str_has_suffix (name, ".c") || g_str_has_suffix (name, ".h"))
        {
          g_autofree char *text = NULL;
          g_assert_true (g_file_get_contents (path, &text, NULL, &error));
          japanese_literals (text, name, found);
        }
    }
}

/* Japanese for a reader is written in words.c only: a new
 * `ja ? "日本語" : "English"` elsewhere fails here. */
static void
test_japanese_only_in_catalogue (void)
{
  const char *srcdir = g_getenv ("MUGAI_SRCDIR");
  g_assert_nonnull (srcdir);
  g_autofree char *src = g_build_filename (srcdir, "src", NULL);
  g_autoptr (GString) found = g_string_new (NULL);
  collect_japanese (src, found);
  g_assert_cmpuint (found->len, >, 0); /* words.c itself: the scan works */
  g_auto (GStrv) lines = g_strsplit (found->str, "\n", -1);
  g_autoptr (GString) stray = g_string_new (NULL);
  for (guint i = 0; lines[i]; i++)
    {
      const char *l = lines[i];
      if (!*l
          || g_str_has_prefix (l, "words.c: ")
          /* the frequent hanzi of the charset guesser: data, not words */
          || g_str_has_prefix (l, "charset.c: ")
          /* the built-in notice template, also data/notice.ja.txt */
          || g_str_has_prefix (l, "notice.c: ")
          /* the Japanese list separator of the name checks, built in
           * both languages at once (the key "; " is the sentence break) */
          || strcmp (l, "filetype.c: \"、\"") == 0)
        continue;
      g_string_append_printf (stray, "%s\n", l);
    }
  if (stray->len)
    g_error ("Japanese outside the catalogue (src/util/words.c):\n%s", stray->str);
}

/* What a reader sees: the notice of a message past the limits. */
static char *
notice_of (const char *input, const char *conf)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MugaiPolicy) policy
      = mugai_config_steal_policy (mugai_config_load_data (conf, strlen (conf), "test", &error));
  g_assert_no_error (error);
  policy->clamav_required = FALSE;
  g_free (policy->clamav.database);
  policy->clamav.database = g_strdup ("/nonexistent"); /* no virus scan: not what is tested */
  g_autoptr (MugaiEngines) engines = mugai_engines_new (policy, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) in = g_bytes_new (input, strlen (input));
  g_autoptr (GBytes) out = NULL;
  g_autoptr (MugaiReport) report = NULL;
  g_assert_true (mugai_sanitize (in, policy, engines, NULL, &out, &report, &error));
  g_assert_no_error (error);
  g_assert_nonnull (out);
  gsize len = 0;
  const char *data = g_bytes_get_data (out, &len);
  g_autoptr (GMimeStream) s = g_mime_stream_mem_new_with_buffer (data, len);
  g_autoptr (GMimeParser) parser = g_mime_parser_new_with_stream (s);
  g_autoptr (GMimeMessage) m = g_mime_parser_construct_message (parser, NULL);
  g_assert_nonnull (m);
  return testutil_body_text (m);
}

static void
test_notice_limits_ja (void)
{
  g_autofree char *deep = testutil_nested_message (6);
  g_autofree char *n1 = notice_of (deep, "[limits]\ndepth = 3\n[notice]\nlanguage = ja\n");
  g_assert_nonnull (
      strstr (n1, "MIME の入れ子が上限 3 を超えたため、このパートと中身をすべて削除しました"));
  g_assert_null (strstr (n1, "nesting deeper"));

  g_autofree char *many = testutil_parts_message (8);
  g_autofree char *n2 = notice_of (many, "[limits]\nparts = 4\n[notice]\nlanguage = ja\n");
  g_assert_nonnull (
      strstr (n2, "パートの数が上限 4 を超えたため、このパートと以降のパートを削除しました"));
  g_assert_null (strstr (n2, "later parts removed"));
}

static void
test_notice_limits_en (void)
{
  /* the English notice keeps the English texts, byte for byte */
  g_autofree char *deep = testutil_nested_message (6);
  g_autofree char *n1 = notice_of (deep, "[limits]\ndepth = 3\n[notice]\nlanguage = en\n");
  g_assert_nonnull (strstr (n1, "MIME nesting deeper than 3; this part and all inside removed"));
  g_autofree char *many = testutil_parts_message (8);
  g_autofree char *n2 = notice_of (many, "[limits]\nparts = 4\n[notice]\nlanguage = en\n");
  g_assert_nonnull (strstr (n2, "more than 4 MIME parts; this and later parts removed"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  mugai_init ();
  g_test_add_func ("/words/checker", test_checker);
  g_test_add_func ("/words/table-formats", test_table_formats);
  g_test_add_func ("/words/lookup", test_lookup);
  g_test_add_func ("/words/sources", test_sources);
  g_test_add_func ("/words/japanese-only-in-catalogue", test_japanese_only_in_catalogue);
  g_test_add_func ("/words/notice-limits-ja", test_notice_limits_ja);
  g_test_add_func ("/words/notice-limits-en", test_notice_limits_en);
  return g_test_run ();
}
