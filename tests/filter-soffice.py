#!/usr/bin/env python3
"""Tests of filters/mugai-filter-soffice (filters/soffice.c) (TAP on stdout).

Usage: filter-soffice.py PATH-TO-mugai-filter-soffice

What is checked, each run of the filter in a fresh temporary directory as
its current directory (it writes in/, profile/ and out/ there), with a
timeout:

  - Real documents with Japanese text, made at run time, converted by the
    real LibreOffice (/usr/bin/soffice) through the filter: an RTF written
    by hand (\\uN? escapes), an .odt and a .docx and an .xlsx made with
    zipfile, and the legacy binary .doc, .xls and .ppt made from
    OpenDocument files by LibreOffice itself (soffice --convert-to, with a
    throw-away profile).  The output must start with %PDF-, pass
    `qpdf --check`, and `pdftotext` must give the text in order (the cells
    of a sheet row by row, the text of each slide on its own page).
  - A document whose section links a local file: the file's contents must
    not reach the PDF.
  - Failures: garbage, a zip that holds no document, bad usage, a missing
    LibreOffice; exit status, nothing on standard output, one "error:"
    line (the legacy formats are read with their own import filter, so
    LibreOffice does not take garbage for plain text).
  - The confinement, shown by a fake LibreOffice (a /usr/bin/python3
    script given as --soffice) that reports what it saw and what it could
    do as JSON in out/document.pdf, which the filter copies to its
    standard output: its command line, environment and standard
    descriptors; socket() of every family but AF_UNIX, and of every Unix
    type but SOCK_STREAM, failing with EACCES; connect() to a Unix socket
    this test listens on failing with EACCES; unshare, clone with
    namespace flags, setns, ptrace, mount, bpf, keyctl, io_uring,
    process_vm_readv and any execve after the one that started it
    killing the caller with SIGSYS; clone3 failing with ENOSYS, setsid
    and setpgid with EPERM, while fork and threads keep working;
    PR_SET_PDEATHSIG.
    And how the filter starts it: soffice.bin beside the real path of
    --soffice rather than the shell script, started again after status 81
    (a new profile's first start), at most three times; a LibreOffice
    killed by a signal or making no PDF is an error.
  - The LibreOffice profile the filter writes (registrymodifications.xcu,
    where -env:UserInstallation points): macros off (MacroSecurityLevel 3,
    DisableMacrosExecution), links never updated, Java off.

Standard library only (Python 3.11), plus LibreOffice, qpdf and
poppler-utils (pdftotext); a subtest whose tools are missing is skipped.
"""

import hashlib
import io
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
import xml.etree.ElementTree as ET
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mugaitest as mt  # noqa: E402
from mugaitest import CheckFailed, check  # noqa: E402
from ooxml import DECL, R, S, content_types, make_zip, rels  # noqa: E402
from ooxml import docx as ooxml_docx  # noqa: E402

FILTER = None
TMP = None
TIMEOUT = 120
SOFFICE = "/usr/bin/soffice"
FAKE_PYTHON = "/usr/bin/python3"  # the fake's interpreter: the filter sets PATH=/usr/bin:/bin
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
# In the filter's environment, never in LibreOffice's
LEAK_VAR, LEAK_VALUE = "MUGAI_TEST_SOFFICE_LEAK", "must-not-reach-libreoffice"
SECRET_MARKER = "MUGAI-SECRET-4471-local-file"

REAL = ("soffice", "pdftotext", "qpdf")  # what the real-document subtests need
FAKE = ("python3",)                      # what the fake-LibreOffice subtests need


# ---------------------------------------------------------------- documents

def rtf_escape(text):
    """RTF text with every non-ASCII character as \\uN? (N a signed 16-bit
    number, UTF-16 code units; \\uc1: one fallback character, "?")."""
    out = []
    for ch in text:
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ord(ch) < 0x80:
            out.append(ch)
        else:
            units = ch.encode("utf-16-le")
            for i in range(0, len(units), 2):
                n = int.from_bytes(units[i:i + 2], "little")
                out.append("\\u%d?" % (n - 0x10000 if n >= 0x8000 else n))
    return "".join(out)


RTF_TEXT = ["見積書", "令和8年度 予算", "株式会社テスト 御中"]


def rtf(path):
    body = "".join(rtf_escape(p) + "\\par\n" for p in RTF_TEXT)
    with open(path, "w", encoding="ascii") as f:
        f.write("{\\rtf1\\ansi\\ansicpg932\\deff0\\uc1\n"
                "{\\fonttbl{\\f0\\fnil\\fcharset128 IPAGothic;}}\n"
                "\\f0\\fs28\n" + body + "}\n")
    return path


ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
          'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
          'xmlns:xlink="http://www.w3.org/1999/xlink"')


def odf(path, kind, body):
    """kind: text, spreadsheet or presentation."""
    mimetype = "application/vnd.oasis.opendocument." + kind
    content = (f'{DECL}<office:document-content {ODF_NS} office:version="1.2">'
               f'<office:body>{body}</office:body></office:document-content>')
    manifest = (f'{DECL}<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:'
                'xmlns:manifest:1.0" manifest:version="1.2">'
                f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
                '<manifest:file-entry manifest:full-path="content.xml" '
                'manifest:media-type="text/xml"/></manifest:manifest>')
    return make_zip(path, [("mimetype", mimetype), ("content.xml", content),
                           ("META-INF/manifest.xml", manifest)])


