// LogSegment: one `<20-digit baseOffset>.log` file with its `.index`, `.timeindex` and, once a
// transaction aborted in it, `.txnindex`. The log holds magic-2 record batches exactly as
// received, with their assigned base offsets, back to back, in increasing offsets. Until the log
// cleaner rewrites a segment its batches are contiguous (each starts at the previous lastOffset + 1);
// a cleaned segment has gaps where records were removed, and its first batch may start after
// the segment's baseOffset.
//
// Its settings are fields, as Kafka's LogSegment holds indexIntervalBytes and rollJitterMs: `config`
// is the owning log's current config (replaced when that changes); a roll decision takes only the
// incoming batches (RollParams), a read only its bounds (SegmentRead).
//
// Concurrency: a segment belongs to one PartitionLog and is used from one thread. Appends are
// positional writes, synchronous (append) or on the libuv pool (appendAsync, one at a time: the
// log starts the next when the last settled); fsync and large reads run on the pool too. Readers
// see exactly the bytes written so far (`size`), which always ends on a batch boundary: size, the
// indexes and nextOffset move only once a write has completed. Work on the pool pins the log file
// (FileRecords), so a descriptor closed meanwhile is never reused under it.
import path from 'node:path'
import {
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
import { type BatchVisitor, FileRecords, HEADER_PREFIX } from './file-records.js'
import { OffsetIndex } from './offset-index.js'
import { TimeIndex } from './time-index.js'
import { FILE_SLICE_MIN_BYTES, FileSlice } from './file-slice.js'
import { TXN_INDEX_SUFFIX, TxnIndex } from './txn-index.js'

const SCAN_CHUNK = 1 << 20
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

/** The settings a segment reads from its log's config (a LogConfig is one). */
export interface SegmentConfig {
  readonly indexIntervalBytes: number
  /** Preallocated size of each index file while the segment is active; fixed when it opens. */
  readonly segmentIndexBytes: number
  readonly segmentBytes: number
  readonly segmentMs: number
  readonly segmentJitterMs: number
}

/** The batches about to be appended, as Kafka's RollParams describes them. */
export interface RollParams {
  messagesSize: number
  maxTimestampInMessages: number
  maxOffsetInMessages: number
  now: number
  /** Batches given offsets but not yet written (their bytes are in messagesSize). */
  pendingBatches?: number
}

/** One read: whole batches from the one holding `offset`, up to `maxBytes`, below `maxOffset`. */
export interface SegmentRead {
  offset: number
  maxBytes: number
  /** Batches whose last offset reaches this are left out. */
  maxOffset: number
  /** Return the first batch even when it is larger than maxBytes. */
  minOneBatch: boolean
}

export interface SegmentRecovery {
  validBytes: number
  truncatedBytes: number
  reason?: string
}

export class LogSegment {
  readonly logFile: string
  private readonly log: FileRecords
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
  private closed = false

  private constructor(
    io: FileIO,
    readonly dir: string,
    readonly baseOffset: number,
    /** The owning log's settings; the log replaces this when its config changes. */
    public config: SegmentConfig,
    existing: boolean,
    now: number,
  ) {
    this.logFile = path.join(dir, segmentFileName(baseOffset, LOG_SUFFIX))
    this.log = new FileRecords(io, this.logFile, existing)
    this.nextOffset = baseOffset
    const st = existing ? io.stat(this.logFile) : undefined
    this.created = st?.mtimeMs ?? now
    const maxIndexSize = config.segmentIndexBytes
    this.offsetIndex = new OffsetIndex(io, path.join(dir, segmentFileName(baseOffset, INDEX_SUFFIX)), baseOffset, maxIndexSize, existing)
    this.timeIndex = new TimeIndex(io, path.join(dir, segmentFileName(baseOffset, TIME_INDEX_SUFFIX)), baseOffset, maxIndexSize, existing)
    this.txnIndex = new TxnIndex(io, path.join(dir, segmentFileName(baseOffset, TXN_INDEX_SUFFIX)))
    if (st !== undefined) this.size = st.size
  }

  static create(io: FileIO, dir: string, baseOffset: number, config: SegmentConfig, now = Date.now()): LogSegment {
    for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX]) {
      const f = path.join(dir, segmentFileName(baseOffset, suffix))
      if (io.stat(f) !== undefined) io.unlink(f)
    }
    const seg = new LogSegment(io, dir, baseOffset, config, false, now)
    seg.makeActive()
    return seg
  }

  /** Opens existing files without reading them; call loadState() or recover() next. */
  static open(io: FileIO, dir: string, baseOffset: number, config: SegmentConfig): LogSegment {
    return new LogSegment(io, dir, baseOffset, config, true, Date.now())
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

  /** Kafka's LogSegment.shouldRoll: full by size, time or index, or offsets beyond an int32 delta. */
  shouldRoll(p: RollParams): boolean {
    const pending = p.pendingBatches ?? 0
    if (this.size === 0 && pending === 0) return false
    const cfg = this.config
    if (this.size + p.messagesSize > cfg.segmentBytes) return true
    const waited = this.rollingBasedTimestamp !== undefined && this.rollingBasedTimestamp >= 0 && p.maxTimestampInMessages >= 0
      ? p.maxTimestampInMessages - this.rollingBasedTimestamp
      : p.now - this.created
    if (waited > cfg.segmentMs - cfg.segmentJitterMs) return true
    // Each pending batch may add an entry to either index once written.
    if (this.offsetIndex.isFull(pending) || this.timeIndex.isFull(pending)) return true
    return p.maxOffsetInMessages - this.baseOffset > INT32_MAX
  }

  /**
   * Appends whole batches whose offsets are already assigned. On a failed write the segment is
   * cut back to its previous size (best effort) and the error is rethrown.
   */
  append(records: Uint8Array): void {
    this.log.write(records, this.size)
    this.appended(records)
  }

  /**
   * append() of `chunks`, back to back, with the write on the libuv pool: size, nextOffset and the
   * indexes move once it has completed, so readers never see the bytes before. The chunks must stay
   * unchanged until it settles, and nothing else may append meanwhile. A segment closed meanwhile
   * (its log deleted) records nothing.
   */
  async appendAsync(chunks: readonly Uint8Array[]): Promise<void> {
    await this.log.writeAsync(chunks, this.size)
    if (this.closed) return
    for (const records of chunks) this.appended(records)
  }

  /** Indexes `records`, just written at the end of the log, and moves size and nextOffset past them. */
  private appended(records: Uint8Array): void {
    const start = this.size
    const len = records.length
    const interval = this.config.indexIntervalBytes
    let p = 0
    let last = this.nextOffset - 1
    while (p < len) {
      const size = batchSizeAt(records, p)
      last = readLastOffset(records, p)
      const maxTs = readMaxTimestamp(records, p)
      if (this.rollingBasedTimestamp === undefined) this.rollingBasedTimestamp = maxTs
      this.indexBatch(last, maxTs, start + p, size, interval)
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
    const got = this.log.readInto(buf, position)
    return got === length ? buf : buf.subarray(0, got)
  }

  /**
   * Whole batches starting with the one that contains `r.offset`, up to `r.maxBytes` (the first
   * batch is returned even if larger when `r.minOneBatch`), excluding batches whose last offset
   * reaches `r.maxOffset`. `null` when the segment holds nothing at or after the offset.
   */
  read(r: SegmentRead): Buffer | null {
    const end = this.size
    const pos = this.offsetIndex.lookup(r.offset).position
    if (pos >= end) return null
    // One read usually covers both the walk from the index entry and the returned batches. The
    // buffer comes from readBuffers; one that is replaced or not returned goes straight back.
    const window = this.readWindow(pos, end, r.maxBytes)
    return this.readFrom(this.readAt(pos, window, true), pos, end, window, r)
  }

  /**
   * read(), with the first (and usually only) copy out of the page cache on the libuv pool when it
   * is large. The log file stays pinned until the result is cut, so the descriptor outlives the
   * read even if the segment is closed or deleted meanwhile.
   */
  async readAsync(r: SegmentRead): Promise<Buffer | null> {
    const end = this.size
    const pos = this.offsetIndex.lookup(r.offset).position
    if (pos >= end) return null
    const window = this.readWindow(pos, end, r.maxBytes)
    if (window < ASYNC_READ_MIN_BYTES) return this.readFrom(this.readAt(pos, window, true), pos, end, window, r)
    const pin = this.log.pin()
    try {
      const buf = readBuffers.lease(window)
      let got: number
      try {
        got = await this.log.readIntoAsync(buf, pos)
      } catch (err) {
        readBuffers.release(buf)
        throw err
      }
      return this.readFrom(got === window ? buf : buf.subarray(0, got), pos, end, window, r)
    } finally {
      this.log.unpin(pin)
    }
  }

  /**
   * read(), but a result of FILE_SLICE_MIN_BYTES or more stays in the file: a FileSlice pinning
   * the log's descriptor, for sendfile. Only batch headers are read, one small read per batch.
   */
  readSlice(r: SegmentRead): Uint8Array | null {
    const { offset, maxBytes, maxOffset, minOneBatch } = r
    const end = this.size
    let pos = this.offsetIndex.lookup(r.offset).position
    const header = Buffer.allocUnsafe(HEADER_PREFIX)
    const headerAt = (at: number): boolean => this.log.readInto(header, at) === HEADER_PREFIX
    let found = false
    while (pos < end) {
      if (!headerAt(pos)) return null
      if (readLastOffset(header, 0) >= offset) {
        found = true
        break
      }
      pos += batchSizeAt(header, 0)
    }
    if (!found) return null
    const start = pos
    if (readLastOffset(header, 0) >= maxOffset) return EMPTY
    const firstSize = batchSizeAt(header, 0)
    let taken = 0
    let nextOffset = 0
    if (firstSize > maxBytes) {
      if (!minOneBatch) return EMPTY
      taken = firstSize
      nextOffset = readLastOffset(header, 0) + 1
    } else {
      const limit = Math.min(maxBytes, end - start)
      while (taken < limit) {
        if (taken > 0 && !headerAt(start + taken)) break
        const size = batchSizeAt(header, 0)
        if (taken + size > limit) break
        const last = readLastOffset(header, 0)
        if (last >= maxOffset) break
        taken += size
        nextOffset = last + 1
      }
      if (taken === 0) return EMPTY
    }
    if (taken < FILE_SLICE_MIN_BYTES) return this.readAt(start, taken, true)
    return new FileSlice(this.log.pin(), start, taken, nextOffset, (pin) => this.log.unpin(pin))
  }

  private readWindow(pos: number, end: number, maxBytes: number): number {
    return Math.min(end - pos, this.config.indexIntervalBytes + Math.max(maxBytes, 0) + 2 * HEADER_PREFIX + 16384)
  }

  /**
   * Cuts the result of read() out of `first`, the bytes read at `pos` (a pooled buffer, released
   * here unless returned); reads more, synchronously, in the rare case `first` does not cover it.
   */
  private readFrom(first: Buffer, pos: number, end: number, window: number, r: SegmentRead): Buffer | null {
    const { offset, maxBytes, maxOffset, minOneBatch } = r
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

  /** Walks the headers of the segment's batches from `position`; `visit` returns false to stop. */
  walk(position: number, visit: BatchVisitor): void {
    this.log.walk(position, this.size, visit)
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
    this.size = this.log.fileSize()
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
   * Validates every batch (length, magic, CRC, increasing offsets), rebuilds both indexes, and
   * truncates the log at the first invalid byte.
   */
  recover(): SegmentRecovery {
    this.offsetIndex.reset()
    this.timeIndex.reset()
    this.maxTimestampSoFar = -1
    this.offsetOfMaxTimestampSoFar = -1
    this.bytesSinceLastIndexEntry = 0
    this.rollingBasedTimestamp = undefined
    this.nextOffset = this.baseOffset
    const fileSize = this.log.fileSize()
    const interval = this.config.indexIntervalBytes
    const { validBytes: pos, reason } = this.log.scan(fileSize, (buf, at, position, size) => {
      const check = checkBatch(buf.subarray(at, at + size), 0, { verifyCrc: true })
      if (!check.ok) return check.message
      const { baseOffset, lastOffsetDelta, maxTimestamp } = check.header
      if (baseOffset < this.nextOffset) return `batch base offset ${baseOffset} below ${this.nextOffset}`
      const last = baseOffset + lastOffsetDelta
      if (last - this.baseOffset > INT32_MAX) return `offset ${last} out of range for the segment`
      if (this.rollingBasedTimestamp === undefined) this.rollingBasedTimestamp = maxTimestamp
      this.indexBatch(last, maxTimestamp, position, size, interval)
      this.nextOffset = last + 1
      return undefined
    })
    if (pos < fileSize) this.log.truncateTo(pos)
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
  truncateTo(offset: number): number {
    const at = this.translateOffset(offset)
    if (at === undefined) return 0
    const removed = this.size - at.position
    this.log.truncateTo(at.position)
    this.recover()
    return removed
  }

  /** Writes index entries not yet in their files (page cache only). */
  writeIndexes(): void {
    this.offsetIndex.writePending()
    this.timeIndex.writePending()
  }

  /** fsyncs the log; with `indexes`, the index files too. */
  async flush(indexes: boolean): Promise<void> {
    if (indexes) await Promise.all([this.log.flush(true), this.offsetIndex.sync(), this.timeIndex.sync(), this.txnIndex.sync()])
    else await this.log.flush(false)
  }

  /** The segment stops taking appends: record the final max timestamp and trim the indexes. */
  onBecomeInactive(): void {
    this.timeIndex.maybeAppend(this.maxTimestampSoFar, this.offsetOfMaxTimestampSoFar, true)
    this.offsetIndex.trimAndClose()
    this.timeIndex.trimAndClose()
    this.active = false
  }

  close(): void {
    this.closed = true
    if (this.active) this.onBecomeInactive()
    this.offsetIndex.close()
    this.timeIndex.close()
    this.txnIndex.close()
    this.log.close()
  }

  /** Closes and removes the segment's files. */
  delete(): void {
    this.closed = true
    this.active = false
    this.txnIndex.delete()
    this.log.delete()
    this.offsetIndex.deleteFile()
    this.timeIndex.deleteFile()
  }
}
