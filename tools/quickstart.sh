#!/bin/sh
# Quick start: install what is missing, build, and sanitize the sample
# mailboxes in testdata/ with the built-in defaults.  Results go to out/.
# The build is a release tree in build/ (no test hook): the README's
# `meson setup build && ninja -C build install` then installs exactly it.
set -eu
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh release
mkdir -p out
# Built-in defaults, except for the ClamAV database: a fresh machine has no
# official signatures (freshclam needs the Internet), so the test signature
# set that the build writes with sigtool (EICAR and a test hash) is used.
export MUGAI_CONFIG="${MUGAI_CONFIG:-build/tests/mugai-test.conf}"
for mbox in testdata/mbox/*.mbox; do
    name=$(basename "$mbox" .mbox)
    echo "== $mbox -> out/$name.mbox (report: out/$name.jsonl)"
    # exit 3 (some message refused) or 75 (some deferred) is a result here
    build/src/mugai sanitize --mbox "$mbox" --out "out/$name.mbox" --report "out/$name.jsonl" || [ $? -le 75 ]
done
echo "== testdata/maildir -> out/maildir (report: out/maildir.jsonl)"
build/src/mugai sanitize --maildir testdata/maildir --out out/maildir --report out/maildir.jsonl || [ $? -le 75 ]
echo
echo "Sanitized mailboxes are in out/.  One message: build/src/mugai sanitize FILE.eml"
