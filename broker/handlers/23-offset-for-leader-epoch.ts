// OffsetForLeaderEpoch (key 23). v2 adds currentLeaderEpoch for fencing; v3 the replica id; v4 is
// flexible. v0-1 are not served (removed in Kafka 4.0). Consumers use it to detect log truncation
// after a leader change (KIP-320). Single broker: one leader epoch, 0, starting at offset 0, so the
// end offset of epoch 0 is the log end offset and any later epoch is unknown (-1/-1).
// ACLs: DESCRIBE on the topic (TOPIC_AUTHORIZATION_FAILED).
import { OffsetForLeaderEpochApi, type OffsetForLeaderEpochResponse } from '../../protocol/generated/offset-for-leader-epoch.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

type EpochEndOffset = OffsetForLeaderEpochResponse['topics'][number]['partitions'][number]

const LEADER_EPOCH = 0
const NO_EPOCH = -1

export default defineHandler({
  api: OffsetForLeaderEpochApi,
  versions: [2, 4],
  handle(req, ctx): OffsetForLeaderEpochResponse {
    const logs = ctx.broker.logs
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p): EpochEndOffset => {
          const out: EpochEndOffset = { errorCode: ErrorCode.NONE, partition: p.partition, leaderEpoch: NO_EPOCH, endOffset: -1 }
          const log = logs.partition(t.topic, p.partition)
          if (!authorize(ctx, Op.DESCRIBE, Resource.TOPIC, t.topic)) {
            out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED
          } else if (!log) {
            out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          } else if (p.currentLeaderEpoch !== NO_EPOCH && p.currentLeaderEpoch < LEADER_EPOCH) {
            out.errorCode = ErrorCode.FENCED_LEADER_EPOCH
          } else if (p.currentLeaderEpoch > LEADER_EPOCH) {
            out.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH
          } else if (p.leaderEpoch === LEADER_EPOCH) {
            out.leaderEpoch = LEADER_EPOCH
            out.endOffset = log.logEndOffset
          } else if (p.leaderEpoch < NO_EPOCH) {
            // Older than every known epoch: Kafka answers with the start of the first epoch it knows.
            out.leaderEpoch = p.leaderEpoch
            out.endOffset = log.logStartOffset
          }
          return out
        }),
      })),
    }
  },
})
