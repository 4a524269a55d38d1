// Topic configuration as DescribeConfigs and CreateTopics (v5+) report it: every topic key with its
// effective value and where that value came from.
import { TOPIC_CONFIG_DEFS } from '../storage/config-defs.js'
import { resolveLogConfig } from '../storage/log-config.js'
import type { BrokerContext } from './context.js'

/** Kafka's DescribeConfigsResponse ConfigSource values. */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const

export interface DescribedConfig {
  name: string
  value: string | null
  source: number
  readOnly: boolean
  sensitive: boolean
  type: string
  /** The broker key that supplies this topic key's default, if any. */
  brokerKey: string | undefined
}

export function describeTopicConfigs(b: BrokerContext, overrides: Record<string, string>): DescribedConfig[] {
  const cfg = resolveLogConfig(b.config.overrides(), overrides)
  return TOPIC_CONFIG_DEFS.map((def) => {
    const from = cfg.sources[def.name]
    const brokerKey = def.synonyms?.[0]?.name
    const source =
      from === 'topic'
        ? ConfigSource.TOPIC_CONFIG
        : from === 'broker'
          ? brokerKey !== undefined && b.config.source(brokerKey) === 'dynamic'
            ? ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG
            : ConfigSource.STATIC_BROKER_CONFIG
          : ConfigSource.DEFAULT_CONFIG
    return {
      name: def.name,
      value: cfg.values[def.name] ?? null,
      source,
      readOnly: false,
      sensitive: false,
      type: def.type,
      brokerKey,
    }
  })
}
