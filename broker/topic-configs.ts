// Topic configuration as DescribeConfigs and CreateTopics (v5+) report it: every topic key with its
// effective value and where that value came from.
import { TOPIC_CONFIG_DEFS, configDef, type ConfigDef } from '../storage/config-defs.js'
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

export interface ConfigSynonym {
  name: string
  value: string | null
  source: number
}

export interface DescribedConfig {
  name: string
  value: string | null
  source: number
  readOnly: boolean
  sensitive: boolean
  type: string
  /** Where the value comes from, most specific first (Kafka's DescribeConfigs synonyms). */
  synonyms: ConfigSynonym[]
}

export function describeTopicConfigs(b: BrokerContext, overrides: Record<string, string>): DescribedConfig[] {
  const cfg = resolveLogConfig(b.config.overrides(), overrides)
  return TOPIC_CONFIG_DEFS.map((def) => {
    const synonyms = brokerSynonyms(b, def)
    const own = overrides[def.name]
    if (own !== undefined) synonyms.unshift({ name: def.name, value: String(own), source: ConfigSource.TOPIC_CONFIG })
    return {
      name: def.name,
      value: cfg.values[def.name] ?? null,
      source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
      readOnly: false,
      sensitive: false,
      type: def.type,
      synonyms,
    }
  })
}

/**
 * The broker keys that hold a value for `def`, as Kafka's ConfigHelper lists them: every synonym's
 * dynamic value, then static values, then built-in defaults (a key without a default, such as
 * log.retention.ms, has none), starting at the first entry for the topic key's primary broker key.
 * So retention.ms lists nothing until log.retention.ms is set somewhere, and then also
 * log.retention.hours=168.
 */
function brokerSynonyms(b: BrokerContext, def: ConfigDef): ConfigSynonym[] {
  const names = (def.synonyms ?? []).map((s) => s.name)
  if (names.length === 0) return []
  const out: ConfigSynonym[] = []
  for (const name of names) {
    if (b.config.source(name).startsWith('dynamic')) out.push({ name, value: b.config.get(name), source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG })
  }
  for (const name of names) {
    const value = b.config.staticValue(name)
    if (value !== undefined) out.push({ name, value, source: ConfigSource.STATIC_BROKER_CONFIG })
  }
  for (const name of names) {
    const value = configDef('broker', name)?.default ?? null
    if (value !== null) out.push({ name, value, source: ConfigSource.DEFAULT_CONFIG })
  }
  const primary = out.findIndex((s) => s.name === names[0])
  return primary === -1 ? [] : out.slice(primary)
}
