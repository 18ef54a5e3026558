"""Shared helpers of the Python tests: the one TAP writer (Tap) and check()
(an assert that survives python -O) for all of them; for tests/run-samples.py,
tests/run-corpus.py and the end-to-end tests, the judges below.

The sanitized output of `mugai sanitize` is judged by an independent parser,
Python's email package (policy.default), never by mugai's own code.  This
module holds:

  - running mugai with a deadline (a hang is killed with its whole process
    group, a signal exit is reported as a crash),
  - the well-formedness checks every delivered message must pass,
  - the report (JSON) schema check,
  - mboxrd reading, TAP printing, and the comparison helpers (charset names,
    the JIS / CP932 look-alike characters, whitespace).

Standard library only (Python 3.11).
"""

import email
import email.errors
import email.policy
import email.utils
import json
import os
import re
import signal
import subprocess
import sys
import time

EXIT_DELIVER, EXIT_REJECT, EXIT_TEMPFAIL = 0, 3, 75
EXIT_VERDICTS = {EXIT_DELIVER: ("clean", "sanitized"), EXIT_REJECT: ("reject",),
                 EXIT_TEMPFAIL: ("tempfail",)}
VERDICTS = ("clean", "sanitized", "reject", "tempfail")
DELIVERED = ("clean", "sanitized")


def mugai_argument(argv):
    """The MUGAI_BIN argument of a test script (run-samples.py MUGAI_BIN),
    made absolute, with stdout set to write UTF-8; None, after the usage
    line on stderr, when there is not exactly that one argument."""
    sys.stdout.reconfigure(encoding="utf-8", errors="backslashreplace")
    if len(argv) != 2:
        print("usage: %s MUGAI_BIN" % os.path.basename(argv[0]), file=sys.stderr)
        return None
    return os.path.abspath(argv[1])
CATEGORIES = ("virus", "banned-type", "name-trick", "encrypted", "not-inspectable", "signature",
              "inline-payload", "active-content", "over-limit", "malformed", "charset",
              "forged-header", "archive", "type-mismatch", "converted")
ACTIONS = ("keep", "to-text", "convert", "remove", "unused", "container", "reject")
KINDS = ("body", "attachment", "inline", "container", "alternative", "signature", "inline-payload",
         "message")

# RFC 6532 lets addresses and message ids carry UTF-8; RFC 2047 cannot
# encode them (it would break their syntax).  Anywhere else raw 8-bit in a
# header is a failure.
UTF8_HEADER_OK = ("from", "to", "cc", "bcc", "reply-to", "sender", "resent-from", "resent-to",
                  "resent-cc", "resent-bcc", "resent-sender", "return-path", "message-id",
                  "in-reply-to", "references", "resent-message-id")


def _valid_utf8(value):
    try:
        value.encode("utf-8", "surrogateescape").decode("utf-8")
        return True
    except UnicodeError:
        return False
DANGEROUS_EXT = (".exe", ".js", ".vbs", ".bat", ".cmd", ".scr", ".com", ".pif", ".hta", ".wsf",
                 ".ps1", ".lnk", ".jar", ".msi", ".dll", ".iso", ".html", ".htm")
NOTICE_MARK = "お知らせ"
STATUS_RE = re.compile(r"^(?:clean|sanitized; removed=(\d+); converted=(\d+))$")


# ---------------------------------------------------------------------------
# TAP


class CheckFailed(Exception):
    """A check() that did not hold."""


def check(cond, message="check failed"):
    """What `assert` says, surviving `python -O` (which strips asserts and
    would let every test pass): raises CheckFailed with message."""
    if not cond:
        raise CheckFailed(message)


