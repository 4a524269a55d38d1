// OffsetIndex: the `.index` file of one segment. Entries are 8 bytes, big-endian: offset relative
// to the segment's baseOffset (int32) and byte position of a batch in the `.log` (int32). Sparse:
// one entry after every index.interval.bytes of log data, strictly increasing in both fields.
// While the segment is active the file is preallocated to segment.index.bytes, as Kafka does,
// and trimmed to its entries when the segment rolls or closes.
//
// Concurrency: owned by one LogSegment on one thread. Entries live in memory and are written to
// the file lazily (on flush, roll and close); recovery rebuilds the index of every segment it
// rescans, so an index that lags its log after a crash is never trusted.
import { isOutOfSpace } from './errors.js'
import { FileHandle } from './file-handle.js'
import type { FileIO } from './file-io.js'

export abstract class AbstractIndex {
  protected buf: Buffer
  protected count = 0
  protected persisted = 0
  private loaded: boolean
  /** The file's descriptor, from the process's descriptor cache; created on first write. */
  private readonly handle: FileHandle
  /** Active: the file is preallocated to maxIndexSize and takes appends. */
  private appending = false

  constructor(
    protected readonly io: FileIO,
    public file: string,
    public readonly baseOffset: number,
    protected readonly maxIndexSize: number,
    protected readonly entrySize: number,
    existing: boolean,
  ) {
    this.loaded = !existing
    this.buf = Buffer.allocUnsafe(existing ? 0 : entrySize * 64)
    this.handle = new FileHandle(io, file, { create: true, fresh: !existing })
  }

  get entries(): number {
    this.ensureLoaded()
    return this.count
  }

  get maxEntries(): number {
    return Math.floor(this.maxIndexSize / this.entrySize)
  }

  /** Full, or without room for `more` entries. */
  isFull(more = 0): boolean {
    return this.entries + more >= this.maxEntries
  }

  /** Bytes the trimmed file holds. */
  get sizeInBytes(): number {
    return this.entries * this.entrySize
  }

  protected ensureLoaded(): void {
    if (this.loaded) return
    this.loaded = true
    const data = this.io.readFile(this.file) ?? Buffer.alloc(0)
    let n = Math.floor(data.length / this.entrySize)
    // A preallocated file left by an unclean stop ends in zeros; those are not entries.
    while (n > 1 && this.isZeroEntry(data, n - 1)) n--
    if (n === 1 && this.isZeroEntry(data, 0) && data.length > this.entrySize) n = 0
    this.buf = data.length >= n * this.entrySize ? data : Buffer.alloc(0)
    this.count = n
    this.persisted = n
  }

  private isZeroEntry(data: Buffer, i: number): boolean {
    const at = i * this.entrySize
    for (let k = 0; k < this.entrySize; k++) if (data[at + k] !== 0) return false
    return true
  }

