// The share group kind (KIP-932): ShareGroupHeartbeat and ShareGroupDescribe, as Kafka's
// GroupMetadataManager answers them. A member names itself (a client-made UUID), joins with epoch
// 0 and the topics it subscribes to, leaves with -1, and otherwise heartbeats at its epoch. The
// group epoch moves when membership, subscriptions or the subscribed topics' partitions change; the
// target assignment (the simple assignor) is recomputed at once, and a member moves to its target
// on its next heartbeat: nothing is revoked first, since records, not partitions, are what a share
// group hands out. Nothing waits: every request is answered immediately. As in Kafka, a share
// partition is assigned only once its state is initialized (stored at the log end or start, per
// share.auto.offset.reset): a first subscription answers without it, and the group epoch moves
// when the state is stored, so members get the partition on their next heartbeat.
//
// Deadlines: a member silent for the session timeout (group.share.session.timeout.ms, or the
// group's share.session.timeout.ms) is removed, and its share session with it (ShareGroupListener);
// the records it holds come back when their acquisition locks run out. Single-threaded.
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import { SimpleAssignor } from './assignors/simple.js'
import type { AssignorMember } from './assignors/assignor.js'
import { filterAssignment, sameAssignment, toTopicPartitions, type Assignment } from './consumer-assignment.js'
import type { TopicMetadata } from './consumer-group.js'
import { sameMetadata } from './consumer-target.js'
import { OTHER_KIND, type GroupKind, type GroupRegistry } from './group.js'
import { ShareGroup } from './share-group.js'
import { SHARE_LEAVE_EPOCH, ShareMember } from './share-member.js'
import type {
  DescribedShareGroup,
  DescribedTopicPartitions,
  GroupCoordinatorConfig,
  ShareGroupListener,
  ShareHeartbeatParams,
  ShareHeartbeatResult,
  TopicCatalog,
} from './types.js'

/** The share settings a group may override (IncrementalAlterConfigs on its GROUP resource). */
export interface ShareGroupSettings {
  sessionTimeoutMs: number
  heartbeatIntervalMs: number
}

export class ShareKind implements GroupKind<ShareGroup> {
  readonly type = 'share' as const
  private readonly assignor = new SimpleAssignor()
  listener: ShareGroupListener | undefined

  constructor(
    private readonly registry: GroupRegistry,
    private readonly config: GroupCoordinatorConfig,
    private readonly catalog: TopicCatalog | undefined,
    private readonly logger: Logger,
    private readonly settings: (groupId: string) => ShareGroupSettings,
  ) {}

  createGroup(groupId: string): ShareGroup {
    const group = new ShareGroup(groupId)
    this.registry.add(group)
    return group
  }

  onDeadlines(group: ShareGroup, now: number): boolean {
    for (const m of [...group.members.values()]) {
      if (now < m.sessionDeadline) continue
      this.logger.info({ groupId: group.groupId, memberId: m.memberId }, 'share group member session expired')
      this.removeMember(group, m)
      this.listener?.memberExpired(group.groupId, m.memberId)
    }
    return group.members.size > 0
  }

  close(): void {
    // No request waits in a share group.
  }

  // ---- ShareGroupHeartbeat --------------------------------------------------------------------

