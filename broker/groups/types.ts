// What the group handlers hand the coordinator and what they get back, plus the coordinator's
// settings. Every room of broker/groups (the shell, each group kind, the offset manager) imports
// these shapes from here, so none of them imports another just for a type.

/**
 * The kinds of group sharing the coordinator's one namespace of group ids, named as ListGroups v5
 * reports them: the classic protocol, KIP-848 consumer groups and KIP-932 share groups.
 */
export type GroupType = 'classic' | 'consumer' | 'share'

/** group.consumer.migration.policy: which way a group may convert while it has members. */
export type ConsumerMigrationPolicy = 'bidirectional' | 'upgrade' | 'downgrade' | 'disabled'

export interface GroupCoordinatorConfig {
  groupInitialRebalanceDelayMs: number
  groupMinSessionTimeoutMs: number
  groupMaxSessionTimeoutMs: number
  groupMaxSize: number
  offsetsRetentionMinutes: number
  offsetsRetentionCheckIntervalMs: number
  offsetMetadataMaxBytes: number
  /** group.consumer.session.timeout.ms: a consumer-group member silent this long is removed. */
  consumerSessionTimeoutMs: number
  /** group.consumer.heartbeat.interval.ms: what ConsumerGroupHeartbeat tells members. */
  consumerHeartbeatIntervalMs: number
  /** group.consumer.assignors: the server-side assignors offered; the first is the default. */
  consumerAssignors: readonly string[]
  consumerMigrationPolicy: ConsumerMigrationPolicy
  /** group.share.session.timeout.ms: a share-group member silent this long is removed. */
  shareSessionTimeoutMs: number
  /** group.share.heartbeat.interval.ms: what ShareGroupHeartbeat tells members. */
  shareHeartbeatIntervalMs: number
  /** group.share.max.size: members one share group may have. */
  shareMaxSize: number
}

export const DEFAULT_COORDINATOR_CONFIG: GroupCoordinatorConfig = {
  groupInitialRebalanceDelayMs: 3000,
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupMaxSize: 2_147_483_647,
  offsetsRetentionMinutes: 10080,
  offsetsRetentionCheckIntervalMs: 600_000,
  offsetMetadataMaxBytes: 4096,
  consumerSessionTimeoutMs: 45_000,
  consumerHeartbeatIntervalMs: 5_000,
  consumerAssignors: ['uniform', 'range'],
  consumerMigrationPolicy: 'bidirectional',
  shareSessionTimeoutMs: 45_000,
  shareHeartbeatIntervalMs: 5_000,
  shareMaxSize: 200,
}

/** Which topics and partitions exist; commits and deletes for others are refused. */
export interface TopicCatalog {
  partitionCount(topic: string): number | undefined
  /** Consumer groups (KIP-848) address topics by id; undefined for a topic that does not exist. */
  topicId?(topic: string): string | undefined
  /** Every topic name, for subscriptions by regular expression. */
  topicNames?(): Iterable<string>
}

// ---- Classic membership (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, DescribeGroups) ---------

export interface JoinProtocol {
  name: string
  metadata: Uint8Array
}

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

export interface JoinGroupMember {
  memberId: string
  groupInstanceId: string | null
  metadata: Uint8Array
}

