// Classic-protocol members of a KIP-848 consumer group, as Kafka 4.0 serves them: a consumer that
// still speaks JoinGroup/SyncGroup/Heartbeat/LeaveGroup ("consumer" protocol type) becomes a member
// of the consumer group like any other. Its JoinGroup carries its subscription and, from
// ConsumerProtocol v1 on, the partitions it owns; the coordinator reconciles it exactly like a
// heartbeat would (revocation first) and answers at once, with its member epoch as the generation
// and no leader: the assignment is the server's, handed out by SyncGroup. Heartbeat answers
// REBALANCE_IN_PROGRESS while the member is behind its target, so the client rejoins, which is how
// it acknowledges a revocation and picks up partitions released to it. Single-threaded.
import { randomUUID } from 'node:crypto'
import { ErrorCode } from '../../protocol/errors.js'
import { joinError, syncError } from './classic-group.js'
import { byTopicId, decodeSubscription, encodeAssignment } from './consumer-protocol-bytes.js'
import type { ConsumerGroup } from './consumer-group.js'
import type { ConsumerKind } from './consumer-kind.js'
import { ConsumerMember } from './consumer-member.js'
import { CONSUMER_PROTOCOL_TYPE } from './consumer-subscription.js'
import type { GroupRegistry } from './group.js'
import type {
  GroupCoordinatorConfig,
  JoinGroupParams,
  JoinGroupResult,
  LeaveGroupResult,
  LeavingMember,
  MemberIdentity,
  SyncGroupParams,
  SyncGroupResult,
  TopicCatalog,
} from './types.js'

export class ConsumerGroupClassicMembers {
  constructor(
    private readonly kind: ConsumerKind,
    private readonly registry: GroupRegistry,
    private readonly config: GroupCoordinatorConfig,
    private readonly catalog: TopicCatalog | undefined,
  ) {}

  joinGroup(group: ConsumerGroup, p: JoinGroupParams): JoinGroupResult {
    const refused = this.registry.refusal(group.groupId)
    if (refused !== ErrorCode.NONE) return joinError(p.memberId, refused)
    if (p.sessionTimeoutMs < this.config.groupMinSessionTimeoutMs || p.sessionTimeoutMs > this.config.groupMaxSessionTimeoutMs) {
      return joinError(p.memberId, ErrorCode.INVALID_SESSION_TIMEOUT)
    }
    const first = p.protocols[0]
    const sub = first === undefined ? null : decodeSubscription(first.metadata)
    if (p.protocolType !== CONSUMER_PROTOCOL_TYPE || first === undefined || sub === null) {
      return joinError(p.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    }
    let memberId = p.memberId
    if (memberId === '') {
      memberId = `${p.groupInstanceId ?? p.clientId}-${randomUUID()}`
      if (p.requireKnownMemberId) return joinError(memberId, ErrorCode.MEMBER_ID_REQUIRED)
    }
    let member = group.members.get(memberId)
    if (member !== undefined && member.classic === null) return joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    const heldBy = p.groupInstanceId === null ? undefined : group.staticMembers.get(p.groupInstanceId)
    if (member === undefined && heldBy !== undefined) {
      // A static member restarted under a new member id: it takes over the old one's partitions.
      const old = group.members.get(heldBy)!
      if (old.classic === null) return joinError(memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
      group.replaceStaticMember(old, memberId)
      member = old
    }
    const joined = member === undefined
    if (member === undefined) {
      if (group.members.size >= this.config.groupMaxSize) return joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED)
      member = new ConsumerMember(memberId)
      member.instanceId = p.groupInstanceId
      group.addMember(member)
    }
    member.classic = { sessionTimeoutMs: p.sessionTimeoutMs, protocols: p.protocols, version: sub.version }
    member.clientId = p.clientId
    member.clientHost = p.clientHost
    member.rebalanceTimeoutMs = p.rebalanceTimeoutMs
    let changed = false
    if (!sameTopics(sub.topics, member.subscribedTopicNames)) {
      member.subscribedTopicNames = [...sub.topics]
      changed = true
    }
    if (sub.rackId !== null && sub.rackId !== member.rackId) {
      member.rackId = sub.rackId
      changed = true
    }
    // An eager client has given up everything before it rejoins; a cooperative one lists what it kept.
    this.kind.advance(group, member, byTopicId(sub.owned, this.catalog), joined || changed, this.registry.now() + p.sessionTimeoutMs)
    return {
      errorCode: ErrorCode.NONE,
      generationId: member.memberEpoch,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName: first.name,
      leader: '',
      skipAssignment: false,
      memberId,
      members: [],
    }
  }

  syncGroup(group: ConsumerGroup, p: SyncGroupParams): SyncGroupResult {
    const refused = this.registry.refusal(group.groupId)
    if (refused !== ErrorCode.NONE) return syncError(refused)
    const member = group.members.get(p.memberId)
    const invalid = this.validate(group, p)
    if (invalid !== ErrorCode.NONE || member?.classic == null) return syncError(invalid)
    const protocolName = member.classic.protocols[0]!.name
    if ((p.protocolType !== null && p.protocolType !== CONSUMER_PROTOCOL_TYPE) || (p.protocolName !== null && p.protocolName !== protocolName)) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    }
    member.sessionDeadline = this.registry.now() + member.classic.sessionTimeoutMs
    return {
      errorCode: ErrorCode.NONE,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName,
      assignment: encodeAssignment(member.assigned, group.topicNames, member.classic.version),
    }
  }

