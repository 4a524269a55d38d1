// One cleaning of one log, as Kafka's Cleaner.doClean: map the dirty section (latest offset per key,
// OffsetMap), then rewrite the log's segments below the mapped end in groups, keeping only the
// latest record of each key. Surviving records keep their offsets and timestamps; a batch that lost
// records is re-encoded with its own codec, base offset, base timestamp, producer id, epoch and base
// sequence (Kafka's MemoryRecords.filterTo); a batch that lost none is copied as it is.
//
// Tombstones (null values) follow Kafka's two-pass rule (KIP-534): the first cleaning that rewrites
// a batch holding a tombstone stamps the batch with a delete horizon, now + delete.retention.ms,
// in its baseTimestamp with attribute bit 6 set (record timestamps stay as they were: their
// deltas are taken from the new base); a later cleaning after the horizon removes the tombstones.
// A consumer reading from the start within delete.retention.ms of the first cleaning sees them.
//
// Transactions: batches of an aborted transaction (known from the .txnindex entries of the log) are
// removed, as Kafka does, except in the segments holding those entries (below).
//
// Kept whole, as far as this cleaner goes:
// - control batches, and batches of committed or open transactions (their records are neither
//   mapped nor removed, so read_committed filtering stays exact),
// - the last batch of each producer the producer state knows (Kafka keeps it so an idempotent
//   producer's retry is still recognised after cleaning),
// - segments with aborted transactions indexed (.txnindex): they are left out of every group.
//
// Concurrency: runs on the event loop and yields between segments and every few MiB within one.
// After each yield it checks that the log still holds the segments it works on (retention,
// truncation and deletion may change the list meanwhile) and gives up the round otherwise; the
// swap itself is synchronous.
import path from 'node:path'
import { type RecordInput, encodeBatch } from '../protocol/record-batch-builder.js'
import {
  compressionOf,
  computeBatchCrc,
  hasDeleteHorizon,
  isControl,
  isTransactional,
  readAttributes,
  readBaseOffset,
  readBaseSequence,
  readBaseTimestamp,
  readLastOffset,
  readProducerEpoch,
  readProducerId,
  readRecordCount,
  timestampTypeOf,
} from '../protocol/record-batch.js'
import { decodeBatchRecords, iterateRecords } from '../protocol/record-reader.js'
import type { FileIO } from './file-io.js'
import type { OffsetMap } from './offset-map.js'
import type { PartitionLog } from './partition-log.js'
import type { LogSegment } from './segment.js'
import type { AbortedTxn } from './txn-index.js'
import { cleanedFileName } from './segment-swap.js'

const INT32_MAX = 2147483647
const PARTITION_LEADER_EPOCH_AT = 12
const CRC_AT = 17
const ATTRIBUTES_AT = 21
const DELETE_HORIZON_BIT = 0x40
/** Bytes of batches handled between two yields to the event loop. */
const YIELD_BYTES = 4 << 20

export class CleaningAbortedError extends Error {
  override name = 'CleaningAbortedError'
}

export interface CleanResult {
  /** First offset not covered by the offset map: the next round's first dirty offset. */
  nextDirtyOffset: number
  bytesRead: number
  bytesWritten: number
  recordsRead: number
  recordsRemoved: number
  segmentsCleaned: number
  /** Earliest delete horizon of the batches written that still hold tombstones; -1 if none. */
  earliestDeleteHorizon: number
}

/** The time the cleaning runs at and delete.retention.ms. */
export interface CleanTimes {
  now: number
  deleteRetentionMs: number
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/**
 * Maps keys of the records in [from, to) (`to` is a segment's baseOffset) until the map is full;
 * returns the offset after the last mapped batch. Control and transactional batches are skipped.
 */
export async function buildOffsetMap(log: PartitionLog, map: OffsetMap, from: number, to: number, pacer = new Pacer()): Promise<number> {
  map.clear()
  let end = from
  for (const seg of log.segmentList.slice()) {
    if (seg.baseOffset >= to) break
    if (seg.nextOffset <= from) continue
    if (!log.holdsSegments([seg])) throw new CleaningAbortedError(`segment ${seg.baseOffset} of ${log.name} went away`)
    for (const [position, size] of batchPositions(seg, seg.offsetIndex.lookup(from).position)) {
      const batch = seg.readBatch(position, size)
      const last = readLastOffset(batch, 0)
      if (last < from) continue
      const attributes = readAttributes(batch, 0)
      if (!isControl(attributes) && !isTransactional(attributes)) {
        if (!map.hasRoomFor(readRecordCount(batch, 0))) return end
        for (const r of iterateRecords(batch, 0)) if (r.key !== null && r.offset >= from) map.put(r.key, r.offset)
      }
      end = last + 1
      if (pacer.due(size)) {
        await pacer.pause()
        if (!log.holdsSegments([seg])) throw new CleaningAbortedError(`segment ${seg.baseOffset} of ${log.name} went away`)
      }
    }
    end = Math.max(end, Math.min(seg.nextOffset, to))
    await yieldToLoop()
  }
  return end
}

/** Positions and sizes of the segment's batches from `position` on (headers only are read). */
function batchPositions(seg: LogSegment, position: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  seg.walk(position, (_hdr, _at, pos, size) => {
    out.push([pos, size])
    return true
  })
  return out
}

/**
 * Paces a cleaning: yields to the event loop after every few MiB of batches, so a large segment
 * does not stall requests, and holds the bytes read and written to log.cleaner.io.max.bytes.per.second
 * (Kafka's Throttler) by sleeping at those points when ahead of the rate.
 */
export class Pacer {
  private bytes = 0
  private total = 0
  private readonly started = Date.now()
  private readonly step: number

