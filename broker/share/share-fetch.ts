// The share-fetch path (KIP-932): acknowledgements applied to share partitions, then records
// acquired for the member from every partition of its share session and returned as the stored
// batches that hold them (views of the log, held by a lease until the response is written), with
// the acquired offset ranges and their delivery counts; the client delivers only those offsets.
// Long polling as Fetch's: when nothing could be acquired the fetch parks until an append to one of
// its partitions, records coming back (released, unlocked) or MaxWaitMs. Every state change is
// persisted (group commit) before the response is sent, so an acknowledged record stays
// acknowledged and a delivery count is never lost across a restart.
import { ErrorCode } from '../../protocol/errors.js'
import type { PartitionLog } from '../../storage/partition-log.js'
import { toKafkaError } from '../errors.js'
import type { FetchLease, FetchMemory } from '../fetch-memory.js'
import type { FetchWaiters } from '../fetch-waiters.js'
import { offeredBatches } from './share-batches.js'
import type { HeldSharePartition, SharePartitionManager } from './share-partition-manager.js'
import { validateAcknowledgementBatches, type AcknowledgementBatch, type AcquiredRange } from './share-partition.js'
import type { SessionPartition } from './share-sessions.js'

export interface AcknowledgedPartition {
  topicId: string
  partition: number
  batches: AcknowledgementBatch[]
}

