/*
 * notice.c - the お知らせ block that tells the reader what was done
 *
 * DESCRIPTION
 *	See notice.h.  The built-in templates are also installed as
 *	data/notice.ja.txt and data/notice.en.txt for administrators to copy
 *	and edit; tests check that both stay identical.
 */
#include "notice.h"

#include <string.h>

static const char builtin_ja[]
    = "━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━\n"
      "【お知らせ】このメールは無害化されています\n"
      "インターネットから届いたメールのため、安全のため次の処理を行いました。\n"
      "\n"
      "${items}"
      "\n"
      "元のメールは保管番号 ${quarantine_id} "
      "で保管されています。必要な場合は管理者にお問い合わせください。\n"
      "━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━\n";

static const char builtin_en[]
    = "------------------------------------------------------------\n"
      "[Notice] This message has been made harmless\n"
      "It came from the Internet, so the following was done for safety:\n"
      "\n"
      "${items}"
      "\n"
      "The original is kept under quarantine id ${quarantine_id}; ask your administrator if you "
      "need it.\n"
      "------------------------------------------------------------\n";

const char *
mugai_notice_builtin_template (MugaiLang lang)
{
  return lang == MUGAI_LANG_EN ? builtin_en : builtin_ja;
}

static char *
format_size (gsize size)
{
  g_autofree char *digits = g_strdup_printf ("%zu", size);
  g_autoptr (GString) out = g_string_new (NULL);
  gsize len = strlen (digits);
  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits[i]);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Archive members shown in the notice; the report has them all. */
#define NOTICE_MAX_ENTRIES 30

static void
render_entries (GString *out, const MugaiPartReport *p, gboolean ja)
{
  g_string_append_printf (out, MUGAI_W (ja, "    Contents (%u files):\n"), p->entries_total);
  for (guint i = 0; i < p->entries->len && i < NOTICE_MAX_ENTRIES; i++)
    {
      const MugaiEntryReport *e = p->entries->pdata[i];
      g_autofree char *name = mugai_text_safe_display (e->name, 120);
      g_string_append_printf (out, "      %s", name);
      if (e->size >= 0)
        {
          g_autofree char *size = format_size ((gsize)e->size);
          g_string_append_printf (out, MUGAI_W (ja, " (%s bytes)"), size);
        }
      if (e->encrypted)
        g_string_append (out, MUGAI_W (ja, " [password-protected]"));
      if (e->danger)
        {
          g_autofree char *d = mugai_text_safe_display (e->danger, 120);
          g_string_append_printf (out, MUGAI_W (ja, " <- dangerous: %s"), d);
        }
      g_string_append_c (out, '\n');
    }
  if (p->entries_total > NOTICE_MAX_ENTRIES && p->entries->len >= NOTICE_MAX_ENTRIES)
    g_string_append_printf (out, MUGAI_W (ja, "      and %u more\n"),
                            p->entries_total - NOTICE_MAX_ENTRIES);
  else if (p->entries_total > p->entries->len)
    g_string_append_printf (out, MUGAI_W (ja, "      and %u more (listing limit reached)\n"),
                            p->entries_total - p->entries->len);
}

