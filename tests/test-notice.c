/*
 * test-notice.c - notice.c: the お知らせ block the reader sees
 *
 * Whole rendered notices are compared, as they appear in the delivered
 * message, in both languages and with an administrator's template.
 */
#include "notice.h"

#include <string.h>

static MugaiPartReport *
part (GPtrArray *keep, const char *filename, const char *kind, const char *declared, gsize size,
      MugaiAction action, int reason, const char *detail)
{
  MugaiPartReport *p = g_new0 (MugaiPartReport, 1);
  p->path = g_strdup ("2");
  p->kind = kind;
  p->filename = g_strdup (filename);
  p->declared_type = g_strdup (declared);
  p->size = size;
  p->action = action;
  p->reason = reason;
  p->detail = g_strdup (detail);
  g_ptr_array_add (keep, p);
  return p;
}

static void
part_free (gpointer data)
{
  MugaiPartReport *p = data;
  g_free (p->path);
  g_free (p->filename);
  g_free (p->declared_type);
  g_free (p->detail);
  g_free (p->sha256);
  g_free (p->type_label);
  if (p->entries)
    g_ptr_array_unref (p->entries);
  g_free (p);
}

static void
test_builtin_ja (void)
{
  g_autoptr (MugaiPolicy) policy = mugai_policy_new_default ();
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (part_free);
  MugaiPartReport *exe = part (items, "請求書.exe", "attachment", "application/octet-stream",
                               1234567, MUGAI_ACTION_REMOVE, MUGAI_FINDING_BANNED_TYPE, NULL);
  exe->sha256 = g_strdup ("ab12");
  exe->type_label = g_strdup ("実行ファイル");
  part (items, NULL, "body", "text/html", 12, MUGAI_ACTION_TO_TEXT, MUGAI_FINDING_ACTIVE_CONTENT,
        NULL);
  g_autofree char *n = mugai_notice_render (policy, items, 0, "20261203-abc");
  g_assert_cmpstr (n, ==,
                   "━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━\n"
                   "【お知らせ】このメールは無害化されています\n"
                   "インターネットから届いたメールのため、安全のため次の処理を行いました。\n"
                   "\n"
                   "・請求書.exe（実行ファイル、1,234,567 バイト）\n"
                   "    削除: 通過できない種類のファイルです\n"
                   "    SHA-256: ab12\n"
                   "・(本文)（text/html、12 バイト）\n"
                   "    テキストに変換: HTML をテキストに変換しました\n"
                   "元のメールは保管番号 20261203-abc "
                   "で保管されています。必要な場合は管理者にお問い合わせください。\n"
                   "━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━\n");
}

static void
test_builtin_en_no_store (void)
{
  /* no quarantine: the line that would name its id is left out */
  g_autoptr (MugaiPolicy) policy = mugai_policy_new_default ();
  policy->language = MUGAI_LANG_EN;
  g_free (policy->notice_template);
  policy->notice_template = g_strdup (mugai_notice_builtin_template (MUGAI_LANG_EN));
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (part_free);
  part (items, "", "attachment", "application/pdf", 999, MUGAI_ACTION_CONVERT,
        MUGAI_FINDING_CONVERTIBLE, "converted to an image-only PDF");
  g_autofree char *n = mugai_notice_render (policy, items, 0, NULL);
  g_assert_cmpstr (n, ==,
                   "------------------------------------------------------------\n"
                   "[Notice] This message has been made harmless\n"
                   "It came from the Internet, so the following was done for safety:\n"
                   "\n"
                   "- (no name) (application/pdf, 999 bytes)\n"
                   "    converted: converted to an inert form (converted to an image-only PDF)\n"
                   "------------------------------------------------------------\n");
}

static void
test_template (void)
{
  /* an administrator's template: counts, unknown placeholders kept as
   * written, a line whose placeholder is empty dropped */
  g_autoptr (MugaiPolicy) policy = mugai_policy_new_default ();
  g_free (policy->notice_template);
  policy->notice_template = g_strdup ("removed=${removed} converted=${converted} ${nope}\n"
                                      "id: ${quarantine_id}\n"
                                      "${items}"
                                      "end");
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (part_free);
  part (items, "a.zip", "attachment", "application/zip", 10, MUGAI_ACTION_REMOVE,
        MUGAI_FINDING_ARCHIVE, NULL);
  part (items, "b.docx", "attachment", "application/msword", 20, MUGAI_ACTION_CONVERT,
        MUGAI_FINDING_CONVERTIBLE, NULL);
  part (items, "c.jpg", "attachment", "image/jpeg", 30, MUGAI_ACTION_CONVERT,
        MUGAI_FINDING_CONVERTIBLE, NULL);
  g_autofree char *n = mugai_notice_render (policy, items, 0, "");
  g_assert_cmpstr (n, ==,
                   "removed=1 converted=2 ${nope}\n"
                   "・a.zip（application/zip、10 バイト）\n"
                   "    削除: 圧縮ファイル（書庫）です\n"
                   "・b.docx（application/msword、20 バイト）\n"
                   "    変換: 無害な形式に変換しました\n"
                   "・c.jpg（image/jpeg、30 バイト）\n"
                   "    変換: 無害な形式に変換しました\n"
                   "end\n");
}

