// ProducerStateManager: one partition's idempotent/transactional producer state, as Kafka's
// ProducerStateManager keeps it. Per producer id: the epoch, the metadata of its last five batches
// (enough to answer a retried batch with its original offsets), its last timestamp, the epoch of
// the coordinator that last wrote a marker for it, and the first offset of its open transaction.
// Open transactions give the partition's first unstable offset, which bounds the last stable
// offset (LSO) read_committed consumers may read up to.
//
// Snapshots: `<20-digit offset>.snapshot` in the partition directory holds the state of every
// batch below that offset, in Kafka's format (big-endian):
//   version int16 (1), crc uint32 (CRC-32C of everything after it), entry count int32, then per
//   producer: producerId int64, epoch int16, lastSequence int32, lastOffset int64, offsetDelta
//   int32, timestamp int64, coordinatorEpoch int32, currentTxnFirstOffset int64 (46 bytes).
// Only the last batch of each producer survives a snapshot, as in Kafka. The owner rebuilds the
// rest by replaying batches after the snapshot (PartitionLog does this on open).
//
// Concurrency: owned by one PartitionLog on the event loop; check and update calls are made
// under the log's synchronous append, so no append can interleave between them.
import path from 'node:path'
import { crc32c } from '../protocol/crc32c.js'
import {
  isTransactional,
  readAttributes,
  readBaseSequence,
  readLastOffsetDelta,
  readMaxTimestamp,
  readProducerEpoch,
  readProducerId,
} from '../protocol/record-batch.js'
import { StorageError } from './errors.js'
import type { FileIO } from './file-io.js'
import type { AbortedTxn } from './txn-index.js'

export const SNAPSHOT_SUFFIX = '.snapshot'
const SNAPSHOT_VERSION = 1
const SNAPSHOT_ENTRY_SIZE = 46
const SNAPSHOT_HEADER_SIZE = 10
/** Batches remembered per producer for duplicate detection (Kafka's NUM_BATCHES_TO_RETAIN). */
export const BATCHES_TO_RETAIN = 5
const INT32_MAX = 2147483647

export class OutOfOrderSequenceError extends StorageError {
  constructor(message: string) {
    super('OUT_OF_ORDER_SEQUENCE_NUMBER', message)
  }
}

/** A write from an epoch older than the producer's current one (Kafka 2.7+: not fatal to the client). */
export class InvalidProducerEpochError extends StorageError {
  constructor(message: string) {
    super('INVALID_PRODUCER_EPOCH', message)
  }
}

export class InvalidTxnStateError extends StorageError {
  constructor(message: string) {
    super('INVALID_TXN_STATE', message)
  }
}

export class TransactionCoordinatorFencedError extends StorageError {
  constructor(message: string) {
    super('TRANSACTION_COORDINATOR_FENCED', message)
  }
}

export interface BatchMetadata {
  firstSeq: number
  lastSeq: number
  firstOffset: number
  lastOffset: number
}

export interface ProducerEntry {
  producerId: number
  producerEpoch: number
  /** Oldest first, at most BATCHES_TO_RETAIN. */
  batches: BatchMetadata[]
  lastTimestamp: number
  coordinatorEpoch: number
  /** -1 when no transaction is open on this partition. */
  currentTxnFirstOffset: number
}

/** What the append path reads from a producer batch's header. */
export interface ProducerBatch {
  producerId: number
  producerEpoch: number
  baseSequence: number
  lastOffsetDelta: number
  maxTimestamp: number
  transactional: boolean
}

/** The producer fields of the batch at `at`, or undefined for a batch without a producer id. */
export function producerBatchAt(b: Uint8Array, at: number): ProducerBatch | undefined {
  const producerId = readProducerId(b, at)
  if (producerId < 0) return undefined
  return {
    producerId,
    producerEpoch: readProducerEpoch(b, at),
    baseSequence: readBaseSequence(b, at),
    lastOffsetDelta: readLastOffsetDelta(b, at),
    maxTimestamp: readMaxTimestamp(b, at),
    transactional: isTransactional(readAttributes(b, at)),
  }
}

export interface TxnMarker {
  producerId: number
  producerEpoch: number
  coordinatorEpoch: number
  commit: boolean
  /** Offset of the marker itself. */
  offset: number
  timestamp: number
}

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from Int32.MAX to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  if (sequence > INT32_MAX - increment) return increment - (INT32_MAX - sequence) - 1
  return sequence + increment
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX)
}

export function snapshotFileName(offset: number): string {
  return String(offset).padStart(20, '0') + SNAPSHOT_SUFFIX
}

export interface ProducerStateOptions {
  dir: string
  io: FileIO
  /** producer.id.expiration.ms */
  expirationMs?: number
}

