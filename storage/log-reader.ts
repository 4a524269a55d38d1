// Reads of a partition log over its segment list: Fetch reads (synchronous, or with large copies
// on the libuv pool), ListOffsets by timestamp and by largest timestamp, and the aborted
// transactions a read_committed fetch needs. Nothing here changes the log; the caller checks that
// the log is online and turns an I/O error into taking it offline.
//
// Concurrency: a read plan copies the segment list when it is made, so a roll or retention during
// an asynchronous read does not change what it reads; segments closed or deleted meanwhile keep
// their descriptors until the read is done (see FileHandle).
import { iterateRecords } from '../protocol/record-reader.js'
import type { Lease } from './buffer-pool.js'
import { OffsetOutOfRangeError } from './errors.js'
import { type LogSegment, type SegmentRead, releaseReadBuffer } from './segment.js'
import type { AbortedTxn } from './txn-index.js'
import { FileSlice } from './file-slice.js'

const EMPTY = Buffer.alloc(0)

/**
 * Whole batches read from the log, possibly none. `records` views a pooled buffer, or is a
 * FileSlice (ReadOptions.fileSlices) pinning its segment file: release() it once nothing uses
 * those bytes any more (a Fetch does so once the socket has taken its response); until then the
 * buffer is not reused, and after it `records` is empty.
 */
export interface ReadResult extends Lease {
  readonly records: Uint8Array
  readonly highWatermark: number
  readonly logStartOffset: number
  readonly logEndOffset: number
}

class LogRead implements ReadResult {
  records: Uint8Array = EMPTY
  constructor(
    readonly highWatermark: number,
    readonly logStartOffset: number,
    readonly logEndOffset: number,
  ) {}

  release(): void {
    const records = this.records
    this.records = EMPTY
    if (records instanceof FileSlice) records.release()
    else if (records.length > 0) releaseReadBuffer(records)
  }
}

export interface ReadOptions {
  /** Batches whose last offset reaches this are left out; at most the log end. */
  maxOffset?: number
  /** Return the first batch even when it is larger than maxBytes (default true). */
  minOneBatch?: boolean
  /**
   * Large results may stay in their segment file as a FileSlice (for sendfile) instead of being
   * copied into memory; synchronous reads only.
   */
  fileSlices?: boolean
}

/** What a read plan needs from its log. */
export interface ReadableLog {
  readonly name: string
  readonly logStartOffset: number
  readonly logEndOffset: number
  /** Reported with the read; replication may hold it below the log end. */
  readonly highWatermark: number
  readonly segmentList: readonly LogSegment[]
}

/** A read's bounds with the segments to try and the result it fills in. */
export interface ReadPlan extends SegmentRead {
  fileSlices: boolean
  result: LogRead
  segments: LogSegment[]
}

export interface TimestampAndOffset {
  offset: number
  timestamp: number
}

/** Index of the last segment with baseOffset <= offset (0 when none); `segments` sorted by baseOffset. */
export function floorSegmentIndex(segments: readonly LogSegment[], offset: number): number {
  let lo = 0
  let hi = segments.length - 1
  let found = 0
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (segments[mid]!.baseOffset <= offset) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/**
 * Checks a read's offset and fixes its bounds; the segments to try in order (a copy: a roll or
 * retention may change the list while a read is in flight), none when nothing is readable.
 */
export function planRead(log: ReadableLog, offset: number, maxBytes: number, opts: ReadOptions | undefined): ReadPlan {
  const leo = log.logEndOffset
  const logStart = log.logStartOffset
  if (offset < logStart || offset > leo) {
    throw new OffsetOutOfRangeError(`offset ${offset} is out of range for ${log.name} [${logStart}, ${leo}]`)
  }
  const maxOffset = Math.min(opts?.maxOffset ?? leo, leo)
  const result = new LogRead(Math.min(log.highWatermark, leo), logStart, leo)
  const all = log.segmentList
  const segments = offset < maxOffset ? all.slice(floorSegmentIndex(all, offset)) : []
  return { offset, maxBytes, maxOffset, minOneBatch: opts?.minOneBatch ?? true, fileSlices: opts?.fileSlices ?? false, result, segments }
}

/** Runs a plan synchronously: positional reads of the page cache are faster than the thread pool. */
export function readLog(plan: ReadPlan): ReadResult {
  for (const seg of plan.segments) {
    const got = plan.fileSlices ? seg.readSlice(plan) : seg.read(plan)
    if (got !== null) {
      plan.result.records = got
      break
    }
  }
  return plan.result
}

/** readLog(), with large reads copied out of the page cache on the libuv pool. */
export async function readLogAsync(plan: ReadPlan): Promise<ReadResult> {
  for (const seg of plan.segments) {
    const got = await seg.readAsync(plan)
    if (got !== null) {
      plan.result.records = got
      break
    }
  }
  return plan.result
}

/**
 * Kafka's ListOffsets by timestamp: the earliest offset at or after `logStart` whose record
 * timestamp is >= `timestamp`, found via the time index, a batch walk, and the records of the one
 * matching batch.
 */
export function offsetForTimestamp(segments: readonly LogSegment[], logStart: number, timestamp: number): TimestampAndOffset | null {
  for (const seg of segments) {
    if (seg.nextOffset <= logStart || seg.maxTimestampSoFar < timestamp) continue
    const at = seg.findBatchByTimestamp(timestamp, logStart)
    if (at === undefined) continue
    const batch = seg.readBatch(at.position, at.size)
    for (const r of iterateRecords(batch, 0)) {
      if (r.offset >= logStart && r.timestamp >= timestamp) return { offset: r.offset, timestamp: r.timestamp }
    }
  }
  return null
}

/** Offset and timestamp of the record with the largest timestamp (earliest such record). */
export function maxTimestampOffset(segments: readonly LogSegment[], logStart: number): TimestampAndOffset | null {
  let best: LogSegment | undefined
  for (const seg of segments) {
    if (seg.isEmpty || seg.nextOffset <= logStart) continue
    if (best === undefined || seg.maxTimestampSoFar > best.maxTimestampSoFar) best = seg
  }
  if (best === undefined) return null
  const ts = best.maxTimestampSoFar
  const at = best.translateOffset(best.offsetOfMaxTimestampSoFar)
  if (at !== undefined) {
    for (const r of iterateRecords(best.readBatch(at.position, at.size), 0)) {
      if (r.timestamp === ts && r.offset >= logStart) return { offset: r.offset, timestamp: ts }
    }
  }
  return { offset: best.offsetOfMaxTimestampSoFar, timestamp: ts }
}

/**
 * Aborted transactions overlapping [fetchOffset, upperBoundOffset), for a read_committed fetch
 * of that range; from the txn indexes of the segment holding fetchOffset onwards.
 */
export function abortedTransactions(segments: readonly LogSegment[], fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
  const out: AbortedTxn[] = []
  for (let i = floorSegmentIndex(segments, fetchOffset); i < segments.length; i++) {
    if (segments[i]!.txnIndex.collect(fetchOffset, upperBoundOffset, out)) break
  }
  return out
}
