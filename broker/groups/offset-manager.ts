// The offset manager, Kafka's OffsetMetadataManager: committed offsets (OffsetCommit, OffsetFetch,
// OffsetDelete), transactional offsets (TxnOffsetCommit) and offset expiry, for every kind of
// group. It reaches groups only through the `Group` interface, which decides whether a commit is
// valid and which offsets may expire; the groups themselves belong to the coordinator shell.
//
// Transactional offsets wait per group and producer id until the transaction coordinator reports
// the outcome: a commit materialises them as committed offsets, an abort drops them. Until then
// OffsetFetch with require_stable reports UNSTABLE_OFFSET_COMMIT for them. They are kept under
// one key of the metadata store's key-value space (storage/metadata-keys.ts) so an outcome
// arriving after a restart still finds them; committed offsets are the store's own database. Single-threaded: only store writes and deletes wait.
//
// A write the store refuses (a full disk) answers NOT_COORDINATOR, as Kafka's GroupMetadataManager
// turns a KAFKA_STORAGE_ERROR from its offsets log; clients find the coordinator again and retry.
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import { KafkaStorageError } from '../../storage/errors.js'
import type { Group, GroupRegistry } from './group.js'
import {
  GroupOffsets,
  type CommittedOffset,
  type OffsetStore,
  type PendingOffset,
  type PendingOffsetStore,
  type TopicPartitionFilter,
} from './offset-store.js'
import type {
  FetchedOffset,
  GroupCoordinatorConfig,
  OffsetCommitParams,
  OffsetDeleteResult,
  OffsetFetchResult,
  PartitionResult,
  TopicCatalog,
  TopicResult,
  TxnOffsetCommitParams,
} from './types.js'

/** How the offset manager reaches the groups: the coordinator shell. */
export interface OffsetGroups extends Pick<GroupRegistry, 'refusal' | 'now' | 'get'> {
  /** The group with this id, or a new Empty classic group for offsets stored without one. */
  getOrCreateSimpleGroup(groupId: string): Group
}

export interface OffsetManagerOptions {
  store: OffsetStore & Partial<PendingOffsetStore>
  groups: OffsetGroups
  catalog: TopicCatalog | undefined
  config: GroupCoordinatorConfig
  logger: Logger
}

export class OffsetManager {
  private readonly offsets: GroupOffsets
  /** groupId -> producerId -> offsets awaiting the transaction's outcome, one per partition. */
  private readonly pendingTxnOffsets = new Map<string, Map<number, Map<string, PendingOffset>>>()
  private readonly pendingStore: PendingOffsetStore | undefined
  private readonly groups: OffsetGroups
  private readonly catalog: TopicCatalog | undefined
  private readonly config: GroupCoordinatorConfig
  private readonly logger: Logger

  constructor(opts: OffsetManagerOptions) {
    this.offsets = new GroupOffsets(opts.store)
    const store = opts.store
    this.pendingStore = typeof store.pendingOffsets === 'function' && typeof store.putPendingOffsets === 'function' ? (store as PendingOffsetStore) : undefined
    this.groups = opts.groups
    this.catalog = opts.catalog
    this.config = opts.config
    this.logger = opts.logger
  }

  /** Groups with committed offsets; they outlive a restart as Empty groups. */
  committedGroupIds(): string[] {
    return this.offsets.groupIds()
  }

  /** Groups with transactional offsets waiting for their outcome. */
  pendingGroupIds(): string[] {
    return [...this.pendingTxnOffsets.keys()]
  }

  // ---- OffsetCommit ---------------------------------------------------------------------------

