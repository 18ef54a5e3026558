"""Judges of the threat cases (tests/threatmail.py), shared by the
command's test (tests/run-threats.py) and the end-to-end threats scenario
(tests/e2e/run-e2e.py), so that neither test script imports the other.

  attachment_report(report)     the report's part for the attachment
  delivered_problems(msg, case) what was delivered against what the case allows
  markup_in(data)               script-capable start tags an HTML parser finds
  image_pdf_problems(name, pdf) an image-only PDF: no text, images on its pages
  stale_pipes()                 LibreOffice sockets left in /tmp, unanswered
  bound_problems(rpath, report, case)  a bomb's report: its size, its summary

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
