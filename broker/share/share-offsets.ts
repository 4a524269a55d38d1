// Share-group offset administration (KIP-932): DescribeShareGroupOffsets reads each share
// partition's start offset (SPSO), with Samsa's in-flight counts in a tagged field of its own;
// AlterShareGroupOffsets starts partitions over at a given offset and DeleteShareGroupOffsets
// removes a topic's share-partition state, as Kafka's group coordinator answers them through its
// share coordinator. Altering and deleting need a share group without
// members (NON_EMPTY_GROUP otherwise); altering creates the share group when there is none, as a
// first fetch would. A group id of another kind is GROUP_ID_NOT_FOUND.
import { ErrorCode } from '../../protocol/errors.js'
import { shareInFlightTaggedField } from '../../protocol/samsa-share-in-flight.js'
import { ZERO_UUID, type RawTaggedField } from '../../protocol/types.js'
import type { LogManager } from '../../storage/log-manager.js'
import type { GroupCoordinator } from '../groups/coordinator.js'
import type { SharePartitionManager } from './share-partition-manager.js'

export interface PartitionStartOffset {
  partitionIndex: number
  startOffset: number
  leaderEpoch: number
  errorCode: number
  errorMessage: string | null
  /** Samsa's in-flight extension (samsa-share-in-flight.ts), on a partition with state. */
  unknownTaggedFields?: RawTaggedField[]
}

export interface DescribedShareOffsets {
  groupId: string
  errorCode: number
  errorMessage: string | null
  topics: Array<{ topicName: string; topicId: string; partitions: PartitionStartOffset[] }>
}

export interface PartitionError {
  partitionIndex: number
  errorCode: number
  errorMessage: string | null
}

export interface TopicErrors {
  topicName: string
  topicId: string
  partitions: PartitionError[]
}

export class ShareOffsets {
  constructor(
    private readonly groups: GroupCoordinator,
    private readonly share: SharePartitionManager,
    private readonly logs: LogManager,
  ) {}

  /** `topics` null: every topic the group has state for. A partition without state answers -1. */
  describe(groupId: string, topics: ReadonlyArray<{ topicName: string; partitions: number[] }> | null, canDescribe: (topic: string) => boolean): DescribedShareOffsets {
    const type = this.groups.groupType(groupId)
    if (type !== 'share') return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: `Group ${groupId} is not a share group.`, topics: [] }
    const offsets = this.share.startOffsets(groupId)
    const inFlight = this.share.inFlight(groupId)
    const wanted =
      topics ??
      [...offsets].flatMap(([topicId, partitions]) => {
        const topicName = this.share.topicName(topicId)
        return topicName === undefined ? [] : [{ topicName, partitions: [...partitions.keys()].sort((a, b) => a - b) }]
      })
    return {
      groupId,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: wanted.map(({ topicName, partitions }) => {
        const topic = this.logs.getTopic(topicName)
        const error = topic === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : canDescribe(topicName) ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED
        return {
          topicName,
          topicId: topic?.topicId ?? ZERO_UUID,
          partitions: partitions.map((partitionIndex) => {
            const known = topic !== undefined && partitionIndex >= 0 && partitionIndex < topic.partitions
            const errorCode = error !== ErrorCode.NONE ? error : known ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            const startOffset = errorCode === ErrorCode.NONE ? (offsets.get(topic!.topicId)?.get(partitionIndex) ?? -1) : -1
            const state = errorCode === ErrorCode.NONE ? inFlight.get(topic!.topicId)?.get(partitionIndex) : undefined
            const described: PartitionStartOffset = { partitionIndex, startOffset, leaderEpoch: errorCode === ErrorCode.NONE ? 0 : -1, errorCode, errorMessage: null }
            if (state !== undefined) described.unknownTaggedFields = [shareInFlightTaggedField(state)]
            return described
          }),
        }
      }),
    }
  }

  async alter(groupId: string, topics: ReadonlyArray<{ topicName: string; partitions: ReadonlyArray<{ partitionIndex: number; startOffset: number }> }>, canRead: (topic: string) => boolean): Promise<TopicErrors[]> {
    const groupError = this.groupError(groupId, true)
    const out: TopicErrors[] = []
    for (const t of topics) {
      const topic = this.logs.getTopic(t.topicName)
      const topicError = groupError ?? (topic === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : canRead(t.topicName) ? undefined : ErrorCode.TOPIC_AUTHORIZATION_FAILED)
      const partitions: PartitionError[] = []
      for (const p of t.partitions) {
        let errorCode = topicError ?? (p.partitionIndex < 0 || p.partitionIndex >= topic!.partitions ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : p.startOffset < 0 ? ErrorCode.INVALID_REQUEST : undefined)
        if (errorCode === undefined) {
          try {
            errorCode = await this.share.resetPartition(groupId, topic!.topicId, p.partitionIndex, p.startOffset)
          } catch {
            errorCode = ErrorCode.KAFKA_STORAGE_ERROR
          }
        }
        partitions.push({ partitionIndex: p.partitionIndex, errorCode, errorMessage: null })
      }
      out.push({ topicName: t.topicName, topicId: topic?.topicId ?? ZERO_UUID, partitions })
    }
    return out
  }

  /** The group-level error, or the topics' results (an unknown topic: zero id and no partitions). */
  async delete(groupId: string, topicNames: readonly string[], canRead: (topic: string) => boolean): Promise<{ errorCode: number; topics: TopicErrors[] }> {
    const groupError = this.groupError(groupId, false)
    if (groupError !== undefined) return { errorCode: groupError, topics: [] }
    const offsets = this.share.startOffsets(groupId)
    const topics: TopicErrors[] = []
    for (const topicName of topicNames) {
      const topic = this.logs.getTopic(topicName)
      if (topic === undefined) {
        topics.push({ topicName, topicId: ZERO_UUID, partitions: [] })
        continue
      }
      const held = [...(offsets.get(topic.topicId)?.keys() ?? [])].sort((a, b) => a - b)
      let errorCode: number = canRead(topicName) ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED
      if (errorCode === ErrorCode.NONE) {
        try {
          await this.share.deleteState(groupId, topic.topicId)
        } catch {
          errorCode = ErrorCode.KAFKA_STORAGE_ERROR
        }
      }
      topics.push({ topicName, topicId: topic.topicId, partitions: held.map((partitionIndex) => ({ partitionIndex, errorCode, errorMessage: null })) })
    }
    return { errorCode: ErrorCode.NONE, topics }
  }

  /** A share group without members (created when `create`), or the error every partition answers. */
  private groupError(groupId: string, create: boolean): number | undefined {
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID
    const type = this.groups.groupType(groupId)
    if (type === undefined && create && this.groups.restoreShareGroup(groupId)) return undefined
    if (type !== 'share') return ErrorCode.GROUP_ID_NOT_FOUND
    return this.groups.shareGroup(groupId)!.isEmpty() ? undefined : ErrorCode.NON_EMPTY_GROUP
  }
}
