// Where committed offsets are kept: the part of the broker's MetadataStore (lmdb) the offset
// manager uses, and a view of one group's offsets by topic and partition. The store commits each
// call atomically; reads are synchronous lmdb lookups, so nothing is cached here and a restarted
// broker sees exactly what was acknowledged. An offset's expireTimestamp is -1 unless it was
// committed with an explicit retention time (OffsetCommit v2-4).
import { parseOffsetKey, type CommittedOffset } from '../../storage/metadata-store.js'

export type { CommittedOffset }

export interface TopicPartitionFilter {
  topic: string
  partition?: number
}

/** The part of storage/metadata-store.ts the offset manager uses. */
export interface OffsetStore {
  commitOffsets(group: string, entries: Array<{ topic: string; partition: number } & CommittedOffset>): Promise<void>
  fetchOffsets(group: string): Map<string, CommittedOffset>
  deleteOffsets(group: string, filter?: TopicPartitionFilter[]): Promise<number>
  listOffsetGroups(): string[]
}

/**
 * Where transactional offsets wait for their transaction's outcome, per group and producer id, so
 * an outcome arriving after a restart or a coordinator move still finds them. Without one they are
 * kept in memory only.
 */
export interface PendingOffsetStore {
  pendingOffsets(groupId: string): Record<string, PendingOffset[]> | undefined
  /** Replaces the group's pending offsets; null (or none left) removes them. */
  putPendingOffsets(groupId: string, byProducer: Record<string, PendingOffset[]> | null): Promise<void>
}

export type PendingOffset = { topic: string; partition: number } & CommittedOffset

export type OffsetsByTopic = Map<string, Map<number, CommittedOffset>>

export class GroupOffsets {
  constructor(private readonly store: OffsetStore) {}

  groupIds(): string[] {
    return this.store.listOffsetGroups()
  }

  read(groupId: string): OffsetsByTopic {
    const out: OffsetsByTopic = new Map()
    for (const [key, value] of this.store.fetchOffsets(groupId)) {
      const tp = parseOffsetKey(key)
      let partitions = out.get(tp.topic)
      if (partitions === undefined) out.set(tp.topic, (partitions = new Map()))
      partitions.set(tp.partition, value)
    }
    return out
  }

  commit(groupId: string, entries: Array<{ topic: string; partition: number } & CommittedOffset>): Promise<void> {
    return this.store.commitOffsets(groupId, entries)
  }

  /** Deletes the listed partitions' offsets, or all of the group's offsets without a filter. */
  delete(groupId: string, filter?: TopicPartitionFilter[]): Promise<number> {
    return this.store.deleteOffsets(groupId, filter)
  }
}
