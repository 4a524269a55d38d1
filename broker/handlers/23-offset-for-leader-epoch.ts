// OffsetForLeaderEpoch (key 23). v2 adds currentLeaderEpoch for fencing; v3 the replica id; v4 is
// flexible. v0-1 are not served (removed in Kafka 4.0). Consumers use it to detect log truncation
// after a leader change (KIP-320); followers to find where their log diverges from the leader's
// (KIP-101/279). Answers come from the partition's leader-epoch cache: the end offset of the
// largest epoch at or below the one asked (the log end offset for the latest epoch), -1/-1 for an
// epoch newer than any known. A log that never had a replicated leader has one epoch, 0, from its
// log start. Cluster mode: the leader answers (NOT_LEADER_OR_FOLLOWER elsewhere, except for the
// debugging replica id -2); a stale currentLeaderEpoch is FENCED_LEADER_EPOCH, a newer one
// UNKNOWN_LEADER_EPOCH.
// ACLs: CLUSTER_ACTION on the cluster, else DESCRIBE on the topic (TOPIC_AUTHORIZATION_FAILED).
import { OffsetForLeaderEpochApi, type OffsetForLeaderEpochResponse } from '../../protocol/generated/offset-for-leader-epoch.js'
import { ErrorCode } from '../../protocol/errors.js'
import type { PartitionLog } from '../../storage/partition-log.js'
import { defineHandler } from '../handler.js'
import { authorize, authorizeCluster, Op, Resource } from '../acls/authorize.js'

type EpochEndOffset = OffsetForLeaderEpochResponse['topics'][number]['partitions'][number]

const NO_EPOCH = -1
const DEBUGGING_REPLICA = -2

export default defineHandler({
  api: OffsetForLeaderEpochApi,
  versions: [2, 4],
  handle(req, ctx): OffsetForLeaderEpochResponse {
    const { logs, replicas } = ctx.broker
    // Brokers (CLUSTER_ACTION) may ask about any topic; consumers need DESCRIBE on it (KIP-320).
    const broker = authorizeCluster(ctx, Op.CLUSTER_ACTION)
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p): EpochEndOffset => {
          const out: EpochEndOffset = { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: NO_EPOCH, endOffset: -1 }
          const log = logs.partition(t.topic, p.partition)
          if (!broker && !authorize(ctx, Op.DESCRIBE, Resource.TOPIC, t.topic)) {
            out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED
          } else if (!log) {
            out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          } else if (replicas !== undefined && req.replicaId !== DEBUGGING_REPLICA) {
            out.errorCode = replicas.checkLeader(t.topic, p.partition, p.currentLeaderEpoch)
            if (out.errorCode === ErrorCode.NONE) answer(log, p.leaderEpoch, out)
          } else if (p.currentLeaderEpoch !== NO_EPOCH && p.currentLeaderEpoch < log.leaderEpoch) {
            out.errorCode = ErrorCode.FENCED_LEADER_EPOCH
          } else if (p.currentLeaderEpoch > log.leaderEpoch) {
            out.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH
          } else {
            answer(log, p.leaderEpoch, out)
          }
          return out
        }),
      })),
    }
  },
})

function answer(log: PartitionLog, requested: number, out: EpochEndOffset): void {
  if (log.leaderEpochs.isEmpty) {
    // Never replicated: epoch 0 wrote everything from the log start.
    if (requested === 0) {
      out.leaderEpoch = 0
      out.endOffset = log.logEndOffset
    } else if (requested < NO_EPOCH) {
      // Older than every known epoch: Kafka answers with the start of the first epoch it knows.
      out.leaderEpoch = requested
      out.endOffset = log.logStartOffset
    }
    return
  }
  const found = log.leaderEpochs.endOffsetFor(requested, log.logEndOffset)
  out.leaderEpoch = found.epoch
  out.endOffset = found.startOffset
}
