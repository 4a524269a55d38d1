// DescribeGroups (key 15). v1 adds throttle time; v3 asks for authorized operations (the group's
// bitfield, or Kafka's "not requested" sentinel); v4 adds group.instance.id per member;
// v5 is flexible. Member metadata and assignments are filled only for Stable groups, and an
// unknown group is described as Dead, as Kafka does up to v5; so is a KIP-848 consumer group, which
// is not a classic group (ConsumerGroupDescribe describes it).
// ACLs: DESCRIBE on each group.
import { DescribeGroupsApi, type DescribeGroupsResponse } from '../../protocol/generated/describe-groups.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, authorizedOperations, Op, OPERATIONS_NOT_REQUESTED, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: DescribeGroupsApi,
  versions: [0, 5],
  handle(req, ctx): DescribeGroupsResponse {
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((groupId) =>
        authorize(ctx, Op.DESCRIBE, Resource.GROUP, groupId)
          ? {
              ...ctx.broker.groups.describeGroup(groupId),
              authorizedOperations: req.includeAuthorizedOperations ? authorizedOperations(ctx, Resource.GROUP, groupId) : OPERATIONS_NOT_REQUESTED,
            }
          : { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: OPERATIONS_NOT_REQUESTED },
      ),
    }
  },
})
