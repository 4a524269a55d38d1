// Membership of a share group (KIP-932): ShareGroupHeartbeat in the background. Kafka's
// ShareMembershipManager and ShareHeartbeatRequestManager are the model, much simplified because a
// share group never revokes: partitions are shared, so a member may start reading a partition the
// moment it is assigned and drops one the moment it is not.
//
// The member names itself (a UUID) and joins with epoch 0 and its subscribed topic names. Each
// answer carries its member epoch, the interval to the next heartbeat and, when it changed, the
// whole assignment by topic id. Heartbeats after the join repeat the subscription only when it
// changed. FENCED_MEMBER_EPOCH and UNKNOWN_MEMBER_ID (the coordinator dropped the member after its
// session timeout) rejoin with epoch 0 under the same member id. Leaving sends epoch -1.

import { randomUUID } from 'node:crypto'
import { ErrorCode } from '../../protocol/errors.js'
import { ShareGroupHeartbeatApi, type ShareGroupHeartbeatResponse } from '../../protocol/generated/share-group-heartbeat.js'
import { CoordinatorType, type Cluster } from './cluster.js'
import { KafkaProtocolError } from './errors.js'

/** Partitions by topic id, as ShareGroupHeartbeat carries them. */
export type TopicIdPartitions = ReadonlyMap<string, readonly number[]>

const LEAVE_EPOCH = -1
const COORDINATOR_MOVED = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS])
const FENCED = new Set<number>([ErrorCode.FENCED_MEMBER_EPOCH, ErrorCode.UNKNOWN_MEMBER_ID])
/** Errors nothing recovers from: the next poll throws them. */
const FATAL = new Set<number>([ErrorCode.GROUP_AUTHORIZATION_FAILED, ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorCode.INVALID_REQUEST, ErrorCode.GROUP_MAX_SIZE_REACHED, ErrorCode.UNSUPPORTED_VERSION, ErrorCode.INCONSISTENT_GROUP_PROTOCOL])
const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000
const RETRY_MS = 200
/**
 * A coordinator assigns share partitions only once their state is initialized, which the first
 * heartbeat starts: the answer comes back without them and the next heartbeat would pick them up a
 * whole interval later. While the assignment is empty the member asks again sooner, a few times.
 */
const EARLY_BEAT_MS = 300
const EARLY_BEATS = 10

export class ShareGroupMember {
  readonly memberId: string = randomUUID()
  memberEpoch = 0
  fatal: Error | null = null
  /** The last assignment the coordinator sent. */
  assignment: TopicIdPartitions = new Map()
  private topics: string[] | null = null
  private sentTopics: string | null = null
  private state: 'idle' | 'member' | 'leaving' | 'left' = 'idle'
  private timer: NodeJS.Timeout | null = null
  private inFlight: Promise<void> | null = null
  private again = false
  private earlyBeats = 0
  private readonly changeWaiters = new Set<() => void>()

  constructor(
    private readonly cluster: Cluster,
    readonly groupId: string,
    private readonly rackId: string | null = null,
  ) {}

  /** Sets the topics and joins (or tells the coordinator at once). */
  subscribe(topics: readonly string[]): void {
    this.topics = [...new Set(topics)].sort()
    this.earlyBeats = 0
    if (this.state === 'idle') this.state = 'member'
    this.beat()
  }

  get joined(): boolean {
    return this.state === 'member' && this.memberEpoch > 0
  }

  /** Resolves at the next heartbeat answer (or failure), or after `ms`. */
  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t)
        this.changeWaiters.delete(done)
        resolve()
      }
      const t = setTimeout(done, ms)
      this.changeWaiters.add(done)
    })
  }

  /** Leaves the group (epoch -1); the coordinator releases nothing itself: share sessions do. */
  async leave(): Promise<void> {
    if (this.state === 'left' || this.state === 'leaving') return
    const wasMember = this.state === 'member' && this.memberEpoch > 0
    this.state = 'leaving'
    this.stopTimer()
    await this.inFlight?.catch(() => {})
    try {
      if (wasMember) await this.send(LEAVE_EPOCH)
    } catch {
      // The coordinator drops the member after its session timeout anyway.
    } finally {
      this.state = 'left'
      this.notify()
    }
  }

  /** Sends a heartbeat now, or right after the one in flight. */
  private beat(): void {
    if (this.state !== 'member') return
    if (this.inFlight !== null) {
      this.again = true
      return
    }
    this.stopTimer()
    this.inFlight = this.heartbeat().finally(() => {
      this.inFlight = null
      if (this.again) {
        this.again = false
        this.beat()
      }
    })
  }

  private async heartbeat(): Promise<void> {
    let next = RETRY_MS
    try {
      const res = await this.send(this.memberEpoch)
      if (this.state !== 'member') return
      if (res.errorCode === ErrorCode.NONE) {
        this.memberEpoch = res.memberEpoch
        if (res.assignment !== null) this.assignment = new Map(res.assignment.topicPartitions.map((t) => [t.topicId, [...t.partitions].sort((a, b) => a - b)]))
        next = res.heartbeatIntervalMs > 0 ? res.heartbeatIntervalMs : DEFAULT_HEARTBEAT_INTERVAL_MS
        if (this.assignment.size === 0 && this.earlyBeats < EARLY_BEATS) {
          this.earlyBeats++
          next = Math.min(next, EARLY_BEAT_MS)
        }
      } else if (COORDINATOR_MOVED.has(res.errorCode)) {
        this.cluster.forgetCoordinator(CoordinatorType.Group, this.groupId)
      } else if (FENCED.has(res.errorCode)) {
        // Records this member held go back to the others at lock expiry; rejoin under the same id.
        this.memberEpoch = 0
        this.assignment = new Map()
        this.sentTopics = null
        this.earlyBeats = 0
        next = 0
      } else if (FATAL.has(res.errorCode)) {
        this.fatal = new KafkaProtocolError(res.errorCode, `share group '${this.groupId}' heartbeat`, res.errorMessage)
        return
      }
    } catch {
      this.sentTopics = null
      this.cluster.forgetCoordinator(CoordinatorType.Group, this.groupId)
    } finally {
      this.notify()
    }
    if (this.state === 'member') this.timer = setTimeout(() => this.beat(), next)
  }

  private async send(epoch: number): Promise<ShareGroupHeartbeatResponse> {
    const topicsJson = JSON.stringify(this.topics)
    // Epoch 0 always names the subscription; later heartbeats only when it changed.
    const subscribedTopicNames = epoch === 0 || topicsJson !== this.sentTopics ? this.topics : null
    const session = await this.cluster.coordinator(CoordinatorType.Group, this.groupId)
    const res = await session.send(ShareGroupHeartbeatApi, { groupId: this.groupId, memberId: this.memberId, memberEpoch: epoch, rackId: this.rackId, subscribedTopicNames })
    if (res.errorCode === ErrorCode.NONE && subscribedTopicNames !== null) this.sentTopics = topicsJson
    return res
  }

  private notify(): void {
    for (const w of [...this.changeWaiters]) w()
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}
