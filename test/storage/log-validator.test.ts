import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  BATCH_HEADER_SIZE,
  Compression,
  computeBatchCrc,
  readBatchHeader,
  scanBatches,
  timestampTypeOf,
  TimestampType,
} from '../../protocol/record-batch.js'
import { encodeBatch, type RecordInput } from '../../protocol/record-batch-builder.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { ControlType, encodeControlBatch } from '../../protocol/control-records.js'
import { compress } from '../../protocol/compression.js'
import { resolveLogConfig } from '../../storage/log-config.js'
import { assignOffsets, validateRecords, type ValidatedRecords } from '../../storage/log-validator.js'
import { garbageRecordsBatch, notLz4Batch, withRecordsSection } from '../helpers/poison-batches.js'

const T0 = 1_700_000_000_000
const plain = resolveLogConfig({}, {})

function sample(): RecordInput[] {
  return [
    { key: 'k0', value: 'hello', timestamp: T0, headers: [{ key: 'h', value: 'v' }] },
    { key: null, value: Buffer.from([0, 1, 2, 255]), timestamp: T0 + 5 },
    { key: Buffer.alloc(0), value: null, timestamp: T0 - 3, headers: [{ key: 'n', value: null }, { key: 'é', value: '' }] },
  ]
}

function withHeaderInt(b: Buffer, field: number, v: number): Buffer {
  b.writeInt32BE(v, field)
  b.writeUInt32BE(computeBatchCrc(b), 17)
  return b
}

function ok(v: ReturnType<typeof validateRecords>): ValidatedRecords {
  if (!v.ok) throw new Error(`expected valid records, got ${v.error}: ${v.message}`)
  return v
}

/** The uncompressed records section of a batch holding `records`. */
function sectionOf(records: RecordInput[]): Buffer {
  return encodeBatch(records).subarray(BATCH_HEADER_SIZE)
}

describe('validateRecords: batch rules', () => {
  it('applies the rules for batches written by clients', () => {
    const gap = withHeaderInt(encodeBatch(sample()), 23, 5)
    expect(scanBatches(gap).ok).toBe(true)
    expect(validateRecords(gap, plain)).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
    const control = encodeControlBatch({ type: ControlType.Commit, producerId: 1, producerEpoch: 0, coordinatorEpoch: 0 })
    expect(scanBatches(control).ok).toBe(true)
    expect(validateRecords(control, plain)).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
    expect(validateRecords(control, plain, { origin: 'coordinator' }).ok).toBe(true)
    const noSeq = encodeBatch([{ value: 'x' }], { producerId: 5, producerEpoch: 0, baseSequence: -1 })
    expect(validateRecords(noSeq, plain)).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
    const idempotent = encodeBatch([{ value: 'x' }], { producerId: 5, producerEpoch: 0, baseSequence: 0 })
    expect(ok(validateRecords(idempotent, plain)).producer).toEqual({
      producerId: 5,
      producerEpoch: 0,
      baseSequence: 0,
      lastOffsetDelta: 0,
      maxTimestamp: readBatchHeader(idempotent).maxTimestamp,
      transactional: false,
    })
  })

  it('answers CORRUPT_MESSAGE for bad framing and CRC, INVALID_RECORD for old magic', () => {
    const b = encodeBatch(sample())
    expect(validateRecords(b.subarray(0, 40), plain)).toMatchObject({ ok: false, error: 'CORRUPT_MESSAGE' })
    expect(validateRecords(new Uint8Array(0), plain)).toMatchObject({ ok: false, error: 'CORRUPT_MESSAGE' })
    const flipped = Buffer.from(b)
    flipped[BATCH_HEADER_SIZE + 3]! ^= 1
    expect(validateRecords(flipped, plain)).toMatchObject({ ok: false, error: 'CORRUPT_MESSAGE' })
    const v1 = Buffer.from(b)
    v1[16] = 1
    expect(validateRecords(v1, plain)).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
  })

  it('refuses batches over max.message.bytes', () => {
    const b = encodeBatch([{ value: Buffer.alloc(2000) }])
    expect(validateRecords(b, resolveLogConfig({}, { 'max.message.bytes': '1000' }))).toMatchObject({ ok: false, error: 'MESSAGE_TOO_LARGE' })
    expect(validateRecords(b, resolveLogConfig({}, { 'max.message.bytes': String(b.length) })).ok).toBe(true)
  })

  it('takes several plain batches, but a producer write only as one batch', () => {
    const two = Buffer.concat([encodeBatch(sample()), encodeBatch([{ value: 'x' }])])
    expect(ok(validateRecords(two, plain)).batches.map((b) => [b.position, b.lastOffsetDelta])).toEqual([
      [0, 2],
      [encodeBatch(sample()).length, 0],
    ])
    const idem = encodeBatch([{ value: 'x' }], { producerId: 5, producerEpoch: 0, baseSequence: 0 })
    expect(validateRecords(Buffer.concat([idem, encodeBatch([{ value: 'y' }])]), plain)).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
  })
})

