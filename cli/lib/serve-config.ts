// Resolves `samsa serve` settings. Precedence, highest first: command-line flags, their
// SAMSA_* environment variables, broker keys from SAMSA_<KEY> variables, the --config file,
// then built-in defaults. Kafka's own keys (listeners, log.dirs, node.id) in a
// server.properties file are honoured, so a Kafka config mostly carries over.

import { brokerConfigDef } from '../../broker/config.js'
import { parseClusterUrl } from '../../broker/cluster/keys.js'
import { usageError } from './errors.js'

export interface ServeFlags {
  dataDir?: string
  host?: string
  port?: string
  advertisedHost?: string
  advertisedPort?: string
  nodeId?: string
  /** etcd://host:2379[,host:2379]/prefix: join that cluster. */
  cluster?: string
  logLevel?: string
  httpPort?: string
  httpHost?: string
  httpTls?: boolean
  httpAllowActions?: boolean
  httpClientTelemetryInterval?: string
  set: [string, string][]
}

export interface ServeSettings {
  dataDir: string
  host: string
  port: number
  advertisedHost?: string
  advertisedPort?: number
  nodeId?: number
  logLevel: string
  config: Record<string, string>
  /** The HTTP endpoint; undefined (off) unless --http-port is given. */
  http?: { port: number; host: string; tls: boolean; allowActions: boolean; clientTelemetryIntervalMs?: number }
}

/** Environment variables that belong to serve's own flags or the CLI, not to broker keys. */
export const RESERVED_ENV = new Set([
  'SAMSA_BOOTSTRAP',
  'SAMSA_DATA_DIR',
  'SAMSA_HOST',
  'SAMSA_PORT',
  'SAMSA_ADVERTISED_HOST',
  'SAMSA_ADVERTISED_PORT',
  'SAMSA_NODE_ID',
  'SAMSA_CLUSTER',
  'SAMSA_CONFIG',
  'SAMSA_LOG_LEVEL',
  'SAMSA_COMMAND_CONFIG',
  'SAMSA_HTTP_PORT',
  'SAMSA_HTTP_HOST',
  'SAMSA_HTTP_TLS',
  'SAMSA_HTTP_ALLOW_ACTIONS',
  'SAMSA_HTTP_CLIENT_TELEMETRY_INTERVAL',
])

/** SAMSA_NUM_PARTITIONS=3 -> { 'num.partitions': '3' } */
export function brokerConfigFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('SAMSA_') || RESERVED_ENV.has(name) || value === undefined) continue
    const key = name.slice('SAMSA_'.length).toLowerCase().replace(/_/g, '.')
    if (key !== '') out[key] = value
  }
  return out
}

function port(text: string, what: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw usageError(`${what} must be a port number 0-65535, got '${text}'`)
  return n
}

function positive(text: string, what: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1) throw usageError(`${what} must be a positive number of milliseconds, got '${text}'`)
  return n
}

function int(text: string, what: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0) throw usageError(`${what} must be a non-negative integer, got '${text}'`)
  return n
}

/** `PLAINTEXT://host:9092` (first listener) -> host and port. */
function parseListener(text: string | undefined): { host?: string; port?: string } {
  const first = text?.split(',')[0]?.trim()
  if (first === undefined || first === '') return {}
  const m = /^[A-Za-z_]+:\/\/\[?([^\]]*?)\]?:(\d+)$/.exec(first)
  if (m === null) return {}
  return { host: m[1] === '' ? undefined : m[1], port: m[2] }
}

export function resolveServeSettings(flags: ServeFlags, fileConfig: Record<string, string>, env: NodeJS.ProcessEnv): ServeSettings {
  const config: Record<string, string> = { ...fileConfig, ...brokerConfigFromEnv(env), ...Object.fromEntries(flags.set) }
  if (flags.cluster !== undefined) {
    let address: { endpoints: string[]; prefix: string }
    try {
      address = parseClusterUrl(flags.cluster)
    } catch (err) {
      throw usageError(`--cluster: ${(err as Error).message}`)
    }
    config['cluster.etcd.endpoints'] = address.endpoints.join(',')
    config['cluster.etcd.prefix'] = address.prefix
  }
  const listener = parseListener(config['listeners'])
  const advertised = parseListener(config['advertised.listeners'])
  const host = flags.host ?? listener.host ?? '127.0.0.1'
  const portText = flags.port ?? listener.port ?? '9092'
  const advertisedHost = flags.advertisedHost ?? advertised.host
  const advertisedPortText = flags.advertisedPort ?? advertised.port
  const nodeIdText = flags.nodeId ?? config['node.id'] ?? config['broker.id']
  return {
    dataDir: flags.dataDir ?? config['log.dirs']?.split(',')[0]?.trim() ?? config['log.dir'] ?? brokerConfigDef('log.dirs')!.default,
    host,
    port: port(portText, '--port'),
    advertisedHost,
    advertisedPort: advertisedPortText === undefined ? undefined : port(advertisedPortText, '--advertised-port'),
    nodeId: nodeIdText === undefined ? undefined : int(nodeIdText, '--node-id'),
    logLevel: flags.logLevel ?? 'info',
    config,
    http:
      flags.httpPort === undefined
        ? undefined
        : {
            port: port(flags.httpPort, '--http-port'),
            host: flags.httpHost ?? host,
            tls: flags.httpTls === true,
            allowActions: flags.httpAllowActions === true,
            clientTelemetryIntervalMs: flags.httpClientTelemetryInterval === undefined ? undefined : positive(flags.httpClientTelemetryInterval, '--http-client-telemetry-interval'),
          },
  }
}

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
