#!/bin/sh
# Installs the Debian 12 packages mugai needs to build and test, and only
# those that are missing, so that running it again costs nothing.
set -eu

PACKAGES="gcc meson ninja-build pkg-config python3 \
libglib2.0-dev libgmime-3.0-dev libxml2-dev libjson-glib-dev libmagic-dev \
libmilter-dev postfix libclamav-dev clamav libcurl4-openssl-dev \
libarchive-dev libseccomp-dev libpoppler-glib-dev libcairo2-dev \
libpng-dev libjpeg-dev libgif-dev libwebp-dev fonts-ipafont-gothic fonts-ipafont-mincho \
zip unzip p7zip-full qpdf poppler-utils poppler-data python3-pil clang-format \
libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "run as root to install:$missing" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix is only a test tool here (tests/e2e runs private instances under
# a temporary directory): "No configuration" leaves the system instance
# without a main.cf, so it is neither configured nor started.
case " $missing " in
*" postfix "*)
    echo "postfix postfix/main_mailer_type select No configuration" |
        $SUDO debconf-set-selections ;;
esac
$SUDO apt-get update -q >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >&2
