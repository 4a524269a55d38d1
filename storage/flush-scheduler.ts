// FlushScheduler: when one partition's appended bytes reach the disk. Durable appends wait for an
// fsync that covers their last offset, and every waiter that arrives while an fsync runs shares
// the next one (group commit). recoveryPoint is the offset below which all data is known to be on
// disk; a flush advances it only if no truncation happened meanwhile. Background flushes follow
// flush.messages, flush.ms and every roll (a rolled segment will not change again).
//
// Concurrency: one event loop. At most one flush runs at a time; its fsyncs run on the libuv pool
// and pin their descriptors (FileHandle), so a segment closed or deleted meanwhile is never
// fsynced through a reused descriptor number.
import { KafkaStorageError, NotLeaderError, type StorageError } from './errors.js'
import type { FileIO } from './file-io.js'
import type { LogSegment } from './segment.js'

/** What the scheduler reads from the log it flushes. */
export interface FlushedLog {
  readonly name: string
  readonly dir: string
  readonly logEndOffset: number
  /** Oldest first; the last is the active segment. */
  readonly segmentList: readonly LogSegment[]
  readonly activeSegment: LogSegment
}

interface SyncWaiter {
  target: number
  resolve: () => void
  reject: (err: Error) => void
}

export class FlushScheduler {
  private _recoveryPoint: number
  private lastFlushTime = Date.now()
  private dirDirty = false
  private syncing = false
  private waiters: SyncWaiter[] = []
  /** Bumped by truncation, so a flush that started before it does not advance recoveryPoint. */
  private truncations = 0
  /** Set once the log is offline or deleted: every waiter gets this and no further flush starts. */
  private failure: StorageError | undefined

  constructor(
    private readonly log: FlushedLog,
    private readonly io: FileIO,
    recoveryPoint: number,
    /** A flush failed: the log goes offline (and calls failAll). */
    private readonly onFlushError: (err: unknown) => void,
  ) {
    this._recoveryPoint = recoveryPoint
  }

  get recoveryPoint(): number {
    return this._recoveryPoint
  }

  /** Segments were created, renamed or deleted: the next flush fsyncs the directory too. */
  markDirDirty(): void {
    this.dirDirty = true
  }

  /** Resolves once everything below `target` is fsynced; concurrent callers share fsyncs. */
  syncTo(target: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    if (this._recoveryPoint >= target && !this.dirDirty) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ target, resolve, reject })
      this.kickSync()
    })
  }

  /** Starts a flush of everything appended so far; failures take the log offline. */
  flushInBackground(): void {
    this.syncTo(this.log.logEndOffset).catch(() => {})
  }

  /** Runs a flush when `flushMs` has passed since the last one and there is unflushed data. */
  maybeFlushByTime(now: number, flushMs: number): void {
    if (this._recoveryPoint >= this.log.logEndOffset) return
    if (now - this.lastFlushTime >= flushMs) this.flushInBackground()
  }

  /**
   * The log was cut back to `logEndOffset`: waiters beyond it can never be satisfied. Only a
   * replica that stopped leading truncates, so they answer NOT_LEADER_OR_FOLLOWER, as Kafka's
   * leader does for produce requests it can no longer complete (the client retries at the new
   * leader); the disk is fine.
   */
  truncated(logEndOffset: number): void {
    this.truncations++
    this._recoveryPoint = Math.min(this._recoveryPoint, logEndOffset)
    const keep: SyncWaiter[] = []
    for (const w of this.waiters) {
      if (w.target > logEndOffset) w.reject(new NotLeaderError(`records of ${this.log.name} below offset ${w.target} were truncated before being flushed: this replica no longer leads`))
      else keep.push(w)
    }
    this.waiters = keep
  }

  /** The log restarted empty at `offset` (everything before it is gone). */
  restartedAt(offset: number): void {
    this._recoveryPoint = offset
    this.dirDirty = true
    this.truncated(offset)
  }

  /** Rejects every waiter with `err` and starts no further flush (the log is offline or deleted). */
  failAll(err: StorageError): void {
    this.failure ??= err
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w.reject(err)
  }

  private kickSync(): void {
    if (this.syncing || this.waiters.length === 0 || this.failure !== undefined) return
    this.syncing = true
    const target = this.log.logEndOffset
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
        if (this.failure === undefined) this.onFlushError(err)
      },
    )
  }

  private async flushSegments(target: number): Promise<void> {
    const dirty = this.dirDirty
    this.dirDirty = false
    const active = this.log.activeSegment
    const work: Array<Promise<void>> = []
    for (const seg of this.log.segmentList) {
      if (seg.nextOffset <= this._recoveryPoint && !(seg === active && seg.isEmpty)) continue
      if (seg.baseOffset >= target && !seg.isEmpty) continue
      seg.writeIndexes()
      work.push(this.flushSegment(seg, seg !== active))
    }
    if (dirty) work.push(this.io.fsyncDir(this.log.dir))
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
      if (!this.log.segmentList.includes(seg)) return
      throw err
    }
  }
}
