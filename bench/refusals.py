#!/usr/bin/env python3
"""How long the refusals and kills take that the tests check by what
happened (issue 12: no wall-clock assertion in a test).

    python3 bench/refusals.py BUILD_DIR

filter-office  a billion-laughs docx (refused at its document type) and a
               200 MB zip bomb (stopped by --max-entry): seconds, best of 3,
               the filter run directly as tests/filter-office.py runs it.
sandbox        tests/test-sandbox's own figures: the 1 s CPU limit, the
               500 ms timer, a grandchild holding the pipes, a slot wait of
               200 ms (the lines it prints with g_test_message).
textpayload    tests/test-textpayload /textpayload/large-text: 10 MB of
               prose scanned twice, wall clock, best of 3.

The end-to-end poison scenario prints its own figures ("poison: hang
answered after ...") in `meson test -C build-test postfix` or
`tests/e2e/run-e2e.py ... --only poison`.
"""

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, "..", "tests")


def best(n, fn):
    out = []
    for _ in range(n):
        t = time.monotonic()
        fn()
        out.append(time.monotonic() - t)
    return min(out)


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[3].strip(), file=sys.stderr)
        return 64
    build = os.path.abspath(sys.argv[1])
    spec = importlib.util.spec_from_file_location("filter_office", os.path.join(TESTS, "filter-office.py"))
    fo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fo)
    office = os.path.join(build, "filters", "mugai-filter-office")
    with tempfile.TemporaryDirectory() as tmp:
        laughs = fo.docx(os.path.join(tmp, "laughs.docx"), document=fo.LAUGHS)
        bomb = fo.bomb(os.path.join(tmp, "bomb.docx"))
        for name, path in (("billion laughs", laughs), ("zip bomb 200 MB", bomb)):
            with open(path, "rb") as f:
                data = f.read()
            s = best(3, lambda: subprocess.run([office], input=data, capture_output=True))
            print("filter-office  %-22s %.3f s" % (name, s))

    probe = os.path.join(build, "tests", "sandbox-probe")
    for path in ("/sandbox/limits/cpu", "/sandbox/limits/timeout", "/sandbox/isolation/grandchild",
                 "/sandbox/slots"):
        p = subprocess.run([os.path.join(build, "tests", "test-sandbox"), "--tap", "--probe=" + probe,
                            "-p", path], capture_output=True, text=True)
        for line in p.stdout.splitlines():
            if re.search(r"after [0-9.]+ s", line):
                print("sandbox        %-22s %s" % (path.rsplit("/", 1)[1], line.lstrip("# ")))

    tp = os.path.join(build, "tests", "test-textpayload")
    s = best(3, lambda: subprocess.run([tp, "--tap", "-p", "/textpayload/large-text"],
                                       capture_output=True, check=True))
    print("textpayload    %-22s %.3f s" % ("10 MB of prose, twice", s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
