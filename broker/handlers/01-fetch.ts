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
import type { PartitionLog } from '../../storage/partition-log.js'
import type { BrokerContext } from '../context.js'
import { toKafkaError } from '../errors.js'
import { defineHandler } from '../handler.js'
import {
  FINAL_EPOCH,
  INITIAL_EPOCH,
  partitionKey,
  type FetchSession,
  type SessionPartition,
} from '../fetch-sessions.js'

type TopicResponse = FetchResponse['responses'][number]
type PartitionResponse = TopicResponse['partitions'][number]

const ZERO_UUID = '00000000-0000-0000-0000-000000000000'
const EMPTY = new Uint8Array(0)

interface Work {
  sp: SessionPartition
  currentLeaderEpoch: number
  /** Always include in the response (full fetches, and partitions named in this request). */
  mustReport: boolean
  log?: PartitionLog
  errorCode: number
}

export default defineHandler({
  api: FetchApi,
  versions: [4, 17],
  async handle(req, ctx): Promise<FetchResponse> {
    const b = ctx.broker
    const v = ctx.apiVersion
    const useIds = v >= 13
    let session: FetchSession | undefined
    let incremental = false
    if (v >= 7) {
      if (req.sessionId !== 0) {
        if (req.sessionEpoch === FINAL_EPOCH || req.sessionEpoch === INITIAL_EPOCH) b.fetchSessions.remove(req.sessionId)
        if (req.sessionEpoch > INITIAL_EPOCH) {
          session = b.fetchSessions.get(req.sessionId)
          if (!session) return topLevelError(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
          if (session.nextEpoch !== req.sessionEpoch) return topLevelError(ErrorCode.INVALID_FETCH_SESSION_EPOCH)
          incremental = true
        }
      } else if (req.sessionEpoch > INITIAL_EPOCH) {
        return topLevelError(ErrorCode.INVALID_FETCH_SESSION_EPOCH)
      }
      if (req.sessionEpoch === INITIAL_EPOCH) session = b.fetchSessions.create()
    }

    const work = incremental ? updateSession(b, session!, req, useIds) : fullRequest(b, req, useIds, session)
    const isolation = req.isolationLevel
    const deadline = Date.now() + Math.max(0, req.maxWaitMs)
    let partitions: Array<{ w: Work; response: PartitionResponse }>
    for (;;) {
      const round = await readAll(work, req, v, isolation)
      partitions = round.partitions
      const remaining = deadline - Date.now()
      if (round.bytes >= req.minBytes || round.errors > 0 || remaining <= 0) break
      const logs = work.filter((w) => w.log !== undefined).map((w) => w.log!)
      await b.fetchWaiters.wait(logs, remaining)
      if (Date.now() >= deadline) {
        partitions = (await readAll(work, req, v, isolation)).partitions
        break
      }
    }

    const responses: TopicResponse[] = []
    for (const { w, response } of partitions) {
      const changed =
        response.records!.length > 0 ||
        response.errorCode !== w.sp.lastErrorCode ||
        response.highWatermark !== w.sp.lastHighWatermark ||
        response.lastStableOffset !== w.sp.lastLastStableOffset ||
        response.logStartOffset !== w.sp.lastLogStartOffset
      w.sp.lastHighWatermark = response.highWatermark
      w.sp.lastLastStableOffset = response.lastStableOffset
      w.sp.lastLogStartOffset = response.logStartOffset
      w.sp.lastErrorCode = response.errorCode
      if (incremental && !changed && !w.mustReport) continue
      const last = responses[responses.length - 1]
      if (last && (useIds ? last.topicId === w.sp.topicId : last.topic === w.sp.topic)) last.partitions.push(response)
      else responses.push({ topic: w.sp.topic, topicId: w.sp.topicId, partitions: [response] })
    }
    if (session) session.nextEpoch = req.sessionEpoch <= 0 ? 1 : session.nextEpoch + 1
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: session?.id ?? 0, responses, nodeEndpoints: [] }
  },
})

