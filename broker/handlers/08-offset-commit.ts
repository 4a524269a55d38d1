// OffsetCommit (key 8). v0 has no generation or member id (a "simple" commit, accepted only while
// the group is empty); v1 adds them plus a per-partition commit timestamp; v2-4 carry a retention
// time (an explicit expiry); v3 adds throttle time; v6 leader epochs; v7 group.instance.id; v8 is
// flexible; v9 answers GROUP_ID_NOT_FOUND for an unknown group instead of ILLEGAL_GENERATION and
// carries a KIP-848 member epoch in the generation field: a consumer group answers
// STALE_MEMBER_EPOCH for a later epoch, and for an earlier one on each partition the member had
// not owned since then (KIP-1251), UNKNOWN_MEMBER_ID for a stranger, and UNSUPPORTED_VERSION to its
// members committing below v9. Topic ids (v10) are not served. ACLs: READ on the group
// (else GROUP_AUTHORIZATION_FAILED everywhere) and on each topic (TOPIC_AUTHORIZATION_FAILED).
import { OffsetCommitApi, type OffsetCommitResponse } from '../../protocol/generated/offset-commit.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource, splitAuthorized, topicErrors } from '../acls/authorize.js'

export default defineHandler({
  api: OffsetCommitApi,
  versions: [0, 9],
  async handle(req, ctx): Promise<OffsetCommitResponse> {
    if (!authorize(ctx, Op.READ, Resource.GROUP, req.groupId)) return { throttleTimeMs: 0, topics: topicErrors(req.topics, ErrorCode.GROUP_AUTHORIZATION_FAILED) }
    const [allowed, denied] = splitAuthorized(ctx, Op.READ, Resource.TOPIC, req.topics)
    const topics = await ctx.broker.groups.commitOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      retentionTimeMs: req.retentionTimeMs,
      apiVersion: ctx.apiVersion,
      reportUnknownGroup: ctx.apiVersion >= 9,
      topics: allowed,
    })
    return { throttleTimeMs: 0, topics: [...topics, ...topicErrors(denied, ErrorCode.TOPIC_AUTHORIZATION_FAILED)] }
  },
})
