// Dead-letter topics for share groups (KIP-1191) against an in-process broker over real sockets:
// the project's share consumer rejects or keeps releasing records, kafkajs produces them and reads
// the dead-letter topic back. A rejected record lands there with its key, value, headers and the
// __dlq.errors.* context headers; a record released until group.share.delivery.count.limit does
// too; a dead-letter write that cannot happen (topic absent, auto-create off) leaves the record
// Available and it is delivered again, then dead-lettered once the broker may create the topic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Admin, Producer } from 'kafkajs'
import { AdminClient, AlterConfigOp, ConfigResourceType } from '../../broker/client/admin-client.js'
import { ShareConsumer, type ShareRecord } from '../../broker/client/share-consumer.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { waitFor } from '../helpers/wait.js'

const DELIVERY_LIMIT = 3

let tb: TestBroker
let admin: AdminClient
let kadmin: Admin
let producer: Producer
const consumers: ShareConsumer[] = []

beforeAll(async () => {
  tb = await startTestBroker({
    'group.share.delivery.count.limit': String(DELIVERY_LIMIT),
    'group.initial.rebalance.delay.ms': '0',
    'group.share.heartbeat.interval.ms': '100',
    'group.share.min.heartbeat.interval.ms': '100',
  })
  admin = new AdminClient({ bootstrap: [tb.address] })
  const kafka = kafkaClient(tb.address)
  kadmin = kafka.admin()
  await kadmin.connect()
  await kadmin.createTopics({
    waitForLeaders: true,
    topics: [
      ...['dl-reject', 'dl-limit', 'dl-limit2', 'dl-absent'].map((topic) => ({ topic, numPartitions: 1 })),
      { topic: 'dlq.reject', numPartitions: 1, configEntries: [{ name: 'errors.deadletterqueue.group.enable', value: 'true' }] },
      { topic: 'dlq.limit', numPartitions: 1, configEntries: [{ name: 'errors.deadletterqueue.group.enable', value: 'true' }] },
    ],
  })
  producer = kafka.producer()
  await producer.connect()
})

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.close().catch(() => {})))
  await producer?.disconnect()
  await kadmin?.disconnect()
  await admin?.close()
  await tb?.stop()
})

async function groupConfig(groupId: string, configs: Record<string, string>): Promise<void> {
  await admin.incrementalAlterConfigs(
    { type: ConfigResourceType.Group, name: groupId },
    Object.entries({ 'share.auto.offset.reset': 'earliest', ...configs }).map(([name, value]) => ({ name, op: AlterConfigOp.Set, value })),
  )
}

function consumer(groupId: string, topic: string): ShareConsumer {
  const c = new ShareConsumer({ bootstrap: [tb.address], groupId, acknowledgementMode: 'explicit', maxWaitMs: 200 })
  consumers.push(c)
  c.subscribe([topic])
  return c
}

interface DeadLetter {
  key: string | null
  value: string | null
  headers: Record<string, string>
}

/** Reads `count` records of `topic` from the start with a kafkajs consumer. */
async function readTopic(topic: string, count: number): Promise<DeadLetter[]> {
  const c = kafkaClient(tb.address).consumer({ groupId: `read-${topic}-${Date.now()}`, maxWaitTimeInMs: 100 })
  const out: DeadLetter[] = []
  await c.connect()
  await c.subscribe({ topic, fromBeginning: true })
  await c.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v)
      out.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers })
    },
  })
  try {
    await waitFor(() => out.length >= count, { what: `${count} records on ${topic}`, timeoutMs: 15_000 })
  } finally {
    await c.disconnect()
  }
  return out
}

/** Polls, acknowledging each record with `decide(record)`, until `done()`. */
async function pollUntil(c: ShareConsumer, decide: (r: ShareRecord) => 'accept' | 'release' | 'reject', done: () => boolean): Promise<void> {
  while (!done()) {
    for (const r of await c.poll()) c.acknowledge(r, decide(r))
    await c.commitSync()
  }
}

