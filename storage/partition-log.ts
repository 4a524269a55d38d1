// PartitionLog: one partition's log, a directory `<topic>-<partition>` of LogSegments ordered by
// baseOffset; the last one is active and takes appends. Offsets are contiguous across segments.
//
// Concurrency: single-threaded. append() does all of its file work synchronously before it
// returns a promise, so appends are serialized in call order without a queue, and reads always
// see whole batches. Only fsync is asynchronous: durable appends wait for a flush that covers
// their last offset, and concurrent ones share one fsync (group commit). recoveryPoint is the
// offset below which all data is known to be on disk.
import path from 'node:path'
import {
  BATCH_HEADER_SIZE,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  MIN_BATCH_LENGTH,
  batchSizeAt,
  iterateRecords,
  readLastOffsetDelta,
  readMaxTimestamp,
  setBaseOffset,
  setLogAppendTime,
} from '../protocol/record-batch.js'
import { CorruptRecordError, KafkaStorageError, OffsetOutOfRangeError, RecordTooLargeError } from './errors.js'
import { type FileIO, nodeFileIO } from './file-io.js'
import type { LogConfig } from './log-config.js'
import { type Logger, silentLogger } from './logger.js'
import { DELETED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, LogSegment, TIME_INDEX_SUFFIX } from './segment.js'
import { recoverSegments } from './recovery.js'

export interface AppendResult {
  baseOffset: number
  lastOffset: number
  /** -1 unless the batches were stamped with LogAppendTime. */
  logAppendTime: number
  logStartOffset: number
}

export interface ReadResult {
  /** Whole batches, possibly none: a view of bytes read from the segment file. */
  records: Uint8Array
  highWatermark: number
  logStartOffset: number
  logEndOffset: number
}

export interface PartitionLogOptions {
  dir: string
  topic: string
  partition: number
  config: LogConfig
  io?: FileIO
  logger?: Logger
  /** From the recovery-point checkpoint; recovery rescans from the segment holding it. */
  recoveryPoint?: number
  /** From the log-start-offset checkpoint. */
  logStartOffset?: number
  /** The data dir was shut down cleanly: trust the files and skip recovery. */
  hadCleanShutdown?: boolean
  /** Called when logStartOffset moves, so the owner can persist it. */
  onLogStartOffsetChange?: (log: PartitionLog) => Promise<void>
}

interface SyncWaiter {
  target: number
  resolve: () => void
  reject: (err: Error) => void
}

const EMPTY = Buffer.alloc(0)

export class PartitionLog {
  readonly topic: string
  readonly partition: number
  readonly dir: string
  config: LogConfig
  private readonly io: FileIO
  private readonly logger: Logger
  private segments: LogSegment[] = []
  private active!: LogSegment
  private _logStartOffset = 0
  private _logEndOffset = 0
  private _recoveryPoint = 0
  private _offline = false
  private lastFlushTime = Date.now()
  private dirDirty = false
  private syncing = false
  private waiters: SyncWaiter[] = []
  private readonly listeners = new Set<() => void>()
  private readonly onLogStartOffsetChange?: (log: PartitionLog) => Promise<void>
  private closed = false
  /** Bumped by truncation, so a flush that started before it does not advance recoveryPoint. */
  private truncations = 0

  private constructor(opts: PartitionLogOptions) {
    this.topic = opts.topic
    this.partition = opts.partition
    this.dir = opts.dir
    this.config = opts.config
    this.io = opts.io ?? nodeFileIO
    this.logger = opts.logger ?? silentLogger
    this.onLogStartOffsetChange = opts.onLogStartOffsetChange
  }

  /** Opens (creating if needed) the partition directory, recovering it after an unclean stop. */
  static open(opts: PartitionLogOptions): PartitionLog {
    const log = new PartitionLog(opts)
    log.load(opts.recoveryPoint ?? 0, opts.logStartOffset ?? 0, opts.hadCleanShutdown ?? false)
    return log
  }

