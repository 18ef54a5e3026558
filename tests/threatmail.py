"""Real hostile attachments, made at test time, and what mugai must do.

    cases(workdir) -> list of Case

Each Case holds a whole message (bytes) carrying one real file: zip, 7z,
LZH, tar.gz archives (with Japanese member names in CP932 or UTF-8, with
programs inside, nested, password-protected), Office documents with a VBA
project (recognised by content, sent under innocent names), a Windows
program, names that lie (RTLO, double extension), 一太郎 and DocuWorks
files, a file whose extension and declared type say PDF but which is a
zip.  The files are written by Python's standard library and, where
Debian has them, the real tools (zip for ZipCrypto, 7z); a case whose
tool is missing is returned with .skip set.

Used by tests/run-threats.py (mugai sanitize) and by the Postfix
end-to-end test (tests/e2e/run-e2e.py --only threats), so both check the
same files against the same expectations.

bombs() -> list of Case: messages that cost the parser, not the reader
(300,000 empty parts, 60,000 unused alternatives, one HTML element with
80,000 attributes, 100,000 header fields), for run-threats.py and the
end-to-end scenario "bombs".
"""

import io
import os
import shutil
import struct
import subprocess
import tarfile
import zipfile
from email.message import EmailMessage

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")


class Case:
    def __init__(self, key, message, exit_code=0, reason=None, notice=(), categories=(),
                 entries=(), type_label=None, skip=None, smtp_reject=False, delivered=(),
                 config_extra=None, text=(), no_stale_pipes=False, absent=(), detail=None, summary=False,
                 reply=()):
        self.key = key
        self.message = message          # bytes
        self.exit_code = exit_code      # mugai sanitize: 0 delivered, 3 refused
        self.reason = reason            # the attachment's report "reason"
        self.notice = list(notice)      # strings the notice must hold
        self.categories = list(categories)  # finding categories the report must hold
        self.entries = list(entries)    # archive member names the report must list
        self.type_label = type_label    # the attachment's true type label
        self.skip = skip                # why this case cannot run here
        self.smtp_reject = smtp_reject  # through Postfix: 5xx expected
        self.delivered = list(delivered)  # (content type, filename) of converted attachments
        self.config_extra = config_extra  # appended to the test configuration (CLI only)
        self.text = list(text)          # strings the delivered text attachment holds, in order
        self.no_stale_pipes = no_stale_pipes  # LibreOffice killed: its /tmp pipe must not stay
        self.absent = list(absent)      # strings no delivered part may hold (decoded)
        self.detail = detail            # text the deciding finding's detail must hold
        self.summary = summary          # the report must end with its "summary" member
        self.reply = list(reply)        # through Postfix: words the 5xx reply must hold


# ---- file makers -------------------------------------------------------


def pe32():
    """A minimal but well-formed PE32 executable (one .text section, ret)."""
    dos = bytearray(64)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, 0x80)
    stub = b"This program cannot be run in DOS mode.\r\r\n$".ljust(64, b"\0")
    coff = struct.pack("<HHIIIHH", 0x14C, 1, 0, 0, 0, 0xE0, 0x0102)
    opt = bytearray(0xE0)
    struct.pack_into("<HBBIIIIII", opt, 0, 0x10B, 14, 0, 0x200, 0, 0, 0x1000, 0x1000, 0x2000)
    struct.pack_into("<III", opt, 28, 0x400000, 0x1000, 0x200)      # image base, alignments
    struct.pack_into("<HHHHHH", opt, 40, 6, 0, 0, 0, 6, 0)           # OS/subsystem versions
    struct.pack_into("<IIII", opt, 56, 0x2000, 0x200, 0, 3)          # image size, headers, sum, GUI? (3 = console)
    struct.pack_into("<H", opt, 68, 3)
    struct.pack_into("<IIIIII", opt, 72, 0x100000, 0x1000, 0x100000, 0x1000, 0, 16)
    section = struct.pack("<8sIIIIIIHHI", b".text", 0x1000, 0x1000, 0x200, 0x200, 0, 0, 0, 0,
                          0x60000020)
    head = bytes(dos) + stub + b"PE\0\0" + coff + bytes(opt) + section
    return head.ljust(0x200, b"\0") + b"\xc3".ljust(0x200, b"\0")


