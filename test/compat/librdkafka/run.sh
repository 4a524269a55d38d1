#!/usr/bin/env bash
# Runs librdkafka's own integration test suite (tests/test-runner, librdkafka 2.15.1) against a
# single Samsa broker started on a free port with a fresh data directory.
#
#   test/compat/librdkafka/run.sh              every broker test not marked skip in excluded.txt
#   test/compat/librdkafka/run.sh 0001 0012    only these test numbers (exclusions still apply)
#   test/compat/librdkafka/run.sh 0081:do_test_CreateAcls,do_test_DeleteAcls
#                                              only these sub-tests of 0081, each in its own process
#   GROUP_TESTS=1 test/compat/librdkafka/run.sh  the consumer-group tests listed in group-tests.txt
#   ALL=1 test/compat/librdkafka/run.sh 0103   ignore excluded.txt, run what is named
#
#   SECURITY_PROTOCOL=SASL_SSL test/compat/librdkafka/run.sh  the same over TLS with SCRAM logins
#
# Environment: TEST_CONSUMER_GROUP_PROTOCOL=classic|consumer (group.protocol of every consumer the
# suite creates; default classic; "consumer" is KIP-848's protocol, ConsumerGroupHeartbeat),
# SECURITY_PROTOCOL=PLAINTEXT|SASL_SSL (how the suite's clients reach the broker; default PLAINTEXT;
# SASL_SSL generates a CA and a broker certificate, creates a SCRAM-SHA-512 user and writes the
# security settings into the suite's test.conf),
# FULL=1 (not quick mode: every sub-test, more data), TEST_TIMEOUT (seconds per test
# number, default 300), TEST_DEBUG (librdkafka debug contexts, e.g. protocol,broker,cgrp),
# SAMSA_LOG_LEVEL (broker log level, default info), LIBRDKAFKA_OUT (where logs and results go,
# default .cache/librdkafka/last-run), SAMSA_DIST (the broker build to run, default dist/),
# BROKER_VERSION (the Kafka version the suite is told, default 4.0.0; 4.2.0 runs the share-consumer
# tests), TEST_TIMEOUT_MULTIPLIER (scales the suite's own per-test timeouts).
#
# Each test number runs in its own test-runner process so a crash or hang costs one number, not the
# run. excluded.txt marks numbers "skip" (not run), "xfail" (run; a failure is expected and does
# not fail the run, a pass is reported so the entry can be removed), "subtests" (only the listed
# sub-tests run) or "split" (every sub-test runs, each in its own process); an action written
# "xfail@consumer" (or "@classic") applies under that group protocol only, one written
# "skip@sasl_ssl" (or "@plaintext") under that security protocol only. Exit status is 0 when no
# test outside the xfail list failed. Needs dist/ (npm run build), a C toolchain and OpenSSL's
# headers (see build.sh).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
CACHE="${LIBRDKAFKA_CACHE:-$ROOT/.cache/librdkafka}"
OUT="${LIBRDKAFKA_OUT:-$CACHE/last-run}"
# The runner works in the suite's tests/ directory, so a relative LIBRDKAFKA_OUT is made absolute.
mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)"
TEST_TIMEOUT="${TEST_TIMEOUT:-300}"
# The suite reads TEST_CONSUMER_GROUP_PROTOCOL itself (tests/test.c) and sets group.protocol on
# every consumer; tests written for one protocol skip themselves under the other.
export TEST_CONSUMER_GROUP_PROTOCOL="${TEST_CONSUMER_GROUP_PROTOCOL:-classic}"
case "$TEST_CONSUMER_GROUP_PROTOCOL" in
  classic | consumer) ;;
  *) echo "TEST_CONSUMER_GROUP_PROTOCOL must be classic or consumer, not $TEST_CONSUMER_GROUP_PROTOCOL" >&2; exit 2 ;;
