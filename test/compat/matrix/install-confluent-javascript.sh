#!/usr/bin/env bash
# Installs @confluentinc/kafka-javascript, the client matrix's librdkafka 2.15 client, into
# .cache/ckjs. It is kept out of package.json because its install builds librdkafka from the
# sources it bundles (a few minutes), which `npm ci` for running a broker should not pay, and its
# default static build downloads OpenSSL, zlib, zstd and curl from GitHub; CKJS_LINKING=dynamic
# builds against this machine's libraries instead (build-essential, zlib1g-dev, libzstd-dev).
# A second call with the package in place is a no-op.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
DIR="$ROOT/.cache/ckjs"
VERSION=1.10.1
PACKAGE=@confluentinc/kafka-javascript

if [ -f "$DIR/.installed-$VERSION" ] && (cd "$DIR" && node -e "require('$PACKAGE')" >/dev/null 2>&1); then
  echo "$PACKAGE $VERSION cached in $DIR"
  exit 0
fi
start=$(date +%s)
rm -rf "$DIR"
mkdir -p "$DIR"
printf '{ "name": "samsa-matrix-clients", "private": true, "dependencies": { "%s": "%s" } }\n' "$PACKAGE" "$VERSION" >"$DIR/package.json"
(cd "$DIR" && CKJS_LINKING=dynamic npm install --no-audit --no-fund --loglevel=error >/dev/null)
(cd "$DIR" && node -e "const k = require('$PACKAGE'); console.log('$PACKAGE $VERSION built, librdkafka ' + k.librdkafkaVersion)")
touch "$DIR/.installed-$VERSION"
echo "   took $(( $(date +%s) - start ))s"