static void
test_omitted (void)
{
  /* parts past [limits] parts: one line that counts them, and the
   * removed count includes them */
  g_autoptr (MugaiPolicy) policy = mugai_policy_new_default ();
  policy->limits.parts = 100;
  g_free (policy->notice_template);
  policy->notice_template = g_strdup ("${removed}\n${items}");
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (part_free);
  g_autofree char *n = mugai_notice_render (policy, items, 1500, "");
  g_assert_cmpstr (
      n, ==,
      "1500\n・ほか 1,500 個のパートを削除しました（パートの数が上限 100 を超えたため、"
      "一つずつは記載しません）\n");
}

static MugaiEntryReport *
entry (const char *name, gint64 size, const char *danger, gboolean encrypted)
{
  MugaiEntryReport *e = g_new0 (MugaiEntryReport, 1);
  e->name = g_strdup (name);
  e->size = size;
  e->danger = g_strdup (danger);
  e->encrypted = encrypted;
  return e;
}

static void
test_entries (void)
{
  g_autoptr (MugaiPolicy) policy = mugai_policy_new_default ();
  g_free (policy->notice_template);
  policy->notice_template = g_strdup ("${items}");
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (part_free);
  MugaiPartReport *zip = part (items, "資料.zip", "attachment", "application/zip", 2048,
                               MUGAI_ACTION_REMOVE, MUGAI_FINDING_ARCHIVE, NULL);
  zip->entries = g_ptr_array_new_with_free_func (mugai_entry_report_free);
  g_ptr_array_add (zip->entries, entry ("見積書.xlsx", 10240, NULL, FALSE));
  g_ptr_array_add (zip->entries, entry ("run.js", -1, "スクリプト", TRUE));
  zip->entries_total = 5; /* the listing stopped at its limit */
  g_autofree char *n = mugai_notice_render (policy, items, 0, "");
  g_assert_cmpstr (n, ==,
                   "・資料.zip（application/zip、2,048 バイト）\n"
                   "    削除: 圧縮ファイル（書庫）です\n"
                   "    内容（5 件）:\n"
                   "      見積書.xlsx（10,240 バイト）\n"
                   "      run.js [パスワード付き] ← 危険: スクリプト\n"
                   "      ほか 3 件（一覧の上限を超えました）\n");
}

static void
test_safe_display (void)
{
  static const struct
  {
    const char *in;
    guint max;
    const char *want;
  } cases[] = {
    /* a right-to-left override cannot turn "exe.pdf" into "fdp.exe" */
    { "invoice\xe2\x80\xae"
      "fdp.exe",
      120, "invoice<U+202E>fdp.exe" },
    { "a\tb\r\nc", 120, "a<U+0009>b<U+000D><U+000A>c" },
    { "zero\xe2\x80\x8bwidth", 120, "zero<U+200B>width" },
    { "\xef\xbb\xbf"
      "bom",
      120, "<U+FEFF>bom" },
    { "\xe2\x81\xa6isolate\xe2\x81\xa9", 120, "<U+2066>isolate<U+2069>" },
    { "\xc2\x85"
      "nel",
      120, "<U+0085>nel" },
    { "見積書.pdf", 120, "見積書.pdf" },
    { "見積書.pdf", 3, "見積書…" },
    { "bad\xff", 120, "bad\xef\xbf\xbd" },
    { NULL, 120, "" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = mugai_text_safe_display (cases[i].in, cases[i].max);
      g_assert_cmpstr (got, ==, cases[i].want);
    }
}

static void
test_placeholder (void)
{
  g_autofree char *ja = mugai_notice_placeholder (MUGAI_LANG_JA, "uuencode", "a\xe2\x80\xae.exe");
  g_assert_cmpstr (ja, ==, "[本文中の uuencode 形式のファイル「a<U+202E>.exe」を削除しました]\n");
  g_autofree char *en = mugai_notice_placeholder (MUGAI_LANG_EN, "yEnc", NULL);
  g_assert_cmpstr (en, ==, "[file \"?\" embedded as yEnc was removed from the text]\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/notice/builtin-ja", test_builtin_ja);
  g_test_add_func ("/notice/builtin-en-no-store", test_builtin_en_no_store);
  g_test_add_func ("/notice/template", test_template);
  g_test_add_func ("/notice/omitted", test_omitted);
  g_test_add_func ("/notice/entries", test_entries);
  g_test_add_func ("/notice/safe-display", test_safe_display);
  g_test_add_func ("/notice/placeholder", test_placeholder);
  return g_test_run ();
}