  async commitOffsets(p: OffsetCommitParams): Promise<TopicResult[]> {
    const all = (errorCode: number): TopicResult[] => everyPartition(p.topics, errorCode)
    const refused = this.groups.refusal(p.groupId)
    if (refused !== ErrorCode.NONE) return all(refused)
    let group = this.groups.get(p.groupId)
    if (group === undefined) {
      // generation -1: a consumer that manages its own partitions (or an admin tool) only stores
      // offsets here; such a "simple" group stays Empty.
      if (p.generationId >= 0) return all(p.reportUnknownGroup ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION)
      group = this.groups.getOrCreateSimpleGroup(p.groupId)
    }
    const invalid = group.validateOffsetCommit(p)
    if (invalid !== ErrorCode.NONE) return all(invalid)
    const now = this.groups.now()
    group.onOffsetCommit(p.memberId, now)

    const results: TopicResult[] = []
    const entries: Array<{ topic: string; partition: number } & CommittedOffset> = []
    const accepted: PartitionResult[] = []
    for (const t of p.topics) {
      const partitions: PartitionResult[] = []
      for (const q of t.partitions) {
        const r: PartitionResult = { partitionIndex: q.partitionIndex, errorCode: ErrorCode.NONE }
        partitions.push(r)
        const refusedPartition = group.commitPartitionError?.(p.memberId, p.generationId, t.name, q.partitionIndex) ?? ErrorCode.NONE
        if (refusedPartition !== ErrorCode.NONE) {
          r.errorCode = refusedPartition
        } else if (!this.partitionExists(t.name, q.partitionIndex)) {
          r.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        } else if (q.committedMetadata !== null && Buffer.byteLength(q.committedMetadata) > this.config.offsetMetadataMaxBytes) {
          r.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE
        } else {
          const commitTimestamp = q.commitTimestamp !== undefined && q.commitTimestamp >= 0 ? q.commitTimestamp : now
          entries.push({
            topic: t.name,
            partition: q.partitionIndex,
            offset: q.committedOffset,
            leaderEpoch: q.committedLeaderEpoch,
            metadata: q.committedMetadata ?? '',
            commitTimestamp,
            expireTimestamp: p.retentionTimeMs >= 0 ? commitTimestamp + p.retentionTimeMs : -1,
          })
          accepted.push(r)
        }
      }
      results.push({ name: t.name, partitions })
    }
    if (entries.length > 0) {
      try {
        await this.offsets.commit(p.groupId, entries)
        // The retention check may have dropped the simple group while the write was in flight.
        this.groups.getOrCreateSimpleGroup(p.groupId)
      } catch (err) {
        this.logger.error({ err, groupId: p.groupId }, 'storing committed offsets failed')
        for (const r of accepted) r.errorCode = storeFailureCode(err)
      }
    }
    return results
  }

  // ---- Transactional offsets ------------------------------------------------------------------

  /** TxnOffsetCommit: validates like Kafka's doTxnCommitOffsets and parks the offsets. */
  async commitTransactionalOffsets(p: TxnOffsetCommitParams): Promise<TopicResult[]> {
    const all = (errorCode: number): TopicResult[] => everyPartition(p.topics, errorCode)
    const refused = this.groups.refusal(p.groupId)
    if (refused !== ErrorCode.NONE) return all(refused)
    const group = this.groups.getOrCreateSimpleGroup(p.groupId)
    const invalid = group.validateTxnOffsetCommit(p)
    if (invalid !== ErrorCode.NONE) return all(invalid)
    const now = this.groups.now()
    let byProducer = this.pendingTxnOffsets.get(p.groupId)
    const staged = new Map<string, PendingOffset>(byProducer?.get(p.producerId) ?? [])
    const results: TopicResult[] = []
    for (const t of p.topics) {
      const partitions: PartitionResult[] = []
      for (const q of t.partitions) {
        const r: PartitionResult = { partitionIndex: q.partitionIndex, errorCode: ErrorCode.NONE }
        partitions.push(r)
        const refusedPartition = group.commitPartitionError?.(p.memberId, p.generationId, t.name, q.partitionIndex) ?? ErrorCode.NONE
        if (refusedPartition !== ErrorCode.NONE) r.errorCode = refusedPartition
        else if (!this.partitionExists(t.name, q.partitionIndex)) r.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        else if (q.committedMetadata !== null && Buffer.byteLength(q.committedMetadata) > this.config.offsetMetadataMaxBytes) {
          r.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE
        } else {
          staged.set(`${t.name}\u0000${q.partitionIndex}`, {
            topic: t.name,
            partition: q.partitionIndex,
            offset: q.committedOffset,
            leaderEpoch: q.committedLeaderEpoch,
            metadata: q.committedMetadata ?? '',
            commitTimestamp: now,
            expireTimestamp: -1,
          })
        }
      }
      results.push({ name: t.name, partitions })
    }
    if (byProducer === undefined) this.pendingTxnOffsets.set(p.groupId, (byProducer = new Map()))
    const previous = byProducer.get(p.producerId)
    byProducer.set(p.producerId, staged)
    try {
      await this.persistPendingTxnOffsets(p.groupId)
    } catch (err) {
      this.logger.error({ err, groupId: p.groupId }, 'storing transactional offsets failed')
      // Not stored, so not pending: what the transaction had staged before stays.
      if (previous !== undefined) byProducer.set(p.producerId, previous)
      else byProducer.delete(p.producerId)
      if (byProducer.size === 0 && this.pendingTxnOffsets.get(p.groupId) === byProducer) this.pendingTxnOffsets.delete(p.groupId)
      return all(storeFailureCode(err))
    }
    return results
  }

