// Retention: three predicates over a partition's segments, oldest first, each fed to one deleter
// that stops at the first segment the predicate keeps and never touches the active segment
// (Kafka's deleteRetentionMsBreachedSegments, ...SizeBreached..., ...LogStartOffsetBreached...).
import type { LogSegment } from './segment.js'
import type { PartitionLog } from './partition-log.js'

export interface RetentionContext {
  now: number
  log: PartitionLog
}

/** Decides for one segment, given the segment after it; may keep state across one walk. */
export type RetentionPredicate = (segment: LogSegment, next: LogSegment | undefined) => boolean

/** The segment's newest record is older than retention.ms. */
export function retentionTimeBreached(ctx: RetentionContext): RetentionPredicate | undefined {
  const ms = ctx.log.config.retentionMs
  if (ms < 0) return undefined
  return (seg) => {
    if (seg.isEmpty) return false
    const newest = seg.maxTimestampSoFar > 0 ? seg.maxTimestampSoFar : seg.created
    return ctx.now - newest > ms
  }
}

/** The partition is larger than retention.bytes and dropping this segment keeps it at or above it. */
export function retentionSizeBreached(ctx: RetentionContext): RetentionPredicate | undefined {
  const limit = ctx.log.config.retentionBytes
  if (limit < 0) return undefined
  let excess = ctx.log.sizeInBytes - limit
  return (seg) => {
    if (excess - seg.size < 0) return false
    excess -= seg.size
    return true
  }
}

/** Every record of the segment is below logStartOffset. */
export function logStartOffsetBreached(ctx: RetentionContext): RetentionPredicate {
  const start = ctx.log.logStartOffset
  return (_seg, next) => next !== undefined && next.baseOffset <= start
}

/** Leading segments the predicate accepts, stopping at the first kept one and before the active. */
export function deletableSegments(log: PartitionLog, predicate: RetentionPredicate): LogSegment[] {
  const segs = log.segmentList
  const out: LogSegment[] = []
  for (let i = 0; i < segs.length - 1; i++) {
    if (!predicate(segs[i]!, segs[i + 1])) break
    out.push(segs[i]!)
  }
  return out
}

/** Applies every retention rule to one partition; returns the number of segments deleted. */
export function applyRetention(log: PartitionLog, now = Date.now()): number {
  if (log.offline) return 0
  let deleted = 0
  const ctx: RetentionContext = { now, log }
  if (log.config.cleanupPolicy.includes('delete')) {
    const byTime = retentionTimeBreached(ctx)
    if (byTime) deleted += log.deleteSegments(deletableSegments(log, byTime), 'retention.ms')
    const bySize = retentionSizeBreached(ctx)
    if (bySize) deleted += log.deleteSegments(deletableSegments(log, bySize), 'retention.bytes')
  }
  deleted += log.deleteSegments(deletableSegments(log, logStartOffsetBreached(ctx)), 'log start offset')
  return deleted
}
