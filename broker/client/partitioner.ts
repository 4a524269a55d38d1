// Kafka's default partitioner (the Java client's BuiltInPartitioner): a keyed record goes to
// murmur2(key) mod the partition count, so every client that follows Java (librdkafka's
// murmur2_random, kafkajs's DefaultPartitioner) puts a key on the same partition; a keyless
// record sticks to one partition until that partition's batch is sealed (KIP-480), so batches
// fill up instead of spreading a few records over every partition.

export interface PartitionInfo {
  partition: number
  /** -1 when the partition has no leader. */
  leader: number
}

/** Java's Utils.murmur2: MurmurHash2, seed 0x9747b28c, over the key bytes. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  const m = 0x5bd1e995
  let h = 0x9747b28c ^ length
  const length4 = length >> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  // Java's switch falls through from 3 to 1.
  const tail = length & ~3
  const rest = length & 3
  if (rest === 3) h ^= data[tail + 2]! << 16
  if (rest >= 2) h ^= data[tail + 1]! << 8
  if (rest >= 1) {
    h ^= data[tail]!
    h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

/** The partition of a keyed record: toPositive(murmur2(key)) % partitions, as Java computes it. */
export function keyPartition(key: Uint8Array | string, numPartitions: number): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key
  return (murmur2(bytes) & 0x7fffffff) % numPartitions
}

/**
 * The default partitioner with its sticky state: `partition()` for each record, `batchSealed()`
 * when the accumulator closes a batch of a topic's sticky partition, which moves it on.
 */
export class DefaultPartitioner {
  private readonly sticky = new Map<string, number>()

  partition(topic: string, key: Uint8Array | string | null | undefined, partitions: readonly PartitionInfo[]): number {
    if (key !== null && key !== undefined) return keyPartition(key, partitions.length)
    const current = this.sticky.get(topic)
    if (current !== undefined && current < partitions.length) return current
    return this.next(topic, partitions, -1)
  }

  /** A batch of `partition` was sealed: a keyless record goes elsewhere next. */
  batchSealed(topic: string, partition: number, partitions: readonly PartitionInfo[]): void {
    if (this.sticky.get(topic) === partition) this.next(topic, partitions, partition)
  }

  /** A random partition with a leader other than `previous` (any partition when none has a leader). */
  private next(topic: string, partitions: readonly PartitionInfo[], previous: number): number {
    let candidates = 0
    for (const p of partitions) if (p.leader >= 0 && p.partition !== previous) candidates++
    let chosen: number
    if (candidates === 0) {
      chosen = partitions.length <= 1 ? 0 : (previous + 1 + Math.floor(Math.random() * (partitions.length - 1))) % partitions.length
    } else {
      let pick = Math.floor(Math.random() * candidates)
      chosen = 0
      for (const p of partitions) {
        if (p.leader < 0 || p.partition === previous) continue
        if (pick-- === 0) {
          chosen = p.partition
          break
        }
      }
    }
    this.sticky.set(topic, chosen)
    return chosen
  }
}
