// Configs of topics, brokers and groups: DescribeConfigs, and IncrementalAlterConfigs (KIP-339),
// which changes the named keys only, so nothing is read back and rewritten. A broker resource
// is asked of that broker; a topic or group resource of any broker (Kafka's admin client uses
// the least loaded node; the bootstrap broker here).

import { ErrorCode } from '../../protocol/errors.js'
import { DescribeConfigsApi } from '../../protocol/generated/describe-configs.js'
import { IncrementalAlterConfigsApi } from '../../protocol/generated/incremental-alter-configs.js'
import type { Cluster } from './cluster.js'
import type { NodeSession } from './node-session.js'
import { KafkaProtocolError } from './errors.js'

/** DescribeConfigs resource types. */
export const ConfigResourceType = { Topic: 2, Broker: 4, BrokerLogger: 8, Group: 32 } as const

/** Where a value comes from (DescribeConfigs v1+). */
export const ConfigSource = {
  Unknown: 0,
  TopicConfig: 1,
  DynamicBrokerConfig: 2,
  DynamicDefaultBrokerConfig: 3,
  StaticBrokerConfig: 4,
  DefaultConfig: 5,
  DynamicBrokerLoggerConfig: 6,
  GroupConfig: 8,
} as const

/** IncrementalAlterConfigs operations. */
export const AlterConfigOp = { Set: 0, Delete: 1, Append: 2, Subtract: 3 } as const

export interface ConfigResource {
  type: number
  name: string
}

export interface ConfigEntry {
  name: string
  /** Null for sensitive values and for keys without a value. */
  value: string | null
  readOnly: boolean
  /** True when the value is the built-in default (v0 answers this directly; later versions through the source). */
  isDefault: boolean
  source: number
  isSensitive: boolean
}

export interface ConfigChange {
  name: string
  op: number
  /** Ignored for Delete. */
  value?: string | null
}

async function sessionFor(cluster: Cluster, resource: ConfigResource): Promise<NodeSession> {
  if (resource.type === ConfigResourceType.Broker || resource.type === ConfigResourceType.BrokerLogger) {
    // An empty broker name means the cluster-wide default, which any broker may answer.
    if (resource.name !== '') return cluster.node(Number(resource.name))
  }
  return cluster.bootstrap()
}

/** The configs of one resource, sorted by name; `keys` limits the answer. */
export async function describeConfigs(cluster: Cluster, resource: ConfigResource, keys: readonly string[] | null = null): Promise<ConfigEntry[]> {
  const session = await sessionFor(cluster, resource)
  const res = await session.send(DescribeConfigsApi, {
    resources: [{ resourceType: resource.type, resourceName: resource.name, configurationKeys: keys === null ? null : [...keys] }],
    includeSynonyms: false,
    includeDocumentation: false,
  })
  const r = res.results[0]
  if (r === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, `no configs returned for '${resource.name}'`)
  if (r.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(r.errorCode, `describing configs of '${resource.name}'`, r.errorMessage)
  const v0 = session.version(DescribeConfigsApi) === 0
  return r.configs
    .map((c) => ({
      name: c.name,
      value: c.value,
      readOnly: c.readOnly,
      isDefault: v0 ? c.isDefault : c.configSource === ConfigSource.DefaultConfig,
      source: v0 ? ConfigSource.Unknown : c.configSource,
      isSensitive: c.isSensitive,
    }))
    .sort((a, b) => a.name.localeCompare(b.name))
}

/** Applies `changes` to one resource with IncrementalAlterConfigs; a refusal throws. */
export async function incrementalAlterConfigs(cluster: Cluster, resource: ConfigResource, changes: readonly ConfigChange[], opts: { validateOnly?: boolean } = {}): Promise<void> {
  const session = await sessionFor(cluster, resource)
  const res = await session.send(IncrementalAlterConfigsApi, {
    resources: [
      {
        resourceType: resource.type,
        resourceName: resource.name,
        configs: changes.map((c) => ({ name: c.name, configOperation: c.op, value: c.op === AlterConfigOp.Delete ? null : (c.value ?? null) })),
      },
    ],
    validateOnly: opts.validateOnly ?? false,
  })
  for (const r of res.responses) {
    if (r.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(r.errorCode, `altering configs of '${r.resourceName}'`, r.errorMessage)
  }
}
