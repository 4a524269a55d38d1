// Transactions on a cluster: a topic whose three partitions are led by three different brokers, a
// kafkajs transactional producer that commits, aborts and commits again across all of them. The
// transaction coordinator is one broker; the markers for partitions led elsewhere reach their
// leaders through WriteTxnMarkers. A read_committed consumer then reads exactly the committed
// records from every partition, including those after the aborted transaction: no partition's
// last stable offset is left stuck at an open transaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { etcdMissing, TestCluster } from './harness.js'
import { waitFor } from '../helpers/wait.js'

const { Kafka, logLevel } = kafkajs
const TOPIC = 'ledger'
const kafka = (brokers: string[]) => new Kafka({ clientId: 'cluster-txn-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } })

describe.skipIf(etcdMissing !== undefined)('transactions on a cluster (three brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(3, { 'group.initial.rebalance.delay.ms': '0' })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('writes the markers at every partition leader, so read_committed reads exactly the committed records', async () => {
    const admin = kafka(cluster.bootstrap()).admin()
    await admin.connect()
    try {
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true })
      const partitions = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions
      // Whichever broker coordinates the transaction, two of the three partitions are led elsewhere.
      expect(new Set(partitions.map((p) => p.leader)).size).toBe(3)
    } finally {
      await admin.disconnect()
    }

    const producer = kafka(cluster.bootstrap()).producer({ transactionalId: 'cluster-txn', idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const committed: string[] = []
    try {
      const runTxn = async (name: string, commit: boolean): Promise<void> => {
        const txn = await producer.transaction()
        const values: string[] = []
        for (let partition = 0; partition < 3; partition++) {
          const messages = [0, 1].map((i) => ({ value: `${name}-p${partition}-${i}` }))
          values.push(...messages.map((m) => m.value))
          await txn.send({ topic: TOPIC, acks: -1, messages: messages.map((m) => ({ ...m, partition })) })
        }
        if (commit) {
          await txn.commit()
          committed.push(...values)
        } else {
          await txn.abort()
        }
      }
      await runTxn('first', true)
      await runTxn('aborted', false)
      await runTxn('last', true)
    } finally {
      await producer.disconnect()
    }

    // kafkajs consumers read with isolation level READ_COMMITTED unless readUncommitted is set.
    const consumer = kafka(cluster.bootstrap()).consumer({ groupId: 'cluster-txn-reader', readUncommitted: false, maxWaitTimeInMs: 200 })
    const seen: string[] = []
    await consumer.connect()
    try {
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) })
      // The last transaction's records follow the aborted one's in every partition: reading them
      // all means each partition's last stable offset moved past both transactions.
      await waitFor(() => committed.filter((v) => v.startsWith('last-')).every((v) => seen.includes(v)), { timeoutMs: 20_000, what: 'the last transaction on every partition' })
    } finally {
      await consumer.disconnect()
    }
    expect([...seen].sort()).toEqual([...committed].sort())
  }, 60_000)
})
