// Group coordinator failover after kill -9, on one machine: etcd and three `samsa serve --cluster`
// processes with `offsets.topic.replication.factor=3`. A consumer group of one member (librdkafka by
// default, auto-committing every 100 ms; or kafkajs committing after every record) reads a topic of
// 3 partitions (replication factor 3) that a producer writes a record to every 20 ms per partition.
// Each round waits for full ISRs, SIGKILLs the broker leading the group's partition of
// __consumer_offsets (its coordinator) and times from the kill to:
//   - commit probe: the first OffsetCommit the new coordinator accepts, from a second client that
//     asks a live broker's FindCoordinator and commits every 20 ms for a group id of the same
//     __consumer_offsets partition (the coordinator's own recovery, as failover.ts times a
//     partition leader's);
//   - member commit: the first commit of the member's the new coordinator took, seen by the probe
//     (OffsetFetch after each of its commits) as the group's committed offsets moving past what the
//     new coordinator first answered;
//   - member records: the first record produced after the kill that the member receives.
// Then it starts the killed broker again and waits for full ISRs and the member committing. The
// dead broker's lease in etcd (broker.session.timeout.ms) has to expire before another leader of the
// partition is elected, so it dominates, as for partition leaders.
//
//   node dist/bench/e2e/coordinator-failover.js [--kills 20] [--session-ms 9000] [--quick]
//                                                [--client librdkafka|kafkajs] [--kafkajs-log 1]
//
// --quick: 5 kills. --kafkajs-log: kafkajs's debug log on stdout, to see where its time goes. Needs
// /usr/bin/etcd (or SAMSA_ETCD), and for librdkafka @confluentinc/kafka-javascript in .cache/ckjs.
// Prints one JSON document and table rows.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { BrokerConnection } from '../../broker/client/connection.js'
import { partitionForKey } from '../../broker/coordinator-state/state-topic.js'
import { OffsetCommitApi } from '../../protocol/generated/offset-commit.js'
import { OffsetFetchApi } from '../../protocol/generated/offset-fetch.js'
import { ProduceApi } from '../../protocol/generated/produce.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { connect } from '../load/connection.js'
import { BenchCluster, createTopic, findCoordinator, OFFSETS_TOPIC, partitionState, percentile, waitUntil, within } from './coordinator.js'
import { kafkajsMember, librdkafkaMember, type GroupMember } from './failover-consumers.js'
import { sleep } from './procs.js'
import { benchArgs } from './cluster-bench.js'

const args = benchArgs()
const KILLS = Number(args.get('kills') ?? (args.has('quick') ? 5 : 20))
const SESSION_MS = Number(args.get('session-ms') ?? 9000)
const TOPIC = 'work'
const PARTITIONS = 3
const GROUP = 'bench-coordinator-failover'
const OFFSETS_PARTITIONS = 50
const TICK_MS = 20
const GIVE_UP_MS = 120_000
const CLIENT = args.get('client') ?? 'librdkafka'

/** A group id other than GROUP whose records go to the same partition of __consumer_offsets. */
function probeGroupFor(group: string): string {
  const target = partitionForKey(group, OFFSETS_PARTITIONS)
  for (let i = 0; ; i++) if (partitionForKey(`probe-${i}`, OFFSETS_PARTITIONS) === target) return `probe-${i}`
}

/** Times at which things happened, in performance.now() of this process. */
const events = { probeCommits: [] as Array<{ at: number; node: number }>, groupOffsets: [] as Array<{ at: number; node: number; sum: number }>, consumerCommits: [] as number[], received: [] as Array<{ at: number; sentAt: number }> }

