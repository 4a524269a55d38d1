// Broker configuration under Kafka's own key names, so a server.properties written for Kafka
// mostly carries over. Values are kept as strings, as Kafka's DescribeConfigs reports them, and
// parsed on read. Topic-level defaults (log.*) are passed through to the storage layer.
import { FLUSH_MS_DEFAULT } from '../storage/log-config.js'

export type ConfigType = 'int' | 'long' | 'string' | 'boolean' | 'double' | 'list' | 'password'

export interface BrokerConfigDef {
  name: string
  type: ConfigType
  default: string
  /** May be changed at run time through AlterConfigs / IncrementalAlterConfigs. */
  dynamic?: boolean
  sensitive?: boolean
}

const MAX_LONG = '9223372036854775807'

export const BROKER_CONFIG_DEFS: readonly BrokerConfigDef[] = [
  { name: 'node.id', type: 'int', default: '1' },
  { name: 'broker.id', type: 'int', default: '1' },
  { name: 'listeners', type: 'list', default: 'PLAINTEXT://127.0.0.1:9092' },
  { name: 'advertised.listeners', type: 'list', default: '' },
  { name: 'log.dirs', type: 'list', default: './samsa-data' },
  { name: 'num.partitions', type: 'int', default: '1', dynamic: true },
  { name: 'default.replication.factor', type: 'int', default: '1' },
  { name: 'auto.create.topics.enable', type: 'boolean', default: 'true', dynamic: true },
  { name: 'delete.topic.enable', type: 'boolean', default: 'true' },
  { name: 'socket.request.max.bytes', type: 'int', default: '104857600' },
  { name: 'connections.max.idle.ms', type: 'long', default: '600000' },
  { name: 'max.connections', type: 'int', default: '10000', dynamic: true },
  { name: 'queued.max.requests', type: 'int', default: '500' },
  { name: 'message.max.bytes', type: 'int', default: '1048588', dynamic: true },
  { name: 'log.segment.bytes', type: 'int', default: '1073741824', dynamic: true },
  { name: 'log.roll.ms', type: 'long', default: '604800000', dynamic: true },
  { name: 'log.retention.ms', type: 'long', default: '604800000', dynamic: true },
  { name: 'log.retention.bytes', type: 'long', default: '-1', dynamic: true },
  { name: 'log.retention.check.interval.ms', type: 'long', default: '300000' },
  { name: 'log.index.interval.bytes', type: 'int', default: '4096', dynamic: true },
  { name: 'log.index.size.max.bytes', type: 'int', default: '10485760', dynamic: true },
  { name: 'log.flush.interval.messages', type: 'long', default: MAX_LONG, dynamic: true },
  // Samsa flushes once a second by default where Kafka never does: see FLUSH_MS_DEFAULT.
  { name: 'log.flush.interval.ms', type: 'long', default: FLUSH_MS_DEFAULT, dynamic: true },
  { name: 'log.message.timestamp.type', type: 'string', default: 'CreateTime', dynamic: true },
  { name: 'log.cleanup.policy', type: 'list', default: 'delete', dynamic: true },
  { name: 'min.insync.replicas', type: 'int', default: '1', dynamic: true },
  { name: 'compression.type', type: 'string', default: 'producer', dynamic: true },
  { name: 'group.initial.rebalance.delay.ms', type: 'int', default: '3000' },
  { name: 'group.min.session.timeout.ms', type: 'int', default: '6000' },
  { name: 'group.max.session.timeout.ms', type: 'int', default: '1800000' },
  { name: 'group.max.size', type: 'int', default: '2147483647' },
  { name: 'offsets.retention.minutes', type: 'int', default: '10080' },
  { name: 'offsets.retention.check.interval.ms', type: 'long', default: '600000' },
  { name: 'transactional.id.expiration.ms', type: 'int', default: '604800000' },
  { name: 'transaction.max.timeout.ms', type: 'int', default: '900000' },
  { name: 'producer.id.expiration.ms', type: 'int', default: '86400000' },
  { name: 'producer.id.expiration.check.interval.ms', type: 'int', default: '600000' },
  { name: 'transaction.abort.timed.out.transaction.cleanup.interval.ms', type: 'int', default: '10000' },
  { name: 'transaction.remove.expired.transaction.cleanup.interval.ms', type: 'int', default: '3600000' },
  { name: 'fetch.max.bytes', type: 'int', default: '57671680' },
  { name: 'max.incremental.fetch.session.cache.slots', type: 'int', default: '1000' },
  // Kafka's per-broker reconfigurable keys (KIP-226) for features Samsa does not act on yet. They
  // are stored and described like Kafka does, so admin tools that set them keep working.
  { name: 'background.threads', type: 'int', default: '10', dynamic: true },
  { name: 'num.io.threads', type: 'int', default: '8', dynamic: true },
  { name: 'num.network.threads', type: 'int', default: '3', dynamic: true },
  { name: 'num.replica.fetchers', type: 'int', default: '1', dynamic: true },
  { name: 'log.cleaner.threads', type: 'int', default: '1', dynamic: true },
  { name: 'unclean.leader.election.enable', type: 'boolean', default: 'false', dynamic: true },
  { name: 'sasl.enabled.mechanisms', type: 'list', default: 'GSSAPI', dynamic: true },
  { name: 'sasl.jaas.config', type: 'password', default: '', dynamic: true, sensitive: true },
  { name: 'sasl.kerberos.min.time.before.relogin', type: 'long', default: '60000', dynamic: true },
  { name: 'sasl.kerberos.ticket.renew.jitter', type: 'double', default: '0.05', dynamic: true },
  { name: 'sasl.kerberos.ticket.renew.window.factor', type: 'double', default: '0.8', dynamic: true },
  { name: 'sasl.login.refresh.buffer.seconds', type: 'int', default: '300', dynamic: true },
  { name: 'sasl.login.refresh.min.period.seconds', type: 'int', default: '60', dynamic: true },
  { name: 'sasl.login.refresh.window.factor', type: 'double', default: '0.8', dynamic: true },
  { name: 'sasl.login.refresh.window.jitter', type: 'double', default: '0.05', dynamic: true },
]

