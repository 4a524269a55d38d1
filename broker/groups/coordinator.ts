// The group coordinator: hosts every group of this broker, runs the classic rebalance protocol
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and keeps committed offsets. Kafka's
// GroupCoordinator / GroupMetadataManager for classic groups is the model, rule for rule.
//
// Deadlines (session timeouts, rebalance and sync timeouts, the initial rebalance delay, pending
// member ids) are plain timestamps on the groups and members. One shared interval scans the groups
// that have any, so a heartbeat only moves a number and never touches a timer. JoinGroup and
// SyncGroup answers are promises that settle when the rebalance step completes; every promise is
// settled eventually (by the rebalance, a timeout, a replacement request or close()).
// Single-threaded: all state changes happen synchronously on the event loop; only offset writes
// and deletes wait on the store.
//
// Transactional offsets (TxnOffsetCommit) wait per group and producer id until the transaction
// coordinator reports the outcome: a commit materialises them as committed offsets, an abort
// drops them. Until then OffsetFetch with require_stable reports UNSTABLE_OFFSET_COMMIT for them.
import { randomUUID } from 'node:crypto'
import { pino, type Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import {
  ClassicGroup,
  ClassicMember,
  EMPTY_BYTES,
  joinError,
  syncError,
  type JoinGroupResult,
  type JoinProtocol,
  type SyncGroupResult,
} from './classic-group.js'
import { CONSUMER_PROTOCOL_TYPE, subscribedTopicsOf } from './consumer-subscription.js'
import type { Group, GroupListing } from './group.js'
import {
  GroupOffsets,
  type CommittedOffset,
  type OffsetStore,
  type PendingOffset,
  type PendingOffsetStore,
  type TopicPartitionFilter,
} from './offsets.js'

export type { JoinGroupResult, SyncGroupResult } from './classic-group.js'

export interface GroupCoordinatorConfig {
  groupInitialRebalanceDelayMs: number
  groupMinSessionTimeoutMs: number
  groupMaxSessionTimeoutMs: number
  groupMaxSize: number
  offsetsRetentionMinutes: number
  offsetsRetentionCheckIntervalMs: number
  offsetMetadataMaxBytes: number
}

export const DEFAULT_COORDINATOR_CONFIG: GroupCoordinatorConfig = {
  groupInitialRebalanceDelayMs: 3000,
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupMaxSize: 2_147_483_647,
  offsetsRetentionMinutes: 10080,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetMetadataMaxBytes: 4096,
}

/** Which topics and partitions exist; commits and deletes for others are refused. */
export interface TopicCatalog {
  partitionCount(topic: string): number | undefined
}

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
}

/** New members cannot heartbeat before their first JoinGroup completes; Kafka gives them 5 minutes. */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000

export interface JoinGroupParams {
  groupId: string
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  protocolType: string
  protocols: JoinProtocol[]
  /** KIP-394 (JoinGroup v4+): a new dynamic member first gets MEMBER_ID_REQUIRED and its id. */
  requireKnownMemberId: boolean
  /** JoinGroup v9+: a rejoining static leader may be told to skip the assignment. */
  supportSkippingAssignment: boolean
  reason?: string | null
}

export interface SyncGroupParams {
  groupId: string
  generationId: number
  memberId: string
  groupInstanceId: string | null
  protocolType: string | null
  protocolName: string | null
  assignments: Array<{ memberId: string; assignment: Uint8Array }>
}

export interface MemberIdentity {
  groupId: string
  generationId: number
  memberId: string
  groupInstanceId: string | null
}

export interface LeavingMember {
  memberId: string
  groupInstanceId: string | null
  reason?: string | null
}

export interface LeaveGroupResult {
  errorCode: number
  members: Array<{ memberId: string; groupInstanceId: string | null; errorCode: number }>
}

export interface OffsetCommitParams extends MemberIdentity {
  /** OffsetCommit v2-4 retention time, -1 to age the offsets with the group. */
  retentionTimeMs: number
  /** Answer GROUP_ID_NOT_FOUND (OffsetCommit v9+) rather than ILLEGAL_GENERATION for an unknown group. */
  reportUnknownGroup: boolean
  topics: Array<{
    name: string
    partitions: Array<{
      partitionIndex: number
      committedOffset: number
      committedLeaderEpoch: number
      committedMetadata: string | null
      /** OffsetCommit v1 only; -1 means now. */
      commitTimestamp?: number
    }>
  }>
}

export interface TxnOffsetCommitParams {
  groupId: string
  producerId: number
  producerEpoch: number
  /** TxnOffsetCommit v3+: -1 and '' when the producer does not pass its consumer's group metadata. */
  generationId: number
  memberId: string
  groupInstanceId: string | null
  topics: Array<{
    name: string
    partitions: Array<{ partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }>
  }>
}

const PENDING_TXN_OFFSETS_KEY = 'groups.pending-txn-offsets'

export interface PartitionResult {
  partitionIndex: number
  errorCode: number
}

export interface TopicResult {
  name: string
  partitions: PartitionResult[]
}

export interface FetchedOffset {
  partitionIndex: number
  committedOffset: number
  committedLeaderEpoch: number
  metadata: string
  errorCode: number
}

export interface OffsetFetchResult {
  errorCode: number
  topics: Array<{ name: string; partitions: FetchedOffset[] }>
}

export interface OffsetDeleteResult {
  errorCode: number
  topics: TopicResult[]
}

export interface DescribedGroup {
  errorCode: number
  groupId: string
  groupState: string
  protocolType: string
  protocolData: string
  members: Array<{
    memberId: string
    groupInstanceId: string | null
    clientId: string
    clientHost: string
    memberMetadata: Uint8Array
    memberAssignment: Uint8Array
  }>
}

