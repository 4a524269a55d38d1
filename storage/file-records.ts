// FileRecords: the `.log` file of one segment, as Kafka's FileRecords: record batches back to back,
// read and written by byte position. It knows nothing of offsets.
//
// Concurrency: one thread. Small reads are synchronous pread; writes are pwrite, or pwritev on the
// libuv pool (writeAsync), one at a time: the owner starts the next only when the last settled.
// The descriptor is a FileHandle in the process's descriptor cache: opened on first use, possibly
// closed by the cache while the file is idle, and pinned by work on the libuv pool (writes, large
// reads, fsync), so closing or deleting the file meanwhile waits for that work and it never runs
// on a reused number.
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, MIN_BATCH_LENGTH, batchSizeAt } from '../protocol/record-batch.js'
import { type Descriptor, FileHandle } from './file-handle.js'
import type { FileIO } from './file-io.js'

/** Bytes of each batch a walk sees: the whole header, producer fields included. */
export const HEADER_PREFIX = BATCH_HEADER_SIZE
const WALK_CHUNK = 1 << 20
const SCAN_CHUNK = 8 << 20

/** Sees the header of the batch at `position` (`size` bytes) at `header[at]`; false stops the walk. */
export type BatchVisitor = (header: Buffer, at: number, position: number, size: number) => boolean

export class FileRecords {
  private readonly handle: FileHandle

  /** `existing`: the file is on disk and opened on first use; otherwise it is created now. */
  constructor(
    private readonly io: FileIO,
    readonly file: string,
    existing: boolean,
  ) {
    this.handle = new FileHandle(io, file, existing ? {} : { fresh: true, eager: true })
  }

  /** Bytes in the file (not necessarily whole batches: recovery decides that). */
  fileSize(): number {
    return this.io.fsize(this.handle.fd())
  }

  /** Fills `buf` from `position`; returns the bytes read, fewer at the end of the file. */
  readInto(buf: Buffer, position: number): number {
    const fd = this.handle.fd()
    const length = buf.length
    let got = 0
    while (got < length) {
      const n = this.io.read(fd, buf, got, length - got, position + got)
      if (n === 0) break
      got += n
    }
    return got
  }

  /** readInto() on the libuv pool. */
  async readIntoAsync(buf: Buffer, position: number): Promise<number> {
    const pin = this.handle.pin()
    const fd = pin.fd
    try {
      const length = buf.length
      let got = 0
      while (got < length) {
        const n = await this.io.readAsync(fd, buf, got, length - got, position + got)
        if (n === 0) break
        got += n
      }
      return got
    } finally {
      this.handle.unpin(pin)
    }
  }

  /** Walks batch headers from `position` to `end`, reading the file in large chunks. */
  walk(position: number, end: number, visit: BatchVisitor): void {
    let pos = position
    let buf: Buffer = Buffer.alloc(0)
    let bufStart = pos
    while (pos < end) {
      let rel = pos - bufStart
      if (rel + HEADER_PREFIX > buf.length) {
        buf = this.readChunk(pos, Math.min(end - pos, WALK_CHUNK))
        bufStart = pos
        rel = 0
        if (buf.length < HEADER_PREFIX) return
      }
      const size = batchSizeAt(buf, rel)
      if (!visit(buf, rel, pos, size)) return
      pos += size
    }
  }

  /**
   * Recovery's pass over the file: visits each whole batch from the start to `end`, its bytes at
   * `buf[at, at + size)`, until one's length does not fit or `visit` returns why it is not valid.
   * Returns the bytes of valid batches and, when it stopped early, the reason.
   */
  scan(end: number, visit: (buf: Buffer, at: number, position: number, size: number) => string | undefined): { validBytes: number; reason?: string } {
    let pos = 0
    let buf: Buffer = Buffer.alloc(0)
    let bufStart = 0
    while (pos < end) {
      if (end - pos < LOG_OVERHEAD) return { validBytes: pos, reason: `${end - pos} trailing bytes` }
      let rel = pos - bufStart
      if (rel + LOG_OVERHEAD > buf.length) {
        buf = this.readChunk(pos, Math.min(end - pos, SCAN_CHUNK))
        bufStart = pos
        rel = 0
      }
      const size = batchSizeAt(buf, rel)
      if (size < LOG_OVERHEAD + MIN_BATCH_LENGTH || pos + size > end) return { validBytes: pos, reason: `invalid batch length ${size - LOG_OVERHEAD}` }
      if (rel + size > buf.length) {
        buf = this.readChunk(pos, Math.min(end - pos, Math.max(size, SCAN_CHUNK)))
        bufStart = pos
        rel = 0
      }
      const reason = visit(buf, rel, pos, size)
      if (reason !== undefined) return { validBytes: pos, reason }
      pos += size
    }
    return { validBytes: pos }
  }

  private readChunk(position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length)
    return buf.subarray(0, this.readInto(buf, position))
  }

  /** Writes all of `data` at `position`; on failure cuts the file back to `position` (best effort). */
  write(data: Uint8Array, position: number): void {
    const fd = this.handle.fd()
    const len = data.length
    try {
      let written = 0
      while (written < len) written += this.io.write(fd, data, written, len - written, position + written)
    } catch (err) {
      try {
        this.io.ftruncate(fd, position)
      } catch {
        // the partition goes offline; recovery truncates the torn tail on the next open
      }
      throw err
    }
  }

  /**
   * write() of `chunks`, back to back, on the libuv pool. The chunks must stay unchanged until the
   * promise settles. On failure the file is cut back to `position` (best effort) and it rejects.
   */
  async writeAsync(chunks: readonly Uint8Array[], position: number): Promise<void> {
    const pin = this.handle.pin()
    try {
      let bufs = chunks
      let at = position
      for (;;) {
        const n = await this.io.writevAsync(pin.fd, bufs, at)
        at += n
        bufs = rest(bufs, n)
        if (bufs.length === 0) return
        // A short write (a nearly full disk): the next call writes the rest or reports why it
        // cannot. One that wrote nothing would loop forever, so that counts as the disk refusing.
        if (n === 0) throw Object.assign(new Error('ENOSPC: write made no progress'), { code: 'ENOSPC', syscall: 'writev' })
      }
    } catch (err) {
      try {
        this.io.ftruncate(pin.fd, position)
      } catch {
        // the partition goes offline; recovery truncates the torn tail on the next open
      }
      throw err
    } finally {
      this.handle.unpin(pin)
    }
  }

  truncateTo(size: number): void {
    this.io.ftruncate(this.handle.fd(), size)
  }

  /** fsync (`metadata`) or fdatasync, pinned so a close meanwhile cannot free the number. */
  flush(metadata: boolean): Promise<void> {
    return this.handle.sync(!metadata)
  }

  /** Keeps the descriptor open across asynchronous work until the matching unpin(). */
  pin(): Descriptor {
    return this.handle.pin()
  }

  unpin(pin: Descriptor): void {
    this.handle.unpin(pin)
  }

  /** Closes the descriptor now, or once the last pinned operation is done. */
  close(): void {
    this.handle.close()
  }

  /** Closes and removes the file. */
  delete(): void {
    this.close()
    if (this.io.stat(this.file) !== undefined) this.io.unlink(this.file)
  }
}

/** What is left of `bufs` after its first `n` bytes. */
function rest(bufs: readonly Uint8Array[], n: number): readonly Uint8Array[] {
  let i = 0
  while (i < bufs.length && n >= bufs[i]!.length) n -= bufs[i++]!.length
  if (i === bufs.length) return []
  const out = bufs.slice(i)
  if (n > 0) out[0] = out[0]!.subarray(n)
  return out
}
