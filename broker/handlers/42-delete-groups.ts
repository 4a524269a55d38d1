// DeleteGroups (key 42). Deletes empty groups with their committed offsets; a group with members
// answers NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND. v1 changes nothing on the wire; v2 is
// flexible.
import { DeleteGroupsApi, type DeleteGroupsResponse } from '../../protocol/generated/delete-groups.js'
import { defineHandler } from '../handler.js'

export default defineHandler({
  api: DeleteGroupsApi,
  versions: [0, 2],
  async handle(req, ctx): Promise<DeleteGroupsResponse> {
    return { throttleTimeMs: 0, results: await ctx.broker.groups.deleteGroups(req.groupsNames) }
  },
})
