// FileRecords: the `.log` file of one segment, as Kafka's FileRecords: record batches back to back,
// read and written by byte position. It owns the file descriptor and knows nothing of offsets.
//
// Concurrency: one thread. Writes and small reads are synchronous pread/pwrite. Work that runs on
// the libuv pool (large reads, fsync) pins the file: closing or deleting it meanwhile defers
// closing the descriptor until the last pinned operation is done, so a queued operation never
// runs on a number the kernel may have handed to another file.
import { BATCH_HEADER_SIZE, batchSizeAt } from '../protocol/record-batch.js'
import type { FileIO } from './file-io.js'

/** Bytes of each batch a walk sees: the whole header, producer fields included. */
export const HEADER_PREFIX = BATCH_HEADER_SIZE
const WALK_CHUNK = 1 << 20

/** Sees the header of the batch at `position` (`size` bytes) at `header[at]`; false stops the walk. */
export type BatchVisitor = (header: Buffer, at: number, position: number, size: number) => boolean

export class FileRecords {
  private fd: number
  /** Operations in flight on the libuv pool; while non-zero the descriptor stays open. */
  private pins = 0
  private closeWhenUnpinned = false

  constructor(
    private readonly io: FileIO,
    readonly file: string,
    existing: boolean,
  ) {
    this.fd = io.open(file, existing ? 'r+' : 'w+')
  }

  /** Bytes in the file (not necessarily whole batches: recovery decides that). */
  fileSize(): number {
    return this.io.fsize(this.fd)
  }

  /** Fills `buf` from `position`; returns the bytes read, fewer at the end of the file. */
  readInto(buf: Buffer, position: number): number {
    const length = buf.length
    let got = 0
    while (got < length) {
      const n = this.io.read(this.fd, buf, got, length - got, position + got)
      if (n === 0) break
      got += n
    }
    return got
  }

  /** readInto() on the libuv pool. */
  async readIntoAsync(buf: Buffer, position: number): Promise<number> {
    this.pins++
    try {
      const length = buf.length
      let got = 0
      while (got < length) {
        const n = await this.io.readAsync(this.fd, buf, got, length - got, position + got)
        if (n === 0) break
        got += n
      }
      return got
    } finally {
      this.unpin()
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
        buf = Buffer.allocUnsafe(Math.min(end - pos, WALK_CHUNK))
        buf = buf.subarray(0, this.readInto(buf, pos))
        bufStart = pos
        rel = 0
        if (buf.length < HEADER_PREFIX) return
      }
      const size = batchSizeAt(buf, rel)
      if (!visit(buf, rel, pos, size)) return
      pos += size
    }
  }

  /** Writes all of `data` at `position`; on failure cuts the file back to `position` (best effort). */
  write(data: Uint8Array, position: number): void {
    const len = data.length
    try {
      let written = 0
      while (written < len) written += this.io.write(this.fd, data, written, len - written, position + written)
    } catch (err) {
      try {
        this.io.ftruncate(this.fd, position)
      } catch {
        // the partition goes offline; recovery truncates the torn tail on the next open
      }
      throw err
    }
  }

  truncateTo(size: number): void {
    this.io.ftruncate(this.fd, size)
  }

  /** fsync (`metadata`) or fdatasync, pinned so a close meanwhile cannot free the number. */
  async flush(metadata: boolean): Promise<void> {
    this.pins++
    try {
      if (metadata) await this.io.fsync(this.fd)
      else await this.io.fdatasync(this.fd)
    } finally {
      this.unpin()
    }
  }

  /** Keeps the descriptor open across asynchronous work until the matching unpin(). */
  pin(): void {
    this.pins++
  }

  unpin(): void {
    this.pins--
    if (this.pins === 0 && this.closeWhenUnpinned) {
      this.closeWhenUnpinned = false
      this.close()
    }
  }

  /** Closes the descriptor now, or once the last pinned operation is done. */
  close(): void {
    if (this.fd < 0) return
    if (this.pins > 0) {
      this.closeWhenUnpinned = true
      return
    }
    this.io.close(this.fd)
    this.fd = -1
  }

  /** Closes and removes the file. */
  delete(): void {
    this.close()
    if (this.io.stat(this.file) !== undefined) this.io.unlink(this.file)
  }
}
