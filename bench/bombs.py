#!/usr/bin/env python3
"""Benchmark: the bombs of tests/threatmail.py through `mugai sanitize`.

    python3 bench/bombs.py [BUILD_DIR]      (default: build)

For each bomb (300,000 empty parts, 60,000 unused alternatives, one HTML
element with 80,000 attributes, 100,000 header fields): the exit status,
the time to answer against a quarter of [milter] message_timeout (120 s
by default: 30 s), the peak memory (/usr/bin/time's maximum resident set)
against twice the message plus 64 MB, and the size of the JSON report
against 1 MiB.  Writes one line per bomb; bench/RESULTS.md records them.
Not a test: nothing is asserted.  Uses the build's test configuration
(the test ClamAV signature set), as bench/run.sh does, or $MUGAI_CONFIG
(to measure an older build without one of its own).
"""

import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
import threatmail  # noqa: E402

QUARTER_TIMEOUT = 120 / 4


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    mugai = os.path.join(build, "src", "mugai")
    env = dict(os.environ)
    env.setdefault("MUGAI_CONFIG", os.path.join(build, "tests", "mugai-test.conf"))
    with tempfile.TemporaryDirectory(prefix="mugai-bombs-") as tmp:
        for case in threatmail.bombs():
            eml = os.path.join(tmp, case.key + ".eml")
            with open(eml, "wb") as f:
                f.write(case.message)
            rep, rss = os.path.join(tmp, case.key + ".json"), os.path.join(tmp, case.key + ".rss")
            t0 = time.monotonic()
            p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss, mugai, "sanitize", "--report", rep,
                                eml], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                               check=False)
            dt = time.monotonic() - t0
            with open(rss) as f:
                kb = int(f.read().split()[-1])
            size = len(case.message)
            mem_bound = (2 * size + 64 * 1024 * 1024) / 1e6
            rsize = os.path.getsize(rep) if os.path.exists(rep) else -1
            print("%-17s %5.2f MB exit=%d time=%6.2fs (quarter of message_timeout %.0fs) "
                  "peak_rss=%7.1fMB (2x+64MB %.1fMB) report=%d octets"
                  % (case.key, size / 1e6, p.returncode, dt, QUARTER_TIMEOUT, kb / 1024, mem_bound, rsize))


if __name__ == "__main__":
    main()
