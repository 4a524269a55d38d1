// InitializeShareGroupState (key 83, KIP-932), broker to broker: gives share partitions without
// state an initial one at their share coordinator (this broker, when it leads the key's
// __share_group_state partition; NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS otherwise). A
// share partition that has state keeps it. v0 only. ACLs: CLUSTER_ACTION on the cluster
// (CLUSTER_AUTHORIZATION_FAILED for every partition), as only brokers send it.
import { InitializeShareGroupStateApi, type InitializeShareGroupStateResponse } from '../../protocol/generated/initialize-share-group-state.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorizeCluster, Op } from '../acls/authorize.js'
import { shareCoordinatorKey } from '../coordinator-state/share-state.js'

export default defineHandler({
  api: InitializeShareGroupStateApi,
  versions: [0, 0],
  async handle(req, ctx): Promise<InitializeShareGroupStateResponse> {
    const coordinator = ctx.broker.shareCoordinator
    const allowed = authorizeCluster(ctx, Op.CLUSTER_ACTION)
    const outcomes = new Map<string, number>()
    if (allowed) {
      // One initial state for all: Samsa's leaders send stateEpoch 0 and start offset -1.
      const first = req.topics[0]?.partitions[0]
      const keys = req.topics.flatMap((t) => t.partitions.map((p) => shareCoordinatorKey(req.groupId, t.topicId, p.partition)))
      for (const [k, code] of await coordinator.initialize(keys, first?.stateEpoch ?? 0, first?.startOffset ?? -1)) outcomes.set(k, code)
    }
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
