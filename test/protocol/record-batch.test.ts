import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { crc32c } from '../../protocol/crc32c.js'
import {
  BATCH_HEADER_SIZE,
  Compression,
  LOG_OVERHEAD,
  TimestampType,
  batchSizeAt,
  checkBatch,
  compressionOf,
  computeBatchCrc,
  isControl,
  isTransactional,
  lastOffsetOf,
  readBaseOffset,
  readBatchHeader,
  readLastOffset,
  scanBatches,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  timestampTypeOf,
} from '../../protocol/record-batch.js'
import { encodeBatch, type RecordInput } from '../../protocol/record-batch-builder.js'
import { RecordDecodeError, decodeBatchRecords, iterateRecords } from '../../protocol/record-reader.js'
import { ControlType, encodeControlBatch, readControlRecord } from '../../protocol/control-records.js'

const T0 = 1_700_000_000_000

function sample(): RecordInput[] {
  return [
    { key: 'k0', value: 'hello', timestamp: T0, headers: [{ key: 'h', value: 'v' }] },
    { key: null, value: Buffer.from([0, 1, 2, 255]), timestamp: T0 + 5 },
    { key: Buffer.alloc(0), value: null, timestamp: T0 - 3, headers: [{ key: 'n', value: null }, { key: 'é', value: '' }] },
  ]
}

function writeI32(buf: Buffer, pos: number, v: number): void {
  buf.writeInt32BE(v, pos)
}

describe('encodeBatch / readBatchHeader', () => {
  it('writes a header Kafka can read, with a valid CRC', () => {
    const b = encodeBatch(sample(), {
      baseOffset: 42,
      partitionLeaderEpoch: 7,
      producerId: 9_007_199_254_740_000,
      producerEpoch: 3,
      baseSequence: 11,
      transactional: true,
    })
    const h = readBatchHeader(b)
    expect(h).toMatchObject({
      baseOffset: 42,
      batchLength: b.length - LOG_OVERHEAD,
      partitionLeaderEpoch: 7,
      magic: 2,
      lastOffsetDelta: 2,
      baseTimestamp: T0,
      maxTimestamp: T0 + 5,
      producerId: 9_007_199_254_740_000,
      producerEpoch: 3,
      baseSequence: 11,
      recordCount: 3,
    })
    expect(h.crc).toBe(crc32c(b.subarray(21)))
    expect(isTransactional(h.attributes)).toBe(true)
    expect(isControl(h.attributes)).toBe(false)
    expect(compressionOf(h.attributes)).toBe(Compression.None)
    expect(timestampTypeOf(h.attributes)).toBe(TimestampType.CreateTime)
    expect(lastOffsetOf(h)).toBe(44)
    expect(readLastOffset(b)).toBe(44)
    expect(batchSizeAt(b)).toBe(b.length)
  })

  it('defaults producer fields to -1 (no idempotence)', () => {
    const h = readBatchHeader(encodeBatch([{ value: 'x' }]))
    expect(h.producerId).toBe(-1)
    expect(h.producerEpoch).toBe(-1)
    expect(h.baseSequence).toBe(-1)
    expect(h.baseOffset).toBe(0)
  })

  it('round-trips records exactly', () => {
    const b = encodeBatch(sample(), { baseOffset: 100 })
    const recs = decodeBatchRecords(b)
    expect(recs.map((r) => r.offset)).toEqual([100, 101, 102])
    expect(recs.map((r) => r.timestamp)).toEqual([T0, T0 + 5, T0 - 3])
    expect(Buffer.from(recs[0]!.key!).toString()).toBe('k0')
    expect(Buffer.from(recs[0]!.value!).toString()).toBe('hello')
    expect(recs[0]!.headers).toHaveLength(1)
    expect(recs[0]!.headers[0]!.key).toBe('h')
    expect(Buffer.from(recs[0]!.headers[0]!.value!).toString()).toBe('v')
    expect(recs[1]!.key).toBeNull()
    expect([...recs[1]!.value!]).toEqual([0, 1, 2, 255])
    expect(recs[2]!.key).toHaveLength(0)
    expect(recs[2]!.value).toBeNull()
    expect(recs[2]!.headers.map((h) => h.key)).toEqual(['n', 'é'])
    expect(recs[2]!.headers[0]!.value).toBeNull()
    expect(recs[2]!.headers[1]!.value).toHaveLength(0)
  })

  it('honours explicit offset deltas and reports lastOffsetDelta from the last record', () => {
    const b = encodeBatch(
      [
        { value: 'a', offsetDelta: 0 },
        { value: 'b', offsetDelta: 4 },
      ],
      { baseOffset: 10 },
    )
    expect(readBatchHeader(b).lastOffsetDelta).toBe(4)
    expect([...iterateRecords(b)].map((r) => r.offset)).toEqual([10, 14])
  })

  it('round-trips arbitrary records (property)', () => {
    const bytes = fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null })
    const record = fc.record({
      key: bytes,
      value: bytes,
      headers: fc.array(fc.record({ key: fc.string({ maxLength: 20 }), value: bytes }), { maxLength: 4 }),
      // wide deltas exercise varlongs beyond 32 bits in both directions
      timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
    })
    fc.assert(
      fc.property(fc.array(record, { maxLength: 30 }), fc.integer({ min: 0, max: 2 ** 52 }), (records, baseOffset) => {
        const b = encodeBatch(records, { baseOffset })
        expect(scanBatches(b).ok).toBe(true)
        const out = decodeBatchRecords(b)
        expect(out).toHaveLength(records.length)
        out.forEach((r, i) => {
          const want = records[i]!
          expect(r.offset).toBe(baseOffset + i)
          expect(r.timestamp).toBe(want.timestamp)
          expect(r.key === null ? null : [...r.key]).toEqual(want.key === null ? null : [...want.key])
          expect(r.value === null ? null : [...r.value]).toEqual(want.value === null ? null : [...want.value])
          expect(r.headers.map((h) => [h.key, h.value && [...h.value]])).toEqual(
            want.headers.map((h) => [h.key, h.value && [...h.value]]),
          )
        })
      }),
      { numRuns: 200 },
    )
  })

  it('reads a batch at a non-zero position inside a larger Uint8Array', () => {
    const a = encodeBatch([{ value: 'first' }], { baseOffset: 0 })
    const b = encodeBatch([{ value: 'second', timestamp: T0 }], { baseOffset: 1 })
    const joined = new Uint8Array(Buffer.concat([a, b]))
    const recs = decodeBatchRecords(joined, a.length)
    expect(recs).toHaveLength(1)
    expect(recs[0]!.offset).toBe(1)
    expect(Buffer.from(recs[0]!.value!).toString()).toBe('second')
  })
})

