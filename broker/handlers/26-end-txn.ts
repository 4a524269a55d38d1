// EndTxn (key 26). Commits or aborts: markers go to every partition in the transaction, then the
// group offsets it carries are committed or dropped. v2 may answer PRODUCER_FENCED (v0-1 get
// INVALID_PRODUCER_EPOCH); v3 is flexible; v4 only allows TRANSACTION_ABORTABLE, never sent here.
// v5 (an epoch bump on every transaction, KIP-890 part 2) is not served. ACLs: WRITE on the
// transactional id.
import { EndTxnApi, type EndTxnResponse } from '../../protocol/generated/end-txn.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: EndTxnApi,
  versions: [0, 4],
  async handle(req, ctx): Promise<EndTxnResponse> {
    if (!authorize(ctx, Op.WRITE, Resource.TRANSACTIONAL_ID, req.transactionalId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 }
    }
    const fenced = ctx.apiVersion >= 2 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH
    const errorCode = await ctx.broker.txn.endTransaction(req.transactionalId, req.producerId, req.producerEpoch, req.committed, fenced)
    return { throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 }
  },
})
