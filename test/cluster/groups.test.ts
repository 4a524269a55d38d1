// Consumer groups on a cluster: every broker names the same coordinator for a group (the leader of
// its __consumer_offsets partition), so kafkajs consumers that bootstrap from different brokers end
// up in one group and share the partitions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { Consumer } from 'kafkajs'
import { BrokerConnection } from '../../broker/client/connection.js'
import { FindCoordinatorApi } from '../../protocol/generated/find-coordinator.js'
import { etcdMissing, TestCluster } from './harness.js'
import { waitFor } from '../helpers/wait.js'

const { Kafka, logLevel } = kafkajs
const kafka = (brokers: string[]) => new Kafka({ clientId: 'cluster-groups-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } })

describe.skipIf(etcdMissing !== undefined)('consumer groups on a cluster (two brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(2, { 'group.initial.rebalance.delay.ms': '0' })
    const admin = kafka(cluster.bootstrap()).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'work', numPartitions: 4, replicationFactor: 2 }], waitForLeaders: true })
    await admin.disconnect()
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('names one coordinator per group whichever broker is asked', async () => {
    for (const group of ['alpha', 'beta', 'gamma', 'delta']) {
      const answers: Array<{ nodeId: number; address: string }> = []
      for (const b of cluster.brokers) {
        const c = await BrokerConnection.connect(cluster.address(b.nodeId), { clientId: 'find-test', connectTimeoutMs: 5_000, requestTimeoutMs: 5_000 })
        try {
          // COORDINATOR_NOT_AVAILABLE while __consumer_offsets is created and its leaders elected.
          await waitFor(async () => {
            const res = await c.request(FindCoordinatorApi, 3, { key: group, keyType: 0, coordinatorKeys: [] })
            if (res.errorCode !== 0) return false
            answers.push({ nodeId: res.nodeId, address: `${res.host}:${res.port}` })
            return true
          }, { timeoutMs: 20_000, what: `a coordinator for ${group}` })
        } finally {
          c.close()
        }
      }
      expect(answers[1]).toEqual(answers[0])
      expect(answers[0]!.address).toBe(cluster.address(answers[0]!.nodeId))
    }
  })

  it('lets consumers bootstrapped from different brokers share one group', async () => {
    const seen = new Set<string>()
    const consumers: Consumer[] = []
    const admin = kafka(cluster.bootstrap()).admin()
    await admin.connect()
    try {
      await Promise.all(
        cluster.brokers.map(async (b) => {
          const consumer = kafka([cluster.address(b.nodeId)]).consumer({ groupId: 'shared', sessionTimeout: 10_000, heartbeatInterval: 300 })
          consumers.push(consumer)
          await consumer.connect()
          await consumer.subscribe({ topic: 'work', fromBeginning: true })
          await consumer.run({ eachMessage: async ({ message }) => void seen.add(message.value!.toString()) })
        }),
      )
      // Split across two coordinators, each broker would hold a group of one.
      await waitFor(async () => {
        const d = (await admin.describeGroups(['shared'])).groups[0]!
        return d.state === 'Stable' && d.members.length === 2
      }, { timeoutMs: 20_000, what: 'a stable group of two' })
      const producer = kafka(cluster.bootstrap()).producer()
      await producer.connect()
      await producer.send({ topic: 'work', acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: String(i) })) })
      await producer.disconnect()
      await waitFor(() => seen.size === 40, { timeoutMs: 20_000, what: '40 records' })
    } finally {
      await admin.disconnect()
      for (const c of consumers) await c.disconnect()
    }
  }, 60_000)
})
