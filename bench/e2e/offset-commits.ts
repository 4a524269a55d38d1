// Offset commits per second: one `samsa serve` broker next to three `samsa serve --cluster` brokers on
// etcd with `offsets.topic.replication.factor=3`, all started at once on this machine. On each side
// N groups commit in a tight loop, each its own connection to its coordinator (FindCoordinator),
// one OffsetCommit in flight per group (as a consumer committing synchronously), every commit
// `--partitions` partitions of one topic at new offsets; simple commits (generation -1, no member),
// so the group's membership is not what is measured. On one broker a commit is answered once its
// record is fsynced to the group's partition of __consumer_offsets; on the cluster once it is also
// in every in-sync replica. Rounds alternate (single, cluster, cluster, single, ...) so both see the
// same machine; the ratio is of the medians of the rounds, each round's figure in the output.
//
//   node dist/bench/e2e/offset-commits.js [--rounds 6] [--seconds 5] [--warmup 5] [--groups 8] [--partitions 4]
//
// Needs /usr/bin/etcd (or SAMSA_ETCD). Prints one JSON document and table rows.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { OffsetCommitApi } from '../../protocol/generated/offset-commit.js'
import type { BrokerConnection } from '../../broker/client/connection.js'
import { partitionForKey } from '../../broker/coordinator-state/state-topic.js'
import { connect } from '../load/connection.js'
import { BenchCluster, createTopic, findCoordinator, OFFSETS_TOPIC, partitionState, percentile, waitUntil } from './coordinator.js'
import { stopService } from './procs.js'
import { startSamsa, type SamsaServer } from './samsa.js'
import { median } from './cluster-bench.js'

const argv = process.argv.slice(2)
const args = new Map<string, string>()
for (let i = 0; i < argv.length; i += 2) args.set(argv[i]!.replace(/^--/, ''), argv[i + 1] ?? '')
const ROUNDS = Number(args.get('rounds') ?? 6)
const SECONDS = Number(args.get('seconds') ?? 5)
const GROUPS = Number(args.get('groups') ?? 8)
const PARTITIONS = Number(args.get('partitions') ?? 4)
const WARMUP_SECONDS = Number(args.get('warmup') ?? 5)
const TOPIC = 'commits'

interface Side {
  name: 'single' | 'rf3'
  brokers: SamsaServer[]
  /** Per group: a connection to its coordinator and the coordinator's node id. */
  groups: Array<{ id: string; conn: BrokerConnection; coordinator: number }>
}

interface Round {
  commitsPerSec: number
  errors: number
  latencyMs: number[]
}

/** Connects each group to its coordinator, once every group has one (the first FindCoordinator creates __consumer_offsets). */
async function attach(name: Side['name'], brokers: SamsaServer[]): Promise<Side> {
  const groups: Side['groups'] = []
  for (let g = 0; g < GROUPS; g++) {
    const id = `bench-commit-${g}`
    let found: Awaited<ReturnType<typeof findCoordinator>>
    await waitUntil(`a coordinator for ${id}`, async () => (found = await findCoordinator(brokers[0]!, id)) !== undefined)
    groups.push({ id, conn: await connect(found!.host, found!.port), coordinator: found!.nodeId })
  }
  return { name, brokers, groups }
}

/** Every group commits in a closed loop for `seconds`: commits per second over all groups and each commit's latency. */
async function round(side: Side, seconds: number, base: { offset: number }): Promise<Round> {
  const latencyMs: number[] = []
  let commits = 0
  let errors = 0
  const started = performance.now()
  const end = started + seconds * 1000
  await Promise.all(side.groups.map(async (g) => {
    while (performance.now() < end) {
      const offset = ++base.offset
      const t0 = performance.now()
      const res = await g.conn.request(OffsetCommitApi, 8, {
        groupId: g.id,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: [{ name: TOPIC, partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partitionIndex: p, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null })) }],
      })
      const t1 = performance.now()
      if (res.topics.every((t) => t.partitions.every((p) => p.errorCode === 0))) {
        commits++
        latencyMs.push(t1 - t0)
      } else errors++
    }
  }))
  return { commitsPerSec: commits / ((performance.now() - started) / 1000), errors, latencyMs }
}