class Tap:
    """Prints TAP 13 lines, for every Python test (one writer: tests/*.py
    and tests/e2e/ use this class, none prints "ok" itself).  Test names
    never contain '#' (it would start a directive); diagnostics are '# '
    lines.  A TODO result that fails is printed "not ok ... # TODO" and is
    not counted as failed."""

    def __init__(self):
        self.count = 0
        self.failed = 0

    @staticmethod
    def plan(n, skip=None):
        print("1..%d" % n + (" # SKIP %s" % skip if skip else ""), flush=True)

    def result(self, ok, name, diags=(), skip=None, todo=None):
        self.count += 1
        if not ok and not todo:
            self.failed += 1
        name = name.replace("#", ":").replace("\n", " ")
        line = "%s %d - %s" % ("ok" if ok else "not ok", self.count, name)
        if skip:
            line += " # SKIP " + skip
        elif todo:
            line += " # TODO " + todo
        print(line)
        for d in diags:
            self.diag(d)
        print(end="", flush=True)
        return ok

    def ok(self, ok, name, diags=()):
        """One result; diags is a list of lines or one (multi-line) text."""
        if isinstance(diags, str):
            diags = diags.splitlines()
        return self.result(ok, name, () if ok else diags)

    def skip(self, name, why):
        return self.result(True, name, skip=why)

    def run(self, name, fn, skip=None, todo=None, max_diag=25):
        """Runs fn() as one test: it passes when fn returns, fails when it
        raises (a failed check(), or any error), with the exception's text
        as diagnostics."""
        if skip:
            return self.skip(name, skip)
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - any failure is a test failure
            text = "%s: %s" % (type(e).__name__, e)
            return self.result(False, name, text.splitlines()[:max_diag], todo=todo)
        return self.result(True, name, todo=todo)

    def exit_code(self):
        return 1 if self.failed else 0

    @staticmethod
    def diag(text):
        for line in str(text).splitlines() or [""]:
            print("# " + line)


def short(value, limit=200):
    """repr() of sender-controlled text, cut so diagnostics stay readable."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


# ---------------------------------------------------------------------------
# Running mugai


class Run:
    def __init__(self, rc, stdout, stderr, timed_out, elapsed):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out
        self.elapsed = elapsed

    @property
    def signal(self):
        return -self.rc if self.rc is not None and self.rc < 0 else None

    def describe(self):
        if self.timed_out:
            return "hang: killed after %.0f s" % self.elapsed
        if self.signal:
            try:
                name = signal.Signals(self.signal).name
            except ValueError:
                name = str(self.signal)
            return "crash: killed by signal %s" % name
        return "exit %d" % self.rc

    def stderr_tail(self, lines=8):
        text = self.stderr.decode("utf-8", "replace").rstrip("\n").splitlines()
        return ["stderr: " + l for l in text[-lines:]]


def mugai_env():
    env = dict(os.environ)
    env.setdefault("MUGAI_CONFIG", "/nonexistent")
    return env


def run(argv, timeout=60, env=None, input=None, cwd=None):
    """Runs argv in its own process group, with input (bytes) on standard
    input or none; on timeout the whole group is killed (filters forked by
    mugai included)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            cwd=cwd, env=env if env is not None else mugai_env())
    try:
        out, err = proc.communicate(input, timeout=timeout)
        return Run(proc.returncode, out, err, False, time.monotonic() - start)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        return Run(None, out, err, True, time.monotonic() - start)


# ---------------------------------------------------------------------------
# Mailboxes


ESCAPED_FROM = re.compile(rb"^>(>*From )")


def read_mbox(data):
    """Splits an mboxrd file into messages (bytes).  Every line that starts
    with "From " separates messages (mboxrd quotes such body lines); the
    empty line written before each separator is removed and '>From '
    quoting is undone."""
    messages, cur = [], None
    for line in re.findall(rb"[^\n]*\n|[^\n]+$", data):
        if line.startswith(b"From "):
            if cur is not None:
                messages.append(cur)
            cur = []
        elif cur is not None:  # junk before the first From line is ignored
            cur.append(ESCAPED_FROM.sub(rb"\1", line))
    if cur is not None:
        messages.append(cur)
    out = []
    for lines in messages:
        if lines and lines[-1] in (b"\n", b"\r\n"):
            lines = lines[:-1]
        out.append(b"".join(lines))
    return out


