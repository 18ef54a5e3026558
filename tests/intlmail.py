"""Real-shaped mail from phones, old mailers and other countries (issue 11).

    import intlmail; for case in intlmail.cases(): case.name, case.data, case.expect

Each case is one message built here from Python's own Unicode strings,
encoded the way the senders encode them (raw 8-bit headers, encoded-words,
wrong or missing labels, the labels clients write, ISO-2022-JP with the
carriers' emoji codes, NUL and other controls in header fields).  What a
reader must see comes from the same strings, and for carrier emoji from
the carriers' published tables as transcribed below -- never from mugai's
output.  tests/run-intl.py runs mugai over them and judges the output with
Python's email package.

expect keys:
  subject        the decoded Subject, exactly (white space folded)
  body           texts the main body must contain
  filenames      file names the output's parts must carry (decoded)
  fields         the header field names, in order, that the output's top
                 header block must hold among the original's (NUL tests)
  max_geta       at most this many U+3013 in Subject + body (the codes in
                 the message that no published table maps)
  utf8_params    every non-ASCII filename/name parameter is RFC 2231 UTF-8

Standard library only.
"""

import base64
import email.header
import email.utils

GETA = "\u3013"


class Case:
    def __init__(self, name, data, **expect):
        self.name = name
        self.data = data
        self.expect = expect


def b64w(charset, raw):
    """One RFC 2047 B encoded-word over the octets raw."""
    return "=?%s?B?%s?=" % (charset, base64.b64encode(raw).decode("ascii"))


def message(headers, body=b"", ctype="text/plain", charset=None, cte="8bit", parts=None):
    """Octets of a message: headers is a list of (name, octets or str)."""
    out = []
    for name, value in headers:
        if isinstance(value, str):
            value = value.encode("ascii")
        out.append(name.encode("ascii") + b": " + value)
    out.append(b"MIME-Version: 1.0")
    if parts is None:
        ct = "Content-Type: " + ctype + ("; charset=%s" % charset if charset else "")
        out.append(ct.encode("ascii"))
        out.append(b"Content-Transfer-Encoding: " + cte.encode("ascii"))
        return b"\n".join(out) + b"\n\n" + body + b"\n"
    out.append(b'Content-Type: multipart/mixed; boundary="intl-b"')
    text = b"\n".join(out) + b"\n\n"
    for part_headers, part_body in parts:
        text += b"--intl-b\n" + b"\n".join(part_headers) + b"\n\n" + part_body + b"\n"
    return text + b"--intl-b--\n"


def base(subject_octets, sender="Sender <sender@example.org>"):
    return [("From", sender), ("To", "staff@city.example.jp"), ("Subject", subject_octets),
            ("Date", "Thu, 03 Dec 2026 10:00:00 +0900"), ("Message-ID", "<intl@example.org>")]


# ---------------------------------------------------------------------------
# Carrier emoji, from the published tables.
#
# Unicode's EmojiSources.txt (UCD 15.0, "created for Unicode 6.0"), fields
# "unicode;docomo;kddi;softbank" (Shift_JIS codes), transcribed rows:
#   2600;F89F;F660;F98B      BLACK SUN WITH RAYS
#   26A0;F9DC;F659;F7F2      WARNING SIGN
#   1F3A4;F8D7;F6DC;F97C     MICROPHONE
#   1F466;;;F941             BOY
# KDDI's e-mail JIS codes (KDDI's pictogram table "typeD", as carried in
# Encode::JP::Mobile's kddi-table: email_jis 753A = sjis F659, 765E =
# F6DC) and KDDI F748 "MobileQ", a KDDI symbol with no Unicode equivalent
# (absent from EmojiSources.txt; email_jis 7729).
# SoftBank web codes: ESC $ G ! SI is SoftBank's first pictogram, Shift_JIS
# F941 (SoftBank's table; E001 in its Unicode range).
# DoCoMo F89F written as ISO-2022-JP-MS writes CP932's user-defined area
# F540-F9FC: JIS X 0212 rows 0x75-0x7E, F89F being ESC $ ( D 0x7C 0x21.

KDDI_JIS = {b"u:": "\u26a0", b"v^": "\U0001f3a4"}
KDDI_UNMAPPED = b"w)"
SOFTBANK_WEB = {b"!": "\U0001f466"}
DOCOMO_0212 = {b"|!": "\u2600"}


def jis(text):
    """ISO-2022-JP octets of text (Python's codec: JIS X 0208 only)."""
    return text.encode("iso-2022-jp")


def jis_run(codes):
    return b"\x1b$B" + b"".join(codes) + b"\x1b(B"


