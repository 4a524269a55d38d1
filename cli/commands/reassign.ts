// `samsa reassign`: moves a partition's replicas to other brokers (KIP-455), lists the moves in
// flight, or cancels one, through the controller (AlterPartitionReassignments and
// ListPartitionReassignments). Starting a move returns at once; the controller completes it when
// every new replica has caught up, so `--list` shows it until then. `--throttle` limits the bytes
// per second the move may take, and `--verify` removes that throttle once the move is done
// (cli/lib/reassign-throttle.ts).

import type { Command } from 'commander'
import type { OngoingReassignment } from '../../broker/client/admin-client.js'
import { globalOptions, withAdmin } from '../lib/client.js'
import { CliError, usageError } from '../lib/errors.js'
import { writeOut } from '../lib/output.js'
import { formatTable, jsonLine } from '../lib/table.js'
import { throttleMove, verifyMove } from '../lib/reassign-throttle.js'

interface ReassignOptions {
  topic?: string
  partition?: number
  replicas?: number[]
  list: boolean
  cancel: boolean
  verify: boolean
  throttle?: number
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
    .option('--throttle <bytes/s>', 'with --replicas: throttle the move to this many bytes per second on each broker involved', parseIndex('--throttle'))
    .option('--verify', 'whether the moves of --topic (--partition) are done; once done, remove their throttle', false)
    .addHelpText(
      'after',
      `
Examples:
  $ samsa reassign --topic orders --partition 0 --replicas 2,3,1
  $ samsa reassign --list
  $ samsa reassign --topic orders --partition 0 --cancel
  $ samsa reassign --topic orders --partition 0 --replicas 2,3 --throttle 10000000
  $ samsa reassign --topic orders --verify`,
    )
    .action(async (opts: ReassignOptions, cmd: Command) => {
      const g = globalOptions(cmd)
      const modes = [opts.list, opts.cancel, opts.verify, opts.replicas !== undefined].filter(Boolean).length
      if (modes !== 1) throw usageError('give exactly one of --replicas, --list, --cancel or --verify')
      if (opts.throttle !== undefined && opts.replicas === undefined) throw usageError('--throttle goes with --replicas')
      if (opts.verify && opts.topic === undefined) throw usageError('--verify needs --topic')
      await withAdmin(g, async (client) => {
        if (opts.verify) {
          const v = await verifyMove(client, opts.topic!, opts.partition)
          if (g.json) await writeOut(jsonLine({ topic: opts.topic, partition: opts.partition ?? null, ...v }))
          else if (v.inFlight.length > 0) await printList(v.inFlight, false)
          else await writeOut(`reassignment of ${opts.topic}${opts.partition === undefined ? '' : `-${opts.partition}`} is complete${v.topicCleared ? '; its throttle is removed' : ''}${v.brokersCleared.length > 0 ? `; rates removed on brokers ${v.brokersCleared.join(',')}` : ''}\n`)
          return
        }
        if (opts.list) {
          // A topic without a partition: every partition of it, so ask for all and keep the topic's.
          const one = opts.topic !== undefined && opts.partition !== undefined ? [{ topic: opts.topic, partitions: [opts.partition] }] : null
          const rows = (await client.listPartitionReassignments(one)).filter((r) => opts.topic === undefined || r.topic === opts.topic)
          await printList(rows, g.json)
          return
        }
        if (opts.topic === undefined || opts.partition === undefined) throw usageError('--topic and --partition are required')
        const replicas = opts.cancel ? null : opts.replicas!
        const throttled = replicas !== null && opts.throttle !== undefined ? await throttleMove(client, opts.topic, opts.partition, replicas, opts.throttle) : []
        const [result] = await client.alterPartitionReassignments([{ topic: opts.topic, partition: opts.partition, replicas }])
        if (result === undefined) throw new CliError(`the controller did not answer for ${opts.topic}-${opts.partition}`)
        if (result.error !== null) throw new CliError(`${opts.topic}-${opts.partition}: ${result.error}${result.errorMessage ? ` (${result.errorMessage})` : ''}`)
        const what = replicas === null ? 'cancelled' : 'started'
        if (g.json) await writeOut(jsonLine({ topic: opts.topic, partition: opts.partition, replicas, result: what, ...(opts.throttle !== undefined ? { throttle: opts.throttle, throttledBrokers: throttled } : {}) }))
        else await writeOut(`${replicas === null ? 'reassignment cancelled' : `reassignment to [${replicas.join(',')}] started`} for ${opts.topic}-${opts.partition}${opts.throttle !== undefined ? `, throttled to ${opts.throttle} bytes/s on brokers ${throttled.join(',')} (remove with --verify once done)` : ''}\n`)
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
