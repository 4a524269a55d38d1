// PartitionLog: one partition's log as the broker sees it (Kafka's UnifiedLog): appends, reads,
// DeleteRecords and the producer state, on LocalLog (local-log.ts), which owns the segments, the
// offsets, flushing, truncation and the offline state. Beside it: log-reader.ts (reads) and
// LogValidator (produce rules).
//
// Concurrency: single-threaded; a leader's appends are ordered by its AppendQueue
// (append-queue.ts: offsets in call order, one group write in flight, durable answers after a
// flush). A follower's appendAsFollower writes synchronously and waits for no queue: a log takes
// one kind of append or the other, and one that just stopped leading takes a fetched run only
// once its queue is empty. A roll waits until no append is in flight.
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
import { validateOrThrow, type ValidatedRecords } from './log-validator.js'
import { AppendQueue, type AppendLog, type AppendResult, type TxnMarkerInput } from './append-queue.js'
import type { LogSegment } from './segment.js'
import type { AbortedTxn } from './txn-index.js'
import { applyBatchToProducerState } from './log-loader.js'
import { CorruptRecordError } from './errors.js'
import { batchSizeAt, checkBatch, readBaseOffset, readLastOffset, readMaxTimestamp, readPartitionLeaderEpoch } from '../protocol/record-batch.js'

export type { ReadResult } from './log-reader.js'
export type { AppendResult, TxnMarkerInput } from './append-queue.js'
export { POOL_WRITE_MIN_BYTES } from './local-log.js'
export type { PartitionLogOptions } from './local-log.js'

export class PartitionLog extends LocalLog {
  private readonly queue = new AppendQueue(this.appendLog())

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
    return this.queue.enqueue(v, undefined, opts?.durable ?? false)
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
    return this.queue.enqueue(v, { ...m, timestamp }, opts?.durable !== false)
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
    this.flushWhenDue()
    this.notifyListeners()
    return this._logEndOffset
  }

  /** flush.messages: a flush in the background once that many records are past the recovery point. */
  private flushWhenDue(): void {
    if (this._logEndOffset - this.recoveryPoint >= this.config.flushMessages) this.flushInBackground()
  }

  private notLeader(): NotLeaderError {
    return new NotLeaderError(`${this.name} is a follower here: its leader's broker takes the writes`)
  }

  /** What the append queue reaches of this log. */
  private appendLog(): AppendLog {
    const log = this
    return {
      get name() {
        return log.name
      },
      get active() {
        return log.active
      },
      get producerState() {
        return log.producerState
      },
      get logEndOffset() {
        return log._logEndOffset
      },
      get logStartOffset() {
        return log._logStartOffset
      },
      get leaderEpoch() {
        return log.leaderEpoch
      },
      get poolWriteMinBytes() {
        return log.poolWriteMinBytes
      },
      refusal: () => (this._offline || this.closed ? this.storageError() : undefined),
      rollSegment: () => void this.roll(),
      markOffline: (err, op) => this.markOffline(err, op),
      advance: (end) => {
        this._logEndOffset = end
      },
      appended: () => this.notifyListeners(),
      flushWhenDue: () => this.flushWhenDue(),
      syncTo: (offset) => this.syncTo(offset),
    }
  }

  protected override get appendsPending(): boolean {
    return this.queue.pending
  }

  /** An append's write in flight goes to the active segment, which must stay active until it lands. */
  override roll(): LogSegment {
    if (!this.queue.writesSettled) throw new Error(`cannot roll ${this.name} while appends are being written`)
    return super.roll()
  }

  protected override appendsIdle(): Promise<void> {
    return this.queue.idle()
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