def carrier_cases():
    cases = []
    # KDDI: subject "題名" + emoji in one run, as the issue saw it
    raw = b"\x1b$BBjL>" + b"v^" + b"\x1b(B"
    cases.append(Case("kddi-subject-encoded-word",
                      message(base(b64w("ISO-2022-JP", raw), "au <user@ezweb.ne.jp>"),
                              jis("本文です") + jis_run([b"u:"]), charset="ISO-2022-JP", cte="7bit"),
                      subject="題名\U0001f3a4", body=["本文です\u26a0"], max_geta=0))
    cases.append(Case("kddi-body-unmapped",
                      message(base(b64w("ISO-2022-JP", jis("予定")), "au <user@ezweb.ne.jp>"),
                              jis("了解") + jis_run([KDDI_UNMAPPED, b"v^"]) + b"\n",
                              charset="iso-2022-jp", cte="7bit"),
                      subject="予定", body=["了解" + GETA + "\U0001f3a4"], max_geta=1))
    # SoftBank web code inside ISO-2022-JP text
    cases.append(Case("softbank-webcode",
                      message(base(b64w("ISO-2022-JP", jis("写真") + b"\x1b$G!\x0f"),
                                   "SoftBank <user@softbank.ne.jp>"),
                              jis("送ります") + b"\x1b$G!\x0f\n", charset="iso-2022-jp", cte="7bit"),
                      subject="写真\U0001f466", body=["送ります\U0001f466"], max_geta=0))
    # DoCoMo via ISO-2022-JP-MS (JIS X 0212 user-defined rows)
    cases.append(Case("docomo-udc",
                      message(base(b64w("ISO-2022-JP", jis("天気") + b"\x1b$(D|!\x1b(B"),
                                   "docomo <user@docomo.ne.jp>"),
                              jis("晴れ") + b"\x1b$(D|!\x1b(B\n", charset="iso-2022-jp", cte="7bit"),
                      subject="天気\u2600", body=["晴れ\u2600"], max_geta=0))
    # DoCoMo in Shift_JIS, as its phones send it: F89F in the subject's
    # encoded-word and in the 8-bit body
    sjis = "天気".encode("shift_jis") + b"\xf8\x9f"
    cases.append(Case("docomo-sjis",
                      message(base(b64w("Shift_JIS", sjis), "docomo <user@docomo.ne.jp>"),
                              "晴れ".encode("shift_jis") + b"\xf8\x9f\n", charset="Shift_JIS",
                              cte="8bit"),
                      subject="天気\u2600", body=["晴れ\u2600"], max_geta=0))
    return cases


# ---------------------------------------------------------------------------
# Other languages


