// DescribeConfigs (key 32). v1 adds synonyms and config sources (replacing isDefault); v3 adds the
// config type and documentation; v4 is flexible. v0 is not served (removed in Kafka 4.0).
// Resources: TOPIC and BROKER (this node id, or "" for the cluster-wide dynamic defaults);
// BROKER_LOGGER answers with no entries, as log levels are not exposed. Documentation is null.
// ACLs: DESCRIBE_CONFIGS on each resource (brokers: on the cluster).
import { DescribeConfigsApi, type DescribeConfigsResponse } from '../../protocol/generated/describe-configs.js'
import { ConfigSource } from '../topic-configs.js'
import { describeResource } from '../config-admin.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { configResourceError, Op } from '../acls/authorize.js'

type Result = DescribeConfigsResponse['results'][number]

export default defineHandler({
  api: DescribeConfigsApi,
  versions: [1, 4],
  handle(req, ctx): DescribeConfigsResponse {
    const results: Result[] = req.resources.map((r) => {
      const refused = configResourceError(ctx, Op.DESCRIBE_CONFIGS, r.resourceType, r.resourceName)
      if (refused !== ErrorCode.NONE) return { errorCode: refused, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] }
      const described = describeResource(ctx.broker, r.resourceType, r.resourceName, r.configurationKeys, req.includeSynonyms)
      return {
        errorCode: described.errorCode,
        errorMessage: described.errorMessage,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: described.configs.map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          isDefault: c.source === ConfigSource.DEFAULT_CONFIG,
          configSource: c.source,
          isSensitive: c.sensitive,
          synonyms: c.synonyms,
          configType: c.configType,
          documentation: null,
        })),
      }
    })
    return { throttleTimeMs: 0, results }
  },
})
