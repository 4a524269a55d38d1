// Membership of a classic consumer group (protocol type "consumer"): FindCoordinator, then
// JoinGroup and SyncGroup rounds, Heartbeat on a timer between them, OffsetCommit and
// OffsetFetch with the member's generation, LeaveGroup at the end.
//
// A round: JoinGroup (a new member first learns its id from MEMBER_ID_REQUIRED, KIP-394); the
// leader the coordinator picks receives every member's subscription, runs the assignor the
// group chose, and sends the assignments in its SyncGroup; the others send an empty one and
// receive theirs. The member talks to its coordinator over its own connections, so a JoinGroup
// parked for a whole rebalance never delays a Fetch, and a Fetch never delays a Heartbeat.
//
// Heartbeats run in the background; when the coordinator answers REBALANCE_IN_PROGRESS (or
// that the generation or member is gone) the member only notes that it must rejoin. Whoever
// drives it (the consumer's poll) decides when, so partitions are never revoked under a caller.
//
// Rebalancing follows Kafka's consumer. Eager (the range assignor, or any mix that includes an
// eager assignor): everything is revoked, with its offsets committed, before rejoining.
// Cooperative (cooperative-sticky alone, KIP-429): the member rejoins still reading what it owns
// and tells the leader so; afterwards it gives up only what the new assignment took away, and
// when it gave up anything it rejoins at once, so the partitions it released can be handed on.

import { setTimeout as sleep } from 'node:timers/promises'
import { ErrorCode } from '../../protocol/errors.js'
import { JoinGroupApi, type JoinGroupResponse } from '../../protocol/generated/join-group.js'
import { SyncGroupApi } from '../../protocol/generated/sync-group.js'
import { HeartbeatApi } from '../../protocol/generated/heartbeat.js'
import { LeaveGroupApi } from '../../protocol/generated/leave-group.js'
import type { Assignor, GroupMemberSubscription } from './assignor.js'
import { alterOffsets, type TopicPartitionOffset } from './admin-groups.js'
import { CoordinatorType, type Cluster } from './cluster.js'
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, type TopicPartitions } from './consumer-protocol.js'
import { BrokerConnectionError, BrokerUnreachableError, KafkaProtocolError } from './errors.js'
import { fetchCommitted, minus, type CommittedOffsets, type GroupMetadata, type Membership, type PartitionOwner, type Subscription } from './membership.js'
import { NodePool } from './node-pool.js'
import type { NodeSession } from './node-session.js'

export type { CommittedOffsets } from './membership.js'

export interface GroupMemberOptions {
  groupId: string
  /** Offered in order of preference; the group uses one every member offers. */
  assignors: readonly Assignor[]
  /** Default 30 s; the coordinator drops a member it has not heard from in this long. */
  sessionTimeoutMs?: number
  /** Default 60 s; how long the coordinator waits for every member to rejoin. */
  rebalanceTimeoutMs?: number
  /** Default 3 s. */
  heartbeatIntervalMs?: number
  groupInstanceId?: string | null
  /** Bounds connecting and every request but JoinGroup and SyncGroup; default the cluster's. */
  timeoutMs?: number
}

/** Errors after which a group request goes again to a freshly found coordinator. */
const COORDINATOR_MOVED = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS])

/** Errors after which the member must join again (and, for the last two, under a new id). */
const REJOIN = new Set<number>([ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_INSTANCE_ID])
const MAX_COORDINATOR_RETRIES = 10
const CLIENT_SOFTWARE = { clientSoftwareName: 'samsa-consumer', clientSoftwareVersion: '0.1.0' }

function backoff(attempt: number): number {
  return Math.min(1000, 100 * 2 ** attempt)
}

export class GroupMember implements Membership {
  readonly protocol = 'classic' as const
  memberId = ''
  generationId = -1
  /** The assignor the group chose in the last round. */
  protocolName: string | null = null
  leaderId = ''
  /** What the last SyncGroup gave this member. */
  assignment: TopicPartitions = new Map()
  /** Set by a heartbeat or a commit that learned the group is rebalancing or moved on. */
  rejoinNeeded = true
  /** A heartbeat failure nothing can recover from, thrown from the next call that drives the member. */
  fatal: Error | null = null
  readonly groupId: string
  private readonly pool: NodePool
  private readonly sessionTimeoutMs: number
  private readonly rebalanceTimeoutMs: number
  private readonly heartbeatIntervalMs: number
  private heartbeatTimer: NodeJS.Timeout | null = null
  /** Where the coordinator was last found, for dropping its connection. */
  private coordinatorAddress: string | null = null
  private onRejoinNeeded: (() => void) | null = null
  private topics: readonly string[] = []
  /** A JoinGroup or SyncGroup is out (they may be parked for a whole rebalance). */
  private joining = false
  /** Leaving, or the caller gave up waiting on a join: nothing is retried any more. */
  private closing = false
  private abandoned = false
  private closed = false

