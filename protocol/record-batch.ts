// Record batches, message format v2 (magic 2): header access, validation, in-place patching,
// record iteration and encoding.
//
// Batch layout (big-endian), offsets relative to the batch start:
//   0 baseOffset int64        8 batchLength int32     12 partitionLeaderEpoch int32
//  16 magic int8             17 crc uint32           21 attributes int16
//  23 lastOffsetDelta int32  27 baseTimestamp int64  35 maxTimestamp int64
//  43 producerId int64       51 producerEpoch int16  53 baseSequence int32
//  57 recordCount int32      61 records (possibly compressed)
// The CRC-32C covers bytes [21, 12 + batchLength); baseOffset and partitionLeaderEpoch sit outside
// it so a broker can assign offsets without recomputing the checksum.
//
// Record layout: length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
// key (varint length, -1 = null), value (same), header count varint, then per header a
// non-null key string and a nullable value, all with varint lengths. Varints are zigzag.
//
// int64 fields are read as two int32 halves into JS numbers, exact up to 2^53.

import { crc32c } from './crc32c.js'
import { compress, decompress } from './compression.js'

export const BATCH_HEADER_SIZE = 61
export const LOG_OVERHEAD = 12
/** batchLength of a batch with no records: the header after the length field. */
export const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - LOG_OVERHEAD
export const CURRENT_MAGIC = 2
/** Smallest encoded record: one byte each for length, attributes, deltas, key, value, headers. */
const MIN_RECORD_SIZE = 7

export const Compression = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const
export type Compression = (typeof Compression)[keyof typeof Compression]

export const TimestampType = { CreateTime: 0, LogAppendTime: 1 } as const
export const ControlType = { Abort: 0, Commit: 1 } as const

const COMPRESSION_MASK = 0x07
const TIMESTAMP_TYPE_MASK = 0x08
const TRANSACTIONAL_MASK = 0x10
const CONTROL_MASK = 0x20
const DELETE_HORIZON_MASK = 0x40

const OFF_BATCH_LENGTH = 8
const OFF_LEADER_EPOCH = 12
const OFF_MAGIC = 16
const OFF_CRC = 17
const OFF_ATTRIBUTES = 21
const OFF_LAST_OFFSET_DELTA = 23
const OFF_BASE_TIMESTAMP = 27
const OFF_MAX_TIMESTAMP = 35
const OFF_PRODUCER_ID = 43
const OFF_PRODUCER_EPOCH = 51
const OFF_BASE_SEQUENCE = 53
const OFF_RECORD_COUNT = 57

export interface BatchHeader {
  baseOffset: number
  batchLength: number
  partitionLeaderEpoch: number
  magic: number
  crc: number
  attributes: number
  lastOffsetDelta: number
  baseTimestamp: number
  maxTimestamp: number
  producerId: number
  producerEpoch: number
  baseSequence: number
  recordCount: number
}

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

// ---------------------------------------------------------------------------------------------
// Fixed-width big-endian access without DataView allocations.

function i16(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16)) >> 16
}
function i32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!
}
function u32(b: Uint8Array, o: number): number {
  return i32(b, o) >>> 0
}
function i64(b: Uint8Array, o: number): number {
  return i32(b, o) * 4294967296 + u32(b, o + 4)
}
function w16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8
  b[o + 1] = v
}
function w32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24
  b[o + 1] = v >>> 16
  b[o + 2] = v >>> 8
  b[o + 3] = v
}
function w64(b: Uint8Array, o: number, v: number): void {
  const hi = Math.floor(v / 4294967296)
  w32(b, o, hi)
  w32(b, o + 4, v - hi * 4294967296)
}

// ---------------------------------------------------------------------------------------------
// Header access