async function main(): Promise<void> {
  const loadAverageAtStart = os.loadavg()
  const root = mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-commits-'))
  let cluster: BenchCluster | undefined
  let single: SamsaServer | undefined
  const sides: Side[] = []
  try {
    single = await startSamsa(path.join(root, 'single'), [], { 'num.partitions': '1' })
    cluster = await BenchCluster.start(root, { 'offsets.topic.replication.factor': '3' })
    const clusterBrokers = [...cluster.brokers.values()]
    await createTopic([single], TOPIC, PARTITIONS, 1)
    await createTopic(clusterBrokers, TOPIC, PARTITIONS, 3, { 'min.insync.replicas': '2' })
    sides.push(await attach('single', [single]))
    sides.push(await attach('rf3', clusterBrokers))
    // Every partition of __consumer_offsets that a group commits to has its full ISR before timing.
    const rf3 = sides[1]!
    await waitUntil('full ISRs on __consumer_offsets', async () => {
      for (const g of rf3.groups) {
        const st = await partitionState(clusterBrokers[0]!, OFFSETS_TOPIC, partitionForKey(g.id, 50))
        if (st.isr.length !== 3) return false
      }
      return true
    })
    const base = { offset: 0 }
    // Warm-up, counted nowhere: the cluster's commit rate climbs over its first seconds of load.
    for (const side of sides) await round(side, WARMUP_SECONDS, base)
    const rounds: Record<Side['name'], Round[]> = { single: [], rf3: [] }
    for (let r = 0; r < ROUNDS; r++) {
      for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
        const res = await round(side, SECONDS, base)
        rounds[side.name].push(res)
        process.stderr.write(`round ${r + 1} ${side.name}: ${Math.round(res.commitsPerSec)} commits/s, p50 ${median(res.latencyMs).toFixed(2)} ms, p99 ${percentile(res.latencyMs, 0.99).toFixed(2)} ms, errors ${res.errors}\n`)
      }
    }
    const summary = (name: Side['name']) => {
      const rs = rounds[name]
      const all = rs.flatMap((r) => r.latencyMs)
      return {
        commitsPerSec: rs.map((r) => Math.round(r.commitsPerSec)),
        commitsPerSecMedian: median(rs.map((r) => r.commitsPerSec)),
        latencyMsP50: median(all),
        latencyMsP99: percentile(all, 0.99),
        roundP99Ms: rs.map((r) => Number(percentile(r.latencyMs, 0.99).toFixed(2))),
        errors: rs.reduce((s, r) => s + r.errors, 0),
      }
    }
    const s = summary('single')
    const c = summary('rf3')
    const perRound = rounds.rf3.map((r, i) => r.commitsPerSec / rounds.single[i]!.commitsPerSec)
    const result = {
      machine: { cores: os.cpus().length, loadAverageAtStart, loadAverageAtEnd: os.loadavg() },
      settings: { rounds: ROUNDS, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, groups: GROUPS, partitionsPerCommit: PARTITIONS, commitsInFlightPerGroup: 1, offsetCommitVersion: 8, offsetsTopicReplicationFactor: 3, clusterCoordinators: rf3.groups.map((g) => g.coordinator) },
      single: s,
      rf3: c,
      ratio: { rf3OverSingle: c.commitsPerSecMedian / s.commitsPerSecMedian, perRound: perRound.map((x) => Number(x.toFixed(2))), min: Math.min(...perRound), max: Math.max(...perRound) },
    }
    console.log(JSON.stringify(result, null, 2))
    const row = (label: string, x: typeof s) => `| ${label} | ${Math.round(x.commitsPerSecMedian).toLocaleString('en-US')} commits/s | p50 ${x.latencyMsP50.toFixed(2)} ms | p99 ${x.latencyMsP99.toFixed(2)} ms |`
    console.log(row('one broker', s))
    console.log(row('three brokers, offsets.topic.replication.factor 3', c))
    console.log(`| RF 3 / one broker | ${result.ratio.rf3OverSingle.toFixed(2)} (rounds ${result.ratio.perRound.join(', ')}) | | |`)
  } finally {
    for (const side of sides) for (const g of side.groups) g.conn.close()
    if (single) await stopService(single.service.child).catch(() => {})
    await cluster?.stop()
    rmSync(root, { recursive: true, force: true })
  }
}

await main()
