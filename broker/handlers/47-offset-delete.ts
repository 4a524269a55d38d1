// OffsetDelete (key 47, KIP-496), a single version. Deletes committed offsets of an empty group,
// or of topics a consumer group no longer subscribes to; subscribed topics answer
// GROUP_SUBSCRIBED_TO_TOPIC per partition, groups of other protocol types with members
// NON_EMPTY_GROUP.
import { OffsetDeleteApi, type OffsetDeleteResponse } from '../../protocol/generated/offset-delete.js'
import { defineHandler } from '../handler.js'

export default defineHandler({
  api: OffsetDeleteApi,
  versions: [0, 0],
  async handle(req, ctx): Promise<OffsetDeleteResponse> {
    const r = await ctx.broker.groups.deleteOffsets(req.groupId, req.topics)
    return { errorCode: r.errorCode, throttleTimeMs: 0, topics: r.topics }
  },
})
