#!/usr/bin/env bash
# Installs @confluentinc/kafka-javascript, the client matrix's librdkafka 2.15 client, into
# .cache/ckjs. It is kept out of package.json because its install builds librdkafka from the
# sources it bundles (a few minutes), which `npm ci` for running a broker should not pay, and its
# default static build downloads OpenSSL, zlib, zstd and curl from GitHub; CKJS_LINKING=dynamic
# builds against this machine's libraries instead (build-essential, zlib1g-dev, libzstd-dev).
# The package and its dependencies are pinned by test/compat/matrix/ckjs/package-lock.json
# (integrity hashes checked by npm ci). A second call with the package in place is a no-op.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
DIR="$ROOT/.cache/ckjs"
VERSION=1.10.1
PACKAGE=@confluentinc/kafka-javascript
PINS="$ROOT/test/compat/matrix/ckjs"
STAMP=".installed-$VERSION-$(sha256sum "$PINS/package-lock.json" | cut -c1-16)"

if [ -f "$DIR/$STAMP" ] && (cd "$DIR" && node -e "require('$PACKAGE')" >/dev/null 2>&1); then
  echo "$PACKAGE $VERSION cached in $DIR"
  exit 0
fi
start=$(date +%s)
rm -rf "$DIR"
mkdir -p "$DIR"
cp "$PINS/package.json" "$PINS/package-lock.json" "$DIR/"
(cd "$DIR" && CKJS_LINKING=dynamic npm ci --no-audit --no-fund --loglevel=error >/dev/null)
(cd "$DIR" && node -e "const k = require('$PACKAGE'); console.log('$PACKAGE $VERSION built, librdkafka ' + k.librdkafkaVersion)")
touch "$DIR/$STAMP"
echo "   took $(( $(date +%s) - start ))s"
