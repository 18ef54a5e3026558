/*
 * words.c - the catalogue of mugai's own words: English key, Japanese text
 *
 * DESCRIPTION
 *	See words.h.  One entry per text, grouped by the module that writes
 *	it; the English is exactly what the call site passes (it is also
 *	the English output, so changing it here alone changes nothing: the
 *	call site and the key change together, and tests/test-words.c says
 *	when they do not).  The same English text meaning the same thing
 *	everywhere has one entry ("converted" is both an action and the
 *	sandbox's outcome "it was converted").
 *
 *	Japanese formats take their arguments in the English order, or
 *	number them all (%2$ld) where the sentence runs the other way.
 *	The Japanese texts are the ones shown to staff on the LGWAN side:
 *	short and concrete.
 */
#include "words.h"

#include <string.h>

static const MugaiWordsEntry words[] = {
  /* finding.c: the finding categories (the reason in the notice) */
  { "malware detected", "ウイルスを検出しました" },
  /* the release workflow's notices (storer-workflow.c) */
  { "original released", "原本を配送しました" },
  { "The original of a quarantined message was delivered.",
    "隔離されていたメールの原本を配送しました。" },
  { "release requested", "原本の配送依頼" },
  { "The release of a quarantined original was requested. To decide:",
    "隔離されたメールの原本の配送が依頼されました。承認または却下するには:" },
  { "release denied", "配送は承認されませんでした" },
  { "file type not allowed", "通過できない種類のファイルです" },
  { "file name disguises its type", "ファイル名が種類を偽っています" },
  { "encrypted: cannot be inspected", "暗号化されているため検査できません" },
  { "format cannot be inspected", "検査できない形式です" },
  { "signature removed because the content was changed", "本文を変更したため電子署名を外しました" },
  { "file embedded in the text", "本文に埋め込まれたファイルです" },
  { "HTML converted to text", "HTML をテキストに変換しました" },
  { "over a limit", "制限を超えています" },
  { "malformed", "形式が不正です" },
  { "declared charset is wrong", "文字コードの表示が誤っています" },
  { "X-Mugai header from outside removed", "外部から付けられた X-Mugai ヘッダーを削除しました" },
  { "archive", "圧縮ファイル（書庫）です" },
  { "converted to an inert form", "無害な形式に変換しました" },
  { "declared type differs from the content", "ファイルの種類の表示と中身が異なります" },

  /* finding.c: the actions (what was done to a part); "converted" is
   * also the sandbox's outcome for a conversion that succeeded */
  { "kept", "そのまま" },
  { "converted to text", "テキストに変換" },
  { "converted", "変換" },
  { "removed", "削除" },
  { "not used", "不使用" },
  { "rejected", "受信拒否" },

  /* notice.c */
  { "- %s (%s, %s bytes)\n", "・%s（%s、%s バイト）\n" },
  { " (%s)", "（%s）" },
  { "(message body)", "(本文)" },
  { "(no name)", "(名前なし)" },
  { "    Contents (%u files):\n", "    内容（%u 件）:\n" },
  { " (%s bytes)", "（%s バイト）" },
  { " [password-protected]", " [パスワード付き]" },
  { " <- dangerous: %s", " ← 危険: %s" },
  { "      and %u more\n", "      ほか %u 件\n" },
  { "      and %u more (listing limit reached)\n", "      ほか %u 件（一覧の上限を超えました）\n" },
  { "- %s more parts removed (more than %u parts: not listed one by one)\n",
    "・ほか %s 個のパートを削除しました（パートの数が上限 %u "
    "を超えたため、一つずつは記載しません）\n" },
  { "[file \"%s\" embedded as %s was removed from the text]\n",
    "[本文中の %2$s 形式のファイル「%1$s」を削除しました]\n" },

  /* walk.c: a part's detail */
  { "; ", "。" },
  { "dangerous file type: %s", "危険な種類のファイルです: %s" },
  { "declared as text but holds binary data", "テキストと表示されていますが中身はバイナリです" },
  { "unknown transfer encoding", "不明な転送エンコーディングです" },
  { "part larger than %zu octets", "パートが大きすぎます（上限 %zu バイト）" },
  { "more than %u MIME parts; this and later parts removed",
    "パートの数が上限 %u を超えたため、このパートと以降のパートを削除しました" },
  { "MIME nesting deeper than %u; this part and all inside removed",
    "MIME の入れ子が上限 %u を超えたため、このパートと中身をすべて削除しました" },

  { "attached message is empty", "添付されたメールが空です" },
  { "unknown MIME entity", "不明な MIME パートです" },

  /* build.c: a message/rfc822 shown in the body ([sanitize] rfc822 = inline) */
  { "---------- Attached message ----------\n", "---------- 添付されたメール ----------\n" },

  /* textpart.c: text and HTML parts */
  { "no end line: the rest of the text was removed too", "終わりの行がないため以降の本文も削除" },
  { "HTML of %zu octets is larger than %zu",
    "HTML が大きすぎるため表示できません（%zu バイト、上限 %zu バイト）" },
  { "an HTML element with more than %u attributes",
    "HTML の一つの要素に属性が多すぎるため表示できません（上限 %u）" },
  { "rendering the HTML did not end within its time budget",
    "HTML の表示が制限時間内に終わりませんでした" },
  { "%u links", "リンク %u 件" },
  { ", %u whose text differs from the target (marked (!))",
    "、表示と実際の行き先が異なるリンク %u 件（(!) 印）" },
  { "%s%u scripts/embedded objects and %u forms dropped",
    "%sスクリプト等 %u 件とフォーム %u 件を除去" },
  { ", ", "、" },
  { "%struncated at the size limit", "%s長すぎるため途中まで" },

  /* content.c: what a part holds */
  { "password-protected: cannot be scanned", "パスワード付きファイルのため検査できません" },
  { "password-protected: cannot be scanned (%s)",
    "パスワード付きファイルのため検査できません（%s）" },
  { "not fully scanned (%s)", "ウイルス検査を最後まで行えませんでした（%s）" },
  { "extension %s", "拡張子 %s" },
  { "%sdeclared %s", "%s%s" },
  { " and ", "・" },
  { " but the content is %s", " の表示と中身（%s）が異なります" },
  { "document with macros", "マクロ付き文書" },
  { "name disguises its type", "名前が種類を偽っています" },
  { "it holds markup (%s)", "マークアップ（%s）を含みます" },
  { "it is not %s", "中身が %s ではありません" },
  { "its name is not that of %s", "名前が %s のものではありません" },
  { "%s; the page text cannot be attached: %s", "%s。文字のテキストは添付できません: %s" },
  { "the converted file cannot be attached: %s", "変換後のファイルを添付できません: %s" },
  { "Office document with macros (VBA)", "マクロ（VBA）を含む Office 文書です" },
  { "%s holding dangerous files (%u)", "危険なファイルを含む %s です（%u 件）" },
  { "%s nested too deep, too many files or too large to look into",
    "%sの入れ子・件数・展開量が上限を超えたため中身を確認できません" },
  { "%s cannot be read: %s", "%sを読めません: %s" },
  { "%s, %u files", "%s、%u 件のファイル" },

  /* html.c: a link that ran a script, in the text made of the HTML */
  { "script link removed", "リンク（スクリプト）を削除しました" },

  /* doctype.c: what a file is (the notice's type, a detail's "%s") */
  { "unknown type", "不明な形式" },
  { "text", "テキスト" },
  { "HTML document", "HTML 文書" },
  { "PDF document", "PDF 文書" },
  { "Word document", "Word 文書" },
  { "Excel workbook", "Excel ブック" },
  { "PowerPoint presentation", "PowerPoint プレゼンテーション" },
  { "RTF document", "RTF 文書" },
  { "OpenDocument text", "OpenDocument テキスト" },
  { "OpenDocument spreadsheet", "OpenDocument スプレッドシート" },
  { "OpenDocument presentation", "OpenDocument プレゼンテーション" },
  { "Ichitaro document", "一太郎文書" },
  { "DocuWorks document", "DocuWorks 文書" },
  { "Outlook item", "Outlook アイテム" },
  { "OLE compound file", "OLE 複合ファイル" },
  { "JPEG image", "JPEG 画像" },
  { "PNG image", "PNG 画像" },
  { "GIF image", "GIF 画像" },
  { "BMP image", "BMP 画像" },
  { "WebP image", "WebP 画像" },
  { "TIFF image", "TIFF 画像" },
  { "ZIP archive", "ZIP 書庫" },
  { "7-Zip archive", "7-Zip 書庫" },
  { "RAR archive", "RAR 書庫" },
  { "LZH archive", "LZH 書庫" },
  { "tar archive", "tar 書庫" },
  { "gzip file", "gzip 圧縮ファイル" },
  { "bzip2 file", "bzip2 圧縮ファイル" },
  { "xz file", "xz 圧縮ファイル" },
  { "Cabinet archive", "CAB 書庫" },
  { "executable", "実行ファイル" },

  /* filetype.c: dangerous kinds, and why a name lies */
  { "Windows executable", "Windows 実行ファイル" },
  { "MS-DOS executable", "MS-DOS 実行ファイル" },
  { "ELF executable", "ELF 実行ファイル" },
  { "macOS executable", "macOS 実行ファイル" },
  { "Java class file", "Java クラスファイル" },
  { "Windows Installer package", "Windows インストーラー" },
  { "Windows shortcut", "Windows ショートカット" },
  { "disk image (ISO)", "ディスクイメージ (ISO)" },
  { "disk image (VHD)", "ディスクイメージ (VHD)" },
  { "disk image (VHDX)", "ディスクイメージ (VHDX)" },
  { "disk image (DMG)", "ディスクイメージ (DMG)" },
  { "help file", "ヘルプファイル" },
  { "script", "スクリプト" },
  { "HTML/SVG with script", "スクリプトを含む HTML/SVG" },
  { "shortcut", "ショートカット" },
  { "disk image", "ディスクイメージ" },
  { "markup with script", "スクリプトを含むマークアップ" },
  { "bidi control U+%04X", "書字方向の制御文字 U+%04X" },
  { "control character U+%04X", "制御文字 U+%04X" },
  { "zero-width character U+%04X", "幅のない文字 U+%04X" },
  { "%u spaces in a row", "%u 個続く空白" },
  { "double extension .%s.%s", "二重拡張子 .%s.%s" },
  { "name of %ld characters", "%ld 文字の長い名前" },
  { "dangerous extension .%s", "危険な拡張子 .%s" },
  { "trailing dots or spaces", "末尾の点または空白" },

  /* convert.c: what a conversion made */
  { "could not be converted: %s (%.160s)", "変換できませんでした: %s（%.160s）" },
  { "could not be converted: %s", "変換できませんでした: %s" },
  { ", its text extracted", "、その文字をテキストに変換" },
  { "PDF text extracted", "PDF の文字をテキストに変換" },
  { ", then an image-only PDF (no text, links, scripts or macros)",
    "、画像のみの PDF に変換（文字・リンク・スクリプト・マクロ等は含まれません）" },
  { "converted to an image-only PDF (no text, links or scripts)",
    "画像のみの PDF に変換（文字・リンク・スクリプト等は含まれません）" },
  { "; pages 1-%ld of %ld only (pages %ld-%ld left out)",
    "。全 %2$ld ページのうち 1〜%1$ld ページのみ（%3$ld〜%4$ld ページは含まれていません）" },
  { ", %ld pages", "、%ld ページ" },
  { "; the page text could not be extracted: %s", "。文字のテキストは作れませんでした: %s" },
  { "document text extracted (no formatting, embedded files or macros)",
    "文書の文字をテキストに変換（書式・埋め込みファイル・マクロ等は含まれません）" },
  { ", then ", "、" },
  { "read by LibreOffice", "LibreOffice で読み込み" },
  { "laid out as PDF by LibreOffice", "LibreOffice で PDF にレイアウトし" },
  { "image re-encoded (no metadata or hidden data)",
    "画像を再作成（撮影情報などのメタデータや隠しデータは含まれません）" },

  /* sandbox.c: how a filter run ended */
  { "the file could not be converted (unreadable or damaged)",
    "変換できない形式または壊れたファイルです" },
  { "the converter crashed on this file", "変換処理が異常終了しました" },
  { "the converter attempted a forbidden operation on this file",
    "変換処理が禁止された操作を試みました" },
  { "the conversion took too long", "変換が制限時間内に終わりませんでした" },
  { "the converted form was too large", "変換結果が大きすぎます" },
  { "all converters were busy", "変換処理が混み合っています" },
  { "the file could not be converted", "変換できませんでした" },
  { "the file is password-protected and cannot be converted",
    "パスワードで保護されているため変換できません" },
  { "the file is over a conversion limit (pages, pixels, size)",
    "ページ数・画素数などが上限を超えています" },
};

const char *
mugai_words_get (MugaiLang lang, const char *english)
{
  g_return_val_if_fail (english != NULL, "");
  if (lang != MUGAI_LANG_JA)
    return english;
  for (gsize i = 0; i < G_N_ELEMENTS (words); i++)
    if (strcmp (words[i].en, english) == 0)
      return words[i].ja;
  return english;
}

const MugaiWordsEntry *
mugai_words_table (gsize *n_entries)
{
  if (n_entries)
    *n_entries = G_N_ELEMENTS (words);
  return words;
}
