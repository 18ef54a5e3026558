/*
 * finding.c - names and texts of finding categories and actions
 *
 * DESCRIPTION
 *	One table per closed list, so that the report, the log, the notice
 *	and the SMTP reply cannot drift apart.  The tables hold the machine
 *	name and the English text; the English is the key of the Japanese
 *	text in the one catalogue of words (src/util/words.c).
 */
#include "finding.h"

typedef struct
{
  const char *name; /* the stable machine name */
  const char *text; /* the English text: the key of its Japanese in words.c */
} MugaiWords;

static const MugaiWords category_words[MUGAI_FINDING_N] = {
  [MUGAI_FINDING_VIRUS] = { "virus", MUGAI_W_KEY ("malware detected") },
  [MUGAI_FINDING_BANNED_TYPE] = { "banned-type", MUGAI_W_KEY ("file type not allowed") },
  [MUGAI_FINDING_NAME_TRICK] = { "name-trick", MUGAI_W_KEY ("file name disguises its type") },
  [MUGAI_FINDING_ENCRYPTED] = { "encrypted", MUGAI_W_KEY ("encrypted: cannot be inspected") },
  [MUGAI_FINDING_NOT_INSPECTABLE]
  = { "not-inspectable", MUGAI_W_KEY ("format cannot be inspected") },
  [MUGAI_FINDING_SIGNATURE]
  = { "signature", MUGAI_W_KEY ("signature removed because the content was changed") },
  [MUGAI_FINDING_INLINE_PAYLOAD] = { "inline-payload", MUGAI_W_KEY ("file embedded in the text") },
  [MUGAI_FINDING_ACTIVE_CONTENT] = { "active-content", MUGAI_W_KEY ("HTML converted to text") },
  [MUGAI_FINDING_OVER_LIMIT] = { "over-limit", MUGAI_W_KEY ("over a limit") },
  [MUGAI_FINDING_MALFORMED] = { "malformed", MUGAI_W_KEY ("malformed") },
  [MUGAI_FINDING_CHARSET] = { "charset", MUGAI_W_KEY ("declared charset is wrong") },
  [MUGAI_FINDING_FORGED_HEADER]
  = { "forged-header", MUGAI_W_KEY ("X-Mugai header from outside removed") },
  [MUGAI_FINDING_ARCHIVE] = { "archive", MUGAI_W_KEY ("archive") },
  [MUGAI_FINDING_CONVERTIBLE] = { "converted", MUGAI_W_KEY ("converted to an inert form") },
  [MUGAI_FINDING_TYPE_MISMATCH]
  = { "type-mismatch", MUGAI_W_KEY ("declared type differs from the content") },
};

static const MugaiWords action_words[MUGAI_ACTION_N] = {
  [MUGAI_ACTION_KEEP] = { "keep", MUGAI_W_KEY ("kept") },
  [MUGAI_ACTION_TO_TEXT] = { "to-text", MUGAI_W_KEY ("converted to text") },
  [MUGAI_ACTION_CONVERT] = { "convert", MUGAI_W_KEY ("converted") },
  [MUGAI_ACTION_REMOVE] = { "remove", MUGAI_W_KEY ("removed") },
  [MUGAI_ACTION_UNUSED] = { "unused", MUGAI_W_KEY ("not used") },
  [MUGAI_ACTION_CONTAINER] = { "container", "" }, /* never shown: no key */
  [MUGAI_ACTION_REJECT] = { "reject", MUGAI_W_KEY ("rejected") },
};

MugaiFinding *
mugai_finding_new (MugaiFindingCategory category, const char *path, const char *detail_fmt, ...)
{
  g_return_val_if_fail (category < MUGAI_FINDING_N, NULL);

  MugaiFinding *finding = g_new0 (MugaiFinding, 1);
  finding->category = category;
  finding->path = g_strdup (path ? path : "");
  if (detail_fmt)
    {
      va_list ap;
      va_start (ap, detail_fmt);
      finding->detail = g_strdup_vprintf (detail_fmt, ap);
      va_end (ap);
    }
  else
    finding->detail = g_strdup ("");
  return finding;
}

void
mugai_finding_free (MugaiFinding *finding)
{
  if (!finding)
    return;
  g_free (finding->path);
  g_free (finding->detail);
  g_free (finding);
}

const char *
mugai_finding_category_name (MugaiFindingCategory category)
{
  g_return_val_if_fail (category < MUGAI_FINDING_N, "unknown");
  return category_words[category].name;
}

const char *
mugai_finding_category_text (MugaiFindingCategory category, MugaiLang lang)
{
  g_return_val_if_fail (category < MUGAI_FINDING_N && lang < MUGAI_LANG_N, "");
  return mugai_words_get (lang, category_words[category].text);
}

const char *
mugai_action_name (MugaiAction action)
{
  g_return_val_if_fail (action < MUGAI_ACTION_N, "unknown");
  return action_words[action].name;
}

const char *
mugai_action_text (MugaiAction action, MugaiLang lang)
{
  g_return_val_if_fail (action < MUGAI_ACTION_N && lang < MUGAI_LANG_N, "");
  return mugai_words_get (lang, action_words[action].text);
}
