#!/usr/bin/env python3
"""Whole-program test: mail from phones, old mailers and other countries.

    python3 tests/run-intl.py MUGAI_BIN

Every message of tests/intlmail.py (carrier emoji in ISO-2022-JP, Chinese,
Korean, Russian, Central and Western European mail with declared, missing
and wrong labels, raw 8-bit and encoded headers, the charset labels clients
write, NUL and controls in header fields, file names in Latin, Cyrillic,
Japanese and raw GB2312, the wave-dash family) goes through
`MUGAI_BIN sanitize`, and the output is judged by Python's email package:

  <name>: run        exit 0, output well-formed (mugaitest.check_message)
  <name>: text       Subject and main body equal what intlmail says a reader
                     sees (from its own Unicode strings and the carriers'
                     published tables), no U+FFFD, no ISO-2022-JP with its
                     escapes dropped (mugaitest.check_garbled), at most
                     max_geta U+3013
  <name>: header     (where given) the top header block holds exactly the
                     fields written, in order; file names decoded as
                     written and sent as RFC 2231 UTF-8
"""

import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import intlmail  # noqa: E402
import mugaitest as mt  # noqa: E402

SKIP_FIELDS = ("content-type", "content-transfer-encoding", "content-disposition", "x-mugai-status")


def squash(text):
    return re.sub(r"\s+", " ", text or "").strip()


def judge_text(case, c):
    d = []
    exp = case.expect
    subject, problem = mt.header_str(c.msg, "Subject")
    if problem:
        d.append(problem)
    fold = squash if exp.get("exact_wave") else (lambda t: squash(mt.fold(t or "")))
    if "subject" in exp and fold(subject) != fold(exp["subject"]):
        d.append("Subject %s, expected %s" % (mt.short(subject), mt.short(exp["subject"])))
    body = c.main_body or ""
    for want in exp.get("body", []):
        if fold(want) not in fold(body):
            d.append("main body lacks %s; starts %s" % (mt.short(want), mt.short(body[:160])))
    d += mt.check_garbled(c, case.data)
    geta = (subject or "").count(intlmail.GETA) + body.count(intlmail.GETA)
    if geta > exp.get("max_geta", 0):
        d.append("%d U+3013, at most %d expected (codes no table maps)" % (geta, exp.get("max_geta", 0)))
    return d


def judge_header(case, c, data):
    d = []
    exp = case.expect
    if "fields" in exp:
        head = data.split(b"\n\n", 1)[0].replace(b"\r\n", b"\n")
        names = [m.group(1).decode("ascii", "replace") for m in re.finditer(rb"^([!-9;-~]+):", head, re.M)]
        got = [n for n in names if n.lower() not in SKIP_FIELDS]
        if got != exp["fields"]:
            d.append("header fields %s, expected %s" % (got, exp["fields"]))
        if b"\x00" in head:
            d.append("NUL in the header block")
    if "filenames" in exp:
        found = []
        for _path, part, _parent in mt._walk(c.msg):
            fn = mt._filename_param(part, "content-disposition", "filename")
            if fn:
                found.append(fn)
        for want in exp["filenames"]:
            if want not in found:
                d.append("no part with file name %s (found: %s)" % (mt.short(want), ", ".join(map(mt.short, found))))
    if exp.get("utf8_params"):
        for m in re.finditer(rb"\b(?:file)?name\*(?:0\*)?=([^']*)'", data):
            if m.group(1).lower() != b"utf-8":
                d.append("parameter in charset %s, not RFC 2231 UTF-8" % m.group(1).decode("ascii", "replace"))
    return d


def main(argv):
    mugai = mt.mugai_argument(argv)
    if mugai is None:
        return 64
    cases = intlmail.cases()
    tap = mt.Tap()
    plan = sum(2 + (1 if ("fields" in c.expect or "filenames" in c.expect) else 0) for c in cases)
    tap.plan(plan)
    with tempfile.TemporaryDirectory(prefix="mugai-intl-") as tmp:
        for case in cases:
            path = os.path.join(tmp, case.name + ".eml")
            with open(path, "wb") as f:
                f.write(case.data)
            r = mt.run([mugai, "sanitize", path], timeout=60)
            c = mt.check_message(r.stdout, case.data) if r.rc == mt.EXIT_DELIVER else None
            diags = [] if r.rc == mt.EXIT_DELIVER else [r.describe()] + r.stderr_tail()
            if c is not None:
                diags += ["%s: %s" % f for f in c.failures]
            tap.result(not diags, "%s: run" % case.name, diags)
            has_header = "fields" in case.expect or "filenames" in case.expect
            if c is None or c.msg is None:
                tap.result(False, "%s: text" % case.name, ["not delivered"])
                if has_header:
                    tap.result(False, "%s: header" % case.name, ["not delivered"])
                continue
            tap.result(True, "%s: text" % case.name, []) if not (d := judge_text(case, c)) else \
                tap.result(False, "%s: text" % case.name, d)
            if has_header:
                d = judge_header(case, c, r.stdout)
                tap.result(not d, "%s: header" % case.name, d)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
