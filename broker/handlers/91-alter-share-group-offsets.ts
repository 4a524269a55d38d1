// AlterShareGroupOffsets (key 91, KIP-932, v0): each named share partition starts over at the given
// start offset with nothing in flight (its state epoch moves). The share group must have no members
// (NON_EMPTY_GROUP); it is created when there is none. A negative start offset is INVALID_REQUEST.
// The response has per-partition errors only. ACLs: READ on the group and on each topic.
import { AlterShareGroupOffsetsApi, type AlterShareGroupOffsetsResponse } from '../../protocol/generated/alter-share-group-offsets.js'
import { ErrorCode } from '../../protocol/errors.js'
import { ZERO_UUID } from '../../protocol/types.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'
import { ShareOffsets } from '../share/share-offsets.js'

export default defineHandler({
  api: AlterShareGroupOffsetsApi,
  versions: [0, 0],
  async handle(req, ctx): Promise<AlterShareGroupOffsetsResponse> {
    const b = ctx.broker
    if (!authorize(ctx, Op.READ, Resource.GROUP, req.groupId)) {
      return {
        throttleTimeMs: 0,
        responses: req.topics.map((t) => ({
          topicName: t.topicName,
          topicId: b.logs.getTopic(t.topicName)?.topicId ?? ZERO_UUID,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null })),
        })),
      }
    }
    const offsets = new ShareOffsets(b.groups, b.share, b.logs)
    return { throttleTimeMs: 0, responses: await offsets.alter(req.groupId, req.topics, (topic) => authorize(ctx, Op.READ, Resource.TOPIC, topic)) }
  },
})
