# Sourced by run.sh when CLUSTER_BROKERS is 2 or more: a real etcd and that many Samsa brokers in
# cluster mode (`samsa serve --cluster`), each its own process with its own data directory and node
# id, on free loopback ports. Broker i is in rack RACKi, the racks of librdkafka's own test cluster
# (0101 looks for three), and every broker sends a consumer to a replica in its client.rack
# (replica.selector.class, KIP-392), as 0101 expects. Uses run.sh's OUT, DIST, BROKER_SETTINGS and SAMSA_LOG_LEVEL.
#
#   start_cluster GEN   etcd and the brokers under $OUT/cluster-GEN; sets BOOTSTRAP (host:port,...)
#                       once every broker is registered and the controller sees all of them
#   cluster_alive       status 0 while etcd and every broker run
#   stop_cluster        SIGTERM (controlled shutdown) to every broker, then etcd

ETCD_BINARY="${SAMSA_ETCD:-/usr/bin/etcd}"
ETCD_PID=""
CLUSTER_PIDS=()
BOOTSTRAP=""

# etcd's command line and free ports come from the CLI's own module (samsa dev-cluster uses it), so
# the short raft timers and loopback-only listeners are the same here.
cluster_node() { node --input-type=module -e "const m = await import('$DIST/cli/lib/etcd-process.js'); $1"; }

start_cluster() {
  local dir="$OUT/cluster-$1" ports client peer i pid deadline etcd_args
  [ -x "$ETCD_BINARY" ] || { echo "no etcd at $ETCD_BINARY (apt-get install etcd-server, or SAMSA_ETCD=PATH)" >&2; exit 2; }
  mkdir -p "$dir"
  ports="$(cluster_node 'console.log(await m.freePort(), await m.freePort())')"
  client="http://127.0.0.1:${ports% *}" peer="http://127.0.0.1:${ports#* }"
  mapfile -t etcd_args < <(cluster_node "console.log(m.etcdArgs({ name: 'rdk', dataDir: '$dir/etcd', endpoint: '$client', peer: '$peer' }).join('\n'))")
  "$ETCD_BINARY" "${etcd_args[@]}" >"$OUT/etcd-$1.log" 2>&1 &
  ETCD_PID=$!
  deadline=$(( $(date +%s) + 30 ))
  until node -e "fetch('$client/health').then((r) => r.json()).then((h) => process.exit(h.health === 'true' ? 0 : 1), () => process.exit(1))"; do
    kill -0 "$ETCD_PID" 2>/dev/null || { echo "etcd exited; see $OUT/etcd-$1.log" >&2; tail -20 "$OUT/etcd-$1.log" >&2; exit 2; }
    [ "$(date +%s)" -lt "$deadline" ] || { echo "etcd did not become healthy within 30 s; see $OUT/etcd-$1.log" >&2; exit 2; }
    sleep 0.2
  done
  echo "== etcd pid $ETCD_PID on $client (log: $OUT/etcd-$1.log)"

  CLUSTER_PIDS=()
  for i in $(seq 1 "$CLUSTER_BROKERS"); do
    node "$DIST/cli/main.js" serve --cluster "etcd://${client#http://}/samsa" --node-id "$i" --port 0 \
      --data-dir "$dir/node-$i" "${BROKER_SETTINGS[@]}" --set "broker.rack=RACK$i" \
      --set replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector --log-level "${SAMSA_LOG_LEVEL:-info}" \
      >"$OUT/broker-$1-node$i.out" 2>"$OUT/broker-$1-node$i.log" &
    CLUSTER_PIDS+=($!)
  done
  local addresses=()
  for i in $(seq 1 "$CLUSTER_BROKERS"); do
    pid="${CLUSTER_PIDS[$((i - 1))]}"
    for _ in $(seq 1 300); do
      grep -q '^listening on ' "$OUT/broker-$1-node$i.out" 2>/dev/null && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if ! grep -q '^listening on ' "$OUT/broker-$1-node$i.out" 2>/dev/null; then
      echo "broker $i did not start; see $OUT/broker-$1-node$i.log" >&2
      tail -20 "$OUT/broker-$1-node$i.log" >&2
      exit 2
    fi
    addresses+=("$(sed -n 's/^listening on \(.*:[0-9]*\)$/\1/p' "$OUT/broker-$1-node$i.out" | head -1)")
    echo "== Samsa broker $i pid $pid on ${addresses[-1]} (log: $OUT/broker-$1-node$i.log)"
  done
  BOOTSTRAP="$(IFS=,; echo "${addresses[*]}")"
  # Topics with replication factor N are created only once the controller knows N live brokers.
  deadline=$(( $(date +%s) + 60 ))
  until [ "$(node "$DIST/cli/main.js" cluster status -b "$BOOTSTRAP" --json 2>/dev/null |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { try { const j = JSON.parse(s); console.log(j.controller >= 0 ? j.brokers.length : 0) } catch { console.log(0) } })')" = "$CLUSTER_BROKERS" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "the cluster did not show $CLUSTER_BROKERS brokers and a controller within 60 s" >&2; exit 2; }
    sleep 0.5
  done
  echo "== cluster of $CLUSTER_BROKERS brokers: $BOOTSTRAP"
}

cluster_alive() {
  local pid
  kill -0 "$ETCD_PID" 2>/dev/null || return 1
  for pid in "${CLUSTER_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || return 1; done
}

stop_cluster() {
  local pid
  for pid in "${CLUSTER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${CLUSTER_PIDS[@]}"; do
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  CLUSTER_PIDS=()
  if [ -n "$ETCD_PID" ]; then
    kill -TERM "$ETCD_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$ETCD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$ETCD_PID" 2>/dev/null || true
  fi
  ETCD_PID=""
}
