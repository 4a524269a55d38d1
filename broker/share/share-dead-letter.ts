// Dead-letter records for share groups (KIP-1191). A share group whose errors.deadletterqueue.topic.name
// is set has each record it rejects, or gives up on after group.share.delivery.count.limit
// deliveries, written to that topic before the record is archived. The dead-letter record carries
// Kafka's context headers (__dlq.errors.topic, .partition, .offset, .group, .delivery.count and
// .message with the reason) and, with errors.deadletterqueue.copy.record.enable, the original key,
// value and headers; its timestamp is the time of the write. It goes to partition
// (source partition % the dead-letter topic's partitions), as Kafka's does.
//
// The topic must be allowed to take dead letters (topic config errors.deadletterqueue.group.enable)
// and its name must start with the broker's errors.deadletterqueue.topic.name.prefix ("dlq." by
// default) and not with "__". A missing topic is created (one partition per num.partitions, dead
// letters enabled) only with errors.deadletterqueue.auto.create.topics.enable.
//
// The append is durable (fsynced, as acks=all) before write() resolves; the caller archives the
// record only then. Any failure rejects, and the record becomes Available again. The write and the
// share-state change are not atomic: a crash between them leaves the record Available with its
// dead-letter record already written, so a record can be dead-lettered twice, never lost.
import type { Logger } from 'pino'
import { encodeBatch, type RecordInput } from '../../protocol/record-batch-builder.js'
import { LOG_OVERHEAD, batchSizeAt } from '../../protocol/record-batch.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { validateRecords } from '../../storage/log-validator.js'
import type { LogManager } from '../../storage/log-manager.js'
import type { TopicRecord } from '../../storage/metadata-store.js'
import type { BrokerConfig } from '../config.js'
import type { ArchivedRecords } from './share-partition.js'
import type { ShareTarget } from './share-partition-manager.js'

export const DLQ_HEADERS = {
  topic: '__dlq.errors.topic',
  partition: '__dlq.errors.partition',
  offset: '__dlq.errors.offset',
  group: '__dlq.errors.group',
  deliveryCount: '__dlq.errors.delivery.count',
  message: '__dlq.errors.message',
} as const

/** Kafka's __dlq.errors.message texts for the two causes. */
const REASON_MESSAGE: Record<string, string> = {
  rejected: 'Offset rejected by client.',
  'delivery-limit': 'Offset delivery count exceeded the threshold.',
}

export interface DeadLetterGroupSettings {
  /** errors.deadletterqueue.topic.name for the group, or null when unset. */
  deadLetterTopic(groupId: string): string | null
  /** errors.deadletterqueue.copy.record.enable for the group. */
  copyRecord(groupId: string): boolean
}

/** Why a dead-letter record could not be written; the record stays Available. */
export class DeadLetterError extends Error {
  override name = 'DeadLetterError'
}

export class ShareDeadLetterWriter {
  constructor(
    private readonly logs: LogManager,
    private readonly config: BrokerConfig,
    private readonly settings: DeadLetterGroupSettings,
    private readonly logger: Logger,
  ) {}

  /** Writes the dead-letter records of `records` durably; rejects when they could not be written. */
  async write(target: ShareTarget, records: ArchivedRecords): Promise<{ topic: string; partition: number; baseOffset: number }> {
    const name = this.settings.deadLetterTopic(target.groupId)
    if (name === null) throw new DeadLetterError(`share group ${target.groupId} has no dead-letter topic`)
    const topic = await this.topic(name)
    const partition = target.partition % topic.partitions
    const log = this.logs.partition(topic.name, partition)
    if (log === undefined) throw new DeadLetterError(`dead-letter partition ${name}-${partition} is not here`)
    const batch = encodeBatch(this.deadLetterRecords(target, records))
    const validated = validateRecords(batch, log.config, { partition: `${name}-${partition}`, origin: 'coordinator' })
    if (!validated.ok) throw new DeadLetterError(`${validated.error}: ${validated.message}`)
    const result = await log.append(validated, { durable: true })
    return { topic: name, partition, baseOffset: result.baseOffset }
  }

