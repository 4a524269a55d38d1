// LogValidator: every rule a batch must pass before the log takes it, in one walk over the bytes,
// as Kafka's LogValidator (with UnifiedLog's analyzeAndValidateRecords) does on produce.
//
// Per batch: framing, magic 2 and CRC (checkBatch), size against max.message.bytes, the rules
// for batches written by clients (at least one record, lastOffsetDelta = count - 1, no control
// batches, a base sequence with a producer id), then every record, decompressed first when the
// batch is compressed: framing, varints, lengths, the declared count, keys on compacted topics,
// timestamps against message.timestamp.before.max.ms / after.max.ms for CreateTime topics, and
// offset deltas 0, 1, 2, ... as producers assign them. (Kafka rebuilds a compressed batch whose
// deltas differ; Samsa stores batches as sent, so it refuses one.) Across the request: an
// idempotent or transactional write is exactly one batch, as with Kafka's Produce v3+.
//
// Errors: a batch that is not whole or fails its CRC is CORRUPT_MESSAGE; a well-framed batch
// breaking a rule, or whose records are malformed, INVALID_RECORD (Kafka's InvalidRecordException);
// too large, MESSAGE_TOO_LARGE. A payload its codec cannot inflate is CORRUPT_MESSAGE (Kafka lets
// the codec's exception through as UNKNOWN_SERVER_ERROR). Records refused one by one (no key on a
// compacted topic, a timestamp out of range) are listed by index with INVALID_RECORD or
// INVALID_TIMESTAMP, and refuse their batch.
//
// Uncompressed records are walked in place without allocating per record; a compressed batch is
// inflated once (bounded by protocol/compression.ts's limit) and walked the same way.
//
// Timestamps: as Kafka's LogValidator, a CreateTime batch's maxTimestamp is the largest timestamp
// of its records, whatever the client claimed (compressed or not), found in the same walk; a
// batch claiming a far-future maxTimestamp would otherwise move time-based retention, segment
// rolls and ListOffsets by timestamp.
//
// The result says where each batch is; assignOffsets() later patches offsets, the leader epoch,
// LogAppendTime or a corrected maxTimestamp into the same bytes, so nothing is walked twice.
import {
  BATCH_HEADER_SIZE,
  Compression,
  checkBatch,
  compressionOf,
  isControl,
  isTransactional,
  readMaxTimestamp,
  setBaseOffset,
  setLogAppendTime,
  setMaxTimestamp,
  setPartitionLeaderEpoch,
  timestampTypeOf,
  TimestampType,
  type BatchHeader,
} from '../protocol/record-batch.js'
import { RecordCursor, RecordDecodeError } from '../protocol/record-reader.js'
import { decompress } from '../protocol/compression.js'
import { StorageError } from './errors.js'
import type { LogConfig } from './log-config.js'
import type { ProducerBatch } from './producer-state.js'

export type ValidationErrorCode = 'CORRUPT_MESSAGE' | 'INVALID_RECORD' | 'MESSAGE_TOO_LARGE' | 'INVALID_TIMESTAMP'

/** A record refused on its own; batchIndex counts from 0 within its batch. */
export interface RecordError {
  batchIndex: number
  message: string
}

export interface ValidationFailure {
  ok: false
  error: ValidationErrorCode
  message: string
  /** Empty unless the batch was refused for particular records. */
  recordErrors: readonly RecordError[]
}

export interface ValidBatch {
  position: number
  size: number
  lastOffsetDelta: number
  producerId: number
  transactional: boolean
  /** The largest record timestamp of a CreateTime batch (else the header's), which the log stores. */
  maxTimestamp: number
}

export interface ValidatedRecords {
  ok: true
  records: Uint8Array
  batches: readonly ValidBatch[]
  /** The largest batch maxTimestamp, or the LogAppendTime when stamped. */
  maxTimestamp: number
  /** -1 unless the batches get stamped with LogAppendTime. */
  logAppendTime: number
  /** The producer batch, when the write carries a producer id. */
  producer: ProducerBatch | undefined
}

export type ValidationResult = ValidatedRecords | ValidationFailure

/** The topic settings validation reads. */
export type ValidationConfig = Pick<
  LogConfig,
  'maxMessageBytes' | 'cleanupPolicy' | 'messageTimestampType' | 'messageTimestampBeforeMaxMs' | 'messageTimestampAfterMaxMs'
>

export interface ValidateOptions {
  /** Kafka's AppendOrigin: the coordinator writes control batches, which clients may not. */
  origin?: 'client' | 'coordinator'
  /** The broker's clock, for timestamp checks and LogAppendTime. */
  now?: number
  /** Stamp this LogAppendTime whatever message.timestamp.type says. */
  logAppendTime?: number
  /** `topic-partition`, for messages. */
  partition?: string
}

/** A single broker leads every partition in epoch 0; a replicated partition's leader stamps its own epoch. */
export const PARTITION_LEADER_EPOCH = 0

