// ReadShareGroupStateSummary (key 87, KIP-932), broker to broker: a share partition's start offset
// and state epoch from its share coordinator (this broker, when it leads the key's
// __share_group_state partition; NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS otherwise), as
// DescribeShareGroupOffsets needs them; -1 for both when it has no state. v0 only. ACLs:
// CLUSTER_ACTION on the cluster (CLUSTER_AUTHORIZATION_FAILED for every partition).
import { ReadShareGroupStateSummaryApi, type ReadShareGroupStateSummaryResponse } from '../../protocol/generated/read-share-group-state-summary.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorizeCluster, Op } from '../acls/authorize.js'
import { shareCoordinatorKey } from '../coordinator-state/share-state.js'

export default defineHandler({
  api: ReadShareGroupStateSummaryApi,
  versions: [0, 0],
  handle(req, ctx): ReadShareGroupStateSummaryResponse {
    const allowed = authorizeCluster(ctx, Op.CLUSTER_ACTION)
    return {
      results: req.topics.map((t) => ({
        topicId: t.topicId,
        partitions: t.partitions.map((p) => {
          const read = allowed ? ctx.broker.shareCoordinator.read(shareCoordinatorKey(req.groupId, t.topicId, p.partition)) : ErrorCode.CLUSTER_AUTHORIZATION_FAILED
          if (typeof read === 'number') return { partition: p.partition, errorCode: read, errorMessage: null, stateEpoch: -1, startOffset: -1 }
          return { partition: p.partition, errorCode: ErrorCode.NONE, errorMessage: null, stateEpoch: read?.stateEpoch ?? -1, startOffset: read?.startOffset ?? -1 }
        }),
      })),
    }
  },
})
