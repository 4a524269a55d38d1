// `samsa producers <topic>`: the idempotent and transactional producers each partition leader
// tracks, through DescribeProducers.

import type { Command } from 'commander'
import { KafkaProtocolError, type PartitionProducers } from '../../broker/client/admin-client.js'
import { globalOptions, withAdmin } from '../lib/client.js'
import { CliError, usageError } from '../lib/errors.js'
import { writeOut } from '../lib/output.js'
import { formatTable, jsonLine } from '../lib/table.js'

export interface ProducerRow {
  topic: string
  partition: number
  producerId: number
  producerEpoch: number
  lastSequence: number
  /** Epoch ms of the producer's last write, or null if unknown. */
  lastTimestamp: number | null
  coordinatorEpoch: number
  /** First offset of the producer's open transaction, or null when none is open. */
  currentTxnStartOffset: number | null
}

function collectPartitions(text: string, previous: number[] = []): number[] {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '')
  for (const p of parts) if (!/^\d+$/.test(p)) throw usageError(`--partition must be a non-negative integer, got '${p}'`)
  return [...previous, ...parts.map(Number)]
}

export function producerRows(partitions: readonly PartitionProducers[]): ProducerRow[] {
  return partitions.flatMap((p) =>
    [...p.producers]
      .sort((a, b) => a.producerId - b.producerId)
      .map((s) => ({
        topic: p.topic,
        partition: p.partition,
        producerId: s.producerId,
        producerEpoch: s.producerEpoch,
        lastSequence: s.lastSequence,
        lastTimestamp: s.lastTimestamp >= 0 ? s.lastTimestamp : null,
        coordinatorEpoch: s.coordinatorEpoch,
        currentTxnStartOffset: s.currentTxnStartOffset >= 0 ? s.currentTxnStartOffset : null,
      })),
  )
}

export function registerProducers(program: Command): void {
  program
    .command('producers')
    .argument('<topic>', 'topic name')
    .description('active idempotent and transactional producers per partition, from each partition leader')
    .option('-p, --partition <n,...>', 'only these partitions, repeatable', collectPartitions)
    .addHelpText(
      'after',
      `
Examples:
  $ samsa producers orders
  $ samsa producers orders --partition 0,2
  $ samsa producers orders --json | jq 'select(.currentTxnStartOffset != null)'   # open transactions`,
    )
    .action(async (topic: string, opts: { partition?: number[] }, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (client) => {
        let partitions: PartitionProducers[]
        try {
          partitions = await client.describeProducers(topic, opts.partition)
        } catch (err) {
          if (err instanceof KafkaProtocolError && err.type === 'UNKNOWN_TOPIC_OR_PARTITION') throw new CliError(`unknown topic '${topic}'`)
          throw err
        }
        const rows = producerRows(partitions.filter((p) => p.error === null))
        if (g.json) {
          for (const r of rows) await writeOut(jsonLine(r))
        } else if (rows.length > 0) {
          await writeOut(
            formatTable(
              ['TOPIC', 'PARTITION', 'PRODUCER-ID', 'EPOCH', 'LAST-SEQUENCE', 'LAST-TIMESTAMP', 'COORDINATOR-EPOCH', 'TXN-START-OFFSET'],
              rows.map((r) => [
                r.topic,
                r.partition,
                r.producerId,
                r.producerEpoch,
                r.lastSequence,
                r.lastTimestamp === null ? null : new Date(r.lastTimestamp).toISOString(),
                r.coordinatorEpoch,
                r.currentTxnStartOffset,
              ]),
              ['left', 'right', 'right', 'right', 'right', 'left', 'right', 'right'],
            ),
          )
        }
        const failed = partitions.filter((p) => p.error !== null)
        if (failed.length > 0) {
          throw new CliError(
            failed
              .map((p) =>
                p.error === 'UNKNOWN_TOPIC_OR_PARTITION' ? `topic '${topic}' has no partition ${p.partition}` : `partition ${p.partition}: ${p.error}${p.errorMessage ? ` (${p.errorMessage})` : ''}`,
              )
              .join('; '),
          )
        }
      })
    })
}
