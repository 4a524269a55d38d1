// DeleteShareGroupState (key 86, KIP-932), broker to broker: removes share partitions' state at
// their share coordinator (this broker, when it leads the key's __share_group_state partition;
// NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS otherwise), answered once durable. v0 only.
// ACLs: CLUSTER_ACTION on the cluster (CLUSTER_AUTHORIZATION_FAILED for every partition).
import { DeleteShareGroupStateApi, type DeleteShareGroupStateResponse } from '../../protocol/generated/delete-share-group-state.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorizeCluster, Op } from '../acls/authorize.js'
import { shareCoordinatorKey } from '../coordinator-state/share-state.js'

export default defineHandler({
  api: DeleteShareGroupStateApi,
  versions: [0, 0],
  async handle(req, ctx): Promise<DeleteShareGroupStateResponse> {
    const allowed = authorizeCluster(ctx, Op.CLUSTER_ACTION)
    const keys = req.topics.flatMap((t) => t.partitions.map((p) => shareCoordinatorKey(req.groupId, t.topicId, p.partition)))
    const outcomes = allowed ? await ctx.broker.shareCoordinator.write(keys.map((key) => ({ key, state: null }))) : new Map<string, number>()
    return {
      results: req.topics.map((t) => ({
        topicId: t.topicId,
        partitions: t.partitions.map((p) => ({
          partition: p.partition,
          errorCode: allowed ? (outcomes.get(shareCoordinatorKey(req.groupId, t.topicId, p.partition)) ?? ErrorCode.UNKNOWN_SERVER_ERROR) : ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: null,
        })),
      })),
    }
  },
})
