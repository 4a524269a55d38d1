#!/usr/bin/env bash
# Builds librdkafka and its integration test-runner from the copy bundled in the
# @confluentinc/kafka-javascript npm package (the npm registry is the one source reachable from CI). The result is cached under
# .cache/librdkafka/<version>; a stamp file keyed on the pinned version and configure flags makes a
# second call a no-op.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
CACHE="${LIBRDKAFKA_CACHE:-$ROOT/.cache/librdkafka}"

# @confluentinc/kafka-javascript 1.10.1 bundles librdkafka 2.15.1 with its tests/ directory. Pin
# both the package and its tarball digest so a republished tarball cannot silently change the suite
# under test.
PACKAGE=@confluentinc/kafka-javascript
PACKAGE_VERSION=1.10.1
LIBRDKAFKA_VERSION=2.15.1
TARBALL_SHA256=ada7d703bb1d3237e2292bfabf438d663b6160c9f1ac2a2406b5dc4257c81b66

# One build serves both the plaintext runs and run.sh's SASL_SSL run: TLS and SASL SCRAM (which
# librdkafka implements itself on top of OpenSSL) come from Debian's libssl-dev; SASL PLAIN needs
# nothing. Kerberos (GSSAPI, through Cyrus SASL), OAUTHBEARER OIDC (curl) and syslog are off.
# Debian packages used when present: zlib1g-dev and libzstd-dev (compression tests), rapidjson-dev
# (tests 0098, 0101, 0110 check statistics JSON with it and skip themselves without it). lz4 is
# bundled.
CONFIGURE_FLAGS=(--enable-ssl --disable-gssapi --disable-curl --disable-lz4-ext --disable-syslog)
# What configure can find changes what gets built, so it is part of the cache key.
OPTIONAL_HEADERS=(/usr/include/zlib.h /usr/include/zstd.h /usr/include/rapidjson/schema.h)
if [ ! -f /usr/include/openssl/ssl.h ]; then
  echo "build.sh: OpenSSL headers missing (apt-get install libssl-dev)" >&2
  exit 2
fi
FOUND_HEADERS=""
for h in "${OPTIONAL_HEADERS[@]}"; do [ -f "$h" ] && FOUND_HEADERS="$FOUND_HEADERS $h"; done

# "-ssl" names the variant: a cache still holding a build without SSL keeps it (a run in progress
# may be using it) rather than having it rebuilt in place.
SRC="$CACHE/librdkafka-$LIBRDKAFKA_VERSION-ssl"
STAMP="$SRC/.samsa-built-$(printf '%s ' "$PACKAGE_VERSION" "${CONFIGURE_FLAGS[@]}" "$FOUND_HEADERS" | sha256sum | cut -c1-16)"
JOBS="${JOBS:-2}"
# run.sh asks where the test-runner of the pinned version lives.
if [ "${1:-}" = --tests-dir ]; then echo "$SRC/tests"; exit 0; fi

if [ -f "$STAMP" ] && [ -x "$SRC/tests/test-runner" ]; then
  echo "librdkafka $LIBRDKAFKA_VERSION test-runner cached at $SRC/tests"
  exit 0
fi

start=$(date +%s)
mkdir -p "$CACHE"
# npm pack names the file after the package, scope folded in: confluentinc-kafka-javascript-1.10.1.tgz
tarball="$CACHE/$(echo "${PACKAGE#@}" | tr / -)-$PACKAGE_VERSION.tgz"
if [ ! -f "$tarball" ] || ! echo "$TARBALL_SHA256  $tarball" | sha256sum -c --quiet - 2>/dev/null; then
  echo "== fetching $PACKAGE@$PACKAGE_VERSION"
  rm -f "$tarball"
  (cd "$CACHE" && npm pack --silent "$PACKAGE@$PACKAGE_VERSION" >/dev/null)
  echo "$TARBALL_SHA256  $tarball" | sha256sum -c --quiet -
fi

echo "== unpacking librdkafka $LIBRDKAFKA_VERSION"
rm -rf "$SRC" "$CACHE/unpack"
mkdir -p "$CACHE/unpack"
tar xzf "$tarball" -C "$CACHE/unpack" package/deps/librdkafka
mv "$CACHE/unpack/package/deps/librdkafka" "$SRC"
rm -rf "$CACHE/unpack"
version_hex=$(grep -m1 '^#define RD_KAFKA_VERSION ' "$SRC/src/rdkafka.h" | awk '{print $3}')
expected_hex=$(printf '0x%02x%02x%02xff' $(echo "$LIBRDKAFKA_VERSION" | tr . ' '))
if [ "$version_hex" != "$expected_hex" ]; then
  echo "$PACKAGE@$PACKAGE_VERSION bundles librdkafka $version_hex, expected $expected_hex" >&2
  exit 1
fi

# mklove loads every configure.* file in the source root as a module, so the logs are named
# samsa-*.log rather than configure.out.
echo "== configuring (${CONFIGURE_FLAGS[*]})"
(cd "$SRC" && ./configure --no-download "${CONFIGURE_FLAGS[@]}" >"$SRC/samsa-configure.log" 2>&1) || {
  tail -40 "$SRC/samsa-configure.log" >&2
  exit 1
}
echo "== building libraries and test-runner (make -j$JOBS)"
(cd "$SRC" && make -j"$JOBS" -C src >"$SRC/samsa-build.log" 2>&1 && make -j"$JOBS" -C src-cpp >>"$SRC/samsa-build.log" 2>&1 \
  && make -j"$JOBS" -C tests test-runner >>"$SRC/samsa-build.log" 2>&1) || {
  tail -40 "$SRC/samsa-build.log" >&2
  exit 1
}
touch "$STAMP"
echo "== built in $(( $(date +%s) - start ))s"
