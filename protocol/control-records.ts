// Control batches: transaction markers (Abort, Commit) as Kafka's EndTransactionMarker writes
// them, a transactional control batch of one record.

import { i16, i32, w16, w32 } from './big-endian.js'
import { encodeBatch } from './record-batch-builder.js'
import type { Record } from './record-reader.js'

export const ControlType = { Abort: 0, Commit: 1 } as const

/**
 * Encodes a transaction marker: a transactional control batch with one record whose key is
 * (version int16 = 0, type int16) and whose value is (version int16 = 0, coordinatorEpoch int32).
 */
export function encodeControlBatch(opts: {
  type: 0 | 1
  producerId: number
  producerEpoch: number
  coordinatorEpoch: number
  baseOffset?: number
  timestamp?: number
  partitionLeaderEpoch?: number
}): Buffer {
  const key = Buffer.allocUnsafe(4)
  w16(key, 0, 0)
  w16(key, 2, opts.type)
  const value = Buffer.allocUnsafe(6)
  w16(value, 0, 0)
  w32(value, 2, opts.coordinatorEpoch)
  const timestamp = opts.timestamp ?? Date.now()
  return encodeBatch([{ key, value, timestamp }], {
    baseOffset: opts.baseOffset ?? 0,
    partitionLeaderEpoch: opts.partitionLeaderEpoch ?? -1,
    producerId: opts.producerId,
    producerEpoch: opts.producerEpoch,
    baseSequence: -1,
    transactional: true,
    control: true,
    baseTimestamp: timestamp,
  })
}

/**
 * Reads a record of a control batch. Returns its type and, for transaction markers (Abort,
 * Commit), the coordinator epoch; other control types report coordinatorEpoch -1. Null when
 * the key is not a control key.
 */
export function readControlRecord(record: Record): { type: number; coordinatorEpoch: number } | null {
  const k = record.key
  if (k === null || k.length < 4) return null
  const version = i16(k, 0)
  if (version < 0) return null
  const type = i16(k, 2)
  let coordinatorEpoch = -1
  if ((type === ControlType.Abort || type === ControlType.Commit) && record.value !== null && record.value.length >= 6) {
    coordinatorEpoch = i32(record.value, 2)
  }
  return { type, coordinatorEpoch }
}