async function main(): Promise<void> {
  const loadAverageAtStart = os.loadavg()
  const root = mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-coord-failover-'))
  const cluster = await BenchCluster.start(root, { 'broker.session.timeout.ms': String(SESSION_MS), 'offsets.topic.replication.factor': '3' })
  let running = true
  let member: GroupMember | undefined
  const tasks: Array<Promise<void>> = []
  try {
    await createTopic(cluster.brokers.values(), TOPIC, PARTITIONS, 3, { 'min.insync.replicas': '2' })
    const offsetsPartition = partitionForKey(GROUP, OFFSETS_PARTITIONS)
    const probeGroup = probeGroupFor(GROUP)
    // The first FindCoordinator creates __consumer_offsets.
    await waitUntil('a coordinator for the group', async () => (await findCoordinator(cluster.anyLive(), GROUP)) !== undefined)
    const fullIsrs = async () => {
      const s = cluster.anyLive()
      const parts = [await partitionState(s, OFFSETS_TOPIC, offsetsPartition), ...(await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => partitionState(s, TOPIC, p))))]
      return parts.every((p) => p.leader >= 0 && p.isr.length === 3)
    }
    await waitUntil('full ISRs', fullIsrs)

    tasks.push(produceLoop(cluster, () => running))
    tasks.push(probeLoop(cluster, probeGroup, () => running))
    const watched = { onCommit: () => events.consumerCommits.push(performance.now()), onRecord: (sentAt: number) => events.received.push({ at: performance.now(), sentAt }) }
    const bootstrap = [...cluster.brokers.values()].map((b) => b.bootstrap)
    member = CLIENT === 'kafkajs' ? kafkajsMember(bootstrap, GROUP, TOPIC, watched, args.has('kafkajs-log')) : librdkafkaMember(bootstrap, GROUP, TOPIC, watched)
    await member.start()

    const after = <T>(xs: readonly T[], at: (x: T) => number, t: number, ok: (x: T) => boolean = () => true) => xs.find((x) => at(x) > t && ok(x))
    const steady = async () => {
      const t = performance.now()
      await waitUntil('the consumer receiving and committing', async () => after(events.consumerCommits, (x) => x, t) !== undefined && after(events.received, (x) => x.sentAt, t) !== undefined && after(events.probeCommits, (x) => x.at, t) !== undefined)
    }
    await steady()

    const rounds: Array<{ victim: number; newCoordinator: number; victimLedData: boolean; probeCommitMs: number; consumerCommitMs: number; consumerRecordsMs: number }> = []
    for (let k = 0; k < KILLS; k++) {
      await waitUntil('full ISRs', fullIsrs)
      await steady()
      const victim = (await partitionState(cluster.anyLive(), OFFSETS_TOPIC, offsetsPartition)).leader
      const dataLeaders = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => partitionState(cluster.anyLive(), TOPIC, p)))
      const killedAt = performance.now()
      const { exited } = cluster.kill(victim)
      let probe, commit, record
      for (;;) {
        probe = after(events.probeCommits, (x) => x.at, killedAt, (x) => x.node !== victim)
        // The member's first commit at the new coordinator: its committed offsets there move past
        // what the new coordinator first answered (what it read back from the replicated log).
        const atNew = events.groupOffsets.filter((x) => x.at > killedAt && x.node !== victim)
        commit = atNew.find((x) => x.sum > atNew[0]!.sum)?.at
        record = after(events.received, (x) => x.sentAt, killedAt)
        if (probe && commit !== undefined && record) break
        if (performance.now() - killedAt > GIVE_UP_MS) throw new Error(`kill ${k + 1}: not recovered within ${GIVE_UP_MS / 1000} s (probe ${!!probe}, consumer commit ${commit !== undefined}, records ${!!record})`)
        await sleep(TICK_MS)
      }
      const r = { victim, newCoordinator: probe.node, victimLedData: dataLeaders.some((p) => p.leader === victim), probeCommitMs: probe.at - killedAt, consumerCommitMs: commit! - killedAt, consumerRecordsMs: record.at - killedAt }
      rounds.push(r)
      process.stderr.write(`kill ${k + 1}/${KILLS}: coordinator ${victim} -> ${r.newCoordinator}: probe commit ${r.probeCommitMs.toFixed(0)} ms, member commit ${r.consumerCommitMs.toFixed(0)} ms, records ${r.consumerRecordsMs.toFixed(0)} ms${r.victimLedData ? ' (victim also led a data partition)' : ''}\n`)
      await exited
      await cluster.start(victim)
    }
    const stats = (xs: number[]) => ({ p50: percentile(xs, 0.5), max: Math.max(...xs), min: Math.min(...xs) })
    const result = {
      machine: { cores: os.cpus().length, loadAverageAtStart, loadAverageAtEnd: os.loadavg() },
      settings: { kills: KILLS, brokerSessionTimeoutMs: SESSION_MS, offsetsTopicReplicationFactor: 3, dataPartitions: PARTITIONS, dataReplicationFactor: 3, minInsyncReplicas: 2, tickMs: TICK_MS, group: GROUP, probeGroup, offsetsPartition, member: { client: member.client, ...member.settings } },
      rounds,
      probeCommitMs: stats(rounds.map((r) => r.probeCommitMs)),
      consumerCommitMs: stats(rounds.map((r) => r.consumerCommitMs)),
      consumerRecordsMs: stats(rounds.map((r) => r.consumerRecordsMs)),
    }
    console.log(JSON.stringify(result, null, 2))
    const s = (x: { p50: number; max: number }) => `p50 ${(x.p50 / 1000).toFixed(2)} s, max ${(x.max / 1000).toFixed(2)} s`
    const where = `${KILLS} kills, broker.session.timeout.ms ${SESSION_MS}`
    console.log(`| coordinator kill -9 to first OffsetCommit accepted by the new coordinator (${where}) | ${s(result.probeCommitMs)} |`)
    console.log(`| ... to the ${member.client} member's first commit at the new coordinator | ${s(result.consumerCommitMs)} |`)
    console.log(`| ... to the ${member.client} member's first record produced after the kill | ${s(result.consumerRecordsMs)} |`)
  } finally {
    running = false
    await member?.stop().catch(() => {})
    await Promise.all(tasks)
    await cluster.stop()
    rmSync(root, { recursive: true, force: true })
  }
}

