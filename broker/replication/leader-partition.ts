// One partition this broker leads (Kafka's Partition on its leader): what each follower has (its
// log end offset, from the offsets it fetches at), the high watermark as the smallest log end
// offset of the in-sync replicas, ISR changes proposed through IsrChanges (Kafka's AlterPartition,
// a compare-and-set in the cluster metadata), and produce requests with acks=all waiting for
// every in-sync replica.
//
// ISR rules, as Kafka's: a follower is caught up when it fetches at the leader's log end offset
// (or at the offset the leader had at its previous fetch); it leaves the ISR when it has not been
// caught up for replica.lag.time.max.ms and joins it once it fetches at or past the high watermark
// and within the leader's current epoch. While a change is pending, the high watermark waits for
// the larger of the old and the proposed ISR (Kafka's maximal ISR), so it never counts a replica
// the committed ISR does not. A change that adds replicas and whose answer did not come (etcd did
// not answer: it may have been written) stays pending, and is tried again, until the metadata shows
// a partition epoch past the one it was proposed from: until then the controller may elect the
// added replica, so what it lacks must not be acknowledged.
//
// Concurrency: single-threaded; at most one ISR change in flight per partition.
import { ErrorCode } from '../../protocol/errors.js'
import type { PartitionLog } from '../../storage/partition-log.js'
import type { IsrChanges, PartitionState } from '../cluster/partition-state.js'
import type { Logger } from 'pino'

interface FollowerState {
  /** -1 until its first fetch. */
  logEndOffset: number
  /** As its last fetch said; -1 until its first fetch. */
  logStartOffset: number
  lastCaughtUpMs: number
  lastFetchMs: number
  /** The leader's log end offset at the follower's previous fetch. */
  lastFetchLeaderLogEndOffset: number
}

interface IsrProposal {
  isr: number[]
  /** The partition epoch it was proposed from (its compare-and-set's). */
  fromPartitionEpoch: number
  /** Refused without an answer saying it was not written: tried again after ISR_RETRY_MS. */
  outcomeUnknown: boolean
}

interface AcksWaiter {
  offset: number
  deadline: number
  minIsr: () => number
  resolve: (errorCode: number) => void
}

/** How long after a refused ISR change the next proposal waits. */
const ISR_RETRY_MS = 500

export interface LeaderSettings {
  nodeId: number
  isrChanges: IsrChanges
  logger: Logger
  replicaLagTimeMaxMs: () => number
  /**
   * Whether a follower's broker may join the ISR, as the metadata knows it (Kafka's leader asks
   * its metadata cache the same before proposing): a broker cut off from etcd, or registered but
   * not yet unfenced, keeps fetching but is not proposed, since the proposal would be refused.
   * Every replica is eligible when not given.
   */
  isrEligible?: (nodeId: number) => boolean
}

export class LeaderPartition {
  private readonly followers = new Map<number, FollowerState>()
  private waiters: AcksWaiter[] = []
  /** The ISR change proposed and not yet known committed or refused. */
  private pending: IsrProposal | undefined
  /** After a refused or unanswered proposal, none before this time. */
  private retryIsrAfter = 0
  private readonly unsubscribe: () => void
  private closed = false

  constructor(
    public state: PartitionState,
    readonly log: PartitionLog,
    private readonly settings: LeaderSettings,
    now = Date.now(),
  ) {
    this.resetFollowers(now)
    // A leader alone in the ISR commits what it appends at once.
    this.unsubscribe = log.addAppendListener(() => this.maybeAdvanceHighWatermark())
  }

  get nodeId(): number {
    return this.settings.nodeId
  }

  get leaderEpoch(): number {
    return this.state.leaderEpoch
  }

  /** The committed ISR's size, as min.insync.replicas compares it. */
  get isrSize(): number {
    return this.state.isr.length
  }

  /** A newer state of the same leader epoch (an ISR or replica change committed elsewhere). */
  update(state: PartitionState, now = Date.now()): void {
    this.state = state
    // A state past the one proposed from settles the proposal: it is in it, or was refused.
    if (this.pending !== undefined && (sameMembers(this.pending.isr, state.isr) || state.partitionEpoch > this.pending.fromPartitionEpoch)) this.pending = undefined
    this.resetFollowers(now, true)
    this.maybeAdvanceHighWatermark()
    this.completeWaiters()
  }

