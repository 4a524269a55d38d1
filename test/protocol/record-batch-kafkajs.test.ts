// Interoperability with an independent implementation: kafkajs 2.2.4's own record batch encoder
// and decoder (the code its producer and consumer run).
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { Compression, readBatchHeader, setLogAppendTime } from '../../protocol/record-batch.js'
import { encodeBatch, type RecordInput } from '../../protocol/record-batch-builder.js'
import { decodeBatchRecords } from '../../protocol/record-reader.js'
import { ControlType, encodeControlBatch } from '../../protocol/control-records.js'
import { DEFAULT_LOG_CONFIG } from '../../storage/log-config.js'
import { validateRecords } from '../../storage/log-validator.js'

const require = createRequire(import.meta.url)
type KEncoder = { buffer: Buffer }
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (opts: object) => Promise<KEncoder>
}
const KRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (opts: object) => KEncoder
const KDecoder = require('kafkajs/src/protocol/decoder.js') as new (buf: Buffer) => object
const decodeKBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: object) => Promise<KBatch>

interface KRecordOut {
  offset: string
  timestamp: string
  key: Buffer | null
  value: Buffer | null
  headers: { [k: string]: Buffer | Buffer[] }
}
interface KBatch {
  firstOffset: string
  inTransaction: boolean
  isControlBatch: boolean
  lastOffsetDelta: number
  producerId: string
  producerEpoch: number
  firstSequence: number
  maxTimestamp: string
  timestampType: number
  records: KRecordOut[]
}

const T0 = 1_700_000_000_000

interface Msg {
  key: Buffer | null
  value: Buffer | null
  headers: { [k: string]: Buffer }
  timestamp: number
}

const messages: Msg[] = [
  { key: Buffer.from('k1'), value: Buffer.from('v1'), headers: { a: Buffer.from('x'), b: Buffer.from('yy') }, timestamp: T0 },
  { key: null, value: Buffer.from('no key'), headers: {}, timestamp: T0 + 17 },
  { key: Buffer.from('k3'), value: null, headers: { 'ünï': Buffer.from([0, 255]) }, timestamp: T0 + 2 ** 33 },
  { key: Buffer.from('big'), value: Buffer.alloc(5000, 7), headers: {}, timestamp: T0 + 1 },
]

/** Builds a batch the way kafkajs's producer does (produce request v3+). */
async function kafkajsBatch(compression: number, opts: { transactional?: boolean } = {}): Promise<Buffer> {
  const records = messages.map((m, i) =>
    KRecord({ key: m.key, value: m.value, headers: m.headers, offsetDelta: i, timestampDelta: m.timestamp - T0 }),
  )
  const enc = await RecordBatch({
    compression,
    records,
    firstTimestamp: T0,
    maxTimestamp: T0 + 2 ** 33,
    producerId: 4321,
    producerEpoch: 2,
    firstSequence: 10,
    transactional: opts.transactional ?? false,
    lastOffsetDelta: records.length - 1,
  })
  return enc.buffer
}

describe('decoding batches encoded by kafkajs', () => {
  for (const [name, codec] of [
    ['uncompressed', Compression.None],
    ['gzip', Compression.Gzip],
  ] as const) {
    it(`${name}: header validates and every record matches`, async () => {
      const raw = await kafkajsBatch(codec, { transactional: true })
      const scan = validateRecords(raw, DEFAULT_LOG_CONFIG)
      expect(scan.ok).toBe(true)
      const h = readBatchHeader(raw)
      expect(h).toMatchObject({
        baseOffset: 0,
        recordCount: 4,
        lastOffsetDelta: 3,
        producerId: 4321,
        producerEpoch: 2,
        baseSequence: 10,
        baseTimestamp: T0,
        maxTimestamp: T0 + 2 ** 33,
      })
      expect(h.attributes & 0x17).toBe(0x10 | codec)

      const recs = decodeBatchRecords(raw)
      expect(recs).toHaveLength(messages.length)
      recs.forEach((r, i) => {
        const m = messages[i]!
        expect(r.offset).toBe(i)
        expect(r.timestamp).toBe(m.timestamp)
        expect(r.key === null ? null : Buffer.from(r.key)).toEqual(m.key)
        expect(r.value === null ? null : Buffer.from(r.value)).toEqual(m.value)
        expect(Object.fromEntries(r.headers.map((x) => [x.key, Buffer.from(x.value!)]))).toEqual(m.headers)
      })
    })
  }
})

describe('kafkajs decoding batches we encode', () => {
  const inputs: RecordInput[] = messages.map((m) => ({
    key: m.key,
    value: m.value,
    timestamp: m.timestamp,
    headers: Object.entries(m.headers).map(([key, value]) => ({ key, value })),
  }))

  async function viaKafkajs(batch: Buffer): Promise<KBatch> {
    return decodeKBatch(new KDecoder(batch))
  }

  function expectSameRecords(got: KRecordOut[], baseOffset: number, timestamps?: number[]): void {
    expect(got).toHaveLength(messages.length)
    got.forEach((r, i) => {
      const m = messages[i]!
      expect(r.offset).toBe(String(baseOffset + i))
      expect(r.timestamp).toBe(String(timestamps ? timestamps[i] : m.timestamp))
      expect(r.key).toEqual(m.key)
      expect(r.value).toEqual(m.value)
      expect(r.headers).toEqual(m.headers)
    })
  }

  for (const [name, codec] of [
    ['uncompressed', Compression.None],
    ['gzip', Compression.Gzip],
  ] as const) {
    it(`${name}`, async () => {
      const batch = encodeBatch(inputs, {
        baseOffset: 1000,
        compression: codec,
        producerId: 99,
        producerEpoch: 1,
        baseSequence: 5,
        transactional: true,
      })
      const k = await viaKafkajs(batch)
      expect(k).toMatchObject({
        firstOffset: '1000',
        inTransaction: true,
        isControlBatch: false,
        lastOffsetDelta: 3,
        producerId: '99',
        producerEpoch: 1,
        firstSequence: 5,
        maxTimestamp: String(T0 + 2 ** 33),
      })
      expectSameRecords(k.records, 1000)
    })
  }

  it('a LogAppendTime batch reports the append time for every record', async () => {
    const batch = encodeBatch(inputs, { baseOffset: 7 })
    setLogAppendTime(batch, 0, T0 + 99)
    const k = await viaKafkajs(batch)
    expect(k.timestampType).toBe(1)
    expectSameRecords(k.records, 7, messages.map(() => T0 + 99))
  })

  it('a control batch is seen as a control batch', async () => {
    const batch = encodeControlBatch({ type: ControlType.Commit, producerId: 8, producerEpoch: 3, coordinatorEpoch: 2, baseOffset: 50 })
    const k = await viaKafkajs(batch)
    expect(k.isControlBatch).toBe(true)
    expect(k.inTransaction).toBe(true)
    expect(k.records).toHaveLength(1)
    expect(k.records[0]!.offset).toBe('50')
    expect([...k.records[0]!.key!]).toEqual([0, 0, 0, 1])
  })
})
