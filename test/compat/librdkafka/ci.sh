#!/usr/bin/env bash
# The librdkafka suite runs CI makes (.ci/run), side by side in three lanes:
#
#   lane 1: every broker test in quick mode with the classic group protocol (ci-classic), then a
#           few tests over SASL_SSL (ci-sasl-ssl);
#   lane 2: the consumer-group tests (group-tests.txt) in full mode with KIP-848's consumer
#           protocol (ci-consumer);
#   lane 3: the tests that need three brokers, in full mode against etcd and three brokers in
#           cluster mode (ci-cluster; CLUSTER_TESTS), then those of the "noautocreate" scenario
#           (ci-cluster-noautocreate; CLUSTER_NOAUTOCREATE_TESTS).
#
# Each run.sh starts its own broker (or etcd and brokers) on free ports with its own data
# directories, test.conf and logs under its own LIBRDKAFKA_OUT, and the suite names its topics and
# groups with a random prefix, so the runs share only the built test-runner, which they read. Most
# of a run is the tests' own waits, so the lanes take about as long as the longest one. Each lane's output goes to
# <run>.out beside its results and is printed whole when the lane ends, with the time it took.
#
#   LIBRDKAFKA_CI_OUT  where the runs' directories go (default .cache/librdkafka)
#   LIBRDKAFKA_LANES   which lanes run (default "classic consumer cluster")
#
# Exit status: 0 when no run had an unexpected failure.
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
BASE="${LIBRDKAFKA_CI_OUT:-$ROOT/.cache/librdkafka}"
mkdir -p "$BASE" && BASE="$(cd "$BASE" && pwd)"

# Built (or found in the cache) once here, so two runs never build it at the same time.
"$HERE/build.sh" || exit 2

# run NAME "VAR=value ..." [run.sh arguments]: one run.sh with that environment, its output in
# $BASE/NAME.out and its results in $BASE/NAME.
run() {
  local name="$1" vars="$2"
  shift 2
  # shellcheck disable=SC2086 # the assignments are split into words on purpose
  env LIBRDKAFKA_OUT="$BASE/$name" $vars "$HERE/run.sh" "$@" >"$BASE/$name.out" 2>&1
}

lane_classic() {
  local status=0
  run ci-classic "TEST_CONSUMER_GROUP_PROTOCOL=classic" || status=1
  # Over TLS with a SCRAM-SHA-512 login: produce and consume (0012), and the sub-tests of 0081 that
  # check the authorized operations of a SASL user before and after an ACL names it (they skip that
  # part without SASL).
  run ci-sasl-ssl "SECURITY_PROTOCOL=SASL_SSL" \
    0012 0081:do_test_DescribeTopics,do_test_DescribeCluster,do_test_DescribeConsumerGroups_with_authorized_ops || status=1
  return "$status"
}

lane_consumer() {
  run ci-consumer "TEST_CONSUMER_GROUP_PROTOCOL=consumer GROUP_TESTS=1 FULL=1 TEST_TIMEOUT=1200"
}

# Replication factor 3: 0098 (transactional consumer, with a kafkajs stand-in for its Java
# producer), 0101 (fetch from follower; excluded.txt says whether it runs), 0103 (transactions);
# the admin sub-tests of 0081 that place replicas on every broker (CreateTopics and
# CreatePartitions with replica assignments, DescribeTopics, DescribeCluster) or go to every
# partition's leader (ListOffsets, DeleteRecords);
# with auto-creation off (the suite's "noautocreate" scenario, whole), 0045's topic removal and
# partition growth, 0107 (topic re-creation) and 0111 (consumer of a topic created later).
CLUSTER_TESTS="0098 0101 0103 0081:do_test_CreateTopics,do_test_CreatePartitions,do_test_DescribeTopics,do_test_DescribeCluster,do_test_ListOffsets,do_test_DeleteRecords"
CLUSTER_NOAUTOCREATE_TESTS="0045 0107 0111"
lane_cluster() {
  local status=0
  # shellcheck disable=SC2086 # the test numbers are split into words on purpose
  run ci-cluster "CLUSTER_BROKERS=3 FULL=1" $CLUSTER_TESTS || status=1
  # shellcheck disable=SC2086
  run ci-cluster-noautocreate "CLUSTER_BROKERS=3 FULL=1 TEST_SCENARIO=noautocreate" $CLUSTER_NOAUTOCREATE_TESTS || status=1
  return "$status"
}

declare -A LANE_NAME=() LANE_RUNS=() LANE_START=()
start_lane() { # name, runs (for printing), function
  "$3" &
  LANE_NAME[$!]="$1"
  LANE_RUNS[$!]="$2"
  LANE_START[$!]=$(date +%s)
}

echo "== librdkafka runs, three lanes side by side (output of each printed when it ends)"
echo "   lane classic: classic group protocol, quick mode, then SASL_SSL (ci-classic, ci-sasl-ssl)"
echo "   lane consumer: group-tests.txt, consumer group protocol, full mode (ci-consumer)"
echo "   lane cluster: etcd and three brokers, full mode: ${CLUSTER_TESTS//:*/ (sub-tests)}, then $CLUSTER_NOAUTOCREATE_TESTS without auto-creation (ci-cluster, ci-cluster-noautocreate)"
LANES=" ${LIBRDKAFKA_LANES:-classic consumer cluster} "
[[ "$LANES" == *" classic "* ]] && start_lane classic "ci-classic ci-sasl-ssl" lane_classic
[[ "$LANES" == *" consumer "* ]] && start_lane consumer "ci-consumer" lane_consumer
[[ "$LANES" == *" cluster "* ]] && start_lane cluster "ci-cluster ci-cluster-noautocreate" lane_cluster

overall=0
while [ ${#LANE_NAME[@]} -gt 0 ]; do
  pid=""
  status=0
  wait -n -p pid "${!LANE_NAME[@]}" || status=$?
  [ -n "$pid" ] || break
  echo
  echo "== lane ${LANE_NAME[$pid]} finished in $(( $(date +%s) - LANE_START[$pid] ))s (status $status)"
  for r in ${LANE_RUNS[$pid]}; do
    echo "---- $r ($BASE/$r.out)"
    [ -f "$BASE/$r.out" ] && sed "s/^/[$r] /" "$BASE/$r.out"
  done
  [ "$status" = 0 ] || overall=1
  unset "LANE_NAME[$pid]"
done
exit "$overall"
