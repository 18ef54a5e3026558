#!/bin/sh
# bench/backends.sh - messages per second of mugai-milter behind a private
# Postfix with each quarantine backend (files, sqlite, postgresql), in one run
#
# usage (root, from the project root, with build/ built: tools/build.sh release,
# and the harness's packages installed once: ../shared/bench/install.sh):
#   python3 tests/pgcluster.py run -- bench/backends.sh OUT [REPEAT [run.sh options...]]
#
# The shared harness (../shared/bench/run.sh, its README) measures one milter
# configuration a run; this runs it once per backend and repeat, the repeats
# the outer loop (r1: files, sqlite, postgresql; r2: the same...), so that a
# slow moment of the shared machine falls on every backend alike.  Each run:
# --configs mugaid --repeat 1, mugai started by ../shared/bench/examples/mugai.sh
# (profile remove: every non-text part removed, so nearly every message is
# modified and its original stored) with MUGAI_EXTRA choosing the backend:
#
#   files       [quarantine] backend = files, the directory mugai.sh gives
#   sqlite      [quarantine] backend = sqlite (the default), the same
#   postgresql  [quarantine] backend = postgresql, dsn_file = the private
#               cluster's ($MUGAI_TEST_PG_DSN_FILE from tests/pgcluster.py:
#               a cluster of its own under /tmp, Unix socket only, stopped
#               when this script ends; a fresh database, emptied between runs)
#
# The corpus is the harness's, seeded (SEED, default its own), the same for
# every run.  Results: OUT/<backend>-r<N>/ (the harness's files), and
# OUT/table.md from bench/backends-table.py.  Other run.sh options (--count,
# --conc, --hdb...) are passed on; the default here is --count 1000
# --conc "8 32".  Not a test: nothing is asserted.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 OUT [REPEAT [run.sh options...]]" >&2; exit 64; }
out=$1; shift
repeat=${1:-2}; [ $# -ge 1 ] && shift
root=$(cd "$(dirname "$0")/.." && pwd)
harness=${MUGAI_HARNESS:-$root/../shared/bench}
[ -x "$harness/run.sh" ] || { echo "$0: no harness at $harness (MUGAI_HARNESS)" >&2; exit 1; }
[ -x "$root/build/src/mugai-milter" ] || { echo "$0: build/ is not built (tools/build.sh release)" >&2; exit 1; }
dsn=${MUGAI_TEST_PG_DSN_FILE:-}
backends="files sqlite postgresql"
if [ -z "$dsn" ]; then
    echo "$0: no MUGAI_TEST_PG_DSN_FILE (run under tests/pgcluster.py run --): postgresql left out" >&2
    backends="files sqlite"
fi
[ $# -gt 0 ] || set -- --count 1000 --conc "8 32"
mkdir -p "$out"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src || echo ' (modified)')"
    echo "nproc: $(nproc)"
    echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    echo "memory: $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "postgresql: $(ls /usr/lib/postgresql 2>/dev/null | tr '\n' ' ')"
    echo "sqlite: $(sqlite3 --version 2>/dev/null | cut -d' ' -f1)"
    echo "buildtype: $(meson introspect --buildoptions "$root/build" 2>/dev/null |
        python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"][0])' 2>/dev/null)"
    echo "options: repeat=$repeat $*"
} > "$out/machine.txt"
cat "$out/machine.txt"

for r in $(seq "$repeat"); do
    for b in $backends; do
        case $b in
            files) extra='[quarantine]\nbackend = files' ;;
            sqlite) extra='[quarantine]\nbackend = sqlite' ;;
            postgresql)
                extra="[quarantine]\nbackend = postgresql\ndsn_file = $dsn"
                # every run starts from an empty store, as the others do
                psql -q "${MUGAI_TEST_PG_ADMIN:?}" -c "DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION mugai_storer" ;;
        esac
        # Postfix's smtpd reaches the socket through its group, as in
        # production: without socket_group the socket's directory is the
        # front's alone (0750) and the harness's chmod of the socket is
        # not enough
        extra="[milter]\nsocket_group = postfix\n\n$extra"
        echo "== $b, repeat $r/$repeat: $(uptime)"
        (cd "$root" && MUGAI_BUILD=build MUGAI_EXTRA="$extra" \
            MUGAID_CMD="$harness/examples/mugai.sh" \
            "$harness/run.sh" --no-install --configs mugaid --repeat 1 --out "$out/$b-r$r" "$@") \
            > "$out/$b-r$r.log" 2>&1 || echo "$0: $b r$r: run.sh failed, see $out/$b-r$r.log" >&2
        tail -n 12 "$out/$b-r$r.log"
    done
done
python3 "$root/bench/backends-table.py" "$out" | tee "$out/table.md"
