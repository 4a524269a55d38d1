// One place that decides how the CLI talks to a cluster: quiet kafkajs logging, short
// retries so an unreachable broker fails in about a second, and the compression codecs.

import type { Command } from 'commander'
import kafkajs from 'kafkajs'
import type { Admin, Kafka, logCreator } from 'kafkajs'
import { registerCodecs } from './codecs.js'
import { CliError, ExitCode } from './errors.js'

export interface GlobalOptions {
  bootstrapServer: string
  clientId: string
  timeout: number
  json: boolean
  verbose: boolean
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

// kafkajs's default logger prints to stdout, which must carry data only.
const stderrLogCreator: logCreator =
  () =>
  ({ namespace, label, log }) => {
    const { message, timestamp: _timestamp, logger: _logger, ...extra } = log
    const rest = Object.keys(extra).length > 0 ? ` ${JSON.stringify(extra)}` : ''
    process.stderr.write(`[kafkajs ${label}] ${namespace}: ${message}${rest}\n`)
  }

export function createKafka(opts: GlobalOptions): Kafka {
  registerCodecs()
  return new kafkajs.Kafka({
    clientId: opts.clientId,
    brokers: brokerList(opts.bootstrapServer),
    connectionTimeout: Math.min(opts.timeout, 10_000),
    requestTimeout: opts.timeout,
    enforceRequestTimeout: true,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: opts.verbose ? kafkajs.logLevel.INFO : kafkajs.logLevel.NOTHING,
    logCreator: stderrLogCreator,
  })
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

export async function withAdmin<T>(opts: GlobalOptions, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = createKafka(opts).admin()
  await withDeadline(admin.connect(), opts.timeout, `connecting to ${opts.bootstrapServer}`)
  try {
    return await fn(admin)
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

export async function requireTopics(admin: Admin, topics: readonly string[]): Promise<void> {
  const existing = new Set(await admin.listTopics())
  const missing = topics.filter((t) => !existing.has(t))
  if (missing.length === 1) throw new CliError(`unknown topic '${missing[0]}'`)
  if (missing.length > 1) throw new CliError(`unknown topics ${missing.map((t) => `'${t}'`).join(', ')}`)
}