  constructor(
    private readonly cluster: Cluster,
    private readonly opts: GroupMemberOptions,
  ) {
    if (opts.assignors.length === 0) throw new Error('a group member needs at least one assignor')
    this.groupId = opts.groupId
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? 30_000
    this.rebalanceTimeoutMs = opts.rebalanceTimeoutMs ?? 60_000
    this.heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 3_000
    const timeoutMs = opts.timeoutMs ?? cluster.timeoutMs
    this.pool = new NodePool(
      [],
      {
        clientId: cluster.clientId,
        connectTimeoutMs: Math.min(timeoutMs, 10_000),
        security: cluster.security,
        // A JoinGroup is answered only when every member has rejoined or the rebalance timed out.
        requestTimeoutMs: Math.max(timeoutMs, this.rebalanceTimeoutMs + 5_000),
      },
      CLIENT_SOFTWARE,
    )
  }

  /** Eager unless every offered assignor is cooperative, as in Kafka's consumer. */
  get rebalanceProtocol(): 'eager' | 'cooperative' {
    return this.opts.assignors.every((a) => a.rebalanceProtocol === 'cooperative') ? 'cooperative' : 'eager'
  }

  get rebalanceNeeded(): boolean {
    return this.rejoinNeeded
  }

  /** Wakes whoever waits for the member to need a rebalance (a consumer with nothing to fetch). */
  whenRebalanceNeeded(fn: (() => void) | null): void {
    this.onRejoinNeeded = fn
  }

  metadata(): GroupMetadata {
    return { groupId: this.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.opts.groupInstanceId ?? null }
  }

  /** The topics to join for; the next poll rejoins. Patterns need the consumer protocol. */
  subscribe(subscription: Subscription): void {
    if (!('topics' in subscription)) throw new Error('a topic pattern subscription needs the consumer group protocol')
    this.topics = [...new Set(subscription.topics)].sort()
    this.rejoinNeeded = true
  }

  /** One rebalance: eager revokes everything first; cooperative rejoins until nothing more is released. */
  async rebalance(owner: PartitionOwner): Promise<void> {
    const cooperative = this.rebalanceProtocol === 'cooperative'
    // The coordinator forgot this member: what it owned is already someone else's.
    if (this.memberId === '' && owner.owned().size > 0) owner.lose(owner.owned())
    if (!cooperative && owner.owned().size > 0) await owner.revoke(owner.owned())
    for (;;) {
      const owned = owner.owned()
      const assigned = await this.join(this.topics, cooperative ? owned : new Map())
      const revoked = minus(owned, assigned)
      const added = minus(assigned, owned)
      if (revoked.size > 0) await owner.revoke(revoked)
      if (added.size > 0) await owner.start(added)
      owner.joined(this.generationId)
      if (!cooperative || revoked.size === 0) return
    }
  }

  /**
   * One JoinGroup and SyncGroup round, retried until it completes; resolves with this member's
   * assignment. `owned` is what the member still holds (cooperative rebalancing only).
   */
  async join(topics: readonly string[], owned: TopicPartitions): Promise<TopicPartitions> {
    this.stopHeartbeats()
    this.rejoinNeeded = true
    this.joining = true
    this.abandoned = false
    try {
      return await this.joinRounds(topics, owned)
    } finally {
      this.joining = false
    }
  }

