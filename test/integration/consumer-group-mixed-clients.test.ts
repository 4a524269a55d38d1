// A classic group converted online (KIP-848 upgrade and downgrade) with real clients on both
// protocols: kafkajs consumers (classic protocol, eager) consume a topic while a producer writes;
// an @confluentinc/kafka-javascript consumer with group.protocol=consumer joins, which converts the
// group to a consumer group that both kinds of member share; when it leaves, the group is classic
// again and kafkajs takes everything back. consumer-group-mixed.test.ts covers the same conversion
// with a consumer-protocol member built on the project's own wire client.
//
// Checked: the group's type at each step (ListGroups); no record is processed by a kafkajs member
// while the KIP-848 member owns its partition (every event is stamped from one counter, and
// librdkafka's ownership periods come from its rebalance callbacks); the KIP-848 member processes no
// record twice; every record is processed and the committed offsets reach the log end.
// The broker runs in a child process: the KIP-848 member commits synchronously before it releases
// a partition.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Consumer } from 'kafkajs'
import { ApiKey } from '../../protocol/generated/index.js'
import type { ListGroupsResponse } from '../../protocol/generated/list-groups.js'
import { kafkaClient } from '../helpers/broker.js'
import { ensureBuilt, startChildBroker, type ChildBroker } from '../helpers/child-broker.js'
import { CkjsGroupMember, tick } from '../helpers/ckjs-group-member.js'
import { loadConfluentJavascript, type RdKafka } from '../helpers/confluent-javascript.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { sleep, waitFor } from '../helpers/wait.js'
import { WireClient } from '../helpers/wire.js'

const TOPIC = 'mixed-real'
const GROUP = 'mixed-real-group'
const PARTITIONS = 4
const loaded = loadConfluentJavascript()

let broker: ChildBroker | undefined
let dataDir: string | undefined

beforeAll(async () => {
  if ('reason' in loaded) return
  await ensureBuilt()
  dataDir = await makeTempDir()
  broker = await startChildBroker(dataDir, { 'group.consumer.heartbeat.interval.ms': '100', 'group.initial.rebalance.delay.ms': '0' })
  const admin = kafkaClient(broker.address).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] })
  await admin.disconnect()
}, 60_000)

afterAll(async () => {
  await broker?.stop()
  await removeDir(dataDir)
})

async function groupType(address: string): Promise<string | undefined> {
  const c = await WireClient.connect(address)
  try {
    const res = await c.request<ListGroupsResponse>(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] })
    return res.body.groups.find((g) => g.groupId === GROUP)?.groupType
  } finally {
    c.close()
  }
}

describe.skipIf('reason' in loaded)(`classic group converted online with kafkajs and librdkafka members${'reason' in loaded ? ` (skipped: ${loaded.reason})` : ''}`, () => {
  it('kafkajs (classic) and a KIP-848 librdkafka member share the group; no record processed by both or skipped', async () => {
    const rd = (loaded as { rd: RdKafka }).rd
    const address = broker!.address
    const kafka = kafkaClient(address)
    /** Records processed by kafkajs members, stamped from the shared counter. */
    const kafkajsLog: Array<{ partition: number; offset: number; at: number }> = []
    const consumers: Consumer[] = []
    for (let i = 0; i < 2; i++) {
      const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 6000, heartbeatInterval: 100, rebalanceTimeout: 10_000, maxWaitTimeInMs: 100 })
      await consumer.connect()
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          kafkajsLog.push({ partition, offset: Number(message.offset), at: tick() })
        },
      })
      consumers.push(consumer)
    }
    const producer = kafka.producer()
    await producer.connect()
    let producing = true
    let produced = 0
    const writer = (async () => {
      while (producing) {
        await producer.send({ topic: TOPIC, messages: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: `m${produced + p}` })) })
        produced += PARTITIONS
        await sleep(25)
      }
    })()

    const member = new CkjsGroupMember(rd, 'kip848', { address, groupId: GROUP, topic: TOPIC })
    const seen = (): Set<string> => new Set([...kafkajsLog, ...member.periods.flatMap((p) => p.offsets.map((offset) => ({ partition: p.partition, offset })))].map((r) => `${r.partition}:${r.offset}`))
    try {
      await waitFor(() => kafkajsLog.length >= 40, { timeoutMs: 20_000, what: 'kafkajs to consume the first records' })
      expect(await groupType(address)).toBe('classic')

      await member.start()
      await waitFor(() => member.current.size > 0, { timeoutMs: 20_000, what: 'the KIP-848 member to get partitions' })
      expect(await groupType(address)).toBe('consumer')
      const mark = produced
      await waitFor(() => member.processedCount() > 0 && seen().size >= mark, { timeoutMs: 20_000, what: 'both kinds of member to consume' })
      // Both kinds of member hold partitions: kafkajs processed records after the KIP-848 member got its own.
      const firstAssigned = Math.min(...member.periods.map((p) => p.opened))
      await waitFor(() => kafkajsLog.some((r) => r.at > firstAssigned && !member.current.has(r.partition)), { timeoutMs: 20_000, what: 'kafkajs to consume beside the KIP-848 member' })

      await member.close()
      await waitFor(async () => (await groupType(address)) === 'classic', { timeoutMs: 20_000, what: 'the group to be classic again' })
      const afterLeave = produced
      await waitFor(() => seen().size >= afterLeave, { timeoutMs: 20_000, what: 'kafkajs to consume after the downgrade' })
    } finally {
      producing = false
      await writer
      await producer.disconnect()
    }
    await waitFor(() => seen().size >= produced, { timeoutMs: 20_000, what: 'every record processed' })

    // kafkajs processed nothing of a partition while the KIP-848 member owned it.
    for (const period of member.periods) {
      const overlap = kafkajsLog.filter((r) => r.partition === period.partition && r.at > period.opened && (period.closed === null || r.at < period.closed))
      expect(overlap, `kafkajs processed partition ${period.partition} while the KIP-848 member owned it`).toEqual([])
      const repeated = period.offsets.filter((o, i) => i > 0 && o <= period.offsets[i - 1]!)
      expect(repeated, `partition ${period.partition}: the KIP-848 member processed offsets again`).toEqual([])
    }
    expect(member.periods.length).toBeGreaterThan(0)

    const admin = kafka.admin()
    await admin.connect()
    try {
      const ends = await admin.fetchTopicOffsets(TOPIC)
      const all = seen()
      for (const { partition, high } of ends) {
        const missing = Array.from({ length: Number(high) }, (_, o) => o).filter((o) => !all.has(`${partition}:${o}`))
        expect(missing, `partition ${partition}: records nobody processed`).toEqual([])
      }
      // kafkajs commits on its own schedule; its last commit comes within its auto-commit interval.
      await waitFor(
        async () => {
          const committed = (await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0]!.partitions
          return ends.every(({ partition, high }) => committed.find((c) => c.partition === partition)?.offset === high)
        },
        { timeoutMs: 20_000, what: 'committed offsets at the log end' },
      )
    } finally {
      await admin.disconnect()
      for (const c of consumers) await c.disconnect()
    }
    expect(member.errors).toEqual([])
  }, 120_000)
})
