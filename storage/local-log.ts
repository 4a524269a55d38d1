// LocalLog: the part of a partition's log that is files on this broker (Kafka's LocalLog under
// UnifiedLog): a directory `<topic>-<partition>` of LogSegments ordered by baseOffset, the last one
// active; the log end offset, the log start offset and the recovery point; rolling, flushing,
// deleting and truncating segments, the cleaner's segment swap, and closing. PartitionLog builds
// appends, reads and DeleteRecords on it. Beside it: LogSegments (the list and its changes),
// LogLoader (opening and recovery) and FlushScheduler (when data reaches the disk).
//
// Concurrency: single-threaded. Appends are written asynchronously (PartitionLog queues them, and
// the log end offset moves once a write lands); rolling, truncation and closing wait until none
// is in flight. fsync is asynchronous: durable appends wait for a flush that covers their last
// offset, and concurrent ones share one fsync (group commit). recoveryPoint is the offset below
// which all data is known to be on disk.
//
// An I/O error takes the partition offline (writes and reads answer KAFKA_STORAGE_ERROR). When the
// cause was a full disk refusing a write, the owner may bring it back once there is room again
// (recoverFromFullDisk): the tail is re-read from the recovery point as a restart would.
import { isOutOfSpace, KafkaStorageError, type StorageError, UnknownTopicError } from './errors.js'
import { type FileIO, nodeFileIO } from './file-io.js'
import { FlushScheduler } from './flush-scheduler.js'
import type { LogConfig } from './log-config.js'
import { loadLog, rebuildProducerState, type LoadedLog } from './log-loader.js'
import { type Logger, silentLogger } from './logger.js'
import { LogSegments } from './log-segments.js'
import type { LogSegment } from './segment.js'
import { ProducerStateManager } from './producer-state.js'
import { LeaderEpochCache } from './leader-epoch-cache.js'

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
  onLogStartOffsetChange?: (log: LocalLog) => Promise<void>
  /** producer.id.expiration.ms; default one day. */
  producerIdExpirationMs?: number
  /**
   * Writes of appended batches of this many bytes or more go to the libuv pool; smaller ones are
   * written on the event loop. Default POOL_WRITE_MIN_BYTES (none); 0 sends every write to the
   * pool, 65536 the large ones.
   */
  poolWriteMinBytes?: number
}

/**
 * Every write stays on the event loop by default: on the two shared cores measured so far, no
 * throughput gain from the pool could be told apart from the noise (bench/README.md, "Produce
 * writes"), and small writes cost the loop more through the pool (one 1 KiB append in flight:
 * 8-10 us written on the loop, 50 us through the pool; 0.7-0.9 of it from 64 KiB,
 * bench/micro/append-write.bench.ts). 65536 is the split those figures suggest.
 */
export const POOL_WRITE_MIN_BYTES = Infinity

export abstract class LocalLog {
  readonly topic: string
  readonly partition: number
  readonly dir: string
  private _config: LogConfig
  private readonly io: FileIO
  protected readonly logger: Logger
  protected segments: LogSegments
  protected _logStartOffset: number
  protected _logEndOffset: number
  protected _offline = false
  /** Offline because a write found the disk full: recoverFromFullDisk() may bring it back. */
  private _offlineForSpace = false
  private flusher: FlushScheduler
  protected readonly listeners = new Set<() => void>()
  readonly producerState: ProducerStateManager
  /** Which leader epoch wrote which offsets (leader-epoch-checkpoint). */
  readonly leaderEpochs: LeaderEpochCache
  /** The partitionLeaderEpoch stamped on batches this broker appends: 0 unless it leads a replicated partition. */
  leaderEpoch = 0
  /** A replica of another broker's log: appends other than appendAsFollower are refused. */
  follower = false
  /** -1 unless replicated: a single broker's high watermark is its log end offset. */
  private _highWatermark = -1
  protected readonly onLogStartOffsetChange?: (log: LocalLog) => Promise<void>
  protected closed = false
  /** Closed by topic deletion: what fails from now on fails because the partition is gone. */
  protected deleted = false
  protected readonly poolWriteMinBytes: number

