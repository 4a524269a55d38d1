// InitProducerId (key 22). Without a transactional id: a new producer id for an idempotent
// producer (v3+ with its current id and epoch: the same id with the next epoch, KIP-360). With
// one: the transaction coordinator creates the id or fences the previous incarnation (bumping the
// epoch and aborting its open transaction). v2 is flexible; v4 may answer PRODUCER_FENCED (older
// versions get INVALID_PRODUCER_EPOCH); v5 only allows TRANSACTION_ABORTABLE, never sent here.
// ACLs: a transactional id needs WRITE on it (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); an idempotent
// producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic or transactional id
// (CLUSTER_AUTHORIZATION_FAILED).
import { InitProducerIdApi, type InitProducerIdResponse } from '../../protocol/generated/init-producer-id.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, authorizeByResourceType, authorizeCluster, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: InitProducerIdApi,
  versions: [0, 5],
  async handle(req, ctx): Promise<InitProducerIdResponse> {
    const fenced = ctx.apiVersion >= 4 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH
    const refused = (errorCode: number): InitProducerIdResponse => ({ throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 })
    if (req.transactionalId !== null) {
      if (!authorize(ctx, Op.WRITE, Resource.TRANSACTIONAL_ID, req.transactionalId)) return refused(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    } else if (
      !authorizeCluster(ctx, Op.IDEMPOTENT_WRITE) &&
      !authorizeByResourceType(ctx, Op.WRITE, Resource.TOPIC) &&
      !authorizeByResourceType(ctx, Op.WRITE, Resource.TRANSACTIONAL_ID)
    ) {
      return refused(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    }
    const r = await ctx.broker.txn.initProducerId(
      req.transactionalId,
      req.transactionTimeoutMs,
      { producerId: req.producerId, producerEpoch: req.producerEpoch },
      fenced,
    )
    return { throttleTimeMs: 0, errorCode: r.errorCode, producerId: r.producerId, producerEpoch: r.producerEpoch }
  },
})