function fullRequest(b: BrokerContext, req: FetchRequest, useIds: boolean, session: FetchSession | undefined): Work[] {
  const work: Work[] = []
  for (const t of req.topics) {
    for (const p of t.partitions) {
      const w = resolve(b, useIds ? t.topicId : t.topic, useIds, p.partition)
      w.sp.fetchOffset = p.fetchOffset
      w.sp.partitionMaxBytes = p.partitionMaxBytes
      w.currentLeaderEpoch = p.currentLeaderEpoch
      work.push(w)
      session?.partitions.set(partitionKey(useIds ? w.sp.topicId : w.sp.topic, p.partition), w.sp)
    }
  }
  return work
}

function updateSession(b: BrokerContext, session: FetchSession, req: FetchRequest, useIds: boolean): Work[] {
  const named = new Set<string>()
  const epochs = new Map<string, number>()
  for (const t of req.topics) {
    for (const p of t.partitions) {
      const key = partitionKey(useIds ? t.topicId : t.topic, p.partition)
      let sp = session.partitions.get(key)
      if (!sp) {
        sp = resolve(b, useIds ? t.topicId : t.topic, useIds, p.partition).sp
        session.partitions.set(key, sp)
      }
      sp.fetchOffset = p.fetchOffset
      sp.partitionMaxBytes = p.partitionMaxBytes
      named.add(key)
      epochs.set(key, p.currentLeaderEpoch)
    }
  }
  for (const f of req.forgottenTopicsData) {
    for (const p of f.partitions) session.partitions.delete(partitionKey(useIds ? f.topicId : f.topic, p))
  }
  const work: Work[] = []
  for (const [key, sp] of session.partitions) {
    const w = resolve(b, useIds ? sp.topicId : sp.topic, useIds, sp.partition)
    w.sp = sp
    w.mustReport = named.has(key) && sp.lastErrorCode !== ErrorCode.NONE
    w.currentLeaderEpoch = epochs.get(key) ?? -1
    work.push(w)
  }
  return work
}

function resolve(b: BrokerContext, topicOrId: string, useIds: boolean, partition: number): Work {
  const topic = useIds ? (topicOrId === ZERO_UUID ? undefined : b.logs.getTopicById(topicOrId)) : b.logs.getTopic(topicOrId)
  const sp: SessionPartition = {
    topic: useIds ? (topic?.name ?? '') : topicOrId,
    topicId: useIds ? topicOrId : (topic?.topicId ?? ZERO_UUID),
    partition,
    fetchOffset: 0,
    partitionMaxBytes: 0,
    lastHighWatermark: -2,
    lastLastStableOffset: -2,
    lastLogStartOffset: -2,
    lastErrorCode: -2,
  }
  const log = topic ? b.logs.partition(topic.name, partition) : undefined
  const errorCode = log
    ? ErrorCode.NONE
    : useIds && !topic
      ? ErrorCode.UNKNOWN_TOPIC_ID
      : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  return { sp, currentLeaderEpoch: -1, mustReport: true, log, errorCode }
}

async function readAll(work: Work[], req: FetchRequest, v: number, isolation: number) {
  let budget = v >= 3 ? req.maxBytes : Number.MAX_SAFE_INTEGER
  let bytes = 0
  let errors = 0
  const partitions: Array<{ w: Work; response: PartitionResponse }> = []
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
      const read = await log.read(w.sp.fetchOffset, Math.max(limit, 0), { maxOffset, minOneBatch: bytes === 0 })
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

function emptyPartition(partitionIndex: number, isolation: number): PartitionResponse {
  return {
    partitionIndex,
    errorCode: ErrorCode.NONE,
    highWatermark: -1,
    lastStableOffset: -1,
    logStartOffset: -1,
    divergingEpoch: { epoch: -1, endOffset: -1 },
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
    snapshotId: { endOffset: -1, epoch: -1 },
    abortedTransactions: isolation === 1 ? [] : null,
    preferredReadReplica: -1,
    records: EMPTY,
  }
}

function topLevelError(errorCode: number): FetchResponse {
  return { throttleTimeMs: 0, errorCode, sessionId: 0, responses: [], nodeEndpoints: [] }
}
