// Reading the records of a v2 batch. RecordIterator decodes each record into an object whose key
// and value are views of the batch (or of its inflated records section); RecordCursor checks one
// record at a time in place without allocating, for paths that walk every record.
//
// Record layout: length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
// key (varint length, -1 = null), value (same), header count varint, then per header a
// non-null key string and a nullable value, all with varint lengths. Varints are zigzag.

import { decompress } from './compression.js'
import {
  BATCH_HEADER_SIZE,
  Compression,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  MIN_BATCH_LENGTH,
  TimestampType,
  compressionOf,
  readAttributes,
  readBaseOffset,
  readBaseTimestamp,
  readBatchLength,
  readMagic,
  readMaxTimestamp,
  readRecordCount,
  timestampTypeOf,
} from './record-batch.js'

export interface Record {
  offset: number
  timestamp: number
  key: Uint8Array | null
  value: Uint8Array | null
  headers: Array<{ key: string; value: Uint8Array | null }>
  attributes: number
}

export class RecordDecodeError extends Error {
  override name = 'RecordDecodeError'
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
}

/**
 * Lazily decodes the records of one batch. Keys and values are views into the batch (or into
 * the decompressed records section), not copies.
 */
export class RecordIterator implements IterableIterator<Record> {
  private readonly buf: Buffer
  private p: number
  private readonly end: number
  private left: number
  private readonly baseOffset: number
  private readonly baseTimestamp: number
  /** Set for LogAppendTime batches: every record carries the batch's maxTimestamp. */
  private readonly appendTime: number

  constructor(batch: Uint8Array, pos = 0) {
    if (batch.length - pos < BATCH_HEADER_SIZE) throw new RecordDecodeError('batch shorter than its header')
    const magic = readMagic(batch, pos) & 0xff
    if (magic !== CURRENT_MAGIC) throw new RecordDecodeError(`unsupported magic ${magic}`)
    const batchLength = readBatchLength(batch, pos)
    const end = pos + LOG_OVERHEAD + batchLength
    if (batchLength < MIN_BATCH_LENGTH || end > batch.length) {
      throw new RecordDecodeError(`batch length ${batchLength} does not fit the buffer`)
    }
    const attributes = readAttributes(batch, pos)
    this.left = readRecordCount(batch, pos)
    if (this.left < 0) throw new RecordDecodeError(`negative record count ${this.left}`)
    this.baseOffset = readBaseOffset(batch, pos)
    this.baseTimestamp = readBaseTimestamp(batch, pos)
    this.appendTime = timestampTypeOf(attributes) === TimestampType.LogAppendTime ? readMaxTimestamp(batch, pos) : NaN
    const codec = compressionOf(attributes)
    const section = batch.subarray(pos + BATCH_HEADER_SIZE, end)
    if (codec === Compression.None) {
      this.buf = asBuffer(section)
    } else {
      try {
        this.buf = decompress(codec, section)
      } catch (err) {
        throw new RecordDecodeError(`cannot decompress records (codec ${codec}): ${(err as Error).message}`)
      }
    }
    this.p = 0
    this.end = this.buf.length
  }

  [Symbol.iterator](): this {
    return this
  }

  next(): IteratorResult<Record> {
    if (this.left === 0) {
      if (this.p !== this.end) {
        throw new RecordDecodeError(`${this.end - this.p} bytes left after the declared record count`)
      }
      return { done: true, value: undefined }
    }
    this.left--
    const b = this.buf
    const end = this.end
    vp = this.p
    const length = readVarint(b, end)
    const start = vp
    const recEnd = start + length
    if (length < 0 || recEnd > end) throw new RecordDecodeError(`record length ${length} overruns the batch`)
    if (vp >= recEnd) throw new RecordDecodeError('truncated record')
    const attributes = b[vp++]!
    const timestampDelta = readVarlong(b, recEnd)
    const offsetDelta = readVarint(b, recEnd)
    const key = readBytes(b, recEnd)
    const value = readBytes(b, recEnd)
    const headerCount = readVarint(b, recEnd)
    if (headerCount < 0) throw new RecordDecodeError(`negative header count ${headerCount}`)
    const headers: Array<{ key: string; value: Uint8Array | null }> = []
    for (let i = 0; i < headerCount; i++) {
      const kl = readVarint(b, recEnd)
      if (kl < 0 || vp + kl > recEnd) throw new RecordDecodeError(`invalid header key length ${kl}`)
      const hk = b.toString('utf8', vp, vp + kl)
      vp += kl
      headers.push({ key: hk, value: readBytes(b, recEnd) })
    }
    if (vp !== recEnd) throw new RecordDecodeError(`record declared ${length} bytes but used ${vp - start}`)
    this.p = recEnd
    return {
      done: false,
      value: {
        offset: this.baseOffset + offsetDelta,
        timestamp: this.appendTime === this.appendTime ? this.appendTime : this.baseTimestamp + timestampDelta,
        key,
        value,
        headers,
        attributes,
      },
    }
  }
}

