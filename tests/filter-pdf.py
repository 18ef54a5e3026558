#!/usr/bin/env python3
"""Tests for filters/mugai-filter-pdf (filters/pdf.c).

    python3 tests/filter-pdf.py BUILDDIR/filters/mugai-filter-pdf

Every input PDF is written at run time, in a temporary directory, by the
small writer below (byte offsets of the cross-reference table computed, so
that poppler does not have to reconstruct it); the encrypted one is made
from one of them with `qpdf --encrypt`.  The filter's output is judged by
independent tools: `qpdf --check`, `qpdf --json`, `qpdf --show-npages`,
`pdftotext` and `pdftoppm` (poppler-utils).  Prints TAP.

Standard library only (Python 3.11), plus the qpdf and poppler-utils
command-line tools.  Runs in a few seconds.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mugaitest import CheckFailed, Tap, check  # noqa: E402

TIMEOUT = 60
IPA_GOTHIC = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"
SECRET = "MUGAI-SECRET-7731-metadata"
JAPANESE = "日本語の添付文書を確認します"

FORBIDDEN_NAMES = ("/JavaScript", "/JS", "/OpenAction", "/AA", "/Annots", "/AcroForm",
                   "/EmbeddedFiles", "/URI", "/Font", "/Names", "/Outlines", "/Metadata",
                   "/EmbeddedFile", "/Filespec", "/Widget", "/Link")


# ---------------------------------------------------------------- PDF writer

class Pdf:
    """Objects are numbered from 1 in the order they are reserved."""

    def __init__(self):
        self.objects = []

    def reserve(self):
        self.objects.append(None)
        return len(self.objects)

    def set(self, num, body):
        self.objects[num - 1] = body.encode("latin-1") if isinstance(body, str) else body

    def add(self, body):
        num = self.reserve()
        self.set(num, body)
        return num

    def stream(self, data, extra="", compress=False):
        if compress:
            data = zlib.compress(data, 1)
            extra += " /Filter /FlateDecode"
        head = ("<< /Length %d%s >>\nstream\n" % (len(data), extra)).encode("latin-1")
        return self.add(head + data + b"\nendstream")

    def bytes(self, root, info=None):
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, body in enumerate(self.objects, 1):
            check(body is not None, "object %d reserved but never set" % i)
            offsets.append(len(out))
            out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(self.objects) + 1)
        for off in offsets:
            out += b"%010d 00000 n \n" % off
        trailer = "/Size %d /Root %d 0 R" % (len(self.objects) + 1, root)
        if info:
            trailer += " /Info %d 0 R" % info
        out += b"trailer\n<< " + trailer.encode() + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
        return bytes(out)


def pdf_string(s):
    return "(" + s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def simple_document(page_specs, font=True):
    """page_specs: list of (mediabox, rotate, content bytes[, cropbox])."""
    pdf = Pdf()
    catalog, pages = pdf.reserve(), pdf.reserve()
    helv = pdf.add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
                   " /Encoding /WinAnsiEncoding >>") if font else None
    kids = []
    for box, rotate, content, *crop in page_specs:
        contents = pdf.stream(content)
        res = "<< /Font << /F1 %d 0 R >> >>" % helv if font else "<< >>"
        rot = " /Rotate %d" % rotate if rotate else ""
        if crop:
            rot += " /CropBox [%s]" % " ".join(map(str, crop[0]))
        kids.append(pdf.add("<< /Type /Page /Parent %d 0 R /MediaBox [%s]%s /Resources %s"
                            " /Contents %d 0 R >>"
                            % (pages, " ".join(map(str, box)), rot, res, contents)))
    pdf.set(catalog, "<< /Type /Catalog /Pages %d 0 R >>" % pages)
    pdf.set(pages, "<< /Type /Pages /Kids [%s] /Count %d >>"
            % (" ".join("%d 0 R" % k for k in kids), len(kids)))
    return pdf.bytes(catalog)


def text_page(text, box=(0, 0, 595, 842)):
    content = "BT /F1 24 Tf 72 %d Td %s Tj ET" % (box[3] - 120, pdf_string(text))
    return (box, 0, content.encode("latin-1"))


def hostile_document():
    """Three pages of Latin text, and everything active a PDF can carry."""
    pdf = Pdf()
    catalog, pages = pdf.reserve(), pdf.reserve()
    page_nums = [pdf.reserve() for _ in range(3)]
    helv = pdf.add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
                   " /Encoding /WinAnsiEncoding >>")
    js_open = pdf.add("<< /Type /Action /S /JavaScript /JS (app.alert\\('open'\\);) >>")
    js_named = pdf.add("<< /S /JavaScript /JS %s >>" % pdf_string("this.exportDataObject({});"))
    js_tree = pdf.add("<< /Names [(evil) %d 0 R] >>" % js_named)
    exe = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
           + b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 64)
    embedded = pdf.stream(exe, " /Type /EmbeddedFile /Subtype /application#2Fx-msdownload")
    filespec = pdf.add("<< /Type /Filespec /F (invoice.exe) /UF (invoice.exe)"
                       " /EF << /F %d 0 R >> >>" % embedded)
    files_tree = pdf.add("<< /Names [(invoice.exe) %d 0 R] >>" % filespec)
    link = pdf.add("<< /Type /Annot /Subtype /Link /Rect [72 600 300 630] /Border [0 0 0]"
                   " /A << /S /URI /URI (http://evil.example/payload) >> >>")
    field_ap = pdf.stream(b"/Tx BMC BT /F1 12 Tf 2 6 Td (FIELDVALUE) Tj ET EMC",
                          " /Type /XObject /Subtype /Form /BBox [0 0 200 24]"
                          " /Resources << /Font << /F1 %d 0 R >> >>" % helv)
    widget = pdf.add("<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (FIELDVALUE)"
                     " /Rect [72 500 272 524] /F 4 /P %d 0 R /DA (/F1 12 Tf 0 g)"
                     " /AP << /N %d 0 R >>"
                     " /AA << /K << /S /JavaScript /JS (app.alert\\(1\\)) >> >> >>"
                     % (page_nums[0], field_ap))
    outline_item = pdf.reserve()
    outlines = pdf.add("<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count 1 >>"
                       % (outline_item, outline_item))
    pdf.set(outline_item, "<< /Title (Outline %s) /Parent %d 0 R /Dest [%d 0 R /Fit] >>"
            % (SECRET, outlines, page_nums[0]))
    xmp = pdf.stream(("<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>"
                      "<x:xmpmeta xmlns:x='adobe:ns:meta/'><dc:title>%s</dc:title></x:xmpmeta>"
                      "<?xpacket end='w'?>" % SECRET).encode(),
                     " /Type /Metadata /Subtype /XML")
    info = pdf.add("<< /Title (%s) /Author (%s author) /Subject (Invoice) /Producer (evil)"
                   " /Keywords (%s) >>" % (SECRET, SECRET, SECRET))
    for i, num in enumerate(page_nums):
        content = ("BT /F1 24 Tf 72 700 Td (Hello page %d quick brown fox) Tj ET" % (i + 1))
        contents = pdf.stream(content.encode())
        annots = " /Annots [%d 0 R %d 0 R]" % (link, widget) if i == 0 else ""
        pdf.set(num, "<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842]"
                " /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R%s"
                " /AA << /O << /S /JavaScript /JS (app.alert\\('page'\\)) >> >> >>"
                % (pages, helv, contents, annots))
    pdf.set(pages, "<< /Type /Pages /Kids [%s] /Count 3 >>"
            % " ".join("%d 0 R" % n for n in page_nums))
    pdf.set(catalog, "<< /Type /Catalog /Pages %d 0 R /OpenAction %d 0 R"
            " /Names << /JavaScript %d 0 R /EmbeddedFiles %d 0 R >>"
            " /AcroForm << /Fields [%d 0 R] /DA (/F1 12 Tf 0 g)"
            " /DR << /Font << /F1 %d 0 R >> >> >>"
            " /AA << /WC << /S /JavaScript /JS (app.alert\\('close'\\)) >> >>"
            " /Outlines %d 0 R /PageMode /UseOutlines /Metadata %d 0 R >>"
            % (pages, js_open, js_tree, files_tree, widget, helv, outlines, xmp))
    return pdf.bytes(catalog, info)


def ttf_glyph_ids(path, text):
    """Glyph ids of text's characters, from the font's (3,1) format 4 cmap."""
    with open(path, "rb") as f:
        data = f.read()
    num_tables = struct.unpack(">H", data[4:6])[0]
    tables = {}
    for i in range(num_tables):
        tag, _, off, length = struct.unpack(">4sLLL", data[12 + 16 * i:28 + 16 * i])
        tables[tag] = (off, length)
    cmap = tables[b"cmap"][0]
    count = struct.unpack(">H", data[cmap + 2:cmap + 4])[0]
    sub = None
    for i in range(count):
        plat, enc, off = struct.unpack(">HHL", data[cmap + 4 + 8 * i:cmap + 12 + 8 * i])
        if plat == 3 and enc == 1:
            sub = cmap + off
    check(sub is not None and struct.unpack(">H", data[sub:sub + 2])[0] == 4)
    segx2 = struct.unpack(">H", data[sub + 6:sub + 8])[0]
    seg = segx2 // 2
    ends = struct.unpack(">%dH" % seg, data[sub + 14:sub + 14 + segx2])
    starts_at = sub + 16 + segx2
    starts = struct.unpack(">%dH" % seg, data[starts_at:starts_at + segx2])
    deltas = struct.unpack(">%dh" % seg, data[starts_at + segx2:starts_at + 2 * segx2])
    ro_at = starts_at + 2 * segx2
    range_offsets = struct.unpack(">%dH" % seg, data[ro_at:ro_at + segx2])
    gids = []
    for ch in text:
        c = ord(ch)
        for i in range(seg):
            if starts[i] <= c <= ends[i]:
                if range_offsets[i] == 0:
                    gid = (c + deltas[i]) & 0xFFFF
                else:
                    at = ro_at + 2 * i + range_offsets[i] + 2 * (c - starts[i])
                    gid = struct.unpack(">H", data[at:at + 2])[0]
                    gid = (gid + deltas[i]) & 0xFFFF if gid else 0
                break
        else:
            gid = 0
        check(gid != 0, "no glyph for %r" % ch)
        gids.append(gid)
    return data, gids


def japanese_document():
    """One page of Japanese text in IPA Gothic, embedded (Identity-H, with a
    ToUnicode map so that text extraction does not depend on poppler-data)."""
    font, gids = ttf_glyph_ids(IPA_GOTHIC, JAPANESE)
    pdf = Pdf()
    catalog, pages, page = pdf.reserve(), pdf.reserve(), pdf.reserve()
    fontfile = pdf.stream(font, " /Length1 %d" % len(font), compress=True)
    descriptor = pdf.add("<< /Type /FontDescriptor /FontName /IPAGothic /Flags 4"
                         " /FontBBox [0 -141 1000 859] /ItalicAngle 0 /Ascent 859"
                         " /Descent -141 /CapHeight 700 /StemV 80 /FontFile2 %d 0 R >>"
                         % fontfile)
    cidfont = pdf.add("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /IPAGothic"
                      " /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity)"
                      " /Supplement 0 >> /FontDescriptor %d 0 R /CIDToGIDMap /Identity"
                      " /DW 1000 >>" % descriptor)
    bfchars = "".join("<%04X> <%04X>\n" % (g, ord(c)) for g, c in zip(gids, JAPANESE))
    cmap = ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            "%d beginbfchar\n%sendbfchar\nendcmap\n"
            "CMapName currentdict /CMap defineresource pop\nend\nend\n"
            % (len(gids), bfchars))
    tounicode = pdf.stream(cmap.encode())
    type0 = pdf.add("<< /Type /Font /Subtype /Type0 /BaseFont /IPAGothic /Encoding /Identity-H"
                    " /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (cidfont, tounicode))
    hexgids = "".join("%04X" % g for g in gids)
    contents = pdf.stream(("BT /F1 28 Tf 40 700 Td <%s> Tj ET" % hexgids).encode())
    pdf.set(page, "<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842]"
            " /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
            % (pages, type0, contents))
    pdf.set(pages, "<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page)
    pdf.set(catalog, "<< /Type /Catalog /Pages %d 0 R >>" % pages)
    return pdf.bytes(catalog)


# ------------------------------------------------------------------- helpers

class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr.decode("utf-8", "replace")

    def last_err_line(self):
        lines = self.err.strip().splitlines()
        return lines[-1] if lines else ""

    def __str__(self):
        return "rc=%d stdout=%d octets stderr=%r" % (self.rc, len(self.out), self.err[-500:])


def run_filter(data, *args):
    proc = subprocess.run([FILTER, *args], input=data, capture_output=True, timeout=TIMEOUT)
    return Run(proc)


def tool(*argv, check=True):
    proc = subprocess.run(argv, capture_output=True, timeout=TIMEOUT)
    if check and proc.returncode != 0:
        raise CheckFailed("%s: rc=%d %s" % (argv[0], proc.returncode,
                                               proc.stderr.decode(errors="replace")[-500:]))
    return proc


def write(name, data):
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()


def npages(path):
    return int(tool("qpdf", "--show-npages", path).stdout)


def qpdf_objects(path):
    """{"N G R": value} from qpdf's JSON version 2 (stream dictionaries as
    {"stream": {"dict": ...}})."""
    j = json.loads(tool("qpdf", "--json=2", "--json-key=qpdf", path).stdout)
    return j["qpdf"][1]


def deref(objects, value):
    if isinstance(value, str) and re.fullmatch(r"\d+ \d+ R", value):
        obj = objects["obj:" + value]
        return obj.get("value", obj.get("stream", {}).get("dict"))
    return value


def page_dicts(objects):
    out = []
    for key, obj in objects.items():
        value = obj.get("value")
        if isinstance(value, dict) and value.get("/Type") == "/Page":
            out.append(value)
    return out


def read_pnm(path):
    """(width, height, maxval, list of gray values) of a P5 PGM."""
    with open(path, "rb") as f:
        data = f.read()
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    check(m, "not a PGM")
    w, h, maxval = int(m.group(1)), int(m.group(2)), int(m.group(3))
    pixels = data[m.end():m.end() + w * h]
    return w, h, pixels


def render_gray(pdf_path, name, dpi=20):
    prefix = os.path.join(TMP, name)
    tool("pdftoppm", "-r", str(dpi), "-gray", "-singlefile", pdf_path, prefix)
    return read_pnm(prefix + ".pgm")


def dark_centroid(w, h, pixels):
    """Centre of the dark pixels, as fractions of width and height."""
    sx = sy = n = 0
    for y in range(h):
        row = pixels[y * w:(y + 1) * w]
        for x, v in enumerate(row):
            if v < 128:
                sx += x
                sy += y
                n += 1
    check(n > 0, "blank page")
    return sx / n / w, sy / n / h


# --------------------------------------------------------------------- tests

def t_hostile():
    src = write("hostile.pdf", hostile_document())
    data = read(src)
    # the input really is what it claims to be
    check(npages(src) == 3)
    check("quick brown fox" in tool("pdftotext", src, "-").stdout.decode())
    text = tool("qpdf", "--json=2", "--json-key=qpdf", src).stdout.decode()
    for name in FORBIDDEN_NAMES:
        check('"%s"' % name in text, "%s not in the input" % name)
    check(SECRET in text)
    r = run_filter(data)
    check(r.rc == 0, r)
    check(r.last_err_line() == "info pages=3 rendered=3", r)
    out = write("hostile-out.pdf", r.out)
    qc = tool("qpdf", "--check", out, check=False)
    check(qc.returncode == 0, qc.stdout.decode() + qc.stderr.decode())
    check(npages(out) == 3)
    text = tool("qpdf", "--json=2", "--json-key=qpdf", out).stdout.decode()
    for name in FORBIDDEN_NAMES:
        check('"%s"' % name not in text, "%s in the output" % name)
    check(SECRET not in text and "evil" not in text)
    # the streams themselves, uncompressed
    plain = tool("qpdf", "--qdf", "--object-streams=disable", "--stream-data=uncompress",
                 out, "-").stdout
    for needle in (SECRET.encode(), b"This program cannot", b"invoice.exe", b"FIELDVALUE",
                   b"app.alert", b"evil.example", b"quick brown"):
        check(needle not in plain, "%r in the output" % needle)
    # pages: only images
    objects = qpdf_objects(out)
    pages = page_dicts(objects)
    check(len(pages) == 3)
    for page in pages:
        check("/Annots" not in page and "/AA" not in page)
        res = deref(objects, page["/Resources"])
        check(set(res) <= {"/XObject", "/ExtGState", "/Pattern", "/ProcSet", "/ColorSpace"}, res)
        xobjects = deref(objects, res["/XObject"])
        check(xobjects, "no image on the page")
        for ref in xobjects.values():
            xdict = deref(objects, ref)
            check(xdict["/Subtype"] == "/Image", xdict)
    catalog = [o["value"] for o in objects.values()
               if isinstance(o.get("value"), dict) and o["value"].get("/Type") == "/Catalog"]
    check(len(catalog) == 1 and set(catalog[0]) <= {"/Type", "/Pages"}, catalog)
    # no text at all
    check(tool("pdftotext", out, "-").stdout.strip(b"\f\n\r\t ") == b"")
    # and the pages are not blank
    w, h, pixels = render_gray(out, "hostile-p1", 20)
    check(min(pixels) < 128)


def t_hostile_text():
    r = run_filter(hostile_document(), "--text")
    check(r.rc == 0, r)
    check(r.last_err_line() == "info pages=3 rendered=3", r)
    pages = r.out.decode("utf-8").split("\f\n")
    check(len(pages) == 4 and pages[3] == "", pages)
    for i in range(3):
        check("Hello page %d quick brown fox" % (i + 1) in pages[i], pages)


def t_japanese_text():
    src = write("ja.pdf", japanese_document())
    r = run_filter(read(src), "--text")
    check(r.rc == 0, r)
    check(r.last_err_line() == "info pages=1 rendered=1", r)
    text = r.out.decode("utf-8")
    check(text.endswith("\f\n"))
    check(JAPANESE in re.sub(r"\s", "", text), repr(text))


def t_japanese_image():
    src = os.path.join(TMP, "ja.pdf")
    r = run_filter(read(src))
    check(r.rc == 0, r)
    out = write("ja-out.pdf", r.out)
    check(npages(out) == 1)
    check(tool("pdftotext", out, "-").stdout.strip(b"\f\n\r\t ") == b"")
    w, h, pixels = render_gray(out, "ja-out", 36)
    dark = sum(1 for v in pixels if v < 128)
    check(dark > 50, "page is (nearly) blank: %d dark pixels" % dark)
    # the same ink where the original has it
    cx, cy = dark_centroid(w, h, pixels)
    rw, rh, rpixels = render_gray(src, "ja-in", 36)
    rx, ry = dark_centroid(rw, rh, rpixels)
    check(abs(cx - rx) < 0.03 and abs(cy - ry) < 0.03, ((cx, cy), (rx, ry)))


def t_encrypted():
    plain = write("plain.pdf", simple_document([text_page("secret")]))
    enc = os.path.join(TMP, "enc.pdf")
    tool("qpdf", "--encrypt", "user", "owner", "256", "--", plain, enc)
    data = read(enc)
    for args in ((), ("--text",)):
        r = run_filter(data, *args)
        check(r.rc == 2, r)
        check(r.out == b"", r)
        check(len(r.err.strip().splitlines()) == 1, r)


def t_garbage():
    for data in (b"garbage, not a PDF\n" * 100, b"%PDF-1.7\n" + os.urandom(4096),
                 simple_document([text_page("x")])[:200]):
        for args in ((), ("--text",)):
            r = run_filter(data, *args)
            check(r.rc == 1, r)
            check(r.out == b"", r)
            check(len(r.err.strip().splitlines()) == 1, r)


def t_empty():
    r = run_filter(b"")
    check(r.rc == 1 and r.out == b"", r)


def t_zero_pages():
    pdf = Pdf()
    catalog, pages = pdf.reserve(), pdf.reserve()
    pdf.set(catalog, "<< /Type /Catalog /Pages %d 0 R >>" % pages)
    pdf.set(pages, "<< /Type /Pages /Kids [] /Count 0 >>")
    r = run_filter(pdf.bytes(catalog))
    check(r.rc == 1 and r.out == b"", r)


def t_page_limit():
    data = simple_document([text_page("Page number %d" % (i + 1)) for i in range(5)])
    r = run_filter(data, "--max-pages", "2")
    check(r.rc == 0, r)
    check(r.last_err_line() == "info pages=5 rendered=2", r)
    out = write("limit-out.pdf", r.out)
    check(npages(out) == 2)
    r = run_filter(data, "--max-pages", "2", "--text")
    check(r.rc == 0, r)
    check(r.last_err_line() == "info pages=5 rendered=2", r)
    text = r.out.decode()
    check(text.count("\f\n") == 2 and "Page number 2" in text and "Page number 3" not in text)


def t_rotation():
    # page 1: A4 landscape by its MediaBox; page 2: A4 portrait shown
    # rotated by /Rotate 90; page 3: /Rotate 270; page 4: a landscape
    # CropBox away from the origin of a larger MediaBox, rotated by 180.
    # Each has one black square near a corner of its unrotated page.
    square = b"0 g 40 40 120 120 re f"
    data = simple_document([((0, 0, 842, 595), 0, square), ((0, 0, 595, 842), 90, square),
                            ((0, 0, 595, 842), 270, square),
                            ((-100, -100, 1200, 1200), 180, square, (0, 0, 842, 595))],
                           font=False)
    src = write("rot.pdf", data)
    r = run_filter(data, "--dpi", "72")
    check(r.rc == 0, r)
    out = write("rot-out.pdf", r.out)
    objects = qpdf_objects(out)
    pages = page_dicts(objects)
    check(len(pages) == 4)
    for page in pages:
        x0, y0, x1, y1 = (float(v) for v in page["/MediaBox"])
        check(abs((x1 - x0) - 842) < 1 and abs((y1 - y0) - 595) < 1, page["/MediaBox"])
        check(page.get("/Rotate", 0) == 0)
    # where the square is, as viewed: the same in both
    for i in (1, 2, 3, 4):
        prefix_in, prefix_out = "rot-in-%d" % i, "rot-out-%d" % i
        tool("pdftoppm", "-r", "20", "-gray", "-cropbox", "-f", str(i), "-l", str(i),
             "-singlefile", src, os.path.join(TMP, prefix_in))
        tool("pdftoppm", "-r", "20", "-gray", "-f", str(i), "-l", str(i), "-singlefile", out,
             os.path.join(TMP, prefix_out))
        wi, hi, pi = read_pnm(os.path.join(TMP, prefix_in + ".pgm"))
        wo, ho, po = read_pnm(os.path.join(TMP, prefix_out + ".pgm"))
        check(wi > hi and wo > ho, (i, wi, hi, wo, ho))
        ci, co = dark_centroid(wi, hi, pi), dark_centroid(wo, ho, po)
        check(abs(ci[0] - co[0]) < 0.03 and abs(ci[1] - co[1]) < 0.03, (i, ci, co))


def t_big_page():
    # 200 x 200 inches at 150 dpi would be 900 Mpx: rendered smaller, not refused
    data = simple_document([text_page("big", box=(0, 0, 14400, 14400))])
    r = run_filter(data, "--max-pixels", "1000000")
    check(r.rc == 0, r)
    out = write("big-out.pdf", r.out)
    objects = qpdf_objects(out)
    page = page_dicts(objects)[0]
    check([float(v) for v in page["/MediaBox"]] == [0, 0, 14400, 14400], page)
    images = [o["stream"]["dict"] for o in objects.values()
              if "stream" in o and o["stream"]["dict"].get("/Subtype") == "/Image"]
    check(len(images) == 1)
    w, h = images[0]["/Width"], images[0]["/Height"]
    check(w * h <= 1000000 and w >= 900 and h >= 900, (w, h))


def t_usage():
    data = simple_document([text_page("x")])
    for args in (("--dpi", "35"), ("--dpi", "601"), ("--max-pages", "0"), ("--bogus",),
                 ("extra",), ("--dpi", "many")):
        r = run_filter(data, *args)
        check(r.rc == 64 and r.out == b"", (args, str(r)))
    r = run_filter(data, "--dpi", "36")
    check(r.rc == 0, r)


def t_max_input():
    data = simple_document([text_page("x")])
    r = run_filter(data, "--max-input", str(len(data) - 1))
    check(r.rc == 3 and r.out == b"", r)
    r = run_filter(data, "--max-input", str(len(data)))
    check(r.rc == 0, r)


TESTS = [
    ("hostile PDF: only page images remain", t_hostile),
    ("hostile PDF: --text gives each page's text", t_hostile_text),
    ("Japanese PDF: --text has the string in order", t_japanese_text),
    ("Japanese PDF: image output is not blank, ink where the original has it", t_japanese_image),
    ("encrypted PDF: exit 2, no output", t_encrypted),
    ("garbage and truncated input: exit 1, no output", t_garbage),
    ("empty input: exit 1", t_empty),
    ("no pages: exit 1", t_zero_pages),
    ("--max-pages 2 of 5: two pages, info line", t_page_limit),
    ("landscape, /Rotate 90, 270, 180 and CropBox pages keep their viewed form", t_rotation),
    ("huge page: rendered within --max-pixels, size kept", t_big_page),
    ("bad usage: exit 64", t_usage),
    ("--max-input: exit 3 over it", t_max_input),
]


def main():
    global FILTER, TMP
    if len(sys.argv) != 2:
        sys.exit("usage: filter-pdf.py MUGAI_FILTER_PDF")
    FILTER = os.path.abspath(sys.argv[1])
    tap = Tap()
    tap.plan(len(TESTS))
    missing = [t for t in ("qpdf", "pdftotext", "pdftoppm") if shutil.which(t) is None]
    TMP = tempfile.mkdtemp(prefix="mugai-filter-pdf-")
    try:
        for name, fn in TESTS:
            tap.run(name, fn, skip="%s not installed" % ", ".join(missing) if missing else None,
                    max_diag=20)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    return tap.exit_code()


if __name__ == "__main__":
    sys.exit(main())
