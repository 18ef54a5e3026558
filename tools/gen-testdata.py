#!/usr/bin/env python3
"""Generate mugai's sample mailboxes and their expectations.

    python3 tools/gen-testdata.py [OUTDIR]      (default: testdata/ next to tools/)

Writes testdata/mbox/{japanese,structures,hostile}.mbox (mboxrd),
testdata/maildir/{cur,new,tmp}/ and testdata/expected.json.  Every message is
built byte by byte here, the way the named mail clients write it, so the
truth (the Unicode text a correct reader shows) is known without asking any
decoder: expected.json is written from the same Python strings that were
encoded.  Nothing is random and all dates are fixed, so every run writes
byte-identical files.

Each message carries "X-Test-Id: <id>" (an ordinary X- header that mugai
keeps).  A message that cannot carry one (the empty message) is keyed
"<mailbox path>#<1-based index>".

expected.json:
  {"order": {"mbox/japanese.mbox": [ids in order], ..., "maildir": {file: id}},
   "messages": {id: {
      "description": one line,
      "subject": exact decoded subject, or null (not checked),
      "from_name": decoded display name, or null (not checked),
      "body_contains": strings in the decoded main text body of the output,
      "body_absent": strings in no decoded text part and not in the raw output,
      "notice_names": decoded file names that the main text body must name,
      "verdict": expected verdict, or a list of acceptable ones that all deliver
                 (["clean", "sanitized"]); never deliver-or-reject,
      "removed": expected "removed" count, a list of acceptable counts, or null,
      "converted": (when present) expected "converted" count: PDFs and images
                   made inert by the filters under the default [convert] policy,
      "charset": charset used for the main body (report part of kind "body"),
                 or a list of acceptable ones, or null,
      optional: "reasons": categories that must appear in the report,
                "text_contains": strings that must appear in some decoded text
                                 part (e.g. a kept attachment, an inner message),
                "subject_contains": substrings of the decoded subject,
                "inner_subjects": decoded subjects of message/rfc822 parts}}}

Characters that JIS X 0208 and CP932 map differently (WAVE DASH U+301C vs
FULLWIDTH TILDE U+FF5E and friends) are written here as a Windows client
means them (CP932 view); the test scripts treat the pairs as equal.
"""

import base64
import binascii
import io
import json
import os
import quopri
import re
import struct
import sys
import zipfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests"))
from threatmail import pdf_bytes  # noqa: E402  (the PDF writer the tests use)

NL = b"\n"


# ---------------------------------------------------------------------------
# Charset helpers


def jis(text):
    """ISO-2022-JP as Outlook (CP50220) writes it: CP932 repertoire, so NEC
    special characters (row 13: ①, ㈱) and FULLWIDTH TILDE (0x2141) are
    allowed.  Python's iso2022_jp codec refuses those, hence this encoder.
    Half-width katakana are not allowed (CP50220 would widen them)."""
    out = bytearray()
    mode = "ascii"
    for ch in text:
        if ord(ch) < 0x80:
            if mode != "ascii":
                out += b"\x1b(B"
                mode = "ascii"
            out += ch.encode("ascii")
            continue
        sj = ch.encode("cp932")
        if len(sj) != 2:
            raise ValueError("not representable in ISO-2022-JP: %r" % ch)
        if mode != "jis":
            out += b"\x1b$B"
            mode = "jis"
        out += bytes(sjis_to_jis(sj[0], sj[1]))
    if mode != "ascii":
        out += b"\x1b(B"
    return bytes(out)


def sjis_to_jis(b1, b2):
    if b1 >= 0xE0:
        b1 -= 0x40
    row = (b1 - 0x81) * 2 + 0x21
    if b2 >= 0x9F:
        return row + 1, b2 - 0x9F + 0x21
    return row, b2 - 0x40 + 0x21 - (1 if b2 >= 0x80 else 0)


def unjis(data):
    """Inverse of jis(), used only to check it."""
    out, i, mode = [], 0, "ascii"
    while i < len(data):
        if data[i] == 0x1B:
            mode = "jis" if data[i + 1:i + 3] == b"$B" else "ascii"
            i += 3
        elif mode == "ascii":
            out.append(chr(data[i]))
            i += 1
        else:
            j1, j2 = data[i], data[i + 1]
            s1 = (j1 - 0x21) // 2 + 0x81
            if s1 > 0x9F:
                s1 += 0x40
            if j1 % 2:
                s2 = j2 - 0x21 + 0x40
                if s2 >= 0x7F:
                    s2 += 1
            else:
                s2 = j2 - 0x21 + 0x9F
            out.append(bytes([s1, s2]).decode("cp932"))
            i += 2
    return "".join(out)


def enc(text, charset):
    if charset == "iso-2022-jp":
        return jis(text)
    if charset == "shift_jis":
        return text.encode("cp932")
    return text.encode(charset)


def b64(data):
    return base64.encodebytes(data)  # 76-character lines, LF


def qp(data):
    return quopri.encodestring(data)


# ---------------------------------------------------------------------------
# RFC 2047 / RFC 2231


def ew_words(text, charset, label=None, per_word=12):
    """Split text at character boundaries into B encoded-words of at most
    per_word characters each (every word self-contained, as RFC 2047 5
    demands).  Returns a list of str."""
    label = label or charset
    words = []
    for i in range(0, len(text), per_word):
        chunk = enc(text[i:i + per_word], charset)
        word = "=?%s?B?%s?=" % (label, base64.b64encode(chunk).decode())
        assert len(word) <= 75, word
        words.append(word)
    return words


def ew_q(text, charset="utf-8", label=None):
    label = label or charset
    out = []
    for b in enc(text, charset):
        c = chr(b)
        if c.isalnum() and b < 0x80:
            out.append(c)
        elif c == " ":
            out.append("_")
        else:
            out.append("=%02X" % b)
    return "=?%s?Q?%s?=" % (label, "".join(out))


def folded(words, sep="\n "):
    return sep.join(words)


def pct(data):
    return "".join(chr(b) if (chr(b).isalnum() and b < 0x80) or chr(b) in "-._~"
                   else "%%%02X" % b for b in data)


# ---------------------------------------------------------------------------
# Payload bytes (inert look-alikes; each carries a marker that must never
# reach the sanitized output as text)


def fake_pdf(marker):
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
    ]
    stream = ("BT /F1 12 Tf 72 720 Td (%s) Tj ET" % marker).encode()
    objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    return pdf_bytes(objs, head=b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")


def fake_exe(marker):
    head = bytearray(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00")
    head += b"\xb8" + b"\x00" * 7 + b"\x40" + b"\x00" * 35 + b"\x80\x00\x00\x00"
    head += b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21"
    head += b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 7
    head += b"PE\x00\x00" + b"\x00" * 60 + marker.encode() + b"\x00" * 64
    return bytes(head)


def fake_zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2023, 11, 14, 10, 0, 0))
            info.create_system = 0
            info.external_attr = 0
            z.writestr(info, data)
    return buf.getvalue()


def fake_xlsx(marker):
    return fake_zip([
        ("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns='
         '"http://schemas.openxmlformats.org/package/2006/content-types"/>'),
        ("xl/workbook.xml", '<workbook><!-- %s --></workbook>' % marker),
    ])


def png_1x1():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    # Raw deflate stream written by hand (stored block), so the bytes do not
    # depend on the zlib version.
    raw = b"\x00\xff\x00\x00"  # filter 0, one red pixel
    stored = b"\x78\x01" + b"\x01" + struct.pack("<HH", len(raw), len(raw) ^ 0xFFFF) + raw
    stored += struct.pack(">I", zlib.adler32(raw))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", stored) + chunk(b"IEND", b""))


def fake_jpeg(marker):
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            b"\xff\xfe" + struct.pack(">H", len(marker) + 2) + marker.encode()
            + b"\xff\xdb\x00\x43\x00" + bytes(range(1, 65)) + b"\xff\xd9")


def fake_der(oid_tail, marker):
    body = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07" + bytes([oid_tail]) + marker.encode() + bytes(range(48))
    return b"\x30\x82" + struct.pack(">H", len(body)) + body


def fake_tnef(marker):
    def attr(level, attr_id, data):
        return (bytes([level]) + struct.pack("<II", attr_id, len(data)) + data
                + struct.pack("<H", sum(data) & 0xFFFF))
    out = b"\x78\x9f\x3e\x22" + b"\x01\x00"
    out += attr(1, 0x00089006, b"\x00\x00\x01\x00")
    out += attr(1, 0x00078008, b"IPM.Microsoft Mail.Note\x00")
    out += attr(2, 0x00069002, b"\x01\x00\x00\x00")
    out += attr(2, 0x00018010, b"macro.docm\x00")
    out += attr(2, 0x0006800F, b"PK\x03\x04" + marker.encode() + bytes(40))
    return out


def uuencode(name, data, mode="644"):
    lines = ["begin %s %s" % (mode, name)]
    for i in range(0, len(data), 45):
        lines.append(binascii.b2a_uu(data[i:i + 45]).decode().rstrip("\n"))
    lines += ["`", "end"]
    return ("\n".join(lines) + "\n").encode()


def yencode(name, data, line=128):
    out = bytearray(b"=ybegin line=%d size=%d name=%s\n" % (line, len(data), name.encode()))
    col = 0
    for b in data:
        c = (b + 42) & 0xFF
        if c in (0x00, 0x0A, 0x0D, 0x3D) or (col == 0 and c in (0x09, 0x20, 0x2E)):
            out += bytes([0x3D, (c + 64) & 0xFF])
            col += 2
        else:
            out.append(c)
            col += 1
        if col >= line:
            out += b"\n"
            col = 0
    if col:
        out += b"\n"
    out += b"=yend size=%d crc32=%08x\n" % (len(data), zlib.crc32(data))
    return bytes(out)


def binhex(name, data, ftype=b"APPL", creator=b"mugi"):
    """BinHex 4.0 (RFC 1741): header, data fork, empty resource fork, each
    with its CRC, run-length coded, then 6-bit coded in 64-column lines."""
    nb = name.encode()
    hdr = bytes([len(nb)]) + nb + b"\x00" + ftype + creator + b"\x00\x00"
    hdr += struct.pack(">II", len(data), 0)
    raw = bytearray()
    for block in (hdr, data, b""):
        raw += block + struct.pack(">H", binascii.crc_hqx(block + b"\x00\x00", 0))
    rle = bytearray()
    for b in raw:
        rle += b"\x90\x00" if b == 0x90 else bytes([b])
    alphabet = b'!"#$%&\'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr'
    bits, nbits, chars = 0, 0, bytearray()
    for b in rle:
        bits = (bits << 8) | b
        nbits += 8
        while nbits >= 6:
            nbits -= 6
            chars.append(alphabet[(bits >> nbits) & 0x3F])
    if nbits:
        chars.append(alphabet[(bits << (6 - nbits)) & 0x3F])
    text = b":" + bytes(chars) + b":"
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return b"(This file must be converted with BinHex 4.0)\n\n" + b"\n".join(lines) + b"\n"


