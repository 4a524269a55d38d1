// Share group administration (KIP-932) at each group's coordinator: ShareGroupDescribe (members and
// their assignments), and the share-partition start offsets described (DescribeShareGroupOffsets,
// with Samsa's in-flight counts when the broker sends them),
// reset (AlterShareGroupOffsets, refused while the group has members, as Kafka's
// alterShareGroupOffsets) or removed per topic (DeleteShareGroupOffsets). Listing share groups is
// ListGroups with type "share" (admin-groups.ts).

import { ErrorCode, errorName } from '../../protocol/errors.js'
import { ShareGroupDescribeApi } from '../../protocol/generated/share-group-describe.js'
import { DescribeShareGroupOffsetsApi } from '../../protocol/generated/describe-share-group-offsets.js'
import { AlterShareGroupOffsetsApi } from '../../protocol/generated/alter-share-group-offsets.js'
import { DeleteShareGroupOffsetsApi } from '../../protocol/generated/delete-share-group-offsets.js'
import { readShareInFlight, type ShareInFlight } from '../../protocol/samsa-share-in-flight.js'
import { atCoordinator, COORDINATOR_MOVED, describeAtCoordinators, noEpochGroup, topicList, type TopicPartitionList, type TopicPartitionOffset } from './admin-groups.js'
import { groupBy, type Cluster } from './cluster.js'
import { KafkaProtocolError } from './errors.js'

export type { ShareInFlight } from '../../protocol/samsa-share-in-flight.js'

export interface ShareGroupMemberDescription {
  memberId: string
  rackId: string | null
  memberEpoch: number
  clientId: string
  clientHost: string
  subscribedTopicNames: string[]
  assignment: TopicPartitionList[]
}

export interface ShareGroupDescription {
  groupId: string
  /** Kafka error name (GROUP_ID_NOT_FOUND for an unknown group or one of another type), or null. */
  error: string | null
  errorMessage: string | null
  state: string
  groupEpoch: number
  assignmentEpoch: number
  assignor: string
  members: ShareGroupMemberDescription[]
  coordinatorId: number
}

export interface ShareStartOffset {
  topic: string
  partition: number
  /** The share-partition start offset; -1 when the partition has no share state yet. */
  startOffset: number
  /** Kafka error name, or null. */
  error: string | null
  /** Samsa's in-flight counts (tagged field 10000), when the broker sent them; absent otherwise. */
  inFlight?: ShareInFlight
}

/** Each share group as its coordinator describes it. */
export async function describeShareGroups(cluster: Cluster, groupIds: readonly string[]): Promise<ShareGroupDescription[]> {
  return describeAtCoordinators(
    cluster,
    groupIds,
    async (session, ids) => (await session.send(ShareGroupDescribeApi, { groupIds: ids, includeAuthorizedOperations: false })).groups,
    (g, coordinatorId): ShareGroupDescription => ({
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
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: [...m.subscribedTopicNames].sort(),
        assignment: topicList(m.assignment),
      })),
    }),
    noEpochGroup,
  )
}

/** Start offsets of a share group: of `topics` (every partition of each), or with null of every topic with share state. */
export async function describeShareGroupOffsets(cluster: Cluster, groupId: string, topics: readonly string[] | null = null): Promise<ShareStartOffset[]> {
  let wanted: { topicName: string; partitions: number[] }[] | null = null
  if (topics !== null) {
    const meta = await cluster.metadata(topics)
    wanted = meta.topics.map((t) => ({ topicName: t.name, partitions: t.partitions.map((p) => p.partition) }))
  }
  return atCoordinator<ShareStartOffset[]>(cluster, groupId, async (session) => {
    const res = await session.send(DescribeShareGroupOffsetsApi, { groups: [{ groupId, topics: wanted }] })
    const g = res.groups.find((x) => x.groupId === groupId)
    const errorCode = g?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR
    if (COORDINATOR_MOVED.has(errorCode)) return { retry: errorCode }
    if (errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(errorCode, `describing share offsets of group '${groupId}'`, g?.errorMessage ?? null)
    const out: ShareStartOffset[] = []
    for (const t of g!.topics) {
      for (const p of t.partitions) {
        const o: ShareStartOffset = { topic: t.topicName, partition: p.partitionIndex, startOffset: p.startOffset, error: p.errorCode === ErrorCode.NONE ? null : errorName(p.errorCode) }
        const inFlight = readShareInFlight(p.unknownTaggedFields)
        if (inFlight !== null) o.inFlight = inFlight
        out.push(o)
      }
    }
    return { value: out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition) }
  })
}

/** Sets share-partition start offsets (AlterShareGroupOffsets); the group must have no members. */
export async function alterShareGroupOffsets(cluster: Cluster, groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
  await atCoordinator<void>(cluster, groupId, async (session) => {
    const res = await session.send(AlterShareGroupOffsetsApi, {
      groupId,
      topics: [...groupBy(offsets, (o) => o.topic)].map(([topicName, list]) => ({ topicName, partitions: list.map((o) => ({ partitionIndex: o.partition, startOffset: o.offset })) })),
    })
    for (const t of res.responses) {
      for (const p of t.partitions) {
        if (COORDINATOR_MOVED.has(p.errorCode)) return { retry: p.errorCode }
        if (p.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(p.errorCode, `resetting share offsets of group '${groupId}' for '${t.topicName}' partition ${p.partitionIndex}`, p.errorMessage)
      }
    }
    return { value: undefined }
  })
}

/** Removes a share group's state of whole topics (DeleteShareGroupOffsets); the group must have no members. */
export async function deleteShareGroupOffsets(cluster: Cluster, groupId: string, topics: readonly string[]): Promise<void> {
  await atCoordinator<void>(cluster, groupId, async (session) => {
    const res = await session.send(DeleteShareGroupOffsetsApi, { groupId, topics: topics.map((topicName) => ({ topicName })) })
    if (COORDINATOR_MOVED.has(res.errorCode)) return { retry: res.errorCode }
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, `deleting share offsets of group '${groupId}'`, res.errorMessage)
    for (const t of res.responses) {
      for (const p of t.partitions) {
        if (p.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(p.errorCode, `deleting share offsets of group '${groupId}' for '${t.topicName}'`, p.errorMessage)
      }
    }
    return { value: undefined }
  })
}
