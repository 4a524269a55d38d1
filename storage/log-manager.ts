// LogManager: every partition log of one data directory plus the metadata store.
//
// Data dir layout:
//   metadata/                           LMDB store (topics, committed offsets)
//   <topic>-<partition>/                one PartitionLog each
//   <topic>-<partition>.<uuid>-delete/  a deleted partition waiting for background removal (DirDeleter)
//   recovery-point-offset-checkpoint    per partition, offset below which data is fsynced
//   log-start-offset-checkpoint         per partition, moved by DeleteRecords and retention
//   replication-offset-checkpoint       per replicated partition, its high watermark (written by replication)
//   cleaner-offset-checkpoint           per compacted partition, the cleaner's first dirty offset
//   cleaner-state.json                  the cleaner's view of each compacted partition (informational)
//   .kafka_cleanshutdown                present only between a clean close and the next open
//
// Ordering against crashes: the store is the source of truth for which topics exist. New
// partitions are created on disk before the store records them (topic-creation.ts, which also
// holds the topic-name rules and max.broker.partitions), and open() removes directories the store
// does not know; a deleted topic leaves the store before its directories are renamed away. The
// clean-shutdown marker is removed as soon as the directory is opened, so any later crash triggers
// recovery. Opening the directory (the scan, and partitions opened at start, some of them after
// open() resolves: LogManagerOptions.openLater) is log-dir-loader.ts.
//
// A full disk: the broker still opens (checkpoints that cannot be written are written by the next
// periodic run), metadata writes fail one by one, and partitions whose appends the disk refused go
// offline until a periodic check finds room again and brings them back (PartitionLog.recoverFromFullDisk).
//
// Concurrency: one LogManager per data dir and process; all calls on the event loop. Changes to
// the set of topics and partitions (create, delete, add partitions) run one at a time.
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { OffsetCheckpointFile } from './checkpoint.js'
import { HighWatermarkCheckpoint } from './high-watermark-checkpoint.js'
import { acquireDataDirLock, releaseDataDirLock } from './data-dir-lock.js'
import { InvalidConfigError, InvalidPartitionsError, TopicExistsError, UnknownTopicError } from './errors.js'
import { type FileIO, nodeFileIO } from './file-io.js'
import { resolveLogConfig } from './log-config.js'
import { type Logger, silentLogger } from './logger.js'
import { MetadataStore, type TopicRecord } from './metadata-store.js'
import { PartitionLog } from './partition-log.js'
import { applyRetention } from './retention.js'
import { type CleanerSettings, LogCleaner } from './log-cleaner.js'
import { DirDeleter } from './dir-deleter.js'
import { CLEAN_SHUTDOWN_FILE, LaterOpening, METADATA_DIR, scanDataDir, startupState, type StartupState } from './log-dir-loader.js'
import { checkPartitionLimit, maxBrokerPartitions, openNewPartitions, validateTopicName } from './topic-creation.js'

export { CLEAN_SHUTDOWN_FILE, METADATA_DIR } from './log-dir-loader.js'
export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint'
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint'
/** Free space a partition offline for a full disk waits for before it is reopened. */
const FREE_BYTES_TO_RECOVER = 1 << 20

export interface LogManagerOptions {
  dataDir: string
  /** Kafka broker keys: `log.*` defaults for every topic, `num.partitions`, intervals. */
  brokerConfig?: Record<string, string>
  io?: FileIO
  logger?: Logger
  /** log.retention.check.interval.ms; default from brokerConfig or 300000. */
  retentionCheckIntervalMs?: number
  /** Appended batches written on the libuv pool from this size (PartitionLogOptions). */
  poolWriteMinBytes?: number
  /**
   * Topics that open after open() resolves, in the background (whenOpen()), so their owner can
   * serve the others meanwhile: a broker's internal topics, which it reads back after it serves.
   */
  openLater?: (topic: string) => boolean
}

