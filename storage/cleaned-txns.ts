// CleanedTransactions: the transaction state a cleaning carries as it walks a log in offset order,
// as Kafka's CleanedTransactionMetadata. It decides which data batches belong to aborted
// transactions (removed), which transaction markers may go, and which aborted transactions the
// cleaned segment's .txnindex must still list.
//
// - A data batch of a producer with an aborted transaction under way at that offset (known from
//   the log's .txnindex entries) is aborted data: it may be discarded.
// - An abort marker whose transaction still had data in this pass is kept and re-indexed in the
//   cleaned segment; with no data seen, the transaction is empty and the marker may go.
// - A commit marker may go when no data of its transaction was seen in this pass.
// A marker that "may go" is not removed at once: the cleaner stamps it with a delete horizon
// (delete.retention.ms) and removes it at a later cleaning, so a consumer reading from the start
// meanwhile still sees it (KIP-534; the cleaner keeps it as an empty batch when it is its
// producer's last).
//
// Concurrency: one instance per cleaning, used on the event loop only.
import { ControlType, readControlRecord } from '../protocol/control-records.js'
import { isTransactional, readAttributes, readLastOffset, readProducerId } from '../protocol/record-batch.js'
import { iterateRecords } from '../protocol/record-reader.js'
import type { AbortedTxn } from './txn-index.js'

interface OngoingAbort {
  txn: AbortedTxn
  /** Data of the transaction was seen in this pass. */
  sawData: boolean
}

export class CleanedTransactions {
  /** Aborted transactions not yet reached, by first offset. */
  private readonly pending: AbortedTxn[]
  private next = 0
  private readonly ongoingAborts = new Map<number, OngoingAbort>()
  private readonly ongoingCommits = new Set<number>()
  /** Aborted transactions to index in the cleaned segment being written; taken by the writer. */
  private indexed: AbortedTxn[] = []

  /** `aborted`: every aborted transaction overlapping the range the cleaning walks. */
  constructor(aborted: readonly AbortedTxn[]) {
    const seen = new Set<string>()
    this.pending = aborted
      .filter((t) => {
        const id = `${t.producerId}:${t.lastOffset}`
        if (seen.has(id)) return false
        seen.add(id)
        return true
      })
      .sort((a, b) => a.firstOffset - b.firstOffset)
  }

  /** A data batch: true when it belongs to an aborted transaction (and may be discarded). */
  onBatch(batch: Uint8Array): boolean {
    this.reach(readLastOffset(batch, 0))
    if (!isTransactional(readAttributes(batch, 0))) return false
    const producerId = readProducerId(batch, 0)
    const abort = this.ongoingAborts.get(producerId)
    if (abort !== undefined) {
      abort.sawData = true
      return true
    }
    this.ongoingCommits.add(producerId)
    return false
  }

  /** A control batch: true when it may be discarded (its transaction left no data in this pass). */
  onControlBatch(batch: Uint8Array): boolean {
    this.reach(readLastOffset(batch, 0))
    const first = iterateRecords(batch, 0).next()
    // A control batch without records was already emptied by an earlier cleaning.
    if (first.done === true) return true
    const producerId = readProducerId(batch, 0)
    const type = readControlRecord(first.value)?.type
    if (type === ControlType.Abort) {
      const abort = this.ongoingAborts.get(producerId)
      this.ongoingAborts.delete(producerId)
      if (abort !== undefined && abort.sawData) {
        this.indexed.push(abort.txn)
        return false
      }
      return true
    }
    if (type === ControlType.Commit) return !this.ongoingCommits.delete(producerId)
    return false
  }

  /** The aborted transactions indexed since the last call, for the cleaned segment's .txnindex. */
  takeIndexed(): AbortedTxn[] {
    const out = this.indexed
    this.indexed = []
    return out
  }

  /** Starts the aborted transactions that begin at or before `offset`. */
  private reach(offset: number): void {
    while (this.next < this.pending.length && this.pending[this.next]!.firstOffset <= offset) {
      const txn = this.pending[this.next++]!
      if (!this.ongoingAborts.has(txn.producerId)) this.ongoingAborts.set(txn.producerId, { txn, sawData: false })
    }
  }
}