describe('validateRecords: every record', () => {
  it('refuses a CRC-valid batch whose records are garbage', () => {
    const b = garbageRecordsBatch()
    expect(scanBatches(b).ok).toBe(true)
    expect(validateRecords(b, plain)).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
  })

  it('refuses an lz4 batch whose payload is not lz4', () => {
    const b = notLz4Batch()
    expect(scanBatches(b).ok).toBe(true)
    expect(validateRecords(b, plain)).toMatchObject({ ok: false, error: 'CORRUPT_MESSAGE' })
  })

  it('finds leftover bytes after the declared count', () => {
    // two records declared as one: header checks pass, the walk finds leftover bytes
    const b = encodeBatch([{ value: 'a' }, { value: 'b' }])
    b.writeInt32BE(1, 57)
    withHeaderInt(b, 23, 0)
    expect(scanBatches(b).ok).toBe(true)
    expect(validateRecords(b, plain)).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
  })

  it('finds fewer records than declared, in plain and compressed batches', () => {
    for (const compression of [Compression.None, Compression.Zstd]) {
      const b = encodeBatch([{ value: 'a' }, { value: 'b' }], { compression })
      const three = withRecordsSection(b, compression === Compression.None ? sectionOf([{ value: 'a' }, { value: 'b' }]) : b.subarray(BATCH_HEADER_SIZE))
      three.writeInt32BE(3, 57)
      withHeaderInt(three, 23, 2)
      expect(validateRecords(three, plain), `codec ${compression}`).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
    }
  })

  it('requires offset deltas 0, 1, 2, ... as producers assign them', () => {
    const skipped = encodeBatch([{ value: 'a' }, { value: 'b', offsetDelta: 2 }])
    withHeaderInt(skipped, 23, 1)
    expect(validateRecords(skipped, plain)).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
    const swapped = encodeBatch([{ value: 'a', offsetDelta: 1 }, { value: 'b', offsetDelta: 0 }])
    withHeaderInt(swapped, 23, 1)
    expect(validateRecords(swapped, plain)).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
  })

  it('walks records inside every codec', () => {
    for (const compression of [Compression.None, Compression.Gzip, Compression.Snappy, Compression.Lz4, Compression.Zstd]) {
      expect(validateRecords(encodeBatch(sample(), { compression }), plain).ok, `codec ${compression}`).toBe(true)
      // a well-compressed section of garbage records is refused as the records it holds
      const garbage = withRecordsSection(encodeBatch(sample(), { compression }), compress(compression, Uint8Array.from({ length: 24 }, (_, i) => 200 + i)))
      expect(validateRecords(garbage, plain), `codec ${compression}`).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
    }
  })

  it('refuses a null header key and a key length past the record', () => {
    // record bytes: length, attributes, timestamp delta, offset delta, key, value 'v', header count,
    // header key 'h', header value 'x'; lengths are zigzag varints, so 1 is -1 (null)
    const nullKey = Buffer.from(sectionOf([{ value: 'v', headers: [{ key: 'h', value: 'x' }] }]))
    nullKey[nullKey.indexOf('h'.charCodeAt(0)) - 1] = 1
    const bad = withRecordsSection(encodeBatch([{ value: 'v', headers: [{ key: 'h', value: 'x' }] }]), nullKey)
    expect(validateRecords(bad, plain)).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
    const longKey = Buffer.from(sectionOf([{ key: 'k', value: 'v' }]))
    longKey[4] = 100 // key length 50, past the end of the record
    expect(validateRecords(withRecordsSection(encodeBatch([{ key: 'k', value: 'v' }]), longKey), plain)).toMatchObject({
      ok: false,
      error: 'INVALID_RECORD',
    })
  })

  it('never accepts a batch a reader cannot read back (mutated records, CRC recomputed)', () => {
    const base = encodeBatch(sample())
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(40), (flips, cut) => {
        const section = Buffer.from(base.subarray(BATCH_HEADER_SIZE))
        for (const [at, byte] of flips) section[at % section.length] = byte
        const mutated = withRecordsSection(base, section.subarray(0, Math.max(0, section.length - (cut % 4 === 0 ? cut : 0))))
        const v = validateRecords(mutated, plain)
        if (v.ok) expect(() => Array.from(iterateRecords(mutated))).not.toThrow()
      }),
      { numRuns: 3000 },
    )
  })
})

