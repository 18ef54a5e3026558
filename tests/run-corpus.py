#!/usr/bin/env python3
"""Whole-program test: mugai over the shared public corpus of real messages.

    python3 tests/run-corpus.py MUGAI_BIN

The corpus lives next to the source tree, MUGAI_SRCDIR/../shared/corpus/public
(or wherever MUGAI_CORPUS points when that is absent); without it the test is
skipped.  MANIFEST.tsv (local_path, source_repo, path_in_repo, commit,
license, note) tells what each file is: a note that starts with "[kind]"
marks a file that is not a message ([expected-output], [tnef-blob], ...),
skipped and not counted, except [mbox], which goes through --mbox mode.
Files on disk missing from the manifest are treated as messages.

Each message: `MUGAI_BIN sanitize --report R FILE`, 60 s deadline.
  - a deadline passed is a failure "hang", a signal exit a failure "crash";
  - the exit status must be 0, 3 or 75 ("exit" otherwise);
  - for 3 and 75 the report must exist and name a reason ("report");
  - for 0 the output must pass mugaitest.check_message() ("wellformed"),
    the report must be valid ("report"), and neither the Subject nor any
    text part may be garbled: U+FFFD, or ISO-2022-JP with its escape bytes
    dropped ("garbled", mugaitest.check_garbled(); U+FFFD that the original
    itself carries as UTF-8 octets may come out, as many as it has).
A Subject that Python reads cleanly in the original and that comes out
different is counted ("subject changed", a warning, summed at the end).
One TAP line per corpus file, in manifest order, although files run two at
a time.  A last "# " line sums it up: files, messages delivered / rejected /
tempfailed, failures by kind and the most frequent well-formedness problems.
"""

import collections
import concurrent.futures
import csv
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mugaitest as mt  # noqa: E402

TIMEOUT = 60
MBOX_TIMEOUT = 300
WORKERS = 2
KIND = re.compile(r"^\s*\[([A-Za-z0-9_-]+)\]")


def find_corpus():
    srcdir = os.environ.get("MUGAI_SRCDIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for candidate in (os.path.join(srcdir, "..", "shared", "corpus", "public"), os.environ.get("MUGAI_CORPUS")):
        if candidate and os.path.isfile(os.path.join(candidate, "MANIFEST.tsv")):
            return os.path.normpath(candidate)
    return None


def load_manifest(corpus):
    """Returns [(local_path, kind or None)] for the files to run, sorted, and
    the number of files skipped as not being messages."""
    entries, listed, skipped = {}, set(), 0
    with open(os.path.join(corpus, "MANIFEST.tsv"), encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            path = row.get("local_path")
            if not path:
                continue
            listed.add(path)
            m = KIND.match(row.get("note") or "")
            kind = m.group(1).lower() if m else None
            if kind and kind != "mbox":
                skipped += 1
                continue
            if os.path.isfile(os.path.join(corpus, path)):
                entries[path] = kind
    for root, _dirs, files in os.walk(corpus):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), corpus)
            if rel in listed or rel in ("MANIFEST.tsv", "README.md"):
                continue
            entries[rel] = None
    return sorted(entries.items()), skipped


class Outcome:
    def __init__(self, path):
        self.path = path
        self.failures = []          # (kind, text)
        self.warnings = []
        self.verdicts = collections.Counter()
        self.summary = ""
        self.wf_codes = collections.Counter()
        self.subject_changed = 0

    def fail(self, kind, text):
        self.failures.append((kind, text))


def judge_delivered(o, data, report, rc, original):
    c = mt.check_message(data, original)
    for code, text in c.failures:
        o.fail("wellformed", "%s: %s" % (code, text))
        o.wf_codes[code] += 1
    for code, text in c.warnings:
        o.warnings.append("%s: %s" % (code, text))
    if c.msg is not None:
        notice = mt.check_notice(c)
        if notice:
            o.warnings.append("notice: " + notice)
        for problem in mt.check_garbled(c, original):
            o.fail("garbled", problem)
        if mt.subject_changed(c, original):
            o.subject_changed += 1
            o.warnings.append("subject changed: %s -> %s" % (
                mt.short(mt.original_subject(original), 80), mt.short(mt.header_str(c.msg, "Subject")[0], 80)))
    if report is not None:
        for problem in mt.check_report(report, rc):
            o.fail("report", problem)
        if c.status and report.get("status") != c.status:
            o.fail("report", "X-Mugai-Status %s, report status %s" % (mt.short(c.status), mt.short(report.get("status"))))
    return c


def ended_badly(o, r):
    """A hang or a crash of the run r recorded in o (the end of stderr
    with it): True when it was one."""
    what = "hang" if r.timed_out else "crash" if r.signal else None
    if what is None:
        return False
    o.fail(what, r.describe())
    o.warnings += r.stderr_tail()
    o.summary = what
    return True


def run_message(mugai, corpus, path, tmp, index):
    o = Outcome(path)
    report_path = os.path.join(tmp, "report-%d.json" % index)
    r = mt.run([mugai, "sanitize", "--report", report_path, os.path.join(corpus, path)], timeout=TIMEOUT)
    if ended_badly(o, r):
        return o
    if r.rc not in mt.EXIT_VERDICTS:
        o.fail("exit", "exit %d (expected 0, 3 or 75)" % r.rc)
        o.warnings += r.stderr_tail()
        o.summary = "exit %d" % r.rc
        return o
    report, problem = mt.load_report(report_path)
    if problem:
        o.fail("report", problem)
    verdict = report.get("verdict") if isinstance(report, dict) else None
    if r.rc == mt.EXIT_DELIVER:
        o.verdicts["delivered"] += 1
        with open(os.path.join(corpus, path), "rb") as f:
            original = f.read()
        judge_delivered(o, r.stdout, report if isinstance(report, dict) else None, r.rc, original)
        o.summary = (report or {}).get("status") or verdict or "delivered"
    else:
        o.verdicts["rejected" if r.rc == mt.EXIT_REJECT else "tempfailed"] += 1
        if isinstance(report, dict):
            for p in mt.check_report(report, r.rc):
                o.fail("report", p)
            reasons = [x for x in report.get("reasons") or [] if isinstance(x, dict)]
            o.summary = "%s: %s" % (verdict, ", ".join(sorted({str(x.get("category")) for x in reasons})))
        else:
            o.summary = "exit %d" % r.rc
        if r.stdout:
            o.fail("exit", "exit %d but %d octets on stdout" % (r.rc, len(r.stdout)))
    if o.failures:
        o.warnings += r.stderr_tail(4)
    return o


