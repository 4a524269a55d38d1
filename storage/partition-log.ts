// PartitionLog: one partition's log as the broker sees it (Kafka's UnifiedLog): appends, reads,
// DeleteRecords and the producer state, on LocalLog (local-log.ts), which owns the segments, the
// offsets, flushing, truncation and the offline state. Beside it: log-reader.ts (reads) and
// LogValidator (produce rules).
//
// Concurrency: single-threaded; appends are ordered by a queue (Kafka does it under the log's
// lock). append() validates and, unless a roll must wait, assigns offsets and updates the producer
// state at once, in call order, so a later call always gets later offsets. One write at a time
// per partition: everything assigned while one is in flight goes into the next (group write, up
// to 1 MiB). A write of poolWriteMinBytes or more is one pwritev on the libuv pool, so the copy
// into the page cache runs off the event loop; a smaller one (by default every one) is a
// synchronous pwrite inside the call that started it. A follower's appendAsFollower writes
// synchronously and waits for no queue: a log takes one kind of append or the other, and one that
// just stopped leading takes a fetched run only once its queue is empty. A write that completes
// moves the segment's size and the log end offset, so reads never see bytes before they are in
// the file; then its appends are answered (durable ones after a flush that covers their last
// offset, concurrent ones sharing one fsync). A roll waits until nothing is in flight, and the
// appends behind it wait in order. A failed write takes the partition offline and rejects it and
// every append behind it: none of them is acknowledged. Request bytes handed to append() are
// written from where they lie: the caller keeps them unchanged until the promise settles.
//
// Idempotent and transactional producers: each producer batch is checked against the
// partition's ProducerStateManager before it gets offsets (a retried batch answers with its
// original offsets and is not written again); transaction markers close open transactions, and
// aborts are indexed in the segment's TxnIndex. The producer state is snapshotted on every roll
// and on clean close, and rebuilt on open by replaying the batches after the newest snapshot.
import { ControlType, encodeControlBatch } from '../protocol/control-records.js'
import { KafkaStorageError, NotLeaderError, OffsetOutOfRangeError, type StorageError } from './errors.js'
import { LocalLog, type PartitionLogOptions } from './local-log.js'
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
import type { LogSegment } from './segment.js'
import type { AbortedTxn } from './txn-index.js'
import { applyBatchToProducerState } from './log-loader.js'
import { CorruptRecordError } from './errors.js'
import { batchSizeAt, checkBatch, readBaseOffset, readLastOffset, readMaxTimestamp, readPartitionLeaderEpoch } from '../protocol/record-batch.js'

export type { ReadResult } from './log-reader.js'
export { POOL_WRITE_MIN_BYTES } from './local-log.js'
export type { PartitionLogOptions } from './local-log.js'

export interface AppendResult {
  baseOffset: number
  lastOffset: number
  /** -1 unless the batches were stamped with LogAppendTime. */
  logAppendTime: number
  logStartOffset: number
}

/** A transaction marker the coordinator writes. */
export interface TxnMarkerInput {
  producerId: number
  producerEpoch: number
  coordinatorEpoch: number
  commit: boolean
}

/**
 * The most one write takes from the queue. Larger page-cache writes got slower per byte here (16
 * appends of 1 MiB in flight on one partition: 3x the time per append with every queued append in
 * one pwritev, bench/micro/append-write.bench.ts).
 */
const GROUP_WRITE_MAX_BYTES = 1 << 20

/** An append in the queue: validated, waiting for offsets, a write or its answer. */
interface QueuedAppend {
  v: ValidatedRecords
  /** A transaction marker: its producer's transaction is closed once it is written. */
  marker: (TxnMarkerInput & { timestamp: number }) | undefined
  durable: boolean
  resolve: (r: AppendResult) => void
  reject: (err: unknown) => void
  /** Set when offsets are assigned. */
  result: AppendResult | undefined
  /** False for a retried producer batch: answered with its original offsets once those are written. */
  writes: boolean
}

export class PartitionLog extends LocalLog {
  /** Waiting for offsets behind a roll that waits for the write in flight; oldest first. */
  private waiting: QueuedAppend[] = []
  /** Offsets assigned, bytes not yet handed to a write; oldest first. */
  private unwritten: QueuedAppend[] = []
  private unwrittenBytes = 0
  private unwrittenBatches = 0
  /** The appends whose pwritev is in flight, and its size. */
  private writing: QueuedAppend[] | undefined
  private writingBytes = 0
  private writingBatches = 0
  /** The next offset to assign: the log end offset plus what is assigned and not yet written. */
  private nextOffset = 0
  /** Resolved once nothing is queued or in flight. */
  private idleWaiters: Array<() => void> = []