esac
# Samsa serves Produce >= v3 and Fetch >= v4, the floor Apache Kafka 4.0 set; telling the suite the
# broker is 4.0 makes it skip what 4.0 removed (message format v0/v1) and enables the KIP-848-era
# admin checks it would run against a real 4.0 broker.
BROKER_VERSION="${BROKER_VERSION:-4.0.0}"
# Passed as TEST_KAFKA_VERSION, not -V: 2.15.1's test-runner keeps the -V argument itself and
# frees it at exit, so every run would end in "free(): invalid pointer" (SIGABRT).
# -L: broker tests only (local ones need no broker); -E: no sockem (socket-emulation) tests, as
# librdkafka's own "make quick" CI target; -p1: one at a time. Quick mode (-Q, the default) is what
# librdkafka's CI runs: fewer messages and only the sub-tests marked quick. FULL=1 runs everything.
RUNNER_FLAGS=(-L -E -p1)
[ "${FULL:-0}" = 1 ] || RUNNER_FLAGS+=(-Q)
# CLUSTER_BROKERS=3: etcd and three brokers in cluster mode (cluster.sh) instead of one broker, for
# the tests that create topics with replication factor 3; every broker is in test.conf's bootstrap
# list. excluded.txt's "@single" / "@cluster" scope an action to one or the other.
CLUSTER_BROKERS="${CLUSTER_BROKERS:-1}"
case "$CLUSTER_BROKERS" in
  [1-9]) ;;
  *) echo "CLUSTER_BROKERS must be a number of brokers from 1 to 9, not $CLUSTER_BROKERS" >&2; exit 2 ;;
esac
BROKER_MODE=single
[ "$CLUSTER_BROKERS" -gt 1 ] && BROKER_MODE=cluster
# The suite's scenarios (tests/scenarios/*.json): "default" has auto-creation on, 4 partitions and
# replication factor 3 (librdkafka's own test clusters have three brokers); "noautocreate"
# (TEST_SCENARIO=noautocreate, which the runner reads too) turns auto-creation off. One broker gets
# replication factor 1.
export TEST_SCENARIO="${TEST_SCENARIO:-default}"
case "$TEST_SCENARIO" in
  default) AUTO_CREATE=true ;;
  noautocreate) AUTO_CREATE=false ;;
  *) echo "TEST_SCENARIO must be default or noautocreate, not $TEST_SCENARIO" >&2; exit 2 ;;
esac
BROKER_SETTINGS=(--set num.partitions=4 --set auto.create.topics.enable=$AUTO_CREATE
  --set default.replication.factor=$(( CLUSTER_BROKERS < 3 ? CLUSTER_BROKERS : 3 )))
# ACLs are enforced, as on the clusters librdkafka's suite is written against: a resource without
# bindings is open to everyone (allow.everyone.if.no.acl.found), and the tests that add bindings
# (0081's ACL sub-tests; 0109, 0115, 0119 through kafka-acls.sh) see them applied. No super user:
# 0081's DescribeTopics/DescribeCluster/DescribeConsumerGroups with authorized operations grant the
# test user READ and then expect to hold exactly what that binding gives.
BROKER_SETTINGS+=(--set authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
  --set allow.everyone.if.no.acl.found=true)
# Under the consumer protocol the session timeout is the broker's, not the client's: the suite's
# consumers ask for session.timeout.ms=6000 (0113's max.poll.interval tests wait for a silent member
# to be removed within 30 s), which librdkafka refuses to send with group.protocol=consumer. The
# heartbeat interval shrinks with it (Kafka's defaults are 45 s and 5 s), or a heartbeat a second
# late on a loaded machine expires a live member.
[ "$TEST_CONSUMER_GROUP_PROTOCOL" = consumer ] &&
  BROKER_SETTINGS+=(--set group.consumer.session.timeout.ms=6000 --set group.consumer.heartbeat.interval.ms=1000)
# The share-consumer tests (0170-0186, KIP-932) run only against a broker said to be 4.2 or later
# (BROKER_VERSION=4.2.0). Some set share.record.lock.duration.ms to a few seconds on their groups;
# librdkafka's own test cluster (tests/cluster_testing.py) lowers the broker's floor for it to 1 s.
case "$BROKER_VERSION" in
  4.[2-9]* | [5-9].*) BROKER_SETTINGS+=(--set group.share.min.record.lock.duration.ms=1000) ;;
esac

