#!/usr/bin/env python3
"""What the mugai command writes on standard error, and what it needs to
run from its build tree as a newcomer runs it (README, Using it).

usage: run-cli-lines.py MUGAI_BIN   (env: MUGAI_TEST_CLAMAV_DB, the test
       signature set the build writes)

  - every line is mugai's (key=value, qid= and msgid= on lines about a
    message), printable ASCII, one line per record whatever the mail's
    Message-ID holds; no raw "LibClamAV ..." line (libclamav's messages go
    through mugai's own lines, with the message's ids);
  - with no usable ClamAV database the error names the one line to add;
  - with only that line in a configuration (no [sandbox] filters), a
    program run from its build tree finds the build tree's filters: a PDF
    becomes an image-only PDF (exit 0).

Prints TAP.  Standard library only, plus pdftotext and qpdf when present.
"""
import base64
import email
import email.policy
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import judges  # noqa: E402
import mugaitest as mt  # noqa: E402
import threatmail  # noqa: E402

LINE = re.compile(r"^mugai: (qid=\S+ msgid=(?:\S+|\"[^\"]*\") )?\S")


def pdf_with_text(text):
    """A one-page PDF whose page shows text (Helvetica), xref computed."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>"]
    content = b"BT /F1 24 Tf 40 100 Td (" + text.encode("ascii") + b") Tj ET"
    objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return threatmail.pdf_bytes(objs)


def message(msgid, subject, parts):
    """parts: [(content type, filename, base64 body)]; msgid raw (bytes)."""
    b = b"mugai-lines-0001"
    head = (b"From: sender@internet.test\nTo: user@lgwan.test\nSubject: " + subject
            + b"\nMessage-ID: " + msgid + b"\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=\"" + b + b"\"\n\n")
    body = b"--" + b + b"\nContent-Type: text/plain; charset=us-ascii\n\nPlease see.\n"
    for ctype, name, data in parts:
        body += (b"--" + b + b"\nContent-Type: " + ctype + b"; name=\"" + name + b"\"\n"
                 b"Content-Disposition: attachment; filename=\"" + name + b"\"\n"
                 b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(data))
    return head + body + b"--" + b + b"--\n"


EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")


def env_without_config():
    env = dict(os.environ)
    env.pop("MUGAI_CONFIG", None)
    return env


def stderr_lines(run):
    return run.stderr.decode("utf-8", "surrogateescape").splitlines()


def foreign_lines(lines):
    """Lines that are not mugai's own, or not printable ASCII."""
    bad = []
    for l in lines:
        if not l.startswith("mugai: "):
            bad.append("not mugai's: " + mt.short(l))
        elif any(ord(c) < 0x20 or ord(c) > 0x7e for c in l):
            bad.append("not printable ASCII: " + mt.short(l))
    return bad