describe('scanBatches', () => {
  it('splits concatenated batches', () => {
    const a = encodeBatch(sample(), { baseOffset: 0 })
    const b = encodeBatch([{ value: 'x' }], { baseOffset: 3, compression: Compression.Gzip })
    const r = scanBatches(Buffer.concat([a, b]))
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.batches.map((x) => [x.position, x.size, x.header.baseOffset])).toEqual([
      [0, a.length, 0],
      [a.length, b.length, 3],
    ])
  })

  it('accepts an empty blob', () => {
    expect(scanBatches(new Uint8Array(0))).toEqual({ ok: true, batches: [] })
  })

  it('detects a flipped byte anywhere in the CRC range', () => {
    const good = encodeBatch(sample())
    for (let i = 21; i < good.length; i++) {
      const bad = Buffer.from(good)
      bad[i]! ^= 0x01
      const r = scanBatches(bad)
      expect(r.ok, `byte ${i}`).toBe(false)
      if (!r.ok) expect(r.error).toBe('CORRUPT_MESSAGE')
    }
  })

  it('detects a corrupted stored CRC', () => {
    const bad = encodeBatch(sample())
    bad[17]! ^= 0x80
    expect(scanBatches(bad)).toMatchObject({ ok: false, error: 'CORRUPT_MESSAGE', position: 0 })
  })

  it('skips CRC verification when asked', () => {
    const bad = encodeBatch(sample())
    bad[bad.length - 1]! ^= 0x01
    expect(scanBatches(bad, { verifyCrc: false }).ok).toBe(true)
  })

  it('rejects a truncated batch, even after a good one, and reports where', () => {
    const a = encodeBatch(sample())
    const b = encodeBatch(sample())
    for (const cut of [1, 10, 60, b.length - 1]) {
      const blob = Buffer.concat([a, b.subarray(0, cut)])
      expect(scanBatches(blob), `cut ${cut}`).toMatchObject({ ok: false, error: 'CORRUPT_MESSAGE', position: a.length })
    }
  })

  it('rejects a batch length below the header size or beyond the buffer', () => {
    const small = encodeBatch(sample())
    writeI32(small, 8, 48)
    expect(scanBatches(small)).toMatchObject({ ok: false, error: 'CORRUPT_MESSAGE' })
    const big = encodeBatch(sample())
    writeI32(big, 8, big.length)
    expect(scanBatches(big)).toMatchObject({ ok: false, error: 'CORRUPT_MESSAGE' })
  })

  it('rejects garbage', () => {
    expect(scanBatches(Buffer.from('this is not a record batch at all, not even close to one!!'))).toMatchObject({
      ok: false,
      error: 'CORRUPT_MESSAGE',
    })
    const zeros = Buffer.alloc(100)
    zeros[16] = 2
    expect(scanBatches(zeros)).toMatchObject({ ok: false, error: 'CORRUPT_MESSAGE' })
  })

  it('rejects message format v0/v1 as UNSUPPORTED_VERSION and magic > 2 as CORRUPT_MESSAGE', () => {
    // a v1 message set entry: offset, size, crc, magic 1, attributes, timestamp, key, value
    const v1 = Buffer.alloc(12 + 22)
    v1.writeInt32BE(22, 8)
    v1[16] = 1
    v1.writeInt32BE(-1, 26)
    v1.writeInt32BE(-1, 30)
    expect(scanBatches(v1)).toMatchObject({ ok: false, error: 'UNSUPPORTED_VERSION' })
    const v0 = Buffer.from(v1)
    v0[16] = 0
    expect(scanBatches(v0)).toMatchObject({ ok: false, error: 'UNSUPPORTED_VERSION' })
    const v3 = encodeBatch(sample())
    v3[16] = 3
    expect(scanBatches(v3)).toMatchObject({ ok: false, error: 'CORRUPT_MESSAGE' })
  })

  function withHeaderInt(field: number, v: number): Buffer {
    const b = encodeBatch(sample())
    writeI32(b, field, v)
    b.writeUInt32BE(computeBatchCrc(b), 17)
    return b
  }

  it('flags inconsistent counts as INVALID_RECORD', () => {
    expect(scanBatches(withHeaderInt(57, -1))).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
    expect(scanBatches(withHeaderInt(23, 0))).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
    expect(scanBatches(withHeaderInt(57, 1000))).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
  })

  it('checkBatch validates one batch in a larger buffer', () => {
    const a = encodeBatch(sample(), { baseOffset: 5 })
    const r = checkBatch(Buffer.concat([a, Buffer.from('trailing')]), 0)
    expect(r).toMatchObject({ ok: true, size: a.length })
  })
})

