// AddPartitionsToTxn (key 24), the client path: versions 0-3 carry one transaction. v2 may answer
// PRODUCER_FENCED (v0-1 get INVALID_PRODUCER_EPOCH); v3 is flexible. v4+ batch transactions for
// broker-to-broker verification (KIP-890) and are not served. Partitions of unknown topics fail
// with UNKNOWN_TOPIC_OR_PARTITION and the others with OPERATION_NOT_ATTEMPTED, as in Kafka.
// ACLs: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED everywhere) and on
// each topic (TOPIC_AUTHORIZATION_FAILED, the others OPERATION_NOT_ATTEMPTED).
import { AddPartitionsToTxnApi, type AddPartitionsToTxnResponse } from '../../protocol/generated/add-partitions-to-txn.js'
import { ErrorCode } from '../../protocol/errors.js'
import type { TopicPartition } from '../txn/txn-model.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: AddPartitionsToTxnApi,
  versions: [0, 3],
  async handle(req, ctx): Promise<AddPartitionsToTxnResponse> {
    const b = ctx.broker
    const txnAllowed = authorize(ctx, Op.WRITE, Resource.TRANSACTIONAL_ID, req.v3AndBelowTransactionalId)
    const unknown = new Map<string, number>()
    const partitions: TopicPartition[] = []
    for (const t of req.v3AndBelowTopics) {
      const refused = !txnAllowed
        ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        : !authorize(ctx, Op.WRITE, Resource.TOPIC, t.name)
          ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
          : undefined
      for (const p of t.partitions) {
        if (refused !== undefined) unknown.set(`${t.name}\u0000${p}`, refused)
        else if (b.logs.partition(t.name, p) === undefined) unknown.set(`${t.name}\u0000${p}`, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        else partitions.push({ topic: t.name, partition: p })
      }
    }
    let code: number = ErrorCode.OPERATION_NOT_ATTEMPTED
    if (unknown.size === 0) {
      const fenced = ctx.apiVersion >= 2 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH
      code = await b.txn.addToTransaction(req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch, { partitions }, fenced)
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      resultsByTransaction: [],
      resultsByTopicV3AndBelow: req.v3AndBelowTopics.map((t) => ({
        name: t.name,
        resultsByPartition: t.partitions.map((p) => ({
          partitionIndex: p,
          partitionErrorCode: unknown.get(`${t.name}\u0000${p}`) ?? code,
        })),
      })),
    }
  },
})
