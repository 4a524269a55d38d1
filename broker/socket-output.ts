// The write path of one connection when responses carry file ranges (storage/file-slice.ts): bytes
// go through Node's socket as always, ranges go from the segment file straight to the socket's
// descriptor with sendfile(2), and everything leaves in the order it was written.
//
// Before a range is sent, every byte Node has queued must be in the kernel (the callbacks of all
// earlier writes have run); while a range is being sent, later writes wait here. The socket is
// non-blocking: sendfile takes what fits in the socket's buffer and returns. When the buffer is
// full, the next piece of the range (RESUME_BYTES, copied) is written through Node, whose write
// waits for the socket to become writable again; its callback resumes sendfile. A slow reader so
// costs one small copy per wait and holds no thread.
import type { Socket } from 'node:net'
import { FileSlice, type SendfileFn } from '../storage/file-slice.js'

const RESUME_BYTES = 64 * 1024

const stats = { bytes: 0, waits: 0 }

/**
 * Since the process started: bytes sent with sendfile, and the times a socket's buffer was full
 * mid-range (its reader was slower than the broker).
 */
export function sendfileStats(): Readonly<{ bytes: number; waits: number }> {
  return { ...stats }
}

interface Queued {
  chunk: Uint8Array
  done: (() => void) | undefined
}

export class SocketOutput {
  private readonly queue: Queued[] = []
  /** Socket writes whose callbacks have not run. */
  private unacked = 0
  private failed = false

  constructor(
    private readonly socket: Socket,
    /** The socket's descriptor, or -1 when sendfile cannot be used on it. */
    private readonly fd: number,
    private readonly sendfile: SendfileFn | undefined,
    private readonly onError: (err: unknown) => void,
    /** Called when the last queued write has been handed on (see `pending`). */
    private readonly onIdle: () => void,
  ) {}

  /** True while writes wait here behind a file range. */
  get pending(): boolean {
    return this.queue.length > 0
  }

  /** The socket's descriptor when ranges can be sent with `sendfile`, else -1. */
  static descriptor(socket: Socket): number {
    const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd
    return typeof fd === 'number' && fd >= 0 ? fd : -1
  }

  /** Writes `chunk` after everything written before; `done` runs once the kernel has it. */
  write(chunk: Uint8Array, done?: () => void): void {
    if (this.failed) {
      if (chunk instanceof FileSlice) chunk.release()
      done?.()
      return
    }
    if (this.queue.length === 0 && !(chunk instanceof FileSlice)) {
      this.socketWrite(chunk, done)
      return
    }
    this.queue.push({ chunk, done })
    if (this.queue.length === 1) this.pump()
  }

  /** The socket is gone: ranges not sent are released, callbacks not run are run. */
  abort(): void {
    this.failed = true
    for (const q of this.queue.splice(0)) {
      if (q.chunk instanceof FileSlice) q.chunk.release()
      q.done?.()
    }
  }

  private socketWrite(chunk: Uint8Array, done: (() => void) | undefined): void {
    this.unacked++
    this.socket.write(chunk, (err) => {
      this.unacked--
      done?.()
      // A failed write means the socket is going: its descriptor may already be closed.
      if (err) this.abort()
      else if (this.unacked === 0 && this.queue.length > 0 && !this.failed) this.pump()
    })
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.failed) {
      const q = this.queue[0]!
      const slice = q.chunk
      if (!(slice instanceof FileSlice)) {
        this.queue.shift()
        this.socketWrite(slice, q.done)
        continue
      }
      // Node's queued bytes first; the last write's callback comes back here.
      if (this.unacked > 0) {
        if (this.socket.writableCorked > 0) this.socket.uncork()
        return
      }
      // Read each time: once the socket is destroyed its number may belong to another connection.
      const fd = this.fd < 0 || this.socket.destroyed ? -1 : SocketOutput.descriptor(this.socket)
      if (this.fd >= 0 && fd !== this.fd) {
        this.abort()
        return
      }
      try {
        if (this.sendfile === undefined || this.fd < 0) {
          // No sendfile on this socket: the range is copied and written like any bytes.
          this.socketWrite(slice.readNext(slice.size - slice.sent), undefined)
        } else {
          const n = this.sendfile(this.fd, slice.fd, slice.position + slice.sent, slice.size - slice.sent)
          slice.sent += n
          stats.bytes += n
          // The socket's buffer is full: Node writes the next piece when it is writable again.
          if (slice.sent < slice.size) {
            stats.waits++
            this.socketWrite(slice.readNext(RESUME_BYTES), undefined)
          }
        }
      } catch (err) {
        this.abort()
        this.onError(err)
        return
      }
      if (slice.sent < slice.size) return
      this.queue.shift()
      slice.release()
      q.done?.()
    }
    if (this.queue.length === 0 && !this.failed) this.onIdle()
  }
}
