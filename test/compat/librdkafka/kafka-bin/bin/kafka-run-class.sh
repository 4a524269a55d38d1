#!/usr/bin/env bash
# Stand-in for Kafka's bin/kafka-run-class.sh, for librdkafka's test suite: test_run_java() in
# tests/test.c runs tests/java/run-class.sh CLASS ARGS..., which calls this script. Only
# TransactionProducerCli (0098's transactional producer in Java) is known: its commands are carried
# out by kafkajs's transactional producer (lib/transaction-producer-cli.mjs), as Kafka's Java
# client cannot be installed here. run.sh skips the suite's javac step for 0098 (make's CLASSES
# emptied), so nothing Java is built or run. Any other class fails the call.
set -euo pipefail
SHIM_NAME=kafka-run-class.sh
. "$(dirname "$0")/samsa-cli.sh"

class="${1:-}"
shift || true
case "$class" in
  TransactionProducerCli)
    echo "$SHIM_NAME: $class by kafkajs: $*" >&2
    exec node "$(dirname "$0")/../lib/transaction-producer-cli.mjs" "$@"
    ;;
  *) unsupported "class ${class:-(none)}" ;;
esac
