// Topic-level log configuration: Kafka's topic config keys, their defaults, the broker keys that
// supply cluster-wide defaults, and resolution of one topic's effective config.
import { InvalidConfigError } from './errors.js'

export type ConfigType = 'long' | 'int' | 'string' | 'boolean' | 'double' | 'list'

export interface TopicConfigDef {
  name: string
  type: ConfigType
  default: string
  /** Broker key that overrides the default for every topic (Kafka's `log.*` names). */
  brokerKey?: string
  validate?(v: string): string | undefined
}

export const LONG_MAX = '9223372036854775807'
const INT_MAX = 2147483647

function integer(min: number, max = Number.MAX_VALUE) {
  return (v: string): string | undefined => {
    if (!/^-?\d+$/.test(v.trim())) return `must be an integer, got "${v}"`
    const n = Number(v)
    if (n < min) return `must be at least ${min}`
    if (n > max) return `must be at most ${max}`
    return undefined
  }
}

function oneOf(...allowed: string[]) {
  return (v: string): string | undefined =>
    allowed.includes(v) ? undefined : `must be one of ${allowed.join(', ')}, got "${v}"`
}

function listOf(...allowed: string[]) {
  return (v: string): string | undefined => {
    const items = splitList(v)
    for (const item of items) if (!allowed.includes(item)) return `"${item}" is not one of ${allowed.join(', ')}`
    return undefined
  }
}

function bool(v: string): string | undefined {
  return v === 'true' || v === 'false' ? undefined : `must be true or false, got "${v}"`
}

function double(min: number, max: number) {
  return (v: string): string | undefined => {
    const n = Number(v)
    if (v.trim() === '' || Number.isNaN(n)) return `must be a number, got "${v}"`
    return n < min || n > max ? `must be between ${min} and ${max}` : undefined
  }
}

function splitList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** Samsa's default for flush.ms / log.flush.interval.ms (Kafka's: never). */
export const FLUSH_MS_DEFAULT = '1000'

