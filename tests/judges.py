"""Judges of the threat cases (tests/threatmail.py), shared by the
command's test (tests/run-threats.py) and the end-to-end threats scenario
(tests/e2e/run-e2e.py), so that neither test script imports the other.

  attachment_report(report)     the report's part for the attachment
  delivered_problems(msg, case) what was delivered against what the case allows
  markup_in(data)               script-capable start tags an HTML parser finds
  image_pdf_problems(name, pdf) an image-only PDF: no text, images on its pages
  stale_pipes()                 LibreOffice sockets left in /tmp, unanswered
  bound_problems(rpath, report, case)  a bomb's report: its size, its summary

and the judge of a sample message (testdata/) against its entry in
testdata/expected.json, shared by the command's test (tests/run-samples.py)
and the end-to-end load scenario (tests/e2e/sc_load.py):

  expected_problems(exp, verdict, report, checked, raw)

Standard library only (and pdftotext, qpdf when installed).
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mugaitest as mt  # noqa: E402
import threatmail  # noqa: E402


def attachment_report(report):
    for p in report.get("parts", []):
        if p.get("kind") == "attachment" and p.get("filename"):
            return p
    return None


def delivered_problems(msg, case):
    """The attachments that came out are exactly the converted ones (each
    already judged inert by mugaitest.check_message), none of the secrets
    of the original survived."""
    d, got = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        for secret in case.absent:
            if secret in (part.get_payload(decode=True) or b""):
                d.append("a delivered part holds %r" % secret)
        if part.get_content_disposition() != "attachment":
            continue
        got.append((part.get_content_type(), part.get_filename()))
        payload = part.get_payload(decode=True) or b""
        for secret in (b"MUGAI-PNG-SECRET", b"MUGAI-PNG-TRAILER", b"app.alert", b"evil.example"):
            if secret in payload:
                d.append("%s holds %r from the original" % (part.get_filename(), secret))
        if part.get_content_type() == "text/plain" and case.key == "docx-text":
            text = part.get_content()
            if "御見積書\n株式会社①テスト 御中" not in text:
                d.append("the text of the docx is not in order: %s" % mt.short(text))
        if part.get_content_type() == "text/plain" and case.text:
            text, at = part.get_content(), 0
            for want in case.text:
                i = text.find(want, at)
                if i < 0:
                    d.append("%s does not hold %r after position %d: %s"
                             % (part.get_filename(), want, at, mt.short(text)))
                    break
                at = i + len(want)
        started = markup_in(payload)
        if started:
            d.append("%s: an HTML parser finds start tags %s in it" % (part.get_filename(), started))
        if part.get_content_type() == "application/pdf" and case.config_extra:
            d += image_pdf_problems(part.get_filename(), payload)
    for want in case.delivered:
        if want not in got:
            d.append("attachment %s not delivered (got %s)" % (want, got))
    for g in got:
        if g not in case.delivered:
            d.append("unexpected attachment %s delivered" % (g,))
    return d


def markup_in(data):
    """The script-capable start tags (script, svg, iframe, html) that
    Python's HTML parser finds in data read as Latin-1, as a browser
    sniffing a file as HTML would."""
    from html.parser import HTMLParser

    class Tags(HTMLParser):
        found = set()

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "svg", "iframe", "html", "object", "embed"):
                self.found.add(tag)

    p = Tags()
    p.found = set()
    p.feed(data.decode("latin-1"))
    p.close()
    return sorted(p.found)


def image_pdf_problems(name, data):
    """A PDF made from an office document: pages of images only (no text
    for pdftotext), and not blank (qpdf lists an image on page 1)."""
    if not data.startswith(b"%PDF-"):
        return ["%s is not a PDF" % name]
    d = []
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        if shutil.which("pdftotext"):
            p = subprocess.run(["pdftotext", f.name, "-"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, timeout=60, check=False)
            if p.stdout.strip():
                d.append("%s has text: %s" % (name, mt.short(p.stdout.decode("utf-8", "replace"))))
        if shutil.which("qpdf"):
            p = subprocess.run(["qpdf", "--show-pages", "--with-images", f.name], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, timeout=60, check=False)
            if b"images:" not in p.stdout:
                d.append("%s: qpdf shows no image on its pages" % name)
    return d


def stale_pipes():
    """LibreOffice's single-instance sockets in /tmp that nothing listens
    on (a killed LibreOffice leaves its own)."""
    import socket
    out = set()
    for n in os.listdir("/tmp"):
        if n.startswith("OSL_PIPE_") and "_SingleOfficeIPC_" in n:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect("/tmp/" + n)
            except ConnectionRefusedError:
                out.add(n)
            except OSError:
                pass
            finally:
                s.close()
    return out


def bound_problems(rpath, report, case):
    """The bombs (threatmail.bombs()): the report at most 1 MiB, ending
    with its summary when the case says so, and the finding that decided
    naming the limit."""
    d = []
    size = os.path.getsize(rpath)
    if size > threatmail.REPORT_MAX:
        d.append("report of %d octets, more than %d" % (size, threatmail.REPORT_MAX))
    if case.summary:
        keys = list(report.keys())
        if not keys or keys[-1] != "summary":
            d.append("the report does not end with a summary (last member %r)" % (keys[-1:] or None,))
        elif not isinstance(report.get("summary"), str) or not report.get("omitted_parts"):
            d.append("summary %s, omitted_parts %r" % (mt.short(report.get("summary")),
                                                       report.get("omitted_parts")))
    if case.detail:
        details = [f.get("detail") or "" for f in report.get("reasons", [])]
        details += [p.get("detail") or "" for p in report.get("parts", [])]
        if not any(case.detail in x for x in details):
            d.append("no finding says %r (details: %s)" % (case.detail, mt.short(details)))
    return d


def expected_problems(exp, verdict, report=None, checked=None, raw=None):
    """What the outcome of one sample says against exp, its entry in
    testdata/expected.json: verdict ("clean", "sanitized", "reject",
    "tempfail"), report (the JSON report, or None when there is none to
    judge), checked (mugaitest.check_message() of the delivered message, or
    None when it was not delivered) and raw (the delivered octets, for text
    that must not be there even undecoded).  Lines starting "note: " are
    remarks, not failures."""
    d = []
    rep = report if isinstance(report, dict) else {}
    accepted = mt.as_list(exp["verdict"])
    if verdict not in accepted:
        d.append("verdict %s, expected %s" % (verdict, " or ".join(accepted)))
        if rep.get("reasons"):
            d += ["  reason: %s %s %s" % (x.get("category"), x.get("path"), mt.short(x.get("detail"), 120))
                  for x in rep["reasons"][:8] if isinstance(x, dict)]
    if rep:
        d += report_problems(exp, rep)
    if verdict not in mt.DELIVERED or checked is None or checked.msg is None:
        return d
    d += message_problems(exp, checked, raw)
    failed = [x for x in d if not x.startswith("note: ")]
    if failed and checked.main_body is not None:
        d.append("main body starts: %s" % mt.short(checked.main_body[:300], 400))
    return d


def report_problems(exp, rep):
    """The report's counts, reasons, body charset and subject against exp."""
    d = []
    if exp.get("converted") is not None and rep.get("converted") != exp["converted"]:
        d.append("converted=%r, expected %r" % (rep.get("converted"), exp["converted"]))
    if exp.get("removed") is not None and rep.get("removed") not in mt.as_list(exp["removed"]):
        d.append("removed=%r, expected %s" % (rep.get("removed"), " or ".join(map(str, mt.as_list(exp["removed"])))))
    if exp.get("reasons"):
        have = {x.get("category") for x in rep.get("reasons") or [] if isinstance(x, dict)}
        for cat in exp["reasons"]:
            if cat not in have:
                d.append("report names no %r reason (has: %s)" % (cat, ", ".join(sorted(map(str, have))) or "none"))
    if exp.get("charset") is not None:
        cs, found = mt.body_charset(rep)
        want = [mt.norm_charset(x) for x in mt.as_list(exp["charset"])]
        if not found:
            d.append("report has no part of kind 'body' (expected charset %s)" % " or ".join(want))
        elif mt.norm_charset(cs) not in want:
            d.append("body charset %s, expected %s" % (mt.short(cs), " or ".join(want)))
    if exp.get("subject") is not None and "subject" in rep:
        if mt.fold(rep.get("subject") or "") != mt.fold(exp["subject"]):
            d.append("report subject %s, expected %s" % (mt.short(rep.get("subject")), mt.short(exp["subject"])))
    return d


