// ShareAcknowledge (key 79, KIP-932). v1 only: v2 (Kafka 4.2) adds renew acknowledgements, not
// served. Acknowledgements without a fetch, in the member's share session: the epoch must be the
// session's next (0 cannot open one: INVALID_SHARE_SESSION_EPOCH) or -1, which applies them and
// then closes the session, releasing every record the member still holds. Each partition answers
// NONE or why its batches were refused (INVALID_REQUEST for malformed batches, INVALID_RECORD_STATE
// for records the member does not hold), all of a partition's batches or none. ACLs: READ on the
// group (top-level GROUP_AUTHORIZATION_FAILED) and on each topic (TOPIC_AUTHORIZATION_FAILED).
import { ShareAcknowledgeApi, type ShareAcknowledgeResponse } from '../../protocol/generated/share-acknowledge.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'
import { applyAcknowledgements, partitionKey, type AcknowledgedPartition } from '../share/share-acknowledgements.js'
import { SHARE_FINAL_EPOCH, SHARE_INITIAL_EPOCH } from '../share/share-sessions.js'

export default defineHandler({
  api: ShareAcknowledgeApi,
  versions: [1, 1],
  async handle(req, ctx): Promise<ShareAcknowledgeResponse> {
    const b = ctx.broker
    const groupId = req.groupId ?? ''
    const memberId = req.memberId ?? ''
    if (groupId === '' || memberId === '') return topLevel(ErrorCode.INVALID_REQUEST, 'GroupId and MemberId must be set.')
    if (!authorize(ctx, Op.READ, Resource.GROUP, groupId)) return topLevel(ErrorCode.GROUP_AUTHORIZATION_FAILED)
    const epoch = req.shareSessionEpoch
    const session = epoch === SHARE_INITIAL_EPOCH || epoch < SHARE_FINAL_EPOCH ? ErrorCode.INVALID_SHARE_SESSION_EPOCH : b.shareSessions.check(groupId, memberId, epoch)
    if (typeof session === 'number') return topLevel(session)
    if (epoch !== SHARE_FINAL_EPOCH) session.epoch++
    const partitions = new Map<string, AcknowledgedPartition>()
    for (const t of req.topics) {
      for (const p of t.partitions) {
        const key = partitionKey(t.topicId, p.partitionIndex)
        const seen = partitions.get(key)
        if (seen === undefined) partitions.set(key, { topicId: t.topicId, partition: p.partitionIndex, batches: [...p.acknowledgementBatches] })
        else seen.batches.push(...p.acknowledgementBatches)
      }
    }
    const acked = await applyAcknowledgements(b.share, groupId, memberId, [...partitions.values()], (topic) => authorize(ctx, Op.READ, Resource.TOPIC, topic))
    if (epoch === SHARE_FINAL_EPOCH) {
      b.shareSessions.close(session)
      await b.share.releaseMember(groupId, memberId)
    }
    const byTopic = new Map<string, ShareAcknowledgeResponse['responses'][number]['partitions']>()
    for (const p of partitions.values()) {
      const outcome = acked.get(partitionKey(p.topicId, p.partition))!
      let list = byTopic.get(p.topicId)
      if (list === undefined) byTopic.set(p.topicId, (list = []))
      list.push({ partitionIndex: p.partition, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage, currentLeader: { leaderId: b.nodeId, leaderEpoch: 0 } })
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      acquisitionLockTimeoutMs: b.share.settings.lockDurationMs(groupId),
      responses: [...byTopic].map(([topicId, list]) => ({ topicId, partitions: list })),
      nodeEndpoints: [],
    }
  },
})

function topLevel(errorCode: number, errorMessage: string | null = null): ShareAcknowledgeResponse {
  return { throttleTimeMs: 0, errorCode, errorMessage, acquisitionLockTimeoutMs: 0, responses: [], nodeEndpoints: [] }
}
