#!/bin/sh
# Quick start: install what is missing, build, and sanitize the sample
# mailboxes in testdata/ with the built-in defaults.  Results go to out/.
set -eu
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
mkdir -p out
# Built-in defaults, except for the ClamAV database: a fresh machine has no
# official signatures (freshclam needs the Internet), so the test signature
# set that the build writes with sigtool (EICAR and a test hash) is used.
export MUGAI_CONFIG="${MUGAI_CONFIG:-build/tests/mugai-test.conf}"
for mbox in testdata/mbox/*.mbox; do
    name=$(basename "$mbox" .mbox)
    echo "== $mbox -> out/$name.mbox (report: out/$name.jsonl)"
    build/src/mugai sanitize --mbox "$mbox" --out "out/$name.mbox" --report "out/$name.jsonl" || true
done
echo "== testdata/maildir -> out/maildir (report: out/maildir.jsonl)"
build/src/mugai sanitize --maildir testdata/maildir --out out/maildir --report out/maildir.jsonl || true
echo
echo "Sanitized mailboxes are in out/.  One message: build/src/mugai sanitize FILE.eml"
