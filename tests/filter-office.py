#!/usr/bin/env python3
"""Tests of filters/mugai-filter-office (TAP on stdout).

Usage: filter-office.py PATH-TO-mugai-filter-office

Builds minimal but valid OOXML and OpenDocument packages with zipfile at
run time, runs the filter on each and compares its output line by line;
then the hostile cases: zip bombs, too many entries, "billion laughs",
external entities, garbage, truncated zips, OLE files (encrypted OOXML
and legacy binary formats).  Every failure must leave stdout empty and
say why in one stderr line.  Standard library only (Python 3.11).
"""

import io
import os
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mugaitest import Tap  # noqa: E402
from ooxml import DECL, R, S, W, content_types, make_zip, rels  # noqa: E402

FILTER = sys.argv[1] if len(sys.argv) > 1 else None
TIMEOUT = 60

MC = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
WPS = 'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'
P = 'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
A = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'


# ---------------------------------------------------------------- docx

def wp(*runs):
    return "<w:p>" + "".join(runs) + "</w:p>"


def wr(text):
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def tc(*paras):
    return "<w:tc><w:tcPr><w:tcW w:w=\"100\" w:type=\"dxa\"/></w:tcPr>" + "".join(paras) + "</w:tc>"


DOCX_BODY = "".join([
    wp('<w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>', wr("見積書")),
    wp(wr("株式会社"), wr("①テスト")),
    wp(wr("〒100-0001 東京都千代田区")),
    wp(wr("品名"), "<w:r><w:tab/></w:r>", wr("数量")),
    wp(wr("一行目"), "<w:r><w:br/></w:r>", wr("二行目")),
    wp(),
    wp(),
    wp(wr("変更"), '<w:del w:id="1" w:author="x"><w:r><w:delText>削除した</w:delText></w:r></w:del>',
       '<w:ins w:id="2" w:author="x">' + wr("追加した") + "</w:ins>",
       '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
       '<w:r><w:instrText> HYPERLINK "http://evil.example/" </w:instrText></w:r>',
       '<w:r><w:fldChar w:fldCharType="separate"/></w:r>', wr("リンク"),
       '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
       '<w:r><w:sym w:font="Wingdings" w:char="F04A"/></w:r>'),
    "<w:tbl><w:tblPr/><w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/></w:tblGrid>",
    "<w:tr>" + tc(wp(wr("品目"))) + tc(wp(wr("単価"))) + tc(wp(wr("備考"))) + "</w:tr>",
    "<w:tr>" + tc(wp(wr("りんご"))) + tc(wp(wr("100"))) + tc(wp(wr("産地")), wp(wr("青森"))) + "</w:tr>",
    "<w:tr>" + tc(wp(wr("外"))) + tc(
        "<w:tbl><w:tr>" + tc(wp(wr("入れ子1"))) + tc(wp(wr("入れ子2"))) + "</w:tr></w:tbl>")
    + tc(wp()) + "</w:tr>",
    "</w:tbl>",
    wp(wr("前"), f'<mc:AlternateContent {MC}><mc:Choice Requires="wps"><w:r><w:drawing>'
       f'<wps:txbx {WPS}><w:txbxContent>{wp(wr("テキストボックス"))}</w:txbxContent></wps:txbx>'
       '</w:drawing></w:r></mc:Choice><mc:Fallback><w:r><w:pict><w:txbxContent>'
       f'{wp(wr("テキストボックス"))}</w:txbxContent></w:pict></w:r></mc:Fallback>'
       '</mc:AlternateContent>', wr("後")),
    wp(wr("R&amp;D &lt;東京&gt; \x09タブ")),
    '<w:sectPr><w:headerReference w:type="default" r:id="rId5"/></w:sectPr>',
])

