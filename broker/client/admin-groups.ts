// Consumer group administration: ListGroups on every broker, DescribeGroups (classic groups),
// ConsumerGroupDescribe (KIP-848 consumer groups) and DeleteGroups at each group's coordinator,
// and committed offsets (OffsetFetch; OffsetCommit as a member of no
// generation, which Kafka accepts for an empty group; OffsetDelete). A coordinator that moved
// (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE) is looked up again and the request retried.

import { setTimeout as sleep } from 'node:timers/promises'
import { ErrorCode, errorName } from '../../protocol/errors.js'
import { Reader } from '../../protocol/reader.js'
import { ListGroupsApi } from '../../protocol/generated/list-groups.js'
import { DescribeGroupsApi } from '../../protocol/generated/describe-groups.js'
import { ConsumerGroupDescribeApi } from '../../protocol/generated/consumer-group-describe.js'
import { DeleteGroupsApi } from '../../protocol/generated/delete-groups.js'
import { OffsetFetchApi } from '../../protocol/generated/offset-fetch.js'
import { OffsetCommitApi } from '../../protocol/generated/offset-commit.js'
import { OffsetDeleteApi } from '../../protocol/generated/offset-delete.js'
import { decodeConsumerProtocolAssignment } from '../../protocol/generated/consumer-protocol.js'
import { CoordinatorType, groupBy, type Cluster } from './cluster.js'
import type { NodeSession } from './node-session.js'
import { KafkaProtocolError } from './errors.js'

export interface ListedGroup {
  groupId: string
  protocolType: string
  /** Empty when the broker does not report it (ListGroups before v4). */
  state: string
  /** Empty before ListGroups v5. */
  type: string
  coordinatorId: number
}

export interface GroupMember {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  memberMetadata: Buffer
  memberAssignment: Buffer
  /** The member's partitions when the group speaks the consumer protocol and the assignment decodes. */
  assignment: { topic: string; partitions: number[] }[] | null
}

export interface GroupDescription {
  groupId: string
  /** Kafka error name, or null. */
  error: string | null
  state: string
  protocolType: string
  protocol: string
  members: GroupMember[]
  coordinatorId: number
}

export interface TopicPartitionList {
  topic: string
  partitions: number[]
}

export interface ConsumerGroupMemberDescription {
  memberId: string
  instanceId: string | null
  rackId: string | null
  memberEpoch: number
  clientId: string
  clientHost: string
  subscribedTopicNames: string[]
  subscribedTopicRegex: string | null
  /** What the member owns now. */
  assignment: TopicPartitionList[]
  /** What the group's assignor wants it to own once reconciled. */
  targetAssignment: TopicPartitionList[]
}

/** A KIP-848 consumer group as ConsumerGroupDescribe reports it. */
export interface ConsumerGroupDescription {
  groupId: string
  /** Kafka error name (GROUP_ID_NOT_FOUND for a classic or unknown group), or null. */
  error: string | null
  errorMessage: string | null
  state: string
  groupEpoch: number
  assignmentEpoch: number
  assignor: string
  members: ConsumerGroupMemberDescription[]
  coordinatorId: number
}

export interface CommittedOffset {
  topic: string
  partition: number
  /** -1 when nothing is committed. */
  offset: number
  metadata: string | null
}

export interface TopicPartitionOffset {
  topic: string
  partition: number
  offset: number
}

export const COORDINATOR_MOVED = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS])
const RETRIES = 5

/** Runs `attempt` at the group's coordinator; a coordinator error code it returns means "find it again and retry". */
export async function atCoordinator<T>(cluster: Cluster, groupId: string, attempt: (session: NodeSession) => Promise<{ retry: number } | { value: T }>): Promise<T> {
  for (let i = 0; ; i++) {
    const out = await attempt(await cluster.coordinator(CoordinatorType.Group, groupId))
    if ('value' in out) return out.value
    cluster.forgetCoordinator(CoordinatorType.Group, groupId)
    if (i === RETRIES) throw new KafkaProtocolError(out.retry, `group '${groupId}'`)
    await sleep(100 * (i + 1))
  }
}

/** Groups known to every broker's coordinator. */
/** What an epoch-based group (consumer or share) no coordinator answered for is described as. */
export function noEpochGroup(groupId: string, coordinatorId: number) {
  return { groupId, coordinatorId, error: 'UNKNOWN_SERVER_ERROR', errorMessage: null, state: '', groupEpoch: -1, assignmentEpoch: -1, assignor: '', members: [] as never[] }
}

