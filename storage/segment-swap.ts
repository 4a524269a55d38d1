// Replacing segments with a cleaned one, crash-safe as Kafka's LogCleaner and LogLoader do it.
// The cleaner writes the retained batches of a group of segments to `<base>.log.cleaned` and the
// aborted transactions still indexed to `<base>.txnindex.cleaned` (possibly empty), and fsyncs
// both; then the swap:
//   1. rename `<base>.txnindex.cleaned` -> `<base>.txnindex.swap`
//   2. rename `<base>.log.cleaned` -> `<base>.log.swap`     the commit point
//   3. delete the old segments' files (`<base>.log` and `<base>.txnindex` among them)
//   4. rename `<base>.txnindex.swap` -> `<base>.txnindex` (or remove it when empty)
//   5. rename `<base>.log.swap` -> `<base>.log`, rebuild its indexes
// After a crash, LogLoader calls finishInterruptedSwaps before opening the segments: `.cleaned`
// files were never committed and are removed, as is a `.txnindex.swap` without its `.log.swap`
// (the old segments are whole: a rollback); a `.log.swap` was committed, and the swap is finished:
// every segment whose baseOffset lies in [base, next offset of the swap) is deleted and the swap
// renamed; `<base>.txnindex` is replaced by the `.txnindex.swap` when that is still there (when it
// is not, step 4 already ran and `<base>.txnindex` is the new one). A segment of the group at or
// after that bound held only records the cleaner removed, so leaving it loses nothing and
// duplicates nothing.
import path from 'node:path'
import { HEADER_PREFIX } from './file-records.js'
import { batchSizeAt, readLastOffset } from '../protocol/record-batch.js'
import type { FileIO } from './file-io.js'
import { INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, segmentFileName } from './segment.js'
import { TXN_INDEX_SUFFIX } from './txn-index.js'

export const CLEANED_SUFFIX = '.cleaned'
export const SWAP_SUFFIX = '.swap'

const LOG_SWAP = new RegExp(`^(\\d{20})\\${LOG_SUFFIX}\\${SWAP_SUFFIX}$`)
const TXN_SWAP = new RegExp(`^(\\d{20})\\${TXN_INDEX_SUFFIX}\\${SWAP_SUFFIX}$`)
const SEGMENT_LOG = new RegExp(`^(\\d{20})\\${LOG_SUFFIX}$`)

export function cleanedFileName(baseOffset: number): string {
  return segmentFileName(baseOffset, LOG_SUFFIX + CLEANED_SUFFIX)
}

export function swapFileName(baseOffset: number): string {
  return segmentFileName(baseOffset, LOG_SUFFIX + SWAP_SUFFIX)
}

export function cleanedTxnIndexFileName(baseOffset: number): string {
  return segmentFileName(baseOffset, TXN_INDEX_SUFFIX + CLEANED_SUFFIX)
}

export function txnIndexSwapFileName(baseOffset: number): string {
  return segmentFileName(baseOffset, TXN_INDEX_SUFFIX + SWAP_SUFFIX)
}

/** Unlinks a segment's log and index files (those that exist); the .txnindex unless told to keep it. */
export function deleteSegmentFiles(io: FileIO, dir: string, baseOffset: number, keepTxnIndex = false): void {
  for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX]) {
    if (keepTxnIndex && suffix === TXN_INDEX_SUFFIX) continue
    const f = path.join(dir, segmentFileName(baseOffset, suffix))
    if (io.stat(f) !== undefined) io.unlink(f)
  }
}

/** Step 4 of the swap: the cleaned .txnindex takes the place of the old one (gone by now), or goes when empty. */
export function installCleanedTxnIndex(io: FileIO, dir: string, baseOffset: number): void {
  const swap = path.join(dir, txnIndexSwapFileName(baseOffset))
  const st = io.stat(swap)
  if (st === undefined) return
  if (st.size === 0) io.unlink(swap)
  else io.rename(swap, path.join(dir, segmentFileName(baseOffset, TXN_INDEX_SUFFIX)))
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
  }
  for (const name of names) {
    const txn = TXN_SWAP.exec(name)
    if (txn !== null && swaps.includes(Number(txn[1]))) continue
    if (!LOG_SWAP.test(name) && (name.endsWith(CLEANED_SUFFIX) || name.endsWith(SWAP_SUFFIX))) io.unlink(path.join(dir, name))
  }
  if (swaps.length === 0) return names.filter((n) => !n.endsWith(CLEANED_SUFFIX) && !n.endsWith(SWAP_SUFFIX))
  const bases = names.map((n) => SEGMENT_LOG.exec(n)).filter((m) => m !== null).map((m) => Number(m[1]))
  for (const base of swaps.sort((a, b) => a - b)) {
    const swap = path.join(dir, swapFileName(base))
    // An empty swap still replaces the segment with its own base offset.
    const end = Math.max(nextOffsetOf(io, swap, base), base + 1)
    const replaced = bases.filter((b) => b >= base && b < end)
    for (const b of replaced) if (b !== base) deleteSegmentFiles(io, dir, b)
    // Without a .txnindex.swap, step 4 already put the cleaned .txnindex in place.
    deleteSegmentFiles(io, dir, base, io.stat(path.join(dir, txnIndexSwapFileName(base))) === undefined)
    installCleanedTxnIndex(io, dir, base)
    io.rename(swap, path.join(dir, segmentFileName(base, LOG_SUFFIX)))
    onSwap?.(base, replaced)
  }
  names = io.readdir(dir)
  return names
}
