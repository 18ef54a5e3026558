#!/bin/sh
# Configures and builds one build tree.
#   tools/build.sh            build/       release-like, warnings are errors
#   tools/build.sh asan       build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer
set -eu
cd "$(dirname "$0")/.."
case "${1:-}" in
    asan) dir=build-asan; opts="-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug" ;;
    "")   dir=build; opts="" ;;
    *)    echo "usage: $0 [asan]" >&2; exit 64 ;;
esac
if [ ! -f "$dir/build.ninja" ]; then
    # shellcheck disable=SC2086
    meson setup "$dir" --werror $opts >/dev/null
fi
ninja -C "$dir" >&2
