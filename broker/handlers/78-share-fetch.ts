// ShareFetch (key 78, KIP-932). v1 only: v2 (Kafka 4.2) adds the record-limit acquire mode and
// renew acknowledgements, not served. A member of a share group fetches through its share session
// (epoch 0 opens it with the partitions named, n > 0 adds and forgets partitions, -1 closes it and
// releases what the member holds); acknowledgements ride along (not on epoch 0: INVALID_REQUEST).
// Records are acquired from every partition of the session, at most MaxRecords (whole batches),
// within MaxBytes and fetch.max.bytes, parking up to MaxWaitMs while there are none; each partition
// answers its batches and the acquired ranges with their delivery counts. BatchSize is not used to
// split acquired ranges. Incremental sessions answer only partitions with records, errors or
// acknowledgement results. ACLs: READ on the group (top-level GROUP_AUTHORIZATION_FAILED) and on
// each topic (TOPIC_AUTHORIZATION_FAILED). In cluster mode a partition this broker does not lead
// answers NOT_LEADER_OR_FOLLOWER with the leader it knows; the share partitions it leads are read
// from their share coordinator before the first use at a leader epoch.
import { ShareFetchApi, type ShareFetchRequest, type ShareFetchResponse } from '../../protocol/generated/share-fetch.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler, LeasedResponse } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'
import { acknowledge, partitionKey, settleAcknowledgements, type AcknowledgedPartition } from '../share/share-acknowledgements.js'
import { fetchShareRecords } from '../share/share-fetch.js'
import { SHARE_FINAL_EPOCH, SHARE_INITIAL_EPOCH, type SessionPartition } from '../share/share-sessions.js'

type Partition = ShareFetchResponse['responses'][number]['partitions'][number]

export default defineHandler({
  api: ShareFetchApi,
  versions: [1, 1],
  largeResponse: true,
  async handle(req, ctx): Promise<ShareFetchResponse | LeasedResponse<ShareFetchResponse>> {
    const b = ctx.broker
    const groupId = req.groupId ?? ''
    const memberId = req.memberId ?? ''
    if (groupId === '' || memberId === '') return topLevel(ErrorCode.INVALID_REQUEST, 'GroupId and MemberId must be set.')
    if (!authorize(ctx, Op.READ, Resource.GROUP, groupId)) return topLevel(ErrorCode.GROUP_AUTHORIZATION_FAILED)
    const named = requestPartitions(req)
    const acks = named.filter((p) => p.batches.length > 0)
    const epoch = req.shareSessionEpoch
    if (epoch === SHARE_INITIAL_EPOCH && acks.length > 0) return topLevel(ErrorCode.INVALID_REQUEST, 'Acknowledgements cannot be sent when opening a share session.')
    const session = epoch === SHARE_INITIAL_EPOCH ? b.shareSessions.open(groupId, memberId) : epoch >= SHARE_FINAL_EPOCH ? b.shareSessions.check(groupId, memberId, epoch) : ErrorCode.INVALID_SHARE_SESSION_EPOCH
    if (typeof session === 'number') return topLevel(session)
    if (epoch !== SHARE_FINAL_EPOCH) {
      for (const p of named) session.add(p.topicId, p.partition)
      for (const t of req.forgottenTopicsData) for (const p of t.partitions) session.forget(t.topicId, p)
      if (epoch !== SHARE_INITIAL_EPOCH) session.epoch++
    }
    const canRead = (topic: string): boolean => authorize(ctx, Op.READ, Resource.TOPIC, topic)
    await b.share.loadPartitions(groupId, [...acks, ...session.partitions.values()])
    const acked = acknowledge(b.share, groupId, memberId, acks, canRead)
    const out = new Responses((topicId, partition) => {
      const topic = b.share.topicName(topicId)
      return b.replicas === undefined || topic === undefined ? { leaderId: b.nodeId, leaderEpoch: 0 } : b.replicas.currentLeader(topic, partition)
    })
    const answerAcknowledgements = (): void => {
      for (const p of acks) {
        const outcome = acked.outcomes.get(partitionKey(p.topicId, p.partition))!
        const partition = out.get(p.topicId, p.partition)
        partition.acknowledgeErrorCode = outcome.errorCode
        partition.acknowledgeErrorMessage = outcome.errorMessage
      }
    }
    const base = { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, acquisitionLockTimeoutMs: b.share.settings.lockDurationMs(groupId), nodeEndpoints: [] }
    if (epoch === SHARE_FINAL_EPOCH) {
      await settleAcknowledgements(acked, b.share.persist(acked.changed))
      answerAcknowledgements()
      b.shareSessions.close(session)
      await b.share.releaseMember(groupId, memberId)
      return { ...base, responses: out.topics() }
    }
    const fetching = req.maxRecords > 0 && req.maxBytes > 0
    const round = await fetchShareRecords(b.share, b.fetchWaiters, b.fetchMemory, {
      groupId,
      memberId,
      partitions: fetching ? session.nextFetchOrder() : ([] as SessionPartition[]),
      maxRecords: req.maxRecords,
      maxBytes: Math.min(req.maxBytes, b.config.getInt('fetch.max.bytes')),
      maxWaitMs: fetching ? req.maxWaitMs : 0,
      canRead,
    }, acked)
    answerAcknowledgements()
    for (const r of round.partitions.values()) {
      if (epoch !== SHARE_INITIAL_EPOCH && r.errorCode === ErrorCode.NONE && r.acquired.length === 0) continue
      const p = out.get(r.topicId, r.partition)
      p.errorCode = r.errorCode
      p.errorMessage = r.errorMessage
      p.records = r.records
      p.acquiredRecords = r.acquired
    }
    const response: ShareFetchResponse = { ...base, responses: out.topics() }
    return round.lease.isEmpty ? response : new LeasedResponse(response, [round.lease])
  },
})

