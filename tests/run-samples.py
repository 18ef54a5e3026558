#!/usr/bin/env python3
"""Whole-program test: mugai over the sample mailboxes in testdata/.

    python3 tests/run-samples.py MUGAI_BIN

Every message of testdata/mbox/*.mbox and testdata/maildir/{cur,new} is
given to `MUGAI_BIN sanitize --report R FILE` one at a time, and judged by
Python's email package against testdata/expected.json (written by
tools/gen-testdata.py from the strings it encoded, never from mugai's
output).  Three TAP tests per message:

  <id>: run         exit status 0/3/75, the JSON report's schema, and the
                    report agreeing with the exit status and the output
  <id>: well-formed the checks in mugaitest.check_message() (skipped when
                    the message was rejected or tempfailed)
  <id>: expected    decoded subject, From name, body text, absent text,
                    notice names, verdict, removed count, body charset, ...

Then each mailbox once through --mbox (and the Maildir through --maildir):
counts of outputs and report lines, well-formedness of every output, and the
verdicts agreeing with the single-message runs.

Environment: MUGAI_SRCDIR (the source tree; default: this file's parent's
parent), MUGAI_CONFIG (default /nonexistent: built-in defaults),
MUGAI_TEST_JOBS (parallel runs, default 2).
"""

import concurrent.futures
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mugaitest as mt  # noqa: E402
import judges  # noqa: E402

TIMEOUT = 60
MAILBOX_TIMEOUT = 600


class Sample:
    def __init__(self, key, source, data, path=None):
        self.key = key          # X-Test-Id, or "<mailbox>#<n>" when there is none
        self.source = source    # where it came from, for diagnostics
        self.data = data
        self.path = path        # a file holding exactly this message, if any
        self.run = None
        self.report = None
        self.report_problem = None


def load_samples(testdata):
    samples = []
    mbox_dir = os.path.join(testdata, "mbox")
    for name in sorted(os.listdir(mbox_dir)):
        if not name.endswith(".mbox"):
            continue
        rel = "mbox/" + name
        with open(os.path.join(mbox_dir, name), "rb") as f:
            messages = mt.read_mbox(f.read())
        for n, data in enumerate(messages, 1):
            samples.append(Sample(mt.test_id(data) or "%s#%d" % (rel, n), "%s message %d" % (rel, n), data))
    maildir = os.path.join(testdata, "maildir")
    for sub, name in mt.maildir_files(maildir):
        path = os.path.join(maildir, sub, name)
        with open(path, "rb") as f:
            data = f.read()
        samples.append(Sample(mt.test_id(data) or "maildir/%s/%s" % (sub, name), "maildir/%s/%s" % (sub, name),
                              data, path))
    return samples


def run_one(mugai, index, sample, tmp):
    if sample.path is None:
        sample.path = os.path.join(tmp, "msg-%d.eml" % index)
        with open(sample.path, "wb") as f:
            f.write(sample.data)
    report = os.path.join(tmp, "report-%d.json" % index)
    sample.run = mt.run([mugai, "sanitize", "--report", report, sample.path], timeout=TIMEOUT)
    if not sample.run.timed_out and not sample.run.signal:
        sample.report, sample.report_problem = mt.load_report(report)
    sample.checked = mt.check_message(sample.run.stdout, sample.data) if sample.run.rc == mt.EXIT_DELIVER else None
    return sample


def verdict_of(sample):
    if sample.report and sample.report.get("verdict") in mt.VERDICTS:
        return sample.report["verdict"]
    return {0: "delivered", 3: "reject", 75: "tempfail"}.get(sample.run.rc)


# --------------------------------------------------------------------------
# Test 1: exit status and report


def test_run(sample):
    r, d = sample.run, []
    if r.timed_out or r.signal:
        return False, [r.describe()] + r.stderr_tail()
    if r.rc not in mt.EXIT_VERDICTS:
        return False, ["unexpected exit %d (expected 0, 3 or 75)" % r.rc] + r.stderr_tail()
    if sample.report_problem:
        d.append(sample.report_problem)
    elif sample.report is not None:
        d += mt.check_report(sample.report, r.rc)
    if r.rc == mt.EXIT_DELIVER:
        if not r.stdout:
            d.append("exit 0 but nothing written to stdout")
        elif sample.checked and sample.checked.status and sample.report and \
                sample.checked.status != sample.report.get("status"):
            d.append("X-Mugai-Status %s differs from the report status %s"
                     % (mt.short(sample.checked.status), mt.short(sample.report.get("status"))))
    elif r.stdout:
        d.append("exit %d but %d octets written to stdout (a refused message must not be output)"
                 % (r.rc, len(r.stdout)))
    if d:
        d += r.stderr_tail()
    return not d, d