# ---------------------------------------------------------------------------
# Message assembly


def lines(*items):
    """Header lines: str (must be ASCII) or bytes, each without newline."""
    out = bytearray()
    for item in items:
        if item is None:
            continue
        out += item.encode("ascii") if isinstance(item, str) else item
        out += NL
    return bytes(out)


def entity(headers, body):
    """headers: bytes from lines(); body: bytes."""
    if body and not body.endswith(NL):
        body += NL
    return headers + NL + body


def multipart(boundary, parts, preamble=b"", epilogue=b"", close=True):
    bnd = boundary.encode("ascii")
    out = bytearray(preamble)
    for p in parts:
        out += b"--" + bnd + NL + p
        if not p.endswith(NL):
            out += NL
    if close:
        out += b"--" + bnd + b"--" + NL + epilogue
    return bytes(out)


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


MESSAGES = []   # (mailbox, location, id, bytes)
EXPECTED = {}


def add(mailbox, msg_id, data, description, *, subject, from_name=None, body_contains=(),
        body_absent=(), notice_names=(), verdict, removed=None, charset=None, location=None,
        **extra):
    assert msg_id not in EXPECTED, msg_id
    if data and msg_id and b"X-Test-Id: " + msg_id.encode() not in data:
        raise AssertionError("%s: no X-Test-Id header" % msg_id)
    for s in list(body_contains) + list(notice_names):
        assert "お知らせ" not in s
    if isinstance(verdict, list) and not set(verdict) <= {"clean", "sanitized"}:
        raise AssertionError("%s: verdict %s: delivered or refused, name one" % (msg_id, verdict))
    exp = {
        "description": description,
        "subject": subject,
        "from_name": from_name,
        "body_contains": list(body_contains),
        "body_absent": list(body_absent),
        "notice_names": list(notice_names),
        "verdict": verdict,
        "removed": removed,
        "charset": charset,
    }
    exp.update(extra)
    MESSAGES.append((mailbox, location, msg_id, data))
    EXPECTED[msg_id] = exp


def utf8_head(frm, to, subject, day, msgid, *fields):
    """The header block most structure and hostile samples start with:
    From, To, Subject as one UTF-8 B encoded-word, Date (date(day)),
    Message-ID, MIME-Version, then fields (lines())."""
    return lines("From: " + frm, "To: " + to,
                 "Subject: =?UTF-8?B?%s?=" % base64.b64encode(subject.encode()).decode(),
                 "Date: " + date(day), "Message-ID: <%s>" % msgid, "MIME-Version: 1.0", *fields)


def utf8_text(text):
    """A text/plain part: text in UTF-8, 8bit."""
    return entity(lines("Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: 8bit"), text.encode())


TO_JA = "総務課"