  private load(checkpointedRecoveryPoint: number, checkpointedLogStart: number, clean: boolean): void {
    const io = this.io
    io.mkdir(this.dir)
    const bases: number[] = []
    const names = io.readdir(this.dir)
    const logs = new Set<string>()
    for (const name of names) {
      if (name.endsWith(DELETED_SUFFIX) || name.endsWith('.cleaned') || name.endsWith('.swap')) {
        io.unlink(path.join(this.dir, name))
        continue
      }
      if (name.endsWith(LOG_SUFFIX) && /^\d{20}\.log$/.test(name)) {
        bases.push(Number(name.slice(0, 20)))
        logs.add(name.slice(0, 20))
      }
    }
    // Index files whose log is gone would be picked up by a later segment with that base.
    for (const name of names) {
      if ((name.endsWith(INDEX_SUFFIX) || name.endsWith(TIME_INDEX_SUFFIX)) && !logs.has(name.slice(0, 20))) {
        io.unlink(path.join(this.dir, name))
      }
    }
    bases.sort((a, b) => a - b)
    this.segments = bases.map((b) => LogSegment.open(io, this.dir, b, this.config.segmentIndexBytes))
    if (this.segments.length > 0) {
      const recovered = recoverSegments(this.segments, {
        recoveryPoint: clean ? Number.MAX_SAFE_INTEGER : checkpointedRecoveryPoint,
        indexIntervalBytes: this.config.indexIntervalBytes,
        logger: this.logger,
        name: this.name,
      })
      for (const seg of this.segments.slice(recovered.length)) seg.delete()
      this.segments = recovered
    }
    if (this.segments.length === 0) {
      this.segments = [LogSegment.create(io, this.dir, checkpointedLogStart, this.config.segmentIndexBytes)]
      this.dirDirty = true
    }
    this.active = this.segments[this.segments.length - 1]!
    this.active.makeActive()
    this._logEndOffset = this.active.nextOffset
    this._logStartOffset = Math.max(checkpointedLogStart, this.segments[0]!.baseOffset)
    if (this._logStartOffset > this._logEndOffset) {
      // Records below the checkpointed start were deleted on purpose; data after it was lost.
      this.logger.warn(
        { partition: this.name, logStartOffset: this._logStartOffset, logEndOffset: this._logEndOffset },
        'log start offset beyond the recovered log end; starting an empty log there',
      )
      this.truncateFullyAndStartAt(this._logStartOffset)
    }
    this._recoveryPoint = clean ? this._logEndOffset : Math.min(checkpointedRecoveryPoint, this._logEndOffset)
  }

  get name(): string {
    return `${this.topic}-${this.partition}`
  }
  get logStartOffset(): number {
    return this._logStartOffset
  }
  get logEndOffset(): number {
    return this._logEndOffset
  }
  /** Single broker with acks=1 semantics: everything written is committed. */
  get highWatermark(): number {
    return this._logEndOffset
  }
  get recoveryPoint(): number {
    return this._recoveryPoint
  }
  get offline(): boolean {
    return this._offline
  }
  get sizeInBytes(): number {
    let total = 0
    for (const s of this.segments) total += s.size
    return total
  }
  get segmentCount(): number {
    return this.segments.length
  }
  /** Oldest first; the last is the active segment. Do not mutate. */
  get segmentList(): readonly LogSegment[] {
    return this.segments
  }
  get activeSegment(): LogSegment {
    return this.active
  }

