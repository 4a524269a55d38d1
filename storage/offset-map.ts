// OffsetMap: the cleaner's map of the dirty section, key -> offset of its latest record, as Kafka's
// SkimpyOffsetMap. Its size is bounded by log.cleaner.dedupe.buffer.size: Kafka stores a 16-byte
// MD5 of each key and an 8-byte offset (24 bytes an entry) and fills the buffer to a load factor of
// 0.9; the capacity here is computed the same way. Keys of up to 16 bytes are stored as they are,
// longer ones by their MD5 digest (a collision is as unlikely as in Kafka).
import { createHash } from 'node:crypto'

const BYTES_PER_ENTRY = 24
const LOAD_FACTOR = 0.9
const HASH_SIZE = 16

export class OffsetMap {
  private readonly map = new Map<string, number>()
  readonly slots: number
  /** Offset after the last record put; -1 while empty. */
  latestOffset = -1

  constructor(memoryBytes: number) {
    this.slots = Math.max(1, Math.floor((memoryBytes * LOAD_FACTOR) / BYTES_PER_ENTRY))
  }

  get size(): number {
    return this.map.size
  }

  /** Whether `n` more keys certainly fit. */
  hasRoomFor(n: number): boolean {
    return this.map.size + n <= this.slots
  }

  put(key: Uint8Array, offset: number): void {
    this.map.set(mapKey(key), offset)
    if (offset > this.latestOffset) this.latestOffset = offset
  }

  /** The latest offset of `key`, or -1. */
  get(key: Uint8Array): number {
    return this.map.get(mapKey(key)) ?? -1
  }

  clear(): void {
    this.map.clear()
    this.latestOffset = -1
  }
}

function mapKey(key: Uint8Array): string {
  const b = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength)
  // The prefix keeps short raw keys and digests apart.
  if (b.length <= HASH_SIZE) return 'k' + b.toString('latin1')
  return 'h' + createHash('md5').update(b).digest().toString('latin1')
}
