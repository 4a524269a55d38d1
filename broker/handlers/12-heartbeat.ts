// Heartbeat (key 12). v1 adds throttle time; v3 adds group.instance.id (static members are fenced
// with FENCED_INSTANCE_ID); v4 is flexible. REBALANCE_IN_PROGRESS tells a member to rejoin.
import { HeartbeatApi, type HeartbeatResponse } from '../../protocol/generated/heartbeat.js'
import { defineHandler } from '../handler.js'

export default defineHandler({
  api: HeartbeatApi,
  versions: [0, 4],
  handle(req, ctx): HeartbeatResponse {
    const errorCode = ctx.broker.groups.heartbeat({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
    })
    return { throttleTimeMs: 0, errorCode }
  },
})
