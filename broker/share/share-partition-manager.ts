// Every share partition this broker leads, by (group, topic id, partition): created on a share
// group's first fetch of the partition, from its persisted state when there is one (read from the
// share coordinator with load() first, as Kafka's SharePartition reads it with
// ReadShareGroupState), else at the log end or the log start as the group's
// share.auto.offset.reset says. Kafka's SharePartitionManager is the model.
//
// Only the leader of a data partition holds its share partitions (NOT_LEADER_OR_FOLLOWER
// elsewhere). A share partition is held for one leader epoch: when leadership moves away and back,
// it is read from the share coordinator again, and every state written carries the epoch, so the
// coordinator refuses a deposed leader's writes. A new leader's share partition has nothing
// acquired: what its predecessor had handed out is Available again, as after a restart.
//
// State changes are persisted through one ShareStateWriter (group commit); callers answer their
// clients once the write holding their change has committed. One interval watches the acquisition
// locks: records whose lock ran out go back to Available, are persisted, and wake parked share
// fetches. Settings come from the broker (group.share.*) with the group's overrides (share.*).
// Single-threaded: everything runs on the event loop.
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import type { LogManager } from '../../storage/log-manager.js'
import type { ShareStateRecord } from '../../storage/metadata-store.js'
import { parseShareStateKey, shareStateKey } from '../../storage/metadata-keys.js'
import type { PartitionLog } from '../../storage/partition-log.js'
import { RecordState, SharePartition, type ArchivedRecords, type SharePartitionSnapshot } from './share-partition.js'
import { ShareStateWriter, type ShareStateStore } from './share-state-writer.js'

export interface ShareSettings {
  /** share.record.lock.duration.ms for the group. */
  lockDurationMs(groupId: string): number
  /** share.auto.offset.reset for the group. */
  autoOffsetReset(groupId: string): 'latest' | 'earliest'
  /** share.isolation.level for the group: 0 read_uncommitted, 1 read_committed. */
  isolationLevel(groupId: string): 0 | 1
  /** errors.deadletterqueue.topic.name for the group, or null. */
  deadLetterTopic(groupId: string): string | null
  /** errors.deadletterqueue.copy.record.enable for the group. */
  copyRecord(groupId: string): boolean
  /** samsa.share.retry.backoff.*: the wait before the next delivery after `deliveryCount` (0: none). */
  retryDelayMs(groupId: string, deliveryCount: number): number
  /** share.delivery.count.limit for the group (group.share.delivery.count.limit by default). */
  deliveryCountLimit(groupId: string): number
  /** share.partition.max.record.locks for the group (group.share.partition.max.record.locks by default). */
  maxRecordLocks(groupId: string): number
}

/** Writes dead-letter records durably (share-dead-letter.ts); rejects when it could not. */
export interface DeadLetterSink {
  write(target: ShareTarget, records: ArchivedRecords): Promise<unknown>
}

export interface ShareTarget {
  groupId: string
  topic: string
  topicId: string
  partition: number
}

/** Where a dead-letter writer plugs in: records archived as rejected or past the delivery limit. */
export type ArchiveListener = (target: ShareTarget, records: ArchivedRecords) => void

export interface HeldSharePartition extends ShareTarget {
  readonly key: string
  readonly sp: SharePartition
  readonly log: PartitionLog
  /** The leader epoch the share partition is held at. */
  readonly leaderEpoch: number
  /** Log bytes per offset seen by the last share fetch (0: none yet), to size the next read. */
  bytesPerOffset: number
}

export interface ShareInFlightState {
  acquired: number
  available: number
  /** SPEO, exclusive. */
  endOffset: number
}

export interface SharePartitionManagerOptions {
  logs: LogManager
  store: ShareStateStore
  settings: ShareSettings
  logger: Logger
  now?: () => number
  /** How often acquisition locks are checked; default 100 ms. */
  lockCheckMs?: number
  onArchive?: ArchiveListener
  deadLetters?: DeadLetterSink
  /** The leader epoch of the partition when this broker leads it, else undefined; 0 for all on a single broker. */
  leaderEpoch?: (topic: string, partition: number) => number | undefined
}

