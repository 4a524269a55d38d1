// What ConsumerGroupDescribe and DescribeGroups report about a KIP-848 consumer group. Assignments
// are kept by topic id; the descriptions name the topics too, from the names the group saw last
// (so a deleted topic still being revoked keeps its name). DescribeGroups shows a consumer group as
// Kafka does: protocol type "consumer", the assignor as the protocol, and each member's
// subscription and assignment in the classic ConsumerProtocol encoding (version 3).
import { Writer } from '../../protocol/writer.js'
import { encodeConsumerProtocolAssignment, encodeConsumerProtocolSubscription } from '../../protocol/generated/consumer-protocol.js'
import { toTopicPartitions, type Assignment } from './consumer-assignment.js'
import type { ConsumerGroup } from './consumer-group.js'
import { ErrorCode } from '../../protocol/errors.js'
import type { DescribedConsumerGroup, DescribedGroup, DescribedTopicPartitions } from './types.js'

const CONSUMER_PROTOCOL_VERSION = 3

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

/** DescribeGroups (the classic API) on a consumer group. */
export function describeAsClassicGroup(group: ConsumerGroup): DescribedGroup {
  const byName = (a: Assignment) =>
    toTopicPartitions(a).map((t) => ({ topic: group.topicNames.get(t.topicId) ?? t.topicId, partitions: t.partitions }))
  return {
    errorCode: ErrorCode.NONE,
    groupId: group.groupId,
    groupState: group.state,
    protocolType: group.protocolType,
    protocolData: group.assignorName,
    members: [...group.members.values()].map((m) => {
      const sub = new Writer(64)
      sub.writeInt16(CONSUMER_PROTOCOL_VERSION)
      encodeConsumerProtocolSubscription(sub, CONSUMER_PROTOCOL_VERSION, {
        topics: [...m.subscribedTopicNames],
        userData: null,
        ownedPartitions: byName(m.assigned),
        generationId: m.memberEpoch,
        rackId: m.rackId,
      })
      const assignment = new Writer(64)
      assignment.writeInt16(CONSUMER_PROTOCOL_VERSION)
      encodeConsumerProtocolAssignment(assignment, CONSUMER_PROTOCOL_VERSION, { assignedPartitions: byName(m.assigned), userData: null })
      return {
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: new Uint8Array(sub.toBuffer()),
        memberAssignment: new Uint8Array(assignment.toBuffer()),
      }
    }),
  }
}