export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>()
  /** producerId -> first offset of its open transaction. */
  private readonly ongoing = new Map<number, number>()
  private readonly dir: string
  private readonly io: FileIO
  expirationMs: number
  /**
   * The offset of the newest snapshot file when the state has not changed since it was written or
   * loaded; a snapshot at that offset again would write the same bytes.
   */
  private unchangedSince: number | undefined

  constructor(opts: ProducerStateOptions) {
    this.dir = opts.dir
    this.io = opts.io
    this.expirationMs = opts.expirationMs ?? 86_400_000
  }

  get size(): number {
    return this.producers.size
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId)
  }

  activeProducers(): ProducerEntry[] {
    return [...this.producers.values()]
  }

  /** First offset of the oldest open transaction, or undefined when none is open. */
  firstUnstableOffset(): number | undefined {
    let min: number | undefined
    for (const first of this.ongoing.values()) if (min === undefined || first < min) min = first
    return min
  }

  hasOngoingTxn(producerId: number): boolean {
    return this.ongoing.has(producerId)
  }

  /**
   * Validates a client batch against the producer's state (Kafka's ProducerAppendInfo with
   * origin CLIENT). Returns the retained batch it duplicates, if any; throws the Kafka error
   * otherwise. Does not change any state.
   */
  check(b: ProducerBatch): BatchMetadata | undefined {
    const entry = this.producers.get(b.producerId)
    // KIP-360: a producer this partition does not know (new, or expired) may start at any sequence.
    if (entry === undefined) return undefined
    if (b.producerEpoch < entry.producerEpoch) {
      throw new InvalidProducerEpochError(
        `epoch ${b.producerEpoch} of producer ${b.producerId} is older than its current epoch ${entry.producerEpoch}`,
      )
    }
    const lastSeq = incrementSequence(b.baseSequence, b.lastOffsetDelta)
    if (b.producerEpoch === entry.producerEpoch) {
      for (const m of entry.batches) if (m.firstSeq === b.baseSequence && m.lastSeq === lastSeq && this.retryOf(b, entry, m)) return m
      const last = entry.batches[entry.batches.length - 1]
      const currentLastSeq = last === undefined ? -1 : last.lastSeq
      if (!inSequence(currentLastSeq, b.baseSequence)) {
        throw new OutOfOrderSequenceError(
          `producer ${b.producerId} epoch ${b.producerEpoch}: sequence ${b.baseSequence} does not follow ${currentLastSeq}`,
        )
      }
    } else if (b.baseSequence !== 0) {
      throw new OutOfOrderSequenceError(
        `producer ${b.producerId}: new epoch ${b.producerEpoch} must start at sequence 0, got ${b.baseSequence}`,
      )
    }
    if (!b.transactional && entry.currentTxnFirstOffset >= 0) {
      throw new InvalidTxnStateError(`producer ${b.producerId} has an open transaction; expected a transactional write`)
    }
    return undefined
  }

  /**
   * Whether `b`, whose sequences are those of the retained batch `m`, can be a retry of it. A
   * transactional batch retries only a batch of the transaction the producer has open here: once
   * a marker has ended the transaction `m` was written in, that write's fate is decided, and the
   * same sequences again are new data from a client that took back the sequences of a send it
   * thought failed although the batch was written (kafkajs 2.2 does, and then sends the next
   * transaction's record under them). Answering it with `m`'s offsets would acknowledge a record
   * that is not in the log, inside a transaction that then commits without it; it is out of
   * sequence instead. (Kafka's transaction version 2 gets the same by bumping the producer epoch
   * at every transaction end.)
   */
  private retryOf(b: ProducerBatch, entry: ProducerEntry, m: BatchMetadata): boolean {
    if (!b.transactional) return true
    return entry.currentTxnFirstOffset >= 0 && m.firstOffset >= entry.currentTxnFirstOffset
  }

  /** Records an appended producer batch (after check() on the client path; unchecked on replay). */
  update(b: ProducerBatch, firstOffset: number): void {
    this.unchangedSince = undefined
    let entry = this.producers.get(b.producerId)
    if (entry === undefined) {
      entry = {
        producerId: b.producerId,
        producerEpoch: b.producerEpoch,
        batches: [],
        lastTimestamp: -1,
        coordinatorEpoch: -1,
        currentTxnFirstOffset: -1,
      }
      this.producers.set(b.producerId, entry)
    } else if (entry.producerEpoch !== b.producerEpoch) {
      entry.producerEpoch = b.producerEpoch
      entry.batches.length = 0
    }
    if (entry.batches.length >= BATCHES_TO_RETAIN) entry.batches.shift()
    entry.batches.push({
      firstSeq: b.baseSequence,
      lastSeq: incrementSequence(b.baseSequence, b.lastOffsetDelta),
      firstOffset,
      lastOffset: firstOffset + b.lastOffsetDelta,
    })
    entry.lastTimestamp = b.maxTimestamp
    if (b.transactional && entry.currentTxnFirstOffset < 0) {
      entry.currentTxnFirstOffset = firstOffset
      this.ongoing.set(b.producerId, firstOffset)
    }
  }

  /** Validates a transaction marker from the coordinator; throws the Kafka error. */
  checkMarker(m: Omit<TxnMarker, 'offset' | 'timestamp'>): void {
    const entry = this.producers.get(m.producerId)
    if (entry === undefined) return
    if (m.producerEpoch < entry.producerEpoch) {
      throw new InvalidProducerEpochError(
        `marker epoch ${m.producerEpoch} of producer ${m.producerId} is older than its current epoch ${entry.producerEpoch}`,
      )
    }
    if (m.coordinatorEpoch < entry.coordinatorEpoch) {
      throw new TransactionCoordinatorFencedError(
        `marker coordinator epoch ${m.coordinatorEpoch} is older than ${entry.coordinatorEpoch} for producer ${m.producerId}`,
      )
    }
  }

  /**
   * Applies an appended marker: closes the producer's open transaction. Returns the entry for the
   * aborted-transaction index when it aborted a transaction that wrote to this partition.
   */
  completeTxn(m: TxnMarker): AbortedTxn | undefined {
    this.unchangedSince = undefined
    let entry = this.producers.get(m.producerId)
    if (entry === undefined) {
      entry = {
        producerId: m.producerId,
        producerEpoch: m.producerEpoch,
        batches: [],
        lastTimestamp: -1,
        coordinatorEpoch: m.coordinatorEpoch,
        currentTxnFirstOffset: -1,
      }
      this.producers.set(m.producerId, entry)
    } else if (entry.producerEpoch !== m.producerEpoch) {
      entry.producerEpoch = m.producerEpoch
      entry.batches.length = 0
    }
    const firstOffset = entry.currentTxnFirstOffset
    entry.currentTxnFirstOffset = -1
    entry.coordinatorEpoch = m.coordinatorEpoch
    entry.lastTimestamp = m.timestamp
    this.ongoing.delete(m.producerId)
    if (m.commit || firstOffset < 0) return undefined
    const lastStableOffset = this.firstUnstableOffset() ?? m.offset + 1
    return { producerId: m.producerId, firstOffset, lastOffset: m.offset, lastStableOffset }
  }

  /**
   * Drops producers idle for producer.id.expiration.ms (by their last batch timestamp, as Kafka)
   * that have no open transaction. Returns how many went.
   */
  removeExpired(now: number): number {
    let removed = 0
    for (const [id, e] of this.producers) {
      if (e.currentTxnFirstOffset < 0 && now - e.lastTimestamp >= this.expirationMs) {
        this.producers.delete(id)
        removed++
      }
    }
    if (removed > 0) this.unchangedSince = undefined
    return removed
  }

  clear(): void {
    this.unchangedSince = undefined
    this.producers.clear()
    this.ongoing.clear()
  }

  // ---- snapshots ------------------------------------------------------------------------------

  /** Offsets of the snapshot files present, ascending. */
  snapshotOffsets(): number[] {
    const out: number[] = []
    for (const name of this.io.readdir(this.dir)) {
      if (name.endsWith(SNAPSHOT_SUFFIX) && /^\d{20}\.snapshot$/.test(name)) out.push(Number(name.slice(0, 20)))
    }
    return out.sort((a, b) => a - b)
  }

  /**
   * Writes the state as `<offset>.snapshot` (temporary file, then rename). Returns the fsync of
   * the file, which callers may await (clean close) or leave to the background (segment roll).
   * Nothing is written when the newest snapshot is at `offset` and the state has not changed since
   * (as Kafka's takeSnapshot skips an offset it already has): a partition that took no producer
   * batches between two restarts, or closed right after a roll, costs no file, rename or fsyncs.
   */
  takeSnapshot(offset: number): Promise<void> {
    const file = path.join(this.dir, snapshotFileName(offset))
    if (this.unchangedSince === offset && this.io.stat(file) !== undefined) return Promise.resolve()
    this.unchangedSince = undefined
    const buf = this.encodeSnapshot()
    const tmp = file + '.tmp'
    const fd = this.io.open(tmp, 'w+')
    try {
      let off = 0
      while (off < buf.length) off += this.io.write(fd, buf, off, buf.length - off, off)
    } catch (err) {
      // A full disk: no half-written snapshot may keep the space (or be read back).
      this.io.close(fd)
      try {
        this.io.unlink(tmp)
      } catch {
        // the next open removes leftover temporary snapshots
      }
      throw err
    }
    const synced = this.io.fsync(fd).finally(() => this.io.close(fd))
    this.io.rename(tmp, file)
    this.unchangedSince = offset
    return synced.then(() => this.io.fsyncDir(this.dir))
  }

  /**
   * Replaces the in-memory state with the newest readable snapshot at or below `maxOffset` and
   * returns its offset (undefined: none, start from scratch). Snapshots above `maxOffset`, and
   * unreadable ones, are deleted: they describe records the log no longer holds.
   */
  loadLatestSnapshot(maxOffset: number): number | undefined {
    this.clear()
    const offsets = this.snapshotOffsets()
    for (let i = offsets.length - 1; i >= 0; i--) {
      const offset = offsets[i]!
      const file = path.join(this.dir, snapshotFileName(offset))
      if (offset > maxOffset) {
        this.io.unlink(file)
        continue
      }
      const data = this.io.readFile(file)
      if (data !== undefined && this.decodeSnapshot(data)) {
        this.unchangedSince = offset
        return offset
      }
      this.clear()
      this.io.unlink(file)
    }
    return undefined
  }

  /** Deletes snapshots below `offset`, keeping the newest one in any case. */
  deleteSnapshotsBelow(offset: number): void {
    const offsets = this.snapshotOffsets()
    for (let i = 0; i < offsets.length - 1; i++) {
      if (offsets[i]! < offset) this.io.unlink(path.join(this.dir, snapshotFileName(offsets[i]!)))
    }
  }

  deleteSnapshotsAbove(offset: number): void {
    if (this.unchangedSince !== undefined && this.unchangedSince > offset) this.unchangedSince = undefined
    for (const o of this.snapshotOffsets()) if (o > offset) this.io.unlink(path.join(this.dir, snapshotFileName(o)))
  }

  private encodeSnapshot(): Buffer {
    const buf = Buffer.alloc(SNAPSHOT_HEADER_SIZE + this.producers.size * SNAPSHOT_ENTRY_SIZE)
    buf.writeInt16BE(SNAPSHOT_VERSION, 0)
    buf.writeInt32BE(this.producers.size, 6)
    let p = SNAPSHOT_HEADER_SIZE
    for (const e of this.producers.values()) {
      const last = e.batches[e.batches.length - 1]
      buf.writeBigInt64BE(BigInt(e.producerId), p)
      buf.writeInt16BE(e.producerEpoch, p + 8)
      buf.writeInt32BE(last?.lastSeq ?? -1, p + 10)
      buf.writeBigInt64BE(BigInt(last?.lastOffset ?? -1), p + 14)
      buf.writeInt32BE(last === undefined ? 0 : last.lastOffset - last.firstOffset, p + 22)
      buf.writeBigInt64BE(BigInt(e.lastTimestamp), p + 26)
      buf.writeInt32BE(e.coordinatorEpoch, p + 34)
      buf.writeBigInt64BE(BigInt(e.currentTxnFirstOffset), p + 38)
      p += SNAPSHOT_ENTRY_SIZE
    }
    buf.writeUInt32BE(crc32c(buf.subarray(6)), 2)
    return buf
  }

  private decodeSnapshot(data: Buffer): boolean {
    if (data.length < SNAPSHOT_HEADER_SIZE || data.readInt16BE(0) !== SNAPSHOT_VERSION) return false
    if (data.readUInt32BE(2) !== crc32c(data.subarray(6))) return false
    const count = data.readInt32BE(6)
    if (count < 0 || data.length !== SNAPSHOT_HEADER_SIZE + count * SNAPSHOT_ENTRY_SIZE) return false
    let p = SNAPSHOT_HEADER_SIZE
    for (let i = 0; i < count; i++, p += SNAPSHOT_ENTRY_SIZE) {
      const producerId = Number(data.readBigInt64BE(p))
      const lastSeq = data.readInt32BE(p + 10)
      const lastOffset = Number(data.readBigInt64BE(p + 14))
      const offsetDelta = data.readInt32BE(p + 22)
      const currentTxnFirstOffset = Number(data.readBigInt64BE(p + 38))
      const batches: BatchMetadata[] = []
      if (lastSeq >= 0 && lastOffset >= 0) {
        batches.push({
          firstSeq: lastSeq - offsetDelta < 0 ? lastSeq - offsetDelta + INT32_MAX + 1 : lastSeq - offsetDelta,
          lastSeq,
          firstOffset: lastOffset - offsetDelta,
          lastOffset,
        })
      }
      this.producers.set(producerId, {
        producerId,
        producerEpoch: data.readInt16BE(p + 8),
        batches,
        lastTimestamp: Number(data.readBigInt64BE(p + 26)),
        coordinatorEpoch: data.readInt32BE(p + 34),
        currentTxnFirstOffset,
      })
      if (currentTxnFirstOffset >= 0) this.ongoing.set(producerId, currentTxnFirstOffset)
    }
    return true
  }
}