/** Decodes the 61-byte header at `pos`. The caller has checked that 61 bytes are present. */
export function readBatchHeader(buf: Uint8Array, pos = 0): BatchHeader {
  return {
    baseOffset: i64(buf, pos),
    batchLength: i32(buf, pos + OFF_BATCH_LENGTH),
    partitionLeaderEpoch: i32(buf, pos + OFF_LEADER_EPOCH),
    magic: (buf[pos + OFF_MAGIC]! << 24) >> 24,
    crc: u32(buf, pos + OFF_CRC),
    attributes: i16(buf, pos + OFF_ATTRIBUTES),
    lastOffsetDelta: i32(buf, pos + OFF_LAST_OFFSET_DELTA),
    baseTimestamp: i64(buf, pos + OFF_BASE_TIMESTAMP),
    maxTimestamp: i64(buf, pos + OFF_MAX_TIMESTAMP),
    producerId: i64(buf, pos + OFF_PRODUCER_ID),
    producerEpoch: i16(buf, pos + OFF_PRODUCER_EPOCH),
    baseSequence: i32(buf, pos + OFF_BASE_SEQUENCE),
    recordCount: i32(buf, pos + OFF_RECORD_COUNT),
  }
}

// Single-field readers for paths that walk many batches (indexing, recovery, fetch).
export function readBaseOffset(buf: Uint8Array, pos = 0): number {
  return i64(buf, pos)
}
export function readBatchLength(buf: Uint8Array, pos = 0): number {
  return i32(buf, pos + OFF_BATCH_LENGTH)
}
/** Whole size of the batch at `pos` on disk or on the wire, log overhead included. */
export function batchSizeAt(buf: Uint8Array, pos = 0): number {
  return LOG_OVERHEAD + i32(buf, pos + OFF_BATCH_LENGTH)
}
export function readLastOffsetDelta(buf: Uint8Array, pos = 0): number {
  return i32(buf, pos + OFF_LAST_OFFSET_DELTA)
}
/** Offset of the last record: baseOffset + lastOffsetDelta. */
export function readLastOffset(buf: Uint8Array, pos = 0): number {
  return i64(buf, pos) + i32(buf, pos + OFF_LAST_OFFSET_DELTA)
}
export function readMaxTimestamp(buf: Uint8Array, pos = 0): number {
  return i64(buf, pos + OFF_MAX_TIMESTAMP)
}
export function readAttributes(buf: Uint8Array, pos = 0): number {
  return i16(buf, pos + OFF_ATTRIBUTES)
}
export function readRecordCount(buf: Uint8Array, pos = 0): number {
  return i32(buf, pos + OFF_RECORD_COUNT)
}
export function readBaseTimestamp(buf: Uint8Array, pos = 0): number {
  return i64(buf, pos + OFF_BASE_TIMESTAMP)
}
/** -1 for a batch written without a producer id (neither idempotent nor transactional). */
export function readProducerId(buf: Uint8Array, pos = 0): number {
  return i64(buf, pos + OFF_PRODUCER_ID)
}
export function readProducerEpoch(buf: Uint8Array, pos = 0): number {
  return i16(buf, pos + OFF_PRODUCER_EPOCH)
}
export function readBaseSequence(buf: Uint8Array, pos = 0): number {
  return i32(buf, pos + OFF_BASE_SEQUENCE)
}

export function lastOffsetOf(h: BatchHeader): number {
  return h.baseOffset + h.lastOffsetDelta
}
/** The offset the next batch would get. */
export function nextOffsetOf(h: BatchHeader): number {
  return h.baseOffset + h.lastOffsetDelta + 1
}

export function compressionOf(attributes: number): number {
  return attributes & COMPRESSION_MASK
}
export function timestampTypeOf(attributes: number): 0 | 1 {
  return attributes & TIMESTAMP_TYPE_MASK ? 1 : 0
}
export function isTransactional(attributes: number): boolean {
  return (attributes & TRANSACTIONAL_MASK) !== 0
}
export function isControl(attributes: number): boolean {
  return (attributes & CONTROL_MASK) !== 0
}
export function hasDeleteHorizon(attributes: number): boolean {
  return (attributes & DELETE_HORIZON_MASK) !== 0
}

