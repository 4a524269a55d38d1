// What ConsumerGroupDescribe reports about a KIP-848 consumer group. Assignments are kept by topic
// id; the description names the topics too, from the names the group saw last (so a deleted topic
// still being revoked keeps its name). DescribeGroups does not describe consumer groups: as in
// Kafka, they are not classic groups.
import { toTopicPartitions, type Assignment } from './consumer-assignment.js'
import type { ConsumerGroup } from './consumer-group.js'
import { ErrorCode } from '../../protocol/errors.js'
import type { DescribedConsumerGroup, DescribedTopicPartitions } from './types.js'

export function describeConsumerGroup(group: ConsumerGroup): DescribedConsumerGroup {
  const named = (a: Assignment): DescribedTopicPartitions[] =>
    toTopicPartitions(a).map((t) => ({ topicId: t.topicId, topicName: group.topicNames.get(t.topicId) ?? '', partitions: t.partitions }))
  return {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    groupId: group.groupId,
    groupState: group.state,
    groupEpoch: group.groupEpoch,
    assignmentEpoch: group.assignmentEpoch,
    assignorName: group.assignorName,
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      rackId: m.rackId,
      memberEpoch: m.memberEpoch,
      clientId: m.clientId,
      clientHost: m.clientHost,
      subscribedTopicNames: [...m.subscribedTopicNames],
      subscribedTopicRegex: m.subscribedTopicRegex,
      assignment: named(m.assigned),
      targetAssignment: named(group.targetOf(m.memberId)),
    })),
  }
}