  private resetFollowers(now: number, keep = false): void {
    for (const id of [...this.followers.keys()]) if (!this.state.replicas.includes(id)) this.followers.delete(id)
    for (const id of this.state.replicas) {
      if (id === this.nodeId || (keep && this.followers.has(id))) continue
      // In-sync replicas count as caught up when leadership starts (Kafka does the same).
      const inSync = this.state.isr.includes(id)
      this.followers.set(id, { logEndOffset: -1, logStartOffset: -1, lastCaughtUpMs: inSync ? now : 0, lastFetchMs: 0, lastFetchLeaderLogEndOffset: -1 })
    }
  }

  /** A follower fetched at `fetchOffset`: its log end offset; `logStartOffset` is its own log start. */
  onFollowerFetch(replicaId: number, fetchOffset: number, logStartOffset = -1, now = Date.now()): void {
    const f = this.followers.get(replicaId)
    if (f === undefined || this.closed) return
    const leaderEnd = this.log.logEndOffset
    // Past the leader's end: a tail the leader never wrote, which the follower must cut first (its
    // fetch answers OFFSET_OUT_OF_RANGE); it says nothing about what the follower has of this log.
    if (fetchOffset > leaderEnd) return
    if (fetchOffset >= leaderEnd) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, now)
    else if (fetchOffset >= f.lastFetchLeaderLogEndOffset && f.lastFetchLeaderLogEndOffset >= 0) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs)
    f.lastFetchLeaderLogEndOffset = leaderEnd
    f.lastFetchMs = now
    f.logEndOffset = fetchOffset
    f.logStartOffset = logStartOffset
    this.maybeExpandIsr(replicaId, f)
    this.maybeAdvanceHighWatermark()
  }

  /** Whether `id` is in the ISR, committed or proposed (a replication throttle passes it by). */
  inSync(id: number): boolean {
    return this.maximalIsr().includes(id)
  }

  /** The ISR members the high watermark waits for: committed plus proposed. */
  private maximalIsr(): number[] {
    if (this.pending === undefined) return this.state.isr
    const out = [...this.state.isr]
    for (const id of this.pending.isr) if (!out.includes(id)) out.push(id)
    return out
  }

  maybeAdvanceHighWatermark(): void {
    if (this.closed) return
    let hw = this.log.logEndOffset
    for (const id of this.maximalIsr()) {
      if (id === this.nodeId) continue
      const f = this.followers.get(id)
      // An in-sync replica that has not fetched yet holds the high watermark where it is.
      if (f === undefined || f.logEndOffset < 0) return
      if (f.logEndOffset < hw) hw = f.logEndOffset
    }
    // A leader's high watermark never goes back.
    if (hw > this.log.highWatermark) {
      this.log.setHighWatermark(hw)
      this.completeWaiters()
    }
  }

  private maybeExpandIsr(id: number, f: FollowerState): void {
    if (this.pending !== undefined || this.state.isr.includes(id) || Date.now() < this.retryIsrAfter || this.settings.isrEligible?.(id) === false) return
    const epochStart = this.epochStartOffset()
    if (f.logEndOffset >= this.log.highWatermark && f.logEndOffset >= epochStart) {
      this.proposeIsr([...this.state.isr, id], 'caught up')
    }
  }

  /** Where the current leader epoch started in this log. */
  epochStartOffset(): number {
    return Math.max(0, this.log.leaderEpochs.startOffsetOf(this.state.leaderEpoch))
  }

  /** Followers of the ISR not caught up for replica.lag.time.max.ms leave it. */
  maybeShrinkIsr(now = Date.now()): void {
    if (this.closed || now < this.retryIsrAfter) return
    if (this.pending?.outcomeUnknown === true) {
      this.proposeIsr(this.pending.isr, 'the last proposal got no answer')
      return
    }
    if (this.pending !== undefined) return
    const lagMax = this.settings.replicaLagTimeMaxMs()
    const laggards = this.state.isr.filter((id) => {
      if (id === this.nodeId) return false
      const f = this.followers.get(id)
      return f === undefined || (now - f.lastCaughtUpMs > lagMax && f.logEndOffset < this.log.logEndOffset)
    })
    if (laggards.length === 0) return
    this.proposeIsr(
      this.state.isr.filter((id) => !laggards.includes(id)),
      `replicas ${laggards.join(',')} not caught up for ${lagMax} ms`,
    )
  }

  private proposeIsr(isr: number[], reason: string): void {
    const { topic, partition, leaderEpoch, partitionEpoch } = this.state
    const proposal: IsrProposal = { isr, fromPartitionEpoch: partitionEpoch, outcomeUnknown: false }
    this.pending = proposal
    this.settings.logger.info({ topic, partition, from: this.state.isr, to: isr, reason }, 'proposing an ISR change')
    this.settings.isrChanges.alterIsr(topic, partition, leaderEpoch, partitionEpoch, isr).then(
      (committed) => {
        if (this.closed || committed.leaderEpoch !== this.state.leaderEpoch) return
        if (this.pending === proposal) this.pending = undefined
        if (committed.partitionEpoch >= this.state.partitionEpoch) this.update(committed)
      },
      (err: unknown) => {
        // Fenced or stale: the metadata side brings the current state (or a new role) next. A
        // refusal that may hide a write (no answer, or etcd already past the epoch proposed from)
        // keeps an added replica counted until that state comes; a shrink needs no such care, as
        // the committed ISR it falls back to holds every replica it would have.
        if (this.pending === proposal) {
          const adds = isr.some((id) => !this.state.isr.includes(id))
          if (adds && !certainlyNotWritten(err)) proposal.outcomeUnknown = true
          else this.pending = undefined
        }
        this.retryIsrAfter = Date.now() + ISR_RETRY_MS
        this.settings.logger.warn({ err, topic, partition, isr }, 'ISR change refused')
      },
    )
  }

  /**
   * acks=all: resolves with NONE once every in-sync replica has everything below `offset`,
   * NOT_ENOUGH_REPLICAS_AFTER_APPEND when it got there with fewer in-sync replicas than
   * `minIsr`, REQUEST_TIMED_OUT at the deadline, NOT_LEADER_OR_FOLLOWER when leadership ends.
   */
  waitForIsr(offset: number, timeoutMs: number, minIsr: () => number): Promise<number> {
    if (this.closed) return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    const now = this.check(offset, minIsr)
    if (now !== undefined) return Promise.resolve(now)
    return new Promise((resolve) => {
      this.waiters.push({ offset, deadline: Date.now() + Math.max(0, timeoutMs), minIsr, resolve })
    })
  }

  private check(offset: number, minIsr: () => number): number | undefined {
    if (this.log.highWatermark < offset) return undefined
    return this.state.isr.length >= minIsr() ? ErrorCode.NONE : ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
  }

  private completeWaiters(): void {
    if (this.waiters.length === 0) return
    const hw = this.log.highWatermark
    const left: AcksWaiter[] = []
    for (const w of this.waiters) {
      if (w.offset > hw) {
        left.push(w)
        continue
      }
      w.resolve(this.check(w.offset, w.minIsr) ?? ErrorCode.NONE)
    }
    this.waiters = left
  }

  /** Answers acks=all requests past their deadline with REQUEST_TIMED_OUT. */
  expireWaiters(now = Date.now()): void {
    if (this.waiters.length === 0) return
    const left: AcksWaiter[] = []
    for (const w of this.waiters) {
      if (w.deadline <= now) w.resolve(ErrorCode.REQUEST_TIMED_OUT)
      else left.push(w)
    }
    this.waiters = left
  }

  /** Leadership ended: waiting produce requests answer NOT_LEADER_OR_FOLLOWER. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.unsubscribe()
    for (const w of this.waiters) w.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    this.waiters = []
  }

  /**
   * The followers a consumer at `fetchOffset` may be sent to read from (KIP-392): in the committed
   * ISR, and holding the offset in their log, as Kafka's leader checks before asking its selector.
   */
  readReplicaCandidates(fetchOffset: number, now = Date.now()): Array<{ nodeId: number; logEndOffset: number; timeSinceLastCaughtUpMs: number }> {
    const out: Array<{ nodeId: number; logEndOffset: number; timeSinceLastCaughtUpMs: number }> = []
    if (this.closed) return out
    for (const [id, f] of this.followers) {
      if (!this.state.isr.includes(id) || f.logEndOffset < fetchOffset || f.logStartOffset > fetchOffset) continue
      out.push({ nodeId: id, logEndOffset: f.logEndOffset, timeSinceLastCaughtUpMs: Math.max(0, now - f.lastCaughtUpMs) })
    }
    return out
  }

  /** For describing: each follower's log end offset (-1 before its first fetch). */
  followerLogEndOffsets(): Map<number, number> {
    return new Map([...this.followers].map(([id, f]) => [id, f.logEndOffset]))
  }
}

/** Refusals the metadata side makes before writing anything, on a state at the epoch proposed from. */
function certainlyNotWritten(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  return code === ErrorCode.INELIGIBLE_REPLICA || code === ErrorCode.INVALID_REQUEST || code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}