SECURITY_PROTOCOL="${SECURITY_PROTOCOL:-PLAINTEXT}"
case "$SECURITY_PROTOCOL" in
  PLAINTEXT | SASL_SSL) ;;
  *) echo "SECURITY_PROTOCOL must be PLAINTEXT or SASL_SSL, not $SECURITY_PROTOCOL" >&2; exit 2 ;;
esac
# The SASL_SSL run writes its user into one broker's data directory before it starts.
if [ "$BROKER_MODE" = cluster ] && [ "$SECURITY_PROTOCOL" != PLAINTEXT ]; then
  echo "CLUSTER_BROKERS runs PLAINTEXT only" >&2; exit 2
fi

"$HERE/build.sh"
TESTS_DIR="$("$HERE/build.sh" --tests-dir)"

# SAMSA_DIST points at another build of the broker, e.g. a copy with a candidate fix applied.
DIST="${SAMSA_DIST:-$ROOT/dist}"
if [ ! -f "$DIST/cli/main.js" ]; then
  echo "$DIST/cli/main.js missing: run npm run build first" >&2
  exit 2
fi

rm -rf "$OUT"
mkdir -p "$OUT/logs"
[ "$BROKER_MODE" = single ] || . "$HERE/cluster.sh"
BROKER_PID=""
PORT=""

# Tests that drive a Kafka distribution's scripts (kafka-topics.sh, kafka-acls.sh) find stand-ins
# in kafka-bin/bin that carry out the same operation with Samsa's CLI against this broker.
export KAFKA_PATH="$HERE/kafka-bin" SAMSA_DIST="$DIST"
# Those tests count the scripts' run time against a fixed budget (0119: 20 s for four kafka-acls.sh
# calls, a 1 s pause and a 15 s consume loop), so they get the timeout multiplier librdkafka's own
# CI runs the whole suite with (3, with CI set); each CLI call costs a Node start.
SCRIPT_TESTS=" 0052 0077 0109 0115 0119 "
# 0098 runs Kafka's Java client through tests/java/run-class.sh; the kafka-run-class.sh stand-in
# carries out its transactional producer's commands with kafkajs. The suite first compiles its Java
# classes against Kafka's kafka-clients jar, which cannot be installed here: emptying the java
# Makefile's CLASSES (make reads MAKEFLAGS) makes that step build nothing.
JAVA_TESTS=" 0098 "
SCRIPT_TIMEOUT_MULTIPLIER="$(awk -v m="${TEST_TIMEOUT_MULTIPLIER:-0}" 'BEGIN { print (m > 3 ? m : 3) }')"

if [ "$SECURITY_PROTOCOL" = SASL_SSL ]; then
  # A CA and a broker certificate for 127.0.0.1 (librdkafka checks the name against the address it
  # dialled), made fresh for each run; the broker's keystore is its key followed by its certificate.
  TLS="$OUT/tls"
  mkdir -p "$TLS"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Samsa test CA" \
      -keyout "$TLS/ca.key" -out "$TLS/ca.pem"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$TLS/broker.key" -out "$TLS/broker.csr"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$TLS/broker.ext"
    openssl x509 -req -in "$TLS/broker.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial \
      -days 2 -extfile "$TLS/broker.ext" -out "$TLS/broker.crt"
  } >"$TLS/openssl.log" 2>&1 || { cat "$TLS/openssl.log" >&2; exit 2; }
  cat "$TLS/broker.key" "$TLS/broker.crt" >"$TLS/broker.pem"
  SASL_USER=testuser
  SASL_PASSWORD="$(openssl rand -hex 16)"
  SASL_MECHANISM=SCRAM-SHA-512
  BROKER_SETTINGS+=(--set listeners=SASL_SSL://127.0.0.1:0 --set sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
    --set ssl.keystore.type=PEM --set "ssl.keystore.location=$TLS/broker.pem")
  CLIENT_SECURITY="security.protocol=SASL_SSL
sasl.mechanisms=$SASL_MECHANISM
sasl.username=$SASL_USER
sasl.password=$SASL_PASSWORD
ssl.ca.location=$TLS/ca.pem"
  # The same login for Samsa's CLI, which the kafka-*.sh stand-ins run.
  printf '%s\nsasl.mechanism=%s\n' "$CLIENT_SECURITY" "$SASL_MECHANISM" | grep -v '^sasl.mechanisms=' >"$OUT/client.properties"
  export SAMSA_COMMAND_CONFIG="$OUT/client.properties"