  private async topic(name: string): Promise<TopicRecord> {
    const prefix = this.config.get('errors.deadletterqueue.topic.name.prefix')
    if (name.startsWith('__')) throw new DeadLetterError(`dead-letter topic ${name} must not start with __`)
    if (prefix !== '' && !name.startsWith(prefix)) {
      throw new DeadLetterError(`dead-letter topic ${name} does not start with errors.deadletterqueue.topic.name.prefix (${prefix})`)
    }
    let topic = this.logs.getTopic(name)
    if (topic === undefined) {
      if (!this.config.getBool('errors.deadletterqueue.auto.create.topics.enable')) {
        throw new DeadLetterError(`dead-letter topic ${name} does not exist and errors.deadletterqueue.auto.create.topics.enable is false`)
      }
      try {
        topic = await this.logs.createTopic(name, Math.max(1, this.config.getInt('num.partitions')), {
          'errors.deadletterqueue.group.enable': 'true',
          // The dead-letter record's timestamp is the time of the write; keep it.
          'message.timestamp.type': 'CreateTime',
        })
        this.logger.info({ topic: name }, 'created dead-letter topic')
      } catch (err) {
        // Created meanwhile by another write: use it.
        topic = this.logs.getTopic(name)
        if (topic === undefined) throw err
      }
    }
    if (topic.configs['errors.deadletterqueue.group.enable'] !== 'true') {
      throw new DeadLetterError(`topic ${name} does not allow dead letters (errors.deadletterqueue.group.enable is false)`)
    }
    return topic
  }

  private deadLetterRecords(target: ShareTarget, records: ArchivedRecords): RecordInput[] {
    const originals = this.settings.copyRecord(target.groupId) ? this.originals(target, records) : new Map()
    const now = Date.now()
    const out: RecordInput[] = []
    for (let offset = records.firstOffset; offset <= records.lastOffset; offset++) {
      const original = originals.get(offset)
      out.push({
        key: original?.key ?? null,
        value: original?.value ?? null,
        timestamp: now,
        headers: [
          ...(original?.headers ?? []),
          { key: DLQ_HEADERS.topic, value: target.topic },
          { key: DLQ_HEADERS.partition, value: String(target.partition) },
          { key: DLQ_HEADERS.offset, value: String(offset) },
          { key: DLQ_HEADERS.group, value: target.groupId },
          { key: DLQ_HEADERS.deliveryCount, value: String(records.deliveryCount) },
          { key: DLQ_HEADERS.message, value: REASON_MESSAGE[records.reason] ?? records.reason },
        ],
      })
    }
    return out
  }

  /**
   * The original records, copied out of the log; an offset no longer in the log (retention,
   * compaction) gets a dead-letter record without key and value, as Kafka's does.
   */
  private originals(target: ShareTarget, records: ArchivedRecords): Map<number, { key: Uint8Array | null; value: Uint8Array | null; headers: Array<{ key: string; value: Uint8Array | null }> }> {
    const out = new Map<number, { key: Uint8Array | null; value: Uint8Array | null; headers: Array<{ key: string; value: Uint8Array | null }> }>()
    const log = this.logs.partition(target.topic, target.partition)
    if (log === undefined || records.lastOffset < log.logStartOffset) return out
    const read = log.readSync(Math.max(records.firstOffset, log.logStartOffset), 1, { maxOffset: log.highWatermark, minOneBatch: true })
    try {
      let pos = 0
      const bytes = read.records
      while (pos + LOG_OVERHEAD <= bytes.length) {
        const size = batchSizeAt(bytes, pos)
        if (pos + size > bytes.length) break
        for (const r of iterateRecords(bytes.subarray(pos, pos + size))) {
          if (r.offset < records.firstOffset || r.offset > records.lastOffset) continue
          out.set(r.offset, { key: copy(r.key), value: copy(r.value), headers: r.headers.map((h) => ({ key: h.key, value: copy(h.value) })) })
        }
        pos += size
      }
    } finally {
      read.release()
    }
    return out
  }
}

function copy(b: Uint8Array | null): Uint8Array | null {
  return b === null ? null : Buffer.from(b)
}