export class GroupCoordinator {
  readonly config: GroupCoordinatorConfig
  private readonly groups = new Map<string, Group>()
  /** Groups with a deadline to watch; the only ones the timer scans. */
  private readonly active = new Set<ClassicGroup>()
  private readonly offsets: GroupOffsets
  /** groupId -> producerId -> offsets awaiting the transaction's outcome, one per partition. */
  private readonly pendingTxnOffsets = new Map<string, Map<number, Map<string, PendingOffset>>>()
  private readonly pendingStore: PendingOffsetStore | undefined
  private readonly catalog: TopicCatalog | undefined
  private readonly logger: Logger
  private readonly now: () => number
  private readonly autoTick: boolean
  private timer: NodeJS.Timeout | null = null
  private immediate: NodeJS.Immediate | null = null
  private nextRetentionCheck: number
  private expiring = false
  private closed = false

  constructor(opts: GroupCoordinatorOptions) {
    this.config = { ...DEFAULT_COORDINATOR_CONFIG, ...definedOnly(opts.config ?? {}) }
    this.offsets = new GroupOffsets(opts.store)
    const store = opts.store
    this.pendingStore = typeof store.get === 'function' && typeof store.put === 'function' ? (store as PendingOffsetStore) : undefined
    this.catalog = opts.logs
    this.logger = opts.logger ?? pino({ level: 'silent' })
    this.now = opts.now ?? Date.now
    this.autoTick = opts.autoTick ?? true
    const now = this.now()
    this.nextRetentionCheck = now + this.config.offsetsRetentionCheckIntervalMs
    // Groups that only survive as committed offsets come back Empty; their offsets age from now,
    // since the moment they became empty was not recorded.
    for (const groupId of this.offsets.groupIds()) this.groups.set(groupId, new ClassicGroup(groupId, now))
    this.loadPendingTxnOffsets()
    if (this.autoTick) {
      this.timer = setInterval(() => this.tick(), opts.tickMs ?? 100)
      this.timer.unref()
    }
  }

