// OffsetDelete (key 47, KIP-496), a single version. Deletes committed offsets of an empty group,
// or of topics a consumer group no longer subscribes to; subscribed topics answer
// GROUP_SUBSCRIBED_TO_TOPIC per partition, groups of other protocol types with members
// NON_EMPTY_GROUP. ACLs: DELETE on the group, READ on each topic.
import { OffsetDeleteApi, type OffsetDeleteResponse } from '../../protocol/generated/offset-delete.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource, splitAuthorized, topicErrors } from '../acls/authorize.js'

export default defineHandler({
  api: OffsetDeleteApi,
  versions: [0, 0],
  async handle(req, ctx): Promise<OffsetDeleteResponse> {
    if (!authorize(ctx, Op.DELETE, Resource.GROUP, req.groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] }
    const [allowed, denied] = splitAuthorized(ctx, Op.READ, Resource.TOPIC, req.topics)
    const r = await ctx.broker.groups.deleteOffsets(req.groupId, allowed)
    return { errorCode: r.errorCode, throttleTimeMs: 0, topics: [...r.topics, ...topicErrors(denied, ErrorCode.TOPIC_AUTHORIZATION_FAILED)] }
  },
})
