// A Kafka consumer on the project's own wire client. Two ways to read:
//
// - assign(): partitions chosen by the caller, read directly (no group, nothing on the broker);
// - subscribe(): topics shared by a consumer group. poll() joins, follows the group's
//   rebalances, commits offsets (automatically unless told not to) and starts each assigned
//   partition at the group's committed offset, else at `offsetReset`.
//
// The group speaks one of two protocols (`groupProtocol`, Kafka's group.protocol): classic, where
// the members' own assignors decide at each JoinGroup/SyncGroup round (group-member.ts), or
// consumer (KIP-848), where the broker assigns and the member follows by heartbeats
// (consumer-group-member.ts). Either way the membership moves partitions through this class:
// revoked ones are committed and dropped before the group hears they are free.
//
// Fetching, positions and out-of-range resets are the PartitionReader's.

import { setTimeout as sleep } from 'node:timers/promises'
import { ErrorCode } from '../../protocol/errors.js'
import type { Assignor } from './assignor.js'
import { Cluster } from './cluster.js'
import type { TopicPartitions } from './consumer-protocol.js'
import { cooperativeStickyAssignor } from './cooperative-sticky-assignor.js'
import { KafkaProtocolError } from './errors.js'
import { ConsumerGroupMember } from './consumer-group-member.js'
import { GroupMember } from './group-member.js'
import type { CommittedOffsets, GroupMetadata, GroupProtocol, Membership, PartitionOwner } from './membership.js'
import type { TopicPartitionOffset } from './admin-groups.js'
import type { ConsumedRecord } from './completed-fetch.js'
import { fetchRequestTimeout, PartitionReader, type OffsetSpec, type PartitionReaderOptions } from './partition-reader.js'
import { rangeAssignor } from './range-assignor.js'

export type { ConsumedRecord, RecordHeader } from './completed-fetch.js'
export type { OffsetReset } from './partition-reader.js'
export type { TopicPartitions } from './consumer-protocol.js'
export type { CommittedOffsets, GroupMetadata, GroupProtocol } from './membership.js'
export type { TopicPartitionOffset } from './admin-groups.js'
export { IsolationLevel, type OffsetSpec } from './partition-reader.js'
export { rangeAssignor } from './range-assignor.js'
export { cooperativeStickyAssignor } from './cooperative-sticky-assignor.js'
export type { Assignor } from './assignor.js'

export interface ConsumerOptions extends PartitionReaderOptions {
  /** Needed for subscribe(), committed() and commit(). */
  groupId?: string
  /** Default classic, as Kafka's and librdkafka's group.protocol. */
  groupProtocol?: GroupProtocol
  /** Classic only. Offered in order of preference; default range then cooperative-sticky, as Kafka's consumer. */
  assignors?: readonly Assignor[]
  /** Consumer protocol only: a broker-side assignor by name (Kafka's group.remote.assignor); the group's default when unset. */
  serverAssignor?: string | null
  /** Classic only; under the consumer protocol the broker sets the session timeout. */
  sessionTimeoutMs?: number
  rebalanceTimeoutMs?: number
  /** Classic only; under the consumer protocol the broker sets the interval. */
  heartbeatIntervalMs?: number
  groupInstanceId?: string | null
  /** Commit positions every autoCommitIntervalMs, before giving partitions up, and on close; default true. */
  autoCommit?: boolean
  /** Default 5 s. */
  autoCommitIntervalMs?: number
  onAssigned?: (partitions: TopicPartitions) => void
  onRevoked?: (partitions: TopicPartitions) => void
  /** After every rebalance step, with the generation (consumer protocol: member epoch) and what this member holds. */
  onJoined?: (generationId: number, assignment: TopicPartitions) => void
  /** Partitions taken away without a chance to commit (the member was fenced or forgotten). */
  onLost?: (partitions: TopicPartitions) => void
}

const CLIENT_SOFTWARE = { clientSoftwareName: 'samsa-consumer', clientSoftwareVersion: '0.1.0' }

/** Commit failures that only mean the group moved on; the member rejoins and carries on. */
const REBALANCED = new Set<number>([
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.FENCED_INSTANCE_ID,
  ErrorCode.FENCED_MEMBER_EPOCH,
  ErrorCode.STALE_MEMBER_EPOCH,
])

export class Consumer {
  readonly cluster: Cluster
  private readonly reader: PartitionReader
  private readonly member: Membership | null
  private readonly owner: PartitionOwner
  private readonly autoCommit: boolean
  private readonly autoCommitIntervalMs: number
  private readonly maxWaitMs: number
  private subscribed = false
  /** Partitions the group gave this member (read or paused). */
  private owned: TopicPartitions = new Map()
  /** Positions of owned partitions the caller paused, which the reader no longer holds. */
  private readonly paused = new Map<string, Map<number, number>>()
  /** Positions asked for before the partition was assigned. */
  private readonly pendingSeeks = new Map<string, Map<number, number>>()
  private lastCommitted = new Map<string, Map<number, number>>()
  private nextAutoCommit = 0
  private woken = false
  private wake: (() => void) | null = null
  private closing: Promise<void> | null = null

