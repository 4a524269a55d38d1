// Log compaction against an in-process broker whose cleaner runs every 100 ms: kafkajs and kcat
// (librdkafka) consumers reading a compacted topic from the beginning see each key's latest value,
// a consumer positioned on a removed offset continues at the next surviving one, a change of
// cleanup.policy at run time applies without restart, and DescribeLogDirs sizes shrink.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Admin, Producer } from 'kafkajs'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { probeKcat } from '../helpers/external-clients.js'
import { expectSuccess, run } from '../helpers/run.js'
import { readPartition } from '../helpers/wire.js'
import { describeLogDirs } from '../../cli/lib/log-dirs.js'

const kcatProbe = probeKcat()

let tb: TestBroker
let admin: Admin
let producer: Producer

const KEYS = 8
const ROUNDS = 40

/** Produces ROUNDS values for each of KEYS keys, one send per round; returns the latest value per key. */
async function produceRounds(topic: string): Promise<Map<string, string>> {
  const latest = new Map<string, string>()
  for (let r = 0; r < ROUNDS; r++) {
    const messages = []
    for (let k = 0; k < KEYS; k++) {
      const value = `value-${r}-${k}-${'x'.repeat(30)}`
      messages.push({ key: `key-${k}`, value })
      latest.set(`key-${k}`, value)
    }
    await producer.send({ topic, messages })
  }
  return latest
}

/**
 * Waits until the partition holds fewer than `below` records and the cleaner has nothing more to do
 * (the same records over five cleaner periods).
 */
async function waitForCleaning(topic: string, below: number): Promise<Array<{ offset: number; key: string; value: string }>> {
  const deadline = Date.now() + 20_000
  let previous = ''
  for (;;) {
    const records = (await readPartition(tb.address, topic, 0)).map((r) => ({
      offset: r.offset,
      key: Buffer.from(r.key!).toString(),
      value: Buffer.from(r.value!).toString(),
    }))
    const now = JSON.stringify(records.map((r) => r.offset))
    if (records.length < below && now === previous) return records
    previous = now
    if (Date.now() > deadline) throw new Error(`${topic} still holds ${records.length} records`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

/** The last value each key has in `records`, in order. */
function lastPerKey(records: Array<{ key: string; value: string }>): Map<string, string> {
  const out = new Map<string, string>()
  for (const r of records) out.set(r.key, r.value)
  return out
}

describe('log compaction', () => {
  beforeAll(async () => {
    tb = await startTestBroker({ 'log.cleaner.backoff.ms': '100', 'group.initial.rebalance.delay.ms': '0' })
    const kafka = kafkaClient(tb.address)
    admin = kafka.admin()
    await admin.connect()
    producer = kafka.producer()
    await producer.connect()
    await admin.createTopics({
      topics: [
        {
          topic: 'compacted',
          numPartitions: 1,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'segment.bytes', value: '2048' },
            { name: 'min.cleanable.dirty.ratio', value: '0.01' },
          ],
        },
      ],
    })
  }, 30_000)

  afterAll(async () => {
    await producer?.disconnect().catch(() => {})
    await admin?.disconnect().catch(() => {})
    await tb?.stop()
  })

  let cleaned: Array<{ offset: number; key: string; value: string }>
  let latest: Map<string, string>

  it('the cleaner removes superseded records in the background, keeping offsets', async () => {
    latest = await produceRounds('compacted')
    cleaned = await waitForCleaning('compacted', (KEYS * ROUNDS) / 2)
    expect(lastPerKey(cleaned)).toEqual(latest)
    for (let i = 1; i < cleaned.length; i++) expect(cleaned[i]!.offset).toBeGreaterThan(cleaned[i - 1]!.offset)
    // Each record is the one produced at its offset (offset = round * KEYS + key).
    for (const r of cleaned) {
      const round = Math.floor(r.offset / KEYS)
      expect(r.value).toBe(`value-${round}-${r.offset % KEYS}-${'x'.repeat(30)}`)
    }
    // The end of the log is untouched: the last round is all there.
    expect(cleaned.slice(-KEYS).map((r) => r.offset)).toEqual(Array.from({ length: KEYS }, (_, k) => (ROUNDS - 1) * KEYS + k))
  }, 30_000)

  it('a kafkajs consumer from the beginning sees each key\'s latest value', async () => {
    const consumer = kafkaClient(tb.address).consumer({ groupId: 'compaction-reader' })
    await consumer.connect()
    try {
      await consumer.subscribe({ topic: 'compacted', fromBeginning: true })
      const seen: Array<{ offset: number; key: string; value: string }> = []
      const end = cleaned[cleaned.length - 1]!.offset
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ message }) => {
              seen.push({ offset: Number(message.offset), key: message.key!.toString(), value: message.value!.toString() })
              if (Number(message.offset) >= end) resolve()
            },
          })
          .catch(reject)
      })
      expect(seen.map((s) => s.offset)).toEqual(cleaned.filter((c) => c.offset <= end).map((c) => c.offset))
      expect(lastPerKey(seen)).toEqual(latest)
    } finally {
      await consumer.disconnect()
    }
  }, 30_000)

  it.skipIf(kcatProbe.skip)('kcat from the beginning sees each key\'s latest value; from a removed offset it continues at the next one', async () => {
    const consume = async (offset: string) => {
      const r = expectSuccess(
        'kcat',
        await run('kcat', ['-b', tb.address, '-X', 'broker.address.family=v4', '-m', '15', '-C', '-q', '-t', 'compacted', '-p', '0', '-o', offset, '-e', '-f', '%o|%k|%s\n'], { timeoutMs: 30_000 }),
      )
      return r.stdout.split('\n').filter(Boolean).map((line) => {
        const [o, key, value] = line.split('|')
        return { offset: Number(o), key: key!, value: value! }
      })
    }
    const all = await consume('beginning')
    expect(lastPerKey(all)).toEqual(latest)
    expect(all.length).toBeLessThan(KEYS * ROUNDS)
    const kept = new Set(all.map((r) => r.offset))
    const removed = Array.from({ length: KEYS * ROUNDS }, (_, i) => i).find((o) => !kept.has(o))!
    expect(removed).toBeDefined()
    const from = await consume(String(removed))
    expect(from[0]!.offset).toBe(all.find((r) => r.offset > removed)!.offset)
  }, 60_000)

  it('cleanup.policy changed to compact at run time applies without restart', async () => {
    await admin.createTopics({ topics: [{ topic: 'later', numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '2048' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' }] }] })
    const latestLater = await produceRounds('later')
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await readPartition(tb.address, 'later', 0)).toHaveLength(KEYS * ROUNDS)
    const sizeOf = async () => (await describeLogDirs(tb.address, 'compaction-test', 10_000, [{ topic: 'later', partitions: [0] }]))!.get('later/0')!
    const before = await sizeOf()
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: 2,
          name: 'later',
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'segment.bytes', value: '2048' },
            { name: 'min.cleanable.dirty.ratio', value: '0.01' },
          ],
        },
      ],
    })
    const records = await waitForCleaning('later', (KEYS * ROUNDS) / 2)
    expect(lastPerKey(records)).toEqual(latestLater)
    // DescribeLogDirs reports the smaller size.
    expect(await sizeOf()).toBeLessThan(before / 2)
  }, 30_000)
})