/** The checksum the batch at `pos` should carry, computed over its CRC range. */
export function computeBatchCrc(buf: Uint8Array, pos = 0): number {
  const end = pos + LOG_OVERHEAD + i32(buf, pos + OFF_BATCH_LENGTH)
  return crc32c(buf.subarray(pos + OFF_ATTRIBUTES, end))
}

// ---------------------------------------------------------------------------------------------
// In-place patching

/** Assigns the base offset. Outside the CRC range, so the checksum stays valid. */
export function setBaseOffset(buf: Uint8Array, pos: number, baseOffset: number): void {
  w64(buf, pos, baseOffset)
}

/** Stamps the leader epoch. Outside the CRC range. */
export function setPartitionLeaderEpoch(buf: Uint8Array, pos: number, epoch: number): void {
  w32(buf, pos + OFF_LEADER_EPOCH, epoch)
}

/**
 * Switches the batch to LogAppendTime with `timestamp` as maxTimestamp, as a broker configured
 * with message.timestamp.type=LogAppendTime does; readers then report `timestamp` for every
 * record. Both fields are inside the CRC range, so the checksum is recomputed.
 */
export function setLogAppendTime(buf: Uint8Array, pos: number, timestamp: number): void {
  w16(buf, pos + OFF_ATTRIBUTES, i16(buf, pos + OFF_ATTRIBUTES) | TIMESTAMP_TYPE_MASK)
  w64(buf, pos + OFF_MAX_TIMESTAMP, timestamp)
  w32(buf, pos + OFF_CRC, computeBatchCrc(buf, pos))
}

// ---------------------------------------------------------------------------------------------
// Validation

export type BatchErrorCode = 'CORRUPT_MESSAGE' | 'UNSUPPORTED_VERSION' | 'INVALID_RECORD'
export type BatchError = { ok: false; error: BatchErrorCode; message: string; position: number }
export type BatchCheck =
  | { ok: true; batches: Array<{ position: number; size: number; header: BatchHeader }> }
  | BatchError

export interface ScanOptions {
  /** Verify each batch's CRC-32C (default true). */
  verifyCrc?: boolean
}

function fail(error: BatchErrorCode, message: string, position: number): BatchError {
  return { ok: false, error, message, position }
}

/**
 * Checks the framing of the single batch at `pos` of `buf`, which may hold more bytes after it:
 * magic, length, CRC and the header's own consistency. Returns the header or the error Kafka
 * would report for it. The rules a produced batch must also pass (its records, sizes, producer
 * fields) belong to the log's validator.
 */
export function checkBatch(
  buf: Uint8Array,
  pos: number,
  opts?: ScanOptions,
): { ok: true; size: number; header: BatchHeader } | BatchError {
  const remaining = buf.length - pos
  // magic sits at the same place in every format, so it can be read before the length is known
  if (remaining > OFF_MAGIC) {
    const magic = (buf[pos + OFF_MAGIC]! << 24) >> 24
    if (magic === 0 || magic === 1) {
      return fail('UNSUPPORTED_VERSION', `message format v${magic} is not supported`, pos)
    }
    if (magic !== CURRENT_MAGIC) return fail('CORRUPT_MESSAGE', `invalid magic byte ${magic}`, pos)
  }
  if (remaining < BATCH_HEADER_SIZE) {
    return fail('CORRUPT_MESSAGE', `truncated batch: ${remaining} bytes, header needs ${BATCH_HEADER_SIZE}`, pos)
  }
  const batchLength = i32(buf, pos + OFF_BATCH_LENGTH)
  if (batchLength < MIN_BATCH_LENGTH) {
    return fail('CORRUPT_MESSAGE', `batch length ${batchLength} is below the minimum ${MIN_BATCH_LENGTH}`, pos)
  }
  const size = LOG_OVERHEAD + batchLength
  if (size > remaining) {
    return fail('CORRUPT_MESSAGE', `truncated batch: length says ${size} bytes, ${remaining} present`, pos)
  }
  const header = readBatchHeader(buf, pos)
  if (opts?.verifyCrc !== false) {
    const actual = crc32c(buf.subarray(pos + OFF_ATTRIBUTES, pos + size))
    if (actual !== header.crc) {
      return fail('CORRUPT_MESSAGE', `CRC mismatch: stored ${header.crc}, computed ${actual}`, pos)
    }
  }
  const { recordCount, lastOffsetDelta, attributes } = header
  if (recordCount < 0) return fail('INVALID_RECORD', `negative record count ${recordCount}`, pos)
  if (lastOffsetDelta < recordCount - 1) {
    return fail('INVALID_RECORD', `lastOffsetDelta ${lastOffsetDelta} cannot hold ${recordCount} records`, pos)
  }
  const codec = attributes & COMPRESSION_MASK
  if (codec > Compression.Zstd) return fail('CORRUPT_MESSAGE', `unknown compression codec ${codec}`, pos)
  if (codec === Compression.None && recordCount * MIN_RECORD_SIZE > batchLength - MIN_BATCH_LENGTH) {
    return fail('INVALID_RECORD', `record count ${recordCount} does not fit in ${batchLength - MIN_BATCH_LENGTH} bytes`, pos)
  }
  return { ok: true, size, header }
}