export const TOPIC_CONFIG_DEFS: ReadonlyArray<TopicConfigDef> = [
  { name: 'cleanup.policy', type: 'list', default: 'delete', brokerKey: 'log.cleanup.policy', validate: listOf('delete', 'compact') },
  {
    name: 'compression.type',
    type: 'string',
    default: 'producer',
    brokerKey: 'compression.type',
    validate: oneOf('uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'),
  },
  { name: 'delete.retention.ms', type: 'long', default: '86400000', brokerKey: 'log.cleaner.delete.retention.ms', validate: integer(0) },
  { name: 'file.delete.delay.ms', type: 'long', default: '60000', brokerKey: 'log.segment.delete.delay.ms', validate: integer(0) },
  { name: 'flush.messages', type: 'long', default: LONG_MAX, brokerKey: 'log.flush.interval.messages', validate: integer(1) },
  // Kafka never flushes by default and leaves writeback to the kernel, which writes dirty pages back
  // in bursts once they are 30 s old; a write() that meets such a burst stalls for 100 ms or more,
  // and on Samsa's one event loop that stalls every client. Flushing each partition in the
  // background once a second keeps writeback continuous (bench/README.md has the measurements).
  { name: 'flush.ms', type: 'long', default: FLUSH_MS_DEFAULT, brokerKey: 'log.flush.interval.ms', validate: integer(0) },
  { name: 'follower.replication.throttled.replicas', type: 'list', default: '' },
  { name: 'index.interval.bytes', type: 'int', default: '4096', brokerKey: 'log.index.interval.bytes', validate: integer(0, INT_MAX) },
  { name: 'leader.replication.throttled.replicas', type: 'list', default: '' },
  { name: 'local.retention.bytes', type: 'long', default: '-2', brokerKey: 'log.local.retention.bytes', validate: integer(-2) },
  { name: 'local.retention.ms', type: 'long', default: '-2', brokerKey: 'log.local.retention.ms', validate: integer(-2) },
  { name: 'max.compaction.lag.ms', type: 'long', default: LONG_MAX, brokerKey: 'log.cleaner.max.compaction.lag.ms', validate: integer(1) },
  { name: 'max.message.bytes', type: 'int', default: '1048588', brokerKey: 'message.max.bytes', validate: integer(0, INT_MAX) },
  {
    name: 'message.timestamp.after.max.ms',
    type: 'long',
    default: LONG_MAX,
    brokerKey: 'log.message.timestamp.after.max.ms',
    validate: integer(0),
  },
  {
    name: 'message.timestamp.before.max.ms',
    type: 'long',
    default: LONG_MAX,
    brokerKey: 'log.message.timestamp.before.max.ms',
    validate: integer(0),
  },
  {
    name: 'message.timestamp.type',
    type: 'string',
    default: 'CreateTime',
    brokerKey: 'log.message.timestamp.type',
    validate: oneOf('CreateTime', 'LogAppendTime'),
  },
  { name: 'min.cleanable.dirty.ratio', type: 'double', default: '0.5', brokerKey: 'log.cleaner.min.cleanable.ratio', validate: double(0, 1) },
  { name: 'min.compaction.lag.ms', type: 'long', default: '0', brokerKey: 'log.cleaner.min.compaction.lag.ms', validate: integer(0) },
  { name: 'min.insync.replicas', type: 'int', default: '1', brokerKey: 'min.insync.replicas', validate: integer(1, INT_MAX) },
  { name: 'preallocate', type: 'boolean', default: 'false', brokerKey: 'log.preallocate', validate: bool },
  { name: 'remote.storage.enable', type: 'boolean', default: 'false', validate: bool },
  { name: 'retention.bytes', type: 'long', default: '-1', brokerKey: 'log.retention.bytes', validate: integer(-1) },
  { name: 'retention.ms', type: 'long', default: '604800000', brokerKey: 'log.retention.ms', validate: integer(-1) },
  // Kafka's lower bound for segment.bytes is tiny (14) so tests can roll often; keep it.
  { name: 'segment.bytes', type: 'int', default: '1073741824', brokerKey: 'log.segment.bytes', validate: integer(14, INT_MAX) },
  { name: 'segment.index.bytes', type: 'int', default: '10485760', brokerKey: 'log.index.size.max.bytes', validate: integer(4, INT_MAX) },
  { name: 'segment.jitter.ms', type: 'long', default: '0', brokerKey: 'log.roll.jitter.ms', validate: integer(0) },
  { name: 'segment.ms', type: 'long', default: '604800000', brokerKey: 'log.roll.ms', validate: integer(1) },
  { name: 'unclean.leader.election.enable', type: 'boolean', default: 'false', brokerKey: 'unclean.leader.election.enable', validate: bool },
]

const DEFS_BY_NAME = new Map(TOPIC_CONFIG_DEFS.map((d) => [d.name, d]))

/** Broker keys measured in hours or minutes that Kafka accepts in place of the `.ms` key. */
const BROKER_ALIASES: ReadonlyArray<{ topicKey: string; key: string; factor: number }> = [
  { topicKey: 'retention.ms', key: 'log.retention.minutes', factor: 60_000 },
  { topicKey: 'retention.ms', key: 'log.retention.hours', factor: 3_600_000 },
  { topicKey: 'segment.ms', key: 'log.roll.hours', factor: 3_600_000 },
  { topicKey: 'segment.jitter.ms', key: 'log.roll.jitter.hours', factor: 3_600_000 },
]

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
    const def = DEFS_BY_NAME.get(key)
    if (def === undefined) throw new InvalidConfigError(`Unknown topic config name: ${key}`)
    if (value === null || value === undefined) throw new InvalidConfigError(`Null value not supported for topic config: ${key}`)
    const problem = def.validate?.(String(value))
    if (problem !== undefined) throw new InvalidConfigError(`Invalid value ${value} for configuration ${key}: ${problem}`)
  }
}

function brokerValue(def: TopicConfigDef, broker: Record<string, string>): string | undefined {
  if (def.brokerKey !== undefined && broker[def.brokerKey] !== undefined) return String(broker[def.brokerKey])
  // Kafka gives the finer unit precedence: ms over minutes over hours.
  for (const alias of BROKER_ALIASES) {
    if (alias.topicKey === def.name && broker[alias.key] !== undefined) {
      return String(Number(broker[alias.key]) * alias.factor)
    }
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
