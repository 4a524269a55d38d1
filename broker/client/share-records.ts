// The records a ShareFetch hands a share consumer, and the acknowledgements it sends back.
//
// A ShareFetch partition answers whole stored batches plus the offset ranges this member acquired
// in them, each range with its delivery count; only records inside an acquired range are the
// member's (the rest of a batch may be held by others). Offsets inside an acquired range that have
// no record (control records, compacted-away offsets) are acknowledged as gaps, as Kafka's
// ShareCompletedFetch does, so the share partition can move past them.
//
// Acknowledgements travel as batches of consecutive offsets; consecutive offsets of one type go as
// one batch with a single type (Kafka's AcknowledgementBatch with one acknowledgeType).
import type { ShareFetchResponseAcquiredRecords } from '../../protocol/generated/share-fetch.js'
import { BATCH_HEADER_SIZE, isControl, LOG_OVERHEAD, readAttributes, readBatchLength, readLastOffset } from '../../protocol/record-batch.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import type { ConsumedRecord, RecordHeader } from './completed-fetch.js'

export interface ShareRecord extends ConsumedRecord {
  /** How many times the record has been delivered, this time included (1 the first time). */
  deliveryCount: number
}

/** accept: done; release: deliver again (to anyone); reject: never deliver again (archived). */
export type AcknowledgeType = 'accept' | 'release' | 'reject'

/** The wire numbers of acknowledgement types (KIP-932); 0 is a gap. */
export const ACK_TYPE = { gap: 0, accept: 1, release: 2, reject: 3 } as const

export interface AcknowledgementBatch {
  firstOffset: number
  lastOffset: number
  acknowledgeTypes: number[]
}

/**
 * The acquired records of one partition, in offset order, and the acquired offsets that hold no
 * record (to acknowledge as gaps).
 */
export function acquiredRecords(
  topic: string,
  partition: number,
  records: Uint8Array | null,
  acquired: readonly ShareFetchResponseAcquiredRecords[],
): { records: ShareRecord[]; gaps: number[] } {
  const ranges = [...acquired].sort((a, b) => a.firstOffset - b.firstOffset)
  const out: ShareRecord[] = []
  if (ranges.length === 0) return { records: out, gaps: [] }
  const buf = records ?? new Uint8Array(0)
  let r = 0
  for (let pos = 0; pos + LOG_OVERHEAD <= buf.length; ) {
    const size = LOG_OVERHEAD + readBatchLength(buf, pos)
    if (pos + size > buf.length || size < BATCH_HEADER_SIZE) break
    if (!isControl(readAttributes(buf, pos)) && readLastOffset(buf, pos) >= ranges[0].firstOffset) {
      for (const rec of iterateRecords(buf, pos)) {
        while (r < ranges.length && ranges[r].lastOffset < rec.offset) r++
        if (r === ranges.length) break
        if (rec.offset < ranges[r].firstOffset) continue
        out.push({
          topic,
          partition,
          offset: rec.offset,
          timestamp: rec.timestamp,
          key: rec.key as Buffer | null,
          value: rec.value as Buffer | null,
          headers: rec.headers as RecordHeader[],
          deliveryCount: ranges[r].deliveryCount,
        })
      }
    }
    pos += size
  }
  const seen = new Set(out.map((x) => x.offset))
  const gaps: number[] = []
  for (const range of ranges) for (let o = range.firstOffset; o <= range.lastOffset; o++) if (!seen.has(o)) gaps.push(o)
  return { records: out, gaps }
}

/** Offset -> type as acknowledgement batches: runs of consecutive offsets with one type. */
export function acknowledgementBatches(acks: ReadonlyMap<number, number>): AcknowledgementBatch[] {
  const offsets = [...acks.keys()].sort((a, b) => a - b)
  const out: AcknowledgementBatch[] = []
  let last: AcknowledgementBatch | null = null
  for (const o of offsets) {
    const type = acks.get(o)!
    if (last !== null && last.lastOffset === o - 1 && last.acknowledgeTypes[0] === type) last.lastOffset = o
    else out.push((last = { firstOffset: o, lastOffset: o, acknowledgeTypes: [type] }))
  }
  return out
}
