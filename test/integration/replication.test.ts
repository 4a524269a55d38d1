// Replication between in-process brokers over real sockets, with the roles the metadata side would
// give (becomeLeader / becomeFollower) and an in-memory compare-and-set for ISR changes: followers
// catch up, the high watermark waits for the ISR, acks=all waits for the followers, a stopped
// follower leaves the ISR and rejoins it, a divergent tail is cut after a leader change, and
// non-leaders answer as Kafka's do. kafkajs produces and consumes; the project's own client sends
// the requests whose error codes matter.
import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../protocol/errors.js'
import { OffsetForLeaderEpochApi } from '../../protocol/generated/offset-for-leader-epoch.js'
import { FetchApi } from '../../protocol/generated/fetch.js'
import { ListOffsetsApi } from '../../protocol/generated/list-offsets.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import { kafkaClient } from '../helpers/broker.js'
import { recordsOf } from '../helpers/read-partition.js'
import { MemoryIsrChanges, ReplicatedNode, assignRoles, partitionState, produceRaw, until } from '../helpers/replicated-brokers.js'

const nodes: ReplicatedNode[] = []
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.destroy()
})

async function cluster(count: number, isr: MemoryIsrChanges, config: Record<string, string> = {}): Promise<ReplicatedNode[]> {
  const out: ReplicatedNode[] = []
  for (let id = 1; id <= count; id++) {
    const n = await ReplicatedNode.start(id, isr, config)
    nodes.push(n)
    out.push(n)
  }
  return out
}

async function createTopic(ns: readonly ReplicatedNode[], topic: string, configs: Record<string, string> = {}): Promise<void> {
  for (const n of ns) {
    const admin = kafkaClient(n.address).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }] })
    await admin.disconnect()
  }
}

async function highWatermark(address: string, topic: string): Promise<number> {
  const admin = kafkaClient(address).admin()
  await admin.connect()
  try {
    const [p] = await admin.fetchTopicOffsets(topic)
    return Number(p!.high)
  } finally {
    await admin.disconnect()
  }
}

/** Every record value of partition 0, read with a kafkajs consumer group up to `count`. */
async function consumeValues(address: string, topic: string, count: number): Promise<string[]> {
  const consumer = kafkaClient(address).consumer({ groupId: `g-${topic}-${Math.random()}`, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got: string[] = []
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        got.push(message.value!.toString())
        if (got.length >= count) resolve()
      },
    })
  })
  await consumer.disconnect()
  return got
}

