import type { Command } from 'commander'
import type { AdminClient } from '../../broker/client/admin-client.js'
import { globalOptions, requireTopics, withAdmin, type GlobalOptions } from '../lib/client.js'
import { alterEntity, describeEntity, isOverride } from '../lib/configs.js'
import { collectList, collectPairs } from '../lib/config-pairs.js'
import { CliError, usageError } from '../lib/errors.js'
import { readTopicCleanerState, renderCleanerState } from '../lib/cleaner-state.js'
import { logDirSizes } from '../lib/log-dirs.js'
import { formatBytes, formatTable, jsonLine } from '../lib/table.js'
import { writeOut } from '../lib/output.js'

function positiveInt(name: string) {
  return (text: string): number => {
    const n = Number(text)
    if (!Number.isInteger(n) || n <= 0) throw usageError(`${name} must be a positive integer, got '${text}'`)
    return n
  }
}

export function registerTopics(program: Command): void {
  const topics = program
    .command('topics')
    .description('list, describe, create, delete and alter topics')
    .addHelpText('after', `
Examples:
  $ samsa topics list
  $ samsa topics create orders --partitions 6 --config retention.ms=86400000
  $ samsa topics describe orders
  $ samsa topics alter orders --config cleanup.policy=compact --delete-config retention.ms
  $ samsa topics add-partitions orders 2
  $ samsa topics delete orders payments`)

  topics
    .command('list')
    .description('list topics with their partition counts')
    .option('--internal', 'include internal topics such as __consumer_offsets', false)
    .addHelpText('after', '\nExamples:\n  $ samsa topics list\n  $ samsa topics list --json | jq -r .topic')
    .action(async (opts: { internal: boolean }, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (admin) => {
        const meta = await admin.metadata(null)
        const names = meta.topics.map((t) => t.name).filter((t) => opts.internal || !t.startsWith('__')).sort()
        const counts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]))
        if (g.json) {
          for (const t of names) await writeOut(jsonLine({ topic: t, partitions: counts.get(t) ?? 0 }))
        } else if (names.length > 0) {
          await writeOut(formatTable(['TOPIC', 'PARTITIONS'], names.map((t) => [t, counts.get(t) ?? 0])))
        }
      })
    })

  topics
    .command('describe')
    .argument('<topic...>', 'topic name(s)')
    .description('partitions, leaders, offsets, message counts, size on disk and non-default configs')
    .option('--data-dir <dir>', "also show the log cleaner's state of compacted partitions, read from the broker's data directory")
    .addHelpText(
      'after',
      '\nWith --data-dir, the command runs where the broker\'s data directory is: the cleaner state (dirty ratio, last\n' +
        'cleaning, bytes reclaimed, delete horizon, why a partition is uncleanable) is in no Kafka response, and\n' +
        "is read from the cleaner-state.json the broker writes after each cleaner pass.\n" +
        '\nExamples:\n  $ samsa topics describe orders\n  $ samsa topics describe orders payments --json\n  $ samsa topics describe prices --data-dir /var/lib/samsa',
    )
    .action(async (names: string[], opts: { dataDir?: string }, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (admin) => {
        await requireTopics(admin, names)
        let first = true
        for (const name of names) {
          const d = await describeTopic(admin, g, name)
          const cleaner = opts.dataDir === undefined ? undefined : readTopicCleanerState(opts.dataDir, name)
          if (g.json) {
            await writeOut(jsonLine(cleaner === undefined ? d : { ...d, cleaner }))
            continue
          }
          if (!first) await writeOut('\n')
          first = false
          await writeOut(renderDescription(d))
          if (cleaner !== undefined) await writeOut(renderCleanerState(cleaner, opts.dataDir!))
        }
      })
    })

  topics
    .command('create')
    .argument('<topic>', 'topic name')
    .description('create a topic')
    .option('-p, --partitions <n>', 'number of partitions (default: the broker\'s num.partitions)', positiveInt('--partitions'))
    .option('-r, --replication-factor <n>', 'replication factor (default: the broker\'s default)', positiveInt('--replication-factor'))
    .option('-c, --config <key=value>', 'topic config override, repeatable', collectPairs, [])
    .option('--if-not-exists', 'succeed if the topic already exists', false)
    .addHelpText('after', '\nExamples:\n  $ samsa topics create orders --partitions 3 --replication-factor 1\n  $ samsa topics create events -p 12 -c retention.ms=3600000 -c cleanup.policy=delete')
    .action(async (name: string, opts: { partitions?: number; replicationFactor?: number; config: [string, string][]; ifNotExists: boolean }, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (admin) => {
        const [result] = await admin.createTopics(
          [{ name, numPartitions: opts.partitions, replicationFactor: opts.replicationFactor, configs: opts.config }],
          { timeoutMs: g.timeout, waitForLeaders: true },
        )
        const created = result?.created ?? false
        if (!created && !opts.ifNotExists) throw new CliError(`topic '${name}' already exists`)
        const meta = await admin.metadata([name])
        const partitions = meta.topics[0]?.partitions.length ?? 0
        if (g.json) await writeOut(jsonLine({ topic: name, created, partitions }))
        else await writeOut(created ? `created topic '${name}' with ${partitions} partition(s)\n` : `topic '${name}' already exists\n`)
      })
    })

  topics
    .command('delete')
    .argument('<topic...>', 'topic name(s)')
    .description('delete topics and all their data')
    .option('--if-exists', 'succeed when a topic does not exist', false)
    .addHelpText('after', '\nExamples:\n  $ samsa topics delete orders\n  $ samsa topics delete a b c --if-exists')
    .action(async (names: string[], opts: { ifExists: boolean }, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (admin) => {
        let targets = names
        if (opts.ifExists) {
          const existing = new Set(await admin.listTopics())
          targets = names.filter((n) => existing.has(n))
        } else {
          await requireTopics(admin, names)
        }
        if (targets.length > 0) await admin.deleteTopics(targets, { timeoutMs: g.timeout })
        for (const t of targets) await writeOut(g.json ? jsonLine({ topic: t, deleted: true }) : `deleted topic '${t}'\n`)
      })
    })

  topics
    .command('alter')
    .argument('<topic>', 'topic name')
    .description('set or remove topic config overrides')
    .option('-c, --config <key=value>', 'set a config, repeatable', collectPairs, [])
    .option('-d, --delete-config <key>', 'remove a config override, repeatable', collectList, [])
    .option('--dry-run', 'validate on the broker without applying', false)
    .addHelpText('after', '\nExamples:\n  $ samsa topics alter orders --config retention.ms=600000\n  $ samsa topics alter orders --delete-config retention.ms')
    .action(async (name: string, opts: { config: [string, string][]; deleteConfig: string[]; dryRun: boolean }, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (admin) => {
        await requireTopics(admin, [name])
        const changes = await alterEntity(admin, 'topic', name, opts.config, opts.deleteConfig, opts.dryRun)
        for (const c of changes) {
          if (g.json) await writeOut(jsonLine({ topic: name, ...c, dryRun: opts.dryRun }))
          else await writeOut(`${opts.dryRun ? '(dry run) ' : ''}${name}: ${c.key} ${c.after === null ? 'removed' : `= ${c.after}`}\n`)
        }
      })
    })

  topics
    .command('add-partitions')
    .argument('<topic>', 'topic name')
    .argument('<count>', 'number of partitions to add', positiveInt('count'))
    .description('add partitions to a topic (partitions can never be removed)')
    .addHelpText('after', '\nExamples:\n  $ samsa topics add-partitions orders 3      # 3 -> 6 partitions')
    .action(async (name: string, count: number, _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (admin) => {
        await requireTopics(admin, [name])
        const before = (await admin.metadata([name])).topics[0]!.partitions.length
        await admin.createPartitions([{ topic: name, count: before + count }], { timeoutMs: g.timeout })
        if (g.json) await writeOut(jsonLine({ topic: name, before, after: before + count }))
        else await writeOut(`${name}: ${before} -> ${before + count} partitions\n`)
      })
    })
}

