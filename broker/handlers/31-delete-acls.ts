// DeleteAcls (key 31). v1 adds resource pattern types; v2 is flexible; v3 adds the USER resource
// type. v0 is not served (removed in Kafka 4.0). Needs ALTER on the cluster. Each filter reports
// the bindings it removed; an invalid filter gets INVALID_REQUEST and removes nothing.
import { DeleteAclsApi, type DeleteAclsResponse, type DeleteAclsResponseDeleteAclsFilterResult } from '../../protocol/generated/delete-acls.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { toKafkaError } from '../errors.js'
import { filterMatches, invalidFilter, type AclFilter } from '../acls/acl-filter.js'
import { authorizeCluster, Op } from '../acls/authorize.js'

export default defineHandler({
  api: DeleteAclsApi,
  versions: [1, 3],
  async handle(req, ctx): Promise<DeleteAclsResponse> {
    const all = (errorCode: number, errorMessage: string): DeleteAclsResponse => ({
      throttleTimeMs: 0,
      filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    })
    const authorizer = ctx.broker.authorizer
    if (authorizer === undefined) return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.')
    if (!authorizeCluster(ctx, Op.ALTER)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.')
    const filters: AclFilter[] = req.filters.map((f) => ({
      resourceType: f.resourceTypeFilter,
      resourceName: f.resourceNameFilter,
      patternType: f.patternTypeFilter,
      principal: f.principalFilter,
      host: f.hostFilter,
      operation: f.operation,
      permissionType: f.permissionType,
    }))
    const reasons = filters.map(invalidFilter)
    const results: DeleteAclsResponseDeleteAclsFilterResult[] = reasons.map((r) => ({
      errorCode: r === undefined ? ErrorCode.NONE : ErrorCode.INVALID_REQUEST,
      errorMessage: r ?? null,
      matchingAcls: [],
    }))
    const valid = (i: number): boolean => reasons[i] === undefined
    let removed
    try {
      removed = await authorizer.store.remove((b) => filters.some((f, i) => valid(i) && filterMatches(f, b)))
    } catch (err) {
      // The change was not committed (in a cluster: etcd did not answer): nothing was removed.
      const f = toKafkaError(err)
      results.forEach((r, i) => valid(i) && Object.assign(r, { errorCode: f.code, errorMessage: f.message }))
      return { throttleTimeMs: 0, filterResults: results }
    }
    for (const b of removed) {
      filters.forEach((f, i) => valid(i) && filterMatches(f, b) && results[i]!.matchingAcls.push({ errorCode: ErrorCode.NONE, errorMessage: null, ...b }))
    }
    return { throttleTimeMs: 0, filterResults: results }
  },
})
