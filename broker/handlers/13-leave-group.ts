// LeaveGroup (key 13). v1 adds throttle time; v3 replaces the single member id with a batch of
// members, each identified by member id and/or group.instance.id, answered per member; v4 is
// flexible; v5 adds a reason per member. For v0-2 the single member's error is the top-level one.
// ACLs: READ on the group.
import { LeaveGroupApi, type LeaveGroupResponse } from '../../protocol/generated/leave-group.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: LeaveGroupApi,
  versions: [0, 5],
  handle(req, ctx): LeaveGroupResponse {
    const batched = ctx.apiVersion >= 3
    if (!authorize(ctx, Op.READ, Resource.GROUP, req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] }
    const leaving = batched ? req.members : [{ memberId: req.memberId, groupInstanceId: null, reason: null }]
    const result = ctx.broker.groups.leaveGroup(req.groupId, leaving)
    if (batched) return { throttleTimeMs: 0, errorCode: result.errorCode, members: result.members }
    const errorCode = result.errorCode !== ErrorCode.NONE ? result.errorCode : (result.members[0]?.errorCode ?? ErrorCode.NONE)
    return { throttleTimeMs: 0, errorCode, members: [] }
  },
})