describe('validateRecords: per-record rules', () => {
  it('lists keyless records of a compacted topic', () => {
    const compacted = resolveLogConfig({}, { 'cleanup.policy': 'compact' })
    const b = encodeBatch([{ key: 'a', value: '1' }, { key: null, value: '2' }, { key: 'c', value: '3' }, { value: '4' }], { compression: Compression.Gzip })
    const v = validateRecords(b, compacted, { partition: 'c-0' })
    expect(v).toMatchObject({ ok: false, error: 'INVALID_RECORD' })
    if (v.ok) return
    expect(v.recordErrors.map((e) => e.batchIndex)).toEqual([1, 3])
    expect(v.recordErrors[0]!.message).toBe('Compacted topic cannot accept message without key in topic partition c-0.')
    expect(v.message).toContain('2 record errors')
  })

  it('checks CreateTime timestamps against message.timestamp.before/after.max.ms', () => {
    const now = T0
    const cfg = resolveLogConfig({}, { 'message.timestamp.before.max.ms': '1000', 'message.timestamp.after.max.ms': '500' })
    const b = encodeBatch([{ value: 'a', timestamp: now - 1000 }, { value: 'b', timestamp: now - 1001 }, { value: 'c', timestamp: now + 501 }])
    const v = validateRecords(b, cfg, { now })
    expect(v).toMatchObject({ ok: false, error: 'INVALID_TIMESTAMP' })
    if (!v.ok) expect(v.recordErrors.map((e) => e.batchIndex)).toEqual([1, 2])
    expect(validateRecords(encodeBatch([{ value: 'a', timestamp: now + 500 }]), cfg, { now }).ok).toBe(true)
    // LogAppendTime topics overwrite timestamps instead of checking them
    const lat = resolveLogConfig({}, { 'message.timestamp.before.max.ms': '1000', 'message.timestamp.type': 'LogAppendTime' })
    expect(ok(validateRecords(b, lat, { now })).logAppendTime).toBe(now)
    // the defaults check nothing
    expect(validateRecords(encodeBatch([{ value: 'a', timestamp: 0 }]), plain, { now }).ok).toBe(true)
  })
})

describe('assignOffsets', () => {
  it('patches offsets, the leader epoch and LogAppendTime into the validated bytes', () => {
    const a = encodeBatch(sample())
    const blob = Buffer.concat([a, encodeBatch([{ value: 'x' }])])
    const v = ok(validateRecords(blob, resolveLogConfig({}, { 'message.timestamp.type': 'LogAppendTime' }), { now: T0 + 99 }))
    expect(v.maxTimestamp).toBe(T0 + 99)
    expect(assignOffsets(v, 40)).toBe(44)
    expect(readBatchHeader(blob, 0)).toMatchObject({ baseOffset: 40, partitionLeaderEpoch: 0, maxTimestamp: T0 + 99 })
    expect(readBatchHeader(blob, a.length)).toMatchObject({ baseOffset: 43, partitionLeaderEpoch: 0 })
    expect(timestampTypeOf(readBatchHeader(blob, a.length).attributes)).toBe(TimestampType.LogAppendTime)
    expect(scanBatches(blob).ok).toBe(true)
  })
})