def maildir_files(path):
    """Sorted (subdir, name) of the messages in a Maildir (cur/ and new/)."""
    found = []
    for sub in ("cur", "new"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            found += [(sub, n) for n in sorted(os.listdir(d))
                      if not n.startswith(".") and os.path.isfile(os.path.join(d, n))]
    return found


def test_id(data):
    """The X-Test-Id of a sample (first one: an inner message has none)."""
    m = re.search(rb"(?:^|[\r\n])X-Test-Id:[ \t]*([!-~]+)", data)
    return m.group(1).decode("ascii") if m else None


# ---------------------------------------------------------------------------
# Text comparison


# JIS X 0208 and CP932 map these code points differently; a decoder may pick
# either, and a reader sees the same glyph.
JIS_PAIRS = str.maketrans({"\u301c": "\uff5e", "\u2016": "\u2225", "\u2212": "\uff0d",
                           "\u00a2": "\uffe0", "\u00a3": "\uffe1", "\u00ac": "\uffe2",
                           "\u2014": "\u2015"})
SPACES = re.compile(r"\s+")


def fold(text):
    return SPACES.sub(" ", text.translate(JIS_PAIRS))


def contains(haystack, needle):
    """Returns "yes", "wrapped" (found only when all white space is ignored:
    the text was re-wrapped) or "no"."""
    if haystack is None:
        return "no"
    h, n = fold(haystack), fold(needle)
    if n in h:
        return "yes"
    if n.replace(" ", "") in h.replace(" ", ""):
        return "wrapped"
    return "no"


CHARSET_GROUPS = {
    "shift_jis": ("shift_jis", "shift-jis", "sjis", "x-sjis", "cp932", "ms932", "windows-31j",
                  "ms_kanji", "csshiftjis", "shift_jisx0213", "shift_jis-2004"),
    "iso-2022-jp": ("iso-2022-jp", "iso2022jp", "csiso2022jp", "cp50220", "cp50221", "cp50222",
                    "iso-2022-jp-ms", "iso-2022-jp-1", "iso-2022-jp-2", "iso-2022-jp-3",
                    "iso-2022-jp-2004", "iso-2022-jp-ext"),
    "euc-jp": ("euc-jp", "eucjp", "x-euc-jp", "euc-jp-ms", "eucjp-ms", "cp51932", "euc-jis-2004",
               "euc-jisx0213", "cseucpkdfmtjapanese"),
    "utf-8": ("utf-8", "utf8"),
    "us-ascii": ("us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us"),
}
_CHARSET_ALIAS = {alias: name for name, aliases in CHARSET_GROUPS.items() for alias in aliases}


def norm_charset(name):
    if name is None:
        return None
    n = name.strip().lower()
    return _CHARSET_ALIAS.get(n, n)


def as_list(value):
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------
# Report


def load_report(path):
    """Returns (report dict or None, problem text or None)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return None, "report not written: %s" % e.strerror
    try:
        return json.loads(data.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError) as e:
        return None, "report is not JSON: %s" % e


def load_report_lines(path):
    """JSON Lines report of the mailbox modes: (list, problems)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return None, ["report not written: %s" % e.strerror]
    reports, problems = [], []
    for n, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            reports.append(json.loads(line.decode("utf-8")))
        except (UnicodeDecodeError, ValueError) as e:
            problems.append("report line %d is not JSON: %s" % (n, e))
            reports.append(None)
    return reports, problems


def _type_ok(value, types, nullable=False):
    if value is None:
        return nullable
    if bool in types or not isinstance(value, bool):
        return isinstance(value, types)
    return False


def check_report(report, rc=None):
    """Schema and consistency of one report.  rc: mugai's exit status for a
    single message, or None (mailbox modes).  Returns a list of problems."""
    p = []
    if not isinstance(report, dict):
        return ["report is not a JSON object"]
    fields = {"mugai_version": (str,), "verdict": (str,), "status": (str,), "reasons": (list,),
              "removed": (int,), "converted": (int,), "parts": (list,)}
    for key, types in fields.items():
        if key not in report:
            p.append("report lacks %r" % key)
        elif not _type_ok(report[key], types):
            p.append("report %r has type %s" % (key, type(report[key]).__name__))
    for key in ("message_id", "subject"):
        if key not in report:
            p.append("report lacks %r" % key)
        elif not _type_ok(report[key], (str,), nullable=True):
            p.append("report %r is neither string nor null" % key)
    verdict = report.get("verdict")
    if verdict not in VERDICTS:
        p.append("report verdict %s is not one of %s" % (short(verdict), "/".join(VERDICTS)))
    for i, r in enumerate(report.get("reasons") or []):
        if not isinstance(r, dict):
            p.append("reasons[%d] is not an object" % i)
            continue
        if r.get("category") not in CATEGORIES:
            p.append("reasons[%d].category %s is not a known category" % (i, short(r.get("category"))))
        for key in ("path", "detail"):
            if not isinstance(r.get(key), str):
                p.append("reasons[%d].%s is not a string" % (i, key))
    for i, part in enumerate(report.get("parts") or []):
        if not isinstance(part, dict):
            p.append("parts[%d] is not an object" % i)
            continue
        for key, types, nullable in (("path", (str,), False), ("declared_type", (str,), False),
                                     ("detected_type", (str,), True), ("filename", (str,), True),
                                     ("size", (int,), False), ("sha256", (str,), True),
                                     ("charset", (str,), True), ("action", (str,), False),
                                     ("reason", (str,), True), ("kind", (str,), False)):
            if key not in part:
                p.append("parts[%d] lacks %r" % (i, key))
            elif not _type_ok(part[key], types, nullable):
                p.append("parts[%d].%s has type %s" % (i, key, type(part[key]).__name__))
        if part.get("action") not in ACTIONS:
            p.append("parts[%d].action %s is not a known action" % (i, short(part.get("action"))))
        if part.get("kind") not in KINDS:
            p.append("parts[%d].kind %s is not a known kind" % (i, short(part.get("kind"))))
        if part.get("reason") is not None and part.get("reason") not in CATEGORIES:
            p.append("parts[%d].reason %s is not a known category" % (i, short(part.get("reason"))))
        sha = part.get("sha256")
        if isinstance(sha, str) and not re.fullmatch(r"[0-9a-f]{64}", sha):
            p.append("parts[%d].sha256 %s is not 64 lower-case hex digits" % (i, short(sha)))
    status = report.get("status")
    if verdict in DELIVERED and isinstance(status, str):
        m = STATUS_RE.match(status)
        if not m:
            p.append("status %s is neither 'clean' nor 'sanitized; removed=N; converted=M'" % short(status))
        elif verdict == "clean" and status != "clean":
            p.append("verdict clean but status %s" % short(status))
        elif verdict == "sanitized":
            if status == "clean":
                p.append("verdict sanitized but status 'clean'")
            elif (int(m.group(1)), int(m.group(2))) != (report.get("removed"), report.get("converted")):
                p.append("status %s disagrees with removed=%r converted=%r" % (
                    short(status), report.get("removed"), report.get("converted")))
    if verdict in ("reject", "tempfail") and not report.get("reasons"):
        p.append("verdict %s but no reason given" % verdict)
    if rc is not None and rc in EXIT_VERDICTS and verdict in VERDICTS and verdict not in EXIT_VERDICTS[rc]:
        p.append("exit %d but report verdict %s" % (rc, verdict))
    return p


def body_charset(report):
    for part in report.get("parts") or []:
        if isinstance(part, dict) and part.get("kind") == "body":
            return part.get("charset"), True
    return None, False


# ---------------------------------------------------------------------------
# Well-formedness of a sanitized message


class Checked:
    """Result of check_message().  failures and warnings are lists of
    (code, text); code is a short class name used for summaries."""

    def __init__(self):
        self.failures = []
        self.warnings = []
        self.msg = None
        self.texts = []          # (path, decoded text) of every text/plain leaf
        self.main_body = None    # decoded main text body
        self.status = None       # the X-Mugai-Status value
        self.inner_subjects = []

    def fail(self, code, text):
        self.failures.append((code, text))

    def warn(self, code, text):
        self.warnings.append((code, text))

    def lines(self, limit=30):
        out = ["%s: %s" % (c, t) for c, t in self.failures[:limit]]
        if len(self.failures) > limit:
            out.append("... and %d more failures" % (len(self.failures) - limit))
        out += ["warning %s: %s" % (c, t) for c, t in self.warnings[:10]]
        if len(self.warnings) > 10:
            out.append("... and %d more warnings" % (len(self.warnings) - 10))
        return out


def _walk(part, path="", parent_type=None):
    """Yields (path, part, parent content type), depth first, into
    message/rfc822 as well.  Paths: "" for the top, "1.2" for the 2nd part of
    the 1st part, "2/" for the message inside a message/rfc822 part 2."""
    yield path, part, parent_type
    ctype = part.get_content_type()
    if not part.is_multipart():
        return
    payload = part.get_payload()
    if not isinstance(payload, list):
        return
    if part.get_content_maintype() == "multipart":
        for i, sub in enumerate(payload, 1):
            yield from _walk(sub, "%s%s%d" % (path, "." if path and not path.endswith("/") else "", i),
                             ctype)
    else:  # message/*: Python parses the enclosed message(s)
        for sub in payload:
            yield from _walk(sub, path + "/", ctype)


def _split_2231(defect, value, raw):
    """Python flags UndecodableBytesDefect for each RFC 2231 continuation
    (name*0*=, name*1*=) that ends or starts inside a multi-octet character,
    although RFC 2231 section 3 joins the octets before decoding, and Python
    then decodes the whole value correctly.  Such output is legal: only a
    warning, as long as the header uses continuations and every parameter
    value came out clean."""
    params = getattr(value, "params", None)
    if not isinstance(defect, email.errors.UndecodableBytesDefect) or params is None:
        return False
    if not re.search(r"\*\d+\*\s*=", raw):
        return False
    return not any("\ufffd" in v or re.search("[\udc80-\udcff]", v) for v in params.values())


def _filename_param(part, header, param):
    value = part.get_param(param, header=header)
    if value is None:
        return None
    try:
        return email.utils.collapse_rfc2231_value(value)
    except Exception:  # noqa: BLE001 - sender text, any failure is reported
        return str(value)


COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")


def _parse_header(part, name, raw):
    """Returns (parsed value, None) or (None, error text).  Python 3.11's
    address parser raises AttributeError on some valid headers, e.g. the
    empty group "undisclosed-recipients:; (comment)"; when the value parses
    once its comments are removed, the failure was Python's, and that
    re-parse is used (its defects still count)."""
    try:
        return part.policy.header_fetch_parse(name, raw), None
    except Exception as e:  # noqa: BLE001
        error = "%s: %s" % (type(e).__name__, e)
    try:
        return part.policy.header_fetch_parse(name, COMMENT.sub(" ", raw).strip()), None
    except Exception:  # noqa: BLE001
        return None, error


def _original_defects(original):
    """{(header name lower case, defect class name)} over every header block
    of the original (inner messages too), to tell a defect mugai kept from
    one it made."""
    found = set()
    if original is None:
        return found
    if original.startswith(b"\xef\xbb\xbf"):
        original = original[3:]  # mugai skips a byte order mark, Python does not
    try:
        msg = email.message_from_bytes(original, policy=email.policy.default)
        for _path, part, _parent in _walk(msg):
            for name, raw in part.raw_items():
                value, error = _parse_header(part, name, raw)
                if error:
                    found.add((name.lower().strip(), "*"))
                    continue
                found |= {(name.lower().strip(), type(d).__name__) for d in getattr(value, "defects", ())}
    except Exception:  # noqa: BLE001
        pass
    return found


def _squash(text):
    return re.sub(r"\s+", " ", text).strip()


def _verbatim_in(raw_value, original):
    """True when a header value of the output stands, word for word, in the
    original: a defect in it was copied, not made (even where Python could
    not parse the original's header block at all)."""
    if original is None:
        return False
    value = _squash(raw_value)
    if len(value) < 4:
        return False
    return value in _squash(original.decode("utf-8", "surrogateescape"))


# What mugai's filters write (filters/): image-only PDFs and re-encoded
# images.  Each is checked here on its own terms, not trusted by type.
INERT_TYPES = ("application/pdf", "image/png", "image/jpeg")
PDF_ACTIVE = (b"/JavaScript", b"/JS", b"/OpenAction", b"/AA", b"/Annots", b"/AcroForm",
              b"/EmbeddedFile", b"/URI", b"/Launch", b"/Font", b"/RichMedia", b"/XFA")


def inert_problem(ctype, data):
    """None when a converted attachment holds nothing but its pixels."""
    if ctype == "application/pdf":
        if not data.startswith(b"%PDF-"):
            return "does not start with %PDF-"
        for token in PDF_ACTIVE:
            if re.search(re.escape(token) + rb"(?![A-Za-z])", data):
                return "holds %s" % token.decode()
        return None
    if ctype == "image/png":
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            return "is not a PNG"
        pos, seen = 8, []
        while pos + 8 <= len(data):
            n = int.from_bytes(data[pos:pos + 4], "big")
            kind = data[pos + 4:pos + 8]
            seen.append(kind)
            pos += 12 + n
            if kind == b"IEND":
                break
        if pos != len(data):
            return "has data after IEND (or a broken chunk)"
        extra = [k for k in seen if k not in (b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND")]
        return "has chunks %s" % extra if extra else None
    if ctype == "image/jpeg":
        if not data.startswith(b"\xff\xd8"):
            return "is not a JPEG"
        if not data.endswith(b"\xff\xd9"):
            return "has data after the end marker"
        if b"Exif\0" in data[:65536] or b"ICC_PROFILE" in data[:65536]:
            return "holds EXIF or ICC metadata"
        return None
    return "unexpected type"


def check_message(data, original=None):
    """The checks every delivered output must pass.  data: bytes; original:
    the input message, if known, only to label header defects that were
    copied from it ("kept-header-defect:...", still failures)."""
    c = Checked()
    inherited = _original_defects(original)
    if not data:
        c.fail("empty", "output is empty")
        return c

    # Raw octets.
    if b"\x00" in data:
        c.fail("nul", "NUL octet at offset %d" % data.index(b"\x00"))
    bare_cr = re.search(rb"\r(?!\n)", data)
    if bare_cr:
        c.fail("bare-cr", "bare CR at offset %d" % bare_cr.start())
    long_lines, eight_bit = [], []
    for n, line in enumerate(data.split(b"\n"), 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if len(line) > 998:
            long_lines.append((n, len(line)))
        if not line.isascii():
            eight_bit.append(n)
    if long_lines:
        c.fail("line>998", "%d line(s) longer than 998 octets, first: line %d (%d octets)"
               % (len(long_lines), long_lines[0][0], long_lines[0][1]))

    # Parse.
    try:
        msg = email.message_from_bytes(data, policy=email.policy.default)
    except Exception as e:  # noqa: BLE001
        c.fail("parse", "email.message_from_bytes raised %s: %s" % (type(e).__name__, e))
        return c
    c.msg = msg

    if msg.get("MIME-Version") is None:
        c.fail("mime-version", "no MIME-Version header")
    statuses = msg.get_all("X-Mugai-Status") or []
    if len(statuses) != 1:
        c.fail("status-count", "%d X-Mugai-Status headers (expected exactly 1)" % len(statuses))
    else:
        c.status = str(statuses[0])
        if not STATUS_RE.match(c.status):
            c.fail("status-format", "X-Mugai-Status %s is not 'clean' or "
                   "'sanitized; removed=N; converted=M'" % short(c.status))

    header_8bit = False
    parts = list(_walk(msg))
    for path, part, parent in parts:
        where = "part %s" % (path or "(top)")
        # Headers: raw octets, then parsed values.
        raw_values = {}
        for name, value in part.raw_items():
            raw_values.setdefault(name.lower(), []).append(value)
            if not (name + value).isascii():
                if name.lower() in UTF8_HEADER_OK and name.isascii() and _valid_utf8(value):
                    c.warn("header-utf8", "%s: header %s holds UTF-8 (RFC 6532): %s" % (where, name, short(value, 120)))
                    header_8bit = True
                    continue
                header_8bit = True
                c.fail("header-8bit", "%s: header %s has non-ASCII octets: %s" % (where, name, short(value, 120)))
        for name, raw in part.raw_items():
            value, error = _parse_header(part, name, raw)
            if error:
                text = "%s: header %s cannot be parsed (%s): %s" % (where, name, error, short(raw, 160))
                if (name.lower().strip(), "*") in inherited:
                    # the original's field could not be parsed either
                    c.warn("kept-header-parse", text + " [the original's header cannot be parsed either]")
                else:
                    c.fail("header-parse", text)
                continue
            for d in getattr(value, "defects", ()):
                code = "header-defect:%s" % type(d).__name__
                text = "%s: header %s: %s (%s)" % (where, name, type(d).__name__, d)
                if (name.lower(), type(d).__name__) in inherited or (name.lower(), "*") in inherited \
                        or _verbatim_in(raw, original):
                    code = "kept-" + code
                    text += " [the original's header has the same defect]"
                # mugai keeps the original's header fields; a defect the
                # original already had is reported, not failed (see README)
                if code.startswith("kept-") or isinstance(d, email.errors.ObsoleteHeaderDefect) or \
                        _split_2231(d, value, " ".join(raw_values.get(name.lower(), []))):
                    c.warn(code, text)
                else:
                    c.fail(code, text)

        ctype = part.get_content_type()
        if parent == "message/rfc822":
            c.inner_subjects.append(str(part.get("Subject", "")))
        if part.get_content_maintype() == "multipart":
            if not part.is_multipart():
                c.fail("multipart-empty", "%s: %s without parts" % (where, ctype))
            continue
        if ctype == "message/rfc822" and part.is_multipart():
            continue
        # A leaf.
        if ctype in INERT_TYPES:
            try:
                payload = part.get_payload(decode=True) or b""
            except Exception as e:  # noqa: BLE001
                payload = b""
                c.fail("content", "%s: payload could not be decoded: %s" % (where, e))
            problem = inert_problem(ctype, payload)
            if problem:
                c.fail("not-inert", "%s: %s %s" % (where, ctype, problem))
        elif ctype != "text/plain":
            c.fail("leaf-type", "%s: leaf of type %s (only text/plain and converted "
                   "PDF/PNG/JPEG may remain)" % (where, ctype))
        for label, fn in (("filename", _filename_param(part, "content-disposition", "filename")),
                          ("name", _filename_param(part, "content-type", "name"))):
            if fn and fn.strip().rstrip(". ").lower().endswith(DANGEROUS_EXT):
                c.fail("dangerous-name", "%s: %s %s ends in a dangerous extension" % (where, label, short(fn)))
        if ctype != "text/plain":
            continue
        charset = norm_charset(part.get_content_charset())
        if charset not in (None, "utf-8", "us-ascii"):
            c.fail("charset", "%s: text/plain declares charset %s (output must be UTF-8)"
                   % (where, short(part.get_content_charset())))
        cte = str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()
        if cte not in ("7bit", "quoted-printable", "base64"):
            c.fail("cte", "%s: Content-Transfer-Encoding %s (expected base64, quoted-printable or 7bit)"
                   % (where, short(cte)))
        try:
            text = part.get_content()
        except Exception as e:  # noqa: BLE001
            c.fail("content", "%s: get_content() raised %s: %s" % (where, type(e).__name__, e))
            continue
        if "\ufffd" in text:
            c.warn("replacement-char", "%s: decoded text holds %d U+FFFD (charset %s)"
                   % (where, text.count("\ufffd"), charset))
        c.texts.append((path, text))

    # Defects last: decoding the payloads above adds base64/QP defects.
    for path, part, parent in parts:
        for d in part.defects:
            c.fail("defect:%s" % type(d).__name__, "part %s: %s (%s)" % (path or "(top)", type(d).__name__, d))

    if eight_bit and not header_8bit:
        c.fail("body-8bit", "8-bit octets in a body (%d lines, first line %d): output must be 7-bit"
               % (len(eight_bit), eight_bit[0]))

    body = None
    try:
        body = msg.get_body(preferencelist=("plain",))
    except Exception as e:  # noqa: BLE001
        c.fail("body", "get_body() raised %s: %s" % (type(e).__name__, e))
    if body is None and msg.get_content_type() == "text/plain":
        body = msg
    if body is None:
        c.fail("no-body", "no text/plain main body")
    else:
        try:
            c.main_body = body.get_content()
        except Exception:  # noqa: BLE001 - already reported above
            c.main_body = None
    return c


def check_notice(checked):
    """When the status says something was removed or converted, the notice
    (お知らせ) must open the main body.  Returns a problem text or None."""
    m = STATUS_RE.match(checked.status or "")
    if not m or not m.group(1):
        return None
    if int(m.group(1)) + int(m.group(2)) == 0:
        return None
    head = (checked.main_body or "")[:2000]
    if NOTICE_MARK not in head:
        return ("status %s but no %s notice at the top of the main body (starts %s)"
                % (short(checked.status), NOTICE_MARK, short(head[:120])))
    return None


def header_str(msg, name):
    try:
        value = msg.get(name)
    except Exception as e:  # noqa: BLE001
        return None, "%s header raised %s: %s" % (name, type(e).__name__, e)
    return (None if value is None else str(value)), None


def from_display_name(msg):
    try:
        value = msg.get("From")
        if value is None or not getattr(value, "addresses", None):
            return None
        return value.addresses[0].display_name
    except Exception:  # noqa: BLE001
        return None


# ---------------------------------------------------------------------------
# Garbled text (issue 11): judges over the decoded output


# ISO-2022-JP whose escape bytes were dropped: "$B" opens a run of JIS
# pairs and "(B" (or "(J") closes it, the ESC before each gone.  A run of
# at least one pair of printable JIS octets between them.
ISO2022_STRIPPED = re.compile(r"\$[B@](?:[\x21-\x7e]{2})+?\([BJ]")


def garbled_problems(text, where):
    """Problems of one decoded text (Subject or a text part): U+FFFD, or
    ISO-2022-JP with its escapes dropped.  Returns a list of texts."""
    if text is None:
        return []
    problems = []
    if "\ufffd" in text:
        i = text.index("\ufffd")
        problems.append("%s holds %d U+FFFD, first near %s"
                        % (where, text.count("\ufffd"), short(text[max(0, i - 20):i + 20], 60)))
    m = ISO2022_STRIPPED.search(text)
    if m:
        problems.append("%s holds ISO-2022-JP with its escapes dropped: %s" % (where, short(m.group(0), 60)))
    return problems


def original_fffd(original):
    """How many U+FFFD the original itself carries, as UTF-8 octets in its
    raw text or in a decoded payload: those are the sender's, not a
    decoder's, and may come out as they went in."""
    if original is None:
        return 0
    n = original.count(b"\xef\xbf\xbd")
    try:
        msg = email.message_from_bytes(original, policy=email.policy.compat32)
        for part in msg.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload != part.get_payload().encode("ascii", "replace"):
                n += payload.count(b"\xef\xbf\xbd")
    except Exception:  # noqa: BLE001
        pass
    return n


def check_garbled(checked, original=None):
    """The garbled check over a Checked output: its Subject and every
    text/plain leaf (inner messages' Subjects too).  U+FFFD the original
    itself carries (original_fffd) are allowed, that many at most."""
    if checked.msg is None:
        return []
    subject, problem = header_str(checked.msg, "Subject")
    texts = [("Subject", subject)]
    texts += [("inner message %d Subject" % n, s) for n, s in enumerate(checked.inner_subjects, 1)]
    texts += [("text part %s" % (path or "(top)"), text) for path, text in checked.texts]
    allowed = original_fffd(original)
    found = sum((t or "").count("\ufffd") for _w, t in texts)
    problems = [problem] if problem else []
    for where, text in texts:
        for p in garbled_problems(text, where):
            if "U+FFFD" in p and found <= allowed:
                continue
            problems.append(p)
    return problems


def original_subject(original):
    """The original's Subject as Python decodes it, or None when Python
    cannot read it cleanly (raw 8-bit, unknown charset, U+FFFD): only a
    clean reading can tell that mugai changed a subject."""
    if original is None:
        return None
    try:
        msg = email.message_from_bytes(original, policy=email.policy.default)
        raw = msg.get("Subject")
        if raw is None:
            return None
        text = str(raw)
    except Exception:  # noqa: BLE001
        return None
    if "\ufffd" in text or re.search("[\udc80-\udcff]", text) or ISO2022_STRIPPED.search(text):
        return None
    if re.search(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=", text):
        return None  # an encoded-word Python could not decode
    return text


def subject_changed(checked, original):
    """True when the original's Subject, as Python reads it cleanly, differs
    from the output's (white space and the JIS / CP932 look-alikes folded;
    control characters count as white space)."""
    before = original_subject(original)
    if before is None or checked.msg is None:
        return False
    after, _problem = header_str(checked.msg, "Subject")
    if after is None:
        return True
    squash = lambda s: fold(re.sub(r"[\x00-\x1f\x7f]", " ", s)).strip().replace(" ", "")  # noqa: E731
    return squash(before) != squash(after)
