// `samsa producers <topic>` against an in-process broker written to by kafkajs idempotent and
// transactional producers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Kafka, Producer } from 'kafkajs'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { kafkaClient } from '../helpers/broker.js'
import { closedPort, ensureBuilt, jsonLines, samsa, TEST_BROKER_CONFIG } from './harness.js'

interface ProducerJson {
  topic: string
  partition: number
  producerId: number
  producerEpoch: number
  lastSequence: number
  lastTimestamp: number | null
  coordinatorEpoch: number
  currentTxnStartOffset: number | null
}

let broker: RunningBroker
let kafka: Kafka
let b: string[]
const producers: Producer[] = []

beforeAll(async () => {
  ensureBuilt()
  broker = await startBroker({ port: 0, config: TEST_BROKER_CONFIG })
  b = ['--bootstrap-server', broker.address]
  kafka = kafkaClient(broker.address)
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'pr-events', numPartitions: 2 }, { topic: 'pr-quiet', numPartitions: 1 }] })
  await admin.disconnect()
})

afterAll(async () => {
  for (const p of producers) await p.disconnect().catch(() => {})
  await broker?.stop()
})

describe('samsa producers', () => {
  it("shows an idempotent producer's id and last sequence per partition", async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    producers.push(producer)
    const before = Date.now()
    // Five records in one batch on partition 0 (sequences 0-4), then two more (5-6); one on partition 1.
    await producer.send({ topic: 'pr-events', messages: Array.from({ length: 5 }, (_, i) => ({ value: `v${i}`, partition: 0 })) })
    await producer.send({ topic: 'pr-events', messages: [{ value: 'v5', partition: 0 }, { value: 'v6', partition: 0 }] })
    await producer.send({ topic: 'pr-events', messages: [{ value: 'w0', partition: 1 }] })

    const r = await samsa([...b, '--json', 'producers', 'pr-events'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const rows = jsonLines<ProducerJson>(r.stdout)
    expect(rows.map((x) => [x.partition, x.lastSequence])).toEqual([
      [0, 6],
      [1, 0],
    ])
    expect(new Set(rows.map((x) => x.producerId)).size).toBe(1)
    const [p0] = rows
    expect(p0.topic).toBe('pr-events')
    expect(p0.producerId).toBeGreaterThanOrEqual(0)
    expect(p0.producerEpoch).toBe(0)
    expect(p0.lastTimestamp).toBeGreaterThanOrEqual(before - 1000)
    expect(p0.currentTxnStartOffset).toBeNull()

    const human = await samsa([...b, 'producers', 'pr-events', '--partition', '0'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^TOPIC\s+PARTITION\s+PRODUCER-ID\s+EPOCH\s+LAST-SEQUENCE\s+LAST-TIMESTAMP\s+COORDINATOR-EPOCH\s+TXN-START-OFFSET\n/)
    expect(human.stdout).toMatch(new RegExp(`\\npr-events\\s+0\\s+${p0.producerId}\\s+0\\s+6\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+-?\\d+\\s+-\\n$`))
  })

  it('shows where an open transaction starts', async () => {
    const producer = kafka.producer({ transactionalId: 'pr-tx', idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    producers.push(producer)
    const admin = kafka.admin()
    await admin.connect()
    const end = Number((await admin.fetchTopicOffsets('pr-events')).find((o) => o.partition === 1)!.high)
    await admin.disconnect()
    const tx = await producer.transaction()
    await tx.send({ topic: 'pr-events', messages: [{ value: 't0', partition: 1 }] })
    const r = await samsa([...b, '--json', 'producers', 'pr-events', '-p', '1'])
    expect(r.code).toBe(0)
    const open = jsonLines<ProducerJson>(r.stdout).filter((x) => x.currentTxnStartOffset !== null)
    expect(open).toHaveLength(1)
    expect(open[0].partition).toBe(1)
    expect(open[0].currentTxnStartOffset).toBe(end)
    await tx.commit()
    const after = await samsa([...b, '--json', 'producers', 'pr-events', '-p', '1'])
    expect(jsonLines<ProducerJson>(after.stdout).every((x) => x.currentTxnStartOffset === null)).toBe(true)
  })

  it('prints nothing for a topic without producers', async () => {
    const r = await samsa([...b, 'producers', 'pr-quiet'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe('')
  })

  it('reports an unknown topic or partition in one line with exit code 1', async () => {
    const topic = await samsa([...b, 'producers', 'pr-missing'])
    expect(topic.code).toBe(1)
    expect(topic.stdout).toBe('')
    expect(topic.stderr).toBe("samsa: unknown topic 'pr-missing'\n")
    const partition = await samsa([...b, 'producers', 'pr-quiet', '--partition', '7'])
    expect(partition.code).toBe(1)
    expect(partition.stderr).toBe("samsa: topic 'pr-quiet' has no partition 7\n")
    const usage = await samsa([...b, 'producers', 'pr-quiet', '--partition', 'x'])
    expect(usage.code).toBe(64)
  })

  it('fails clearly when the broker is unreachable', async () => {
    const port = await closedPort()
    const r = await samsa(['--bootstrap-server', `127.0.0.1:${port}`, 'producers', 'pr-events'])
    expect(r.code).toBe(69)
    expect(r.stderr).toBe(`samsa: cannot reach broker at 127.0.0.1:${port}: connection refused\n`)
  })

  it('documents itself with examples', async () => {
    const r = await samsa(['producers', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Examples:\n\s+\$ samsa producers orders/)
  })
})