  addAppendListener(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private storageError(): KafkaStorageError {
    return new KafkaStorageError(`partition ${this.name} is offline after an I/O error`)
  }

  private markOffline(err: unknown, during: string): void {
    if (!this._offline) this.logger.error({ partition: this.name, err }, `I/O error during ${during}; partition offline`)
    this._offline = true
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w.reject(new KafkaStorageError(`partition ${this.name}: ${during} failed`, { cause: err }))
  }

  append(records: Uint8Array, opts?: { durable?: boolean; logAppendTime?: number }): Promise<AppendResult> {
    try {
      const result = this.appendSync(records, opts?.logAppendTime)
      if (opts?.durable) return this.syncTo(result.lastOffset + 1).then(() => result)
      if (this._logEndOffset - this._recoveryPoint >= this.config.flushMessages) this.flushInBackground()
      return Promise.resolve(result)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Assigns offsets, writes, and indexes; throws on invalid input or I/O failure. */
  appendSync(records: Uint8Array, logAppendTime?: number): AppendResult {
    if (this._offline || this.closed) throw this.storageError()
    const len = records.length
    const maxBatch = this.config.maxMessageBytes
    let lat = logAppendTime
    if (lat === undefined && this.config.messageTimestampType === 'LogAppendTime') lat = Date.now()
    // Walk first so nothing is patched unless every batch is whole.
    let pos = 0
    let maxTs = -1
    while (pos < len) {
      if (len - pos < BATCH_HEADER_SIZE) throw new CorruptRecordError(`truncated batch at byte ${pos}`)
      const size = batchSizeAt(records, pos)
      if (size < LOG_OVERHEAD + MIN_BATCH_LENGTH || pos + size > len) throw new CorruptRecordError(`invalid batch length at byte ${pos}`)
      if (records[pos + 16] !== CURRENT_MAGIC) throw new CorruptRecordError(`batch at byte ${pos} is not magic v2`)
      if (size > maxBatch) throw new RecordTooLargeError(`batch of ${size} bytes exceeds max.message.bytes ${maxBatch}`)
      const ts = readMaxTimestamp(records, pos)
      if (ts > maxTs) maxTs = ts
      pos += size
    }
    if (len === 0) throw new CorruptRecordError('no record batches')
    if (lat !== undefined) maxTs = lat
    const baseOffset = this._logEndOffset
    let next = baseOffset
    pos = 0
    while (pos < len) {
      setBaseOffset(records, pos, next)
      if (lat !== undefined) setLogAppendTime(records, pos, lat)
      next += readLastOffsetDelta(records, pos) + 1
      pos += batchSizeAt(records, pos)
    }
    const cfg = this.config
    const now = Date.now()
    try {
      if (this.active.shouldRoll(len, maxTs, now, cfg.segmentBytes, cfg.segmentMs, cfg.segmentJitterMs, next - 1)) this.roll()
      this.active.append(records, cfg.indexIntervalBytes)
    } catch (err) {
      this.markOffline(err, 'append')
      throw new KafkaStorageError(`append to ${this.name} failed`, { cause: err })
    }
    this._logEndOffset = next
    for (const fn of this.listeners) {
      try {
        fn()
      } catch (err) {
        // the records are already in the log; a listener's failure must not fail the append
        this.logger.warn({ err, partition: this.name }, 'append listener threw')
      }
    }
    return { baseOffset, lastOffset: next - 1, logAppendTime: lat ?? -1, logStartOffset: this._logStartOffset }
  }

  /** Starts a new active segment at the log end; what came before is flushed in the background. */
  roll(): LogSegment {
    const base = this._logEndOffset
    if (this.active.isEmpty && this.active.baseOffset === base) return this.active
    this.active.onBecomeInactive()
    const seg = LogSegment.create(this.io, this.dir, base, this.config.segmentIndexBytes)
    this.segments.push(seg)
    this.active = seg
    this.dirDirty = true
    this.logger.debug({ partition: this.name, baseOffset: base }, 'rolled segment')
    // As Kafka does: a rolled segment will not change again, so make it durable soon.
    this.syncTo(base).catch(() => {})
    return seg
  }

  /** Resolves once everything below `target` is fsynced; concurrent callers share fsyncs. */
  private syncTo(target: number): Promise<void> {
    if (this._offline) return Promise.reject(this.storageError())
    if (this._recoveryPoint >= target && !this.dirDirty) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ target, resolve, reject })
      this.kickSync()
    })
  }

  private kickSync(): void {
    if (this.syncing || this.waiters.length === 0 || this._offline) return
    this.syncing = true
    const target = this._logEndOffset
    const truncations = this.truncations
    this.flushSegments(target).then(
      () => {
        this.syncing = false
        if (truncations !== this.truncations) {
          this.kickSync()
          return
        }
        if (target > this._recoveryPoint) this._recoveryPoint = target
        this.lastFlushTime = Date.now()
        const pending: SyncWaiter[] = []
        for (const w of this.waiters) {
          if (w.target <= target) w.resolve()
          else pending.push(w)
        }
        this.waiters = pending
        this.kickSync()
      },
      (err: unknown) => {
        this.syncing = false
        this.markOffline(err, 'fsync')
      },
    )
  }

  private async flushSegments(target: number): Promise<void> {
    const dirty = this.dirDirty
    this.dirDirty = false
    const work: Array<Promise<void>> = []
    for (const seg of this.segments) {
      if (seg.nextOffset <= this._recoveryPoint && !(seg === this.active && seg.isEmpty)) continue
      if (seg.baseOffset >= target && !seg.isEmpty) continue
      seg.writeIndexes()
      work.push(seg === this.active ? seg.flush(false) : this.flushInactive(seg))
    }
    if (dirty) work.push(this.io.fsyncDir(this.dir))
    try {
      await Promise.all(work)
    } catch (err) {
      if (dirty) this.dirDirty = true
      throw err
    }
  }

  private async flushInactive(seg: LogSegment): Promise<void> {
    try {
      await seg.flush(true)
    } catch (err) {
      // A segment deleted by retention while its fsync was queued has nothing left to persist.
      if (!this.segments.includes(seg)) return
      throw err
    }
  }

  private flushInBackground(): void {
    this.syncTo(this._logEndOffset).catch(() => {})
  }

  /** fsyncs everything appended so far. */
  flush(): Promise<void> {
    return this.syncTo(this._logEndOffset)
  }

  /** Runs a flush when flush.ms has passed since the last one and there is unflushed data. */
  maybeFlushByTime(now: number): void {
    if (this._offline || this._recoveryPoint >= this._logEndOffset) return
    if (now - this.lastFlushTime >= this.config.flushMs) this.flushInBackground()
  }

  read(offset: number, maxBytes: number, opts?: { maxOffset?: number; minOneBatch?: boolean }): Promise<ReadResult> {
    try {
      return Promise.resolve(this.readSync(offset, maxBytes, opts))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Synchronous read: positional reads of the page cache are faster than the thread pool. */
  readSync(offset: number, maxBytes: number, opts?: { maxOffset?: number; minOneBatch?: boolean }): ReadResult {
    if (this._offline) throw this.storageError()
    const leo = this._logEndOffset
    if (offset < this._logStartOffset || offset > leo) {
      throw new OffsetOutOfRangeError(
        `offset ${offset} is out of range for ${this.name} [${this._logStartOffset}, ${leo}]`,
      )
    }
    const maxOffset = Math.min(opts?.maxOffset ?? leo, leo)
    const minOneBatch = opts?.minOneBatch ?? true
    let records: Uint8Array = EMPTY
    if (offset < maxOffset) {
      let i = this.segmentIndexFor(offset)
      try {
        for (; i < this.segments.length; i++) {
          const got = this.segments[i]!.read(offset, maxBytes, maxOffset, minOneBatch, this.config.indexIntervalBytes)
          if (got !== null) {
            records = got
            break
          }
        }
      } catch (err) {
        this.markOffline(err, 'read')
        throw new KafkaStorageError(`read from ${this.name} failed`, { cause: err })
      }
    }
    return { records, highWatermark: leo, logStartOffset: this._logStartOffset, logEndOffset: leo }
  }

  /** Index of the last segment with baseOffset <= offset (0 when none). */
  private segmentIndexFor(offset: number): number {
    const segs = this.segments
    let lo = 0
    let hi = segs.length - 1
    let found = 0
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (segs[mid]!.baseOffset <= offset) {
        found = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    return found
  }

  /**
   * Kafka's ListOffsets by timestamp: the earliest offset whose record timestamp is >= `timestamp`,
   * found via the time index, a batch walk, and the records of the one matching batch.
   */
  async offsetForTimestamp(timestamp: number): Promise<{ offset: number; timestamp: number } | null> {
    if (this._offline) throw this.storageError()
    const start = this._logStartOffset
    for (const seg of this.segments) {
      if (seg.nextOffset <= start || seg.maxTimestampSoFar < timestamp) continue
      const at = seg.findBatchByTimestamp(timestamp, start)
      if (at === undefined) continue
      const batch = seg.readBatch(at.position, at.size)
      for (const r of iterateRecords(batch, 0)) {
        if (r.offset >= start && r.timestamp >= timestamp) return { offset: r.offset, timestamp: r.timestamp }
      }
    }
    return null
  }

  /** Offset and timestamp of the record with the largest timestamp (earliest such record). */
  maxTimestampOffset(): { offset: number; timestamp: number } | null {
    let best: LogSegment | undefined
    for (const seg of this.segments) {
      if (seg.isEmpty || seg.nextOffset <= this._logStartOffset) continue
      if (best === undefined || seg.maxTimestampSoFar > best.maxTimestampSoFar) best = seg
    }
    if (best === undefined) return null
    const ts = best.maxTimestampSoFar
    const at = best.translateOffset(best.offsetOfMaxTimestampSoFar)
    if (at !== undefined) {
      for (const r of iterateRecords(best.readBatch(at.position, at.size), 0)) {
        if (r.timestamp === ts && r.offset >= this._logStartOffset) return { offset: r.offset, timestamp: ts }
      }
    }
    return { offset: best.offsetOfMaxTimestampSoFar, timestamp: ts }
  }

  /** DeleteRecords: moves logStartOffset up (-1 means the high watermark) and drops whole segments below it. */
  async deleteRecordsBefore(offset: number): Promise<number> {
    if (this._offline) throw this.storageError()
    const target = offset === -1 ? this.highWatermark : offset
    if (target < 0 || target > this.highWatermark) {
      throw new OffsetOutOfRangeError(`cannot delete records before ${offset}: high watermark is ${this.highWatermark}`)
    }
    if (target > this._logStartOffset) {
      this._logStartOffset = target
      await this.onLogStartOffsetChange?.(this)
      this.deleteSegments(this.segmentsBelowLogStart(), 'log start offset')
    }
    return this._logStartOffset
  }

  private segmentsBelowLogStart(): LogSegment[] {
    const out: LogSegment[] = []
    for (let i = 0; i < this.segments.length - 1; i++) {
      if (this.segments[i + 1]!.baseOffset <= this._logStartOffset) out.push(this.segments[i]!)
      else break
    }
    return out
  }

  /**
   * Removes the given segments, which must be the oldest ones; never the active segment.
   * logStartOffset moves to the first remaining segment if it was below it.
   */
  deleteSegments(victims: readonly LogSegment[], reason: string): number {
    let deleted = 0
    for (const seg of victims) {
      if (seg === this.active || this.segments[0] !== seg) break
      this.segments.shift()
      this.dirDirty = true
      try {
        seg.delete()
      } catch (err) {
        this.markOffline(err, 'segment deletion')
        throw new KafkaStorageError(`deleting a segment of ${this.name} failed`, { cause: err })
      }
      deleted++
      this.logger.info({ partition: this.name, baseOffset: seg.baseOffset, size: seg.size, reason }, 'deleted segment')
    }
    if (deleted > 0 && this.segments[0]!.baseOffset > this._logStartOffset) {
      this._logStartOffset = this.segments[0]!.baseOffset
      this.onLogStartOffsetChange?.(this).catch((err: unknown) => this.logger.warn({ err }, 'log start checkpoint failed'))
    }
    return deleted
  }

  /** Drops every record at or after `offset` (whole batches: the one containing it goes too). */
  async truncateTo(offset: number): Promise<void> {
    if (this._offline) throw this.storageError()
    if (offset >= this._logEndOffset) return
    if (offset <= this.segments[0]!.baseOffset || offset < this._logStartOffset) {
      this.truncateFullyAndStartAt(Math.max(offset, 0))
      return
    }
    try {
      while (this.segments.length > 1 && this.segments[this.segments.length - 1]!.baseOffset >= offset) {
        this.segments.pop()!.delete()
      }
      const seg = this.segments[this.segments.length - 1]!
      seg.makeActive()
      seg.truncateTo(offset, this.config.indexIntervalBytes)
      this.active = seg
      this.dirDirty = true
      this._logEndOffset = seg.nextOffset
      this._recoveryPoint = Math.min(this._recoveryPoint, this._logEndOffset)
      this.failWaitersBeyond(this._logEndOffset)
    } catch (err) {
      this.markOffline(err, 'truncation')
      throw new KafkaStorageError(`truncating ${this.name} failed`, { cause: err })
    }
  }

  /** Waiters for offsets that truncation removed can never be satisfied. */
  private failWaitersBeyond(leo: number): void {
    this.truncations++
    const keep: SyncWaiter[] = []
    for (const w of this.waiters) {
      if (w.target > leo) w.reject(new KafkaStorageError(`records of ${this.name} below offset ${w.target} were truncated before being flushed`))
      else keep.push(w)
    }
    this.waiters = keep
  }

  private truncateFullyAndStartAt(offset: number): void {
    for (const seg of this.segments) seg.delete()
    this.segments = [LogSegment.create(this.io, this.dir, offset, this.config.segmentIndexBytes)]
    this.active = this.segments[0]!
    this.dirDirty = true
    this._logEndOffset = offset
    this._logStartOffset = offset
    this._recoveryPoint = offset
    this.failWaitersBeyond(offset)
    this.onLogStartOffsetChange?.(this).catch((err: unknown) => this.logger.warn({ err }, 'log start checkpoint failed'))
  }

  /** Flushes and closes every segment (indexes trimmed). Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return
    let flushError: unknown
    if (!this._offline) {
      try {
        await this.flush()
      } catch (err) {
        flushError = err
      }
    }
    this.closed = true
    this.listeners.clear()
    for (const seg of this.segments) {
      try {
        seg.close()
      } catch (err) {
        flushError ??= err
      }
    }
    if (flushError !== undefined) {
      this._offline = true
      throw flushError
    }
  }

  /** Closes without flushing and removes the partition's files (topic deletion). */
  closeForDelete(): void {
    this.closed = true
    this.listeners.clear()
    for (const seg of this.segments) {
      try {
        seg.close()
      } catch {
        // the directory is about to be removed
      }
    }
  }
}