def lang_cases():
    cases = []
    zh = "会议资料已经发送，请查收。谢谢！"
    cases.append(Case("gb2312-raw-subject-declared-body",
                      message(base("会议资料".encode("gb2312")), zh.encode("gb2312"), charset="gb2312"),
                      subject="会议资料", body=[zh]))
    cases.append(Case("gbk-missing-label",
                      message(base(b64w("GBK", "关于明天的会议".encode("gbk"))), zh.encode("gbk")),
                      subject="关于明天的会议", body=[zh]))
    # HZ-GB-2312 (RFC 1843), a 7-bit form of GB2312 that old Chinese mail
    # clients send and iconv does not read
    cases.append(Case("hz-gb-2312",
                      message(base(b64w("HZ-GB-2312", "会议资料".encode("hz"))), zh.encode("hz"),
                              charset="HZ-GB-2312", cte="7bit"),
                      subject="会议资料", body=[zh]))
    tw = "這是一個測試，謝謝您的幫助。我們明天見。"
    cases.append(Case("big5-declared",
                      message(base(b64w("big5", "會議通知".encode("big5"))), tw.encode("big5"), charset="big5"),
                      subject="會議通知", body=[tw]))
    cases.append(Case("big5-raw-subject-missing-label",
                      message(base("會議通知".encode("big5")), tw.encode("big5")),
                      subject="會議通知", body=[tw]))
    ko = "안녕하세요. 회의 자료를 보내 드립니다. 감사합니다."
    cases.append(Case("euc-kr-ks_c_5601",
                      message(base(b64w("ks_c_5601-1987", "회의 자료".encode("euc-kr"))), ko.encode("euc-kr"),
                              charset="ks_c_5601-1987"),
                      subject="회의 자료", body=[ko]))
    cases.append(Case("euc-kr-missing-label",
                      message(base("회의 자료".encode("euc-kr")), ko.encode("euc-kr")),
                      subject="회의 자료", body=[ko]))
    ru = "Привет! Это тестовое письмо для Android или iOS."
    cases.append(Case("koi8_r-label",
                      message(base(b64w("koi8_r", "Это тест для Android или iOS".encode("koi8-r"))),
                              ru.encode("koi8-r"), charset="koi8_r"),
                      subject="Это тест для Android или iOS", body=[ru]))
    cases.append(Case("cp1251-missing-label",
                      message(base("Письмо".encode("cp1251")), ru.encode("cp1251")),
                      subject="Письмо", body=[ru]))
    cases.append(Case("koi8-r-raw-subject-hint",
                      message(base("Тестовое письмо".encode("koi8-r")), ru.encode("koi8-r"), charset="KOI8-R"),
                      subject="Тестовое письмо", body=[ru]))
    pl = "Zażółć gęślą jaźń. Dziękuję za wiadomość."
    cases.append(Case("iso-8859-2-declared",
                      message(base(b64w("iso-8859-2", "Spotkanie w Łodzi".encode("iso-8859-2"))),
                              pl.encode("iso-8859-2"), charset="iso-8859-2"),
                      subject="Spotkanie w Łodzi", body=[pl]))
    cases.append(Case("iso-8859-2-wrong-label-ascii",
                      message(base("Spotkanie"), pl.encode("iso-8859-2"), charset="us-ascii"),
                      subject="Spotkanie", body=[pl]))
    de = "Die Hasen und die Frösche. Grüße aus München, schöne Tage!"
    cases.append(Case("latin1-missing-label",
                      message(base("Grüße aus München".encode("latin-1")), de.encode("latin-1")),
                      subject="Grüße aus München", body=[de]))
    fr = "Réunion à Paris : le café crème est à 2 €, merci beaucoup."
    cases.append(Case("cp1252-declared-iso-8859-1",
                      message(base(b64w("iso-8859-1", "Réunion".encode("latin-1"))), fr.encode("cp1252"),
                              charset="iso-8859-1"),
                      subject="Réunion", body=[fr]))
    cases.append(Case("latin1-wrong-label-utf8",
                      message(base(b64w("utf-8", "Café".encode("utf-8"))), fr.encode("cp1252"), charset="utf-8"),
                      subject="Café", body=[fr]))
    # a Japanese raw 8-bit subject next to a Latin body stays Japanese
    cases.append(Case("sjis-raw-subject-latin-body",
                      message(base("会議資料送付".encode("cp932")), de.encode("latin-1"), charset="iso-8859-1"),
                      subject="会議資料送付", body=[de]))
    return cases


# ---------------------------------------------------------------------------
# Labels as clients write them (the octets always agree with the label)


ALIASES = [
    ("koi8_r", "koi8-r", "Проверка связи"), ("KOI8R", "koi8-r", "Проверка связи"),
    ("x-sjis", "cp932", "日本語のテスト"), ("windows-31j", "cp932", "日本語のテスト①"),
    ("shift-jis", "cp932", "日本語のテスト"), ("sjis", "cp932", "日本語のテスト"),
    ("MS932", "cp932", "日本語のテスト"), ("cp932", "cp932", "日本語のテスト"),
    ("Shift_JIS", "cp932", "日本語のテスト"), ("x-euc-jp", "euc-jp", "日本語のテスト"),
    ("eucjp", "euc-jp", "日本語のテスト"), ("EUC_JP", "euc-jp", "日本語のテスト"),
    ("euc-jp-ms", "euc-jp", "日本語のテスト"), ("iso-2202-jp", "iso-2022-jp", "日本語のテスト"),
    ("ISO2022JP", "iso-2022-jp", "日本語のテスト"), ("csISO2022JP", "iso-2022-jp", "日本語のテスト"),
    ("ISO_8859-1", "latin-1", "Grüße"), ("latin1", "latin-1", "Grüße"), ("iso8859-15", "iso-8859-15", "Prix 5 €"),
    ("x-cp1251", "cp1251", "Привет"), ("win-1251", "cp1251", "Привет"), ("windows1252", "cp1252", "naïve café"),
    ("x-gbk", "gbk", "你好世界"), ("CP936", "gbk", "你好世界"), ("x-euc-kr", "euc-kr", "안녕하세요"),
    ("tis620", "tis-620", "สวัสดีครับ"),
]


def alias_cases():
    cases = []
    for n, (label, codec, text) in enumerate(ALIASES, 1):
        body = (text + "\n").encode(codec)
        subj = b64w(label, text.encode(codec))
        cases.append(Case("alias-%02d-%s" % (n, label), message(base(subj), body, charset=label),
                          subject=text, body=[text]))
    return cases


# ---------------------------------------------------------------------------
# NUL and other controls in header fields