/**
 * Describes groups at their coordinators: one request per coordinator for the groups it owns, each
 * answer turned into a description; a group no coordinator answered for gets `missing`.
 */
export async function describeAtCoordinators<G extends { groupId: string }, D>(
  cluster: Cluster,
  groupIds: readonly string[],
  describe: (session: NodeSession, ids: string[]) => Promise<readonly G[]>,
  toDescription: (group: G, coordinatorId: number) => D,
  missing: (groupId: string, coordinatorId: number) => D,
): Promise<D[]> {
  const coordinators = await cluster.findCoordinators(CoordinatorType.Group, groupIds)
  const out = new Map<string, D>()
  await Promise.all(
    [...groupBy(new Set(groupIds), (id) => coordinators.get(id)!)].map(async ([nodeId, ids]) => {
      const groups = await describe(await cluster.node(nodeId), ids)
      for (const g of groups) out.set(g.groupId, toDescription(g, nodeId))
    }),
  )
  return groupIds.map((id) => out.get(id) ?? missing(id, coordinators.get(id)!))
}

/** A described assignment as topics with sorted partitions, sorted by topic. */
export function topicList(a: { topicPartitions: readonly { topicName: string; partitions: readonly number[] }[] }): TopicPartitionList[] {
  return a.topicPartitions
    .map((t) => ({ topic: t.topicName, partitions: [...t.partitions].sort((x, y) => x - y) }))
    .sort((x, y) => x.topic.localeCompare(y.topic))
}

export async function listGroups(cluster: Cluster, opts: { states?: readonly string[]; types?: readonly string[] } = {}): Promise<ListedGroup[]> {
  const brokers = await cluster.brokers()
  const out: ListedGroup[] = []
  await Promise.all(
    brokers.map(async (b) => {
      const session = await cluster.node(b.nodeId)
      const res = await session.send(ListGroupsApi, { statesFilter: [...(opts.states ?? [])], typesFilter: [...(opts.types ?? [])] })
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, `ListGroups at broker ${b.nodeId}`)
      for (const g of res.groups) out.push({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState, type: g.groupType, coordinatorId: b.nodeId })
    }),
  )
  return out.sort((a, b) => a.groupId.localeCompare(b.groupId))
}

function decodeAssignment(protocolType: string, bytes: Uint8Array): { topic: string; partitions: number[] }[] | null {
  if (protocolType !== 'consumer' || bytes.length < 2) return null
  const r = new Reader(bytes)
  const version = r.readInt16()
  const a = decodeConsumerProtocolAssignment(r, version)
  if (r.bad) return null
  return a.assignedPartitions.map((p) => ({ topic: p.topic, partitions: [...p.partitions] }))
}

/** Each group as its coordinator describes it; an unknown group is Dead with no members. */
export async function describeGroups(cluster: Cluster, groupIds: readonly string[]): Promise<GroupDescription[]> {
  return describeAtCoordinators(
    cluster,
    groupIds,
    async (session, ids) => (await session.send(DescribeGroupsApi, { groups: ids, includeAuthorizedOperations: false })).groups,
    (g, coordinatorId): GroupDescription => ({
      groupId: g.groupId,
      error: g.errorCode === ErrorCode.NONE ? null : errorName(g.errorCode),
      state: g.groupState,
      protocolType: g.protocolType,
      protocol: g.protocolData,
      coordinatorId,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: Buffer.from(m.memberMetadata),
        memberAssignment: Buffer.from(m.memberAssignment),
        assignment: decodeAssignment(g.protocolType, m.memberAssignment),
      })),
    }),
    (groupId, coordinatorId) => ({ groupId, error: 'UNKNOWN_SERVER_ERROR', state: '', protocolType: '', protocol: '', members: [], coordinatorId }),
  )
}

/** Each consumer group (KIP-848) as its coordinator describes it (ConsumerGroupDescribe). */
export async function describeConsumerGroups(cluster: Cluster, groupIds: readonly string[]): Promise<ConsumerGroupDescription[]> {
  return describeAtCoordinators(
    cluster,
    groupIds,
    async (session, ids) => (await session.send(ConsumerGroupDescribeApi, { groupIds: ids, includeAuthorizedOperations: false })).groups,
    (g, coordinatorId): ConsumerGroupDescription => ({
      groupId: g.groupId,
      error: g.errorCode === ErrorCode.NONE ? null : errorName(g.errorCode),
      errorMessage: g.errorMessage,
      state: g.groupState,
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      assignor: g.assignorName,
      coordinatorId,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: [...m.subscribedTopicNames].sort(),
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: topicList(m.assignment),
        targetAssignment: topicList(m.targetAssignment),
      })),
    }),
    noEpochGroup,
  )
}

