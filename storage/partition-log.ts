// PartitionLog: one partition's log, a directory `<topic>-<partition>` of LogSegments ordered by
// baseOffset; the last one is active and takes appends. Offsets are contiguous across segments.
// Beside it: LogSegments (the list and its changes), LogLoader (opening and recovery),
// FlushScheduler (when data reaches the disk), log-reader.ts (reads) and LogValidator (produce rules).
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
//
// An I/O error takes the partition offline (writes and reads answer KAFKA_STORAGE_ERROR). When the
// cause was a full disk refusing a write, the owner may bring it back once there is room again
// (recoverFromFullDisk): the tail is re-read from the recovery point as a restart would.
import { ControlType, encodeControlBatch } from '../protocol/control-records.js'
import { isOutOfSpace, KafkaStorageError, OffsetOutOfRangeError, type StorageError, UnknownTopicError } from './errors.js'
import { type FileIO, nodeFileIO } from './file-io.js'
import { FlushScheduler } from './flush-scheduler.js'
import type { LogConfig } from './log-config.js'
import { loadLog, rebuildProducerState, type LoadedLog } from './log-loader.js'
import {
  type ReadOptions,
  type ReadPlan,
  type ReadResult,
  type TimestampAndOffset,
  abortedTransactions,
  maxTimestampOffset,
  offsetForTimestamp,
  planRead,
  readLog,
  readLogAsync,
} from './log-reader.js'
import { assignOffsets, validateOrThrow, type ValidatedRecords } from './log-validator.js'
import { type Logger, silentLogger } from './logger.js'
import { LogSegments } from './log-segments.js'
import type { LogSegment } from './segment.js'
import { ProducerStateManager } from './producer-state.js'
import type { AbortedTxn } from './txn-index.js'

export type { ReadResult } from './log-reader.js'

export interface AppendResult {
  baseOffset: number
  lastOffset: number
  /** -1 unless the batches were stamped with LogAppendTime. */
  logAppendTime: number
  logStartOffset: number
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

export class PartitionLog {
  readonly topic: string
  readonly partition: number
  readonly dir: string
  private _config: LogConfig
  private readonly io: FileIO
  private readonly logger: Logger
  private segments: LogSegments
  private _logStartOffset: number
  private _logEndOffset: number
  private _offline = false
  /** Offline because a write found the disk full: recoverFromFullDisk() may bring it back. */
  private _offlineForSpace = false
  private flusher: FlushScheduler
  private readonly listeners = new Set<() => void>()
  readonly producerState: ProducerStateManager
  private readonly onLogStartOffsetChange?: (log: PartitionLog) => Promise<void>
  private closed = false
  /** Closed by topic deletion: what fails from now on fails because the partition is gone. */
  private deleted = false

  /** Opens (creating if needed) the partition directory, recovering it after an unclean stop. */
  static open(opts: PartitionLogOptions): PartitionLog {
    return new PartitionLog(opts)
  }

  private constructor(opts: PartitionLogOptions) {
    this.topic = opts.topic
    this.partition = opts.partition
    this.dir = opts.dir
    this._config = opts.config
    this.io = opts.io ?? nodeFileIO
    this.logger = opts.logger ?? silentLogger
    this.onLogStartOffsetChange = opts.onLogStartOffsetChange
    this.producerState = new ProducerStateManager({ dir: opts.dir, io: this.io, expirationMs: opts.producerIdExpirationMs })
    const loaded = this.load(opts.recoveryPoint ?? 0, opts.logStartOffset ?? 0, opts.hadCleanShutdown ?? false)
    this.segments = new LogSegments(this.io, this.dir, loaded.segments, this._config)
    this._logStartOffset = loaded.logStartOffset
    this._logEndOffset = loaded.logEndOffset
    this.flusher = this.newFlusher(loaded.recoveryPoint, loaded.dirDirty)
    if (loaded.restarted) this.onLogStartOffsetChange?.(this).catch((err: unknown) => this.logger.warn({ err }, 'log start checkpoint failed'))
  }

  /** Opens the directory's segments (LogLoader): cleanup, recovery, producer state. */
  private load(recoveryPoint: number, logStartOffset: number, hadCleanShutdown: boolean): LoadedLog {
    return loadLog({
      dir: this.dir,
      name: this.name,
      io: this.io,
      config: this._config,
      logger: this.logger,
      producerState: this.producerState,
      recoveryPoint,
      logStartOffset,
      hadCleanShutdown,
    })
  }

