// OffsetFetch (key 9). v1 reads the same offsets as v0 (there is no ZooKeeper storage here); v2
// adds a top-level error code and accepts null topics meaning "every partition with an offset";
// v3 throttle time; v5 leader epochs; v6 flexible; v7 require_stable (a partition with offsets
// still waiting for their transaction's outcome answers UNSTABLE_OFFSET_COMMIT); v8 batches
// several groups; v9 adds a member id and epoch, checked by KIP-848 consumer groups
// (STALE_MEMBER_EPOCH, UNKNOWN_MEMBER_ID; no member id means an admin reading) and ignored by
// classic groups. ACLs: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) and on each topic: a named
// topic the caller may not describe answers TOPIC_AUTHORIZATION_FAILED, a listing leaves it out.
import {
  OffsetFetchApi,
  type OffsetFetchResponse,
  type OffsetFetchResponseOffsetFetchResponseGroup,
} from '../../protocol/generated/offset-fetch.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler, type RequestContext } from '../handler.js'
import { authorize, Op, Resource, splitAuthorized } from '../acls/authorize.js'
import type { FetchedOffset, OffsetFetchResult } from '../groups/types.js'
import type { OffsetFetchMember } from '../groups/coordinator.js'

export default defineHandler({
  api: OffsetFetchApi,
  versions: [0, 9],
  handle(req, ctx): OffsetFetchResponse {
    if (ctx.apiVersion >= 8) {
      const results: OffsetFetchResponseOffsetFetchResponseGroup[] = req.groups.map((g) => {
        const member = ctx.apiVersion >= 9 ? { memberId: g.memberId, memberEpoch: g.memberEpoch } : undefined
        const r = fetchAuthorized(ctx, g.groupId, g.topics, req.requireStable, member)
        return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics }
      })
      return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.NONE, groups: results }
    }
    const r = fetchAuthorized(ctx, req.groupId, ctx.apiVersion >= 2 ? req.topics : (req.topics ?? []), req.requireStable)
    if (ctx.apiVersion < 2 && r.errorCode === ErrorCode.GROUP_AUTHORIZATION_FAILED) {
      // v0-1 have no top-level error: every partition asked for carries it.
      const topics = (req.topics ?? []).map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((i) => unfetched(i, r.errorCode)) }))
      return { throttleTimeMs: 0, topics, errorCode: ErrorCode.NONE, groups: [] }
    }
    return { throttleTimeMs: 0, topics: r.topics, errorCode: r.errorCode, groups: [] }
  },
})

function fetchAuthorized(
  ctx: RequestContext,
  groupId: string,
  topics: Array<{ name: string; partitionIndexes: number[] }> | null,
  requireStable: boolean,
  member?: OffsetFetchMember,
): OffsetFetchResult {
  if (!authorize(ctx, Op.DESCRIBE, Resource.GROUP, groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] }
  const groups = ctx.broker.groups
  if (topics === null) {
    const r = groups.fetchOffsets(groupId, null, requireStable, member)
    return { errorCode: r.errorCode, topics: splitAuthorized(ctx, Op.DESCRIBE, Resource.TOPIC, r.topics)[0] }
  }
  const [allowed, denied] = splitAuthorized(ctx, Op.DESCRIBE, Resource.TOPIC, topics)
  const r = groups.fetchOffsets(groupId, allowed, requireStable, member)
  if (denied.length === 0) return r
  const refused = denied.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((i) => unfetched(i, ErrorCode.TOPIC_AUTHORIZATION_FAILED)) }))
  return { errorCode: r.errorCode, topics: [...r.topics, ...refused] }
}

function unfetched(partitionIndex: number, errorCode: number): FetchedOffset {
  return { partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode }
}