ODT_TEXT = ["議事録", "令和8年度 予算案について", "出席者 山田 鈴木", "以上"]


def odt(path):
    body = ('<office:text><text:h text:outline-level="1">%s</text:h>%s</office:text>'
            % (ODT_TEXT[0], "".join(f"<text:p>{p}</text:p>" for p in ODT_TEXT[1:])))
    return odf(path, "text", body)


def odt_linking(path, target):
    """A section whose source is a local file, with cached text of its own."""
    body = ('<office:text><text:p>リンクの前</text:p>'
            '<text:section text:name="S1"><text:section-source '
            f'xlink:href="file://{target}" xlink:type="simple" text:filter-name="Text"/>'
            '<text:p>cached</text:p></text:section>'
            '<text:p>リンクの後</text:p></office:text>')
    return odf(path, "text", body)


SHEET_NAME = "売上"
SHEET_ROWS = [["品名", "数量"], ["りんご", "12"], ["みかん", "30"]]


def ods(path):
    def cell(v):
        if v.isdigit():
            return (f'<table:table-cell office:value-type="float" office:value="{v}">'
                    f'<text:p>{v}</text:p></table:table-cell>')
        return f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'
    rows = "".join("<table:table-row>" + "".join(cell(v) for v in row) + "</table:table-row>"
                   for row in SHEET_ROWS)
    return odf(path, "spreadsheet", f'<office:spreadsheet><table:table table:name="{SHEET_NAME}">'
               f'{rows}</table:table></office:spreadsheet>')


SLIDES = [["令和8年度 事業計画", "表紙"], ["予算の概要", "以上"]]


def odp(path):
    pages = "".join(
        f'<draw:page draw:name="p{n}"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" '
        'svg:height="10cm"><draw:text-box>' + "".join(f"<text:p>{p}</text:p>" for p in paras)
        + "</draw:text-box></draw:frame></draw:page>" for n, paras in enumerate(SLIDES, 1))
    return odf(path, "presentation", f"<office:presentation>{pages}</office:presentation>")


DOCX_TEXT = ["見積書", "令和8年度 予算"]
DOCX_TABLE = [["品目", "単価"], ["りんご", "100円"]]


def docx(path):
    def p(text):
        return f'<w:p><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'

    def row(*cells):
        return "<w:tr>" + "".join(f"<w:tc>{p(c)}</w:tc>" for c in cells) + "</w:tr>"
    body = (p(DOCX_TEXT[0]) + p(DOCX_TEXT[1])
            + '<w:tbl><w:tblPr/><w:tblGrid><w:gridCol w:w="3000"/><w:gridCol w:w="3000"/>'
            '</w:tblGrid>' + "".join(row(*r) for r in DOCX_TABLE) + "</w:tbl><w:p/>")
    return ooxml_docx(path, body)


def docx_ms_fonts(path):
    """Paragraphs in the fonts Japanese Word documents name (ＭＳ 明朝,
    ＭＳ Ｐゴシック, MS UI Gothic), which no Debian machine has."""
    def p(text, font):
        return (f'<w:p><w:r><w:rPr><w:rFonts w:ascii="{font}" w:eastAsia="{font}" w:hAnsi="{font}"/>'
                f'</w:rPr><w:t xml:space="preserve">{text}</w:t></w:r></w:p>')
    body = "".join(p(t, f) for t, f in MS_FONT_TEXT)
    return ooxml_docx(path, body)


MS_FONT_TEXT = [("御見積書　令和8年度", "ＭＳ 明朝"), ("株式会社①テスト 御中", "ＭＳ Ｐゴシック"),
                ("髙橋様・﨑山様（環境依存文字）", "MS UI Gothic")]


