// The consumer group kind (KIP-848): ConsumerGroupHeartbeat and ConsumerGroupDescribe, as Kafka's
// GroupMetadataManager answers them. A heartbeat joins (epoch 0), leaves (-1, or -2 for a static
// member that will be back), or reports what the member owns; the coordinator bumps the group epoch
// when what the assignment depends on changed, recomputes the target assignment at once, and moves
// the member one step towards its target (consumer-reconciliation.ts). Nothing waits: every
// request is answered immediately and members converge over their next heartbeats.
//
// A regex subscription is resolved at the coordinator's next tick, not while the heartbeat is
// answered, as Kafka resolves it asynchronously (consumer-regex.ts): its topics are assigned from a
// later heartbeat on.
//
// Deadlines: a member silent for group.consumer.session.timeout.ms is removed; one that does not
// give up its revoked partitions within its rebalance timeout is removed too (its partitions then
// go to the others); one still owing them a session timeout after being asked is logged once. A classic group that is empty is converted when a member joins with this
// protocol; one with members is converted online as group.consumer.migration.policy allows
// (consumer-conversion.ts), and its members go on with the classic protocol inside the consumer
// group (consumer-classic-members.ts); otherwise the join answers GROUP_ID_NOT_FOUND, as in Kafka.
// Single-threaded: all state changes happen synchronously.
//
// One deviation from Kafka, more lenient: a join (epoch 0) without a rebalance timeout. Kafka
// refuses it (INVALID_REQUEST, "RebalanceTimeoutMs must be provided in first request."), which
// librdkafka (2.15.1) treats as fatal. librdkafka sends exactly that after its own leave: the
// answer to the leave resets its epoch to 0 and clears its "send everything" flag, and a heartbeat
// sent before it moves back to its init state carries the member id and epoch 0 with no rebalance
// timeout, owned partitions or subscription (test/compat/librdkafka/FINDINGS.md, F7). Samsa reads
// it as a rejoin: a member the group knows keeps its rebalance timeout and subscription (null
// fields mean unchanged, as on any heartbeat) and gets its assignment again; an unknown member that
// names a subscription joins with DEFAULT_REBALANCE_TIMEOUT_MS; an unknown member that names none
// is answered UNKNOWN_MEMBER_ID, on which clients rejoin with a full request. A join that does give
// a rebalance timeout is checked as Kafka checks it.
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import { serverAssignors } from './assignors/index.js'
import type { ServerAssignor } from './assignors/assignor.js'
import { assignmentOf, EMPTY_ASSIGNMENT, isSubset, partitionCount, sameAssignment, toTopicPartitions, type Assignment } from './consumer-assignment.js'
import { describeConsumerGroup } from './consumer-describe.js'
import type { ClassicGroup } from './classic-group.js'
import { classicToConsumer, consumerToClassic, downgradeAllowed, onlyClassicMembers, upgradeAllowed } from './consumer-conversion.js'
import { ConsumerGroup } from './consumer-group.js'
import { ConsumerMember, DEFAULT_REBALANCE_TIMEOUT_MS, LEAVE_EPOCH, LEAVE_STATIC_EPOCH } from './consumer-member.js'
import { reconcile } from './consumer-reconciliation.js'
import { compileTopicRegex } from './consumer-regex.js'
import { bumpGroupEpoch, resolveSubscriptions, sameMetadata } from './consumer-target.js'
import { OTHER_KIND, type GroupKind, type GroupRegistry } from './group.js'
import type {
  ConsumerHeartbeatParams,
  ConsumerHeartbeatResult,
  DescribedConsumerGroup,
  GroupCoordinatorConfig,
  TopicCatalog,
} from './types.js'

export class ConsumerKind implements GroupKind<ConsumerGroup> {
  readonly type = 'consumer' as const
  readonly assignors: readonly ServerAssignor[]

  constructor(
    private readonly registry: GroupRegistry,
    private readonly config: GroupCoordinatorConfig,
    private readonly catalog: TopicCatalog | undefined,
    private readonly logger: Logger,
    /** Hands a group converted back to the classic kind to that kind, which starts a rebalance. */
    private readonly downgrade: (from: ConsumerGroup, to: ClassicGroup) => void,
  ) {
    this.assignors = serverAssignors(config.consumerAssignors)
    if (this.assignors.length === 0) throw new Error('group.consumer.assignors: at least one assignor is needed')
  }

