// TxnIndex: a segment's `<20-digit baseOffset>.txnindex`, Kafka's aborted-transaction index. One
// 34-byte big-endian entry per transaction whose abort marker lies in the segment, in marker order:
//   0 version int16 (0)   2 producerId int64   10 firstOffset int64   18 lastOffset int64
//  26 lastStableOffset int64 (the partition's LSO once this abort completed)
// read_committed fetches use it to tell consumers which producers' records in the fetched range
// to drop. The file is created on the first entry, so segments without aborts have none.
//
// Concurrency: owned by one LogSegment on the event loop. Entries are loaded once and kept in
// memory (they are few); appends write through synchronously and are fsynced with the segment.
import { FileHandle } from './file-handle.js'
import type { FileIO } from './file-io.js'

export const TXN_INDEX_SUFFIX = '.txnindex'
export const ABORTED_TXN_SIZE = 34
const VERSION = 0

export interface AbortedTxn {
  producerId: number
  firstOffset: number
  lastOffset: number
  lastStableOffset: number
}

export class TxnIndex {
  private entries: AbortedTxn[] | undefined
  /** From the process's descriptor cache; the file is created by the first entry. */
  private readonly handle: FileHandle
  private dirty = false

  constructor(
    private readonly io: FileIO,
    readonly file: string,
  ) {
    this.handle = new FileHandle(io, file, { create: true })
  }

  /** Every entry, oldest first. */
  all(): readonly AbortedTxn[] {
    return this.load()
  }

  get isEmpty(): boolean {
    return this.load().length === 0
  }

  append(e: AbortedTxn): void {
    const entries = this.load()
    const last = entries[entries.length - 1]
    if (last !== undefined && e.lastOffset <= last.lastOffset) {
      throw new Error(`aborted transaction ending at ${e.lastOffset} is not after the last indexed one (${last.lastOffset})`)
    }
    const buf = Buffer.allocUnsafe(ABORTED_TXN_SIZE)
    buf.writeInt16BE(VERSION, 0)
    writeLong(buf, 2, e.producerId)
    writeLong(buf, 10, e.firstOffset)
    writeLong(buf, 18, e.lastOffset)
    writeLong(buf, 26, e.lastStableOffset)
    const fd = this.openForWrite()
    const at = entries.length * ABORTED_TXN_SIZE
    let written = 0
    while (written < ABORTED_TXN_SIZE) written += this.io.write(fd, buf, written, ABORTED_TXN_SIZE - written, at + written)
    entries.push({ ...e })
    this.dirty = true
  }

  /** True when an entry for this producer ends at `lastOffset` (replay after a crash may revisit markers). */
  has(producerId: number, lastOffset: number): boolean {
    for (const e of this.load()) if (e.lastOffset === lastOffset && e.producerId === producerId) return true
    return false
  }

  /**
   * Adds to `out` the aborted transactions overlapping [fetchOffset, upperBoundOffset). Returns
   * true when no later segment can hold one that matters: an entry here already completed at or
   * beyond the upper bound (Kafka's TxnIndexSearchResult.isComplete).
   */
  collect(fetchOffset: number, upperBoundOffset: number, out: AbortedTxn[]): boolean {
    for (const e of this.load()) {
      if (e.lastOffset >= fetchOffset && e.firstOffset < upperBoundOffset) out.push(e)
      if (e.lastStableOffset >= upperBoundOffset) return true
    }
    return false
  }

  /** Drops entries whose abort marker is at or after `offset`. */
  truncateTo(offset: number): void {
    const entries = this.load()
    let keep = entries.length
    while (keep > 0 && entries[keep - 1]!.lastOffset >= offset) keep--
    if (keep === entries.length) return
    entries.length = keep
    if (keep === 0) {
      this.removeFile()
      return
    }
    this.io.ftruncate(this.openForWrite(), keep * ABORTED_TXN_SIZE)
    this.dirty = true
  }

  /** Forgets every entry and removes the file (a rescan rebuilds them). */
  reset(): void {
    this.entries = []
    this.removeFile()
  }

  async sync(): Promise<void> {
    if (!this.dirty) return
    this.dirty = false
    await this.handle.sync()
  }

  /** Closes the descriptor for good (once pinned work is done). */
  close(): void {
    this.handle.close()
  }

  delete(): void {
    this.close()
    if (this.io.stat(this.file) !== undefined) this.io.unlink(this.file)
    this.entries = []
  }

  private removeFile(): void {
    this.handle.detach()
    if (this.io.stat(this.file) !== undefined) this.io.unlink(this.file)
    this.dirty = false
  }

  private openForWrite(): number {
    return this.handle.fd()
  }

  private load(): AbortedTxn[] {
    if (this.entries !== undefined) return this.entries
    const entries: AbortedTxn[] = []
    const data = this.io.readFile(this.file)
    if (data !== undefined) {
      // A torn trailing entry (crash mid-write) is ignored; the replay after recovery re-adds it.
      const whole = data.length - (data.length % ABORTED_TXN_SIZE)
      for (let p = 0; p < whole; p += ABORTED_TXN_SIZE) {
        if (data.readInt16BE(p) !== VERSION) break
        entries.push({
          producerId: readLong(data, p + 2),
          firstOffset: readLong(data, p + 10),
          lastOffset: readLong(data, p + 18),
          lastStableOffset: readLong(data, p + 26),
        })
      }
      if (entries.length * ABORTED_TXN_SIZE !== data.length) {
        this.entries = entries
        this.io.ftruncate(this.openForWrite(), entries.length * ABORTED_TXN_SIZE)
        return entries
      }
    }
    this.entries = entries
    return entries
  }
}

function writeLong(buf: Buffer, at: number, v: number): void {
  buf.writeBigInt64BE(BigInt(v), at)
}

function readLong(buf: Buffer, at: number): number {
  return Number(buf.readBigInt64BE(at))
}