def message_problems(exp, c, raw=None):
    """The delivered message (c: mugaitest.check_message()) against exp:
    Subject, From name, the texts that must be in the main body, the
    notice or any text part, the texts that must be nowhere, the inner
    messages."""
    d = []
    msg = c.msg
    subject, problem = mt.header_str(msg, "Subject")
    if problem:
        d.append(problem)
    if exp.get("subject") is not None:
        if subject is None:
            d.append("output has no Subject, expected %s" % mt.short(exp["subject"]))
        elif mt.fold(subject) != mt.fold(exp["subject"]):
            d.append("Subject %s, expected %s" % (mt.short(subject), mt.short(exp["subject"])))
    for part in exp.get("subject_contains", []):
        if mt.contains(subject, part) == "no":
            d.append("Subject %s does not contain %s" % (mt.short(subject), mt.short(part)))
    if exp.get("from_name") is not None:
        name = mt.from_display_name(msg)
        if mt.fold(name or "") != mt.fold(exp["from_name"]):
            d.append("From display name %s, expected %s (From: %s)"
                     % (mt.short(name), mt.short(exp["from_name"]), mt.short(mt.header_str(msg, "From")[0])))
    body = c.main_body
    for label, key in (("main body", "body_contains"), ("notice/body: file name", "notice_names")):
        for s in exp.get(key, []):
            found = mt.contains(body, s)
            if found == "no":
                d.append("%s lacks %s" % (label, mt.short(s)))
            elif found == "wrapped":
                d.append("note: %s found only with line breaks ignored (text re-wrapped)" % mt.short(s))
    all_text = "\n".join(t for _, t in c.texts)
    for s in exp.get("text_contains", []):
        if mt.contains(all_text, s) == "no":
            d.append("no text part contains %s" % mt.short(s))
    for s in exp.get("body_absent", []):
        where = [p or "(top)" for p, t in c.texts if s in t]
        if where:
            d.append("%s present in decoded text of part %s" % (mt.short(s), ", ".join(where)))
        elif raw is not None and s.encode("utf-8") in raw:
            d.append("%s present in the raw output" % mt.short(s))
    for s in exp.get("inner_subjects", []):
        if not any(mt.fold(x) == mt.fold(s) for x in c.inner_subjects):
            d.append("no message/rfc822 part with Subject %s (found: %s)"
                     % (mt.short(s), ", ".join(map(mt.short, c.inner_subjects)) or "none"))
    return d
