// The Python clients: kafka-python (its own protocol implementation) and confluent-kafka
// (librdkafka), each driven by a script in ./python that prints its observations as JSON.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { assertAvailable, probePythonModule, PYTHON, skipNote } from '../helpers/external-clients.js'
import { expectSuccess, run } from '../helpers/run.js'
import { readPartition } from '../helpers/wire.js'

const scripts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python')

interface Row {
  partition: number
  offset: number
  key: string | null
  value: string | null
  headers: Array<[string, string]>
}

async function runScript(name: string, ...args: string[]): Promise<any> {
  const r = expectSuccess(name, await run(PYTHON, [path.join(scripts, name), ...args], { timeoutMs: 90_000 }))
  const last = r.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(last)
  } catch {
    throw new Error(`${name} printed no JSON result\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`)
  }
}

const byOffset = (a: Row, b: Row) => a.partition - b.partition || a.offset - b.offset
const strip = ({ partition, offset, key, value, headers }: Row): Row => ({ partition, offset, key, value, headers })

/** Each partition's offsets run 0..n-1 with no gap, and consumed equals produced record by record. */
function expectExactRoundTrip(produced: Row[], consumed: Row[], partitions: number): void {
  const p = produced.map(strip).sort(byOffset)
  const c = consumed.map(strip).sort(byOffset)
  expect(c).toEqual(p)
  for (let i = 0; i < partitions; i++) {
    const offsets = p.filter((r) => r.partition === i).map((r) => r.offset)
    expect(offsets.length).toBeGreaterThan(0)
    expect(offsets).toEqual(offsets.map((_, j) => j))
  }
}

let tb: TestBroker

afterAll(async () => {
  await tb?.stop()
})

const kafkaPython = probePythonModule('kafka')
describe.skipIf(kafkaPython.skip)(`kafka-python${skipNote(kafkaPython)}`, () => {
  beforeAll(async () => {
    assertAvailable(kafkaPython)
    tb ??= await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' })
  })

  it('creates a topic, produces (none and gzip) and consumes every record back', async () => {
    const topic = 'kafka-python-rt'
    const out = await runScript('kafka-python-roundtrip.py', tb.address, topic)
    expect(out.createError).toBeNull()
    expect(out.duplicateError).toBe('TopicAlreadyExistsError')
    expect(out.topicListed).toBe(true)
    expect(out.produced).toHaveLength(40)
    expectExactRoundTrip(out.produced, out.consumed, 2)
    expect(out.endOffsets).toEqual({ '0': 20, '1': 20 })
    // cross-check with an independent reader: the bytes on disk decode to the same records
    const stored = await readPartition(tb.address, topic, 1)
    expect(stored.map((r) => Buffer.from(r.key!).toString())).toEqual(
      (out.produced as Row[]).filter((r) => r.partition === 1).sort(byOffset).map((r) => r.key),
    )
  })

  it('consumes as a group member, commits, and a new member resumes from the committed offsets', async () => {
    const topic = 'kafka-python-group'
    const admin = kafkaClient(tb.address).admin()
    await admin.connect()
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] })
      const producer = kafkaClient(tb.address).producer()
      await producer.connect()
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 6 }, (_, i) => ({ value: `g${i}`, partition: i % 2 })) })
      await producer.disconnect()
      const out = await runScript('kafka-python-group.py', tb.address, topic, 'kp-group', '6')
      expect([...out.first].sort()).toEqual(
        Array.from({ length: 6 }, (_, i) => [i % 2, Math.floor(i / 2), `g${i}`]).sort(),
      )
      expect(out.committed).toEqual({ '0': 3, '1': 3 })
      expect(out.second).toEqual([[0, 3, 'after-commit']])
      // the broker reports the same committed offsets to another client
      const offsets = await admin.fetchOffsets({ groupId: 'kp-group', topics: [topic] })
      expect(offsets[0]!.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
        [0, '4'],
        [1, '3'],
      ])
    } finally {
      await admin.disconnect()
    }
  })
})

const confluent = probePythonModule('confluent_kafka')
describe.skipIf(confluent.skip)(`confluent-kafka${skipNote(confluent)}`, () => {
  beforeAll(async () => {
    assertAvailable(confluent)
    tb ??= await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' })
  })

  it('creates a topic, produces with acks=all and every codec, and consumes every record back', async () => {
    const topic = 'confluent-rt'
    const out = await runScript('confluent-kafka-roundtrip.py', tb.address, topic)
    expect(out.errors).toEqual([])
    expect(out.created).toEqual({ [topic]: null })
    expect(out.badReplication).toEqual({ [`bad-rf-${topic}`]: 'INVALID_REPLICATION_FACTOR' })
    expect(out.topicListed).toBe(true)
    expect(out.listedPartitions).toBe(3)
    const codecs = new Set((out.produced as Array<{ codec: string }>).map((r) => r.codec))
    expect([...codecs].sort()).toEqual(['gzip', 'lz4', 'none', 'snappy', 'zstd'])
    expect(out.produced).toHaveLength(75)
    expectExactRoundTrip(out.produced, out.consumed, 3)
  })
})
