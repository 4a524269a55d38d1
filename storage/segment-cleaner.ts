// One cleaning of one log, as Kafka's Cleaner.doClean: map the dirty section (latest offset per key,
// OffsetMap), then rewrite the log's segments below the mapped end in groups, keeping only the
// latest record of each key. Surviving records keep their offsets and timestamps; a batch that lost
// records is re-encoded with its own codec, base offset, last offset, producer id, epoch, base
// sequence and flags (Kafka's MemoryRecords.filterTo); a batch that lost none is copied as it is.
//
// Tombstones (null values) follow Kafka's two-pass rule (KIP-534): the first cleaning that rewrites
// a batch holding a tombstone stamps the batch with a delete horizon, now + delete.retention.ms,
// in its baseTimestamp with attribute bit 6 set (record timestamps stay as they were: their
// deltas are taken from the new base, and maxTimestamp, which the indexes use, is unchanged); a
// later cleaning after the horizon removes the tombstones. A consumer reading from the start
// within delete.retention.ms of the first cleaning sees them. The horizon lives in the batch, so
// a restart keeps it.
//
// Transactions (CleanedTransactions, as Kafka's CleanedTransactionMetadata): the records of
// aborted transactions are removed; those of committed transactions are compacted like any other.
// A transaction marker stays while data of its transaction is in the log; once none is, it is
// stamped with a delete horizon like a tombstone and removed after it. The cleaned segment's
// .txnindex lists the aborted transactions whose markers it holds and whose data this cleaning saw.
//
// The last batch of each producer the producer state knows (the marker, when the producer's epoch
// was bumped by one) is never removed: Kafka keeps it so an idempotent producer's retry is still
// recognised after cleaning and a restart. When none of its records survive it stays as an empty
// batch, its header (offsets, sequence, epoch) only.
//
// Concurrency: runs on the event loop and yields between segments and every few MiB within one.
// After each yield it checks that the log still holds the segments it works on (retention,
// truncation and deletion may change the list meanwhile) and gives up the round otherwise; the
// swap itself is synchronous.
import path from 'node:path'
import { type RecordInput, encodeBatch } from '../protocol/record-batch-builder.js'
import {
  BATCH_HEADER_SIZE,
  batchAttributes,
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
  readLastOffsetDelta,
  readMaxTimestamp,
  readProducerEpoch,
  readProducerId,
  readRecordCount,
  timestampTypeOf,
  writeBatchHeader,
} from '../protocol/record-batch.js'
import { decodeBatchRecords, iterateRecords } from '../protocol/record-reader.js'
import { CleanedTransactions } from './cleaned-txns.js'
import type { FileIO } from './file-io.js'
import type { OffsetMap } from './offset-map.js'
import type { PartitionLog } from './partition-log.js'
import type { LogSegment } from './segment.js'
import { TxnIndex } from './txn-index.js'
import { cleanedFileName, cleanedTxnIndexFileName } from './segment-swap.js'

const INT32_MAX = 2147483647
const PARTITION_LEADER_EPOCH_AT = 12
const CRC_AT = 17
const ATTRIBUTES_AT = 21
const LAST_OFFSET_DELTA_AT = 23
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
  /** Earliest delete horizon of the batches written that still hold tombstones or removable markers; -1 if none. */
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
 * returns the offset after the last mapped batch. Control batches and batches of aborted
 * transactions are not mapped.
 */
