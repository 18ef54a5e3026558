#!/bin/sh
# Benchmark: mugai sanitize over a generated mbox (speed and peak memory).
#   bench/run.sh [COUNT]
# Runs with the test ClamAV signature set (every message and part is
# scanned; a real database has far more signatures: load time and memory
# grow, per-message scanning much less).
# Writes the figures to standard output; bench/RESULTS.md records them with
# the machine they came from.  Not a test: nothing is asserted.
set -eu
cd "$(dirname "$0")/.."
count=${1:-2000}
tools/build.sh release >/dev/null 2>&1  # a release tree: what gets installed
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 bench/gen-corpus.py "$tmp/in.mbox" "$count"
size=$(stat -c %s "$tmp/in.mbox")
start=$(date +%s.%N)
MUGAI_CONFIG=build/tests/mugai-test.conf /usr/bin/time -f "%M" -o "$tmp/rss" \
    build/src/mugai sanitize --mbox "$tmp/in.mbox" --out "$tmp/out.mbox" 2>/dev/null
end=$(date +%s.%N)
python3 - "$count" "$size" "$start" "$end" "$(cat "$tmp/rss")" <<'PY'
import sys
n, size, t0, t1, rss = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
dt = t1 - t0
print(f"messages={n} input={size/1e6:.1f}MB elapsed={dt:.2f}s "
      f"rate={n/dt:.0f} msg/s throughput={size/1e6/dt:.1f} MB/s peak_rss={rss/1024:.1f}MB")
PY
