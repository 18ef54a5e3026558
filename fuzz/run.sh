#!/bin/sh
# Runs one fuzz target for a while; see README.md.
#
#   fuzz/run.sh BUILDDIR WORKDIR TARGET SECONDS
#
# TARGET is sanitize, header, charset, html, bmp or record.  WORKDIR/seeds/TARGET must
# hold the seeds (fuzz/make-seeds.py WORKDIR/seeds); the growing corpus
# goes to WORKDIR/corpus/TARGET, crash-*, timeout-*, leak-* and oom-* files
# to WORKDIR/artifacts/TARGET/, the log to WORKDIR/TARGET.log.  One worker
# process (-fork=1) that carries on after a finding, so that one bug does
# not end the run.
set -eu
build=$1 work=$2 target=$3 seconds=$4
src=$(cd "$(dirname "$0")/.." && pwd)

case $target in
  sanitize) max_len=131072 ;;  # messages: big enough for the nesting/part seeds
  *) max_len=65536 ;;
esac

mkdir -p "$work/corpus/$target" "$work/artifacts/$target"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:fast_unwind_on_malloc=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/tests/lsan.supp}
export G_SLICE=always-malloc

exec "$build/fuzz/fuzz-$target" \
  -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=$max_len \
  -artifact_prefix="$work/artifacts/$target/" \
  "$work/corpus/$target" "$work/seeds/$target" >"$work/$target.log" 2>&1