fi

# test.conf (and test-scripts.conf) for the suite, bootstrapping from $1 (host:port[,host:port...]).
write_test_conf() {
  printf 'metadata.broker.list=%s\n' "$1" >"$OUT/test.conf"
  [ "$SECURITY_PROTOCOL" = PLAINTEXT ] || printf '%s\n' "$CLIENT_SECURITY" >>"$OUT/test.conf"
  { cat "$OUT/test.conf"; echo "test.timeout.multiplier=$SCRIPT_TIMEOUT_MULTIPLIER"; } >"$OUT/test-scripts.conf"
  # librdkafka's CI runs the suite with its timeouts tripled (CI set); TEST_TIMEOUT_MULTIPLIER does that.
  [ -z "${TEST_TIMEOUT_MULTIPLIER:-}" ] || printf 'test.timeout.multiplier=%s\n' "$TEST_TIMEOUT_MULTIPLIER" >>"$OUT/test.conf"
  # test_kafka_topics() passes $BROKERS to kafka-topics.sh as --bootstrap-server.
  export BROKERS="$1"
}

start_broker() {
  if [ "$BROKER_MODE" = cluster ]; then
    start_cluster "$1"
    write_test_conf "$BOOTSTRAP"
    return 0
  fi
  local data="$OUT/data-$1"
  if [ "$SECURITY_PROTOCOL" = SASL_SSL ]; then
    # The test user exists before the broker starts, written offline into its data directory.
    node "$DIST/cli/main.js" users add "$SASL_USER" --password "$SASL_PASSWORD" --mechanism "$SASL_MECHANISM" \
      --data-dir "$data" >"$OUT/users-$1.log" 2>&1 || { cat "$OUT/users-$1.log" >&2; exit 2; }
  fi
  node "$DIST/cli/main.js" serve --port 0 --data-dir "$data" "${BROKER_SETTINGS[@]}" \
    --log-level "${SAMSA_LOG_LEVEL:-info}" >"$OUT/broker-$1.out" 2>"$OUT/broker-$1.log" &
  BROKER_PID=$!
  for _ in $(seq 1 150); do
    if grep -q '^listening on ' "$OUT/broker-$1.out" 2>/dev/null; then
      PORT="$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$OUT/broker-$1.out" | head -1)"
      write_test_conf "127.0.0.1:$PORT"
      echo "== Samsa broker pid $BROKER_PID on $SECURITY_PROTOCOL://127.0.0.1:$PORT (log: $OUT/broker-$1.log)"
      return 0
    fi
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "broker did not start; see $OUT/broker-$1.log" >&2
  tail -20 "$OUT/broker-$1.log" >&2
  exit 2
}

broker_alive() {
  if [ "$BROKER_MODE" = cluster ]; then cluster_alive; else kill -0 "$BROKER_PID" 2>/dev/null; fi
}

stop_broker() {
  [ "$BROKER_MODE" = single ] || stop_cluster
  if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$BROKER_PID" 2>/dev/null || true
  fi
  BROKER_PID=""
}
trap stop_broker EXIT

