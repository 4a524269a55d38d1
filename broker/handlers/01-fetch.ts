// Fetch (key 1). v3 adds a response byte limit; v4 isolation level and aborted transactions; v5 log
// start offset; v7 incremental fetch sessions (KIP-227); v11 rack id; v12 flexible; v13 topic ids
// instead of names; v15 replica state (followers only). Long polling: a fetch with less than
// minBytes available parks until an append or maxWaitMs. Whole batches are returned; a fetch
// offset inside a batch returns that batch. read_committed (isolation level 1) stops at the last
// stable offset and lists the aborted transactions overlapping the returned batches, from the
// segments' transaction indexes; clients drop those records and skip control batches themselves.
import { FetchApi, type FetchRequest, type FetchResponse } from '../../protocol/generated/fetch.js'
import { ErrorCode } from '../../protocol/errors.js'
import { batchSizeAt, readLastOffset } from '../../protocol/record-batch.js'
import { toKafkaError } from '../errors.js'
import { defineHandler } from '../handler.js'
import { planFetch, sessionResponses, type FetchWork } from '../fetch-plan.js'

type PartitionResponse = FetchResponse['responses'][number]['partitions'][number]

const EMPTY = new Uint8Array(0)

export default defineHandler({
  api: FetchApi,
  versions: [4, 17],
  async handle(req, ctx): Promise<FetchResponse> {
    const b = ctx.broker
    const v = ctx.apiVersion
    const useIds = v >= 13
    const plan = planFetch(b, req, v)
    if ('error' in plan) return topLevelError(plan.error)
    const { work, session, incremental } = plan
    const isolation = req.isolationLevel
    const deadline = Date.now() + Math.max(0, req.maxWaitMs)
    const logs = work.filter((w) => w.log !== undefined).map((w) => w.log!)
    let partitions: Array<{ w: FetchWork; response: PartitionResponse }>
    for (;;) {
      // A caught-up consumer parks without building a response it would throw away.
      if (req.minBytes > 0 && deadline > Date.now() && nothingNew(work, isolation)) {
        await b.fetchWaiters.wait(logs, deadline - Date.now())
        continue
      }
      const round = readAll(work, req, isolation, v)
      partitions = round.partitions
      const remaining = deadline - Date.now()
      if (round.bytes >= req.minBytes || round.errors > 0 || remaining <= 0) break
      await b.fetchWaiters.wait(logs, remaining)
    }

    const responses = sessionResponses(partitions, incremental, useIds)
    if (session) session.nextEpoch = req.sessionEpoch <= 0 ? 1 : session.nextEpoch + 1
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: session?.id ?? 0, responses, nodeEndpoints: [] }
  },
})

/** True when no partition has records past its fetch offset, an error, or an offset out of range. */
function nothingNew(work: readonly FetchWork[], isolation: number): boolean {
  for (const w of work) {
    const log = w.log
    if (!log || log.offline || w.currentLeaderEpoch > 0) return false
    if (w.sp.fetchOffset !== (isolation === 1 ? log.lastStableOffset : log.highWatermark)) return false
  }
  return true
}

/** Reads every partition of the plan from the page cache, synchronously: no promise per partition. */
function readAll(work: FetchWork[], req: FetchRequest, isolation: number, v: number) {
  let budget = v >= 3 ? req.maxBytes : Number.MAX_SAFE_INTEGER
  let bytes = 0
  let errors = 0
  const partitions: Array<{ w: FetchWork; response: PartitionResponse }> = []
  for (const w of work) {
    const response = emptyPartition(w.sp.partition, isolation)
    partitions.push({ w, response })
    if (!w.log) {
      response.errorCode = w.errorCode
      errors++
      continue
    }
    const log = w.log
    if (w.currentLeaderEpoch > 0) {
      // This broker has led every partition since epoch 0; a newer epoch is one it has not seen.
      response.errorCode = ErrorCode.UNKNOWN_LEADER_EPOCH
      errors++
      continue
    }
    const lso = log.lastStableOffset
    response.highWatermark = log.highWatermark
    response.lastStableOffset = lso
    response.logStartOffset = log.logStartOffset
    const limit = Math.min(w.sp.partitionMaxBytes, budget)
    if (limit <= 0 && bytes > 0) continue
    try {
      const maxOffset = isolation === 1 ? lso : log.highWatermark
      const read = log.readSync(w.sp.fetchOffset, Math.max(limit, 0), { maxOffset, minOneBatch: bytes === 0 })
      response.records = read.records
      response.highWatermark = read.highWatermark
      response.logStartOffset = read.logStartOffset
      if (isolation === 1 && read.records.length > 0) {
        const aborted = log.abortedTransactions(w.sp.fetchOffset, endOffsetOf(read.records))
        // Index order is marker order; clients that walk the list with the records expect first-offset order.
        response.abortedTransactions = aborted
          .map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }))
          .sort((x, y) => x.firstOffset - y.firstOffset)
      }
      bytes += read.records.length
      budget -= read.records.length
    } catch (err) {
      response.errorCode = toKafkaError(err).code
      errors++
    }
  }
  return { partitions, bytes, errors }
}

/** The offset after the last of a run of whole batches. */
function endOffsetOf(records: Uint8Array): number {
  let pos = 0
  let last = 0
  while (pos < records.length) {
    last = pos
    pos += batchSizeAt(records, pos)
  }
  return readLastOffset(records, last) + 1
}

// Shared by every response (the encoder only reads them).
const NO_DIVERGING_EPOCH = Object.freeze({ epoch: -1, endOffset: -1 })
const NO_CURRENT_LEADER = Object.freeze({ leaderId: -1, leaderEpoch: -1 })
const NO_SNAPSHOT_ID = Object.freeze({ endOffset: -1, epoch: -1 })

function emptyPartition(partitionIndex: number, isolation: number): PartitionResponse {
  return {
    partitionIndex,
    errorCode: ErrorCode.NONE,
    highWatermark: -1,
    lastStableOffset: -1,
    logStartOffset: -1,
    divergingEpoch: NO_DIVERGING_EPOCH,
    currentLeader: NO_CURRENT_LEADER,
    snapshotId: NO_SNAPSHOT_ID,
    abortedTransactions: isolation === 1 ? [] : null,
    preferredReadReplica: -1,
    records: EMPTY,
  }
}

function topLevelError(errorCode: number): FetchResponse {
  return { throttleTimeMs: 0, errorCode, sessionId: 0, responses: [], nodeEndpoints: [] }
}
