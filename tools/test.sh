#!/bin/sh
# The whole test suite: unit tests, the sample mailboxes and the shared
# corpus, once in a normal build (warnings are errors) and once under
# ASan/UBSan.  Ends with one line "N passed, N failed, N skipped"
# (tools/count-tests.py: a build that fails, a run cut short, a TODO, and
# under CI=true a suite that skips as a whole, all count as failures).
set -u
cd "$(dirname "$0")/.."
tools/install-deps.sh || exit 1
status=0
dirs=""
for variant in "" asan; do
    dir=build-${variant:-test}
    if ! tools/build.sh $variant; then
        echo "build failed: $dir" >&2
        status=1
        dirs="$dirs --build-failed $dir"
        continue
    fi
    # a log left by an earlier run must never be counted as this one's
    rm -f "$dir/meson-logs/testlog.json"
    # ASan: GLib and GMime keep caches for the life of the process; leaks
    # in our code are caught by the unit tests, which free everything.
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" \
    LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
        meson test -C "$dir" --print-errorlogs --num-processes 2 >"$dir/test-output.txt" 2>&1 || status=1
    tail -n 15 "$dir/test-output.txt"
    # the subtests that failed, by name, where a log shows only its tail
    # (CI): the first 40 "not ok" lines of the TAP tests
    grep -a '^not ok' "$dir/meson-logs/testlog.txt" 2>/dev/null | head -n 40 | sed "s|^|$dir: |"
    dirs="$dirs $dir"
done
# shellcheck disable=SC2086
python3 tools/count-tests.py $dirs || status=1
exit $status