  heartbeat(p: ShareHeartbeatParams): ShareHeartbeatResult {
    const refused = this.registry.refusal(p.groupId)
    if (refused !== ErrorCode.NONE) return failure(refused)
    const invalid = validateRequest(p)
    if (invalid !== null) return failure(ErrorCode.INVALID_REQUEST, invalid)
    const found = this.registry.find(p.groupId, this)
    if (found === OTHER_KIND) return failure(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${p.groupId} is not a share group.`)
    if (p.memberEpoch === SHARE_LEAVE_EPOCH) return this.leave(found, p)
    if (found === undefined && p.memberEpoch !== 0) return failure(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${p.groupId} not found.`)
    const group = found ?? this.createGroup(p.groupId)

    let member = group.members.get(p.memberId)
    if (member === undefined) {
      if (p.memberEpoch !== 0) return failure(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${p.memberId} is not a member of group ${p.groupId}.`)
      if (group.members.size >= this.config.shareMaxSize) {
        return failure(ErrorCode.GROUP_MAX_SIZE_REACHED, `The share group has reached its maximum capacity of ${this.config.shareMaxSize} members.`)
      }
    } else if (p.memberEpoch > member.memberEpoch || (p.memberEpoch < member.memberEpoch && p.memberEpoch !== member.previousMemberEpoch)) {
      return failure(
        ErrorCode.FENCED_MEMBER_EPOCH,
        `The share group member has epoch ${p.memberEpoch}, the group coordinator knows ${member.memberEpoch}. The member must rejoin.`,
      )
    }
    let bump = false
    if (member === undefined) {
      member = new ShareMember(p.memberId)
      group.members.set(member.memberId, member)
      this.logger.info({ groupId: group.groupId, memberId: member.memberId }, 'member joined the share group')
      bump = true
    }
    member.clientId = p.clientId
    member.clientHost = p.clientHost
    if (p.rackId !== null) member.rackId = p.rackId
    if (p.subscribedTopicNames !== null && !sameNames(p.subscribedTopicNames, member.subscribedTopicNames)) {
      member.subscribedTopicNames = [...p.subscribedTopicNames]
      bump = true
    }
    if (bump || group.retryInitialization || !sameMetadata(this.resolve(group), group.subscriptionMetadata)) this.bumpGroupEpoch(group)

    const before = member.assigned
    if (member.memberEpoch !== group.assignmentEpoch) {
      member.previousMemberEpoch = member.memberEpoch
      member.memberEpoch = group.assignmentEpoch
      member.assigned = group.targetOf(member.memberId)
    }
    member.sessionDeadline = this.registry.now() + this.settings(group.groupId).sessionTimeoutMs
    this.registry.watch(group)
    const send = p.memberEpoch === 0 || !sameAssignment(before, member.assigned)
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.settings(group.groupId).heartbeatIntervalMs,
      assignment: send ? toTopicPartitions(member.assigned) : null,
    }
  }

  private leave(group: ShareGroup | undefined, p: ShareHeartbeatParams): ShareHeartbeatResult {
    if (group === undefined) return failure(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${p.groupId} not found.`)
    const member = group.members.get(p.memberId)
    if (member === undefined) return failure(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${p.memberId} is not a member of group ${p.groupId}.`)
    this.logger.info({ groupId: group.groupId, memberId: member.memberId }, 'member left the share group')
    this.removeMember(group, member)
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: p.memberId, memberEpoch: SHARE_LEAVE_EPOCH, heartbeatIntervalMs: 0, assignment: null }
  }

  /** A member leaves or is removed: the group epoch moves and the others share its partitions. */
  removeMember(group: ShareGroup, member: ShareMember): void {
    group.members.delete(member.memberId)
    group.targetAssignment.delete(member.memberId)
    this.bumpGroupEpoch(group)
  }

  /** The existing topics the members subscribe to. */
  private resolve(group: ShareGroup): Map<string, TopicMetadata> {
    const out = new Map<string, TopicMetadata>()
    if (this.catalog?.topicId === undefined) return out
    for (const name of group.subscribedTopics()) {
      const topicId = this.catalog.topicId(name)
      const partitions = this.catalog.partitionCount(name)
      if (topicId !== undefined && partitions !== undefined) out.set(name, { topicId, partitions })
    }
    return out
  }

  private bumpGroupEpoch(group: ShareGroup): void {
    group.groupEpoch++
    const metadata = this.resolve(group)
    group.subscriptionMetadata = metadata
    const topics = new Map<string, number>()
    for (const [name, t] of metadata) {
      group.topicNames.set(t.topicId, name)
      topics.set(t.topicId, t.partitions)
    }
    const members: AssignorMember[] = [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      rackId: m.rackId,
      topicIds: new Set(m.subscribedTopicNames.map((n) => metadata.get(n)?.topicId).filter((id): id is string => id !== undefined)),
      previous: group.targetOf(m.memberId),
    }))
    const target = this.assignor.assign(members, topics)
    group.targetAssignment.clear()
    const uninitialized = this.uninitialized(group, topics)
    for (const [memberId, a] of target) {
      group.targetAssignment.set(memberId, uninitialized.length === 0 ? a : filterAssignment(a, (t, p) => this.listener!.isInitialized!(group.groupId, t, p)))
    }
    group.assignmentEpoch = group.groupEpoch
    group.retryInitialization = false
    if (uninitialized.length > 0) this.initialize(group, uninitialized)
  }

  /** Subscribed share partitions without state that no initialization is working on yet. */
  private uninitialized(group: ShareGroup, topics: ReadonlyMap<string, number>): Array<{ topicId: string; partition: number }> {
    const listener = this.listener
    if (listener?.isInitialized === undefined || listener.initialize === undefined) return []
    const out: Array<{ topicId: string; partition: number }> = []
    for (const [topicId, count] of topics) {
      for (let partition = 0; partition < count; partition++) {
        if (!listener.isInitialized(group.groupId, topicId, partition) && !group.initializing.has(`${topicId}:${partition}`)) out.push({ topicId, partition })
      }
    }
    return out
  }

  /**
   * Kafka's share-partition initialization: the partitions join the assignment once their state is
   * stored, with a new group epoch that members pick up on their next heartbeat.
   */
  private initialize(group: ShareGroup, partitions: Array<{ topicId: string; partition: number }>): void {
    for (const p of partitions) group.initializing.add(`${p.topicId}:${p.partition}`)
    const done = (): void => {
      for (const p of partitions) group.initializing.delete(`${p.topicId}:${p.partition}`)
    }
    this.listener!.initialize!(group.groupId, partitions).then(
      () => {
        done()
        if (group.isDead() || this.registry.refusal(group.groupId) !== ErrorCode.NONE) return
        // A partition that could not be initialized (its topic went meanwhile) waits for the next
        // heartbeat, so a failure cannot turn into a loop of epochs.
        if (partitions.some((p) => this.listener!.isInitialized!(group.groupId, p.topicId, p.partition))) this.bumpGroupEpoch(group)
        else group.retryInitialization = true
      },
      (err: unknown) => {
        done()
        group.retryInitialization = true
        this.logger.error({ err, groupId: group.groupId }, 'initializing share partitions failed')
      },
    )
  }

  // ---- ShareGroupDescribe ---------------------------------------------------------------------

  describe(groupId: string): DescribedShareGroup {
    const refused = this.registry.refusal(groupId)
    if (refused !== ErrorCode.NONE) return describeError(groupId, refused, null)
    const group = this.registry.find(groupId, this)
    if (group === undefined) return describeError(groupId, ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} not found.`)
    if (group === OTHER_KIND) return describeError(groupId, ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a share group.`)
    const named = (a: Assignment): DescribedTopicPartitions[] =>
      toTopicPartitions(a).map((t) => ({ topicId: t.topicId, topicName: group.topicNames.get(t.topicId) ?? '', partitions: t.partitions }))
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      groupId,
      groupState: group.state,
      groupEpoch: group.groupEpoch,
      assignmentEpoch: group.assignmentEpoch,
      assignorName: group.assignorName,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: [...m.subscribedTopicNames],
        assignment: named(m.assigned),
      })),
    }
  }
}

/** Kafka's throwIfShareGroupHeartbeatRequestIsInvalid: the message, or null when valid. */
function validateRequest(p: ShareHeartbeatParams): string | null {
  if (p.memberId.trim() === '') return "MemberId can't be empty."
  if (p.groupId.trim() === '') return "GroupId can't be empty."
  if (p.rackId !== null && p.rackId.trim() === '') return "RackId can't be empty."
  if (p.memberEpoch === 0) {
    if (p.subscribedTopicNames === null || p.subscribedTopicNames.length === 0) return 'SubscribedTopicNames must be set in first request.'
  } else if (p.memberEpoch < SHARE_LEAVE_EPOCH) {
    return 'MemberEpoch is invalid.'
  }
  return null
}

function failure(errorCode: number, errorMessage: string | null = null): ShareHeartbeatResult {
  return { errorCode, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null }
}

function describeError(groupId: string, errorCode: number, errorMessage: string | null): DescribedShareGroup {
  return { errorCode, errorMessage, groupId, groupState: 'Dead', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [] }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  const set = new Set(b)
  return a.every((x) => set.has(x))
}
