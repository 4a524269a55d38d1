// LogCleaner: compaction of the logs whose cleanup.policy includes `compact`, in the background,
// as Kafka's LogCleaner and LogCleanerManager. Each pass takes the compacted logs that are
// cleanable, filthiest first, and cleans each once (segment-cleaner.ts); it runs on a timer
// (log.cleaner.backoff.ms) and never on the request path.
//
// Per log, the cleaner checkpoint (`cleaner-offset-checkpoint` in the data dir, Kafka's format)
// holds the first dirty offset: everything below it has been cleaned. The dirty section ends at
// the first uncleanable offset, the baseOffset of the earliest of: the active segment, the segment
// holding the last stable offset, and the first segment with a record newer than
// min.compaction.lag.ms. A log is cleanable when its dirty ratio (dirty bytes over clean + dirty
// bytes) exceeds min.cleanable.dirty.ratio, or when its first dirty segment began longer ago than
// max.compaction.lag.ms. When the offset map (log.cleaner.dedupe.buffer.size) fills before the end
// of the dirty section, the round cleans what the map covers and the rest waits for the next one.
// Tombstones and transaction markers are removed by the first cleaning after their delete horizon
// (segment-cleaner.ts); a log whose kept tombstones or markers reach their horizon is cleaned then
// even if nothing is dirty. The horizon is known from the last cleaning in this process; after a
// restart, from the batches themselves, which carry it (read once per log, headers first).
//
// A pass cleans up to log.cleaner.threads logs at once, each with its own offset map of
// log.cleaner.dedupe.buffer.size / threads (as Kafka divides the buffer among its cleaner
// threads), all held together to log.cleaner.io.max.bytes.per.second (Kafka's one Throttler);
// the three apply from the next pass when changed at run time, and 0 threads pauses cleaning. A
// partition whose cleaning fails unexpectedly is left alone until restart (Kafka's uncleanable
// partitions); its reason is kept. After each pass the state of every compacted partition goes to
// cleaner-state.json (cleaner-state.ts) for `samsa topics describe --data-dir`.
//
// Concurrency: one pass at a time, on the event loop; cleanings of a pass interleave at their
// yields (between segments and every few MiB). A cleaning that finds its segments changed
// (retention, truncation, deletion) gives up and is retried later.
import path from 'node:path'
import { OffsetCheckpointFile } from './checkpoint.js'
import { CleanerStateFile, type PartitionCleanerState } from './cleaner-state.js'
import type { FileIO } from './file-io.js'
import { floorSegmentIndex } from './log-reader.js'
import type { Logger } from './logger.js'
import { OffsetMap } from './offset-map.js'
import type { PartitionLog } from './partition-log.js'
import { CleaningAbortedError, Pacer, buildOffsetMap, cleanSegments, earliestDeleteHorizon, type CleanResult } from './segment-cleaner.js'

export const CLEANER_OFFSET_CHECKPOINT = 'cleaner-offset-checkpoint'
const MAP_TOO_SMALL = 'offset map too small'

export interface LogCleanerOptions {
  dataDir: string
  io: FileIO
  logger: Logger
  /** Every open log; the cleaner picks the compacted ones. */
  logs: () => PartitionLog[]
  /** log.cleaner.dedupe.buffer.size, shared by the threads. */
  dedupeBufferSize: number
  /** log.cleaner.io.max.bytes.per.second: bytes read and written by a pass's cleanings; unlimited by default. */
  maxIoBytesPerSecond?: number
  /** log.cleaner.threads: logs cleaned at once in a pass (default 1; 0 pauses cleaning). */
  threads?: number
}

/** The settings that may change at run time (Kafka's LogCleaner.ReconfigurableConfigs). */
export type CleanerSettings = Pick<LogCleanerOptions, 'dedupeBufferSize' | 'maxIoBytesPerSecond' | 'threads'>

/** The part of a log the next cleaning would cover. */
export interface CleanableRange {
  firstDirtyOffset: number
  /** A segment's baseOffset; nothing at or after it is cleaned. */
  firstUncleanableOffset: number
  cleanBytes: number
  dirtyBytes: number
  dirtyRatio: number
  /** A dirty record is older than max.compaction.lag.ms. */
  overdue: boolean
}

/** What `samsa topics describe --data-dir` shows per partition (cleaner-state.ts). */
export type CleanerState = PartitionCleanerState

function numberConfig(log: PartitionLog, key: string, fallback: number): number {
  const v = Number(log.config.values[key])
  return Number.isFinite(v) ? v : fallback
}

