// `samsa reassign`: moves a partition's replicas to other brokers (KIP-455), lists the moves in
// flight, or cancels one, through the controller (AlterPartitionReassignments and
// ListPartitionReassignments). Starting a move returns at once; the controller completes it when
// every new replica has caught up, so `--list` shows it until then.

import type { Command } from 'commander'
import type { OngoingReassignment } from '../../broker/client/admin-client.js'
import { globalOptions, withAdmin } from '../lib/client.js'
import { CliError, usageError } from '../lib/errors.js'
import { writeOut } from '../lib/output.js'
import { formatTable, jsonLine } from '../lib/table.js'

interface ReassignOptions {
  topic?: string
  partition?: number
  replicas?: number[]
  list: boolean
  cancel: boolean
}

function parseIndex(what: string) {
  return (text: string): number => {
    if (!/^\d+$/.test(text.trim())) throw usageError(`${what} must be a non-negative integer, got '${text}'`)
    return Number(text)
  }
}

function parseReplicas(text: string): number[] {
  const ids = text.split(',').map((p) => p.trim())
  if (ids.some((id) => !/^\d+$/.test(id))) throw usageError(`--replicas must be broker ids separated by commas, got '${text}'`)
  return ids.map(Number)
}

export function registerReassign(program: Command): void {
  program
    .command('reassign')
    .description('move a partition to other brokers, list moves in flight, or cancel one (cluster mode)')
    .option('-t, --topic <name>', 'the topic (for --list: only this topic)')
    .option('-p, --partition <n>', 'the partition', parseIndex('--partition'))
    .option('-r, --replicas <id,...>', 'the new replicas, preferred leader first', parseReplicas)
    .option('--list', 'list the reassignments in flight', false)
    .option('--cancel', 'cancel the reassignment of --topic --partition', false)
    .addHelpText(
      'after',
      `
Examples:
  $ samsa reassign --topic orders --partition 0 --replicas 2,3,1
  $ samsa reassign --list
  $ samsa reassign --topic orders --partition 0 --cancel`,
    )
    .action(async (opts: ReassignOptions, cmd: Command) => {
      const g = globalOptions(cmd)
      const modes = [opts.list, opts.cancel, opts.replicas !== undefined].filter(Boolean).length
      if (modes !== 1) throw usageError('give exactly one of --replicas, --list or --cancel')
      await withAdmin(g, async (client) => {
        if (opts.list) {
          // A topic without a partition: every partition of it, so ask for all and keep the topic's.
          const one = opts.topic !== undefined && opts.partition !== undefined ? [{ topic: opts.topic, partitions: [opts.partition] }] : null
          const rows = (await client.listPartitionReassignments(one)).filter((r) => opts.topic === undefined || r.topic === opts.topic)
          await printList(rows, g.json)
          return
        }
        if (opts.topic === undefined || opts.partition === undefined) throw usageError('--topic and --partition are required')
        const replicas = opts.cancel ? null : opts.replicas!
        const [result] = await client.alterPartitionReassignments([{ topic: opts.topic, partition: opts.partition, replicas }])
        if (result === undefined) throw new CliError(`the controller did not answer for ${opts.topic}-${opts.partition}`)
        if (result.error !== null) throw new CliError(`${opts.topic}-${opts.partition}: ${result.error}${result.errorMessage ? ` (${result.errorMessage})` : ''}`)
        const what = replicas === null ? 'cancelled' : 'started'
        if (g.json) await writeOut(jsonLine({ topic: opts.topic, partition: opts.partition, replicas, result: what }))
        else await writeOut(`${replicas === null ? 'reassignment cancelled' : `reassignment to [${replicas.join(',')}] started`} for ${opts.topic}-${opts.partition}\n`)
      })
    })
}

async function printList(rows: readonly OngoingReassignment[], json: boolean): Promise<void> {
  const sorted = [...rows].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
  if (json) {
    for (const r of sorted) await writeOut(jsonLine(r))
    return
  }
  if (sorted.length === 0) return
  await writeOut(
    formatTable(
      ['TOPIC', 'PARTITION', 'REPLICAS', 'ADDING', 'REMOVING'],
      sorted.map((r) => [r.topic, r.partition, r.replicas.join(','), r.addingReplicas.join(','), r.removingReplicas.join(',')]),
      ['left', 'right', 'left', 'left', 'left'],
    ),
  )
}