  constructor(private readonly opts: ConsumerOptions) {
    const timeoutMs = opts.timeoutMs ?? 30_000
    this.maxWaitMs = opts.maxWaitMs ?? 500
    this.cluster = new Cluster(
      { bootstrap: opts.bootstrap, clientId: opts.clientId ?? 'samsa-consumer', timeoutMs: fetchRequestTimeout(opts), connectTimeoutMs: Math.min(timeoutMs, 10_000), security: opts.security },
      CLIENT_SOFTWARE,
    )
    this.reader = new PartitionReader(opts, this.cluster)
    this.autoCommit = opts.autoCommit ?? true
    this.autoCommitIntervalMs = opts.autoCommitIntervalMs ?? 5_000
    this.member = opts.groupId === undefined ? null : createMembership(this.cluster, opts.groupId, opts, timeoutMs)
    this.owner = {
      owned: () => this.assignment(),
      revoke: (partitions) => this.revoke(partitions),
      lose: (partitions) => {
        this.release(partitions)
        this.opts.onLost?.(partitions)
      },
      start: (partitions) => this.start(partitions),
      joined: (generationId) => this.opts.onJoined?.(generationId, this.assignment()),
    }
  }

  /** Connects to the first reachable bootstrap broker. */
  async connect(): Promise<void> {
    await this.cluster.bootstrap()
  }

  partitions(topic: string): Promise<number[]> {
    return this.reader.partitions(topic)
  }

  listOffsets(topic: string, partitions: readonly number[], spec: OffsetSpec): Promise<Map<number, number>> {
    return this.reader.listOffsets(topic, partitions, spec)
  }

  /** Reads these partitions directly from the given positions (no group). */
  assign(topic: string, positions: ReadonlyMap<number, number>): void {
    if (this.subscribed) throw new Error('a consumer reads either subscribed topics or assigned partitions, not both')
    this.reader.assign(topic, positions)
  }

  /** Stops reading a directly assigned partition. */
  unassign(topic: string, partition: number): void {
    this.reader.unassign(topic, partition)
  }

  /** Joins the group for these topics on the next poll. */
  subscribe(topics: readonly string[]): void {
    if (this.member === null) throw new Error('subscribe needs a groupId')
    this.member.subscribe({ topics })
    this.subscribed = true
  }

  /**
   * Joins the group for every topic whose whole name matches `regex`, as the broker evaluates it
   * (RE2 syntax in Kafka). Only with the consumer protocol (KIP-848), where the broker resolves it.
   */
  subscribePattern(regex: string): void {
    if (this.member === null) throw new Error('subscribe needs a groupId')
    this.member.subscribe({ regex })
    this.subscribed = true
  }

  /** Who this consumer is in its group: generation (classic) or member epoch (consumer protocol), member id. */
  groupMetadata(): GroupMetadata {
    return this.requireMember().metadata()
  }

  /** Moves a partition's position; before the partition is assigned, where it will start. */
  seek(topic: string, partition: number, offset: number): void {
    const paused = this.paused.get(topic)
    if (paused?.has(partition)) paused.set(partition, offset)
    else if (this.reader.position(topic, partition) !== undefined) this.reader.assign(topic, new Map([[partition, offset]]))
    else setIn(this.pendingSeeks, topic, partition, offset)
  }

  /** The next offset to be returned, or undefined when the partition is not read. */
  position(topic: string, partition: number): number | undefined {
    return this.reader.position(topic, partition) ?? this.paused.get(topic)?.get(partition)
  }

  /** Stops fetching a partition while keeping it (and its position, for commits). */
  pause(topic: string, partition: number): void {
    const position = this.reader.position(topic, partition)
    if (position === undefined) return
    this.reader.unassign(topic, partition)
    if (this.member !== null) setIn(this.paused, topic, partition, position)
  }

  /** The partitions the group currently gives this member. */
  assignment(): TopicPartitions {
    return new Map([...this.owned].map(([t, ps]) => [t, [...ps]]))
  }

  /** The group's committed offsets of these partitions. */
  committed(partitions: TopicPartitions): Promise<CommittedOffsets> {
    return this.requireMember().committed(partitions)
  }

  /** Commits the given offsets, or the position of every owned partition. */
  async commit(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    const member = this.requireMember()
    const list = offsets ?? this.positions(this.owned)
    await member.commit(list)
    for (const o of list) setIn(this.lastCommitted, o.topic, o.partition, o.offset)
  }

  /**
   * Records that arrived since the last poll. With a group, first joins or rebalances when the
   * coordinator asked for it, and commits when the auto-commit interval has passed.
   */
  async poll(): Promise<ConsumedRecord[]> {
    if (this.closing !== null) return []
    this.woken = false
    const member = this.member
    if (member !== null && this.subscribed) {
      if (member.fatal !== null) throw member.fatal
      if (member.rebalanceNeeded) {
        try {
          await member.rebalance(this.owner)
        } catch (err) {
          if (this.woken || this.closing !== null) return []
          throw err
        }
      }
      if (this.autoCommit && Date.now() >= this.nextAutoCommit) await this.commitPositions(this.owned)
      if (this.reader.assignedCount() === 0) {
        await this.idle(member)
        return []
      }
    }
    return this.reader.poll()
  }

