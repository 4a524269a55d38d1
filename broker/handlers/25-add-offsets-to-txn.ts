// AddOffsetsToTxn (key 25). Adds a consumer group's offsets to the transaction, so EndTxn settles
// the offsets TxnOffsetCommit parks for it (Kafka adds the group's __consumer_offsets partition;
// here the group id stands for it). v2 may answer PRODUCER_FENCED (v0-1 get
// INVALID_PRODUCER_EPOCH); v3 is flexible; v4 only allows TRANSACTION_ABORTABLE, never sent here.
// ACLs: WRITE on the transactional id, READ on the group.
import { AddOffsetsToTxnApi, type AddOffsetsToTxnResponse } from '../../protocol/generated/add-offsets-to-txn.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: AddOffsetsToTxnApi,
  versions: [0, 4],
  async handle(req, ctx): Promise<AddOffsetsToTxnResponse> {
    if (!authorize(ctx, Op.WRITE, Resource.TRANSACTIONAL_ID, req.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED }
    if (!authorize(ctx, Op.READ, Resource.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }
    const fenced = ctx.apiVersion >= 2 ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH
    const errorCode = await ctx.broker.txn.addToTransaction(req.transactionalId, req.producerId, req.producerEpoch, { groupId: req.groupId }, fenced)
    return { throttleTimeMs: 0, errorCode }
  },
})
