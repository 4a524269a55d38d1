// A classic group converted online (KIP-848 upgrade and downgrade) over real sockets: kafkajs
// consumers (classic protocol) consume a topic; a consumer-protocol member built on the project's
// wire client joins, the group becomes a consumer group and the partitions are shared between both
// kinds of member; when it leaves, the group is classic again and kafkajs takes everything back.
// No record is skipped, and the wire member never holds a partition a kafkajs member holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Consumer } from 'kafkajs'
import { ApiKey } from '../../protocol/generated/index.js'
import type { ListGroupsResponse } from '../../protocol/generated/list-groups.js'
import type { MetadataResponse } from '../../protocol/generated/metadata.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { Kip848Consumer, type ProcessedRecord } from '../helpers/kip848-consumer.js'
import { WireClient } from '../helpers/wire.js'

const TOPIC = 'mixed-events'
const GROUP = 'mixed-group'
const PARTITIONS = 4

let tb: TestBroker
let topicId: string

beforeAll(async () => {
  tb = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0', 'group.consumer.heartbeat.interval.ms': '50' })
  const admin = kafkaClient(tb.address).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] })
  await admin.disconnect()
  const c = await WireClient.connect(tb.address)
  try {
    const md = await c.request<MetadataResponse>(ApiKey.Metadata, 12, {
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: TOPIC }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    })
    topicId = md.body.topics[0]!.topicId
  } finally {
    c.close()
  }
})

afterAll(async () => {
  await tb?.stop()
})

async function groupType(): Promise<string | undefined> {
  const c = await WireClient.connect(tb.address)
  try {
    const res = await c.request<ListGroupsResponse>(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] })
    return res.body.groups.find((g) => g.groupId === GROUP)?.groupType
  } finally {
    c.close()
  }
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

describe('classic and consumer-protocol members in one group', () => {
  it('kafkajs members keep consuming while a KIP-848 member joins and leaves', async () => {
    const kafka = kafkaClient(tb.address)
    const seen = new Set<string>()
    /** partition -> kafkajs consumers that processed from it since the wire member joined. */
    const kafkajsLog: Array<{ partition: number; offset: number; at: number }> = []
    const consumers: Consumer[] = []
    for (let i = 0; i < 2; i++) {
      const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 6000, heartbeatInterval: 100, rebalanceTimeout: 10_000, maxWaitTimeInMs: 100 })
      await consumer.connect()
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen.add(`${partition}:${message.offset}`)
          kafkajsLog.push({ partition, offset: Number(message.offset), at: Date.now() })
        },
      })
      consumers.push(consumer)
    }
    const producer = kafka.producer()
    await producer.connect()
    let produced = 0
    const produce = async (n: number) => {
      await producer.send({ topic: TOPIC, messages: Array.from({ length: n }, (_, i) => ({ partition: i % PARTITIONS, value: `m${produced + i}` })) })
      produced += n
    }
    await produce(40)
    await until('kafkajs consumed the first records', () => seen.size >= 40)
    expect(await groupType()).toBe('classic')

    const log: ProcessedRecord[] = []
    const ownership = new Map<number, string>()
    const wire = new Kip848Consumer({ address: tb.address, groupId: GROUP, topic: TOPIC, topicId, log, ownership })
    await wire.start()
    expect(await groupType()).toBe('consumer')
    await until('the wire member got partitions', () => wire.positions.size > 0)
    const joinedAt = Date.now()
    for (let i = 0; i < 10; i++) {
      await produce(20)
      await sleep(100)
    }
    await until('every record consumed by someone', () => {
      for (const r of log) seen.add(`${r.partition}:${r.offset}`)
      return seen.size >= produced
    })
    // While the wire member held a partition, kafkajs processed nothing new from it.
    const wirePartitions = new Set(log.map((r) => r.partition))
    expect(wirePartitions.size).toBeGreaterThan(0)
    const overlap = kafkajsLog.filter((r) => r.at > joinedAt + 2000 && wire.positions.has(r.partition))
    expect(overlap).toEqual([])

    await wire.stop(true)
    await until('the group is classic again', async () => (await groupType()) === 'classic')
    await produce(40)
    await until('kafkajs consumed everything after the downgrade', () => seen.size >= produced)
    for (let p = 0; p < PARTITIONS; p++) {
      const perPartition = [...seen].filter((k) => k.startsWith(`${p}:`)).length
      expect(perPartition).toBe(produced / PARTITIONS)
    }
    expect(wire.errors).toEqual([])
    await producer.disconnect()
    for (const c of consumers) await c.disconnect()
  }, 90_000)
})
