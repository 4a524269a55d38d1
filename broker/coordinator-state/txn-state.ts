// Transactions kept in __transaction_state (state-topic.ts), as Kafka's TransactionStateManager
// keeps them: a transactional id belongs to the partition of its id (Kafka's hash), and the broker
// leading that partition coordinates it. One record per id:
//
//   txn/<url-encoded transactional id>  -> TxnMetadata (null once the id expired)
//
// Every state change is a record made durable (fsynced, and in the in-sync replicas in cluster
// mode) before the step it allows. What is read back is handed to the transaction coordinator when
// the partition is loaded, which completes the transactions a failover interrupted; when the
// partition moves away, the coordinator forgets its ids.
import type { TxnMetadata, TxnStateLog } from '../txn/txn-model.js'
import type { StateMachine, StateTopic } from './state-topic.js'

export const TRANSACTION_STATE_TOPIC = '__transaction_state'

const TXN = 'txn/'

/** What the coordinator does when transactions come and go with their partition. */
export interface TxnLoadListener {
  /**
   * The transactions of a partition just loaded; resolves once those being completed are (markers
   * written). `abortOpen`: open transactions are aborted too (a single broker's start), rather than
   * left to their producer or their timeout (a failover).
   */
  restoreTransactions(metas: TxnMetadata[], abortOpen: boolean): Promise<void>
  /** Forgets every id for which `belongs` holds: their partition is no longer served here. */
  unloadTransactions(belongs: (transactionalId: string) => boolean): void
}

export class TxnStateStore implements StateMachine, TxnStateLog {
  private readonly partitions = new Map<number, Map<string, TxnMetadata>>()
  private listener: TxnLoadListener | undefined

  /** `ownership`: NONE when the id's partition is served here (on a single broker, every id). */
  constructor(
    readonly topic: StateTopic,
    private readonly ownership: (transactionalId: string) => number,
  ) {
    topic.setMachine(this)
  }

  /**
   * Hands the transactions to `listener` from now on; those of partitions loaded already (a single
   * broker's start) are handed over now, with open transactions aborted.
   */
  async setListener(listener: TxnLoadListener): Promise<void> {
    this.listener = listener
    for (const p of this.topic.loadedPartitions()) await listener.restoreTransactions(this.metasOf(p), true)
  }

  // ---- TxnStateLog ----------------------------------------------------------------------------

  refusal(transactionalId: string): number {
    return this.ownership(transactionalId)
  }

  put(meta: TxnMetadata): Promise<void> {
    const id = meta.transactionalId
    // A copy: the coordinator changes its own object before the next write.
    return this.topic.write(this.topic.partitionFor(id), [{ key: TXN + encodeURIComponent(id), value: structuredClone(meta) }])
  }

  remove(transactionalId: string): Promise<void> {
    return this.topic.write(this.topic.partitionFor(transactionalId), [{ key: TXN + encodeURIComponent(transactionalId), value: null }])
  }

  // ---- StateMachine ---------------------------------------------------------------------------

  replay(partition: number, key: string, value: unknown): void {
    if (!key.startsWith(TXN)) return // a later version's record: read past, kept by compaction
    let txns = this.partitions.get(partition)
    if (txns === undefined) this.partitions.set(partition, (txns = new Map()))
    const id = decodeURIComponent(key.slice(TXN.length))
    if (value === null) txns.delete(id)
    else txns.set(id, value as TxnMetadata)
  }

  loaded(partition: number): Promise<void> | void {
    return this.listener?.restoreTransactions(this.metasOf(partition), false)
  }

  unloaded(partition: number): void {
    this.partitions.delete(partition)
    this.listener?.unloadTransactions((id) => this.topic.partitionFor(id) === partition)
  }

  private metasOf(partition: number): TxnMetadata[] {
    return [...(this.partitions.get(partition)?.values() ?? [])].map((m) => structuredClone(m))
  }
}