/** Deletes groups; the result maps each id to null or its Kafka error name (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND...). */
export async function deleteGroups(cluster: Cluster, groupIds: readonly string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>()
  for (const id of new Set(groupIds)) {
    const code = await atCoordinator<number>(cluster, id, async (session) => {
      const res = await session.send(DeleteGroupsApi, { groupsNames: [id] })
      const r = res.results.find((x) => x.groupId === id)
      const errorCode = r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR
      return COORDINATOR_MOVED.has(errorCode) ? { retry: errorCode } : { value: errorCode }
    })
    out.set(id, code === ErrorCode.NONE ? null : errorName(code))
  }
  return out
}

/** Committed offsets of a group: of `topics` (every partition of each), or with null of every topic it committed to. */
export async function fetchOffsets(cluster: Cluster, groupId: string, topics: readonly string[] | null = null): Promise<CommittedOffset[]> {
  let wanted: { name: string; partitionIndexes: number[] }[] | null = null
  if (topics !== null) {
    const meta = await cluster.metadata(topics)
    wanted = meta.topics.map((t) => ({ name: t.name, partitionIndexes: t.partitions.map((p) => p.partition) }))
  }
  return atCoordinator<CommittedOffset[]>(cluster, groupId, async (session) => {
    const version = session.version(OffsetFetchApi)
    // v8 moved the request into a list of groups.
    const res = await session.send(
      OffsetFetchApi,
      { groupId, topics: wanted, groups: [{ groupId, memberId: null, memberEpoch: -1, topics: wanted }], requireStable: false },
      version,
    )
    const group = version >= 8 ? res.groups.find((g) => g.groupId === groupId) : { errorCode: res.errorCode, topics: res.topics }
    const errorCode = group?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR
    if (COORDINATOR_MOVED.has(errorCode)) return { retry: errorCode }
    if (errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(errorCode, `fetching offsets of group '${groupId}'`)
    const out: CommittedOffset[] = []
    for (const t of group!.topics) {
      for (const p of t.partitions) {
        if (COORDINATOR_MOVED.has(p.errorCode)) return { retry: p.errorCode }
        if (p.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(p.errorCode, `fetching offsets of group '${groupId}' for '${t.name}' partition ${p.partitionIndex}`)
        out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata })
      }
    }
    return { value: out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition) }
  })
}

/** Who commits: a member of the group's current generation, or NO_MEMBER acting from outside. */
export interface CommitIdentity {
  generationId: number
  memberId: string
  groupInstanceId: string | null
}

export const NO_MEMBER: CommitIdentity = { generationId: -1, memberId: '', groupInstanceId: null }

/**
 * Commits `offsets` for a group. From outside it (NO_MEMBER, generation -1), as Kafka's
 * alterConsumerGroupOffsets does, the coordinator refuses while the group has members; a
 * consumer commits as a member of its generation.
 */
export async function alterOffsets(cluster: Cluster, groupId: string, offsets: readonly TopicPartitionOffset[], member: CommitIdentity = NO_MEMBER): Promise<void> {
  await atCoordinator<void>(cluster, groupId, async (session) => {
    const res = await session.send(OffsetCommitApi, {
      groupId,
      generationIdOrMemberEpoch: member.generationId,
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId,
      retentionTimeMs: -1,
      topics: [...groupBy(offsets, (o) => o.topic)].map(([name, list]) => ({
        name,
        partitions: list.map((o) => ({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null })),
      })),
    })
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (COORDINATOR_MOVED.has(p.errorCode)) return { retry: p.errorCode }
        if (p.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(p.errorCode, `committing offsets of group '${groupId}' for '${t.name}' partition ${p.partitionIndex}`)
      }
    }
    return { value: undefined }
  })
}

/** Deletes a group's committed offsets of some partitions (OffsetDelete, KIP-496). */
export async function deleteOffsets(cluster: Cluster, groupId: string, topic: string, partitions: readonly number[]): Promise<void> {
  await atCoordinator<void>(cluster, groupId, async (session) => {
    const res = await session.send(OffsetDeleteApi, { groupId, topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex })) }] })
    if (COORDINATOR_MOVED.has(res.errorCode)) return { retry: res.errorCode }
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, `deleting offsets of group '${groupId}'`)
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(p.errorCode, `deleting offsets of group '${groupId}' for '${t.name}' partition ${p.partitionIndex}`)
      }
    }
    return { value: undefined }
  })
}
