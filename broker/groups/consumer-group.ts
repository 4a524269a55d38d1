// The state of one KIP-848 consumer group: its members, the group epoch (bumped whenever what the
// assignment depends on changes: membership, subscriptions, the subscribed topics' partitions), the
// target assignment and the epoch it was computed at, and who owns each partition right now.
// Kafka's ConsumerGroup is the model. The ownership index is the single place that knows which
// member holds a partition; `setAssignment` refuses to give a partition held by another member, so
// the "never owned twice" invariant is enforced here, whatever the caller does. The protocol rules
// are in consumer-kind.ts. Single-threaded: all calls come from the event loop.
import { ErrorCode } from '../../protocol/errors.js'
import { EMPTY_ASSIGNMENT, forEachPartition, isEmptyAssignment, type Assignment } from './consumer-assignment.js'
import type { ConsumerMember } from './consumer-member.js'
import type { MemberAssignmentState } from './consumer-reconciliation.js'
import { ResolvedRegexes } from './consumer-regex.js'
import type { Group, OffsetExpiration } from './group.js'
import type { GroupType, OffsetCommitParams, TxnOffsetCommitParams } from './types.js'

export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead'

export interface TopicMetadata {
  topicId: string
  partitions: number
}

export class ConsumerGroup implements Group {
  readonly type: GroupType = 'consumer'
  readonly protocolType = 'consumer'
  groupEpoch = 0
  assignmentEpoch = 0
  /** The assignor the last target assignment was computed with. */
  assignorName = ''
  readonly members = new Map<string, ConsumerMember>()
  /** instance id -> member id of the static member holding it. */
  readonly staticMembers = new Map<string, string>()
  /** member id -> target assignment at `assignmentEpoch`. */
  readonly targetAssignment = new Map<string, Assignment>()
  /** The subscribed topics as they were when the group epoch last moved, by name. */
  subscriptionMetadata: ReadonlyMap<string, TopicMetadata> = new Map()
  /** topic id -> name of every topic the group subscribed to, so deleted topics still have a name. */
  readonly topicNames = new Map<string, string>()
  /** The members' regular expressions, resolved off the heartbeat path (consumer-regex.ts). */
  readonly regexes = new ResolvedRegexes()
  /** When the group last became empty; its offsets age from their commit either way. */
  stateTimestamp: number
  private readonly owners = new Map<string, string>()
  private dead = false

  constructor(
    readonly groupId: string,
    now: number,
  ) {
    this.stateTimestamp = now
  }

  get state(): ConsumerGroupState {
    if (this.dead) return 'Dead'
    if (this.members.size === 0) return 'Empty'
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning'
    for (const m of this.members.values()) if (m.state !== 'stable' || m.memberEpoch !== this.assignmentEpoch) return 'Reconciling'
    return 'Stable'
  }

  /** The member holding the partition (assigned or pending revocation), if any. */
  ownerOf(topicId: string, partition: number): string | undefined {
    return this.owners.get(key(topicId, partition))
  }

  targetOf(memberId: string): Assignment {
    return this.targetAssignment.get(memberId) ?? EMPTY_ASSIGNMENT
  }

  addMember(member: ConsumerMember): void {
    this.members.set(member.memberId, member)
    if (member.instanceId !== null) this.staticMembers.set(member.instanceId, member.memberId)
  }