/**
 * Splits a records blob (the `records` field of a Produce request, or a run of log bytes) into
 * whole batches, validating each. The first failure stops the scan; its `position` is where the
 * valid prefix ends, which is also the truncation point for log recovery.
 */
export function scanBatches(buf: Uint8Array, opts?: ScanOptions): BatchCheck {
  const batches: Array<{ position: number; size: number; header: BatchHeader }> = []
  let pos = 0
  while (pos < buf.length) {
    const r = checkBatch(buf, pos, opts)
    if (!r.ok) return r
    batches.push({ position: pos, size: r.size, header: r.header })
    pos += r.size
  }
  return { ok: true, batches }
}

// ---------------------------------------------------------------------------------------------
// Record iteration

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
    const magic = batch[pos + OFF_MAGIC]
    if (magic !== CURRENT_MAGIC) throw new RecordDecodeError(`unsupported magic ${magic}`)
    const batchLength = i32(batch, pos + OFF_BATCH_LENGTH)
    const end = pos + LOG_OVERHEAD + batchLength
    if (batchLength < MIN_BATCH_LENGTH || end > batch.length) {
      throw new RecordDecodeError(`batch length ${batchLength} does not fit the buffer`)
    }
    const attributes = i16(batch, pos + OFF_ATTRIBUTES)
    this.left = i32(batch, pos + OFF_RECORD_COUNT)
    if (this.left < 0) throw new RecordDecodeError(`negative record count ${this.left}`)
    this.baseOffset = i64(batch, pos)
    this.baseTimestamp = i64(batch, pos + OFF_BASE_TIMESTAMP)
    this.appendTime = attributes & TIMESTAMP_TYPE_MASK ? i64(batch, pos + OFF_MAX_TIMESTAMP) : NaN
    const codec = attributes & COMPRESSION_MASK
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

// ---------------------------------------------------------------------------------------------
// Encoding

export interface EncodeBatchOptions {
  baseOffset?: number
  partitionLeaderEpoch?: number
  compression?: number
  timestampType?: 0 | 1
  producerId?: number
  producerEpoch?: number
  baseSequence?: number
  transactional?: boolean
  control?: boolean
  /** Defaults to the first record's timestamp, as the Java producer does. */
  baseTimestamp?: number
}

export interface RecordInput {
  key?: Uint8Array | string | null
  value?: Uint8Array | string | null
  headers?: Array<{ key: string; value: Uint8Array | string | null }>
  timestamp?: number
  /** Defaults to the record's index in the batch. */
  offsetDelta?: number
}

function zigzag32(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0
}

function uvarintSize(u: number): number {
  return u < 0x80 ? 1 : u < 0x4000 ? 2 : u < 0x200000 ? 3 : u < 0x10000000 ? 4 : 5
}