  /** Stops the timer and answers every waiting JoinGroup/SyncGroup with NOT_COORDINATOR. */
  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.timer !== null) clearInterval(this.timer)
    if (this.immediate !== null) clearImmediate(this.immediate)
    this.timer = null
    this.immediate = null
    for (const group of this.groups.values()) {
      for (const m of group.members.values()) {
        group.completeJoin(m, joinError(m.memberId, ErrorCode.NOT_COORDINATOR))
        group.completeSync(m, syncError(ErrorCode.NOT_COORDINATOR))
      }
    }
    this.active.clear()
  }

  group(groupId: string): Group | undefined {
    return this.groups.get(groupId)
  }

  // ---- JoinGroup ------------------------------------------------------------------------------

  joinGroup(p: JoinGroupParams): Promise<JoinGroupResult> {
    if (this.closed) return Promise.resolve(joinError(p.memberId, ErrorCode.NOT_COORDINATOR))
    if (p.groupId === '') return Promise.resolve(joinError(p.memberId, ErrorCode.INVALID_GROUP_ID))
    if (p.sessionTimeoutMs < this.config.groupMinSessionTimeoutMs || p.sessionTimeoutMs > this.config.groupMaxSessionTimeoutMs) {
      return Promise.resolve(joinError(p.memberId, ErrorCode.INVALID_SESSION_TIMEOUT))
    }
    const isUnknownMember = p.memberId === ''
    let group = this.groups.get(p.groupId)
    if (group === undefined) {
      if (!isUnknownMember) return Promise.resolve(joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID))
      group = this.createGroup(p.groupId)
    }
    if (isUnknownMember && group.size >= this.config.groupMaxSize) {
      return Promise.resolve(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED))
    }
    const result = isUnknownMember ? this.unknownMemberJoin(group, p) : this.knownMemberJoin(group, p)
    this.maybeCompleteJoin(group)
    return result
  }

  private unknownMemberJoin(group: ClassicGroup, p: JoinGroupParams): Promise<JoinGroupResult> {
    if (!group.supportsProtocols(p.protocolType, p.protocols)) {
      return Promise.resolve(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL))
    }
    const newMemberId = `${p.groupInstanceId ?? p.clientId}-${randomUUID()}`
    if (p.groupInstanceId !== null) {
      const oldMemberId = group.staticMembers.get(p.groupInstanceId)
      if (oldMemberId !== undefined) return this.replaceStaticMember(group, oldMemberId, newMemberId, p)
      return this.addMemberAndRebalance(group, newMemberId, p)
    }
    if (p.requireKnownMemberId) {
      group.pendingMembers.set(newMemberId, this.now() + p.sessionTimeoutMs)
      this.watch(group)
      return Promise.resolve(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED))
    }
    return this.addMemberAndRebalance(group, newMemberId, p)
  }

  private knownMemberJoin(group: ClassicGroup, p: JoinGroupParams): Promise<JoinGroupResult> {
    const { memberId } = p
    if (!group.supportsProtocols(p.protocolType, p.protocols)) {
      return Promise.resolve(joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL))
    }
    if (group.pendingMembers.has(memberId)) return this.addMemberAndRebalance(group, memberId, p)
    if (group.isStaticMemberFenced(p.groupInstanceId, memberId)) {
      return Promise.resolve(joinError(memberId, ErrorCode.FENCED_INSTANCE_ID))
    }
    if (!group.has(memberId) || (p.groupInstanceId !== null && !group.staticMembers.has(p.groupInstanceId))) {
      return Promise.resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID))
    }
    const member = group.get(memberId)
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, p, 'member rejoined during PreparingRebalance')
      case 'CompletingRebalance':
        // The member most likely missed its JoinGroup response: hand it the current generation again.
        if (member.matches(p.protocols)) return Promise.resolve(this.currentGeneration(group, member, group.isLeader(memberId)))
        return this.updateMemberAndRebalance(group, member, p, 'member changed its protocols during CompletingRebalance')
      case 'Stable':
        if (group.isLeader(memberId)) return this.updateMemberAndRebalance(group, member, p, 'leader rejoined')
        if (!member.matches(p.protocols)) return this.updateMemberAndRebalance(group, member, p, 'member changed its protocols')
        return Promise.resolve(this.currentGeneration(group, member, false))
      default:
        // Empty or Dead yet the member is known: let it reset its generation and join again.
        return Promise.resolve(joinError(memberId, ErrorCode.UNKNOWN_MEMBER_ID))
    }
  }

  private addMemberAndRebalance(group: ClassicGroup, memberId: string, p: JoinGroupParams): Promise<JoinGroupResult> {
    const member = new ClassicMember(
      memberId,
      p.groupInstanceId,
      p.clientId,
      p.clientHost,
      p.rebalanceTimeoutMs,
      p.sessionTimeoutMs,
      p.protocolType,
      p.protocols,
    )
    member.isNew = true
    if (group.is('PreparingRebalance') && group.generationId === 0) group.newMemberAdded = true
    const result = new Promise<JoinGroupResult>((resolve) => group.add(member, resolve))
    // A client that gave up on a long JoinGroup retries under a new id; the abandoned member must
    // not hold the rebalance forever.
    member.heartbeatDeadline = this.now() + NEW_MEMBER_JOIN_TIMEOUT_MS
    this.watch(group)
    this.maybePrepareRebalance(group, `adding member ${memberId}`)
    return result
  }

  private updateMemberAndRebalance(
    group: ClassicGroup,
    member: ClassicMember,
    p: JoinGroupParams,
    reason: string,
  ): Promise<JoinGroupResult> {
    // A JoinGroup superseded by a newer one from the same member is answered so that the connection
    // carrying it is not blocked; the client retries the join on this error.
    group.completeJoin(member, joinError(member.memberId, ErrorCode.REBALANCE_IN_PROGRESS))
    member.clientId = p.clientId
    member.clientHost = p.clientHost
    const result = new Promise<JoinGroupResult>((resolve) =>
      group.updateMember(member, p.protocols, p.rebalanceTimeoutMs, p.sessionTimeoutMs, resolve),
    )
    this.maybePrepareRebalance(group, reason)
    return result
  }

  /** KIP-345: a static member rejoining without its member id takes over its old identity. */
  private replaceStaticMember(
    group: ClassicGroup,
    oldMemberId: string,
    newMemberId: string,
    p: JoinGroupParams,
  ): Promise<JoinGroupResult> {
    const instanceId = p.groupInstanceId!
    const currentLeader = group.leaderId
    const member = group.replaceStaticMember(instanceId, oldMemberId, newMemberId, ErrorCode.FENCED_INSTANCE_ID)
    member.clientId = p.clientId
    member.clientHost = p.clientHost
    const result = new Promise<JoinGroupResult>((resolve) =>
      group.updateMember(member, p.protocols, p.rebalanceTimeoutMs, p.sessionTimeoutMs, resolve),
    )
    member.heartbeatDeadline = this.now() + member.sessionTimeoutMs
    this.logger.info({ groupId: group.groupId, instanceId, oldMemberId, newMemberId, state: group.state }, 'static member rejoined')
    switch (group.state) {
      case 'Stable':
        if (group.selectProtocol() === group.protocolName) {
          // Nothing changes for the group, so no rebalance. The leader id returned is the old one
          // so a rejoining leader does not compute an assignment a Stable group would never
          // distribute, unless the client can be told to skip the assignment (v9+).
          const skip = group.isLeader(newMemberId) && p.supportSkippingAssignment
          const answer = this.currentGeneration(group, member, skip)
          answer.leader = skip ? newMemberId : (currentLeader ?? '')
          answer.skipAssignment = skip
          group.completeJoin(member, answer)
        } else {
          this.maybePrepareRebalance(group, `static member ${instanceId} rejoined with other protocols`)
        }
        break
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group, `static member ${instanceId} rejoined during CompletingRebalance`)
        break
      default:
        // PreparingRebalance: the member is answered when the rebalance completes.
        break
    }
    return result
  }

  private currentGeneration(group: ClassicGroup, member: ClassicMember, withMembers: boolean): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      skipAssignment: false,
      memberId: member.memberId,
      members: withMembers ? group.currentMemberMetadata() : [],
    }
  }

  private maybePrepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.canRebalance()) this.prepareRebalance(group, reason)
  }

  private prepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS)
    group.syncDeadline = null
    const now = this.now()
    if (group.is('Empty')) {
      // group.initial.rebalance.delay.ms: give the other members of a starting group a chance to
      // arrive, extending the wait while they keep coming, up to the rebalance timeout.
      const delay = this.config.groupInitialRebalanceDelayMs
      group.newMemberAdded = false
      group.initialDelayRemainingMs = Math.max(group.rebalanceTimeoutMs() - delay, 0)
      group.joinDeadline = now + delay
    } else {
      group.initialDelayRemainingMs = null
      group.joinDeadline = now + group.rebalanceTimeoutMs()
    }
    group.transitionTo('PreparingRebalance', now)
    this.logger.info({ groupId: group.groupId, generationId: group.generationId, reason }, 'preparing to rebalance group')
    this.watch(group)
    if (group.joinDeadline <= now) this.wake()
    this.maybeCompleteJoin(group)
  }

  private maybeCompleteJoin(group: ClassicGroup): void {
    if (group.is('PreparingRebalance') && group.initialDelayRemainingMs === null && group.hasAllMembersJoined()) {
      this.completeJoin(group)
    }
  }

  private onJoinDeadline(group: ClassicGroup, now: number): void {
    const remaining = group.initialDelayRemainingMs
    if (remaining !== null) {
      if (group.newMemberAdded && remaining > 0) {
        group.newMemberAdded = false
        const delay = Math.min(this.config.groupInitialRebalanceDelayMs, remaining)
        group.initialDelayRemainingMs = Math.max(remaining - delay, 0)
        group.joinDeadline = now + delay
        if (delay === 0) this.wake()
        return
      }
      group.initialDelayRemainingMs = null
    }
    this.completeJoin(group)
  }

  private completeJoin(group: ClassicGroup): void {
    const now = this.now()
    group.joinDeadline = null
    group.initialDelayRemainingMs = null
    // Dynamic members that did not rejoin in time are gone; static ones keep their place and
    // are removed by their session timeout if they never come back.
    for (const m of [...group.members.values()]) {
      if (m.awaitingJoin === null && !m.isStatic) {
        group.remove(m.memberId)
        this.logger.info({ groupId: group.groupId, memberId: m.memberId }, 'member did not rejoin in time')
      }
    }
    if (group.is('Dead')) return
    if (!group.maybeElectNewJoinedLeader() && group.members.size > 0) {
      // Only static members that have not rejoined remain: wait another round for them or for
      // their session timeouts.
      group.joinDeadline = now + group.rebalanceTimeoutMs()
      return
    }
    group.initNextGeneration(now)
    if (group.is('Empty')) {
      this.logger.info({ groupId: group.groupId, generationId: group.generationId }, 'group is now empty')
      return
    }
    this.logger.info(
      { groupId: group.groupId, generationId: group.generationId, protocol: group.protocolName, members: group.members.size },
      'group stabilized',
    )
    const leaderMembers = group.currentMemberMetadata()
    for (const m of group.members.values()) {
      const answer = this.currentGeneration(group, m, false)
      if (group.isLeader(m.memberId)) answer.members = leaderMembers
      group.completeJoin(m, answer)
      m.heartbeatDeadline = now + m.sessionTimeoutMs
      m.isNew = false
      group.pendingSyncMembers.add(m.memberId)
    }
    group.syncDeadline = now + group.rebalanceTimeoutMs()
  }

  // ---- SyncGroup ------------------------------------------------------------------------------

  syncGroup(p: SyncGroupParams): Promise<SyncGroupResult> {
    if (this.closed) return Promise.resolve(syncError(ErrorCode.NOT_COORDINATOR))
    if (p.groupId === '') return Promise.resolve(syncError(ErrorCode.INVALID_GROUP_ID))
    const group = this.groups.get(p.groupId)
    if (group === undefined) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID))
    const invalid = this.validateGeneration(group, p)
    if (invalid !== ErrorCode.NONE) return Promise.resolve(syncError(invalid))
    if ((p.protocolType !== null && p.protocolType !== group.protocolType) || (p.protocolName !== null && p.protocolName !== group.protocolName)) {
      return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL))
    }
    const member = group.get(p.memberId)
    switch (group.state) {
      case 'PreparingRebalance':
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS))
      case 'CompletingRebalance': {
        group.completeSync(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS))
        const result = new Promise<SyncGroupResult>((resolve) => {
          member.awaitingSync = resolve
        })
        this.removePendingSyncMember(group, member.memberId)
        if (group.isLeader(member.memberId)) {
          const assigned = new Map<string, Uint8Array>()
          for (const a of p.assignments) assigned.set(a.memberId, a.assignment)
          // Members the leader left out get an empty assignment.
          for (const m of group.members.values()) m.assignment = assigned.get(m.memberId) ?? EMPTY_BYTES
          this.propagateAssignment(group, ErrorCode.NONE)
          group.transitionTo('Stable', this.now())
        }
        return result
      }
      case 'Stable':
        this.removePendingSyncMember(group, member.memberId)
        member.heartbeatDeadline = this.now() + member.sessionTimeoutMs
        return Promise.resolve({
          errorCode: ErrorCode.NONE,
          protocolType: group.protocolType,
          protocolName: group.protocolName,
          assignment: member.assignment,
        })
      default:
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID))
    }
  }

  private removePendingSyncMember(group: ClassicGroup, memberId: string): void {
    group.pendingSyncMembers.delete(memberId)
    if (group.pendingSyncMembers.size === 0) group.syncDeadline = null
  }

  private propagateAssignment(group: ClassicGroup, errorCode: number): void {
    const now = this.now()
    const ok = errorCode === ErrorCode.NONE
    for (const m of group.members.values()) {
      const answered = group.completeSync(m, {
        errorCode,
        protocolType: ok ? group.protocolType : null,
        protocolName: ok ? group.protocolName : null,
        assignment: ok ? m.assignment : EMPTY_BYTES,
      })
      // A session may have run out while the member waited on the leader: start it afresh.
      if (answered) m.heartbeatDeadline = now + m.sessionTimeoutMs
    }
  }

  private resetAndPropagateAssignmentError(group: ClassicGroup, errorCode: number): void {
    for (const m of group.members.values()) m.assignment = EMPTY_BYTES
    this.propagateAssignment(group, errorCode)
  }

  private onSyncDeadline(group: ClassicGroup): void {
    group.syncDeadline = null
    if (!(group.is('CompletingRebalance') || group.is('Stable')) || group.pendingSyncMembers.size === 0) return
    const missing = [...group.pendingSyncMembers]
    for (const id of missing) group.remove(id)
    group.pendingSyncMembers.clear()
    this.logger.info({ groupId: group.groupId, members: missing }, 'removing members that did not sync in time')
    this.prepareRebalance(group, 'members did not sync in time')
  }

  // ---- Heartbeat and LeaveGroup ---------------------------------------------------------------

  heartbeat(p: MemberIdentity): number {
    if (this.closed) return ErrorCode.NOT_COORDINATOR
    if (p.groupId === '') return ErrorCode.INVALID_GROUP_ID
    const group = this.groups.get(p.groupId)
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    const invalid = this.validateGeneration(group, p)
    if (invalid !== ErrorCode.NONE) return invalid
    if (group.is('Empty')) return ErrorCode.UNKNOWN_MEMBER_ID
    const member = group.get(p.memberId)
    member.heartbeatDeadline = this.now() + member.sessionTimeoutMs
    return group.is('PreparingRebalance') ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE
  }

  leaveGroup(groupId: string, leaving: LeavingMember[]): LeaveGroupResult {
    const answer = (errorCode: number, l: LeavingMember) => ({ memberId: l.memberId, groupInstanceId: l.groupInstanceId, errorCode })
    if (this.closed) return { errorCode: ErrorCode.NOT_COORDINATOR, members: [] }
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] }
    const group = this.groups.get(groupId)
    if (group === undefined) return { errorCode: ErrorCode.NONE, members: leaving.map((l) => answer(ErrorCode.UNKNOWN_MEMBER_ID, l)) }
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] }
    const members = leaving.map((l) => {
      const reason = `member left the group${l.reason ? `: ${l.reason}` : ''}`
      if (l.groupInstanceId !== null) {
        const current = group.staticMembers.get(l.groupInstanceId)
        if (current === undefined) return answer(ErrorCode.UNKNOWN_MEMBER_ID, l)
        if (l.memberId !== '' && l.memberId !== current) return answer(ErrorCode.FENCED_INSTANCE_ID, l)
        this.removeMemberAndUpdateGroup(group, group.get(current), reason)
        return answer(ErrorCode.NONE, l)
      }
      if (group.pendingMembers.has(l.memberId)) {
        this.removePendingMember(group, l.memberId)
        return answer(ErrorCode.NONE, l)
      }
      if (!group.has(l.memberId)) return answer(ErrorCode.UNKNOWN_MEMBER_ID, l)
      this.removeMemberAndUpdateGroup(group, group.get(l.memberId), reason)
      return answer(ErrorCode.NONE, l)
    })
    return { errorCode: ErrorCode.NONE, members }
  }

  private removeMemberAndUpdateGroup(group: ClassicGroup, member: ClassicMember, reason: string): void {
    // A member can be removed while its JoinGroup waits; UNKNOWN_MEMBER_ID makes a live client join anew.
    group.completeJoin(member, joinError('', ErrorCode.UNKNOWN_MEMBER_ID))
    group.completeSync(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID))
    group.remove(member.memberId)
    this.logger.info({ groupId: group.groupId, memberId: member.memberId, reason }, 'member removed')
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(group, reason)
        break
      case 'PreparingRebalance':
        this.maybeCompleteJoin(group)
        break
      default:
        break
    }
  }

  private removePendingMember(group: ClassicGroup, memberId: string): void {
    group.pendingMembers.delete(memberId)
    this.maybeCompleteJoin(group)
  }

  /** Kafka's validateMember plus the generation check shared by SyncGroup and Heartbeat. */
  private validateGeneration(group: ClassicGroup, p: MemberIdentity): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    const invalid = this.validateMember(group, p.memberId, p.groupInstanceId)
    if (invalid !== ErrorCode.NONE) return invalid
    return p.generationId === group.generationId ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION
  }

  private validateMember(group: ClassicGroup, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = group.staticMembers.get(groupInstanceId)
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID
    }
    return group.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID
  }

  // ---- Timers ---------------------------------------------------------------------------------

  /** Acts on every deadline that has passed. Called by the shared timer; tests call it directly. */
  tick(): void {
    if (this.closed) return
    const now = this.now()
    for (const group of this.active) {
      this.checkDeadlines(group, now)
      if (!this.hasDeadlines(group)) this.active.delete(group)
    }
    if (now >= this.nextRetentionCheck && !this.expiring) {
      this.nextRetentionCheck = now + this.config.offsetsRetentionCheckIntervalMs
      void this.expireOffsets()
    }
  }

  private checkDeadlines(group: ClassicGroup, now: number): void {
    for (const [memberId, deadline] of group.pendingMembers) {
      if (now >= deadline) this.removePendingMember(group, memberId)
    }
    const expired: ClassicMember[] = []
    for (const m of group.members.values()) if (now >= m.heartbeatDeadline && m.canExpire()) expired.push(m)
    for (const m of expired) {
      // An earlier removal may have completed a rebalance that refreshed this member's session.
      if (group.members.get(m.memberId) !== m || now < m.heartbeatDeadline || !m.canExpire()) continue
      this.removeMemberAndUpdateGroup(group, m, 'session timeout expired')
    }
    if (group.joinDeadline !== null && now >= group.joinDeadline && group.is('PreparingRebalance')) {
      this.onJoinDeadline(group, now)
    }
    if (group.syncDeadline !== null && now >= group.syncDeadline) this.onSyncDeadline(group)
  }

  private hasDeadlines(group: ClassicGroup): boolean {
    return group.members.size > 0 || group.pendingMembers.size > 0 || group.joinDeadline !== null || group.syncDeadline !== null
  }

  private watch(group: ClassicGroup): void {
    this.active.add(group)
  }

  /** Runs a tick as soon as the current I/O is done, for deadlines that are already due. */
  private wake(): void {
    if (!this.autoTick || this.immediate !== null || this.closed) return
    this.immediate = setImmediate(() => {
      this.immediate = null
      this.tick()
    })
  }

  private createGroup(groupId: string): ClassicGroup {
    const group = new ClassicGroup(groupId, this.now())
    this.groups.set(groupId, group)
    return group
  }

  // ---- Offsets --------------------------------------------------------------------------------

  async commitOffsets(p: OffsetCommitParams): Promise<TopicResult[]> {
    const all = (errorCode: number): TopicResult[] =>
      p.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((q) => ({ partitionIndex: q.partitionIndex, errorCode })) }))
    if (this.closed) return all(ErrorCode.NOT_COORDINATOR)
    let group = this.groups.get(p.groupId)
    if (group === undefined) {
      // generation -1: a consumer that manages its own partitions (or an admin tool) only stores
      // offsets here; such a "simple" group stays Empty.
      if (p.generationId >= 0) return all(p.reportUnknownGroup ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION)
      group = this.createGroup(p.groupId)
    }
    const invalid = this.validateOffsetCommit(group, p)
    if (invalid !== ErrorCode.NONE) return all(invalid)
    const member = group.members.get(p.memberId)
    const now = this.now()
    if (member !== undefined && (group.is('Stable') || group.is('PreparingRebalance'))) {
      member.heartbeatDeadline = now + member.sessionTimeoutMs
    }

    const results: TopicResult[] = []
    const entries: Array<{ topic: string; partition: number } & CommittedOffset> = []
    const accepted: PartitionResult[] = []
    for (const t of p.topics) {
      const partitions: PartitionResult[] = []
      for (const q of t.partitions) {
        const r: PartitionResult = { partitionIndex: q.partitionIndex, errorCode: ErrorCode.NONE }
        partitions.push(r)
        if (!this.partitionExists(t.name, q.partitionIndex)) {
          r.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        } else if (q.committedMetadata !== null && Buffer.byteLength(q.committedMetadata) > this.config.offsetMetadataMaxBytes) {
          r.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE
        } else {
          const commitTimestamp = q.commitTimestamp !== undefined && q.commitTimestamp >= 0 ? q.commitTimestamp : now
          entries.push({
            topic: t.name,
            partition: q.partitionIndex,
            offset: q.committedOffset,
            leaderEpoch: q.committedLeaderEpoch,
            metadata: q.committedMetadata ?? '',
            commitTimestamp,
            expireTimestamp: p.retentionTimeMs >= 0 ? commitTimestamp + p.retentionTimeMs : -1,
          })
          accepted.push(r)
        }
      }
      results.push({ name: t.name, partitions })
    }
    if (entries.length > 0) {
      try {
        await this.offsets.commit(p.groupId, entries)
        // The retention check may have dropped the simple group while the write was in flight.
        if (!this.groups.has(p.groupId)) this.createGroup(p.groupId)
      } catch (err) {
        this.logger.error({ err, groupId: p.groupId }, 'storing committed offsets failed')
        for (const r of accepted) r.errorCode = ErrorCode.UNKNOWN_SERVER_ERROR
      }
    }
    return results
  }

  // ---- Transactional offsets ------------------------------------------------------------------

  /** TxnOffsetCommit: validates like Kafka's doTxnCommitOffsets and parks the offsets. */
  async commitTransactionalOffsets(p: TxnOffsetCommitParams): Promise<TopicResult[]> {
    const all = (errorCode: number): TopicResult[] =>
      p.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((q) => ({ partitionIndex: q.partitionIndex, errorCode })) }))
    if (this.closed) return all(ErrorCode.NOT_COORDINATOR)
    const group = this.groups.get(p.groupId) ?? this.createGroup(p.groupId)
    if (group.is('Dead')) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    if (p.memberId !== '' && !group.members.has(p.memberId)) return all(ErrorCode.UNKNOWN_MEMBER_ID)
    if (p.generationId >= 0 && p.generationId !== group.generationId) return all(ErrorCode.ILLEGAL_GENERATION)
    const now = this.now()
    let byProducer = this.pendingTxnOffsets.get(p.groupId)
    const staged = new Map<string, PendingOffset>(byProducer?.get(p.producerId) ?? [])
    const results: TopicResult[] = []
    for (const t of p.topics) {
      const partitions: PartitionResult[] = []
      for (const q of t.partitions) {
        const r: PartitionResult = { partitionIndex: q.partitionIndex, errorCode: ErrorCode.NONE }
        partitions.push(r)
        if (!this.partitionExists(t.name, q.partitionIndex)) r.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        else if (q.committedMetadata !== null && Buffer.byteLength(q.committedMetadata) > this.config.offsetMetadataMaxBytes) {
          r.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE
        } else {
          staged.set(`${t.name}\u0000${q.partitionIndex}`, {
            topic: t.name,
            partition: q.partitionIndex,
            offset: q.committedOffset,
            leaderEpoch: q.committedLeaderEpoch,
            metadata: q.committedMetadata ?? '',
            commitTimestamp: now,
            expireTimestamp: -1,
          })
        }
      }
      results.push({ name: t.name, partitions })
    }
    if (byProducer === undefined) this.pendingTxnOffsets.set(p.groupId, (byProducer = new Map()))
    byProducer.set(p.producerId, staged)
    try {
      await this.persistPendingTxnOffsets()
    } catch (err) {
      this.logger.error({ err, groupId: p.groupId }, 'storing transactional offsets failed')
      return all(ErrorCode.UNKNOWN_SERVER_ERROR)
    }
    return results
  }

  /**
   * The transaction of `producerId` ended: on commit its offsets for the group become committed
   * offsets, on abort they are dropped. Safe to call again after a restart.
   */
  async completeTransactionalOffsets(groupId: string, producerId: number, commit: boolean): Promise<void> {
    const byProducer = this.pendingTxnOffsets.get(groupId)
    const pending = byProducer?.get(producerId)
    if (byProducer === undefined || pending === undefined) return
    if (commit && pending.size > 0) {
      await this.offsets.commit(groupId, [...pending.values()])
      if (!this.groups.has(groupId)) this.createGroup(groupId)
    }
    byProducer.delete(producerId)
    if (byProducer.size === 0) this.pendingTxnOffsets.delete(groupId)
    await this.persistPendingTxnOffsets()
  }

  /** True when a transaction has an offset for this partition waiting for its outcome. */
  hasPendingTransactionalOffset(groupId: string, topic: string, partition: number): boolean {
    const byProducer = this.pendingTxnOffsets.get(groupId)
    if (byProducer === undefined) return false
    const key = `${topic}\u0000${partition}`
    for (const offsets of byProducer.values()) if (offsets.has(key)) return true
    return false
  }

  private loadPendingTxnOffsets(): void {
    const saved = this.pendingStore?.get<Record<string, Record<string, PendingOffset[]>>>(PENDING_TXN_OFFSETS_KEY)
    if (saved === undefined) return
    for (const [groupId, producers] of Object.entries(saved)) {
      const byProducer = new Map<number, Map<string, PendingOffset>>()
      for (const [pid, entries] of Object.entries(producers)) {
        byProducer.set(Number(pid), new Map(entries.map((e) => [`${e.topic}\u0000${e.partition}`, e])))
      }
      this.pendingTxnOffsets.set(groupId, byProducer)
      if (!this.groups.has(groupId)) this.groups.set(groupId, new ClassicGroup(groupId, this.now()))
    }
  }

  private persistPendingTxnOffsets(): Promise<void> {
    if (this.pendingStore === undefined) return Promise.resolve()
    const out: Record<string, Record<string, PendingOffset[]>> = {}
    for (const [groupId, byProducer] of this.pendingTxnOffsets) {
      const producers: Record<string, PendingOffset[]> = {}
      for (const [pid, offsets] of byProducer) producers[String(pid)] = [...offsets.values()]
      out[groupId] = producers
    }
    return this.pendingStore.put(PENDING_TXN_OFFSETS_KEY, out)
  }

  private validateOffsetCommit(group: ClassicGroup, p: MemberIdentity): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (p.generationId < 0 && group.is('Empty')) return ErrorCode.NONE
    if (p.generationId >= 0 || p.memberId !== '' || p.groupInstanceId !== null) {
      const invalid = this.validateMember(group, p.memberId, p.groupInstanceId)
      if (invalid !== ErrorCode.NONE) return invalid
      if (p.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION
    } else if (!group.is('Empty')) {
      // Without member id and generation, offsets are only accepted while nobody consumes.
      return ErrorCode.UNKNOWN_MEMBER_ID
    }
    // The member has its new generation but not yet its assignment.
    if (group.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS
    return ErrorCode.NONE
  }

  /**
   * Committed offsets of a group; `topics` null asks for every partition with an offset. A
   * partition without one answers offset -1. Without transactional offsets every offset is stable.
   */
  fetchOffsets(
    groupId: string,
    topics: Array<{ name: string; partitionIndexes: number[] }> | null,
    requireStable = false,
  ): OffsetFetchResult {
    if (this.closed) return { errorCode: ErrorCode.NOT_COORDINATOR, topics: [] }
    const stored = this.offsets.read(groupId)
    const checkPending = requireStable && this.pendingTxnOffsets.has(groupId)
    const fetched = (topic: string, partitionIndex: number, o: CommittedOffset | undefined): FetchedOffset => {
      if (checkPending && this.hasPendingTransactionalOffset(groupId, topic, partitionIndex)) {
        return { partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
      }
      return {
        partitionIndex,
        committedOffset: o?.offset ?? -1,
        committedLeaderEpoch: o?.leaderEpoch ?? -1,
        metadata: o?.metadata ?? '',
        errorCode: ErrorCode.NONE,
      }
    }
    if (topics === null) {
      const names = [...stored.keys()].sort()
      return {
        errorCode: ErrorCode.NONE,
        topics: names.map((name) => {
          const partitions = stored.get(name)!
          const ids = [...partitions.keys()].sort((a, b) => a - b)
          return { name, partitions: ids.map((i) => fetched(name, i, partitions.get(i))) }
        }),
      }
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => {
        const partitions = stored.get(t.name)
        return { name: t.name, partitions: t.partitionIndexes.map((i) => fetched(t.name, i, partitions?.get(i))) }
      }),
    }
  }

  /** KIP-496: deletes offsets of topics the group no longer consumes. */
  async deleteOffsets(groupId: string, topics: Array<{ name: string; partitions: Array<{ partitionIndex: number }> }>): Promise<OffsetDeleteResult> {
    // Deadlines that passed since the last timer tick count now, as with Kafka's purgatory.
    this.tick()
    if (this.closed) return { errorCode: ErrorCode.NOT_COORDINATOR, topics: [] }
    const group = this.groups.get(groupId)
    if (group === undefined || group.is('Dead')) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] }
    if (!group.is('Empty') && group.protocolType !== CONSUMER_PROTOCOL_TYPE) return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] }
    const subscribed = group.is('Empty') ? new Set<string>() : this.subscribedTopics(group)
    const filter: TopicPartitionFilter[] = []
    const results = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map(({ partitionIndex }) => {
        let errorCode: number = ErrorCode.NONE
        if (!this.partitionExists(t.name, partitionIndex)) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        else if (subscribed === null || subscribed.has(t.name)) errorCode = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
        else filter.push({ topic: t.name, partition: partitionIndex })
        return { partitionIndex, errorCode }
      }),
    }))
    if (filter.length > 0) {
      try {
        await this.offsets.delete(groupId, filter)
      } catch (err) {
        this.logger.error({ err, groupId }, 'deleting committed offsets failed')
        return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, topics: [] }
      }
    }
    return { errorCode: ErrorCode.NONE, topics: results }
  }

  /** Topics the members of a consumer group subscribe to; null when any subscription is unreadable. */
  private subscribedTopics(group: ClassicGroup): Set<string> | null {
    if (group.protocolType !== CONSUMER_PROTOCOL_TYPE || group.protocolName === null) return null
    const topics = new Set<string>()
    for (const m of group.members.values()) {
      const sub = subscribedTopicsOf(m.metadataFor(group.protocolName))
      if (sub === null) return null
      for (const t of sub) topics.add(t)
    }
    return topics
  }

  /**
   * offsets.retention.minutes: an Empty group's offsets expire that long after it became empty
   * (offsets stored by a group that never had members: after their commit); a Stable consumer
   * group's offsets of topics it no longer subscribes to expire that long after their commit. An
   * offset committed with an explicit retention time expires at that time instead. A group left
   * Empty without offsets is removed.
   */
  async expireOffsets(): Promise<number> {
    if (this.expiring || this.closed) return 0
    this.expiring = true
    try {
      const now = this.now()
      const retentionMs = this.config.offsetsRetentionMinutes * 60_000
      let removed = 0
      for (const group of [...this.groups.values()]) {
        const stored = this.offsets.read(group.groupId)
        const filter: TopicPartitionFilter[] = []
        let remaining = 0
        const emptyGroup = group.is('Empty')
        const subscribed = group.is('Stable') && group.protocolType === CONSUMER_PROTOCOL_TYPE ? this.subscribedTopics(group) : null
        for (const [topic, partitions] of stored) {
          for (const [partition, o] of partitions) {
            let expired = false
            if (emptyGroup || (subscribed !== null && !subscribed.has(topic))) {
              if (o.expireTimestamp >= 0) {
                expired = now >= o.expireTimestamp
              } else {
                const base = !emptyGroup
                  ? o.commitTimestamp
                  : group.protocolType === null
                    ? Math.max(o.commitTimestamp, group.stateTimestamp)
                    : group.stateTimestamp
                expired = now - base >= retentionMs
              }
            }
            if (expired) filter.push({ topic, partition })
            else remaining++
          }
        }
        if (filter.length > 0) {
          removed += await this.offsets.delete(group.groupId, filter)
          this.logger.info({ groupId: group.groupId, count: filter.length }, 'expired committed offsets')
        }
        if (remaining === 0 && group.is('Empty') && group.pendingMembers.size === 0 && this.groups.get(group.groupId) === group) {
          group.transitionTo('Dead', now)
          this.groups.delete(group.groupId)
          this.active.delete(group)
        }
      }
      return removed
    } catch (err) {
      this.logger.error({ err }, 'expiring committed offsets failed')
      return 0
    } finally {
      this.expiring = false
    }
  }

  private partitionExists(topic: string, partition: number): boolean {
    if (this.catalog === undefined) return true
    const count = this.catalog.partitionCount(topic)
    return count !== undefined && partition >= 0 && partition < count
  }

  // ---- Administration -------------------------------------------------------------------------

  listGroups(statesFilter: readonly string[] = [], typesFilter: readonly string[] = []): GroupListing[] {
    // Deadlines that passed since the last timer tick count now, as with Kafka's purgatory.
    this.tick()
    const states = new Set(statesFilter.map((s) => s.toLowerCase()))
    const types = new Set(typesFilter.map((s) => s.toLowerCase()))
    const out: GroupListing[] = []
    for (const g of this.groups.values()) {
      if (states.size > 0 && !states.has(g.state.toLowerCase())) continue
      if (types.size > 0 && !types.has(g.kind)) continue
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state, groupType: g.kind })
    }
    return out
  }

  describeGroup(groupId: string): DescribedGroup {
    // Deadlines that passed since the last timer tick count now, as with Kafka's purgatory.
    this.tick()
    const group = this.groups.get(groupId)
    if (this.closed) return { errorCode: ErrorCode.NOT_COORDINATOR, groupId, groupState: '', protocolType: '', protocolData: '', members: [] }
    if (group === undefined) return { errorCode: ErrorCode.NONE, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] }
    // Like Kafka, member metadata and assignments are only shown once the group is Stable.
    const protocol = group.is('Stable') ? group.protocolName : null
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      groupState: group.state,
      protocolType: group.protocolType ?? '',
      protocolData: protocol ?? '',
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: protocol !== null ? m.metadataFor(protocol) : EMPTY_BYTES,
        memberAssignment: protocol !== null ? m.assignment : EMPTY_BYTES,
      })),
    }
  }

  /** Deletes empty groups and their offsets; a group with members answers NON_EMPTY_GROUP. */
  async deleteGroups(groupIds: readonly string[]): Promise<Array<{ groupId: string; errorCode: number }>> {
    // Deadlines that passed since the last timer tick count now, as with Kafka's purgatory.
    this.tick()
    const results: Array<{ groupId: string; errorCode: number }> = []
    for (const groupId of groupIds) {
      if (this.closed) {
        results.push({ groupId, errorCode: ErrorCode.NOT_COORDINATOR })
        continue
      }
      const group = this.groups.get(groupId)
      if (group === undefined || group.is('Dead')) {
        results.push({ groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND })
        continue
      }
      if (!group.is('Empty')) {
        results.push({ groupId, errorCode: ErrorCode.NON_EMPTY_GROUP })
        continue
      }
      group.transitionTo('Dead', this.now())
      this.groups.delete(groupId)
      this.active.delete(group)
      try {
        await this.offsets.delete(groupId)
        results.push({ groupId, errorCode: ErrorCode.NONE })
      } catch (err) {
        this.logger.error({ err, groupId }, 'deleting group offsets failed')
        results.push({ groupId, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR })
      }
    }
    return results
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined && !Number.isNaN(v)) (out as Record<string, unknown>)[k] = v
  return out
}
