// The classic rebalance state machine, Kafka's GroupMetadataManager rule for rule: preparing a
// rebalance (with group.initial.rebalance.delay.ms for a starting group), completing the join
// phase into a new generation, handing out the leader's assignment, and removing members whose
// session, join or sync deadline passed. The request entry points that drive it are in
// classic-kind.ts.
//
// Deadlines are plain timestamps on the group and its members; the coordinator's one shared timer
// calls onDeadlines for groups that have any (GroupRegistry.watch), so a heartbeat only moves a
// number. Single-threaded: every call comes from the event loop.
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import { joinError, syncError, type ClassicGroup } from './classic-group.js'
import { EMPTY_BYTES, type ClassicMember } from './classic-member.js'
import type { GroupRegistry } from './group.js'
import type { GroupCoordinatorConfig, JoinGroupResult } from './types.js'

export class ClassicRebalance {
  constructor(
    private readonly registry: GroupRegistry,
    private readonly config: GroupCoordinatorConfig,
    private readonly logger: Logger,
  ) {}

  // ---- Join phase ------------------------------------------------------------------------------

  currentGeneration(group: ClassicGroup, member: ClassicMember, withMembers: boolean): JoinGroupResult {
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

  maybePrepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.canRebalance()) this.prepareRebalance(group, reason)
  }

  private prepareRebalance(group: ClassicGroup, reason: string): void {
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(group, ErrorCode.REBALANCE_IN_PROGRESS)
    group.syncDeadline = null
    const now = this.registry.now()
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
    this.registry.watch(group)
    if (group.joinDeadline <= now) this.registry.wake()
    this.maybeCompleteJoin(group)
  }

  maybeCompleteJoin(group: ClassicGroup): void {
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
        if (delay === 0) this.registry.wake()
        return
      }
      group.initialDelayRemainingMs = null
    }
    this.completeJoin(group)
  }

  private completeJoin(group: ClassicGroup): void {
    const now = this.registry.now()
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

  // ---- Sync phase ------------------------------------------------------------------------------

  removePendingSyncMember(group: ClassicGroup, memberId: string): void {
    group.pendingSyncMembers.delete(memberId)
    if (group.pendingSyncMembers.size === 0) group.syncDeadline = null
  }

  propagateAssignment(group: ClassicGroup, errorCode: number): void {
    const now = this.registry.now()
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

  // ---- Member removal ---------------------------------------------------------------------------

  removeMemberAndUpdateGroup(group: ClassicGroup, member: ClassicMember, reason: string): void {
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

  removePendingMember(group: ClassicGroup, memberId: string): void {
    group.pendingMembers.delete(memberId)
    this.maybeCompleteJoin(group)
  }

  // ---- Deadlines ---------------------------------------------------------------------------------

  /** Acts on the group's passed deadlines; returns whether it still has any to watch. */
  onDeadlines(group: ClassicGroup, now: number): boolean {
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
    return this.hasDeadlines(group)
  }

  private hasDeadlines(group: ClassicGroup): boolean {
    return group.members.size > 0 || group.pendingMembers.size > 0 || group.joinDeadline !== null || group.syncDeadline !== null
  }
}
