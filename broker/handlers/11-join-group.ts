// JoinGroup (key 11). v1 adds the rebalance timeout (v0 uses the session timeout for both); v4
// makes new dynamic members fetch their member id first (MEMBER_ID_REQUIRED, KIP-394); v5 adds
// group.instance.id (static membership, KIP-345); v6 is flexible; v7 returns the protocol type
// and a nullable protocol name; v8 carries a reason; v9 may tell a rejoining static leader to skip
// the assignment. The answer arrives when the rebalance's join phase completes.
// ACLs: READ on the group.
import { JoinGroupApi, type JoinGroupResponse } from '../../protocol/generated/join-group.js'
import type { JoinGroupResult } from '../groups/types.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: JoinGroupApi,
  versions: [0, 9],
  async handle(req, ctx): Promise<JoinGroupResponse> {
    const v = ctx.apiVersion
    if (!authorize(ctx, Op.READ, Resource.GROUP, req.groupId)) {
      return toResponse({ errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId: '', members: [] }, v)
    }
    const result = await ctx.broker.groups.joinGroup({
      groupId: req.groupId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: ctx.clientId ?? '',
      clientHost: clientAddress(ctx.clientHost),
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: v >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
      requireKnownMemberId: v >= 4 && req.groupInstanceId === null,
      supportSkippingAssignment: v >= 9,
      reason: req.reason,
    })
    return toResponse(result, v)
  },
})

function toResponse(r: JoinGroupResult, version: number): JoinGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    generationId: r.generationId,
    protocolType: r.protocolType,
    // Before v7 the protocol name is not nullable: errors carry an empty name.
    protocolName: version >= 7 ? r.protocolName : (r.protocolName ?? ''),
    leader: r.leader,
    skipAssignment: r.skipAssignment,
    memberId: r.memberId,
    members: r.members,
  }
}

/** Kafka reports client hosts as Java's InetAddress.toString() does: "/127.0.0.1". */
function clientAddress(host: string): string {
  return host.startsWith('/') ? host : `/${host}`
}
