// Membership of a KIP-848 consumer group: ConsumerGroupHeartbeat in the background, the broker
// assigns. Kafka's ConsumerMembershipManager and HeartbeatRequestManager are the model.
//
// The member names itself (a UUID, as ConsumerGroupHeartbeat v1 requires; a v0 coordinator names
// it instead) and joins with epoch 0. Each answer carries its member epoch, the interval to the
// next heartbeat and, when it changed, its assignment by topic id. The assignment only ever holds
// partitions no other member still owns, so the member may start them at once; partitions it no
// longer lists must be given up. Reconciling is the consumer's poll's work (rebalance()):
// revoked partitions are committed at the current epoch and dropped first, new ones start from
// their committed offsets, and then a heartbeat goes out at once reporting what is now owned.
// The coordinator moves the member to the new epoch only once it owns nothing that was taken.
//
// Heartbeats after the join send only what changed (subscription, owned partitions), the rest
// null; after a failed heartbeat the next one sends everything again. FENCED_MEMBER_EPOCH and
// UNKNOWN_MEMBER_ID mean the group gave the member's partitions away: the next poll drops them
// without committing and rejoins with epoch 0 under the same member id. A commit answered
// STALE_MEMBER_EPOCH waits for the next heartbeat's epoch and goes again. Leaving sends epoch -1,
// or -2 for a static member (group.instance.id), whose partitions wait for it to come back.

import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { ErrorCode } from '../../protocol/errors.js'
import { ConsumerGroupHeartbeatApi, type ConsumerGroupHeartbeatRequest, type ConsumerGroupHeartbeatResponse } from '../../protocol/generated/consumer-group-heartbeat.js'
import { ZERO_UUID } from '../../protocol/types.js'
import { alterOffsets, type TopicPartitionOffset } from './admin-groups.js'
import { CoordinatorType, type Cluster } from './cluster.js'
import type { TopicPartitions } from './consumer-protocol.js'
import { BrokerConnectionError, BrokerUnreachableError, KafkaProtocolError } from './errors.js'
import { fetchCommitted, minus, type CommittedOffsets, type GroupMetadata, type Membership, type PartitionOwner, type Subscription } from './membership.js'
import { NodePool } from './node-pool.js'
import type { NodeSession } from './node-session.js'

export interface ConsumerGroupMemberOptions {
  groupId: string
  /** Static membership (KIP-345): partitions wait for a member that left with epoch -2 to come back. */
  groupInstanceId?: string | null
  /** Default 60 s; how long the coordinator waits for the member to give up revoked partitions. */
  rebalanceTimeoutMs?: number
  /** A server-side assignor by name ('uniform', 'range'); the group's default when unset. */
  serverAssignor?: string | null
  rackId?: string | null
  /** Bounds connecting and every request; default the cluster's. */
  timeoutMs?: number
}

const LEAVE_EPOCH = -1
const LEAVE_STATIC_EPOCH = -2
/** Errors after which a heartbeat goes again to a freshly found coordinator. */
const COORDINATOR_MOVED = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS])
/** The group no longer knows the member at its epoch: its partitions are gone. */
const FENCED = new Set<number>([ErrorCode.FENCED_MEMBER_EPOCH, ErrorCode.UNKNOWN_MEMBER_ID])
const RETRIABLE = new Set<number>([...COORDINATOR_MOVED, ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NETWORK_EXCEPTION])
const MAX_RETRIES = 10
const DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000
const CLIENT_SOFTWARE = { clientSoftwareName: 'samsa-consumer', clientSoftwareVersion: '0.1.0' }

type State = 'unsubscribed' | 'joining' | 'member' | 'fenced' | 'leaving' | 'left'

/** Partitions by topic id, as heartbeats carry them. */
type TopicIdPartitions = Map<string, number[]>

function backoff(attempt: number): number {
  return Math.min(1000, 100 * 2 ** attempt)
}