export async function buildOffsetMap(log: PartitionLog, map: OffsetMap, from: number, to: number, pacer = new Pacer()): Promise<number> {
  map.clear()
  const txns = new CleanedTransactions(log.abortedTransactions(from, to))
  let end = from
  for (const seg of log.segmentList.slice()) {
    if (seg.baseOffset >= to) break
    if (seg.nextOffset <= from) continue
    if (!log.holdsSegments([seg])) throw new CleaningAbortedError(`segment ${seg.baseOffset} of ${log.name} went away`)
    for (const [position, size] of batchPositions(seg, seg.offsetIndex.lookup(from).position)) {
      const batch = seg.readBatch(position, size)
      const last = readLastOffset(batch, 0)
      if (last < from) continue
      if (isControl(readAttributes(batch, 0))) txns.onControlBatch(batch)
      else if (!txns.onBatch(batch)) {
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
 * The earliest delete horizon stamped on a batch below `below` that still holds something it
 * will remove (a tombstone, or a marker); -1 when there is none. Reads batch headers, and the
 * records of stamped batches only, yielding between segments: this is how the cleaner learns,
 * after a restart, when the next cleaning is due for tombstones alone.
 */
export async function earliestDeleteHorizon(log: PartitionLog, below: number): Promise<number> {
  let earliest = -1
  for (const seg of log.segmentList.slice()) {
    if (seg.baseOffset >= below) break
    if (!log.holdsSegments([seg])) throw new CleaningAbortedError(`segment ${seg.baseOffset} of ${log.name} went away`)
    seg.walk(0, (hdr, at, position, size) => {
      if (readBaseOffset(hdr, at) >= below) return false
      const attributes = readAttributes(hdr, at)
      if (!hasDeleteHorizon(attributes) || readRecordCount(hdr, at) === 0) return true
      const horizon = readBaseTimestamp(hdr, at)
      if (earliest >= 0 && horizon >= earliest) return true
      let removable = isControl(attributes)
      if (!removable) for (const r of iterateRecords(seg.readBatch(position, size), 0)) if (r.value === null) removable = true
      if (removable) earliest = horizon
      return true
    })
    await yieldToLoop()
  }
  return earliest
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
 * whose index entries fit one index, and whose offsets fit an int32 delta.
 */
export function groupSegments(segments: readonly LogSegment[], maxSize: number, maxIndexSize: number): LogSegment[][] {
  const groups: LogSegment[][] = []
  let group: LogSegment[] = []
  let size = 0
  let offsetIndexBytes = 0
  let timeIndexBytes = 0
  for (const seg of segments) {
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
  if (candidates.length === 0) return result
  const cfg = log.config
  const rules: CleanRules = {
    map,
    txns: new CleanedTransactions(log.abortedTransactions(candidates[0]!.baseOffset, mapEnd)),
    lastOfProducers: lastBatchesOfProducers(log),
    times,
  }
  for (const group of groupSegments(candidates, cfg.segmentBytes, cfg.segmentIndexBytes)) {
    await cleanGroup(log, group, rules, io, pacer, result)
  }
  return result
}

/** What decides a batch's fate: the offset map, the transactions, the producers' last batches and the clock. */
interface CleanRules {
  map: OffsetMap
  txns: CleanedTransactions
  /** Per producer id: the last offset of its last data batch, or (none retained) the epoch its last marker carries. */
  lastOfProducers: Map<number, { lastDataOffset: number | undefined; producerEpoch: number }>
  times: CleanTimes
}

/** Kafka's lastRecordsOfActiveProducers. */
function lastBatchesOfProducers(log: PartitionLog): CleanRules['lastOfProducers'] {
  const out: CleanRules['lastOfProducers'] = new Map()
  for (const e of log.producerState.activeProducers()) {
    out.set(e.producerId, { lastDataOffset: e.batches.at(-1)?.lastOffset, producerEpoch: e.producerEpoch })
  }
  return out
}

function isLastOfProducer(rules: CleanRules, batch: Buffer, control: boolean): boolean {
  const producerId = readProducerId(batch, 0)
  if (producerId < 0) return false
  const last = rules.lastOfProducers.get(producerId)
  if (last === undefined) return false
  if (last.lastDataOffset !== undefined) return readLastOffset(batch, 0) === last.lastDataOffset
  return control && readProducerEpoch(batch, 0) === last.producerEpoch
}

async function cleanGroup(log: PartitionLog, group: LogSegment[], rules: CleanRules, io: FileIO, pacer: Pacer, result: CleanResult): Promise<void> {
  const base = group[0]!.baseOffset
  const file = path.join(log.dir, cleanedFileName(base))
  const txnFile = path.join(log.dir, cleanedTxnIndexFileName(base))
  if (io.stat(txnFile) !== undefined) io.unlink(txnFile)
  const fd = io.open(file, 'w+')
  const txnIndex = new TxnIndex(io, txnFile)
  let open = true
  let swapped = false
  try {
    let written = 0
    for (const seg of group) {
      if (!log.holdsSegments(group)) throw new CleaningAbortedError(`segments of ${log.name} changed during cleaning`)
      for (const [position, size] of batchPositions(seg, 0)) {
        const kept = filterBatch(seg.readBatch(position, size), rules, result)
        for (const t of rules.txns.takeIndexed()) txnIndex.append(t)
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
    // The cleaned .txnindex exists even when empty: the swap tells by it whether it is done (segment-swap.ts).
    await Promise.all([io.fsync(fd), txnIndex.isEmpty ? createEmptyFile(io, txnFile) : txnIndex.sync()])
    txnIndex.close()
    io.close(fd)
    open = false
    if (!log.holdsSegments(group)) throw new CleaningAbortedError(`segments of ${log.name} changed during cleaning`)
    log.replaceWithCleaned(group, file, txnFile)
    swapped = true
    result.bytesWritten += written
    result.segmentsCleaned += group.length
    await io.fsyncDir(log.dir)
  } finally {
    if (open) {
      io.close(fd)
      txnIndex.close()
    }
    if (!swapped) {
      if (io.stat(file) !== undefined) io.unlink(file)
      if (io.stat(txnFile) !== undefined) io.unlink(txnFile)
    }
  }
}

async function createEmptyFile(io: FileIO, file: string): Promise<void> {
  const fd = io.open(file, 'w+')
  try {
    await io.fsync(fd)
  } finally {
    io.close(fd)
  }
}

/**
 * The batch to write for `batch`: itself, a re-encoded copy without the removed records (stamped
 * with a delete horizon when it first keeps a tombstone or a marker that may go), an empty batch
 * (a producer's last), or nothing. Kafka's checkBatchRetention and shouldRetainRecord.
 */
function filterBatch(batch: Buffer, rules: CleanRules, result: CleanResult): Buffer | undefined {
  const { map, times } = rules
  const attributes = readAttributes(batch, 0)
  const count = readRecordCount(batch, 0)
  result.recordsRead += count
  const control = isControl(attributes)
  const horizonSet = hasDeleteHorizon(attributes)
  const horizon = horizonSet ? readBaseTimestamp(batch, 0) : -1
  const canDiscard = control ? rules.txns.onControlBatch(batch) : rules.txns.onBatch(batch)
  // A marker that may go is kept until its horizon; aborted data goes at once.
  const discardRecords = control ? canDiscard && horizonSet && times.now >= horizon : canDiscard
  const retainEmpty = isLastOfProducer(rules, batch, control)
  const markerMayGo = control && canDiscard
  const baseOffset = readBaseOffset(batch, 0)
  const kept: RecordInput[] = []
  let tombstones = 0
  if (!discardRecords) {
    for (const r of decodeBatchRecords(batch, 0)) {
      if (!control) {
        if (r.key !== null) {
          const latest = map.get(r.key)
          if (latest >= 0 && r.offset < latest) continue
        }
        if (r.value === null) {
          if (horizonSet && times.now >= horizon) continue
          tombstones++
        }
      }
      kept.push({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: r.offset - baseOffset })
    }
  }
  result.recordsRemoved += count - kept.length
  if (kept.length === 0) return retainEmpty && count > 0 ? emptyBatch(batch) : retainEmpty ? batch : undefined
  const needHorizon = (tombstones > 0 || markerMayGo) && !horizonSet
  const newHorizon = needHorizon ? times.now + times.deleteRetentionMs : horizon
  if ((tombstones > 0 || markerMayGo) && (result.earliestDeleteHorizon < 0 || newHorizon < result.earliestDeleteHorizon)) result.earliestDeleteHorizon = newHorizon
  if (kept.length === count && !needHorizon) return batch
  const out = encodeBatch(kept, {
    baseOffset,
    partitionLeaderEpoch: batch.readInt32BE(PARTITION_LEADER_EPOCH_AT),
    compression: compressionOf(attributes),
    timestampType: timestampTypeOf(attributes),
    producerId: readProducerId(batch, 0),
    producerEpoch: readProducerEpoch(batch, 0),
    baseSequence: readBaseSequence(batch, 0),
    transactional: isTransactional(attributes),
    control,
    baseTimestamp: needHorizon || horizonSet ? newHorizon : readBaseTimestamp(batch, 0),
  })
  // The last offset stays, so the batch still ends at the sequence its producer last wrote (Kafka's overrideLastOffset).
  out.writeInt32BE(readLastOffsetDelta(batch, 0), LAST_OFFSET_DELTA_AT)
  if (needHorizon || horizonSet) out.writeInt16BE(readAttributes(out, 0) | DELETE_HORIZON_BIT, ATTRIBUTES_AT)
  out.writeUInt32BE(computeBatchCrc(out, 0), CRC_AT)
  return out
}

/** The header of `batch` without its records (Kafka's writeEmptyHeader): offsets, producer, sequence and flags stay. */
function emptyBatch(batch: Buffer): Buffer {
  const attributes = readAttributes(batch, 0)
  const out = Buffer.alloc(BATCH_HEADER_SIZE)
  const maxTimestamp = readMaxTimestamp(batch, 0)
  writeBatchHeader(out, {
    baseOffset: readBaseOffset(batch, 0),
    partitionLeaderEpoch: batch.readInt32BE(PARTITION_LEADER_EPOCH_AT),
    attributes: batchAttributes(0, timestampTypeOf(attributes), isTransactional(attributes), isControl(attributes)),
    lastOffsetDelta: readLastOffsetDelta(batch, 0),
    baseTimestamp: maxTimestamp,
    maxTimestamp,
    producerId: readProducerId(batch, 0),
    producerEpoch: readProducerEpoch(batch, 0),
    baseSequence: readBaseSequence(batch, 0),
    recordCount: 0,
  })
  return out
}