export function isCompacted(log: PartitionLog): boolean {
  return log.config.cleanupPolicy.includes('compact')
}

export function cleanableRange(log: PartitionLog, checkpoint: number | undefined, now: number): CleanableRange {
  const segs = log.segmentList
  const logStart = log.logStartOffset
  let firstDirty = checkpoint ?? logStart
  if (firstDirty < logStart || firstDirty > log.logEndOffset) firstDirty = logStart
  let uncleanable = log.activeSegment.baseOffset
  const lso = log.lastStableOffset
  if (lso < uncleanable) uncleanable = Math.min(uncleanable, segs[floorSegmentIndex(segs, lso)]!.baseOffset)
  const minLag = numberConfig(log, 'min.compaction.lag.ms', 0)
  const dirtyFrom = floorSegmentIndex(segs, firstDirty)
  if (minLag > 0) {
    for (let i = dirtyFrom; i < segs.length - 1 && segs[i]!.baseOffset < uncleanable; i++) {
      if (segs[i]!.maxTimestampSoFar > now - minLag) {
        uncleanable = segs[i]!.baseOffset
        break
      }
    }
  }
  let cleanBytes = 0
  let dirtyBytes = 0
  for (let i = 0; i < segs.length - 1; i++) {
    const seg = segs[i]!
    if (seg.baseOffset >= uncleanable) break
    if (i < dirtyFrom) cleanBytes += seg.size
    else dirtyBytes += seg.size
  }
  const total = cleanBytes + dirtyBytes
  const first = segs[dirtyFrom]!
  const maxLag = numberConfig(log, 'max.compaction.lag.ms', Number.MAX_SAFE_INTEGER)
  const firstTimestamp = first.rollingBasedTimestamp !== undefined && first.rollingBasedTimestamp >= 0 ? first.rollingBasedTimestamp : first.created
  const overdue = dirtyBytes > 0 && now - firstTimestamp > maxLag
  return { firstDirtyOffset: firstDirty, firstUncleanableOffset: uncleanable, cleanBytes, dirtyBytes, dirtyRatio: total === 0 ? 0 : dirtyBytes / total, overdue }
}

export class LogCleaner {
  private readonly checkpointFile: OffsetCheckpointFile
  private readonly checkpoints: Map<string, number>
  private readonly stateFile: CleanerStateFile
  private readonly results = new Map<string, { lastRunMs: number; bytesReclaimed: number; recordsRemoved: number; deleteHorizonMs: number }>()
  /** Delete horizons read from the batches of logs not cleaned yet in this process. */
  private readonly recoveredHorizons = new Map<string, number>()
  /** Partitions not cleaned (Kafka's uncleanable partitions), with the reason. */
  private readonly uncleanable = new Map<string, string>()
  private settings: Required<CleanerSettings>
  private maps: OffsetMap[] = []
  private running: Promise<number> | undefined
  private stopped = false
  /** When the last pass looked for logs to clean (Kafka's timeOfLastRun); -1 before the first. */
  private lastPassMs = -1
  /** Largest dirty ratio the last pass saw among compacted logs (Kafka's dirtiestLogCleanableRatio). */
  private maxDirtyRatio = 0

  constructor(private readonly opts: LogCleanerOptions) {
    this.checkpointFile = new OffsetCheckpointFile(opts.io, path.join(opts.dataDir, CLEANER_OFFSET_CHECKPOINT))
    this.checkpoints = this.checkpointFile.read()
    this.stateFile = new CleanerStateFile(opts.io, opts.dataDir)
    this.settings = { dedupeBufferSize: opts.dedupeBufferSize, maxIoBytesPerSecond: opts.maxIoBytesPerSecond ?? Number.POSITIVE_INFINITY, threads: opts.threads ?? 1 }
  }

  /** New settings take effect from the next pass. */
  reconfigure(settings: Partial<CleanerSettings>): void {
    const next = { ...this.settings }
    for (const [k, v] of Object.entries(settings) as Array<[keyof CleanerSettings, number | undefined]>) if (v !== undefined && !Number.isNaN(v)) next[k] = v
    if (next.threads !== this.settings.threads || next.dedupeBufferSize !== this.settings.dedupeBufferSize) {
      this.maps = []
      for (const [name, reason] of this.uncleanable) if (reason.startsWith(MAP_TOO_SMALL)) this.uncleanable.delete(name)
    }
    this.settings = next
  }

