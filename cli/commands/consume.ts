import { randomUUID } from 'node:crypto'
import type { Command } from 'commander'
import kafkajs from 'kafkajs'
import type { Admin, Consumer, EachBatchPayload, PartitionAssigner } from 'kafkajs'
import { globalOptions, createKafka, requireTopics, withAdmin, withDeadline, type GlobalOptions } from '../lib/client.js'
import { collectList } from '../lib/config-pairs.js'
import { CliError, protocolErrorType, usageError } from '../lib/errors.js'
import { createFormatter, type RecordView } from '../lib/format.js'
import { info, writeOut } from '../lib/output.js'
import { parseTimestamp } from '../lib/time.js'

export interface ConsumeOptions {
  fromBeginning: boolean
  offset?: string
  partition: string[]
  fromTime?: string
  group?: string
  maxMessages?: number
  follow?: boolean
  exitAtEnd: boolean
  format?: string
  commit: boolean
}

export interface ConsumePlan {
  partitions: number[]
  /** Explicit seeks; a partition absent here starts at the group's committed position. */
  seek: Map<number, number>
  /** Where each partition will start, explicit or committed, for --exit-at-end. */
  position: Map<number, number>
  /** Log end offsets captured before consuming, for --exit-at-end. */
  end: Map<number, number>
}

const NEWLINE = Buffer.from('\n')

/** Assigns exactly the chosen partitions to the only member of a private group. */
function fixedAssigner(topic: string, partitions: number[]): PartitionAssigner {
  const { AssignerProtocol } = kafkajs
  const name = 'SamsaFixedAssigner'
  return () => ({
    name,
    version: 1,
    async assign({ members }) {
      return members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: i === 0 ? { [topic]: partitions } : {},
          userData: Buffer.alloc(0),
        }),
      }))
    },
    protocol({ topics }) {
      return { name, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) }
    },
  })
}

export async function planConsumption(admin: Admin, topic: string, opts: ConsumeOptions): Promise<ConsumePlan> {
  await requireTopics(admin, [topic])
  const meta = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]
  const all = meta.partitions.map((p) => p.partitionId).sort((a, b) => a - b)
  const partitions = opts.partition.length === 0 ? all : opts.partition.map(Number)
  for (const p of partitions) {
    if (!all.includes(p)) throw new CliError(`topic '${topic}' has no partition ${p} (partitions: 0-${all.length - 1})`)
  }
  const offsets = await admin.fetchTopicOffsets(topic)
  const low = new Map(offsets.map((o) => [o.partition, Number(o.low)]))
  const high = new Map(offsets.map((o) => [o.partition, Number(o.high)]))
  const seek = new Map<number, number>()
  if (opts.offset !== undefined) {
    for (const p of partitions) {
      if (opts.offset === 'earliest') seek.set(p, low.get(p) ?? 0)
      else if (opts.offset === 'latest') seek.set(p, high.get(p) ?? 0)
      else seek.set(p, Number(opts.offset))
    }
  } else if (opts.fromTime !== undefined) {
    const ts = parseTimestamp(opts.fromTime)
    for (const o of await admin.fetchTopicOffsetsByTimestamp(topic, ts)) if (partitions.includes(o.partition)) seek.set(o.partition, Number(o.offset))
  } else if (opts.group === undefined) {
    for (const p of partitions) seek.set(p, (opts.fromBeginning ? low.get(p) : high.get(p)) ?? 0)
  }
  const position = new Map(seek)
  if (seek.size === 0 && opts.group !== undefined) {
    // Mirror what the consumer will do: committed offset, else the reset policy.
    const committed = await admin.fetchOffsets({ groupId: opts.group, topics: [topic] })
    const byPartition = new Map((committed[0]?.partitions ?? []).map((c) => [c.partition, Number(c.offset)]))
    for (const p of partitions) {
      const c = byPartition.get(p) ?? -1
      position.set(p, c >= 0 ? c : ((opts.fromBeginning ? low.get(p) : high.get(p)) ?? 0))
    }
  }
  return { partitions, seek, position, end: new Map(partitions.map((p) => [p, high.get(p) ?? 0])) }
}

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
Without --group, partitions are read through a private, uncommitted group, so nothing is
recorded on the broker. Ctrl-C stops cleanly: the consumer leaves its group and, with
--group, commits what it printed. A count of records is printed to stderr at the end.

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
      const plan = await withAdmin(g, (admin) => planConsumption(admin, topic, opts))
      const count = await consume(g, topic, opts, plan, formatter)
      info(`consumed ${count} record(s)`)
    })
}

async function consume(
  g: GlobalOptions,
  topic: string,
  opts: ConsumeOptions,
  plan: ConsumePlan,
  formatter: ReturnType<typeof createFormatter>,
): Promise<number> {
  const remaining = new Set<number>()
  if (opts.exitAtEnd) {
    for (const p of plan.partitions) if ((plan.position.get(p) ?? 0) < (plan.end.get(p) ?? 0)) remaining.add(p)
    if (remaining.size === 0) return 0
  }

  const privateGroup = opts.group === undefined
  const groupId = opts.group ?? `samsa-cli-${randomUUID()}`
  const consumer: Consumer = createKafka(g).consumer({
    groupId,
    partitionAssigners: privateGroup ? [fixedAssigner(topic, plan.partitions)] : undefined,
    allowAutoTopicCreation: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 500,
  })

  let count = 0
  let finish!: () => void
  let fail!: (err: unknown) => void
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve
    fail = reject
  })
  let stopping = false
  const stop = () => {
    stopping = true
    finish()
  }
  const onSignal = () => stop()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) fail(e.payload.error)
  })

  const record: RecordView = { topic, partition: 0, offset: '0', timestamp: '0', key: null, value: null, headers: undefined }
  const eachBatch = async ({ batch, resolveOffset, heartbeat }: EachBatchPayload) => {
    const p = batch.partition
    const end = plan.end.get(p) ?? 0
    const out: (Buffer | string)[] = []
    for (const m of batch.messages) {
      if (stopping) break
      if (opts.exitAtEnd && Number(m.offset) >= end) break
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
      if (opts.maxMessages !== undefined && count >= opts.maxMessages) stop()
      if (opts.exitAtEnd && Number(m.offset) + 1 >= end) remaining.delete(p)
    }
    if (out.length > 0) await writeOut(Buffer.concat(out.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))))
    if (opts.exitAtEnd && !stopping && Number(batch.lastOffset()) + 1 >= end) remaining.delete(p)
    if (opts.exitAtEnd && remaining.size === 0) stop()
    await heartbeat()
  }

  try {
    await withDeadline(consumer.connect(), g.timeout, `connecting to ${g.bootstrapServer}`)
    await consumer.subscribe({ topics: [topic], fromBeginning: opts.fromBeginning })
    await consumer.run({ autoCommit: !privateGroup && opts.commit, eachBatchAutoResolve: false, eachBatch })
    for (const [partition, offset] of plan.seek) consumer.seek({ topic, partition, offset: String(offset) })
    await done
  } catch (err) {
    if (protocolErrorType(err) === 'UNKNOWN_TOPIC_OR_PARTITION') throw new CliError(`unknown topic '${topic}'`)
    throw err
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await consumer.disconnect().catch(() => {})
    if (privateGroup) {
      await withAdmin(g, (admin) => admin.deleteGroups([groupId])).catch(() => {})
    }
  }
  return count
}
