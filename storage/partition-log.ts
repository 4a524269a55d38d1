// PartitionLog: one partition's log, a directory `<topic>-<partition>` of LogSegments ordered by
// baseOffset; the last one is active and takes appends. Offsets are contiguous across segments.
//
// Concurrency: single-threaded. append() does all of its file work synchronously before it
// returns a promise, so appends are serialized in call order without a queue, and reads always
// see whole batches. Only fsync is asynchronous: durable appends wait for a flush that covers
// their last offset, and concurrent ones share one fsync (group commit). recoveryPoint is the
// offset below which all data is known to be on disk.
//
// Idempotent and transactional producers: each producer batch is checked against the
// partition's ProducerStateManager before it gets offsets (a retried batch answers with its
// original offsets and is not written again); transaction markers close open transactions, and
// aborts are indexed in the segment's TxnIndex. The producer state is snapshotted on every roll
// and on clean close, and rebuilt on open by replaying the batches after the newest snapshot.
import path from 'node:path'
import {
  BATCH_HEADER_SIZE,
  CURRENT_MAGIC,
  LOG_OVERHEAD,
  MIN_BATCH_LENGTH,
  ControlType,
  batchSizeAt,
  encodeControlBatch,
  isControl,
  isTransactional,
  iterateRecords,
  readAttributes,
  readBaseOffset,
  readControlRecord,
  readLastOffset,
  readLastOffsetDelta,
  readMaxTimestamp,
  setBaseOffset,
  setLogAppendTime,
} from '../protocol/record-batch.js'
import { CorruptRecordError, KafkaStorageError, OffsetOutOfRangeError, RecordTooLargeError } from './errors.js'
import { type FileIO, nodeFileIO } from './file-io.js'
import type { LogConfig } from './log-config.js'
import { type Logger, silentLogger } from './logger.js'
import { DELETED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, LogSegment, TIME_INDEX_SUFFIX, releaseReadBuffer } from './segment.js'
import type { Lease } from './buffer-pool.js'
import { recoverSegments } from './recovery.js'
import { InvalidRecordError, ProducerStateManager, SNAPSHOT_SUFFIX, type ProducerBatch } from './producer-state.js'
import { TXN_INDEX_SUFFIX, type AbortedTxn } from './txn-index.js'

export interface AppendResult {
  baseOffset: number
  lastOffset: number
  /** -1 unless the batches were stamped with LogAppendTime. */
  logAppendTime: number
  logStartOffset: number
}

/**
 * Whole batches read from the log, possibly none. `records` views a pooled buffer: release() it
 * once nothing uses those bytes any more (a Fetch does so once the socket has taken its response);
 * until then the buffer is not reused, and after it `records` is empty.
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
    if (records.length > 0) releaseReadBuffer(records)
  }
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
  /** producer.id.expiration.ms; default one day. */
  producerIdExpirationMs?: number
}

