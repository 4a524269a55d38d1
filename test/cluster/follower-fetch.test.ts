// Fetching from the closest replica (KIP-392) on three brokers in racks a, b and c, the partition
// led by broker 1 (rack a). With replica.selector.class set to Kafka's RackAwareReplicaSelector,
// the leader sends a consumer in rack b to broker 2, which serves it up to the high watermark it
// learned from the leader: librdkafka with client.rack reads every record from there (each
// broker's /metrics tells which one sent the records), also through a kill -9 of the leader. Plain
// Fetch requests pin down the answers: preferredReadReplica from the leader, Kafka's errors from a
// follower, long polls and fetch sessions on a follower. Without the selector, the leader serves.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'
import { assertAvailable, probePythonModule, PYTHON, skipNote } from '../helpers/external-clients.js'
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.js'
import { recordsOf } from '../helpers/read-partition.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import { FetchApi, type FetchResponse } from '../../protocol/generated/fetch.js'
import { ListOffsetsApi } from '../../protocol/generated/list-offsets.js'
import { MetadataApi } from '../../protocol/generated/metadata.js'
import { OffsetForLeaderEpochApi } from '../../protocol/generated/offset-for-leader-epoch.js'
import { ErrorCode } from '../../protocol/errors.js'

const { Kafka, logLevel } = kafkajs
const here = path.dirname(fileURLToPath(import.meta.url))
const CONSUMER = path.join(here, 'rack-consumer.py')
const RACK_AWARE = 'org.apache.kafka.common.replica.RackAwareReplicaSelector'
const ZERO_UUID = '00000000-0000-0000-0000-000000000000'
const confluent = probePythonModule('confluent_kafka')
const rackOf = (nodeId: number) => ({ 'broker.rack': `rack-${'abc'[nodeId - 1]}` })
// Broker 3 is frozen for a moment in one case: a longer lease keeps it in the cluster meanwhile.
const racksAndLeases = (nodeId: number) => ({ ...rackOf(nodeId), ...(nodeId === 3 ? { 'broker.session.timeout.ms': '8000' } : {}) })

type Line = { o?: number; v?: string; error?: string; done?: number }
type PartitionAnswer = FetchResponse['responses'][number]['partitions'][number]

function kafka(brokers: string[]) {
  return new Kafka({ clientId: 'follower-fetch-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 15, initialRetryTime: 100, maxRetryTime: 1000 } })
}

/** Creates `topic` with one partition on `replicas` (the first leads) and waits until every replica is in its ISR. */
async function createTopic(cluster: TestCluster, topic: string, replicas: number[]): Promise<void> {
  await withAdmin(kafka(cluster.bootstrap()), async (a) => {
    await a.createTopics({ topics: [{ topic, replicaAssignment: [{ partition: 0, replicas }] }], waitForLeaders: true })
    await waitFor(
      async () => {
        const p = (await a.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions[0]!
        return p.leader === replicas[0] && p.isr.length === replicas.length
      },
      { timeoutMs: 15_000, what: `${topic} led by ${replicas[0]} with a full ISR` },
    )
  })
}

async function produce(cluster: TestCluster, topic: string, from: number, count: number, acks = -1, bootstrap = cluster.bootstrap()): Promise<void> {
  const producer = kafka(bootstrap).producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    for (let i = from; i < from + count; i += 50) {
      const n = Math.min(50, from + count - i)
      await producer.send({ topic, acks, messages: Array.from({ length: n }, (_, k) => ({ partition: 0, value: `r-${i + k}` })) })
    }
  } finally {
    await producer.disconnect()
  }
}

/** Record bytes a broker sent to consumers for `topic` (its /metrics). */
async function bytesOut(cluster: TestCluster, nodeId: number, topic: string): Promise<number> {
  const res = await fetch(`${cluster.broker(nodeId).child!.httpUrl!}/metrics`)
  return sumOf(parsePrometheusText(await res.text()), 'kafka_server_brokertopicmetrics_bytesout_total', { topic })
}

/** A rack-consumer.py process reading `count` records, its JSON lines collected as they come. */
function rackConsumer(bootstrap: string[], topic: string, rack: string, count: number) {
  const lines: Line[] = []
  let stderr = ''
  let buf = ''
  const proc = spawn(PYTHON, [CONSUMER, bootstrap.join(','), topic, '0', rack, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] })
  proc.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d
    const parts = buf.split('\n')
    buf = parts.pop()!
    for (const l of parts) if (l.trim() !== '') lines.push(JSON.parse(l) as Line)
  })
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
  return { lines, exited, stderr: () => stderr, records: () => lines.filter((l) => l.v !== undefined) }
}