describe('in-place patching', () => {
  it('setBaseOffset and setPartitionLeaderEpoch keep the CRC valid', () => {
    const b = encodeBatch(sample())
    setBaseOffset(b, 0, 2 ** 40 + 17)
    setPartitionLeaderEpoch(b, 0, 12)
    expect(scanBatches(b).ok).toBe(true)
    const h = readBatchHeader(b)
    expect(h.baseOffset).toBe(2 ** 40 + 17)
    expect(readBaseOffset(b)).toBe(2 ** 40 + 17)
    expect(h.partitionLeaderEpoch).toBe(12)
    expect(decodeBatchRecords(b).map((r) => r.offset)).toEqual([2 ** 40 + 17, 2 ** 40 + 18, 2 ** 40 + 19])
  })

  it('patches the second batch of a blob without touching the first', () => {
    const a = encodeBatch(sample())
    const blob = Buffer.concat([a, encodeBatch(sample())])
    setBaseOffset(blob, a.length, 3)
    expect(readBaseOffset(blob, 0)).toBe(0)
    expect(readBaseOffset(blob, a.length)).toBe(3)
    expect(scanBatches(blob).ok).toBe(true)
  })

  it('setLogAppendTime sets the type bit and maxTimestamp, recomputes the CRC, and readers see it', () => {
    const b = encodeBatch(sample(), { compression: Compression.Snappy })
    const before = readBatchHeader(b)
    setLogAppendTime(b, 0, T0 + 1000)
    expect(scanBatches(b).ok).toBe(true)
    const h = readBatchHeader(b)
    expect(timestampTypeOf(h.attributes)).toBe(TimestampType.LogAppendTime)
    expect(compressionOf(h.attributes)).toBe(Compression.Snappy)
    expect(h.maxTimestamp).toBe(T0 + 1000)
    expect(h.baseTimestamp).toBe(before.baseTimestamp)
    expect(h.crc).not.toBe(before.crc)
    expect(decodeBatchRecords(b).map((r) => r.timestamp)).toEqual([T0 + 1000, T0 + 1000, T0 + 1000])
  })
})