  private async joinRounds(topics: readonly string[], owned: TopicPartitions): Promise<TopicPartitions> {
    for (let attempt = 0; ; attempt++) {
      this.throwIfClosed()
      let session: NodeSession
      let joined: JoinGroupResponse
      try {
        session = await this.coordinator()
        joined = await this.sendJoin(session, topics, owned)
      } catch (err) {
        if (!(await this.retriable(err, attempt))) throw err
        continue
      }
      if (joined.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        this.memberId = joined.memberId
        continue
      }
      if (joined.errorCode !== ErrorCode.NONE) {
        if (await this.handleError(joined.errorCode, attempt)) continue
        throw new KafkaProtocolError(joined.errorCode, `joining group '${this.groupId}'`)
      }
      this.memberId = joined.memberId
      this.generationId = joined.generationId
      this.protocolName = joined.protocolName
      this.leaderId = joined.leader
      const assignments = joined.leader === joined.memberId && !joined.skipAssignment ? await this.assignAsLeader(joined) : []
      let synced
      try {
        synced = await session.send(SyncGroupApi, {
          groupId: this.groupId,
          generationId: this.generationId,
          memberId: this.memberId,
          groupInstanceId: this.opts.groupInstanceId ?? null,
          protocolType: 'consumer',
          protocolName: this.protocolName,
          assignments,
        })
      } catch (err) {
        if (!(await this.retriable(err, attempt))) throw err
        continue
      }
      if (synced.errorCode !== ErrorCode.NONE) {
        if (await this.handleError(synced.errorCode, attempt)) continue
        throw new KafkaProtocolError(synced.errorCode, `syncing group '${this.groupId}'`)
      }
      this.assignment = decodeAssignment(synced.assignment)
      this.rejoinNeeded = false
      this.startHeartbeats()
      return this.assignment
    }
  }

