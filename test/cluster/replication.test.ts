// Replication end to end: three brokers and a real etcd, a topic with replication factor 3 and
// min.insync.replicas 2, kafkajs producing with acks=all while the partition's leader is killed
// with SIGKILL. Every record kafkajs saw acknowledged is read back from the new leader, once and in
// order; the killed broker comes back as a follower, catches up and rejoins the ISR, and then the
// segment files of all three replicas hold the same records at the same offsets.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { PartitionMetadata } from 'kafkajs'
import { PartitionLog } from '../../storage/partition-log.js'
import { resolveLogConfig } from '../../storage/log-config.js'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'
import { readPartition, recordsOf } from '../helpers/read-partition.js'

const { Kafka, logLevel } = kafkajs
const TOPIC = 'ledger'

function kafka(brokers: string[]) {
  return new Kafka({ clientId: 'replication-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } })
}

async function partition0(cluster: TestCluster): Promise<PartitionMetadata> {
  return withAdmin(kafka(cluster.bootstrap()), async (a) => (await a.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions.find((p) => p.partitionId === 0)!)
}

describe.skipIf(etcdMissing !== undefined)('replication through a leader kill (three brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(3, { 'replica.lag.time.max.ms': '3000' })
    await withAdmin(kafka(cluster.bootstrap()), (a) =>
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

    const read = await readPartition(cluster.address(after.leader), TOPIC, 0)
    expect(read.records.map(([, v]) => v)).toEqual(acked)
    expect(read.records.map(([o]) => o)).toEqual(acked.map((_, i) => i))
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
        expect(stored, `the log of broker ${b.nodeId}`).toEqual(read.records)
      } finally {
        await log.close()
      }
    }
  }, 90_000)
})