def date(n):
    return "Tue, 14 Nov 2023 %02d:%02d:20 +0900" % (9 + n // 60 % 12, n % 60)


def outlook_boundary(n):
    return "----=_NextPart_000_%04X_01DA16F0.1C2E3F40" % n


def att(ctype, name_params, disp_params, payload, extra=()):
    """A base64 attachment; name_params/disp_params are the literal
    parameter texts written after the type and after "attachment"."""
    return entity(lines("Content-Type: %s;%s" % (ctype, name_params),
                        "Content-Transfer-Encoding: base64",
                        "Content-Disposition: attachment;%s" % disp_params, *extra),
                  b64(payload))


def quoted_ew(words):
    return '"%s"' % " ".join(words)


# ---------------------------------------------------------------------------
# japanese.mbox


def gen_japanese():
    mb = "mbox/japanese.mbox"

    # --- Outlook, ISO-2022-JP, NEC special characters ----------------------
    subject = "【至急】①②会議室の予約について～㈱サンプル商事　総務部より"
    body = ("総務課　御中\n\n"
            "㈱サンプル商事の山田です。\n"
            "会議室の予約について、下記のとおりお願いいたします。\n\n"
            "① 日時：１１月２０日（月）～２１日（火）\n"
            "② 場所：第３会議室（定員－２０名）\n\n"
            "見積書を添付いたします。ご確認ください。\n"
            "よろしくお願いいたします。\n")
    fname = "見積書①.pdf"
    b = outlook_boundary(1)
    fw = ew_words(fname, "iso-2022-jp", "iso-2022-jp")
    msg = lines(
        "From: %s <t-yamada@sample-shoji.example.co.jp>" % ew_words("山田 太郎", "iso-2022-jp")[0],
        "To: %s <soumu@city.example.lg.jp>" % ew_words(TO_JA, "iso-2022-jp")[0],
        "Subject: " + folded(ew_words(subject, "iso-2022-jp", per_word=9)),
        "Date: " + date(1),
        "Message-ID: <000101da16a5$1c2e3f40$548abdc0$@sample-shoji.example.co.jp>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed;",
        '\tboundary="%s"' % b,
        "X-Mailer: Microsoft Outlook 16.0",
        "Thread-Index: AdoWpRwuP0BUir3AQ1uXx8Bv2pZ3Ng==",
        "Content-Language: ja",
        "X-Test-Id: jp-outlook-jis",
    ) + NL + multipart(b, [
        entity(lines("Content-Type: text/plain;", '\tcharset="iso-2022-jp"',
                     "Content-Transfer-Encoding: 7bit"), jis(body)),
        entity(lines("Content-Type: application/pdf;", "\tname=" + quoted_ew(fw),
                     "Content-Transfer-Encoding: base64",
                     "Content-Disposition: attachment;", "\tfilename=" + quoted_ew(fw)),
               b64(fake_pdf("MUGAI-MARKER-PDF-OUTLOOK"))),
    ], preamble=b"This is a multi-part message in MIME format.\n\n")
    add(mb, "jp-outlook-jis", msg,
        "Outlook: ISO-2022-JP (CP50220) subject in 4 folded B-words with NEC characters, "
        "7bit JIS body, PDF named by an encoded-word inside quoted name=/filename=",
        subject=subject, from_name="山田 太郎",
        body_contains=["㈱サンプル商事の山田です。", "① 日時：１１月２０日（月）～２１日（火）",
                       "② 場所：第３会議室（定員－２０名）", "よろしくお願いいたします。"],
        body_absent=["MUGAI-MARKER-PDF-OUTLOOK"],
        notice_names=[fname], verdict="sanitized", removed=0, converted=1, charset="iso-2022-jp")

    # --- Outlook, UTF-8, a character split between two encoded-words -------
    subject = "Re: 【ご確認】令和6年度予算要求資料の提出について"
    raw = subject.encode("utf-8")
    cut = len("Re: 【ご確認】令和6".encode("utf-8")) + 2  # 2 of the 3 octets of 年
    assert raw[cut - 2] >= 0xE0
    words = ["=?utf-8?B?%s?=" % base64.b64encode(raw[:cut]).decode(),
             "=?utf-8?B?%s?=" % base64.b64encode(raw[cut:]).decode()]
    body = ("各課ご担当者様\n\n財政課の鈴木です。\n"
            "令和6年度予算要求資料を添付します。提出期限は１２月１日です。\n"
            "ご不明な点は内線２３４５までお問い合わせください。\n")
    fname = "令和6年度予算要求.xlsx"
    fw = ew_words(fname, "utf-8", "utf-8", per_word=8)
    b = outlook_boundary(2)
    msg = lines(
        "From: %s <i-suzuki@city.example.lg.jp>" % ew_q("鈴木 一郎"),
        "To: =?utf-8?B?%s?= <kakuka@city.example.lg.jp>" % base64.b64encode("各課".encode()).decode(),
        "Subject: " + folded(words),
        "Date: " + date(2),
        "Message-ID: <000201da16a6$2d3e4f50$659bcdd1$@city.example.lg.jp>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed;",
        '\tboundary="%s"' % b,
        "X-Mailer: Microsoft Outlook 16.0",
        "Content-Language: ja",
        "X-Test-Id: jp-outlook-utf8-split",
    ) + NL + multipart(b, [
        entity(lines('Content-Type: text/plain;', '\tcharset="utf-8"',
                     "Content-Transfer-Encoding: base64"), b64(body.encode())),
        att("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "\n\tname=" + quoted_ew(fw), "\n\tfilename=" + quoted_ew(fw),
            fake_xlsx("MUGAI-MARKER-XLSX-OUTLOOK")),
    ], preamble=b"This is a multi-part message in MIME format.\n\n")
    add(mb, "jp-outlook-utf8-split", msg,
        "Outlook, UTF-8: subject split into two B-words in the middle of a 3-octet character, "
        "Q-encoded From, base64 body, .xlsx named by quoted encoded-words",
        subject=subject, from_name="鈴木 一郎",
        body_contains=["財政課の鈴木です。", "提出期限は１２月１日です。"],
        body_absent=["MUGAI-MARKER-XLSX-OUTLOOK"],
        notice_names=[fname], verdict="sanitized", removed=1, charset="utf-8")

    # --- Thunderbird, UTF-8, RFC 2231 --------------------------------------
    subject = "防災訓練の実施計画（案）について"
    body = ("危機管理課の佐藤です。\n\n"
            "来月の防災訓練の実施計画（案）と、前回の会場写真をお送りします。\n"
            "ご意見があれば今週中にご連絡下さい。\n")
    f1 = "見積書.xlsx"
    f2 = "令和5年度_第3回_地域防災計画_検討会議_会場写真.png"
    f2b = f2.encode()
    half = 38  # octet offset inside 写: RFC 2231 continuations carry octets
    assert f2b[half] & 0xC0 == 0x80
    b = "------------0aBcDeFgHiJkLmNoPqRsTuVw"
    msg = lines(
        "Message-ID: <7f3c1a2b-4d5e-6f70-8192-a3b4c5d6e7f8@example.ne.jp>",
        "Date: " + date(3),
        "MIME-Version: 1.0",
        "User-Agent: Mozilla Thunderbird",
        "Content-Language: ja",
        "To: " + "=?UTF-8?B?%s?= <kikikanri@city.example.lg.jp>" % base64.b64encode("危機管理課".encode()).decode(),
        "From: =?UTF-8?B?%s?= <hanako.sato@example.ne.jp>" % base64.b64encode("佐藤 花子".encode()).decode(),
        "Subject: " + folded(ew_words(subject, "utf-8", "UTF-8", per_word=10)),
        "Content-Type: multipart/mixed; boundary=\"%s\"" % b,
        "X-Test-Id: jp-thunderbird-utf8",
    ) + NL + multipart(b, [
        entity(lines("Content-Type: text/plain; charset=UTF-8; format=flowed",
                     "Content-Transfer-Encoding: base64"), b64(body.encode())),
        entity(lines("Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;",
                     " name=" + quoted_ew(ew_words(f1, "utf-8", "UTF-8")),
                     "Content-Disposition: attachment;",
                     " filename*=UTF-8''" + pct(f1.encode()),
                     "Content-Transfer-Encoding: base64"), b64(fake_xlsx("MUGAI-MARKER-XLSX-TB"))),
        entity(lines("Content-Type: image/png;",
                     " name=" + quoted_ew(ew_words(f2, "utf-8", "UTF-8", per_word=10)),
                     "Content-Disposition: attachment;",
                     " filename*0*=UTF-8''" + pct(f2b[:half]) + ";",
                     " filename*1*=" + pct(f2b[half:]),
                     "Content-Transfer-Encoding: base64"), b64(png_1x1())),
    ], preamble=b"This is a multi-part message in MIME format.\n")
    add(mb, "jp-thunderbird-utf8", msg,
        "Thunderbird: UTF-8 subject, base64 format=flowed body, RFC 2231 filename*= and a "
        "filename*0*/*1* continuation split inside a character",
        subject=subject, from_name="佐藤 花子",
        body_contains=["危機管理課の佐藤です。", "前回の会場写真をお送りします。"],
        body_absent=["MUGAI-MARKER-XLSX-TB"],
        notice_names=[f1, f2], verdict="sanitized", removed=1, converted=1, charset="utf-8")

    # --- Shift_JIS, quoted-printable, IBM/NEC extensions, half-width kana --
    subject = "①山﨑様へ：ｱﾝｹｰﾄ集計結果のご報告"
    body = ("山﨑様\n\n髙橋です。先日のｱﾝｹｰﾄ（全５問）の集計結果をご報告します。\n"
            "① 満足：４２名\n② 普通：１７名\n③ 不満：　３名\n\n"
            "詳細は来週～再来週にまとめてお送りします。\n"
            "表の形式はこれまでと同じです。\n")
    msg = lines(
        "From: =?Shift_JIS?B?%s?= <k-takahashi@example.jp>" % base64.b64encode(enc("髙橋 健一", "shift_jis")).decode(),
        "To: =?Shift_JIS?B?%s?= <yamazaki@city.example.lg.jp>" % base64.b64encode(enc("山﨑 様", "shift_jis")).decode(),
        "Subject: " + folded(ew_words(subject, "shift_jis", "Shift_JIS", per_word=10)),
        "Date: " + date(4),
        "Message-Id: <20231114101320.8A3F.K-TAKAHASHI@example.jp>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=\"Shift_JIS\"",
        "Content-Transfer-Encoding: quoted-printable",
        "X-Mailer: Becky! ver. 2.81.04 [ja]",
        "X-Test-Id: jp-sjis-qp",
    ) + NL + qp(enc(body, "shift_jis"))
    add(mb, "jp-sjis-qp", msg,
        "Becky!: Shift_JIS (CP932) quoted-printable body and B-word subject with IBM "
        "extensions (髙, 﨑), NEC ①, half-width katakana",
        subject=subject, from_name="髙橋 健一",
        body_contains=["髙橋です。", "ｱﾝｹｰﾄ（全５問）", "① 満足：４２名", "来週～再来週",
                       "表の形式はこれまでと同じです。"],
        verdict="clean", removed=0, charset="shift_jis")

    # --- Shift_JIS 8bit, raw 8-bit Subject and From ------------------------
    subject = "来週の打ち合わせ日程表について（ご相談）"
    body = ("中村です。\n\n来週の打ち合わせですが、日程表のとおり\n"
            "火曜日の午後はいかがでしょうか。\n"
            "ソフトウェアの機能表も持参します。\n")
    msg = lines(
        b"From: " + enc("中村 美穂", "shift_jis") + b" <miho@example.jp>",
        b"To: soumu@city.example.lg.jp",
        b"Subject: " + enc(subject, "shift_jis"),
        "Date: " + date(5),
        "Message-Id: <200311141013.AA00042@example.jp>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=Shift_JIS",
        "Content-Transfer-Encoding: 8bit",
        "X-Mailer: AL-Mail32 Version 1.13",
        "X-Test-Id: jp-sjis-8bit-raw",
    ) + NL + enc(body, "shift_jis")
    assert b"\x5c" in enc(subject, "shift_jis")  # 表 = 0x95 0x5C
    add(mb, "jp-sjis-8bit-raw", msg,
        "old mailer: raw 8-bit Shift_JIS Subject and From display name (no encoded-words), "
        "8bit Shift_JIS body with 0x5C trail octets (表, ソ, 能)",
        subject=subject, from_name="中村 美穂",
        body_contains=["来週の打ち合わせですが、日程表のとおり", "ソフトウェアの機能表も持参します。"],
        verdict=["clean", "sanitized"], removed=0, charset="shift_jis")

    # --- EUC-JP ---------------------------------------------------------------
    subject = "住民説明会の開催について（ご案内）"
    body = ("小林です。\n\n住民説明会を下記のとおり開催します。\n"
            "　日時：１２月３日（日）１０時〜１２時\n　会場：ｺﾐｭﾆﾃｨｾﾝﾀｰ　２階\n\n"
            "資料作成ツールの更新プログラムを添付します。\n")
    fname = "更新プログラム.exe"
    b = "=-=-=_mugai_eucjp_1=-=-="
    msg = lines(
        "From: =?EUC-JP?B?%s?= <kobayashi@example.or.jp>" % base64.b64encode(enc("小林 誠", "euc_jp")).decode(),
        "To: soumu@city.example.lg.jp",
        "Subject: " + folded(ew_words(subject, "euc_jp", "EUC-JP", per_word=12)),
        "Date: " + date(6),
        "Message-Id: <20231114.101320.1234.kobayashi@example.or.jp>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed; boundary=\"%s\"" % b,
        "X-Mailer: Sylpheed 3.7.0 (GTK+ 2.24.32; x86_64-pc-linux-gnu)",
        "X-Test-Id: jp-eucjp",
    ) + NL + multipart(b, [
        entity(lines("Content-Type: text/plain; charset=EUC-JP", "Content-Transfer-Encoding: 8bit"),
               enc(body, "euc_jp")),
        entity(lines("Content-Type: application/octet-stream;",
                     " name=\"=?EUC-JP?B?%s?=\"" % base64.b64encode(enc(fname, "euc_jp")).decode(),
                     "Content-Disposition: attachment;",
                     " filename=\"=?EUC-JP?B?%s?=\"" % base64.b64encode(enc(fname, "euc_jp")).decode(),
                     "Content-Transfer-Encoding: base64"), b64(fake_exe("MUGAI-MARKER-EXE-EUC"))),
    ])
    add(mb, "jp-eucjp", msg,
        "EUC-JP: B-word subject and From, 8bit body with half-width katakana (SS2), .exe named "
        "by an EUC-JP encoded-word",
        subject=subject, from_name="小林 誠",
        body_contains=["住民説明会を下記のとおり開催します。", "１０時〜１２時", "ｺﾐｭﾆﾃｨｾﾝﾀｰ　２階"],
        body_absent=["MUGAI-MARKER-EXE-EUC"],
        notice_names=[fname], verdict="sanitized", removed=1, charset="euc-jp")

    # --- mislabelled: declared ISO-2022-JP, really Shift_JIS -------------------
    subject = "請求書送付のご連絡"
    body = "経理担当の伊藤です。\n今月分の請求書を郵送いたしました。\nご査収のほどよろしくお願いいたします。\n"
    msg = lines(
        "From: =?ISO-2022-JP?B?%s?= <ito@example.co.jp>" % base64.b64encode(jis("伊藤")).decode(),
        "To: keiri@city.example.lg.jp",
        "Subject: " + folded(ew_words(subject, "iso-2022-jp", "ISO-2022-JP")),
        "Date: " + date(7),
        "Message-ID: <mislabel-1@example.co.jp>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=ISO-2022-JP",
        "Content-Transfer-Encoding: 7bit",
        "X-Test-Id: jp-mislabel-jis-is-sjis",
    ) + NL + enc(body, "shift_jis")
    add(mb, "jp-mislabel-jis-is-sjis", msg,
        "mislabelled: charset=ISO-2022-JP and 7bit declared, body is 8-bit Shift_JIS",
        subject=subject, from_name="伊藤",
        body_contains=["経理担当の伊藤です。", "今月分の請求書を郵送いたしました。"],
        verdict=["clean", "sanitized"], removed=0, charset="shift_jis")

    # --- mislabelled: declared us-ascii, really UTF-8 --------------------------
    subject = "文字コード表記の誤り（us-ascii）"
    body = "情報政策課の渡辺です。\nこのメールは us-ascii と宣言していますが本文は UTF-8 です。\n"
    msg = utf8_head(
        "watanabe@example.com", "jousei@city.example.lg.jp", subject, 8, "mislabel-2@example.com",
        "Content-Type: text/plain; charset=us-ascii",
        "Content-Transfer-Encoding: 7bit",
        "X-Test-Id: jp-mislabel-ascii-is-utf8",
    ) + NL + body.encode()
    add(mb, "jp-mislabel-ascii-is-utf8", msg,
        "mislabelled: charset=us-ascii, 7bit declared, body is 8-bit UTF-8",
        subject=subject, body_contains=["情報政策課の渡辺です。", "本文は UTF-8 です。"],
        verdict=["clean", "sanitized"], removed=0, charset="utf-8")

    # --- mislabelled: declared Shift_JIS, really UTF-8 -------------------------
    subject = "【再送】議会資料の差し替えについて"
    body = ("議会事務局の加藤です。\n先ほどお送りした議会資料に誤りがありましたので差し替えをお願いします。\n"
            "差し替え箇所は３ページ目の表です。\n")
    msg = lines(
        "From: =?UTF-8?B?%s?= <kato@example.org>" % base64.b64encode("加藤 直樹".encode()).decode(),
        "To: gikai@city.example.lg.jp",
        "Subject: " + folded(ew_words(subject, "utf-8", "UTF-8")),
        "Date: " + date(9),
        "Message-ID: <mislabel-3@example.org>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=Shift_JIS",
        "Content-Transfer-Encoding: 8bit",
        "X-Test-Id: jp-mislabel-sjis-is-utf8",
    ) + NL + body.encode()
    add(mb, "jp-mislabel-sjis-is-utf8", msg,
        "mislabelled: charset=Shift_JIS declared, body is UTF-8",
        subject=subject, from_name="加藤 直樹",
        body_contains=["議会事務局の加藤です。", "差し替え箇所は３ページ目の表です。"],
        verdict=["clean", "sanitized"], removed=0, charset="utf-8")

    # --- no charset parameter, ISO-2022-JP escapes -------------------------------
    subject = "回覧：年末年始の庁舎管理について"
    body = "庁舎管理担当です。\n年末年始（１２月２９日から１月３日）は庁舎を閉鎖します。\n"
    msg = lines(
        "From: chousha@example.lg.jp",
        "To: zenshokuin@city.example.lg.jp",
        "Subject: " + folded(ew_words(subject, "iso-2022-jp", "ISO-2022-JP")),
        "Date: " + date(10),
        "Message-ID: <nocharset-1@example.lg.jp>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain",
        "Content-Transfer-Encoding: 7bit",
        "X-Test-Id: jp-nocharset-jis",
    ) + NL + jis(body)
    add(mb, "jp-nocharset-jis", msg,
        "Content-Type: text/plain without charset, body in ISO-2022-JP escapes",
        subject=subject, body_contains=["庁舎管理担当です。", "庁舎を閉鎖します。"],
        verdict=["clean", "sanitized"], removed=0, charset="iso-2022-jp")

    # --- raw ISO-2022-JP in the Subject ------------------------------------------
    subject = "出張報告書の提出について"
    body = "企画課の木村です。\n出張報告書は金曜日までに提出してください。\n"
    msg = lines(
        b"From: kimura@example.jp",
        b"To: kikaku@city.example.lg.jp",
        b"Subject: " + jis(subject),
        "Date: " + date(11),
        "Message-ID: <rawjis-1@example.jp>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=ISO-2022-JP",
        "Content-Transfer-Encoding: 7bit",
        "X-Test-Id: jp-raw-jis-subject",
    ) + NL + jis(body)
    add(mb, "jp-raw-jis-subject", msg,
        "Subject holds raw ISO-2022-JP escape sequences, no encoded-words",
        subject=subject, body_contains=["企画課の木村です。", "金曜日までに提出してください。"],
        verdict=["clean", "sanitized"], removed=0, charset="iso-2022-jp")


# ---------------------------------------------------------------------------
# structures.mbox


def gen_structures():
    mb = "mbox/structures.mbox"

    # --- every kind of attachment, names in every encoding ---------------------
    subject = "第２回検討会の資料一式"
    body = ("検討会事務局です。\n第２回検討会の資料一式をお送りします。\n"
            "議事録はテキストで添付しています。\n")
    names = {"pdf": "議案書.pdf", "xlsx": "予算表.xlsx", "exe": "セットアップ.exe",
             "jpg": "現場写真.jpg", "txt": "議事録.txt"}
    minutes = "第２回検討会　議事録\n出席者：１２名\n決定事項：次回は１月に開催する。\n"
    js = "var sh = new ActiveXObject('WScript.Shell');\nsh.Run('cmd /c echo MUGAI-MARKER-JS');\n"
    b = "==mugai-structures-attachments=="
    msg = lines(
        "From: =?UTF-8?B?%s?= <jimukyoku@example.jp>" % base64.b64encode("検討会事務局".encode()).decode(),
        "To: soumu@city.example.lg.jp",
        "Subject: " + folded(ew_words(subject, "utf-8", "UTF-8")),
        "Date: " + date(20),
        "Message-ID: <attachments-1@example.jp>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed; boundary=\"%s\"" % b,
        "X-Test-Id: st-attachments",
    ) + NL + multipart(b, [
        utf8_text(body),
        att("application/pdf", " name=\"%s\"" % ew_words(names["pdf"], "iso-2022-jp", "ISO-2022-JP")[0],
            " filename=\"%s\"" % ew_words(names["pdf"], "iso-2022-jp", "ISO-2022-JP")[0],
            fake_pdf("MUGAI-MARKER-PDF-ST")),
        att("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "",
            " filename*=UTF-8''" + pct(names["xlsx"].encode()), fake_xlsx("MUGAI-MARKER-XLSX-ST")),
        att("application/x-msdownload", " name=\"%s\"" % ew_words(names["exe"], "euc_jp", "EUC-JP")[0],
            " filename=\"%s\"" % ew_words(names["exe"], "euc_jp", "EUC-JP")[0],
            fake_exe("MUGAI-MARKER-EXE-ST")),
        att("image/jpeg", "", " filename*=Shift_JIS''" + pct(enc(names["jpg"], "shift_jis")),
            fake_jpeg("MUGAI-MARKER-JPEG-ST")),
        entity(lines("Content-Type: text/plain; charset=Shift_JIS;",
                     " name=\"%s\"" % ew_words(names["txt"], "iso-2022-jp", "ISO-2022-JP")[0],
                     "Content-Transfer-Encoding: base64",
                     "Content-Disposition: attachment;",
                     " filename=\"%s\"" % ew_words(names["txt"], "iso-2022-jp", "ISO-2022-JP")[0]),
               b64(enc(minutes, "shift_jis"))),
        entity(lines("Content-Type: text/plain; charset=us-ascii; name=\"update.js\"",
                     "Content-Transfer-Encoding: 7bit",
                     "Content-Disposition: attachment; filename=\"update.js\""), js.encode()),
    ])
    add(mb, "st-attachments", msg,
        "PDF (ISO-2022-JP word), .xlsx zip (RFC 2231 UTF-8), .exe (EUC-JP word), JPEG "
        "(RFC 2231 Shift_JIS), kept Shift_JIS text attachment 議事録.txt, .js declared text/plain",
        subject=subject, from_name="検討会事務局",
        body_contains=["第２回検討会の資料一式をお送りします。"],
        body_absent=["MUGAI-MARKER-PDF-ST", "MUGAI-MARKER-XLSX-ST", "MUGAI-MARKER-EXE-ST",
                     "MUGAI-MARKER-JPEG-ST"],
        notice_names=[names["pdf"], names["xlsx"], names["exe"], names["jpg"]],
        text_contains=["決定事項：次回は１月に開催する。"],
        verdict="sanitized", removed=[4, 5], charset="utf-8")

    # --- S/MIME signed ------------------------------------------------------------
    subject = "【電子署名付き】入札結果の通知"
    body = "契約課です。\n入札の結果を通知します。落札者は株式会社サンプルです。\n"
    b = "----=_smime_signed_0001"
    msg = lines(
        "From: keiyaku@pref.example.lg.jp",
        "To: soumu@city.example.lg.jp",
        "Subject: " + folded(ew_words(subject, "iso-2022-jp", "ISO-2022-JP")),
        "Date: " + date(21),
        "Message-ID: <smime-signed-1@pref.example.lg.jp>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;",
        " boundary=\"%s\"" % b,
        "X-Test-Id: st-smime-signed",
    ) + NL + multipart(b, [
        entity(lines("Content-Type: text/plain; charset=ISO-2022-JP", "Content-Transfer-Encoding: 7bit"),
               jis(body)),
        entity(lines("Content-Type: application/pkcs7-signature; name=\"smime.p7s\"",
                     "Content-Transfer-Encoding: base64",
                     "Content-Disposition: attachment; filename=\"smime.p7s\"",
                     "Content-Description: S/MIME Cryptographic Signature"),
               b64(fake_der(0x02, "MUGAI-MARKER-P7S"))),
    ], preamble=b"This is a cryptographically signed message in MIME format.\n\n")
    add(mb, "st-smime-signed", msg,
        "S/MIME multipart/signed: ISO-2022-JP text and a dummy application/pkcs7-signature",
        subject=subject, body_contains=["落札者は株式会社サンプルです。"],
        body_absent=["MUGAI-MARKER-P7S"], reasons=["signature"],
        verdict="sanitized", removed=None, charset="iso-2022-jp")

    # --- PGP/MIME signed -------------------------------------------------------------
    subject = "PGP署名付きのお願い"
    body = "情報システム課です。\nパスワード変更のお願いです。署名を確認してください。\n"
    b = "pgp-signed-boundary-0002"
    sig = ("-----BEGIN PGP SIGNATURE-----\n\n"
           "iHUEARYKAB0WIQRtZXVnYWktdGVzdC1kdW1teS1zaWcAAAAAAAAAAAoJEAAAAAAA\n"
           "AAAAMUGAIMARKERPGPSIG0000000000000000000000000000000000000000000\n"
           "=mUgA\n-----END PGP SIGNATURE-----\n")
    msg = utf8_head(
        "jouhou@example.jp", "soumu@city.example.lg.jp", subject, 22, "pgp-signed-1@example.jp",
        "Content-Type: multipart/signed; micalg=pgp-sha256;",
        " protocol=\"application/pgp-signature\"; boundary=\"%s\"" % b,
        "X-Test-Id: st-pgp-signed",
    ) + NL + multipart(b, [
        entity(lines("Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: base64"),
               b64(body.encode())),
        entity(lines("Content-Type: application/pgp-signature; name=\"signature.asc\"",
                     "Content-Description: OpenPGP digital signature",
                     "Content-Disposition: attachment; filename=\"signature.asc\""), sig.encode()),
    ], preamble=b"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\n")
    add(mb, "st-pgp-signed", msg,
        "PGP/MIME multipart/signed with application/pgp-signature",
        subject=subject, body_contains=["パスワード変更のお願いです。"],
        reasons=["signature"], verdict="sanitized", removed=None, charset="utf-8")

    # --- S/MIME encrypted (application/pkcs7-mime) -----------------------------------
    subject = "暗号化メール"
    msg = lines(
        "From: angou@example.jp",
        "To: soumu@city.example.lg.jp",
        "Subject: =?ISO-2022-JP?B?%s?=" % base64.b64encode(jis(subject)).decode(),
        "Date: " + date(23),
        "Message-ID: <pkcs7-mime-1@example.jp>",
        "MIME-Version: 1.0",
        "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"",
        "Content-Transfer-Encoding: base64",
        "Content-Disposition: attachment; filename=\"smime.p7m\"",
        "Content-Description: S/MIME Encrypted Message",
        "X-Test-Id: st-pkcs7-mime",
    ) + NL + b64(fake_der(0x03, "MUGAI-MARKER-P7M"))
    add(mb, "st-pkcs7-mime", msg,
        "S/MIME application/pkcs7-mime enveloped-data as the whole message",
        subject=subject, body_absent=["MUGAI-MARKER-P7M"], reasons=["encrypted"],
        verdict="sanitized", removed=None, charset=None)

    # --- PGP/MIME encrypted ------------------------------------------------------------
    subject = "暗号化された報告"
    b = "pgp-encrypted-boundary-0003"
    armored = ("-----BEGIN PGP MESSAGE-----\n\n"
               "hQEMA01VR0FJLVRFU1QBB/9NVUdBSS1NQVJLRVItUEdQLUVOQwAAAAAAAAAAAAAAAAAA\n"
               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
               "=AAAA\n-----END PGP MESSAGE-----\n")
    msg = utf8_head(
        "angou@example.jp", "soumu@city.example.lg.jp", subject, 24, "pgp-encrypted-1@example.jp",
        "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";",
        " boundary=\"%s\"" % b,
        "X-Test-Id: st-pgp-encrypted",
    ) + NL + multipart(b, [
        entity(lines("Content-Type: application/pgp-encrypted",
                     "Content-Description: PGP/MIME version identification"), b"Version: 1\n"),
        entity(lines("Content-Type: application/octet-stream; name=\"encrypted.asc\"",
                     "Content-Description: OpenPGP encrypted message",
                     "Content-Disposition: inline; filename=\"encrypted.asc\""), armored.encode()),
    ], preamble=b"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\n")
    add(mb, "st-pgp-encrypted", msg, "PGP/MIME multipart/encrypted",
        subject=subject, reasons=["encrypted"], verdict="sanitized",
        removed=None, charset=None)

    # --- TNEF (winmail.dat) -------------------------------------------------------------
    subject = "会議の議事次第"
    body = "総務課の皆様\n\n議事次第をお送りします。\n"
    b = outlook_boundary(7)
    msg = lines(
        "From: =?iso-2022-jp?B?%s?= <ikeda@example.co.jp>" % base64.b64encode(jis("池田 健")).decode(),
        "To: soumu@city.example.lg.jp",
        "Subject: =?iso-2022-jp?B?%s?=" % base64.b64encode(jis(subject)).decode(),
        "Date: " + date(25),
        "Message-ID: <000701da16a9$5f607182$1e2f3a4b$@example.co.jp>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed;", "\tboundary=\"%s\"" % b,
        "X-Mailer: Microsoft Outlook 14.0",
        "X-MS-TNEF-Correlator: 00000000A1B2C3D4E5F60718293A4B5C6D7E8F9001234567",
        "X-Test-Id: st-tnef",
    ) + NL + multipart(b, [
        entity(lines("Content-Type: text/plain;", "\tcharset=\"iso-2022-jp\"",
                     "Content-Transfer-Encoding: 7bit"), jis(body)),
        entity(lines("Content-Type: application/ms-tnef;", "\tname=\"winmail.dat\"",
                     "Content-Transfer-Encoding: base64",
                     "Content-Disposition: attachment;", "\tfilename=\"winmail.dat\""),
               b64(fake_tnef("MUGAI-MARKER-TNEF"))),
    ], preamble=b"This is a multi-part message in MIME format.\n\n")
    add(mb, "st-tnef", msg, "Outlook RTF mail: application/ms-tnef winmail.dat",
        subject=subject, from_name="池田 健", body_contains=["議事次第をお送りします。"],
        body_absent=["MUGAI-MARKER-TNEF"], notice_names=["winmail.dat"],
        verdict="sanitized", removed=1, charset="iso-2022-jp")

    # --- message/rfc822 attached ------------------------------------------------------------
    inner_subject = "Fw: 【内部】監査資料の送付"
    inner_body = "監査委員事務局です。\n監査資料を添付します。取扱いに注意してください。\n"
    inner_name = "内部資料.pdf"
    ib = outlook_boundary(8)
    inner = lines(
        "From: =?ISO-2022-JP?B?%s?= <kansa@example.lg.jp>" % base64.b64encode(jis("監査委員事務局")).decode(),
        "To: soumu@city.example.lg.jp",
        "Subject: " + folded(ew_words(inner_subject, "iso-2022-jp", "ISO-2022-JP", per_word=8)),
        "Date: Mon, 13 Nov 2023 17:45:00 +0900",
        "Message-ID: <inner-1@example.lg.jp>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed; boundary=\"%s\"" % ib,
    ) + NL + multipart(ib, [
        entity(lines("Content-Type: text/plain; charset=ISO-2022-JP", "Content-Transfer-Encoding: 7bit"),
               jis(inner_body)),
        att("application/pdf", " name=\"%s\"" % ew_words(inner_name, "iso-2022-jp", "ISO-2022-JP")[0],
            " filename=\"%s\"" % ew_words(inner_name, "iso-2022-jp", "ISO-2022-JP")[0],
            fake_pdf("MUGAI-MARKER-PDF-INNER")),
    ])
    subject = "転送：監査資料"
    body = "森です。\n監査委員事務局からのメールを転送します。\n"
    b = "------------mugaiForwardAsAttachment0001"
    msg = lines(
        "From: =?UTF-8?B?%s?= <mori@city.example.lg.jp>" % base64.b64encode("森 裕子".encode()).decode(),
        "To: soumu@city.example.lg.jp",
        "Subject: =?UTF-8?B?%s?=" % base64.b64encode(subject.encode()).decode(),
        "Date: " + date(26),
        "Message-ID: <forward-1@city.example.lg.jp>",
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed; boundary=\"%s\"" % b,
        "User-Agent: Mozilla Thunderbird",
        "X-Test-Id: st-rfc822",
    ) + NL + multipart(b, [
        entity(lines("Content-Type: text/plain; charset=UTF-8; format=flowed",
                     "Content-Transfer-Encoding: 8bit"), body.encode()),
        entity(lines("Content-Type: message/rfc822; name=\"forwarded.eml\"",
                     "Content-Disposition: attachment; filename=\"forwarded.eml\""), inner),
    ])
    add(mb, "st-rfc822", msg,
        "message/rfc822 attached (forward as attachment) whose inner message has an "
        "ISO-2022-JP subject, JIS body and its own PDF",
        subject=subject, from_name="森 裕子", body_contains=["監査委員事務局からのメールを転送します。"],
        body_absent=["MUGAI-MARKER-PDF-INNER"],
        text_contains=["取扱いに注意してください。", inner_name], inner_subjects=[inner_subject],
        verdict="sanitized", removed=None, charset="utf-8")

    # --- nested multiparts, 4 levels ---------------------------------------------------------
    subject = "四階層の入れ子構造"
    html = ("<html><body><p>入れ子構造の<b>HTML本文</b>です。</p>"
            "<p><img src=\"cid:fig1@example.jp\" alt=\"図1の説明\"></p></body></html>")
    text = "入れ子構造のテキスト本文です。\n"
    docx = "報告書.docx"
    fig = "図1.png"
    msg = utf8_head(
        "nest@example.jp", "soumu@city.example.lg.jp", subject, 27, "nested-1@example.jp",
        "Content-Type: multipart/mixed; boundary=\"L1\"",
        "X-Test-Id: st-nested-deep",
    ) + NL + multipart("L1", [
        entity(lines("Content-Type: multipart/mixed; boundary=\"L2\""), multipart("L2", [
            entity(lines("Content-Type: multipart/alternative; boundary=\"L3\""), multipart("L3", [
                entity(lines("Content-Type: text/plain; charset=UTF-8",
                             "Content-Transfer-Encoding: base64"), b64(text.encode())),
                entity(lines("Content-Type: multipart/related; type=\"text/html\"; boundary=\"L4\""),
                       multipart("L4", [
                           entity(lines("Content-Type: text/html; charset=UTF-8",
                                        "Content-Transfer-Encoding: quoted-printable"), qp(html.encode())),
                           entity(lines("Content-Type: image/png; name*=UTF-8''" + pct(fig.encode()),
                                        "Content-Transfer-Encoding: base64",
                                        "Content-ID: <fig1@example.jp>",
                                        "Content-Disposition: inline; filename*=UTF-8''" + pct(fig.encode())),
                                  b64(png_1x1())),
                       ])),
            ])),
            att("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "",
                " filename*=UTF-8''" + pct(docx.encode()), fake_zip([("word/document.xml",
                                                                      "<w:document>MUGAI-MARKER-DOCX</w:document>")])),
        ])),
    ])
    add(mb, "st-nested-deep", msg,
        "mixed > mixed > alternative > related (HTML + inline cid PNG), .docx at depth 2",
        subject=subject, body_contains=["HTML本文"], body_absent=["MUGAI-MARKER-DOCX", "cid:fig1"],
        notice_names=[docx, fig], verdict="sanitized", removed=1, converted=2, charset="utf-8")

    # --- multipart/related with an inline cid image ---------------------------------------------
    subject = "市報の原稿（画像入り）"
    html = ("<html><head><meta charset=\"utf-8\"></head><body>"
            "<p><img src=\"cid:logo.0001@example.lg.jp\" alt=\"市章\" width=\"64\"></p>"
            "<p>市報１２月号の原稿です。</p></body></html>")
    b = "related-0001"
    msg = utf8_head(
        "kouhou@example.lg.jp", "soumu@city.example.lg.jp", subject, 28, "related-1@example.lg.jp",
        "Content-Type: multipart/related; type=\"text/html\"; boundary=\"%s\"" % b,
        "X-Test-Id: st-related-cid",
    ) + NL + multipart(b, [
        entity(lines("Content-Type: text/html; charset=UTF-8", "Content-Transfer-Encoding: base64"),
               b64(html.encode())),
        entity(lines("Content-Type: image/png; name=\"logo.png\"", "Content-Transfer-Encoding: base64",
                     "Content-ID: <logo.0001@example.lg.jp>",
                     "Content-Disposition: inline; filename=\"logo.png\""), b64(png_1x1())),
    ])
    add(mb, "st-related-cid", msg, "multipart/related: HTML with an inline cid: PNG",
        subject=subject, body_contains=["市報１２月号の原稿です。", "市章"],
        notice_names=["logo.png"], verdict="sanitized", removed=0, converted=2, charset="utf-8")

    # --- inline payloads: uuencode, yEnc, BinHex ---------------------------------------------
    payload = fake_exe("MUGAI-MARKER-UUENCODE")
    uu = uuencode("update.exe", payload)
    uu_line = uu.split(NL)[3].decode()
    body = ("システム保守の担当です。\n更新ファイルを以下に貼り付けます。\n\n".encode()
            + uu + "\n上記を保存して実行してください。\n".encode())
    msg = utf8_head(
        "hoshu@example.jp", "soumu@city.example.lg.jp", "更新ファイル（uuencode）", 29, "uuencode-1@example.jp",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "X-Test-Id: st-uuencode",
    ) + NL + body
    add(mb, "st-uuencode", msg, "uuencoded .exe inside a plain UTF-8 text body",
        subject="更新ファイル（uuencode）",
        body_contains=["更新ファイルを以下に貼り付けます。", "上記を保存して実行してください。"],
        body_absent=["begin 644 update.exe", uu_line], notice_names=["update.exe"],
        reasons=["inline-payload"], verdict="sanitized", removed=None, charset="utf-8")

    ydata = fake_jpeg("MUGAI-MARKER-YENC") + bytes(range(256))
    body = ("写真を yEnc で送ります。\n\n".encode() + yencode("photo.jpg", ydata)
            + "\n以上です。よろしくお願いします。\n".encode())
    msg = utf8_head(
        "news@example.jp", "soumu@city.example.lg.jp", "写真（yEnc）", 30, "yenc-1@example.jp",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "X-Test-Id: st-yenc",
    ) + NL + body
    add(mb, "st-yenc", msg, "yEnc block (8-bit, not valid UTF-8) inside a UTF-8 text body",
        subject="写真（yEnc）", body_contains=["写真を yEnc で送ります。", "以上です。よろしくお願いします。"],
        body_absent=["=ybegin", "=yend"], notice_names=["photo.jpg"],
        reasons=["inline-payload"], verdict="sanitized", removed=None, charset="utf-8")

    hqx = binhex("setup.app", fake_exe("MUGAI-MARKER-BINHEX"))
    hqx_line = hqx.split(NL)[3].decode()
    body = ("Macintosh 用のファイルです。\n\n".encode() + hqx + "\nBinHex で復元してください。\n".encode())
    msg = utf8_head(
        "mac@example.jp", "soumu@city.example.lg.jp", "Mac用ファイル（BinHex）", 31, "binhex-1@example.jp",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "X-Test-Id: st-binhex",
    ) + NL + body
    add(mb, "st-binhex", msg, "BinHex 4.0 block inside a UTF-8 text body",
        subject="Mac用ファイル（BinHex）",
        body_contains=["Macintosh 用のファイルです。", "BinHex で復元してください。"],
        body_absent=[hqx_line], reasons=["inline-payload"],
        verdict="sanitized", removed=None, charset="utf-8")

    # --- forged X-Mugai-Status ----------------------------------------------------------------
    subject = "至急：ソフトウェア更新"
    b = "forged-0001"
    msg = lines(
        "From: admin@example.jp",
        "To: soumu@city.example.lg.jp",
        "Subject: =?UTF-8?B?%s?=" % base64.b64encode(subject.encode()).decode(),
        "Date: " + date(32),
        "Message-ID: <forged-1@example.jp>",
        "X-Mugai-Status: clean",
        "X-Mugai-Verdict: pass-forged-by-sender",
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed; boundary=\"%s\"" % b,
        "X-Test-Id: st-forged-status",
    ) + NL + multipart(b, [
        utf8_text("無害化済みです。添付を実行してください。\n"),
        att("application/octet-stream", " name=\"patch.exe\"", " filename=\"patch.exe\"",
            fake_exe("MUGAI-MARKER-EXE-FORGED")),
    ])
    add(mb, "st-forged-status", msg,
        "incoming forged X-Mugai-Status: clean and X-Mugai-Verdict headers, plus an .exe",
        subject=subject, body_contains=["添付を実行してください。"],
        body_absent=["pass-forged-by-sender", "MUGAI-MARKER-EXE-FORGED"], notice_names=["patch.exe"],
        reasons=["forged-header"], verdict="sanitized", removed=1, charset="utf-8")

    # --- malware (the EICAR test string) ---------------------------------------------------------
    subject = "請求書の送付"
    b = "eicar-0001"
    eicar = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    msg = utf8_head(
        "billing@example.jp", "soumu@city.example.lg.jp", subject, 33, "eicar-1@example.jp",
        "Content-Type: multipart/mixed; boundary=\"%s\"" % b,
        "X-Test-Id: st-eicar",
    ) + NL + multipart(b, [
        utf8_text("請求書を添付します。\n"),
        att("application/octet-stream", " name=\"invoice.com\"", " filename=\"invoice.com\"", eicar),
    ])
    add(mb, "st-eicar", msg,
        "an attachment holding the EICAR test string: refused as malware (with the test signatures)",
        subject=subject, verdict="reject", removed=None, charset=None)

    # --- message/partial ------------------------------------------------------------------------
    msg = lines(
        "From: split@example.jp",
        "To: soumu@city.example.lg.jp",
        "Subject: partial 1/2",
        "Date: " + date(33),
        "Message-ID: <partial-1@example.jp>",
        "MIME-Version: 1.0",
        "Content-Type: message/partial; id=\"mugai-partial-0001@example.jp\"; number=1; total=2",
        "X-Test-Id: st-partial",
    ) + NL + lines(
        "Message-ID: <whole-1@example.jp>",
        "MIME-Version: 1.0",
        "Content-Type: application/octet-stream; name=\"half.exe\"",
        "Content-Transfer-Encoding: base64",
    ) + NL + b64(fake_exe("MUGAI-MARKER-PARTIAL"))[:200]
    add(mb, "st-partial", msg, "message/partial fragment 1 of 2 (cannot be inspected)",
        subject="partial 1/2", body_absent=["MUGAI-MARKER-PARTIAL"],
        verdict="sanitized", removed=None, charset=None)


# ---------------------------------------------------------------------------
# hostile.mbox


def gen_hostile():
    mb = "mbox/hostile.mbox"

    # --- 60 levels of nesting, an .exe at the bottom ------------------------------------------
    inner = entity(lines("Content-Type: application/x-msdownload; name=\"deep.exe\"",
                         "Content-Transfer-Encoding: base64",
                         "Content-Disposition: attachment; filename=\"deep.exe\""),
                   b64(fake_exe("MUGAI-MARKER-DEEP")))
    for level in range(59, 0, -1):
        bnd = "deep-%02d" % level
        inner = entity(lines("Content-Type: multipart/mixed; boundary=\"%s\"" % bnd),
                       multipart(bnd, [inner]))
    msg = utf8_head(
        "deep@example.jp", "soumu@city.example.lg.jp", "六十階層", 40, "deep-60@example.jp",
        "Content-Type: multipart/mixed; boundary=\"deep-00\"",
        "X-Test-Id: ho-deep-60",
    ) + NL + multipart("deep-00", [
        utf8_text("浅い階層の本文です。\n"),
        inner])
    add(mb, "ho-deep-60", msg, "MIME nesting 60 deep with an .exe at the bottom",
        subject="六十階層", body_contains=["浅い階層の本文です。"], body_absent=["MUGAI-MARKER-DEEP"],
        reasons=["over-limit"], verdict="sanitized", removed=None, charset="utf-8")

    # --- 600 parts --------------------------------------------------------------------------------
    parts = [utf8_text("六百個のパートがあります。\n")]
    for i in range(1, 600):
        if i % 2:
            parts.append(entity(lines("Content-Type: application/octet-stream; name=\"data-%03d.bin\"" % i,
                                      "Content-Transfer-Encoding: base64"),
                                b64(b"MUGAI-600-%03d\x00\x01\x02" % i)))
        else:
            parts.append(entity(lines("Content-Type: text/plain; charset=us-ascii; name=\"note-%03d.txt\"" % i,
                                      "Content-Disposition: attachment"), b"note %d\n" % i))
    msg = utf8_head(
        "many@example.jp", "soumu@city.example.lg.jp", "六百パート", 41, "parts-600@example.jp",
        "Content-Type: multipart/mixed; boundary=\"p600\"",
        "X-Test-Id: ho-600-parts",
    ) + NL + multipart("p600", parts)
    add(mb, "ho-600-parts", msg, "600 parts (binary and text attachments alternating)",
        subject="六百パート", body_contains=["六百個のパートがあります。"],
        reasons=["over-limit"], verdict="sanitized", removed=None, charset="utf-8")

    # --- 20000-character Subject ----------------------------------------------------------------
    words = ["word%04d" % i for i in range(2223)]
    subj = " ".join(words)[:20000]
    subj_lines, cur = [], ""
    for w in subj.split(" "):
        if cur and len(cur) + len(w) + 1 > 70:
            subj_lines.append(cur)
            cur = w
        else:
            cur = (cur + " " + w) if cur else w
    subj_lines.append(cur)
    msg = lines(
        "From: longsubject@example.jp",
        "To: soumu@city.example.lg.jp",
        "Subject: " + "\n ".join(subj_lines),
        "Date: " + date(42),
        "Message-ID: <long-subject@example.jp>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "X-Test-Id: ho-long-subject",
    ) + NL + "件名が二万文字あります。\n".encode()
    add(mb, "ho-long-subject", msg, "20000-character folded Subject (over the 16 KiB field limit)",
        subject=None, body_contains=["件名が二万文字あります。"], reasons=["over-limit"],
        verdict=["clean", "sanitized"], removed=None, charset="utf-8")

    # --- a 5000-character header line without spaces --------------------------------------------
    msg = lines(
        "From: longline@example.jp",
        "To: soumu@city.example.lg.jp",
        "Subject: =?UTF-8?B?%s?=" % base64.b64encode("長いヘッダー行".encode()).decode(),
        "Date: " + date(43),
        "Message-ID: <long-header-line@example.jp>",
        "X-Long-Token: " + "".join("%x" % (i % 16) for i in range(5000)),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "X-Test-Id: ho-long-header-line",
    ) + NL + "ヘッダーに五千文字の行があります。\n".encode()
    add(mb, "ho-long-header-line", msg, "a 5000-character header line without any space",
        subject="長いヘッダー行", body_contains=["ヘッダーに五千文字の行があります。"],
        verdict=["clean", "sanitized"], removed=None, charset="utf-8")

    # --- boundary never closed --------------------------------------------------------------------
    fname = "未完了の添付.pdf"
    msg = utf8_head(
        "unclosed@example.jp", "soumu@city.example.lg.jp", "閉じない境界", 44, "unclosed@example.jp",
        "Content-Type: multipart/mixed; boundary=\"never-closed\"",
        "X-Test-Id: ho-unclosed-boundary",
    ) + NL + multipart("never-closed", [
        utf8_text("境界が閉じられていません。\n"),
        entity(lines("Content-Type: application/pdf", "Content-Transfer-Encoding: base64",
                     "Content-Disposition: attachment; filename*=UTF-8''" + pct(fname.encode())),
               b64(fake_pdf("MUGAI-MARKER-PDF-UNCLOSED"))[:300]),
    ], close=False)
    add(mb, "ho-unclosed-boundary", msg, "multipart whose close delimiter never comes; PDF cut short",
        subject="閉じない境界", body_contains=["境界が閉じられていません。"], notice_names=[fname],
        verdict="sanitized", removed=1, charset="utf-8")

    # --- unknown Content-Transfer-Encoding -------------------------------------------------------
    msg = utf8_head(
        "bogus@example.jp", "soumu@city.example.lg.jp", "不明な転送符号化", 45, "bogus-cte@example.jp",
        "Content-Type: multipart/mixed; boundary=\"bogus\"",
        "X-Test-Id: ho-bogus-cte",
    ) + NL + multipart("bogus", [
        utf8_text("添付の転送符号化が不明です。\n"),
        entity(lines("Content-Type: text/plain; charset=us-ascii; name=\"memo.txt\"",
                     "Content-Transfer-Encoding: x-mugai-bogus",
                     "Content-Disposition: attachment; filename=\"memo.txt\""),
               b"begin-bogus BOGUS-CTE-CONTENT-MARKER end-bogus\n"),
    ])
    add(mb, "ho-bogus-cte", msg,
        "text attachment with Content-Transfer-Encoding: x-mugai-bogus (RFC 2045 6.4: treat as "
        "application/octet-stream)",
        subject="不明な転送符号化", body_contains=["添付の転送符号化が不明です。"],
        body_absent=["BOGUS-CTE-CONTENT-MARKER"], notice_names=["memo.txt"],
        verdict="sanitized", removed=1, charset="utf-8")

    # --- NUL bytes in a text body ---------------------------------------------------------------
    msg = utf8_head(
        "nul@example.jp", "soumu@city.example.lg.jp", "本文にNUL", 46, "nul@example.jp",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "X-Test-Id: ho-nul-in-body",
    ) + NL + "NULの前です。".encode() + b"\x00\x00\x00" + "NULの後です。\n次の行です。\n".encode()
    add(mb, "ho-nul-in-body", msg, "NUL octets inside an 8bit UTF-8 text body",
        subject="本文にNUL", body_contains=["NULの前です。", "NULの後です。", "次の行です。"],
        verdict=["clean", "sanitized"], removed=0, charset="utf-8")

    # --- base64 with garbage ------------------------------------------------------------------------
    text = ("最初の文です。\n" + "途中の文です。" * 20 + "\n最後の文です。\n").encode()
    enc64 = b64(text).split(NL)
    garbage = enc64[:2] + [b"!!!! ~~~~ @@@@ ^^^^"] + enc64[2:-1] + [b"%%%% garbage after the end %%%%"]
    msg = utf8_head(
        "garbage@example.jp", "soumu@city.example.lg.jp", "壊れたbase64", 47, "b64-garbage@example.jp",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: base64",
        "X-Test-Id: ho-base64-garbage",
    ) + NL + NL.join(garbage) + NL
    add(mb, "ho-base64-garbage", msg,
        "base64 text body with a line of non-alphabet characters in the middle and junk after the end",
        subject="壊れたbase64", body_contains=["最初の文です。"],
        verdict=["clean", "sanitized"], removed=None, charset="utf-8")

    # --- 5000-character body lines -----------------------------------------------------------------
    ascii_line = "0123456789" * 500 + " LONG-LINE-END-MARKER"
    ja_line = "日本語の長い行です。" * 500 + "長い行の終わり"
    msg = utf8_head(
        "longbody@example.jp", "soumu@city.example.lg.jp", "長い本文行", 48, "long-body-lines@example.jp",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "X-Test-Id: ho-long-body-lines",
    ) + NL + ("始まり\n" + ascii_line + "\n" + ja_line + "\n終わり\n").encode()
    add(mb, "ho-long-body-lines", msg,
        "8bit UTF-8 body with a 5000-character ASCII line and a 5000-character Japanese line "
        "(15000 octets)",
        subject="長い本文行", body_contains=["始まり", "LONG-LINE-END-MARKER", "長い行の終わり", "終わり"],
        verdict=["clean", "sanitized"], removed=None, charset="utf-8")

    # --- empty message ------------------------------------------------------------------------------
    index = sum(1 for m in MESSAGES if m[0] == mb) + 1
    add(mb, "%s#%d" % (mb, index), b"", "an empty message (0 octets)",
        subject=None, verdict="reject", reasons=["malformed"], removed=None, charset=None)

    # --- headers only -----------------------------------------------------------------------------
    msg = lines(
        "From: headersonly@example.jp",
        "To: soumu@city.example.lg.jp",
        "Subject: =?UTF-8?B?%s?=" % base64.b64encode("ヘッダーのみ".encode()).decode(),
        "Date: " + date(49),
        "Message-ID: <headers-only@example.jp>",
        "X-Test-Id: ho-headers-only",
    )
    add(mb, "ho-headers-only", msg, "header block only: no empty line, no body",
        subject="ヘッダーのみ", verdict=["clean", "sanitized"], removed=None, charset=None)

    # --- RFC 2231 parameter in an unknown charset -----------------------------------------------
    msg = utf8_head(
        "unknown2231@example.jp", "soumu@city.example.lg.jp", "未知の文字コード（2231）", 50, "unknown-2231@example.jp",
        "Content-Type: multipart/mixed; boundary=\"u2231\"",
        "X-Test-Id: ho-2231-unknown-charset",
    ) + NL + multipart("u2231", [
        utf8_text("添付のファイル名の文字コードが不明です。\n"),
        att("application/pdf", "", " filename*=x-mugai-unknown''" + pct(enc("日本語.pdf", "shift_jis")),
            fake_pdf("MUGAI-MARKER-PDF-2231")),
    ])
    add(mb, "ho-2231-unknown-charset", msg, "RFC 2231 filename*= in charset x-mugai-unknown",
        subject="未知の文字コード（2231）", body_contains=["添付のファイル名の文字コードが不明です。"],
        body_absent=["MUGAI-MARKER-PDF-2231"], verdict="sanitized", removed=0, converted=1, charset="utf-8")

    # --- encoded-word in an unknown charset ------------------------------------------------------
    msg = lines(
        "From: unknownew@example.jp",
        "To: soumu@city.example.lg.jp",
        "Subject: Minutes =?x-mugai-unknown?B?gqCCog==?= attached",
        "Date: " + date(51),
        "Message-ID: <unknown-ew@example.jp>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "X-Test-Id: ho-ew-unknown-charset",
    ) + NL + "件名に未知の文字コードの encoded-word があります。\n".encode()
    add(mb, "ho-ew-unknown-charset", msg, "Subject with an encoded-word in charset x-mugai-unknown",
        subject=None, subject_contains=["Minutes", "attached"],
        body_contains=["件名に未知の文字コードの encoded-word があります。"],
        verdict=["clean", "sanitized"], removed=None, charset="utf-8")

    # --- right-to-left override in a file name ---------------------------------------------------
    fname = "invoice\u202efdp.exe"
    msg = utf8_head(
        "billing@example.com", "keiri@city.example.lg.jp", "請求書（PDF）", 52, "rlo@example.com",
        "Content-Type: multipart/mixed; boundary=\"rlo\"",
        "X-Test-Id: ho-rtl-override",
    ) + NL + multipart("rlo", [
        utf8_text("請求書のPDFを添付します。\n"),
        att("application/pdf", " name*=UTF-8''" + pct(fname.encode()),
            " filename*=UTF-8''" + pct(fname.encode()), fake_exe("MUGAI-MARKER-EXE-RLO")),
    ])
    add(mb, "ho-rtl-override", msg,
        "attachment \"invoice<U+202E>fdp.exe\" declared application/pdf (shows as invoiceexe.pdf)",
        subject="請求書（PDF）", body_contains=["請求書のPDFを添付します。", "invoice"],
        body_absent=["\u202e", "MUGAI-MARKER-EXE-RLO"], reasons=["name-trick"],
        verdict="sanitized", removed=1, charset="utf-8")


# ---------------------------------------------------------------------------
# maildir


def gen_maildir():
    def loc(n, cur=True, flags="S"):
        name = "1700000%03d.M%dP1.mugai-test" % (n, n)
        return ("cur/%s:2,%s" % (name, flags)) if cur else ("new/" + name)

    # --- plain UTF-8, nothing to do ----------------------------------------------------------
    subject = "来週の定例会について"
    body = ("総務課の田中です。\n\n来週の定例会は予定どおり水曜日の１４時から開催します。\n"
            "議題は年度末の予算執行状況です。\n\n-- \n田中 一郎\n")
    msg = lines(
        "Message-ID: <plain-utf8@city.example.lg.jp>",
        "Date: " + date(60),
        "MIME-Version: 1.0",
        "User-Agent: Mozilla Thunderbird",
        "Content-Language: ja",
        "To: =?UTF-8?B?%s?= <kakuka@city.example.lg.jp>" % base64.b64encode("各課".encode()).decode(),
        "From: =?UTF-8?B?%s?= <tanaka@example.jp>" % base64.b64encode("田中 一郎".encode()).decode(),
        "Subject: =?UTF-8?B?%s?=" % base64.b64encode(subject.encode()).decode(),
        "Content-Type: text/plain; charset=UTF-8; format=flowed",
        "Content-Transfer-Encoding: 8bit",
        "X-Test-Id: md-plain-utf8",
    ) + NL + body.encode()
    add("maildir", "md-plain-utf8", msg, "plain UTF-8 8bit text: nothing to remove",
        subject=subject, from_name="田中 一郎",
        body_contains=["来週の定例会は予定どおり水曜日の１４時から開催します。"],
        verdict="clean", removed=0, charset="utf-8", location=loc(1))

    # --- multipart/alternative ------------------------------------------------------------------
    subject = "テキストとHTMLの内容が違うメール"
    text = "テキスト版の本文です。\n"
    html = ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head>"
            "<body><p>HTML版の本文です。<b>太字の強調</b>があります。</p></body></html>")
    b = "alt-0001"
    msg = utf8_head(
        "alt@example.jp", "soumu@city.example.lg.jp", subject, 61, "alternative@example.jp",
        "Content-Type: multipart/alternative; boundary=\"%s\"" % b,
        "X-Test-Id: md-html-alternative",
    ) + NL + multipart(b, [
        entity(lines("Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: base64"),
               b64(text.encode())),
        entity(lines("Content-Type: text/html; charset=UTF-8", "Content-Transfer-Encoding: quoted-printable"),
               qp(html.encode())),
    ])
    add("maildir", "md-html-alternative", msg,
        "multipart/alternative whose text and HTML say different things (output shows the HTML's text)",
        subject=subject, body_contains=["HTML版の本文です。", "太字の強調"],
        verdict=["clean", "sanitized"], removed=0, charset=None, location=loc(2))

    # --- hostile HTML -----------------------------------------------------------------------------
    subject = "【重要】口座確認のお願い"
    html = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>確認</title>
