// CreateAcls (key 30). v1 adds resource pattern types; v2 is flexible; v3 adds the USER resource
// type. v0 is not served (removed in Kafka 4.0). Needs ALTER on the cluster. Each creation is
// checked on its own (INVALID_REQUEST with the reason); the valid ones are stored together and
// apply to the next request.
import { CreateAclsApi, type CreateAclsResponse } from '../../protocol/generated/create-acls.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { toKafkaError } from '../errors.js'
import { invalidBinding } from '../acls/acl-filter.js'
import { authorizeCluster, Op } from '../acls/authorize.js'

export default defineHandler({
  api: CreateAclsApi,
  versions: [1, 3],
  async handle(req, ctx): Promise<CreateAclsResponse> {
    const all = (errorCode: number, errorMessage: string): CreateAclsResponse => ({
      throttleTimeMs: 0,
      results: req.creations.map(() => ({ errorCode, errorMessage })),
    })
    const authorizer = ctx.broker.authorizer
    if (authorizer === undefined) return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.')
    if (!authorizeCluster(ctx, Op.ALTER)) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed.')
    const bindings = req.creations.map((c) => ({
      resourceType: c.resourceType,
      resourceName: c.resourceName,
      patternType: c.resourcePatternType,
      principal: c.principal,
      host: c.host,
      operation: c.operation,
      permissionType: c.permissionType,
    }))
    const reasons = bindings.map(invalidBinding)
    try {
      await authorizer.store.add(bindings.filter((_, i) => reasons[i] === undefined))
    } catch (err) {
      // Not committed (in a cluster: etcd did not answer): no binding was created.
      const f = toKafkaError(err)
      return { throttleTimeMs: 0, results: reasons.map((r) => (r === undefined ? { errorCode: f.code, errorMessage: f.message } : { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: r })) }
    }
    return {
      throttleTimeMs: 0,
      results: reasons.map((r) => (r === undefined ? { errorCode: ErrorCode.NONE, errorMessage: null } : { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: r })),
    }
  },
})