export interface PartitionDescription {
  partition: number
  leader: number
  replicas: number[]
  isr: number[]
  earliestOffset: number
  latestOffset: number
  messages: number
  sizeBytes: number | null
}

export interface TopicDescription {
  topic: string
  partitions: PartitionDescription[]
  messages: number
  sizeBytes: number | null
  configs: Record<string, string | null>
}

async function partitionSizes(admin: AdminClient, brokers: readonly number[], topic: string, partitions: number[]): Promise<Map<string, number> | null> {
  try {
    const merged = new Map<string, number>()
    let any = false
    for (const nodeId of brokers) {
      const sizes = await logDirSizes(admin, [{ topic, partitions }], nodeId)
      if (sizes === null) continue
      any = true
      for (const [k, v] of sizes) merged.set(k, Math.max(merged.get(k) ?? 0, v))
    }
    return any ? merged : null
  } catch {
    return null
  }
}

export async function describeTopic(admin: AdminClient, g: GlobalOptions, topic: string): Promise<TopicDescription> {
  const cluster = await admin.metadata([topic])
  const meta = cluster.topics[0]!
  const offsets = new Map((await admin.topicOffsets(topic)).map((o) => [o.partition, o]))
  const partitionIds = meta.partitions.map((p) => p.partition)
  const sizes = await partitionSizes(admin, cluster.brokers.map((b) => b.nodeId), topic, partitionIds)
  let configs: Record<string, string | null> = {}
  try {
    const entries = await describeEntity(admin, 'topic', topic)
    configs = Object.fromEntries(entries.filter((e) => isOverride(e, 'topic')).map((e) => [e.name, e.isSensitive ? null : e.value]))
  } catch (err) {
    if (g.verbose) process.stderr.write(`describe configs failed: ${String(err)}\n`)
  }
  const partitions = meta.partitions.map((p): PartitionDescription => {
      const o = offsets.get(p.partition)
      const earliest = o?.low ?? 0
      const latest = o?.high ?? 0
      return {
        partition: p.partition,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
        earliestOffset: earliest,
        latestOffset: latest,
        messages: Math.max(0, latest - earliest),
        sizeBytes: sizes?.get(`${topic}/${p.partition}`) ?? null,
      }
    })
  return {
    topic,
    partitions,
    messages: partitions.reduce((n, p) => n + p.messages, 0),
    sizeBytes: sizes === null ? null : partitions.reduce((n, p) => n + (p.sizeBytes ?? 0), 0),
    configs,
  }
}

function renderDescription(d: TopicDescription): string {
  const rf = d.partitions[0]?.replicas.length ?? 0
  const configText = Object.entries(d.configs)
    .map(([k, v]) => `${k}=${v ?? '(sensitive)'}`)
    .join(', ')
  const header =
    `Topic: ${d.topic}  Partitions: ${d.partitions.length}  ReplicationFactor: ${rf}  ` +
    `Messages: ${d.messages}  Size: ${formatBytes(d.sizeBytes)}\n` +
    `Configs: ${configText === '' ? '(none)' : configText}\n`
  const table = formatTable(
    ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'EARLIEST', 'LATEST', 'MESSAGES', 'SIZE'],
    d.partitions.map((p) => [
      p.partition,
      p.leader,
      p.replicas.join(','),
      p.isr.join(','),
      p.earliestOffset,
      p.latestOffset,
      p.messages,
      formatBytes(p.sizeBytes),
    ]),
    [undefined, undefined, 'left', 'left', undefined, undefined, undefined, 'right'],
  )
  return header + table
}
