// Record batches, message format v2 (magic 2): the batch header, its attribute bits, in-place
// patching and framing validation. Records are read by record-reader.ts, batches built by
// record-batch-builder.ts, transaction markers live in control-records.ts.
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

import { i16, i32, i64, u32, w16, w32, w64 } from './big-endian.js'
import { crc32c } from './crc32c.js'

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
export function readPartitionLeaderEpoch(buf: Uint8Array, pos = 0): number {
  return i32(buf, pos + OFF_LEADER_EPOCH)
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
/** The magic byte, which sits at the same place in every message format. */
export function readMagic(buf: Uint8Array, pos = 0): number {
  return (buf[pos + OFF_MAGIC]! << 24) >> 24
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

/** The attributes field for a batch with these properties. */
export function batchAttributes(codec: number, timestampType: 0 | 1, transactional: boolean, control: boolean): number {
  return (
    (codec & COMPRESSION_MASK) |
    (timestampType === TimestampType.LogAppendTime ? TIMESTAMP_TYPE_MASK : 0) |
    (transactional ? TRANSACTIONAL_MASK : 0) |
    (control ? CONTROL_MASK : 0)
  )
}

/** The checksum the batch at `pos` should carry, computed over its CRC range. */
export function computeBatchCrc(buf: Uint8Array, pos = 0): number {
  const end = pos + LOG_OVERHEAD + i32(buf, pos + OFF_BATCH_LENGTH)
  return crc32c(buf.subarray(pos + OFF_ATTRIBUTES, end))
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Header fields a writer chooses; batchLength, magic and crc follow from the bytes. */
export type BatchHeaderFields = Omit<BatchHeader, 'batchLength' | 'magic' | 'crc'>

/**
 * Writes the header of the batch that fills all of `out`, records already in place after
 * BATCH_HEADER_SIZE, then its CRC.
 */
export function writeBatchHeader(out: Uint8Array, h: BatchHeaderFields): void {
  w64(out, 0, h.baseOffset)
  w32(out, OFF_BATCH_LENGTH, out.length - LOG_OVERHEAD)
  w32(out, OFF_LEADER_EPOCH, h.partitionLeaderEpoch)
  out[OFF_MAGIC] = CURRENT_MAGIC
  w16(out, OFF_ATTRIBUTES, h.attributes)
  w32(out, OFF_LAST_OFFSET_DELTA, h.lastOffsetDelta)
  w64(out, OFF_BASE_TIMESTAMP, h.baseTimestamp)
  w64(out, OFF_MAX_TIMESTAMP, h.maxTimestamp)
  w64(out, OFF_PRODUCER_ID, h.producerId)
  w16(out, OFF_PRODUCER_EPOCH, h.producerEpoch)
  w32(out, OFF_BASE_SEQUENCE, h.baseSequence)
  w32(out, OFF_RECORD_COUNT, h.recordCount)
  w32(out, OFF_CRC, crc32c(out.subarray(OFF_ATTRIBUTES)))
}

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

/**
 * Sets a CreateTime batch's maxTimestamp, as Kafka's validator does with the largest record
 * timestamp it found. Inside the CRC range, so the checksum is recomputed.
 */
export function setMaxTimestamp(buf: Uint8Array, pos: number, maxTimestamp: number): void {
  w64(buf, pos + OFF_MAX_TIMESTAMP, maxTimestamp)
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
