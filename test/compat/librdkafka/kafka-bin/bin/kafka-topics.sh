#!/usr/bin/env bash
# Stand-in for Kafka's bin/kafka-topics.sh, for librdkafka's test suite (test_kafka_topics() in
# tests/test.c calls it with --bootstrap-server $BROKERS; 0052 and 0077 create their topics with
# it): --create (with --partitions, --replication-factor, --config) and --delete, carried out by
# `samsa topics create|delete` (CreateTopics, DeleteTopics). Anything else fails the call.
set -euo pipefail
SHIM_NAME=kafka-topics.sh
. "$(dirname "$0")/samsa-cli.sh"

global=() action="" topic="" args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bootstrap-server | --command-config) global+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --create) action=create; shift ;;
    --delete) action=delete; shift ;;
    --topic) topic="${2:?--topic needs a value}"; shift 2 ;;
    --partitions | --replication-factor | --config) args+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --if-not-exists) args+=("$1"); shift ;;
    *) unsupported "option $1" ;;
  esac
done
[ -n "$action" ] || unsupported "a call without --create or --delete"
[ -n "$topic" ] || unsupported "a call without --topic"
[ "$action" = delete ] && [ ${#args[@]} -gt 0 ] && unsupported "--delete with ${args[0]}"
samsa "${global[@]}" topics "$action" "$topic" "${args[@]}"