describe('replication between brokers', () => {
  it('acks=all waits for the follower, the high watermark waits for the ISR, and the follower has every acknowledged record', async () => {
    const isr = new MemoryIsrChanges()
    const [a, b] = await cluster(2, isr)
    const topic = 'repl-basic'
    await createTopic([a!, b!], topic, { 'min.insync.replicas': '2' })
    const s1 = partitionState(topic, { leader: 1, isr: [1, 2], replicas: [1, 2], leaderEpoch: 1 })
    isr.set(s1)
    await assignRoles([a!, b!], s1)

    const producer = kafkaClient(a!.address).producer()
    await producer.connect()
    const sent: string[] = []
    for (let i = 0; i < 4; i++) {
      const batch = Array.from({ length: 5 }, (_, j) => `v${i * 5 + j}`)
      await producer.send({ topic, acks: -1, messages: batch.map((value) => ({ value })) })
      sent.push(...batch)
    }
    expect(await highWatermark(a!.address, topic)).toBe(20)

    // The follower stops fetching: acks=1 writes land on the leader, but stay above the high watermark.
    await b!.replicas.stopReplica(topic, 0, false)
    await producer.send({ topic, acks: 1, messages: ['w0', 'w1', 'w2'].map((value) => ({ value })) })
    sent.push('w0', 'w1', 'w2')
    expect(await highWatermark(a!.address, topic)).toBe(20)
    let settled = false
    const waiting = producer.send({ topic, acks: -1, messages: [{ value: 'x0' }] }).finally(() => (settled = true))
    sent.push('x0')
    await new Promise((r) => setTimeout(r, 400))
    expect(settled).toBe(false)
    expect(await highWatermark(a!.address, topic)).toBe(20)

    // It follows again: it catches up, the waiting acks=all produce is answered, the high watermark moves.
    await b!.replicas.becomeFollower(s1, a!.endpoint)
    const [answer] = await waiting
    expect(answer!.errorCode).toBe(0)
    expect(await highWatermark(a!.address, topic)).toBe(24)
    await producer.disconnect()

    // Non-leaders and stale epochs answer as Kafka's brokers do.
    const toFollower = await produceRaw(b!.address, topic, ['nope'], -1)
    expect(toFollower.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    expect(toFollower.currentLeader).toEqual({ leaderId: 1, leaderEpoch: 1 })
    const conn = await BrokerConnection.connect(a!.address, { clientId: 't', connectTimeoutMs: 5000, requestTimeoutMs: 10_000 })
    const epochs = await conn.request(OffsetForLeaderEpochApi, 4, {
      replicaId: -1,
      topics: [{ topic, partitions: [0, 1, 2].map((currentLeaderEpoch) => ({ partition: 0, currentLeaderEpoch, leaderEpoch: 1 })) }],
    })
    expect(epochs.topics[0]!.partitions.map((p) => [p.errorCode, p.leaderEpoch, p.endOffset])).toEqual([
      [ErrorCode.FENCED_LEADER_EPOCH, -1, -1],
      [ErrorCode.NONE, 1, 24],
      [ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1],
    ])
    conn.close()
    const followerConn = await BrokerConnection.connect(b!.address, { clientId: 't', connectTimeoutMs: 5000, requestTimeoutMs: 10_000 })
    const consumerFetch = (version: number) =>
      followerConn.request(FetchApi, version, {
        clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
        isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
        topics: [{ topic, topicId: '00000000-0000-0000-0000-000000000000', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: '00000000-0000-0000-0000-000000000000' }] }],
      }).then((r) => r.responses[0]!.partitions[0]!)
    // A consumer without a rack id field (before Fetch v11) reads from the leader only; a newer one
    // may read from a follower, up to the high watermark the follower learned (KIP-392).
    expect((await consumerFetch(10)).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    const fromFollower = await consumerFetch(12)
    expect(fromFollower.errorCode).toBe(ErrorCode.NONE)
    expect(fromFollower.highWatermark).toBeLessThanOrEqual(24)
    expect(recordsOf(fromFollower.records!).map(([, v]) => v)).toEqual(sent.slice(0, Number(fromFollower.highWatermark)))
    const listOffsets = (c: BrokerConnection, currentLeaderEpoch: number) =>
      c.request(ListOffsetsApi, 7, {
        replicaId: -1, isolationLevel: 0, timeoutMs: 5000,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch, timestamp: -1, maxNumOffsets: 1 }] }],
      }).then((r) => r.topics[0]!.partitions[0]!)
    expect((await listOffsets(followerConn, -1)).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    // No longer a replica here (its role ended, its log kept): consumers get NOT_LEADER_OR_FOLLOWER.
    await b!.replicas.stopReplica(topic, 0, false)
    expect((await consumerFetch(12)).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    followerConn.close()
    const leaderConn = await BrokerConnection.connect(a!.address, { clientId: 't', connectTimeoutMs: 5000, requestTimeoutMs: 10_000 })
    expect((await listOffsets(leaderConn, 0)).errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH)
    expect(await listOffsets(leaderConn, 1)).toMatchObject({ errorCode: ErrorCode.NONE, offset: 24, leaderEpoch: 1 })
    leaderConn.close()

    // The leader goes; the follower, promoted, serves every acknowledged record.
    await a!.stop()
    const s2 = partitionState(topic, { leader: 2, isr: [2], replicas: [1, 2], leaderEpoch: 2 })
    isr.set(s2)
    await b!.replicas.becomeLeader(s2)
    expect(await consumeValues(b!.address, topic, sent.length)).toEqual(sent)
    expect(await highWatermark(b!.address, topic)).toBe(24)
  }, 30_000)

  it('shrinks a stopped follower out of the ISR (min.insync.replicas refuses acks=all then) and takes it back once caught up', async () => {
    const isr = new MemoryIsrChanges()
    const [a, b] = await cluster(2, isr, { 'replica.lag.time.max.ms': '500' })
    const topic = 'repl-isr'
    await createTopic([a!, b!], topic, { 'min.insync.replicas': '2' })
    const s1 = partitionState(topic, { leader: 1, isr: [1, 2], replicas: [1, 2], leaderEpoch: 1 })
    isr.set(s1)
    await assignRoles([a!, b!], s1)
    expect((await produceRaw(a!.address, topic, ['a', 'b'], -1)).errorCode).toBe(ErrorCode.NONE)

    await b!.stop()
    // Appended, then the ISR shrank below min.insync.replicas while it waited.
    expect((await produceRaw(a!.address, topic, ['c'], -1)).errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND)
    expect(isr.get(topic, 0).isr).toEqual([1])
    // Refused before the append now; acks=1 still writes.
    expect((await produceRaw(a!.address, topic, ['d'], -1)).errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS)
    expect((await produceRaw(a!.address, topic, ['e'], 1)).errorCode).toBe(ErrorCode.NONE)
    expect(await highWatermark(a!.address, topic)).toBe(4)

    await b!.restart()
    await b!.replicas.becomeFollower(isr.get(topic, 0), a!.endpoint)
    await until('the follower back in the ISR', () => isr.get(topic, 0).isr.includes(2))
    expect(isr.history.map((s) => s.isr)).toEqual([[1], [1, 2]])
    expect((await produceRaw(a!.address, topic, ['f'], -1)).errorCode).toBe(ErrorCode.NONE)
    // a request timeout while the ISR still counts a silent follower
    await b!.stop()
    expect((await produceRaw(a!.address, topic, ['g'], -1, 100)).errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT)
  }, 30_000)

  it('cuts the divergent tail of an old leader when it follows the new one (KIP-101)', async () => {
    const isr = new MemoryIsrChanges()
    const [a, b] = await cluster(2, isr)
    const topic = 'repl-diverge'
    await createTopic([a!, b!], topic)
    const s1 = partitionState(topic, { leader: 1, isr: [1, 2], replicas: [1, 2], leaderEpoch: 1 })
    isr.set(s1)
    await assignRoles([a!, b!], s1)
    const committed = Array.from({ length: 10 }, (_, i) => `c${i}`)
    expect((await produceRaw(a!.address, topic, committed, -1)).errorCode).toBe(ErrorCode.NONE)

    // The follower stops fetching; the leader takes acks=1 writes nobody else has, then dies.
    await b!.replicas.stopReplica(topic, 0, false)
    expect((await produceRaw(a!.address, topic, ['lost0', 'lost1', 'lost2', 'lost3', 'lost4'], 1)).errorCode).toBe(ErrorCode.NONE)
    await a!.stop()

    const s2 = partitionState(topic, { leader: 2, isr: [2], replicas: [1, 2], leaderEpoch: 2 })
    isr.set(s2)
    await b!.replicas.becomeLeader(s2)
    expect((await produceRaw(b!.address, topic, ['n0', 'n1', 'n2'], 1)).errorCode).toBe(ErrorCode.NONE)

    // The old leader returns as a follower: it truncates to offset 10 and fetches the new epoch.
    await a!.restart()
    await a!.replicas.becomeFollower(s2, b!.endpoint)
    await until('the old leader back in the ISR', () => isr.get(topic, 0).isr.includes(1))

    // Promoted again, it serves the new leader's history, not its own lost tail.
    await b!.stop()
    const s3 = partitionState(topic, { leader: 1, isr: [1], replicas: [1, 2], leaderEpoch: 3 })
    isr.set(s3)
    await a!.replicas.becomeLeader(s3)
    expect(await highWatermark(a!.address, topic)).toBe(13)
    expect(await consumeValues(a!.address, topic, 13)).toEqual([...committed, 'n0', 'n1', 'n2'])
  }, 30_000)

  it('moves the follower log start with the leader (DeleteRecords)', async () => {
    const isr = new MemoryIsrChanges()
    const [a, b] = await cluster(2, isr)
    const topic = 'repl-start'
    await createTopic([a!, b!], topic)
    const s1 = partitionState(topic, { leader: 1, isr: [1, 2], replicas: [1, 2], leaderEpoch: 1 })
    isr.set(s1)
    await assignRoles([a!, b!], s1)
    expect((await produceRaw(a!.address, topic, Array.from({ length: 10 }, (_, i) => `s${i}`), -1)).errorCode).toBe(ErrorCode.NONE)
    const admin = kafkaClient(a!.address).admin()
    await admin.connect()
    await admin.fetchTopicMetadata({ topics: [topic] })
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '6' }] })
    await admin.disconnect()
    // ListOffsets as the debugging replica (-2) is answered by a follower too.
    const conn = await BrokerConnection.connect(b!.address, { clientId: 't', connectTimeoutMs: 5000, requestTimeoutMs: 10_000 })
    const earliest = () =>
      conn.request(ListOffsetsApi, 7, { replicaId: -2, isolationLevel: 0, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2, maxNumOffsets: 1 }] }] })
        .then((r) => r.topics[0]!.partitions[0]!.offset)
    await until('the follower log start at 6', async () => (await earliest()) === 6)
    conn.close()
  }, 30_000)

  it('counts a follower only at fetch offsets within the leader log (a fetch past its end is OFFSET_OUT_OF_RANGE and moves nothing)', async () => {
    const isr = new MemoryIsrChanges()
    const [a, b] = await cluster(2, isr)
    const topic = 'repl-ahead'
    await createTopic([a!, b!], topic)
    const s1 = partitionState(topic, { leader: 1, isr: [1, 2], replicas: [1, 2], leaderEpoch: 1 })
    isr.set(s1)
    await a!.replicas.becomeLeader(s1)
    expect((await produceRaw(a!.address, topic, ['q0', 'q1', 'q2', 'q3', 'q4'], 1)).errorCode).toBe(ErrorCode.NONE)
    expect(await highWatermark(a!.address, topic)).toBe(0)
    // Fetches as replica 2, as its fetcher would send them.
    const conn = await BrokerConnection.connect(a!.address, { clientId: 't', connectTimeoutMs: 5000, requestTimeoutMs: 10_000 })
    const asFollower = (fetchOffset: number) =>
      conn.request(FetchApi, 12, {
        clusterId: null, replicaId: 2, replicaState: { replicaId: 2, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
        isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
        topics: [{ topic, topicId: '00000000-0000-0000-0000-000000000000', partitions: [{ partition: 0, currentLeaderEpoch: 1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: 0, partitionMaxBytes: 1 << 20, replicaDirectoryId: '00000000-0000-0000-0000-000000000000' }] }],
      }).then((r) => r.responses[0]!.partitions[0]!)
    expect((await asFollower(9)).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE)
    expect(await highWatermark(a!.address, topic)).toBe(0)
    const caughtUp = await asFollower(5)
    expect(caughtUp.errorCode).toBe(ErrorCode.NONE)
    expect(caughtUp.highWatermark).toBe(5)
    expect(await highWatermark(a!.address, topic)).toBe(5)
    conn.close()
  }, 30_000)
})
