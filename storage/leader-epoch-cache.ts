// LeaderEpochCache: which leader epoch wrote which offsets of one partition (Kafka's
// LeaderEpochFileCache, KIP-101/KIP-279), kept in the partition directory's
// `leader-epoch-checkpoint`, in Kafka's text format:
//   0                       version
//   2                       entry count
//   0 0                     epoch startOffset
//   3 1520
// Entries grow in both epoch and start offset. A leader records (epoch, log end offset) when it
// takes over; a follower records the epoch of each batch it appends that is newer than the last.
// OffsetForLeaderEpoch answers from endOffsetFor(); truncating the log truncates the cache too.
//
// Concurrency: single-threaded. Changes apply in memory at once; the file is rewritten
// (temporary file, fsync, rename, directory fsync: a crash leaves the old or the new file whole)
// by one writer at a time, each write taking the entries as they are when it starts.
import path from 'node:path'
import type { FileIO } from './file-io.js'
import { writeFileAtomically } from './checkpoint.js'

export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint'
export const UNDEFINED_EPOCH = -1
export const UNDEFINED_EPOCH_OFFSET = -1

export interface EpochEntry {
  epoch: number
  startOffset: number
}

export class LeaderEpochCache {
  private entries: EpochEntry[]
  private writing: Promise<void> = Promise.resolve()
  private dirty = false

  constructor(
    private readonly io: FileIO,
    dir: string,
    private readonly onWriteError: (err: unknown) => void = () => {},
  ) {
    this.file = path.join(dir, LEADER_EPOCH_CHECKPOINT)
    this.entries = parseEpochCheckpoint(io.readFile(this.file))
  }

  readonly file: string

  get isEmpty(): boolean {
    return this.entries.length === 0
  }

  /** Oldest first. Do not mutate. */
  get all(): readonly EpochEntry[] {
    return this.entries
  }

  /** The newest epoch, or -1 when none is known. */
  get latestEpoch(): number {
    return this.entries.length === 0 ? UNDEFINED_EPOCH : this.entries[this.entries.length - 1]!.epoch
  }

  /**
   * Records that `epoch` starts at `startOffset`. Entries it contradicts (an epoch at least as new,
   * or a start offset at least as far) are dropped first, as Kafka does. Resolves once on disk.
   */
  assign(epoch: number, startOffset: number): Promise<void> {
    if (epoch < 0 || startOffset < 0) return this.writing
    const last = this.entries[this.entries.length - 1]
    if (last !== undefined && last.epoch === epoch && last.startOffset <= startOffset) return this.writing
    this.entries = this.entries.filter((e) => e.epoch < epoch && e.startOffset < startOffset)
    this.entries.push({ epoch, startOffset })
    return this.persist()
  }

  /**
   * KIP-101/279: the epoch and end offset a follower asking about `requestedEpoch` must truncate
   * to: the start of the next newer epoch, with the largest known epoch not above the request; the
   * log end offset for the newest epoch; -1/-1 when the request is newer than everything known.
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEntry {
    if (requestedEpoch === UNDEFINED_EPOCH || this.entries.length === 0) return { epoch: UNDEFINED_EPOCH, startOffset: UNDEFINED_EPOCH_OFFSET }
    if (requestedEpoch === this.latestEpoch) return { epoch: requestedEpoch, startOffset: logEndOffset }
    let floor: EpochEntry | undefined
    for (const e of this.entries) {
      if (e.epoch > requestedEpoch) return { epoch: floor?.epoch ?? requestedEpoch, startOffset: e.startOffset }
      floor = e
    }
    return { epoch: UNDEFINED_EPOCH, startOffset: UNDEFINED_EPOCH_OFFSET }
  }

  /** Where `epoch` starts, or -1 when it is not one of the entries. */
  startOffsetOf(epoch: number): number {
    for (const e of this.entries) if (e.epoch === epoch) return e.startOffset
    return UNDEFINED_EPOCH_OFFSET
  }

  /** The epoch that wrote `offset` (the newest for the log end); -1 when none is known. */
  epochForOffset(offset: number): number {
    let epoch = UNDEFINED_EPOCH
    for (const e of this.entries) {
      if (e.startOffset > offset) break
      epoch = e.epoch
    }
    return epoch
  }

  /** The log was cut at `endOffset`: epochs starting there or later are gone. */
  truncateFromEnd(endOffset: number): Promise<void> {
    const kept = this.entries.filter((e) => e.startOffset < endOffset)
    if (kept.length === this.entries.length) return this.writing
    this.entries = kept
    return this.persist()
  }

  /** The log now starts at `startOffset`: the epoch holding it starts there, older ones go. */
  truncateFromStart(startOffset: number): Promise<void> {
    let i = 0
    while (i + 1 < this.entries.length && this.entries[i + 1]!.startOffset <= startOffset) i++
    const first = this.entries[i]
    if (first === undefined || (i === 0 && first.startOffset >= startOffset)) return this.writing
    this.entries = [{ epoch: first.epoch, startOffset: Math.max(first.startOffset, startOffset) }, ...this.entries.slice(i + 1)]
    return this.persist()
  }

  /** Forgets every entry (the log restarted empty somewhere else). */
  clear(): Promise<void> {
    if (this.entries.length === 0) return this.writing
    this.entries = []
    return this.persist()
  }

  /** Resolves once every change made so far is on disk. */
  flushed(): Promise<void> {
    return this.writing
  }

  /** One write at a time; changes made while one runs are written by the next. */
  private persist(): Promise<void> {
    if (this.dirty) return this.writing
    this.dirty = true
    const previous = this.writing
    this.writing = previous
      .catch(() => {})
      .then(() => {
        this.dirty = false
        return writeFileAtomically(this.io, this.file, formatEpochCheckpoint(this.entries))
      })
    this.writing.catch(this.onWriteError)
    return this.writing
  }
}

export function formatEpochCheckpoint(entries: readonly EpochEntry[]): Buffer {
  const lines = entries.map((e) => `${e.epoch} ${e.startOffset}\n`).join('')
  return Buffer.from(`0\n${entries.length}\n${lines}`)
}

/** The entries of a checkpoint file; none when it is missing, of another version, or malformed. */
export function parseEpochCheckpoint(data: Buffer | undefined): EpochEntry[] {
  if (data === undefined) return []
  const lines = data.toString('utf8').split('\n')
  if (lines[0]?.trim() !== '0') return []
  const count = Number(lines[1])
  if (!Number.isSafeInteger(count) || count < 0) return []
  const out: EpochEntry[] = []
  for (let i = 0; i < count; i++) {
    const parts = (lines[2 + i] ?? '').trim().split(/\s+/)
    if (parts.length !== 2) return []
    const epoch = Number(parts[0])
    const startOffset = Number(parts[1])
    if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset) || epoch < 0 || startOffset < 0) return []
    const last = out[out.length - 1]
    if (last !== undefined && (epoch <= last.epoch || startOffset < last.startOffset)) return []
    out.push({ epoch, startOffset })
  }
  return out
}
