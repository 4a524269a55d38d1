// ListPartitionReassignments (key 46). v0 only (flexible). A single broker never moves a replica,
// so, as Kafka's controller answers when no reassignment is ongoing, the list is empty, for all
// topics (null) and for named ones alike (unknown names are skipped, not errors). ACLs: DESCRIBE on
// the cluster.
import {
  ListPartitionReassignmentsApi,
  type ListPartitionReassignmentsResponse,
} from '../../protocol/generated/list-partition-reassignments.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorizeCluster, Op } from '../acls/authorize.js'

export default defineHandler({
  api: ListPartitionReassignmentsApi,
  versions: [0, 0],
  handle(_req, ctx): ListPartitionReassignmentsResponse {
    const errorCode = authorizeCluster(ctx, Op.DESCRIBE) ? ErrorCode.NONE : ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    return { throttleTimeMs: 0, errorCode, errorMessage: null, topics: [] }
  },
})
