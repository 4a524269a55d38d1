// TimeIndex: the `.timeindex` file of one segment. Entries are 12 bytes, big-endian: a timestamp
// (int64) and the offset, relative to the segment's baseOffset (int32), of the batch where that
// timestamp was first reached. An entry is added only for a new maximum timestamp, at the same
// sparse points as the offset index, plus a final one when the segment rolls, so timestamps in
// the file strictly increase. Preallocated while active, trimmed on roll and close.
//
// Concurrency: owned by one LogSegment on one thread; written lazily like OffsetIndex.
import type { FileIO } from './file-io.js'
import { AbstractIndex } from './offset-index.js'

/** Kafka's RecordBatch.NO_TIMESTAMP. */
const NO_TIMESTAMP = -1

export class TimeIndex extends AbstractIndex {
  static readonly ENTRY_SIZE = 12

  constructor(io: FileIO, file: string, baseOffset: number, maxIndexSize: number, existing: boolean) {
    super(io, file, baseOffset, maxIndexSize, TimeIndex.ENTRY_SIZE, existing)
  }

  private timestampAt(i: number): number {
    return this.buf.readInt32BE(i * 12) * 4294967296 + this.buf.readUInt32BE(i * 12 + 4)
  }

  private offsetAt(i: number): number {
    return this.baseOffset + this.buf.readInt32BE(i * 12 + 8)
  }

  /** Last entry, or undefined for an empty index. */
  lastEntry(): { timestamp: number; offset: number } | undefined {
    const n = this.entries
    return n === 0 ? undefined : { timestamp: this.timestampAt(n - 1), offset: this.offsetAt(n - 1) }
  }

  /**
   * Appends only when `timestamp` is a new maximum; `force` ignores the full check (roll). As in
   * Kafka, an empty index's last entry counts as (no timestamp, -1): a segment that never took a
   * batch has no maximum timestamp (-1, at offset -1), and closing it must not write that as an
   * entry, which the next open would reject as below the base offset and rebuild.
   */
  maybeAppend(timestamp: number, offset: number, force = false): void {
    const n = this.entries
    if (timestamp <= (n > 0 ? this.timestampAt(n - 1) : NO_TIMESTAMP)) return
    if (n > 0 && offset < this.offsetAt(n - 1)) return
    if (!force && n >= this.maxEntries) return
    const at = this.reserve()
    // A batch may carry any int64; read into a double, INT64_MAX rounds up to 2^63, past what
    // the high word can hold. Such a timestamp is stored as INT64_MAX.
    const hi = Math.floor(timestamp / 4294967296)
    const clamped = hi > 0x7fffffff
    this.buf.writeInt32BE(clamped ? 0x7fffffff : hi, at)
    this.buf.writeUInt32BE(clamped ? 0xffffffff : timestamp - hi * 4294967296, at + 4)
    this.buf.writeInt32BE(offset - this.baseOffset, at + 8)
    this.count++
  }

  /** Offset of the last entry with timestamp <= `timestamp`; the base offset when there is none. */
  lookup(timestamp: number): number {
    let lo = 0
    let hi = this.entries - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.timestampAt(mid) <= timestamp) {
        found = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    return found < 0 ? this.baseOffset : this.offsetAt(found)
  }

  /** Removes entries for offsets >= `offset`. */
  truncateTo(offset: number): void {
    let keep = this.entries
    while (keep > 0 && this.offsetAt(keep - 1) >= offset) keep--
    this.truncateEntries(keep)
  }

  sanityCheck(): string | undefined {
    const st = this.io.stat(this.file)
    if (st === undefined) return 'missing'
    if (st.size % TimeIndex.ENTRY_SIZE !== 0) return `size ${st.size} is not a multiple of ${TimeIndex.ENTRY_SIZE}`
    const n = this.entries
    for (let i = 0; i < n; i++) {
      if (this.offsetAt(i) < this.baseOffset) return `entry ${i} is below the base offset`
      if (i > 0 && (this.timestampAt(i) <= this.timestampAt(i - 1) || this.offsetAt(i) < this.offsetAt(i - 1))) {
        return `entry ${i} does not increase`
      }
    }
    return undefined
  }
}
