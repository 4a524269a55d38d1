// The web console of one broker of a cluster shows and acts on the whole cluster: broker 1's JSON
// API is asked about brokers and the controller, a topic whose partitions other brokers lead (with
// their records, read from those leaders), a group another broker coordinates (its members and
// lag), and a topic created through it, which the other brokers' metadata then holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { Consumer } from 'kafkajs'
import { BrokerConnection } from '../../broker/client/connection.js'
import { FindCoordinatorApi } from '../../protocol/generated/find-coordinator.js'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'

const { Kafka, logLevel } = kafkajs
const kafka = (brokers: string[]) => new Kafka({ clientId: 'cluster-console-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } })
const TOPIC = 'spread'

interface ClusterView {
  controllerId: number
  brokers: Array<{ nodeId: number; host: string; port: number; controller: boolean }>
  topics: number
  partitions: number
  underReplicatedPartitions: number
  offlinePartitions: number
}
interface TopicDetail {
  records: number
  partitionDetails: Array<{ partition: number; leader: number | null; highWatermark: number; replicas: number[]; isr: number[] }>
}
interface MessagePage {
  highWatermark: number
  messages: Array<{ offset: number; value: string | null }>
}
interface GroupDetail {
  state: string
  members: Array<{ clientId: string; assignment: Array<{ topic: string; partitions: number[] }> }>
  offsets: Array<{ topic: string; partition: number; committedOffset: number; lag: number }>
}

const text = (b64: string | null) => (b64 === null ? null : Buffer.from(b64, 'base64').toString())

describe.skipIf(etcdMissing !== undefined)('the console of one broker of a cluster (three brokers, etcd)', () => {
  let cluster: TestCluster
  let consoleUrl: string
  const consumers: Consumer[] = []

  async function get<T>(path: string): Promise<T> {
    const res = await fetch(`${consoleUrl}/api/${path}`)
    const body = (await res.json()) as T & { error?: string }
    if (!res.ok) throw new Error(`${path}: ${res.status} ${body.error}`)
    return body
  }
  async function post<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(`${consoleUrl}/api/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const out = (await res.json()) as T & { error?: string }
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${out.error}`)
    return out
  }

  beforeAll(async () => {
    cluster = await TestCluster.start(3, { 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '6' }, { http: 'actions' })
    consoleUrl = cluster.broker(1).child!.httpUrl!
    // Broker 1 holds no replica of this topic: partition 0 is led by broker 2, partition 1 by broker 3.
    await withAdmin(kafka(cluster.bootstrap()), (a) =>
      a.createTopics({
        topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [2, 3] }, { partition: 1, replicas: [3, 2] }] }],
        waitForLeaders: true,
      }),
    )
    const producer = kafka(cluster.bootstrap()).producer()
    await producer.connect()
    await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `p0-${i}` })) })
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition: 1, value: 'p1-0' }] })
    await producer.disconnect()
  }, 60_000)

  afterAll(async () => {
    for (const c of consumers) await c.disconnect().catch(() => {})
    await cluster?.stop()
  })

  it('lists every broker and names the elected controller', async () => {
    const described = await withAdmin(kafka([cluster.address(2)]), (a) => a.describeCluster())
    const c = await get<ClusterView>('cluster')
    expect(c.brokers.map((b) => b.nodeId)).toEqual([1, 2, 3])
    expect(c.controllerId).toBe(described.controller)
    expect(c.brokers.filter((b) => b.controller).map((b) => b.nodeId)).toEqual([described.controller])
    expect(c.brokers.find((b) => b.nodeId === 3)?.port).toBe(Number(cluster.address(3).split(':')[1]))
    expect(c.offlinePartitions).toBe(0)
    expect(c.topics).toBeGreaterThanOrEqual(1)
  })

  it('shows a topic led by the other brokers with its leaders, replicas and records', async () => {
    const t = await get<TopicDetail>(`topics/${TOPIC}`)
    expect(t.partitionDetails.map((p) => [p.partition, p.leader, p.replicas])).toEqual([
      [0, 2, [2, 3]],
      [1, 3, [3, 2]],
    ])
    expect(t.partitionDetails.map((p) => p.highWatermark)).toEqual([5, 1])
    expect(t.records).toBe(6)
    const listed = await get<Array<{ name: string; records: number; partitions: number }>>('topics')
    expect(listed.find((x) => x.name === TOPIC)).toMatchObject({ partitions: 2, records: 6 })
  })

  it('browses a partition led by another broker, and produces a test record to its leader', async () => {
    const page = await get<MessagePage>(`topics/${TOPIC}/messages?partition=0&from=start&limit=10`)
    expect(page.highWatermark).toBe(5)
    expect(page.messages.map((m) => [m.offset, text(m.value)])).toEqual([0, 1, 2, 3, 4].map((i) => [i, `p0-${i}`]))
    const sent = await post<{ partition: number; offset: number }>(`topics/${TOPIC}/messages`, { partition: 1, value: 'from-console' })
    expect(sent).toEqual({ partition: 1, offset: 1 })
    const after = await get<MessagePage>(`topics/${TOPIC}/messages?partition=1&from=start&limit=10`)
    expect(after.messages.map((m) => [m.offset, text(m.value)])).toEqual([
      [0, 'p1-0'],
      [1, 'from-console'],
    ])
  })

  it('lists and describes a group coordinated by another broker, with its member and lag', async () => {
    const groupId = await groupCoordinatedElsewhere(cluster)
    const consumer = kafka([cluster.address(2)]).consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 300 })
    consumers.push(consumer)
    await consumer.connect()
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
    const values: string[] = []
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) })
    await waitFor(() => values.length >= 7, { timeoutMs: 20_000, what: 'the group to read the topic' })
    // What the console produced is on partition 1's leader, where clients read it.
    expect(values).toContain('from-console')
    const producer = kafka(cluster.bootstrap()).producer()
    await producer.connect()
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition: 0, value: 'p0-late' }] })
    await producer.disconnect()
    await waitFor(() => values.length >= 8, { timeoutMs: 20_000, what: 'the late record read' })
    const detail = await waitFor(
      async () => {
        const d = await get<GroupDetail>(`groups/${groupId}`)
        const committed = d.offsets.map((o) => [o.partition, o.committedOffset])
        return d.state === 'Stable' && JSON.stringify(committed) === JSON.stringify([[0, 6], [1, 2]]) ? d : undefined
      },
      { timeoutMs: 20_000, what: `the console to describe ${groupId} with its committed offsets` },
    )
    expect(detail.members).toHaveLength(1)
    expect(detail.members[0]!.clientId).toBe('cluster-console-test')
    expect(detail.members[0]!.assignment).toEqual([{ topic: TOPIC, partitions: [0, 1] }])
    expect(detail.offsets.map((o) => o.lag)).toEqual([0, 0])
    const groups = await get<Array<{ groupId: string; members: number; state: string }>>('groups')
    expect(groups.find((g) => g.groupId === groupId)).toMatchObject({ members: 1, state: 'Stable' })
    await consumer.stop()
  }, 45_000)

  it('creates a topic through the controller: the other brokers have it', async () => {
    expect(await post('topics', { name: 'made-on-1', partitions: 3 })).toEqual({ name: 'made-on-1', partitions: 3 })
    const meta = await withAdmin(kafka([cluster.address(2)]), (a) =>
      waitFor(
        async () => {
          const m = await a.fetchTopicMetadata({ topics: ['made-on-1'] })
          return m.topics[0]!.partitions.every((p) => p.leader >= 0) ? m : undefined
        },
        { timeoutMs: 10_000, what: 'broker 2 to know made-on-1' },
      ),
    )
    expect(meta.topics[0]!.partitions).toHaveLength(3)
    const detail = await get<TopicDetail>('topics/made-on-1')
    expect(detail.partitionDetails.map((p) => p.leader).sort()).toEqual(meta.topics[0]!.partitions.map((p) => p.leader).sort())
  })
})

/** A group id whose coordinator is not broker 1. */
async function groupCoordinatedElsewhere(cluster: TestCluster): Promise<string> {
  const c = await BrokerConnection.connect(cluster.address(1), { clientId: 'find-test', connectTimeoutMs: 5_000, requestTimeoutMs: 5_000 })
  try {
    for (let i = 0; ; i++) {
      const group = `console-group-${i}`
      // COORDINATOR_NOT_AVAILABLE while __consumer_offsets is created and its leaders elected.
      const nodeId = await waitFor(
        async () => {
          const res = await c.request(FindCoordinatorApi, 3, { key: group, keyType: 0, coordinatorKeys: [] })
          return res.errorCode === 0 ? res.nodeId + 1 : undefined
        },
        { timeoutMs: 20_000, what: `a coordinator for ${group}` },
      )
      if (nodeId - 1 !== 1) return group
    }
  } finally {
    c.close()
  }
}
