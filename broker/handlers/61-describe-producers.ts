// DescribeProducers (key 61, v0, flexible). The active idempotent and transactional producers of
// each partition, from its producer state: epoch, last sequence and timestamp, coordinator epoch,
// and where its open transaction starts. ACLs: READ on the topic (TOPIC_AUTHORIZATION_FAILED).
import { DescribeProducersApi, type DescribeProducersResponse } from '../../protocol/generated/describe-producers.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: DescribeProducersApi,
  versions: [0, 0],
  handle(req, ctx): DescribeProducersResponse {
    const logs = ctx.broker.logs
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => {
          if (!authorize(ctx, Op.READ, Resource.TOPIC, t.name)) {
            return { partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null, activeProducers: [] }
          }
          const log = logs.partition(t.name, partitionIndex)
          if (log === undefined) {
            return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, activeProducers: [] }
          }
          return {
            partitionIndex,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            activeProducers: log.producerState.activeProducers().map((e) => ({
              producerId: e.producerId,
              producerEpoch: e.producerEpoch,
              lastSequence: e.batches[e.batches.length - 1]?.lastSeq ?? -1,
              lastTimestamp: e.lastTimestamp,
              coordinatorEpoch: e.coordinatorEpoch,
              currentTxnStartOffset: e.currentTxnFirstOffset,
            })),
          }
        }),
      })),
    }
  },
})