# --------------------------------------------------------------------------
# Test 2: well-formed


def test_wellformed(sample):
    r = sample.run
    if r.timed_out or r.signal or r.rc not in mt.EXIT_VERDICTS:
        return False, ["no output to check (%s)" % r.describe()], None
    if r.rc != mt.EXIT_DELIVER:
        return True, [], "not delivered (%s)" % verdict_of(sample)
    c = sample.checked
    notice = mt.check_notice(c) if c.msg is not None else None
    if notice:
        c.fail("notice", notice)
    return not c.failures, c.lines(), None


# --------------------------------------------------------------------------
# Test 3: expectations


def test_expected(sample, exp):
    if exp is None:
        return False, ["no entry for %r in testdata/expected.json (run tools/gen-testdata.py)" % sample.key]
    r = sample.run
    if r.timed_out or r.signal or r.rc not in mt.EXIT_VERDICTS:
        return False, ["mugai did not finish (%s)" % r.describe()]
    rep = sample.report if isinstance(sample.report, dict) else None
    d = judges.expected_problems(exp, verdict_of(sample), rep, sample.checked, r.stdout)
    return not [x for x in d if not x.startswith("note: ")], d


# --------------------------------------------------------------------------
# Mailbox modes


def run_mailbox(mugai, mode, source, tmp, tag):
    out = os.path.join(tmp, "out-" + tag)
    report = os.path.join(tmp, "report-%s.jsonl" % tag)
    argv = [mugai, "sanitize", "--" + mode, source, "--out", out, "--report", report]
    run = mt.run(argv, timeout=MAILBOX_TIMEOUT)
    return run, out, report


def mailbox_run_problems(mode, run, report, n_inputs):
    """(report lines or None, problems) of one --mbox/--maildir run: exit
    0, one valid report line a message."""
    d = []
    if run.timed_out or run.signal or run.rc != 0:
        d.append("--%s: %s (expected exit 0)" % (mode, run.describe()))
        d += run.stderr_tail()
    reports, problems = mt.load_report_lines(report)
    d += problems
    if reports is not None:
        if len(reports) != n_inputs:
            d.append("%d report lines for %d input messages" % (len(reports), n_inputs))
        for n, rep in enumerate(reports, 1):
            if rep is not None:
                d += ["report line %d: %s" % (n, p) for p in mt.check_report(rep)]
    return reports, d


