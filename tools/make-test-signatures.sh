#!/bin/sh
# Writes the ClamAV signature set the tests use, with ClamAV's own sigtool:
#   OUTDIR/mugai-test.ndb  the EICAR test string as a body signature
#   OUTDIR/mugai-test.hdb  the MD5 of testdata/clamav/mugai-test-hashed.txt
# Never the official database: nothing here is malware.
#   tools/make-test-signatures.sh OUTDIR
set -eu
out=$1
here=$(cd "$(dirname "$0")/.." && pwd)
command -v sigtool >/dev/null 2>&1 || { echo "sigtool not found (Debian package clamav)" >&2; exit 1; }
mkdir -p "$out"
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
hex=$(printf '%s' "$eicar" | sigtool --hex-dump | tr -d '\n')
printf 'Mugai.Test.EICAR:0:*:%s\n' "$hex" > "$out/mugai-test.ndb.tmp"
sigtool --md5 "$here/testdata/clamav/mugai-test-hashed.txt" 2>/dev/null \
    | sed 's/:[^:]*$/:Mugai.Test.Hash/' > "$out/mugai-test.hdb.tmp"
[ -s "$out/mugai-test.ndb.tmp" ] && [ -s "$out/mugai-test.hdb.tmp" ] || { echo "sigtool failed" >&2; exit 1; }
mv "$out/mugai-test.ndb.tmp" "$out/mugai-test.ndb"
mv "$out/mugai-test.hdb.tmp" "$out/mugai-test.hdb"
