// ShareGroupHeartbeat (key 76, KIP-932). v1 only (v0 was Kafka 4.0's early-access format). A member
// names itself (a UUID it made), joins with epoch 0 and its subscribed topic names, leaves with -1,
// and otherwise heartbeats at its epoch; the answer carries its epoch, the heartbeat interval and,
// when it joined or its assignment changed, its assignment (the simple assignor). The rack id is
// kept and described but does not steer the assignment. ACLs: READ on the group, DESCRIBE on each
// subscribed topic name.
import { ShareGroupHeartbeatApi, type ShareGroupHeartbeatRequest, type ShareGroupHeartbeatResponse } from '../../protocol/generated/share-group-heartbeat.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler, type RequestContext } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: ShareGroupHeartbeatApi,
  versions: [1, 1],
  handle(req, ctx): ShareGroupHeartbeatResponse {
    const refused = heartbeatRefusal(req, ctx)
    if (refused !== undefined) {
      return { throttleTimeMs: 0, errorCode: refused, errorMessage: null, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null }
    }
    const r = ctx.broker.groups.shareGroupHeartbeat({
      groupId: req.groupId,
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      rackId: req.rackId,
      subscribedTopicNames: req.subscribedTopicNames,
      clientId: ctx.clientId ?? '',
      // Kafka reports client hosts as Java's InetAddress.toString() does: "/127.0.0.1".
      clientHost: ctx.clientHost.startsWith('/') ? ctx.clientHost : `/${ctx.clientHost}`,
    })
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      memberId: r.memberId,
      memberEpoch: r.memberEpoch,
      heartbeatIntervalMs: r.heartbeatIntervalMs,
      assignment: r.assignment === null ? null : { topicPartitions: r.assignment },
    }
  },
})

function heartbeatRefusal(req: ShareGroupHeartbeatRequest, ctx: RequestContext): number | undefined {
  if (!authorize(ctx, Op.READ, Resource.GROUP, req.groupId)) return ErrorCode.GROUP_AUTHORIZATION_FAILED
  if (req.subscribedTopicNames?.some((t) => !authorize(ctx, Op.DESCRIBE, Resource.TOPIC, t))) return ErrorCode.TOPIC_AUTHORIZATION_FAILED
  return undefined
}
