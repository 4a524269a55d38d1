// What the producer holds per partition (Kafka's RecordAccumulator, reduced): the open batch
// records are appended to, the sealed batches waiting to be sent in order, and how many are in
// flight. A batch is encoded once, when it is sealed, with its producer id, epoch and base
// sequence; a retry resends the same bytes, so the broker's sequence check sees the same batch.

import { encodeBatch, type RecordInput } from '../../protocol/record-batch-builder.js'

/** Part of one `send()` call that landed in a batch: `count` records from index `first` of the batch. */
interface Segment {
  call: SendCall
  first: number
  count: number
}

export interface SentBatch {
  topic: string
  partition: number
  /** Offset of the first record, or -1 when unknown (acks=0, a duplicate the broker had already). */
  baseOffset: number
  recordCount: number
}

/** One `send()`: settles once every batch holding its records has. */
export class SendCall {
  private pending = 0
  private failed = false
  readonly results: SentBatch[] = []
  readonly promise: Promise<SentBatch[]>
  private resolve!: (r: SentBatch[]) => void
  private reject!: (err: unknown) => void

  constructor() {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
  }

  added(): void {
    this.pending++
  }

  /** Called once all records are appended; resolves at once when there were none. */
  sealed(): void {
    if (this.pending === 0 && !this.failed) this.resolve(this.results)
  }

  done(result: SentBatch): void {
    if (this.failed) return
    this.results.push(result)
    if (--this.pending === 0) this.resolve(this.results)
  }

  fail(err: unknown): void {
    if (this.failed) return
    this.failed = true
    this.reject(err)
  }
}

/** Records appended to one partition's batch, then its encoded bytes once sealed. */
export class ProducerBatch {
  readonly records: RecordInput[] = []
  private readonly segments: Segment[] = []
  /** Uncompressed size estimate, for the batch size limit. */
  bytes = 0
  encoded: Buffer | null = null
  baseSequence = -1
  attempts = 0
  /** Not sent again before this time (ms since epoch) after a retriable failure. */
  retryAt = 0

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** Creation order, which is send order without idempotence. */
    readonly id: number,
  ) {}

  append(record: RecordInput, size: number, call: SendCall): void {
    const last = this.segments[this.segments.length - 1]
    if (last !== undefined && last.call === call) {
      last.count++
    } else {
      this.segments.push({ call, first: this.records.length, count: 1 })
      call.added()
    }
    this.records.push(record)
    this.bytes += size
  }

  seal(opts: { compression: number; producerId: number; producerEpoch: number; baseSequence: number }): void {
    this.baseSequence = opts.baseSequence
    this.encoded = encodeBatch(this.records, {
      compression: opts.compression,
      producerId: opts.producerId,
      producerEpoch: opts.producerEpoch,
      baseSequence: opts.baseSequence,
    })
  }

  complete(baseOffset: number): void {
    for (const s of this.segments) {
      s.call.done({ topic: this.topic, partition: this.partition, baseOffset: baseOffset < 0 ? -1 : baseOffset + s.first, recordCount: s.count })
    }
  }

  fail(err: unknown): void {
    for (const s of this.segments) s.call.fail(err)
  }
}

/** Size of a record in a batch, near enough to decide when a batch is full. */
export function estimateRecordSize(r: RecordInput): number {
  let size = 21 + sizeOf(r.key) + sizeOf(r.value)
  if (r.headers !== undefined) for (const h of r.headers) size += 2 + h.key.length + sizeOf(h.value)
  return size
}

function sizeOf(v: Uint8Array | string | null | undefined): number {
  return v == null ? 0 : typeof v === 'string' ? v.length * 3 : v.length
}

/** One partition's batches: the open one, the sealed ones in send order, and how many are in flight. */
export class PartitionQueue {
  open: ProducerBatch | null = null
  readonly ready: ProducerBatch[] = []
  inFlight = 0
  nextSequence = 0
  /** Set after a retriable failure: one batch at a time until the retried ones are through, so order holds. */
  retrying = false
  leader = -1

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Puts a failed batch back before every later batch (by sequence, or creation order). */
  requeue(batch: ProducerBatch): void {
    const key = (b: ProducerBatch) => (b.baseSequence >= 0 ? b.baseSequence : b.id)
    let i = 0
    while (i < this.ready.length && key(this.ready[i]!) < key(batch)) i++
    this.ready.splice(i, 0, batch)
    this.retrying = true
  }
}
