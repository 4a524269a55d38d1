// kafkajs for the commands that still consume through it (consume, groups): quiet logging,
// short retries so an unreachable broker fails in about a second, and the compression codecs.
// Every other command talks to brokers through broker/client.

import kafkajs from 'kafkajs'
import type { Admin, Kafka, logCreator } from 'kafkajs'
import { brokerList, withDeadline, type GlobalOptions } from './client.js'
import { registerCodecs } from './codecs.js'
import { CliError } from './errors.js'

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
