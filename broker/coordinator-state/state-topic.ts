// A coordinator's state kept in an internal topic, as Kafka keeps group offsets in
// __consumer_offsets and transactions in __transaction_state: each key (a group, a transactional
// id) belongs to one partition of the topic, chosen by Kafka's hash of the key; the broker that
// leads a partition serves the keys in it. Every change is a record (a string key and a msgpack
// value, null for a deletion) appended to the partition and made durable before it counts: fsynced
// on this broker and, in cluster mode, in every in-sync replica (acks=all). The topic is compacted,
// so a key's latest record is all that stays.
//
// The state is read back from the log when this broker becomes a partition's leader (at start for a
// single broker, on an election in cluster mode): until the whole partition is read, its keys
// answer COORDINATOR_LOAD_IN_PROGRESS; a partition this broker does not lead answers NOT_COORDINATOR.
// The state itself is the owner's (a StateMachine): it is given every record read back and every
// change once durable, and told when a partition is loaded and when it is given up.
import type { Logger } from 'pino'
import { pack, unpack } from 'msgpackr'
import { ErrorCode } from '../../protocol/errors.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { batchSizeAt, isControl, LOG_OVERHEAD, readAttributes, readLastOffset } from '../../protocol/record-batch.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { validateRecords } from '../../storage/log-validator.js'
import type { LogManager } from '../../storage/log-manager.js'
import type { PartitionLog } from '../../storage/partition-log.js'
import { KafkaError } from '../errors.js'

/** One change: the key's new value, or null to delete it. */
export interface StateWrite {
  key: string
  value: unknown
}

/** What the topic's records mean: the coordinator's state, kept by its owner. */
export interface StateMachine {
  /** A record, read back from the log or just made durable; value null deletes the key. */
  replay(partition: number, key: string, value: unknown): void
  /** The partition's state is read and served here now. */
  loaded(partition: number): void | Promise<void>
  /** The partition is no longer served here (another broker leads it, or this one stops). */
  unloaded(partition: number): void
}

/** How acks=all is waited for in cluster mode (the replica manager). */
export interface StateReplication {
  waitForIsr(topic: string, partition: number, log: PartitionLog, offset: number, timeoutMs: number): Promise<number>
}

export interface StateTopicOptions {
  name: string
  partitions: number
  logs: LogManager
  logger: Logger
  replication?: StateReplication
  /** How long a write waits for the in-sync replicas. */
  writeTimeoutMs?: number
}

interface Shard {
  status: 'loading' | 'loaded'
  /** The leader epoch this broker serves the partition at. */
  epoch: number
}

const READ_CHUNK = 1024 * 1024

export class StateTopic {
  readonly name: string
  private partitionCount: number
  private readonly shards = new Map<number, Shard>()
  private closed = false
  private machine: StateMachine | undefined
  private beforeWrite: (() => Promise<void> | undefined) | undefined

  constructor(private readonly opts: StateTopicOptions) {
    this.name = opts.name
    this.partitionCount = opts.partitions
  }

  get partitions(): number {
    return this.partitionCount
  }

  /** The topic as it exists may have another partition count than configured: keys follow the topic. */
  setPartitions(count: number): void {
    this.partitionCount = count
  }

  /** Something every write waits for first (a single broker creates the topic on its first write). */
  setBeforeWrite(fn: () => Promise<void> | undefined): void {
    this.beforeWrite = fn
  }

  /** Set once, before the first partition is loaded. */
  setMachine(machine: StateMachine): void {
    this.machine = machine
  }

  /** Kafka's partitionFor: the key's Java String.hashCode, sign bit cleared, modulo the partitions. */
  partitionFor(key: string): number {
    return partitionForKey(key, this.partitions)
  }

  /** NONE when this broker serves the key's partition, else NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS. */
  refusalFor(key: string): number {
    return this.refusal(this.partitionFor(key))
  }

  refusal(partition: number): number {
    const shard = this.shards.get(partition)
    if (shard === undefined || this.closed) return ErrorCode.NOT_COORDINATOR
    return shard.status === 'loaded' ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
  }

  /** Partitions whose state is served here. */
  loadedPartitions(): number[] {
    return [...this.shards].filter(([, s]) => s.status === 'loaded').map(([p]) => p)
  }

