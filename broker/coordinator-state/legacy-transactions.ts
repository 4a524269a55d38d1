// Data directories written before transactions moved to __transaction_state kept them in the
// broker's lmdb metadata store (`txn.state/<id>` for each id listed under `txn.ids`). A single
// broker moves them once, at start, before it serves and before the transactions are restored:
// each id's state is written to its partition of __transaction_state, then removed from lmdb (the
// list last, so a start interrupted half-way moves the rest next time; writing a state again
// changes nothing). A broker of a cluster leaves them where they are and says so.
import type { Logger } from 'pino'
import { TRANSACTIONAL_IDS_KEY, transactionStateKey } from '../../storage/metadata-keys.js'
import type { MetadataStore } from '../../storage/metadata-store.js'
import type { TxnMetadata } from '../txn/txn-model.js'
import type { TxnStateStore } from './txn-state.js'

export function hasLegacyTransactions(store: MetadataStore): boolean {
  return store.get(TRANSACTIONAL_IDS_KEY) !== undefined
}

export async function migrateLegacyTransactions(from: MetadataStore, to: TxnStateStore, logger: Logger): Promise<number> {
  const ids = from.get<string[]>(TRANSACTIONAL_IDS_KEY) ?? []
  let moved = 0
  for (const id of ids) {
    const meta = from.get<TxnMetadata>(transactionStateKey(id))
    if (meta !== undefined && meta.state !== 'Dead') {
      await to.put(meta)
      moved++
    }
    await from.delete(transactionStateKey(id))
  }
  await from.delete(TRANSACTIONAL_IDS_KEY)
  logger.info({ transactionalIds: moved }, 'moved transaction state from the metadata store to __transaction_state')
  return moved
}