def xlsx(path):
    def c(ref, v):
        if v.isdigit():
            return f'<c r="{ref}"><v>{v}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>'
    rows = "".join(f'<row r="{r}">' + "".join(c("AB"[i] + str(r), v) for i, v in enumerate(row))
                   + "</row>" for r, row in enumerate(SHEET_ROWS, 1))
    return make_zip(path, [
        ("[Content_Types].xml", content_types(
            ("/xl/workbook.xml",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
            ("/xl/worksheets/sheet1.xml",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"))),
        ("_rels/.rels", rels(("rId1", "officeDocument", "xl/workbook.xml"))),
        ("xl/workbook.xml", f'{DECL}<workbook {S} {R}><sheets><sheet name="{SHEET_NAME}" '
         'sheetId="1" r:id="rId1"/></sheets></workbook>'),
        ("xl/_rels/workbook.xml.rels", rels(("rId1", "worksheet", "worksheets/sheet1.xml"))),
        ("xl/worksheets/sheet1.xml", f"{DECL}<worksheet {S}><sheetData>{rows}</sheetData>"
         "</worksheet>"),
    ])


def legacy(src, fmt):
    """src converted to .doc, .xls or .ppt by the real LibreOffice, outside
    the filter, with a profile of its own; returns the new file's path."""
    outdir = tempfile.mkdtemp(prefix="legacy-", dir=TMP)
    env = {"HOME": TMP, "TMPDIR": TMP, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
           "SAL_USE_VCLPLUGIN": "svp"}
    argv = [SOFFICE, "--headless", "--norestore", "--nologo", "--nolockcheck",
            "-env:UserInstallation=file://" + os.path.join(TMP, "lo-profile"),
            "--convert-to", fmt, "--outdir", outdir, src]
    code, out, err, _ = run_group(argv, b"", cwd=outdir, env=env)
    path = os.path.join(outdir, os.path.splitext(os.path.basename(src))[0] + "." + fmt)
    check(os.path.exists(path), "soffice --convert-to %s made nothing (exit %s): %s" % (
        fmt, code, (out + err).decode("utf-8", "replace")[-500:]))
    with open(path, "rb") as f:
        head = f.read(8)
    check(head == OLE_MAGIC, "%s is not an OLE2 compound file: %r" % (path, head))
    return path


# ---------------------------------------------------------------- running

def run_group(argv, data, cwd, env=None, timeout=TIMEOUT):
    """(exit status or None on timeout, stdout, stderr, seconds), by
    mugaitest.run: its own process group, all of it killed on timeout."""
    r = mt.run(argv, timeout=timeout, env=env if env is not None else dict(os.environ),
               input=data, cwd=cwd)
    return None if r.timed_out else r.rc, r.stdout, r.stderr, r.elapsed


class Run:
    def __init__(self, code, out, err, seconds, workdir):
        self.code, self.out, self.seconds, self.workdir = code, out, seconds, workdir
        self.err = err.decode("utf-8", "replace")
        lines = self.err.strip().splitlines()
        self.last = lines[-1] if lines else ""

    def describe(self):
        status = "timed out" if self.code is None else "exit %d" % self.code
        return "%s after %.1f s, %d octets on stdout, stderr %r" % (
            status, self.seconds, len(self.out), self.err[-600:])


def run_filter(*args, data=b""):
    """The filter in a fresh directory of its own (removed afterwards), with
    this process's environment plus LEAK_VAR."""
    workdir = tempfile.mkdtemp(prefix="work-", dir=TMP)
    env = dict(os.environ)
    env[LEAK_VAR] = LEAK_VALUE
    try:
        code, out, err, seconds = run_group([FILTER, *args], data, cwd=workdir, env=env)
        return Run(code, out, err, seconds, os.path.realpath(workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def to_pdf(path, ext):
    """Runs the filter on a document; checks the PDF (exit 0, info line,
    %PDF-, qpdf --check) and returns its text by pdftotext: (reading order,
    -layout)."""
    r = run_filter("--ext", ext, data=read(path))
    check(r.code == 0 and r.out.startswith(b"%PDF-"), r.describe())
    check(r.last == "info type=application/pdf size=%d" % len(r.out), r.describe())
    pdf = path + ".pdf"
    with open(pdf, "wb") as f:
        f.write(r.out)
    qc = subprocess.run(["qpdf", "--check", pdf], capture_output=True, text=True,
                        timeout=TIMEOUT)
    check(qc.returncode == 0, "qpdf --check: exit %d\n%s%s" % (
        qc.returncode, qc.stdout[-800:], qc.stderr[-800:]))
    texts = []
    for extra in ([], ["-layout"]):
        p = subprocess.run(["pdftotext", "-enc", "UTF-8", *extra, pdf, "-"], capture_output=True,
                           timeout=TIMEOUT)
        check(p.returncode == 0, "pdftotext failed: %r" % p.stderr)
        texts.append(unicodedata.normalize("NFKC", p.stdout.decode("utf-8")))
    return texts


def squash(text):
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def assert_in_order(text, needles):
    """Each needle after the previous one; white space ignored (PDF text
    extraction puts spaces and line breaks of its own)."""
    hay, pos = squash(text), 0
    for needle in needles:
        i = hay.find(squash(needle), pos)
        check(i >= 0, "%r not found (in order) in the PDF's text:\n%s" % (needle, text[:1500]))
        pos = i + len(squash(needle))


def assert_rows(layout_text, rows):
    """pdftotext -layout: each row's cells alone on one line, in order
    (white space ignored), the rows in order."""
    lines = [squash(line) for line in layout_text.splitlines()]
    pos = 0
    for row in rows:
        while pos < len(lines) and lines[pos] != squash("".join(row)):
            pos += 1
        check(pos < len(lines), "no line %r (in order) in the PDF's text:\n%s" % (
            "  ".join(row), layout_text[:1500]))
        pos += 1


# ---------------------------------------------------------------- real LibreOffice

def t_rtf():
    text, _ = to_pdf(rtf(os.path.join(TMP, "a.rtf")), "rtf")
    assert_in_order(text, RTF_TEXT)


def t_odt():
    text, _ = to_pdf(odt(os.path.join(TMP, "a.odt")), "odt")
    assert_in_order(text, ODT_TEXT)


def t_docx():
    text, layout = to_pdf(docx(os.path.join(TMP, "a.docx")), "docx")
    assert_in_order(text, DOCX_TEXT)
    assert_rows(layout, DOCX_TABLE)


def t_ms_fonts():
    path = docx_ms_fonts(os.path.join(TMP, "msfonts.docx"))
    text, _layout = to_pdf(path, "docx")
    assert_in_order(text, [unicodedata.normalize("NFKC", t) for t, _f in MS_FONT_TEXT])
    p = subprocess.run(["pdffonts", path + ".pdf"], capture_output=True, text=True, timeout=TIMEOUT)
    check(p.returncode == 0, p.stderr)
    names = [l.split()[0] for l in p.stdout.splitlines()[2:] if l.strip()]
    japanese = [n for n in names if re.search(r"IPA|Noto.*CJK|Takao|VL", n)]
    check(japanese, "no Japanese font embedded (fonts: %s): the text would be tofu" % names)


def t_xlsx():
    _, layout = to_pdf(xlsx(os.path.join(TMP, "a.xlsx")), "xlsx")
    assert_rows(layout, SHEET_ROWS)


def t_doc():
    path = legacy(odt(os.path.join(TMP, "for-doc.odt")), "doc")
    text, _ = to_pdf(path, "doc")
    assert_in_order(text, ODT_TEXT)


def t_xls():
    path = legacy(ods(os.path.join(TMP, "for-xls.ods")), "xls")
    text, layout = to_pdf(path, "xls")
    assert_rows(layout, SHEET_ROWS)
    check(SHEET_NAME in text, "sheet name %r not in the page header:\n%s" % (SHEET_NAME, text))


def t_ppt():
    path = legacy(odp(os.path.join(TMP, "for-ppt.odp")), "ppt")
    text, _ = to_pdf(path, "ppt")
    pages = [p for p in text.split("\f") if p.strip()]
    check(len(pages) == len(SLIDES), "%d pages with text, want %d:\n%s" % (
        len(pages), len(SLIDES), text))
    for page, paras in zip(pages, SLIDES):
        assert_in_order(page, paras)


def t_legacy_to_ooxml():
    """--to docx/xlsx/pptx (office = text for the legacy formats): the same
    document as OOXML, which mugai-filter-office (beside this filter) reads
    with a sheet's rows as rows."""
    office = os.path.join(os.path.dirname(FILTER), "mugai-filter-office")
    cases = [
        (legacy(odt(os.path.join(TMP, "to-docx.odt")), "doc"), "doc", "docx", "word/document.xml",
         ODT_TEXT),
        (legacy(ods(os.path.join(TMP, "to-xlsx.ods")), "xls"), "xls", "xlsx", "xl/workbook.xml",
         [SHEET_NAME] + ["\t".join(r) for r in SHEET_ROWS]),
        (legacy(odp(os.path.join(TMP, "to-pptx.odp")), "ppt"), "ppt", "pptx", "ppt/presentation.xml",
         [p for slide in SLIDES for p in slide]),
    ]
    for path, ext, to, member, want in cases:
        r = run_filter("--ext", ext, "--to", to, data=read(path))
        check(r.code == 0 and r.out.startswith(b"PK\x03\x04"), "%s: %s" % (to, r.describe()))
        check(r.last.startswith("info type=application/vnd.openxmlformats-officedocument."), r.last)
        with zipfile.ZipFile(io.BytesIO(r.out)) as z:
            check(member in z.namelist(), "%s: no %s in %s" % (to, member, z.namelist()))
        p = subprocess.run([office, "--lang", "ja"], input=r.out, capture_output=True, timeout=TIMEOUT)
        check(p.returncode == 0, "mugai-filter-office on the %s: %r" % (to, p.stderr[-300:]))
        assert_in_order(unicodedata.normalize("NFKC", p.stdout.decode("utf-8")), want)


def t_local_link():
    secret = os.path.join(TMP, "secret.txt")
    with open(secret, "w") as f:
        f.write(SECRET_MARKER + "\n")
    text, _ = to_pdf(odt_linking(os.path.join(TMP, "link.odt"), secret), "odt")
    check(SECRET_MARKER not in squash(text), "the linked file's contents reached the PDF")
    assert_in_order(text, ["リンクの前", "cached", "リンクの後"])


def assert_failed(r, code, message=None):
    check(r.code == code and r.out == b"" and r.last.startswith("error: "), r.describe())
    check(message is None or message in r.last, "want %r: %s" % (message, r.describe()))


def t_no_document():
    data = read(make_zip(os.path.join(TMP, "plain.zip"), [("readme.txt", "こんにちは")]))
    assert_failed(run_filter("--ext", "docx", data=data), 1,
                  "LibreOffice could not load the document")


def t_garbage():
    ole = bytes.fromhex("d0cf11e0a1b11ae1")
    for ext in ("doc", "xls", "ppt"):
        for data in (os.urandom(4096), ole + os.urandom(4088)):
            r = run_filter("--ext", ext, data=data)
            assert_failed(r, 1)


# ---------------------------------------------------------------- usage

def t_usage_ext():
    for args in (["--ext", "exe"], [], ["--ext"], ["--ext", "doc", "--bogus"],
                 ["--ext", "doc", "--to", "exe"], ["--ext", "doc", "--to"]):
        r = run_filter(*args, data=b"x")
        check(r.code == 64 and r.out == b"" and "usage" in r.last, "%s: %s" % (args, r.describe()))


def t_usage_relative():
    r = run_filter("--ext", "doc", "--soffice", "soffice", data=b"x")
    check(r.code == 64 and r.out == b"" and "usage" in r.last, r.describe())


def t_not_installed():
    r = run_filter("--ext", "doc", "--soffice", "/nonexistent/soffice", data=b"x")
    assert_failed(r, 1, "LibreOffice is not installed")


# ---------------------------------------------------------------- fake LibreOffice

FAKE_SCRIPT = r'''#!/usr/bin/python3
"""A stand-in for LibreOffice: writes what it saw and could do, as JSON,
where the PDF belongs (OUTDIR/document.pdf).  Its mode and the test's
listening socket are in fake.json beside it (the filter clears the
environment).  Standard library only, any Python 3."""
import ctypes, errno, hashlib, json, os, platform, socket, subprocess, sys, threading

argv = sys.argv
outdir = argv[argv.index("--outdir") + 1]
HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "fake.json")) as f:
    CONFIG = json.load(f)
with open(os.path.join(HERE, "runs.log"), "a") as f:  # one line a start: the program's name
    f.write(os.path.basename(argv[0]) + "\n")
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
# x86_64, aarch64
NR = {"x86_64": {"clone": 56, "clone3": 435, "bpf": 321, "keyctl": 250, "io_uring_setup": 425,
                 "process_vm_readv": 310},
      "aarch64": {"clone": 220, "clone3": 435, "bpf": 280, "keyctl": 219, "io_uring_setup": 425,
                  "process_vm_readv": 270}}.get(platform.machine())


def errname(n):
    return errno.errorcode.get(n, str(n))


def attempt(fn):
    """"ok" or the errno name of the OSError fn raised."""
    try:
        fn()
        return "ok"
    except OSError as e:
        return errname(e.errno)


def sock(family, kind, proto=0):
    def make():
        socket.socket(family, kind, proto).close()
    return attempt(make)


def in_child(call):
    """call() -> C return value, in a forked child.  "signal N" when the
    child was killed, "returned" / errno name when the call came back
    (with arguments that make it fail harmlessly when it is allowed)."""
    pid = os.fork()
    if pid == 0:
        try:
            rc = call()
            os._exit(0 if rc >= 0 else min(ctypes.get_errno(), 255) or 255)
        except BaseException:
            os._exit(254)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "signal %d" % os.WTERMSIG(status)
    code = os.WEXITSTATUS(status)
    return "returned" if code == 0 else "exception" if code == 254 else errname(code)


def probe():
    found = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
    with open(argv[-1], "rb") as f:
        found["input_sha256"] = hashlib.sha256(f.read()).hexdigest()
    found["fd"] = {str(fd): os.readlink("/proc/self/fd/%d" % fd) for fd in (0, 1, 2)}
    found["stdin_read"] = os.read(0, 4096).decode("latin-1")
    sig = ctypes.c_int(-1)
    libc.prctl(2, ctypes.byref(sig), 0, 0, 0)  # PR_GET_PDEATHSIG
    found["pdeathsig"] = sig.value
    found["socket"] = {
        "inet-stream": sock(socket.AF_INET, socket.SOCK_STREAM),
        "inet-dgram": sock(socket.AF_INET, socket.SOCK_DGRAM),
        "inet6-stream": sock(socket.AF_INET6, socket.SOCK_STREAM),
        "netlink-raw": sock(socket.AF_NETLINK, socket.SOCK_RAW, 0),
        "netlink-dgram": sock(socket.AF_NETLINK, socket.SOCK_DGRAM, 0),
        "packet-raw": sock(socket.AF_PACKET, socket.SOCK_RAW, 0),
        "unix-dgram": sock(socket.AF_UNIX, socket.SOCK_DGRAM),
        "unix-seqpacket": sock(socket.AF_UNIX, socket.SOCK_SEQPACKET),
        "unix-stream": sock(socket.AF_UNIX, socket.SOCK_STREAM),
        "socketpair": attempt(lambda: [s.close() for s in socket.socketpair()]),
    }

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    found["connect"] = attempt(lambda: s.connect(CONFIG["listen"]))
    s.close()

    import signal
    found["signal"] = {
        "kill-parent": attempt(lambda: os.kill(os.getppid(), 0)),
        "kill-init": attempt(lambda: os.kill(1, 0)),
        "kill-own-group": attempt(lambda: os.kill(0, 0)),
        "tgkill-own-thread": attempt(lambda: signal.pthread_kill(threading.get_ident(), 0)),
    }

    kills = {
        "unshare-newuser": lambda: libc.unshare(0x10000000),
        "unshare-newnet": lambda: libc.unshare(0x40000000),
        "setns": lambda: libc.setns(-1, 0),
        "ptrace-traceme": lambda: libc.ptrace(0, 0, None, None),
        "mount": lambda: libc.mount(b"none", b"/nonexistent-mugai-test", b"tmpfs", 0, None),
        # the filter's one execve was the one that started this program
        "execve": lambda: os.execv("/bin/true", ["true"]),
    }
    if NR:
        kills.update({
            # clone(CLONE_NEWNET | SIGCHLD): flags are the first argument on both
            "clone-newnet": lambda: libc.syscall(NR["clone"], 0x40000000 | 17, 0, 0, 0, 0),
            "clone-newuser": lambda: libc.syscall(NR["clone"], 0x10000000 | 17, 0, 0, 0, 0),
            "bpf": lambda: libc.syscall(NR["bpf"], 0xffff, 0, 0),
            "keyctl": lambda: libc.syscall(NR["keyctl"], 0xffff, 0, 0, 0, 0),
            "io_uring_setup": lambda: libc.syscall(NR["io_uring_setup"], 0, 0),
            "process_vm_readv": lambda: libc.syscall(NR["process_vm_readv"], -1, 0, 0, 0, 0, 0),
        })
    found["kill"] = {name: in_child(call) for name, call in kills.items()}
    if NR:
        rc = libc.syscall(NR["clone3"], 0, 0)
        found["clone3"] = "returned" if rc >= 0 else errname(ctypes.get_errno())

    # nothing leaves the run's process group
    found["setsid"] = in_child(lambda: libc.setsid())
    found["setpgid"] = in_child(lambda: libc.setpgid(0, 0))
    # what LibreOffice needs keeps working
    found["fork"] = in_child(lambda: 0)
    seen = []
    t = threading.Thread(target=lambda: seen.append(threading.get_ident()))
    t.start()
    t.join()
    found["thread"] = len(seen) == 1 and seen[0] != threading.get_ident()
    try:
        with open(os.path.join(os.environ.get("HOME", "."), "written"), "w") as f:
            f.write("x")
        found["write-home"] = "ok"
    except OSError as e:
        found["write-home"] = errname(e.errno)
    return json.dumps(found, indent=1).encode()


def profile():
    url = [a for a in argv if a.startswith("-env:UserInstallation=file://")][0]
    path = url[len("-env:UserInstallation=file://"):] + "/user/registrymodifications.xcu"
    with open(path, "rb") as f:
        return f.read()


mode = CONFIG["mode"]
if mode == "probe":
    data = probe()
elif mode == "profile":
    data = profile()
elif mode == "ptrace-self":
    libc.ptrace(0, 0, None, None)  # SIGSYS: the filter sees 128 + 31
    data = b"not reached"
elif mode == "no-pdf":
    sys.exit(0)
elif mode == "restart-once":  # LibreOffice's first start in a new profile
    with open(os.path.join(HERE, "runs.log")) as f:
        if len(f.readlines()) == 1:
            sys.exit(81)
    data = b"converted on the second start"
elif mode == "restart-always":
    sys.exit(81)
elif mode == "fail":
    sys.exit(5)
with open(os.path.join(outdir, "document.pdf"), "wb") as f:
    f.write(data)
'''

LISTENER = None
PROBE = None


def make_fake(mode, name="soffice"):
    """The fake LibreOffice in a new directory D, as D/name, in the given
    mode; returns D (D/runs.log: one line a start, the program's name)."""
    d = tempfile.mkdtemp(prefix="fake-", dir=TMP)
    os.makedirs(os.path.dirname(os.path.join(d, name)), exist_ok=True)
    script = os.path.join(d, name)
    with open(script, "w") as f:
        f.write(FAKE_SCRIPT)
    os.chmod(script, 0o755)
    with open(os.path.join(os.path.dirname(script), "fake.json"), "w") as f:
        json.dump({"mode": mode, "listen": LISTENER.getsockname()}, f)
    return d


def fake(mode, data=b"document bytes\n", ext="odt"):
    """The filter run with --soffice the fake: (the Run, the fake's directory)."""
    d = make_fake(mode)
    return run_filter("--ext", ext, "--soffice", os.path.join(d, "soffice"), data=data), d


def runs(d):
    try:
        with open(os.path.join(d, "runs.log")) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def probe():
    """One run of the fake in probe mode, shared by the subtests below:
    (the Run, the fake's findings)."""
    global PROBE
    if PROBE is None:
        data = "申込書\n".encode() + os.urandom(64)
        r, _ = fake("probe", data=data, ext="odt")
        try:
            found = json.loads(r.out)
        except ValueError:
            found = None
        PROBE = (r, found, data)
    r, found, data = PROBE
    check(r.code == 0 and found is not None, "the fake's report is missing: " + r.describe())
    return r, found, data


def t_fake_argv():
    r, found, data = probe()
    check(r.last == "info type=application/pdf size=%d" % len(r.out), r.describe())
    argv, d = found["argv"], r.workdir
    want = ["--headless", "--convert-to", "pdf", "--outdir", d + "/out",
            "-env:UserInstallation=file://" + d + "/profile", d + "/in/document.odt"]
    for w in want:
        check(w in argv[1:], "%r not in the command line %r" % (w, argv))
    check(argv[argv.index("--outdir") + 1] == d + "/out", argv)
    check(argv[argv.index("--convert-to") + 1] == "pdf", argv)
    check(argv[-1] == d + "/in/document.odt", argv)
    check(found["input_sha256"] == hashlib.sha256(data).hexdigest(), "in/document.odt does not hold the document as given")


def t_fake_env():
    r, found, _ = probe()
    env = found["env"]
    check(os.path.realpath(found["cwd"]) == r.workdir, "cwd %r, want %r" % (found["cwd"], r.workdir))
    for k, v in (("HOME", r.workdir), ("TMPDIR", r.workdir), ("PATH", "/usr/bin:/bin"),
                 ("LANG", "C.UTF-8"), ("SAL_USE_VCLPLUGIN", "svp")):
        got = env.get(k)
        check(got is not None and (os.path.realpath(got) if k in ("HOME", "TMPDIR") else got) == v, "%s=%r, want %r" % (k, got, v))
    check(LEAK_VAR not in env, "the caller's %s reached LibreOffice" % LEAK_VAR)
    others = sorted(k for k in env if k not in ("HOME", "TMPDIR", "PATH", "LANG")
                    and not k.startswith("SAL_"))
    check(not others, "variables beyond the filter's own: %s" % others)
    check(found["write-home"] == "ok", "cannot write in HOME: %s" % found["write-home"])


def t_fake_stdio():
    _, found, _ = probe()
    check(found["fd"] == {"0": "/dev/null", "1": "/dev/null", "2": "/dev/null"}, found["fd"])
    check(found["stdin_read"] == "", "reading stdin gave %r, not EOF" % found["stdin_read"])


def t_fake_inet():
    _, found, _ = probe()
    s = found["socket"]
    for k in ("inet-stream", "inet-dgram", "inet6-stream", "netlink-raw", "netlink-dgram",
              "packet-raw"):
        check(s[k] == "EACCES", "socket %s: %s, want EACCES (all: %s)" % (k, s[k], s))


def t_fake_unix():
    _, found, _ = probe()
    s = found["socket"]
    for k, want in (("unix-dgram", "EACCES"), ("unix-seqpacket", "EACCES"),
                    ("unix-stream", "ok"), ("socketpair", "ok")):
        check(s[k] == want, "socket %s: %s, want %s (all: %s)" % (k, s[k], want, s))


def t_fake_connect():
    _, found, _ = probe()
    check(found["connect"] == "EACCES", "connect: %s, want EACCES" % found["connect"])
    LISTENER.setblocking(False)
    try:
        conn, _ = LISTENER.accept()
        conn.close()
        raise CheckFailed("the test's listening socket accepted a connection")
    except BlockingIOError:
        pass


def t_fake_signals():
    _, found, _ = probe()
    want = {"kill-parent": "EPERM", "kill-init": "EPERM", "kill-own-group": "ok", "tgkill-own-thread": "ok"}
    check(found["signal"] == want, "signals: %s, want %s" % (found["signal"], want))


def t_fake_kills():
    _, found, _ = probe()
    k = found["kill"]
    want = ["unshare-newuser", "unshare-newnet", "setns", "ptrace-traceme", "mount", "execve"]
    if platform.machine() in ("x86_64", "aarch64"):
        want += ["clone-newnet", "clone-newuser", "bpf", "keyctl", "io_uring_setup",
                 "process_vm_readv"]
    sigsys = "signal %d" % signal.SIGSYS
    bad = {n: k.get(n) for n in want if k.get(n) != sigsys}
    check(not bad, "not killed by SIGSYS: %s" % bad)


def t_fake_still_works():
    _, found, _ = probe()
    if platform.machine() in ("x86_64", "aarch64"):
        check(found["clone3"] == "ENOSYS", "clone3: %s, want ENOSYS" % found["clone3"])
    check(found["fork"] == "returned", "fork: %r" % found["fork"])
    check(found["setsid"] == "EPERM", "setsid: %r, want EPERM" % found["setsid"])
    check(found["setpgid"] == "EPERM", "setpgid: %r, want EPERM" % found["setpgid"])
    check(found["thread"] is True, "a thread did not run")


def t_fake_pdeathsig():
    _, found, _ = probe()
    check(found["pdeathsig"] == signal.SIGKILL, "PR_GET_PDEATHSIG gives %r, want SIGKILL" % (
        found["pdeathsig"]))


def t_fake_bin():
    # LibreOffice's own layout: D/soffice a symbolic link to the shell
    # script D/program/soffice, the program D/program/soffice.bin (the
    # fake, whose first start ends with status 81 like a new profile's)
    d = make_fake("restart-once", name="program/soffice.bin")
    program = os.path.join(d, "program")
    with open(os.path.join(program, "soffice"), "w") as f:
        f.write("#!/bin/sh\necho wrapper >> %s/runs.log\nexit 9\n" % program)
    os.chmod(os.path.join(program, "soffice"), 0o755)
    os.symlink("program/soffice", os.path.join(d, "soffice"))
    r = run_filter("--ext", "doc", "--soffice", os.path.join(d, "soffice"), data=b"x")
    check(r.code == 0 and r.out == b"converted on the second start", r.describe())
    check(runs(program) == ["soffice.bin", "soffice.bin"], "started: %s" % runs(program))


def t_fake_restart():
    r, d = fake("restart-always")
    assert_failed(r, 1, "LibreOffice failed (status 81)")
    check(2 <= len(runs(d)) <= 3, "started %d times" % len(runs(d)))


def t_fake_killed():
    r, _ = fake("ptrace-self")
    assert_failed(r, 1, "LibreOffice failed (status %d)" % (128 + signal.SIGSYS))


def t_fake_no_pdf():
    assert_failed(fake("no-pdf")[0], 1, "LibreOffice could not load the document")
    assert_failed(fake("fail")[0], 1, "LibreOffice failed (status 5)")


def t_profile():
    r, _ = fake("profile")
    check(r.code == 0, r.describe())
    root = ET.fromstring(r.out)
    oor = "{http://openoffice.org/2001/registry}"
    props = {}
    for item in root.iter("item"):
        for prop in item.iter("prop"):
            value = prop.find("value")
            props[(item.get(oor + "path"), prop.get(oor + "name"))] = \
                value.text if value is not None else None
    want = {
        ("/org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel"): "3",
        ("/org.openoffice.Office.Common/Security/Scripting", "DisableMacrosExecution"): "true",
        ("/org.openoffice.Office.Common/Security/Scripting", "BlockUntrustedRefererLinks"): "true",
        ("/org.openoffice.Office.Writer/Content/Update", "Link"): "0",    # never
        ("/org.openoffice.Office.Writer/Content/Update", "Field"): "false",
        ("/org.openoffice.Office.Calc/Content/Update", "Link"): "1",      # never
        ("/org.openoffice.Office.Java/VirtualMachine", "Enable"): "false",
    }
    bad = {"%s/%s" % k: (props.get(k), v) for k, v in want.items() if props.get(k) != v}
    check(not bad, "settings (got, want): %s" % bad)


# ---------------------------------------------------------------- harness

# (name, function, tools needed, TODO reason or None)
TESTS = [
    ("RTF written by hand, \\uN? escapes: a PDF qpdf accepts, 見積書 and 令和8年度 予算 in order",
     t_rtf, REAL, None),
    ("odt made with zipfile: a PDF, the heading and paragraphs in order", t_odt, REAL, None),
    ("docx: a PDF, the paragraphs in order, the table row by row", t_docx, REAL, None),
    ("xlsx: a PDF, the sheet's cells row by row", t_xlsx, REAL, None),
    ("docx in ＭＳ 明朝 / ＭＳ Ｐゴシック / MS UI Gothic: the text in order, set in an installed "
     "Japanese font (pdffonts), not tofu", t_ms_fonts, REAL + ("pdffonts",), None),
    ("doc made by LibreOffice from an odt: a PDF, the text in order", t_doc, REAL, None),
    ("xls made by LibreOffice from an ods: a PDF, the cells row by row, the sheet name",
     t_xls, REAL, None),
    ("ppt made by LibreOffice from an odp: one page a slide, each slide's text in order",
     t_ppt, REAL, None),
    ("--to docx/xlsx/pptx from .doc/.xls/.ppt: OOXML that mugai-filter-office reads in order, "
     "sheet rows tab-separated", t_legacy_to_ooxml, REAL, None),
    ("odt section linking a local file: the file's contents are not in the PDF",
     t_local_link, REAL, None),
    ("a zip that holds no document (--ext docx): exit 1, could not load, no output",
     t_no_document, REAL, None),
    ("garbage (random bytes, and an OLE header then random bytes, as doc, xls, ppt): exit 1, no output",
     t_garbage, REAL, None),
    ("unknown --ext exe, no --ext, unknown option: exit 64", t_usage_ext, (), None),
    ("relative --soffice: exit 64", t_usage_relative, (), None),
    ("--soffice /nonexistent/soffice: exit 1, LibreOffice is not installed",
     t_not_installed, (), None),
    ("fake LibreOffice: documented options, --outdir DIR/out, profile DIR/profile, "
     "input DIR/in/document.odt holding the document; its file copied to stdout",
     t_fake_argv, FAKE, None),
    ("fake LibreOffice: HOME and TMPDIR its private directory, PATH, LANG, svp; "
     "nothing of the caller's environment", t_fake_env, FAKE, None),
    ("fake LibreOffice: stdin, stdout, stderr on /dev/null, stdin at EOF",
     t_fake_stdio, FAKE, None),
    ("seccomp: socket() of AF_INET, AF_INET6, AF_NETLINK, AF_PACKET fails with EACCES",
     t_fake_inet, FAKE, None),
    ("seccomp: Unix datagram and seqpacket sockets fail with EACCES, "
     "Unix stream sockets and socketpair work", t_fake_unix, FAKE, None),
    ("seccomp: connect() to a listening Unix socket fails with EACCES, nothing reaches it",
     t_fake_connect, FAKE, None),
    ("fake: signals reach only its own process group and threads (kill of the filter or of init: EPERM)",
     t_fake_signals, FAKE, None),
    ("seccomp: unshare, clone with namespace flags, setns, ptrace, mount, bpf, keyctl, "
     "io_uring_setup, process_vm_readv and a second execve kill with SIGSYS", t_fake_kills,
     FAKE, None),
    ("seccomp: clone3 fails with ENOSYS, setsid and setpgid with EPERM; fork and threads work",
     t_fake_still_works, FAKE, None),
    ("fake LibreOffice: PR_SET_PDEATHSIG is SIGKILL (it dies with the filter)",
     t_fake_pdeathsig, FAKE, None),
    ("soffice.bin beside the real path of --soffice is run, not the wrapper; "
     "status 81 (first start in a new profile): started again, converts",
     t_fake_bin, FAKE, None),
    ("status 81 every time: at most three starts, exit 1, no output", t_fake_restart,
     FAKE, None),
    ("LibreOffice killed by SIGSYS: exit 1, status 159, no output", t_fake_killed, FAKE, None),
    ("LibreOffice makes no PDF: exit 1 could not load (exit 0), failed (status 5)",
     t_fake_no_pdf, FAKE, None),
    ("profile: MacroSecurityLevel 3, DisableMacrosExecution, links and fields never "
     "updated, Java off", t_profile, FAKE, None),
]


def missing_tools(needs):
    have = {"soffice": os.access(SOFFICE, os.X_OK), "python3": os.access(FAKE_PYTHON, os.X_OK)}
    return [t for t in needs if not (have[t] if t in have else shutil.which(t))]


def main():
    global FILTER, TMP, LISTENER
    if len(sys.argv) != 2:
        sys.exit("usage: filter-soffice.py MUGAI_FILTER_SOFFICE")
    FILTER = os.path.abspath(sys.argv[1])
    tap = mt.Tap()
    tap.plan(len(TESTS))
    TMP = os.path.realpath(tempfile.mkdtemp(prefix="mugai-filter-soffice-"))
    LISTENER = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    LISTENER.bind(os.path.join(TMP, "listen.sock"))
    LISTENER.listen(4)
    try:
        for name, fn, needs, todo in TESTS:
            missing = missing_tools(needs)
            tap.run(name, fn, skip="%s not installed" % ", ".join(missing) if missing else None,
                    todo=todo or None)
    finally:
        LISTENER.close()
        shutil.rmtree(TMP, ignore_errors=True)
    return tap.exit_code()


if __name__ == "__main__":
    sys.exit(main())
