// The share-fetch path (KIP-932): after the request's acknowledgements (share-acknowledgements.ts),
// records acquired for the member from every partition of its share session and returned as the stored
// batches that hold them (views of the log, held by a lease until the response is written), with
// the acquired offset ranges and their delivery counts; the client delivers only those offsets.
// Long polling as Fetch's: when nothing could be acquired the fetch parks until an append to one of
// its partitions, records coming back (released, unlocked) or MaxWaitMs. Every state change is
// persisted before the response is sent, so an acknowledged record stays acknowledged and a
// delivery count is never lost across a restart: the acknowledgements and the acquisitions in one
// state write (the writer groups it with other requests' into one transaction), or the
// acknowledgements alone before the fetch parks.
import { ErrorCode } from '../../protocol/errors.js'
import type { ReadResult } from '../../storage/log-reader.js'
import type { PartitionLog } from '../../storage/partition-log.js'
import { toKafkaError } from '../errors.js'
import type { FetchLease, FetchMemory } from '../fetch-memory.js'
import type { FetchWaiters } from '../fetch-waiters.js'
import { partitionKey, settleAcknowledgements, type Acknowledgements } from './share-acknowledgements.js'
import { offeredBatches, type WalkedBatch } from './share-batches.js'
import type { HeldSharePartition, SharePartitionManager } from './share-partition-manager.js'
import type { AcquiredRange } from './share-partition.js'
import type { SessionPartition } from './share-sessions.js'

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
  acks: Acknowledgements,
): Promise<ShareFetchRound> {
  const deadline = Date.now() + Math.max(0, p.maxWaitMs)
  let acksSettled: Promise<void> | null = null
  for (;;) {
    const round = acquireRound(manager, memory, p)
    const remaining = deadline - Date.now()
    if (round.acquiredRecords > 0 || round.errors > 0 || remaining <= 0 || waiters.closed) {
      // One state write holds the acknowledgements and the records acquired, unless the
      // acknowledgements were written before the fetch parked.
      const write = manager.persist(acksSettled === null ? new Set([...acks.changed, ...round.changed]) : round.changed)
      acksSettled ??= settleAcknowledgements(acks, write)
      await Promise.all([acksSettled, settleRound(round, write)])
      return round
    }
    round.lease.release()
    acksSettled ??= settleAcknowledgements(acks, manager.persist(acks.changed))
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
    const isolation = manager.settings.isolationLevel(p.groupId)
    let got: Acquisition
    try {
      got = acquireFrom(h, p.memberId, recordsLeft, budget, acquiredRecords === 0, isolation)
    } catch (err) {
      const failure = toKafkaError(err)
      result.errorCode = failure.code
      result.errorMessage = failure.message
      errors++
      // A read before the failing one may have archived records.
      changed.push(h)
      continue
    }
    if (got.changed) changed.push(h)
    const { read, batches, acquired } = got
    if (read === null) continue
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

interface Acquisition {
  /** Whether the share partition changed (records acquired, or archived as undeliverable). */
  changed: boolean
  acquired: AcquiredRange[]
  /** The read holding the acquired records, when there are any. */
  read: ReadResult | null
  batches: WalkedBatch[]
}

/**
 * Acquires up to `maxRecords` of the partition for the member from one read of its log. Records
 * that cannot be delivered (transaction markers, aborted transactions) are archived, not acquired;
 * a read that held only those is followed by the next one, past them.
 */
function acquireFrom(h: HeldSharePartition, memberId: string, maxRecords: number, budget: number, minOneBatch: boolean, isolation: 0 | 1): Acquisition {
  const { sp, log } = h
  sp.truncateTo(log.logStartOffset)
  const maxOffset = isolation === 1 ? log.lastStableOffset : log.highWatermark
  let changed = false
  for (;;) {
    const offset = sp.canAcquire() ? sp.nextFetchOffset() : maxOffset
    if (offset >= maxOffset) return { changed, acquired: [], read: null, batches: [] }
    const { read, batches } = readForAcquisition(h, offset, Math.min(sp.acquisitionEnd(maxRecords), maxOffset), maxOffset, budget, minOneBatch, isolation)
    const endBefore = sp.endOffset
    const startBefore = sp.startOffset
    const acquired = sp.acquire(memberId, batches, maxRecords)
    const moved = sp.endOffset !== endBefore || sp.startOffset !== startBefore
    changed ||= moved || acquired.length > 0
    if (acquired.length > 0) return { changed, acquired, read, batches }
    read.release()
    if (!moved) return { changed, acquired, read: null, batches: [] }
  }
}

/** The smallest read: a guess for a partition's first fetch, and the floor of later ones. */
const MIN_READ_BYTES = 64 * 1024

/**
 * Whole batches from `offset` covering the offsets up to `end` when the byte budget allows: a read
 * sized by the partition's log bytes per offset, grown until it covers them, reaches the budget,
 * or stops short although a further batch would have fit (the segment ends there). Reading the
 * whole budget instead, to acquire a few hundred records of a backlog, spends the fetch copying
 * bytes it does not deliver.
 */
function readForAcquisition(h: HeldSharePartition, offset: number, end: number, maxOffset: number, budget: number, minOneBatch: boolean, isolation: 0 | 1): { read: ReadResult; batches: WalkedBatch[] } {
  const wanted = (): number => Math.max(MIN_READ_BYTES, Math.ceil(h.bytesPerOffset * (end - offset) * 1.1))
  let bytes = Math.min(budget, wanted())
  let largestBatch = 0
  for (;;) {
    const read = h.log.readSync(offset, bytes, { maxOffset, minOneBatch })
    const batches = offeredBatches(read.records, isolation === 1 && read.records.length > 0 ? h.log.abortedTransactions(offset, maxOffset) : null)
    const reached = batches.length === 0 ? offset : batches[batches.length - 1]!.lastOffset + 1
    if (batches.length > 0) h.bytesPerOffset = read.records.length / (reached - batches[0]!.baseOffset)
    for (const b of batches) largestBatch = Math.max(largestBatch, b.end - b.start)
    if (reached >= end || bytes >= budget || (largestBatch > 0 && read.records.length + largestBatch <= bytes)) return { read, batches }
    read.release()
    bytes = Math.min(budget, Math.max(2 * bytes, wanted()))
  }
}

/** Waits for the round's state write; when it failed, the round delivers nothing. */
async function settleRound(round: ShareFetchRound & { changed: HeldSharePartition[] }, write: Promise<void>): Promise<void> {
  try {
    await write
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
