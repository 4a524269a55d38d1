// InitProducerId (key 22). Without a transactional id: a new producer id for an idempotent
// producer (v3+ with its current id and epoch: the same id with the next epoch, KIP-360). With
// one: the transaction coordinator creates the id or fences the previous incarnation (bumping the
// epoch and aborting its open transaction). v2 is flexible; v4 may answer PRODUCER_FENCED (older
// versions get INVALID_PRODUCER_EPOCH); v5 only allows TRANSACTION_ABORTABLE, never sent here.
import { InitProducerIdApi, type InitProducerIdResponse } from '../../protocol/generated/init-producer-id.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'

export default defineHandler({
  api: InitProducerIdApi,
  versions: [0, 5],
  async handle(req, ctx): Promise<InitProducerIdResponse> {
    const fenced = ctx.apiVersion >= 4 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH
    const r = await ctx.broker.txn.initProducerId(
      req.transactionalId,
      req.transactionTimeoutMs,
      { producerId: req.producerId, producerEpoch: req.producerEpoch },
      fenced,
    )
    return { throttleTimeMs: 0, errorCode: r.errorCode, producerId: r.producerId, producerEpoch: r.producerEpoch }
  },
})