def cfb(entries):
    """A minimal OLE compound file (MS-CFB v3) whose directory holds the
    given (name, type) entries under the root, all empty.  type 1 is a
    storage, 2 a stream.  Enough for anything that reads the directory."""
    FREE, END, FAT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
    names = [("Root Entry", 5)] + list(entries)
    ndir = (len(names) + 3) // 4
    header = bytearray(512)
    header[0:8] = bytes.fromhex("d0cf11e0a1b11ae1")
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, 1, 1, 0, 4096, END, 0, END, 0)
    struct.pack_into("<I", header, 76, 0)
    for i in range(1, 109):
        struct.pack_into("<I", header, 76 + 4 * i, FREE)
    fat = [FAT] + [i + 1 for i in range(1, ndir)] + [END]
    fat_sector = b"".join(struct.pack("<I", x) for x in fat).ljust(512, b"\xff")
    dirdata = bytearray()
    for i, (name, typ) in enumerate(names):
        e = bytearray(128)
        u = name.encode("utf-16-le")
        e[0:len(u)] = u
        struct.pack_into("<HBB", e, 64, len(u) + 2, typ, 1)
        # root's child is entry 1; each entry's right sibling is the next
        left, right, child = FREE, FREE, FREE
        if i == 0 and len(names) > 1:
            child = 1
        elif 0 < i < len(names) - 1:
            right = i + 1
        struct.pack_into("<III", e, 68, left, right, child)
        struct.pack_into("<IQ", e, 116, END, 0)
        dirdata += e
    dirdata = bytes(dirdata).ljust(512 * ndir, b"\0")
    return bytes(header) + fat_sector + dirdata


def zip_bytes(members, utf8=True):
    """members: list of (name, data).  utf8=False writes the names as raw
    CP932 octets without the UTF-8 flag, as Japanese Windows does."""
    buf = io.BytesIO()
    placeholders = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (name, data) in enumerate(members):
            if utf8 or name.isascii():
                z.writestr(name, data)
            else:
                raw = name.encode("cp932")
                ph = ("~%d~" % i).ljust(len(raw), "x")
                placeholders.append((ph.encode(), raw))
                z.writestr(ph, data)
    out = buf.getvalue()
    for ph, raw in placeholders:
        out = out.replace(ph, raw)
    return out


def _crc16(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def lzh_bytes(members):
    """An LZH archive (level-2 headers, -lh0- stored) with names in CP932,
    as LHA for Windows writes them."""
    out = b""
    for name, data in members:
        raw = name.encode("cp932")
        ext_name = b"\x01" + raw
        rest = struct.pack("<H", len(ext_name) + 2) + ext_name + b"\0\0"

        def header(crc):
            fixed = b"-lh0-" + struct.pack("<IIIBBHB", len(data), len(data), 1767225600, 0x20, 2,
                                           _crc16(data), 0x4D)
            ext = struct.pack("<BH", 0, crc) + rest
            size = 2 + len(fixed) + 2 + len(ext)
            return struct.pack("<H", size) + fixed + struct.pack("<H", 5) + ext

        out += header(_crc16(header(0))) + data
    return out + b"\0"


def docx_with_macros():
    """A macro document (what Word saves as .docm) to be sent as .docx."""
    ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
          'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
          '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
          '<Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.'
          'macroEnabled.main+xml"/></Types>')
    doc = ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
           'openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>請求書'
           '</w:t></w:r></w:p></w:body></w:document>')
    vba = cfb([("VBA", 1), ("_VBA_PROJECT", 2), ("dir", 2), ("ThisDocument", 2)])
    return zip_bytes([("[Content_Types].xml", ct), ("word/document.xml", doc),
                      ("word/vbaProject.bin", vba)])


def odf_bytes(kind, content_xml, extra=()):
    """An OpenDocument file: kind "text" or "spreadsheet", content.xml's
    text, and extra (name, data) members."""
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:'
                'oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/'
                'vnd.oasis.opendocument.%s"/><manifest:file-entry manifest:full-path="content.xml" '
                'manifest:media-type="text/xml"/></manifest:manifest>' % kind)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument." + kind)
        for name, data in [("content.xml", content_xml), ("META-INF/manifest.xml", manifest)] + list(extra):
            z.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:xlink="http://www.w3.org/1999/xlink" '
          'xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" office:version="1.2"')