  /** Commits as a member of the current generation. */
  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return
    for (let attempt = 0; ; attempt++) {
      this.throwIfClosed()
      try {
        await alterOffsets(this.cluster, this.groupId, offsets, { generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.opts.groupInstanceId ?? null })
        return
      } catch (err) {
        if (err instanceof KafkaProtocolError && REJOIN.has(err.code)) this.requestRejoin(err.code)
        if (!(await this.retriable(err, attempt))) throw err
      }
    }
  }

  /** The group's committed offsets of these partitions. */
  async committed(partitions: TopicPartitions): Promise<CommittedOffsets> {
    for (let attempt = 0; ; attempt++) {
      this.throwIfClosed()
      try {
        return await fetchCommitted(this.cluster, this.groupId, partitions)
      } catch (err) {
        if (!(await this.retriable(err, attempt))) throw err
      }
    }
  }

  /**
   * Leaves the group (when it is in one) and closes the member's connections. A JoinGroup still
   * parked is abandoned first: its connection is dropped, and the leave goes over a new one.
   */
  async leave(): Promise<void> {
    if (this.closed) return
    this.closing = true
    this.stopHeartbeats()
    if (this.joining) this.dropCoordinator()
    if (this.memberId !== '') {
      try {
        const session = await this.coordinator()
        await session.send(LeaveGroupApi, {
          groupId: this.groupId,
          memberId: this.memberId,
          members: [{ memberId: this.memberId, groupInstanceId: this.opts.groupInstanceId ?? null, reason: 'the consumer is closing' }],
        })
      } catch {
        // The coordinator drops a silent member after the session timeout anyway.
      }
    }
    this.closed = true
    this.memberId = ''
    this.generationId = -1
    await this.pool.close()
  }

  /** Fails a JoinGroup or SyncGroup in flight (the caller stops waiting); the member stays to leave. */
  abandonJoin(): void {
    if (!this.joining) return
    this.abandoned = true
    this.dropCoordinator()
  }

  private sendJoin(session: NodeSession, topics: readonly string[], owned: TopicPartitions): Promise<JoinGroupResponse> {
    const metadata = encodeSubscription({ topics: [...topics], ownedPartitions: owned, generationId: this.generationId, userData: null })
    return session.send(JoinGroupApi, {
      groupId: this.groupId,
      sessionTimeoutMs: this.sessionTimeoutMs,
      rebalanceTimeoutMs: this.rebalanceTimeoutMs,
      memberId: this.memberId,
      groupInstanceId: this.opts.groupInstanceId ?? null,
      protocolType: 'consumer',
      protocols: this.opts.assignors.map((a) => ({ name: a.name, metadata })),
      reason: null,
    })
  }

  private async assignAsLeader(joined: JoinGroupResponse): Promise<{ memberId: string; assignment: Uint8Array }[]> {
    const assignor = this.opts.assignors.find((a) => a.name === joined.protocolName)
    if (assignor === undefined) throw new Error(`group '${this.groupId}' chose assignor '${joined.protocolName}', which this client does not offer`)
    const members: GroupMemberSubscription[] = joined.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, subscription: decodeSubscription(m.metadata) }))
    const topics = [...new Set(members.flatMap((m) => m.subscription.topics))]
    const meta = await this.cluster.fetchMetadata(topics)
    const partitionsPerTopic = new Map(meta.topics.filter((t) => t.errorCode === ErrorCode.NONE || t.errorCode === ErrorCode.LEADER_NOT_AVAILABLE).map((t) => [t.name, t.partitions.length]))
    const assigned = assignor.assign(members, partitionsPerTopic)
    return members.map((m) => ({ memberId: m.memberId, assignment: encodeAssignment(assigned.get(m.memberId) ?? new Map()) }))
  }

  /** True when the error was handled and the round should be tried again. */
  private async handleError(errorCode: number, attempt: number): Promise<boolean> {
    if (this.closing || this.abandoned || attempt >= MAX_COORDINATOR_RETRIES) return false
    if (errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
      this.memberId = ''
      this.generationId = -1
      return true
    }
    if (errorCode === ErrorCode.REBALANCE_IN_PROGRESS || errorCode === ErrorCode.ILLEGAL_GENERATION) return true
    if (!COORDINATOR_MOVED.has(errorCode)) return false
    this.forgetCoordinator()
    await sleep(backoff(attempt))
    return true
  }

  /** True when a request failed for a reason worth retrying, after backing off. */
  private async retriable(err: unknown, attempt: number): Promise<boolean> {
    if (this.closing || this.abandoned || attempt >= MAX_COORDINATOR_RETRIES) return false
    const lost = err instanceof BrokerConnectionError || err instanceof BrokerUnreachableError
    if (!lost && !(err instanceof KafkaProtocolError && COORDINATOR_MOVED.has(err.code))) return false
    this.forgetCoordinator()
    await sleep(backoff(attempt))
    return true
  }

  private forgetCoordinator(): void {
    this.dropCoordinator()
    this.cluster.forgetCoordinator(CoordinatorType.Group, this.groupId)
  }

  /** Closes the connection to the coordinator; what waits on it fails. */
  private dropCoordinator(): void {
    if (this.coordinatorAddress !== null) this.pool.drop(this.coordinatorAddress)
    this.coordinatorAddress = null
  }

  /** The coordinator over this member's own connection. */
  private async coordinator(): Promise<NodeSession> {
    const nodeId = (await this.cluster.findCoordinators(CoordinatorType.Group, [this.groupId])).get(this.groupId)!
    const address = await this.cluster.address(nodeId)
    this.coordinatorAddress = address
    return this.pool.session(address)
  }

  private requestRejoin(errorCode: number): void {
    if (errorCode === ErrorCode.UNKNOWN_MEMBER_ID || errorCode === ErrorCode.FENCED_INSTANCE_ID) {
      this.memberId = ''
      this.generationId = -1
    }
    this.rejoinNeeded = true
    this.onRejoinNeeded?.()
  }

  private startHeartbeats(): void {
    this.stopHeartbeats()
    const generation = this.generationId
    const beat = async () => {
      this.heartbeatTimer = null
      if (this.closing || this.rejoinNeeded || generation !== this.generationId) return
      try {
        const session = await this.coordinator()
        const res = await session.send(HeartbeatApi, {
          groupId: this.groupId,
          generationId: this.generationId,
          memberId: this.memberId,
          groupInstanceId: this.opts.groupInstanceId ?? null,
        })
        // A beat that was out while the member rejoined speaks for a generation that is over.
        if (generation !== this.generationId) return
        if (REJOIN.has(res.errorCode)) this.requestRejoin(res.errorCode)
        else if (COORDINATOR_MOVED.has(res.errorCode)) this.forgetCoordinator()
        else if (res.errorCode !== ErrorCode.NONE) this.fatal = new KafkaProtocolError(res.errorCode, `heartbeat in group '${this.groupId}'`)
      } catch (err) {
        if (this.closing) return
        // A lost connection: find the coordinator again on the next beat.
        if (err instanceof BrokerConnectionError || err instanceof BrokerUnreachableError) this.forgetCoordinator()
        else this.fatal = err as Error
      }
      if (this.fatal !== null) this.onRejoinNeeded?.()
      else if (!this.closing && !this.rejoinNeeded && generation === this.generationId && this.heartbeatTimer === null) this.heartbeatTimer = setTimeout(beat, this.heartbeatIntervalMs)
    }
    this.heartbeatTimer = setTimeout(beat, this.heartbeatIntervalMs)
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer)
    this.heartbeatTimer = null
  }

  private throwIfClosed(): void {
    if (this.closing) throw new BrokerConnectionError(this.groupId, `the member of group '${this.groupId}' has left`)
    if (this.fatal !== null) throw this.fatal
  }
}

