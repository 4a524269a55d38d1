// OffsetFetch (key 9). v1 reads the same offsets as v0 (there is no ZooKeeper storage here); v2
// adds a top-level error code and accepts null topics meaning "every partition with an offset";
// v3 throttle time; v5 leader epochs; v6 flexible; v7 require_stable (a partition with offsets
// still waiting for their transaction's outcome answers UNSTABLE_OFFSET_COMMIT); v8 batches
// several groups; v9's member id and epoch belong to KIP-848 groups and are ignored for classic
// groups.
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
        const r = groups.fetchOffsets(g.groupId, g.topics, req.requireStable)
        return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics }
      })
      return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.NONE, groups: results }
    }
    const r = groups.fetchOffsets(req.groupId, ctx.apiVersion >= 2 ? req.topics : (req.topics ?? []), req.requireStable)
    return { throttleTimeMs: 0, topics: r.topics, errorCode: r.errorCode, groups: [] }
  },
})
