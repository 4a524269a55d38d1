// Mutations of the record batches inside Produce requests that keep each batch's CRC-32C valid,
// so the broker's checks of the records themselves are what get exercised, not its checksum.
// Compressed batches are mostly decompressed, mutated and recompressed with the same codec;
// sometimes their compressed bytes are mutated instead (a payload that is not what the codec
// bit says). The request is then encoded again with the generated codec, so every length around
// the batch stays consistent.
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'
import { compress, decompress } from '../../protocol/compression.js'
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, checkBatch, compressionOf, computeBatchCrc, readAttributes } from '../../protocol/record-batch.js'
import { ApiKey, ProduceApi, requestHeaderVersion } from '../../protocol/generated/index.js'
import { decodeRequestHeader, encodeRequestHeader } from '../../protocol/generated/request-header.js'
import type { ProduceRequest, ProduceRequestPartitionProduceData } from '../../protocol/generated/produce.js'
import type { Rng } from './rng.js'

const OFF_BATCH_LENGTH = 8
const OFF_CRC = 17
const OFF_ATTRIBUTES = 21
const OFF_LAST_OFFSET_DELTA = 23
const OFF_BASE_TIMESTAMP = 27
const OFF_MAX_TIMESTAMP = 35
const OFF_PRODUCER_ID = 43
const OFF_PRODUCER_EPOCH = 51
const OFF_BASE_SEQUENCE = 53
const OFF_RECORD_COUNT = 57

const INT32S = [0, 1, -1, 2, 0x7fffffff, -0x80000000, 0xffff, 1 << 24]
const INT64S = [0n, -1n, 1n, 0x7fffffffffffffffn, -0x8000000000000000n, 0x20000000000000n, BigInt(Date.now()) + 1000n * 86400n * 365n]
/** Zigzag varints: 0, -1, 1, large positive and negative, an over-long encoding, a 10-byte one. */
const VARINTS = [[0x00], [0x01], [0x02], [0xfe, 0xff, 0xff, 0xff, 0x0f], [0xff, 0xff, 0xff, 0xff, 0x0f], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]]

/** Mutates the records of one batch in `frame`, a Produce request; null if it has none. */
export function mutateProduceBatch(frame: Buffer, rng: Rng): { frame: Buffer; what: string } | null {
  if (frame.length < 12 || frame.readInt16BE(4) !== ApiKey.Produce) return null
  const version = frame.readInt16BE(6)
  const r = new Reader(frame.subarray(4))
  const headerVersion = requestHeaderVersion(ApiKey.Produce, version)
  const header = decodeRequestHeader(r, headerVersion)
  const body = ProduceApi.decodeRequest(r, version) as ProduceRequest
  if (r.bad) return null
  const withRecords: ProduceRequestPartitionProduceData[] = []
  for (const t of body.topicData) for (const p of t.partitionData) if (p.records && p.records.length >= BATCH_HEADER_SIZE) withRecords.push(p)
  if (withRecords.length === 0) return null

  const target = rng.pick(withRecords)
  const records = target.records!
  const batches: Array<[number, number]> = []
  for (let pos = 0; pos < records.length; ) {
    const c = checkBatch(records, pos)
    if (!c.ok) break
    batches.push([pos, c.size])
    pos += c.size
  }
  if (batches.length === 0) return null
  const [start, size] = rng.pick(batches)
  const mutated = mutateBatch(Buffer.from(records.subarray(start, start + size)), rng)
  target.records = Buffer.concat([records.subarray(0, start), mutated.batch, records.subarray(start + size)])

  const w = new Writer(frame.length + 256)
  const sizeAt = w.reserveInt32()
  const from = w.length
  encodeRequestHeader(w, headerVersion, header)
  ProduceApi.encodeRequest(w, version, body)
  w.patchInt32(sizeAt, w.length - from)
  return { frame: w.toBuffer(), what: mutated.what }
}