  /** Moves the member to its next assignment state; throws if that would give it a partition another member holds. */
  setAssignment(member: ConsumerMember, next: MemberAssignmentState): void {
    const mine = (topicId: string, p: number): void => {
      const owner = this.owners.get(key(topicId, p))
      if (owner !== undefined && owner !== member.memberId) {
        throw new Error(`group ${this.groupId}: partition ${topicId}-${p} of ${owner} given to ${member.memberId}`)
      }
    }
    forEachPartition(next.assigned, mine)
    forEachPartition(next.pendingRevocation, mine)
    // A partition it keeps (or must still give up) keeps the epoch it came with; a new one comes at the new epoch.
    const epochs = new Map<string, number>()
    const since = (topicId: string, p: number): void => {
      const k = key(topicId, p)
      epochs.set(k, member.assignmentEpochs.get(k) ?? next.memberEpoch)
    }
    forEachPartition(next.assigned, since)
    forEachPartition(next.pendingRevocation, since)
    member.assignmentEpochs = epochs
    this.release(member)
    member.state = next.state
    member.memberEpoch = next.memberEpoch
    member.previousMemberEpoch = next.previousMemberEpoch
    member.assigned = next.assigned
    member.pendingRevocation = next.pendingRevocation
    const own = (topicId: string, p: number): void => void this.owners.set(key(topicId, p), member.memberId)
    forEachPartition(member.assigned, own)
    forEachPartition(member.pendingRevocation, own)
  }

  /** The member gives up everything it owns and starts over at epoch 0 (it rejoined after being fenced). */
  resetMember(member: ConsumerMember): void {
    this.setAssignment(member, { state: 'stable', memberEpoch: 0, previousMemberEpoch: -1, assigned: EMPTY_ASSIGNMENT, pendingRevocation: EMPTY_ASSIGNMENT })
  }

  removeMember(member: ConsumerMember, now: number): void {
    this.release(member)
    this.members.delete(member.memberId)
    this.targetAssignment.delete(member.memberId)
    if (member.instanceId !== null && this.staticMembers.get(member.instanceId) === member.memberId) this.staticMembers.delete(member.instanceId)
    if (this.members.size === 0) this.stateTimestamp = now
  }

  /** KIP-848 static membership: a new member id takes over the departed instance's member and partitions. */
  replaceStaticMember(old: ConsumerMember, newMemberId: string): void {
    this.release(old)
    this.members.delete(old.memberId)
    const target = this.targetOf(old.memberId)
    this.targetAssignment.delete(old.memberId)
    old.memberId = newMemberId
    this.members.set(newMemberId, old)
    this.targetAssignment.set(newMemberId, target)
    if (old.instanceId !== null) this.staticMembers.set(old.instanceId, newMemberId)
    const own = (topicId: string, p: number): void => void this.owners.set(key(topicId, p), newMemberId)
    forEachPartition(old.assigned, own)
    forEachPartition(old.pendingRevocation, own)
  }

  /** The regular expressions members subscribe to. */
  subscribedRegexes(): Set<string> {
    const out = new Set<string>()
    for (const m of this.members.values()) if (m.subscribedTopicRegex !== null) out.add(m.subscribedTopicRegex)
    return out
  }

  /** Every partition owner, for tests that check the ownership invariant. */
  ownership(): ReadonlyMap<string, string> {
    return this.owners
  }

  private release(member: ConsumerMember): void {
    const drop = (topicId: string, p: number): void => {
      const k = key(topicId, p)
      if (this.owners.get(k) === member.memberId) this.owners.delete(k)
    }
    forEachPartition(member.assigned, drop)
    forEachPartition(member.pendingRevocation, drop)
  }

  // ---- Group: what the shell and the offset manager ask of any group -----------------------------

  isEmpty(): boolean {
    return this.members.size === 0
  }

  isDead(): boolean {
    return this.dead
  }

  markDead(): void {
    this.dead = true
  }

  shouldExpire(): boolean {
    return this.members.size === 0
  }

  /**
   * Kafka's ConsumerGroup.validateOffsetCommit: without a member epoch only an empty group takes
   * commits; a classic member commits at its current epoch (ILLEGAL_GENERATION otherwise); a
   * consumer-protocol member, outside a transaction with OffsetCommit v9+, at its current epoch or
   * an earlier one, never a later one (STALE_MEMBER_EPOCH). An earlier epoch is KIP-1251's case
   * (Kafka 4.3): a heartbeat answer moving the member's epoch is on its way while the member commits
   * (often from the revocation callback, which commits before it lets go), so each partition is then
   * checked on its own (commitPartitionError): the member may commit a partition it has owned since
   * that epoch or before. Kafka 4.0 answered the whole commit STALE_MEMBER_EPOCH, which librdkafka
   * passes to the application for a manual commit, so the commit before a revocation was lost.
   */
  validateOffsetCommit(p: OffsetCommitParams): number {
    return this.validateCommit(p.memberId, p.generationId, false, p.apiVersion ?? Number.MAX_SAFE_INTEGER)
  }

