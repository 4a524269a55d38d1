// A group's coordinator is the leader of its __consumer_offsets partition: when that broker is
// killed, another replica of the partition becomes leader, reads the group's committed offsets
// from the replicated log, and the group's kafkajs consumers find it and go on consuming. Committed
// offsets never go backwards across the failover, and every record is consumed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { Consumer } from 'kafkajs'
import { BrokerConnection } from '../../broker/client/connection.js'
import { ErrorCode } from '../../protocol/errors.js'
import { FindCoordinatorApi } from '../../protocol/generated/find-coordinator.js'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'

const { Kafka, logLevel } = kafkajs
const kafka = (brokers: string[]) =>
  new Kafka({ clientId: 'coordinator-failover-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } })

/** The coordinator broker's node id as `address` names it, once one other than `not` is available. */
async function coordinatorOf(address: string, groupId: string, not = -1): Promise<number> {
  let nodeId = -1
  await waitFor(
    async () => {
      const c = await BrokerConnection.connect(address, { clientId: 'find-test', connectTimeoutMs: 5_000, requestTimeoutMs: 5_000 })
      try {
        const res = await c.request(FindCoordinatorApi, 3, { key: groupId, keyType: 0, coordinatorKeys: [] })
        nodeId = res.errorCode === ErrorCode.NONE ? res.nodeId : -1
      } finally {
        c.close()
      }
      return nodeId >= 0 && nodeId !== not
    },
    { timeoutMs: 30_000, what: `a coordinator for ${groupId}` },
  )
  return nodeId
}

describe.skipIf(etcdMissing !== undefined)('group coordinator failover (three brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(3, { 'group.initial.rebalance.delay.ms': '0' })
    await withAdmin(kafka(cluster.bootstrap()), (a) => a.createTopics({ topics: [{ topic: 'work', numPartitions: 4, replicationFactor: 3 }], waitForLeaders: true }))
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('keeps consuming and keeps committed offsets when the coordinator broker is killed', async () => {
    const group = 'failover-group'
    const coordinator = await coordinatorOf(cluster.address(1), group)
    const survivor = cluster.brokers.find((b) => b.nodeId !== coordinator)!.nodeId
    const seen = new Set<string>()
    // Deliveries after the kill of records the group had already committed: must be none.
    let killed = false
    let committedBefore = new Map<number, number>()
    const redelivered: string[] = []
    const consumers: Consumer[] = []
    const producer = kafka(cluster.bootstrap()).producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    let sent = 0
    const send = async (n: number) => {
      const messages = Array.from({ length: n }, () => ({ key: `k${sent}`, value: String(sent++) }))
      await producer.send({ topic: 'work', acks: -1, messages })
    }
    try {
      for (let i = 0; i < 2; i++) {
        const consumer = kafka(cluster.bootstrap()).consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 300 })
        consumers.push(consumer)
        await consumer.connect()
        await consumer.subscribe({ topic: 'work', fromBeginning: true })
        await consumer.run({
          autoCommitInterval: 200,
          eachMessage: async ({ partition, message }) => {
            if (killed && Number(message.offset) < (committedBefore.get(partition) ?? 0)) redelivered.push(`${partition}@${message.offset}`)
            seen.add(message.value!.toString())
          },
        })
      }
      await send(200)
      await waitFor(() => seen.size === 200, { timeoutMs: 30_000, what: '200 records before the kill' })
      // Every partition's offset committed at the coordinator, as the group stands before the kill.
      committedBefore = await waitForCommitted(cluster.address(survivor), group, 200)

      killed = true
      await cluster.kill(coordinator)
      // The partition's leadership moves once the killed broker's lease expires in etcd.
      await coordinatorOf(cluster.address(survivor), group, coordinator)

      await send(200)
      await waitFor(() => seen.size === 400, { timeoutMs: 45_000, what: '400 records after the kill' })
      const committedAfter = await waitForCommitted(cluster.address(survivor), group, 400)
      for (const [partition, offset] of committedBefore) expect(committedAfter.get(partition)).toBeGreaterThanOrEqual(offset)
      expect([...seen].map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 400 }, (_, i) => i))
      // Offsets lost with the coordinator would send the group back to the beginning.
      expect(redelivered).toEqual([])
    } finally {
      await producer.disconnect().catch(() => {})
      for (const c of consumers) await c.disconnect().catch(() => {})
    }
  }, 120_000)
})

/** The group's committed offsets once they add up to `total` records over the topic's partitions. */
async function waitForCommitted(address: string, groupId: string, total: number): Promise<Map<number, number>> {
  let offsets = new Map<number, number>()
  await waitFor(
    async () => {
      try {
        offsets = await withAdmin(kafka([address]), async (a) => {
          const [t] = await a.fetchOffsets({ groupId, topics: ['work'] })
          return new Map(t!.partitions.map((p) => [p.partition, Number(p.offset)]))
        })
      } catch {
        return false
      }
      return [...offsets.values()].reduce((s, o) => s + Math.max(o, 0), 0) === total
    },
    { timeoutMs: 30_000, what: `committed offsets adding up to ${total}` },
  )
  return offsets
}
