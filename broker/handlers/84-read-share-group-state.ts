// ReadShareGroupState (key 84, KIP-932), broker to broker: a share-partition leader reads a share
// partition's state from its share coordinator (this broker, when it leads the key's
// __share_group_state partition; NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS otherwise). A
// share partition without state answers stateEpoch -1 and start offset -1. v0 only. ACLs:
// CLUSTER_ACTION on the cluster (CLUSTER_AUTHORIZATION_FAILED for every partition).
import { ReadShareGroupStateApi, type ReadShareGroupStateResponse } from '../../protocol/generated/read-share-group-state.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorizeCluster, Op } from '../acls/authorize.js'
import { shareCoordinatorKey } from '../coordinator-state/share-state.js'

export default defineHandler({
  api: ReadShareGroupStateApi,
  versions: [0, 0],
  handle(req, ctx): ReadShareGroupStateResponse {
    const coordinator = ctx.broker.shareCoordinator
    const allowed = authorizeCluster(ctx, Op.CLUSTER_ACTION)
    return {
      results: req.topics.map((t) => ({
        topicId: t.topicId,
        partitions: t.partitions.map((p) => {
          const read = allowed ? coordinator.read(shareCoordinatorKey(req.groupId, t.topicId, p.partition)) : ErrorCode.CLUSTER_AUTHORIZATION_FAILED
          if (typeof read === 'number') return { partition: p.partition, errorCode: read, errorMessage: null, stateEpoch: -1, startOffset: -1, stateBatches: [] }
          return {
            partition: p.partition,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            stateEpoch: read?.stateEpoch ?? -1,
            startOffset: read?.startOffset ?? -1,
            stateBatches: (read?.stateBatches ?? []).map(([firstOffset, lastOffset, deliveryState, deliveryCount]) => ({ firstOffset, lastOffset, deliveryState, deliveryCount })),
          }
        }),
      })),
    }
  },
})