  createGroup(groupId: string): ConsumerGroup {
    const group = new ConsumerGroup(groupId, this.registry.now())
    this.registry.add(group)
    return group
  }

  onDeadlines(group: ConsumerGroup, now: number): boolean {
    if (group.regexes.due) this.resolveRegexes(group, now)
    for (const m of [...group.members.values()]) {
      this.maybeLogSlowRevocation(group, m, now)
      const revocationLate = m.revocationDeadline !== null && now >= m.revocationDeadline
      if (now < m.sessionDeadline && !revocationLate) continue
      this.logger.info({ groupId: group.groupId, memberId: m.memberId }, revocationLate ? 'member did not revoke in time' : 'member session expired')
      this.removeMember(group, m)
      if (group.isDead()) return false
    }
    return group.members.size > 0
  }

  /**
   * A member that still owes partitions a session timeout after it was asked to give them up holds
   * back their next owners until its rebalance timeout (minutes with the clients' defaults); the log
   * says which member, once per revocation. A client whose heartbeats stop listing what it owns
   * looks the same here: the partitions count as still owned, as in Kafka.
   */
  private maybeLogSlowRevocation(group: ConsumerGroup, m: ConsumerMember, now: number): void {
    if (m.revocationDeadline === null || m.revocationSlowLogged) return
    const owedMs = now - (m.revocationDeadline - m.rebalanceTimeoutMs)
    if (owedMs < this.config.consumerSessionTimeoutMs) return
    m.revocationSlowLogged = true
    this.logger.info(
      { groupId: group.groupId, memberId: m.memberId, memberEpoch: m.memberEpoch, pending: partitionCount(m.pendingRevocation), owedMs, removedInMs: m.revocationDeadline - now },
      'member has not given up revoked partitions yet',
    )
  }

  /** Resolves the group's regexes (consumer-regex.ts) and moves the group epoch if that changed its topics. */
  private resolveRegexes(group: ConsumerGroup, now: number): void {
    if (this.catalog?.topicNames === undefined) return void (group.regexes.due = false)
    group.regexes.resolve(group.subscribedRegexes(), this.catalog.topicNames(), now)
    this.refreshMetadata(group)
  }

  /** Schedules a resolution of the group's regexes at the next tick when one is needed. */
  private maybeScheduleRegexes(group: ConsumerGroup, now: number): void {
    if (!group.regexes.needsRefresh(group.subscribedRegexes(), now)) return
    group.regexes.due = true
    this.registry.watch(group)
    this.registry.wake()
  }

  /** A topic created, deleted or grown since the group epoch last moved moves it now. */
  refreshMetadata(group: ConsumerGroup): void {
    if (!sameMetadata(resolveSubscriptions(group, this.catalog), group.subscriptionMetadata)) bumpGroupEpoch(group, this.catalog, this.assignors)
  }

  close(): void {
    // No request waits in a consumer group.
  }

  // ---- ConsumerGroupHeartbeat -----------------------------------------------------------------

