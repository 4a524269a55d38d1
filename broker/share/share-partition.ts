// The state of one share partition (KIP-932): which records of one topic partition a share group
// has delivered, to whom, and what became of them. Kafka's SharePartition is the model. Records
// below the share-partition start offset (SPSO) are done with; from the SPSO up to the end offset
// (SPEO, exclusive here) every offset is in flight with a state and a delivery count; offsets from
// the SPEO on have never been delivered.
//
//   Available --acquire--> Acquired --Accept--> Acknowledged
//                             |  \----Reject / Gap----> Archived
//                             \--Release / lock expiry / member gone--> Available
//                                  (Archived instead once delivered delivery.count.limit times)
//
// Every state change goes through `acquireAt`, `complete` or `giveBack` below, and every archive
// through `archive`, which reports it to `onArchive`: the hook a dead-letter writer plugs into
// (reason "rejected" or "delivery-limit"; records never deliverable are archived as "skipped").
// With a dead-letter topic (share-dead-letter.ts), a rejected or exhausted record is held (Acquired
// by a dead-letter token, persisted as Available) until `settleDeadLetter` says whether its
// dead-letter record was written: then it is archived, else it is Available again. With retry
// back-off, a record given back is not acquirable before its `availableAt`.
// The SPSO moves past the prefix of Acknowledged and Archived records. At most maxRecordLocks
// offsets are in flight: acquisition does not extend the window past SPSO + maxRecordLocks.
// Offsets are kept one slot each (the window is bounded by maxRecordLocks). Time comes from the
// injected clock. Single-threaded: every call runs to completion on the event loop.
import { ErrorCode } from '../../protocol/errors.js'

export const RecordState = { Available: 0, Acquired: 1, Acknowledged: 2, Archived: 4 } as const
export type RecordState = (typeof RecordState)[keyof typeof RecordState]

/** Acknowledgement types as ShareFetch and ShareAcknowledge carry them (v1: 0-3). */
export const AcknowledgeType = { Gap: 0, Accept: 1, Release: 2, Reject: 3 } as const
export const MAX_ACKNOWLEDGE_TYPE = AcknowledgeType.Reject

export type ArchiveReason = 'rejected' | 'delivery-limit' | 'skipped' | 'gap'

/** Records archived by one state change, reported to the dead-letter hook. */
export interface ArchivedRecords {
  firstOffset: number
  lastOffset: number
  /** Times the records were delivered (0 for records never deliverable). */
  deliveryCount: number
  reason: ArchiveReason
}

export interface SharePartitionSettings {
  now: () => number
  /** share.record.lock.duration.ms: how long an acquired record stays locked to its member. */
  lockDurationMs: () => number
  /** group.share.delivery.count.limit: deliveries after which a released record is archived. */
  deliveryCountLimit: number
  /** group.share.partition.max.record.locks: offsets in flight at most. */
  maxRecordLocks: number
  /** Called for every archive; a dead-letter writer hooks in here. */
  onArchive?: (records: ArchivedRecords) => void
  /** Whether rejected and exhausted records go to a dead-letter topic before they are archived. */
  deadLetters?: () => boolean
  /** Called when a record is held for its dead-letter write; the write settles it with `token`. */
  onDeadLetter?: (records: ArchivedRecords, token: string) => void
  /** How long a record given back after `deliveryCount` deliveries waits before its next one (0: none). */
  retryDelayMs?: (deliveryCount: number) => number
}

/** Kafka's persisted state batch: Acquired is stored as Available (its lock does not survive). */
export interface StateBatch {
  firstOffset: number
  lastOffset: number
  deliveryState: number
  deliveryCount: number
}

export interface SharePartitionSnapshot {
  startOffset: number
  stateEpoch: number
  stateBatches: StateBatch[]
}

export interface AcquiredRange {
  firstOffset: number
  lastOffset: number
  deliveryCount: number
}

/** One log batch offered for acquisition; `deliverable` is false for control and aborted batches. */
export interface OfferedBatch {
  baseOffset: number
  lastOffset: number
  deliverable: boolean
}

export interface AcknowledgementBatch {
  firstOffset: number
  lastOffset: number
  acknowledgeTypes: readonly number[]
}

interface Slot {
  state: RecordState
  deliveryCount: number
  memberId: string | null
  lockDeadline: number
  /** Retry back-off: not acquirable before this time. */
  availableAt: number
}

const DEAD_LETTER_TOKEN = '\u0000dead-letter:'
let deadLetterSeq = 0

export class SharePartition {
  private start: number
  private slots: Slot[] = []
  private epoch: number
  /** The earliest lock deadline among acquired records, or Infinity. */
  private earliestDeadline = Number.POSITIVE_INFINITY
  /** The earliest back-off end among Available records, or Infinity. */
  private earliestRetry = Number.POSITIVE_INFINITY