def mailbox_tests(tap, mugai, tmp, testdata, samples):
    by_key = {}
    for s in samples:
        by_key.setdefault(s.source, s)
    for name in sorted(os.listdir(os.path.join(testdata, "mbox"))):
        if not name.endswith(".mbox"):
            continue
        rel = "mbox/" + name
        inputs = [s for s in samples if s.source.startswith(rel + " ")]
        run, out, report = run_mailbox(mugai, "mbox", os.path.join(testdata, rel), tmp, name)
        reports, d = mailbox_run_problems("mbox", run, report, len(inputs))
        outputs = []
        if os.path.exists(out):
            with open(out, "rb") as f:
                outputs = mt.read_mbox(f.read())
        elif not run.timed_out and not run.signal:
            d.append("--out %s was not written" % out)
        if reports is not None and len(reports) == len(inputs):
            delivered = []
            for s, rep in zip(inputs, reports):
                v = rep.get("verdict") if isinstance(rep, dict) else None
                if v in mt.DELIVERED:
                    delivered.append(s)
                single = verdict_of(s)
                if v != single:
                    d.append("%s: verdict %s in --mbox mode, %s alone" % (s.key, v, single))
            if len(outputs) != len(delivered):
                d.append("%d messages in the output mbox, %d delivered" % (len(outputs), len(delivered)))
            else:
                for s, o in zip(delivered, outputs):
                    got = mt.test_id(o)
                    want = mt.test_id(s.data)
                    if got != want:
                        d.append("output message order: X-Test-Id %s where %s was expected" % (got, want))
                        break
        tap.result(not d, "--mbox %s: counts, order, report lines" % rel, d)

        d = [] if os.path.exists(out) else ["no output mbox to check"]
        for n, o in enumerate(outputs, 1):
            c = mt.check_message(o)
            d += ["message %d (%s): %s" % (n, mt.test_id(o), line) for line in
                  ["%s: %s" % f for f in c.failures[:5]]]
        tap.result(not d, "--mbox %s: %d output messages well-formed" % (rel, len(outputs)), d[:60])

    # Maildir
    source = os.path.join(testdata, "maildir")
    files = mt.maildir_files(source)
    run, out, report = run_mailbox(mugai, "maildir", source, tmp, "maildir")
    reports, d = mailbox_run_problems("maildir", run, report, len(files))
    for sub in ("cur", "new", "tmp"):
        if not os.path.isdir(os.path.join(out, sub)):
            d.append("output Maildir lacks %s/" % sub)
    out_files = mt.maildir_files(out)
    want = sorted(name.split(":")[0] for sub, name in files
                  if verdict_of(by_key["maildir/%s/%s" % (sub, name)]) in mt.DELIVERED)
    got = sorted(name.split(":")[0] for sub, name in out_files)
    if got != want:
        d.append("output Maildir holds %s; delivered in single runs: %s" % (got, want))
    if reports is not None:
        n_delivered = sum(1 for r in reports if isinstance(r, dict) and r.get("verdict") in mt.DELIVERED)
        if n_delivered != len(out_files):
            d.append("%d delivered in the report, %d files in the output Maildir" % (n_delivered, len(out_files)))
    tap.result(not d, "--maildir: counts, file names, report lines", d)

    d = [] if os.path.isdir(out) else ["no output Maildir to check"]
    for sub, name in out_files:
        with open(os.path.join(out, sub, name), "rb") as f:
            data = f.read()
        c = mt.check_message(data)
        d += ["%s/%s: %s: %s" % (sub, name, code, text) for code, text in c.failures[:5]]
        base = name.split(":")[0]
        src = [s for s in samples if s.source.startswith("maildir/") and s.source.split("/")[-1].split(":")[0] == base]
        if src and mt.test_id(src[0].data) != mt.test_id(data):
            d.append("%s/%s: X-Test-Id %s, the input file of that name has %s"
                     % (sub, name, mt.test_id(data), mt.test_id(src[0].data)))
    tap.result(not d, "--maildir: %d output messages well-formed" % len(out_files), d[:60])


# --------------------------------------------------------------------------


def main(argv):
    mugai = mt.mugai_argument(argv)
    if mugai is None:
        return 64
    srcdir = os.environ.get("MUGAI_SRCDIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    testdata = os.path.join(srcdir, "testdata")
    with open(os.path.join(testdata, "expected.json"), "rb") as f:
        expected = json.load(f)["messages"]
    samples = load_samples(testdata)
    keys = {s.key for s in samples}
    orphans = sorted(k for k in expected if k not in keys)

    n_mbox = sum(1 for n in os.listdir(os.path.join(testdata, "mbox")) if n.endswith(".mbox"))
    tap = mt.Tap()
    tap.plan(3 * len(samples) + 1 + 2 * n_mbox + 2)
    tap.result(not orphans, "testdata: every expectation has a sample",
               ["expected.json names %s, not found in testdata" % k for k in orphans])

    tmp = tempfile.mkdtemp(prefix="mugai-samples-")
    try:
        jobs = int(os.environ.get("MUGAI_TEST_JOBS", "2"))
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for s in pool.map(lambda i: run_one(mugai, i, samples[i], tmp), range(len(samples))):
                name = "%s (%s)" % (s.key, s.source) if s.key != s.source else s.key
                ok, d = test_run(s)
                tap.result(ok, "%s: run, %s" % (name, verdict_of(s) or s.run.describe()), d)
                ok, d, skip = test_wellformed(s)
                tap.result(ok, "%s: well-formed" % s.key, d, skip=skip)
                ok, d = test_expected(s, expected.get(s.key))
                tap.result(ok, "%s: expected" % s.key, d)
        mailbox_tests(tap, mugai, tmp, testdata, samples)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("# %d of %d tests failed" % (tap.failed, tap.count))
    # The TAP lines carry the verdict; meson takes a non-zero exit status
    # of a TAP test as a harness error ("ERROR") rather than a failure.
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