  /** Ends a poll waiting on a rebalance or with nothing to read; it resolves with no records. */
  wakeup(): void {
    this.woken = true
    this.wake?.()
    this.member?.abandonJoin()
  }

  /** Commits (with auto-commit), leaves the group and closes every connection. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.member !== null) {
        if (this.autoCommit && this.owned.size > 0) await this.commitPositions(this.owned).catch(() => {})
        await this.member.leave()
      }
      await this.reader.close()
    })()
    return this.closing
  }

  private requireMember(): Membership {
    if (this.member === null) throw new Error('group offsets need a groupId')
    return this.member
  }

  /** Gives partitions up, committing their positions first. */
  private async revoke(partitions: TopicPartitions): Promise<void> {
    if (this.autoCommit) await this.commitPositions(partitions)
    this.release(partitions)
    this.opts.onRevoked?.(partitions)
  }

  private release(partitions: TopicPartitions): void {
    for (const [topic, ps] of partitions) {
      for (const p of ps) {
        this.reader.unassign(topic, p)
        this.paused.get(topic)?.delete(p)
      }
      const left = (this.owned.get(topic) ?? []).filter((p) => !ps.includes(p))
      if (left.length === 0) this.owned.delete(topic)
      else this.owned.set(topic, left)
    }
  }

  /** Starts reading newly assigned partitions: at a pending seek, the committed offset, or the reset policy. */
  private async start(partitions: TopicPartitions): Promise<void> {
    const committed = await this.member!.committed(partitions)
    for (const [topic, ps] of partitions) {
      const positions = new Map<number, number>()
      const missing: number[] = []
      for (const p of ps) {
        const at = this.pendingSeeks.get(topic)?.get(p) ?? committed.get(topic)?.get(p)
        this.pendingSeeks.get(topic)?.delete(p)
        if (at === undefined) missing.push(p)
        else positions.set(p, at)
      }
      if (missing.length > 0) for (const [p, o] of await this.reader.listOffsets(topic, missing, this.opts.offsetReset ?? 'latest')) positions.set(p, o)
      this.reader.assign(topic, positions)
      this.owned.set(topic, [...(this.owned.get(topic) ?? []), ...ps].sort((a, b) => a - b))
      for (const [p, o] of committed.get(topic) ?? []) setIn(this.lastCommitted, topic, p, o)
    }
    this.opts.onAssigned?.(partitions)
  }

  private positions(partitions: TopicPartitions): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = []
    for (const [topic, ps] of partitions) {
      for (const partition of ps) {
        const offset = this.position(topic, partition)
        if (offset !== undefined) out.push({ topic, partition, offset })
      }
    }
    return out
  }

  /** Commits positions that moved since their last commit; a rebalance in the way is not an error. */
  private async commitPositions(partitions: TopicPartitions): Promise<void> {
    this.nextAutoCommit = Date.now() + this.autoCommitIntervalMs
    const changed = this.positions(partitions).filter((o) => this.lastCommitted.get(o.topic)?.get(o.partition) !== o.offset)
    try {
      await this.commit(changed)
    } catch (err) {
      if (!(err instanceof KafkaProtocolError && REBALANCED.has(err.code))) throw err
    }
  }

  /** Waits for a rebalance, a wakeup or maxWaitMs when the member has nothing to read. */
  private async idle(member: Membership): Promise<void> {
    if (member.rebalanceNeeded || member.fatal !== null || this.woken) return
    const ac = new AbortController()
    this.wake = () => ac.abort()
    member.whenRebalanceNeeded(this.wake)
    try {
      await sleep(this.maxWaitMs, undefined, { signal: ac.signal })
    } catch {
      // Woken early.
    } finally {
      this.wake = null
      member.whenRebalanceNeeded(null)
    }
  }
}

function setIn(map: Map<string, Map<number, number>>, topic: string, partition: number, value: number): void {
  let m = map.get(topic)
  if (m === undefined) map.set(topic, (m = new Map()))
  m.set(partition, value)
}

function createMembership(cluster: Cluster, groupId: string, opts: ConsumerOptions, timeoutMs: number): Membership {
  if ((opts.groupProtocol ?? 'classic') === 'consumer') {
    return new ConsumerGroupMember(cluster, {
      groupId,
      groupInstanceId: opts.groupInstanceId,
      rebalanceTimeoutMs: opts.rebalanceTimeoutMs,
      serverAssignor: opts.serverAssignor,
      timeoutMs,
    })
  }
  return new GroupMember(cluster, {
    groupId,
    assignors: opts.assignors ?? [rangeAssignor, cooperativeStickyAssignor],
    sessionTimeoutMs: opts.sessionTimeoutMs,
    rebalanceTimeoutMs: opts.rebalanceTimeoutMs,
    heartbeatIntervalMs: opts.heartbeatIntervalMs,
    groupInstanceId: opts.groupInstanceId,
    timeoutMs,
  })
}
