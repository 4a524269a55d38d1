// LogSegment: one `<20-digit baseOffset>.log` file with its `.index`, `.timeindex` and, once a
// transaction aborted in it, `.txnindex`. The log
// holds magic-2 record batches exactly as received, with their assigned base offsets, back to
// back; batches are contiguous in offsets (no compaction), so the first batch's baseOffset is the
// segment's baseOffset and each next batch starts at the previous lastOffset + 1.
//
// Concurrency: a segment belongs to one PartitionLog and is used from one thread. Writes are
// positional and synchronous; fsync and large reads run on the libuv pool. Readers see exactly the
// bytes written so far (`size`), which always ends on a batch boundary. A read on the pool pins the
// segment: closing or deleting it meanwhile defers closing the file descriptor until the read is
// done, so the number can never be reused by another file under a pending read.
import path from 'node:path'
import {
  BATCH_HEADER_SIZE,
  LOG_OVERHEAD,
  MIN_BATCH_LENGTH,
  batchSizeAt,
  checkBatch,
  readBaseOffset,
  readLastOffset,
  readMaxTimestamp,
} from '../protocol/record-batch.js'
import { BufferPool } from './buffer-pool.js'
import type { FileIO } from './file-io.js'
import { OffsetIndex } from './offset-index.js'
import { TimeIndex } from './time-index.js'
import { TXN_INDEX_SUFFIX, TxnIndex } from './txn-index.js'

const HEADER_PREFIX = BATCH_HEADER_SIZE // the whole header: walks see producer fields too
const SCAN_CHUNK = 1 << 20
const RECOVERY_CHUNK = 8 << 20
const INT32_MAX = 2147483647
const EMPTY = Buffer.alloc(0)
/** Reads up to this size stay synchronous: the page-cache copy costs less than a pool round trip. */
export const ASYNC_READ_MIN_BYTES = 256 * 1024

export const LOG_SUFFIX = '.log'
export const INDEX_SUFFIX = '.index'
export const TIME_INDEX_SUFFIX = '.timeindex'
export const DELETED_SUFFIX = '.deleted'

/** The pool LogSegment.read() takes its buffers from. */
const readBuffers = new BufferPool()

/** Gives back the buffer a result of LogSegment.read() lies in; no view of it may be used after. */
export function releaseReadBuffer(view: Uint8Array): void {
  readBuffers.release(view)
}

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, '0') + suffix
}

export interface SegmentRecovery {
  validBytes: number
  truncatedBytes: number
  reason?: string
}

export class LogSegment {
  readonly logFile: string
  private fd: number
  /** Bytes of whole batches in the log file. */
  size = 0
  /** Offset after the last batch: the segment's next offset, baseOffset while empty. */
  nextOffset: number
  maxTimestampSoFar = -1
  offsetOfMaxTimestampSoFar = -1
  private bytesSinceLastIndexEntry = 0
  /** First batch's maxTimestamp, which segment.ms counts from (Kafka's rollingBasedTimestamp). */
  rollingBasedTimestamp: number | undefined
  readonly created: number
  readonly offsetIndex: OffsetIndex
  readonly timeIndex: TimeIndex
  readonly txnIndex: TxnIndex
  private active = false
  /** Reads in flight on the libuv pool; while non-zero the fd stays open. */
  private pins = 0
  private closeWhenUnpinned = false

  private constructor(
    private readonly io: FileIO,
    readonly dir: string,
    readonly baseOffset: number,
    maxIndexSize: number,
    existing: boolean,
    now: number,
  ) {
    this.logFile = path.join(dir, segmentFileName(baseOffset, LOG_SUFFIX))
    this.fd = io.open(this.logFile, existing ? 'r+' : 'w+')
    this.nextOffset = baseOffset
    this.created = existing ? (io.stat(this.logFile)?.mtimeMs ?? now) : now
    this.offsetIndex = new OffsetIndex(io, path.join(dir, segmentFileName(baseOffset, INDEX_SUFFIX)), baseOffset, maxIndexSize, existing)
    this.timeIndex = new TimeIndex(io, path.join(dir, segmentFileName(baseOffset, TIME_INDEX_SUFFIX)), baseOffset, maxIndexSize, existing)
    this.txnIndex = new TxnIndex(io, path.join(dir, segmentFileName(baseOffset, TXN_INDEX_SUFFIX)))
    if (existing) this.size = io.fsize(this.fd)
  }