// Cursor shared by the varint readers below; set before a record is decoded. Keeping it in a
// module variable lets the readers return the value alone without allocating.
let vp = 0

function readVarint(b: Uint8Array, end: number): number {
  if (vp < end) {
    const x = b[vp]!
    if (x < 0x80) {
      vp++
      return (x >>> 1) ^ -(x & 1)
    }
  }
  let v = 0
  for (let shift = 0; shift < 35; shift += 7) {
    if (vp >= end) throw new RecordDecodeError('truncated varint')
    const x = b[vp++]!
    v |= (x & 0x7f) << shift
    if (x < 0x80) return (v >>> 1) ^ -(v & 1)
  }
  throw new RecordDecodeError('varint longer than 5 bytes')
}

function readVarlong(b: Uint8Array, end: number): number {
  if (vp >= end) throw new RecordDecodeError('truncated varlong')
  const first = b[vp++]!
  if (first < 0x80) return (first >>> 1) ^ -(first & 1)
  let v = first & 0x7f
  let mul = 128
  for (let i = 1; i < 10; i++) {
    if (vp >= end) throw new RecordDecodeError('truncated varlong')
    const x = b[vp++]!
    v += (x & 0x7f) * mul
    if (x < 0x80) return v % 2 === 0 ? v / 2 : -(v + 1) / 2
    mul *= 128
  }
  throw new RecordDecodeError('varlong longer than 10 bytes')
}

function readBytes(b: Buffer, end: number): Buffer | null {
  const len = readVarint(b, end)
  if (len < 0) {
    if (len === -1) return null
    throw new RecordDecodeError(`invalid length ${len}`)
  }
  if (vp + len > end) throw new RecordDecodeError(`length ${len} overruns the record`)
  const out = b.subarray(vp, vp + len)
  vp += len
  return out
}

/** Skips a nullable length-prefixed field; returns its length, -1 for null. */
function skipBytes(b: Uint8Array, end: number): number {
  const len = readVarint(b, end)
  if (len < -1) throw new RecordDecodeError(`invalid length ${len}`)
  if (len > 0) {
    if (vp + len > end) throw new RecordDecodeError(`length ${len} overruns the record`)
    vp += len
  }
  return len
}

const EMPTY_SECTION = new Uint8Array(0)

/**
 * Walks the records of a records section in place, one next() per record, without allocating:
 * each call checks one record's framing (length, varints, key, value and header lengths, that the
 * record uses exactly its declared length) and leaves its fields here. Malformed input throws
 * RecordDecodeError. For callers that check every record of a batch (produce validation); one
 * cursor can be reset and reused across batches.
 */
export class RecordCursor {
  attributes = 0
  timestampDelta = 0
  offsetDelta = 0
  /** -1 for a null key. */
  keyLength = -1
  /** -1 for a null value. */
  valueLength = -1
  headerCount = 0
  private buf: Uint8Array = EMPTY_SECTION
  private p = 0
  private end = 0

  /** Starts at `start` of `section`, whose records end at `end`. */
  reset(section: Uint8Array, start = 0, end = section.length): void {
    this.buf = section
    this.p = start
    this.end = end
  }

  /** Bytes after the last record read. */
  get remaining(): number {
    return this.end - this.p
  }

  next(): void {
    const b = this.buf
    vp = this.p
    const length = readVarint(b, this.end)
    const start = vp
    const recEnd = start + length
    if (length < 0 || recEnd > this.end) throw new RecordDecodeError(`record length ${length} overruns the batch`)
    if (vp >= recEnd) throw new RecordDecodeError('truncated record')
    this.attributes = b[vp++]!
    this.timestampDelta = readVarlong(b, recEnd)
    this.offsetDelta = readVarint(b, recEnd)
    this.keyLength = skipBytes(b, recEnd)
    this.valueLength = skipBytes(b, recEnd)
    const headerCount = readVarint(b, recEnd)
    if (headerCount < 0) throw new RecordDecodeError(`negative header count ${headerCount}`)
    for (let i = 0; i < headerCount; i++) {
      if (skipBytes(b, recEnd) < 0) throw new RecordDecodeError('null header key')
      skipBytes(b, recEnd)
    }
    if (vp !== recEnd) throw new RecordDecodeError(`record declared ${length} bytes but used ${vp - start}`)
    this.headerCount = headerCount
    this.p = recEnd
  }
}

/** Lazily walks the records of the batch at `pos`. Malformed input throws RecordDecodeError. */
export function iterateRecords(batch: Uint8Array, pos = 0): IterableIterator<Record> {
  return new RecordIterator(batch, pos)
}

export function decodeBatchRecords(batch: Uint8Array, pos = 0): Record[] {
  return Array.from(new RecordIterator(batch, pos))
}