# Test numbers come from the source file names. 1nnn need non-standard broker setups and 8nnn are
# manual, so only 0nnn run unless named on the command line.
# A number named as NNNN:sub1,sub2 runs only those sub-tests, whatever excluded.txt says of it.
declare -A ONLY_SUBTESTS=()
if [ $# -gt 0 ]; then
  NUMBERS=()
  for arg in "$@"; do
    NUMBERS+=("${arg%%:*}")
    [ "$arg" = "${arg#*:}" ] || ONLY_SUBTESTS[${arg%%:*}]="${arg#*:}"
  done
elif [ "${GROUP_TESTS:-0}" = 1 ]; then
  mapfile -t NUMBERS < <(sed -n 's/^\(0[0-9][0-9][0-9]\)\b.*/\1/p' "$HERE/group-tests.txt")
else
  mapfile -t NUMBERS < <(ls "$TESTS_DIR" | sed -n 's/^\(0[0-9][0-9][0-9]\)-.*\.c\(pp\)\{0,1\}$/\1/p' | sort -u)
fi

exclusion() { # prints "action reason" for a test number, nothing when not listed
  [ "${ALL:-0}" = 1 ] && return 0
  # "xfail@consumer" applies under that group protocol only, "skip@sasl_ssl" under that security
  # protocol only, "skip@single" with one broker only; the first line that applies wins.
  awk -v n="$1" -v proto="$TEST_CONSUMER_GROUP_PROTOCOL" -v sec="$(tr '[:upper:]' '[:lower:]' <<<"$SECURITY_PROTOCOL")" -v mode="$BROKER_MODE" '$1 == n {
      split($2, a, "@"); if (a[2] != "" && a[2] != proto && a[2] != sec && a[2] != mode) next
      $1 = ""; $2 = a[1]; sub(/^ /, ""); print; exit
    }' "$HERE/excluded.txt"
}

strip_ansi() { sed 's/\x1b\[[0-9;]*m//g'; }

run_start=$(date +%s)
generation=1
start_broker $generation
printf 'number\tresult\tseconds\tdetail\n' >"$OUT/results.tsv"
declare -A COUNT=([passed]=0 [failed]=0 [xfail]=0 [xpass]=0 [excluded]=0 [skipped]=0)
UNEXPECTED=()

