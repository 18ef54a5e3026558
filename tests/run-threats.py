#!/usr/bin/env python3
"""Whole-program test: real hostile attachments through `mugai sanitize`.

    python3 tests/run-threats.py MUGAI_BIN

The files come from tests/threatmail.py (archives with programs and
Japanese names, password-protected zip and 7z, LZH, macro documents under
innocent names, a PE file, lying names, 一太郎, DocuWorks...).  For each
message (and each of threatmail.bombs(): a part bomb, an alternative
bomb, an HTML element with 80,000 attributes, 100,000 header fields),
one TAP test: the exit status, the output judged well-formed by
Python's email package with no leaf but text/plain, the attachment gone,
the report's reason and findings, the archive members listed in the
report, and the notice naming what it must.

Environment: MUGAI_CONFIG (the test configuration with the sigtool
signatures), as set by meson.
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


def check(mugai, case, tmp):
    path = os.path.join(tmp, case.key + ".eml")
    with open(path, "wb") as f:
        f.write(case.message)
    rpath = os.path.join(tmp, case.key + ".json")
    args = [mugai, "sanitize", "--report", rpath]
    if case.config_extra:
        # the test configuration (MUGAI_CONFIG) with this case's settings
        conf = os.path.join(tmp, case.key + ".conf")
        with open(os.environ["MUGAI_CONFIG"]) as f, open(conf, "w") as g:
            g.write(f.read() + "\n" + case.config_extra)
        args += ["--config", conf]
    before = stale_pipes() if case.no_stale_pipes else set()
    r = mt.run(args + [path], timeout=180)
    d = []
    if r.timed_out or r.signal:
        return [r.describe()] + r.stderr_tail()
    if r.rc != case.exit_code:
        d.append("exit %d, expected %d" % (r.rc, case.exit_code))
    report, problem = mt.load_report(rpath)
    if problem:
        return d + [problem] + r.stderr_tail()
    d += mt.check_report(report, r.rc)
    d += bound_problems(rpath, report, case)
    cats = [f.get("category") for f in report.get("reasons", [])]
    for c in case.categories:
        if c not in cats:
            d.append("report has no %s finding (has %s)" % (c, cats))
    att = attachment_report(report)
    if case.reason:
        if att is None:
            d.append("no attachment in the report")
        else:
            if att.get("reason") != case.reason:
                d.append("attachment reason %r, expected %r (detail %s)"
                         % (att.get("reason"), case.reason, mt.short(att.get("detail"))))
            want = "convert" if case.delivered else "remove"
            if att.get("action") != want:
                d.append("attachment action %r, expected %s" % (att.get("action"), want))
            if case.type_label and att.get("type_label") != case.type_label:
                d.append("type_label %r, expected %r" % (att.get("type_label"), case.type_label))
            names = [e.get("name") for e in att.get("entries") or []]
            for e in case.entries:
                if e not in names:
                    d.append("member %r not listed (listed: %s)" % (e, mt.short(names)))
    if r.rc == mt.EXIT_DELIVER:
        c = mt.check_message(r.stdout, case.message)
        d += c.lines()
        if c.msg is not None:
            d += delivered_problems(c.msg, case)
            body = c.main_body or ""
            for s in case.notice:
                if s not in body:
                    d.append("notice does not say %r; body starts: %s" % (s, mt.short(body[:600])))
            raw = r.stdout
            for needle in (b"TVqQ", b"UEsDB", b"MZ\x90"):  # base64 of MZ, of PK\3\4, raw MZ
                if needle in raw:
                    d.append("output holds %r: the original file survived" % needle)
    elif r.stdout:
        d.append("refused but %d octets written" % len(r.stdout))
    if case.no_stale_pipes:
        # a LibreOffice of another test starting up is not stale for long:
        # only what is stale twice, a second apart, counts
        import time
        left = stale_pipes() - before
        if left:
            time.sleep(1)
            left &= stale_pipes()
        if left:
            d.append("LibreOffice's pipe left in /tmp after it was killed: %s" % sorted(left))
    if d:
        d += r.stderr_tail()
    return d


def main():
    mugai = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="mugai-threats-") as tmp:
        cases = threatmail.cases(tmp) + threatmail.bombs(asan=threatmail.is_asan(mugai))
        tap = mt.Tap()
        tap.plan(len(cases))
        for case in cases:
            if case.skip:
                tap.skip(case.key, case.skip)
                continue
            problems = check(mugai, case, tmp)
            tap.ok(not problems, case.key, ["  " + p for p in problems])
        return tap.exit_code()


if __name__ == "__main__":
    sys.exit(main())