// Long polls wait longer than a test may run: only the wake-up being checked can end them in time.
const LONG_POLL_MS = 300_000

async function connect(cluster: TestCluster, nodeId: number): Promise<BrokerConnection> {
  return BrokerConnection.connect(cluster.address(nodeId), { clientId: 'follower-fetch-test', connectTimeoutMs: 5000, requestTimeoutMs: LONG_POLL_MS + 30_000 })
}

interface FetchArgs {
  topic: string
  offset: number
  version?: number
  rackId?: string
  maxWaitMs?: number
  sessionId?: number
  sessionEpoch?: number
}

/** One consumer Fetch of partition 0; the partition's answer (undefined when an incremental response leaves it out) and the session id. */
async function fetchPartition(conn: BrokerConnection, a: FetchArgs): Promise<{ p: PartitionAnswer | undefined; sessionId: number; errorCode: number }> {
  const res = await conn.request(FetchApi, a.version ?? 12, {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: a.maxWaitMs ?? 0, minBytes: 1, maxBytes: 1 << 22,
    isolationLevel: 0, sessionId: a.sessionId ?? 0, sessionEpoch: a.sessionEpoch ?? -1, forgottenTopicsData: [], rackId: a.rackId ?? '',
    topics: [{ topic: a.topic, topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: a.offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 22, replicaDirectoryId: ZERO_UUID }] }],
  })
  return { p: res.responses[0]?.partitions[0], sessionId: res.sessionId, errorCode: res.errorCode }
}

/** Waits until a follower has learned the leader's high watermark `hw` (from its next fetch after the leader's moved). */
async function learnedHighWatermark(conn: BrokerConnection, topic: string, hw: number): Promise<void> {
  await waitFor(async () => (await fetchPartition(conn, { topic, offset: 0 })).p?.highWatermark === hw, { what: `high watermark ${hw} of ${topic} on a follower` })
}

const valuesOf = (p: PartitionAnswer | undefined) => recordsOf(p?.records ?? new Uint8Array()).map(([, v]) => v)
const expected = (from: number, count: number) => Array.from({ length: count }, (_, i) => `r-${from + i}`)