  /** Kafka's LogCleanerManager gauges: max-dirty-percent, time-since-last-run-ms, uncleanable-partitions-count. */
  summary(now = Date.now()): { maxDirtyPercent: number; timeSinceLastRunMs: number; uncleanablePartitions: number } {
    let uncleanable = 0
    for (const log of this.opts.logs()) if (isCompacted(log) && (log.offline || this.uncleanable.has(log.name))) uncleanable++
    return {
      maxDirtyPercent: Math.floor(this.maxDirtyRatio * 100),
      timeSinceLastRunMs: this.lastPassMs < 0 ? 0 : now - this.lastPassMs,
      uncleanablePartitions: uncleanable,
    }
  }

  /** The checkpointed first dirty offset of a log, if any. */
  checkpoint(log: PartitionLog): number | undefined {
    return this.checkpoints.get(log.name)
  }

  state(log: PartitionLog, now = Date.now()): CleanerState | undefined {
    if (!isCompacted(log)) return undefined
    const range = cleanableRange(log, this.checkpoint(log), now)
    const r = this.results.get(log.name)
    const reason = log.offline ? 'the partition is offline after an I/O error' : this.uncleanable.get(log.name)
    return {
      topic: log.topic,
      partition: log.partition,
      firstDirtyOffset: range.firstDirtyOffset,
      dirtyRatio: range.dirtyRatio,
      lastRunMs: r?.lastRunMs ?? -1,
      bytesReclaimed: r?.bytesReclaimed ?? 0,
      recordsRemoved: r?.recordsRemoved ?? 0,
      deleteHorizonMs: log.offline ? -1 : this.deleteHorizon(log),
      ...(reason === undefined ? {} : { uncleanableReason: reason }),
    }
  }

  /** The earliest delete horizon of the log's cleaned part; -1 when nothing waits for one (or it is not read yet). */
  private deleteHorizon(log: PartitionLog): number {
    return this.results.get(log.name)?.deleteHorizonMs ?? this.recoveredHorizons.get(log.name) ?? -1
  }

  /** deleteHorizon(), reading it from the log's batches the first time after a restart. */
  private async loadDeleteHorizon(log: PartitionLog): Promise<number> {
    const known = this.results.get(log.name)?.deleteHorizonMs ?? this.recoveredHorizons.get(log.name)
    if (known !== undefined) return known
    const checkpoint = this.checkpoint(log)
    let horizon = -1
    try {
      if (checkpoint !== undefined) horizon = await earliestDeleteHorizon(log, checkpoint)
    } catch (err) {
      if (!(err instanceof CleaningAbortedError)) throw err
      return -1 // the log changed under the read; the next pass reads it again
    }
    this.recoveredHorizons.set(log.name, horizon)
    return horizon
  }

  /** Starts a pass unless one is running; errors are logged. */
  runInBackground(): void {
    if (this.running !== undefined || this.stopped) return
    this.running = this.runOnce()
      .catch((err: unknown) => {
        this.opts.logger.error({ err }, 'log cleaner pass failed')
        return 0
      })
      .finally(() => {
        this.running = undefined
      })
  }

  /** One pass over every cleanable compacted log, filthiest first; returns how many were cleaned. */
  async runOnce(now = Date.now()): Promise<number> {
    const { threads, dedupeBufferSize, maxIoBytesPerSecond } = this.settings
    const candidates: Array<{ log: PartitionLog; range: CleanableRange }> = []
    this.lastPassMs = Date.now()
    this.maxDirtyRatio = 0
    for (const log of threads > 0 ? this.opts.logs() : []) {
      if (log.offline || !isCompacted(log) || this.uncleanable.has(log.name)) continue
      // Tombstones and markers whose delete horizon has passed make a log cleanable too.
      const horizon = await this.loadDeleteHorizon(log)
      if (log.offline) continue
      const range = cleanableRange(log, this.checkpoint(log), now)
      this.maxDirtyRatio = Math.max(this.maxDirtyRatio, range.dirtyRatio)
      const ratio = numberConfig(log, 'min.cleanable.dirty.ratio', 0.5)
      const tombstonesDue = horizon >= 0 && now >= horizon
      if ((range.dirtyBytes > 0 && (range.dirtyRatio > ratio || range.overdue)) || tombstonesDue) candidates.push({ log, range })
    }
    candidates.sort((a, b) => b.range.dirtyRatio - a.range.dirtyRatio)
    if (this.maps.length !== threads) this.maps = Array.from({ length: threads }, () => new OffsetMap(Math.floor(dedupeBufferSize / Math.max(1, threads))))
    // One pacer for the pass: the rate holds for all its cleanings together.
    const pacer = new Pacer(maxIoBytesPerSecond)
    let cleaned = 0
    let next = 0
    const worker = async (map: OffsetMap): Promise<void> => {
      while (next < candidates.length && !this.stopped) {
        const { log, range } = candidates[next++]!
        if (await this.cleanOrGiveUp(log, range, map, pacer, now)) cleaned++
      }
    }
    await Promise.all(this.maps.map(worker))
    if (cleaned > 0) await this.writeCheckpoint()
    this.writeState(now)
    return cleaned
  }

