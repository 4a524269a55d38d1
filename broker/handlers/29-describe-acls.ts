// DescribeAcls (key 29). v1 adds resource pattern types; v2 is flexible; v3 adds the USER resource
// type. v0 is not served (removed in Kafka 4.0). Needs DESCRIBE on the cluster; without an
// authorizer the answer is SECURITY_DISABLED, as Kafka's.
import { DescribeAclsApi, type DescribeAclsResponse, type DescribeAclsResponseDescribeAclsResource } from '../../protocol/generated/describe-acls.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { filterMatches, invalidFilter, type AclFilter } from '../acls/acl-filter.js'
import { authorizeCluster, Op } from '../acls/authorize.js'

export default defineHandler({
  api: DescribeAclsApi,
  versions: [1, 3],
  handle(req, ctx): DescribeAclsResponse {
    const fail = (errorCode: number, errorMessage: string): DescribeAclsResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, resources: [] })
    const authorizer = ctx.broker.authorizer
    if (authorizer === undefined) return fail(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.')
    if (!authorizeCluster(ctx, Op.DESCRIBE)) return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.')
    const filter: AclFilter = {
      resourceType: req.resourceTypeFilter,
      resourceName: req.resourceNameFilter,
      patternType: req.patternTypeFilter,
      principal: req.principalFilter,
      host: req.hostFilter,
      operation: req.operation,
      permissionType: req.permissionType,
    }
    const invalid = invalidFilter(filter)
    if (invalid !== undefined) return fail(ErrorCode.INVALID_REQUEST, invalid)
    const resources = new Map<string, DescribeAclsResponseDescribeAclsResource>()
    for (const b of authorizer.store.list()) {
      if (!filterMatches(filter, b)) continue
      const key = `${b.resourceType}/${b.patternType}/${b.resourceName}`
      let r = resources.get(key)
      if (r === undefined) resources.set(key, (r = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, acls: [] }))
      r.acls.push({ principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permissionType })
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: [...resources.values()] }
  },
})
