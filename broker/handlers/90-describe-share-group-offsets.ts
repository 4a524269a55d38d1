// DescribeShareGroupOffsets (key 90, KIP-932, v0): each share group's start offset (SPSO) per
// partition, for the topics named or, without a list, every topic the group has state for; a
// partition without state answers -1. A group of another kind, or none, is GROUP_ID_NOT_FOUND.
// Samsa extension: each partition with state also carries tagged field 10000 (Samsa's own, far
// above Kafka's tags; protocol/samsa-share-in-flight.ts) with its records Acquired, its records
// Available for delivery again inside the window, and the window's end offset (SPEO). Clients
// that do not know the tag skip it, as they skip any unknown tagged field.
// ACLs: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED for the group) and on each topic.
import { DescribeShareGroupOffsetsApi, type DescribeShareGroupOffsetsResponse } from '../../protocol/generated/describe-share-group-offsets.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'
import { ShareOffsets } from '../share/share-offsets.js'

export default defineHandler({
  api: DescribeShareGroupOffsetsApi,
  versions: [0, 0],
  handle(req, ctx): DescribeShareGroupOffsetsResponse {
    const b = ctx.broker
    const offsets = new ShareOffsets(b.groups, b.share, b.logs)
    const canDescribe = (topic: string): boolean => authorize(ctx, Op.DESCRIBE, Resource.TOPIC, topic)
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((g) =>
        authorize(ctx, Op.DESCRIBE, Resource.GROUP, g.groupId)
          ? offsets.describe(g.groupId, g.topics, canDescribe)
          : { groupId: g.groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null, topics: [] },
      ),
    }
  },
})
