// Broker configuration under Kafka's own key names, so a server.properties written for Kafka
// mostly carries over. Values are kept as strings, as Kafka's DescribeConfigs reports them, and
// parsed on read. Topic-level defaults (log.*) are passed through to the storage layer. The keys,
// types and defaults are declared in storage/config-defs.ts.
import { BROKER_CONFIG_DEFS, LONG_MAX, configDef, type ConfigDef, type ConfigType } from '../storage/config-defs.js'

export { BROKER_CONFIG_DEFS, type ConfigType }
export type BrokerConfigDef = ConfigDef

export function brokerConfigDef(name: string): ConfigDef | undefined {
  return configDef('broker', name)
}

/** Where a value comes from: 'dynamic' is this broker's own dynamic config, 'dynamic-default' the cluster's (cluster mode). */
export type ConfigSource = 'default' | 'static' | 'dynamic' | 'dynamic-default'

/** The two dynamic layers, as Kafka has them: this broker's own (`broker` resource with its id), and every broker's (`<default>`). */
export type DynamicLayer = 'broker' | 'default'

export class BrokerConfig {
  private readonly staticValues: Map<string, string>
  private readonly dynamicValues = new Map<string, string>()
  private readonly dynamicDefaults = new Map<string, string>()

  constructor(values: Record<string, string> = {}) {
    this.staticValues = new Map(Object.entries(values))
  }

  has(name: string): boolean {
    return this.dynamicValues.has(name) || this.dynamicDefaults.has(name) || this.staticValues.has(name)
  }

  get(name: string): string {
    return this.dynamicValues.get(name) ?? this.dynamicDefaults.get(name) ?? this.staticValues.get(name) ?? brokerConfigDef(name)?.default ?? ''
  }

  /** The value from the static configuration (file, flags, environment), ignoring dynamic overrides. */
  staticValue(name: string): string | undefined {
    return this.staticValues.get(name)
  }

  source(name: string): ConfigSource {
    if (this.dynamicValues.has(name)) return 'dynamic'
    if (this.dynamicDefaults.has(name)) return 'dynamic-default'
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
    if (v === LONG_MAX) return Number.POSITIVE_INFINITY
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

  dynamicEntries(layer: DynamicLayer = 'broker'): Record<string, string> {
    return Object.fromEntries(layer === 'broker' ? this.dynamicValues : this.dynamicDefaults)
  }

  /** Replaces a whole dynamic layer (as stored). */
  replaceDynamic(entries: Record<string, string>, layer: DynamicLayer = 'broker'): void {
    const values = layer === 'broker' ? this.dynamicValues : this.dynamicDefaults
    values.clear()
    for (const [k, v] of Object.entries(entries)) values.set(k, v)
  }

  /** Every value that differs from the built-in defaults, static then dynamic. */
  overrides(): Record<string, string> {
    return { ...Object.fromEntries(this.staticValues), ...Object.fromEntries(this.dynamicDefaults), ...Object.fromEntries(this.dynamicValues) }
  }

  /** Names of every known key plus any unknown key the operator set. */
  names(): string[] {
    const names = new Set(BROKER_CONFIG_DEFS.map((d) => d.name))
    for (const k of this.staticValues.keys()) names.add(k)
    for (const k of this.dynamicValues.keys()) names.add(k)
    for (const k of this.dynamicDefaults.keys()) names.add(k)
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