  /**
   * The transaction of `producerId` ended: on commit its offsets for the group become committed
   * offsets, on abort they are dropped. Safe to call again after a restart.
   */
  async completeTransactionalOffsets(groupId: string, producerId: number, commit: boolean): Promise<void> {
    const byProducer = this.pendingTxnOffsets.get(groupId)
    const pending = byProducer?.get(producerId)
    if (byProducer === undefined || pending === undefined) return
    if (commit && pending.size > 0) {
      await this.offsets.commit(groupId, [...pending.values()])
      this.groups.getOrCreateSimpleGroup(groupId)
    }
    byProducer.delete(producerId)
    if (byProducer.size === 0) this.pendingTxnOffsets.delete(groupId)
    await this.persistPendingTxnOffsets(groupId)
  }

  /** True when a transaction has an offset for this partition waiting for its outcome. */
  hasPendingTransactionalOffset(groupId: string, topic: string, partition: number): boolean {
    const byProducer = this.pendingTxnOffsets.get(groupId)
    if (byProducer === undefined) return false
    const key = `${topic}\u0000${partition}`
    for (const offsets of byProducer.values()) if (offsets.has(key)) return true
    return false
  }

  /** Reads the group's stored transactional offsets into memory (at start, or when its partition is loaded). */
  restorePending(groupId: string): boolean {
    const saved = this.pendingStore?.pendingOffsets(groupId)
    if (saved === undefined) return false
    const byProducer = new Map<number, Map<string, PendingOffset>>()
    for (const [pid, entries] of Object.entries(saved)) {
      byProducer.set(Number(pid), new Map(entries.map((e) => [`${e.topic}\u0000${e.partition}`, e])))
    }
    if (byProducer.size > 0) this.pendingTxnOffsets.set(groupId, byProducer)
    return byProducer.size > 0
  }

  /** Forgets the group's transactional offsets in memory (its coordinator moved); the store keeps them. */
  forget(groupId: string): void {
    this.pendingTxnOffsets.delete(groupId)
  }

  private persistPendingTxnOffsets(groupId: string): Promise<void> {
    if (this.pendingStore === undefined) return Promise.resolve()
    const byProducer = this.pendingTxnOffsets.get(groupId)
    if (byProducer === undefined || byProducer.size === 0) return this.pendingStore.putPendingOffsets(groupId, null)
    const producers: Record<string, PendingOffset[]> = {}
    for (const [pid, offsets] of byProducer) producers[String(pid)] = [...offsets.values()]
    return this.pendingStore.putPendingOffsets(groupId, producers)
  }

  // ---- OffsetFetch and OffsetDelete -----------------------------------------------------------

