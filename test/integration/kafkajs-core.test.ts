// kafkajs 2.2.4 against an in-process broker: topic admin, produce with every codec kafkajs can
// use, consume back exactly, seek, replay by timestamp, acks levels, long-poll wake-up, delete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { Admin, Consumer, IHeaders, Kafka, Producer } from 'kafkajs'
import { Codec, compress, decompress } from '../../protocol/compression.js'
import { LOG_OVERHEAD, compressionOf, readBatchHeader } from '../../protocol/record-batch.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { FetchResponse } from '../../protocol/generated/fetch.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { logEndOffset, readPartition, WireClient } from '../helpers/wire.js'
import { waitFor } from '../helpers/wait.js'

const { CompressionTypes, CompressionCodecs } = kafkajs

// kafkajs ships gzip only; the other codecs are plug-ins keyed by CompressionTypes.
function registerCodec(type: number, codec: number): void {
  CompressionCodecs[type as keyof typeof CompressionCodecs] = () => ({
    async compress(encoder: { buffer: Buffer }) {
      return compress(codec, encoder.buffer)
    },
    async decompress(buffer: Buffer) {
      return decompress(codec, buffer)
    },
  })
}
registerCodec(CompressionTypes.Snappy, Codec.Snappy)
registerCodec(CompressionTypes.LZ4, Codec.Lz4)
registerCodec(CompressionTypes.ZSTD, Codec.Zstd)

interface Consumed {
  partition: number
  offset: number
  key: string | null
  value: string | null
  headers: Record<string, string>
  timestamp: number
}

function headersOf(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(h ?? {})) out[k] = v === undefined ? '' : String(v)
  return out
}

let tb: TestBroker
let kafka: Kafka
let admin: Admin
let producer: Producer
let groupSeq = 0
const openConsumers: Consumer[] = []

/**
 * Runs a fresh consumer group on `topic` until `count` messages arrived (or `timeoutMs` passed)
 * and returns them. `seek` offsets are applied once partitions are assigned.
 */
async function consume(
  topic: string,
  count: number,
  opts: { seek?: Array<{ partition: number; offset: string }>; timeoutMs?: number } = {},
): Promise<Consumed[]> {
  const consumer = kafka.consumer({ groupId: `it-${process.pid}-${groupSeq++}`, maxWaitTimeInMs: 200 })
  openConsumers.push(consumer)
  const got: Consumed[] = []
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      got.push({
        partition,
        offset: Number(message.offset),
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? null,
        headers: headersOf(message.headers),
        timestamp: Number(message.timestamp),
      })
    },
  })
  for (const s of opts.seek ?? []) consumer.seek({ topic, ...s })
  try {
    await waitFor(() => got.length >= count, { timeoutMs: opts.timeoutMs ?? 20_000, what: `${count} messages from ${topic}` })
  } finally {
    await consumer.disconnect()
  }
  return got
}

beforeAll(async () => {
  tb = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0', 'num.partitions': '1' })
  kafka = kafkaClient(tb.address)
  admin = kafka.admin()
  await waitFor(
    async () => {
      await admin.connect()
      return true
    },
    { timeoutMs: 10_000, what: 'kafkajs admin to connect' },
  )
  producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
})

afterAll(async () => {
  for (const c of openConsumers) await c.disconnect().catch(() => {})
  await producer?.disconnect().catch(() => {})
  await admin?.disconnect().catch(() => {})
  await tb?.stop()
})