  onOffsetCommit(): void {
    // A consumer-group member proves it is alive by heartbeating only.
  }

  validateTxnOffsetCommit(p: TxnOffsetCommitParams): number {
    return this.validateCommit(p.memberId, p.generationId, true, Number.MAX_SAFE_INTEGER)
  }

  private validateCommit(memberId: string, memberEpoch: number, transactional: boolean, apiVersion: number): number {
    if (this.dead) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (memberEpoch < 0 && this.members.size === 0) return ErrorCode.NONE
    const member = this.members.get(memberId)
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    // A classic member names its epoch as its generation.
    if (member.classic !== null) return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION
    if (!transactional && apiVersion < 9) return ErrorCode.UNSUPPORTED_VERSION
    return memberEpoch <= member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH
  }

  /**
   * KIP-1251's check of one partition of a commit validateCommit took: at the member's current epoch
   * every partition passes (as before); at an earlier epoch, only one the member still owns
   * (assigned or pending revocation) and has owned since that epoch or before:
   * assignment epoch <= the commit's epoch <= the member's epoch.
   */
  commitPartitionError(memberId: string, memberEpoch: number, topic: string, partition: number): number {
    const member = this.members.get(memberId)
    if (member === undefined || member.classic !== null || memberEpoch === member.memberEpoch) return ErrorCode.NONE
    // A topic deleted and created again has two ids under one name.
    for (const [topicId, name] of this.topicNames) {
      if (name !== topic) continue
      const since = member.assignmentEpochs.get(key(topicId, partition))
      if (since !== undefined && since <= memberEpoch) return ErrorCode.NONE
    }
    return ErrorCode.STALE_MEMBER_EPOCH
  }

  /** OffsetFetch v9+: a member reads at its current epoch; a fetch without member id is an admin's. */
  validateOffsetFetch(memberId: string | null, memberEpoch: number): number {
    if (this.dead) return ErrorCode.GROUP_ID_NOT_FOUND
    if (memberId === null || (memberId === '' && memberEpoch < 0)) return ErrorCode.NONE
    const member = this.members.get(memberId)
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH
  }

  /** A consumer group knows what it subscribes to, so offsets of other topics may go while it runs. */
  validateOffsetDelete(): number {
    return this.dead ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.NONE
  }

  validateDeleteGroup(): number {
    if (this.dead) return ErrorCode.GROUP_ID_NOT_FOUND
    return this.members.size === 0 ? ErrorCode.NONE : ErrorCode.NON_EMPTY_GROUP
  }

  /** The names the members list plus the existing topics their regular expressions matched. */
  subscribedTopics(): ReadonlySet<string> {
    const topics = new Set<string>(this.subscriptionMetadata.keys())
    for (const m of this.members.values()) for (const t of m.subscribedTopicNames) topics.add(t)
    return topics
  }

  /** Offsets of topics nobody subscribes to age from their commit (all of them once the group is empty). */
  offsetExpiration(): OffsetExpiration {
    const subscribed = this.subscribedTopics()
    return { appliesTo: (topic) => !subscribed.has(topic), baseTimestamp: (o) => o.commitTimestamp }
  }

  /** Whether any member still owns a partition (used to decide whether a group may convert). */
  hasOwnedPartitions(): boolean {
    for (const m of this.members.values()) if (!isEmptyAssignment(m.assigned) || !isEmptyAssignment(m.pendingRevocation)) return true
    return false
  }
}

function key(topicId: string, partition: number): string {
  return `${topicId}\u0000${partition}`
}
