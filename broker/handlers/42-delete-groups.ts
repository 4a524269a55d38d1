// DeleteGroups (key 42). Deletes empty groups with their committed offsets; a group with members
// answers NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND. v1 changes nothing on the wire; v2 is
// flexible. ACLs: DELETE on each group (GROUP_AUTHORIZATION_FAILED).
import { DeleteGroupsApi, type DeleteGroupsResponse } from '../../protocol/generated/delete-groups.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: DeleteGroupsApi,
  versions: [0, 2],
  async handle(req, ctx): Promise<DeleteGroupsResponse> {
    const denied = req.groupsNames.filter((g) => !authorize(ctx, Op.DELETE, Resource.GROUP, g))
    const deleted = await ctx.broker.groups.deleteGroups(denied.length === 0 ? req.groupsNames : req.groupsNames.filter((g) => !denied.includes(g)))
    return { throttleTimeMs: 0, results: [...deleted, ...denied.map((groupId) => ({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }))] }
  },
})