def odt_with_basic():
    """A text document with a Basic library run when it is opened."""
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content %s><office:scripts>'
               '<office:event-listeners><script:event-listener script:language="ooo:script" '
               'script:event-name="dom:load" xlink:type="simple" xlink:href="vnd.sun.star.script:'
               'Standard.Module1.Main?language=Basic&amp;location=document"/></office:event-listeners>'
               '</office:scripts><office:body><office:text><text:p>議事録</text:p></office:text>'
               '</office:body></office:document-content>' % ODF_NS)
    module = ('<?xml version="1.0" encoding="UTF-8"?><script:module xmlns:script="http://openoffice.'
              'org/2000/script" script:name="Module1" script:language="StarBasic">Sub Main\n'
              'Shell("calc.exe")\nEnd Sub\n</script:module>')
    lb = ('<?xml version="1.0" encoding="UTF-8"?><library:library xmlns:library="http://openoffice.'
          'org/2000/library" library:name="Standard" library:readonly="false" '
          'library:passwordprotected="false"><library:element library:name="Module1"/></library:library>')
    lc = ('<?xml version="1.0" encoding="UTF-8"?><library:libraries xmlns:library="http://openoffice.'
          'org/2000/library" xmlns:xlink="http://www.w3.org/1999/xlink"><library:library '
          'library:name="Standard" library:link="false"/></library:libraries>')
    return odf_bytes("text", content, [("Basic/script-lc.xml", lc), ("Basic/Standard/script-lb.xml", lb),
                                       ("Basic/Standard/Module1.xml", module)])


def ods_japanese():
    """A spreadsheet with a sheet 予算 of two rows."""
    def cell(v):
        return '<table:table-cell office:value-type="string"><text:p>%s</text:p></table:table-cell>' % v
    rows = "".join("<table:table-row>%s</table:table-row>" % "".join(cell(v) for v in r)
                   for r in (("項目", "金額"), ("庁舎修繕費", "1,200,000円")))
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content %s><office:body>'
               '<office:spreadsheet><table:table table:name="予算">%s</table:table>'
               '</office:spreadsheet></office:body></office:document-content>' % (ODF_NS, rows))
    return odf_bytes("spreadsheet", content)


def rtf_long(lines=20000):
    """An RTF of some 300 pages (1.7 MB): LibreOffice lays it out for many
    seconds."""
    body = "".join("\\par %d \\u35211?\\u31309?\\u26360? the quick brown fox jumps over the lazy dog" % i
                   for i in range(lines))
    return ("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 IPAMincho;}}\\f0 " + body + "}").encode("ascii")


def soffice_convert(workdir, name, data, fmt):
    """data (a file called name) converted by LibreOffice to fmt (doc,
    xls...), in a profile of its own; None when LibreOffice is missing or
    fails."""
    soffice = _tool("soffice", "libreoffice")
    if not soffice:
        return None
    d = os.path.join(workdir, "soffice-" + name.replace(".", "-"))
    os.makedirs(d, exist_ok=True)
    src = os.path.join(d, name)
    with open(src, "wb") as f:
        f.write(data)
    try:
        subprocess.run([soffice, "--headless", "--norestore", "-env:UserInstallation=file://" + d + "/profile",
                        "--convert-to", fmt, "--outdir", d + "/out", src], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=180, check=False)
        with open(os.path.join(d, "out", os.path.splitext(name)[0] + "." + fmt), "rb") as f:
            return f.read()
    except (OSError, subprocess.TimeoutExpired):
        return None


def hostile_pdf():
    """A one-page PDF with an OpenAction JavaScript, a link annotation, a
    form field and an embedded program."""
    content = b"BT /F1 24 Tf 72 700 Td (Quotation MUGAI-PDF-TEXT) Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >>"
        b" /AcroForm << /Fields [6 0 R] >> /Names << /EmbeddedFiles << /Names [(a.exe) 7 0 R] >> >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> /Annots [8 0 R 6 0 R] >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /FT /Tx /T (name) /Type /Annot /Subtype /Widget /Rect [72 600 300 620] /P 3 0 R >>",
        b"<< /Type /Filespec /F (a.exe) /EF << /F 9 0 R >> >>",
        b"<< /Type /Annot /Subtype /Link /Rect [72 690 300 720] /A << /S /URI /URI (http://evil.example/) >> >>",
        b"<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ\nendstream",
    ]
    return pdf_bytes(objs)