<style>body { font-family: "MugaiStyleMarker"; } .x { color: red; }</style>
<script type="text/javascript">var stolen = document.cookie; alert("MUGAI-SCRIPT-MARKER");</script>
</head>
<body onload="alert('MUGAI-ONLOAD-MARKER')">
<h1>口座確認のお願い</h1>
<p>いつもご利用ありがとうございます。記号：&amp; &lt;重要&gt; 文字参照：&#x3042;&#12354; &copy;2023</p>
<p>こちらから確認してください：<a href="https://evil.example/login">https://www.bank.example.jp/</a></p>
<p>正規の案内は<a href="https://www.city.example.lg.jp/kurashi/index.html">市のホームページ</a>をご覧ください。</p>
<p><a href="javascript:alert('MUGAI-JSURL-MARKER')">ここをクリック</a></p>
<iframe src="https://iframe.example/track?id=MUGAI-IFRAME-MARKER" width="1" height="1"></iframe>
<form action="https://evil.example/steal" method="post">
<input type="password" name="pw" value="MUGAI-FORM-MARKER"><input type="submit" value="送信">
</form>
<p><img src="https://tracker.example/pixel.gif?MUGAI-IMG-MARKER" alt="市章ロゴ"></p>
<table border="1"><tr><th>項目</th><th>金額</th></tr><tr><td>年会費</td><td>3,000円</td></tr></table>
<ul><li>一つ目の項目</li><li>二つ目の項目</li></ul>
<ol><li>手順その一</li><li>手順その二</li></ol>
<!-- MUGAI-COMMENT-MARKER -->
</body></html>
"""
    msg = lines(
        "From: =?UTF-8?B?%s?= <info@bank.example.jp>" % base64.b64encode("サンプル銀行".encode()).decode(),
        "To: soumu@city.example.lg.jp",
        "Subject: =?UTF-8?B?%s?=" % base64.b64encode(subject.encode()).decode(),
        "Date: " + date(62),
        "Message-ID: <phish@bank.example.jp>",
        "MIME-Version: 1.0",
        "Content-Type: text/html; charset=UTF-8",
        "Content-Transfer-Encoding: quoted-printable",
        "X-Test-Id: md-html-hostile",
    ) + NL + qp(html.encode())
    add("maildir", "md-html-hostile", msg,
        "HTML-only phishing body: script, style, onload, javascript: link, iframe, form, img alt, "
        "link text https://www.bank.example.jp/ pointing at https://evil.example/login, entities, "
        "table, lists, comment",
        subject=subject, from_name="サンプル銀行",
        body_contains=["口座確認のお願い", "& <重要>", "ああ", "©", "evil[.]example", "市のホームページ",
                       "市章ロゴ", "年会費", "3,000円", "一つ目の項目", "二つ目の項目", "手順その二",
                       "ここをクリック [リンク（スクリプト）を削除しました]",
                       "hxxps://www[.]bank[.]example[.]jp/ [(!) hxxps://evil[.]example/login]"],
        body_absent=["https://evil.example", "https://www.bank.example.jp", "javascript:",
                     "MUGAI-SCRIPT-MARKER", "document.cookie", "MugaiStyleMarker",
                     "MUGAI-ONLOAD-MARKER", "MUGAI-JSURL-MARKER", "MUGAI-IFRAME-MARKER",
                     "MUGAI-FORM-MARKER", "MUGAI-IMG-MARKER", "MUGAI-COMMENT-MARKER", "<script", "&amp;"],
        reasons=["active-content"], verdict="sanitized", removed=None, charset="utf-8", location=loc(3, flags="RS"))

    # --- HTML-only Shift_JIS, charset only in <meta> --------------------------------------------
    subject = "ＨＴＭＬメール（Shift_JIS）"
    html = ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">"
            "<title>案内</title></head><body><p>メタ要素だけで文字コードを宣言したHTMLです。</p>"
            "<p>髙島屋の①番窓口へお越しください。</p></body></html>\n")
    msg = lines(
        "From: sjishtml@example.jp",
        "To: soumu@city.example.lg.jp",
        "Subject: =?Shift_JIS?B?%s?=" % base64.b64encode(enc(subject, "shift_jis")).decode(),
        "Date: " + date(63),
        "Message-ID: <html-sjis-meta@example.jp>",
        "MIME-Version: 1.0",
        "Content-Type: text/html",
        "Content-Transfer-Encoding: 8bit",
        "X-Test-Id: md-html-only-sjis-meta",
    ) + NL + enc(html, "shift_jis")
    add("maildir", "md-html-only-sjis-meta", msg,
        "HTML-only body in Shift_JIS, charset given only by <meta http-equiv>",
        subject=subject, body_contains=["メタ要素だけで文字コードを宣言したHTMLです。", "髙島屋の①番窓口"],
        verdict=["clean", "sanitized"], removed=0, charset="shift_jis", location=loc(4, cur=False))

    # --- HTML attachment ------------------------------------------------------------------------------
    subject = "説明会の案内（HTML添付）"
    fname = "案内.html"

    def html_attachment(boundary, test_id, msgid, html):
        """A text body and the HTML file 案内.html, as a web mailer sends it."""
        return lines(
            "From: annai@example.jp",
            "To: soumu@city.example.lg.jp",
            "Subject: =?UTF-8?B?%s?=" % base64.b64encode(subject.encode()).decode(),
            "Date: " + date(64),
            "Message-ID: <%s>" % msgid,
            "MIME-Version: 1.0",
            "Content-Type: multipart/mixed; boundary=\"%s\"" % boundary,
            "X-Test-Id: " + test_id,
        ) + NL + multipart(boundary, [
            utf8_text("説明会の案内をHTMLファイルで添付します。\n"),
            entity(lines("Content-Type: text/html; charset=UTF-8; name*=UTF-8''" + pct(fname.encode()),
                         "Content-Transfer-Encoding: base64",
                         "Content-Disposition: attachment; filename*=UTF-8''" + pct(fname.encode())),
                   b64(html.encode())),
        ])

    html = ("<html><head><meta charset=\"utf-8\"><style>.MUGAI-ATT-STYLE{color:red}</style></head>"
            "<body><h2>会場のご案内</h2><p>市民会館　大ホール</p></body></html>\n")
    msg = html_attachment("htmlatt-0001", "md-html-attachment", "html-attachment@example.jp", html)
    add("maildir", "md-html-attachment", msg, "text body plus an HTML attachment 案内.html (no script): converted to text",
        subject=subject, body_contains=["説明会の案内をHTMLファイルで添付します。"],
        body_absent=["MUGAI-ATT-STYLE"], notice_names=[fname],
        text_contains=["会場のご案内", "市民会館"], verdict="sanitized", removed=0, charset="utf-8",
        location=loc(5, cur=False))

    # --- HTML attachment carrying a script ----------------------------------------------------------
    html = ("<html><head><meta charset=\"utf-8\"><script>location.href='https://evil.example/MUGAI-ATT-SCRIPT'"
            "</script></head><body><h2>会場のご案内</h2><p>市民会館　大ホール</p></body></html>\n")
    msg = html_attachment("htmlatt-0002", "md-html-attachment-script", "html-attachment-script@example.jp", html)
    add("maildir", "md-html-attachment-script", msg,
        "text body plus an HTML attachment 案内.html carrying a script: removed, never converted",
        subject=subject, body_contains=["説明会の案内をHTMLファイルで添付します。"],
        body_absent=["MUGAI-ATT-SCRIPT", "会場のご案内"], notice_names=[fname],
        verdict="sanitized", removed=1, charset="utf-8",
        location=loc(9, cur=False))

    # --- CRLF, Outlook ISO-2022-JP, clean ------------------------------------------------------------
    subject = "Re: 庁内LANの点検日程"
    body = "情報政策課　御中\n\n点検日程、承知しました。\n当日は１０時から立ち会います。\n"
    msg = crlf(lines(
        "From: =?iso-2022-jp?B?%s?= <yoshida@city.example.lg.jp>" % base64.b64encode(jis("吉田 聡")).decode(),
        "To: jousei@city.example.lg.jp",
        "Subject: " + folded(ew_words(subject, "iso-2022-jp", "iso-2022-jp", per_word=7)),
        "Date: " + date(65),
        "Message-ID: <000901da16b0$aabbccdd$eeff0011$@city.example.lg.jp>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain;", "\tcharset=\"iso-2022-jp\"",
        "Content-Transfer-Encoding: 7bit",
        "X-Mailer: Microsoft Outlook 16.0",
        "X-Test-Id: md-crlf-jis",
    ) + NL + jis(body))
    add("maildir", "md-crlf-jis", msg, "CRLF line ends, Outlook ISO-2022-JP plain text, nothing to remove",
        subject=subject, from_name="吉田 聡", body_contains=["点検日程、承知しました。", "当日は１０時から立ち会います。"],
        verdict="clean", removed=0, charset="iso-2022-jp", location=loc(6, flags=""))

    # --- plain ASCII without any MIME header ------------------------------------------------------
    msg = lines(
        "From: Old Mailer <old@example.com>",
        "To: soumu@city.example.lg.jp",
        "Subject: Plain old RFC 822 message",
        "Date: " + date(66),
        "Message-ID: <rfc822-plain@example.com>",
        "X-Test-Id: md-ascii-nomime",
    ) + NL + b"This message has no MIME headers at all.\nJust seven-bit ASCII text.\n"
    add("maildir", "md-ascii-nomime", msg, "RFC 822 message without MIME headers, ASCII body",
        subject="Plain old RFC 822 message", from_name="Old Mailer",
        body_contains=["This message has no MIME headers at all.", "Just seven-bit ASCII text."],
        verdict="clean", removed=0, charset=["us-ascii", "utf-8"], location=loc(7, cur=False))

    # --- bare CR line ends -----------------------------------------------------------------------------
    subject = "改行がCRだけのメール"
    msg = utf8_head(
        "cr@example.jp", "soumu@city.example.lg.jp", subject, 67, "bare-cr@example.jp",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 8bit",
        "X-Test-Id: md-bare-cr",
    ) + NL + "一行目です。\n二行目です。\n".encode()
    msg = msg.replace(NL, b"\r")
    add("maildir", "md-bare-cr", msg, "every line ends in a bare CR (old Mac style)",
        subject=subject, body_contains=["一行目です。", "二行目です。"],
        verdict=["clean", "sanitized"], removed=None, charset="utf-8", location=loc(8, cur=False))


# ---------------------------------------------------------------------------
# Writing


def mboxrd(messages):
    out = bytearray()
    for data in messages:
        out += b"From mugai-test@example.jp Tue Nov 14 10:13:20 2023\n"
        for line in re.findall(rb"[^\n]*\n|[^\n]+$", data):
            body = line.lstrip(b">")
            if body.startswith(b"From "):
                line = b">" + line
            out += line
        if data and not data.endswith(NL):
            out += NL
        out += NL
    return bytes(out)


def self_check():
    for text in ("①②㈱～－", "総務課　御中\nabc", "見積書①.pdf"):
        assert unjis(jis(text)) == text, text
    plain = "会議室の予約について、下記のとおり。"
    assert jis(plain) == plain.encode("iso2022_jp"), "jis() differs from the standard codec"


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "testdata")
    self_check()
    gen_japanese()
    gen_structures()
    gen_hostile()
    gen_maildir()

    order = {}
    for name in ("mbox/japanese.mbox", "mbox/structures.mbox", "mbox/hostile.mbox"):
        msgs = [m for m in MESSAGES if m[0] == name]
        order[name] = [m[2] for m in msgs]
        write(os.path.join(outdir, name), mboxrd([m[3] for m in msgs]))

    maildir = os.path.join(outdir, "maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        for old in os.listdir(os.path.join(maildir, sub)):
            if old != ".gitignore":
                os.unlink(os.path.join(maildir, sub, old))
    # Git keeps no empty directory: tmp/ holds a placeholder that is not a message
    # (Maildir readers look only at cur/ and new/).
    write(os.path.join(maildir, "tmp", ".gitignore"), b"")
    order["maildir"] = {}
    for mailbox, location, msg_id, data in MESSAGES:
        if mailbox == "maildir":
            write(os.path.join(maildir, location), data)
            order["maildir"][location] = msg_id

    expected = {"order": order, "messages": EXPECTED}
    write(os.path.join(outdir, "expected.json"),
          (json.dumps(expected, ensure_ascii=False, indent=1) + "\n").encode())
    print("wrote %d messages to %s" % (len(MESSAGES), outdir))


if __name__ == "__main__":
    main()
