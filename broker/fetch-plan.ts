// Which partitions one Fetch request reads, and what its response must include. Full fetches read
// what they name; incremental fetches (KIP-227) update their session with what they name, drop
// forgotten partitions, read everything in the session, and report only partitions with news.
import type { FetchRequest, FetchResponse } from '../protocol/generated/fetch.js'
import { ErrorCode } from '../protocol/errors.js'
import type { PartitionLog } from '../storage/partition-log.js'
import type { BrokerContext } from './context.js'
import { FINAL_EPOCH, INITIAL_EPOCH, partitionKey, type FetchSession, type SessionPartition } from './fetch-sessions.js'

type TopicResponse = FetchResponse['responses'][number]
type PartitionResponse = TopicResponse['partitions'][number]

const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

export interface FetchWork {
  sp: SessionPartition
  currentLeaderEpoch: number
  /** Always include in the response (full fetches, and partitions named in this request). */
  mustReport: boolean
  log?: PartitionLog
  errorCode: number
  /** Cluster mode: who leads, told with NOT_LEADER_OR_FOLLOWER and the epoch errors. */
  currentLeader?: { leaderId: number; leaderEpoch: number }
  /** A follower's own log start offset, as its Fetch states it (-1 when not stated). */
  logStartOffset: number
  /** KIP-392: the replica the consumer should read this partition from instead; nothing is read here. */
  preferredReadReplica?: number
  /** A replication throttle holds this follower back: its offsets answer, no records (KIP-73). */
  throttled?: boolean
}

export type FetchPlan = { error: number } | { work: FetchWork[]; session: FetchSession | undefined; incremental: boolean }

/** Opens, continues or closes the request's fetch session and lists the partitions to read. */
export function planFetch(b: BrokerContext, req: FetchRequest, version: number): FetchPlan {
  const useIds = version >= 13
  let session: FetchSession | undefined
  let incremental = false
  if (version >= 7) {
    if (req.sessionId !== 0) {
      if (req.sessionEpoch === FINAL_EPOCH || req.sessionEpoch === INITIAL_EPOCH) b.fetchSessions.remove(req.sessionId)
      if (req.sessionEpoch > INITIAL_EPOCH) {
        session = b.fetchSessions.get(req.sessionId)
        if (!session) return { error: ErrorCode.FETCH_SESSION_ID_NOT_FOUND }
        if (session.nextEpoch !== req.sessionEpoch) return { error: ErrorCode.INVALID_FETCH_SESSION_EPOCH }
        incremental = true
      }
    } else if (req.sessionEpoch > INITIAL_EPOCH) {
      return { error: ErrorCode.INVALID_FETCH_SESSION_EPOCH }
    }
    if (req.sessionEpoch === INITIAL_EPOCH) session = b.fetchSessions.create()
  }
  const work = incremental ? updateSession(b, session!, req, useIds) : fullRequest(b, req, useIds, session)
  return { work, session, incremental }
}

/**
 * Groups read partitions by topic for the response, remembering what each client was told; an
 * incremental response leaves out partitions with nothing new.
 */
export function sessionResponses(
  partitions: ReadonlyArray<{ w: FetchWork; response: PartitionResponse }>,
  incremental: boolean,
  useIds: boolean,
): TopicResponse[] {
  const responses: TopicResponse[] = []
  for (const { w, response } of partitions) {
    const changed =
      response.records!.length > 0 ||
      response.errorCode !== w.sp.lastErrorCode ||
      response.highWatermark !== w.sp.lastHighWatermark ||
      response.lastStableOffset !== w.sp.lastLastStableOffset ||
      response.logStartOffset !== w.sp.lastLogStartOffset ||
      response.preferredReadReplica >= 0
    w.sp.lastHighWatermark = response.highWatermark
    w.sp.lastLastStableOffset = response.lastStableOffset
    w.sp.lastLogStartOffset = response.logStartOffset
    w.sp.lastErrorCode = response.errorCode
    if (incremental && !changed && !w.mustReport) continue
    const last = responses[responses.length - 1]
    if (last && (useIds ? last.topicId === w.sp.topicId : last.topic === w.sp.topic)) last.partitions.push(response)
    else responses.push({ topic: w.sp.topic, topicId: w.sp.topicId, partitions: [response] })
  }
  return responses
}

function fullRequest(b: BrokerContext, req: FetchRequest, useIds: boolean, session: FetchSession | undefined): FetchWork[] {
  const work: FetchWork[] = []
  for (const t of req.topics) {
    for (const p of t.partitions) {
      const w = resolve(b, useIds ? t.topicId : t.topic, useIds, p.partition)
      w.sp.fetchOffset = p.fetchOffset
      w.sp.partitionMaxBytes = p.partitionMaxBytes
      w.currentLeaderEpoch = p.currentLeaderEpoch
      w.logStartOffset = p.logStartOffset
      work.push(w)
      session?.partitions.set(partitionKey(useIds ? w.sp.topicId : w.sp.topic, p.partition), w.sp)
    }
  }
  return work
}


function updateSession(b: BrokerContext, session: FetchSession, req: FetchRequest, useIds: boolean): FetchWork[] {
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
  const work: FetchWork[] = []
  for (const [key, sp] of session.partitions) {
    const w = resolve(b, useIds ? sp.topicId : sp.topic, useIds, sp.partition)
    w.sp = sp
    w.mustReport = named.has(key) && sp.lastErrorCode !== ErrorCode.NONE
    w.currentLeaderEpoch = epochs.get(key) ?? -1
    work.push(w)
  }
  return work
}


function resolve(b: BrokerContext, topicOrId: string, useIds: boolean, partition: number): FetchWork {
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
  return { sp, currentLeaderEpoch: -1, mustReport: true, log, errorCode, logStartOffset: -1 }
}