def main(argv):
    mugai = argv[1]
    db = os.environ.get("MUGAI_TEST_CLAMAV_DB", "")
    tap = mt.Tap()
    tap.plan(9)
    work = tempfile.mkdtemp(prefix="mugai-lines-")
    try:
        empty = os.path.join(work, "no-signatures")
        os.mkdir(empty)
        conf_empty = os.path.join(work, "empty-db.conf")
        with open(conf_empty, "w") as f:
            f.write("[clamav]\ndatabase = %s\n" % empty)
        eml = os.path.join(work, "a.eml")
        with open(eml, "wb") as f:
            f.write(message(b"<plain@internet.test>", b"plain", []))

        # 1. a database directory without signatures: the line to add, and
        # libclamav's own complaint inside mugai's line, not beside it
        r = mt.run([mugai, "sanitize", "--config", conf_empty, eml], env=env_without_config())
        lines = stderr_lines(r)
        said = "\n".join(lines)
        want = 'add the line "database = DIR" under [clamav]'
        tree = os.path.dirname(os.path.dirname(os.path.abspath(mugai)))  # BUILD/src/mugai
        test_set = "this build tree has a test set: database = %s" % os.path.join(
            os.path.realpath(tree), "tests")
        tap.result(r.rc == mt.EXIT_TEMPFAIL and want in said and test_set in said
                   and os.path.realpath(db) == os.path.join(os.path.realpath(tree), "tests"),
                   "no signatures: exit 75, and the error says the line to add under [clamav] "
                   "and where this build tree's test set is",
                   ["exit %s" % r.rc, "want: " + want, "and: " + test_set] + lines[-4:])
        tap.result(lines and not foreign_lines(lines),
                   "no signatures: every line on standard error is mugai's (no raw LibClamAV line)",
                   foreign_lines(lines)[:6] or lines[-4:])

        # 2. no configuration at all: the default database; only when this
        # host has no signatures there (a gateway with freshclam has some)
        r = mt.run([mugai, "sanitize", eml], env=env_without_config())
        lines = stderr_lines(r)
        if r.rc == mt.EXIT_TEMPFAIL and "/var/lib/clamav" in "\n".join(lines):
            tap.result(want in "\n".join(lines) and not foreign_lines(lines),
                       "no configuration, no signatures in /var/lib/clamav: the error says the "
                       "line to add, in mugai's lines only", lines[-4:])
        else:
            tap.result(True, "no configuration: /var/lib/clamav has signatures on this host",
                       skip="the default database loads here (exit %s)" % r.rc)

        # 3. only the line the error named: a PDF is converted with the
        # build tree's filters (no [sandbox] filters line, no MUGAI_CONFIG)
        conf_one = os.path.join(work, "one-line.conf")
        with open(conf_one, "w") as f:
            f.write("[clamav]\ndatabase = %s\n" % db)
        pdf_eml = os.path.join(work, "pdf.eml")
        with open(pdf_eml, "wb") as f:
            f.write(message(b"<pdf-1@internet.test>", b"a pdf",
                            [(b"application/pdf", b"report.pdf", pdf_with_text("Hello newcomer"))]))
        r = mt.run([mugai, "sanitize", "--config", conf_one, pdf_eml], env=env_without_config(),
                   timeout=180)
        problems = []
        pdfs = []
        if r.rc == mt.EXIT_DELIVER:
            msg = email.message_from_bytes(r.stdout, policy=email.policy.default)
            status = str(msg.get("X-Mugai-Status", ""))
            if "converted=1" not in status:
                problems.append("X-Mugai-Status: " + status)
            pdfs = [p for p in msg.walk() if p.get_content_type() == "application/pdf"]
            if len(pdfs) != 1:
                problems.append("%d PDF parts" % len(pdfs))
            for p in pdfs:
                problems += judges.image_pdf_problems("the PDF", p.get_payload(decode=True))
        tap.result(r.rc == mt.EXIT_DELIVER and not problems,
                   "run from the build tree with only [clamav] database: the PDF becomes an "
                   "image-only PDF (exit 0), the build tree's filters found",
                   ["exit %s" % r.rc] + problems + r.stderr_tail())

        # 3a. --profile NAME: the same PDF removed under the main policy,
        # converted under a profile that says so
        conf_prof = os.path.join(work, "profile.conf")
        with open(conf_prof, "w") as f:
            f.write("[clamav]\ndatabase = %s\n[convert]\npdf = remove\n"
                    "[profile partner]\nconvert.pdf = image\n" % db)
        main_r = mt.run([mugai, "sanitize", "--config", conf_prof, pdf_eml], env=env_without_config(),
                        timeout=180)
        prof_r = mt.run([mugai, "sanitize", "--config", conf_prof, "--profile", "partner", pdf_eml],
                        env=env_without_config(), timeout=180)
        none_r = mt.run([mugai, "sanitize", "--config", conf_prof, "--profile", "nosuch", pdf_eml],
                        env=env_without_config(), timeout=60)

        def status_of(run):
            if run.rc != mt.EXIT_DELIVER:
                return "exit %s" % run.rc
            return str(email.message_from_bytes(run.stdout, policy=email.policy.default)
                       .get("X-Mugai-Status", ""))
        ms, ps = status_of(main_r), status_of(prof_r)
        tap.result("removed=1" in ms and "converted=1" in ps and none_r.rc != 0
                   and b"no [profile nosuch]; profiles: partner" in none_r.stderr,
                   "mugai sanitize --profile: the PDF removed under the main policy, converted "
                   "under [profile partner]; an unknown profile is refused naming the known ones",
                   ["main: " + ms, "profile: " + ps] + none_r.stderr_tail())

        # 3b. the same program copied out of its build tree (as an
        # installed one is) never takes the build tree's filters: it looks
        # in the installed libexecdir/mugai
        build = os.path.dirname(os.path.dirname(os.path.abspath(mugai)))
        with open(os.path.join(build, "mugai-build.h"), encoding="utf-8") as f:
            m = re.search(r'#define MUGAI_FILTERDIR "([^"]*)"', f.read())
        filterdir = m.group(1) if m else "?"
        copy = os.path.join(work, "mugai")
        shutil.copy2(mugai, copy)
        r = mt.run([copy, "sanitize", "--config", conf_one, pdf_eml], env=env_without_config(),
                   timeout=180)
        said = r.stderr.decode("utf-8", "replace")
        if r.rc == mt.EXIT_DELIVER:
            good = os.path.exists(os.path.join(filterdir, "mugai-filter-pdf"))
        else:
            good = (r.rc == mt.EXIT_TEMPFAIL and os.path.join(filterdir, "mugai-filter-pdf") in said
                    and os.path.realpath(build) not in said)
        tap.result(good, "a copy outside the build tree uses the installed filters (%s), not the "
                   "build tree's" % filterdir, ["exit %s" % r.rc] + r.stderr_tail())

        # 4. libclamav warns about a message/partial: one mugai line with the
        # message's ids, no "LibClamAV Warning" line
        partial = os.path.join(work, "partial.eml")
        with open(partial, "wb") as f:
            f.write(b"From: split@example.jp\nTo: user@lgwan.test\nSubject: partial 1/2\n"
                    b"Message-ID: <partial-1@example.jp>\nMIME-Version: 1.0\n"
                    b"Content-Type: message/partial; id=\"p-0001@example.jp\"; number=1; total=2\n\n"
                    b"Message-ID: <whole-1@example.jp>\nContent-Type: text/plain\n\nhalf of it\n")
        r = mt.run([mugai, "sanitize", "--config", conf_one, partial], env=env_without_config())
        lines = stderr_lines(r)
        clam = [l for l in lines if " clamav=" in l]
        tap.result(any(l.startswith("mugai: qid=- msgid=<partial-1@example.jp> source=")
                       and "clamav=warning" in l and "Partial message received" in l for l in clam)
                   and not foreign_lines(lines),
                   "libclamav's warning on a message/partial is a mugai line with qid= and "
                   "msgid=, at its level, and no raw LibClamAV line",
                   foreign_lines(lines)[:4] + lines[-4:])

        # 5. a refused message whose Message-ID and file name are hostile:
        # one line, printable ASCII, the pairs not forgeable
        hostile_id = (b"<evil\x1b[2J\"q\" \\ \xe4\xbb\xb6\xff verdict=clean msgid=<x@y>@internet.test>")
        virus = os.path.join(work, "virus.eml")
        with open(virus, "wb") as f:
            f.write(message(hostile_id, b"virus", [(b"application/octet-stream", b"eicar.com",
                                                    EICAR)]))
        r = mt.run([mugai, "sanitize", "--config", conf_one, virus], env=env_without_config())
        lines = stderr_lines(r)
        refused = [l for l in lines if "verdict=reject" in l]
        good = (r.rc == mt.EXIT_REJECT and len(refused) == 1 and not foreign_lines(lines)
                and LINE.match(refused[0]) is not None)
        if good:
            l = refused[0]
            # the hostile id is one quoted value: the fake pairs sit inside it
            m = re.match(r'^mugai: qid=- msgid="(<[^"\\]*(?:\\.[^"\\]*)*>)" source=', l)
            rest = l[m.end():] if m else ""
            good = (m is not None and "\x1b" not in l and "<U+001B>" in m.group(1)
                    and rest.count(" verdict=") == 1 and "verdict=clean" not in rest
                    and "reason=virus" in rest)
        tap.result(good, "a refused message with a hostile Message-ID: one printable line, "
                   "qid=- msgid=\"<...>\" with the id escaped and quoted, its fake pairs inside it",
                   ["exit %s" % r.rc] + [mt.short(l) for l in lines[-4:]])

        # 6. the escaper's reading back: the id as GMime gave it, made safe
        tap.result(good and "\\\"q\\\"" in refused[0] and "\\\\" in refused[0]
                   and "\\344\\273\\266" in refused[0],
                   "in that line quotes and backslashes are backslashed, non-ASCII is \\ooo",
                   [mt.short(l) for l in refused])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
