// Which stored batches a share fetch may deliver. The records read for a share partition are walked
// once: control batches (transaction markers) are never delivered, and under read_committed
// (share.isolation.level) neither are the batches of aborted transactions, found from the
// partition's aborted-transaction index as a read_committed consumer finds them: a producer's
// transactional batches from the first offset of its aborted transaction up to its next control
// batch are aborted. Such records are archived by the share partition instead of acquired.
import { batchSizeAt, isControl, isTransactional, readAttributes, readBaseOffset, readLastOffset, readProducerId } from '../../protocol/record-batch.js'
import type { OfferedBatch } from './share-partition.js'

export interface AbortedTxn {
  producerId: number
  firstOffset: number
}

export interface WalkedBatch extends OfferedBatch {
  /** Byte range of the batch in the read. */
  start: number
  end: number
}

/** The whole batches of `records`, each marked deliverable or not. */
export function offeredBatches(records: Uint8Array, aborted: readonly AbortedTxn[] | null): WalkedBatch[] {
  const out: WalkedBatch[] = []
  const pendingAborts = aborted === null ? [] : [...aborted].sort((a, b) => a.firstOffset - b.firstOffset)
  const abortedProducers = new Set<number>()
  let next = 0
  let pos = 0
  while (pos + 61 <= records.length) {
    const size = batchSizeAt(records, pos)
    if (size <= 0 || pos + size > records.length) break
    const baseOffset = readBaseOffset(records, pos)
    const lastOffset = readLastOffset(records, pos)
    const attributes = readAttributes(records, pos)
    while (next < pendingAborts.length && pendingAborts[next]!.firstOffset <= lastOffset) abortedProducers.add(pendingAborts[next++]!.producerId)
    let deliverable = true
    if (isControl(attributes)) {
      deliverable = false
      // A producer's marker ends its transaction; only an aborted one can be in the set.
      abortedProducers.delete(readProducerId(records, pos))
    } else if (isTransactional(attributes) && abortedProducers.has(readProducerId(records, pos))) {
      deliverable = false
    }
    out.push({ baseOffset, lastOffset, deliverable, start: pos, end: pos + size })
    pos += size
  }
  return out
}