describe('kafkajs: topics', () => {
  it('creates topics with the requested partition count and lists them', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'created-3', numPartitions: 3 }] })).toBe(true)
    const md = await admin.fetchTopicMetadata({ topics: ['created-3'] })
    expect(md.topics[0]!.name).toBe('created-3')
    expect(md.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2])
    expect(await admin.listTopics()).toContain('created-3')
    // a second create reports TOPIC_ALREADY_EXISTS, which kafkajs turns into `false`
    expect(await admin.createTopics({ topics: [{ topic: 'created-3', numPartitions: 3 }] })).toBe(false)
  })

  it('rejects replication factor 3 on a single broker with INVALID_REPLICATION_FACTOR', async () => {
    const err = await admin
      .createTopics({ topics: [{ topic: 'rf-three', numPartitions: 1, replicationFactor: 3 }] })
      .then(() => null, (e: { errors?: Array<{ type: string; topic: string }> }) => e)
    expect(err?.errors?.map((e) => [e.topic, e.type])).toEqual([['rf-three', 'INVALID_REPLICATION_FACTOR']])
    expect(await admin.listTopics()).not.toContain('rf-three')
  })

  it('rejects an invalid topic name with INVALID_TOPIC_EXCEPTION', async () => {
    const bad = 'has space/and slash'
    const err = await admin
      .createTopics({ topics: [{ topic: bad, numPartitions: 1 }] })
      .then(() => null, (e: { errors?: Array<{ type: string; topic: string }> }) => e)
    expect(err?.errors?.map((e) => e.type)).toEqual(['INVALID_TOPIC_EXCEPTION'])
    expect(await admin.listTopics()).not.toContain(bad)
  })

  it('deletes a topic: it disappears from the topic list and its data is gone', async () => {
    await admin.createTopics({ topics: [{ topic: 'to-delete', numPartitions: 2 }] })
    await producer.send({ topic: 'to-delete', messages: [{ value: 'doomed', partition: 1 }] })
    await admin.deleteTopics({ topics: ['to-delete'] })
    expect(await admin.listTopics()).not.toContain('to-delete')
    // recreating starts from an empty log
    await admin.createTopics({ topics: [{ topic: 'to-delete', numPartitions: 2 }] })
    expect(await logEndOffset(tb.address, 'to-delete', 1)).toBe(0)
  })
})

