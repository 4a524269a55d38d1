// DescribeGroups (key 15). v1 adds throttle time; v3 asks for authorized operations (there are no
// ACLs: the field keeps Kafka's "not requested" sentinel); v4 adds group.instance.id per member;
// v5 is flexible. Member metadata and assignments are filled only for Stable groups, and an
// unknown group is described as Dead, as Kafka does up to v5; so is a KIP-848 consumer group, which
// is not a classic group (ConsumerGroupDescribe describes it).
import { DescribeGroupsApi, type DescribeGroupsResponse } from '../../protocol/generated/describe-groups.js'
import { defineHandler } from '../handler.js'

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648

export default defineHandler({
  api: DescribeGroupsApi,
  versions: [0, 5],
  handle(req, ctx): DescribeGroupsResponse {
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((groupId) => ({
        ...ctx.broker.groups.describeGroup(groupId),
        authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      })),
    }
  },
})