/** A transaction marker the coordinator writes. */
export interface TxnMarkerInput {
  producerId: number
  producerEpoch: number
  coordinatorEpoch: number
  commit: boolean
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
  readonly producerState: ProducerStateManager
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
    this.producerState = new ProducerStateManager({ dir: opts.dir, io: this.io, expirationMs: opts.producerIdExpirationMs })
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
      if (name.endsWith(DELETED_SUFFIX) || name.endsWith('.cleaned') || name.endsWith('.swap') || name.endsWith(SNAPSHOT_SUFFIX + '.tmp')) {
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
      if ((name.endsWith(INDEX_SUFFIX) || name.endsWith(TIME_INDEX_SUFFIX) || name.endsWith(TXN_INDEX_SUFFIX)) && !logs.has(name.slice(0, 20))) {
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
    this.rebuildProducerState()
  }

  /**
   * Loads the newest snapshot at or below the log end and replays the producer batches and
   * markers after it, re-adding aborted-transaction index entries a crash may have lost.
   */
  private rebuildProducerState(): void {
    const ps = this.producerState
    const first = this.segments[0]!.baseOffset
    const from = Math.max(ps.loadLatestSnapshot(this._logEndOffset) ?? first, first)
    if (from >= this._logEndOffset) return
    let replayed = 0
    for (let i = this.segmentIndexFor(from); i < this.segments.length; i++) {
      const seg = this.segments[i]!
      seg.walk(seg.offsetIndex.lookup(from).position, (buf, at, position, size) => {
        if (readLastOffset(buf, at) >= from) {
          this.replayBatch(seg, buf, at, position, size)
          replayed++
        }
        return true
      })
    }
    this.logger.info({ partition: this.name, from, to: this._logEndOffset, batches: replayed, producers: ps.size }, 'rebuilt producer state')
  }

  private replayBatch(seg: LogSegment, buf: Uint8Array, at: number, position: number, size: number): void {
    const attributes = readAttributes(buf, at)
    if (!isControl(attributes)) {
      const pb = producerBatchAt(buf, at)
      if (pb !== undefined) this.producerState.update(pb, readBaseOffset(buf, at))
      return
    }
    const offset = readBaseOffset(buf, at)
    for (const r of iterateRecords(seg.readBatch(position, size), 0)) {
      const ctl = readControlRecord(r)
      if (ctl === null || (ctl.type !== ControlType.Abort && ctl.type !== ControlType.Commit)) continue
      const aborted = this.producerState.completeTxn({
        producerId: readInt64(buf, at + 43),
        producerEpoch: readInt16(buf, at + 51),
        coordinatorEpoch: ctl.coordinatorEpoch,
        commit: ctl.type === ControlType.Commit,
        offset,
        timestamp: readMaxTimestamp(buf, at),
      })
      if (aborted !== undefined && !seg.txnIndex.has(aborted.producerId, aborted.lastOffset)) {
        try {
          seg.txnIndex.append(aborted)
        } catch (err) {
          this.logger.warn({ err, partition: this.name, offset }, 'could not re-index an aborted transaction')
        }
      }
    }
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

  /**
   * Assigns offsets, writes, and indexes; throws on invalid input, on a producer batch its
   * producer's state rejects, or on I/O failure. A retried producer batch (one of the producer's
   * last five) is not written again: the result carries its original offsets.
   */
  appendSync(records: Uint8Array, logAppendTime?: number): AppendResult {
    if (this._offline || this.closed) throw this.storageError()
    const len = records.length
    const maxBatch = this.config.maxMessageBytes
    let lat = logAppendTime
    if (lat === undefined && this.config.messageTimestampType === 'LogAppendTime') lat = Date.now()
    // Walk first so nothing is patched unless every batch is whole.
    let pos = 0
    let maxTs = -1
    let batches = 0
    let producerBatches = 0
    while (pos < len) {
      if (len - pos < BATCH_HEADER_SIZE) throw new CorruptRecordError(`truncated batch at byte ${pos}`)
      const size = batchSizeAt(records, pos)
      if (size < LOG_OVERHEAD + MIN_BATCH_LENGTH || pos + size > len) throw new CorruptRecordError(`invalid batch length at byte ${pos}`)
      if (records[pos + 16] !== CURRENT_MAGIC) throw new CorruptRecordError(`batch at byte ${pos} is not magic v2`)
      if (size > maxBatch) throw new RecordTooLargeError(`batch of ${size} bytes exceeds max.message.bytes ${maxBatch}`)
      if (isControl(readAttributes(records, pos))) throw new InvalidRecordError('control batches are written by the transaction coordinator only')
      if (readInt64(records, pos + 43) >= 0) producerBatches++
      const ts = readMaxTimestamp(records, pos)
      if (ts > maxTs) maxTs = ts
      pos += size
      batches++
    }
    if (len === 0) throw new CorruptRecordError('no record batches')
    let pb: ProducerBatch | undefined
    if (producerBatches > 0) {
      // As Kafka's produce v3+: a producer's write is one batch, so its sequence check is one step.
      if (batches > 1) throw new InvalidRecordError('an idempotent or transactional append must be exactly one record batch')
      pb = producerBatchAt(records, 0)!
      const duplicate = this.producerState.check(pb)
      if (duplicate !== undefined) {
        return { baseOffset: duplicate.firstOffset, lastOffset: duplicate.lastOffset, logAppendTime: -1, logStartOffset: this._logStartOffset }
      }
    }
    if (lat !== undefined) maxTs = lat
    const result = this.writeBatches(records, lat, maxTs)
    if (pb !== undefined) this.producerState.update(pb, result.baseOffset)
    this.notifyAppend()
    return result
  }

  /**
   * Appends a transaction marker (a control batch) for the coordinator: closes the producer's
   * open transaction on this partition and indexes it when aborted. Durable unless told otherwise.
   */
  appendTxnMarker(m: TxnMarkerInput, opts?: { durable?: boolean }): Promise<AppendResult> {
    let result: AppendResult
    try {
      if (this._offline || this.closed) throw this.storageError()
      this.producerState.checkMarker(m)
      const timestamp = Date.now()
      const batch = encodeControlBatch({
        type: m.commit ? ControlType.Commit : ControlType.Abort,
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        coordinatorEpoch: m.coordinatorEpoch,
        timestamp,
        partitionLeaderEpoch: 0,
      })
      const lat = this.config.messageTimestampType === 'LogAppendTime' ? timestamp : undefined
      result = this.writeBatches(batch, lat, timestamp)
      const aborted = this.producerState.completeTxn({ ...m, offset: result.baseOffset, timestamp })
      if (aborted !== undefined) {
        try {
          this.active.txnIndex.append(aborted)
        } catch (err) {
          this.markOffline(err, 'transaction index append')
          throw new KafkaStorageError(`indexing an aborted transaction of ${this.name} failed`, { cause: err })
        }
      }
      this.notifyAppend()
    } catch (err) {
      return Promise.reject(err)
    }
    if (opts?.durable === false) return Promise.resolve(result)
    return this.syncTo(result.lastOffset + 1).then(() => result)
  }

  /** Assigns offsets from the log end, rolls if due, and writes whole validated batches. */
  private writeBatches(records: Uint8Array, lat: number | undefined, maxTs: number): AppendResult {
    const len = records.length
    const baseOffset = this._logEndOffset
    let next = baseOffset
    let pos = 0
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
    return { baseOffset, lastOffset: next - 1, logAppendTime: lat ?? -1, logStartOffset: this._logStartOffset }
  }

  private notifyAppend(): void {
    for (const fn of this.listeners) {
      try {
        fn()
      } catch (err) {
        // the records are already in the log; a listener's failure must not fail the append
        this.logger.warn({ err, partition: this.name }, 'append listener threw')
      }
    }
  }

  /** The last stable offset: below the first open transaction, and never above the high watermark. */
  get lastStableOffset(): number {
    const firstUnstable = this.producerState.firstUnstableOffset()
    const hw = this.highWatermark
    return firstUnstable === undefined || firstUnstable > hw ? hw : firstUnstable
  }

  /**
   * Aborted transactions overlapping [fetchOffset, upperBoundOffset), for a read_committed fetch
   * of that range; from the txn indexes of the segment holding fetchOffset onwards.
   */
  abortedTransactions(fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
    const out: AbortedTxn[] = []
    for (let i = this.segmentIndexFor(fetchOffset); i < this.segments.length; i++) {
      if (this.segments[i]!.txnIndex.collect(fetchOffset, upperBoundOffset, out)) break
    }
    return out
  }

  /** Forgets producers idle longer than producer.id.expiration.ms; returns how many. */
  removeExpiredProducers(now = Date.now()): number {
    return this.producerState.removeExpired(now)
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
    try {
      this.producerState.takeSnapshot(base).catch((err: unknown) => this.logger.warn({ err, partition: this.name }, 'producer state snapshot fsync failed'))
    } catch (err) {
      // Only an optimisation: without it, the next unclean open replays from an older snapshot.
      this.logger.warn({ err, partition: this.name }, 'producer state snapshot failed')
    }
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
      work.push(this.flushSegment(seg, seg !== this.active))
    }
    if (dirty) work.push(this.io.fsyncDir(this.dir))
    try {
      await Promise.all(work)
    } catch (err) {
      if (dirty) this.dirDirty = true
      throw err
    }
  }

  private async flushSegment(seg: LogSegment, inactive: boolean): Promise<void> {
    try {
      await seg.flush(inactive)
    } catch (err) {
      // A segment deleted (retention, DeleteRecords) while its fsync was queued has nothing left
      // to persist. That includes the segment that was active when the flush began and rolled
      // before it ran.
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

  /** Synchronous read: positional reads of the page cache are faster than the thread pool. */
  readSync(offset: number, maxBytes: number, opts?: { maxOffset?: number; minOneBatch?: boolean }): ReadResult {
    const r = this.readPlan(offset, opts)
    if (r.segments.length > 0) {
      try {
        for (const seg of r.segments) {
          const got = seg.read(offset, maxBytes, r.maxOffset, r.minOneBatch, this.config.indexIntervalBytes)
          if (got !== null) {
            r.result.records = got
            break
          }
        }
      } catch (err) {
        throw this.readFailed(err)
      }
    }
    return r.result
  }

  /**
   * readSync(), with large reads copied out of the page cache on the libuv pool (off the event
   * loop); a rejected promise for what readSync throws. Offsets and bounds are taken when called;
   * segments closed or deleted meanwhile stay readable until the read is done.
   */
  async read(offset: number, maxBytes: number, opts?: { maxOffset?: number; minOneBatch?: boolean }): Promise<ReadResult> {
    const r = this.readPlan(offset, opts)
    const interval = this.config.indexIntervalBytes
    try {
      for (const seg of r.segments) {
        const got = await seg.readAsync(offset, maxBytes, r.maxOffset, r.minOneBatch, interval)
        if (got !== null) {
          r.result.records = got
          break
        }
      }
    } catch (err) {
      throw this.readFailed(err)
    }
    return r.result
  }

  /**
   * Checks a read's offset and fixes its bounds; the segments to try in order (a copy: a roll or
   * retention may change the list while a read is in flight), none when nothing is readable.
   */
  private readPlan(offset: number, opts: { maxOffset?: number; minOneBatch?: boolean } | undefined) {
    if (this._offline) throw this.storageError()
    const leo = this._logEndOffset
    const logStart = this._logStartOffset
    if (offset < logStart || offset > leo) {
      throw new OffsetOutOfRangeError(`offset ${offset} is out of range for ${this.name} [${logStart}, ${leo}]`)
    }
    const maxOffset = Math.min(opts?.maxOffset ?? leo, leo)
    const result = new LogRead(leo, logStart, leo)
    const segments = offset < maxOffset ? this.segments.slice(this.segmentIndexFor(offset)) : []
    return { maxOffset, minOneBatch: opts?.minOneBatch ?? true, result, segments }
  }

  private readFailed(err: unknown): KafkaStorageError {
    this.markOffline(err, 'read')
    return new KafkaStorageError(`read from ${this.name} failed`, { cause: err })
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
    if (deleted > 0) {
      try {
        this.producerState.deleteSnapshotsBelow(this.segments[0]!.baseOffset)
      } catch (err) {
        this.logger.warn({ err, partition: this.name }, 'deleting old producer snapshots failed')
      }
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
      this.rebuildProducerState()
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
    this.producerState.clear()
    this.producerState.deleteSnapshotsAbove(-1)
    this.onLogStartOffsetChange?.(this).catch((err: unknown) => this.logger.warn({ err }, 'log start checkpoint failed'))
  }

  /** Flushes and closes every segment (indexes trimmed). Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return
    let flushError: unknown
    if (!this._offline) {
      try {
        await this.flush()
        // A snapshot at the log end lets the next open skip the producer-state replay.
        await this.producerState.takeSnapshot(this._logEndOffset)
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

function readInt64(b: Uint8Array, o: number): number {
  const hi = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!
  const lo = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0
  return hi * 4294967296 + lo
}

function readInt16(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16)) >> 16
}

/** The producer fields of the batch at `at`, or undefined for a batch without a producer id. */
function producerBatchAt(b: Uint8Array, at: number): ProducerBatch | undefined {
  const producerId = readInt64(b, at + 43)
  if (producerId < 0) return undefined
  return {
    producerId,
    producerEpoch: readInt16(b, at + 51),
    baseSequence: (b[at + 53]! << 24) | (b[at + 54]! << 16) | (b[at + 55]! << 8) | b[at + 56]!,
    lastOffsetDelta: readLastOffsetDelta(b, at),
    maxTimestamp: readMaxTimestamp(b, at),
    transactional: isTransactional(readAttributes(b, at)),
  }
}