/** One mutation of a whole batch; its length and CRC are then made consistent again. */
function mutateBatch(batch: Buffer, rng: Rng): { batch: Buffer; what: string } {
  const codec = compressionOf(readAttributes(batch))
  let what: string
  if (rng.chance(0.3)) {
    what = mutateHeaderField(batch, rng)
  } else if (codec !== 0 && rng.chance(0.25)) {
    what = `compressed-${codec}:`
    const section = batch.subarray(BATCH_HEADER_SIZE)
    const m = mutateSection(Buffer.from(section), rng)
    what += m.what
    batch = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE), m.section])
  } else {
    let plain: Buffer
    try {
      plain = codec === 0 ? Buffer.from(batch.subarray(BATCH_HEADER_SIZE)) : Buffer.from(decompress(codec, batch.subarray(BATCH_HEADER_SIZE)))
    } catch {
      plain = Buffer.from(batch.subarray(BATCH_HEADER_SIZE))
    }
    const m = mutateSection(plain, rng)
    what = `records${codec === 0 ? '' : `-${codec}`}:${m.what}`
    const section = codec === 0 ? m.section : compress(codec, m.section)
    batch = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE), section])
  }
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, OFF_BATCH_LENGTH)
  batch.writeUInt32BE(computeBatchCrc(batch), OFF_CRC)
  return { batch, what }
}

function mutateHeaderField(b: Buffer, rng: Rng): string {
  switch (rng.int(7)) {
    case 0: {
      const count = b.readInt32BE(OFF_RECORD_COUNT)
      b.writeInt32BE(rng.pick([...INT32S, count + 1, count - 1, count * 2]) | 0, OFF_RECORD_COUNT)
      if (rng.chance(0.5)) b.writeInt32BE((b.readInt32BE(OFF_RECORD_COUNT) - 1) | 0, OFF_LAST_OFFSET_DELTA)
      return 'record-count'
    }
    case 1:
      b.writeInt32BE(rng.pick([...INT32S, b.readInt32BE(OFF_LAST_OFFSET_DELTA) + 1]) | 0, OFF_LAST_OFFSET_DELTA)
      return 'last-offset-delta'
    case 2:
      b.writeBigInt64BE(rng.pick(INT64S), rng.pick([OFF_BASE_TIMESTAMP, OFF_MAX_TIMESTAMP]))
      return 'timestamp'
    case 3:
      b.writeBigInt64BE(rng.pick(INT64S), OFF_PRODUCER_ID)
      return 'producer-id'
    case 4:
      b.writeInt16BE(rng.pick([0, -1, 0x7fff, 1]), OFF_PRODUCER_EPOCH)
      b.writeInt32BE(rng.pick(INT32S) | 0, OFF_BASE_SEQUENCE)
      return 'producer-epoch-sequence'
    case 5: {
      // codec bits (5..7 are undefined), timestamp type, transactional and control bits
      const attrs = b.readInt16BE(OFF_ATTRIBUTES)
      b.writeInt16BE(rng.chance(0.5) ? (attrs & ~7) | rng.int(8) : attrs ^ rng.pick([0x08, 0x10, 0x20, 0x40, 0x80, -0x8000]), OFF_ATTRIBUTES)
      return 'attributes'
    }
    default:
      b.writeInt32BE(rng.pick([-1, 0, 0x7fffffff]), 12)
      b[16] = rng.pick([2, 2, 0, 1, 3, 0xff])
      return 'epoch-magic'
  }
}

/** Mutates a records section (uncompressed bytes of all records). */
function mutateSection(s: Buffer, rng: Rng): { section: Buffer; what: string } {
  const at = () => rng.int(Math.max(1, s.length))
  switch (rng.int(8)) {
    case 0:
      for (let n = rng.range(1, 4); n > 0 && s.length > 0; n--) s[at()]! ^= 1 << rng.int(8)
      return { section: s, what: 'bit-flip' }
    case 1: {
      const v = rng.pick(VARINTS)
      const p = at()
      for (let i = 0; i < v.length && p + i < s.length; i++) s[p + i] = v[i]!
      return { section: s, what: 'varint' }
    }
    case 2: {
      const p = at()
      if (p + 4 <= s.length) s.writeInt32BE(rng.pick(INT32S) | 0, p)
      return { section: s, what: 'int32' }
    }
    case 3:
      return { section: s.subarray(0, rng.int(s.length)), what: 'truncate' }
    case 4:
      return { section: Buffer.concat([s, rng.bytes(rng.range(1, 24))]), what: 'trailing-garbage' }
    case 5:
      return { section: rng.bytes(Math.max(1, s.length)), what: 'random' }
    case 6:
      return { section: Buffer.concat([s, s]), what: 'doubled' }
    default: {
      // the first record's length varint (a record is at least 7 bytes)
      const v = rng.pick(VARINTS)
      return { section: Buffer.concat([Buffer.from(v), s.subarray(1)]), what: 'record-length' }
    }
  }
}
