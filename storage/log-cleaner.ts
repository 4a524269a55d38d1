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
// Concurrency: one pass at a time, on the event loop; a pass yields between segments. A cleaning
// that finds its segments changed (retention, truncation, deletion) gives up and is retried later.
import path from 'node:path'
import { OffsetCheckpointFile } from './checkpoint.js'
import type { FileIO } from './file-io.js'
import { floorSegmentIndex } from './log-reader.js'
import type { Logger } from './logger.js'
import { OffsetMap } from './offset-map.js'
import type { PartitionLog } from './partition-log.js'
import { CleaningAbortedError, Pacer, buildOffsetMap, cleanSegments, earliestDeleteHorizon, type CleanResult } from './segment-cleaner.js'

export const CLEANER_OFFSET_CHECKPOINT = 'cleaner-offset-checkpoint'

export interface LogCleanerOptions {
  dataDir: string
  io: FileIO
  logger: Logger
  /** Every open log; the cleaner picks the compacted ones. */
  logs: () => PartitionLog[]
  /** log.cleaner.dedupe.buffer.size. */
  dedupeBufferSize: number
  /** log.cleaner.io.max.bytes.per.second: bytes read and written by a cleaning; unlimited by default. */
  maxIoBytesPerSecond?: number
}

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

/** What `samsa topics describe` and DescribeLogDirs can show per partition. */
export interface CleanerState {
  firstDirtyOffset: number
  dirtyRatio: number
  lastRunMs: number
  bytesReclaimed: number
  recordsRemoved: number
  /** When the earliest tombstone kept by the last cleaning may go; -1 when none is kept. */
  deleteHorizonMs: number
}

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
  private readonly states = new Map<string, CleanerState>()
  /** Delete horizons read from the batches of logs not cleaned yet in this process. */
  private readonly recoveredHorizons = new Map<string, number>()
  private readonly map: OffsetMap
  private running: Promise<number> | undefined
  private stopped = false

  constructor(private readonly opts: LogCleanerOptions) {
    this.checkpointFile = new OffsetCheckpointFile(opts.io, path.join(opts.dataDir, CLEANER_OFFSET_CHECKPOINT))
    this.checkpoints = this.checkpointFile.read()
    this.map = new OffsetMap(opts.dedupeBufferSize)
  }

  /** The checkpointed first dirty offset of a log, if any. */
  checkpoint(log: PartitionLog): number | undefined {
    return this.checkpoints.get(log.name)
  }

  state(log: PartitionLog, now = Date.now()): CleanerState | undefined {
    if (!isCompacted(log)) return undefined
    const range = cleanableRange(log, this.checkpoint(log), now)
    const s = this.states.get(log.name)
    return {
      firstDirtyOffset: range.firstDirtyOffset,
      dirtyRatio: range.dirtyRatio,
      lastRunMs: s?.lastRunMs ?? -1,
      bytesReclaimed: s?.bytesReclaimed ?? 0,
      recordsRemoved: s?.recordsRemoved ?? 0,
      deleteHorizonMs: this.deleteHorizon(log),
    }
  }

  /** The earliest delete horizon of the log's cleaned part; -1 when nothing waits for one. */
  private deleteHorizon(log: PartitionLog): number {
    const known = this.states.get(log.name)?.deleteHorizonMs ?? this.recoveredHorizons.get(log.name)
    if (known !== undefined) return known
    const checkpoint = this.checkpoint(log)
    const horizon = checkpoint === undefined ? -1 : earliestDeleteHorizon(log, checkpoint)
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
    const candidates: Array<{ log: PartitionLog; range: CleanableRange }> = []
    for (const log of this.opts.logs()) {
      if (log.offline || !isCompacted(log)) continue
      const range = cleanableRange(log, this.checkpoint(log), now)
      const ratio = numberConfig(log, 'min.cleanable.dirty.ratio', 0.5)
      // Tombstones whose delete horizon has passed make a log cleanable too (Kafka's deleteHorizon logs).
      const horizon = this.deleteHorizon(log)
      const tombstonesDue = horizon >= 0 && now >= horizon
      if ((range.dirtyBytes > 0 && (range.dirtyRatio > ratio || range.overdue)) || tombstonesDue) candidates.push({ log, range })
    }
    candidates.sort((a, b) => b.range.dirtyRatio - a.range.dirtyRatio)
    let cleaned = 0
    for (const { log, range } of candidates) {
      if (this.stopped) break
      try {
        const result = await this.clean(log, range, now)
        if (result !== undefined) cleaned++
      } catch (err) {
        if (err instanceof CleaningAbortedError) this.opts.logger.info({ partition: log.name, reason: err.message }, 'cleaning gave up; retrying later')
        else this.opts.logger.error({ err, partition: log.name }, 'cleaning failed')
      }
    }
    if (cleaned > 0) await this.writeCheckpoint()
    return cleaned
  }

  private async clean(log: PartitionLog, range: CleanableRange, now: number): Promise<CleanResult | undefined> {
    const started = Date.now()
    const pacer = new Pacer(this.opts.maxIoBytesPerSecond)
    const mapEnd = await buildOffsetMap(log, this.map, range.firstDirtyOffset, range.firstUncleanableOffset, pacer)
    if (mapEnd <= range.firstDirtyOffset && range.dirtyBytes > 0) {
      this.opts.logger.warn({ partition: log.name, offset: mapEnd }, 'offset map too small for one batch; not cleaning')
      return undefined
    }
    const times = { now, deleteRetentionMs: numberConfig(log, 'delete.retention.ms', 86_400_000) }
    const result = await cleanSegments(log, this.map, mapEnd, this.opts.io, times, pacer)
    this.map.clear()
    this.checkpoints.set(log.name, result.nextDirtyOffset)
    const prev = this.states.get(log.name)
    this.states.set(log.name, {
      firstDirtyOffset: result.nextDirtyOffset,
      dirtyRatio: 0,
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

  /** Writes the checkpoint for the logs that exist now (a deleted topic's entries go). */
  async writeCheckpoint(): Promise<void> {
    const entries: Array<{ topic: string; partition: number; offset: number }> = []
    for (const log of this.opts.logs()) {
      const offset = this.checkpoints.get(log.name)
      if (offset !== undefined) entries.push({ topic: log.topic, partition: log.partition, offset })
    }
    await this.checkpointFile.write(entries)
  }

  /** Waits for the running pass (which stops after its current log) and stops the cleaner. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.running
  }
}
