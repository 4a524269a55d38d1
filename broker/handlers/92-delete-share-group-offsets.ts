// DeleteShareGroupOffsets (key 92, KIP-932, v0): removes the share-partition state of the named
// topics, so their partitions start again per share.auto.offset.reset on the next fetch. The share
// group must exist (GROUP_ID_NOT_FOUND) and have no members (NON_EMPTY_GROUP), both top-level. Each
// topic lists the partitions whose state went; an unknown topic answers a zero topic id and no
// partitions (this version has no topic-level error). ACLs: DELETE on the group, READ on each topic.
import { DeleteShareGroupOffsetsApi, type DeleteShareGroupOffsetsResponse } from '../../protocol/generated/delete-share-group-offsets.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'
import { ShareOffsets } from '../share/share-offsets.js'

export default defineHandler({
  api: DeleteShareGroupOffsetsApi,
  versions: [0, 0],
  async handle(req, ctx): Promise<DeleteShareGroupOffsetsResponse> {
    const b = ctx.broker
    if (!authorize(ctx, Op.DELETE, Resource.GROUP, req.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null, responses: [] }
    }
    const offsets = new ShareOffsets(b.groups, b.share, b.logs)
    const r = await offsets.delete(req.groupId, req.topics.map((t) => t.topicName), (topic) => authorize(ctx, Op.READ, Resource.TOPIC, topic))
    return { throttleTimeMs: 0, errorCode: r.errorCode, errorMessage: null, responses: r.topics }
  },
})
