// Topic-level log configuration: resolution of one topic's effective config from its overrides,
// the broker's defaults and the built-in defaults (the keys themselves are in config-defs.ts).
import { FLUSH_MS_DEFAULT, LONG_MAX, TOPIC_CONFIG_DEFS, configDef, splitList, type ConfigDef } from './config-defs.js'
import { InvalidConfigError } from './errors.js'

export { FLUSH_MS_DEFAULT, LONG_MAX, TOPIC_CONFIG_DEFS }

export interface LogConfig {
  readonly segmentBytes: number
  readonly segmentMs: number
  readonly segmentJitterMs: number
  readonly segmentIndexBytes: number
  readonly indexIntervalBytes: number
  readonly retentionMs: number
  readonly retentionBytes: number
  readonly flushMessages: number
  readonly flushMs: number
  readonly maxMessageBytes: number
  readonly messageTimestampType: 'CreateTime' | 'LogAppendTime'
  readonly messageTimestampBeforeMaxMs: number
  readonly messageTimestampAfterMaxMs: number
  readonly cleanupPolicy: readonly string[]
  readonly compressionType: string
  readonly minInsyncReplicas: number
  readonly fileDeleteDelayMs: number
  readonly preallocate: boolean
  /** Every topic config key with its effective value. */
  readonly values: Readonly<Record<string, string>>
  /** Where each effective value came from. */
  readonly sources: Readonly<Record<string, 'topic' | 'broker' | 'default'>>
}

/** Throws InvalidConfigError on an unknown key or an invalid value. */
export function validateTopicConfigs(configs: Record<string, string>): void {
  for (const [key, value] of Object.entries(configs)) {
    const def = configDef('topic', key)
    if (def === undefined) throw new InvalidConfigError(`Unknown topic config name: ${key}`)
    if (value === null || value === undefined) throw new InvalidConfigError(`Null value not supported for topic config: ${key}`)
    const problem = def.validate?.(String(value))
    if (problem !== undefined) throw new InvalidConfigError(`Invalid value ${value} for configuration ${key}: ${problem}`)
  }
}

/** The value the first set broker synonym gives `def`, in the topic key's unit. */
function brokerValue(def: ConfigDef, broker: Record<string, string>): string | undefined {
  for (const s of def.synonyms ?? []) {
    const v = broker[s.name]
    if (v !== undefined) return s.factor === undefined ? String(v) : String(Number(v) * s.factor)
  }
  return undefined
}

export function resolveLogConfig(brokerDefaults: Record<string, string>, topicOverrides: Record<string, string>): LogConfig {
  validateTopicConfigs(topicOverrides)
  const values: Record<string, string> = {}
  const sources: Record<string, 'topic' | 'broker' | 'default'> = {}
  for (const def of TOPIC_CONFIG_DEFS) {
    const topic = topicOverrides[def.name]
    if (topic !== undefined) {
      values[def.name] = String(topic)
      sources[def.name] = 'topic'
      continue
    }
    const broker = brokerValue(def, brokerDefaults)
    if (broker !== undefined) {
      const problem = def.validate?.(broker)
      if (problem !== undefined) throw new InvalidConfigError(`Invalid broker default for ${def.name}: ${problem}`)
      values[def.name] = broker
      sources[def.name] = 'broker'
      continue
    }
    values[def.name] = def.default
    sources[def.name] = 'default'
  }
  const num = (k: string): number => Number(values[k])
  return {
    segmentBytes: num('segment.bytes'),
    segmentMs: num('segment.ms'),
    segmentJitterMs: num('segment.jitter.ms'),
    segmentIndexBytes: num('segment.index.bytes'),
    indexIntervalBytes: num('index.interval.bytes'),
    retentionMs: num('retention.ms'),
    retentionBytes: num('retention.bytes'),
    flushMessages: num('flush.messages'),
    flushMs: num('flush.ms'),
    maxMessageBytes: num('max.message.bytes'),
    messageTimestampType: values['message.timestamp.type'] as 'CreateTime' | 'LogAppendTime',
    messageTimestampBeforeMaxMs: num('message.timestamp.before.max.ms'),
    messageTimestampAfterMaxMs: num('message.timestamp.after.max.ms'),
    cleanupPolicy: splitList(values['cleanup.policy']!),
    compressionType: values['compression.type']!,
    minInsyncReplicas: num('min.insync.replicas'),
    fileDeleteDelayMs: num('file.delete.delay.ms'),
    preallocate: values['preallocate'] === 'true',
    values,
    sources,
  }
}

export const DEFAULT_LOG_CONFIG: LogConfig = resolveLogConfig({}, {})