function varintSize(n: number): number {
  return uvarintSize(zigzag32(n))
}

function zigzag64(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1
}

function varlongSize(n: number): number {
  let z = zigzag64(n)
  if (z < 0x10000000) return uvarintSize(z)
  let size = 1
  while (z >= 128) {
    z = Math.floor(z / 128)
    size++
  }
  return size
}

function writeUvarint(b: Uint8Array, o: number, u: number): number {
  while (u >= 0x80) {
    b[o++] = (u & 0x7f) | 0x80
    u >>>= 7
  }
  b[o++] = u
  return o
}

function writeVarint(b: Uint8Array, o: number, n: number): number {
  return writeUvarint(b, o, zigzag32(n))
}

function writeVarlong(b: Uint8Array, o: number, n: number): number {
  let z = zigzag64(n)
  if (z < 0x80000000) return writeUvarint(b, o, z)
  while (z >= 128) {
    b[o++] = (z % 128) | 0x80
    z = Math.floor(z / 128)
  }
  b[o++] = z
  return o
}

function byteLen(v: Uint8Array | string | null | undefined): number {
  if (v == null) return -1
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length
}

function sizedFieldSize(len: number): number {
  return len < 0 ? 1 : varintSize(len) + len
}

function writeSized(b: Buffer, o: number, v: Uint8Array | string | null | undefined, len: number): number {
  o = writeVarint(b, o, len)
  if (len > 0) {
    if (typeof v === 'string') b.write(v, o, len, 'utf8')
    else b.set(v as Uint8Array, o)
    o += len
  }
  return o
}

/**
 * Encodes `records` as one v2 batch with a valid CRC. Strings are written as UTF-8. The result
 * is a fresh Buffer holding exactly the batch.
 */
export function encodeBatch(records: RecordInput[], opts: EncodeBatchOptions = {}): Buffer {
  const n = records.length
  const now = Date.now()
  const baseTimestamp = opts.baseTimestamp ?? (n > 0 ? (records[0]!.timestamp ?? now) : now)
  let maxTimestamp = n > 0 ? -Infinity : baseTimestamp
  let lastOffsetDelta = n - 1

  // First pass: record body sizes, so each length prefix can be written before its body.
  const bodySizes = new Array<number>(n)
  let sectionSize = 0
  for (let i = 0; i < n; i++) {
    const r = records[i]!
    const ts = r.timestamp ?? now
    if (ts > maxTimestamp) maxTimestamp = ts
    const offsetDelta = r.offsetDelta ?? i
    if (i === n - 1) lastOffsetDelta = offsetDelta
    let size = 1 + varlongSize(ts - baseTimestamp) + varintSize(offsetDelta)
    size += sizedFieldSize(byteLen(r.key)) + sizedFieldSize(byteLen(r.value))
    const hs = r.headers
    const hc = hs ? hs.length : 0
    size += varintSize(hc)
    for (let h = 0; h < hc; h++) {
      const hdr = hs![h]!
      size += sizedFieldSize(Buffer.byteLength(hdr.key)) + sizedFieldSize(byteLen(hdr.value))
    }
    bodySizes[i] = size
    sectionSize += varintSize(size) + size
  }

  const codec = opts.compression ?? Compression.None
  if (codec < 0 || codec > Compression.Zstd) throw new RangeError(`unknown compression codec ${codec}`)
  const inline = codec === Compression.None
  const section = inline ? Buffer.allocUnsafe(BATCH_HEADER_SIZE + sectionSize) : Buffer.allocUnsafe(sectionSize)
  let o = inline ? BATCH_HEADER_SIZE : 0
  for (let i = 0; i < n; i++) {
    const r = records[i]!
    o = writeVarint(section, o, bodySizes[i]!)
    section[o++] = 0
    o = writeVarlong(section, o, (r.timestamp ?? now) - baseTimestamp)
    o = writeVarint(section, o, r.offsetDelta ?? i)
    o = writeSized(section, o, r.key, byteLen(r.key))
    o = writeSized(section, o, r.value, byteLen(r.value))
    const hs = r.headers
    const hc = hs ? hs.length : 0
    o = writeVarint(section, o, hc)
    for (let h = 0; h < hc; h++) {
      const hdr = hs![h]!
      o = writeSized(section, o, hdr.key, Buffer.byteLength(hdr.key))
      o = writeSized(section, o, hdr.value, byteLen(hdr.value))
    }
  }

  let out: Buffer
  if (inline) {
    out = section
  } else {
    const compressed = compress(codec, section)
    out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + compressed.length)
    out.set(compressed, BATCH_HEADER_SIZE)
  }

  let attributes = codec
  if (opts.timestampType === TimestampType.LogAppendTime) attributes |= TIMESTAMP_TYPE_MASK
  if (opts.transactional) attributes |= TRANSACTIONAL_MASK
  if (opts.control) attributes |= CONTROL_MASK

  w64(out, 0, opts.baseOffset ?? 0)
  w32(out, OFF_BATCH_LENGTH, out.length - LOG_OVERHEAD)
  w32(out, OFF_LEADER_EPOCH, opts.partitionLeaderEpoch ?? -1)
  out[OFF_MAGIC] = CURRENT_MAGIC
  w16(out, OFF_ATTRIBUTES, attributes)
  w32(out, OFF_LAST_OFFSET_DELTA, lastOffsetDelta)
  w64(out, OFF_BASE_TIMESTAMP, baseTimestamp)
  w64(out, OFF_MAX_TIMESTAMP, maxTimestamp)
  w64(out, OFF_PRODUCER_ID, opts.producerId ?? -1)
  w16(out, OFF_PRODUCER_EPOCH, opts.producerEpoch ?? -1)
  w32(out, OFF_BASE_SEQUENCE, opts.baseSequence ?? -1)
  w32(out, OFF_RECORD_COUNT, n)
  w32(out, OFF_CRC, crc32c(out.subarray(OFF_ATTRIBUTES)))
  return out
}

