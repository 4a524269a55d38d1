// Where a follower cuts its log before fetching from a new leader (KIP-101, with KIP-279's
// rounds): it asks the leader for the end offset of its own latest epoch (OffsetForLeaderEpoch)
// and truncates to the smaller of that and its own end of the epoch the leader answered with. When
// the leader names an epoch the follower never had, the follower cuts to its own end of the newest
// epoch it has below that one and asks again; a leader that knows no such epoch sends the follower
// back to its high watermark.
import { UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, type EpochEntry } from '../../storage/leader-epoch-cache.js'

export interface FollowerLog {
  readonly logEndOffset: number
  readonly highWatermark: number
  readonly logStartOffset: number
  readonly replicated: boolean
  readonly leaderEpochs: { readonly latestEpoch: number; endOffsetFor(epoch: number, logEndOffset: number): EpochEntry }
}

export interface Truncation {
  /** Cut everything at and after this offset (no-op at or past the log end). */
  offset: number
  /** False: ask the leader again, with the follower's now-latest epoch. */
  done: boolean
}

/** The epoch the follower asks about: its latest, or none when it has no epochs. */
export function epochToAsk(log: FollowerLog): number {
  return log.leaderEpochs.latestEpoch
}

/**
 * The follower's cut for the leader's answer about epoch `asked`: `leaderEpoch` is the largest
 * epoch the leader knows at or below it, `endOffset` where that epoch ends on the leader.
 */
export function truncationFor(log: FollowerLog, asked: number, leaderEpoch: number, endOffset: number): Truncation {
  const leo = log.logEndOffset
  if (asked === UNDEFINED_EPOCH) {
    // No epochs here: nothing tells which records the leader shares, so keep only what was
    // known committed (an empty log has nothing to cut).
    return { offset: Math.min(leo, log.replicated ? log.highWatermark : log.logStartOffset), done: true }
  }
  if (endOffset === UNDEFINED_EPOCH_OFFSET || leaderEpoch === UNDEFINED_EPOCH) {
    return { offset: Math.min(leo, log.highWatermark), done: true }
  }
  if (leaderEpoch === asked) return { offset: Math.min(endOffset, leo), done: true }
  const ours = log.leaderEpochs.endOffsetFor(leaderEpoch, leo)
  if (ours.startOffset === UNDEFINED_EPOCH_OFFSET) return { offset: Math.min(leo, log.highWatermark), done: true }
  if (ours.epoch !== leaderEpoch) return { offset: Math.min(ours.startOffset, leo), done: false }
  return { offset: Math.min(endOffset, ours.startOffset, leo), done: true }
}
