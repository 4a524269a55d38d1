// ConsumerGroupDescribe (key 69, KIP-848): each consumer group's state, group epoch, target
// assignment epoch and assignor, and per member its epoch, subscription, current assignment and
// target assignment. A group of another kind, or none, answers GROUP_ID_NOT_FOUND. There are no
// ACLs: authorized operations keep Kafka's "not requested" sentinel.
import { ConsumerGroupDescribeApi, type ConsumerGroupDescribeResponse } from '../../protocol/generated/consumer-group-describe.js'
import { defineHandler } from '../handler.js'

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648

export default defineHandler({
  api: ConsumerGroupDescribeApi,
  versions: [0, 0],
  handle(req, ctx): ConsumerGroupDescribeResponse {
    return {
      throttleTimeMs: 0,
      groups: ctx.broker.groups.consumerGroupDescribe(req.groupIds).map((g) => ({
        ...g,
        members: g.members.map((m) => ({ ...m, assignment: { topicPartitions: m.assignment }, targetAssignment: { topicPartitions: m.targetAssignment } })),
        authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      })),
    }
  },
})