describe.skipIf(etcdMissing !== undefined)('fetch from the closest replica (KIP-392, three racked brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(3, { 'replica.selector.class': RACK_AWARE }, { nodeConfig: racksAndLeases, http: true })
    await createTopic(cluster, 'nearby', [1, 2, 3])
    await createTopic(cluster, 'committed', [1, 2, 3])
    await produce(cluster, 'nearby', 0, 100)
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('advertises every broker rack in Metadata', async () => {
    const brokers = await withAdmin(kafka(cluster.bootstrap()), async (a) => (await a.describeCluster()).brokers)
    expect(brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3])
    // kafkajs drops racks; the raw answer has them.
    const conn = await connect(cluster, 1)
    try {
      const md = await conn.request(MetadataApi, 12, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })
      expect(md.brokers.map((b) => [b.nodeId, b.rack]).sort()).toEqual([[1, 'rack-a'], [2, 'rack-b'], [3, 'rack-c']])
    } finally {
      conn.close()
    }
  })

  it('the leader names the follower in the client rack and reads nothing; a client in its own rack or in none reads from it', async () => {
    const leader = await connect(cluster, 1)
    try {
      const b = await fetchPartition(leader, { topic: 'nearby', offset: 0, rackId: 'rack-b' })
      expect(b.p).toMatchObject({ errorCode: ErrorCode.NONE, preferredReadReplica: 2, highWatermark: 100 })
      expect(valuesOf(b.p)).toEqual([])
      const c = await fetchPartition(leader, { topic: 'nearby', offset: 0, rackId: 'rack-c' })
      expect(c.p).toMatchObject({ errorCode: ErrorCode.NONE, preferredReadReplica: 3 })
      for (const rackId of ['rack-a', '', 'rack-z']) {
        const own = await fetchPartition(leader, { topic: 'nearby', offset: 0, rackId })
        expect(own.p, rackId).toMatchObject({ errorCode: ErrorCode.NONE, preferredReadReplica: -1 })
        expect(valuesOf(own.p), rackId).toEqual(expected(0, 100))
      }
      // No follower holds an offset past the log end: the leader keeps such a consumer.
      const ahead = await fetchPartition(leader, { topic: 'nearby', offset: 100, rackId: 'rack-b' })
      expect(ahead.p?.preferredReadReplica).toBe(2)
    } finally {
      leader.close()
    }
  })

  it('a follower serves consumers up to its high watermark, with Kafka errors for what it cannot serve', async () => {
    const follower = await connect(cluster, 2)
    try {
      await learnedHighWatermark(follower, 'nearby', 100)
      const all = await fetchPartition(follower, { topic: 'nearby', offset: 0, rackId: 'rack-b' })
      expect(all.p).toMatchObject({ errorCode: ErrorCode.NONE, preferredReadReplica: -1, highWatermark: 100 })
      expect(valuesOf(all.p)).toEqual(expected(0, 100))
      expect((await fetchPartition(follower, { topic: 'nearby', offset: 101 })).p?.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE)
      // Before v11 a consumer names no rack and may read from the leader only.
      expect((await fetchPartition(follower, { topic: 'nearby', offset: 0, version: 10 })).p?.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER)
      // ListOffsets stays with the leader.
      const lo = await follower.request(ListOffsetsApi, 7, { replicaId: -1, isolationLevel: 0, timeoutMs: 5000, topics: [{ name: 'nearby', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] }] })
      expect(lo.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    } finally {
      follower.close()
    }
  })

  it('a long poll on a follower wakes when its high watermark moves, also in a fetch session', async () => {
    const follower = await connect(cluster, 2)
    try {
      const opened = await fetchPartition(follower, { topic: 'nearby', offset: 100, sessionEpoch: 0 })
      expect(opened.errorCode).toBe(ErrorCode.NONE)
      expect(opened.sessionId).toBeGreaterThan(0)
      const parked = fetchPartition(follower, { topic: 'nearby', offset: 100, maxWaitMs: LONG_POLL_MS, sessionId: opened.sessionId, sessionEpoch: 1 })
      await produce(cluster, 'nearby', 100, 5)
      const woke = await parked
      expect(woke.errorCode).toBe(ErrorCode.NONE)
      expect(valuesOf(woke.p)).toEqual(expected(100, 5))
      expect(woke.p?.highWatermark).toBe(105)
    } finally {
      follower.close()
    }
  })

  it('a follower serves only what the leader has committed, and wakes its long polls when that grows', async () => {
    await produce(cluster, 'committed', 0, 10)
    const follower = await connect(cluster, 2)
    const leader = await connect(cluster, 1)
    const broker3 = cluster.broker(3).child!.proc
    try {
      const md = await leader.request(MetadataApi, 12, { topics: [{ name: 'committed', topicId: ZERO_UUID }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })
      const leaderEpoch = md.topics[0]!.partitions[0]!.leaderEpoch
      await learnedHighWatermark(follower, 'committed', 10)
      // Broker 3 stops fetching: what the leader appends now stays above its high watermark.
      broker3.kill('SIGSTOP')
      await produce(cluster, 'committed', 10, 5, 1, [cluster.address(1)])
      // Broker 2 has the new records (its log end, as the debugging replica id may ask of a follower).
      await waitFor(
        async () => {
          const r = await follower.request(OffsetForLeaderEpochApi, 4, { replicaId: -2, topics: [{ topic: 'committed', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch }] }] })
          return r.topics[0]!.partitions[0]!.endOffset === 15
        },
        { timeoutMs: 5000, what: 'broker 2 holding the uncommitted records' },
      )
      const fromLeader = await fetchPartition(leader, { topic: 'committed', offset: 10, rackId: 'rack-a' })
      expect(fromLeader.p).toMatchObject({ errorCode: ErrorCode.NONE, highWatermark: 10 })
      expect(valuesOf(fromLeader.p)).toEqual([])
      const fromFollower = await fetchPartition(follower, { topic: 'committed', offset: 0, rackId: 'rack-b' })
      expect(fromFollower.p).toMatchObject({ errorCode: ErrorCode.NONE, highWatermark: 10 })
      expect(valuesOf(fromFollower.p)).toEqual(expected(0, 10))
      // Past its log end a consumer is out of range; between its high watermark and its log end it
      // waits, here until broker 3 fetches again (well within broker 3's lease and the ISR lag time).
      expect((await fetchPartition(follower, { topic: 'committed', offset: 16 })).p?.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE)
      const parked = fetchPartition(follower, { topic: 'committed', offset: 10, maxWaitMs: LONG_POLL_MS })
      broker3.kill('SIGCONT')
      const woke = await parked
      expect(woke.p).toMatchObject({ errorCode: ErrorCode.NONE, highWatermark: 15 })
      expect(valuesOf(woke.p)).toEqual(expected(10, 5))
    } finally {
      broker3.kill('SIGCONT')
      follower.close()
      leader.close()
    }
  })

  it.skipIf(confluent.skip)(`librdkafka with client.rack reads every record from the follower in its rack, through a kill -9 of the leader${skipNote(confluent)}`, async () => {
    assertAvailable(confluent)
    const before = await Promise.all([1, 2, 3].map((id) => bytesOut(cluster, id, 'nearby')))
    const consumer = rackConsumer(cluster.bootstrap(), 'nearby', 'rack-b', 205)
    try {
      await waitFor(() => consumer.records().length >= 105, { timeoutMs: 30_000, what: `105 records (${consumer.stderr()})` })
      const midway = await Promise.all([1, 2, 3].map((id) => bytesOut(cluster, id, 'nearby')))
      // Broker 2, in the client's rack, sent every record so far; the leader and broker 3 none.
      expect(midway[1]! - before[1]!).toBeGreaterThan(0)
      expect(midway[0]! - before[0]!).toBe(0)
      expect(midway[2]! - before[2]!).toBe(0)

      await cluster.kill(1)
      await produce(cluster, 'nearby', 105, 100)
      expect(await consumer.exited, consumer.stderr()).toBe(0)
      expect(consumer.lines.filter((l) => l.error !== undefined)).toEqual([])
      const records = consumer.records()
      expect(records.map((r) => r.o)).toEqual(Array.from({ length: 205 }, (_, i) => i))
      expect(records.map((r) => r.v)).toEqual(expected(0, 205))
      // After the kill, whichever broker leads now, the records still come from broker 2.
      const after = await Promise.all([2, 3].map((id) => bytesOut(cluster, id, 'nearby')))
      expect(after[0]! - midway[1]!).toBeGreaterThan(0)
      expect(after[1]! - before[2]!).toBe(0)
    } finally {
      if (consumer.lines.at(-1)?.done === undefined) await Promise.race([consumer.exited, new Promise((r) => setTimeout(r, 1000))])
    }
  }, 90_000)
})