export class SharePartitionManager {
  private readonly held = new Map<string, HeldSharePartition>()
  /** Persisted states not loaded yet, by key (null: read, and there is none). */
  private readonly stored = new Map<string, ShareStateRecord | null>()
  /** Reads from the store in flight, by key. */
  private readonly reading = new Map<string, Promise<void>>()
  /** Share partitions given an initial state through the store. */
  private readonly initialized = new Set<string>()
  /** Topic ids with any state, live or persisted (a deleted topic's state goes on its next use). */
  private readonly stateTopics = new Set<string>()
  private readonly writer: ShareStateWriter
  private readonly now: () => number
  private readonly timer: NodeJS.Timeout
  private readonly availableListeners = new Set<() => void>()
  onArchive: ArchiveListener | undefined

  constructor(private readonly opts: SharePartitionManagerOptions) {
    this.now = opts.now ?? Date.now
    this.writer = new ShareStateWriter(opts.store)
    this.onArchive = opts.onArchive
    this.readStoredStates()
    this.timer = setInterval(() => this.checkLocks(), opts.lockCheckMs ?? 100)
    this.timer.unref()
  }

  /**
   * Takes the states the store holds (at start; again once a single broker has read its share
   * state back), except for share partitions in use here already.
   */
  readStoredStates(): void {
    for (const { key, value } of this.opts.store.listShareStates()) {
      if (this.held.has(key)) continue
      this.stored.set(key, value)
      this.stateTopics.add(parseShareStateKey(key).topicId)
    }
  }

  get settings(): ShareSettings {
    return this.opts.settings
  }

  /** Groups with persisted or live share-partition state. */
  groupIds(): string[] {
    const ids = new Set<string>()
    for (const [key, value] of this.stored) if (value !== null) ids.add(parseShareStateKey(key).group)
    for (const h of this.held.values()) ids.add(h.groupId)
    return [...ids]
  }

  /** The name of the topic with this id, if it exists. */
  topicName(topicId: string): string | undefined {
    return this.opts.logs.getTopicById(topicId)?.name
  }

