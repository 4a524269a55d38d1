// WriteShareGroupState (key 85, KIP-932), broker to broker: a share-partition leader writes a share
// partition's state to its share coordinator (this broker, when it leads the key's
// __share_group_state partition; NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS otherwise), and
// is answered once it is durable. Samsa's leaders send the whole state each time, which replaces
// the stored one (Kafka's coordinator merges the batches into what it has); a leader epoch lower
// than the last writer's answers FENCED_LEADER_EPOCH. v0 only. ACLs: CLUSTER_ACTION on the cluster
// (CLUSTER_AUTHORIZATION_FAILED for every partition).
import { WriteShareGroupStateApi, type WriteShareGroupStateResponse } from '../../protocol/generated/write-share-group-state.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorizeCluster, Op } from '../acls/authorize.js'
import { shareCoordinatorKey, type ShareStateChange } from '../coordinator-state/share-state.js'

export default defineHandler({
  api: WriteShareGroupStateApi,
  versions: [0, 0],
  async handle(req, ctx): Promise<WriteShareGroupStateResponse> {
    const allowed = authorizeCluster(ctx, Op.CLUSTER_ACTION)
    const changes: ShareStateChange[] = []
    if (allowed) {
      for (const t of req.topics) {
        for (const p of t.partitions) {
          changes.push({
            key: shareCoordinatorKey(req.groupId, t.topicId, p.partition),
            state: {
              startOffset: p.startOffset,
              stateEpoch: p.stateEpoch,
              leaderEpoch: p.leaderEpoch,
              stateBatches: p.stateBatches.map((b) => [b.firstOffset, b.lastOffset, b.deliveryState, b.deliveryCount]),
            },
          })
        }
      }
    }
    const outcomes = allowed ? await ctx.broker.shareCoordinator.write(changes) : new Map<string, number>()
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
