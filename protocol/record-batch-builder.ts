// Building a v2 record batch from records, as Kafka's MemoryRecordsBuilder does: records are
// sized first so each length prefix is written before its body, then compressed as one section
// when a codec is asked for, then the header and CRC are written around them.

import { compress } from './compression.js'
import { BATCH_HEADER_SIZE, Compression, TimestampType, batchAttributes, writeBatchHeader } from './record-batch.js'

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

  writeBatchHeader(out, {
    baseOffset: opts.baseOffset ?? 0,
    partitionLeaderEpoch: opts.partitionLeaderEpoch ?? -1,
    attributes: batchAttributes(codec, opts.timestampType ?? TimestampType.CreateTime, opts.transactional ?? false, opts.control ?? false),
    lastOffsetDelta,
    baseTimestamp,
    maxTimestamp,
    producerId: opts.producerId ?? -1,
    producerEpoch: opts.producerEpoch ?? -1,
    baseSequence: opts.baseSequence ?? -1,
    recordCount: n,
  })
  return out
}