/** A validation failure thrown by an append given raw bytes; carries the Kafka error name. */
export class RecordValidationError extends StorageError {
  readonly recordErrors: readonly RecordError[]
  constructor(f: ValidationFailure) {
    super(f.error, f.message)
    this.recordErrors = f.recordErrors
  }
}

const cursor = new RecordCursor()
/** A timestamp bound this wide (Long.MAX_VALUE read into a double) checks nothing. */
const NO_BOUND = Number.MAX_SAFE_INTEGER

function failure(error: ValidationErrorCode, message: string, recordErrors: readonly RecordError[] = []): ValidationFailure {
  return { ok: false, error, message, recordErrors }
}

/** Validates a produced records blob: every rule, every record, one walk. */
export function validateRecords(records: Uint8Array, config: ValidationConfig, opts?: ValidateOptions): ValidationResult {
  const len = records.length
  if (len === 0) return failure('CORRUPT_MESSAGE', 'no record batches')
  const fromClient = opts?.origin !== 'coordinator'
  const now = opts?.now ?? Date.now()
  const partition = opts?.partition ?? 'this partition'
  const logAppendTime = opts?.logAppendTime ?? (config.messageTimestampType === 'LogAppendTime' ? now : -1)
  const rules: RecordRules = {
    compacted: config.cleanupPolicy.includes('compact'),
    // CreateTime bounds; the defaults (Long.MAX_VALUE) leave timestamps unchecked
    createTime: logAppendTime < 0,
    minTimestamp: logAppendTime < 0 && config.messageTimestampBeforeMaxMs < NO_BOUND ? now - config.messageTimestampBeforeMaxMs : -Infinity,
    maxTimestamp: logAppendTime < 0 && config.messageTimestampAfterMaxMs < NO_BOUND ? now + config.messageTimestampAfterMaxMs : Infinity,
    partition,
  }
  const batches: ValidBatch[] = []
  let producer: ProducerBatch | undefined
  let producerBatches = 0
  let maxTimestamp = -1
  let pos = 0
  while (pos < len) {
    const c = checkBatch(records, pos, { verifyCrc: true })
    if (!c.ok) {
      // magic 0 and 1 cannot travel in Produce v3+; Kafka answers INVALID_RECORD for them
      return failure(c.error === 'UNSUPPORTED_VERSION' ? 'INVALID_RECORD' : c.error, `${c.message} in ${partition}`)
    }
    const h = c.header
    if (c.size > config.maxMessageBytes) {
      return failure('MESSAGE_TOO_LARGE', `batch of ${c.size} bytes exceeds max.message.bytes ${config.maxMessageBytes}`)
    }
    const broken = fromClient ? clientBatchRule(h) : undefined
    if (broken !== undefined) return failure('INVALID_RECORD', `${broken} in ${partition}`)
    const batchMaxTimestamp = checkRecords(records, pos, c.size, h, rules)
    if (typeof batchMaxTimestamp !== 'number') return batchMaxTimestamp
    if (h.producerId >= 0) {
      producerBatches++
      producer = {
        producerId: h.producerId,
        producerEpoch: h.producerEpoch,
        baseSequence: h.baseSequence,
        lastOffsetDelta: h.lastOffsetDelta,
        maxTimestamp: batchMaxTimestamp,
        transactional: isTransactional(h.attributes),
      }
    }
    if (batchMaxTimestamp > maxTimestamp) maxTimestamp = batchMaxTimestamp
    batches.push({
      position: pos,
      size: c.size,
      lastOffsetDelta: h.lastOffsetDelta,
      producerId: h.producerId,
      transactional: isTransactional(h.attributes),
      maxTimestamp: batchMaxTimestamp,
    })
    pos += c.size
  }
  // As Kafka's Produce v3+: a producer's write is one batch, so its sequence check is one step.
  if (producerBatches > 0 && batches.length > 1) {
    return failure('INVALID_RECORD', 'an idempotent or transactional append must be exactly one record batch')
  }
  if (logAppendTime >= 0) maxTimestamp = logAppendTime
  return { ok: true, records, batches, maxTimestamp, logAppendTime, producer }
}

/** Kafka's LogValidator.validateBatch for AppendOrigin.CLIENT; the broken rule, if any. */
function clientBatchRule(h: BatchHeader): string | undefined {
  if (h.recordCount <= 0) return `invalid record count ${h.recordCount}`
  if (h.lastOffsetDelta !== h.recordCount - 1) {
    return `inconsistent batch: lastOffsetDelta ${h.lastOffsetDelta}, record count ${h.recordCount}`
  }
  if (isControl(h.attributes)) return 'clients may not write control batches'
  if (h.producerId >= 0 && h.baseSequence < 0) return `producer id ${h.producerId} with invalid base sequence ${h.baseSequence}`
  return undefined
}

