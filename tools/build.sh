#!/bin/sh
# Configures and builds one build tree.
#   tools/build.sh            build/       optimised, warnings are errors
# Both are test trees: the workers' fault hook (-Dtest_hooks) is built in.
# A release build is a plain `meson setup` (the hook is off by default).
#   tools/build.sh asan       build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer
set -eu
cd "$(dirname "$0")/.."
case "${1:-}" in
    asan) dir=build-asan; opts="-Dtest_hooks=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug" ;;
    "")   dir=build; opts="-Dtest_hooks=true" ;;
    *)    echo "usage: $0 [asan]" >&2; exit 64 ;;
esac
if [ ! -f "$dir/build.ninja" ]; then
    # shellcheck disable=SC2086
    meson setup "$dir" --werror $opts >/dev/null
else
    # shellcheck disable=SC2086
    meson configure "$dir" --werror $opts >/dev/null
fi
ninja -C "$dir" >&2
