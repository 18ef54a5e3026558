#!/usr/bin/env python3
"""Counts test cases in meson build trees, in a way that cannot lie.

usage: count-tests.py [--build-failed DIR]... DIR...

For each build tree DIR, the tests meson knows of (its
meson-info/intro-tests.json) are compared with what
DIR/meson-logs/testlog.json says ran:

- TAP tests (every g_test program and the whole-program scripts) count
  one per "ok"/"not ok" line;
- a test that is registered but absent from the log (a run cut short),
  a test program that crashed or timed out before its results, a TAP
  stream that stops before its plan is complete, or a result past the
  plan, counts as failed;
- "# TODO" counts as failed whether the case passed or not: a known
  failure is still a failure, and an unexpected pass is a test nobody
  looked at;
- "# SKIP" on one case counts as skipped; a test that skips as a whole
  (a "1..0 # SKIP" plan, meson's SKIP result) counts as skipped, except
  under CI=true, where the machine is meant to have everything (the
  shared corpus, root, Postfix, every tool) and a whole suite that did
  not run is a failure;
- a build tree named by --build-failed counts as one failure.

Prints the suites with skips on one line, then the closing line
"N passed, N failed, N skipped", and exits 1 when anything failed.
"""
import json
import os
import re
import sys

PLAN = re.compile(r"^1\.\.(\d+)\b(.*)$")
RESULT = re.compile(r"^(not ok|ok)\b\s*(\d+)?")
DIRECTIVE = re.compile(r"#\s*(SKIP|TODO)\b", re.I)


def registered_tests(build_dir):
    """Names meson would run in build_dir, as testlog.json writes them
    (None if the tree holds no test list)."""
    try:
        tests = json.load(open(os.path.join(build_dir, "meson-info", "intro-tests.json"),
                               encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {"%s / %s" % (t["suite"][0], t["name"]) if t.get("suite") else t["name"]
            for t in tests}


def count_tap(stdout):
    """(passed, failed, skipped, whole_skip, problems) of one TAP stream."""
    passed = failed = skipped = 0
    plan = None
    whole_skip = None
    problems = []
    seen = 0
    for line in stdout.splitlines():
        m = PLAN.match(line)
        if m and plan is None:
            plan = int(m.group(1))
            if plan == 0:
                d = DIRECTIVE.search(m.group(2))
                whole_skip = (m.group(2).split("SKIP", 1)[-1].strip()
                              if d and d.group(1).upper() == "SKIP" else "empty plan")
            continue
        m = RESULT.match(line)
        if not m:
            if line.startswith("Bail out!"):
                problems.append(line.strip())
                failed += 1
            continue
        seen += 1
        d = DIRECTIVE.search(line)
        directive = d.group(1).upper() if d else None
        if directive == "TODO":
            failed += 1
            problems.append("TODO counted as a failure: " + line.strip()[:200])
        elif m.group(1) == "not ok":
            failed += 1
        elif directive == "SKIP":
            skipped += 1
        else:
            passed += 1
    if plan is None and seen:
        problems.append("no TAP plan")
        failed += 1
    elif plan is not None and seen < plan:
        problems.append("%d of %d planned results missing (run cut short)" % (plan - seen, plan))
        failed += plan - seen
    elif plan is not None and seen > plan:
        problems.append("%d results past the plan of %d" % (seen - plan, plan))
        failed += 1
    return passed, failed, skipped, whole_skip, problems


def main(argv):
    ci = os.environ.get("CI", "").lower() in ("true", "1", "yes")
    dirs, broken = [], []
    i = 0
    while i < len(argv):
        if argv[i] == "--build-failed" and i + 1 < len(argv):
            broken.append(argv[i + 1])
            i += 2
            continue
        dirs.append(argv[i])
        i += 1

    passed = failed = skipped = 0
    skipped_suites = []
    for d in broken:
        print("%s: the build failed, no test ran" % d, file=sys.stderr)
        failed += 1
    for d in dirs:
        path = os.path.join(d, "meson-logs", "testlog.json")
        try:
            lines = [l for l in open(path, encoding="utf-8").read().splitlines() if l.strip()]
        except OSError as e:
            print("%s: no test log: %s" % (d, e), file=sys.stderr)
            failed += 1
            continue
        if not lines:
            # an empty log means the run did not happen (or was cut short):
            # never report that as a pass
            print("%s: empty test log: no test ran" % path, file=sys.stderr)
            failed += 1
            continue
        ran = set()
        for line in lines:
            t = json.loads(line)
            name = t.get("name", "?")
            ran.add(name)
            short = "%s/%s" % (os.path.basename(os.path.normpath(d)), name.split(" / ")[-1])
            result = t.get("result")
            ok, notok, skip, whole, problems = count_tap(t.get("stdout") or "")
            for p in problems:
                print("%s: %s" % (short, p), file=sys.stderr)
            if result in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS", "EXPECTEDFAIL") and notok == 0:
                notok = 1
                print("%s: %s" % (short, result), file=sys.stderr)
            if result == "SKIP" and ok + notok + skip == 0:
                whole = whole or "skipped by its program (exit 77)"
            if whole is not None:
                if ci:
                    print("%s: the whole suite skipped under CI (%s): counted as a failure"
                          % (short, whole), file=sys.stderr)
                    notok += 1
                else:
                    skip += 1
            if skip:
                skipped_suites.append("%s (%d)" % (short, skip))
            passed += ok
            failed += notok
            skipped += skip
        expected = registered_tests(d)
        if expected is None:
            print("%s: meson cannot list the tests: counted as a failure" % d, file=sys.stderr)
            failed += 1
        else:
            for name in sorted(expected - ran):
                print("%s: %s registered but did not run" % (d, name), file=sys.stderr)
                failed += 1
    if skipped_suites:
        print("skipped in: " + ", ".join(skipped_suites))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