# Runs test number $1 (restricted to sub-tests matching $2 when given) and sets RESULT, DETAIL.
run_one() {
  local n="$1" sub="${2:-}" log rc rows npass nfail conf="$OUT/test.conf" makeflags="${MAKEFLAGS:-}"
  log="$OUT/logs/$n${sub:+.$sub}.log"
  [[ "$SCRIPT_TESTS" == *" $n "* ]] && conf="$OUT/test-scripts.conf"
  [[ "$JAVA_TESTS" == *" $n "* ]] && makeflags="CLASSES="
  set +e
  # Braces, not just the subshell, so the shell's own "Aborted" notice (the runner abort()s on a
  # failed assertion) lands in the log too.
  { (cd "$TESTS_DIR" && TESTS="$n" SUBTESTS="$sub" RDKAFKA_TEST_CONF="$conf" MAKEFLAGS="$makeflags" \
    LD_LIBRARY_PATH="../src:../src-cpp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    TEST_KAFKA_VERSION="$BROKER_VERSION" timeout -k 10 "$TEST_TIMEOUT" ./test-runner "${RUNNER_FLAGS[@]}"); } >"$log" 2>&1
  rc=$?
  set -e

  # The runner's summary table: "| <name> | PASSED|FAILED|SKIPPED | <secs>s | <reason>".
  rows="$(strip_ansi <"$log" | awk -F'|' 'NF >= 4 && $2 ~ /^ [0-9][0-9][0-9][0-9]_/ { gsub(/ /, "", $2); gsub(/ /, "", $3); print $2 " " $3 }')"
  npass=$(grep -c ' PASSED$' <<<"$rows" || true)
  nfail=$(grep -c ' FAILED$' <<<"$rows" || true)
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    # 124/137: our timeout, or the runner's own per-test timeout (it then kills itself)
    RESULT=failed
    DETAIL="$(strip_ansi <"$log" | grep -m1 -o 'Test .* timed out (timeout set to [0-9]* seconds)' || echo "timed out after ${TEST_TIMEOUT}s")"
  elif [ "$nfail" -gt 0 ] || { [ "$rc" != 0 ] && [ "$npass" = 0 ]; }; then
    RESULT=failed
    DETAIL="$(strip_ansi <"$log" | grep -m1 -A1 -E '^### Test .* failed' | tr '\n' ' ' | cut -c1-300 || true)"
    [ -n "$DETAIL" ] || DETAIL="exit status $rc"
  elif [ "$npass" -gt 0 ]; then
    RESULT=passed; DETAIL="$(tr '\n' ' ' <<<"$rows")"
  else
    RESULT=skipped
    DETAIL="$(strip_ansi <"$log" | grep -m1 -E 'SKIPPING|SKIPPED' | sed 's/^[^|]*|//' | cut -c1-200 || true)"
  fi
  DETAIL="${sub:+[$sub] }$DETAIL"
}

for n in "${NUMBERS[@]}"; do
  ex="$(exclusion "$n")"
  [ -z "${ONLY_SUBTESTS[$n]:-}" ] || ex="subtests ${ONLY_SUBTESTS[$n]} named on the command line"
  action="${ex%% *}"
  reason="${ex#* }"
  t0=$(date +%s)
  case "$action" in
    skip)
      printf '%s\texcluded\t0\t%s\n' "$n" "$reason" >>"$OUT/results.tsv"
      COUNT[excluded]=$(( COUNT[excluded] + 1 ))
      continue
      ;;
    subtests | split)
      # Only the listed sub-tests run, each in its own process: one that cannot pass here (the
      # reason says why) would otherwise abort the ones after it. "split" lists them all, for a
      # test whose whole run does not fit the time it gives itself.
      list="${reason%% *}"; reason="${reason#* }"
      result=""; details=""
      for sub in ${list//,/ }; do
        run_one "$n" "$sub"
        if [ "$RESULT" = failed ] || [ -z "$result" ] || { [ "$RESULT" = passed ] && [ "$result" = skipped ]; }; then
          [ "$result" = failed ] || result="$RESULT"
        fi
        [ "$RESULT" = passed ] || details="$details$DETAIL; "
      done
      if [ "$action" = split ]; then DETAIL="each sub-test in its own process (${reason}); ${details:-all passed}"
      else DETAIL="only sub-tests $list (${reason}); ${details:-all passed}"; fi
      RESULT="$result"
      ;;
    *) run_one "$n" ;;
  esac
  secs=$(( $(date +%s) - t0 ))
  if [ "$action" = xfail ]; then
    case "$RESULT" in
      failed) RESULT=xfail ;;
      passed) RESULT=xpass; DETAIL="expected to fail ($reason) but passed: remove it from excluded.txt" ;;
    esac
  fi
  COUNT[$RESULT]=$(( COUNT[$RESULT] + 1 ))
  [ "$RESULT" = failed ] && UNEXPECTED+=("$n")
  printf '%s\t%s\t%s\t%s\n' "$n" "$RESULT" "$secs" "$DETAIL" >>"$OUT/results.tsv"
  printf '%-5s %-8s %4ss  %s\n' "$n" "$RESULT" "$secs" "$(cut -c1-110 <<<"$DETAIL")"

  if ! broker_alive; then
    logs="$OUT/broker-$generation.log"
    [ "$BROKER_MODE" = single ] || logs="$OUT/broker-$generation-node*.log, $OUT/etcd-$generation.log"
    echo "!! broker exited during test $n; restarting (see $logs)"
    printf '%s\tbroker-exit\t0\tbroker process exited during this test\n' "$n" >>"$OUT/results.tsv"
    UNEXPECTED+=("$n(broker exit)")
    stop_broker
    generation=$(( generation + 1 ))
    start_broker $generation
  fi
done
stop_broker

total=$(( $(date +%s) - run_start ))
ran=$(( COUNT[passed] + COUNT[failed] + COUNT[xfail] + COUNT[xpass] ))
echo "== librdkafka suite against Samsa ($SECURITY_PROTOCOL, group.protocol=$TEST_CONSUMER_GROUP_PROTOCOL, $([ "${FULL:-0}" = 1 ] && echo full || echo quick) mode): ${#NUMBERS[@]} test numbers in ${total}s"
echo "   ran $ran: passed ${COUNT[passed]}, failed ${COUNT[failed]}, expected failures ${COUNT[xfail]}, unexpected passes ${COUNT[xpass]}"
echo "   not run: excluded ${COUNT[excluded]}, skipped by the suite itself (local-only, scenario or version) ${COUNT[skipped]}"
echo "   results: $OUT/results.tsv"
if [ ${#UNEXPECTED[@]} -gt 0 ]; then
  echo "   unexpected failures: ${UNEXPECTED[*]} (logs in $OUT/logs)" >&2
  exit 1
fi
