// Heartbeat (key 12). v1 adds throttle time; v3 adds group.instance.id (static members are fenced
// with FENCED_INSTANCE_ID); v4 is flexible. REBALANCE_IN_PROGRESS tells a member to rejoin.
// ACLs: READ on the group.
import { HeartbeatApi, type HeartbeatResponse } from '../../protocol/generated/heartbeat.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: HeartbeatApi,
  versions: [0, 4],
  handle(req, ctx): HeartbeatResponse {
    if (!authorize(ctx, Op.READ, Resource.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }
    const errorCode = ctx.broker.groups.heartbeat({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
    })
    return { throttleTimeMs: 0, errorCode }
  },
})
