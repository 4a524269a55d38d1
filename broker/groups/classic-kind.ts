// The classic group kind: JoinGroup, SyncGroup, Heartbeat, LeaveGroup and DescribeGroups for
// groups that speak the classic rebalance protocol, as Kafka's GroupMetadataManager answers them.
// The rebalance steps these requests drive are in classic-rebalance.ts; the group's state and its
// invariants in classic-group.ts.
//
// JoinGroup and SyncGroup answers are promises that settle when the rebalance step completes;
// every promise is settled eventually (by the rebalance, a timeout, a replacement request or
// close()). A group id held by another kind of group answers JoinGroup with
// INCONSISTENT_GROUP_PROTOCOL (unless that group is empty: JoinGroup then converts it) and the
// member requests with UNKNOWN_MEMBER_ID, as in Kafka.
// Single-threaded: all state changes happen synchronously on the event loop.
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import { ClassicGroup, joinError, syncError } from './classic-group.js'
import { ClassicMember, EMPTY_BYTES } from './classic-member.js'
import { ClassicRebalance } from './classic-rebalance.js'
import { OTHER_KIND, type Group, type GroupKind, type GroupRegistry } from './group.js'
import type {
  DescribedGroup,
  GroupCoordinatorConfig,
  JoinGroupParams,
  JoinGroupResult,
  LeaveGroupResult,
  LeavingMember,
  MemberIdentity,
  SyncGroupParams,
  SyncGroupResult,
} from './types.js'

/** New members cannot heartbeat before their first JoinGroup completes; Kafka gives them 5 minutes. */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000

export class ClassicKind implements GroupKind<ClassicGroup> {
  readonly type = 'classic' as const
  private readonly rebalance: ClassicRebalance

  constructor(
    private readonly registry: GroupRegistry,
    private readonly config: GroupCoordinatorConfig,
    private readonly logger: Logger,
  ) {
    this.rebalance = new ClassicRebalance(registry, config, logger)
  }

  /** An Empty group; offsets committed without a group (a "simple" consumer) get one too. */
  createGroup(groupId: string): ClassicGroup {
    const group = new ClassicGroup(groupId, this.registry.now())
    this.registry.add(group)
    return group
  }

  /** A group converted from another kind, with members: they rejoin through a rebalance. */
  adoptConverted(from: Group, group: ClassicGroup): void {
    this.registry.replace(from, group)
    this.registry.watch(group)
    this.rebalance.maybePrepareRebalance(group, 'converted from a consumer group')
  }

  onDeadlines(group: ClassicGroup, now: number): boolean {
    return this.rebalance.onDeadlines(group, now)
  }

  /** Answers every waiting JoinGroup/SyncGroup with NOT_COORDINATOR. */
  close(group: ClassicGroup): void {
    for (const m of group.members.values()) {
      group.completeJoin(m, joinError(m.memberId, ErrorCode.NOT_COORDINATOR))
      group.completeSync(m, syncError(ErrorCode.NOT_COORDINATOR))
    }
  }

  /** The classic group with this id; undefined when absent or of another kind. */
  private memberGroup(groupId: string): ClassicGroup | undefined {
    const group = this.registry.find(groupId, this)
    return group === OTHER_KIND ? undefined : group
  }

  // ---- JoinGroup ------------------------------------------------------------------------------

