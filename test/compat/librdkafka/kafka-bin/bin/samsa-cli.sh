# Sourced by the kafka-*.sh stand-ins: runs Samsa's CLI from the build run.sh tests (SAMSA_DIST,
# else the repository's dist/). SAMSA_COMMAND_CONFIG, when run.sh sets it, carries the security
# settings of a secured run to the CLI, as --command-config would.
SAMSA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.." && pwd)"
SAMSA_MAIN="${SAMSA_DIST:-$SAMSA_ROOT/dist}/cli/main.js"

samsa() {
  if [ ! -f "$SAMSA_MAIN" ]; then
    echo "$SHIM_NAME: $SAMSA_MAIN missing: run npm run build first" >&2
    exit 2
  fi
  echo "$SHIM_NAME: samsa $*" >&2
  node "$SAMSA_MAIN" "$@"
}

unsupported() {
  echo "$SHIM_NAME: $1 is not supported by this stand-in for Kafka's script (it runs Samsa's CLI)" >&2
  exit 2
}