// Two brokers are enough here (a leader in rack a, a follower in the client's rack b), and start sooner.
describe.skipIf(etcdMissing !== undefined || confluent.skip)(`without replica.selector.class every consumer reads from the leader${skipNote(confluent)}`, () => {
  let cluster: TestCluster
  beforeAll(async () => {
    assertAvailable(confluent)
    cluster = await TestCluster.start(2, {}, { nodeConfig: rackOf, http: true })
    await createTopic(cluster, 'leader-only', [1, 2])
    await produce(cluster, 'leader-only', 0, 100)
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('librdkafka with client.rack reads every record from the leader', async () => {
    const leader = await connect(cluster, 1)
    try {
      const b = await fetchPartition(leader, { topic: 'leader-only', offset: 0, rackId: 'rack-b' })
      expect(b.p?.preferredReadReplica).toBe(-1)
      expect(valuesOf(b.p)).toEqual(expected(0, 100))
    } finally {
      leader.close()
    }
    const before = await Promise.all([1, 2].map((id) => bytesOut(cluster, id, 'leader-only')))
    const consumer = rackConsumer(cluster.bootstrap(), 'leader-only', 'rack-b', 100)
    expect(await consumer.exited, consumer.stderr()).toBe(0)
    expect(consumer.records().map((r) => r.v)).toEqual(expected(0, 100))
    const after = await Promise.all([1, 2].map((id) => bytesOut(cluster, id, 'leader-only')))
    expect(after[0]! - before[0]!).toBeGreaterThan(0)
    expect(after[1]! - before[1]!).toBe(0)
  }, 60_000)
})