  heartbeat(group: ConsumerGroup, p: MemberIdentity): number {
    const refused = this.registry.refusal(group.groupId)
    if (refused !== ErrorCode.NONE) return refused
    const invalid = this.validate(group, p)
    if (invalid !== ErrorCode.NONE) return invalid
    const member = group.members.get(p.memberId)!
    member.sessionDeadline = this.registry.now() + member.classic!.sessionTimeoutMs
    this.kind.refreshMetadata(group)
    const behind = member.state !== 'stable' || member.memberEpoch !== group.assignmentEpoch
    return behind ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE
  }

  leaveGroup(group: ConsumerGroup, leaving: LeavingMember[]): LeaveGroupResult {
    const refused = this.registry.refusal(group.groupId)
    if (refused !== ErrorCode.NONE) return { errorCode: refused, members: [] }
    const members = leaving.map((l) => {
      const answer = (errorCode: number) => ({ memberId: l.memberId, groupInstanceId: l.groupInstanceId, errorCode })
      const memberId = l.groupInstanceId !== null ? group.staticMembers.get(l.groupInstanceId) : l.memberId
      if (memberId === undefined) return answer(ErrorCode.UNKNOWN_MEMBER_ID)
      if (l.groupInstanceId !== null && l.memberId !== '' && l.memberId !== memberId) return answer(ErrorCode.FENCED_INSTANCE_ID)
      const member = group.members.get(memberId)
      if (member === undefined || member.classic === null) return answer(ErrorCode.UNKNOWN_MEMBER_ID)
      this.kind.removeMember(group, member)
      return answer(ErrorCode.NONE)
    })
    return { errorCode: ErrorCode.NONE, members }
  }

  /** A classic member's SyncGroup, Heartbeat (and OffsetCommit) name its epoch as the generation. */
  private validate(group: ConsumerGroup, p: MemberIdentity): number {
    if (p.groupInstanceId !== null) {
      const heldBy = group.staticMembers.get(p.groupInstanceId)
      if (heldBy === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
      if (heldBy !== p.memberId) return ErrorCode.FENCED_INSTANCE_ID
    }
    const member = group.members.get(p.memberId)
    if (member === undefined || member.classic === null) return ErrorCode.UNKNOWN_MEMBER_ID
    return p.generationId === member.memberEpoch ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION
  }
}

function sameTopics(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  const set = new Set(b)
  return a.every((t) => set.has(t))
}
