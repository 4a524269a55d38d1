import type { Command } from 'commander'
import { Consumer, type ConsumedRecord, type GroupProtocol } from '../../broker/client/consumer.js'
import { ApiKey } from '../../protocol/generated/index.js'
import { brokerList, globalOptions, withAdmin, withDeadline, type GlobalOptions, clientSecurityOf } from '../lib/client.js'
import { collectList } from '../lib/config-pairs.js'
import { clientOffsets, planConsumption, type ConsumeOptions, type ConsumePlan } from '../lib/consume-plan.js'
import { CliError, protocolErrorType, usageError } from '../lib/errors.js'
import { createFormatter, headerMap, type RecordFormatter, type RecordView } from '../lib/format.js'
import { info, writeOut } from '../lib/output.js'
import { parseTimestamp } from '../lib/time.js'
import { consumeShared, EXIT_RELEASE } from '../lib/share-consume.js'

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
    .option('--group-protocol <consumer|classic>', 'with --group: the group protocol (default: consumer when the broker offers it, else classic)', (v: string) => {
      if (v !== 'consumer' && v !== 'classic') throw usageError(`--group-protocol must be consumer or classic, got '${v}'`)
      return v
    })
    .option('--share-group <id>', 'consume as a member of this share group (KIP-932): records are shared out one at a time and acknowledged')
    .option('--ack <accept|release|reject>', 'with --share-group: how each printed record is acknowledged (default accept)', (v: string) => {
      if (v !== 'accept' && v !== 'release' && v !== 'reject') throw usageError(`--ack must be accept, release or reject, got '${v}'`)
      return v
    })
    .option('--exec <command>', `with --share-group: run <command> (sh -c) per record instead of printing it, acknowledging by its exit status: 0 accept, ${EXIT_RELEASE} release, other reject`)
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

--group-protocol consumer joins with KIP-848's ConsumerGroupHeartbeat: the broker assigns
partitions and members move one at a time, without stopping the group. classic joins with
JoinGroup/SyncGroup and the range and cooperative-sticky assignors. Without the option the
consumer protocol is used when the broker advertises ConsumerGroupHeartbeat.

Examples:
  $ samsa consume orders --from-beginning --exit-at-end
  $ samsa consume orders --partition 2 --offset 1500 --max-messages 10
  $ samsa consume orders --from-time -15m --format '%p:%o %k=%v'
  $ samsa consume orders --from-time 2024-05-01T12:00:00Z --json | jq .value
  $ samsa consume orders --group billing
  $ samsa consume orders --group billing --group-protocol classic
  $ samsa consume jobs --share-group workers --max-messages 10
  $ samsa consume jobs --share-group workers --exec './handle.sh'

