import type { Command } from 'commander'
import type { Consumer, EachBatchPayload } from 'kafkajs'
import { PartitionReader } from '../../broker/client/partition-reader.js'
import { brokerList, globalOptions, withDeadline, type GlobalOptions } from '../lib/client.js'
import { createKafka, withAdmin } from '../lib/kafkajs-client.js'
import { collectList } from '../lib/config-pairs.js'
import { kafkajsOffsets, planConsumption, readerOffsets, type ConsumeOptions, type ConsumePlan } from '../lib/consume-plan.js'
import { CliError, protocolErrorType, usageError } from '../lib/errors.js'
import { createFormatter, type HeaderValue, type RecordFormatter, type RecordView } from '../lib/format.js'
import { info, writeOut } from '../lib/output.js'
import { parseTimestamp } from '../lib/time.js'

export type { ConsumeOptions, ConsumePlan } from '../lib/consume-plan.js'

const NEWLINE = Buffer.from('\n')

export function registerConsume(program: Command): void {
  program
    .command('consume')
    .argument('<topic>', 'topic to read')
    .description('print records to stdout, one per line')
    .option('--from-beginning', 'start at the earliest offset (with --group: only when the group has no committed offset)', false)
    .option('-o, --offset <n|earliest|latest>', 'start at this offset in every selected partition')
    .option('-p, --partition <n>', 'read only these partitions, repeatable or comma-separated', collectList, [])
    .option('--from-time <time>', 'start at the first record at or after <time>: ISO-8601, epoch ms, or relative (-15m, -2h, -1d)')
    .option('-g, --group <id>', 'consume as a member of this consumer group (offsets are committed)')
    .option('-n, --max-messages <n>', 'stop after this many records', (v: string) => {
      const n = Number(v)
      if (!Number.isInteger(n) || n <= 0) throw usageError(`--max-messages must be a positive integer, got '${v}'`)
      return n
    })
    .option('--follow', 'keep waiting for new records (the default)')
    .option('-e, --exit-at-end', 'stop when every partition reaches the end offset it had at start', false)
    .option('-F, --format <format>', "value | json | key-value | template such as '%p:%o %k=%v' (kcat letters: %t topic, %T timestamp, %s or %v value, %h headers)")
    .option('--no-commit', 'with --group: do not commit offsets')
    .addHelpText(
      'after',
      `
Without --group, partitions are read directly (no consumer group), so reading starts at once
and nothing is recorded on the broker; a position that falls out of the log is reset to the
start (--from-beginning) or end and reported on stderr. With --group, the group assigns
partitions and Ctrl-C leaves it after committing what was printed. A count of records is
printed to stderr at the end.

Examples:
  $ samsa consume orders --from-beginning --exit-at-end
  $ samsa consume orders --partition 2 --offset 1500 --max-messages 10
  $ samsa consume orders --from-time -15m --format '%p:%o %k=%v'
  $ samsa consume orders --from-time 2024-05-01T12:00:00Z --json | jq .value
  $ samsa consume orders --group billing`,
    )
    .action(async (topic: string, opts: ConsumeOptions, cmd: Command) => {
      const g = globalOptions(cmd)
      if (opts.follow === true && opts.exitAtEnd) throw usageError('--follow and --exit-at-end cannot be combined')
      const starts = [opts.fromBeginning, opts.offset !== undefined, opts.fromTime !== undefined].filter(Boolean).length
      if (starts > 1) throw usageError('choose one of --from-beginning, --offset, --from-time')
      if (opts.offset !== undefined && !/^(\d+|earliest|latest)$/.test(opts.offset)) throw usageError(`--offset must be a number, earliest or latest, got '${opts.offset}'`)
      const badPartition = opts.partition.find((p) => !/^\d+$/.test(p))
      if (badPartition !== undefined) throw usageError(`--partition must be a partition number, got '${badPartition}'`)
      if (opts.group !== undefined && opts.partition.length > 0) throw usageError('--partition cannot be combined with --group (the group assigns partitions)')
      if (opts.fromTime !== undefined) parseTimestamp(opts.fromTime)
      const formatter = createFormatter(opts.format ?? (g.json ? 'json' : 'value'))
      const count = opts.group === undefined ? await readDirectly(g, topic, opts, formatter) : await consumeInGroup(g, topic, opts, opts.group, formatter)
      info(`consumed ${count} record(s)`)
    })
}

/** Stops on the first of Ctrl-C, SIGTERM or `stop()`; `stopped` resolves then, after `onStop`. */
function stopSwitch(onStop?: () => void): { stopped: Promise<void>; isStopped: () => boolean; stop: () => void; release: () => void } {
  let stopping = false
  let resolve!: () => void
  const stopped = new Promise<void>((r) => (resolve = r))
  const stop = () => {
    if (stopping) return
    stopping = true
    onStop?.()
    resolve()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return {
    stopped,
    isStopped: () => stopping,
    stop,
    release: () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    },
  }
}

function toBuffers(out: (Buffer | string)[]): Buffer {
  return Buffer.concat(out.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)))
}

/** Partitions that still have records below the end captured at start. */
function unfinished(plan: ConsumePlan): Set<number> {
  const remaining = new Set<number>()
  for (const p of plan.partitions) if ((plan.position.get(p) ?? 0) < (plan.end.get(p) ?? 0)) remaining.add(p)
  return remaining
}

