// IncrementalAlterConfigs (key 44, KIP-339): per key SET (0), DELETE (1), and for list-typed keys
// APPEND (2) / SUBTRACT (3); keys not named keep their value. v1 is flexible. Resources: TOPIC
// and BROKER (this node id or "" — both write the broker's one dynamic layer; only keys Kafka can
// change at run time are accepted). validateOnly is honoured. A resource named twice is refused.
// ACLs: ALTER_CONFIGS on each resource (brokers: on the cluster).
import { IncrementalAlterConfigsApi, type IncrementalAlterConfigsResponse } from '../../protocol/generated/incremental-alter-configs.js'
import { ErrorCode } from '../../protocol/errors.js'
import { alterResource, duplicateResources } from '../config-admin.js'
import { defineHandler } from '../handler.js'
import { configResourceError, Op } from '../acls/authorize.js'

type Result = IncrementalAlterConfigsResponse['responses'][number]

export default defineHandler({
  api: IncrementalAlterConfigsApi,
  versions: [0, 1],
  async handle(req, ctx): Promise<IncrementalAlterConfigsResponse> {
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
            r.configs.map((c) => ({ name: c.name, operation: c.configOperation, value: c.value })),
            { replace: false, validateOnly: req.validateOnly },
          )
      responses.push({ ...outcome, resourceType: r.resourceType, resourceName: r.resourceName })
    }
    return { throttleTimeMs: 0, responses }
  },
})
