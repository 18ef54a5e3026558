/*
 * finding.c - names and texts of finding categories and actions
 *
 * DESCRIPTION
 *	One table per closed list, so that the report, the log, the notice
 *	and the SMTP reply cannot drift apart.  The Japanese texts are the
 *	ones shown to staff on the LGWAN side; keep them short and concrete.
 */
#include "finding.h"

typedef struct
{
  const char *name;
  const char *text[MUGAI_LANG_N];
} MugaiWords;

static const MugaiWords category_words[MUGAI_FINDING_N] = {
  [MUGAI_FINDING_VIRUS] = { "virus", { "ウイルスを検出しました", "malware detected" } },
  [MUGAI_FINDING_BANNED_TYPE]
  = { "banned-type", { "通過できない種類のファイルです", "file type not allowed" } },
  [MUGAI_FINDING_NAME_TRICK]
  = { "name-trick", { "ファイル名が種類を偽っています", "file name disguises its type" } },
  [MUGAI_FINDING_ENCRYPTED]
  = { "encrypted", { "暗号化されているため検査できません", "encrypted: cannot be inspected" } },
  [MUGAI_FINDING_NOT_INSPECTABLE]
  = { "not-inspectable", { "検査できない形式です", "format cannot be inspected" } },
  [MUGAI_FINDING_SIGNATURE] = { "signature",
                                { "本文を変更したため電子署名を外しました",
                                  "signature removed because the content was changed" } },
  [MUGAI_FINDING_INLINE_PAYLOAD]
  = { "inline-payload", { "本文に埋め込まれたファイルです", "file embedded in the text" } },
  [MUGAI_FINDING_ACTIVE_CONTENT]
  = { "active-content", { "HTML をテキストに変換しました", "HTML converted to text" } },
  [MUGAI_FINDING_OVER_LIMIT] = { "over-limit", { "制限を超えています", "over a limit" } },
  [MUGAI_FINDING_MALFORMED] = { "malformed", { "形式が不正です", "malformed" } },
  [MUGAI_FINDING_CHARSET]
  = { "charset", { "文字コードの表示が誤っています", "declared charset is wrong" } },
  [MUGAI_FINDING_FORGED_HEADER] = { "forged-header",
                                    { "外部から付けられた X-Mugai ヘッダーを削除しました",
                                      "X-Mugai header from outside removed" } },
  [MUGAI_FINDING_ARCHIVE] = { "archive", { "圧縮ファイル（書庫）です", "archive" } },
  [MUGAI_FINDING_CONVERTIBLE]
  = { "converted", { "無害な形式に変換しました", "converted to an inert form" } },
  [MUGAI_FINDING_TYPE_MISMATCH]
  = { "type-mismatch",
      { "ファイルの種類の表示と中身が異なります", "declared type differs from the content" } },
};

static const MugaiWords action_words[MUGAI_ACTION_N] = {
  [MUGAI_ACTION_KEEP] = { "keep", { "そのまま", "kept" } },
  [MUGAI_ACTION_TO_TEXT] = { "to-text", { "テキストに変換", "converted to text" } },
  [MUGAI_ACTION_CONVERT] = { "convert", { "変換", "converted" } },
  [MUGAI_ACTION_REMOVE] = { "remove", { "削除", "removed" } },
  [MUGAI_ACTION_UNUSED] = { "unused", { "不使用", "not used" } },
  [MUGAI_ACTION_CONTAINER] = { "container", { "", "" } },
  [MUGAI_ACTION_REJECT] = { "reject", { "受信拒否", "rejected" } },
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
  return category_words[category].text[lang];
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
  return action_words[action].text[lang];
}
