/*
 * test-finding.c - finding.c: the names and words every output shares
 *
 * The machine names are what the JSON report, the audit log and the
 * log lines carry; administrators grep for them, so they are pinned
 * here one by one, with the words of the notice in both languages.
 */
#include "finding.h"

#include <string.h>

static const struct
{
  MugaiFindingCategory category;
  const char *name;
  const char *ja;
  const char *en;
} categories[] = {
  { MUGAI_FINDING_VIRUS, "virus", "ウイルスを検出しました", "malware detected" },
  { MUGAI_FINDING_BANNED_TYPE, "banned-type", "通過できない種類のファイルです",
    "file type not allowed" },
  { MUGAI_FINDING_NAME_TRICK, "name-trick", "ファイル名が種類を偽っています",
    "file name disguises its type" },
  { MUGAI_FINDING_ENCRYPTED, "encrypted", "暗号化されているため検査できません",
    "encrypted: cannot be inspected" },
  { MUGAI_FINDING_NOT_INSPECTABLE, "not-inspectable", "検査できない形式です",
    "format cannot be inspected" },
  { MUGAI_FINDING_SIGNATURE, "signature", "本文を変更したため電子署名を外しました",
    "signature removed because the content was changed" },
  { MUGAI_FINDING_INLINE_PAYLOAD, "inline-payload", "本文に埋め込まれたファイルです",
    "file embedded in the text" },
  { MUGAI_FINDING_ACTIVE_CONTENT, "active-content", "HTML をテキストに変換しました",
    "HTML converted to text" },
  { MUGAI_FINDING_OVER_LIMIT, "over-limit", "制限を超えています", "over a limit" },
  { MUGAI_FINDING_MALFORMED, "malformed", "形式が不正です", "malformed" },
  { MUGAI_FINDING_CHARSET, "charset", "文字コードの表示が誤っています",
    "declared charset is wrong" },
  { MUGAI_FINDING_FORGED_HEADER, "forged-header",
    "外部から付けられた X-Mugai ヘッダーを削除しました", "X-Mugai header from outside removed" },
  { MUGAI_FINDING_ARCHIVE, "archive", "圧縮ファイル（書庫）です", "archive" },
  { MUGAI_FINDING_TYPE_MISMATCH, "type-mismatch", "ファイルの種類の表示と中身が異なります",
    "declared type differs from the content" },
  { MUGAI_FINDING_CONVERTIBLE, "converted", "無害な形式に変換しました",
    "converted to an inert form" },
};

static const struct
{
  MugaiAction action;
  const char *name;
  const char *ja;
  const char *en;
} actions[] = {
  { MUGAI_ACTION_KEEP, "keep", "そのまま", "kept" },
  { MUGAI_ACTION_TO_TEXT, "to-text", "テキストに変換", "converted to text" },
  { MUGAI_ACTION_CONVERT, "convert", "変換", "converted" },
  { MUGAI_ACTION_REMOVE, "remove", "削除", "removed" },
  { MUGAI_ACTION_UNUSED, "unused", "不使用", "not used" },
  { MUGAI_ACTION_CONTAINER, "container", "", "" },
  { MUGAI_ACTION_REJECT, "reject", "受信拒否", "rejected" },
};

static void
test_category_words (void)
{
  /* every category of the closed list is in the table above, once */
  g_assert_cmpuint (G_N_ELEMENTS (categories), ==, MUGAI_FINDING_N);
  for (gsize i = 0; i < G_N_ELEMENTS (categories); i++)
    {
      MugaiFindingCategory c = categories[i].category;
      g_assert_cmpstr (mugai_finding_category_name (c), ==, categories[i].name);
      g_assert_cmpstr (mugai_finding_category_text (c, MUGAI_LANG_JA), ==, categories[i].ja);
      g_assert_cmpstr (mugai_finding_category_text (c, MUGAI_LANG_EN), ==, categories[i].en);
      for (gsize j = 0; j < i; j++)
        g_assert_cmpint (categories[j].category, !=, c);
    }
}

static void
test_action_words (void)
{
  g_assert_cmpuint (G_N_ELEMENTS (actions), ==, MUGAI_ACTION_N);
  for (gsize i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      g_assert_cmpstr (mugai_action_name (actions[i].action), ==, actions[i].name);
      g_assert_cmpstr (mugai_action_text (actions[i].action, MUGAI_LANG_JA), ==, actions[i].ja);
      g_assert_cmpstr (mugai_action_text (actions[i].action, MUGAI_LANG_EN), ==, actions[i].en);
    }
}

static void
test_new (void)
{
  g_autoptr (MugaiFinding) f
      = mugai_finding_new (MUGAI_FINDING_NAME_TRICK, "2.1", "%s looks like %s", "a.pdf.exe", "PDF");
  g_assert_cmpint (f->category, ==, MUGAI_FINDING_NAME_TRICK);
  g_assert_cmpstr (f->path, ==, "2.1");
  g_assert_cmpstr (f->detail, ==, "a.pdf.exe looks like PDF");

  /* the whole message: path "", and no detail is an empty string, never
   * NULL (the report and the log print both) */
  g_autoptr (MugaiFinding) m = mugai_finding_new (MUGAI_FINDING_OVER_LIMIT, NULL, NULL);
  g_assert_cmpstr (m->path, ==, "");
  g_assert_cmpstr (m->detail, ==, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/finding/category-words", test_category_words);
  g_test_add_func ("/finding/action-words", test_action_words);
  g_test_add_func ("/finding/new", test_new);
  return g_test_run ();
}
