// ListTransactions (key 66). Every transactional id this broker coordinates (those of the
// __transaction_state partitions it leads; admin clients ask every broker), filtered by state
// (names it does not know are echoed in unknownStateFilters) and producer id; v1 adds a duration
// filter: only transactions open for at least that many milliseconds. ACLs: only transactional ids
// the caller may DESCRIBE are listed.
import { ListTransactionsApi, type ListTransactionsResponse } from '../../protocol/generated/list-transactions.js'
import { ErrorCode } from '../../protocol/errors.js'
import { TXN_STATES, type TxnState } from '../txn/txn-model.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: ListTransactionsApi,
  versions: [0, 1],
  handle(req, ctx): ListTransactionsResponse {
    const known = new Set<string>(TXN_STATES)
    const unknownStateFilters = req.stateFilters.filter((s) => !known.has(s))
    const states = new Set(req.stateFilters.filter((s) => known.has(s)) as TxnState[])
    const producerIds = new Set(req.producerIdFilters)
    const now = Date.now()
    const duration = ctx.apiVersion >= 1 ? req.durationFilter : -1
    const transactionStates = ctx.broker.txn
      .list()
      .filter((m) => req.stateFilters.length === 0 || states.has(m.state))
      .filter((m) => producerIds.size === 0 || producerIds.has(m.producerId))
      .filter((m) => authorize(ctx, Op.DESCRIBE, Resource.TRANSACTIONAL_ID, m.transactionalId))
      .filter((m) => duration < 0 || (m.startTimeMs >= 0 && now - m.startTimeMs >= duration))
      .map((m) => ({ transactionalId: m.transactionalId, producerId: m.producerId, transactionState: m.state }))
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates }
  },
})
