// What a compacted log should hold, and what it does hold, for the cleaner's storage tests.
import { batchSizeAt, readLastOffset } from '../../protocol/record-batch.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import type { PartitionLog } from '../../storage/partition-log.js'

/** One record as written or as read back, with string keys and values. */
export interface Written {
  offset: number
  key: string
  value: string | null
  timestamp: number
}

/** Every record the log holds from its start, in offset order. */
export async function readAll(log: PartitionLog): Promise<Written[]> {
  const out: Written[] = []
  let next = log.logStartOffset
  while (next < log.logEndOffset) {
    const res = await log.read(next, 1 << 20)
    const buf = res.records
    if (buf.length === 0) break
    for (let pos = 0; pos < buf.length; pos += batchSizeAt(buf, pos)) {
      for (const r of iterateRecords(buf, pos)) {
        if (r.offset < next) continue
        out.push({ offset: r.offset, key: Buffer.from(r.key!).toString(), value: r.value === null ? null : Buffer.from(r.value).toString(), timestamp: r.timestamp })
      }
      next = readLastOffset(buf, pos) + 1
    }
    res.release()
  }
  return out
}

/** What compaction up to `end` keeps: the latest record of each key below `end`, and everything from `end` on. */
export function model(written: Written[], end: number): Written[] {
  const latest = new Map<string, number>()
  for (const w of written) if (w.offset < end) latest.set(w.key, w.offset)
  return written.filter((w) => w.offset >= end || latest.get(w.key) === w.offset)
}