  joinGroup(p: JoinGroupParams): Promise<JoinGroupResult> {
    const refused = this.registry.refusal(p.groupId)
    if (refused !== ErrorCode.NONE) return Promise.resolve(joinError(p.memberId, refused))
    if (p.groupId === '') return Promise.resolve(joinError(p.memberId, ErrorCode.INVALID_GROUP_ID))
    if (p.sessionTimeoutMs < this.config.groupMinSessionTimeoutMs || p.sessionTimeoutMs > this.config.groupMaxSessionTimeoutMs) {
      return Promise.resolve(joinError(p.memberId, ErrorCode.INVALID_SESSION_TIMEOUT))
    }
    const isUnknownMember = p.memberId === ''
    let group = this.registry.find(p.groupId, this)
    if (group === OTHER_KIND) {
      const other = this.registry.get(p.groupId)!
      if (!other.isEmpty()) return Promise.resolve(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL))
      // An empty group of another kind (a consumer group nobody consumes in) becomes classic, as in
      // Kafka; its offsets stay.
      group = new ClassicGroup(p.groupId, this.registry.now())
      this.registry.replace(other, group)
    }
    if (group === undefined) {
      if (!isUnknownMember) return Promise.resolve(joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID))
      group = this.createGroup(p.groupId)
    }
    if (isUnknownMember && group.size >= this.config.groupMaxSize) {
      return Promise.resolve(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED))
    }
    const result = isUnknownMember ? this.unknownMemberJoin(group, p) : this.knownMemberJoin(group, p)
    this.rebalance.maybeCompleteJoin(group)
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
      group.pendingMembers.set(newMemberId, this.registry.now() + p.sessionTimeoutMs)
      this.registry.watch(group)
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
        if (member.matches(p.protocols)) return Promise.resolve(this.rebalance.currentGeneration(group, member, group.isLeader(memberId)))
        return this.updateMemberAndRebalance(group, member, p, 'member changed its protocols during CompletingRebalance')
      case 'Stable':
        if (group.isLeader(memberId)) return this.updateMemberAndRebalance(group, member, p, 'leader rejoined')
        if (!member.matches(p.protocols)) return this.updateMemberAndRebalance(group, member, p, 'member changed its protocols')
        return Promise.resolve(this.rebalance.currentGeneration(group, member, false))
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
    member.heartbeatDeadline = this.registry.now() + NEW_MEMBER_JOIN_TIMEOUT_MS
    this.registry.watch(group)
    this.rebalance.maybePrepareRebalance(group, `adding member ${memberId}`)
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
    this.rebalance.maybePrepareRebalance(group, reason)
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
    member.heartbeatDeadline = this.registry.now() + member.sessionTimeoutMs
    this.logger.info({ groupId: group.groupId, instanceId, oldMemberId, newMemberId, state: group.state }, 'static member rejoined')
    switch (group.state) {
      case 'Stable':
        if (group.selectProtocol() === group.protocolName) {
          // Nothing changes for the group, so no rebalance. The leader id returned is the old one
          // so a rejoining leader does not compute an assignment a Stable group would never
          // distribute, unless the client can be told to skip the assignment (v9+).
          const skip = group.isLeader(newMemberId) && p.supportSkippingAssignment
          const answer = this.rebalance.currentGeneration(group, member, skip)
          answer.leader = skip ? newMemberId : (currentLeader ?? '')
          answer.skipAssignment = skip
          group.completeJoin(member, answer)
        } else {
          this.rebalance.maybePrepareRebalance(group, `static member ${instanceId} rejoined with other protocols`)
        }
        break
      case 'CompletingRebalance':
        this.rebalance.maybePrepareRebalance(group, `static member ${instanceId} rejoined during CompletingRebalance`)
        break
      default:
        // PreparingRebalance: the member is answered when the rebalance completes.
        break
    }
    return result
  }

  // ---- SyncGroup ------------------------------------------------------------------------------

  syncGroup(p: SyncGroupParams): Promise<SyncGroupResult> {
    const refused = this.registry.refusal(p.groupId)
    if (refused !== ErrorCode.NONE) return Promise.resolve(syncError(refused))
    if (p.groupId === '') return Promise.resolve(syncError(ErrorCode.INVALID_GROUP_ID))
    const group = this.memberGroup(p.groupId)
    if (group === undefined) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID))
    const invalid = group.validateGeneration(p)
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
        this.rebalance.removePendingSyncMember(group, member.memberId)
        if (group.isLeader(member.memberId)) {
          const assigned = new Map<string, Uint8Array>()
          for (const a of p.assignments) assigned.set(a.memberId, a.assignment)
          // Members the leader left out get an empty assignment.
          for (const m of group.members.values()) m.assignment = assigned.get(m.memberId) ?? EMPTY_BYTES
          this.rebalance.propagateAssignment(group, ErrorCode.NONE)
          group.transitionTo('Stable', this.registry.now())
        }
        return result
      }
      case 'Stable':
        this.rebalance.removePendingSyncMember(group, member.memberId)
        member.heartbeatDeadline = this.registry.now() + member.sessionTimeoutMs
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

  // ---- Heartbeat and LeaveGroup ---------------------------------------------------------------

  heartbeat(p: MemberIdentity): number {
    const refused = this.registry.refusal(p.groupId)
    if (refused !== ErrorCode.NONE) return refused
    if (p.groupId === '') return ErrorCode.INVALID_GROUP_ID
    const group = this.memberGroup(p.groupId)
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    const invalid = group.validateGeneration(p)
    if (invalid !== ErrorCode.NONE) return invalid
    if (group.is('Empty')) return ErrorCode.UNKNOWN_MEMBER_ID
    const member = group.get(p.memberId)
    member.heartbeatDeadline = this.registry.now() + member.sessionTimeoutMs
    return group.is('PreparingRebalance') ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE
  }

  leaveGroup(groupId: string, leaving: LeavingMember[]): LeaveGroupResult {
    const answer = (errorCode: number, l: LeavingMember) => ({ memberId: l.memberId, groupInstanceId: l.groupInstanceId, errorCode })
    const refused = this.registry.refusal(groupId)
    if (refused !== ErrorCode.NONE) return { errorCode: refused, members: [] }
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] }
    const group = this.memberGroup(groupId)
    if (group === undefined) return { errorCode: ErrorCode.NONE, members: leaving.map((l) => answer(ErrorCode.UNKNOWN_MEMBER_ID, l)) }
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] }
    const members = leaving.map((l) => {
      const reason = `member left the group${l.reason ? `: ${l.reason}` : ''}`
      if (l.groupInstanceId !== null) {
        const current = group.staticMembers.get(l.groupInstanceId)
        if (current === undefined) return answer(ErrorCode.UNKNOWN_MEMBER_ID, l)
        if (l.memberId !== '' && l.memberId !== current) return answer(ErrorCode.FENCED_INSTANCE_ID, l)
        this.rebalance.removeMemberAndUpdateGroup(group, group.get(current), reason)
        return answer(ErrorCode.NONE, l)
      }
      if (group.pendingMembers.has(l.memberId)) {
        this.rebalance.removePendingMember(group, l.memberId)
        return answer(ErrorCode.NONE, l)
      }
      if (!group.has(l.memberId)) return answer(ErrorCode.UNKNOWN_MEMBER_ID, l)
      this.rebalance.removeMemberAndUpdateGroup(group, group.get(l.memberId), reason)
      return answer(ErrorCode.NONE, l)
    })
    return { errorCode: ErrorCode.NONE, members }
  }

  // ---- DescribeGroups -------------------------------------------------------------------------

  /** A group that does not exist, or is of another kind, is described as Dead (DescribeGroups v0-5). */
  describeGroup(groupId: string): DescribedGroup {
    const group = this.memberGroup(groupId)
    const refused = this.registry.refusal(groupId)
    if (refused !== ErrorCode.NONE) return { errorCode: refused, groupId, groupState: '', protocolType: '', protocolData: '', members: [] }
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
}
