// DescribeTransactions (key 65, v0, flexible). The coordinator's view of each transactional id:
// state, timeout, start time, producer id and epoch, and the partitions in the open transaction.
// Unknown ids answer TRANSACTIONAL_ID_NOT_FOUND; ids whose __transaction_state partition this
// broker does not lead NOT_COORDINATOR (COORDINATOR_LOAD_IN_PROGRESS while it loads). ACLs: DESCRIBE on the transactional id
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); topics the caller may not DESCRIBE are left out.
import { DescribeTransactionsApi, type DescribeTransactionsResponse } from '../../protocol/generated/describe-transactions.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: DescribeTransactionsApi,
  versions: [0, 0],
  handle(req, ctx): DescribeTransactionsResponse {
    const txn = ctx.broker.txn
    return {
      throttleTimeMs: 0,
      transactionStates: req.transactionalIds.map((transactionalId) => {
        const allowed = authorize(ctx, Op.DESCRIBE, Resource.TRANSACTIONAL_ID, transactionalId)
        const refused = allowed ? txn.refusal(transactionalId) : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        const meta = refused === ErrorCode.NONE ? txn.get(transactionalId) : undefined
        if (meta === undefined) {
          return {
            errorCode: refused === ErrorCode.NONE ? ErrorCode.TRANSACTIONAL_ID_NOT_FOUND : refused,
            transactionalId,
            transactionState: '',
            transactionTimeoutMs: 0,
            transactionStartTimeMs: -1,
            producerId: -1,
            producerEpoch: -1,
            topics: [],
          }
        }
        const byTopic = new Map<string, number[]>()
        for (const tp of meta.partitions) {
          if (!authorize(ctx, Op.DESCRIBE, Resource.TOPIC, tp.topic)) continue
          const list = byTopic.get(tp.topic)
          if (list === undefined) byTopic.set(tp.topic, [tp.partition])
          else list.push(tp.partition)
        }
        return {
          errorCode: ErrorCode.NONE,
          transactionalId,
          transactionState: meta.state,
          transactionTimeoutMs: meta.timeoutMs,
          transactionStartTimeMs: meta.startTimeMs,
          producerId: meta.producerId,
          producerEpoch: meta.producerEpoch,
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        }
      }),
    }
  },
})