def run_mbox(mugai, corpus, path, tmp, index):
    o = Outcome(path)
    out = os.path.join(tmp, "out-%d.mbox" % index)
    report_path = os.path.join(tmp, "report-%d.jsonl" % index)
    r = mt.run([mugai, "sanitize", "--mbox", os.path.join(corpus, path), "--out", out, "--report", report_path],
               timeout=MBOX_TIMEOUT)
    if ended_badly(o, r):
        return o
    if r.rc not in (0, mt.EXIT_TEMPFAIL):
        o.fail("exit", "--mbox: exit %d (expected 0, or 75 when a message failed)" % r.rc)
        o.warnings += r.stderr_tail()
    reports, problems = mt.load_report_lines(report_path)
    for p in problems:
        o.fail("report", p)
    reports = [x for x in reports or [] if isinstance(x, dict)]
    for n, rep in enumerate(reports, 1):
        for p in mt.check_report(rep):
            o.fail("report", "line %d: %s" % (n, p))
        v = rep.get("verdict")
        o.verdicts[{"clean": "delivered", "sanitized": "delivered", "reject": "rejected",
                    "tempfail": "tempfailed"}.get(v, "unknown")] += 1
    if r.rc == mt.EXIT_TEMPFAIL and not any(x.get("verdict") == "tempfail" for x in reports):
        o.fail("report", "exit 75 but no report line says tempfail")
    outputs = []
    if os.path.exists(out):
        with open(out, "rb") as f:
            outputs = mt.read_mbox(f.read())
    if len(outputs) != o.verdicts["delivered"]:
        o.fail("report", "%d messages in the output mbox, %d delivered in the report"
               % (len(outputs), o.verdicts["delivered"]))
    # originals of the delivered messages, to tell kept header defects
    with open(os.path.join(corpus, path), "rb") as f:
        whole = f.read()
    inputs = mt.read_mbox(whole)
    delivered = [i for i, x in enumerate(reports) if x.get("verdict") in ("clean", "sanitized")]
    for n, data in enumerate(outputs, 1):
        idx = delivered[n - 1] if n - 1 < len(delivered) else None
        # where this splitter and mugai's disagree on message boundaries,
        # the whole mbox stands in as the original
        original = inputs[idx] if idx is not None and len(inputs) == len(reports) else whole
        c = mt.check_message(data, original)
        for code, text in c.failures:
            o.fail("wellformed", "output message %d: %s: %s" % (n, code, text))
            o.wf_codes[code] += 1
        for problem in mt.check_garbled(c, original):
            o.fail("garbled", "output message %d: %s" % (n, problem))
        if original is not whole and mt.subject_changed(c, original):
            o.subject_changed += 1
    o.summary = "mbox: %d messages, %d delivered" % (len(reports), o.verdicts["delivered"])
    return o


def main(argv):
    mugai = mt.mugai_argument(argv)
    if mugai is None:
        return 64
    corpus = find_corpus()
    if corpus is None:
        print("1..0 # SKIP shared corpus not present")
        return 0
    entries, skipped = load_manifest(corpus)
    tap = mt.Tap()
    tap.plan(len(entries))
    tmp = tempfile.mkdtemp(prefix="mugai-corpus-")
    totals = collections.Counter()
    fail_kinds = collections.Counter()
    wf_codes = collections.Counter()
    subjects_changed = 0
    try:
        def job(i):
            path, kind = entries[i]
            if kind == "mbox":
                return run_mbox(mugai, corpus, path, tmp, i)
            return run_message(mugai, corpus, path, tmp, i)

        with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for o in pool.map(job, range(len(entries))):
                totals.update(o.verdicts)
                for kind in {k for k, _ in o.failures}:
                    fail_kinds[kind] += 1
                wf_codes.update(o.wf_codes)
                subjects_changed += o.subject_changed
                diags = ["%s: %s" % f for f in o.failures[:20]]
                if len(o.failures) > 20:
                    diags.append("... and %d more" % (len(o.failures) - 20))
                diags += ["warning " + w for w in o.warnings[:6]]
                tap.result(not o.failures, "%s (%s)" % (o.path, o.summary), diags)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("# corpus %s: files=%d (not messages, skipped: %d) delivered=%d rejected=%d tempfailed=%d "
          "failed files=%d" % (corpus, len(entries), skipped, totals["delivered"], totals["rejected"],
                               totals["tempfailed"], tap.failed))
    print("# failures by kind: " + (", ".join("%s=%d" % kv for kv in sorted(fail_kinds.items())) or "none"))
    print("# subjects changed (Python reads the original's cleanly, the output's differs): %d"
          % subjects_changed)
    if wf_codes:
        print("# well-formedness problems (occurrences): "
              + ", ".join("%s=%d" % kv for kv in wf_codes.most_common(15)))
    # The TAP lines carry the verdict; meson takes a non-zero exit status
    # of a TAP test as a harness error ("ERROR") rather than a failure.
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
