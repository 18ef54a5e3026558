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
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mugaitest as mt  # noqa: E402
import threatmail  # noqa: E402
from judges import attachment_report, bound_problems, delivered_problems, stale_pipes  # noqa: E402


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