  /**
   * Committed offsets of a group; `topics` null asks for every partition with an offset. A
   * partition without one answers offset -1. Without transactional offsets every offset is stable.
   */
  fetchOffsets(
    groupId: string,
    topics: Array<{ name: string; partitionIndexes: number[] }> | null,
    requireStable = false,
  ): OffsetFetchResult {
    const refused = this.groups.refusal(groupId)
    if (refused !== ErrorCode.NONE) return { errorCode: refused, topics: [] }
    const stored = this.offsets.read(groupId)
    const checkPending = requireStable && this.pendingTxnOffsets.has(groupId)
    const fetched = (topic: string, partitionIndex: number, o: CommittedOffset | undefined): FetchedOffset => {
      if (checkPending && this.hasPendingTransactionalOffset(groupId, topic, partitionIndex)) {
        return { partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT }
      }
      return {
        partitionIndex,
        committedOffset: o?.offset ?? -1,
        committedLeaderEpoch: o?.leaderEpoch ?? -1,
        metadata: o?.metadata ?? '',
        errorCode: ErrorCode.NONE,
      }
    }
    if (topics === null) {
      const names = [...stored.keys()].sort()
      return {
        errorCode: ErrorCode.NONE,
        topics: names.map((name) => {
          const partitions = stored.get(name)!
          const ids = [...partitions.keys()].sort((a, b) => a - b)
          return { name, partitions: ids.map((i) => fetched(name, i, partitions.get(i))) }
        }),
      }
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => {
        const partitions = stored.get(t.name)
        return { name: t.name, partitions: t.partitionIndexes.map((i) => fetched(t.name, i, partitions?.get(i))) }
      }),
    }
  }

  /** KIP-496: deletes offsets of topics the group no longer consumes. */
  async deleteOffsets(groupId: string, topics: Array<{ name: string; partitions: Array<{ partitionIndex: number }> }>): Promise<OffsetDeleteResult> {
    const refused = this.groups.refusal(groupId)
    if (refused !== ErrorCode.NONE) return { errorCode: refused, topics: [] }
    const group = this.groups.get(groupId)
    const invalid = group === undefined ? ErrorCode.GROUP_ID_NOT_FOUND : group.validateOffsetDelete()
    if (group === undefined || invalid !== ErrorCode.NONE) return { errorCode: invalid, topics: [] }
    const subscribed = group.subscribedTopics()
    const filter: TopicPartitionFilter[] = []
    const results = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map(({ partitionIndex }) => {
        let errorCode: number = ErrorCode.NONE
        if (!this.partitionExists(t.name, partitionIndex)) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        else if (subscribed === null || subscribed.has(t.name)) errorCode = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
        else filter.push({ topic: t.name, partition: partitionIndex })
        return { partitionIndex, errorCode }
      }),
    }))
    if (filter.length > 0) {
      try {
        await this.offsets.delete(groupId, filter)
      } catch (err) {
        this.logger.error({ err, groupId }, 'deleting committed offsets failed')
        return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, topics: [] }
      }
    }
    return { errorCode: ErrorCode.NONE, topics: results }
  }

  /** DeleteGroups: every offset of the group goes. */
  deleteGroupOffsets(groupId: string): Promise<number> {
    return this.offsets.delete(groupId)
  }

  // ---- Expiry ---------------------------------------------------------------------------------

  /**
   * offsets.retention.minutes: deletes the group's offsets that expired by `now`, as the group's
   * offsetExpiration() says; an offset committed with an explicit retention time expires at that
   * time instead. Kafka's cleanupExpiredOffsets: `remaining` tells whether the group keeps any.
   */
  async expireOffsets(group: Group, now: number): Promise<{ removed: number; remaining: number }> {
    const retentionMs = this.config.offsetsRetentionMinutes * 60_000
    const expiration = group.offsetExpiration()
    const filter: TopicPartitionFilter[] = []
    let remaining = 0
    for (const [topic, partitions] of this.offsets.read(group.groupId)) {
      const applies = expiration !== null && expiration.appliesTo(topic)
      for (const [partition, o] of partitions) {
        let expired = false
        if (applies) {
          expired = o.expireTimestamp >= 0 ? now >= o.expireTimestamp : now - expiration.baseTimestamp(o) >= retentionMs
        }
        if (expired) filter.push({ topic, partition })
        else remaining++
      }
    }
    let removed = 0
    if (filter.length > 0) {
      removed = await this.offsets.delete(group.groupId, filter)
      this.logger.info({ groupId: group.groupId, count: filter.length }, 'expired committed offsets')
    }
    return { removed, remaining }
  }

  private partitionExists(topic: string, partition: number): boolean {
    if (this.catalog === undefined) return true
    const count = this.catalog.partitionCount(topic)
    return count !== undefined && partition >= 0 && partition < count
  }
}

function everyPartition(topics: ReadonlyArray<{ name: string; partitions: ReadonlyArray<{ partitionIndex: number }> }>, errorCode: number): TopicResult[] {
  return topics.map((t) => ({ name: t.name, partitions: t.partitions.map((q) => ({ partitionIndex: q.partitionIndex, errorCode })) }))
}

/** Kafka's answer to an offsets write that failed: NOT_COORDINATOR for a storage error. */
function storeFailureCode(err: unknown): number {
  return err instanceof KafkaStorageError ? ErrorCode.NOT_COORDINATOR : ErrorCode.UNKNOWN_SERVER_ERROR
}
