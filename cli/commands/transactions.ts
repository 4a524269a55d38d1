// `samsa transactions`: what the transaction coordinators know, through ListTransactions and
// DescribeTransactions.

import type { Command } from 'commander'
import type { TransactionDescription } from '../../broker/client/admin-client.js'
import { globalOptions, withAdmin } from '../lib/client.js'
import { collectList } from '../lib/config-pairs.js'
import { CliError, usageError } from '../lib/errors.js'
import { writeOut } from '../lib/output.js'
import { formatTable, jsonLine } from '../lib/table.js'
import { parseDuration } from '../lib/time.js'

// Kafka's TransactionState names; the broker echoes any other filter back as unknown.
const STATES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'PrepareEpochFence', 'Dead']

export interface TransactionRow {
  transactionalId: string
  producerId: number
  producerEpoch: number | null
  state: string
  coordinatorId: number
  timeoutMs: number | null
  startTimeMs: number | null
  /** How long the open transaction has run, or null when none is open. */
  ageMs: number | null
  partitions: { topic: string; partitions: number[] }[]
}

export function transactionRow(d: TransactionDescription, now: number): TransactionRow {
  const started = d.startTimeMs >= 0 ? d.startTimeMs : null
  return {
    transactionalId: d.transactionalId,
    producerId: d.producerId,
    producerEpoch: d.producerEpoch,
    state: d.state,
    coordinatorId: d.coordinatorId,
    timeoutMs: d.timeoutMs,
    startTimeMs: started,
    ageMs: started === null ? null : Math.max(0, now - started),
    partitions: d.topics,
  }
}

/** `1h2m`, `3m4s`, `850ms`: the two largest units are enough to judge a stuck transaction. */
export function formatAge(ms: number | null): string {
  if (ms === null) return '-'
  if (ms < 1000) return `${ms}ms`
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ]
  const parts: string[] = []
  let rest = ms
  for (const [name, size] of units) {
    if (rest < size && parts.length === 0) continue
    parts.push(`${Math.floor(rest / size)}${name}`)
    rest %= size
    if (parts.length === 2) break
  }
  return parts.join('')
}

export function formatPartitions(topics: readonly { topic: string; partitions: readonly number[] }[]): string {
  if (topics.length === 0) return '-'
  return [...topics]
    .sort((a, b) => a.topic.localeCompare(b.topic))
    .map((t) => `${t.topic}:${t.partitions.join(',')}`)
    .join(' ')
}

function renderRows(rows: readonly TransactionRow[]): string {
  return formatTable(
    ['TRANSACTIONAL-ID', 'PRODUCER-ID', 'EPOCH', 'STATE', 'COORDINATOR', 'TIMEOUT-MS', 'STARTED', 'AGE', 'PARTITIONS'],
    rows.map((r) => [
      r.transactionalId,
      r.producerId,
      r.producerEpoch,
      r.state,
      r.coordinatorId,
      r.timeoutMs,
      r.startTimeMs === null ? null : new Date(r.startTimeMs).toISOString(),
      formatAge(r.ageMs),
      formatPartitions(r.partitions),
    ]),
    ['left', 'right', 'right', 'left', 'right', 'right', 'left', 'right', 'left'],
  )
}

function parseProducerId(text: string, previous: number[] = []): number[] {
  const ids = text.split(',').map((p) => p.trim()).filter((p) => p !== '')
  for (const id of ids) if (!/^\d+$/.test(id)) throw usageError(`--producer-id must be a non-negative integer, got '${id}'`)
  return [...previous, ...ids.map(Number)]
}

interface ListOptions {
  state: string[]
  producerId: number[]
  minDuration?: number
}

export function registerTransactions(program: Command): void {
  const transactions = program
    .command('transactions')
    .description('list and describe transactions on the transaction coordinators')
    .addHelpText('after', `
Examples:
  $ samsa transactions list
  $ samsa transactions list --state Ongoing --min-duration 5m
  $ samsa transactions describe payments-tx`)

  transactions
    .command('list')
    .description('transactional ids with producer id and epoch, state, timeout, start time and partitions')
    .option('-s, --state <state,...>', `only these states, repeatable (${STATES.join(', ')})`, collectList, [])
    .option('--producer-id <id,...>', 'only these producer ids, repeatable', parseProducerId, [])
    .option('--min-duration <duration>', 'only transactions open at least this long (30s, 5m)', parseDuration)
    .addHelpText(
      'after',
      `
Examples:
  $ samsa transactions list
  $ samsa transactions list --state Ongoing,PrepareCommit
  $ samsa transactions list --state Ongoing --min-duration 10m   # possibly hanging
  $ samsa transactions list --producer-id 1000 --json`,
    )
    .action(async (opts: ListOptions, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (client) => {
        const listed = await client.listTransactions({ states: opts.state, producerIds: opts.producerId, minDurationMs: opts.minDuration })
        if (listed.unknownStates.length > 0) {
          throw usageError(`unknown transaction state ${listed.unknownStates.map((s) => `'${s}'`).join(', ')} (known: ${STATES.join(', ')})`)
        }
        const described = listed.transactions.length === 0 ? [] : await client.describeTransactions(listed.transactions.map((t) => t.transactionalId))
        const byId = new Map(described.map((d) => [d.transactionalId, d]))
        const now = Date.now()
        const rows = listed.transactions.map((t): TransactionRow => {
          const d = byId.get(t.transactionalId)
          // The id may have expired between the two requests; keep what the list said.
          if (d === undefined || d.error !== null) {
            return { transactionalId: t.transactionalId, producerId: t.producerId, producerEpoch: null, state: t.state, coordinatorId: t.coordinatorId, timeoutMs: null, startTimeMs: null, ageMs: null, partitions: [] }
          }
          return transactionRow(d, now)
        })
        if (g.json) for (const r of rows) await writeOut(jsonLine(r))
        else if (rows.length > 0) await writeOut(renderRows(rows))
      })
    })

  transactions
    .command('describe')
    .argument('<transactional-id...>', 'transactional id(s)')
    .description("a transaction's state, producer, timeout, start time and partitions, from its coordinator")
    .addHelpText('after', '\nExamples:\n  $ samsa transactions describe payments-tx\n  $ samsa transactions describe tx-a tx-b --json | jq .partitions')
    .action(async (ids: string[], _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (client) => {
        const described = await client.describeTransactions(ids)
        const now = Date.now()
        const found = described.filter((d) => d.error === null).map((d) => transactionRow(d, now))
        if (g.json) for (const r of found) await writeOut(jsonLine(r))
        else if (found.length > 0) await writeOut(renderRows(found))
        const failed = described.filter((d) => d.error !== null)
        if (failed.length > 0) {
          throw new CliError(
            failed
              .map((d) => (d.error === 'TRANSACTIONAL_ID_NOT_FOUND' ? `unknown transactional id '${d.transactionalId}'` : `cannot describe '${d.transactionalId}': ${d.error}`))
              .join('; '),
          )
        }
      })
    })
}
