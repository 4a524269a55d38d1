// Losing etcd entirely, for longer than the session timeout (and than twice it, where etcd3's own
// lease handling would have given the lease up), loses neither service nor data: the brokers keep
// their roles, so acks=all produce and a consumer group go on; a topic creation, which needs a
// metadata write, fails with a retriable error, and so does an auto-creation. When etcd returns, the leases it kept are renewed,
// so no leader changes; everything acknowledged is readable, and every replica holds the same log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { readPartition } from '../helpers/read-partition.js'
import { WireClient } from '../helpers/wire.js'
import { ErrorCode } from '../../protocol/errors.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { MetadataResponse } from '../../protocol/generated/metadata.js'
import { waitFor } from '../helpers/wait.js'

const { Kafka, logLevel } = kafkajs
const TOPIC = 'through-the-outage'
const PARTITIONS = 3
/** broker.session.timeout.ms: etcd stays down for more than twice this. */
const SESSION_MS = 2000
const OUTAGE_MS = 5 * SESSION_MS / 2

function kafka(brokers: string[], retries = 5) {
  return new Kafka({ clientId: 'etcd-loss-test', brokers, logLevel: logLevel.NOTHING, retry: { retries, initialRetryTime: 100, maxRetryTime: 500 } })
}

/** Every error kafkajs wrapped, outermost first. */
function errorChain(err: unknown): Array<{ type?: string; retriable?: boolean }> {
  const out: Array<{ type?: string; retriable?: boolean }> = []
  const walk = (e: unknown): void => {
    if (typeof e !== 'object' || e === null || out.includes(e)) return
    const x = e as { type?: string; retriable?: boolean; originalError?: unknown; cause?: unknown; errors?: unknown[] }
    out.push(x)
    walk(x.originalError)
    walk(x.cause)
    for (const inner of x.errors ?? []) walk(inner)
  }
  walk(err)
  return out
}

/** The topic-level error code of a Metadata request that asks the broker at `address` to auto-create `topic`. */
async function autoCreate(address: string, topic: string): Promise<number> {
  const c = await WireClient.connect(address)
  try {
    const { body } = await c.request<MetadataResponse>(ApiKey.Metadata, 9, {
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: topic }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    })
    return body.topics[0]!.errorCode
  } finally {
    c.close()
  }
}

describe.skipIf(etcdMissing !== undefined)('a cluster whose etcd is down for longer than the session timeout (three brokers)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(3, { 'broker.session.timeout.ms': String(SESSION_MS) })
    await withAdmin(kafka(cluster.bootstrap()), (a) => a.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true }))
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('keeps producing with acks=all and consuming, refuses metadata changes, and keeps everything once etcd is back', async () => {
    const client = kafka(cluster.bootstrap())
    const acked: string[] = []
    const consumed = new Set<string>()
    // Idempotent: a retried batch is never written twice, so the log must hold each value once.
    const producer = client.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 })
    const consumer = client.consumer({ groupId: 'etcd-loss', sessionTimeout: 10_000, heartbeatInterval: 500, allowAutoTopicCreation: false })
    await producer.connect()
    await consumer.connect()
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => void consumed.add(message.value!.toString()) })
    let n = 0
    const send = async (phase: string): Promise<void> => {
      const messages = Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: `${phase}-${n++}` }))
      await producer.send({ topic: TOPIC, acks: -1, messages })
      acked.push(...messages.map((m) => m.value))
    }
    try {
      await send('before')
      await waitFor(() => acked.every((v) => consumed.has(v)), { timeoutMs: 30_000, what: 'the consumer group reading before the outage' })
      const before = await withAdmin(kafka(cluster.bootstrap()), (a) => a.fetchTopicMetadata({ topics: [TOPIC] }))

      await cluster.etcd.kill()
      const down = Date.now()
      const refused = withAdmin(kafka(cluster.bootstrap(), 0), (a) => a.createTopics({ topics: [{ topic: 'needs-etcd', numPartitions: 1, replicationFactor: 3 }] })).then(
        () => undefined,
        (e: unknown) => e,
      )
      const autoCreated = autoCreate(cluster.bootstrap()[0]!, 'auto-needs-etcd')
      const duringOutage = acked.length
      while (Date.now() - down < OUTAGE_MS) await send('during')
      expect(acked.length).toBeGreaterThan(duringOutage)
      // The consumer group keeps reading what was acknowledged while etcd was down.
      await waitFor(() => acked.every((v) => consumed.has(v)), { timeoutMs: 20_000, what: 'the consumer group reading during the outage' })
      const error = await refused
      expect(error).toBeInstanceOf(Error)
      const codes = errorChain(error).filter((e) => e.type !== undefined)
      expect(codes.some((e) => (e.type === 'REQUEST_TIMED_OUT' || e.type === 'NOT_CONTROLLER') && e.retriable === true), JSON.stringify(codes.map((e) => e.type))).toBe(true)
      // Auto-creation is refused as Kafka refuses it while a creation is pending: clients ask again.
      expect(await autoCreated).toBe(ErrorCode.LEADER_NOT_AVAILABLE)
      for (const b of cluster.brokers) expect(b.child!.proc.exitCode).toBeNull()

      await cluster.etcd.run()
      await waitFor(
        () => withAdmin(kafka(cluster.bootstrap()), (a) => a.createTopics({ topics: [{ topic: 'after-etcd', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true })).then(() => true),
        { timeoutMs: 20_000, intervalMs: 500, what: 'CreateTopics after etcd returned' },
      )
      await send('after')
      await waitFor(() => acked.every((v) => consumed.has(v)), { timeoutMs: 20_000, what: 'the consumer group reading after the outage' })

      // The leases outlived the outage: every broker is still registered and no leader changed.
      const described = await withAdmin(kafka(cluster.bootstrap()), (a) => a.describeCluster())
      expect(described.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3])
      const after = await withAdmin(kafka(cluster.bootstrap()), (a) => a.fetchTopicMetadata({ topics: [TOPIC] }))
      expect(after.topics[0]!.partitions.map((p) => [p.partitionId, p.leader])).toEqual(before.topics[0]!.partitions.map((p) => [p.partitionId, p.leader]))
    } finally {
      await consumer.disconnect()
      await producer.disconnect()
    }

    // Every acknowledged record is in the log, and every replica holds the same log.
    const stored: string[] = []
    for (let p = 0; p < PARTITIONS; p++) {
      const reads = await waitFor(
        async () => {
          const r = await Promise.all(cluster.brokers.map((b) => readPartition(b.child!.address, TOPIC, p)))
          return r.every((x) => x.highWatermark === r[0]!.highWatermark) ? r : undefined
        },
        { timeoutMs: 20_000, intervalMs: 200, what: `every replica of ${TOPIC}-${p} at one high watermark` },
      )
      for (const r of reads) expect(r.records).toEqual(reads[0]!.records)
      expect(reads[0]!.records.map(([o]) => o)).toEqual(reads[0]!.records.map((_, i) => i))
      stored.push(...reads[0]!.records.map(([, v]) => v))
    }
    expect(new Set(stored).size).toBe(stored.length)
    expect(stored.sort()).toEqual([...acked].sort())
  }, 90_000)
})