// ---------------------------------------------------------------------------------------------
// Control batches (transaction markers)

/**
 * Encodes a transaction marker: a transactional control batch with one record whose key is
 * (version int16 = 0, type int16) and whose value is (version int16 = 0, coordinatorEpoch int32).
 */
export function encodeControlBatch(opts: {
  type: 0 | 1
  producerId: number
  producerEpoch: number
  coordinatorEpoch: number
  baseOffset?: number
  timestamp?: number
  partitionLeaderEpoch?: number
}): Buffer {
  const key = Buffer.allocUnsafe(4)
  w16(key, 0, 0)
  w16(key, 2, opts.type)
  const value = Buffer.allocUnsafe(6)
  w16(value, 0, 0)
  w32(value, 2, opts.coordinatorEpoch)
  const timestamp = opts.timestamp ?? Date.now()
  return encodeBatch([{ key, value, timestamp }], {
    baseOffset: opts.baseOffset ?? 0,
    partitionLeaderEpoch: opts.partitionLeaderEpoch ?? -1,
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    baseSequence: -1,
    transactional: true,
    control: true,
    baseTimestamp: timestamp,
  })
}

/**
 * Reads a record of a control batch. Returns its type and, for transaction markers (Abort,
 * Commit), the coordinator epoch; other control types report coordinatorEpoch -1. Null when
 * the key is not a control key.
 */
export function readControlRecord(record: Record): { type: number; coordinatorEpoch: number } | null {
  const k = record.key
  if (k === null || k.length < 4) return null
  const version = i16(k, 0)
  if (version < 0) return null
  const type = i16(k, 2)
  let coordinatorEpoch = -1
  if ((type === ControlType.Abort || type === ControlType.Commit) && record.value !== null && record.value.length >= 6) {
    coordinatorEpoch = i32(record.value, 2)
  }
  return { type, coordinatorEpoch }
}
