// CleanerStateFile: `cleaner-state.json` in the data dir, the log cleaner's view of each compacted
// partition as of its last pass: the first dirty offset, the dirty ratio, when it last cleaned the
// partition, what that reclaimed, the earliest delete horizon still waiting, and why the partition
// is uncleanable if it is. Kafka publishes the same facts as JMX metrics of LogCleanerManager
// (max-dirty-percent, time-since-last-run-ms, uncleanable-partitions-count); no Kafka API carries
// them, so `samsa topics describe --data-dir` reads this file, also while the broker runs.
//
// The file is informational: written (temporary file, then rename) after a pass when something in
// it changed, never fsynced, and a missing or unreadable one means "nothing known". Cleaning itself
// never reads it; cleaner-offset-checkpoint and the batches' delete horizons are the durable state.
import path from 'node:path'
import type { FileIO } from './file-io.js'

export const CLEANER_STATE_FILE = 'cleaner-state.json'
const VERSION = 1

/** One compacted partition as the cleaner last saw it. */
export interface PartitionCleanerState {
  topic: string
  partition: number
  firstDirtyOffset: number
  /** Dirty bytes over clean + dirty bytes of the cleanable part. */
  dirtyRatio: number
  /** When a cleaning of this partition last finished; -1 when none has since the broker started. */
  lastRunMs: number
  /** Bytes removed by cleanings since the broker started. */
  bytesReclaimed: number
  recordsRemoved: number
  /** When the earliest kept tombstone or marker may go; -1 when none waits. */
  deleteHorizonMs: number
  /** Why the cleaner does not clean this partition; absent when it does. */
  uncleanableReason?: string
}

export interface CleanerStateSnapshot {
  /** When the cleaner wrote the file. */
  writtenMs: number
  partitions: PartitionCleanerState[]
}

export class CleanerStateFile {
  readonly file: string
  private last = ''

  constructor(
    private readonly io: FileIO,
    dataDir: string,
  ) {
    this.file = path.join(dataDir, CLEANER_STATE_FILE)
  }

  /** The last snapshot written; undefined when there is none or it cannot be read. */
  read(): CleanerStateSnapshot | undefined {
    const data = this.io.readFile(this.file)
    if (data === undefined) return undefined
    try {
      const parsed = JSON.parse(data.toString('utf8')) as { version?: number } & CleanerStateSnapshot
      if (parsed.version !== VERSION || !Array.isArray(parsed.partitions)) return undefined
      return { writtenMs: parsed.writtenMs, partitions: parsed.partitions }
    } catch {
      return undefined
    }
  }

  /** Writes the partitions' states unless they are what the file already holds. */
  write(partitions: readonly PartitionCleanerState[], now: number): void {
    const sorted = [...partitions].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
    const key = JSON.stringify(sorted)
    if (key === this.last) return
    const body = Buffer.from(JSON.stringify({ version: VERSION, writtenMs: now, partitions: sorted }, null, 1) + '\n')
    const tmp = this.file + '.tmp'
    const fd = this.io.open(tmp, 'w+')
    try {
      let off = 0
      while (off < body.length) off += this.io.write(fd, body, off, body.length - off, off)
    } finally {
      this.io.close(fd)
    }
    this.io.rename(tmp, this.file)
    this.last = key
  }
}
