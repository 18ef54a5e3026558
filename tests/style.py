#!/usr/bin/env python3
"""The tree's formatting and the Python tests' habits, as a test (suite
`style`).

    style.py CLANG_FORMAT SRCDIR

C: `clang-format --dry-run --Werror` with the committed .clang-format over
src/, filters/, tests/ and fuzz/ (*.c, *.h), one result per file.  The
files in TO_FORMAT below are skipped: they were not formatted when this
test came (issue 12) because other work was editing them at the time.
It is a to-do list that must only shrink: a file on it that passes, or
that no longer exists, fails the test until its line is removed; a new
file is never added to it.

Python: no test under tests/ uses a bare `assert` (python -O strips it:
use mugaitest.check()) or prints TAP itself (use mugaitest.Tap).
"""

import ast
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mugaitest import Tap  # noqa: E402

# To be formatted (see above); remove a line when its file is formatted.
TO_FORMAT = {
    "filters/image.c",
    "src/core/sanitize.c",
    "src/core/sanitize.h",
    "src/detect/scan.c",
    "src/detect/scan.h",
    "src/text/header.c",
    "src/text/html.h",
}

C_GLOBS = ("src/*/*.c", "src/*/*.h", "filters/*.c", "filters/*.h", "tests/*.c", "tests/*.h",
           "fuzz/*.c", "fuzz/*.h")

# The one TAP writer, and this file (which names what it looks for).
TAP_WRITERS = {"tests/mugaitest.py", "tests/style.py"}


def clang_format_ok(cf, srcdir, rel):
    p = subprocess.run([cf, "--dry-run", "--Werror", rel], cwd=srcdir, capture_output=True,
                       text=True)
    return p.returncode == 0, p.stderr.splitlines()[:6]


def python_problems(path):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    out = []
    for node in ast.walk(ast.parse(src, path)):
        if isinstance(node, ast.Assert):
            out.append("line %d: bare assert (stripped by python -O): use mugaitest.check()"
                       % node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and re.match(
                        r"(not )?ok( |$)", sub.value):
                    out.append("line %d: a TAP line printed by hand: use mugaitest.Tap" % node.lineno)
                    break
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: style.py CLANG_FORMAT SRCDIR")
    cf, srcdir = sys.argv[1], os.path.abspath(sys.argv[2])
    tap = Tap()
    files = sorted({os.path.relpath(p, srcdir) for g in C_GLOBS
                    for p in glob.glob(os.path.join(srcdir, g))})
    pys = sorted(os.path.relpath(p, srcdir) for g in ("tests/*.py", "tests/e2e/*.py")
                 for p in glob.glob(os.path.join(srcdir, g)))
    have_cf = cf != "none" and os.access(cf, os.X_OK)
    tap.plan(2 + len(files) + len([t for t in TO_FORMAT if t not in files]) + len(pys))

    # the check itself must be able to fail: a badly laid out function
    if have_cf:
        bad = "int f(int x){return x+1;}\n"
        p = subprocess.run([cf, "--dry-run", "--Werror", "--assume-filename=x.c"], input=bad,
                           cwd=srcdir, capture_output=True, text=True)
        tap.ok(p.returncode != 0, "clang-format --Werror refuses a badly laid out function")
    else:
        tap.skip("clang-format --Werror refuses a badly laid out function", "no clang-format")
    for rel in files:
        name = "%s is formatted (.clang-format)" % rel
        if not have_cf:
            tap.skip(name, "no clang-format")
            continue
        ok, diags = clang_format_ok(cf, srcdir, rel)
        if rel in TO_FORMAT:
            tap.ok(not ok, "%s is on the to-do list and not formatted yet" % rel,
                   ["it is formatted now: remove it from TO_FORMAT in tests/style.py"])
        else:
            tap.ok(ok, name, diags + ["fix: clang-format -i %s" % rel])
    for rel in sorted(TO_FORMAT):
        if rel not in files:
            tap.ok(False, "%s on the to-do list exists" % rel,
                   ["no such file any more: remove it from TO_FORMAT in tests/style.py"])
    # G_DEFINE_QUARK stringifies its first argument: clang-format, which
    # takes mugai-ipc-error-quark for a subtraction, would rename the
    # error domain to "mugai - ipc - error - quark"
    spaced = []
    for rel in files:
        with open(os.path.join(srcdir, rel), encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                if "G_DEFINE_QUARK (" in line and " - " in line.split(",")[0]:
                    spaced.append("%s:%d: %s" % (rel, n, line.strip()))
    tap.ok(not spaced, "error quark names are written as strings (no spaced dashes)", spaced)
    for rel in pys:
        probs = [] if rel in TAP_WRITERS else python_problems(os.path.join(srcdir, rel))
        tap.ok(not probs, "%s: no bare assert, no hand-written TAP" % rel, probs)
    return tap.exit_code()


if __name__ == "__main__":
    sys.exit(main())
