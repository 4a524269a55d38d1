// Creating topics and partitions: Kafka's topic-name rules, the max.broker.partitions limit, and
// the creation of partition directories with rollback.
//
// Partition counts are bounded by max.broker.partitions: every partition costs directories, files
// and memory, and a request for millions must be refused, not attempted.
//
// Ordering against crashes: new partitions are created on disk before the metadata store records
// them, and removed again if that fails, so the store never names a partition that does not exist
// (LogManager.open() removes directories the store does not know, which is all a crash in between
// leaves).
//
// Concurrency: called by LogManager, which runs changes to the set of topics one at a time.
import path from 'node:path'
import { configDef } from './config-defs.js'
import { InvalidPartitionsError, InvalidTopicError, PolicyViolationError } from './errors.js'
import type { FileIO } from './file-io.js'
import type { Logger } from './logger.js'
import type { PartitionLog } from './partition-log.js'

const MAX_TOPIC_NAME_LENGTH = 249

/** Kafka's rules: 1-249 characters of [a-zA-Z0-9._-], and not "." or "..". */
export function validateTopicName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidTopicError('Topic name is illegal, it can\'t be empty')
  if (name === '.' || name === '..') throw new InvalidTopicError('Topic name cannot be "." or ".."')
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw new InvalidTopicError(`Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters`)
  }
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    throw new InvalidTopicError(`Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`)
  }
}

/** max.broker.partitions: how many partitions this broker hosts at most. */
export function maxBrokerPartitions(brokerConfig: Readonly<Record<string, string>>): number {
  const v = Number(brokerConfig['max.broker.partitions'] ?? configDef('broker', 'max.broker.partitions')!.default)
  return Number.isInteger(v) && v > 0 ? v : Number.MAX_SAFE_INTEGER
}

/**
 * Refuses a topic that would have `total` partitions after `added` new ones when that breaks
 * max.broker.partitions (`limit`) with `hosted` partitions already on the broker: INVALID_PARTITIONS
 * when the topic alone is too large, POLICY_VIOLATION when it does not fit next to the hosted ones.
 */
export function checkPartitionLimit(name: string, total: number, added: number, limit: number, hosted: number): void {
  if (total > limit) {
    throw new InvalidPartitionsError(`Topic '${name}' cannot have ${total} partitions: max.broker.partitions is ${limit}.`)
  }
  if (hosted + added > limit) {
    throw new PolicyViolationError(`Adding ${added} partition(s) of '${name}' to the ${hosted} hosted would exceed max.broker.partitions (${limit}).`)
  }
}

export interface NewPartitionsContext {
  dataDir: string
  io: FileIO
  logger: Logger
  /** Opens (creating) partition `p` of the topic. */
  open: (p: number) => PartitionLog
  /** Renames a directory away and removes it in the background. */
  renameAndRemove: (dir: string) => void
}

/**
 * Creates partitions [from, to) on disk, then runs `record` (the store write naming them); if
 * either fails, removes what was created and rethrows, so nothing is left half made.
 */
export async function openNewPartitions(
  ctx: NewPartitionsContext,
  topic: string,
  from: number,
  to: number,
  record: () => Promise<void>,
): Promise<PartitionLog[]> {
  const parts: PartitionLog[] = []
  let p = from
  try {
    for (; p < to; p++) parts.push(ctx.open(p))
    await ctx.io.fsyncDir(ctx.dataDir)
    await record()
    return parts
  } catch (err) {
    for (const log of parts) log.closeForDelete()
    for (let q = from; q <= p && q < to; q++) {
      const dir = path.join(ctx.dataDir, `${topic}-${q}`)
      if (ctx.io.stat(dir) !== undefined) ctx.renameAndRemove(dir)
    }
    ctx.logger.warn({ err, topic, from, to }, 'creating partitions failed; removed the ones created')
    throw err
  }
}