describe('share-group dead-letter topics', () => {
  it('a group may only name a DLQ topic with the broker prefix and not internal', async () => {
    for (const name of ['poison', '__dlq.x']) {
      await expect(groupConfig('dl-bad-g', { 'errors.deadletterqueue.topic.name': name })).rejects.toThrow(/INVALID_CONFIG|errors.deadletterqueue/)
    }
    // A group's delivery limit and in-flight window stay within the broker's group.share.min/max.* bounds.
    for (const [name, value] of [['share.delivery.count.limit', '1'], ['share.delivery.count.limit', '11'], ['share.partition.max.record.locks', '50']]) {
      await expect(groupConfig('dl-bad-g', { [name!]: value! })).rejects.toThrow(/INVALID_CONFIG|group\.share\.m/)
    }
    await groupConfig('dl-bad-g', { 'errors.deadletterqueue.topic.name': 'dlq.ok', 'samsa.share.retry.backoff.initial.ms': '100' })
    const described = await admin.describeConfigs({ type: ConfigResourceType.Group, name: 'dl-bad-g' })
    expect(described.find((e) => e.name === 'errors.deadletterqueue.topic.name')?.value).toBe('dlq.ok')
    expect(described.find((e) => e.name === 'samsa.share.retry.backoff.initial.ms')?.value).toBe('100')
  })

  it('a rejected record is written to the DLQ topic with its context headers, then archived', async () => {
    await groupConfig('dl-reject-g', { 'errors.deadletterqueue.topic.name': 'dlq.reject', 'errors.deadletterqueue.copy.record.enable': 'true' })
    await producer.send({
      topic: 'dl-reject',
      acks: -1,
      messages: [{ value: 'good-0' }, { key: 'k1', value: 'poison', headers: { trace: 't-1' } }, { value: 'good-2' }],
    })
    const c = consumer('dl-reject-g', 'dl-reject')
    const seen: ShareRecord[] = []
    await pollUntil(
      c,
      (r) => {
        seen.push(r)
        return r.offset === 1 ? 'reject' : 'accept'
      },
      () => seen.length >= 3,
    )
    const [dead] = await readTopic('dlq.reject', 1)
    expect(dead).toEqual({
      key: 'k1',
      value: 'poison',
      headers: {
        trace: 't-1',
        '__dlq.errors.topic': 'dl-reject',
        '__dlq.errors.partition': '0',
        '__dlq.errors.offset': '1',
        '__dlq.errors.group': 'dl-reject-g',
        '__dlq.errors.delivery.count': '1',
        '__dlq.errors.message': 'Offset rejected by client.',
      },
    })
    // Archived once written: the share-partition start offset moves past it.
    await waitFor(async () => (await admin.describeShareGroupOffsets('dl-reject-g'))[0]?.startOffset === 3, { what: 'SPSO 3' })
    for (let i = 0; i < 3; i++) expect(await c.poll()).toEqual([])
    expect(seen.map((r) => r.offset)).toEqual([0, 1, 2])
  })

  it(`a record released ${DELIVERY_LIMIT} times (the delivery count limit) goes to the DLQ topic`, async () => {
    await groupConfig('dl-limit-g', { 'errors.deadletterqueue.topic.name': 'dlq.limit' })
    await producer.send({ topic: 'dl-limit', acks: -1, messages: [{ value: 'flaky' }] })
    const c = consumer('dl-limit-g', 'dl-limit')
    const counts: number[] = []
    await pollUntil(
      c,
      (r) => {
        counts.push(r.deliveryCount)
        return 'release'
      },
      () => counts.length >= DELIVERY_LIMIT,
    )
    const [dead] = await readTopic('dlq.limit', 1)
    // Without copy.record.enable only the context travels (KIP-1191's default).
    expect(dead).toEqual({
      key: null,
      value: null,
      headers: {
        '__dlq.errors.topic': 'dl-limit',
        '__dlq.errors.partition': '0',
        '__dlq.errors.offset': '0',
        '__dlq.errors.group': 'dl-limit-g',
        '__dlq.errors.delivery.count': String(DELIVERY_LIMIT),
        '__dlq.errors.message': 'Offset delivery count exceeded the threshold.',
      },
    })
    await waitFor(async () => (await admin.describeShareGroupOffsets('dl-limit-g'))[0]?.startOffset === 1, { what: 'SPSO 1' })
    expect(counts).toEqual([1, 2, 3])
  })

  it("a group's share.delivery.count.limit overrides the broker's", async () => {
    await groupConfig('dl-limit2-g', { 'errors.deadletterqueue.topic.name': 'dlq.limit', 'share.delivery.count.limit': '2' })
    await producer.send({ topic: 'dl-limit2', acks: -1, messages: [{ value: 'flaky' }] })
    const c = consumer('dl-limit2-g', 'dl-limit2')
    const counts: number[] = []
    await pollUntil(
      c,
      (r) => {
        counts.push(r.deliveryCount)
        return 'release'
      },
      () => counts.length >= 2,
    )
    const dead = (await readTopic('dlq.limit', 2)).find((d) => d.headers['__dlq.errors.topic'] === 'dl-limit2')
    expect(dead?.headers['__dlq.errors.delivery.count']).toBe('2')
    await waitFor(async () => (await admin.describeShareGroupOffsets('dl-limit2-g'))[0]?.startOffset === 1, { what: 'SPSO 1' })
    for (let i = 0; i < 3; i++) expect(await c.poll()).toEqual([])
    expect(counts).toEqual([1, 2])
  })

  it('a DLQ write that fails leaves the record Available; it is delivered again and dead-lettered once it can be', async () => {
    await groupConfig('dl-absent-g', { 'errors.deadletterqueue.topic.name': 'dlq.absent', 'errors.deadletterqueue.copy.record.enable': 'true' })
    await producer.send({ topic: 'dl-absent', acks: -1, messages: [{ value: 'unlucky' }] })
    const c = consumer('dl-absent-g', 'dl-absent')
    const counts: number[] = []
    // The topic is absent and the broker may not create it: the reject cannot be honoured.
    await pollUntil(
      c,
      (r) => {
        counts.push(r.deliveryCount)
        return 'reject'
      },
      () => counts.length >= 2,
    )
    expect(counts).toEqual([1, 2])
    expect((await kadmin.listTopics()).includes('dlq.absent')).toBe(false)
    // Now the broker may create DLQ topics: the next reject is written and the record archived.
    await admin.incrementalAlterConfigs({ type: ConfigResourceType.Broker, name: '' }, [
      { name: 'errors.deadletterqueue.auto.create.topics.enable', op: AlterConfigOp.Set, value: 'true' },
    ])
    await pollUntil(
      c,
      (r) => {
        counts.push(r.deliveryCount)
        return 'reject'
      },
      () => counts.length >= 3,
    )
    const [dead] = await readTopic('dlq.absent', 1)
    expect(dead?.value).toBe('unlucky')
    expect(dead?.headers['__dlq.errors.delivery.count']).toBe('3')
    const created = await kadmin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: 'dlq.absent' }] })
    expect(created.resources[0]!.configEntries.find((e) => e.configName === 'errors.deadletterqueue.group.enable')?.configValue).toBe('true')
    await waitFor(async () => (await admin.describeShareGroupOffsets('dl-absent-g'))[0]?.startOffset === 1, { what: 'SPSO 1' })
  })
})