  protected constructor(opts: PartitionLogOptions) {
    this.topic = opts.topic
    this.partition = opts.partition
    this.dir = opts.dir
    this._config = opts.config
    this.io = opts.io ?? nodeFileIO
    this.logger = opts.logger ?? silentLogger
    this.onLogStartOffsetChange = opts.onLogStartOffsetChange
    this.poolWriteMinBytes = opts.poolWriteMinBytes ?? POOL_WRITE_MIN_BYTES
    this.producerState = new ProducerStateManager({ dir: opts.dir, io: this.io, expirationMs: opts.producerIdExpirationMs })
    const loaded = this.load(opts.recoveryPoint ?? 0, opts.logStartOffset ?? 0, opts.hadCleanShutdown ?? false)
    this.segments = new LogSegments(this.io, this.dir, loaded.segments, this._config)
    this._logStartOffset = loaded.logStartOffset
    this._logEndOffset = loaded.logEndOffset
    this.flusher = this.newFlusher(loaded.recoveryPoint, loaded.dirDirty)
    this.leaderEpochs = new LeaderEpochCache(this.io, this.dir, (err) => this.logger.warn({ err, partition: this.name }, 'leader epoch checkpoint failed'))
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
  /**
   * The offset below which records are committed (held by every in-sync replica). A single broker
   * commits everything written, so it is the log end offset unless replication sets it.
   */
  get highWatermark(): number {
    return this._highWatermark < 0 ? this._logEndOffset : this._highWatermark
  }

  /** Whether replication owns the high watermark (setHighWatermark) rather than the log end. */
  get replicated(): boolean {
    return this._highWatermark >= 0
  }

  /**
   * Replication moves the high watermark (kept within the log); parked fetches wake when it
   * advances. Returns whether it changed.
   */
  setHighWatermark(offset: number): boolean {
    const hw = Math.max(0, Math.min(offset, this._logEndOffset))
    if (hw === this._highWatermark) return false
    const advanced = hw > this.highWatermark
    this._highWatermark = hw
    if (advanced) this.notifyListeners()
    return true
  }

  /** Back to a single broker's rule: the high watermark is the log end offset. */
  stopTrackingHighWatermark(): void {
    const before = this.highWatermark
    this._highWatermark = -1
    if (this._logEndOffset > before) this.notifyListeners()
  }

  protected notifyListeners(): void {
    for (const fn of this.listeners) {
      try {
        fn()
      } catch (err) {
        // the records are already in the log; a listener's failure must not fail the append
        this.logger.warn({ err, partition: this.name }, 'append listener threw')
      }
    }
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
  protected get active(): LogSegment {
    return this.segments.active
  }

  /** Appends are queued or being written (PartitionLog): the segments must not change under them. */
  protected get appendsPending(): boolean {
    return false
  }

  /** Resolves once no append is queued or being written. */
  protected appendsIdle(): Promise<void> {
    return Promise.resolve()
  }

  protected storageError(): StorageError {
    // As Kafka answers a produce to a partition it no longer hosts whose topic is gone.
    if (this.deleted) return new UnknownTopicError(`partition ${this.name} was deleted`)
    return new KafkaStorageError(`partition ${this.name} is offline after an I/O error`)
  }

  protected markOffline(err: unknown, during: string): void {
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
  protected syncTo(target: number): Promise<void> {
    if (this._offline || this.deleted) return Promise.reject(this.storageError())
    return this.flusher.syncTo(target)
  }

  protected flushInBackground(): void {
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
      if (!this.leaderEpochs.isEmpty) this.leaderEpochs.truncateFromStart(this._logStartOffset).catch(() => {})
      this.onLogStartOffsetChange?.(this).catch((err: unknown) => this.logger.warn({ err }, 'log start checkpoint failed'))
    }
    return deleted
  }

  /** Whether the cleaner may still swap `run` (consecutive, inactive segments of this log). */
  holdsSegments(run: readonly LogSegment[]): boolean {
    return !this._offline && !this.closed && this.segments.holdsRun(run)
  }

  /**
   * Swaps `run` for the cleaned segment the cleaner wrote and fsynced to `cleanedFile`, with its
   * .txnindex in `cleanedTxnIndexFile` (segment-swap.ts). The caller checked holdsSegments() in
   * the same tick.
   */
  replaceWithCleaned(run: readonly LogSegment[], cleanedFile: string, cleanedTxnIndexFile: string): LogSegment {
    if (!this.holdsSegments(run)) throw new Error(`segments of ${this.name} changed during cleaning`)
    try {
      const seg = this.segments.replaceWithCleaned(run, cleanedFile, cleanedTxnIndexFile)
      this.flusher.markDirDirty()
      return seg
    } catch (err) {
      this.markOffline(err, 'cleaned segment swap')
      throw new KafkaStorageError(`swapping cleaned segments of ${this.name} failed`, { cause: err })
    }
  }

  /** Drops every record at or after `offset` (whole batches: the one containing it goes too). */
  async truncateTo(offset: number): Promise<void> {
    while (this.appendsPending) await this.appendsIdle()
    if (this._offline) throw this.storageError()
    if (offset >= this._logEndOffset) return
    if (offset <= this.segments.first.baseOffset || offset < this._logStartOffset) {
      this.truncateFullyAndStartAt(Math.max(offset, 0))
      await this.leaderEpochs.flushed()
      return
    }
    try {
      const seg = this.segments.truncateTo(offset)
      this.flusher.markDirDirty()
      this._logEndOffset = seg.nextOffset
      this.flusher.truncated(this._logEndOffset)
      if (this._highWatermark > this._logEndOffset) this._highWatermark = this._logEndOffset
      rebuildProducerState(this.producerState, this.segments.all, this._logEndOffset, this.logger, this.name)
    } catch (err) {
      this.markOffline(err, 'truncation')
      throw new KafkaStorageError(`truncating ${this.name} failed`, { cause: err })
    }
    await this.leaderEpochs.truncateFromEnd(this._logEndOffset)
  }

  /** Empties the log and starts it again at `offset` (a follower whose leader's log starts past its end). */
  truncateFullyAndStartAt(offset: number): void {
    if (this._offline) throw this.storageError()
    // Appends taken while it led are still being written into the segments: the next fetch that
    // finds the leader's log start past this log's end comes back here.
    if (this.appendsPending) return
    this.segments.restartAt(offset)
    this.leaderEpochs.clear().catch(() => {})
    this._logEndOffset = offset
    this._logStartOffset = offset
    if (this._highWatermark >= 0) this._highWatermark = offset
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
    // A failed write answers everything queued at once, so this waits only for a write that was
    // already in flight when another took the partition offline; the next check comes back.
    if (!this.offlineForSpace || this.appendsPending) return
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
    // Appends already queued are written (or fail) first, so the flush covers them.
    while (this.appendsPending) await this.appendsIdle()
    if (this.closed) return
    let flushError: unknown
    if (!this._offline) {
      try {
        await this.flush()
      } catch (err) {
        flushError = err
      }
      // An empty log with no producer state has nothing a snapshot would save the next open from
      // replaying (Kafka's fresh log does not snapshot either), so a partition created and never
      // written closes without one.
      const nothingToKeep = this._logEndOffset === this.segments.first.baseOffset && this.producerState.size === 0
      if (flushError === undefined && !nothingToKeep) {
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
