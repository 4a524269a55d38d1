// A compacted topic written by a kafkajs transactional producer, some transactions aborted, against
// an in-process broker whose cleaner runs every 100 ms: once cleaned, the aborted records are gone
// from the log, committed ones are compacted to each key's latest value, and read_committed
// consumers (kafkajs, kcat/librdkafka) reading from the beginning see exactly that, in offset order,
// past the markers and the empty batches the cleaner leaves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Admin, Producer } from 'kafkajs'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { probeKcat } from '../helpers/external-clients.js'
import { expectSuccess, run } from '../helpers/run.js'
import { readPartition } from '../helpers/wire.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import { FetchApi, defaultFetchRequest, defaultFetchRequestFetchPartition } from '../../protocol/generated/fetch.js'
import { BATCH_HEADER_SIZE, batchSizeAt, isControl, readBatchHeader } from '../../protocol/record-batch.js'
import { ZERO_UUID } from '../../protocol/types.js'

const kcatProbe = probeKcat()

const TOPIC = 'compacted-txn'
const KEYS = 6
const ROUNDS = 24

let tb: TestBroker
let admin: Admin
let producer: Producer

interface Rec {
  offset: number
  key: string
  value: string
}

/** The data records of the partition as stored (read_uncommitted), markers left out. */
async function stored(): Promise<Rec[]> {
  return (await readPartition(tb.address, TOPIC, 0))
    .filter((r) => r.key !== null && Buffer.from(r.key).toString().startsWith('key-'))
    .map((r) => ({ offset: r.offset, key: Buffer.from(r.key!).toString(), value: Buffer.from(r.value!).toString() }))
}

/** The record count of each batch the partition holds, control batches as 'marker' (one Fetch: the partition is small). */
async function batchShapes(): Promise<Array<number | 'marker'>> {
  const c = await BrokerConnection.connect(tb.address, { clientId: 'compaction-txn-test', connectTimeoutMs: 10_000, requestTimeoutMs: 10_000 })
  try {
    const body = await c.request(FetchApi, 4, {
      ...defaultFetchRequest(),
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 8 << 20,
      isolationLevel: 0,
      topics: [{ topic: TOPIC, topicId: ZERO_UUID, partitions: [{ ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: 0, partitionMaxBytes: 8 << 20, logStartOffset: -1, currentLeaderEpoch: -1 }] }],
    })
    const bytes = body.responses[0]!.partitions[0]!.records ?? new Uint8Array(0)
    const out: Array<number | 'marker'> = []
    for (let pos = 0; pos + BATCH_HEADER_SIZE <= bytes.length; pos += batchSizeAt(bytes, pos)) {
      const h = readBatchHeader(bytes, pos)
      out.push(isControl(h.attributes) && h.recordCount > 0 ? 'marker' : h.recordCount)
    }
    return out
  } finally {
    c.close()
  }
}

function lastPerKey(records: readonly Rec[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const r of records) out.set(r.key, r.value)
  return out
}

describe('log compaction with transactions', () => {
  const committed = new Map<string, string>()
  let cleaned: Rec[]

  beforeAll(async () => {
    tb = await startTestBroker({ 'log.cleaner.backoff.ms': '100', 'group.initial.rebalance.delay.ms': '0' })
    const kafka = kafkaClient(tb.address)
    admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({
      topics: [
        {
          topic: TOPIC,
          numPartitions: 1,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'segment.bytes', value: '2048' },
            { name: 'min.cleanable.dirty.ratio', value: '0.01' },
            { name: 'delete.retention.ms', value: '200' },
          ],
        },
      ],
    })
    producer = kafka.producer({ transactionalId: 'compaction-txn', idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
  }, 30_000)

  afterAll(async () => {
    await producer?.disconnect().catch(() => {})
    await admin?.disconnect().catch(() => {})
    await tb?.stop()
  })

  it('the cleaner removes aborted records and compacts committed ones', async () => {
    // An idempotent producer's only batch: superseded, it stays as an empty batch consumers must step over.
    const idempotent = kafkaClient(tb.address).producer({ idempotent: true, maxInFlightRequests: 1 })
    await idempotent.connect()
    await idempotent.send({ topic: TOPIC, messages: [{ key: 'key-0', value: 'idempotent' }] })
    await idempotent.disconnect()
    for (let r = 0; r < ROUNDS; r++) {
      // Every third transaction aborts; the last one commits.
      const abort = r % 3 === 1
      const txn = await producer.transaction()
      const messages = Array.from({ length: KEYS }, (_, k) => ({ key: `key-${k}`, value: `${abort ? 'aborted' : 'committed'}-${r}-${k}-${'x'.repeat(40)}` }))
      await txn.send({ topic: TOPIC, messages })
      if (abort) await txn.abort()
      else {
        await txn.commit()
        for (const m of messages) committed.set(m.key, m.value)
      }
    }
    // Settled: the same records over five cleaner periods.
    const deadline = Date.now() + 20_000
    let previous = ''
    let records: Rec[]
    for (;;) {
      records = await stored()
      const now = JSON.stringify(records.map((r) => r.offset))
      if (records.length < (KEYS * ROUNDS) / 2 && now === previous) break
      previous = now
      if (Date.now() > deadline) throw new Error(`${TOPIC} still holds ${records.length} records`)
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
    // Aborted records are left only in the last rounds (the active segment, never cleaned).
    const abortedRounds = new Set(records.filter((r) => r.value.startsWith('aborted')).map((r) => Number(r.value.split('-')[1])))
    for (const round of abortedRounds) expect(round).toBeGreaterThan(ROUNDS - 8)
    cleaned = records.filter((r) => !r.value.startsWith('aborted'))
    // What consumers step over: the empty batch first, markers whose transactions went removed after delete.retention.ms.
    const shapes = await batchShapes()
    expect(shapes[0]).toBe(0)
    expect(shapes.filter((s) => s === 'marker').length).toBeLessThan(ROUNDS / 2)
    expect(lastPerKey(cleaned)).toEqual(committed)
    for (let i = 1; i < records.length; i++) expect(records[i]!.offset).toBeGreaterThan(records[i - 1]!.offset)
  }, 30_000)

  it('a kafkajs read_committed consumer from the beginning sees each key\'s latest committed value', async () => {
    const consumer = kafkaClient(tb.address).consumer({ groupId: 'compaction-txn-reader', readUncommitted: false })
    await consumer.connect()
    try {
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
      const seen: Rec[] = []
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
      expect(seen).toEqual(cleaned)
      expect(lastPerKey(seen)).toEqual(committed)
    } finally {
      await consumer.disconnect()
    }
  }, 30_000)

  it.skipIf(kcatProbe.skip)('kcat read_committed from the beginning sees the compacted, committed records', async () => {
    for (const isolation of ['read_committed']) {
      const r = expectSuccess(
        'kcat',
        await run(
          'kcat',
          ['-b', tb.address, '-X', 'broker.address.family=v4', '-X', `isolation.level=${isolation}`, '-C', '-q', '-t', TOPIC, '-p', '0', '-o', 'beginning', '-e', '-f', '%o|%k|%s\n'],
          { timeoutMs: 30_000 },
        ),
      )
      const got = r.stdout.split('\n').filter(Boolean).map((line) => {
        const [o, key, value] = line.split('|')
        return { offset: Number(o), key: key!, value: value! }
      })
      expect(got, isolation).toEqual(cleaned)
    }
  }, 30_000)
})
