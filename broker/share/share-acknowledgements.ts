// Acknowledgements of a share session's records (KIP-932), as ShareFetch and ShareAcknowledge carry
// them: applied to the share partitions in memory first, then persisted, and answered only once
// the write holding them has committed. A ShareFetch persists its acknowledgements together with
// the records it acquires (share-fetch.ts), one state write for both; ShareAcknowledge persists them
// alone. Until the write commits nothing is answered, so a crash before it loses only
// acknowledgements the client was never told about.
import { ErrorCode } from '../../protocol/errors.js'
import { toKafkaError } from '../errors.js'
import type { HeldSharePartition, SharePartitionManager } from './share-partition-manager.js'
import { validateAcknowledgementBatches, type AcknowledgementBatch } from './share-partition.js'

export interface AcknowledgedPartition {
  topicId: string
  partition: number
  batches: AcknowledgementBatch[]
}

export interface PartitionOutcome {
  errorCode: number
  errorMessage: string | null
}

/** Acknowledgements applied in memory: each partition's outcome, and the partitions to persist. */
export interface Acknowledgements {
  outcomes: Map<string, PartitionOutcome>
  changed: HeldSharePartition[]
}

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`
}

/**
 * Applies each partition's acknowledgements for `memberId` in memory, in Kafka's order of checks:
 * unknown topic id, invalid batches (INVALID_REQUEST), topic READ, unknown partition, then the
 * share partition's own verdict (INVALID_RECORD_STATE). Nothing is persisted yet: the caller
 * persists `changed` (settleAcknowledgements) before it answers.
 */
export function acknowledge(
  manager: SharePartitionManager,
  groupId: string,
  memberId: string,
  partitions: readonly AcknowledgedPartition[],
  canRead: (topic: string) => boolean,
): Acknowledgements {
  const outcomes = new Map<string, PartitionOutcome>()
  const changed: HeldSharePartition[] = []
  for (const p of partitions) {
    const key = partitionKey(p.topicId, p.partition)
    const topic = manager.topicName(p.topicId)
    const fail = (errorCode: number, errorMessage: string | null = null): void => void outcomes.set(key, { errorCode, errorMessage })
    if (topic === undefined) {
      fail(ErrorCode.UNKNOWN_TOPIC_ID)
      continue
    }
    if (validateAcknowledgementBatches(p.batches) !== ErrorCode.NONE) {
      fail(ErrorCode.INVALID_REQUEST, 'Invalid acknowledgement batches.')
      continue
    }
    if (!canRead(topic)) {
      fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
      continue
    }
    const h = manager.partition(groupId, p.topicId, p.partition)
    if (typeof h === 'number') {
      fail(h)
      continue
    }
    const errorCode = h.sp.acknowledge(memberId, p.batches)
    if (errorCode !== ErrorCode.NONE) {
      fail(errorCode, 'The records cannot be acknowledged: not acquired by this member, or their lock ran out.')
      continue
    }
    outcomes.set(key, { errorCode: ErrorCode.NONE, errorMessage: null })
    changed.push(h)
  }
  if (changed.length > 0) manager.notifyAvailable()
  return { outcomes, changed }
}

/**
 * Waits for `write`, the state write holding the acknowledgements; when it failed, every changed
 * partition answers the storage error instead of NONE.
 */
export async function settleAcknowledgements(acks: Acknowledgements, write: Promise<void>): Promise<void> {
  try {
    await write
  } catch (err) {
    const failure = toKafkaError(err)
    for (const h of acks.changed) acks.outcomes.set(partitionKey(h.topicId, h.partition), { errorCode: failure.code, errorMessage: failure.message })
  }
}

/** acknowledge(), then persisted on their own; resolves with the outcomes once committed. */
export async function applyAcknowledgements(
  manager: SharePartitionManager,
  groupId: string,
  memberId: string,
  partitions: readonly AcknowledgedPartition[],
  canRead: (topic: string) => boolean,
): Promise<Map<string, PartitionOutcome>> {
  await manager.loadPartitions(groupId, partitions)
  const acks = acknowledge(manager, groupId, memberId, partitions, canRead)
  if (acks.changed.length > 0) await settleAcknowledgements(acks, manager.persist(acks.changed))
  return acks.outcomes
}