  /**
   * Appends the changes to the partition as one batch and resolves once they are durable (fsynced,
   * and in every in-sync replica in cluster mode); only then are they part of the state. Rejects
   * with NOT_COORDINATOR when the partition is not served here or stopped being served meanwhile,
   * or with the append's error.
   */
  async write(partition: number, changes: readonly StateWrite[]): Promise<void> {
    if (changes.length === 0) return
    await this.beforeWrite?.()
    const shard = this.shards.get(partition)
    if (shard === undefined || shard.status !== 'loaded' || this.closed) throw notCoordinator(this.name, partition)
    const log = this.opts.logs.partition(this.name, partition)
    if (log === undefined) throw notCoordinator(this.name, partition)
    const batch = encodeBatch(changes.map((c) => ({ key: Buffer.from(c.key), value: c.value === null || c.value === undefined ? null : pack(c.value) })))
    const validated = validateRecords(batch, log.config, { partition: `${this.name}-${partition}`, origin: 'coordinator' })
    if (!validated.ok) throw new KafkaError(ErrorCode[validated.error], validated.message)
    const result = await log.append(validated, { durable: true })
    if (this.opts.replication !== undefined) {
      const code = await this.opts.replication.waitForIsr(this.name, partition, log, result.lastOffset + 1, this.opts.writeTimeoutMs ?? 5000)
      // NOT_ENOUGH_REPLICAS, a timeout or a lost leadership: the change may still become part of the
      // log (the next leader reads it), but it is not acknowledged; clients retry.
      if (code !== ErrorCode.NONE) throw new KafkaError(code === ErrorCode.NOT_LEADER_OR_FOLLOWER ? ErrorCode.NOT_COORDINATOR : code, `${this.name}-${partition}: the change was not replicated`)
    }
    if (this.shards.get(partition) !== shard) throw notCoordinator(this.name, partition)
    for (const c of changes) this.machine?.replay(partition, c.key, c.value ?? null)
  }

  /**
   * This broker leads the partition from `epoch`: reads its state from the log, then serves it.
   * Resolves once loaded (or given up again meanwhile).
   */
  async elect(partition: number, epoch: number): Promise<void> {
    const current = this.shards.get(partition)
    if (current !== undefined && current.epoch === epoch) return
    if (current !== undefined) this.resign(partition)
    if (this.closed) return
    const shard: Shard = { status: 'loading', epoch }
    this.shards.set(partition, shard)
    const started = Date.now()
    try {
      await this.load(partition, shard)
    } catch (err) {
      this.opts.logger.error({ err, topic: this.name, partition }, 'reading coordinator state failed')
      if (this.shards.get(partition) === shard) this.resign(partition)
      return
    }
    if (this.shards.get(partition) !== shard) return
    shard.status = 'loaded'
    this.opts.logger.info({ topic: this.name, partition, epoch, ms: Date.now() - started }, 'coordinator state loaded')
    try {
      await this.machine?.loaded(partition)
    } catch (err) {
      this.opts.logger.error({ err, topic: this.name, partition }, 'restoring coordinator state failed')
    }
  }

  /** This broker no longer leads the partition: its keys answer NOT_COORDINATOR from now on. */
  resign(partition: number): void {
    const shard = this.shards.get(partition)
    if (shard === undefined) return
    this.shards.delete(partition)
    // A partition still loading has records replayed already: they go too.
    this.machine?.unloaded(partition)
  }

  /** Gives up every partition (the broker stops). */
  resignAll(): void {
    for (const p of [...this.shards.keys()]) this.resign(p)
  }

  close(): void {
    this.resignAll()
    this.closed = true
  }

  private async load(partition: number, shard: Shard): Promise<void> {
    const log = this.opts.logs.partition(this.name, partition)
    if (log === undefined) throw new Error(`${this.name}-${partition} is not on this broker`)
    let offset = log.logStartOffset
    const end = log.logEndOffset
    while (offset < end && this.shards.get(partition) === shard) {
      const read = await log.read(offset, READ_CHUNK, { maxOffset: end, minOneBatch: true })
      try {
        const buf = read.records
        if (buf.length === 0) break
        let pos = 0
        while (pos + LOG_OVERHEAD <= buf.length) {
          const size = batchSizeAt(buf, pos)
          if (pos + size > buf.length) break
          if (!isControl(readAttributes(buf, pos))) {
            for (const r of iterateRecords(buf, pos)) {
              if (r.key === null) continue
              offset = r.offset + 1
              let value: unknown
              try {
                value = r.value === null ? null : unpack(r.value)
              } catch (err) {
                // Only coordinators write here; a record that does not decode is skipped, not fatal.
                this.opts.logger.warn({ err, topic: this.name, partition, offset: r.offset }, 'skipping a coordinator state record that does not decode')
                continue
              }
              this.machine?.replay(partition, Buffer.from(r.key).toString(), value)
            }
          }
          offset = Math.max(offset, readLastOffset(buf, pos) + 1)
          pos += size
        }
      } finally {
        read.release()
      }
    }
  }
}

function notCoordinator(topic: string, partition: number): KafkaError {
  return new KafkaError(ErrorCode.NOT_COORDINATOR, `This broker does not coordinate ${topic}-${partition}.`)
}

/** Kafka's partition of a coordinator key: Utils.abs(key.hashCode()) % partitions, with Java's String.hashCode. */
export function partitionForKey(key: string, partitions: number): number {
  let h = 0
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0
  return (h & 0x7fffffff) % partitions
}
