// Turns anything thrown by the client (broker/client), Node or our own commands into one line a
// person can act on, plus an exit code; kafkajs's error shapes are understood too. Exit codes
// follow sysexits(3) so scripts can tell "try again later" from "you typed it wrong".

import { NETWORK_REASONS } from '../../broker/client/errors.js'

export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 64,
  Unavailable: 69,
  CantCreate: 73,
  TempFail: 75,
  Config: 78,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export class CliError extends Error {
  readonly exitCode: ExitCode
  constructor(message: string, exitCode: ExitCode = ExitCode.Failure, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.Usage)
}

// Kafka error names are precise but terse; these read better on a terminal.
const PROTOCOL_MESSAGES: Record<string, string> = {
  UNKNOWN_TOPIC_OR_PARTITION: 'unknown topic or partition',
  TOPIC_ALREADY_EXISTS: 'topic already exists',
  INVALID_PARTITIONS: 'invalid number of partitions',
  INVALID_REPLICATION_FACTOR: 'invalid replication factor',
  INVALID_CONFIG: 'invalid config',
  INVALID_TOPIC_EXCEPTION: 'invalid topic name',
  NON_EMPTY_GROUP: 'group is not empty (it still has active members)',
  GROUP_ID_NOT_FOUND: 'group does not exist',
  COORDINATOR_NOT_AVAILABLE: 'coordinator (group or transaction) not available',
  NOT_COORDINATOR: 'broker is not the coordinator for this group or transactional id',
  UNSUPPORTED_VERSION: 'the broker does not support this request version',
  POLICY_VIOLATION: 'rejected by the broker policy',
  TOPIC_AUTHORIZATION_FAILED: 'not authorized for topic',
  GROUP_AUTHORIZATION_FAILED: 'not authorized for group',
  CLUSTER_AUTHORIZATION_FAILED: 'not authorized for cluster operation',
  MESSAGE_TOO_LARGE: 'message too large for the broker',
  RECORD_LIST_TOO_LARGE: 'batch too large for the broker',
  REQUEST_TIMED_OUT: 'request timed out',
  LEADER_NOT_AVAILABLE: 'partition leader not available',
  NOT_LEADER_OR_FOLLOWER: 'broker is not the partition leader',
  UNSUPPORTED_COMPRESSION_TYPE: 'the broker does not support this compression type',
  INVALID_REQUEST: 'invalid request',
}

interface ErrorLike {
  name?: string
  message?: string
  code?: string | number
  type?: string
  broker?: string
  originalError?: unknown
  cause?: unknown
  errors?: unknown[]
  groups?: Array<{ groupId?: string; error?: unknown }>
}

function* causeChain(err: unknown): Generator<ErrorLike> {
  const seen = new Set<unknown>()
  const queue: unknown[] = [err]
  while (queue.length > 0) {
    const e = queue.shift()
    if (e === null || typeof e !== 'object' || seen.has(e)) continue
    seen.add(e)
    const el = e as ErrorLike
    yield el
    queue.push(el.originalError, el.cause)
    if (Array.isArray(el.errors)) queue.push(...el.errors)
    if (Array.isArray(el.groups)) for (const g of el.groups) queue.push(g.error)
  }
}

export interface ErrorReport {
  message: string
  exitCode: ExitCode
}

export function describeError(err: unknown, bootstrap?: string): ErrorReport {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode }
  const chain = [...causeChain(err)]
  for (const e of chain) {
    if (e instanceof CliError) return { message: e.message, exitCode: e.exitCode }
  }
  const broker = chain.find((e) => typeof e.broker === 'string')?.broker
  for (const e of chain) {
    const code = typeof e.code === 'string' ? e.code : undefined
    const fromMessage = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNRESET)\b/.exec(
      e.message ?? '',
    )?.[1]
    const netCode = code !== undefined && code in NETWORK_REASONS ? code : fromMessage
    const isConnection = e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSConnectionClosedError'
    if (netCode !== undefined || (isConnection && /timeout/i.test(e.message ?? ''))) {
      const where = broker ?? bootstrap ?? 'the broker'
      const why = netCode !== undefined ? NETWORK_REASONS[netCode] : 'connection timed out'
      return { message: `cannot reach broker at ${where}: ${why}`, exitCode: ExitCode.Unavailable }
    }
  }
  for (const e of chain) {
    if (typeof e.type === 'string' && e.type !== 'UNKNOWN') {
      const text = PROTOCOL_MESSAGES[e.type] ?? e.message ?? e.type
      return { message: `${text} (${e.type})`, exitCode: ExitCode.Failure }
    }
  }
  for (const e of chain) {
    if (e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSConnectionClosedError') {
      return { message: `lost connection to broker at ${e.broker ?? bootstrap ?? '?'}: ${e.message}`, exitCode: ExitCode.Unavailable }
    }
  }
  const first = chain[0]
  const message = first?.message ?? String(err)
  return { message: message.replace(/\s+/g, ' ').trim() || 'unknown error', exitCode: ExitCode.Failure }
}

export function protocolErrorType(err: unknown): string | undefined {
  for (const e of causeChain(err)) if (typeof e.type === 'string') return e.type
  return undefined
}