  protected reserve(): number {
    const at = this.count * this.entrySize
    if (at + this.entrySize > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.entrySize * 64, this.buf.length * 2))
      this.buf.copy(grown, 0, 0, at)
      this.buf = grown
    }
    return at
  }

  /** Opens the file for writing and preallocates it (active segment). */
  openForAppend(): void {
    if (this.appending) return
    this.ensureLoaded()
    this.appending = true
    this.io.ftruncate(this.handle.fd(), Math.max(this.maxEntries * this.entrySize, this.count * this.entrySize))
    this.persisted = Math.min(this.persisted, this.count)
  }

  /** Writes entries not yet in the file. */
  writePending(): void {
    if (this.persisted >= this.count) return
    const fd = this.handle.fd()
    const from = this.persisted * this.entrySize
    const to = this.count * this.entrySize
    let off = from
    while (off < to) off += this.io.write(fd, this.buf, off, to - off, off)
    this.persisted = this.count
  }

  /** Writes pending entries and cuts the file to exactly the entries (roll and close). */
  trimAndClose(): void {
    this.ensureLoaded()
    this.appending = false
    this.persisted = Math.min(this.persisted, this.count)
    try {
      this.writePending()
    } catch (err) {
      if (!isOutOfSpace(err)) throw err
      // A full disk (say, recovery at start-up): the entries stay in memory, where lookups find
      // them, and the next sync writes them; the file keeps a prefix, a sparser but valid index.
    }
    this.io.ftruncate(this.handle.fd(), this.persisted * this.entrySize)
    this.handle.release()
  }

  async sync(): Promise<void> {
    this.writePending()
    if (!this.handle.isOpen && this.io.stat(this.file) === undefined) return
    await this.handle.sync()
  }

  /** Drops every entry (before a rebuild). */
  reset(): void {
    this.loaded = true
    this.count = 0
    this.persisted = 0
    if (this.appending) {
      const fd = this.handle.fd()
      this.io.ftruncate(fd, 0)
      this.io.ftruncate(fd, this.maxEntries * this.entrySize)
    } else if (this.handle.isOpen || this.io.stat(this.file) !== undefined) {
      this.io.ftruncate(this.handle.fd(), 0)
    }
  }

  /** Keeps the first `n` entries. */
  protected truncateEntries(n: number): void {
    this.count = n
    if (this.persisted > n) {
      this.persisted = n
      if (this.appending) {
        // Zero the dropped entries so a crash cannot resurrect them.
        const fd = this.handle.fd()
        this.io.ftruncate(fd, n * this.entrySize)
        this.io.ftruncate(fd, this.maxEntries * this.entrySize)
      } else if (this.handle.isOpen || this.io.stat(this.file) !== undefined) {
        this.io.ftruncate(this.handle.fd(), n * this.entrySize)
      }
    }
  }

  /** Trims an active index; releases the descriptor for good (once pinned work is done). */
  close(): void {
    if (this.appending) this.trimAndClose()
    this.handle.close()
  }

  /** Closes and removes the file, without trimming it. */
  deleteFile(): void {
    this.appending = false
    this.handle.close()
    if (this.io.stat(this.file) !== undefined) this.io.unlink(this.file)
  }

  /** Kafka's sanity check on open: whole entries only, and the last entry not below the base. */
  abstract sanityCheck(): string | undefined
}

export class OffsetIndex extends AbstractIndex {
  static readonly ENTRY_SIZE = 8

  constructor(io: FileIO, file: string, baseOffset: number, maxIndexSize: number, existing: boolean) {
    super(io, file, baseOffset, maxIndexSize, OffsetIndex.ENTRY_SIZE, existing)
  }

  append(offset: number, position: number): void {
    const at = this.reserve()
    this.buf.writeInt32BE(offset - this.baseOffset, at)
    this.buf.writeInt32BE(position, at + 4)
    this.count++
  }

  get lastOffset(): number {
    const n = this.entries
    return n === 0 ? this.baseOffset : this.baseOffset + this.buf.readInt32BE((n - 1) * 8)
  }

  /** Position of the last entry with offset <= `offset`; 0 when there is none. */
  lookup(offset: number): { offset: number; position: number } {
    const n = this.entries
    const rel = offset - this.baseOffset
    let lo = 0
    let hi = n - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (this.buf.readInt32BE(mid * 8) <= rel) {
        found = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    if (found < 0) return { offset: this.baseOffset, position: 0 }
    return { offset: this.baseOffset + this.buf.readInt32BE(found * 8), position: this.buf.readInt32BE(found * 8 + 4) }
  }

  /** Removes entries for offsets >= `offset`. */
  truncateTo(offset: number): void {
    const n = this.entries
    let keep = n
    while (keep > 0 && this.baseOffset + this.buf.readInt32BE((keep - 1) * 8) >= offset) keep--
    this.truncateEntries(keep)
  }

  sanityCheck(): string | undefined {
    const st = this.io.stat(this.file)
    if (st === undefined) return 'missing'
    if (st.size % OffsetIndex.ENTRY_SIZE !== 0) return `size ${st.size} is not a multiple of ${OffsetIndex.ENTRY_SIZE}`
    const n = this.entries
    let prevRel = -1
    let prevPos = -1
    for (let i = 0; i < n; i++) {
      const rel = this.buf.readInt32BE(i * 8)
      const pos = this.buf.readInt32BE(i * 8 + 4)
      if (rel < 0 || pos < 0) return `entry ${i} is negative`
      if (i > 0 && (rel <= prevRel || pos <= prevPos)) return `entry ${i} does not increase`
      prevRel = rel
      prevPos = pos
    }
    return undefined
  }

  /** Largest position in the index (for checks against the log size). */
  get lastPosition(): number {
    const n = this.entries
    return n === 0 ? 0 : this.buf.readInt32BE((n - 1) * 8 + 4)
  }
}
