/**
 * Reusable buffers: for the segment reads that become Fetch responses (a log read hands its buffer
 * out as a Lease, see ReadResult) and for the connection's copies of requests that span socket
 * reads. A fresh buffer
 * for every read of a megabyte or two is external memory that makes V8 run a full collection every
 * few dozen megabytes, and fresh pages fault in on first touch; reusing them keeps consuming from a
 * backlog at page-cache copy speed.
 *
 * A leased buffer is given back with release() by whoever knows that no view of it is still in
 * use: the connection does so once the socket has taken the response bytes. A buffer never given
 * back is simply collected. Releasing a buffer twice, or one the pool did not lease, is a no-op,
 * so two leases can never share memory.
 */
/**
 * Pooled memory held by whoever has it until release(): a read of the log, a response carrying such
 * reads. Releasing more than once is a no-op; a lease never released is simply collected.
 */
export interface Lease {
  release(): void
}

export class BufferPool {
  private readonly free: Buffer[] = []
  private freeBytes = 0
  private readonly leased = new WeakSet<ArrayBuffer>()

  constructor(
    /** Smaller requests are plain allocations (Node's slab serves the smallest ones). */
    readonly minBytes = 64 * 1024,
    /** Larger requests are plain allocations and never pooled. */
    readonly maxBytes = 16 * 1024 * 1024,
    /** Bytes kept in free buffers at most; beyond that, released buffers are left to the GC. */
    readonly maxFreeBytes = 32 * 1024 * 1024,
  ) {}

  /** A buffer of exactly n bytes, from the pool when one of at most twice that size is free. */
  lease(n: number): Buffer {
    if (n < this.minBytes || n > this.maxBytes) return Buffer.allocUnsafe(n)
    const free = this.free
    let best = -1
    for (let i = 0; i < free.length; i++) {
      const len = free[i]!.length
      if (len >= n && len <= 2 * n && (best < 0 || len < free[best]!.length)) best = i
    }
    let b: Buffer
    if (best >= 0) {
      b = free[best]!
      free[best] = free[free.length - 1]!
      free.pop()
      this.freeBytes -= b.length
    } else {
      // Rounded up so that reads of nearly the same size share buffers.
      b = Buffer.allocUnsafeSlow(Math.ceil(n / this.minBytes) * this.minBytes)
    }
    this.leased.add(b.buffer as ArrayBuffer)
    return b.subarray(0, n)
  }

  /** True when `view` lies in a buffer this pool leased and that has not been released. */
  owns(view: Uint8Array): boolean {
    return this.leased.has(view.buffer as ArrayBuffer)
  }

  /** Gives back the buffer `view` lies in; the caller must hold no other view of it. */
  release(view: Uint8Array): void {
    const ab = view.buffer as ArrayBuffer
    if (!this.leased.delete(ab)) return
    if (this.freeBytes + ab.byteLength > this.maxFreeBytes) return
    this.free.push(Buffer.from(ab, 0, ab.byteLength))
    this.freeBytes += ab.byteLength
  }

  /** Free buffers and their bytes, for tests and diagnostics. */
  get stats(): { buffers: number; bytes: number } {
    return { buffers: this.free.length, bytes: this.freeBytes }
  }
}