export interface PartitionOutcome {
  errorCode: number
  errorMessage: string | null
}

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`
}

/**
 * Applies each partition's acknowledgements for `memberId`, in Kafka's order of checks: unknown
 * topic id, invalid batches (INVALID_REQUEST), topic READ, unknown partition, then the share
 * partition's own verdict (INVALID_RECORD_STATE). Resolves once the changes are persisted.
 */
export async function applyAcknowledgements(
  manager: SharePartitionManager,
  groupId: string,
  memberId: string,
  partitions: readonly AcknowledgedPartition[],
  canRead: (topic: string) => boolean,
): Promise<Map<string, PartitionOutcome>> {
  const out = new Map<string, PartitionOutcome>()
  const changed: HeldSharePartition[] = []
  for (const p of partitions) {
    const key = partitionKey(p.topicId, p.partition)
    const topic = manager.topicName(p.topicId)
    const fail = (errorCode: number, errorMessage: string | null = null): void => void out.set(key, { errorCode, errorMessage })
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
    out.set(key, { errorCode: ErrorCode.NONE, errorMessage: null })
    changed.push(h)
  }
  if (changed.length > 0) {
    manager.notifyAvailable()
    try {
      await manager.persist(changed)
    } catch (err) {
      const failure = toKafkaError(err)
      for (const h of changed) out.set(partitionKey(h.topicId, h.partition), { errorCode: failure.code, errorMessage: failure.message })
    }
  }
  return out
}

export interface FetchedSharePartition {
  topicId: string
  partition: number
  errorCode: number
  errorMessage: string | null
  records: Uint8Array | null
  acquired: AcquiredRange[]
}

export interface ShareFetchRound {
  partitions: Map<string, FetchedSharePartition>
  acquiredRecords: number
  errors: number
  lease: FetchLease
}

export interface ShareFetchParams {
  groupId: string
  memberId: string
  partitions: readonly SessionPartition[]
  maxRecords: number
  maxBytes: number
  maxWaitMs: number
  canRead: (topic: string) => boolean
}

/**
 * Acquires records for the member, parking while there are none, until MaxWaitMs. The round's
 * reads are held by its lease; the caller releases it once the response is written.
 */
export async function fetchShareRecords(
  manager: SharePartitionManager,
  waiters: FetchWaiters,
  memory: FetchMemory,
  p: ShareFetchParams,
): Promise<ShareFetchRound> {
  const deadline = Date.now() + Math.max(0, p.maxWaitMs)
  for (;;) {
    const round = acquireRound(manager, memory, p)
    const remaining = deadline - Date.now()
    if (round.acquiredRecords > 0 || round.errors > 0 || remaining <= 0 || waiters.closed) {
      return persistRound(manager, round)
    }
    round.lease.release()
    const logs: PartitionLog[] = []
    for (const sp of p.partitions) {
      const h = manager.partition(p.groupId, sp.topicId, sp.partition)
      if (typeof h !== 'number') logs.push(h.log)
    }
    let stop = (): void => {}
    await Promise.race([waiters.wait(logs, remaining), new Promise<void>((resolve) => (stop = manager.onAvailable(resolve)))])
    stop()
  }
}

function acquireRound(manager: SharePartitionManager, memory: FetchMemory, p: ShareFetchParams): ShareFetchRound & { changed: HeldSharePartition[] } {
  const lease = memory.lease()
  const partitions = new Map<string, FetchedSharePartition>()
  const changed: HeldSharePartition[] = []
  let budget = Math.min(p.maxBytes, Math.max(memory.available, 1))
  let recordsLeft = p.maxRecords
  let acquiredRecords = 0
  let errors = 0
  for (const { topicId, partition } of p.partitions) {
    const result: FetchedSharePartition = { topicId, partition, errorCode: ErrorCode.NONE, errorMessage: null, records: null, acquired: [] }
    partitions.set(partitionKey(topicId, partition), result)
    const topic = manager.topicName(topicId)
    const h = topic === undefined ? ErrorCode.UNKNOWN_TOPIC_ID : !p.canRead(topic) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : manager.partition(p.groupId, topicId, partition)
    if (typeof h === 'number') {
      result.errorCode = h
      errors++
      continue
    }
    if (recordsLeft <= 0 || budget <= 0) continue
    const { sp, log } = h
    const isolation = manager.settings.isolationLevel(p.groupId)
    sp.truncateTo(log.logStartOffset)
    if (!sp.canAcquire()) continue
    const offset = sp.nextFetchOffset()
    const maxOffset = isolation === 1 ? log.lastStableOffset : log.highWatermark
    if (offset >= maxOffset) continue
    let read
    try {
      read = log.readSync(offset, budget, { maxOffset, minOneBatch: acquiredRecords === 0 })
    } catch (err) {
      const failure = toKafkaError(err)
      result.errorCode = failure.code
      result.errorMessage = failure.message
      errors++
      continue
    }
    const batches = offeredBatches(read.records, isolation === 1 && read.records.length > 0 ? log.abortedTransactions(offset, maxOffset) : null)
    const endBefore = sp.endOffset
    const startBefore = sp.startOffset
    const acquired = sp.acquire(p.memberId, batches, recordsLeft)
    if (acquired.length > 0 || sp.endOffset !== endBefore || sp.startOffset !== startBefore) changed.push(h)
    if (acquired.length === 0) {
      read.release()
      continue
    }
    const first = acquired[0]!.firstOffset
    const last = acquired[acquired.length - 1]!.lastOffset
    const from = batches.find((b) => b.lastOffset >= first)!.start
    let to = from
    for (const b of batches) if (b.baseOffset <= last) to = b.end
    lease.add(read)
    result.records = read.records.subarray(from, to)
    result.acquired = acquired
    let count = 0
    for (const r of acquired) count += r.lastOffset - r.firstOffset + 1
    acquiredRecords += count
    recordsLeft -= count
    budget -= to - from
  }
  return { partitions, acquiredRecords, errors, lease, changed }
}

async function persistRound(manager: SharePartitionManager, round: ShareFetchRound & { changed: HeldSharePartition[] }): Promise<ShareFetchRound> {
  if (round.changed.length > 0) {
    try {
      await manager.persist(round.changed)
    } catch (err) {
      // Not persisted, not delivered: the records stay locked until their lock runs out.
      const failure = toKafkaError(err)
      for (const h of round.changed) {
        const r = round.partitions.get(partitionKey(h.topicId, h.partition))
        if (r === undefined) continue
        r.errorCode = failure.code
        r.errorMessage = failure.message
        r.records = null
        r.acquired = []
      }
    }
  }
  return round
}
