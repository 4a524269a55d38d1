// Log recovery on open. After an unclean stop, every segment from the one holding the recovery
// point onwards is rescanned: each batch is checked (length, magic, CRC, increasing offsets), the
// indexes are rebuilt, and the log is truncated at the first torn or corrupt byte; segments after
// a truncation are dropped, since offsets must not jump over lost data. (Gaps between whole
// segments are legitimate: the log cleaner removes records, and with them a segment's tail.) Segments below the recovery point,
// and every segment after a clean stop, are opened from their indexes plus the batches after the
// last index entry; an index that fails Kafka's sanity checks is rebuilt by a rescan.
import type { Logger } from './logger.js'
import type { LogSegment } from './segment.js'

export interface RecoveryOptions {
  /** Offset below which data is known durable; Number.MAX_SAFE_INTEGER after a clean stop. */
  recoveryPoint: number
  logger: Logger
  /** Partition name for log lines. */
  name: string
}

/**
 * Loads or recovers `segments` (sorted by baseOffset, already opened). Returns the segments that
 * remain valid, a prefix of the input; the caller deletes the rest.
 */
export function recoverSegments(segments: readonly LogSegment[], opts: RecoveryOptions): LogSegment[] {
  const { logger, name } = opts
  let firstToRecover = segments.length
  if (opts.recoveryPoint !== Number.MAX_SAFE_INTEGER) {
    firstToRecover = 0
    for (let i = 0; i < segments.length; i++) if (segments[i]!.baseOffset <= opts.recoveryPoint) firstToRecover = i
  }
  const kept: LogSegment[] = []
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!
    const prev = kept[kept.length - 1]
    if (prev !== undefined && prev.nextOffset > seg.baseOffset) {
      logger.warn(
        { partition: name, baseOffset: seg.baseOffset, expected: prev.nextOffset, dropped: segments.length - i },
        'segment overlaps the previous one; dropping it and later segments',
      )
      break
    }
    let mustRecover = i >= firstToRecover
    if (!mustRecover) {
      const problem = seg.loadState()
      if (problem !== undefined) {
        logger.warn({ partition: name, baseOffset: seg.baseOffset, problem }, 'segment files inconsistent; rebuilding')
        mustRecover = true
      }
    }
    if (mustRecover) {
      const result = seg.recover()
      if (result.truncatedBytes > 0) {
        logger.warn(
          {
            partition: name,
            baseOffset: seg.baseOffset,
            validBytes: result.validBytes,
            truncatedBytes: result.truncatedBytes,
            reason: result.reason,
          },
          'truncated invalid bytes at the end of a segment',
        )
        kept.push(seg)
        if (i < segments.length - 1) {
          logger.warn({ partition: name, dropped: segments.length - 1 - i }, 'dropping segments after the truncation point')
        }
        break
      }
    }
    kept.push(seg)
  }
  // An empty segment can only be the last one; an empty first segment is fine too.
  return kept
}
