#!/usr/bin/env bash
# Stand-in for Kafka's bin/kafka-topics.sh, for librdkafka's test suite (test_kafka_topics() in
# tests/test.c calls it with --bootstrap-server $BROKERS; 0052 and 0077 create their topics with
# it, 0045's "noautocreate" tests delete a topic and grow one): --create (with --partitions,
# --replication-factor, --config), --delete, and --alter --partitions N (the new total, as Kafka's
# script takes it), carried out by `samsa topics create|delete|add-partitions` (CreateTopics,
# DeleteTopics, CreatePartitions). Anything else fails the call.
set -euo pipefail
SHIM_NAME=kafka-topics.sh
. "$(dirname "$0")/samsa-cli.sh"

global=() action="" topic="" args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bootstrap-server | --command-config) global+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --create) action=create; shift ;;
    --delete) action=delete; shift ;;
    --alter) action=alter; shift ;;
    --topic) topic="${2:?--topic needs a value}"; shift 2 ;;
    --partitions | --replication-factor | --config) args+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --if-not-exists) args+=("$1"); shift ;;
    *) unsupported "option $1" ;;
  esac
done
[ -n "$action" ] || unsupported "a call without --create, --delete or --alter"
[ -n "$topic" ] || unsupported "a call without --topic"
[ "$action" = delete ] && [ ${#args[@]} -gt 0 ] && unsupported "--delete with ${args[0]}"
if [ "$action" = alter ]; then
  [ ${#args[@]} = 2 ] && [ "${args[0]}" = --partitions ] || unsupported "--alter without exactly --partitions N"
  # Kafka's --partitions is the new total; samsa adds a count.
  now="$(samsa "${global[@]}" --json topics list | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const t = s.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((x) => x.topic === process.argv[1])
    console.log(t === undefined ? "" : t.partitions) })' "$topic")"
  [ -n "$now" ] || { echo "$SHIM_NAME: topic $topic does not exist" >&2; exit 1; }
  [ "${args[1]}" -gt "$now" ] || { echo "$SHIM_NAME: topic $topic has $now partitions, not fewer than ${args[1]}" >&2; exit 1; }
  samsa "${global[@]}" topics add-partitions "$topic" "$(( args[1] - now ))"
  exit
fi
samsa "${global[@]}" topics "$action" "$topic" "${args[@]}"