  constructor(
    private readonly settings: SharePartitionSettings,
    initial: SharePartitionSnapshot,
  ) {
    this.start = initial.startOffset
    this.epoch = initial.stateEpoch
    this.load(initial)
  }

  /** SPSO: every offset below it is done with. */
  get startOffset(): number {
    return this.start
  }

  /** SPEO, exclusive: the first offset never delivered. */
  get endOffset(): number {
    return this.start + this.slots.length
  }

  get stateEpoch(): number {
    return this.epoch
  }

  /** Records in the window acquired by a member, and those waiting to be delivered again. */
  inFlight(): { acquired: number; available: number } {
    let acquired = 0
    let available = 0
    for (const s of this.slots) {
      if (s.state === RecordState.Acquired) acquired++
      else if (s.state === RecordState.Available) available++
    }
    return { acquired, available }
  }

  /** When the next acquisition lock runs out (Infinity when nothing is acquired). */
  get nextLockDeadline(): number {
    return this.earliestDeadline
  }

  /** Where a fetch should read from: the first Available offset in flight, else the SPEO. */
  nextFetchOffset(now = this.settings.now()): number {
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i]!.state === RecordState.Available && this.slots[i]!.availableAt <= now) return this.start + i
    return this.endOffset
  }

  /**
   * True once a record waiting out its retry back-off has become acquirable since the last call
   * (the manager's timer then wakes parked fetches).
   */
  retryDue(now = this.settings.now()): boolean {
    if (now < this.earliestRetry) return false
    let earliest = Number.POSITIVE_INFINITY
    for (const s of this.slots) if (s.state === RecordState.Available && s.availableAt > now && s.availableAt < earliest) earliest = s.availableAt
    this.earliestRetry = earliest
    return true
  }

  /**
   * The dead-letter write for the record held with `token` is done: archived when `written`, else
   * Available again. False when the record is no longer held (reset, truncated, settled).
   */
  settleDeadLetter(offset: number, token: string, written: boolean): boolean {
    const s = this.slots[offset - this.start]
    if (s === undefined || s.state !== RecordState.Acquired || s.memberId !== token) return false
    if (written) {
      s.state = RecordState.Archived
      s.memberId = null
      this.settings.onArchive?.({ firstOffset: offset, lastOffset: offset, deliveryCount: s.deliveryCount, reason: token.endsWith(':rejected') ? 'rejected' : 'delivery-limit' })
      this.advanceStart()
    } else {
      s.state = RecordState.Available
      s.memberId = null
      s.availableAt = 0
    }
    return true
  }

  /**
   * Where a fetch reading from nextFetchOffset() may stop (exclusive): past `maxRecords` acquirable
   * records in flight, or as many new records past the SPEO, and never past the window limit.
   */
  acquisitionEnd(maxRecords: number, now = this.settings.now()): number {
    let wanted = maxRecords
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i]!
      if (s.state === RecordState.Available && s.availableAt <= now && --wanted <= 0) return this.start + i + 1
    }
    return Math.min(this.endOffset + wanted, this.start + this.settings.maxRecordLocks)
  }

  /** False when nothing in flight is Available and the window is full. */
  canAcquire(): boolean {
    return this.slots.length < this.settings.maxRecordLocks || this.nextFetchOffset() < this.endOffset
  }

  stateOf(offset: number): { state: RecordState; deliveryCount: number; memberId: string | null } | undefined {
    const s = this.slots[offset - this.start]
    return s === undefined ? undefined : { state: s.state, deliveryCount: s.deliveryCount, memberId: s.memberId }
  }

  /**
   * Acquires for `memberId` the Available and new records of `batches` (ascending, as read from the
   * log at nextFetchOffset()), whole batches until at least `maxRecords` are acquired, never past
   * the window limit. Records that cannot be delivered are archived, never acquired.
   */
  acquire(memberId: string, batches: readonly OfferedBatch[], maxRecords: number): AcquiredRange[] {
    this.expireLocks()
    const out: AcquiredRange[] = []
    const now = this.settings.now()
    const deadline = now + this.settings.lockDurationMs()
    const limit = this.start + this.settings.maxRecordLocks
    let acquired = 0
    for (const b of batches) {
      if (acquired >= maxRecords) break
      for (let offset = Math.max(b.baseOffset, this.start); offset <= b.lastOffset; offset++) {
        if (offset >= this.endOffset) {
          if (offset >= limit) return out
          // Offsets missing from the log (compacted away, or below a batch) were never records.
          while (this.endOffset < offset) this.slots.push(slot(RecordState.Archived, 0))
          this.slots.push(slot(RecordState.Available, 0))
        }
        const s = this.slots[offset - this.start]!
        if (s.state !== RecordState.Available || s.availableAt > now) continue
        if (!b.deliverable) {
          this.archive(offset, offset, 'skipped')
          continue
        }
        this.acquireAt(s, memberId, deadline)
        acquired++
        const last = out[out.length - 1]
        if (last !== undefined && last.lastOffset === offset - 1 && last.deliveryCount === s.deliveryCount) last.lastOffset = offset
        else out.push({ firstOffset: offset, lastOffset: offset, deliveryCount: s.deliveryCount })
      }
    }
    this.advanceStart()
    return out
  }

  /**
   * Applies one member's acknowledgements, all or none: NONE, or INVALID_RECORD_STATE when any
   * offset is not a record this member holds (never delivered, already done with, another member's,
   * or its lock ran out). The batches must already have passed validateAcknowledgementBatches.
   */
  acknowledge(memberId: string, batches: readonly AcknowledgementBatch[]): number {
    this.expireLocks()
    for (const b of batches) {
      if (b.firstOffset < this.start || b.lastOffset >= this.endOffset) return ErrorCode.INVALID_RECORD_STATE
      for (let offset = b.firstOffset; offset <= b.lastOffset; offset++) {
        const s = this.slots[offset - this.start]!
        if (s.state !== RecordState.Acquired || s.memberId !== memberId) return ErrorCode.INVALID_RECORD_STATE
      }
    }
    for (const b of batches) {
      for (let offset = b.firstOffset; offset <= b.lastOffset; offset++) {
        const type = b.acknowledgeTypes.length === 1 ? b.acknowledgeTypes[0]! : b.acknowledgeTypes[offset - b.firstOffset]!
        this.complete(offset, type)
      }
    }
    this.advanceStart()
    return ErrorCode.NONE
  }

  /** Gives back every record `memberId` holds (its share session closed, or it left the group). */
  releaseMember(memberId: string): number {
    let released = 0
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i]!
      if (s.state === RecordState.Acquired && s.memberId === memberId) {
        this.giveBack(this.start + i)
        released++
      }
    }
    if (released > 0) this.recomputeDeadline()
    this.advanceStart()
    return released
  }

  /** Gives back the records whose acquisition lock ran out; returns how many. */
  expireLocks(now = this.settings.now()): number {
    if (now < this.earliestDeadline) return 0
    let expired = 0
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i]!
      if (s.state === RecordState.Acquired && s.lockDeadline <= now) {
        this.giveBack(this.start + i)
        expired++
      }
    }
    this.recomputeDeadline()
    this.advanceStart()
    return expired
  }

  /**
   * Starts over at `startOffset` with nothing in flight (AlterShareGroupOffsets, or a start offset
   * the log no longer has); the state epoch moves.
   */
  reset(startOffset: number): void {
    this.start = startOffset
    this.slots = []
    this.epoch++
    this.earliestDeadline = Number.POSITIVE_INFINITY
    this.earliestRetry = Number.POSITIVE_INFINITY
  }

  /** The records below the log start offset are gone: the SPSO moves up to it. */
  truncateTo(logStartOffset: number): void {
    if (logStartOffset <= this.start) return
    const drop = Math.min(logStartOffset - this.start, this.slots.length)
    this.slots.splice(0, drop)
    this.start = logStartOffset
    this.recomputeDeadline()
  }

  /** What is persisted: ranges of equal state and delivery count, Acquired written as Available. */
  snapshot(): SharePartitionSnapshot {
    const stateBatches: StateBatch[] = []
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i]!
      const state = s.state === RecordState.Acquired ? RecordState.Available : s.state
      const last = stateBatches[stateBatches.length - 1]
      if (last !== undefined && last.deliveryState === state && last.deliveryCount === s.deliveryCount) last.lastOffset++
      else stateBatches.push({ firstOffset: this.start + i, lastOffset: this.start + i, deliveryState: state, deliveryCount: s.deliveryCount })
    }
    return { startOffset: this.start, stateEpoch: this.epoch, stateBatches }
  }

  // ---- The transitions: every state change happens below ---------------------------------------

  private acquireAt(s: Slot, memberId: string, deadline: number): void {
    s.state = RecordState.Acquired
    s.deliveryCount++
    s.memberId = memberId
    s.lockDeadline = deadline
    if (deadline < this.earliestDeadline) this.earliestDeadline = deadline
  }

  /** An acknowledgement of an Acquired record. */
  private complete(offset: number, type: number): void {
    const s = this.slots[offset - this.start]!
    if (type === AcknowledgeType.Accept) {
      s.state = RecordState.Acknowledged
      s.memberId = null
    } else if (type === AcknowledgeType.Release) {
      this.giveBack(offset)
    } else {
      this.archive(offset, offset, type === AcknowledgeType.Reject ? 'rejected' : 'gap')
    }
  }

  /** An Acquired record returns to Available, or is archived once delivered often enough. */
  private giveBack(offset: number): void {
    const s = this.slots[offset - this.start]!
    if (s.deliveryCount >= this.settings.deliveryCountLimit) {
      this.archive(offset, offset, 'delivery-limit')
      return
    }
    s.state = RecordState.Available
    s.memberId = null
    const delay = this.settings.retryDelayMs?.(s.deliveryCount) ?? 0
    s.availableAt = delay > 0 ? this.settings.now() + delay : 0
    if (delay > 0 && s.availableAt < this.earliestRetry) this.earliestRetry = s.availableAt
  }

  private archive(firstOffset: number, lastOffset: number, reason: ArchiveReason): void {
    if ((reason === 'rejected' || reason === 'delivery-limit') && this.settings.deadLetters?.() === true) {
      for (let offset = firstOffset; offset <= lastOffset; offset++) {
        const s = this.slots[offset - this.start]!
        const token = `${DEAD_LETTER_TOKEN}${++deadLetterSeq}:${reason}`
        s.state = RecordState.Acquired
        s.memberId = token
        s.lockDeadline = Number.POSITIVE_INFINITY
        this.settings.onDeadLetter?.({ firstOffset: offset, lastOffset: offset, deliveryCount: s.deliveryCount, reason }, token)
      }
      return
    }
    let deliveryCount = 0
    for (let offset = firstOffset; offset <= lastOffset; offset++) {
      const s = this.slots[offset - this.start]!
      s.state = RecordState.Archived
      s.memberId = null
      deliveryCount = s.deliveryCount
    }
    this.settings.onArchive?.({ firstOffset, lastOffset, deliveryCount, reason })
  }

  /** The SPSO moves past the prefix of Acknowledged and Archived records. */
  private advanceStart(): void {
    let done = 0
    while (done < this.slots.length) {
      const state = this.slots[done]!.state
      if (state !== RecordState.Acknowledged && state !== RecordState.Archived) break
      done++
    }
    if (done === 0) return
    this.slots.splice(0, done)
    this.start += done
  }

  private recomputeDeadline(): void {
    let earliest = Number.POSITIVE_INFINITY
    for (const s of this.slots) if (s.state === RecordState.Acquired && s.lockDeadline < earliest) earliest = s.lockDeadline
    this.earliestDeadline = earliest
  }

  private load(snapshot: SharePartitionSnapshot): void {
    for (const b of [...snapshot.stateBatches].sort((x, y) => x.firstOffset - y.firstOffset)) {
      const from = Math.max(b.firstOffset, this.start)
      if (b.lastOffset < from) continue
      // Offsets not covered by any batch were never delivered: the window stops at the first hole.
      if (from > this.endOffset) break
      const state = b.deliveryState === RecordState.Acknowledged || b.deliveryState === RecordState.Archived ? b.deliveryState : RecordState.Available
      for (let offset = Math.max(from, this.endOffset); offset <= b.lastOffset; offset++) this.slots.push(slot(state as RecordState, b.deliveryCount))
    }
    this.advanceStart()
  }
}

function slot(state: RecordState, deliveryCount: number): Slot {
  return { state, deliveryCount, memberId: null, lockDeadline: 0, availableAt: 0 }
}

/**
 * Kafka's KafkaApis.validateAcknowledgementBatches for one partition: NONE, or INVALID_REQUEST
 * when a batch ends before it starts, starts at or before the end of the batch in front of it, has
 * no type, has several types but not one per offset, or a type outside Gap..Reject.
 */
export function validateAcknowledgementBatches(batches: readonly AcknowledgementBatch[]): number {
  let previousLast = -1
  for (const b of batches) {
    if (b.firstOffset < 0 || b.firstOffset > b.lastOffset || b.firstOffset <= previousLast) return ErrorCode.INVALID_REQUEST
    const n = b.acknowledgeTypes.length
    if (n === 0 || (n > 1 && n !== b.lastOffset - b.firstOffset + 1)) return ErrorCode.INVALID_REQUEST
    for (const t of b.acknowledgeTypes) if (t < AcknowledgeType.Gap || t > MAX_ACKNOWLEDGE_TYPE) return ErrorCode.INVALID_REQUEST
    previousLast = b.lastOffset
  }
  return ErrorCode.NONE
}