const defsByName = new Map(BROKER_CONFIG_DEFS.map((d) => [d.name, d]))

export function brokerConfigDef(name: string): BrokerConfigDef | undefined {
  return defsByName.get(name)
}

export type ConfigSource = 'default' | 'static' | 'dynamic'

export class BrokerConfig {
  private readonly staticValues: Map<string, string>
  private readonly dynamicValues = new Map<string, string>()

  constructor(values: Record<string, string> = {}) {
    this.staticValues = new Map(Object.entries(values))
  }

  has(name: string): boolean {
    return this.dynamicValues.has(name) || this.staticValues.has(name)
  }

  get(name: string): string {
    return this.dynamicValues.get(name) ?? this.staticValues.get(name) ?? defsByName.get(name)?.default ?? ''
  }

  /** The value from the static configuration (file, flags, environment), ignoring dynamic overrides. */
  staticValue(name: string): string | undefined {
    return this.staticValues.get(name)
  }

  source(name: string): ConfigSource {
    if (this.dynamicValues.has(name)) return 'dynamic'
    if (this.staticValues.has(name)) return 'static'
    return 'default'
  }

  getInt(name: string): number {
    const n = Number.parseInt(this.get(name), 10)
    return Number.isFinite(n) ? n : 0
  }

  /** Longs beyond 2^53 (Kafka's Long.MAX_VALUE sentinels) become Infinity. */
  getLong(name: string): number {
    const v = this.get(name)
    if (v === MAX_LONG) return Number.POSITIVE_INFINITY
    const n = Number(v)
    return Number.isFinite(n) ? n : 0
  }

  getBool(name: string): boolean {
    return this.get(name).toLowerCase() === 'true'
  }

  setDynamic(name: string, value: string | null): void {
    if (value === null) this.dynamicValues.delete(name)
    else this.dynamicValues.set(name, value)
  }

  dynamicEntries(): Record<string, string> {
    return Object.fromEntries(this.dynamicValues)
  }

  /** Every value that differs from the built-in defaults, static then dynamic. */
  overrides(): Record<string, string> {
    return { ...Object.fromEntries(this.staticValues), ...Object.fromEntries(this.dynamicValues) }
  }

  /** Names of every known key plus any unknown key the operator set. */
  names(): string[] {
    const names = new Set(BROKER_CONFIG_DEFS.map((d) => d.name))
    for (const k of this.staticValues.keys()) names.add(k)
    for (const k of this.dynamicValues.keys()) names.add(k)
    return [...names].sort()
  }
}

/** Parses a Java-properties style file: `key=value` or `key: value`, `#`/`!` comments. */
export function loadServerProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim()
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.trim()
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line)
    if (m) out[m[1]!] = m[2]!
    else out[line] = ''
  }
  return out
}
