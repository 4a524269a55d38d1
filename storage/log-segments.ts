// LogSegments: one partition's segments in baseOffset order, the last one active, as Kafka's
// LogSegments: the list and the changes to it (roll, dropping the oldest, cutting the tail, starting
// over, closing, swapping in a cleaned segment). It knows segments and files only; offsets, producer state, flushing and what an
// I/O error means belong to PartitionLog.
//
// Concurrency: owned by one PartitionLog on one thread. Readers that must not see the list change
// under them (an asynchronous read) take a copy (from()).
import path from 'node:path'
import type { FileIO } from './file-io.js'
import { floorSegmentIndex } from './log-reader.js'
import { LOG_SUFFIX, LogSegment, segmentFileName, type SegmentConfig } from './segment.js'
import { installCleanedTxnIndex, swapFileName, txnIndexSwapFileName } from './segment-swap.js'

export class LogSegments {
  private list: LogSegment[]

  /** `segments`: sorted, never empty; the last one becomes active. */
  constructor(
    private readonly io: FileIO,
    private readonly dir: string,
    segments: LogSegment[],
    private config: SegmentConfig,
  ) {
    this.list = segments
  }

  /** Oldest first; the last is the active segment. Do not mutate. */
  get all(): readonly LogSegment[] {
    return this.list
  }

  get active(): LogSegment {
    return this.list[this.list.length - 1]!
  }

  get first(): LogSegment {
    return this.list[0]!
  }

  get count(): number {
    return this.list.length
  }

  get sizeInBytes(): number {
    let total = 0
    for (const s of this.list) total += s.size
    return total
  }

  /** A new config reaches every segment's roll and index decisions at once. */
  setConfig(config: SegmentConfig): void {
    this.config = config
    for (const seg of this.list) seg.config = config
  }

  /** Starts a new active segment at `baseOffset`; the current one stops taking appends. */
  roll(baseOffset: number): LogSegment {
    this.active.onBecomeInactive()
    const seg = LogSegment.create(this.io, this.dir, baseOffset, this.config)
    this.list.push(seg)
    return seg
  }

  /** Segments whose every record is below `offset` (the next segment starts at or before it). */
  below(offset: number): LogSegment[] {
    const out: LogSegment[] = []
    for (let i = 0; i < this.list.length - 1 && this.list[i + 1]!.baseOffset <= offset; i++) out.push(this.list[i]!)
    return out
  }

  /** Removes and deletes `seg` if it is the oldest and not the active one. */
  deleteOldest(seg: LogSegment): boolean {
    if (seg === this.active || this.list[0] !== seg) return false
    this.list.shift()
    seg.delete()
    return true
  }

  /**
   * Whether `run` is still a run of consecutive segments of this list, none of them active (the
   * cleaner checks this after yielding, before it swaps the run for its cleaned segment).
   */
  holdsRun(run: readonly LogSegment[]): boolean {
    const i = this.list.indexOf(run[0]!)
    if (i < 0 || i + run.length >= this.list.length) return false
    for (let k = 1; k < run.length; k++) if (this.list[i + k] !== run[k]) return false
    return true
  }

  /**
   * Swaps `run` (see holdsRun) for the cleaned segment written to `cleanedFile`, with its aborted
   * transactions in `cleanedTxnIndexFile` (segment-swap.ts): the cleaned files become swap files,
   * the run's files are deleted, and the swap files become the segment at the run's baseOffset, its
   * indexes rebuilt.
   */
  replaceWithCleaned(run: readonly LogSegment[], cleanedFile: string, cleanedTxnIndexFile: string): LogSegment {
    const base = run[0]!.baseOffset
    this.io.rename(cleanedTxnIndexFile, path.join(this.dir, txnIndexSwapFileName(base)))
    const swap = path.join(this.dir, swapFileName(base))
    this.io.rename(cleanedFile, swap)
    const i = this.list.indexOf(run[0]!)
    for (const seg of run) seg.delete()
    installCleanedTxnIndex(this.io, this.dir, base)
    this.io.rename(swap, path.join(this.dir, segmentFileName(base, LOG_SUFFIX)))
    const cleaned = LogSegment.open(this.io, this.dir, base, this.config)
    cleaned.recover()
    this.list.splice(i, run.length, cleaned)
    return cleaned
  }

  /** Deletes every segment from the one holding `offset` on and cuts that one at `offset`. */
  truncateTo(offset: number): LogSegment {
    while (this.list.length > 1 && this.active.baseOffset >= offset) this.list.pop()!.delete()
    const seg = this.active
    seg.makeActive()
    seg.truncateTo(offset)
    return seg
  }

  /** Deletes every segment and starts over with an empty one at `offset`. */
  restartAt(offset: number): void {
    for (const seg of this.list) seg.delete()
    this.list = [LogSegment.create(this.io, this.dir, offset, this.config)]
  }

  /** Closes every segment; returns the first error, after trying them all. */
  close(): unknown {
    let error: unknown
    for (const seg of this.list) {
      try {
        seg.close()
      } catch (err) {
        error ??= err
      }
    }
    return error
  }

  floorIndex(offset: number): number {
    return floorSegmentIndex(this.list, offset)
  }
}