export class ConsumerGroupMember implements Membership {
  readonly protocol = 'consumer' as const
  readonly groupId: string
  memberId: string = randomUUID()
  memberEpoch = 0
  fatal: Error | null = null
  private state: State = 'unsubscribed'
  private subscription: Subscription | null = null
  /** The last assignment the coordinator sent, and a count of assignments received. */
  private target: TopicIdPartitions | null = null
  private targetVersion = 0
  /** What the member owns, as it reports it to the coordinator. */
  private owned: TopicIdPartitions = new Map()
  private readonly topicNames = new Map<string, string>()
  private readonly topicIds = new Map<string, string>()
  /** Fields last sent (JSON), so unchanged ones go as null; null means send them again. */
  private sentSubscription: string | null = null
  private sentOwned: string | null = null
  private needed = false
  private onRebalanceNeeded: (() => void) | null = null
  private heartbeatIntervalMs = 0
  private timer: NodeJS.Timeout | null = null
  private inFlight: Promise<void> | null = null
  private beatAgain = false
  private failures = 0
  private readonly epochWaiters = new Set<() => void>()
  private readonly pool: NodePool
  private coordinatorAddress: string | null = null
  /** Set once a v0 coordinator has named this member. */
  private named0 = false

  constructor(
    private readonly cluster: Cluster,
    private readonly opts: ConsumerGroupMemberOptions,
  ) {
    this.groupId = opts.groupId
    const timeoutMs = opts.timeoutMs ?? cluster.timeoutMs
    this.pool = new NodePool([], { clientId: cluster.clientId, connectTimeoutMs: Math.min(timeoutMs, 10_000), security: cluster.security, requestTimeoutMs: timeoutMs }, CLIENT_SOFTWARE)
  }

  get rebalanceNeeded(): boolean {
    return this.needed
  }

  whenRebalanceNeeded(fn: (() => void) | null): void {
    this.onRebalanceNeeded = fn
  }

  metadata(): GroupMetadata {
    return { groupId: this.groupId, generationId: this.memberEpoch, memberId: this.memberId, groupInstanceId: this.opts.groupInstanceId ?? null }
  }

  /** Sets what the member subscribes to; a member already in the group tells the coordinator at once. */
  subscribe(subscription: Subscription): void {
    this.subscription = 'topics' in subscription ? { topics: [...new Set(subscription.topics)].sort() } : { regex: subscription.regex }
    if (this.state === 'unsubscribed') this.setNeeded()
    else if (this.state === 'member' || this.state === 'joining') this.beat()
  }

  /** Drops what a fenced member held and rejoins, or reconciles towards the last assignment received. */
  async rebalance(owner: PartitionOwner): Promise<void> {
    this.needed = false
    this.throwIfClosed()
    if (this.state === 'fenced') {
      // Kafka's onPartitionsLost: the coordinator already gave them to others, so nothing is committed.
      const lost = owner.owned()
      if (lost.size > 0) owner.lose(lost)
      this.owned = new Map()
      this.target = null
      this.memberEpoch = 0
      this.state = 'unsubscribed'
    }
    if (this.state === 'unsubscribed') {
      if (this.subscription === null) return
      this.state = 'joining'
      this.sentSubscription = null
      this.sentOwned = null
      this.beat()
      return
    }
    if (this.state !== 'member' || this.target === null) return
    const version = this.targetVersion
    const assigned = await this.named(this.target)
    if (this.state !== 'member') return
    const held = owner.owned()
    const revoked = minus(held, assigned)
    const added = minus(assigned, held)
    if (revoked.size > 0) {
      await owner.revoke(revoked)
      this.owned = this.idsOf(owner.owned())
      if (this.state !== 'member') return
    }
    if (added.size > 0) await owner.start(added)
    this.owned = this.idsOf(owner.owned())
    owner.joined(this.memberEpoch)
    // Acknowledge now rather than at the next interval: the coordinator waits on it to move on.
    if (revoked.size > 0 || added.size > 0) this.beat()
    if (version !== this.targetVersion || this.unresolved(this.target).length > 0) this.setNeeded(revoked.size === 0 && added.size === 0 ? 200 : 0)
  }