async function readDirectly(g: GlobalOptions, topic: string, opts: ConsumeOptions, formatter: RecordFormatter): Promise<number> {
  const reader = new PartitionReader({
    bootstrap: brokerList(g.bootstrapServer),
    clientId: g.clientId,
    timeoutMs: g.timeout,
    offsetReset: opts.fromBeginning ? 'earliest' : 'latest',
    onReset: (r) => info(`partition ${r.partition}: offset ${r.from} is out of range, continuing at ${r.to}`),
  })
  // Closing wakes a poll waiting on the broker; racing each poll against a never-settling stop
  // promise instead would pile up reactions that keep every poll's records alive.
  const ctl = stopSwitch(() => void reader.close())
  let count = 0
  try {
    await withDeadline(reader.connect(), g.timeout, `connecting to ${g.bootstrapServer}`)
    const plan = await planConsumption(readerOffsets(reader), topic, opts)
    const remaining = opts.exitAtEnd ? unfinished(plan) : null
    if (remaining !== null && remaining.size === 0) return 0
    reader.assign(topic, plan.seek)
    const view: RecordView = { topic, partition: 0, offset: '0', timestamp: '0', key: null, value: null, headers: undefined }
    const limit = opts.maxMessages ?? Infinity
    while (!ctl.isStopped()) {
      const records = await reader.poll()
      const out: (Buffer | string)[] = []
      for (const r of records) {
        if (remaining !== null && r.offset >= plan.end.get(r.partition)!) continue
        view.partition = r.partition
        view.offset = String(r.offset)
        view.timestamp = String(r.timestamp)
        view.key = r.key
        view.value = r.value
        view.headers = r.headers.length === 0 ? undefined : headerMap(r.headers)
        formatter(view, out)
        out.push(NEWLINE)
        if (++count >= limit) {
          ctl.stop()
          break
        }
      }
      if (out.length > 0) await writeOut(toBuffers(out))
      if (remaining !== null) {
        for (const p of remaining) {
          if (reader.position(topic, p)! < plan.end.get(p)!) continue
          remaining.delete(p)
          reader.unassign(topic, p)
        }
        if (remaining.size === 0) break
      }
    }
  } catch (err) {
    if (protocolErrorType(err) === 'UNKNOWN_TOPIC_OR_PARTITION') throw new CliError(`unknown topic '${topic}'`)
    throw err
  } finally {
    ctl.release()
    await reader.close()
  }
  return count
}

/** Repeated header names collect into an array, as kafkajs presents them. */
function headerMap(headers: readonly { key: string; value: Buffer | null }[]): Record<string, HeaderValue> {
  const map: Record<string, HeaderValue> = {}
  for (const h of headers) {
    const v = h.value ?? Buffer.alloc(0)
    const prev = map[h.key]
    map[h.key] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return map
}

async function consumeInGroup(g: GlobalOptions, topic: string, opts: ConsumeOptions, groupId: string, formatter: RecordFormatter): Promise<number> {
  const plan = await withAdmin(g, (admin) => planConsumption(kafkajsOffsets(admin), topic, opts))
  const remaining = opts.exitAtEnd ? unfinished(plan) : null
  if (remaining !== null && remaining.size === 0) return 0

  const consumer: Consumer = createKafka(g).consumer({
    groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 500,
  })

  let count = 0
  const ctl = stopSwitch()
  let fail!: (err: unknown) => void
  const crashed = new Promise<never>((_, reject) => (fail = reject))
  crashed.catch(() => {})
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) fail(e.payload.error)
  })

  const record: RecordView = { topic, partition: 0, offset: '0', timestamp: '0', key: null, value: null, headers: undefined }
  const eachBatch = async ({ batch, resolveOffset, heartbeat }: EachBatchPayload) => {
    const p = batch.partition
    const end = plan.end.get(p) ?? 0
    const out: (Buffer | string)[] = []
    for (const m of batch.messages) {
      if (ctl.isStopped()) break
      if (remaining !== null && Number(m.offset) >= end) break
      record.partition = p
      record.offset = m.offset
      record.timestamp = m.timestamp
      record.key = m.key
      record.value = m.value
      record.headers = m.headers
      formatter(record, out)
      out.push(NEWLINE)
      resolveOffset(m.offset)
      count++
      if (opts.maxMessages !== undefined && count >= opts.maxMessages) ctl.stop()
      if (remaining !== null && Number(m.offset) + 1 >= end) remaining.delete(p)
    }
    if (out.length > 0) await writeOut(toBuffers(out))
    if (remaining !== null && !ctl.isStopped() && Number(batch.lastOffset()) + 1 >= end) remaining.delete(p)
    if (remaining !== null && remaining.size === 0) ctl.stop()
    await heartbeat()
  }

  try {
    await withDeadline(consumer.connect(), g.timeout, `connecting to ${g.bootstrapServer}`)
    await consumer.subscribe({ topics: [topic], fromBeginning: opts.fromBeginning })
    await consumer.run({ autoCommit: opts.commit, eachBatchAutoResolve: false, eachBatch })
    for (const [partition, offset] of plan.seek) consumer.seek({ topic, partition, offset: String(offset) })
    await Promise.race([ctl.stopped, crashed])
  } catch (err) {
    if (protocolErrorType(err) === 'UNKNOWN_TOPIC_OR_PARTITION') throw new CliError(`unknown topic '${topic}'`)
    throw err
  } finally {
    ctl.release()
    await consumer.disconnect().catch(() => {})
  }
  return count
}
