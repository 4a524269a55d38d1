// Memory held for Fetch responses across all connections (fetch.memory.max.bytes): the records read
// for a response, counted from the read until the socket has taken the response. A fetch reads at
// most what is left, and once nothing is left only its first batch (Kafka's rule for a request
// limit smaller than one batch), so clients that never read their responses cannot make the broker
// hold more than about this much, plus one batch per connection, while every fetch still advances.
import type { Lease } from '../storage/buffer-pool.js'
import type { ReadResult } from '../storage/partition-log.js'

export class FetchMemory {
  private held = 0

  constructor(readonly maxBytes: number) {}

  /** Bytes a fetch may still read. */
  get available(): number {
    return Math.max(0, this.maxBytes - this.held)
  }

  /** Bytes read for responses the sockets have not taken yet. */
  get heldBytes(): number {
    return this.held
  }

  /** A lease for the reads of one response, counted here from add() until release(). */
  lease(): FetchLease {
    return new FetchLease(this)
  }

  /** Counts bytes read for a response (FetchLease does, for its reads). */
  take(bytes: number): void {
    this.held += bytes
  }

  /** Stops counting bytes taken before. */
  give(bytes: number): void {
    this.held -= bytes
  }
}

export class FetchLease implements Lease {
  private readonly reads: ReadResult[] = []
  private bytes = 0

  constructor(private readonly memory: FetchMemory) {}

  get isEmpty(): boolean {
    return this.reads.length === 0
  }

  /** Holds a read with records until release(). */
  add(read: ReadResult): void {
    const n = read.records.length
    if (n === 0) return
    this.reads.push(read)
    this.bytes += n
    this.memory.take(n)
  }

  release(): void {
    for (const r of this.reads) r.release()
    this.reads.length = 0
    this.memory.give(this.bytes)
    this.bytes = 0
  }
}
