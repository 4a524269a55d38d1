// OffsetFetch (key 9). v1 reads the same offsets as v0 (there is no ZooKeeper storage here); v2
// adds a top-level error code and accepts null topics meaning "every partition with an offset";
// v3 throttle time; v5 leader epochs; v6 flexible; v7 require_stable (a partition with offsets
// still waiting for their transaction's outcome answers UNSTABLE_OFFSET_COMMIT); v8 batches
// several groups; v9 adds a member id and epoch, checked by KIP-848 consumer groups
// (STALE_MEMBER_EPOCH, UNKNOWN_MEMBER_ID; no member id means an admin reading) and ignored by
// classic groups.
import {
  OffsetFetchApi,
  type OffsetFetchResponse,
  type OffsetFetchResponseOffsetFetchResponseGroup,
} from '../../protocol/generated/offset-fetch.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'

export default defineHandler({
  api: OffsetFetchApi,
  versions: [0, 9],
  handle(req, ctx): OffsetFetchResponse {
    const groups = ctx.broker.groups
    if (ctx.apiVersion >= 8) {
      const results: OffsetFetchResponseOffsetFetchResponseGroup[] = req.groups.map((g) => {
        const member = ctx.apiVersion >= 9 ? { memberId: g.memberId, memberEpoch: g.memberEpoch } : undefined
        const r = groups.fetchOffsets(g.groupId, g.topics, req.requireStable, member)
        return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics }
      })
      return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.NONE, groups: results }
    }
    const r = groups.fetchOffsets(req.groupId, ctx.apiVersion >= 2 ? req.topics : (req.topics ?? []), req.requireStable)
    return { throttleTimeMs: 0, topics: r.topics, errorCode: r.errorCode, groups: [] }
  },
})
