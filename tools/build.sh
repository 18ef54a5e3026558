#!/bin/sh
# Configures and builds one build tree.
#   tools/build.sh            build-test/  optimised, warnings are errors, test hooks on
#   tools/build.sh asan       build-asan/  the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   tools/build.sh release    build/       what gets installed: no test hook
# The two test trees have the workers' fault hook (-Dtest_hooks: a header
# X-Mugai-Test-Fault makes a worker hang or crash) and live in directories
# of their own, so that `meson setup build && ninja -C build install` can
# never install a test tree; build/ is always configured with the hook off,
# even when an older checkout left a test tree there.
set -eu
cd "$(dirname "$0")/.."
case "${1:-}" in
    "")      dir=build-test; opts="-Dtest_hooks=true" ;;
    asan)    dir=build-asan; opts="-Dtest_hooks=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug" ;;
    release) dir=build; opts="-Dtest_hooks=false" ;;
    *)       echo "usage: $0 [asan | release]" >&2; exit 64 ;;
esac
if [ ! -f "$dir/build.ninja" ]; then
    # shellcheck disable=SC2086
    meson setup "$dir" --werror $opts >/dev/null
else
    # shellcheck disable=SC2086
    meson configure "$dir" --werror $opts >/dev/null
fi
ninja -C "$dir" >&2
