// replication-offset-checkpoint: the high watermark of each replicated partition of a data
// directory, in Kafka's offset checkpoint format (checkpoint.ts):
//   0                       version
//   2                       entry count
//   orders 0 1520           topic partition high-watermark
//   orders 1 977
// Replication writes it periodically and at shutdown; a broker that restarts, cleanly or not, starts
// each partition's high watermark from it (within the log) rather than from its log start, as
// Kafka's ReplicaManager does. It is read once, when the data directory opens; until replication
// takes a partition up again its restored value is carried into the next writes, so a write before
// the roles arrive loses nothing.
//
// Concurrency: writes are serialized; each replaces the file whole (writeFileAtomically).
import path from 'node:path'
import { OffsetCheckpointFile } from './checkpoint.js'
import type { FileIO } from './file-io.js'

export const REPLICATION_OFFSET_CHECKPOINT = 'replication-offset-checkpoint'

/** What a checkpoint needs of a partition log. */
export interface HighWatermarkSource {
  readonly topic: string
  readonly partition: number
  /** Whether replication has set the high watermark since the log opened. */
  readonly replicated: boolean
  readonly highWatermark: number
  readonly logStartOffset: number
  readonly logEndOffset: number
}

export class HighWatermarkCheckpoint {
  private readonly file: OffsetCheckpointFile
  private readonly restored: Map<string, number>
  private chain: Promise<void> = Promise.resolve()

  constructor(io: FileIO, dataDir: string) {
    this.file = new OffsetCheckpointFile(io, path.join(dataDir, REPLICATION_OFFSET_CHECKPOINT))
    this.restored = this.file.read()
  }

  /**
   * Where the partition's high watermark starts after a restart: the checkpointed value within
   * [log start, log end], or the log start when the file has none (Kafka's default, 0, bounded the
   * same way).
   */
  restoredHighWatermark(log: HighWatermarkSource): number {
    const hw = this.restored.get(`${log.topic}-${log.partition}`) ?? log.logStartOffset
    return Math.max(log.logStartOffset, Math.min(hw, log.logEndOffset))
  }

  /** Writes the high watermarks of `logs` (replicated ones, and restored ones not yet taken up). */
  write(logs: Iterable<HighWatermarkSource>): Promise<void> {
    const entries: Array<{ topic: string; partition: number; offset: number }> = []
    for (const log of logs) {
      if (log.replicated) entries.push({ topic: log.topic, partition: log.partition, offset: log.highWatermark })
      else if (this.restored.has(`${log.topic}-${log.partition}`)) entries.push({ topic: log.topic, partition: log.partition, offset: this.restoredHighWatermark(log) })
    }
    const run = (): Promise<void> => this.file.write(entries)
    const next = this.chain.then(run, run)
    this.chain = next.catch(() => {})
    return next
  }
}