  private async cleanOrGiveUp(log: PartitionLog, range: CleanableRange, map: OffsetMap, pacer: Pacer, now: number): Promise<boolean> {
    try {
      return (await this.clean(log, range, map, pacer, now)) !== undefined
    } catch (err) {
      if (err instanceof CleaningAbortedError) this.opts.logger.info({ partition: log.name, reason: err.message }, 'cleaning gave up; retrying later')
      else if (!log.offline) {
        // As Kafka's LogCleaner: a partition whose cleaning fails is not cleaned again until restart.
        this.uncleanable.set(log.name, `cleaning failed: ${err instanceof Error ? err.message : String(err)}`)
        this.opts.logger.error({ err, partition: log.name }, 'cleaning failed; partition marked uncleanable')
      }
      return false
    } finally {
      map.clear()
    }
  }

  private async clean(log: PartitionLog, range: CleanableRange, map: OffsetMap, pacer: Pacer, now: number): Promise<CleanResult | undefined> {
    const started = Date.now()
    const mapEnd = await buildOffsetMap(log, map, range.firstDirtyOffset, range.firstUncleanableOffset, pacer)
    if (mapEnd <= range.firstDirtyOffset && range.dirtyBytes > 0) {
      this.opts.logger.warn({ partition: log.name, offset: mapEnd }, 'offset map too small for one batch; not cleaning')
      this.uncleanable.set(log.name, `${MAP_TOO_SMALL} for the batch at ${mapEnd}: raise log.cleaner.dedupe.buffer.size`)
      return undefined
    }
    const times = { now, deleteRetentionMs: numberConfig(log, 'delete.retention.ms', 86_400_000) }
    const result = await cleanSegments(log, map, mapEnd, this.opts.io, times, pacer)
    this.checkpoints.set(log.name, result.nextDirtyOffset)
    const prev = this.results.get(log.name)
    this.results.set(log.name, {
      lastRunMs: Date.now(),
      bytesReclaimed: (prev?.bytesReclaimed ?? 0) + result.bytesRead - result.bytesWritten,
      recordsRemoved: (prev?.recordsRemoved ?? 0) + result.recordsRemoved,
      deleteHorizonMs: result.earliestDeleteHorizon,
    })
    this.opts.logger.info(
      {
        partition: log.name,
        from: range.firstDirtyOffset,
        to: result.nextDirtyOffset,
        segments: result.segmentsCleaned,
        bytesRead: result.bytesRead,
        bytesWritten: result.bytesWritten,
        recordsRemoved: result.recordsRemoved,
        ms: Date.now() - started,
      },
      'cleaned log',
    )
    return result
  }

  /**
   * Forgets deleted partitions (Kafka's LogCleanerManager.updateCheckpoints on deletion), so a topic
   * created again under the same name starts dirty, and rewrites the checkpoint without them.
   */
  async forget(names: readonly string[]): Promise<void> {
    let had = false
    for (const name of names) {
      had = this.checkpoints.delete(name) || had
      this.results.delete(name)
      this.recoveredHorizons.delete(name)
      this.uncleanable.delete(name)
    }
    if (had) await this.writeCheckpoint()
  }

  /** Writes the checkpoint for the logs that exist now (a deleted topic's entries go). */
  async writeCheckpoint(): Promise<void> {
    const entries: Array<{ topic: string; partition: number; offset: number }> = []
    for (const log of this.opts.logs()) {
      const offset = this.checkpoints.get(log.name)
      if (offset !== undefined) entries.push({ topic: log.topic, partition: log.partition, offset })
    }
    await this.checkpointFile.write(entries)
  }

  /** cleaner-state.json for every compacted partition; a failure only costs the file's freshness. */
  private writeState(now: number): void {
    const states: CleanerState[] = []
    for (const log of this.opts.logs()) {
      const s = this.state(log, now)
      if (s !== undefined) states.push(s)
    }
    try {
      this.stateFile.write(states, now)
    } catch (err) {
      this.opts.logger.warn({ err }, 'writing cleaner-state.json failed')
    }
  }

  /** Waits for the running pass (which stops after its current logs) and stops the cleaner. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.running
  }
}