  /** Commits at the member epoch; STALE_MEMBER_EPOCH waits for the next heartbeat answer and goes again with its epoch. */
  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return
    for (let attempt = 0; ; attempt++) {
      this.throwIfClosed()
      const epoch = this.memberEpoch
      try {
        await alterOffsets(this.cluster, this.groupId, offsets, { generationId: epoch, memberId: this.memberId, groupInstanceId: this.opts.groupInstanceId ?? null })
        return
      } catch (err) {
        if (!(err instanceof KafkaProtocolError) || attempt >= MAX_RETRIES) throw err
        if (FENCED.has(err.code)) this.fence()
        if (err.code !== ErrorCode.STALE_MEMBER_EPOCH) throw err
        if (epoch === this.memberEpoch) await this.nextEpoch(epoch)
        if (epoch === this.memberEpoch) throw err
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
        const lost = err instanceof BrokerConnectionError || err instanceof BrokerUnreachableError
        if (!lost || attempt >= MAX_RETRIES) throw err
        await sleep(backoff(attempt))
      }
    }
  }

  abandonJoin(): void {
    // Nothing waits on the coordinator: a join is one heartbeat, answered at once.
  }

  /** Leaves with epoch -1 (-2 for a static member) and closes the member's connections. */
  async leave(): Promise<void> {
    if (this.state === 'left' || this.state === 'leaving') return
    const joined = this.state === 'member' || this.state === 'joining'
    this.state = 'leaving'
    this.stopTimer()
    this.releaseEpochWaiters()
    await this.inFlight?.catch(() => {})
    if (joined) {
      const instanceId = this.opts.groupInstanceId ?? null
      try {
        const session = await this.coordinator()
        await session.send(ConsumerGroupHeartbeatApi, {
          ...this.request(session, instanceId === null ? LEAVE_EPOCH : LEAVE_STATIC_EPOCH),
          subscribedTopicNames: null,
          subscribedTopicRegex: null,
          topicPartitions: null,
        })
      } catch {
        // The coordinator drops a silent member after its session timeout anyway.
      }
    }
    this.state = 'left'
    this.memberEpoch = LEAVE_EPOCH
    await this.pool.close()
  }

  // ---- heartbeats -------------------------------------------------------------------------------

  /** Sends a heartbeat now, or right after the one in flight. */
  private beat(): void {
    if (this.inFlight !== null) {
      this.beatAgain = true
      return
    }
    this.stopTimer()
    if (this.state !== 'joining' && this.state !== 'member') return
    this.inFlight = this.heartbeat().finally(() => {
      this.inFlight = null
      // A commit answered STALE_MEMBER_EPOCH goes again with whatever epoch this answer left.
      this.releaseEpochWaiters()
      this.scheduleNext()
    })
  }

  private scheduleNext(): void {
    if (this.state !== 'joining' && this.state !== 'member') return
    if (this.beatAgain) {
      this.beatAgain = false
      this.beat()
      return
    }
    const delay = this.failures > 0 ? backoff(this.failures - 1) : this.heartbeatIntervalMs
    this.timer = setTimeout(() => {
      this.timer = null
      this.beat()
    }, delay)
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  private async heartbeat(): Promise<void> {
    let res: ConsumerGroupHeartbeatResponse
    const sent = { epoch: this.memberEpoch }
    try {
      const session = await this.coordinator()
      const req = this.request(session, this.memberEpoch)
      sent.epoch = req.memberEpoch
      res = await session.send(ConsumerGroupHeartbeatApi, req)
    } catch (err) {
      if (this.state === 'leaving' || this.state === 'left') return
      if (err instanceof BrokerConnectionError || err instanceof BrokerUnreachableError) return this.retryLater()
      return this.fail(err as Error)
    }
    if (this.state !== 'joining' && this.state !== 'member') return
    // An answer to a heartbeat from before a fence speaks for a membership that is over.
    if (sent.epoch !== 0 && this.memberEpoch === 0) return
    if (res.errorCode === ErrorCode.NONE) return this.accept(res)
    if (FENCED.has(res.errorCode)) return this.fence()
    if (RETRIABLE.has(res.errorCode)) return this.retryLater()
    this.fail(new KafkaProtocolError(res.errorCode, `heartbeat in group '${this.groupId}'`, res.errorMessage))
  }

  /** The request for the member's state; fields unchanged since the last answered heartbeat go as null. */
  private request(session: NodeSession, memberEpoch: number): ConsumerGroupHeartbeatRequest {
    const version = session.version(ConsumerGroupHeartbeatApi)
    const joining = memberEpoch === 0
    const sub = this.subscription ?? { topics: [] }
    const subKey = JSON.stringify(sub)
    const owned = [...this.owned].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([topicId, partitions]) => ({ topicId, partitions: [...partitions].sort((a, b) => a - b) }))
    const ownedKey = JSON.stringify(owned)
    const sendSubscription = joining || subKey !== this.sentSubscription
    const sendOwned = joining || ownedKey !== this.sentOwned
    if ('regex' in sub && version < 1) throw new Error(`the coordinator speaks ConsumerGroupHeartbeat v${version}, which cannot subscribe to a pattern (v1 can)`)
    this.sentSubscription = subKey
    this.sentOwned = joining ? JSON.stringify([]) : ownedKey
    return {
      groupId: this.groupId,
      // A v0 coordinator names a joining member itself.
      memberId: version === 0 && joining && this.memberEpoch === 0 && !this.named0 ? '' : this.memberId,
      memberEpoch,
      instanceId: this.opts.groupInstanceId ?? null,
      rackId: joining ? (this.opts.rackId ?? null) : null,
      rebalanceTimeoutMs: joining ? (this.opts.rebalanceTimeoutMs ?? 60_000) : -1,
      subscribedTopicNames: sendSubscription ? ('topics' in sub ? [...sub.topics] : null) : null,
      subscribedTopicRegex: sendSubscription && 'regex' in sub ? sub.regex : null,
      serverAssignor: joining ? (this.opts.serverAssignor ?? null) : null,
      // Joining owns nothing; KIP-848 requires the empty list then.
      topicPartitions: joining ? [] : sendOwned ? owned : null,
    }
  }

  private accept(res: ConsumerGroupHeartbeatResponse): void {
    this.failures = 0
    if (res.memberId !== null && res.memberId !== this.memberId) {
      this.memberId = res.memberId
      this.named0 = true
    }
    this.memberEpoch = res.memberEpoch
    // Kafka always names an interval; a broker that answers 0 does not get a busy loop.
    this.heartbeatIntervalMs = res.heartbeatIntervalMs > 0 ? res.heartbeatIntervalMs : DEFAULT_HEARTBEAT_INTERVAL_MS
    this.state = 'member'
    if (res.assignment === null) return
    this.target = new Map(res.assignment.topicPartitions.map((t) => [t.topicId, [...t.partitions].sort((a, b) => a - b)]))
    this.targetVersion++
    if (!sameIds(this.target, this.owned)) this.setNeeded()
  }

  private fence(): void {
    if (this.state !== 'member' && this.state !== 'joining') return
    this.state = 'fenced'
    this.stopTimer()
    this.releaseEpochWaiters()
    this.setNeeded()
  }

  /** A lost connection or a moved coordinator: find it again, and send every field next time. */
  private retryLater(): void {
    this.failures++
    this.sentSubscription = null
    this.sentOwned = null
    this.forgetCoordinator()
  }

  private fail(err: Error): void {
    this.fatal = err
    this.state = 'left'
    this.stopTimer()
    this.releaseEpochWaiters()
    this.onRebalanceNeeded?.()
  }

  private setNeeded(delayMs = 0): void {
    const set = () => {
      this.needed = true
      this.onRebalanceNeeded?.()
    }
    if (delayMs === 0) set()
    else setTimeout(set, delayMs).unref()
  }

  /** Resolves after the next heartbeat has been answered (at once if the epoch already moved). */
  private nextEpoch(epoch: number): Promise<void> {
    if (epoch !== this.memberEpoch || (this.state !== 'member' && this.state !== 'joining')) return Promise.resolve()
    return new Promise((resolve) => {
      this.epochWaiters.add(resolve)
      this.beat()
    })
  }

  private releaseEpochWaiters(): void {
    for (const w of this.epochWaiters) w()
    this.epochWaiters.clear()
  }

  // ---- topic ids --------------------------------------------------------------------------------

  /** The assignment by topic name; topics metadata does not name yet are left out for now. */
  private async named(target: TopicIdPartitions): Promise<TopicPartitions> {
    // The subscribed topics first; a topic no longer subscribed (still being revoked) or matched
    // by a pattern needs every topic's metadata.
    const sub = this.subscription
    if (this.unresolved(target).length > 0 && sub !== null && 'topics' in sub) await this.learnTopicIds(sub.topics)
    if (this.unresolved(target).length > 0) await this.learnTopicIds(null)
    const out: TopicPartitions = new Map()
    for (const [id, partitions] of target) {
      const name = this.topicNames.get(id)
      if (name !== undefined && partitions.length > 0) out.set(name, [...partitions])
    }
    return out
  }

  private async learnTopicIds(topics: readonly string[] | null): Promise<void> {
    const meta = await this.cluster.fetchMetadata(topics)
    for (const t of meta.topics) {
      if (t.name === '' || t.topicId === ZERO_UUID || t.errorCode !== ErrorCode.NONE) continue
      this.topicNames.set(t.topicId, t.name)
      this.topicIds.set(t.name, t.topicId)
    }
  }

  private unresolved(target: TopicIdPartitions): string[] {
    return [...target.keys()].filter((id) => !this.topicNames.has(id))
  }

  private idsOf(partitions: TopicPartitions): TopicIdPartitions {
    const out: TopicIdPartitions = new Map()
    for (const [topic, ps] of partitions) {
      const id = this.topicIds.get(topic)
      if (id !== undefined && ps.length > 0) out.set(id, [...ps].sort((a, b) => a - b))
    }
    return out
  }

  // ---- coordinator ------------------------------------------------------------------------------

  private async coordinator(): Promise<NodeSession> {
    const nodeId = (await this.cluster.findCoordinators(CoordinatorType.Group, [this.groupId])).get(this.groupId)!
    const address = await this.cluster.address(nodeId)
    this.coordinatorAddress = address
    return this.pool.session(address)
  }

  private forgetCoordinator(): void {
    if (this.coordinatorAddress !== null) this.pool.drop(this.coordinatorAddress)
    this.coordinatorAddress = null
    this.cluster.forgetCoordinator(CoordinatorType.Group, this.groupId)
  }

  private throwIfClosed(): void {
    if (this.fatal !== null) throw this.fatal
    if (this.state === 'leaving' || this.state === 'left') throw new BrokerConnectionError(this.groupId, `the member of group '${this.groupId}' has left`)
  }
}

function sameIds(a: TopicIdPartitions, b: TopicIdPartitions): boolean {
  const nonEmpty = (m: TopicIdPartitions) => [...m].filter(([, ps]) => ps.length > 0)
  const x = nonEmpty(a)
  if (x.length !== nonEmpty(b).length) return false
  return x.every(([id, ps]) => {
    const other = b.get(id)
    return other !== undefined && other.length === ps.length && ps.every((p) => other.includes(p))
  })
}
