// Durability across restarts of a broker running in a child process: a graceful stop keeps every
// record, and after kill -9 every record acknowledged with acks=-1 is still there, at the offset
// the broker acknowledged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Producer } from 'kafkajs'
import { kafkaClient } from '../helpers/broker.js'
import { ensureBuilt, startChildBroker, type ChildBroker } from '../helpers/child-broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { sleep } from '../helpers/wait.js'
import { logEndOffset, readPartition } from '../helpers/wire.js'

const dirs: string[] = []
const children: ChildBroker[] = []

async function start(dataDir: string): Promise<ChildBroker> {
  const child = await startChildBroker(dataDir, { 'num.partitions': '1' })
  children.push(child)
  return child
}

async function freshDir(): Promise<string> {
  const d = await makeTempDir('samsa-restart-')
  dirs.push(d)
  return d
}

async function partitionValues(address: string, topic: string, partition: number): Promise<Array<[number, string]>> {
  const records = await readPartition(address, topic, partition)
  return records.map((r) => [r.offset, Buffer.from(r.value!).toString()])
}

beforeAll(async () => {
  await ensureBuilt()
}, 200_000)

afterAll(async () => {
  for (const c of children) await c.kill().catch(() => {})
  for (const d of dirs) await removeDir(d)
})

describe('graceful restart', () => {
  it('SIGTERM stops cleanly (exit 0) and every record is there after a restart', async () => {
    const dataDir = await freshDir()
    let broker = await start(dataDir)
    const kafka = kafkaClient(broker.address)
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'durable', numPartitions: 2 }] })
    await admin.disconnect()
    const producer = kafka.producer()
    await producer.connect()
    const expected: Array<Array<[number, string]>> = [[], []]
    for (let batch = 0; batch < 10; batch++) {
      const messages = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `b${batch}-m${i}`, partition: i % 2 }))
      const meta = await producer.send({ topic: 'durable', acks: -1, messages })
      for (const m of meta) expect(m.errorCode).toBe(0)
      for (const m of messages) expected[m.partition]!.push([expected[m.partition]!.length, m.value])
    }
    await producer.disconnect()

    const exit = await broker.stop()
    expect(exit).toEqual({ code: 0, signal: null })
    expect(broker.output()).toMatch(/stopped \(SIGTERM\)/)

    broker = await start(dataDir)
    for (const p of [0, 1]) {
      expect(await partitionValues(broker.address, 'durable', p)).toEqual(expected[p])
      expect(await logEndOffset(broker.address, 'durable', p)).toBe(50)
    }
    // appends continue from the recovered log end
    const again = kafkaClient(broker.address).producer()
    await again.connect()
    const [meta] = await again.send({ topic: 'durable', acks: -1, messages: [{ value: 'after restart', partition: 1 }] })
    expect(meta).toMatchObject({ partition: 1, errorCode: 0, baseOffset: '50' })
    await again.disconnect()
    expect(await broker.stop()).toEqual({ code: 0, signal: null })
  })
})

describe('crash recovery', () => {
  // Milliseconds of continuous producing before each kill -9: right after startup, mid-stream,
  // and after the log has grown.
  const killPoints = [30, 250, 700, 1500]
  const partitions = 2

  it('keeps every acks=-1 acknowledged record across kill -9 at several points', async () => {
    const dataDir = await freshDir()
    const topic = 'crashy'
    let broker = await start(dataDir)
    {
      const admin = kafkaClient(broker.address).admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] })
      await admin.disconnect()
    }
    // offset -> value of every acknowledged record, per partition
    const acked: Array<Map<number, string>> = Array.from({ length: partitions }, () => new Map())

    for (const [round, delay] of killPoints.entries()) {
      const kafka = kafkaClient(broker.address, { retry: { retries: 0 } })
      const producer: Producer = kafka.producer({ retry: { retries: 0 } })
      await producer.connect()
      let running = true
      // one sequential producer loop per partition, so two appends are often in flight at once
      const loops = Array.from({ length: partitions }, async (_, partition) => {
        for (let seq = 0; running; seq++) {
          const values = Array.from({ length: 1 + (seq % 4) }, (_, i) => `r${round}-p${partition}-s${seq}-${i}`)
          let meta
          try {
            meta = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition })) })
          } catch {
            return
          }
          const base = Number(meta[0]!.baseOffset)
          values.forEach((v, i) => acked[partition]!.set(base + i, v))
        }
      })
      await sleep(delay)
      await broker.kill()
      running = false
      await Promise.all(loops)
      await producer.disconnect().catch(() => {})

      broker = await start(dataDir)
      for (let p = 0; p < partitions; p++) {
        const stored = new Map(await partitionValues(broker.address, topic, p))
        const missing = [...acked[p]!].filter(([offset, value]) => stored.get(offset) !== value)
        expect(missing, `round ${round} partition ${p}: acknowledged records lost or moved`).toEqual([])
        const lastAcked = Math.max(-1, ...acked[p]!.keys())
        expect(await logEndOffset(broker.address, topic, p)).toBeGreaterThanOrEqual(lastAcked + 1)
        // offsets stay dense: the recovered log has no holes below its end
        const offsets = [...stored.keys()]
        expect(offsets).toEqual(offsets.map((_, i) => i))
      }
    }
    const total = acked.reduce((n, m) => n + m.size, 0)
    expect(total, 'the producer loops acknowledged nothing; the test proved nothing').toBeGreaterThan(20)
    await broker.stop()
  })
})