  heartbeat(p: ConsumerHeartbeatParams): ConsumerHeartbeatResult {
    const refused = this.registry.refusal(p.groupId)
    if (refused !== ErrorCode.NONE) return failure(refused)
    const invalid = this.validateRequest(p)
    if (invalid !== null) return this.refused(p, invalid)
    const now = this.registry.now()
    if (p.memberEpoch === LEAVE_EPOCH || p.memberEpoch === LEAVE_STATIC_EPOCH) return this.leave(p, now)

    let group = this.registry.find(p.groupId, this)
    if (bareRejoin(p) && p.subscribedTopicNames === null && p.subscribedTopicRegex === null && !(group instanceof ConsumerGroup && group.members.has(p.memberId))) {
      // Nothing to join with: the client rejoins with a full request on this error.
      return this.refused(p, failure(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${p.memberId} is not in group ${p.groupId}; rejoin with a subscription.`))
    }
    if (group === OTHER_KIND) {
      const other = this.registry.get(p.groupId)!
      // An empty classic group (perhaps only committed offsets) becomes a consumer group; offsets
      // stay. One with members only as the migration policy allows.
      const converted =
        p.memberEpoch !== 0
          ? null
          : other.isEmpty()
            ? new ConsumerGroup(p.groupId, now)
            : upgradeAllowed(this.config.consumerMigrationPolicy)
              ? classicToConsumer(other, now, this.catalog)
              : null
      if (converted === null) return this.refused(p, failure(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${p.groupId} is not a consumer group.`))
      this.registry.replace(other, converted)
      if (converted.members.size > 0) this.registry.watch(converted)
      this.logger.info({ groupId: p.groupId, members: converted.members.size }, 'classic group converted to a consumer group')
      group = converted
    }
    if (group === undefined) {
      if (p.memberEpoch !== 0) return this.refused(p, failure(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${p.groupId} not found.`))
      group = this.createGroup(p.groupId)
    }
    // A join owns nothing, whether it says so ([]) or leaves the field null (a bare rejoin).
    const owned = p.topicPartitions === null ? (p.memberEpoch === 0 ? EMPTY_ASSIGNMENT : null) : assignmentOf(p.topicPartitions)
    const found = this.memberFor(group, p, owned)
    if (typeof found === 'number') return failure(found)
    if ('errorCode' in found) return found
    const { member, joined } = found
    if (bareRejoin(p)) {
      this.logger.info({ groupId: p.groupId, memberId: member.memberId, known: !joined }, 'consumer group join without a rebalance timeout taken as a rejoin')
    }
    const before = { groupEpoch: group.groupEpoch, epoch: member.memberEpoch, state: member.state, assigned: member.assigned }
    const changed = this.updateMember(member, p)
    this.maybeScheduleRegexes(group, now)
    this.advance(group, member, owned, joined || changed, now + this.config.consumerSessionTimeoutMs)

    const memberMoved = before.epoch !== member.memberEpoch || before.state !== member.state || !sameAssignment(before.assigned, member.assigned)
    const sendAssignment = p.memberEpoch === 0 || memberMoved || (owned !== null && !sameAssignment(owned, member.assigned))
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.config.consumerHeartbeatIntervalMs,
      assignment: sendAssignment ? toTopicPartitions(member.assigned) : null,
      changedGroup: joined || changed || memberMoved || before.groupEpoch !== group.groupEpoch,
    }
  }

  /**
   * One step for a member that has just been heard from, whichever protocol it speaks: the group
   * epoch moves if `mustBump` or the subscribed topics changed, then the member reconciles towards
   * its target given what it says it owns, and its deadlines move.
   */
  advance(group: ConsumerGroup, member: ConsumerMember, owned: Assignment | null, mustBump: boolean, sessionDeadline: number): void {
    const now = this.registry.now()
    if (mustBump || !sameMetadata(resolveSubscriptions(group, this.catalog), group.subscriptionMetadata)) {
      bumpGroupEpoch(group, this.catalog, this.assignors)
    }
    const next = reconcile(member, {
      targetEpoch: group.assignmentEpoch,
      target: group.targetOf(member.memberId),
      owned,
      ownedByOther: (t, q) => {
        const owner = group.ownerOf(t, q)
        return owner !== undefined && owner !== member.memberId
      },
    })
    if (next !== member) group.setAssignment(member, next)
    member.sessionDeadline = sessionDeadline
    member.revocationDeadline = member.state === 'unrevoked_partitions' ? (member.revocationDeadline ?? now + member.rebalanceTimeoutMs) : null
    if (member.revocationDeadline === null) member.revocationSlowLogged = false
    this.registry.watch(group)
  }

  /** A member leaves, or is removed: the group epoch moves and the others share its partitions. */
  removeMember(group: ConsumerGroup, member: ConsumerMember): void {
    group.removeMember(member, this.registry.now())
    group.regexes.forgetUnsubscribed(group.subscribedRegexes())
    const classic =
      member.classic === null && onlyClassicMembers(group) && downgradeAllowed(this.config.consumerMigrationPolicy)
        ? consumerToClassic(group, this.registry.now())
        : null
    if (classic !== null) {
      // The classic group starts at the epoch the members hold, so their heartbeats are answered
      // REBALANCE_IN_PROGRESS rather than ILLEGAL_GENERATION.
      this.logger.info({ groupId: group.groupId, members: group.members.size }, 'consumer group converted back to a classic group')
      this.downgrade(group, classic)
      return
    }
    bumpGroupEpoch(group, this.catalog, this.assignors)
  }

  /**
   * Logs a refusal librdkafka treats as fatal (an invalid request, or a group that is not there for
   * a member past its join): the client then stops, and only this line says which rule it broke.
   */
  private refused(p: ConsumerHeartbeatParams, r: ConsumerHeartbeatResult): ConsumerHeartbeatResult {
    this.logger.info(
      { groupId: p.groupId, memberId: p.memberId, memberEpoch: p.memberEpoch, errorCode: r.errorCode, reason: r.errorMessage },
      'consumer group heartbeat refused',
    )
    return r
  }

  /** Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid. */
  private validateRequest(p: ConsumerHeartbeatParams): ConsumerHeartbeatResult | null {
    const bad = (message: string) => failure(ErrorCode.INVALID_REQUEST, message)
    if (p.groupId === '') return bad("GroupId can't be empty.")
    if (p.instanceId === '') return bad("InstanceId can't be empty.")
    if (p.rackId === '') return bad("RackId can't be empty.")
    if (p.memberEpoch < LEAVE_STATIC_EPOCH) return bad(`MemberEpoch ${p.memberEpoch} is invalid.`)
    if (p.memberEpoch === LEAVE_STATIC_EPOCH && p.instanceId === null) return bad("InstanceId can't be null.")
    if (p.memberId === '' && (p.memberEpoch !== 0 || p.apiVersion >= 1)) return bad("MemberId can't be empty.")
    if (p.memberEpoch === 0 && p.topicPartitions !== null && p.topicPartitions.length > 0) return bad('TopicPartitions must be empty when (re-)joining.')
    if (p.memberEpoch === 0 && !bareRejoin(p)) {
      // Kafka's checks of a join; a join without a rebalance timeout is a bare rejoin (header comment).
      if (p.topicPartitions === null) return bad('TopicPartitions must be empty when (re-)joining.')
      if (p.subscribedTopicNames === null && p.subscribedTopicRegex === null) {
        return bad('SubscribedTopicNames or SubscribedTopicRegex must be set in first request.')
      }
    }
    if (p.serverAssignor !== null && !this.assignors.some((a) => a.name === p.serverAssignor)) {
      return failure(
        ErrorCode.UNSUPPORTED_ASSIGNOR,
        `ServerAssignor ${p.serverAssignor} is not supported. Supported assignors: ${this.assignors.map((a) => a.name).join(', ')}.`,
      )
    }
    if (p.subscribedTopicRegex !== null && p.subscribedTopicRegex !== '' && compileTopicRegex(p.subscribedTopicRegex) === null) {
      return failure(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex ${p.subscribedTopicRegex} is not a valid regular expression.`)
    }
    return null
  }

  /** The member the heartbeat is for, created or taken over on a join; an error code if it is fenced or unknown. */
  private memberFor(
    group: ConsumerGroup,
    p: ConsumerHeartbeatParams,
    owned: Assignment | null,
  ): { member: ConsumerMember; joined: boolean } | ConsumerHeartbeatResult | number {
    if (p.memberEpoch === 0) {
      const memberId = p.memberId !== '' ? p.memberId : randomUUID()
      const heldBy = p.instanceId === null ? undefined : group.staticMembers.get(p.instanceId)
      const existing = group.members.get(heldBy ?? memberId)
      if (existing !== undefined && existing.memberId === memberId) {
        // Rejoining after being fenced: it dropped everything it owned.
        group.resetMember(existing)
        existing.leftTemporarily = false
        return { member: existing, joined: false }
      }
      if (existing !== undefined) {
        if (!existing.leftTemporarily) {
          return failure(ErrorCode.UNRELEASED_INSTANCE_ID, `Static member ${existing.memberId} with instance id ${p.instanceId} is not released yet.`)
        }
        // A static member back under a new member id keeps its epoch and partitions.
        group.replaceStaticMember(existing, memberId)
        existing.leftTemporarily = false
        return { member: existing, joined: false }
      }
      const member = new ConsumerMember(memberId)
      member.instanceId = p.instanceId
      if (p.rebalanceTimeoutMs === -1) member.rebalanceTimeoutMs = DEFAULT_REBALANCE_TIMEOUT_MS
      group.addMember(member)
      return { member, joined: true }
    }
    if (p.instanceId !== null) {
      const heldBy = group.staticMembers.get(p.instanceId)
      if (heldBy === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
      if (heldBy !== p.memberId) return ErrorCode.FENCED_INSTANCE_ID
    }
    const member = group.members.get(p.memberId)
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    if (p.memberEpoch > member.memberEpoch) return ErrorCode.FENCED_MEMBER_EPOCH
    if (p.memberEpoch < member.memberEpoch) {
      // Its response with the new epoch may have been lost: the previous epoch is still accepted
      // from a member that owns no more than it is assigned.
      if (p.memberEpoch !== member.previousMemberEpoch || owned === null || !isSubset(owned, member.assigned)) return ErrorCode.FENCED_MEMBER_EPOCH
    }
    return { member, joined: false }
  }

  /** Applies what the heartbeat changes; true when the group epoch must move. */
  private updateMember(member: ConsumerMember, p: ConsumerHeartbeatParams): boolean {
    let changed = false
    member.clientId = p.clientId
    member.clientHost = p.clientHost
    if (p.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = p.rebalanceTimeoutMs
    if (p.subscribedTopicNames !== null && !sameList(p.subscribedTopicNames, member.subscribedTopicNames)) {
      member.subscribedTopicNames = [...p.subscribedTopicNames]
      changed = true
    }
    if (p.subscribedTopicRegex !== null) {
      const regex = p.subscribedTopicRegex === '' ? null : p.subscribedTopicRegex
      if (regex !== member.subscribedTopicRegex) {
        member.subscribedTopicRegex = regex
        changed = true
      }
    }
    if (p.serverAssignor !== null && p.serverAssignor !== member.serverAssignor) {
      member.serverAssignor = p.serverAssignor
      changed = true
    }
    if (p.rackId !== null && p.rackId !== member.rackId) {
      member.rackId = p.rackId
      changed = true
    }
    return changed
  }

  private leave(p: ConsumerHeartbeatParams, now: number): ConsumerHeartbeatResult {
    const group = this.registry.find(p.groupId, this)
    if (group === undefined || group === OTHER_KIND) return failure(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${p.groupId} is not a consumer group.`)
    let member: ConsumerMember | undefined
    if (p.instanceId !== null) {
      const heldBy = group.staticMembers.get(p.instanceId)
      if (heldBy === undefined) return failure(ErrorCode.UNKNOWN_MEMBER_ID)
      if (heldBy !== p.memberId) return failure(ErrorCode.FENCED_INSTANCE_ID)
      member = group.members.get(heldBy)
    } else {
      member = group.members.get(p.memberId)
    }
    if (member === undefined) return failure(ErrorCode.UNKNOWN_MEMBER_ID)
    if (p.memberEpoch === LEAVE_STATIC_EPOCH) {
      // Back soon under a new member id: its partitions wait for it until its session expires.
      member.leftTemporarily = true
      member.sessionDeadline = now + this.config.consumerSessionTimeoutMs
      member.revocationDeadline = null
    } else {
      this.removeMember(group, member)
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: p.memberId, memberEpoch: p.memberEpoch, heartbeatIntervalMs: 0, assignment: null, changedGroup: true }
  }

  // ---- ConsumerGroupDescribe ------------------------------------------------------------------

  describe(groupId: string): DescribedConsumerGroup {
    const group = this.registry.find(groupId, this)
    const refused = this.registry.refusal(groupId)
    if (refused !== ErrorCode.NONE) return describeError(groupId, refused, null)
    if (group === undefined) return describeError(groupId, ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} not found.`)
    if (group === OTHER_KIND) return describeError(groupId, ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a consumer group.`)
    return describeConsumerGroup(group)
  }
}

/** A join (epoch 0) without a rebalance timeout: librdkafka's heartbeat right after its own leave (header comment). */
function bareRejoin(p: ConsumerHeartbeatParams): boolean {
  return p.memberEpoch === 0 && p.rebalanceTimeoutMs === -1
}

function failure(errorCode: number, errorMessage: string | null = null): ConsumerHeartbeatResult {
  return { errorCode, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null, changedGroup: false }
}

function describeError(groupId: string, errorCode: number, errorMessage: string | null): DescribedConsumerGroup {
  return { errorCode, errorMessage, groupId, groupState: 'Dead', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [] }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  const set = new Set(b)
  return a.every((x) => set.has(x))
}
