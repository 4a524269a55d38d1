// Failover through etcd with kafkajs: kill -9 of a partition leader makes the controller elect
// another in-sync replica once the broker's lease runs out, and producing carries on; kill -9 of
// the controller hands control to another broker, which also re-elects the dead one's partitions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { PartitionMetadata } from 'kafkajs'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'
import { jsonLines, samsa } from '../cli/harness.js'

const { Kafka, logLevel } = kafkajs

function kafka(brokers: string[]) {
  return new Kafka({ clientId: 'failover-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } })
}

async function partitions(cluster: TestCluster, topic: string): Promise<PartitionMetadata[]> {
  return withAdmin(kafka(cluster.bootstrap()), async (a) => {
    const md = await a.fetchTopicMetadata({ topics: [topic] })
    return md.topics[0]!.partitions.sort((x, y) => x.partitionId - y.partitionId)
  })
}

async function controllerId(cluster: TestCluster): Promise<number | null> {
  return withAdmin(kafka(cluster.bootstrap()), async (a) => (await a.describeCluster()).controller)
}

describe.skipIf(etcdMissing !== undefined)('cluster failover (three brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(3)
    await withAdmin(kafka(cluster.bootstrap()), (a) => a.createTopics({ topics: [{ topic: 'orders', numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true }))
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('elects a new leader from the ISR when the leader is killed, and kafkajs keeps producing', async () => {
    const controller = await waitFor(() => controllerId(cluster), { what: 'a controller' })
    const before = await partitions(cluster, 'orders')
    // A partition led by a broker that is not the controller: this case is about the leader only.
    const target = before.find((p) => p.leader !== controller)!
    const victim = target.leader
    const producer = kafka(cluster.bootstrap()).producer({ allowAutoTopicCreation: false })
    await producer.connect()
    try {
      await producer.send({ topic: 'orders', acks: -1, messages: [{ partition: target.partitionId, value: 'before' }] })
      await cluster.kill(victim)
      const after = await waitFor(
        async () => {
          const p = (await partitions(cluster, 'orders'))[target.partitionId]!
          return p.leader !== victim && p.leader >= 0 ? p : undefined
        },
        { timeoutMs: 15_000, what: `a new leader for orders-${target.partitionId}` },
      )
      expect(target.isr).toContain(after.leader)
      expect(after.isr).not.toContain(victim)
      expect(after.replicas).toEqual(target.replicas)
      expect(after.offlineReplicas).toEqual([victim])
      // The dead broker's other partitions moved too, each to a member of its ISR. The controller
      // writes each partition's new state in its own transaction, so the others may follow a moment
      // after the one watched above.
      const all = await waitFor(
        async () => {
          const ps = await partitions(cluster, 'orders')
          return ps.every((p) => p.leader !== victim && !p.isr.includes(victim)) ? ps : undefined
        },
        { timeoutMs: 15_000, what: 'every partition without the dead broker' },
      )
      for (const p of all) expect(before[p.partitionId]!.isr).toContain(p.leader)
      // The CLI sees the same: two brokers, and every partition short of the dead replica.
      const status = await samsa(['cluster', 'status', '--json', '-b', cluster.bootstrap().join(',')])
      expect(status.code).toBe(0)
      const s = jsonLines<{ brokers: Array<{ nodeId: number; controller: boolean }>; underReplicated: Array<{ partition: number; offlineReplicas: number[] }>; offline: unknown[] }>(status.stdout)[0]!
      expect(s.brokers.map((b) => b.nodeId)).toEqual([1, 2, 3].filter((id) => id !== victim))
      expect(s.brokers.filter((b) => b.controller).map((b) => b.nodeId)).toEqual([controller])
      expect(s.underReplicated.map((p) => p.partition).sort()).toEqual([0, 1, 2])
      for (const p of s.underReplicated) expect(p.offlineReplicas).toEqual([victim])
      expect(s.offline).toEqual([])
      const described = await samsa(['topics', 'describe', 'orders', '--json', '-b', cluster.bootstrap().join(',')])
      const d = jsonLines<{ partitions: Array<{ partition: number; leader: number; replicas: number[]; isr: number[] }> }>(described.stdout)[0]!
      expect(d.partitions[target.partitionId]).toMatchObject({ leader: after.leader, replicas: after.replicas, isr: after.isr })

      const sent = await producer.send({ topic: 'orders', acks: -1, messages: [{ partition: target.partitionId, value: 'after' }] })
      expect(sent[0]!.errorCode).toBe(0)
    } finally {
      await producer.disconnect()
    }
    await cluster.startBroker(victim)
    // Back under a new lease: registered again, no longer offline, and once it has caught up as a
    // follower, back in every ISR (so the next case starts from full ISRs, not from a rejoin under way).
    await waitFor(async () => (await partitions(cluster, 'orders')).every((p) => p.offlineReplicas!.length === 0 && p.isr.includes(victim)), {
      timeoutMs: 20_000,
      what: 'the broker back in every ISR',
    })
  })

  it('hands control to another broker when the controller is killed, which re-elects its partitions', async () => {
    const controller = await waitFor(() => controllerId(cluster), { what: 'a controller' })
    const led = (await partitions(cluster, 'orders')).filter((p) => p.leader === controller)
    await cluster.kill(controller)
    const next = await waitFor(
      async () => {
        const c = await controllerId(cluster)
        return c !== null && c !== controller && c >= 0 ? c : undefined
      },
      { timeoutMs: 15_000, what: 'a new controller' },
    )
    expect(cluster.brokers.filter((b) => b.child !== undefined).map((b) => b.nodeId)).toContain(next)
    // Each partition's new state is its own transaction: wait for all of them.
    const now = await waitFor(
      async () => {
        const ps = await partitions(cluster, 'orders')
        return ps.every((p) => p.leader !== controller && p.leader >= 0 && !p.isr.includes(controller)) ? ps : undefined
      },
      { timeoutMs: 15_000, what: 'leaders and ISRs without the dead controller' },
    )
    for (const p of led) expect(p.isr).toContain(now[p.partitionId]!.leader)
  })
})