DOCX_EXPECTED = [
    "見積書",
    "株式会社①テスト",
    "〒100-0001 東京都千代田区",
    "品名\t数量",
    "一行目",
    "二行目",
    "",
    "変更追加したリンク",
    "品目\t単価\t備考",
    "りんご\t100\t産地 青森",
    "外\t入れ子1 入れ子2",
    "前",
    "テキストボックス",
    "後",
    "R&D <東京> \tタブ",
    "",
    "[ヘッダー]",
    "社外秘",
    "",
    "[脚注]",
    "脚注の本文",
]


def docx(path, body=DOCX_BODY, document=None, extra=()):
    if document is None:
        document = f'{DECL}<w:document {W} {R}><w:body>{body}</w:body></w:document>'
    return make_zip(path, [
        ("[Content_Types].xml", content_types(
            ("/word/document.xml",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"))),
        ("_rels/.rels", rels(("rId1", "officeDocument", "word/document.xml"))),
        ("word/document.xml", document),
        ("word/_rels/document.xml.rels", rels(
            ("rId5", "header", "header1.xml"), ("rId6", "footnotes", "footnotes.xml"),
            ("rId7", "hyperlink", "http://example.com/\" TargetMode=\"External"),
            ("rId8", "styles", "styles.xml"))),
        ("word/header1.xml", f'{DECL}<w:hdr {W}>{wp(wr("社外秘"))}</w:hdr>'),
        ("word/footnotes.xml", f'{DECL}<w:footnotes {W}><w:footnote w:type="separator" w:id="-1">'
         f'<w:p><w:r><w:separator/></w:r></w:p></w:footnote><w:footnote w:id="1">'
         f'{wp(wr("脚注の本文"))}</w:footnote></w:footnotes>'),
        ("word/styles.xml", f'{DECL}<w:styles {W}/>'),
        ("word/media/image1.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
    ] + list(extra))


# ---------------------------------------------------------------- xlsx

def xlsx(path):
    sst = (f'{DECL}<sst {S} count="4" uniqueCount="4">'
           "<si><t>品名</t></si>"
           "<si><t>りんご</t><rPh sb=\"0\" eb=\"3\"><t>リンゴ</t></rPh>"
           "<phoneticPr fontId=\"1\"/></si>"
           "<si><r><rPr><b/></rPr><t>赤い</t></r><r><t>りんご</t></r></si>"
           "<si><t>一行目_x000D_\n二行目</t></si>"
           "</sst>")
    sales = (f'{DECL}<worksheet {S} {R}><dimension ref="A1:E3"/><sheetData>'
             '<row r="1"><c r="A1" t="s"><v>0</v></c>'
             '<c r="B1" t="inlineStr"><is><t>数量</t></is></c>'
             '<c r="D1"><v>12.5</v></c></row>'
             '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="b"><v>1</v></c>'
             '<c r="C2" t="str"><f>A1&amp;"計"</f><v>合計</v></c><c r="D2"><v>100</v></c>'
             '<c r="E2" s="1"/></row>'
             '<row r="3"><c r="A3" s="2"/></row>'
             '<row r="5"><c r="C5" t="s"><v>1</v></c><c r="E5" t="e"><v>#DIV/0!</v></c></row>'
             '</sheetData></worksheet>')
    costs = (f'{DECL}<worksheet {S} {R}><sheetData>'
             '<row r="1"><c r="A1" t="inlineStr"><is><t>経費</t></is></c>'
             '<c r="B1" t="s"><v>3</v></c><c r="C1" t="b"><v>0</v></c></row>'
             '</sheetData></worksheet>')
    workbook = (f'{DECL}<workbook {S} {R}><sheets>'
                '<sheet name="売上" sheetId="2" r:id="rId2"/>'
                '<sheet name="経費&amp;雑費" sheetId="1" r:id="rId1"/>'
                '</sheets></workbook>')
    return make_zip(path, [
        ("[Content_Types].xml", content_types()),
        ("_rels/.rels", rels(("rId1", "officeDocument", "xl/workbook.xml"))),
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", rels(
            ("rId1", "worksheet", "worksheets/sheet1.xml"),
            ("rId2", "worksheet", "/xl/worksheets/sheet2.xml"),
            ("rId3", "sharedStrings", "sharedStrings.xml"))),
        ("xl/sharedStrings.xml", sst),
        ("xl/worksheets/sheet1.xml", costs),
        ("xl/worksheets/sheet2.xml", sales),
    ])


XLSX_EXPECTED = [
    "[シート: 売上]",
    "品名\t数量\t\t12.5",
    "赤いりんご\tTRUE\t合計\t100",
    "\t\tりんご\t\t#DIV/0!",
    "",
    "[シート: 経費&雑費]",
    "経費\t一行目 二行目\tFALSE",
]


# ---------------------------------------------------------------- pptx

def slide(*paras, table=None):
    sps = "".join(
        f'<p:sp><p:nvSpPr><p:cNvPr id="{i + 2}" name="t"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr>'
        f'<p:spPr/><p:txBody><a:bodyPr/><a:lstStyle/>{p}</p:txBody></p:sp>'
        for i, p in enumerate(paras))
    if table:
        rows = "".join("<a:tr h=\"1\">" + "".join(
            f"<a:tc><a:txBody><a:bodyPr/><a:p><a:r><a:t>{c}</a:t></a:r></a:p></a:txBody>"
            "<a:tcPr/></a:tc>" for c in row) + "</a:tr>" for row in table)
        sps += ('<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="9" name="tb"/>'
                '<p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr><p:xfrm/><a:graphic>'
                '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/table">'
                f'<a:tbl><a:tblPr/><a:tblGrid><a:gridCol w="1"/></a:tblGrid>{rows}</a:tbl>'
                '</a:graphicData></a:graphic></p:graphicFrame>')
    return (f'{DECL}<p:sld {A} {P} {R}><p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/>'
            f'<p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>{sps}</p:spTree></p:cSld></p:sld>')


def ap(*texts, br=False):
    runs = "<a:br/>".join(f"<a:r><a:rPr lang=\"ja-JP\"/><a:t>{t}</a:t></a:r>" for t in texts) \
        if br else "".join(f"<a:r><a:t>{t}</a:t></a:r>" for t in texts)
    return f"<a:p><a:pPr/>{runs}<a:endParaRPr/></a:p>"


def pptx(path):
    presentation = (f'{DECL}<p:presentation {A} {P} {R}><p:sldIdLst>'
                    '<p:sldId id="256" r:id="rId3"/><p:sldId id="257" r:id="rId1"/>'
                    '<p:sldId id="258" r:id="rId2"/></p:sldIdLst></p:presentation>')
    return make_zip(path, [
        ("[Content_Types].xml", content_types()),
        ("_rels/.rels", rels(("rId1", "officeDocument", "ppt/presentation.xml"))),
        ("ppt/presentation.xml", presentation),
        ("ppt/_rels/presentation.xml.rels", rels(
            ("rId1", "slide", "slides/slide1.xml"), ("rId2", "slide", "slides/slide2.xml"),
            ("rId3", "slide", "slides/slide3.xml"))),
        ("ppt/slides/slide1.xml", slide(ap("二番目のスライド"), ap("本文", "続き", br=True))),
        ("ppt/slides/slide2.xml", slide(ap("三番目"), table=[["項目", "値"], ["A", "1"]])),
        ("ppt/slides/slide3.xml", slide(ap("表紙"), ap("株式会社", "テスト"))),
    ])


PPTX_EXPECTED = [
    "[スライド 1]",
    "表紙",
    "株式会社テスト",
    "",
    "[スライド 2]",
    "二番目のスライド",
    "本文",
    "続き",
    "",
    "[スライド 3]",
    "三番目",
    "項目\t値",
    "A\t1",
]


# ---------------------------------------------------------------- ODF

ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
          'xmlns:dc="http://purl.org/dc/elements/1.1/"')


def odf(path, mimetype, body):
    content = (f'{DECL}<office:document-content {ODF_NS} office:version="1.2">'
               f'<office:automatic-styles/><office:body>{body}</office:body>'
               '</office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return path


ODT_BODY = ("<office:text><text:h text:outline-level=\"1\">議事録</text:h>\n"
            "<text:p>  日時：\n   <text:span>四月一日</text:span>"
            "<text:s text:c=\"2\"/>午後<text:tab/>会議室</text:p>\n"
            "<text:p/><text:p/>\n"
            "<text:list><text:list-item><text:p>項目<text:line-break/>二行目</text:p>"
            "</text:list-item></text:list>\n"
            "<text:p>注記<office:annotation><dc:creator>作者</dc:creator>"
            "<text:p>コメント</text:p></office:annotation>あり</text:p>"
            "<table:table table:name=\"表1\"><table:table-column table:number-columns-repeated=\"2\"/>"
            "<table:table-row><table:table-cell><text:p>甲</text:p></table:table-cell>"
            "<table:table-cell><text:p>乙</text:p><text:p>丙</text:p></table:table-cell>"
            "</table:table-row></table:table>"
            "<text:tracked-changes><text:changed-region><text:deletion>"
            "<text:p>消した</text:p></text:deletion></text:changed-region></text:tracked-changes>"
            "</office:text>")

ODT_EXPECTED = [
    "議事録",
    "日時： 四月一日  午後\t会議室",
    "",
    "項目",
    "二行目",
    "注記あり",
    "甲\t乙 丙",
]

ODS_BODY = ("<office:spreadsheet>"
            "<table:table table:name=\"集計\">"
            "<table:table-row><table:table-cell office:value-type=\"string\"><text:p>名前</text:p>"
            "</table:table-cell><table:table-cell table:number-columns-repeated=\"2\"/>"
            "<table:table-cell office:value-type=\"float\" office:value=\"3\"><text:p>3</text:p>"
            "</table:table-cell><table:table-cell table:number-columns-repeated=\"16000\"/>"
            "</table:table-row>"
            "<table:table-row table:number-rows-repeated=\"2\"><table:table-cell "
            "table:number-columns-repeated=\"2\"><text:p>同じ</text:p></table:table-cell>"
            "</table:table-row>"
            "<table:table-row table:number-rows-repeated=\"1048570\"><table:table-cell "
            "table:number-columns-repeated=\"1024\"/></table:table-row>"
            "</table:table>"
            "<table:table table:name=\"Sheet2\"><table:table-row><table:table-cell>"
            "<text:p>二枚目</text:p></table:table-cell></table:table-row></table:table>"
            "</office:spreadsheet>")

ODS_EXPECTED = [
    "[シート: 集計]",
    "名前\t\t\t3",
    "同じ\t同じ",
    "同じ\t同じ",
    "",
    "[シート: Sheet2]",
    "二枚目",
]

ODP_BODY = ('<office:presentation><draw:page draw:name="p1"><draw:frame><draw:text-box>'
            "<text:p>はじめに</text:p></draw:text-box></draw:frame></draw:page>"
            '<draw:page draw:name="p2"><draw:frame><draw:text-box><text:p>おわり</text:p>'
            "</draw:text-box></draw:frame></draw:page></office:presentation>")

ODP_EXPECTED = ["[Slide 1]", "はじめに", "", "[Slide 2]", "おわり"]


# ---------------------------------------------------------------- hostile

LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE w:document [\n<!ENTITY lol "lol">\n'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
                    for i in range(1, 10))
          + f']>\n<w:document {W}><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>'
          "</w:body></w:document>")

XXE = ('<?xml version="1.0"?>\n<!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
       f'<w:document {W}><w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>')


def bomb(path, name="word/document.xml", size=200 * 1024 * 1024):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", content_types())
        z.writestr("_rels/.rels", rels(("rId1", "officeDocument", "word/document.xml")))
        with z.open(name, "w") as f:
            chunk = bytes(1024 * 1024)
            for _ in range(size // len(chunk)):
                f.write(chunk)
    return path


def ole(path, names):
    """A compound file header and one directory sector (MS-CFB 2.2, 2.6)."""
    header = bytearray(512)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9)
    struct.pack_into("<I", header, 0x30, 0)
    directory = bytearray()
    for i, (name, kind) in enumerate([("Root Entry", 5)] + [(n, 2) for n in names]):
        entry = bytearray(128)
        raw = name.encode("utf-16-le") + b"\0\0"
        entry[0:len(raw)] = raw
        struct.pack_into("<HB", entry, 64, len(raw), kind)
        directory += entry
    directory += bytes(512 - len(directory) % 512) if len(directory) % 512 else b""
    body = "Word text that mentions EncryptionInfo as words".encode("utf-16-le")
    with open(path, "wb") as f:
        f.write(bytes(header) + bytes(directory) + body)
    return path


# ---------------------------------------------------------------- harness

def run(path, *args, data=None):
    if data is None:
        with open(path, "rb") as f:
            data = f.read()
    start = time.monotonic()
    p = subprocess.run([FILTER, *args], input=data, capture_output=True, timeout=TIMEOUT)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"), time.monotonic() - start


def check_text(tap, desc, path, expected, *args, kind):
    code, out, err, _ = run(path, *args)
    want = "".join(line + "\n" for line in expected).encode()
    last = err.strip().splitlines()[-1] if err.strip() else ""
    tap.ok(code == 0 and out == want and last == f"info kind={kind}", desc,
           f"exit {code}, stderr {err!r}\ngot:\n{out.decode('utf-8', 'replace')}"
           f"want:\n{want.decode()}")


def check_fail(tap, desc, path, want_code, *args, data=None, reason=None):
    """The filter refused: its exit code, nothing on stdout, and its last
    line names the reason (which limit, which check), so the refusal is
    known to come from where the test says.  How long a refusal takes is
    measured by bench/refusals.py, not asserted here."""
    code, out, err, seconds = run(path, *args, data=data)
    lines = err.strip().splitlines()
    good = (code == want_code and out == b"" and len(lines) >= 1
            and lines[-1].startswith("error reason=")
            and (reason is None or reason in lines[-1]))
    tap.ok(good, desc, f"exit {code} (want {want_code}), {seconds:.2f}s, "
           f"{len(out)} octets on stdout, stderr {err!r}")


def main():
    if FILTER is None:
        print("1..0 # SKIP no filter given")
        return 0
    tap = Tap()
    tap.plan(35)
    with tempfile.TemporaryDirectory() as tmp:
        t = lambda name: os.path.join(tmp, name)  # noqa: E731

        check_text(tap, "docx: paragraphs, tabs, breaks, revisions, fields, tables, "
                   "text box once, header and footnote sections", docx(t("a.docx")),
                   DOCX_EXPECTED, kind="docx")
        en = [{"[ヘッダー]": "[Header]", "[脚注]": "[Footnotes]"}.get(x, x) for x in DOCX_EXPECTED]
        check_text(tap, "docx: --lang en labels", t("a.docx"), en, "--lang", "en", kind="docx")
        check_text(tap, "xlsx: workbook order, shared/inline strings without rPh, gaps, "
                   "booleans, formula results, numbers as written", xlsx(t("a.xlsx")),
                   XLSX_EXPECTED, kind="xlsx")
        check_text(tap, "pptx: slides in presentation order, breaks, tables",
                   pptx(t("a.pptx")), PPTX_EXPECTED, kind="pptx")
        check_text(tap, "odt: headings, white space, text:s, tab, line break, lists, "
                   "no annotations or deletions, table",
                   odf(t("a.odt"), "application/vnd.oasis.opendocument.text", ODT_BODY),
                   ODT_EXPECTED, kind="odt")
        check_text(tap, "ods: sheet labels, repeated cells and rows",
                   odf(t("a.ods"), "application/vnd.oasis.opendocument.spreadsheet", ODS_BODY),
                   ODS_EXPECTED, kind="ods")
        check_text(tap, "odp: pages (--lang en)",
                   odf(t("a.odp"), "application/vnd.oasis.opendocument.presentation", ODP_BODY),
                   ODP_EXPECTED, "--lang", "en", kind="odp")

        # UTF-16 part, strict namespace-free fallback to the probe names,
        # upper-case entry names (OPC names ignore case)
        doc16 = (f'<?xml version="1.0" encoding="UTF-16"?><w:document {W}><w:body>'
                 f'{wp(wr("ユーティーエフ16"))}</w:body></w:document>').encode("utf-16")
        path = make_zip(t("u16.docx"), [
            ("[Content_Types].xml", content_types()),
            ("Word/Document.XML", doc16)])
        check_text(tap, "docx: UTF-16 part, no package relationships, names in another case",
                   path, ["ユーティーエフ16"], kind="docx")

        path = docx(t("ctl.docx"), body=wp(wr("a_x0007_b")) + wp(wr("\u2028c\u00a0d")))
        check_text(tap, "docx: text kept as written (no xstring decoding outside xlsx)", path,
                   ["a_x0007_b", "\u2028c\u00a0d"] + DOCX_EXPECTED[-6:], kind="docx")

        path = docx(t("names.docx"), extra=[("../evil.xml", "<x/>"), ("/abs.xml", "<x/>")])
        check_text(tap, "docx: entries named ../x and /x are ignored", path, DOCX_EXPECTED,
                   kind="docx")

        code, out, err, _ = run(t("a.docx"), "--max-output", "20")
        tap.ok(code == 3 and out == b"", "--max-output reached: exit 3, no output",
               f"exit {code} {err!r}")

        # zip bombs and limits
        check_fail(tap, "zip bomb (200 MB of zeros in document.xml): exit 3, stopped by --max-entry",
                   bomb(t("bomb.docx")), 3, reason="--max-entry")
        check_fail(tap, "zip bomb under a larger --max-entry: --max-total stops it",
                   t("bomb.docx"), 3, "--max-entry", str(300 * 1024 * 1024), "--max-total",
                   str(16 * 1024 * 1024), reason="--max-total")
        check_fail(tap, "--max-entry 100 on an ordinary docx: exit 3", t("a.docx"), 3,
                   "--max-entry", "100", reason="--max-entry")
        check_fail(tap, "--max-entries 3 on a docx of 8 entries: exit 3", t("a.docx"), 3,
                   "--max-entries", "3", reason="--max-entries")
        check_fail(tap, "--max-input 1000 on a larger document: exit 3", t("a.docx"), 3,
                   "--max-input", "1000")
        path = bomb(t("bomb.png.docx"), name="word/media/big.bin")
        check_fail(tap, "a bomb in a part the text does not need is never inflated", path, 1,
                   reason="not an Office")

        # XML attacks
        check_fail(tap, "billion laughs in document.xml: exit 1, refused at its document type "
                   "(before any entity is expanded)",
                   docx(t("laughs.docx"), document=LAUGHS), 1, reason="document type")
        check_fail(tap, "external entity (XXE) in document.xml: exit 1",
                   docx(t("xxe.docx"), document=XXE), 1, reason="document type")
        check_fail(tap, "undeclared entity reference: exit 1",
                   docx(t("ent.docx"), body=wp(wr("&foo;"))), 1)
        check_fail(tap, "malformed XML: exit 1", docx(t("bad.docx"), body="<w:p><w:r>"), 1)
        deep = "<w:sdt><w:sdtContent>" * 300 + "</w:sdtContent></w:sdt>" * 300
        check_fail(tap, "elements nested 600 deep: exit 1", docx(t("deep.docx"), body=deep), 1)
        check_fail(tap, "an XML part in Shift_JIS-less EBCDIC/UCS-4 guise: exit 1",
                   docx(t("ucs4.docx"), document="\0\0\0<x/>"), 1)

        # not documents
        check_fail(tap, "garbage: exit 1", None, 1, data=os.urandom(4096),
                   reason="not an Office Open XML or OpenDocument file")
        check_fail(tap, "empty input: exit 1", None, 1, data=b"")
        with open(t("a.docx"), "rb") as f:
            whole = f.read()
        check_fail(tap, "truncated zip: exit 1", None, 1, data=whole[:len(whole) // 2])
        check_fail(tap, "zip with no document in it: exit 1",
                   make_zip(t("plain.zip"), [("readme.txt", "hello")]), 1,
                   reason="not an Office Open XML or OpenDocument file")
        check_fail(tap, "two entries whose names differ only in case: exit 1",
                   docx(t("dup.docx"), extra=[("WORD/document.xml", "<x/>")]), 1)
        check_fail(tap, "pptx whose slide part is missing: exit 1",
                   make_zip(t("noslide.pptx"), [
                       ("[Content_Types].xml", content_types()),
                       ("_rels/.rels", rels(("rId1", "officeDocument", "ppt/presentation.xml"))),
                       ("ppt/presentation.xml",
                        f'{DECL}<p:presentation {P} {R}><p:sldIdLst><p:sldId id="256" '
                        'r:id="rId9"/></p:sldIdLst></p:presentation>')]), 1)
        twice = (f'{DECL}<workbook {S} {R}><sheets><sheet name="a" sheetId="1" r:id="rId1"/>'
                 '<sheet name="b" sheetId="2" r:id="rId1"/></sheets></workbook>')
        check_fail(tap, "xlsx listing one sheet part twice: exit 1",
                   make_zip(t("twice.xlsx"), [
                       ("[Content_Types].xml", content_types()),
                       ("_rels/.rels", rels(("rId1", "officeDocument", "xl/workbook.xml"))),
                       ("xl/workbook.xml", twice),
                       ("xl/_rels/workbook.xml.rels",
                        rels(("rId1", "worksheet", "worksheets/sheet1.xml"))),
                       ("xl/worksheets/sheet1.xml", f"<worksheet {S}/>")]), 1,
                   reason="listed twice")
        many = (f'{DECL}<p:presentation {P} {R}><p:sldIdLst>'
                + '<p:sldId id="256" r:id="rId1"/>' * 20000 + "</p:sldIdLst></p:presentation>")
        check_fail(tap, "pptx listing more slides than --max-entries: exit 3",
                   make_zip(t("many.pptx"), [
                       ("[Content_Types].xml", content_types()),
                       ("_rels/.rels", rels(("rId1", "officeDocument", "ppt/presentation.xml"))),
                       ("ppt/presentation.xml", many)]), 3, reason="--max-entries")
        check_fail(tap, "OLE file with an EncryptionInfo stream: exit 2 (encrypted)",
                   ole(t("enc.docx"), ["EncryptionInfo", "EncryptedPackage"]), 2)
        check_fail(tap, "OLE file without one (legacy .doc): exit 1",
                   ole(t("old.doc"), ["WordDocument", "1Table"]), 1, reason="legacy binary")

        # usage
        for args in (["--lang", "fr"], ["--max-entry", "0"]):
            code, out, err, _ = run(None, *args, data=b"")
            tap.ok(code == 64 and out == b"", f"bad usage {' '.join(args)}: exit 64",
                   f"exit {code} {err!r}")
    return tap.exit_code()


if __name__ == "__main__":
    sys.exit(main())
