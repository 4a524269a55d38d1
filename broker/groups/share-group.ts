// The state of one KIP-932 share group: its members, the group epoch (bumped when membership,
// subscriptions or the subscribed topics' partitions change), the target assignment and the epoch
// it was computed at. Kafka's ShareGroup is the model. A share group commits no offsets: where a
// share group consumes is the share-partition state (broker/share/), so every offset request
// addressed to it answers as Kafka's does for a group of the wrong kind. Single-threaded.
import { ErrorCode } from '../../protocol/errors.js'
import { EMPTY_ASSIGNMENT, type Assignment } from './consumer-assignment.js'
import type { TopicMetadata } from './consumer-group.js'
import type { Group, OffsetExpiration } from './group.js'
import type { ShareMember } from './share-member.js'
import type { GroupType } from './types.js'

export type ShareGroupState = 'Empty' | 'Stable' | 'Dead'

export class ShareGroup implements Group {
  readonly type: GroupType = 'share'
  readonly protocolType = 'share'
  groupEpoch = 0
  assignmentEpoch = 0
  readonly assignorName = 'simple'
  readonly members = new Map<string, ShareMember>()
  /** member id -> target assignment at `assignmentEpoch`. */
  readonly targetAssignment = new Map<string, Assignment>()
  /** The subscribed topics as they were when the group epoch last moved, by name. */
  subscriptionMetadata: ReadonlyMap<string, TopicMetadata> = new Map()
  /** topic id -> name of every topic the group subscribed to. */
  readonly topicNames = new Map<string, string>()
  /** Share partitions (`topicId:partition`) whose state is being initialized; assigned once it is. */
  readonly initializing = new Set<string>()
  /** An initialization failed: the next heartbeat recomputes the assignment and tries again. */
  retryInitialization = false
  private dead = false

  constructor(readonly groupId: string) {}

  get state(): ShareGroupState {
    if (this.dead) return 'Dead'
    return this.members.size === 0 ? 'Empty' : 'Stable'
  }

  targetOf(memberId: string): Assignment {
    return this.targetAssignment.get(memberId) ?? EMPTY_ASSIGNMENT
  }

  /** The names every member subscribes to. */
  subscribedTopics(): ReadonlySet<string> {
    const topics = new Set<string>()
    for (const m of this.members.values()) for (const t of m.subscribedTopicNames) topics.add(t)
    return topics
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

  /** A share group's life is its share-partition state, which offset expiry does not touch. */
  shouldExpire(): boolean {
    return false
  }

  validateOffsetCommit(): number {
    return ErrorCode.GROUP_ID_NOT_FOUND
  }

  onOffsetCommit(): void {
    // Share-group members prove they are alive by heartbeating only.
  }

  validateTxnOffsetCommit(): number {
    return ErrorCode.GROUP_ID_NOT_FOUND
  }

  validateOffsetFetch(): number {
    return ErrorCode.GROUP_ID_NOT_FOUND
  }

  validateOffsetDelete(): number {
    return ErrorCode.GROUP_ID_NOT_FOUND
  }

  validateDeleteGroup(): number {
    if (this.dead) return ErrorCode.GROUP_ID_NOT_FOUND
    return this.members.size === 0 ? ErrorCode.NONE : ErrorCode.NON_EMPTY_GROUP
  }

  offsetExpiration(): OffsetExpiration | null {
    return null
  }
}
