#!/usr/bin/env python3
"""Counts test cases in meson's testlog.json files.

TAP tests (every g_test program and the whole-program scripts) count one
per "ok"/"not ok" line; a test program that crashed or timed out before
printing its plan counts as one failure.  Prints the closing line
"N passed, N failed, N skipped" and exits 1 when anything failed.
"""
import json
import re
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        print(f"missing test log {path}: {e}", file=sys.stderr)
        failed += 1
        continue
    if not any(l.strip() for l in lines):
        # an empty log means the run did not happen (or was cut short):
        # never report that as a pass
        print(f"empty test log {path}: no test ran", file=sys.stderr)
        failed += 1
        continue
    for line in lines:
        if not line.strip():
            continue
        t = json.loads(line)
        out = t.get("stdout") or ""
        ok = notok = skip = 0
        for l in out.splitlines():
            if re.match(r"^ok\b", l):
                if re.search(r"#\s*SKIP", l, re.I):
                    skip += 1
                else:
                    ok += 1
            elif re.match(r"^not ok\b", l):
                if re.search(r"#\s*TODO", l, re.I):
                    skip += 1
                else:
                    notok += 1
        result = t.get("result")
        if result in ("FAIL", "TIMEOUT", "ERROR") and notok == 0:
            notok = 1
            print(f"{path}: {t.get('name')}: {result}", file=sys.stderr)
        if result == "SKIP" and ok + notok + skip == 0:
            skip = 1
        passed += ok
        failed += notok
        skipped += skip
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