describe('kafkajs: produce and consume', () => {
  const codecs = [
    ['none', CompressionTypes.None, Codec.None],
    ['gzip', CompressionTypes.GZIP, Codec.Gzip],
    ['snappy', CompressionTypes.Snappy, Codec.Snappy],
    ['lz4', CompressionTypes.LZ4, Codec.Lz4],
    ['zstd', CompressionTypes.ZSTD, Codec.Zstd],
  ] as const

  it('round-trips keys, values and headers with every codec, in offset order per partition', async () => {
    const topic = 'codecs'
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })
    const expected: Array<Array<Omit<Consumed, 'partition' | 'offset' | 'timestamp'>>> = [[], [], []]
    for (const [name, type] of codecs) {
      const messages = []
      for (let i = 0; i < 30; i++) {
        const partition = i % 3
        const m = {
          key: i % 5 === 0 ? null : `${name}-k${i}`,
          // repetitive values so every codec actually shrinks the batch
          value: `${name}-v${i}-${'payload '.repeat(20)}`,
          headers: { codec: name, index: String(i), ...(i % 2 ? { odd: 'yes' } : {}) },
          partition,
        }
        messages.push(m)
        expected[partition]!.push({ key: m.key, value: m.value, headers: m.headers })
      }
      const meta = await producer.send({ topic, compression: type, acks: -1, messages })
      expect(meta.every((m) => m.errorCode === 0)).toBe(true)
    }

    const got = await consume(topic, 150)
    expect(got).toHaveLength(150)
    for (let p = 0; p < 3; p++) {
      const mine = got.filter((m) => m.partition === p)
      expect(mine.map((m) => m.offset)).toEqual(expected[p]!.map((_, i) => i))
      expect(mine.map(({ key, value, headers }) => ({ key, value, headers }))).toEqual(expected[p])
    }

    // The broker keeps the producer's codec (compression.type=producer): each stored batch of
    // partition 0 carries the codec it was sent with, in send order.
    const c = await WireClient.connect(tb.address)
    try {
      const { body } = await c.request<FetchResponse>(ApiKey.Fetch, 4, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, logStartOffset: -1 }] }],
      })
      const bytes = body.responses[0]!.partitions[0]!.records!
      const seen: number[] = []
      for (let pos = 0; pos < bytes.length; ) {
        const h = readBatchHeader(bytes, pos)
        seen.push(compressionOf(h.attributes))
        pos += LOG_OVERHEAD + h.batchLength
      }
      expect(seen).toEqual(codecs.map(([, , codec]) => codec))
    } finally {
      c.close()
    }
  })

  it('seeks to an offset', async () => {
    const topic = 'seek'
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ value: `s${i}` })) })
    const got = await consume(topic, 4, { seek: [{ partition: 0, offset: '6' }] })
    expect(got.map((m) => [m.offset, m.value])).toEqual([
      [6, 's6'],
      [7, 's7'],
      [8, 's8'],
      [9, 's9'],
    ])
  })

  it('replays from a timestamp via fetchTopicOffsetsByTimestamp', async () => {
    const topic = 'by-time'
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    const t0 = Date.now() - 60_000
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 8 }, (_, i) => ({ value: `t${i}`, timestamp: String(t0 + i * 1000) })),
    })
    // exact hit, a time between two records, and a time after every record
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 5000)).toEqual([{ partition: 0, offset: '5' }])
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 2500)).toEqual([{ partition: 0, offset: '3' }])
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 3_600_000)).toEqual([{ partition: 0, offset: '8' }])

    const [{ offset }] = await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 5000)
    const got = await consume(topic, 3, { seek: [{ partition: 0, offset }] })
    expect(got.map((m) => [m.offset, m.value, m.timestamp])).toEqual([
      [5, 't5', t0 + 5000],
      [6, 't6', t0 + 6000],
      [7, 't7', t0 + 7000],
    ])
  })

  it('honours acks=0, acks=1 and acks=-1', async () => {
    const topic = 'acks'
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    const one = await producer.send({ topic, acks: 1, messages: [{ value: 'a1' }, { value: 'a2' }] })
    expect(one[0]).toMatchObject({ partition: 0, errorCode: 0, baseOffset: '0' })
    const all = await producer.send({ topic, acks: -1, messages: [{ value: 'a3' }] })
    expect(all[0]).toMatchObject({ partition: 0, errorCode: 0, baseOffset: '2' })
    // acks=0 gets no response at all; the record still lands
    const none = await producer.send({ topic, acks: 0, messages: [{ value: 'a4' }, { value: 'a5' }] })
    expect(none).toEqual([])
    await waitFor(async () => (await logEndOffset(tb.address, topic, 0)) === 5, { what: 'acks=0 records to land' })
    // the connection is still in step after a response-less request
    const after = await producer.send({ topic, acks: -1, messages: [{ value: 'a6' }] })
    expect(after[0]).toMatchObject({ errorCode: 0, baseOffset: '5' })
    const records = await readPartition(tb.address, topic, 0)
    expect(records.map((r) => Buffer.from(r.value!).toString())).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'a6'])
  })

  it('wakes a consumer long-polling an empty topic as soon as a record arrives', async () => {
    const topic = 'long-poll'
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    const maxWait = 10_000
    const consumer = kafka.consumer({ groupId: `it-lp-${process.pid}`, maxWaitTimeInMs: maxWait })
    openConsumers.push(consumer)
    let fetches = 0
    consumer.on(consumer.events.FETCH_START, () => fetches++)
    const got: Array<{ value: string; at: number }> = []
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        got.push({ value: message.value!.toString(), at: Date.now() })
      },
    })
    try {
      await waitFor(() => fetches > 0, { timeoutMs: 15_000, what: 'the first fetch' })
      // let the empty fetch reach the broker and park
      await new Promise((r) => setTimeout(r, 500))
      const sentAt = Date.now()
      await producer.send({ topic, acks: -1, messages: [{ value: 'wake up' }] })
      await waitFor(() => got.length > 0, { timeoutMs: maxWait + 5000, what: 'the long-polled record' })
      expect(got[0]!.value).toBe('wake up')
      // without a wake-up the record would only arrive when the parked fetch times out
      expect(got[0]!.at - sentAt).toBeLessThan(3000)
    } finally {
      await consumer.disconnect()
    }
  })
})
