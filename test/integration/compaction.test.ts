// Log compaction against an in-process broker whose cleaner runs every 100 ms: kafkajs and kcat
// (librdkafka) consumers reading a compacted topic from the beginning see each key's latest value,
// a consumer positioned on a removed offset (kafkajs by seek and by committed offset, kcat by
// offset, confluent-kafka by assignment and by committed offset) continues at the next surviving
// one, a change of cleanup.policy at run time applies without restart, and DescribeLogDirs sizes
// shrink.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Admin, Consumer, Producer } from 'kafkajs'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { PYTHON, probeKcat, probePythonModule, skipNote } from '../helpers/external-clients.js'
import { expectSuccess, run } from '../helpers/run.js'
import { readPartition } from '../helpers/wire.js'
import { describeLogDirs } from '../../cli/lib/log-dirs.js'

const kcatProbe = probeKcat()
const confluentProbe = probePythonModule('confluent_kafka')
const scripts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python')

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
async function waitForCleaning(topic: string, below: number, partition = 0): Promise<Array<{ offset: number; key: string; value: string }>> {
  const deadline = Date.now() + 20_000
  let previous = ''
  for (;;) {
    const records = (await readPartition(tb.address, topic, partition)).map((r) => ({
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

  // A topic where removed offsets lie between kept ones: each send holds a record of a key used once
  // (kept) and seven of keys used in every send (removed but the last). A client that got
  // OFFSET_OUT_OF_RANGE for a removed offset would reset to the partition's first record instead.
  // Its three partitions hold the same records, so one consumer is positioned at three places at
  // once: right after a kept record, right before one, and in between.
  const GAP_PARTITIONS = 3
  let gaps: Array<{ offset: number; key: string }> = []
  /** Per partition, the removed offset a consumer is positioned on. */
  let targets: number[] = []
  const nextKept = (offset: number) => gaps.find((r) => r.offset > offset)!
  const commit = (groupId: string) =>
    admin.setOffsets({ groupId, topic: 'gaps', partitions: targets.map((offset, partition) => ({ partition, offset: String(offset) })) })

  it('a kafkajs consumer positioned on a removed offset, by its committed offset or by seek, continues at the next one', async () => {
    await admin.createTopics({
      topics: [{
        topic: 'gaps',
        numPartitions: GAP_PARTITIONS,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '2048' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' }],
      }],
    })
    for (let r = 0; r < ROUNDS; r++) {
      const messages = []
      for (let partition = 0; partition < GAP_PARTITIONS; partition++) {
        messages.push({ partition, key: `once-${r}`, value: `once-${r}` })
        for (let k = 0; k < 7; k++) messages.push({ partition, key: `churn-${k}`, value: `churn-${r}-${k}` })
      }
      await producer.send({ topic: 'gaps', messages })
    }
    const cleaned = []
    for (let p = 0; p < GAP_PARTITIONS; p++) cleaned.push((await waitForCleaning('gaps', (8 * ROUNDS) / 2, p)).map(({ offset, key }) => ({ offset, key })))
    gaps = cleaned[0]!
    for (const c of cleaned) expect(c).toEqual(gaps)
    // Every once-key survived, at the offset it was written at.
    expect(gaps.filter((r) => r.key.startsWith('once-')).map((r) => r.offset)).toEqual(Array.from({ length: ROUNDS }, (_, r) => r * 8))
    const kept = new Set(gaps.map((r) => r.offset))
    const removed = Array.from({ length: 8 * ROUNDS }, (_, o) => o).filter((o) => !kept.has(o) && o > 8)
    targets = [removed[0]!, removed.find((o) => kept.has(o + 1))!, removed[Math.floor(removed.length / 2)]!]
    expect(new Set(targets).size).toBe(GAP_PARTITIONS)

    const kafka = kafkaClient(tb.address)
    /** The first offset a consumer of `groupId` gets from each partition. */
    const firstFrom = async (groupId: string, position: (c: Consumer) => void) => {
      const consumer = kafka.consumer({ groupId })
      await consumer.connect()
      try {
        await consumer.subscribe({ topic: 'gaps', fromBeginning: true })
        const first = new Map<number, number>()
        await new Promise<void>((resolve, reject) => {
          consumer
            .run({
              eachMessage: async ({ partition, message }) => {
                if (!first.has(partition)) first.set(partition, Number(message.offset))
                if (first.size === GAP_PARTITIONS) resolve()
              },
            })
            .catch(reject)
          position(consumer)
        })
        return [...first.entries()].sort((a, b) => a[0] - b[0]).map(([, offset]) => offset)
      } finally {
        await consumer.disconnect()
      }
    }
    const expected = targets.map((t) => nextKept(t).offset)
    await commit('gaps-committed')
    expect(await firstFrom('gaps-committed', () => {})).toEqual(expected)
    const seek = (c: Consumer) => targets.forEach((offset, partition) => c.seek({ topic: 'gaps', partition, offset: String(offset) }))
    expect(await firstFrom('gaps-seek', seek)).toEqual(expected)
  }, 60_000)

  it.skipIf(kcatProbe.skip)('kcat started at a removed offset between kept ones continues at the next one', async () => {
    expect(targets).toHaveLength(GAP_PARTITIONS)
    for (const [partition, target] of targets.entries()) {
      const r = expectSuccess(
        'kcat',
        await run('kcat', ['-b', tb.address, '-X', 'broker.address.family=v4', '-C', '-q', '-t', 'gaps', '-p', String(partition), '-o', String(target), '-c', '1', '-e', '-f', '%o\n'], { timeoutMs: 30_000 }),
      )
      expect(Number(r.stdout.trim()), `from ${target}`).toBe(nextKept(target).offset)
    }
  }, 60_000)

  it.skipIf(confluentProbe.skip)(`confluent-kafka positioned on a removed offset, by assignment or by its committed offset, continues at the next one${skipNote(confluentProbe)}`, async () => {
    expect(targets).toHaveLength(GAP_PARTITIONS)
    await commit('gaps-rdk-committed')
    const r = expectSuccess('confluent-kafka', await run(PYTHON, [path.join(scripts, 'confluent-kafka-compacted-position.py'), tb.address, 'gaps', 'gaps-rdk', ...targets.map(String)], { timeoutMs: 90_000 }))
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<'assigned' | 'committed', Array<[number, string] | null>>
    const expected = targets.map((t) => [nextKept(t).offset, nextKept(t).key])
    expect(out.assigned).toEqual(expected)
    expect(out.committed).toEqual(expected)
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
