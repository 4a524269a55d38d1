// AppendQueue: the order in which a leader's appends get their offsets and reach the active
// segment (Kafka does it under the log's lock). enqueue() assigns offsets and updates the producer
// state at once, in call order, unless a roll must wait, so a later call always gets later offsets.
// One write at a time per partition: everything assigned while one is in flight goes into the next
// (group write, up to 1 MiB). A write of poolWriteMinBytes or more is one pwritev on the libuv
// pool, so the copy into the page cache runs off the event loop; a smaller one (by default every
// one) is a synchronous pwrite inside the call that started it. A write that completes moves the
// log end offset, so reads never see bytes before they are in the file; then its appends are
// answered (durable ones after a flush that covers their last offset, concurrent ones sharing one
// fsync). A roll waits until nothing is in flight, and the appends behind it wait in order. A
// failed write takes the partition offline and rejects it and every append behind it: none of them
// is acknowledged. Request bytes handed to enqueue() are written from where they lie: the caller
// keeps them unchanged until the promise settles.
//
// Concurrency: single-threaded, owned by one PartitionLog (partition-log.ts), which it reaches
// through AppendLog.
import { KafkaStorageError, type StorageError } from './errors.js'
import { assignOffsets, type ValidatedRecords } from './log-validator.js'
import type { ProducerStateManager } from './producer-state.js'
import type { LogSegment } from './segment.js'

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

/** What the queue needs of the log it appends to. */
export interface AppendLog {
  readonly name: string
  readonly active: LogSegment
  readonly producerState: ProducerStateManager
  readonly logEndOffset: number
  readonly logStartOffset: number
  readonly leaderEpoch: number
  readonly poolWriteMinBytes: number
  /** The error appends fail with while the log is offline or closed; undefined while it takes them. */
  refusal(): StorageError | undefined
  /** Rolls to a new active segment; called only while nothing is in flight. */
  rollSegment(): void
  markOffline(err: unknown, op: string): void
  /** Written up to `end` (exclusive): the log end offset moves there. */
  advance(end: number): void
  /** Appends landed: wakes readers waiting for them. */
  appended(): void
  /** After their answers: a background flush when flush.messages is reached. */
  flushWhenDue(): void
  /** Resolves once everything below `offset` is fsynced. */
  syncTo(offset: number): Promise<void>
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

export class AppendQueue {
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

  constructor(private readonly log: AppendLog) {}

  /** Queues validated records (or a marker) for offsets and a write; resolves as described above. */
  enqueue(v: ValidatedRecords, marker: QueuedAppend['marker'], durable: boolean): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      const a: QueuedAppend = { v, marker, durable, resolve, reject, result: undefined, writes: true }
      if (this.waiting.length > 0 || !this.assign(a)) this.waiting.push(a)
      else this.startWrite()
    })
  }

  /** Nothing assigned and unwritten, and no write in flight: the active segment may roll. */
  get writesSettled(): boolean {
    return this.writing === undefined && this.unwritten.length === 0
  }

  /** Anything queued or in flight. */
  get pending(): boolean {
    return !this.writesSettled || this.waiting.length > 0
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.pending) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /**
   * Gives `a` its offsets (rolling first when due) and queues it for the next write, or answers
   * it when the producer state refuses it or knows it already. False, with nothing changed, when
   * a roll is due while earlier appends are still unwritten: `a` must wait for them.
   */
  private assign(a: QueuedAppend): boolean {
    const log = this.log
    const v = a.v
    const pb = v.producer
    try {
      // A roll that failed just before took the partition offline; what waited behind it fails too.
      const refused = log.refusal()
      if (refused !== undefined) throw refused
      if (a.marker !== undefined) log.producerState.checkMarker(a.marker)
      else if (pb !== undefined) {
        const duplicate = log.producerState.check(pb)
        if (duplicate !== undefined) {
          a.result = { baseOffset: duplicate.firstOffset, lastOffset: duplicate.lastOffset, logAppendTime: -1, logStartOffset: log.logStartOffset }
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
    const baseOffset = settled ? log.logEndOffset : this.nextOffset
    let count = 0
    for (const b of v.batches) count += b.lastOffsetDelta + 1
    const roll = log.active.shouldRoll({
      messagesSize: this.writingBytes + this.unwrittenBytes + v.records.length,
      maxTimestampInMessages: v.maxTimestamp,
      maxOffsetInMessages: baseOffset + count - 1,
      now: Date.now(),
      pendingBatches: this.writingBatches + this.unwrittenBatches,
    })
    if (roll) {
      if (!settled) return false
      try {
        log.rollSegment()
      } catch (err) {
        log.markOffline(err, 'append')
        a.reject(new KafkaStorageError(`append to ${log.name} failed`, { cause: err }))
        return true
      }
    }
    const next = assignOffsets(v, baseOffset, log.leaderEpoch)
    if (pb !== undefined && a.marker === undefined) log.producerState.update(pb, baseOffset)
    a.result = { baseOffset, lastOffset: next - 1, logAppendTime: v.logAppendTime, logStartOffset: log.logStartOffset }
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
    const seg = this.log.active
    if (bytes < this.log.poolWriteMinBytes) {
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
    const refused = this.log.refusal()
    if (refused !== undefined) {
      // Offline or closed while the write was in flight: the bytes may be in the file, but the
      // partition can no longer vouch for them.
      this.failQueued(appends, refused)
      return
    }
    for (const a of appends) {
      if (!a.writes) continue
      this.log.advance(a.result!.lastOffset + 1)
      if (a.marker !== undefined && !this.closeTxn(a)) return this.failQueued(appends, this.log.refusal())
    }
    this.log.appended()
    for (const a of appends) this.answer(a)
    this.log.flushWhenDue()
    while (this.waiting.length > 0 && this.assign(this.waiting[0]!)) this.waiting.shift()
    this.startWrite()
    if (!this.pending) for (const w of this.idleWaiters.splice(0)) w()
  }

  /** A written marker closes its producer's transaction; an abort is indexed. False when that failed. */
  private closeTxn(a: QueuedAppend): boolean {
    const aborted = this.log.producerState.completeTxn({ ...a.marker!, offset: a.result!.baseOffset })
    if (aborted === undefined) return true
    try {
      this.log.active.txnIndex.append(aborted)
      return true
    } catch (err) {
      this.log.markOffline(err, 'transaction index append')
      return false
    }
  }

  private answer(a: QueuedAppend): void {
    const result = a.result!
    if (a.durable) this.log.syncTo(result.lastOffset + 1).then(() => a.resolve(result), a.reject)
    else a.resolve(result)
  }

  private writeFailed(appends: QueuedAppend[], err: unknown): void {
    this.log.markOffline(err, 'append')
    this.failQueued(appends, new KafkaStorageError(`append to ${this.log.name} failed`, { cause: err }))
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
}