  private newFlusher(recoveryPoint: number, dirDirty: boolean): FlushScheduler {
    const flusher: FlushScheduler = new FlushScheduler(this, this.io, recoveryPoint, (err) => {
      if (flusher === this.flusher) this.markOffline(err, 'fsync')
    })
    if (dirDirty) flusher.markDirDirty()
    return flusher
  }

  get config(): LogConfig {
    return this._config
  }

  /** A new config applies at once, to every segment's roll and index decisions too. */
  set config(config: LogConfig) {
    this._config = config
    this.segments.setConfig(config)
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
    return this.flusher.recoveryPoint
  }
  get offline(): boolean {
    return this._offline
  }
  /** Offline because the disk was full when a write came; see recoverFromFullDisk(). */
  get offlineForSpace(): boolean {
    return this._offline && this._offlineForSpace && !this.closed
  }
  get sizeInBytes(): number {
    return this.segments.sizeInBytes
  }
  get segmentCount(): number {
    return this.segments.count
  }
  /** Oldest first; the last is the active segment. Do not mutate. */
  get segmentList(): readonly LogSegment[] {
    return this.segments.all
  }
  get activeSegment(): LogSegment {
    return this.segments.active
  }
  private get active(): LogSegment {
    return this.segments.active
  }

  addAppendListener(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private storageError(): StorageError {
    // As Kafka answers a produce to a partition it no longer hosts whose topic is gone.
    if (this.deleted) return new UnknownTopicError(`partition ${this.name} was deleted`)
    return new KafkaStorageError(`partition ${this.name} is offline after an I/O error`)
  }

  private markOffline(err: unknown, during: string): void {
    if (this.deleted) {
      // Its files are gone or going: an I/O error now says nothing about the disk.
      this.logger.debug({ partition: this.name, err }, `${during} of a deleted partition failed`)
      return
    }
    if (!this._offline) {
      this.logger.error({ partition: this.name, err }, `I/O error during ${during}; partition offline`)
      this._offlineForSpace = (during === 'append' || during === 'transaction index append') && isOutOfSpace(err)
    }
    this._offline = true
    this.flusher.failAll(new KafkaStorageError(`partition ${this.name}: ${during} failed`, { cause: err }))
  }

  /**
   * Appends records the validator has passed (validateRecords), or raw bytes, which are validated
   * here as a client's; durable appends resolve once fsynced. `logAppendTime` stamps raw bytes.
   */
  append(records: Uint8Array | ValidatedRecords, opts?: { durable?: boolean; logAppendTime?: number }): Promise<AppendResult> {
    try {
      const result = this.appendSync(records, opts?.logAppendTime)
      if (opts?.durable) return this.syncTo(result.lastOffset + 1).then(() => result)
      if (this._logEndOffset - this.recoveryPoint >= this.config.flushMessages) this.flushInBackground()
      return Promise.resolve(result)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Assigns offsets, writes, and indexes; throws on invalid input (RecordValidationError), on a
   * producer batch its producer's state rejects, or on I/O failure. A retried producer batch (one
   * of the producer's last five) is not written again: the result carries its original offsets.
   */
  appendSync(records: Uint8Array | ValidatedRecords, logAppendTime?: number): AppendResult {
    if (this._offline || this.closed) throw this.storageError()
    const v = records instanceof Uint8Array ? validateOrThrow(records, this.config, { logAppendTime, partition: this.name }) : records
    const pb = v.producer
    if (pb !== undefined) {
      const duplicate = this.producerState.check(pb)
      if (duplicate !== undefined) {
        return { baseOffset: duplicate.firstOffset, lastOffset: duplicate.lastOffset, logAppendTime: -1, logStartOffset: this._logStartOffset }
      }
    }
    const result = this.writeBatches(v)
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
      result = this.writeBatches(validateOrThrow(batch, this.config, { origin: 'coordinator', now: timestamp, partition: this.name }))
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

  /** Assigns offsets from the log end, rolls if due, and writes the validated batches. */
  private writeBatches(v: ValidatedRecords): AppendResult {
    const records = v.records
    const baseOffset = this._logEndOffset
    const next = assignOffsets(v, baseOffset)
    try {
      if (this.active.shouldRoll({ messagesSize: records.length, maxTimestampInMessages: v.maxTimestamp, maxOffsetInMessages: next - 1, now: Date.now() })) this.roll()
      this.active.append(records)
    } catch (err) {
      this.markOffline(err, 'append')
      throw new KafkaStorageError(`append to ${this.name} failed`, { cause: err })
    }
    this._logEndOffset = next
    return { baseOffset, lastOffset: next - 1, logAppendTime: v.logAppendTime, logStartOffset: this._logStartOffset }
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

  /** Forgets producers idle longer than producer.id.expiration.ms; returns how many. */
  removeExpiredProducers(now = Date.now()): number {
    return this.producerState.removeExpired(now)
  }

  /** Starts a new active segment at the log end; what came before is flushed in the background. */
  roll(): LogSegment {
    const base = this._logEndOffset
    if (this.active.isEmpty && this.active.baseOffset === base) return this.active
    const seg = this.segments.roll(base)
    this.flusher.markDirDirty()
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
    if (this._offline || this.deleted) return Promise.reject(this.storageError())
    return this.flusher.syncTo(target)
  }

  private flushInBackground(): void {
    if (!this._offline) this.flusher.flushInBackground()
  }

  /** fsyncs everything appended so far. */
  flush(): Promise<void> {
    return this.syncTo(this._logEndOffset)
  }

  /** Runs a flush when flush.ms has passed since the last one and there is unflushed data. */
  maybeFlushByTime(now: number): void {
    if (!this._offline) this.flusher.maybeFlushByTime(now, this.config.flushMs)
  }

  /** Synchronous read: positional reads of the page cache are faster than the thread pool. */
  readSync(offset: number, maxBytes: number, opts?: ReadOptions): ReadResult {
    const plan = this.readPlan(offset, maxBytes, opts)
    try {
      return readLog(plan)
    } catch (err) {
      throw this.readFailed(err)
    }
  }

  /**
   * readSync(), with large reads copied out of the page cache on the libuv pool (off the event
   * loop); a rejected promise for what readSync throws. Offsets and bounds are taken when called;
   * segments closed or deleted meanwhile stay readable until the read is done.
   */
  async read(offset: number, maxBytes: number, opts?: ReadOptions): Promise<ReadResult> {
    const plan = this.readPlan(offset, maxBytes, opts)
    try {
      return await readLogAsync(plan)
    } catch (err) {
      throw this.readFailed(err)
    }
  }

  private readPlan(offset: number, maxBytes: number, opts: ReadOptions | undefined): ReadPlan {
    if (this._offline) throw this.storageError()
    return planRead(this, offset, maxBytes, opts)
  }

  private readFailed(err: unknown): StorageError {
    if (this.deleted) return this.storageError()
    this.markOffline(err, 'read')
    return new KafkaStorageError(`read from ${this.name} failed`, { cause: err })
  }

  /** Kafka's ListOffsets by timestamp: the earliest offset whose record timestamp is >= `timestamp`. */
  async offsetForTimestamp(timestamp: number): Promise<TimestampAndOffset | null> {
    if (this._offline) throw this.storageError()
    return offsetForTimestamp(this.segments.all, this._logStartOffset, timestamp)
  }

  /** Offset and timestamp of the record with the largest timestamp (earliest such record). */
  maxTimestampOffset(): TimestampAndOffset | null {
    return maxTimestampOffset(this.segments.all, this._logStartOffset)
  }

  /** Aborted transactions overlapping [fetchOffset, upperBoundOffset), for a read_committed fetch. */
  abortedTransactions(fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
    return abortedTransactions(this.segments.all, fetchOffset, upperBoundOffset)
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
      this.deleteSegments(this.segments.below(this._logStartOffset), 'log start offset')
    }
    return this._logStartOffset
  }

  /**
   * Removes the given segments, which must be the oldest ones; never the active segment.
   * logStartOffset moves to the first remaining segment if it was below it.
   */
  deleteSegments(victims: readonly LogSegment[], reason: string): number {
    let deleted = 0
    for (const seg of victims) {
      try {
        if (!this.segments.deleteOldest(seg)) break
        this.flusher.markDirDirty()
      } catch (err) {
        this.markOffline(err, 'segment deletion')
        throw new KafkaStorageError(`deleting a segment of ${this.name} failed`, { cause: err })
      }
      deleted++
      this.logger.info({ partition: this.name, baseOffset: seg.baseOffset, size: seg.size, reason }, 'deleted segment')
    }
    if (deleted > 0) {
      try {
        this.producerState.deleteSnapshotsBelow(this.segments.first.baseOffset)
      } catch (err) {
        this.logger.warn({ err, partition: this.name }, 'deleting old producer snapshots failed')
      }
    }
    if (deleted > 0 && this.segments.first.baseOffset > this._logStartOffset) {
      this._logStartOffset = this.segments.first.baseOffset
      this.onLogStartOffsetChange?.(this).catch((err: unknown) => this.logger.warn({ err }, 'log start checkpoint failed'))
    }
    return deleted
  }

  /** Whether the cleaner may still swap `run` (consecutive, inactive segments of this log). */
  holdsSegments(run: readonly LogSegment[]): boolean {
    return !this._offline && !this.closed && this.segments.holdsRun(run)
  }

  /**
   * Swaps `run` for the cleaned segment the cleaner wrote and fsynced to `cleanedFile`
   * (segment-swap.ts). The caller checked holdsSegments() in the same tick.
   */
  replaceWithCleaned(run: readonly LogSegment[], cleanedFile: string): LogSegment {
    if (!this.holdsSegments(run)) throw new Error(`segments of ${this.name} changed during cleaning`)
    try {
      const seg = this.segments.replaceWithCleaned(run, cleanedFile)
      this.flusher.markDirDirty()
      return seg
    } catch (err) {
      this.markOffline(err, 'cleaned segment swap')
      throw new KafkaStorageError(`swapping cleaned segments of ${this.name} failed`, { cause: err })
    }
  }

  /** Drops every record at or after `offset` (whole batches: the one containing it goes too). */
  async truncateTo(offset: number): Promise<void> {
    if (this._offline) throw this.storageError()
    if (offset >= this._logEndOffset) return
    if (offset <= this.segments.first.baseOffset || offset < this._logStartOffset) {
      this.truncateFullyAndStartAt(Math.max(offset, 0))
      return
    }
    try {
      const seg = this.segments.truncateTo(offset)
      this.flusher.markDirDirty()
      this._logEndOffset = seg.nextOffset
      this.flusher.truncated(this._logEndOffset)
      rebuildProducerState(this.producerState, this.segments.all, this._logEndOffset, this.logger, this.name)
    } catch (err) {
      this.markOffline(err, 'truncation')
      throw new KafkaStorageError(`truncating ${this.name} failed`, { cause: err })
    }
  }

  private truncateFullyAndStartAt(offset: number): void {
    this.segments.restartAt(offset)
    this._logEndOffset = offset
    this._logStartOffset = offset
    this.flusher.restartedAt(offset)
    this.producerState.clear()
    this.producerState.deleteSnapshotsAbove(-1)
    this.onLogStartOffsetChange?.(this).catch((err: unknown) => this.logger.warn({ err }, 'log start checkpoint failed'))
  }

  /**
   * Brings back a partition a full disk took offline: closes its segments and opens the directory
   * again from the recovery point, as a restart after a crash would (every batch after it is
   * validated, a torn tail is cut off, the producer state is rebuilt), then takes writes again.
   * Throws, staying offline, when the disk still refuses.
   */
  recoverFromFullDisk(): void {
    if (!this.offlineForSpace) return
    this.segments.close() // an error does not matter: the files are opened again and rescanned
    const recoveryPoint = this.flusher.recoveryPoint
    const loaded = this.load(recoveryPoint, this._logStartOffset, false)
    this.segments = new LogSegments(this.io, this.dir, loaded.segments, this._config)
    this._logStartOffset = loaded.logStartOffset
    this._logEndOffset = loaded.logEndOffset
    this.flusher = this.newFlusher(loaded.recoveryPoint, loaded.dirDirty)
    this._offline = false
    this._offlineForSpace = false
    this.logger.warn({ partition: this.name, recoveryPoint, logEndOffset: this._logEndOffset }, 'disk has room again; partition back online')
    if (loaded.restarted) this.onLogStartOffsetChange?.(this).catch((err: unknown) => this.logger.warn({ err }, 'log start checkpoint failed'))
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
      if (flushError === undefined) {
        try {
          // A snapshot at the log end lets the next open skip the producer-state replay; without
          // it (a full disk) the replay starts from an older one.
          await this.producerState.takeSnapshot(this._logEndOffset)
        } catch (err) {
          this.logger.warn({ err, partition: this.name }, 'producer state snapshot at close failed')
        }
      }
    }
    this.closed = true
    this.listeners.clear()
    flushError ??= this.segments.close()
    if (flushError !== undefined) {
      this._offline = true
      throw flushError
    }
  }

  /** Closes without flushing and removes the partition's files (topic deletion). */
  closeForDelete(): void {
    this.closed = true
    this.deleted = true
    this.listeners.clear()
    // Durable appends still waiting for an fsync are answered now; an fsync already queued
    // finishes on its pinned descriptors, and its outcome no longer matters.
    this.flusher.failAll(this.storageError())
    this.segments.close() // an error does not matter: the directory is about to be removed
  }
}
