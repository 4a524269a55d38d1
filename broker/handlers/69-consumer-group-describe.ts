// ConsumerGroupDescribe (key 69, KIP-848): each consumer group's state, group epoch, target
// assignment epoch and assignor, and per member its epoch, subscription, current assignment and
// target assignment. A group of another kind, or none, answers GROUP_ID_NOT_FOUND. ACLs: DESCRIBE on
// each group (GROUP_AUTHORIZATION_FAILED); the group's authorized operations when asked for.
import { ConsumerGroupDescribeApi, type ConsumerGroupDescribeResponse } from '../../protocol/generated/consumer-group-describe.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, authorizedOperations, Op, OPERATIONS_NOT_REQUESTED, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: ConsumerGroupDescribeApi,
  versions: [0, 0],
  handle(req, ctx): ConsumerGroupDescribeResponse {
    const allowed = req.groupIds.filter((g) => authorize(ctx, Op.DESCRIBE, Resource.GROUP, g))
    const denied = allowed.length === req.groupIds.length ? [] : req.groupIds.filter((g) => !allowed.includes(g))
    return {
      throttleTimeMs: 0,
      groups: ctx.broker.groups.consumerGroupDescribe(allowed).map((g) => ({
        ...g,
        members: g.members.map((m) => ({ ...m, assignment: { topicPartitions: m.assignment }, targetAssignment: { topicPartitions: m.targetAssignment } })),
        authorizedOperations: req.includeAuthorizedOperations ? authorizedOperations(ctx, Resource.GROUP, g.groupId) : OPERATIONS_NOT_REQUESTED,
      })).concat(denied.map((groupId) => ({
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
        errorMessage: null,
        groupId,
        groupState: '',
        groupEpoch: -1,
        assignmentEpoch: -1,
        assignorName: '',
        members: [],
        authorizedOperations: OPERATIONS_NOT_REQUESTED,
      }))),
    }
  },
})