  static create(io: FileIO, dir: string, baseOffset: number, maxIndexSize: number, now = Date.now()): LogSegment {
    for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX]) {
      const f = path.join(dir, segmentFileName(baseOffset, suffix))
      if (io.stat(f) !== undefined) io.unlink(f)
    }
    const seg = new LogSegment(io, dir, baseOffset, maxIndexSize, false, now)
    seg.makeActive()
    return seg
  }

  /** Opens existing files without reading them; call loadState() or recover() next. */
  static open(io: FileIO, dir: string, baseOffset: number, maxIndexSize: number): LogSegment {
    return new LogSegment(io, dir, baseOffset, maxIndexSize, true, Date.now())
  }

  /** The segment takes appends: indexes preallocated, as Kafka does for the active segment. */
  makeActive(): void {
    if (this.active) return
    this.active = true
    this.offsetIndex.openForAppend()
    this.timeIndex.openForAppend()
  }

  get isEmpty(): boolean {
    return this.size === 0
  }

  get lastOffset(): number {
    return this.nextOffset - 1
  }

  shouldRoll(incomingBytes: number, incomingMaxTimestamp: number, now: number, segmentBytes: number, segmentMs: number, jitterMs: number, lastOffset: number): boolean {
    if (this.size === 0) return false
    if (this.size + incomingBytes > segmentBytes) return true
    const waited = this.rollingBasedTimestamp !== undefined && this.rollingBasedTimestamp >= 0 && incomingMaxTimestamp >= 0
      ? incomingMaxTimestamp - this.rollingBasedTimestamp
      : now - this.created
    if (waited > segmentMs - jitterMs) return true
    if (this.offsetIndex.isFull() || this.timeIndex.isFull()) return true
    return lastOffset - this.baseOffset > INT32_MAX
  }

  /**
   * Appends whole batches whose offsets are already assigned. On a failed write the segment is
   * cut back to its previous size (best effort) and the error is rethrown.
   */
  append(records: Uint8Array, indexIntervalBytes: number): void {
    const start = this.size
    const len = records.length
    try {
      let written = 0
      while (written < len) written += this.io.write(this.fd, records, written, len - written, start + written)
    } catch (err) {
      try {
        this.io.ftruncate(this.fd, start)
      } catch {
        // the partition goes offline; recovery truncates the torn tail on the next open
      }
      throw err
    }
    let p = 0
    let last = this.nextOffset - 1
    while (p < len) {
      const size = batchSizeAt(records, p)
      last = readLastOffset(records, p)
      const maxTs = readMaxTimestamp(records, p)
      if (this.rollingBasedTimestamp === undefined) this.rollingBasedTimestamp = maxTs
      this.indexBatch(last, maxTs, start + p, size, indexIntervalBytes)
      p += size
    }
    this.size = start + len
    this.nextOffset = last + 1
  }

  private indexBatch(lastOffset: number, maxTimestamp: number, position: number, size: number, interval: number): void {
    if (maxTimestamp > this.maxTimestampSoFar) {
      this.maxTimestampSoFar = maxTimestamp
      this.offsetOfMaxTimestampSoFar = lastOffset
    }
    if (this.bytesSinceLastIndexEntry > interval) {
      this.offsetIndex.append(lastOffset, position)
      this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar)
      this.bytesSinceLastIndexEntry = 0
    }
    this.bytesSinceLastIndexEntry += size
  }

  private readAt(position: number, length: number, pooled = false): Buffer {
    const buf = pooled ? readBuffers.lease(length) : Buffer.allocUnsafe(length)
    let got = 0
    while (got < length) {
      const n = this.io.read(this.fd, buf, got, length - got, position + got)
      if (n === 0) break
      got += n
    }
    return got === length ? buf : buf.subarray(0, got)
  }

  /**
   * Whole batches starting with the one that contains `offset`, up to `maxBytes` (the first batch
   * is returned even if larger when `minOneBatch`), excluding batches whose last offset reaches
   * `maxOffset`. `null` when the segment holds nothing at or after `offset`.
   */
  read(offset: number, maxBytes: number, maxOffset: number, minOneBatch: boolean, indexIntervalBytes: number): Buffer | null {
    const end = this.size
    const pos = this.offsetIndex.lookup(offset).position
    if (pos >= end) return null
    // One read usually covers both the walk from the index entry and the returned batches. The
    // buffer comes from readBuffers; one that is replaced or not returned goes straight back.
    const window = this.readWindow(pos, end, maxBytes, indexIntervalBytes)
    return this.readFrom(this.readAt(pos, window, true), pos, end, window, offset, maxBytes, maxOffset, minOneBatch)
  }

  /**
   * read(), with the first (and usually only) copy out of the page cache on the libuv pool when it
   * is large. The segment stays pinned until the result is cut, so the descriptor outlives the read
   * even if the segment is closed or deleted meanwhile.
   */
  async readAsync(offset: number, maxBytes: number, maxOffset: number, minOneBatch: boolean, indexIntervalBytes: number): Promise<Buffer | null> {
    const end = this.size
    const pos = this.offsetIndex.lookup(offset).position
    if (pos >= end) return null
    const window = this.readWindow(pos, end, maxBytes, indexIntervalBytes)
    if (window < ASYNC_READ_MIN_BYTES) return this.readFrom(this.readAt(pos, window, true), pos, end, window, offset, maxBytes, maxOffset, minOneBatch)
    this.pins++
    try {
      const buf = readBuffers.lease(window)
      let got = 0
      try {
        while (got < window) {
          const n = await this.io.readAsync(this.fd, buf, got, window - got, pos + got)
          if (n === 0) break
          got += n
        }
      } catch (err) {
        readBuffers.release(buf)
        throw err
      }
      return this.readFrom(got === window ? buf : buf.subarray(0, got), pos, end, window, offset, maxBytes, maxOffset, minOneBatch)
    } finally {
      this.unpin()
    }
  }

  private readWindow(pos: number, end: number, maxBytes: number, indexIntervalBytes: number): number {
    return Math.min(end - pos, indexIntervalBytes + Math.max(maxBytes, 0) + 2 * HEADER_PREFIX + 16384)
  }

  private unpin(): void {
    this.pins--
    if (this.pins === 0 && this.closeWhenUnpinned) {
      this.closeWhenUnpinned = false
      this.closeFd()
    }
  }

  /** Closes the descriptor now, or once the last pinned read is done. */
  private closeFd(): void {
    if (this.fd < 0) return
    if (this.pins > 0) {
      this.closeWhenUnpinned = true
      return
    }
    this.io.close(this.fd)
    this.fd = -1
  }

  /**
   * Cuts the result of read() out of `first`, the bytes read at `pos` (a pooled buffer, released
   * here unless returned); reads more, synchronously, in the rare case `first` does not cover it.
   */
  private readFrom(first: Buffer, pos: number, end: number, window: number, offset: number, maxBytes: number, maxOffset: number, minOneBatch: boolean): Buffer | null {
    let buf: Buffer = first
    let bufStart = pos
    let start = -1
    let firstLast = 0
    while (pos < end) {
      let rel = pos - bufStart
      if (rel + HEADER_PREFIX > buf.length) {
        readBuffers.release(buf)
        buf = this.readAt(pos, Math.min(end - pos, Math.max(window, SCAN_CHUNK)), true)
        bufStart = pos
        rel = 0
        if (buf.length < HEADER_PREFIX) return this.discard(buf, null)
      }
      const last = readLastOffset(buf, rel)
      if (last >= offset) {
        start = pos
        firstLast = last
        break
      }
      pos += batchSizeAt(buf, rel)
    }
    if (start < 0) return this.discard(buf, null)
    if (firstLast >= maxOffset) return this.discard(buf, EMPTY)
    let rel = start - bufStart
    const firstSize = batchSizeAt(buf, rel)
    if (firstSize > maxBytes) {
      if (!minOneBatch) return this.discard(buf, EMPTY)
      if (rel + firstSize <= buf.length) return buf.subarray(rel, rel + firstSize)
      return this.discard(buf, this.readAt(start, firstSize, true))
    }
    const limit = Math.min(maxBytes, end - start)
    if (rel + limit > buf.length) {
      readBuffers.release(buf)
      buf = this.readAt(start, limit, true)
      bufStart = start
      rel = 0
    }
    let taken = 0
    while (taken < limit) {
      const at = rel + taken
      if (at + HEADER_PREFIX > buf.length) break
      const size = batchSizeAt(buf, at)
      if (taken + size > limit || at + size > buf.length) break
      if (readLastOffset(buf, at) >= maxOffset) break
      taken += size
    }
    if (taken === 0) return this.discard(buf, EMPTY)
    return buf.subarray(rel, rel + taken)
  }

  private discard<T>(buf: Buffer, result: T): T {
    readBuffers.release(buf)
    return result
  }

  /** Walks batch headers from `position`; `visit` returns false to stop. */
  walk(position: number, visit: (header: Buffer, at: number, position: number, size: number) => boolean): void {
    const end = this.size
    let pos = position
    let buf: Buffer = Buffer.alloc(0)
    let bufStart = pos
    while (pos < end) {
      let rel = pos - bufStart
      if (rel + HEADER_PREFIX > buf.length) {
        buf = this.readAt(pos, Math.min(end - pos, SCAN_CHUNK))
        bufStart = pos
        rel = 0
        if (buf.length < HEADER_PREFIX) return
      }
      const size = batchSizeAt(buf, rel)
      if (!visit(buf, rel, pos, size)) return
      pos += size
    }
  }

  /** The whole batch at `position`. */
  readBatch(position: number, size: number): Buffer {
    return this.readAt(position, size)
  }

  /** Position of the first batch whose last offset is >= `offset`, or undefined. */
  translateOffset(offset: number): { position: number; baseOffset: number; size: number } | undefined {
    let found: { position: number; baseOffset: number; size: number } | undefined
    this.walk(this.offsetIndex.lookup(offset).position, (buf, at, position, size) => {
      if (readLastOffset(buf, at) < offset) return true
      found = { position, baseOffset: readBaseOffset(buf, at), size }
      return false
    })
    return found
  }

  /** First batch (position, size) at or after `startingOffset` with maxTimestamp >= `timestamp`. */
  findBatchByTimestamp(timestamp: number, startingOffset: number): { position: number; size: number } | undefined {
    const from = Math.max(this.timeIndex.lookup(timestamp), startingOffset)
    let found: { position: number; size: number } | undefined
    this.walk(this.offsetIndex.lookup(from).position, (buf, at, position, size) => {
      if (readMaxTimestamp(buf, at) >= timestamp && readLastOffset(buf, at) >= startingOffset) {
        found = { position, size }
        return false
      }
      return true
    })
    return found
  }

  /**
   * Restores in-memory state after a clean shutdown from the index files and the batches after the
   * last index entry, without reading the whole log. Returns a reason when the files are not
   * trustworthy, in which case the caller recovers the segment instead.
   */
  loadState(): string | undefined {
    this.size = this.io.fsize(this.fd)
    const problem = this.offsetIndex.sanityCheck() ?? this.timeIndex.sanityCheck()
    if (problem !== undefined) return `index: ${problem}`
    if (this.offsetIndex.entries > 0 && this.offsetIndex.lastPosition >= this.size) return 'index points past the log'
    const fromEntry = this.offsetIndex.lookup(Number.MAX_SAFE_INTEGER)
    this.nextOffset = this.baseOffset
    const lastTime = this.timeIndex.lastEntry()
    if (lastTime !== undefined) {
      this.maxTimestampSoFar = lastTime.timestamp
      this.offsetOfMaxTimestampSoFar = lastTime.offset
    }
    let broken: string | undefined
    let pos = fromEntry.position
    this.walk(pos, (buf, at, position, size) => {
      if (size < LOG_OVERHEAD + MIN_BATCH_LENGTH || position + size > this.size) {
        broken = `batch at ${position} runs past the end`
        return false
      }
      const last = readLastOffset(buf, at)
      const maxTs = readMaxTimestamp(buf, at)
      if (maxTs > this.maxTimestampSoFar) {
        this.maxTimestampSoFar = maxTs
        this.offsetOfMaxTimestampSoFar = last
      }
      this.nextOffset = last + 1
      pos = position + size
      return true
    })
    if (broken !== undefined) return broken
    if (pos !== this.size) return 'log does not end on a batch boundary'
    if (this.timeIndex.entries > 0 && this.timeIndex.lastEntry()!.offset >= this.nextOffset) return 'time index points past the log'
    this.bytesSinceLastIndexEntry = this.size - fromEntry.position
    if (this.size > 0) {
      const first = this.readAt(0, HEADER_PREFIX)
      this.rollingBasedTimestamp = readMaxTimestamp(first, 0)
    }
    return undefined
  }

  /**
   * Validates every batch (length, magic, CRC, contiguous offsets), rebuilds both indexes, and
   * truncates the log at the first invalid byte.
   */
  recover(indexIntervalBytes: number): SegmentRecovery {
    this.offsetIndex.reset()
    this.timeIndex.reset()
    this.maxTimestampSoFar = -1
    this.offsetOfMaxTimestampSoFar = -1
    this.bytesSinceLastIndexEntry = 0
    this.rollingBasedTimestamp = undefined
    this.nextOffset = this.baseOffset
    const fileSize = this.io.fsize(this.fd)
    let pos = 0
    let buf: Buffer = Buffer.alloc(0)
    let bufStart = 0
    let reason: string | undefined
    while (pos < fileSize) {
      if (fileSize - pos < LOG_OVERHEAD) {
        reason = `${fileSize - pos} trailing bytes`
        break
      }
      let rel = pos - bufStart
      if (rel + LOG_OVERHEAD > buf.length) {
        buf = this.readAt(pos, Math.min(fileSize - pos, RECOVERY_CHUNK))
        bufStart = pos
        rel = 0
      }
      const size = batchSizeAt(buf, rel)
      if (size < LOG_OVERHEAD + MIN_BATCH_LENGTH || pos + size > fileSize) {
        reason = `invalid batch length ${size - LOG_OVERHEAD}`
        break
      }
      if (rel + size > buf.length) {
        buf = this.readAt(pos, Math.min(fileSize - pos, Math.max(size, RECOVERY_CHUNK)))
        bufStart = pos
        rel = 0
      }
      const check = checkBatch(buf.subarray(rel, rel + size), 0, { verifyCrc: true })
      if (!check.ok) {
        reason = check.message
        break
      }
      const { baseOffset, lastOffsetDelta, maxTimestamp } = check.header
      if (baseOffset !== this.nextOffset) {
        reason = `batch base offset ${baseOffset}, expected ${this.nextOffset}`
        break
      }
      const last = baseOffset + lastOffsetDelta
      if (last - this.baseOffset > INT32_MAX) {
        reason = `offset ${last} out of range for the segment`
        break
      }
      if (this.rollingBasedTimestamp === undefined) this.rollingBasedTimestamp = maxTimestamp
      this.indexBatch(last, maxTimestamp, pos, size, indexIntervalBytes)
      this.nextOffset = last + 1
      pos += size
    }
    if (pos < fileSize) this.io.ftruncate(this.fd, pos)
    this.size = pos
    // Aborts whose markers were cut off are gone; the producer-state replay re-adds lost entries.
    this.txnIndex.truncateTo(this.nextOffset)
    if (!this.active) {
      this.offsetIndex.trimAndClose()
      this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar, true)
      this.timeIndex.trimAndClose()
    }
    return { validBytes: pos, truncatedBytes: fileSize - pos, reason }
  }

  /** Drops every batch from the one containing `offset`; returns the bytes removed. */
  truncateTo(offset: number, indexIntervalBytes: number): number {
    const at = this.translateOffset(offset)
    if (at === undefined) return 0
    const removed = this.size - at.position
    this.io.ftruncate(this.fd, at.position)
    this.recover(indexIntervalBytes)
    return removed
  }

  /** Writes index entries not yet in their files (page cache only). */
  writeIndexes(): void {
    this.offsetIndex.writePending()
    this.timeIndex.writePending()
  }

  /** fsyncs the log; with `indexes`, the index files too. */
  async flush(indexes: boolean): Promise<void> {
    if (indexes) await Promise.all([this.io.fsync(this.fd), this.offsetIndex.sync(), this.timeIndex.sync(), this.txnIndex.sync()])
    else await this.io.fdatasync(this.fd)
  }

  /** The segment stops taking appends: record the final max timestamp and trim the indexes. */
  onBecomeInactive(): void {
    this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar, true)
    this.offsetIndex.trimAndClose()
    this.timeIndex.trimAndClose()
    this.active = false
  }

  close(): void {
    if (this.active) this.onBecomeInactive()
    this.txnIndex.close()
    this.closeFd()
  }

  /** Closes and removes the segment's files. */
  delete(): void {
    this.active = false
    this.offsetIndex.close()
    this.timeIndex.close()
    this.txnIndex.delete()
    this.closeFd()
    for (const f of [this.logFile, this.offsetIndex.file, this.timeIndex.file]) {
      if (this.io.stat(f) !== undefined) this.io.unlink(f)
    }
  }
}