  /** The share partition, created (and its initial state persisted) on first use; or an error code. */
  partition(groupId: string, topicId: string, partition: number): HeldSharePartition | number {
    const key = shareStateKey(groupId, topicId, partition)
    const topic = this.opts.logs.getTopicById(topicId)
    if (topic === undefined) {
      this.forgetTopic(topicId)
      return ErrorCode.UNKNOWN_TOPIC_ID
    }
    const log = this.opts.logs.partition(topic.name, partition)
    if (log === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    const leaderEpoch = this.leaderEpoch(topic.name, partition)
    let h = this.held.get(key)
    if (h !== undefined && h.log === log && h.leaderEpoch === leaderEpoch) return h
    // Leadership moved (or the log was replaced) since the share partition was read: read it again.
    if (h !== undefined) this.held.delete(key)
    if (leaderEpoch === undefined) {
      // What was read here may be stale by the time this broker leads the partition.
      this.stored.delete(key)
      return ErrorCode.NOT_LEADER_OR_FOLLOWER
    }
    const stored = this.stored.get(key)
    if (stored === undefined && this.opts.store.readShareStates !== undefined) {
      // Not read from the share coordinator yet (callers load() first; this is a late arrival).
      void this.load([key]).catch(() => {})
      return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
    }
    this.stored.delete(key)
    const fresh = stored === undefined || stored === null || stored.startOffset < 0
    const initial: SharePartitionSnapshot =
      !fresh
        ? fromRecord(stored)
        : { startOffset: this.opts.settings.autoOffsetReset(groupId) === 'earliest' ? log.logStartOffset : log.highWatermark, stateEpoch: stored?.stateEpoch ?? 0, stateBatches: [] }
    const target: ShareTarget = { groupId, topic: topic.name, topicId, partition }
    const deadLetters = this.opts.deadLetters
    const settings = this.opts.settings
    const sp: SharePartition = new SharePartition(
      {
        now: this.now,
        lockDurationMs: () => this.opts.settings.lockDurationMs(groupId),
        // Read at each use, so a group's change applies without a restart.
        get deliveryCountLimit() {
          return settings.deliveryCountLimit(groupId)
        },
        get maxRecordLocks() {
          return settings.maxRecordLocks(groupId)
        },
        onArchive: (records) => this.archived(target, records),
        deadLetters: () => deadLetters !== undefined && this.opts.settings.deadLetterTopic(groupId) !== null,
        onDeadLetter: (records, token) => this.deadLetter(key, sp, target, records, token),
        retryDelayMs: (deliveryCount) => this.opts.settings.retryDelayMs(groupId, deliveryCount),
      },
      initial,
    )
    sp.truncateTo(log.logStartOffset)
    h = { ...target, key, sp, log, leaderEpoch, bytesPerOffset: 0 }
    this.held.set(key, h)
    this.stateTopics.add(topicId)
    if (fresh) void this.persist([h]).catch((err: unknown) => this.opts.logger.error({ err, key }, 'storing a new share partition failed'))
    return h
  }

  /**
   * Reads from the share coordinator the state of the share partitions not held at the current
   * leader epoch, so that partition() finds it; resolves once read (or the read failed: partition()
   * then answers COORDINATOR_LOAD_IN_PROGRESS and the next call reads again). Nothing to do for a
   * store that listed everything at start.
   */
  async loadPartitions(groupId: string, partitions: Iterable<{ topicId: string; partition: number }>): Promise<void> {
    if (this.opts.store.readShareStates === undefined) return
    const keys: string[] = []
    for (const p of partitions) {
      const key = shareStateKey(groupId, p.topicId, p.partition)
      if (this.stored.has(key) || this.isCurrent(key)) continue
      const topic = this.opts.logs.getTopicById(p.topicId)
      // partition() answers for a partition that is gone or not led here.
      if (topic !== undefined && this.leaderEpoch(topic.name, p.partition) !== undefined) keys.push(key)
    }
    if (keys.length > 0) await this.load(keys).catch((err: unknown) => this.opts.logger.warn({ err, groupId }, 'reading share-partition state failed'))
  }

  /** Whether the share partition has state, live or persisted. */
  isInitialized(groupId: string, topicId: string, partition: number): boolean {
    const key = shareStateKey(groupId, topicId, partition)
    return this.held.has(key) || (this.stored.get(key) ?? null) !== null || this.initialized.has(key)
  }

  /**
   * Creates the share partitions' state (Kafka's InitializeShareGroupState); resolves once stored.
   * Those this broker leads start at once; the others get an initial state at their share
   * coordinator, which their leader resolves when it loads it.
   */
  async initialize(groupId: string, partitions: ReadonlyArray<{ topicId: string; partition: number }>): Promise<void> {
    await this.loadPartitions(groupId, partitions)
    const created: HeldSharePartition[] = []
    const elsewhere: string[] = []
    for (const p of partitions) {
      const h = this.partition(groupId, p.topicId, p.partition)
      if (typeof h !== 'number') created.push(h)
      else if (h === ErrorCode.NOT_LEADER_OR_FOLLOWER) elsewhere.push(shareStateKey(groupId, p.topicId, p.partition))
    }
    await this.persist(created)
    if (elsewhere.length > 0 && this.opts.store.initializeShareStates !== undefined) {
      await this.opts.store.initializeShareStates(elsewhere)
      for (const key of elsewhere) this.initialized.add(key)
    }
  }

  /** Persists the partitions' current states; resolves once committed. */
  async persist(partitions: Iterable<HeldSharePartition>): Promise<void> {
    const writes: Array<Promise<void>> = []
    for (const h of partitions) writes.push(this.writer.write(h.key, toRecord(h.sp.snapshot(), h.leaderEpoch)))
    await Promise.all(writes)
  }

  /** The member's share session closed or it left the group: its records go back to the others. */
  async releaseMember(groupId: string, memberId: string): Promise<void> {
    const changed: HeldSharePartition[] = []
    for (const h of this.held.values()) if (h.groupId === groupId && h.sp.releaseMember(memberId) > 0) changed.push(h)
    if (changed.length === 0) return
    this.notifyAvailable()
    await this.persist(changed)
  }

  /** The group's start offsets (DescribeShareGroupOffsets): live or persisted. */
  startOffsets(groupId: string): Map<string, Map<number, number>> {
    const out = new Map<string, Map<number, number>>()
    const put = (topicId: string, partition: number, offset: number): void => {
      let m = out.get(topicId)
      if (m === undefined) out.set(topicId, (m = new Map()))
      m.set(partition, offset)
    }
    for (const [key, record] of this.stored) {
      const k = parseShareStateKey(key)
      if (k.group === groupId && record !== null) put(k.topicId, k.partition, record.startOffset)
    }
    for (const h of this.held.values()) if (h.groupId === groupId) put(h.topicId, h.partition, h.sp.startOffset)
    return out
  }

  /**
   * The group's in-flight state per partition (Samsa's DescribeShareGroupOffsets extension): live,
   * or from the persisted state, where nothing is acquired (a lock does not survive a restart).
   */
  inFlight(groupId: string): Map<string, Map<number, ShareInFlightState>> {
    const out = new Map<string, Map<number, ShareInFlightState>>()
    const put = (topicId: string, partition: number, state: ShareInFlightState): void => {
      let m = out.get(topicId)
      if (m === undefined) out.set(topicId, (m = new Map()))
      m.set(partition, state)
    }
    for (const [key, record] of this.stored) {
      const k = parseShareStateKey(key)
      if (k.group !== groupId || record === null) continue
      let available = 0
      let endOffset = record.startOffset
      for (const [first, last, state] of record.stateBatches) {
        if (last < record.startOffset) continue
        if (state === RecordState.Available) available += last - Math.max(first, record.startOffset) + 1
        endOffset = Math.max(endOffset, last + 1)
      }
      put(k.topicId, k.partition, { acquired: 0, available, endOffset })
    }
    for (const h of this.held.values()) if (h.groupId === groupId) put(h.topicId, h.partition, { ...h.sp.inFlight(), endOffset: h.sp.endOffset })
    return out
  }

  /** The group's share partitions held in memory, with their live record states (for the console). */
  heldPartitions(groupId: string): HeldSharePartition[] {
    return [...this.held.values()].filter((h) => h.groupId === groupId)
  }

  /** AlterShareGroupOffsets: the partition starts over at `startOffset`, nothing in flight. */
  async resetPartition(groupId: string, topicId: string, partition: number, startOffset: number): Promise<number> {
    await this.loadPartitions(groupId, [{ topicId, partition }])
    const h = this.partition(groupId, topicId, partition)
    if (typeof h === 'number') return h
    h.sp.reset(startOffset)
    this.notifyAvailable()
    await this.persist([h])
    return ErrorCode.NONE
  }

  /** DeleteShareGroupOffsets / DeleteGroups: the state of the group's partitions (of one topic, or all) goes. */
  async deleteState(groupId: string, topicId?: string): Promise<void> {
    const writes: Array<Promise<void>> = []
    for (const [key, h] of [...this.held]) {
      if (h.groupId !== groupId || (topicId !== undefined && h.topicId !== topicId)) continue
      this.held.delete(key)
      writes.push(this.writer.write(key, null))
    }
    for (const [key, record] of [...this.stored]) {
      const k = parseShareStateKey(key)
      if (k.group !== groupId || (topicId !== undefined && k.topicId !== topicId)) continue
      this.stored.delete(key)
      if (record !== null) writes.push(this.writer.write(key, null))
    }
    await Promise.all(writes)
  }

  /** A deleted topic's share partitions go, in every group, as Kafka deletes their share state. */
  private forgetTopic(topicId: string): void {
    // Most unknown ids never had state: only those that did are worth a walk over every partition.
    if (!this.stateTopics.delete(topicId)) return
    for (const [key, h] of this.held) {
      if (h.topicId !== topicId) continue
      this.held.delete(key)
      this.writer.write(key, null).catch((err: unknown) => this.opts.logger.error({ err, key }, 'removing a deleted topic\'s share state failed'))
    }
    for (const [key, record] of this.stored) {
      if (parseShareStateKey(key).topicId !== topicId) continue
      this.stored.delete(key)
      if (record !== null) this.writer.write(key, null).catch((err: unknown) => this.opts.logger.error({ err, key }, 'removing a deleted topic\'s share state failed'))
    }
  }

  /** Resolves the next time records may have become Available again (released or unlocked), or never. */
  onAvailable(fn: () => void): () => void {
    this.availableListeners.add(fn)
    return () => this.availableListeners.delete(fn)
  }

  notifyAvailable(): void {
    for (const fn of [...this.availableListeners]) fn()
  }

  /** Stops the lock timer and waits for the last writes. */
  async close(): Promise<void> {
    clearInterval(this.timer)
    await this.writer.idle()
  }

  /** Transactions the writer committed (fewer than the writes asked for when they were grouped). */
  get commits(): number {
    return this.writer.commits
  }

  private checkLocks(): void {
    const now = this.now()
    const changed: HeldSharePartition[] = []
    let due = false
    for (const [key, h] of this.held) {
      // Leadership moved away: the new leader reads the state from the share coordinator.
      if (h.leaderEpoch !== this.leaderEpoch(h.topic, h.partition)) {
        this.held.delete(key)
        continue
      }
      if (h.sp.nextLockDeadline <= now && h.sp.expireLocks(now) > 0) changed.push(h)
      if (h.sp.retryDue(now)) due = true
    }
    if (due && changed.length === 0) this.notifyAvailable()
    if (changed.length === 0) return
    this.notifyAvailable()
    this.persist(changed).catch((err: unknown) => this.opts.logger.error({ err }, 'storing share-partition state after lock expiry failed'))
  }

  /**
   * A rejected or exhausted record is held while its dead-letter record is written: archived once
   * the write is durable, Available again (and logged) when it failed. Either way the new state is
   * persisted; a crash before that leaves it Available, so it may be dead-lettered twice.
   */
  private deadLetter(key: string, sp: SharePartition, target: ShareTarget, records: ArchivedRecords, token: string): void {
    this.opts.deadLetters!.write(target, records).then(
      () => true,
      (err: unknown) => {
        this.opts.logger.warn({ err, ...target, offset: records.firstOffset }, 'dead-letter write failed; the record is available again')
        return false
      },
    ).then((written) => {
      if (!sp.settleDeadLetter(records.firstOffset, token, written)) return
      if (!written) this.notifyAvailable()
      const h = this.held.get(key)
      if (h === undefined || h.sp !== sp) return
      this.persist([h]).catch((err: unknown) => this.opts.logger.error({ err, key }, 'storing share-partition state after a dead-letter write failed'))
    }, () => {})
  }

  /** Whether the key's share partition is held at the partition's current leader epoch. */
  private isCurrent(key: string): boolean {
    const h = this.held.get(key)
    return h !== undefined && h.leaderEpoch === this.leaderEpoch(h.topic, h.partition)
  }

  private leaderEpoch(topic: string, partition: number): number | undefined {
    return this.opts.leaderEpoch === undefined ? 0 : this.opts.leaderEpoch(topic, partition)
  }

  /** Reads the keys' states into `stored`, one read per key at a time. */
  private async load(keys: readonly string[]): Promise<void> {
    const waits: Array<Promise<void>> = []
    const fresh: string[] = []
    for (const key of keys) {
      const inFlight = this.reading.get(key)
      if (inFlight !== undefined) waits.push(inFlight)
      else fresh.push(key)
    }
    if (fresh.length > 0) {
      const read = this.opts.store.readShareStates!(fresh).then((states) => {
        for (const [key, state] of states) if (!this.isCurrent(key)) this.stored.set(key, state)
      })
      const done = read.finally(() => {
        for (const key of fresh) if (this.reading.get(key) === done) this.reading.delete(key)
      })
      for (const key of fresh) this.reading.set(key, done)
      waits.push(done)
    }
    await Promise.all(waits)
  }

  private archived(target: ShareTarget, records: ArchivedRecords): void {
    if (records.reason === 'rejected' || records.reason === 'delivery-limit') {
      this.opts.logger.debug({ ...target, ...records }, 'share records archived')
    }
    this.onArchive?.(target, records)
  }
}

function toRecord(s: SharePartitionSnapshot, leaderEpoch: number): ShareStateRecord {
  return {
    startOffset: s.startOffset,
    stateEpoch: s.stateEpoch,
    leaderEpoch,
    stateBatches: s.stateBatches.map((b) => [b.firstOffset, b.lastOffset, b.deliveryState, b.deliveryCount]),
  }
}

function fromRecord(r: ShareStateRecord): SharePartitionSnapshot {
  return {
    startOffset: r.startOffset,
    stateEpoch: r.stateEpoch,
    stateBatches: r.stateBatches.map(([firstOffset, lastOffset, deliveryState, deliveryCount]) => ({ firstOffset, lastOffset, deliveryState, deliveryCount })),
  }
}