interface RecordRules {
  compacted: boolean
  /** Record timestamps count (message.timestamp.type=CreateTime and no LogAppendTime to stamp). */
  createTime: boolean
  minTimestamp: number
  maxTimestamp: number
  partition: string
}

/**
 * Walks every record of the batch at `pos`: the failure that refuses it, or the batch's
 * maxTimestamp (the largest record timestamp of a CreateTime batch, else the header's).
 */
function checkRecords(records: Uint8Array, pos: number, size: number, h: BatchHeader, rules: RecordRules): ValidationFailure | number {
  const codec = compressionOf(h.attributes)
  if (codec === Compression.None) {
    cursor.reset(records, pos + BATCH_HEADER_SIZE, pos + size)
  } else {
    let section: Uint8Array
    try {
      section = decompress(codec, records.subarray(pos + BATCH_HEADER_SIZE, pos + size))
    } catch (err) {
      return failure('CORRUPT_MESSAGE', `cannot decompress the records of the batch (codec ${codec}) in ${rules.partition}: ${(err as Error).message}`)
    }
    cursor.reset(section)
  }
  const count = h.recordCount
  const checkTimes = rules.minTimestamp > -Infinity || rules.maxTimestamp < Infinity
  // A client's LogAppendTime batch gives every record its maxTimestamp: nothing to recompute.
  const createTime = rules.createTime && timestampTypeOf(h.attributes) === TimestampType.CreateTime
  let maxTimestamp = createTime ? -1 : h.maxTimestamp
  let recordErrors: RecordError[] | undefined
  let badTimestamp = false
  let i = 0
  try {
    for (; i < count; i++) {
      cursor.next()
      if (cursor.offsetDelta !== i) {
        return failure('INVALID_RECORD', `record ${i} has offset delta ${cursor.offsetDelta}, expected ${i}, in ${rules.partition}`)
      }
      const ts = h.baseTimestamp + cursor.timestampDelta
      if (createTime && ts > maxTimestamp) maxTimestamp = ts
      if (rules.compacted && cursor.keyLength < 0) {
        ;(recordErrors ??= []).push({
          batchIndex: i,
          message: `Compacted topic cannot accept message without key in topic partition ${rules.partition}.`,
        })
      } else if (checkTimes) {
        if (ts !== -1 && (ts < rules.minTimestamp || ts > rules.maxTimestamp)) {
          badTimestamp = true
          ;(recordErrors ??= []).push({
            batchIndex: i,
            message: `Timestamp ${ts} of message with offset ${i} is out of range. The timestamp should be within [${rules.minTimestamp}, ${rules.maxTimestamp}]`,
          })
        }
      }
    }
  } catch (err) {
    if (!(err instanceof RecordDecodeError)) throw err
    return failure('INVALID_RECORD', `record ${i} of ${count} is malformed in ${rules.partition}: ${err.message}`)
  }
  if (cursor.remaining !== 0) {
    return failure('INVALID_RECORD', `${cursor.remaining} bytes left after the declared ${count} records in ${rules.partition}`)
  }
  if (recordErrors === undefined) return maxTimestamp
  if (badTimestamp) return failure('INVALID_TIMESTAMP', 'One or more records have been rejected due to invalid timestamp', recordErrors)
  return failure('INVALID_RECORD', recordErrorsMessage(recordErrors), recordErrors)
}

/** Kafka's summary line for a batch refused for record errors. */
function recordErrorsMessage(errors: readonly RecordError[]): string {
  const shown = errors
    .slice(0, 3)
    .map((e) => `RecordError(batchIndex=${e.batchIndex}, message='${e.message}')`)
    .join(', ')
  return `One or more records have been rejected due to ${errors.length} record errors in total, and only showing the first three errors at most: [${shown}]`
}

/** Validates raw bytes handed straight to the log; throws RecordValidationError when refused. */
export function validateOrThrow(records: Uint8Array, config: ValidationConfig, opts?: ValidateOptions): ValidatedRecords {
  const v = validateRecords(records, config, opts)
  if (!v.ok) throw new RecordValidationError(v)
  return v
}

/**
 * Patches the validated batches for the log: base offsets from `baseOffset` on, the leader epoch,
 * and LogAppendTime when stamped or else the batch's real maxTimestamp when the client claimed
 * another (both recompute the batch's CRC). Returns the next offset.
 */
export function assignOffsets(v: ValidatedRecords, baseOffset: number, leaderEpoch = PARTITION_LEADER_EPOCH): number {
  const records = v.records
  let next = baseOffset
  for (const b of v.batches) {
    setBaseOffset(records, b.position, next)
    setPartitionLeaderEpoch(records, b.position, leaderEpoch)
    if (v.logAppendTime >= 0) setLogAppendTime(records, b.position, v.logAppendTime)
    else if (readMaxTimestamp(records, b.position) !== b.maxTimestamp) setMaxTimestamp(records, b.position, b.maxTimestamp)
    next += b.lastOffsetDelta + 1
  }
  return next
}