  /** Opens (creating if needed) the partition directory, recovering it after an unclean stop. */
  static open(opts: PartitionLogOptions): PartitionLog {
    return new PartitionLog(opts)
  }

  addAppendListener(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /**
   * Appends records the validator has passed (validateRecords), or raw bytes, which are validated
   * here as a client's; resolves once written, durable appends once fsynced. `logAppendTime`
   * stamps raw bytes. Rejects with RecordValidationError for invalid input, with the producer
   * state's error for a batch it refuses, and with KAFKA_STORAGE_ERROR when the write fails. A
   * retried producer batch (one of the producer's last five) is not written again: the result
   * carries its original offsets. The bytes must stay unchanged until the promise settles.
   */
  append(records: Uint8Array | ValidatedRecords, opts?: { durable?: boolean; logAppendTime?: number }): Promise<AppendResult> {
    let v: ValidatedRecords
    try {
      if (this._offline || this.closed) throw this.storageError()
      if (this.follower) throw this.notLeader()
      v = records instanceof Uint8Array ? validateOrThrow(records, this.config, { logAppendTime: opts?.logAppendTime, partition: this.name }) : records
    } catch (err) {
      return Promise.reject(err)
    }
    return this.enqueue(v, undefined, opts?.durable ?? false)
  }

  /**
   * Appends a transaction marker (a control batch) for the coordinator: closes the producer's
   * open transaction on this partition and indexes it when aborted. Durable unless told otherwise.
   */
  appendTxnMarker(m: TxnMarkerInput, opts?: { durable?: boolean }): Promise<AppendResult> {
    let v: ValidatedRecords
    const timestamp = Date.now()
    try {
      if (this._offline || this.closed) throw this.storageError()
      if (this.follower) throw this.notLeader()
      const batch = encodeControlBatch({
        type: m.commit ? ControlType.Commit : ControlType.Abort,
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        coordinatorEpoch: m.coordinatorEpoch,
        timestamp,
        partitionLeaderEpoch: this.leaderEpoch,
      })
      v = validateOrThrow(batch, this.config, { origin: 'coordinator', now: timestamp, partition: this.name })
    } catch (err) {
      return Promise.reject(err)
    }
    return this.enqueue(v, { ...m, timestamp }, opts?.durable !== false)
  }

  /**
   * Appends batches fetched from the partition's leader as they are (Kafka's appendAsFollower):
   * their offsets and leader epochs are the leader's, only framing and CRC are checked, a partial
   * batch at the end (a fetch cut short) is left for the next fetch. Producer state and
   * transaction markers are applied as on replay; a batch of a newer leader epoch records that
   * epoch's start. Returns the new log end offset. Throws CORRUPT_MESSAGE on a bad batch or one
   * that does not start at or past the log end.
   */
  appendAsFollower(records: Uint8Array): number {
    if (this._offline || this.closed) throw this.storageError()
    // Appends taken while it led are still being written: nothing is appended now, and the fetch
    // from the same offset comes again.
    if (this.appendsPending) return this._logEndOffset
    const whole = wholeBatches(records, this._logEndOffset, this.name)
    if (whole.length === 0) return this._logEndOffset
    let pos = 0
    let lastOffset = this._logEndOffset - 1
    let maxTimestamp = -1
    while (pos < whole.length) {
      lastOffset = readLastOffset(whole, pos)
      const ts = readMaxTimestamp(whole, pos)
      if (ts > maxTimestamp) maxTimestamp = ts
      pos += batchSizeAt(whole, pos)
    }
    try {
      if (this.active.shouldRoll({ messagesSize: whole.length, maxTimestampInMessages: maxTimestamp, maxOffsetInMessages: lastOffset, now: Date.now() })) this.roll()
      this.active.append(whole)
    } catch (err) {
      this.markOffline(err, 'append')
      throw new KafkaStorageError(`append to ${this.name} failed`, { cause: err })
    }
    this._logEndOffset = lastOffset + 1
    for (pos = 0; pos < whole.length; pos += batchSizeAt(whole, pos)) {
      const epoch = readPartitionLeaderEpoch(whole, pos)
      if (epoch > this.leaderEpochs.latestEpoch) this.leaderEpochs.assign(epoch, readBaseOffset(whole, pos)).catch(() => {})
      const size = batchSizeAt(whole, pos)
      const at = pos
      applyBatchToProducerState(this.producerState, this.active.txnIndex, whole, at, () => whole.subarray(at, at + size), this.logger, this.name)
    }
    if (this._logEndOffset - this.recoveryPoint >= this.config.flushMessages) this.flushInBackground()
    this.notifyAppend()
    return this._logEndOffset
  }

  private notLeader(): NotLeaderError {
    return new NotLeaderError(`${this.name} is a follower here: its leader's broker takes the writes`)
  }

  private enqueue(v: ValidatedRecords, marker: QueuedAppend['marker'], durable: boolean): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      const a: QueuedAppend = { v, marker, durable, resolve, reject, result: undefined, writes: true }
      if (this.waiting.length > 0 || !this.assign(a)) this.waiting.push(a)
      else this.startWrite()
    })
  }

  /** Nothing assigned and unwritten, and no write in flight. */
  private get writesSettled(): boolean {
    return this.writing === undefined && this.unwritten.length === 0
  }

  protected override get appendsPending(): boolean {
    return !this.writesSettled || this.waiting.length > 0
  }

  /** An append's write in flight goes to the active segment, which must stay active until it lands. */
  override roll(): LogSegment {
    if (!this.writesSettled) throw new Error(`cannot roll ${this.name} while appends are being written`)
    return super.roll()
  }

  protected override appendsIdle(): Promise<void> {
    if (!this.appendsPending) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /**
   * Gives `a` its offsets (rolling first when due) and queues it for the next write, or answers
   * it when the producer state refuses it or knows it already. False, with nothing changed, when
   * a roll is due while earlier appends are still unwritten: `a` must wait for them.
   */
  private assign(a: QueuedAppend): boolean {
    const v = a.v
    const pb = v.producer
    try {
      // A roll that failed just before took the partition offline; what waited behind it fails too.
      if (this._offline || this.closed) throw this.storageError()
      if (a.marker !== undefined) this.producerState.checkMarker(a.marker)
      else if (pb !== undefined) {
        const duplicate = this.producerState.check(pb)
        if (duplicate !== undefined) {
          a.result = { baseOffset: duplicate.firstOffset, lastOffset: duplicate.lastOffset, logAppendTime: -1, logStartOffset: this._logStartOffset }
          a.writes = false
          // Answered when the original is written, which may still be ahead of it in the queue.
          if (this.writesSettled) this.answer(a)
          else this.unwritten.push(a)
          return true
        }
      }
    } catch (err) {
      a.reject(err)
      return true
    }
    const settled = this.writesSettled
    const baseOffset = settled ? this._logEndOffset : this.nextOffset
    let count = 0
    for (const b of v.batches) count += b.lastOffsetDelta + 1
    const roll = this.active.shouldRoll({
      messagesSize: this.writingBytes + this.unwrittenBytes + v.records.length,
      maxTimestampInMessages: v.maxTimestamp,
      maxOffsetInMessages: baseOffset + count - 1,
      now: Date.now(),
      pendingBatches: this.writingBatches + this.unwrittenBatches,
    })
    if (roll) {
      if (!settled) return false
      try {
        this.roll()
      } catch (err) {
        this.markOffline(err, 'append')
        a.reject(new KafkaStorageError(`append to ${this.name} failed`, { cause: err }))
        return true
      }
    }
    const next = assignOffsets(v, baseOffset, this.leaderEpoch)
    if (pb !== undefined && a.marker === undefined) this.producerState.update(pb, baseOffset)
    a.result = { baseOffset, lastOffset: next - 1, logAppendTime: v.logAppendTime, logStartOffset: this._logStartOffset }
    this.nextOffset = next
    this.unwritten.push(a)
    this.unwrittenBytes += v.records.length
    this.unwrittenBatches += v.batches.length
    return true
  }

  /** Hands everything assigned to one write, unless one is in flight (its completion comes back here). */
  private startWrite(): void {
    if (this.writing !== undefined || this.unwritten.length === 0) return
    // The oldest appends, up to GROUP_WRITE_MAX_BYTES (at least one); the rest go in the next write.
    let take = 0
    let bytes = 0
    let batches = 0
    const chunks: Uint8Array[] = []
    for (const a of this.unwritten) {
      if (a.writes) {
        if (bytes > 0 && bytes + a.v.records.length > GROUP_WRITE_MAX_BYTES) break
        chunks.push(a.v.records)
        bytes += a.v.records.length
        batches += a.v.batches.length
      }
      take++
    }
    const appends = this.unwritten.splice(0, take)
    this.unwrittenBytes -= bytes
    this.unwrittenBatches -= batches
    if (chunks.length === 0) {
      this.written(appends)
      return
    }
    const seg = this.active
    if (bytes < this.poolWriteMinBytes) {
      try {
        for (const c of chunks) seg.append(c)
      } catch (err) {
        this.writeFailed(appends, err)
        return
      }
      this.written(appends)
      return
    }
    this.writing = appends
    this.writingBytes = bytes
    this.writingBatches = batches
    const settle = (): void => {
      this.writing = undefined
      this.writingBytes = 0
      this.writingBatches = 0
    }
    seg.appendAsync(chunks).then(
      () => {
        settle()
        this.written(appends)
      },
      (err: unknown) => {
        settle()
        this.writeFailed(appends, err)
      },
    )
  }

  /** `appends` are in the file: move the log end, answer them, and start what queued up behind. */
  private written(appends: QueuedAppend[]): void {
    if (this._offline || this.closed) {
      // Offline or closed while the write was in flight: the bytes may be in the file, but the
      // partition can no longer vouch for them.
      this.failQueued(appends, this.storageError())
      return
    }
    for (const a of appends) {
      if (!a.writes) continue
      this._logEndOffset = a.result!.lastOffset + 1
      if (a.marker !== undefined && !this.closeTxn(a)) return this.failQueued(appends, this.storageError())
    }
    this.notifyAppend()
    for (const a of appends) this.answer(a)
    if (this._logEndOffset - this.recoveryPoint >= this.config.flushMessages) this.flushInBackground()
    while (this.waiting.length > 0 && this.assign(this.waiting[0]!)) this.waiting.shift()
    this.startWrite()
    if (!this.appendsPending) for (const w of this.idleWaiters.splice(0)) w()
  }

  /** A written marker closes its producer's transaction; an abort is indexed. False when that failed. */
  private closeTxn(a: QueuedAppend): boolean {
    const aborted = this.producerState.completeTxn({ ...a.marker!, offset: a.result!.baseOffset })
    if (aborted === undefined) return true
    try {
      this.active.txnIndex.append(aborted)
      return true
    } catch (err) {
      this.markOffline(err, 'transaction index append')
      return false
    }
  }

  private answer(a: QueuedAppend): void {
    const result = a.result!
    if (a.durable) this.syncTo(result.lastOffset + 1).then(() => a.resolve(result), a.reject)
    else a.resolve(result)
  }

  private writeFailed(appends: QueuedAppend[], err: unknown): void {
    this.markOffline(err, 'append')
    this.failQueued(appends, new KafkaStorageError(`append to ${this.name} failed`, { cause: err }))
  }

  /** Rejects `appends` and everything queued behind them; none of it is acknowledged. */
  private failQueued(appends: QueuedAppend[], err: unknown): void {
    const rest = [...this.unwritten, ...this.waiting]
    this.unwritten = []
    this.unwrittenBytes = 0
    this.unwrittenBatches = 0
    this.waiting = []
    for (const a of appends) a.reject(err)
    for (const a of rest) a.reject(err)
    for (const w of this.idleWaiters.splice(0)) w()
  }

  private notifyAppend(): void {
    this.notifyListeners()
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
      if (!this.leaderEpochs.isEmpty) this.leaderEpochs.truncateFromStart(target).catch(() => {})
      this.deleteSegments(this.segments.below(this._logStartOffset), 'log start offset')
    }
    return this._logStartOffset
  }
}

/** The whole batches of a fetched run, checked; a trailing partial batch is left out. */
function wholeBatches(records: Uint8Array, logEndOffset: number, name: string): Uint8Array {
  let pos = 0
  let expected = logEndOffset
  while (pos < records.length) {
    const c = checkBatch(records, pos, { verifyCrc: true })
    if (!c.ok) {
      if (c.message.startsWith('truncated batch')) break
      throw new CorruptRecordError(`replicated batch at position ${pos} of ${name}: ${c.message}`)
    }
    if (c.header.baseOffset < expected) {
      throw new CorruptRecordError(`replicated batch at offset ${c.header.baseOffset} of ${name} does not follow offset ${expected - 1}`)
    }
    expected = c.header.baseOffset + c.header.lastOffsetDelta + 1
    pos += c.size
  }
  return pos === records.length ? records : records.subarray(0, pos)
}