static void
render_item (GString *out, const MugaiPartReport *p, MugaiLang lang)
{
  gboolean ja = lang == MUGAI_LANG_JA;
  g_autofree char *name = NULL;
  if (p->filename && *p->filename)
    name = mugai_text_safe_display (p->filename, 120);
  else if (g_strcmp0 (p->kind, "body") == 0)
    name = g_strdup (MUGAI_W (ja, "(message body)"));
  else
    name = g_strdup (MUGAI_W (ja, "(no name)"));
  g_autofree char *size = format_size (p->size);
  /* what the content really is, when mugai knows; else what was declared */
  g_autofree char *type = mugai_text_safe_display (
      p->type_label ? p->type_label : (p->declared_type ? p->declared_type : ""), 80);

  g_string_append_printf (out, MUGAI_W (ja, "- %s (%s, %s bytes)\n"), name, type, size);

  const char *reason = p->reason == MUGAI_REASON_NONE
                           ? ""
                           : mugai_finding_category_text ((MugaiFindingCategory)p->reason, lang);
  g_string_append_printf (out, "    %s: %s", mugai_action_text (p->action, lang), reason);
  if (p->detail && *p->detail)
    {
      g_autofree char *detail = mugai_text_safe_display (p->detail, 200);
      g_string_append_printf (out, MUGAI_W (ja, " (%s)"), detail);
    }
  g_string_append_c (out, '\n');
  if (p->sha256 && p->action == MUGAI_ACTION_REMOVE)
    g_string_append_printf (out, "    SHA-256: %s\n", p->sha256);
  if (p->entries)
    render_entries (out, p, ja);
}

char *
mugai_notice_render (const MugaiPolicy *policy, GPtrArray *items, guint omitted,
                     const char *quarantine_id)
{
  g_autoptr (GString) item_text = g_string_new (NULL);
  guint removed = 0, converted = 0;
  for (guint i = 0; i < items->len; i++)
    {
      const MugaiPartReport *p = items->pdata[i];
      render_item (item_text, p, policy->language);
      if (p->action == MUGAI_ACTION_REMOVE)
        removed++;
      else
        converted++;
    }
  if (omitted > 0)
    {
      /* past the part limit: one line, not an entry per part */
      g_autofree char *n = format_size (omitted);
      g_string_append_printf (
          item_text,
          MUGAI_W (policy->language == MUGAI_LANG_JA,
                   "- %s more parts removed (more than %u parts: not listed one by one)\n"),
          n, policy->limits.parts);
      removed += omitted;
    }

  g_autofree char *removed_s = g_strdup_printf ("%u", removed);
  g_autofree char *converted_s = g_strdup_printf ("%u", converted);
  const char *names[] = { "items", "removed", "converted", "quarantine_id" };
  const char *values[]
      = { item_text->str, removed_s, converted_s, quarantine_id ? quarantine_id : "" };

  g_autoptr (GString) out = g_string_new (NULL);
  g_auto (GStrv) lines = g_strsplit (policy->notice_template, "\n", -1);
  for (guint l = 0; lines[l]; l++)
    {
      if (!lines[l + 1] && lines[l][0] == '\0')
        break; /* the split's empty tail after the final newline */
      g_autoptr (GString) line = g_string_new (NULL);
      gboolean drop = FALSE;
      const char *p = lines[l];
      while (*p)
        {
          const char *open = strstr (p, "${");
          const char *close = open ? strchr (open, '}') : NULL;
          if (!open || !close)
            {
              g_string_append (line, p);
              break;
            }
          g_string_append_len (line, p, open - p);
          gsize name_len = (gsize)(close - open - 2);
          gboolean known = FALSE;
          for (guint n = 0; n < G_N_ELEMENTS (names); n++)
            if (strlen (names[n]) == name_len && strncmp (open + 2, names[n], name_len) == 0)
              {
                known = TRUE;
                if (!*values[n])
                  drop = TRUE;
                g_string_append (line, values[n]);
              }
          if (!known) /* unknown placeholders are written as they are */
            g_string_append_len (line, open, close - open + 1);
          p = close + 1;
        }
      if (drop)
        continue;
      g_string_append (out, line->str);
      /* ${items} ends with its own newline */
      if (!(line->len > 0 && line->str[line->len - 1] == '\n'))
        g_string_append_c (out, '\n');
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
mugai_notice_placeholder (MugaiLang lang, const char *kind, const char *name)
{
  g_autofree char *safe = mugai_text_safe_display (name && *name ? name : "?", 120);
  return g_strdup_printf (
      MUGAI_W (lang == MUGAI_LANG_JA, "[file \"%s\" embedded as %s was removed from the text]\n"),
      safe, kind);
}