describe('iterateRecords error handling', () => {
  it('is lazy: records before a malformed one are still delivered', () => {
    const good = encodeBatch([{ value: 'a' }, { value: 'b' }])
    // a third record whose length byte (63) overruns the batch
    const b = Buffer.concat([good, Buffer.from([0x7e])])
    writeI32(b, 8, b.length - LOG_OVERHEAD)
    writeI32(b, 23, 2)
    writeI32(b, 57, 3)
    const it = iterateRecords(b)
    expect(Buffer.from(it.next().value!.value!).toString()).toBe('a')
    expect(Buffer.from(it.next().value!.value!).toString()).toBe('b')
    expect(() => it.next()).toThrow(RecordDecodeError)
  })

  it('throws RecordDecodeError on truncated or inconsistent input, never RangeError', () => {
    const good = encodeBatch(sample())
    // shrink the declared length so records overrun it
    for (let cut = 1; cut < good.length - BATCH_HEADER_SIZE; cut++) {
      const b = Buffer.from(good.subarray(0, good.length - cut))
      writeI32(b, 8, b.length - LOG_OVERHEAD)
      expect(() => decodeBatchRecords(b), `cut ${cut}`).toThrow(RecordDecodeError)
    }
    // declare more records than present
    const more = Buffer.from(good)
    writeI32(more, 57, 4)
    expect(() => decodeBatchRecords(more)).toThrow(RecordDecodeError)
    // fewer: leftover bytes
    const fewer = Buffer.from(good)
    writeI32(fewer, 57, 2)
    expect(() => decodeBatchRecords(fewer)).toThrow(RecordDecodeError)
    // a record length that lies
    const lying = Buffer.from(good)
    lying[BATCH_HEADER_SIZE] = lying[BATCH_HEADER_SIZE]! + 2
    expect(() => decodeBatchRecords(lying)).toThrow(RecordDecodeError)
    // undecompressable section
    const gz = encodeBatch(sample(), { compression: Compression.Gzip })
    // the gzip trailer's CRC-32 of the plain text
    gz[gz.length - 6]! ^= 0xff
    expect(() => decodeBatchRecords(gz)).toThrow(RecordDecodeError)
    expect(() => decodeBatchRecords(good.subarray(0, 30))).toThrow(RecordDecodeError)
  })

  it('never throws anything but RecordDecodeError on random corruption', () => {
    const good = encodeBatch(sample())
    fc.assert(
      fc.property(fc.integer({ min: BATCH_HEADER_SIZE, max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const b = Buffer.from(good)
        b[i]! ^= x
        try {
          decodeBatchRecords(b)
        } catch (err) {
          expect(err).toBeInstanceOf(RecordDecodeError)
        }
      }),
      { numRuns: 500 },
    )
  })
})

describe('control batches', () => {
  it('encodes a transaction marker and reads it back', () => {
    for (const type of [ControlType.Abort, ControlType.Commit]) {
      const b = encodeControlBatch({ type, producerId: 77, producerEpoch: 4, coordinatorEpoch: 9, baseOffset: 500, timestamp: T0 })
      expect(scanBatches(b).ok).toBe(true)
      const h = readBatchHeader(b)
      expect(isControl(h.attributes)).toBe(true)
      expect(isTransactional(h.attributes)).toBe(true)
      expect(h).toMatchObject({ baseOffset: 500, producerId: 77, producerEpoch: 4, baseSequence: -1, recordCount: 1, lastOffsetDelta: 0 })
      const [rec] = decodeBatchRecords(b)
      expect(rec!.offset).toBe(500)
      expect(rec!.timestamp).toBe(T0)
      // key: version 0, type; value: version 0, coordinator epoch
      expect([...rec!.key!]).toEqual([0, 0, 0, type])
      expect([...rec!.value!]).toEqual([0, 0, 0, 0, 0, 9])
      expect(readControlRecord(rec!)).toEqual({ type, coordinatorEpoch: 9 })
    }
  })

  it('returns null for a record without a control key', () => {
    const [rec] = decodeBatchRecords(encodeBatch([{ key: 'ab', value: 'x' }]))
    expect(readControlRecord(rec!)).toBeNull()
    const [nokey] = decodeBatchRecords(encodeBatch([{ value: 'x' }]))
    expect(readControlRecord(nokey!)).toBeNull()
  })
})
