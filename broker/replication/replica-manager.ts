// ReplicaManager: this broker's role for each replicated partition, as the metadata side decides it
// (ReplicaRoles), and what the request handlers ask of replication. A leader partition
// (leader-partition.ts) tracks its followers, the high watermark and the ISR; a followed partition
// belongs to the ReplicaFetcher of its leader broker (replica-fetcher.ts), one per leader.
//
// Fencing, as Kafka's: a request naming a currentLeaderEpoch older than this broker's gets
// FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH; a request only the leader serves gets
// NOT_LEADER_OR_FOLLOWER elsewhere. Clients refresh their metadata on each.
//
// Fetching from the closest replica (KIP-392): a consumer's Fetch (v11 and later) may be served by
// any replica, leader or follower, up to that replica's high watermark (a follower learns it from
// its leader); the leader, with a replica.selector.class, names the replica the consumer should
// read from instead (preferredReadReplica). Every other request stays with the leader.
//
// A broker cut off from etcd keeps its roles (broker/cluster/cluster-node.ts says why that is safe):
// a leader keeps its ISR as last committed, and acks=all keeps waiting for every member of it.
//
// High watermarks survive restarts as in Kafka: every replica.high.watermark.checkpoint.interval.ms
// and at close, each data directory's replication-offset-checkpoint gets them
// (storage/high-watermark-checkpoint.ts), and a partition taken up after a restart starts its high
// watermark from there, within its log. A leader whose followers have not fetched since holds it
// there (consumers read no further), and until it reaches the start of the leader's epoch answers
// ListOffsets for the latest offset with OFFSET_NOT_AVAILABLE (KIP-207).
//
// Replication throttles (KIP-73): bytes a leader sends for partitions its topic's
// leader.replication.throttled.replicas lists with this broker count against
// leader.replication.throttled.rate, and while that quota is exceeded a follower outside the ISR
// gets no records for them (their offsets still answer); the follower side does the same with
// follower.replication.throttled.replicas and follower.replication.throttled.rate in its fetcher.
// A replica in the ISR is never held back, so throttling a move cannot shrink an ISR.
//
// Single-broker mode has no ReplicaManager at all (BrokerContext.replicas is undefined): handlers
// then take their unreplicated paths and the high watermark stays the log end offset.
//
// Concurrency: single-threaded. Role changes for one partition are applied in call order; a
// fetch in flight when its partition changes role is dropped when it returns.
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import type { LogManager } from '../../storage/log-manager.js'
import type { PartitionLog } from '../../storage/partition-log.js'
import type { ClientSecurity } from '../client/connection.js'
import type { BrokerEndpoint, IsrChanges, PartitionState, ReplicaRoles } from '../cluster/partition-state.js'
import { LeaderPartition } from './leader-partition.js'
import { ReplicaFetcher, type FetcherSettings } from './replica-fetcher.js'
import type { ReplicaSelector } from './replica-selector.js'
import { ReplicationQuota } from './replication-quota.js'
import { FOLLOWER_THROTTLED_REPLICAS, LEADER_THROTTLED_REPLICAS, ThrottledReplicas } from './throttled-replicas.js'

export interface ReplicaManagerOptions {
  nodeId: number
  logs: LogManager
  isrChanges: IsrChanges
  logger: Logger
  /** Broker settings by name (replica.lag.time.max.ms, replica.fetch.*), read on each use. */
  setting: (name: string) => number
  /** How to reach other brokers' replication listener; plain TCP without. */
  security?: ClientSecurity
  /** replica.selector.class; none: consumers are never sent away from the leader. */
  replicaSelector?: ReplicaSelector
  /** A broker's broker.rack as registered (null: none, or not a live broker). */
  rackOf?: (nodeId: number) => string | null
  /** Whether a replica's broker may join an ISR (live, not shutting down); every one may when not given. */
  isrEligible?: (nodeId: number) => boolean
}

type Role =
  | { kind: 'leader'; state: PartitionState; leader: LeaderPartition }
  | { kind: 'follower'; state: PartitionState; fetcher: ReplicaFetcher }

export interface CurrentLeader {
  leaderId: number
  leaderEpoch: number
}

/** How often acks=all deadlines and ISR lag are checked. */
const TICK_MS = 100

export class ReplicaManager implements ReplicaRoles {
  private readonly roles = new Map<string, Role>()
  private readonly fetchers = new Map<number, ReplicaFetcher>()
  private readonly timer: NodeJS.Timeout
  private lastIsrCheck = 0
  private lastHighWatermarkCheckpoint = Date.now()
  private checkpointing = false
  private closed = false
  private readonly throttledReplicas: ThrottledReplicas
  /** leader.replication.throttled.rate: what this broker sends for throttled replicas. */
  readonly leaderQuota: ReplicationQuota
  /** follower.replication.throttled.rate: what this broker's fetchers take for throttled replicas. */
  readonly followerQuota: ReplicationQuota

