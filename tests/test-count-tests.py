#!/usr/bin/env python3
"""tools/count-tests.py: the closing line of tools/test.sh cannot lie.

Fake build trees with a meson-logs/testlog.json each (and, in place of
`meson test --list`, the registered names the counter is given) are
counted; the printed closing line and the exit status are checked.
Prints TAP.
"""
import contextlib
import importlib.util
import io
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mugaitest import Tap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "count_tests", os.path.join(HERE, "..", "tools", "count-tests.py"))
count_tests = importlib.util.module_from_spec(spec)
spec.loader.exec_module(count_tests)


def tree(root, name, tests, registered=None):
    """A fake build tree: tests is [(name, result, stdout)]."""
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, "meson-logs"))
    with open(os.path.join(d, "meson-logs", "testlog.json"), "w") as f:
        for tname, result, stdout in tests:
            f.write(json.dumps({"name": tname, "result": result, "stdout": stdout}) + "\n")
    lists[d] = set(registered if registered is not None else [t[0] for t in tests])
    return d


lists = {}


def run(args, ci=False):
    old = os.environ.get("CI")
    if ci:
        os.environ["CI"] = "true"
    else:
        os.environ.pop("CI", None)
    out, err = io.StringIO(), io.StringIO()
    count_tests.registered_tests = lambda d: lists.get(d)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = count_tests.main(args)
    finally:
        if old is None:
            os.environ.pop("CI", None)
        else:
            os.environ["CI"] = old
    closing = out.getvalue().strip().splitlines()[-1]
    return rc, closing, out.getvalue(), err.getvalue()


def main():
    tap = Tap()
    cases = []
    root = tempfile.mkdtemp(prefix="mugai-count-")

    good = tree(root, "good", [("mugai:unit / a", "OK", "1..2\nok 1 x\nok 2 y\n"),
                               ("mugai:cli / b", "OK", "1..1\nok 1 - z # SKIP no tool\n")])
    cases.append(("a clean run is counted", [good], False, 0, "2 passed, 0 failed, 1 skipped"))

    todo = tree(root, "todo", [("mugai:unit / t", "OK",
                                "1..3\nok 1 a\nnot ok 2 b # TODO later\nok 3 c # TODO fixed?\n")])
    cases.append(("TODO counts as failed, passing or not", [todo], False, 1,
                  "1 passed, 2 failed, 0 skipped"))

    cut = tree(root, "cut", [("mugai:cli / c", "OK", "1..5\nok 1 a\nok 2 b\n")])
    cases.append(("a TAP stream cut short counts its missing results", [cut], False, 1,
                  "2 passed, 3 failed, 0 skipped"))

    crash = tree(root, "crash", [("mugai:unit / d", "FAIL", "# random seed\n")])
    cases.append(("a program that crashed before any result fails", [crash], False, 1,
                  "0 passed, 1 failed, 0 skipped"))

    missing = tree(root, "missing", [("mugai:unit / e", "OK", "1..1\nok 1 a\n")],
                   registered=["mugai:unit / e", "mugai:e2e / postfix"])
    cases.append(("a registered test that did not run fails", [missing], False, 1,
                  "1 passed, 1 failed, 0 skipped"))

    whole = tree(root, "whole", [("mugai:e2e / postfix", "OK", "1..0 # SKIP not root\n"),
                                 ("mugai:unit / f", "OK", "1..1\nok 1 a\n")])
    cases.append(("a whole suite skipped outside CI is a skip", [whole], False, 0,
                  "1 passed, 0 failed, 1 skipped"))
    cases.append(("a whole suite skipped under CI=true fails", [whole], True, 1,
                  "1 passed, 1 failed, 0 skipped"))

    exit77 = tree(root, "exit77", [("mugai:cli / corpus", "SKIP", "")])
    cases.append(("meson's SKIP (exit 77) under CI=true fails", [exit77], True, 1,
                  "0 passed, 1 failed, 0 skipped"))

    cases.append(("a build that failed counts as a failure", ["--build-failed", "nowhere", good],
                  False, 1, "2 passed, 1 failed, 1 skipped"))

    empty = os.path.join(root, "empty")
    os.makedirs(os.path.join(empty, "meson-logs"))
    open(os.path.join(empty, "meson-logs", "testlog.json"), "w").close()
    cases.append(("an empty test log fails", [empty], False, 1, "0 passed, 1 failed, 0 skipped"))

    cases.append(("no test log at all fails", [os.path.join(root, "absent")], False, 1,
                  "0 passed, 1 failed, 0 skipped"))

    tap.plan(len(cases) + 1)
    for name, args, ci, want_rc, want_line in cases:
        rc, closing, out, err = run(args, ci)
        ok = rc == want_rc and closing == want_line
        tap.result(ok, name, [] if ok else ["rc=%r closing=%r want rc=%r %r" % (rc, closing, want_rc,
                                                                                 want_line), err])
    rc, closing, out, err = run([whole], False)
    tap.result("skipped in: whole/postfix (1)" in out, "the suites with skips are named",
               [out])
    return 0


if __name__ == "__main__":
    sys.exit(main())
