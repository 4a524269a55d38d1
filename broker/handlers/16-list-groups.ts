// ListGroups (key 16). v1 adds throttle time; v3 is flexible; v4 filters by state (case-insensitive)
// and reports each group's state; v5 filters by type ("classic", "consumer") and reports it.
// ACLs: DESCRIBE on the cluster lists every group; otherwise only groups the caller may DESCRIBE.
// While a single broker reads its groups back after a start, COORDINATOR_LOAD_IN_PROGRESS and no
// groups, as Kafka answers while a partition of __consumer_offsets loads (clients retry).
import { ListGroupsApi, type ListGroupsResponse } from '../../protocol/generated/list-groups.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, authorizeCluster, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: ListGroupsApi,
  versions: [0, 5],
  handle(req, ctx): ListGroupsResponse {
    const v = ctx.apiVersion
    if (ctx.broker.coordinatorTopics.loadingLocal) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, groups: [] }
    const groups = ctx.broker.groups.listGroups(v >= 4 ? req.statesFilter : [], v >= 5 ? req.typesFilter : [])
    const all = authorizeCluster(ctx, Op.DESCRIBE)
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: all ? groups : groups.filter((g) => authorize(ctx, Op.DESCRIBE, Resource.GROUP, g.groupId)) }
  },
})
