// What Metadata answers in cluster mode, from this broker's copy of the etcd metadata: every live
// broker, and for each partition its leader (LEADER_NOT_AVAILABLE while it has none), leader
// epoch, replicas, ISR and the replicas whose broker is down.
import type { MetadataResponse } from '../../protocol/generated/metadata.js'
import { ErrorCode } from '../../protocol/errors.js'
import { isInternalTopic } from '../coordinator-state/internal-topics.js'
import type { ClusterImage } from './cluster-image.js'
import type { TopicSpec } from './keys.js'

type TopicEntry = MetadataResponse['topics'][number]

export function clusterTopicEntry(image: ClusterImage, spec: TopicSpec, ops: number): TopicEntry {
  const partitions: TopicEntry['partitions'] = image.partitionsOf(spec.name).map((s) => {
    const leader = s.leader
    return {
    errorCode: leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
    partitionIndex: s.partition,
    leaderId: leader,
    leaderEpoch: s.leaderEpoch,
    replicaNodes: s.replicas,
    isrNodes: s.isr,
    offlineReplicas: s.replicas.filter((id) => !image.isLive(id)),
    }
  })
  return { errorCode: ErrorCode.NONE, name: spec.name, topicId: spec.topicId, isInternal: isInternalTopic(spec.name), partitions, topicAuthorizedOperations: ops }
}

export function topicById(image: ClusterImage, topicId: string): TopicSpec | undefined {
  for (const { value } of image.topics.values()) if (value.topicId === topicId) return value
  return undefined
}