/**
 * Every TICK_MS, one record (its send time as the value) to each partition of TOPIC, at its leader
 * as a live broker names it, acks=1; each partition on its own, so a dead leader holds up only its own.
 */
async function produceLoop(cluster: BenchCluster, running: () => boolean): Promise<void> {
  await Promise.all(Array.from({ length: PARTITIONS }, async (_, p) => {
    let conn: { leader: number; c: BrokerConnection } | undefined
    while (running()) {
      try {
        const { leader } = await partitionState(cluster.anyLive(), TOPIC, p)
        const s = cluster.brokers.get(leader)
        if (s !== undefined) {
          if (conn?.leader !== leader) {
            conn?.c.close()
            conn = { leader, c: await within(2000, connect(s.host, s.port)) }
          }
          const value = Buffer.from(String(performance.now()))
          await within(3000, conn.c.request(ProduceApi, 9, { transactionalId: null, acks: 1, timeoutMs: 2000, topicData: [{ name: TOPIC, partitionData: [{ index: p, records: encodeBatch([{ key: null, value }]) }] }] }))
        }
      } catch {
        // A dead or fenced leader: asked again on the next tick.
        conn?.c.close()
        conn = undefined
      }
      await sleep(TICK_MS)
    }
    conn?.c.close()
  }))
}

/** Every TICK_MS, a simple OffsetCommit for `group` at its coordinator as a live broker names it; each accepted one is recorded. */
async function probeLoop(cluster: BenchCluster, group: string, running: () => boolean): Promise<void> {
  let offset = 0
  while (running()) {
    try {
      const coord = await findCoordinator(cluster.anyLive(), group)
      if (coord !== undefined && cluster.brokers.has(coord.nodeId)) {
        const c = await within(2000, connect(coord.host, coord.port))
        try {
          const res = await within(3000, c.request(OffsetCommitApi, 8, { groupId: group, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: ++offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }] }))
          if (res.topics[0]!.partitions[0]!.errorCode === 0) events.probeCommits.push({ at: performance.now(), node: coord.nodeId })
          const fetched = await within(3000, c.request(OffsetFetchApi, 7, { groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: Array.from({ length: PARTITIONS }, (_, p) => p) }], groups: [], requireStable: false }))
          const parts = fetched.topics[0]?.partitions ?? []
          if (fetched.errorCode === 0 && parts.length === PARTITIONS && parts.every((p) => p.errorCode === 0)) {
            events.groupOffsets.push({ at: performance.now(), node: coord.nodeId, sum: parts.reduce((n, p) => n + Math.max(0, p.committedOffset), 0) })
          }
        } finally {
          c.close()
        }
      }
    } catch {
      // No coordinator yet, or it died under the request.
    }
    await sleep(TICK_MS)
  }
}

await main()
process.exit(0)
