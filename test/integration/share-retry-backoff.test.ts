// Samsa's share-group retry back-off (samsa.share.retry.backoff.*) against an in-process broker over
// real sockets, with the project's share consumer: a record released again and again is delivered
// no sooner than the configured, growing delays after each release (lower bounds only, measured at
// the client: the release is sent after the delivery is received, so the gap between two
// receptions can only be longer than the broker's delay), while a record behind it is delivered
// during the wait. Without the setting, a released record comes straight back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Producer } from 'kafkajs'
import { AdminClient, AlterConfigOp, ConfigResourceType } from '../../broker/client/admin-client.js'
import { ShareConsumer } from '../../broker/client/share-consumer.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'

const INITIAL_MS = 600
const MULTIPLIER = 2
const MAX_MS = 1000

let tb: TestBroker
let admin: AdminClient
let producer: Producer
const consumers: ShareConsumer[] = []

beforeAll(async () => {
  tb = await startTestBroker({
    'group.share.delivery.count.limit': '10',
    'group.share.heartbeat.interval.ms': '100',
    'group.share.min.heartbeat.interval.ms': '100',
  })
  admin = new AdminClient({ bootstrap: [tb.address] })
  await admin.createTopics(['rb-delayed', 'rb-plain'].map((name) => ({ name, numPartitions: 1, replicationFactor: 1 })))
  producer = kafkaClient(tb.address).producer()
  await producer.connect()
})

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.close().catch(() => {})))
  await producer?.disconnect()
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
  const c = new ShareConsumer({ bootstrap: [tb.address], groupId, acknowledgementMode: 'explicit', maxWaitMs: 100 })
  consumers.push(c)
  c.subscribe([topic])
  return c
}

interface Delivery {
  offset: number
  deliveryCount: number
  at: number
}

describe('share-group retry back-off', () => {
  it('a released record waits initial * multiplier^(n-1), at most max, before its next delivery; records behind it go meanwhile', async () => {
    await groupConfig('rb-delayed-g', {
      'samsa.share.retry.backoff.initial.ms': String(INITIAL_MS),
      'samsa.share.retry.backoff.multiplier': String(MULTIPLIER),
      'samsa.share.retry.backoff.max.ms': String(MAX_MS),
    })
    await producer.send({ topic: 'rb-delayed', acks: -1, messages: [{ value: 'flaky' }] })
    const c = consumer('rb-delayed-g', 'rb-delayed')
    const deliveries: Delivery[] = []
    let producedBehind = false
    while (deliveries.filter((d) => d.offset === 0).length < 4) {
      for (const r of await c.poll()) {
        deliveries.push({ offset: r.offset, deliveryCount: r.deliveryCount, at: Date.now() })
        c.acknowledge(r, r.offset === 0 ? 'release' : 'accept')
      }
      await c.commitSync()
      if (!producedBehind && deliveries.length > 0) {
        producedBehind = true
        await producer.send({ topic: 'rb-delayed', acks: -1, messages: [{ value: 'behind' }] })
      }
    }
    await c.close()
    const first = deliveries.filter((d) => d.offset === 0)
    expect(first.map((d) => d.deliveryCount)).toEqual([1, 2, 3, 4])
    for (let n = 1; n < first.length; n++) {
      const delay = Math.min(MAX_MS, INITIAL_MS * MULTIPLIER ** (n - 1))
      expect(first[n]!.at - first[n - 1]!.at, `gap before delivery ${n + 1}`).toBeGreaterThanOrEqual(delay)
    }
    // The record behind the waiting one was delivered, once, before the waiting one came back.
    const behind = deliveries.filter((d) => d.offset === 1)
    expect(behind.map((d) => d.deliveryCount)).toEqual([1])
    expect(deliveries.indexOf(behind[0]!)).toBeLessThan(deliveries.indexOf(first[1]!))
  })

  it('without the setting a released record is available again at once', async () => {
    await groupConfig('rb-plain-g', {})
    await producer.send({ topic: 'rb-plain', acks: -1, messages: [{ value: 'flaky' }] })
    const c = consumer('rb-plain-g', 'rb-plain')
    const counts: number[] = []
    // Each poll waits at most maxWaitMs (100 ms); had the record been held back, polls would
    // come back empty. Three deliveries in three non-empty polls in a row shows it was not.
    let empty = 0
    while (counts.length < 3) {
      const records = await c.poll()
      if (records.length === 0 && counts.length > 0) empty++
      for (const r of records) {
        counts.push(r.deliveryCount)
        c.acknowledge(r, 'release')
      }
      await c.commitSync()
    }
    await c.close()
    expect(counts).toEqual([1, 2, 3])
    expect(empty).toBe(0)
  })
})
