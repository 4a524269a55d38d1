// Consumer groups with kafkajs 2.2.4: partitions split across members and moved when one leaves,
// committed offsets surviving consumer and broker restarts, independent groups, the admin group
// APIs and offset seeding/reset through the admin client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs'
import { startBroker } from '../../broker/index.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { sleep, waitFor } from '../helpers/wait.js'

const { AssignerProtocol } = kafkajs

const BROKER_CONFIG = { 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '6000' }
const CONSUMER_OPTS = { sessionTimeout: 6000, heartbeatInterval: 300, rebalanceTimeout: 10_000, maxWaitTimeInMs: 200 }

interface Member {
  consumer: Consumer
  /** Partitions of the last completed rebalance. */
  assigned: number[]
  values: string[]
  stopped: boolean
}

const running: Member[] = []

async function startMember(kafka: Kafka, groupId: string, topic: string, fromBeginning = true): Promise<Member> {
  const consumer = kafka.consumer({ groupId, ...CONSUMER_OPTS })
  const member: Member = { consumer, assigned: [], values: [], stopped: false }
  running.push(member)
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    member.assigned = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b)
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning })
  await consumer.run({
    eachMessage: async ({ message }) => {
      member.values.push(message.value!.toString())
    },
  })
  return member
}

async function stopMember(m: Member): Promise<void> {
  if (m.stopped) return
  m.stopped = true
  await m.consumer.disconnect()
}

async function produceValues(producer: Producer, topic: string, from: number, to: number): Promise<void> {
  const messages = []
  for (let i = from; i < to; i++) messages.push({ key: `k${i}`, value: `m${i}` })
  await producer.send({ topic, messages })
}

async function committedTotal(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
  return t!.partitions.reduce((sum, p) => sum + Math.max(Number(p.offset), 0), 0)
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `m${from + i}`)
const sorted = (values: string[]) => [...values].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))

let tb: TestBroker
let kafka: Kafka
let admin: Admin
let producer: Producer

beforeAll(async () => {
  tb = await startTestBroker(BROKER_CONFIG)
  kafka = kafkaClient(tb.address)
  admin = kafka.admin()
  await admin.connect()
  producer = kafka.producer()
  await producer.connect()
})

afterAll(async () => {
  await Promise.allSettled(running.map(stopMember))
  await producer?.disconnect()
  await admin?.disconnect()
  await tb?.stop()
})