--share-group joins a share group (KIP-932, queues for Kafka): every member reads the same
partitions and each record goes to one member at a time, locked until acknowledged (or until the
group's record lock duration passes, when it is delivered again with a higher delivery count).
Printed records are acknowledged with --ack. With --exec the command gets the record's value on
stdin and SAMSA_TOPIC, SAMSA_PARTITION, SAMSA_OFFSET, SAMSA_KEY (absent for a null key),
SAMSA_TIMESTAMP and SAMSA_DELIVERY_COUNT in its environment, and its exit status acknowledges the
record: 0 accept, ${EXIT_RELEASE} release (delivered again), anything else reject (never delivered
again). Start it in several shells for a work queue. Records fetched but not handled when the
command stops (--max-messages, Ctrl-C) are released. Where a new share group starts reading is the
group's share.auto.offset.reset (samsa configs alter --entity-type group), not --from-beginning.`,
    )
    .action(async (topic: string, opts: ConsumeOptions & { shareGroup?: string; ack?: 'accept' | 'release' | 'reject'; exec?: string }, cmd: Command) => {
      const g = globalOptions(cmd)
      const share = opts.shareGroup !== undefined
      if (!share && (opts.ack !== undefined || opts.exec !== undefined)) throw usageError('--ack and --exec need --share-group')
      if (share) {
        const clash = [
          ['--group', opts.group !== undefined],
          ['--partition', opts.partition.length > 0],
          ['--offset', opts.offset !== undefined],
          ['--from-beginning', opts.fromBeginning],
          ['--from-time', opts.fromTime !== undefined],
          ['--exit-at-end', opts.exitAtEnd],
          ['--group-protocol', opts.groupProtocol !== undefined],
          ['--no-commit', !opts.commit],
        ].find(([, set]) => set)
        if (clash !== undefined) throw usageError(`${clash[0]} cannot be combined with --share-group`)
        if (opts.ack !== undefined && opts.exec !== undefined) throw usageError('--ack and --exec cannot be combined (the exit status acknowledges)')
        const formatter = createFormatter(opts.format ?? (g.json ? 'json' : 'value'))
        const count = await consumeShared(g, topic, { shareGroup: opts.shareGroup!, ack: opts.ack ?? 'accept', exec: opts.exec, maxMessages: opts.maxMessages }, formatter, stopSwitch)
        info(`consumed ${count} record(s)`)
        return
      }
      if (opts.follow === true && opts.exitAtEnd) throw usageError('--follow and --exit-at-end cannot be combined')
      const starts = [opts.fromBeginning, opts.offset !== undefined, opts.fromTime !== undefined].filter(Boolean).length
      if (starts > 1) throw usageError('choose one of --from-beginning, --offset, --from-time')
      if (opts.offset !== undefined && !/^(\d+|earliest|latest)$/.test(opts.offset)) throw usageError(`--offset must be a number, earliest or latest, got '${opts.offset}'`)
      const badPartition = opts.partition.find((p) => !/^\d+$/.test(p))
      if (badPartition !== undefined) throw usageError(`--partition must be a partition number, got '${badPartition}'`)
      if (opts.group !== undefined && opts.partition.length > 0) throw usageError('--partition cannot be combined with --group (the group assigns partitions)')
      if (opts.group === undefined && opts.groupProtocol !== undefined) throw usageError('--group-protocol needs --group')
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
  const consumer = new Consumer({
    bootstrap: brokerList(g.bootstrapServer),
    clientId: g.clientId,
    timeoutMs: g.timeout,
    security: clientSecurityOf(g),
    offsetReset: opts.fromBeginning ? 'earliest' : 'latest',
    onReset: (r) => info(`partition ${r.partition}: offset ${r.from} is out of range, continuing at ${r.to}`),
  })
  // Closing wakes a poll waiting on the broker; racing each poll against a never-settling stop
  // promise instead would pile up reactions that keep every poll's records alive.
  const ctl = stopSwitch(() => void consumer.close())
  let count = 0
  try {
    await withDeadline(consumer.connect(), g.timeout, `connecting to ${g.bootstrapServer}`)
    const plan = await planConsumption(clientOffsets(consumer), topic, opts)
    const remaining = opts.exitAtEnd ? unfinished(plan) : null
    if (remaining !== null && remaining.size === 0) return 0
    consumer.assign(topic, plan.seek)
    const printer = recordPrinter(topic, formatter, plan, remaining, opts.maxMessages ?? Infinity, ctl)
    while (!ctl.isStopped()) {
      await printer.print(await consumer.poll())
      count = printer.count
      if (remaining !== null) {
        for (const p of remaining) {
          if (consumer.position(topic, p)! < plan.end.get(p)!) continue
          remaining.delete(p)
          consumer.unassign(topic, p)
        }
        if (remaining.size === 0) break
      }
    }
  } catch (err) {
    if (protocolErrorType(err) === 'UNKNOWN_TOPIC_OR_PARTITION') throw new CliError(`unknown topic '${topic}'`)
    throw err
  } finally {
    ctl.release()
    await consumer.close()
  }
  return count
}

/**
 * Formats and writes each poll's records, up to the end offsets of --exit-at-end and the
 * --max-messages limit. Records it leaves unprinted are reported per partition (the first such
 * offset), so a group member can move its position back there before committing.
 */
function recordPrinter(topic: string, formatter: RecordFormatter, plan: ConsumePlan, remaining: Set<number> | null, limit: number, ctl: { isStopped: () => boolean; stop: () => void }) {
  const view: RecordView = { topic, partition: 0, offset: '0', timestamp: '0', key: null, value: null, headers: undefined }
  const printer = {
    count: 0,
    /** Partition -> first offset not printed, for the last batch. */
    unprinted: new Map<number, number>(),
    async print(records: readonly ConsumedRecord[]): Promise<void> {
      printer.unprinted.clear()
      const out: (Buffer | string)[] = []
      for (const r of records) {
        if (ctl.isStopped() || (remaining !== null && r.offset >= plan.end.get(r.partition)!)) {
          if (!printer.unprinted.has(r.partition)) printer.unprinted.set(r.partition, r.offset)
          continue
        }
        view.partition = r.partition
        view.offset = String(r.offset)
        view.timestamp = String(r.timestamp)
        view.key = r.key
        view.value = r.value
        view.headers = r.headers.length === 0 ? undefined : headerMap(r.headers)
        formatter(view, out)
        out.push(NEWLINE)
        if (++printer.count >= limit) ctl.stop()
      }
      if (out.length > 0) await writeOut(toBuffers(out))
    },
  }
  return printer
}

/** The consumer protocol (KIP-848) when the bootstrap broker advertises ConsumerGroupHeartbeat, else classic. */
async function defaultGroupProtocol(g: GlobalOptions): Promise<GroupProtocol> {
  return withAdmin(g, async (admin) => ((await admin.cluster.bootstrap()).versions.has(ApiKey.ConsumerGroupHeartbeat) ? 'consumer' : 'classic'))
}

async function consumeInGroup(g: GlobalOptions, topic: string, opts: ConsumeOptions, groupId: string, formatter: RecordFormatter): Promise<number> {
  const groupProtocol = opts.groupProtocol ?? (await defaultGroupProtocol(g))
  const consumer = new Consumer({
    bootstrap: brokerList(g.bootstrapServer),
    clientId: g.clientId,
    timeoutMs: g.timeout,
    security: clientSecurityOf(g),
    groupId,
    groupProtocol,
    autoCommit: opts.commit,
    offsetReset: opts.fromBeginning ? 'earliest' : 'latest',
    sessionTimeoutMs: 30_000,
    heartbeatIntervalMs: 3_000,
    maxWaitMs: 500,
  })
  // A stop ends a wait for the group at once; records already fetched are still printed and
  // committed, and closing leaves the group.
  const ctl = stopSwitch(() => consumer.wakeup())
  let count = 0
  try {
    await withDeadline(consumer.connect(), g.timeout, `connecting to ${g.bootstrapServer}`)
    const plan = await planConsumption(clientOffsets(consumer), topic, opts)
    const remaining = opts.exitAtEnd ? unfinished(plan) : null
    if (remaining !== null && remaining.size === 0) return 0
    consumer.subscribe([topic])
    for (const [partition, offset] of plan.seek) consumer.seek(topic, partition, offset)
    const printer = recordPrinter(topic, formatter, plan, remaining, opts.maxMessages ?? Infinity, ctl)
    while (!ctl.isStopped()) {
      await printer.print(await consumer.poll())
      count = printer.count
      // What was fetched but not printed is read again by whoever owns the partition next.
      for (const [p, offset] of printer.unprinted) consumer.seek(topic, p, offset)
      if (remaining !== null) {
        for (const p of remaining) {
          const position = consumer.position(topic, p)
          if (position === undefined || position < plan.end.get(p)!) continue
          remaining.delete(p)
          consumer.pause(topic, p)
        }
        if (remaining.size === 0) break
      }
    }
  } catch (err) {
    const type = protocolErrorType(err)
    if (type === 'UNKNOWN_TOPIC_OR_PARTITION') throw new CliError(`unknown topic '${topic}'`)
    if (groupProtocol === 'consumer' && type === 'GROUP_ID_NOT_FOUND') {
      throw new CliError(`group '${groupId}' is a classic group the broker will not convert while it has members; try --group-protocol classic`)
    }
    if (groupProtocol === 'classic' && type === 'INCONSISTENT_GROUP_PROTOCOL') {
      throw new CliError(`group '${groupId}' is a consumer-protocol group with members; try --group-protocol consumer`)
    }
    throw err
  } finally {
    ctl.release()
    await consumer.close()
  }
  return count
}