export interface JoinGroupResult {
  errorCode: number
  generationId: number
  protocolType: string | null
  protocolName: string | null
  leader: string
  skipAssignment: boolean
  memberId: string
  /** Filled for the leader only: every member's metadata for the chosen protocol. */
  members: JoinGroupMember[]
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

export interface SyncGroupResult {
  errorCode: number
  protocolType: string | null
  protocolName: string | null
  assignment: Uint8Array
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

// ---- Offsets (OffsetCommit, TxnOffsetCommit, OffsetFetch, OffsetDelete) ------------------------

export interface OffsetCommitParams extends MemberIdentity {
  /** The request's version: consumer-protocol members must commit with v9+ (member epochs). */
  apiVersion?: number
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

// ---- Administration (ListGroups, DeleteGroups) -------------------------------------------------

/** What ListGroups reports about any kind of group. */
export interface GroupListing {
  groupId: string
  protocolType: string
  groupState: string
  groupType: GroupType
}

export interface DeletedGroup {
  groupId: string
  errorCode: number
}

// ---- Consumer groups (KIP-848: ConsumerGroupHeartbeat, ConsumerGroupDescribe) ------------------

export interface TopicPartitions {
  topicId: string
  partitions: number[]
}

export interface ConsumerHeartbeatParams {
  groupId: string
  memberId: string
  memberEpoch: number
  instanceId: string | null
  rackId: string | null
  /** -1: unchanged since the last heartbeat. */
  rebalanceTimeoutMs: number
  /** null: unchanged since the last heartbeat. */
  subscribedTopicNames: string[] | null
  subscribedTopicRegex: string | null
  serverAssignor: string | null
  /** The partitions the member owns; null: unchanged since the last heartbeat. */
  topicPartitions: TopicPartitions[] | null
  clientId: string
  clientHost: string
  /** v0: the coordinator names new members; v1: the member names itself. */
  apiVersion: number
}

export interface ConsumerHeartbeatResult {
  errorCode: number
  errorMessage: string | null
  memberId: string | null
  memberEpoch: number
  heartbeatIntervalMs: number
  /** The member's assignment, sent when it changed; null otherwise. */
  assignment: TopicPartitions[] | null
  /**
   * Whether the heartbeat changed the group (a join, a leave, a new subscription, a new epoch or
   * assignment): what Kafka's coordinator writes to its log before it answers.
   */
  changedGroup: boolean
}

export interface DescribedTopicPartitions {
  topicId: string
  topicName: string
  partitions: number[]
}

export interface DescribedConsumerGroup {
  errorCode: number
  errorMessage: string | null
  groupId: string
  groupState: string
  groupEpoch: number
  assignmentEpoch: number
  assignorName: string
  members: Array<{
    memberId: string
    instanceId: string | null
    rackId: string | null
    memberEpoch: number
    clientId: string
    clientHost: string
    subscribedTopicNames: string[]
    subscribedTopicRegex: string | null
    assignment: DescribedTopicPartitions[]
    targetAssignment: DescribedTopicPartitions[]
  }>
}

// ---- Share groups (KIP-932: ShareGroupHeartbeat, ShareGroupDescribe) --------------------------

export interface ShareHeartbeatParams {
  groupId: string
  memberId: string
  memberEpoch: number
  rackId: string | null
  /** null: unchanged since the last heartbeat. */
  subscribedTopicNames: string[] | null
  clientId: string
  clientHost: string
}

export interface ShareHeartbeatResult {
  errorCode: number
  errorMessage: string | null
  memberId: string | null
  memberEpoch: number
  heartbeatIntervalMs: number
  /** The member's assignment, sent when it joined or the assignment changed; null otherwise. */
  assignment: TopicPartitions[] | null
}

export interface DescribedShareGroup {
  errorCode: number
  errorMessage: string | null
  groupId: string
  groupState: string
  groupEpoch: number
  assignmentEpoch: number
  assignorName: string
  members: Array<{
    memberId: string
    rackId: string | null
    memberEpoch: number
    clientId: string
    clientHost: string
    subscribedTopicNames: string[]
    assignment: DescribedTopicPartitions[]
  }>
}

/** What the coordinator tells the share-partition state when a share group or member goes. */
export interface ShareGroupListener {
  /**
   * The member's session expired. Its share session goes (a live client opens a new one); the
   * records it holds go back when their acquisition locks run out, as in Kafka. A member that
   * leaves keeps its share session: a client closing acknowledges and ends it afterwards.
   */
  memberExpired(groupId: string, memberId: string): void
  /** DeleteGroups removed the group: its share-partition state goes with it. */
  groupDeleted(groupId: string): Promise<void>
  /**
   * Whether the share partition has state yet. Kafka assigns a share partition only once its state
   * is initialized; without this method every partition counts as initialized.
   */
  isInitialized?(groupId: string, topicId: string, partition: number): boolean
  /** Initializes (and persists) the share partitions' state, per the group's share.auto.offset.reset. */
  initialize?(groupId: string, partitions: ReadonlyArray<{ topicId: string; partition: number }>): Promise<void>
}
