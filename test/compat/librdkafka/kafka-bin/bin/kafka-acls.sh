#!/usr/bin/env bash
# Stand-in for Kafka's bin/kafka-acls.sh, for librdkafka's test suite (tests 0109, 0115, 0119 call
# it through KAFKA_PATH): the same options, carried out by `samsa acls`, which sends CreateAcls,
# DeleteAcls or DescribeAcls to the broker. Options it does not know fail the call rather than
# being dropped, so a test never runs against ACLs other than those it asked for.
set -euo pipefail
SHIM_NAME=kafka-acls.sh
. "$(dirname "$0")/samsa-cli.sh"

global=() action="" force=0 args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bootstrap-server | --command-config) global+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --add) action=add; shift ;;
    --remove) action=remove; shift ;;
    --list) action=list; shift ;;
    --force) force=1; shift ;; # Kafka's script would otherwise ask before removing; samsa never asks
    --allow-principal | --deny-principal | --allow-host | --deny-host | --operation | --topic | --group | \
      --transactional-id | --delegation-token | --user-principal | --resource-pattern-type | --principal)
      args+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --cluster | --producer | --consumer | --idempotent) args+=("$1"); shift ;;
    *) unsupported "option $1" ;;
  esac
done
[ -n "$action" ] || unsupported "a call without --add, --remove or --list"
[ "$action" = remove ] && [ "$force" = 1 ] && args+=(--force)
samsa "${global[@]}" acls "$action" "${args[@]}"