export interface LogDirSummary {
  dir: string
  totalBytes: number
  usableBytes: number
  partitions: Array<{ topic: string; partition: number; size: number; offsetLag: 0 }>
}

export class LogManager {
  readonly metadata: MetadataStore
  readonly dataDir: string
  private readonly io: FileIO
  private readonly logger: Logger
  private readonly poolWriteMinBytes: number | undefined
  private brokerConfig: Record<string, string>
  private readonly logs = new Map<string, PartitionLog[]>()
  private readonly topicIds = new Map<string, string>()
  private readonly recoveryPoints: OffsetCheckpointFile
  private readonly logStartOffsets: OffsetCheckpointFile
  /** replication-offset-checkpoint, as it was when the directory opened; replication writes it. */
  readonly highWatermarks: HighWatermarkCheckpoint
  private readonly timers: NodeJS.Timeout[] = []
  private checkpointChain: Promise<void> = Promise.resolve()
  private readonly dirDeleter: DirDeleter
  /** The last change to the set of topics and partitions; the next one starts after it. */
  private topicChanges: Promise<unknown> = Promise.resolve()
  private closed = false
  /** Topics of the directory opened after the rest (openLater). */
  private later = new LaterOpening()
  /** Compaction of `cleanup.policy=compact` logs; undefined when log.cleaner.enable is false. */
  readonly cleaner: LogCleaner | undefined

  private constructor(opts: LogManagerOptions, metadata: MetadataStore) {
    this.dataDir = opts.dataDir
    this.io = opts.io ?? nodeFileIO
    this.logger = opts.logger ?? silentLogger
    this.poolWriteMinBytes = opts.poolWriteMinBytes
    this.dirDeleter = new DirDeleter(this.io, this.logger)
    this.brokerConfig = { ...(opts.brokerConfig ?? {}) }
    this.metadata = metadata
    this.recoveryPoints = new OffsetCheckpointFile(this.io, path.join(this.dataDir, RECOVERY_POINT_CHECKPOINT))
    this.logStartOffsets = new OffsetCheckpointFile(this.io, path.join(this.dataDir, LOG_START_OFFSET_CHECKPOINT))
    this.highWatermarks = new HighWatermarkCheckpoint(this.io, this.dataDir)
    this.cleaner =
      this.brokerConfig['log.cleaner.enable'] !== 'false'
        ? new LogCleaner({ dataDir: this.dataDir, io: this.io, logger: this.logger, logs: () => this.partitions(), ...this.cleanerSettings() })
        : undefined
  }

  static async open(opts: LogManagerOptions): Promise<LogManager> {
    const io = opts.io ?? nodeFileIO
    io.mkdir(opts.dataDir)
    acquireDataDirLock(opts.dataDir)
    let manager: LogManager
    try {
      manager = new LogManager(opts, MetadataStore.open(path.join(opts.dataDir, METADATA_DIR)))
      await manager.load(opts.openLater ?? (() => false))
    } catch (err) {
      releaseDataDirLock(opts.dataDir)
      throw err
    }
    manager.startTasks(opts.retentionCheckIntervalMs)
    return manager
  }

  /** Opens the directory: every topic now, except those `openLater` names, which open in turns after (whenOpen). */
  private async load(openLater: (topic: string) => boolean): Promise<void> {
    const checkpoints = { recoveryPoints: this.recoveryPoints.read(), logStarts: this.logStartOffsets.read() }
    const ctx = { dataDir: this.dataDir, io: this.io, logger: this.logger, metadata: this.metadata, dirDeleter: this.dirDeleter }
    const scan = await scanDataDir(ctx, checkpoints, openLater)
    const open = (topic: TopicRecord, p: number) => this.openLog(topic.name, p, resolveLogConfig(this.brokerConfig, topic.configs), startupState(ctx, scan, topic.name, p))
    for (const topic of [...scan.now, ...scan.later]) this.topicIds.set(topic.topicId, topic.name)
    for (const topic of scan.now) this.logs.set(topic.name, Array.from({ length: topic.partitions }, (_, p) => open(topic, p)))
    this.later = new LaterOpening(scan)
    try {
      await this.writeCheckpoints()
    } catch (err) {
      // A full disk must not keep the broker down; the periodic run writes them later.
      this.logger.warn({ err }, 'writing offset checkpoints at start-up failed; retrying later')
    }
    // First in line of the changes to topics, so none of them finds a topic half open.
    this.later.start((job) => this.exclusive(job), open, (topic, parts) => this.logs.set(topic.name, parts), () => this.closed)
  }

