// KIP-848 over real sockets: consumers built on the project's wire client (test/helpers/
// kip848-consumer.ts) share a topic through ConsumerGroupHeartbeat while kafkajs produces into it.
// Two members, then three, then a rolling restart of static members and one of dynamic members.
// Checked throughout: a partition is never held by two consumers; at the end: every produced record
// was processed, none twice (revoked partitions are committed before the revocation is
// acknowledged, so a new owner resumes exactly where the last one stopped).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { ApiKey } from '../../protocol/generated/index.js'
import type { ConsumerGroupDescribeResponse } from '../../protocol/generated/consumer-group-describe.js'
import type { MetadataResponse } from '../../protocol/generated/metadata.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { Kip848Consumer, type ProcessedRecord } from '../helpers/kip848-consumer.js'
import { WireClient } from '../helpers/wire.js'

const TOPIC = 'kip848-events'
const PARTITIONS = 6
const GROUP = 'kip848-group'

let tb: TestBroker
let topicId: string

beforeAll(async () => {
  tb = await startTestBroker({ 'group.consumer.heartbeat.interval.ms': '50', 'group.consumer.session.timeout.ms': '10000' })
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

async function describeGroup(): Promise<ConsumerGroupDescribeResponse['groups'][number]> {
  const c = await WireClient.connect(tb.address)
  try {
    const res = (await c.request<ConsumerGroupDescribeResponse>(ApiKey.ConsumerGroupDescribe, 0, { groupIds: [GROUP], includeAuthorizedOperations: false })).body
    return res.groups[0]!
  } finally {
    c.close()
  }
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

describe('KIP-848 consumer group protocol with the wire client', () => {
  it('two and three members, then rolling restarts, process every record exactly once', async () => {
    const log: ProcessedRecord[] = []
    const ownership = new Map<number, string>()
    const make = (instanceId?: string) =>
      new Kip848Consumer({ address: tb.address, groupId: GROUP, topic: TOPIC, topicId, instanceId, log, ownership })

    const producer = kafkaClient(tb.address).producer()
    await producer.connect()
    let produced = 0
    let producing = true
    const production = (async () => {
      while (producing) {
        const messages = Array.from({ length: 12 }, (_, i) => ({ partition: i % PARTITIONS, value: `v${produced + i}` }))
        await producer.send({ topic: TOPIC, messages })
        produced += messages.length
        await sleep(10)
      }
    })()
    const stable = async (n: number) =>
      until(`${n} members stable`, async () => {
        const g = await describeGroup()
        return g.groupState === 'Stable' && g.members.length === n && g.members.every((m) => m.memberEpoch === g.assignmentEpoch)
      })

    const a = make('a')
    const b = make('b')
    await a.start()
    await b.start()
    await stable(2)
    await sleep(200)
    const c = make('c')
    await c.start()
    await stable(3)
    let g = await describeGroup()
    expect(g.members.map((m) => m.assignment.topicPartitions[0]?.partitions.length ?? 0).sort()).toEqual([2, 2, 2])
    expect(g.assignorName).toBe('uniform')
    for (const m of g.members) {
      expect(m.clientHost).toBe('/127.0.0.1')
      expect(m.assignment).toEqual(m.targetAssignment)
      expect(m.assignment.topicPartitions[0]!.topicName).toBe(TOPIC)
    }
    const epochBeforeRestart = g.groupEpoch

    // Rolling restart of the static members: each comes back under a new member id with its partitions.
    const members = [a, b, c]
    for (let i = 0; i < members.length; i++) {
      const old = members[i]!
      const held = [...old.positions.keys()].sort()
      await old.stop()
      const next = make(['a', 'b', 'c'][i])
      await next.start()
      members[i] = next
      expect([...next.positions.keys()].sort()).toEqual(held)
      await sleep(100)
    }
    g = await describeGroup()
    expect(g.groupEpoch).toBe(epochBeforeRestart)

    // Rolling restart with dynamic members: each leaves for good (epoch -1) and a newcomer joins.
    for (let i = 0; i < members.length; i++) {
      await members[i]!.stop(true)
      await sleep(100)
      const next = make()
      await next.start()
      members[i] = next
      await stable(3)
    }
    expect((await describeGroup()).groupEpoch).toBeGreaterThan(epochBeforeRestart + 4)

    producing = false
    await production
    await producer.disconnect()
    await until('every record processed', () => new Set(log.map((r) => `${r.partition}:${r.offset}`)).size >= produced, 20_000)
    for (const m of members) await m.stop()

    const seen = new Map<string, ProcessedRecord>()
    const duplicates: string[] = []
    for (const r of log) {
      const key = `${r.partition}:${r.offset}`
      const first = seen.get(key)
      if (first !== undefined) duplicates.push(`${key} by ${first.memberId}@${first.epoch} and ${r.memberId}@${r.epoch}`)
      else seen.set(key, r)
    }
    expect(duplicates).toEqual([])
    expect(seen.size).toBe(produced)
    // None skipped: each partition's processed offsets are 0..n-1 without gaps.
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = log.filter((r) => r.partition === p).map((r) => r.offset).sort((x, y) => x - y)
      expect(offsets).toEqual(offsets.map((_, i) => i))
    }
    for (const m of members) expect(m.errors).toEqual([])
  }, 90_000)
})