def pdf_form_bomb(levels=12, fanout=10):
    """A PDF of about 3 KB that never finishes rendering: each of `levels`
    form XObjects draws the next one `fanout` times, so the one page
    costs fanout**levels fills (10**12: years).  No parser limit stops it
    (the nesting is only 12 deep); only the sandbox's timeout does."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /XObject << /F0 5 0 R >> >> /Contents 4 0 R >>"]
    content = b"/F0 Do"
    objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    for i in range(levels):
        if i < levels - 1:
            body = b" ".join(b"q 1 0 0 1 %d %d cm /F Do Q" % (j % 3, j % 2) for j in range(fanout))
            res = b"/Resources << /XObject << /F %d 0 R >> >>" % (6 + i)
        else:
            body, res = b"0 0 1 1 re f", b""
        objs.append(b"<< /Type /XObject /Subtype /Form /BBox [0 0 595 842] %s /Length %d >>\nstream\n"
                    % (res, len(body)) + body + b"\nendstream")
    return pdf_bytes(objs)


SCRIPT = b"<script>alert(document.domain)</script>"


def noise_pdf(payload=SCRIPT, side=300):
    """A one-page PDF (144 pt square: `side` pixels at 150 dpi, so that
    mugai-filter-pdf renders one image pixel as one pixel) that is a
    picture of noise whose pixel octets spell `payload` every 10 rows.
    zlib leaves noise uncompressed, so a renderer that copies the
    colours exactly writes the payload into its own output (mugai's did,
    and kept the name: an HTML parser found a live script element)."""
    import random
    rnd = random.Random(10)
    raw = bytearray(rnd.getrandbits(8) for _ in range(side * side * 3))
    for y in range(0, side, 10):
        at = y * side * 3 + 30
        raw[at:at + len(payload)] = payload
    # hex in the PDF itself, so that the attachment does not hold the
    # payload (mugai would remove it as markup before converting it)
    data = bytes(raw).hex().encode() + b">"
    content = b"q 144 0 0 144 0 0 cm /Im0 Do Q"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 144 144] /Contents 4 0 R"
            b" /Resources << /XObject << /Im0 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB"
            b" /BitsPerComponent 8 /Interpolate false /Filter /ASCIIHexDecode /Length %d >>\nstream\n"
            % (side, side, len(data)) + data + b"\nendstream"]
    return pdf_bytes(objs)


def text_pdf(text):
    """A one-page PDF whose page text is `text` (ASCII, no parentheses
    or backslashes)."""
    content = b"BT /F1 12 Tf 72 700 Td (" + text + b") Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    return pdf_bytes(objs)


def pdf_bytes(objs, head=b"%PDF-1.4\n"):
    """A PDF file of the given objects (numbered from 1; object 1 is the
    catalog), with a correct cross-reference table; head: the header
    line(s).  Also used by tests/run-cli-lines.py and
    tools/gen-testdata.py."""
    out, offs = head, []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def png_with_metadata():
    """A 16x8 RGB PNG with a tEXt chunk and data after IEND."""
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + bytes([200, 30, 30]) * 16 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 8, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", b"Comment\0MUGAI-PNG-SECRET") + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b"") + b"MUGAI-PNG-TRAILER")


def docx_japanese():
    ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
          'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
          'relationships+xml"/>'
          '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
          'officedocument.wordprocessingml.document.main+xml"/></Types>')
    doc = ('<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
           'openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>御見積書'
           '</w:t></w:r></w:p><w:p><w:r><w:t>株式会社①テスト 御中</w:t></w:r></w:p></w:body></w:document>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
            'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.'
            'org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            '</Relationships>')
    return zip_bytes([("[Content_Types].xml", ct), ("_rels/.rels", rels), ("word/document.xml", doc)])


def message(subject, filename, data, ctype="application/octet-stream", text="添付をご確認ください。"):
    m = EmailMessage()
    m["From"] = "Sender <sender@example.com>"
    m["To"] = "staff@city.example.lg.jp"
    m["Subject"] = subject
    m["Message-ID"] = "<%s@threats.example.com>" % subject.encode().hex()[:24]
    m.set_content(text)
    maintype, subtype = ctype.split("/")
    m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(m)


def uuencoded(name, data, first_extra=b""):
    """A uuencode block (GNU style) of data; first_extra is appended to
    its first data line (decoders that go by the length character, as
    GNU uudecode does, ignore it)."""
    import binascii
    lines = [binascii.b2a_uu(data[i:i + 45]).rstrip(b"\n") for i in range(0, len(data), 45)]
    lines[0] += first_extra
    return b"begin 644 " + name + b"\n" + b"\n".join(lines) + b"\n`\nend\n"


def text_message(subject, body, charset):
    """A message whose only part is text/plain in charset (base64)."""
    import base64
    m = EmailMessage()
    m["From"] = "Sender <sender@example.com>"
    m["To"] = "staff@city.example.lg.jp"
    m["Subject"] = subject
    m["Message-ID"] = "<%s@threats.example.com>" % subject.encode().hex()[:24]
    m["MIME-Version"] = "1.0"
    m["Content-Type"] = "text/plain; charset=%s" % charset
    m["Content-Transfer-Encoding"] = "base64"
    m.set_payload(base64.encodebytes(body.encode(charset)).decode())
    return bytes(m)


def _tool(*names):
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


def _member(workdir, sub, name, text):
    """The path of a file name holding text (UTF-8) in workdir/sub, to be
    put in an archive."""
    d = os.path.join(workdir, sub)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(text.encode())
    return path


# ---- the cases ------------------------------------------------------------


def cases(workdir):
    out = []
    exe = pe32()

    out.append(Case("pe-exe", message("pe", "setup.exe", exe), reason="banned-type",
                    notice=["setup.exe", "実行ファイル"]))
    out.append(Case("pe-as-pdf", message("pe as pdf", "invoice.pdf", exe, "application/pdf"),
                    reason="banned-type", categories=["type-mismatch"],
                    notice=["invoice.pdf", "実行ファイル", "中身"]))
    out.append(Case("rtlo-name", message("rtlo", "invoice\u202efdp.exe", exe),
                    reason="name-trick", notice=["U+202E"]))
    out.append(Case("double-extension", message("double", "請求書.pdf.exe", exe),
                    reason="name-trick", notice=["請求書.pdf.exe"]))

    z = zip_bytes([("setup.exe", exe), ("見積書①.txt", "御見積".encode("cp932"))], utf8=False)
    out.append(Case("zip-exe-cp932", message("zip exe", "資料.zip", z, "application/zip"),
                    reason="banned-type", entries=["setup.exe", "見積書①.txt"],
                    notice=["見積書①.txt", "setup.exe", "実行ファイル", "ZIP 書庫"],
                    type_label="ZIP 書庫"))
    z = zip_bytes([("議事録/第1回.txt", "議事録".encode()), ("議事録/第2回.txt", b"minutes")])
    out.append(Case("zip-plain-utf8", message("zip plain", "議事録.zip", z, "application/zip"),
                    reason="archive", entries=["議事録/第1回.txt", "議事録/第2回.txt"],
                    notice=["議事録/第1回.txt", "ZIP 書庫"]))
    inner = zip_bytes([("run.js", b"WScript.Echo(1)")])
    z = zip_bytes([("inner.zip", inner), ("readme.txt", b"hello")])
    out.append(Case("zip-nested-script", message("nested", "outer.zip", z, "application/zip"),
                    reason="banned-type", entries=["inner.zip/run.js"],
                    notice=["inner.zip/run.js", "スクリプト"]))
    z = zip_bytes([("eicar.com", EICAR)])
    out.append(Case("zip-eicar", message("eicar zip", "test.zip", z, "application/zip"),
                    exit_code=3, categories=["virus"], smtp_reject=True))
    z = zip_bytes([("見積.txt", b"x")])
    out.append(Case("zip-named-pdf", message("zip pdf", "見積.pdf", z, "application/pdf"),
                    reason="archive", categories=["type-mismatch"], notice=["拡張子 .pdf"]))
    # a zip bomb: 150 MiB of zeros, past the 100 MiB expansion budget
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("zeros.bin", "w") as f:
            chunk = bytes(1 << 20)
            for _ in range(150):
                f.write(chunk)
    out.append(Case("zip-bomb", message("bomb", "bomb.zip", buf.getvalue(), "application/zip"),
                    reason="over-limit", notice=["bomb.zip"]))

    zip_tool = _tool("zip")
    if zip_tool:
        member = _member(workdir, "ppap", "契約書.txt", "契約書の本文")
        target = os.path.join(workdir, "ppap.zip")
        subprocess.run([zip_tool, "-q", "-P", "secret", "-j", target, member], check=True)
        with open(target, "rb") as f:
            data = f.read()
        out.append(Case("zip-encrypted", message("ppap", "契約書.zip", data, "application/zip"),
                        reason="encrypted", entries=["契約書.txt"],
                        notice=["パスワード付きファイルのため検査できません", "契約書.txt"]))
        # refused, with the Japanese notice language: the SMTP reply is
        # ASCII and says why in words, never "????" for the Japanese detail
        out.append(Case("zip-encrypted-reject",
                        message("ppap-reject", "契約書.zip", data, "application/zip"),
                        exit_code=3, categories=["encrypted"], smtp_reject=True,
                        config_extra="[sanitize]\nencrypted = reject\n",
                        reply=["encrypted: cannot be inspected"]))
    else:
        out.append(Case("zip-encrypted", b"", skip="zip(1) not installed"))

    sz = _tool("7z", "7za", "7zr")
    if sz:
        member = _member(workdir, "seven", "報告書.txt", "報告")
        plain = os.path.join(workdir, "plain.7z")
        enc = os.path.join(workdir, "enc.7z")
        for target, extra in ((plain, []), (enc, ["-psecret", "-mhe=on"])):
            subprocess.run([sz, "a", "-bd", "-bso0", "-bsp0", *extra, target, member], check=True)
        with open(plain, "rb") as f:
            out.append(Case("7z-plain", message("7z", "報告書.7z", f.read(),
                                                  "application/x-7z-compressed"),
                            reason="archive", entries=["報告書.txt"],
                            notice=["報告書.txt", "7-Zip 書庫"]))
        with open(enc, "rb") as f:
            out.append(Case("7z-encrypted", message("7z enc", "秘密.7z", f.read(),
                                                      "application/x-7z-compressed"),
                            reason="encrypted", notice=["パスワード付きファイルのため検査できません"]))
    else:
        out.append(Case("7z-plain", b"", skip="7z not installed"))
        out.append(Case("7z-encrypted", b"", skip="7z not installed"))

    lzh = lzh_bytes([("見積書①.txt", "御見積".encode("cp932")), ("setup.exe", exe)])
    out.append(Case("lzh-exe-cp932", message("lzh", "古い資料.lzh", lzh), reason="banned-type",
                    entries=["見積書①.txt", "setup.exe"],
                    notice=["見積書①.txt", "setup.exe", "LZH 書庫"], type_label="LZH 書庫"))
    lzh = lzh_bytes([("報告.txt", "報告".encode("cp932"))])
    out.append(Case("lzh-plain", message("lzh plain", "報告.lzh", lzh), reason="archive",
                    entries=["報告.txt"], notice=["報告.txt"]))

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in (("docs/run.vbs", b'MsgBox "x"'), ("docs/a.txt", b"a")):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    out.append(Case("tgz-vbs", message("tgz", "docs.tar.gz", buf.getvalue(), "application/gzip"),
                    reason="banned-type", entries=["docs/run.vbs"],
                    notice=["run.vbs"]))

    out.append(Case("docx-macros", message("macro", "請求書.docx", docx_with_macros(),
                                          "application/vnd.openxmlformats-officedocument."
                                          "wordprocessingml.document"),
                    reason="banned-type", notice=["マクロ"]))
    doc = cfb([("WordDocument", 2), ("Macros", 1), ("VBA", 1), ("_VBA_PROJECT", 2)])
    out.append(Case("doc-macros", message("doc macro", "議事録.doc", doc, "application/msword"),
                    reason="banned-type", notice=["マクロ"]))
    doc = cfb([("WordDocument", 2), ("EncryptionInfo", 2), ("EncryptedPackage", 2)])
    out.append(Case("docx-encrypted", message("ooxml enc", "給与.xlsx", doc,
                                             "application/vnd.openxmlformats-officedocument."
                                             "spreadsheetml.sheet"),
                    reason="encrypted", notice=["パスワード付きファイルのため検査できません"]))

    jtd = cfb([("DocumentText", 2), ("JSRV_SegmentName", 2), ("DocInfo", 2)])
    out.append(Case("ichitaro", message("jtd", "企画書.jtd", jtd), reason="banned-type",
                    notice=["企画書.jtd", "一太郎文書"], type_label="一太郎文書"))
    out.append(Case("docuworks", message("xdw", "図面.xdw", b"\x00\x01binary-docuworks-body" * 8),
                    reason="banned-type", notice=["図面.xdw", "DocuWorks 文書"],
                    type_label="DocuWorks 文書"))
    out.append(Case("pdf-hostile", message("pdf", "見積書.pdf", hostile_pdf(), "application/pdf"),
                    reason="converted", notice=["見積書.pdf", "画像のみの PDF"],
                    delivered=[("application/pdf", "見積書.pdf")]))
    # a PDF named .shtml: what comes out is named .pdf, and its octets
    # hold no markup (noise pixels spelling "<script>" are not copied)
    out.append(Case("pdf-named-shtml", message("shtml", "report.shtml", noise_pdf(), "application/pdf"),
                    reason="converted", notice=["report.shtml", "画像のみの PDF"],
                    delivered=[("application/pdf", "report.shtml.pdf")]))
    # a converter output that holds markup is not attached (fail closed)
    out.append(Case("pdf-text-markup", message("pdf markup", "資料.pdf", text_pdf(b"Quotation " + SCRIPT),
                                  "application/pdf"),
                    reason="banned-type",
                    notice=["資料.pdf", "変換後のファイルを添付できません: マークアップ（<script）を含みます"],
                    config_extra="[convert]\npdf = text\n"))
    # uuencode only the decoding shows (UTF-16), and a block whose first
    # data line is longer than its count says: both cut out
    uu = uuencoded(b"invoice.exe", exe)
    out.append(Case("uuencode-utf16", text_message("uu16", "請求書を送ります。\n" + uu.decode()
                                                   + "よろしくお願いします。\n", "utf-16le"),
                    categories=["inline-payload"], notice=["invoice.exe", "よろしくお願いします。"],
                    absent=[uu.splitlines()[1], b"begin 644"]))
    uu = uuencoded(b"invoice.exe", exe, first_extra=b"XYZ")
    out.append(Case("uuencode-long-line", text_message("uu long", "請求書を送ります。\n" + uu.decode() + "以上\n",
                                                       "utf-8"),
                    categories=["inline-payload"], notice=["invoice.exe"],
                    absent=[uu.splitlines()[1], b"begin 644"]))
    out.append(Case("png-metadata", message("png", "写真.png", png_with_metadata(), "image/png"),
                    reason="converted", notice=["写真.png"], delivered=[("image/png", "写真.png")]))
    out.append(Case("docx-text", message("docx", "見積書.docx", docx_japanese(),
                                        "application/vnd.openxmlformats-officedocument."
                                        "wordprocessingml.document"),
                    reason="converted", notice=["見積書.docx"],
                    delivered=[("text/plain", "見積書.docx.txt")]))

    # office documents through LibreOffice (mugai-filter-soffice)
    out.append(Case("odt-basic-macros", message("odt macro", "議事録.odt", odt_with_basic(),
                                               "application/vnd.oasis.opendocument.text"),
                    reason="banned-type", notice=["議事録.odt", "マクロ"]))
    no_lo = "LibreOffice (soffice) is not installed or could not convert"
    doc = soffice_convert(workdir, "mitsumori.docx", docx_japanese(), "doc")
    xls = soffice_convert(workdir, "yosan.ods", ods_japanese(), "xls")
    word = "application/msword"
    excel = "application/vnd.ms-excel"
    out.append(Case("doc-legacy-text", message("doc", "見積書.doc", doc or b"", word),
                    reason="converted", notice=["見積書.doc", "LibreOffice"], type_label="Word 文書",
                    delivered=[("text/plain", "見積書.doc.txt")], text=["御見積書", "株式会社①テスト 御中"],
                    skip=None if doc else no_lo))
    out.append(Case("xls-legacy-text", message("xls", "予算.xls", xls or b"", excel),
                    reason="converted", notice=["予算.xls"],
                    delivered=[("text/plain", "予算.xls.txt")], text=["予算", "項目\t金額\n庁舎修繕費\t1,200,000円"],
                    skip=None if xls else no_lo))
    image = "[convert]\noffice = image\n"
    out.append(Case("doc-office-image", message("doc image", "見積書.doc", doc or b"", word),
                    reason="converted", notice=["見積書.doc", "画像のみの PDF"],
                    delivered=[("application/pdf", "見積書.doc.pdf")], config_extra=image,
                    skip=None if doc else no_lo))
    out.append(Case("docx-office-image", message("docx image", "見積書.docx", docx_japanese(),
                                                "application/vnd.openxmlformats-officedocument."
                                                "wordprocessingml.document"),
                    reason="converted", notice=["見積書.docx", "画像のみの PDF"],
                    delivered=[("application/pdf", "見積書.docx.pdf"), ("text/plain", "見積書.docx.txt")],
                    text=["御見積書", "株式会社①テスト 御中"], config_extra=image + "pdf_text = yes\n",
                    skip=None if _tool("soffice") else no_lo))
    out.append(Case("rtf-libreoffice-timeout", message("rtf slow", "長文.rtf", rtf_long(), "application/rtf"),
                    reason="over-limit", notice=["長文.rtf", "変換が制限時間内に終わりませんでした"],
                    config_extra="[sandbox]\ntimeout = 2\n", no_stale_pipes=True,
                    skip=None if _tool("soffice") else no_lo))
    return out


# ---- bombs: small messages that are expensive to parse ---------------------

REPORT_MAX = 1024 * 1024  # mugai-limits.h MUGAI_LIMIT_REPORT_SIZE


def _bomb_head(subject, ctype, extra=b""):
    return (b"From: Sender <sender@example.com>\r\nTo: staff@city.example.lg.jp\r\n"
            b"Subject: " + subject.encode() + b"\r\n" + extra
            + b"MIME-Version: 1.0\r\nContent-Type: " + ctype.encode() + b"\r\n\r\n")


def part_bomb(n=300000):
    """n empty parts (9 octets each): 2.7 MB that GMime would make 1 GB of."""
    return (_bomb_head("part bomb", 'multipart/mixed; boundary="bomb"')
            + b"--bomb\r\n\r\n" * n + b"--bomb--\r\n")


def alternative_bomb(n=60000):
    """n alternatives of which one is shown: the others were each a report entry."""
    alt = b"--alt\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return (_bomb_head("alternative bomb", 'multipart/alternative; boundary="alt"') + alt * n
            + b"--alt\r\nContent-Type: text/html\r\n\r\n<p>shown</p>\r\n--alt--\r\n")


def attribute_html(n=80000):
    """One element with n attributes: quadratic in libxml2 2.9's start-tag parser."""
    return (b"<html><body><p>before</p><p" + b"".join(b" a%d=x" % i for i in range(n))
            + b">bomb text</p></body></html>\r\n")


