// Replacing segments with a cleaned one, crash-safe as Kafka's LogCleaner and LogLoader do it.
// The cleaner writes the retained batches of a group of segments to `<base>.log.cleaned` and
// fsyncs it; then the swap:
//   1. rename `<base>.log.cleaned` -> `<base>.log.swap`     the commit point
//   2. delete the old segments' files (`<base>.log` among them)
//   3. rename `<base>.log.swap` -> `<base>.log`, rebuild its indexes
// After a crash, LogLoader calls finishInterruptedSwaps before opening the segments: a `.cleaned`
// file was never committed and is removed (the old segments are whole: a rollback); a `.log.swap`
// was, and the swap is finished: every segment whose baseOffset lies in [base, next offset of the
// swap) is deleted and the swap renamed. A segment of the group at or after that bound held only
// records the cleaner removed, so leaving it loses nothing and duplicates nothing.
import path from 'node:path'
import { HEADER_PREFIX } from './file-records.js'
import { batchSizeAt, readLastOffset } from '../protocol/record-batch.js'
import type { FileIO } from './file-io.js'
import { INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, segmentFileName } from './segment.js'
import { TXN_INDEX_SUFFIX } from './txn-index.js'

export const CLEANED_SUFFIX = '.cleaned'
export const SWAP_SUFFIX = '.swap'

const LOG_SWAP = new RegExp(`^(\\d{20})\\${LOG_SUFFIX}\\${SWAP_SUFFIX}$`)
const SEGMENT_LOG = new RegExp(`^(\\d{20})\\${LOG_SUFFIX}$`)

export function cleanedFileName(baseOffset: number): string {
  return segmentFileName(baseOffset, LOG_SUFFIX + CLEANED_SUFFIX)
}

export function swapFileName(baseOffset: number): string {
  return segmentFileName(baseOffset, LOG_SUFFIX + SWAP_SUFFIX)
}

/** Unlinks a segment's log and index files (those that exist). */
export function deleteSegmentFiles(io: FileIO, dir: string, baseOffset: number): void {
  for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX]) {
    const f = path.join(dir, segmentFileName(baseOffset, suffix))
    if (io.stat(f) !== undefined) io.unlink(f)
  }
}

/** Offset after the last whole batch of the file; `baseOffset` when it holds none. */
function nextOffsetOf(io: FileIO, file: string, baseOffset: number): number {
  const data = io.readFile(file) ?? Buffer.alloc(0)
  let next = baseOffset
  let p = 0
  while (p + HEADER_PREFIX <= data.length) {
    const size = batchSizeAt(data, p)
    if (size <= 0 || p + size > data.length) break
    next = readLastOffset(data, p) + 1
    p += size
  }
  return next
}

/**
 * Removes uncommitted cleaner output and finishes committed swaps (see above). Returns the
 * directory's entries afterwards; logs a line per swap through `onSwap`.
 */
export function finishInterruptedSwaps(io: FileIO, dir: string, onSwap?: (baseOffset: number, replaced: number[]) => void): string[] {
  let names = io.readdir(dir)
  const swaps: number[] = []
  for (const name of names) {
    const m = LOG_SWAP.exec(name)
    if (m !== null) swaps.push(Number(m[1]))
    else if (name.endsWith(CLEANED_SUFFIX) || name.endsWith(SWAP_SUFFIX)) io.unlink(path.join(dir, name))
  }
  if (swaps.length === 0) return names.filter((n) => !n.endsWith(CLEANED_SUFFIX) && !n.endsWith(SWAP_SUFFIX))
  const bases = names.map((n) => SEGMENT_LOG.exec(n)).filter((m) => m !== null).map((m) => Number(m[1]))
  for (const base of swaps.sort((a, b) => a - b)) {
    const swap = path.join(dir, swapFileName(base))
    // An empty swap still replaces the segment with its own base offset.
    const end = Math.max(nextOffsetOf(io, swap, base), base + 1)
    const replaced = bases.filter((b) => b >= base && b < end)
    for (const b of replaced) deleteSegmentFiles(io, dir, b)
    deleteSegmentFiles(io, dir, base)
    io.rename(swap, path.join(dir, segmentFileName(base, LOG_SUFFIX)))
    onSwap?.(base, replaced)
  }
  names = io.readdir(dir)
  return names
}
