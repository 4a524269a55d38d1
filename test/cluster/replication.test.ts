// Replication end to end: three brokers and a real etcd, a topic with replication factor 3 and
// min.insync.replicas 2, kafkajs producing with acks=all while the partition's leader is killed
// with SIGKILL. Every record kafkajs saw acknowledged is read back from the new leader, once and in
// order; the killed broker comes back as a follower, catches up and rejoins the ISR, and then the
// segment files of all three replicas hold the same records at the same offsets.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { Admin, PartitionMetadata } from 'kafkajs'
import { FetchApi } from '../../protocol/generated/fetch.js'
import { ErrorCode } from '../../protocol/errors.js'
import { batchSizeAt } from '../../protocol/record-batch.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import { PartitionLog } from '../../storage/partition-log.js'
import { resolveLogConfig } from '../../storage/log-config.js'
import { etcdMissing, TestCluster } from './harness.js'
import { waitFor } from '../helpers/wait.js'

const { Kafka, logLevel } = kafkajs
const TOPIC = 'ledger'
const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

function kafka(brokers: string[]) {
  return new Kafka({ clientId: 'replication-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } })
}

async function withAdmin<T>(brokers: string[], fn: (a: Admin) => Promise<T>): Promise<T> {
  const a = kafka(brokers).admin()
  await a.connect()
  try {
    return await fn(a)
  } finally {
    await a.disconnect()
  }
}

async function partition0(cluster: TestCluster): Promise<PartitionMetadata> {
  return withAdmin(cluster.bootstrap(), async (a) => (await a.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions.find((p) => p.partitionId === 0)!)
}

/** Offset and value of every record in a run of batches. */
function recordsOf(records: Uint8Array): Array<[number, string]> {
  const out: Array<[number, string]> = []
  for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) {
    for (const r of iterateRecords(records, pos)) out.push([r.offset, Buffer.from(r.value!).toString()])
  }
  return out
}

/** Every record value of partition 0 on `address` up to its high watermark, with its offset, by plain Fetch. */
async function readAll(address: string): Promise<{ values: Array<[number, string]>; highWatermark: number }> {
  const conn = await BrokerConnection.connect(address, { clientId: 'replication-test', connectTimeoutMs: 5000, requestTimeoutMs: 10_000 })
  const values: Array<[number, string]> = []
  let offset = 0
  let highWatermark = -1
  try {
    for (;;) {
      const res = await conn.request(FetchApi, 12, {
        clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 22,
        isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
        topics: [{ topic: TOPIC, topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 22, replicaDirectoryId: ZERO_UUID }] }],
      })
      const p = res.responses[0]!.partitions[0]!
      if (p.errorCode !== ErrorCode.NONE) throw new Error(`fetch from ${address} answered error ${p.errorCode}`)
      highWatermark = p.highWatermark
      const records = p.records ?? new Uint8Array()
      for (const [o, v] of recordsOf(records)) {
        if (o < offset) continue
        values.push([o, v])
        offset = o + 1
      }
      if (offset >= highWatermark || records.length === 0) break
    }
  } finally {
    conn.close()
  }
  return { values, highWatermark }
}

describe.skipIf(etcdMissing !== undefined)('replication through a leader kill (three brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(3, { 'replica.lag.time.max.ms': '3000' })
    await withAdmin(cluster.bootstrap(), (a) =>
      a.createTopics({
        topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
        waitForLeaders: true,
      }),
    )
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('keeps every acks=all record through kill -9 of the partition leader', async () => {
    const before = await waitFor(async () => {
      const p = await partition0(cluster)
      return p.leader >= 0 && p.isr.length === 3 ? p : undefined
    }, { timeoutMs: 15_000, what: 'a leader and a full ISR' })
    const victim = before.leader
    const producer = kafka(cluster.bootstrap()).producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const acked: string[] = []
    try {
      for (let i = 0; i < 60; i++) {
        if (i === 30) await cluster.kill(victim)
        const value = `r${i}`
        await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition: 0, value }] })
        acked.push(value)
      }
    } finally {
      await producer.disconnect()
    }
    const after = await partition0(cluster)
    expect(after.leader).not.toBe(victim)
    expect(before.isr).toContain(after.leader)

    const read = await readAll(cluster.address(after.leader))
    expect(read.values.map(([, v]) => v)).toEqual(acked)
    expect(read.values.map(([o]) => o)).toEqual(acked.map((_, i) => i))
    expect(read.highWatermark).toBe(acked.length)

    // The killed broker returns, cuts what it may have had beyond the new leader's log, catches up
    // and is taken back into the ISR.
    await cluster.startBroker(victim)
    await waitFor(async () => (await partition0(cluster)).isr.includes(victim), { timeoutMs: 20_000, what: `broker ${victim} back in the ISR` })

    // Every replica's files hold the same records at the same offsets, and only the acknowledged ones.
    for (const b of cluster.brokers) await cluster.kill(b.nodeId)
    for (const b of cluster.brokers) {
      const log = PartitionLog.open({ dir: path.join(b.dataDir, `${TOPIC}-0`), topic: TOPIC, partition: 0, config: resolveLogConfig({}, {}) })
      try {
        const stored = recordsOf((await log.read(0, 1 << 24)).records)
        expect(stored, `the log of broker ${b.nodeId}`).toEqual(read.values)
      } finally {
        await log.close()
      }
    }
  }, 90_000)
})
