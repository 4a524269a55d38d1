// LogLoader: opens one partition directory as Kafka's LogLoader does. It removes what an
// interrupted operation left behind (`.deleted`, uncommitted `.cleaned` output, half-written
// snapshots, indexes without a log), finishes a cleaner swap a crash interrupted (segment-swap.ts), opens the segments in baseOffset order, recovers them with
// recoverSegments (a rescan from the recovery point after an unclean stop), and rebuilds the
// producer state from the newest snapshot plus a replay of the batches after it.
//
// Concurrency: runs synchronously while the partition opens, before anything else can use it;
// rebuildProducerState also runs after a truncation, on the event loop like every other call.
import path from 'node:path'
import {
  isControl,
  readAttributes,
  readBaseOffset,
  readLastOffset,
  readMaxTimestamp,
  readProducerEpoch,
  readProducerId,
} from '../protocol/record-batch.js'
import { iterateRecords } from '../protocol/record-reader.js'
import { ControlType, readControlRecord } from '../protocol/control-records.js'
import type { FileIO } from './file-io.js'
import type { Logger } from './logger.js'
import { SNAPSHOT_SUFFIX, producerBatchAt, type ProducerStateManager } from './producer-state.js'
import { floorSegmentIndex } from './log-reader.js'
import { recoverSegments } from './recovery.js'
import { finishInterruptedSwaps } from './segment-swap.js'
import { DELETED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, LogSegment, TIME_INDEX_SUFFIX, type SegmentConfig } from './segment.js'
import { TXN_INDEX_SUFFIX, type TxnIndex } from './txn-index.js'

export interface LoadOptions {
  dir: string
  /** Partition name for log lines. */
  name: string
  io: FileIO
  config: SegmentConfig
  logger: Logger
  producerState: ProducerStateManager
  /** From the recovery-point checkpoint; recovery rescans from the segment holding it. */
  recoveryPoint: number
  /** From the log-start-offset checkpoint. */
  logStartOffset: number
  /** The data dir was shut down cleanly: trust the files and skip recovery. */
  hadCleanShutdown: boolean
}

export interface LoadedLog {
  /** Never empty; the last one is active. */
  segments: LogSegment[]
  logStartOffset: number
  logEndOffset: number
  recoveryPoint: number
  /** Segments were created or removed: the directory needs an fsync. */
  dirDirty: boolean
  /** The log restarted empty at the checkpointed log start; the owner should checkpoint it. */
  restarted: boolean
}

/** Opens, cleans and recovers the partition directory, then rebuilds its producer state. */
export function loadLog(opts: LoadOptions): LoadedLog {
  const { io, dir, config, logger, name } = opts
  io.mkdir(dir)
  let segments = openSegments(opts)
  let dirDirty = false
  const clean = opts.hadCleanShutdown
  if (segments.length > 0) {
    const recovered = recoverSegments(segments, {
      recoveryPoint: clean ? Number.MAX_SAFE_INTEGER : opts.recoveryPoint,
      logger,
      name,
    })
    for (const seg of segments.slice(recovered.length)) seg.delete()
    segments = recovered
  }
  if (segments.length === 0) {
    segments = [LogSegment.create(io, dir, opts.logStartOffset, config)]
    dirDirty = true
  }
  let active = segments[segments.length - 1]!
  active.makeActive()
  let logEndOffset = active.nextOffset
  const logStartOffset = Math.max(opts.logStartOffset, segments[0]!.baseOffset)
  let restarted = false
  if (logStartOffset > logEndOffset) {
    // Records below the checkpointed start were deleted on purpose; data after it was lost.
    logger.warn({ partition: name, logStartOffset, logEndOffset }, 'log start offset beyond the recovered log end; starting an empty log there')
    for (const seg of segments) seg.delete()
    active = LogSegment.create(io, dir, logStartOffset, config)
    segments = [active]
    dirDirty = true
    logEndOffset = logStartOffset
    opts.producerState.clear()
    opts.producerState.deleteSnapshotsAbove(-1)
    restarted = true
  }
  const recoveryPoint = clean ? logEndOffset : Math.min(opts.recoveryPoint, logEndOffset)
  rebuildProducerState(opts.producerState, segments, logEndOffset, logger, name)
  return { segments, logStartOffset, logEndOffset, recoveryPoint, dirDirty, restarted }
}