def header_bomb(n=100000):
    """n header fields: as many delete edits to Postfix if they were dropped."""
    fields = b"".join(b"X-Filler-%d: v\r\n" % i for i in range(n))
    return _bomb_head("header bomb", "text/plain", fields) + b"hello\r\n"


ASAN_SKIP = ("under ASan, libclamav's HTML normaliser (scanning the raw message) takes minutes on "
             "it: it grows an array one attribute at a time, and ASan's realloc copies every time")


def is_asan(path):
    """TRUE when the executable at path is built with AddressSanitizer."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def bombs(asan=False):
    """asan: the executables are an ASan build (one case is skipped)."""
    return [
        Case("part-bomb", part_bomb(), exit_code=3, categories=["over-limit"], smtp_reject=True,
             detail="MIME parts", summary=True),
        Case("alternative-bomb", alternative_bomb(), exit_code=3, categories=["over-limit"],
             smtp_reject=True, detail="MIME parts", summary=True),
        Case("attribute-bomb", message("attribute bomb", "page.html", attribute_html(), "text/html"),
             reason="over-limit", notice=["page.html", "属性が多すぎるため表示できません"],
             detail="属性が多すぎる", skip=ASAN_SKIP if asan else None),
        Case("header-bomb", header_bomb(), exit_code=3, categories=["over-limit"], smtp_reject=True,
             detail="header fields"),
    ]
