// AlterConfigs (key 33), the legacy form: each resource's overrides are replaced as a whole, so a
// key left out is removed. v1 only changes throttling; v2 is flexible. Resources: TOPIC and BROKER
// (this node id or "" — both write the broker's one dynamic layer). validateOnly is honoured.
// A resource named twice in one request is refused in both places. ACLs: ALTER_CONFIGS on each
// resource (brokers: on the cluster).
import { AlterConfigsApi, type AlterConfigsResponse } from '../../protocol/generated/alter-configs.js'
import { ErrorCode } from '../../protocol/errors.js'
import { ConfigOperation, alterResource, duplicateResources } from '../config-admin.js'
import { defineHandler } from '../handler.js'
import { configResourceError, Op } from '../acls/authorize.js'

type Result = AlterConfigsResponse['responses'][number]

export default defineHandler({
  api: AlterConfigsApi,
  versions: [0, 2],
  async handle(req, ctx): Promise<AlterConfigsResponse> {
    const dup = duplicateResources(req.resources)
    const responses: Result[] = []
    for (const r of req.resources) {
      const refused = configResourceError(ctx, Op.ALTER_CONFIGS, r.resourceType, r.resourceName)
      const outcome = dup.has(`${r.resourceType}:${r.resourceName}`)
        ? { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Duplicate resource ${r.resourceName} in request` }
        : refused !== ErrorCode.NONE
          ? { errorCode: refused, errorMessage: null }
          : await alterResource(
            ctx.broker,
            r.resourceType,
            r.resourceName,
            r.configs.map((c) => ({ name: c.name, operation: ConfigOperation.SET, value: c.value })),
            { replace: true, validateOnly: req.validateOnly },
          )
      responses.push({ ...outcome, resourceType: r.resourceType, resourceName: r.resourceName })
    }
    return { throttleTimeMs: 0, responses }
  },
})