  constructor(private readonly opts: ReplicaManagerOptions) {
    this.timer = setInterval(() => this.tick(), TICK_MS)
    this.timer.unref()
    this.throttledReplicas = new ThrottledReplicas(opts.nodeId)
    const quota = (rate: string) =>
      new ReplicationQuota(
        () => opts.setting(rate),
        () => opts.setting('replication.quota.window.num'),
        () => opts.setting('replication.quota.window.size.seconds') * 1000,
      )
    this.leaderQuota = quota('leader.replication.throttled.rate')
    this.followerQuota = quota('follower.replication.throttled.rate')
  }

  get nodeId(): number {
    return this.opts.nodeId
  }

  async becomeLeader(state: PartitionState): Promise<void> {
    const log = this.requireLog(state)
    const k = key(state.topic, state.partition)
    const role = this.roles.get(k)
    if (role?.kind === 'leader' && role.state.leaderEpoch === state.leaderEpoch) {
      // An older state of this epoch (our own ISR change got here before the watch's copy) changes nothing.
      if (state.partitionEpoch < role.leader.state.partitionEpoch) return
      role.state = state
      role.leader.update(state)
      return
    }
    this.leave(k, role)
    // Consumers must not see what the ISR may not have: a log that has not tracked a high watermark
    // since it opened starts from the checkpointed one, and the followers' fetches move it up.
    if (!log.replicated) log.setHighWatermark(this.opts.logs.highWatermarks.restoredHighWatermark(log))
    log.follower = false
    log.leaderEpoch = state.leaderEpoch
    await log.leaderEpochs.assign(state.leaderEpoch, log.logEndOffset)
    const leader = new LeaderPartition(state, log, {
      nodeId: this.opts.nodeId,
      isrChanges: this.opts.isrChanges,
      logger: this.opts.logger,
      replicaLagTimeMaxMs: () => this.opts.setting('replica.lag.time.max.ms'),
      isrEligible: this.opts.isrEligible,
    })
    this.roles.set(k, { kind: 'leader', state, leader })
    leader.maybeAdvanceHighWatermark()
    this.opts.logger.info({ topic: state.topic, partition: state.partition, leaderEpoch: state.leaderEpoch, isr: state.isr, logEndOffset: log.logEndOffset }, 'leading partition')
  }

  async becomeFollower(state: PartitionState, leader: BrokerEndpoint): Promise<void> {
    const log = this.requireLog(state)
    const k = key(state.topic, state.partition)
    const role = this.roles.get(k)
    if (role?.kind === 'follower' && role.state.leaderEpoch === state.leaderEpoch && role.fetcher.leader.nodeId === leader.nodeId) {
      role.state = state
      return
    }
    this.leave(k, role)
    // From the checkpoint until the first fetch answers with the leader's.
    if (!log.replicated) log.setHighWatermark(this.opts.logs.highWatermarks.restoredHighWatermark(log))
    // Only the fetcher writes to it now (a transaction marker from a coordinator here is refused).
    log.follower = true
    // The epoch consumers reading from this follower name (KIP-392) is the leader's.
    log.leaderEpoch = state.leaderEpoch
    const fetcher = this.fetcherFor(leader)
    fetcher.add({ topic: state.topic, partition: state.partition, log, leaderEpoch: state.leaderEpoch, truncating: true })
    this.roles.set(k, { kind: 'follower', state, fetcher })
    this.opts.logger.info({ topic: state.topic, partition: state.partition, leader: leader.nodeId, leaderEpoch: state.leaderEpoch }, 'following partition')
  }

  async stopReplica(topic: string, partition: number, deleteLog: boolean): Promise<void> {
    const k = key(topic, partition)
    this.leave(k, this.roles.get(k))
    this.roles.delete(k)
    if (deleteLog) {
      // The replica moved away (a reassignment): its data goes, an empty log stays in its place.
      await this.opts.logs.deletePartitionData(topic, partition)
      this.opts.logger.info({ topic, partition }, 'replica removed from this broker; its log is deleted')
    }
    const log = this.opts.logs.partition(topic, partition)
    if (log !== undefined) log.follower = true
  }

  /** The broker's view of who leads, for currentLeader hints in error answers. */
  currentLeader(topic: string, partition: number): CurrentLeader {
    const role = this.roles.get(key(topic, partition))
    return role === undefined ? { leaderId: -1, leaderEpoch: -1 } : { leaderId: role.state.leader, leaderEpoch: role.state.leaderEpoch }
  }

