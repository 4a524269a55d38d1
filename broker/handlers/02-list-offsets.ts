// ListOffsets (key 2). v1 answers a single offset (v0's offset arrays are not served, as in Kafka
// 4); v2 isolation level; v4 leader epochs; v7 max timestamp (-3); v8 earliest local (-4); v9
// latest tiered (-5, always "none" here: there is no tiered storage). Special timestamps: -1
// latest (high watermark, or last stable offset for read_committed), -2 earliest (log start).
// Needs DESCRIBE on the topic (TOPIC_AUTHORIZATION_FAILED per partition). Cluster mode: answered by
// the partition's leader only (NOT_LEADER_OR_FOLLOWER elsewhere, the epoch errors for a stale or
// unknown currentLeaderEpoch); leaderEpoch is the epoch that wrote the offset. A new leader whose
// high watermark is still below its epoch's start answers the latest offset with
// OFFSET_NOT_AVAILABLE (retriable) until its followers have fetched (KIP-207). As in Kafka, a
// timestamp lookup (and -3) finds only offsets below the high watermark (the last stable offset
// for read_committed): a record past it answers no offset, or OFFSET_NOT_AVAILABLE while the
// latest offset is not available.
import { ListOffsetsApi, type ListOffsetsResponse } from '../../protocol/generated/list-offsets.js'
import { ErrorCode } from '../../protocol/errors.js'
import { toKafkaError } from '../errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

type PartitionResponse = ListOffsetsResponse['topics'][number]['partitions'][number]
type Found = { offset: number; timestamp: number } | null

const READ_COMMITTED = 1
const LATEST = -1
const EARLIEST = -2
const MAX_TIMESTAMP = -3
const EARLIEST_LOCAL = -4
const LATEST_TIERED = -5
/** Kafka's DEBUGGING_REPLICA_ID: served by followers too. */
const DEBUGGING_REPLICA = -2

export default defineHandler({
  api: ListOffsetsApi,
  versions: [1, 10],
  async handle(req, ctx): Promise<ListOffsetsResponse> {
    const logs = ctx.broker.logs
    const topics: ListOffsetsResponse['topics'] = []
    for (const t of req.topics) {
      const describable = authorize(ctx, Op.DESCRIBE, Resource.TOPIC, t.name)
      const partitions: PartitionResponse[] = []
      for (const p of t.partitions) {
        const out: PartitionResponse = {
          partitionIndex: p.partitionIndex,
          errorCode: ErrorCode.NONE,
          oldStyleOffsets: [],
          timestamp: -1,
          offset: -1,
          leaderEpoch: -1,
        }
        partitions.push(out)
        if (!describable) {
          out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED
          continue
        }
        const log = logs.partition(t.name, p.partitionIndex)
        if (!log) {
          out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          continue
        }
        const replicas = ctx.broker.replicas
        if (replicas !== undefined && req.replicaId !== DEBUGGING_REPLICA) {
          out.errorCode = replicas.checkLeader(t.name, p.partitionIndex, p.currentLeaderEpoch)
          if (out.errorCode !== ErrorCode.NONE) continue
        } else if (p.currentLeaderEpoch > log.leaderEpoch) {
          out.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH
          continue
        }
        // What a consumer may read up to; a timestamp lookup names no offset at or past it.
        const lastFetchable = req.isolationLevel === READ_COMMITTED ? log.lastStableOffset : log.highWatermark
        const available = () => replicas === undefined || req.replicaId === DEBUGGING_REPLICA || replicas.latestOffsetAvailable(t.name, p.partitionIndex)
        try {
          switch (p.timestamp) {
            case LATEST:
              if (!available()) {
                out.errorCode = ErrorCode.OFFSET_NOT_AVAILABLE
                break
              }
              out.offset = lastFetchable
              break
            case EARLIEST:
            case EARLIEST_LOCAL:
              out.offset = log.logStartOffset
              break
            case LATEST_TIERED:
              break
            case MAX_TIMESTAMP: {
              settleFound(out, log.maxTimestampOffset(), lastFetchable, available)
              break
            }
            default: {
              if (p.timestamp < 0) {
                out.errorCode = ErrorCode.INVALID_REQUEST
                break
              }
              settleFound(out, await log.offsetForTimestamp(p.timestamp), lastFetchable, available)
            }
          }
          if (out.offset >= 0) out.leaderEpoch = log.leaderEpochs.isEmpty ? 0 : log.leaderEpochs.epochForOffset(out.offset)
        } catch (err) {
          out.errorCode = toKafkaError(err).code
        }
      }
      topics.push({ name: t.name, partitions })
    }
    return { throttleTimeMs: 0, topics }
  },
})

function settleFound(out: PartitionResponse, found: Found, lastFetchable: number, available: () => boolean): void {
  if (found === null) return
  if (found.offset < lastFetchable) {
    out.offset = found.offset
    out.timestamp = found.timestamp
  } else if (!available()) {
    out.errorCode = ErrorCode.OFFSET_NOT_AVAILABLE
  }
}