def control_cases():
    cases = []
    fields = ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version"]
    cases.append(Case("nul-in-subject", message(base(b"te\x00st")), subject="test", fields=fields))
    cases.append(Case("nul-in-from",
                      message([("From", b"Yama\x00da <yamada@example.org>")] + base(b"hello")[1:]),
                      subject="hello", fields=fields))
    cases.append(Case("controls-in-subject",
                      message(base(b"a\x01b\x07c\x7fd")), subject="a b c d", fields=fields))
    cases.append(Case("nul-in-encoded-word",
                      message(base(b64w("UTF-8", "件\x00名".encode("utf-8")))), subject="件名", fields=fields))
    cases.append(Case("nul-in-filename",
                      message(base(b"file"), parts=[
                          ([b"Content-Type: text/plain; charset=utf-8"], "本文".encode("utf-8")),
                          ([b"Content-Type: text/plain; charset=utf-8",
                            b'Content-Disposition: attachment; filename="no\x00te.txt"'],
                           b"attached text")]),
                      subject="file", fields=fields))
    return cases


# ---------------------------------------------------------------------------
# File names: Latin, Cyrillic, Japanese, and Outlook Express's raw GB2312


def filename_cases():
    cases = []
    for n, (fname, how) in enumerate([("Überweisung März.txt", "2231"), ("Отчёт за май.txt", "2231"),
                                      ("会議資料.txt", "2231"), ("会議資料.txt", "2047-sjis"),
                                      ("新建 文本文档.txt", "raw-gb2312")], 1):
        if how == "2231":
            param = ("filename*=UTF-8''" + "".join(
                c if c.isascii() and c.isalnum() or c in "._-" else "".join("%%%02X" % b for b in c.encode("utf-8"))
                for c in fname)).encode("ascii")
        elif how == "2047-sjis":
            param = b'filename="' + b64w("Shift_JIS", fname.encode("cp932")).encode("ascii") + b'"'
        else:
            param = b'filename="' + fname.encode("gb2312") + b'"'
        body_charset = "gb2312" if how == "raw-gb2312" else "utf-8"
        cases.append(Case("filename-%d-%s" % (n, how), message(base(b"attachment"), parts=[
            ([b"Content-Type: text/plain; charset=" + body_charset.encode("ascii")],
             "添付します".encode(body_charset)),
            ([b"Content-Type: text/plain; charset=" + body_charset.encode("ascii"),
              b"Content-Disposition: attachment; " + param],
             "中身".encode(body_charset))]),
            subject="attachment", filenames=[fname], utf8_params=True))
    # Outlook Express: a removed attachment's raw GB2312 name, named in the
    # notice (issue 11 saw "�½� �ı��ĵ�.txt")
    fname = "新建 文本文档.zip".encode("gb2312")
    cases.append(Case("filename-notice-raw-gb2312", message(base(b"zip"), parts=[
        ([b"Content-Type: text/plain; charset=gb2312"], "你好".encode("gb2312")),
        ([b'Content-Type: application/octet-stream; name="' + fname + b'"',
          b'Content-Disposition: attachment; filename="' + fname + b'"',
          b"Content-Transfer-Encoding: base64"], b"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==")]),
        subject="zip", body=["新建 文本文档.zip", "你好"]))
    return cases


# ---------------------------------------------------------------------------
# The wave-dash family: ISO-2022-JP and EUC-JP are read by JIS X 0208's
# mapping (U+301C WAVE DASH...), Shift_JIS by CP932's (U+FF5E...), the
# choice written down in src/charset.c.  Python's own codecs make the same
# readings: iso2022_jp / euc_jp give the JIS characters, cp932 the others.

WAVE_JIS = "10\u301c12時 \u2016 \u22125 \u00a2 \u00a3 \u00ac"
WAVE_CP932 = "10\uff5e12時 \u2225 \uff0d5 \uffe0 \uffe1 \uffe2"


def wave_cases():
    return [
        Case("wave-iso2022jp", message(base(b64w("ISO-2022-JP", jis("10\u301c12時"))), jis(WAVE_JIS),
                                       charset="iso-2022-jp", cte="7bit"),
             subject="10\u301c12時", body=[WAVE_JIS], exact_wave=True),
        Case("wave-eucjp", message(base(b64w("EUC-JP", "予定".encode("euc-jp"))), WAVE_JIS.encode("euc-jp"), charset="euc-jp"),
             subject="予定", body=[WAVE_JIS], exact_wave=True),
        Case("wave-sjis", message(base(b64w("Shift_JIS", "予定".encode("cp932"))), WAVE_CP932.encode("cp932"), charset="shift_jis"),
             subject="予定", body=[WAVE_CP932], exact_wave=True),
    ]


def cases():
    return carrier_cases() + lang_cases() + alias_cases() + control_cases() + filename_cases() + wave_cases()