  /**
   * NONE when this broker leads the partition and `currentLeaderEpoch` (-1: not given) is its
   * epoch; else FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH or NOT_LEADER_OR_FOLLOWER.
   */
  checkLeader(topic: string, partition: number, currentLeaderEpoch: number): number {
    const role = this.roles.get(key(topic, partition))
    if (role === undefined) return ErrorCode.NOT_LEADER_OR_FOLLOWER
    const epochError = checkEpoch(role.state.leaderEpoch, currentLeaderEpoch)
    if (epochError !== ErrorCode.NONE) return epochError
    return role.kind === 'leader' ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER
  }

  /**
   * A consumer's Fetch of v11 or later (KIP-392): NONE when this broker leads or follows the
   * partition and `currentLeaderEpoch` (-1: not given) is the leader epoch it knows; else
   * FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH or NOT_LEADER_OR_FOLLOWER (not a replica here, or
   * no longer).
   */
  checkReplica(topic: string, partition: number, currentLeaderEpoch: number): number {
    const role = this.roles.get(key(topic, partition))
    if (role === undefined) return ErrorCode.NOT_LEADER_OR_FOLLOWER
    return checkEpoch(role.state.leaderEpoch, currentLeaderEpoch)
  }

  /**
   * The replica a consumer in `clientRack` fetching at `fetchOffset` should read from, when this
   * broker leads the partition and its selector picks a follower; -1 to read here.
   */
  preferredReadReplica(topic: string, partition: number, clientRack: string, fetchOffset: number): number {
    const selector = this.opts.replicaSelector
    if (selector === undefined) return -1
    const role = this.roles.get(key(topic, partition))
    if (role?.kind !== 'leader') return -1
    const rackOf = this.opts.rackOf ?? (() => null)
    const leader = { nodeId: this.nodeId, rack: rackOf(this.nodeId), logEndOffset: role.leader.log.logEndOffset, timeSinceLastCaughtUpMs: 0 }
    const candidates = role.leader.readReplicaCandidates(fetchOffset).map((c) => ({ ...c, rack: rackOf(c.nodeId) }))
    const chosen = selector.select(clientRack, leader, candidates)
    return chosen.nodeId === this.nodeId ? -1 : chosen.nodeId
  }

  /**
   * A new leader whose high watermark has not yet reached the start of its epoch (its followers
   * have not fetched since it took over) cannot tell the latest committed offset: ListOffsets for
   * the latest answers OFFSET_NOT_AVAILABLE, retriable, as Kafka's does.
   */
  latestOffsetAvailable(topic: string, partition: number): boolean {
    const role = this.roles.get(key(topic, partition))
    return role?.kind !== 'leader' || role.leader.log.highWatermark >= role.leader.epochStartOffset()
  }

  /** A follower's Fetch: leadership and epoch checked, then its fetch offset recorded as its log end. */
  followerFetch(topic: string, partition: number, replicaId: number, currentLeaderEpoch: number, fetchOffset: number, logStartOffset = -1): number {
    const error = this.checkLeader(topic, partition, currentLeaderEpoch)
    if (error !== ErrorCode.NONE) return error
    const role = this.roles.get(key(topic, partition)) as Extract<Role, { kind: 'leader' }>
    if (!role.state.replicas.includes(replicaId)) return ErrorCode.NOT_LEADER_OR_FOLLOWER
    role.leader.onFollowerFetch(replicaId, fetchOffset, logStartOffset)
    return ErrorCode.NONE
  }

  /** Whether the topic's leader.replication.throttled.replicas lists this partition with this broker. */
  leaderThrottles(topic: string, partition: number): boolean {
    return this.throttledReplicas.includes(this.opts.logs.getTopic(topic)?.configs[LEADER_THROTTLED_REPLICAS], partition)
  }

  /**
   * A follower's fetch of a partition it may not have records of now: the partition is throttled
   * on this leader, the leader quota is exceeded, and the follower is not in the ISR.
   */
  holdBackFromFollower(topic: string, partition: number, replicaId: number, now = Date.now()): boolean {
    if (!this.leaderThrottles(topic, partition)) return false
    const leader = this.leaderOf(topic, partition)
    if (leader === undefined || leader.inSync(replicaId)) return false
    return this.leaderQuota.exceeded(now)
  }

  /** Whether the topic's follower.replication.throttled.replicas lists this partition with this broker. */
  followerThrottles(topic: string, partition: number): boolean {
    return this.throttledReplicas.includes(this.opts.logs.getTopic(topic)?.configs[FOLLOWER_THROTTLED_REPLICAS], partition)
  }

