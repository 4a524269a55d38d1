// TxnOffsetCommit (key 28). Offsets committed inside a transaction wait in the offset manager
// until EndTxn commits (they become the group's committed offsets) or aborts (dropped). v2 adds
// leader epochs; v3 the consumer's generation (a KIP-848 member's epoch in a consumer group, checked
// as OffsetCommit's: a later epoch answers STALE_MEMBER_EPOCH, an earlier one passes for the
// partitions owned since then), member id and instance id, validated as Kafka does; v3
// is flexible; v4 only allows TRANSACTION_ABORTABLE, never sent here. A producer whose
// transaction does not include the group (no AddOffsetsToTxn) gets INVALID_TXN_STATE. The
// transaction's side is checked where this broker coordinates the transactional id (while its
// __transaction_state partition loads, COORDINATOR_LOAD_IN_PROGRESS); the group's coordinator is
// often another broker, which, as Kafka's before KIP-890, takes the offsets on the group's checks
// alone: they wait for the marker the transaction's end sends to the group's partition.
// ACLs: WRITE on the transactional id, READ on the group and on each topic.
import { TxnOffsetCommitApi, type TxnOffsetCommitResponse } from '../../protocol/generated/txn-offset-commit.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource, splitAuthorized, topicErrors } from '../acls/authorize.js'

export default defineHandler({
  api: TxnOffsetCommitApi,
  versions: [0, 4],
  async handle(req, ctx): Promise<TxnOffsetCommitResponse> {
    const b = ctx.broker
    const txnRefusal = b.txn.refusal(req.transactionalId)
    const checkTxn = txnRefusal !== ErrorCode.NOT_COORDINATOR
    const meta = b.txn.get(req.transactionalId)
    let errorCode: number = ErrorCode.NONE
    const [allowed, denied] = splitAuthorized(ctx, Op.READ, Resource.TOPIC, req.topics)
    if (!authorize(ctx, Op.WRITE, Resource.TRANSACTIONAL_ID, req.transactionalId)) errorCode = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    else if (!authorize(ctx, Op.READ, Resource.GROUP, req.groupId)) errorCode = ErrorCode.GROUP_AUTHORIZATION_FAILED
    else if (!checkTxn) errorCode = ErrorCode.NONE
    else if (txnRefusal !== ErrorCode.NONE) errorCode = txnRefusal
    else if (meta === undefined || meta.producerId !== req.producerId) errorCode = ErrorCode.INVALID_PRODUCER_ID_MAPPING
    else if (meta.producerEpoch !== req.producerEpoch) errorCode = ErrorCode.INVALID_PRODUCER_EPOCH
    else if (meta.state !== 'Ongoing' || !meta.groups.includes(req.groupId)) errorCode = ErrorCode.INVALID_TXN_STATE
    if (errorCode !== ErrorCode.NONE) {
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
      }
    }
    const topics = await b.groups.commitTransactionalOffsets({
      groupId: req.groupId,
      producerId: req.producerId,
      producerEpoch: req.producerEpoch,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      topics: allowed,
    })
    return { throttleTimeMs: 0, topics: [...topics, ...topicErrors(denied, ErrorCode.TOPIC_AUTHORIZATION_FAILED)] }
  },
})
