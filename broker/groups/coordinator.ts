// The group coordinator shell: hosts every group of this broker in one namespace of group ids,
// routes each request to the room that owns it, and runs the one shared timer. Kafka's
// GroupCoordinatorShard is the model: membership belongs to a group kind (classic-kind.ts, and
// consumer-kind.ts for KIP-848, share-kind.ts for KIP-932), committed and transactional
// offsets to the offset manager (offset-manager.ts, Kafka's OffsetMetadataManager), and what
// applies to every group (ListGroups, DeleteGroups, expiry of emptied groups) stays here.
//
// Deadlines (session timeouts, rebalance and sync timeouts, the initial rebalance delay, pending
// member ids) are plain timestamps on the groups and members. One shared interval scans the groups
// that have any, so a heartbeat only moves a number and never touches a timer. Single-threaded:
// all state changes happen synchronously on the event loop; only offset writes and deletes wait
// on the store.
import { pino, type Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import { KafkaError } from '../errors.js'
import type { ClassicGroup } from './classic-group.js'
import { ClassicKind } from './classic-kind.js'
import { ConsumerGroupClassicMembers } from './consumer-classic-members.js'
import type { ConsumerGroup } from './consumer-group.js'
import { ConsumerKind } from './consumer-kind.js'
import { OTHER_KIND, type Group, type GroupKind, type GroupRegistry, type OtherKind } from './group.js'
import { OffsetManager } from './offset-manager.js'
import type { ShareGroup } from './share-group.js'
import { ShareKind } from './share-kind.js'
import type { OffsetStore, PendingOffsetStore } from './offset-store.js'
import {
  DEFAULT_COORDINATOR_CONFIG,
  type ConsumerHeartbeatParams,
  type ConsumerHeartbeatResult,
  type DescribedConsumerGroup,
  type DeletedGroup,
  type DescribedGroup,
  type DescribedShareGroup,
  type GroupCoordinatorConfig,
  type GroupListing,
  type GroupType,
  type JoinGroupParams,
  type JoinGroupResult,
  type LeaveGroupResult,
  type LeavingMember,
  type MemberIdentity,
  type OffsetCommitParams,
  type OffsetDeleteResult,
  type OffsetFetchResult,
  type ShareGroupListener,
  type ShareHeartbeatParams,
  type ShareHeartbeatResult,
  type SyncGroupParams,
  type SyncGroupResult,
  type TopicCatalog,
  type TopicResult,
  type TxnOffsetCommitParams,
} from './types.js'

export interface GroupCoordinatorOptions {
  store: OffsetStore & Partial<PendingOffsetStore>
  logs?: TopicCatalog
  config?: Partial<GroupCoordinatorConfig>
  logger?: Logger
  now?: () => number
  /** How often deadlines are scanned; default 100 ms. */
  tickMs?: number
  /** Run the shared timer; tests that drive `tick()` themselves turn it off. Default true. */
  autoTick?: boolean
  /** A group's dynamic configuration (IncrementalAlterConfigs on a GROUP resource), if any. */
  groupConfig?: (groupId: string) => Readonly<Record<string, string>> | undefined
  /**
   * Whether this broker coordinates a group now (NONE), or the error its requests answer
   * (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS): the group's __consumer_offsets partition.
   * Without it every group is coordinated here.
   */
  ownership?: (groupId: string) => number
}

/** The group classes the kinds create, told apart by `type`. */
export type HostedGroup = ClassicGroup | ConsumerGroup | ShareGroup

/** Who asks for offsets (OffsetFetch v9+): a consumer group checks the member's epoch. */
export interface OffsetFetchMember {
  memberId: string | null
  memberEpoch: number
}

export class GroupCoordinator {
  readonly config: GroupCoordinatorConfig
  private readonly groups = new Map<string, Group>()
  /** Groups with a deadline to watch; the only ones the timer scans. */
  private readonly active = new Set<Group>()
  private readonly classic: ClassicKind
  private readonly consumer: ConsumerKind
  private readonly share: ShareKind
  /** Members speaking the classic protocol inside consumer groups. */
  private readonly classicInConsumer: ConsumerGroupClassicMembers
  /** One kind per group type: adding a type to GroupType makes this record ask for its kind. */
  private readonly kinds: Record<GroupType, GroupKind>
  private readonly offsets: OffsetManager
  private readonly logger: Logger
  private readonly now: () => number
  private readonly autoTick: boolean
  private timer: NodeJS.Timeout | null = null
  private immediate: NodeJS.Immediate | null = null
  private nextRetentionCheck: number
  private expiring = false
  private closed = false
  private readonly ownership: ((groupId: string) => number) | undefined

  constructor(opts: GroupCoordinatorOptions) {
    this.config = { ...DEFAULT_COORDINATOR_CONFIG, ...definedOnly(opts.config ?? {}) }
    this.logger = opts.logger ?? pino({ level: 'silent' })
    this.now = opts.now ?? Date.now
    this.autoTick = opts.autoTick ?? true
    this.ownership = opts.ownership
    const registry = this.registry()
    this.classic = new ClassicKind(registry, this.config, this.logger)
    this.consumer = new ConsumerKind(registry, this.config, opts.logs, this.logger, (from, to) => this.classic.adoptConverted(from, to))
    this.classicInConsumer = new ConsumerGroupClassicMembers(this.consumer, registry, this.config, opts.logs)
    this.share = new ShareKind(registry, this.config, opts.logs, this.logger, (groupId) => {
      const overrides = opts.groupConfig?.(groupId)
      const int = (key: string, fallback: number): number => {
        const v = overrides?.[key]
        return v === undefined || !Number.isFinite(Number(v)) ? fallback : Number(v)
      }
      return {
        sessionTimeoutMs: int('share.session.timeout.ms', this.config.shareSessionTimeoutMs),
        heartbeatIntervalMs: int('share.heartbeat.interval.ms', this.config.shareHeartbeatIntervalMs),
      }
    })
    this.kinds = { classic: this.classic, consumer: this.consumer, share: this.share }
    this.offsets = new OffsetManager({
      store: opts.store,
      catalog: opts.logs,
      config: this.config,
      logger: this.logger,
      groups: {
        refusal: registry.refusal,
        now: registry.now,
        get: registry.get,
        getOrCreateSimpleGroup: (groupId) => this.getOrCreateSimpleGroup(groupId),
      },
    })
    this.nextRetentionCheck = this.now() + this.config.offsetsRetentionCheckIntervalMs
    this.restoreGroups(this.offsets.committedGroupIds())
    if (this.autoTick) {
      this.timer = setInterval(() => this.tick(), opts.tickMs ?? 100)
      this.timer.unref()
    }
  }

  /** Stops the timer and answers every waiting request with NOT_COORDINATOR. */
  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.timer !== null) clearInterval(this.timer)
    if (this.immediate !== null) clearImmediate(this.immediate)
    this.timer = null
    this.immediate = null
    for (const group of this.groups.values()) this.kinds[group.type].close(group)
    this.active.clear()
  }

  /**
   * Takes over groups whose stored state was just read (at start, or when their __consumer_offsets
   * partition is loaded here): groups that only survive as committed or transactional offsets come
   * back Empty; their offsets age from now, since the moment they became empty was not recorded.
   */
  restoreGroups(groupIds: Iterable<string>): void {
    if (this.closed) return
    for (const groupId of groupIds) {
      this.offsets.restorePending(groupId)
      this.getOrCreateSimpleGroup(groupId)
    }
  }

  /**
   * Gives up groups coordinated elsewhere from now (their partition moved away), as Kafka's
   * coordinator unloads a partition: requests they hold answer NOT_COORDINATOR, so members find
   * the new coordinator; what is stored stays in the partition for the next leader to read.
   */
  unloadGroups(belongs: (groupId: string) => boolean): void {
    for (const group of [...this.groups.values()]) {
      if (!belongs(group.groupId)) continue
      this.kinds[group.type].close(group)
      this.groups.delete(group.groupId)
      this.active.delete(group)
      this.offsets.forget(group.groupId)
    }
  }

  /** NONE when this broker coordinates the group now, else the error its requests answer. */
  refusal(groupId: string): number {
    if (this.closed) return ErrorCode.NOT_COORDINATOR
    return this.ownership?.(groupId) ?? ErrorCode.NONE
  }

  /** The classic group with this id (undefined for a group of another kind). */
  group(groupId: string): ClassicGroup | undefined {
    // Sound because each kind registers only groups of its own class.
    const group = this.groups.get(groupId)
    return group?.type === 'classic' ? (group as ClassicGroup) : undefined
  }

  consumerGroup(groupId: string): ConsumerGroup | undefined {
    const group = this.groups.get(groupId)
    return group?.type === 'consumer' ? (group as ConsumerGroup) : undefined
  }

  // ---- Classic membership: routed to the classic kind -----------------------------------------

  // A consumer group with members serves classic members itself (Kafka 4.0's mixed groups); an
  // empty one is converted by the classic kind when a JoinGroup arrives.

  joinGroup(p: JoinGroupParams): Promise<JoinGroupResult> {
    const mixed = this.consumerGroup(p.groupId)
    if (mixed !== undefined && !mixed.isEmpty()) return Promise.resolve(this.classicInConsumer.joinGroup(mixed, p))
    return this.classic.joinGroup(p)
  }

  syncGroup(p: SyncGroupParams): Promise<SyncGroupResult> {
    const mixed = this.consumerGroup(p.groupId)
    if (mixed !== undefined) return Promise.resolve(this.classicInConsumer.syncGroup(mixed, p))
    return this.classic.syncGroup(p)
  }

  heartbeat(p: MemberIdentity): number {
    const mixed = this.consumerGroup(p.groupId)
    if (mixed !== undefined) return this.classicInConsumer.heartbeat(mixed, p)
    return this.classic.heartbeat(p)
  }

  leaveGroup(groupId: string, leaving: LeavingMember[]): LeaveGroupResult {
    const mixed = this.consumerGroup(groupId)
    if (mixed !== undefined) return this.classicInConsumer.leaveGroup(mixed, leaving)
    return this.classic.leaveGroup(groupId, leaving)
  }

  describeGroup(groupId: string): DescribedGroup {
    // Deadlines that passed since the last timer tick count now, as with Kafka's purgatory.
    this.tick()
    // As in Kafka, a consumer group is not a classic group: DescribeGroups v0-5 shows it as Dead.
    return this.classic.describeGroup(groupId)
  }

  // ---- Consumer groups (KIP-848): routed to the consumer kind ---------------------------------

  consumerGroupHeartbeat(p: ConsumerHeartbeatParams): ConsumerHeartbeatResult {
    return this.consumer.heartbeat(p)
  }

  consumerGroupDescribe(groupIds: readonly string[]): DescribedConsumerGroup[] {
    this.tick()
    return groupIds.map((groupId) => this.consumer.describe(groupId))
  }

  // ---- Share groups (KIP-932): routed to the share kind ---------------------------------------

  shareGroupHeartbeat(p: ShareHeartbeatParams): ShareHeartbeatResult {
    return this.share.heartbeat(p)
  }

  shareGroupDescribe(groupIds: readonly string[]): DescribedShareGroup[] {
    this.tick()
    return groupIds.map((groupId) => this.share.describe(groupId))
  }

  /** The kind of the group with this id, if there is one. */
  groupType(groupId: string): GroupType | undefined {
    return this.closed ? undefined : this.groups.get(groupId)?.type
  }

  shareGroup(groupId: string): ShareGroup | undefined {
    const group = this.groups.get(groupId)
    return group?.type === 'share' ? (group as ShareGroup) : undefined
  }

  /**
   * An empty share group for state that outlived its members (share-partition state read back at
   * start); false when the id belongs to a group of another kind.
   */
  restoreShareGroup(groupId: string): boolean {
    const group = this.groups.get(groupId)
    if (group === undefined) this.share.createGroup(groupId)
    return group === undefined || group.type === 'share'
  }

  /** Told when share-group members go and share groups are deleted (the share-partition state). */
  setShareGroupListener(listener: ShareGroupListener): void {
    this.share.listener = listener
  }

  // ---- Offsets: routed to the offset manager --------------------------------------------------

  commitOffsets(p: OffsetCommitParams): Promise<TopicResult[]> {
    return this.offsets.commitOffsets(p)
  }

  /** TxnOffsetCommit: the offsets wait for their transaction's outcome. */
  commitTransactionalOffsets(p: TxnOffsetCommitParams): Promise<TopicResult[]> {
    return this.offsets.commitTransactionalOffsets(p)
  }

  /** The transaction coordinator reports an outcome (TxnOffsetSink). */
  completeTransactionalOffsets(groupId: string, producerId: number, commit: boolean): Promise<void> {
    // Offsets parked at another coordinator are not in memory here: completing nothing would lose them.
    const refused = this.refusal(groupId)
    if (refused !== ErrorCode.NONE) return Promise.reject(new KafkaError(refused, `group ${groupId} is not coordinated by this broker`))
    return this.offsets.completeTransactionalOffsets(groupId, producerId, commit)
  }

  /**
   * A transaction's marker reached the __consumer_offsets partition of these groups
   * (coordinator-state/offset-markers.ts): the producer's pending offsets in each are settled.
   */
  async completeTransactionalOffsetsOf(groupIds: readonly string[], producerId: number, commit: boolean): Promise<void> {
    for (const groupId of groupIds) await this.completeTransactionalOffsets(groupId, producerId, commit)
  }

  hasPendingTransactionalOffset(groupId: string, topic: string, partition: number): boolean {
    return this.offsets.hasPendingTransactionalOffset(groupId, topic, partition)
  }

  fetchOffsets(
    groupId: string,
    topics: Array<{ name: string; partitionIndexes: number[] }> | null,
    requireStable = false,
    member: OffsetFetchMember = { memberId: null, memberEpoch: -1 },
  ): OffsetFetchResult {
    const refused = this.refusal(groupId)
    if (refused !== ErrorCode.NONE) return { errorCode: refused, topics: [] }
    const group = this.groups.get(groupId)
    const invalid = group === undefined ? ErrorCode.NONE : group.validateOffsetFetch(member.memberId, member.memberEpoch)
    if (invalid !== ErrorCode.NONE) return { errorCode: invalid, topics: [] }
    return this.offsets.fetchOffsets(groupId, topics, requireStable)
  }

  deleteOffsets(groupId: string, topics: Array<{ name: string; partitions: Array<{ partitionIndex: number }> }>): Promise<OffsetDeleteResult> {
    this.tick()
    return this.offsets.deleteOffsets(groupId, topics)
  }

  // ---- Every kind of group --------------------------------------------------------------------

  listGroups(statesFilter: readonly string[] = [], typesFilter: readonly string[] = []): GroupListing[] {
    this.tick()
    const states = new Set(statesFilter.map((s) => s.toLowerCase()))
    const types = new Set(typesFilter.map((s) => s.toLowerCase()))
    const out: GroupListing[] = []
    for (const g of this.groups.values()) {
      if (states.size > 0 && !states.has(g.state.toLowerCase())) continue
      if (types.size > 0 && !types.has(g.type)) continue
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state, groupType: g.type })
    }
    return out
  }

  /** Deletes empty groups and their offsets; a group with members answers NON_EMPTY_GROUP. */
  async deleteGroups(groupIds: readonly string[]): Promise<DeletedGroup[]> {
    this.tick()
    const results: DeletedGroup[] = []
    for (const groupId of groupIds) {
      const refused = this.refusal(groupId)
      if (refused !== ErrorCode.NONE) {
        results.push({ groupId, errorCode: refused })
        continue
      }
      const group = this.groups.get(groupId)
      const invalid = group === undefined ? ErrorCode.GROUP_ID_NOT_FOUND : group.validateDeleteGroup()
      if (group === undefined || invalid !== ErrorCode.NONE) {
        results.push({ groupId, errorCode: invalid })
        continue
      }
      this.removeGroup(group, this.now())
      try {
        if (group.type === 'share') await this.share.listener?.groupDeleted(groupId)
        await this.offsets.deleteGroupOffsets(groupId)
        results.push({ groupId, errorCode: ErrorCode.NONE })
      } catch (err) {
        this.logger.error({ err, groupId }, 'deleting group offsets failed')
        results.push({ groupId, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR })
      }
    }
    return results
  }

  /**
   * offsets.retention.minutes: each group's expired offsets go (the offset manager decides which,
   * asking the group); a group that should expire and has no offsets left goes with them.
   */
  async expireOffsets(): Promise<number> {
    if (this.expiring || this.closed) return 0
    this.expiring = true
    try {
      const now = this.now()
      let removed = 0
      for (const group of [...this.groups.values()]) {
        const result = await this.offsets.expireOffsets(group, now)
        removed += result.removed
        if (result.remaining === 0 && group.shouldExpire() && this.groups.get(group.groupId) === group) this.removeGroup(group, now)
      }
      return removed
    } catch (err) {
      this.logger.error({ err }, 'expiring committed offsets failed')
      return 0
    } finally {
      this.expiring = false
    }
  }

  // ---- Timers ---------------------------------------------------------------------------------

  /**
   * Acts on every deadline that has passed. Called by the shared timer; tests call it directly,
   * and so do the admin requests, so deadlines that passed since the last tick count, as with
   * Kafka's purgatory.
   */
  tick(): void {
    if (this.closed) return
    const now = this.now()
    for (const group of this.active) {
      if (!this.kinds[group.type].onDeadlines(group, now)) this.active.delete(group)
    }
    if (now >= this.nextRetentionCheck && !this.expiring) {
      this.nextRetentionCheck = now + this.config.offsetsRetentionCheckIntervalMs
      void this.expireOffsets()
    }
  }

  /** Runs a tick as soon as the current I/O is done, for deadlines that are already due. */
  private wake(): void {
    if (!this.autoTick || this.immediate !== null || this.closed) return
    this.immediate = setImmediate(() => {
      this.immediate = null
      this.tick()
    })
  }

  // ---- The groups -----------------------------------------------------------------------------

  /** Kafka creates a classic group for offsets committed outside any group (a "simple" consumer). */
  private getOrCreateSimpleGroup(groupId: string): Group {
    return this.groups.get(groupId) ?? this.classic.createGroup(groupId)
  }

  private removeGroup(group: Group, now: number): void {
    group.markDead(now)
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId)
    this.active.delete(group)
  }

  /** What the kinds see of this shell. */
  private registry(): GroupRegistry {
    return {
      refusal: (groupId) => this.refusal(groupId),
      now: () => this.now(),
      get: (groupId) => this.groups.get(groupId),
      find: <G extends Group>(groupId: string, kind: GroupKind<G>): G | undefined | OtherKind => {
        const group = this.groups.get(groupId)
        if (group === undefined) return undefined
        return group.type === kind.type ? (group as G) : OTHER_KIND
      },
      add: (group) => {
        this.groups.set(group.groupId, group)
      },
      replace: (old, group) => {
        this.removeGroup(old, this.now())
        this.groups.set(group.groupId, group)
      },
      watch: (group) => {
        this.active.add(group)
      },
      wake: () => this.wake(),
    }
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined && !Number.isNaN(v)) (out as Record<string, unknown>)[k] = v
  return out
}