  /** acks=all before the append: NOT_ENOUGH_REPLICAS when the ISR is below min.insync.replicas. */
  checkEnoughReplicas(topic: string, partition: number, log: PartitionLog): number {
    const role = this.roles.get(key(topic, partition))
    if (role?.kind !== 'leader') return ErrorCode.NOT_LEADER_OR_FOLLOWER
    return role.leader.isrSize < log.config.minInsyncReplicas ? ErrorCode.NOT_ENOUGH_REPLICAS : ErrorCode.NONE
  }

  /** acks=all after the append: resolves once the ISR has everything below `offset` (LeaderPartition.waitForIsr). */
  waitForIsr(topic: string, partition: number, log: PartitionLog, offset: number, timeoutMs: number): Promise<number> {
    const role = this.roles.get(key(topic, partition))
    if (role?.kind !== 'leader' || role.leader.log !== log) return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    return role.leader.waitForIsr(offset, timeoutMs, () => log.config.minInsyncReplicas)
  }

  /** The leader state of a partition this broker leads (tests and describing). */
  leaderOf(topic: string, partition: number): LeaderPartition | undefined {
    const role = this.roles.get(key(topic, partition))
    return role?.kind === 'leader' ? role.leader : undefined
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    for (const role of this.roles.values()) if (role.kind === 'leader') role.leader.close()
    this.roles.clear()
    await Promise.all([...this.fetchers.values()].map((f) => f.close()))
    this.fetchers.clear()
    await this.checkpointHighWatermarks().catch((err: unknown) => this.opts.logger.error({ err }, 'writing the high watermark checkpoint at shutdown failed'))
  }

  /** Writes replication-offset-checkpoint with every replicated partition's high watermark. */
  checkpointHighWatermarks(): Promise<void> {
    this.lastHighWatermarkCheckpoint = Date.now()
    return this.opts.logs.highWatermarks.write(this.opts.logs.partitions())
  }

  private tick(): void {
    const now = Date.now()
    if (!this.checkpointing && now - this.lastHighWatermarkCheckpoint >= this.opts.setting('replica.high.watermark.checkpoint.interval.ms')) {
      this.checkpointing = true
      this.checkpointHighWatermarks()
        .catch((err: unknown) => this.opts.logger.warn({ err }, 'writing the high watermark checkpoint failed'))
        .finally(() => (this.checkpointing = false))
    }
    const checkIsr = now - this.lastIsrCheck >= this.opts.setting('replica.lag.time.max.ms') / 2
    if (checkIsr) this.lastIsrCheck = now
    for (const role of this.roles.values()) {
      if (role.kind !== 'leader') continue
      role.leader.expireWaiters(now)
      if (checkIsr) role.leader.maybeShrinkIsr(now)
    }
  }

  /** Ends the partition's current role: a leader's waiting produce requests answer, a fetcher lets go. */
  private leave(k: string, role: Role | undefined): void {
    if (role === undefined) return
    if (role.kind === 'leader') {
      role.leader.close()
    } else {
      role.fetcher.remove(role.state.topic, role.state.partition)
      if (role.fetcher.size === 0) {
        this.fetchers.delete(role.fetcher.leader.nodeId)
        void role.fetcher.close()
      }
    }
    this.roles.delete(k)
  }

  private fetcherFor(leader: BrokerEndpoint): ReplicaFetcher {
    const existing = this.fetchers.get(leader.nodeId)
    if (existing !== undefined && existing.leader.host === leader.host && existing.leader.port === leader.port) return existing
    const settings: FetcherSettings = {
      nodeId: this.opts.nodeId,
      logger: this.opts.logger,
      security: this.opts.security,
      get: (name) => this.opts.setting(name),
      throttle: { throttles: (topic, partition) => this.followerThrottles(topic, partition), quota: this.followerQuota },
    }
    const fetcher = new ReplicaFetcher(leader, settings)
    this.fetchers.set(leader.nodeId, fetcher)
    if (existing !== undefined) {
      // The leader broker came back on another address: its partitions move to the new connection.
      for (const role of this.roles.values()) {
        if (role.kind !== 'follower' || role.fetcher !== existing) continue
        const log = this.requireLog(role.state)
        role.fetcher = fetcher
        fetcher.add({ topic: role.state.topic, partition: role.state.partition, log, leaderEpoch: role.state.leaderEpoch, truncating: true })
      }
      void existing.close()
    }
    return fetcher
  }

  private requireLog(state: PartitionState): PartitionLog {
    const log = this.opts.logs.partition(state.topic, state.partition)
    if (log === undefined) throw new Error(`no local log for ${state.topic}-${state.partition}; create the topic before giving it a role`)
    return log
  }
}

function checkEpoch(localEpoch: number, requested: number): number {
  if (requested === -1 || requested === localEpoch) return ErrorCode.NONE
  return requested < localEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}
