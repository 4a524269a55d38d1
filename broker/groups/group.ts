// What every kind of group has in common, and how a kind plugs into the coordinator. Kafka keeps
// one namespace of group ids across kinds: the classic protocol (JoinGroup/SyncGroup), KIP-848
// consumer groups and KIP-932 share groups. Each kind is a `Group` implementation (its state) plus
// a `GroupKind` (its requests and deadlines) in files of their own; the coordinator shell keeps
// the groups, routes each request to its kind, and the offset manager talks to any group only
// through `Group`, as Kafka's OffsetMetadataManager does.
import type { CommittedOffset } from './offset-store.js'
import type { GroupType, OffsetCommitParams, TxnOffsetCommitParams } from './types.js'

/** Kafka's Group interface: what the shell, ListGroups and the offset manager ask of any group. */
export interface Group {
  readonly groupId: string
  readonly type: GroupType
  /** The state ListGroups and DescribeGroups report ("Stable", "Empty", ...). */
  readonly state: string
  /** The protocol type its members agreed on; null for a group that never had members. */
  readonly protocolType: string | null
  /** No members: the group's offsets age as a whole and OffsetDelete may remove any of them. */
  isEmpty(): boolean
  /** Removed from the coordinator; a request still holding it must not change it. */
  isDead(): boolean
  /** Marks the group removed (DeleteGroups, or nothing left after offset expiry). */
  markDead(now: number): void
  /** Empty with nothing pending: once its offsets are gone the group itself can go. */
  shouldExpire(): boolean

  /** OffsetCommit: NONE, or the error the whole request answers. */
  validateOffsetCommit(p: OffsetCommitParams): number
  /** A committing member proves it is alive (Kafka reschedules the classic member's heartbeat). */
  onOffsetCommit(memberId: string, now: number): void
  /** TxnOffsetCommit: NONE, or the error the whole request answers. */
  validateTxnOffsetCommit(p: TxnOffsetCommitParams): number
  /**
   * The error of one partition of an OffsetCommit or TxnOffsetCommit the group took as a whole
   * (Kafka's CommitPartitionValidator; KIP-1251 for consumer groups). Absent: every partition passes.
   */
  commitPartitionError?(memberId: string, memberEpoch: number, topic: string, partition: number): number
  /** OffsetFetch v9+ (member id null before): NONE, or this group's error. */
  validateOffsetFetch(memberId: string | null, memberEpoch: number): number
  /** OffsetDelete: NONE, or the error the whole request answers. */
  validateOffsetDelete(): number
  /** DeleteGroups: NONE, or this group's error. */
  validateDeleteGroup(): number
  /** Topics the members consume; null when that cannot be read (every topic then counts). */
  subscribedTopics(): ReadonlySet<string> | null
  /** Which offsets may expire now and from when they age; null when none may. */
  offsetExpiration(): OffsetExpiration | null
}

/** Kafka's OffsetExpirationCondition. An explicit expireTimestamp on an offset takes precedence. */
export interface OffsetExpiration {
  appliesTo(topic: string): boolean
  /** When the offset starts to age towards offsets.retention.minutes. */
  baseTimestamp(offset: CommittedOffset): number
}

/**
 * One kind of group. Its request entry points (JoinGroup..., ConsumerGroupHeartbeat,
 * ShareGroupHeartbeat) are its own; the shell routes them by API. What the shell does for every
 * group, whatever its kind, goes through here.
 */
export interface GroupKind<G extends Group = Group> {
  readonly type: GroupType
  /** Acts on the group's deadlines that have passed; returns whether any remain to watch. */
  onDeadlines(group: G, now: number): boolean
  /** The coordinator is stopping: answer every request the group still holds. */
  close(group: G): void
}

/** Returned by `GroupRegistry.find` when the id belongs to a group of another kind. */
export const OTHER_KIND: unique symbol = Symbol('group of another kind')
export type OtherKind = typeof OTHER_KIND

/** What a kind sees of the coordinator shell: the groups, the clock and the shared timer. */
export interface GroupRegistry {
  /**
   * NONE when this broker coordinates the group now; otherwise the error every request for it
   * answers: NOT_COORDINATOR (the coordinator closed, or the group's state partition is led
   * elsewhere) or COORDINATOR_LOAD_IN_PROGRESS (its state is being read).
   */
  refusal(groupId: string): number
  now(): number
  get(groupId: string): Group | undefined
  /**
   * The group with this id if it is of `kind`. A group of another kind answers OTHER_KIND, and
   * the caller replies as Kafka does: JoinGroup INCONSISTENT_GROUP_PROTOCOL, the classic
   * member requests UNKNOWN_MEMBER_ID, the new protocols' requests GROUP_ID_NOT_FOUND.
   */
  find<G extends Group>(groupId: string, kind: GroupKind<G>): G | undefined | OtherKind
  add(group: Group): void
  /** Converts a group to another kind under the same id: `old` is marked dead, its offsets stay. */
  replace(old: Group, group: Group): void
  /** The group has deadlines: the shared timer calls its kind's onDeadlines until it has none. */
  watch(group: Group): void
  /** Runs the timer as soon as the current I/O is done, for a deadline that is already due. */
  wake(): void
}
