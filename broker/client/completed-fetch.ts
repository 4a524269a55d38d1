// CompletedFetch, as Kafka's consumer names it: the records of one partition in a Fetch
// response, handed out from the position asked for. A response may start before that position
// (whole batches) and end with a partial batch cut off by the size limits, which is fetched again.
//
// Under read_committed the broker returns records up to the last stable offset plus the list of
// aborted transactions in range; batches of an aborted producer are dropped until its abort
// marker, as Kafka's consumer does. Control batches are never handed out.
import type { FetchResponseAbortedTransaction, FetchResponsePartitionData } from '../../protocol/generated/fetch.js'
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, isControl, isTransactional, readAttributes, readBatchLength, readBatchHeader, readLastOffset } from '../../protocol/record-batch.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { ControlType, readControlRecord } from '../../protocol/control-records.js'

export interface RecordHeader {
  key: string
  value: Buffer | null
}

export interface ConsumedRecord {
  topic: string
  partition: number
  offset: number
  timestamp: number
  /** Views into the fetched (or decompressed) bytes; copy them to keep them past the next poll. */
  key: Buffer | null
  value: Buffer | null
  headers: RecordHeader[]
}

/** Where a partition is read from; the position moves past every batch handed out or skipped. */
export interface FetchPosition {
  readonly topic: string
  readonly partition: number
  /** Next offset to hand out. */
  position: number
}

/** Appends the partition's records at or after `a.position` to `out` and moves the position on. */
export function collectFetchedRecords(a: FetchPosition, p: FetchResponsePartitionData, readCommitted: boolean, out: ConsumedRecord[]): void {
  const buf = p.records
  if (buf === null) return
  const aborted = readCommitted ? abortedTracker(p.abortedTransactions) : null
  let pos = 0
  // A response may end with a partial batch cut off by the size limits; it is fetched again.
  while (pos + LOG_OVERHEAD <= buf.length) {
    const size = LOG_OVERHEAD + readBatchLength(buf, pos)
    if (pos + size > buf.length || size < BATCH_HEADER_SIZE) break
    const lastOffset = readLastOffset(buf, pos)
    if (lastOffset >= a.position) {
      const attributes = readAttributes(buf, pos)
      const skip = aborted !== null && isTransactional(attributes) && aborted.skip(buf, pos, lastOffset, isControl(attributes))
      if (!isControl(attributes) && !skip) {
        for (const r of iterateRecords(buf, pos)) {
          // A Fetch returns whole batches, which may start before the position asked for.
          if (r.offset < a.position) continue
          out.push({
            topic: a.topic,
            partition: a.partition,
            offset: r.offset,
            timestamp: r.timestamp,
            // The iterator slices Buffers, so these are Buffers typed as Uint8Array.
            key: r.key as Buffer | null,
            value: r.value as Buffer | null,
            headers: r.headers as RecordHeader[],
          })
        }
      }
      a.position = lastOffset + 1
    }
    pos += size
  }
}

/**
 * Walks one partition's aborted-transaction list alongside its batches: a producer's batches
 * are dropped from the first offset of its aborted transaction until its abort marker.
 */
function abortedTracker(list: FetchResponseAbortedTransaction[] | null) {
  const pending = list === null ? [] : [...list].sort((x, y) => x.firstOffset - y.firstOffset)
  let next = 0
  const abortedProducers = new Set<number>()
  return {
    skip(buf: Uint8Array, pos: number, lastOffset: number, control: boolean): boolean {
      while (next < pending.length && pending[next].firstOffset <= lastOffset) abortedProducers.add(pending[next++].producerId)
      const producerId = readBatchHeader(buf, pos).producerId
      if (control) {
        const marker = iterateRecords(buf, pos).next()
        if (!marker.done && readControlRecord(marker.value)?.type === ControlType.Abort) abortedProducers.delete(producerId)
        return true
      }
      return abortedProducers.has(producerId)
    },
  }
}
