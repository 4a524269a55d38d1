// DeleteRecords (key 21). v1 only changes throttling; v2 is flexible. Moves each partition's log
// start offset forward; an offset of -1 means the high watermark. Segments wholly below the new
// start are removed by the log. A topic whose cleanup.policy lacks "delete" refuses with
// POLICY_VIOLATION, as Kafka does. ACLs: DELETE on the topic (TOPIC_AUTHORIZATION_FAILED).
// Single replica: the new low watermark is known at once, so timeoutMs is never waited on.
import { DeleteRecordsApi, type DeleteRecordsResponse } from '../../protocol/generated/delete-records.js'
import { ErrorCode } from '../../protocol/errors.js'
import { isUnexpected, toKafkaError } from '../errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

type PartitionResult = DeleteRecordsResponse['topics'][number]['partitions'][number]

const HIGH_WATERMARK = -1

export default defineHandler({
  api: DeleteRecordsApi,
  versions: [0, 2],
  async handle(req, ctx): Promise<DeleteRecordsResponse> {
    const b = ctx.broker
    const topics: DeleteRecordsResponse['topics'] = []
    for (const t of req.topics) {
      const deletable = authorize(ctx, Op.DELETE, Resource.TOPIC, t.name)
      const partitions: PartitionResult[] = []
      for (const p of t.partitions) {
        const out: PartitionResult = { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.NONE }
        partitions.push(out)
        if (!deletable) {
          out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED
          continue
        }
        const log = b.logs.partition(t.name, p.partitionIndex)
        if (!log) {
          out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          continue
        }
        if (!log.config.cleanupPolicy.includes('delete')) {
          out.errorCode = ErrorCode.POLICY_VIOLATION
          continue
        }
        const offset = p.offset === HIGH_WATERMARK ? log.highWatermark : p.offset
        if (offset < 0 || offset > log.highWatermark) {
          out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE
          continue
        }
        try {
          // An offset below the current start is not an error: the start never moves backwards.
          out.lowWatermark = await log.deleteRecordsBefore(offset)
        } catch (err) {
          const f = toKafkaError(err)
          out.errorCode = f.code
          if (isUnexpected(f)) b.logger.error({ topic: t.name, partition: p.partitionIndex, err }, 'delete records failed')
        }
      }
      topics.push({ name: t.name, partitions })
    }
    return { throttleTimeMs: 0, topics }
  },
})