/** Removes leftovers of interrupted operations and opens the remaining segments, oldest first. */
function openSegments(opts: LoadOptions): LogSegment[] {
  const { io, dir } = opts
  const bases: number[] = []
  const names = finishInterruptedSwaps(io, dir, (baseOffset, replaced) =>
    opts.logger.info({ partition: opts.name, baseOffset, replaced }, 'finished a cleaned-segment swap interrupted by a crash'),
  )
  const logs = new Set<string>()
  for (const name of names) {
    if (name.endsWith(DELETED_SUFFIX) || name.endsWith(SNAPSHOT_SUFFIX + '.tmp')) {
      io.unlink(path.join(dir, name))
      continue
    }
    if (name.endsWith(LOG_SUFFIX) && /^\d{20}\.log$/.test(name)) {
      bases.push(Number(name.slice(0, 20)))
      logs.add(name.slice(0, 20))
    }
  }
  // Index files whose log is gone would be picked up by a later segment with that base.
  for (const name of names) {
    if ((name.endsWith(INDEX_SUFFIX) || name.endsWith(TIME_INDEX_SUFFIX) || name.endsWith(TXN_INDEX_SUFFIX)) && !logs.has(name.slice(0, 20))) {
      io.unlink(path.join(dir, name))
    }
  }
  bases.sort((a, b) => a - b)
  return bases.map((b) => LogSegment.open(io, dir, b, opts.config))
}

/**
 * Loads the newest snapshot at or below the log end and replays the producer batches and
 * markers after it, re-adding aborted-transaction index entries a crash may have lost.
 */
export function rebuildProducerState(ps: ProducerStateManager, segments: readonly LogSegment[], logEndOffset: number, logger: Logger, name: string): void {
  const first = segments[0]!.baseOffset
  const from = Math.max(ps.loadLatestSnapshot(logEndOffset) ?? first, first)
  if (from >= logEndOffset) return
  let replayed = 0
  for (let i = floorSegmentIndex(segments, from); i < segments.length; i++) {
    const seg = segments[i]!
    seg.walk(seg.offsetIndex.lookup(from).position, (buf, at, position, size) => {
      if (readLastOffset(buf, at) >= from) {
        replayBatch(ps, seg, buf, at, position, size, logger, name)
        replayed++
      }
      return true
    })
  }
  logger.info({ partition: name, from, to: logEndOffset, batches: replayed, producers: ps.size }, 'rebuilt producer state')
}

function replayBatch(ps: ProducerStateManager, seg: LogSegment, buf: Uint8Array, at: number, position: number, size: number, logger: Logger, name: string): void {
  applyBatchToProducerState(ps, seg.txnIndex, buf, at, () => seg.readBatch(position, size), logger, name)
}

/**
 * Applies one batch of the log to the producer state: a producer batch updates its producer, a
 * transaction marker closes its transaction (an abort is indexed in `txnIndex` unless already
 * there). `records` gives the whole batch's bytes, read only for control batches. Used by replay
 * on open and by followers appending what their leader wrote.
 */
export function applyBatchToProducerState(
  ps: ProducerStateManager,
  txnIndex: TxnIndex,
  buf: Uint8Array,
  at: number,
  records: () => Uint8Array,
  logger: Logger,
  name: string,
): void {
  const attributes = readAttributes(buf, at)
  if (!isControl(attributes)) {
    const pb = producerBatchAt(buf, at)
    if (pb !== undefined) ps.update(pb, readBaseOffset(buf, at))
    return
  }
  const offset = readBaseOffset(buf, at)
  for (const r of iterateRecords(records(), 0)) {
    const ctl = readControlRecord(r)
    if (ctl === null || (ctl.type !== ControlType.Abort && ctl.type !== ControlType.Commit)) continue
    const aborted = ps.completeTxn({
      producerId: readProducerId(buf, at),
      producerEpoch: readProducerEpoch(buf, at),
      coordinatorEpoch: ctl.coordinatorEpoch,
      commit: ctl.type === ControlType.Commit,
      offset,
      timestamp: readMaxTimestamp(buf, at),
    })
    if (aborted !== undefined && !txnIndex.has(aborted.producerId, aborted.lastOffset)) {
      try {
        txnIndex.append(aborted)
      } catch (err) {
        logger.warn({ err, partition: name, offset }, 'could not re-index an aborted transaction')
      }
    }
  }
}