/** The request's partitions with their acknowledgements; a topic may be listed more than once. */
function requestPartitions(req: ShareFetchRequest): AcknowledgedPartition[] {
  const out = new Map<string, AcknowledgedPartition>()
  for (const t of req.topics) {
    for (const p of t.partitions) {
      const key = partitionKey(t.topicId, p.partitionIndex)
      const seen = out.get(key)
      if (seen === undefined) out.set(key, { topicId: t.topicId, partition: p.partitionIndex, batches: [...p.acknowledgementBatches] })
      else seen.batches.push(...p.acknowledgementBatches)
    }
  }
  return [...out.values()]
}

/** Response partitions grouped by topic, in the order first named. */
class Responses {
  private readonly byTopic = new Map<string, Map<number, Partition>>()

  constructor(private readonly leaderOf: (topicId: string, partition: number) => Partition['currentLeader']) {}

  get(topicId: string, partition: number): Partition {
    let partitions = this.byTopic.get(topicId)
    if (partitions === undefined) this.byTopic.set(topicId, (partitions = new Map()))
    let p = partitions.get(partition)
    if (p === undefined) {
      p = {
        partitionIndex: partition,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        acknowledgeErrorCode: ErrorCode.NONE,
        acknowledgeErrorMessage: null,
        currentLeader: this.leaderOf(topicId, partition),
        records: null,
        acquiredRecords: [],
      }
      partitions.set(partition, p)
    }
    return p
  }

  topics(): ShareFetchResponse['responses'] {
    return [...this.byTopic].map(([topicId, partitions]) => ({ topicId, partitions: [...partitions.values()] }))
  }
}

function topLevel(errorCode: number, errorMessage: string | null = null): ShareFetchResponse {
  return { throttleTimeMs: 0, errorCode, errorMessage, acquisitionLockTimeoutMs: 0, responses: [], nodeEndpoints: [] }
}