  /** Resolves once the topics LogManagerOptions.openLater names are open here (they have no logs before). */
  whenOpen(): Promise<void> {
    return this.later.whenOpen()
  }

  private startTasks(retentionOverride?: number): void {
    const retentionMs = retentionOverride ?? Number(this.brokerConfig['log.retention.check.interval.ms'] ?? 300_000)
    const checkpointMs = Number(this.brokerConfig['log.flush.offset.checkpoint.interval.ms'] ?? 60_000)
    const flushCheckMs = Number(this.brokerConfig['log.flush.scheduler.interval.ms'] ?? 1_000)
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, Math.max(1, Math.min(ms, 2_147_483_647)))
      t.unref()
      this.timers.push(t)
    }
    every(retentionMs, () => this.runRetention())
    const cleaner = this.cleaner
    if (cleaner !== undefined) every(Number(this.brokerConfig['log.cleaner.backoff.ms'] ?? 15_000), () => cleaner.runInBackground())
    every(checkpointMs, () => {
      this.writeCheckpoints().catch((err: unknown) => this.logger.warn({ err }, 'writing offset checkpoints failed'))
    })
    const producerCheckMs = Number(this.brokerConfig['producer.id.expiration.check.interval.ms'] ?? 600_000)
    every(producerCheckMs, () => this.expireProducers())
    every(flushCheckMs, () => {
      const now = Date.now()
      for (const log of this.partitions()) log.maybeFlushByTime(now)
      this.recoverFromFullDisk()
    })
  }

  /** Reopens partitions a full disk took offline, once the data directory has room again. */
  recoverFromFullDisk(): number {
    const waiting = this.partitions().filter((l) => l.offlineForSpace)
    if (waiting.length === 0) return 0
    try {
      if (this.io.statfs(this.dataDir).usableBytes < FREE_BYTES_TO_RECOVER) return 0
    } catch {
      return 0
    }
    let recovered = 0
    for (const log of waiting) {
      try {
        log.recoverFromFullDisk()
        recovered++
      } catch (err) {
        this.logger.warn({ err, partition: `${log.topic}-${log.partition}` }, 'partition still offline: reopening it failed')
      }
    }
    return recovered
  }

  /** One retention pass over every partition; returns the number of segments deleted. */
  runRetention(now = Date.now()): number {
    let deleted = 0
    for (const log of this.partitions()) {
      try {
        deleted += applyRetention(log, now)
      } catch (err) {
        this.logger.error({ err, partition: `${log.topic}-${log.partition}` }, 'retention failed')
      }
    }
    return deleted
  }

  /** producer.id.expiration.ms, read when a partition opens. */
  private get producerIdExpirationMs(): number {
    const v = Number(this.brokerConfig['producer.id.expiration.ms'] ?? 86_400_000)
    return Number.isFinite(v) && v > 0 ? v : 86_400_000
  }

  /** Forgets idle producers on every partition; returns how many went. */
  expireProducers(now = Date.now()): number {
    let removed = 0
    for (const log of this.partitions()) removed += log.removeExpiredProducers(now)
    if (removed > 0) this.logger.info({ removed }, 'expired idle producer ids')
    return removed
  }

  /** Writes both checkpoint files; calls are serialized. */
  writeCheckpoints(): Promise<void> {
    const run = async (): Promise<void> => {
      // Both taken at once: a topic opening in the background moves from one list to the other.
      const logs = this.partitions()
      const logStarts = [...logs.map((l) => ({ topic: l.topic, partition: l.partition, offset: l.logStartOffset })), ...this.later.entries('logStarts')]
      await this.recoveryPoints.write([...logs.map((l) => ({ topic: l.topic, partition: l.partition, offset: l.recoveryPoint })), ...this.later.entries('recoveryPoints')])
      await this.logStartOffsets.write(logStarts)
    }
    const next = this.checkpointChain.then(run, run)
    this.checkpointChain = next.catch(() => {})
    return next
  }

  listTopics(): TopicRecord[] {
    return this.metadata.listTopics()
  }

  getTopic(name: string): TopicRecord | undefined {
    return this.metadata.getTopic(name)
  }

  getTopicById(id: string): TopicRecord | undefined {
    const name = this.topicIds.get(id)
    return name === undefined ? undefined : this.metadata.getTopic(name)
  }

  /** Runs changes to the set of topics and partitions one at a time. */
  private exclusive<T>(change: () => Promise<T>): Promise<T> {
    const next = this.topicChanges.then(change, change)
    this.topicChanges = next.catch(() => {})
    return next
  }

  /** Partitions this broker hosts now. */
  get partitionCount(): number {
    let n = 0
    for (const parts of this.logs.values()) n += parts.length
    return n + this.later.partitions
  }

  /** Refuses `added` new partitions, making `total` for the topic, beyond max.broker.partitions. */
  checkPartitionLimit(name: string, total: number, added: number): void {
    checkPartitionLimit(name, total, added, maxBrokerPartitions(this.brokerConfig), this.partitionCount)
  }

  /**
   * Partitions <= 0 means the broker default (num.partitions, 1 unless set). `topicId` is given in
   * cluster mode, where the topic was created in etcd and every broker keeps its id; otherwise new.
   */
  async createTopic(name: string, partitions: number, configs: Record<string, string> = {}, topicId: string = randomUUID()): Promise<TopicRecord> {
    validateTopicName(name)
    const count = partitions > 0 ? partitions : Number(this.brokerConfig['num.partitions'] ?? 1)
    if (!Number.isInteger(count) || count <= 0) throw new InvalidPartitionsError(`Number of partitions must be larger than 0.`)
    return this.exclusive(async () => {
      if (this.metadata.getTopic(name) !== undefined || this.logs.has(name)) throw new TopicExistsError(`Topic '${name}' already exists.`)
      this.checkPartitionLimit(name, count, count)
      const config = resolveLogConfig(this.brokerConfig, configs)
      const record: TopicRecord = { name, topicId, partitions: count, configs: { ...configs }, createdAt: Date.now() }
      const parts = await this.openNewPartitions(name, 0, count, config, () => this.metadata.putTopic(record))
      this.logs.set(name, parts)
      this.topicIds.set(record.topicId, name)
      return record
    })
  }

  /** Creates partitions [from, to) of `topic`, then runs `record`; removes them again if either fails. */
  private openNewPartitions(topic: string, from: number, to: number, config: ReturnType<typeof resolveLogConfig>, record: () => Promise<void>): Promise<PartitionLog[]> {
    const ctx = {
      dataDir: this.dataDir,
      io: this.io,
      logger: this.logger,
      open: (p: number) => this.openPartition(topic, p, config),
      renameAndRemove: (dir: string) => this.dirDeleter.renameAndRemove(dir),
    }
    return openNewPartitions(ctx, topic, from, to, record)
  }

  private openPartition(topic: string, p: number, config: ReturnType<typeof resolveLogConfig>): PartitionLog {
    const dir = path.join(this.dataDir, `${topic}-${p}`)
    // A leftover directory from a crash mid-deletion must not leak old data into a new topic.
    if (this.io.stat(dir) !== undefined) this.dirDeleter.renameAndRemove(dir)
    return this.openLog(topic, p, config)
  }

  /** Opens (creating if needed) a partition's log; `startup` when the directory is opened at start. */
  private openLog(topic: string, p: number, config: ReturnType<typeof resolveLogConfig>, startup?: StartupState): PartitionLog {
    return PartitionLog.open({
      dir: path.join(this.dataDir, `${topic}-${p}`),
      topic,
      partition: p,
      config,
      io: this.io,
      logger: this.logger,
      ...startup,
      onLogStartOffsetChange: () => this.writeCheckpoints(),
      producerIdExpirationMs: this.producerIdExpirationMs,
      poolWriteMinBytes: this.poolWriteMinBytes,
    })
  }

  deleteTopic(name: string): Promise<void> {
    return this.exclusive(async () => {
      const topic = this.metadata.getTopic(name)
      const parts = this.logs.get(name)
      if (topic === undefined || parts === undefined) throw new UnknownTopicError(`Topic '${name}' does not exist.`)
      this.logs.delete(name)
      this.topicIds.delete(topic.topicId)
      try {
        await this.metadata.deleteTopic(name)
      } catch (err) {
        // Not deleted (a full disk): the topic stays as it was.
        this.logs.set(name, parts)
        this.topicIds.set(topic.topicId, name)
        throw err
      }
      for (const log of parts) {
        log.closeForDelete()
        this.dirDeleter.renameAndRemove(log.dir)
      }
      await this.io.fsyncDir(this.dataDir)
      await this.cleaner?.forget(parts.map((l) => l.name)).catch((err: unknown) => this.logger.warn({ err, topic: name }, 'cleaner checkpoint after deletion failed'))
    })
  }

  /**
   * Drops one partition's data (its replica moved to other brokers): the directory is removed and
   * an empty log takes the partition's place, so the topic keeps all its partitions and a replica
   * assigned here again starts from nothing, as a new one does.
   */
  deletePartitionData(name: string, index: number): Promise<void> {
    return this.exclusive(async () => {
      const topic = this.metadata.getTopic(name)
      const parts = this.logs.get(name)
      const old = parts?.[index]
      if (topic === undefined || parts === undefined || old === undefined) throw new UnknownTopicError(`Partition ${name}-${index} does not exist.`)
      old.closeForDelete()
      this.dirDeleter.renameAndRemove(old.dir)
      parts[index] = this.openPartition(name, index, resolveLogConfig(this.brokerConfig, topic.configs))
      await this.io.fsyncDir(this.dataDir)
      await this.cleaner?.forget([old.name]).catch((err: unknown) => this.logger.warn({ err, topic: name, partition: index }, 'cleaner checkpoint after deletion failed'))
    })
  }

  createPartitions(name: string, totalCount: number): Promise<void> {
    return this.exclusive(async () => {
      const topic = this.metadata.getTopic(name)
      const parts = this.logs.get(name)
      if (topic === undefined || parts === undefined) throw new UnknownTopicError(`Topic '${name}' does not exist.`)
      if (!Number.isInteger(totalCount) || totalCount <= topic.partitions) {
        throw new InvalidPartitionsError(`Topic currently has ${topic.partitions} partitions, which is higher than or equal to the requested ${totalCount}.`)
      }
      this.checkPartitionLimit(name, totalCount, totalCount - parts.length)
      const config = resolveLogConfig(this.brokerConfig, topic.configs)
      const added = await this.openNewPartitions(name, parts.length, totalCount, config, () => this.metadata.putTopic({ ...topic, partitions: totalCount }))
      for (const log of added) parts.push(log)
    })
  }

  /** Replaces the topic's overrides; the new config applies to its partitions at once. */
  async alterTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const topic = this.metadata.getTopic(name)
    const parts = this.logs.get(name)
    if (topic === undefined || parts === undefined) throw new UnknownTopicError(`Topic '${name}' does not exist.`)
    const config = resolveLogConfig(this.brokerConfig, configs)
    await this.metadata.putTopic({ ...topic, configs: { ...configs } })
    for (const log of parts) log.config = config
  }

  /** Validates overrides without applying them (CreateTopics/AlterConfigs validateOnly). */
  validateTopicConfigs(configs: Record<string, string>): void {
    try {
      resolveLogConfig(this.brokerConfig, configs)
    } catch (err) {
      if (err instanceof InvalidConfigError) throw err
      throw new InvalidConfigError(String(err))
    }
  }

  /**
   * Replaces the broker-level defaults (Kafka's log.* keys) and re-resolves every topic's config,
   * so a dynamic broker change reaches topics without an override at once.
   */
  setBrokerConfig(brokerConfig: Record<string, string>): void {
    const next = { ...brokerConfig }
    const resolved = new Map<string, ReturnType<typeof resolveLogConfig>>()
    for (const name of this.logs.keys()) {
      const topic = this.metadata.getTopic(name)
      if (topic) resolved.set(name, resolveLogConfig(next, topic.configs)) // throws before anything changes
    }
    this.brokerConfig = next
    for (const [name, config] of resolved) for (const log of this.logs.get(name) ?? []) log.config = config
    this.cleaner?.reconfigure(this.cleanerSettings())
  }

  /** log.cleaner.threads, log.cleaner.dedupe.buffer.size and log.cleaner.io.max.bytes.per.second, dynamic as in Kafka. */
  private cleanerSettings(): CleanerSettings {
    return {
      threads: Number(this.brokerConfig['log.cleaner.threads'] ?? 1),
      dedupeBufferSize: Number(this.brokerConfig['log.cleaner.dedupe.buffer.size'] ?? 134_217_728),
      maxIoBytesPerSecond: Number(this.brokerConfig['log.cleaner.io.max.bytes.per.second'] ?? Number.POSITIVE_INFINITY),
    }
  }

  /** The broker-level defaults topics inherit. */
  get brokerDefaults(): Readonly<Record<string, string>> {
    return this.brokerConfig
  }

  partition(topic: string, index: number): PartitionLog | undefined {
    return this.logs.get(topic)?.[index]
  }

  partitions(): PartitionLog[] {
    const out: PartitionLog[] = []
    for (const parts of this.logs.values()) for (const log of parts) out.push(log)
    return out
  }

  logDirSummary(): LogDirSummary {
    const { totalBytes, usableBytes } = this.io.statfs(this.dataDir)
    return {
      dir: this.dataDir,
      totalBytes,
      usableBytes,
      partitions: this.partitions().map((l) => ({ topic: l.topic, partition: l.partition, size: l.sizeInBytes, offsetLag: 0 as const })),
    }
  }

  /** Flushes and closes every log, writes checkpoints and, if all went well, the clean-shutdown marker. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const t of this.timers) clearInterval(t)
    // A topic still opening stops between partitions; what it did not open keeps its files as they were.
    await this.later.whenOpen().catch(() => {})
    // Unless the directory was opened clean, what was not opened is not recovered yet.
    let clean = this.later.recovered
    await this.cleaner?.stop()
    await Promise.all(
      this.partitions().map(async (log) => {
        try {
          await log.close()
        } catch (err) {
          clean = false
          this.logger.error({ err, partition: `${log.topic}-${log.partition}` }, 'closing partition failed')
        }
        if (log.offline) clean = false
      }),
    )
    try {
      await this.writeCheckpoints()
    } catch (err) {
      clean = false
      this.logger.error({ err }, 'writing offset checkpoints failed')
    }
    await this.dirDeleter.drain()
    await this.metadata.close()
    releaseDataDirLock(this.dataDir)
    if (clean) {
      const fd = this.io.open(path.join(this.dataDir, CLEAN_SHUTDOWN_FILE), 'w+')
      try {
        await this.io.fsync(fd)
      } finally {
        this.io.close(fd)
      }
      await this.io.fsyncDir(this.dataDir)
    }
  }
}