describe('consumer groups with kafkajs', () => {
  it('splits six partitions evenly over three members and moves a leaving member\'s partitions', async () => {
    await admin.createTopics({ topics: [{ topic: 'split', numPartitions: 6 }] })
    const members = await Promise.all([1, 2, 3].map(() => startMember(kafka, 'split-g', 'split')))
    await waitFor(
      () => members.every((m) => m.assigned.length === 2) && new Set(members.flatMap((m) => m.assigned)).size === 6,
      { timeoutMs: 30_000, what: 'an even split of 6 partitions over 3 members' },
    )
    const described = await admin.describeGroups(['split-g'])
    expect(described.groups[0]!.state).toBe('Stable')
    expect(described.groups[0]!.members).toHaveLength(3)

    await stopMember(members[2]!)
    const rest = members.slice(0, 2)
    await waitFor(
      () => rest.every((m) => m.assigned.length === 3) && new Set(rest.flatMap((m) => m.assigned)).size === 6,
      { timeoutMs: 30_000, what: 'the two remaining members taking over all 6 partitions' },
    )
    // Every partition still reaches a member: produce one message per partition.
    await producer.send({ topic: 'split', messages: [0, 1, 2, 3, 4, 5].map((p) => ({ partition: p, value: `m${p}` })) })
    await waitFor(() => rest.flatMap((m) => m.values).length === 6, { timeoutMs: 15_000, what: 'one message from each partition' })
    expect(sorted(rest.flatMap((m) => m.values))).toEqual(range(0, 6))
    await Promise.all(rest.map(stopMember))
  })

  it('resumes from committed offsets when the group\'s consumers restart', async () => {
    await admin.createTopics({ topics: [{ topic: 'resume', numPartitions: 3 }] })
    await produceValues(producer, 'resume', 0, 30)
    const first = await startMember(kafka, 'resume-g', 'resume')
    await waitFor(() => first.values.length === 30, { timeoutMs: 20_000, what: '30 messages' })
    await waitFor(async () => (await committedTotal(admin, 'resume-g', 'resume')) === 30, { timeoutMs: 15_000, what: 'offsets committed' })
    await stopMember(first)

    await produceValues(producer, 'resume', 30, 40)
    const second = await startMember(kafka, 'resume-g', 'resume')
    await waitFor(() => second.values.length >= 10, { timeoutMs: 20_000, what: 'the 10 new messages' })
    await sleep(500)
    expect(sorted(second.values)).toEqual(range(30, 40))
    await stopMember(second)
  })

  it('delivers every message to each of two groups', async () => {
    await admin.createTopics({ topics: [{ topic: 'fanout', numPartitions: 2 }] })
    const [a, b] = await Promise.all([startMember(kafka, 'fan-a', 'fanout'), startMember(kafka, 'fan-b', 'fanout')])
    await produceValues(producer, 'fanout', 0, 20)
    await waitFor(() => a!.values.length === 20 && b!.values.length === 20, { timeoutMs: 20_000, what: 'both groups to see 20 messages' })
    expect(sorted(a!.values)).toEqual(range(0, 20))
    expect(sorted(b!.values)).toEqual(range(0, 20))
    await Promise.all([stopMember(a!), stopMember(b!)])
  })

  it('lists, describes and deletes groups through the admin client', async () => {
    await admin.createTopics({ topics: [{ topic: 'admin-t', numPartitions: 2 }] })
    await produceValues(producer, 'admin-t', 0, 4)
    const m = await startMember(kafka, 'admin-g', 'admin-t')
    await waitFor(() => m.values.length === 4 && m.assigned.length === 2, { timeoutMs: 20_000, what: 'the member to consume' })

    const { groups } = await admin.listGroups()
    expect(groups).toContainEqual({ groupId: 'admin-g', protocolType: 'consumer' })
    const [g] = (await admin.describeGroups(['admin-g'])).groups
    expect(g).toMatchObject({ groupId: 'admin-g', state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner', errorCode: 0 })
    expect(g!.members).toHaveLength(1)
    expect(g!.members[0]).toMatchObject({ clientId: 'samsa-it', clientHost: '/127.0.0.1' })
    const assignment = AssignerProtocol.MemberAssignment.decode(g!.members[0]!.memberAssignment)
    expect(assignment!.assignment).toEqual({ 'admin-t': [0, 1] })
    const subscription = AssignerProtocol.MemberMetadata.decode(g!.members[0]!.memberMetadata)
    expect(subscription!.topics).toEqual(['admin-t'])

    const refused = await admin.deleteGroups(['admin-g']).then(
      () => null,
      (err: { groups?: Array<{ groupId: string; error?: { type: string } }> }) => err,
    )
    expect(refused?.groups?.[0]?.error?.type).toBe('NON_EMPTY_GROUP')

    await waitFor(async () => (await committedTotal(admin, 'admin-g', 'admin-t')) === 4, { timeoutMs: 15_000, what: 'offsets committed' })
    await stopMember(m)
    expect((await admin.describeGroups(['admin-g'])).groups[0]!.state).toBe('Empty')
    expect(await admin.deleteGroups(['admin-g'])).toEqual([{ groupId: 'admin-g', errorCode: 0 }])
    expect((await admin.listGroups()).groups.map((x) => x.groupId)).not.toContain('admin-g')
    expect(await committedTotal(admin, 'admin-g', 'admin-t')).toBe(0)
    expect((await admin.describeGroups(['admin-g'])).groups[0]!.state).toBe('Dead')
  })

  it('seeds and resets a group\'s offsets through the admin client', async () => {
    await admin.createTopics({ topics: [{ topic: 'seek', numPartitions: 1 }] })
    await produceValues(producer, 'seek', 0, 10)
    await admin.setOffsets({ groupId: 'seek-g', topic: 'seek', partitions: [{ partition: 0, offset: '7' }] })
    const [fetched] = await admin.fetchOffsets({ groupId: 'seek-g', topics: ['seek'] })
    expect(fetched!.partitions).toEqual([{ partition: 0, offset: '7', metadata: null }])

    const tail = await startMember(kafka, 'seek-g', 'seek', false)
    await waitFor(() => tail.values.length >= 3, { timeoutMs: 20_000, what: 'messages from offset 7' })
    await sleep(300)
    expect(tail.values).toEqual(range(7, 10))
    await stopMember(tail)

    // kafkajs commits the "earliest" sentinel (-2) and resolves it on the client side.
    await admin.resetOffsets({ groupId: 'seek-g', topic: 'seek', earliest: true })
    const [reset] = await admin.fetchOffsets({ groupId: 'seek-g', topics: ['seek'] })
    expect(reset!.partitions[0]!.offset).toBe('-2')
    const all = await startMember(kafka, 'seek-g', 'seek', true)
    await waitFor(() => all.values.length >= 10, { timeoutMs: 20_000, what: 'every message after the reset' })
    expect(all.values).toEqual(range(0, 10))
    await stopMember(all)
  })
})

describe('committed offsets across a broker restart', () => {
  it('keeps a group\'s offsets when the broker restarts on the same data directory', async () => {
    const dataDir = await makeTempDir('samsa-groups-')
    try {
      let broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, config: BROKER_CONFIG, logLevel: 'silent' })
      let client = kafkaClient(broker.address)
      let adm = client.admin()
      let prod = client.producer()
      await Promise.all([adm.connect(), prod.connect()])
      await adm.createTopics({ topics: [{ topic: 'durable', numPartitions: 2 }] })
      await produceValues(prod, 'durable', 0, 20)
      const first = await startMember(client, 'durable-g', 'durable')
      await waitFor(() => first.values.length === 20, { timeoutMs: 20_000, what: '20 messages' })
      await waitFor(async () => (await committedTotal(adm, 'durable-g', 'durable')) === 20, { timeoutMs: 15_000, what: 'offsets committed' })
      await stopMember(first)
      await Promise.all([adm.disconnect(), prod.disconnect()])
      await broker.stop()

      broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, config: BROKER_CONFIG, logLevel: 'silent' })
      try {
        client = kafkaClient(broker.address)
        adm = client.admin()
        prod = client.producer()
        await Promise.all([adm.connect(), prod.connect()])
        expect(await committedTotal(adm, 'durable-g', 'durable')).toBe(20)
        expect((await adm.listGroups()).groups.map((g) => g.groupId)).toContain('durable-g')
        await produceValues(prod, 'durable', 20, 25)
        const second = await startMember(client, 'durable-g', 'durable')
        await waitFor(() => second.values.length >= 5, { timeoutMs: 20_000, what: 'the 5 new messages' })
        await sleep(500)
        expect(sorted(second.values)).toEqual(range(20, 25))
        await stopMember(second)
        await Promise.all([adm.disconnect(), prod.disconnect()])
      } finally {
        await broker.stop()
      }
    } finally {
      await removeDir(dataDir)
    }
  })
})