  constructor(private readonly maxBytesPerSecond = Number.POSITIVE_INFINITY) {
    this.step = Number.isFinite(maxBytesPerSecond) ? Math.max(4096, Math.min(YIELD_BYTES, Math.floor(maxBytesPerSecond / 10))) : YIELD_BYTES
  }

  /** Whether it is time to pause(), after `size` more bytes. */
  due(size: number): boolean {
    this.bytes += size
    this.total += size
    if (this.bytes < this.step) return false
    this.bytes = 0
    return true
  }

  /** Yields, or sleeps for as long as the cleaning is ahead of its rate. */
  pause(): Promise<void> {
    const wait = Number.isFinite(this.maxBytesPerSecond) ? (this.total / this.maxBytesPerSecond) * 1000 - (Date.now() - this.started) : 0
    return wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : yieldToLoop()
  }
}

/**
 * Kafka's groupSegmentsBySize: consecutive segments whose sizes add up to at most segment.bytes,
 * whose index entries fit one index, and whose offsets fit an int32 delta. Segments with aborted
 * transactions indexed are not cleaned and end a group.
 */
export function groupSegments(segments: readonly LogSegment[], maxSize: number, maxIndexSize: number): LogSegment[][] {
  const groups: LogSegment[][] = []
  let group: LogSegment[] = []
  let size = 0
  let offsetIndexBytes = 0
  let timeIndexBytes = 0
  for (const seg of segments) {
    if (!seg.txnIndex.isEmpty) {
      if (group.length > 0) groups.push(group)
      group = []
      continue
    }
    const fits =
      group.length > 0 &&
      size + seg.size <= maxSize &&
      offsetIndexBytes + seg.offsetIndex.sizeInBytes <= maxIndexSize &&
      timeIndexBytes + seg.timeIndex.sizeInBytes <= maxIndexSize &&
      seg.lastOffset - group[0]!.baseOffset <= INT32_MAX
    if (!fits) {
      if (group.length > 0) groups.push(group)
      group = []
      size = offsetIndexBytes = timeIndexBytes = 0
    }
    group.push(seg)
    size += seg.size
    offsetIndexBytes += seg.offsetIndex.sizeInBytes
    timeIndexBytes += seg.timeIndex.sizeInBytes
  }
  if (group.length > 0) groups.push(group)
  return groups
}

/** Rewrites every segment below `mapEnd` (never the active one), group by group. */
export async function cleanSegments(
  log: PartitionLog,
  map: OffsetMap,
  mapEnd: number,
  io: FileIO,
  times: CleanTimes,
  pacer = new Pacer(),
): Promise<CleanResult> {
  const result: CleanResult = {
    nextDirtyOffset: mapEnd,
    bytesRead: 0,
    bytesWritten: 0,
    recordsRead: 0,
    recordsRemoved: 0,
    segmentsCleaned: 0,
    earliestDeleteHorizon: -1,
  }
  const all = log.segmentList
  const candidates = all.slice(0, all.length - 1).filter((s) => s.baseOffset < mapEnd)
  const cfg = log.config
  const aborted = abortedByProducer(log.abortedTransactions(0, Number.MAX_SAFE_INTEGER))
  for (const group of groupSegments(candidates, cfg.segmentBytes, cfg.segmentIndexBytes)) {
    await cleanGroup(log, group, { map, aborted, times }, io, pacer, result)
  }
  return result
}

/** What decides a batch's fate: the offset map, the aborted transactions and the clock. */
interface CleanRules {
  map: OffsetMap
  /** Per producer id, the [firstOffset, marker offset] ranges of its aborted transactions. */
  aborted: Map<number, AbortedTxn[]>
  times: CleanTimes
}

function abortedByProducer(txns: readonly AbortedTxn[]): Map<number, AbortedTxn[]> {
  const out = new Map<number, AbortedTxn[]>()
  for (const t of txns) {
    const list = out.get(t.producerId)
    if (list === undefined) out.set(t.producerId, [t])
    else list.push(t)
  }
  return out
}

function isAborted(rules: CleanRules, producerId: number, baseOffset: number, lastOffset: number): boolean {
  for (const t of rules.aborted.get(producerId) ?? []) if (t.firstOffset <= baseOffset && lastOffset <= t.lastOffset) return true
  return false
}

async function cleanGroup(log: PartitionLog, group: LogSegment[], rules: CleanRules, io: FileIO, pacer: Pacer, result: CleanResult): Promise<void> {
  const file = path.join(log.dir, cleanedFileName(group[0]!.baseOffset))
  const fd = io.open(file, 'w+')
  let open = true
  let swapped = false
  try {
    let written = 0
    for (const seg of group) {
      if (!log.holdsSegments(group)) throw new CleaningAbortedError(`segments of ${log.name} changed during cleaning`)
      for (const [position, size] of batchPositions(seg, 0)) {
        const kept = filterBatch(log, seg.readBatch(position, size), rules, result)
        result.bytesRead += size
        if (kept !== undefined) {
          let off = 0
          while (off < kept.length) off += io.write(fd, kept, off, kept.length - off, written + off)
          written += kept.length
        }
        if (pacer.due(size + (kept?.length ?? 0))) {
          await pacer.pause()
          if (!log.holdsSegments(group)) throw new CleaningAbortedError(`segments of ${log.name} changed during cleaning`)
        }
      }
      await yieldToLoop()
    }
    await io.fsync(fd)
    io.close(fd)
    open = false
    if (!log.holdsSegments(group)) throw new CleaningAbortedError(`segments of ${log.name} changed during cleaning`)
    log.replaceWithCleaned(group, file)
    swapped = true
    result.bytesWritten += written
    result.segmentsCleaned += group.length
    await io.fsyncDir(log.dir)
  } finally {
    if (open) io.close(fd)
    if (!swapped && io.stat(file) !== undefined) io.unlink(file)
  }
}

/** The batch to write for `batch`: itself, a re-encoded copy without the removed records, or nothing. */
function filterBatch(log: PartitionLog, batch: Buffer, rules: CleanRules, result: CleanResult): Buffer | undefined {
  const { map, times } = rules
  const attributes = readAttributes(batch, 0)
  const count = readRecordCount(batch, 0)
  result.recordsRead += count
  if (isControl(attributes)) return batch
  const producerId = readProducerId(batch, 0)
  if (producerId >= 0 && log.producerState.entry(producerId)?.batches.at(-1)?.lastOffset === readLastOffset(batch, 0)) return batch
  if (isTransactional(attributes)) {
    if (!isAborted(rules, producerId, readBaseOffset(batch, 0), readLastOffset(batch, 0))) return batch
    result.recordsRemoved += count
    return undefined
  }
  const horizonSet = hasDeleteHorizon(attributes)
  const horizon = horizonSet ? readBaseTimestamp(batch, 0) : -1
  const records = decodeBatchRecords(batch, 0)
  const kept: RecordInput[] = []
  const baseOffset = readBaseOffset(batch, 0)
  let tombstones = 0
  for (const r of records) {
    if (r.key !== null) {
      const latest = map.get(r.key)
      if (latest >= 0 && r.offset < latest) continue
    }
    if (r.value === null) {
      if (horizonSet && times.now >= horizon) continue
      tombstones++
    }
    kept.push({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: r.offset - baseOffset })
  }
  result.recordsRemoved += records.length - kept.length
  const stampHorizon = tombstones > 0 && !horizonSet
  if (kept.length === 0) return undefined
  const newHorizon = stampHorizon ? times.now + times.deleteRetentionMs : horizon
  if (tombstones > 0 && (result.earliestDeleteHorizon < 0 || newHorizon < result.earliestDeleteHorizon)) result.earliestDeleteHorizon = newHorizon
  if (kept.length === records.length && !stampHorizon) return batch
  const out = encodeBatch(kept, {
    baseOffset,
    partitionLeaderEpoch: batch.readInt32BE(PARTITION_LEADER_EPOCH_AT),
    compression: compressionOf(attributes),
    timestampType: timestampTypeOf(attributes),
    producerId,
    producerEpoch: readProducerEpoch(batch, 0),
    baseSequence: readBaseSequence(batch, 0),
    baseTimestamp: stampHorizon || horizonSet ? newHorizon : readBaseTimestamp(batch, 0),
  })
  if (stampHorizon || horizonSet) {
    out.writeInt16BE(readAttributes(out, 0) | DELETE_HORIZON_BIT, ATTRIBUTES_AT)
    out.writeUInt32BE(computeBatchCrc(out, 0), CRC_AT)
  }
  return out
}
