// One place that decides how the CLI talks to a cluster: the global options, the bootstrap list,
// and the admin client and producer of broker/client built from them.

import type { Command } from 'commander'
import { AdminClient, type AdminClientOptions } from '../../broker/client/admin-client.js'
import { CliError, ExitCode } from './errors.js'
import type { ClientSecurity } from '../../broker/client/connection.js'
import { loadCommandConfig } from './command-config.js'

export interface GlobalOptions {
  bootstrapServer: string
  clientId: string
  timeout: number
  json: boolean
  verbose: boolean
  /** Kafka client properties file with the TLS and SASL settings. */
  commandConfig?: string
}

/** Root options, wherever on the command line they were given. */
export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions
}

export function brokerList(bootstrap: string): string[] {
  const brokers = bootstrap
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '')
  if (brokers.length === 0) throw new CliError('no bootstrap server given', ExitCode.Usage)
  return brokers.map((b) => (/:\d+$/.test(b) ? b : `${b}:9092`))
}

/** Bootstrap list, client id and timeouts for a client of broker/client. */
export function clientOptions(opts: GlobalOptions): AdminClientOptions {
  return {
    bootstrap: brokerList(opts.bootstrapServer),
    clientId: opts.clientId,
    timeoutMs: opts.timeout,
    connectTimeoutMs: Math.min(opts.timeout, 10_000),
    security: clientSecurityOf(opts),
  }
}

/** TLS and SASL settings from --command-config, or undefined for plain TCP. */
export function clientSecurityOf(opts: GlobalOptions): ClientSecurity | undefined {
  return opts.commandConfig === undefined ? undefined : loadCommandConfig(opts.commandConfig)
}

/** Rejects with a clear message if `promise` has not settled within `ms`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CliError(`${what} timed out after ${ms} ms`, ExitCode.TempFail)), ms)
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** Connects an admin client, runs `fn`, and always closes it. */
export async function withAdmin<T>(opts: GlobalOptions, fn: (admin: AdminClient) => Promise<T>): Promise<T> {
  const admin = new AdminClient(clientOptions(opts))
  try {
    await withDeadline(admin.connect(), opts.timeout, `connecting to ${opts.bootstrapServer}`)
    return await fn(admin)
  } finally {
    await admin.close().catch(() => {})
  }
}

export async function requireTopics(admin: AdminClient, topics: readonly string[]): Promise<void> {
  const existing = new Set(await admin.listTopics())
  const missing = topics.filter((t) => !existing.has(t))
  if (missing.length === 1) throw new CliError(`unknown topic '${missing[0]}'`)
  if (missing.length > 1) throw new CliError(`unknown topics ${missing.map((t) => `'${t}'`).join(', ')}`)
}
