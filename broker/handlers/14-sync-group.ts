// SyncGroup (key 14). The leader sends every member's assignment; each member receives its own
// once the leader's arrives. v1 adds throttle time; v3 adds group.instance.id; v4 is flexible; v5
// carries the protocol type and name, which must match the group's (INCONSISTENT_GROUP_PROTOCOL).
// ACLs: READ on the group.
import { SyncGroupApi, type SyncGroupResponse } from '../../protocol/generated/sync-group.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: SyncGroupApi,
  versions: [0, 5],
  async handle(req, ctx): Promise<SyncGroupResponse> {
    const v = ctx.apiVersion
    if (!authorize(ctx, Op.READ, Resource.GROUP, req.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, protocolType: null, protocolName: null, assignment: new Uint8Array(0) }
    }
    const r = await ctx.broker.groups.syncGroup({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: v >= 3 ? req.groupInstanceId : null,
      protocolType: v >= 5 ? req.protocolType : null,
      protocolName: v >= 5 ? req.protocolName : null,
      assignments: req.assignments,
    })
    return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment }
  },
})
