// ShareGroupDescribe (key 77, KIP-932). v1 only. Each share group's state (Empty, Stable), group
// epoch, assignment epoch and assignor ("simple"), and per member its epoch, client, subscribed
// topic names and assignment. A group of another kind, or none, answers GROUP_ID_NOT_FOUND. ACLs:
// DESCRIBE on each group (GROUP_AUTHORIZATION_FAILED); the group's authorized operations when asked.
import { ShareGroupDescribeApi, type ShareGroupDescribeResponse } from '../../protocol/generated/share-group-describe.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, authorizedOperations, Op, OPERATIONS_NOT_REQUESTED, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: ShareGroupDescribeApi,
  versions: [1, 1],
  handle(req, ctx): ShareGroupDescribeResponse {
    const allowed = req.groupIds.filter((g) => authorize(ctx, Op.DESCRIBE, Resource.GROUP, g))
    const denied = allowed.length === req.groupIds.length ? [] : req.groupIds.filter((g) => !allowed.includes(g))
    return {
      throttleTimeMs: 0,
      groups: ctx.broker.groups
        .shareGroupDescribe(allowed)
        .map((g) => ({
          ...g,
          members: g.members.map((m) => ({ ...m, assignment: { topicPartitions: m.assignment } })),
          authorizedOperations: req.includeAuthorizedOperations ? authorizedOperations(ctx, Resource.GROUP, g.groupId) : OPERATIONS_NOT_REQUESTED,
        }))
        .concat(
          denied.map((groupId) => ({
            errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED,
            errorMessage: null,
            groupId,
            groupState: '',
            groupEpoch: -1,
            assignmentEpoch: -1,
            assignorName: '',
            members: [],
            authorizedOperations: OPERATIONS_NOT_REQUESTED,
          })),
        ),
    }
  },
})
