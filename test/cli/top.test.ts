// `samsa top --once` against an in-process broker with kafkajs traffic: per-topic rates move
// while a producer writes, a group's lag equals what `samsa groups describe` reports and what the
// broker's /metrics shows (parsed strictly), through the admin API and through --metrics-url.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Producer } from 'kafkajs'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { kafkaClient } from '../helpers/broker.js'
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { ensureBuilt, jsonLines, samsa, TEST_BROKER_CONFIG } from './harness.js'

const TOPIC = 'top-orders'
const IDLE = 'top-idle'
const GROUP = 'top-billing'

let dir: string
let broker: RunningBroker
let b: string[]
let producer: Producer

interface TopJson {
  topics: Array<{ topic: string; inPerSec: number; consumedPerSec: number; bytesInPerSec: number | null; records: number }>
  groups: Array<{ group: string; lag: number; partitions: number }>
}

beforeAll(async () => {
  ensureBuilt()
  dir = await makeTempDir('samsa-top-')
  broker = await startBroker({ dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent', http: { port: 0 }, config: TEST_BROKER_CONFIG })
  b = ['--bootstrap-server', broker.address]
  const kafka = kafkaClient(broker.address)
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }, { topic: IDLE, numPartitions: 1 }] })
  await admin.disconnect()
  producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic: TOPIC, messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `r${i}` })) })
  await producer.send({ topic: IDLE, messages: [{ value: 'still' }] })
  // The group reads the first ten, then seven more arrive: lag 7 (4 on partition 0, 3 on 1).
  const consumer = kafka.consumer({ groupId: GROUP })
  await consumer.connect()
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
  let seen = 0
  await consumer.run({ eachMessage: async () => void seen++ })
  await waitFor(() => seen === 10, { what: 'ten records consumed' })
  await consumer.stop()
  await consumer.disconnect()
  await producer.send({ topic: TOPIC, messages: Array.from({ length: 7 }, (_, i) => ({ partition: i % 2, value: `late${i}` })) })
}, 25_000)

afterAll(async () => {
  await producer?.disconnect()
  await broker?.stop()
  await removeDir(dir)
})

/** Runs `samsa top --once` while a producer keeps writing to TOPIC's partition 0. */
async function topWhileProducing(global: string[], extra: string[] = []): Promise<{ view: TopJson; produced: number }> {
  let running = true
  let produced = 0
  const writing = (async () => {
    while (running) {
      await producer.send({ topic: TOPIC, messages: [{ partition: 0, value: 'tick' }] })
      produced++
    }
  })()
  let view: TopJson
  try {
    const r = await samsa([...global, '--json', 'top', '--once', '--interval', '1s', ...extra])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    view = jsonLines<TopJson>(r.stdout)[0]!
  } finally {
    running = false
    await writing
  }
  // Counted once the send in flight has finished: top may have seen its record already.
  return { view, produced }
}

describe('samsa top', () => {
  it('through the admin API: rates per topic, lag per group as samsa groups describe and /metrics show it', async () => {
    const before = await samsa([...b, '--json', 'groups', 'describe', GROUP])
    const described = jsonLines<{ totalLag: number; partitions: Array<{ partition: number; lag: number }> }>(before.stdout)[0]!
    expect(described.totalLag).toBe(7)
    const metrics = parsePrometheusText(await (await fetch(`${broker.http!.url}/metrics`)).text())
    for (const p of described.partitions) expect(sumOf(metrics, 'kafka_consumergroup_lag', { consumergroup: GROUP, topic: TOPIC, partition: p.partition })).toBe(p.lag)
    expect(sumOf(metrics, 'kafka_consumergroup_lag', { consumergroup: GROUP })).toBe(described.totalLag)

    const { view, produced } = await topWhileProducing(b)
    expect(produced).toBeGreaterThan(0)
    const orders = view.topics.find((t) => t.topic === TOPIC)!
    expect(orders.inPerSec).toBeGreaterThan(0)
    expect(orders.records).toBeGreaterThanOrEqual(17)
    const idle = view.topics.find((t) => t.topic === IDLE)!
    expect(idle).toMatchObject({ inPerSec: 0, consumedPerSec: 0, records: 1 })
    expect(view.topics.some((t) => t.topic.startsWith('__'))).toBe(false)
    // Lag grows with what the producer wrote on partition 0 while the group is idle.
    const group = view.groups.find((g) => g.group === GROUP)!
    expect(group.partitions).toBe(2)
    expect(group.lag).toBeGreaterThan(7)
    expect(group.lag).toBeLessThanOrEqual(7 + produced)
  }, 25_000)

  it('through --metrics-url: bytes in per topic and the lag the broker computes', async () => {
    const { view } = await topWhileProducing([], ['--metrics-url', `${broker.http!.url}/metrics`])
    const orders = view.topics.find((t) => t.topic === TOPIC)!
    expect(orders.inPerSec).toBeGreaterThan(0)
    expect(orders.bytesInPerSec).toBeGreaterThan(0)
    expect(view.topics.find((t) => t.topic === IDLE)).toMatchObject({ inPerSec: 0, bytesInPerSec: 0 })
    const metrics = parsePrometheusText(await (await fetch(`${broker.http!.url}/metrics`)).text())
    const lagNow = sumOf(metrics, 'kafka_consumergroup_lag', { consumergroup: GROUP })
    const group = view.groups.find((g) => g.group === GROUP)!
    expect(group.lag).toBeGreaterThan(7)
    expect(group.lag).toBeLessThanOrEqual(lagNow)
  }, 25_000)

  it('prints plain tables without screen control when not on a terminal', async () => {
    const r = await samsa([...b, 'top', '--once', '--interval', '200ms'])
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain('\x1b[')
    const lines = r.stdout.split('\n')
    expect(lines.some((l) => /^TOPIC\s+IN\/S\s+CONSUMED\/S\s+RECORDS$/.test(l))).toBe(true)
    expect(lines.find((l) => l.startsWith(IDLE))).toMatch(/^top-idle\s+0\.0\s+0\.0\s+1$/)
    expect(lines.find((l) => l.startsWith(GROUP))).toMatch(/^top-billing\s+\d+\s+2\s+/)
  }, 25_000)
})
