import type { Command } from 'commander'
import type { AdminClient } from '../../broker/client/admin-client.js'
import { GroupMember } from '../../broker/client/group-member.js'
import { cooperativeStickyAssignor, rangeAssignor } from '../../broker/client/consumer.js'
import { globalOptions, requireTopics, withAdmin, withDeadline, type GlobalOptions } from '../lib/client.js'
import { CliError, describeError, ExitCode, usageError } from '../lib/errors.js'
import { assignmentText, committedOffsets, describeClassicGroup, describeConsumerGroup, describeGroupReport, groupError, type GroupReport } from '../lib/group-description.js'
import { writeOut } from '../lib/output.js'
import { describeShareGroup, shareStartOffsets, type ShareGroupReport } from '../lib/share-group-description.js'
import { formatTable, jsonLine } from '../lib/table.js'
import { parseTimestamp } from '../lib/time.js'

type ResetStrategy =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: number }
  | { kind: 'datetime'; timestamp: number }
  | { kind: 'shift'; by: number }

interface ResetOptions {
  topic: string[]
  allTopics: boolean
  toEarliest: boolean
  toLatest: boolean
  toOffset?: string
  toDatetime?: string
  shiftBy?: string
  dryRun: boolean
  execute: boolean
}

function resetStrategy(opts: ResetOptions): ResetStrategy {
  const chosen: ResetStrategy[] = []
  if (opts.toEarliest) chosen.push({ kind: 'earliest' })
  if (opts.toLatest) chosen.push({ kind: 'latest' })
  if (opts.toOffset !== undefined) {
    if (!/^\d+$/.test(opts.toOffset)) throw usageError(`--to-offset must be a non-negative integer, got '${opts.toOffset}'`)
    chosen.push({ kind: 'offset', offset: Number(opts.toOffset) })
  }
  if (opts.toDatetime !== undefined) chosen.push({ kind: 'datetime', timestamp: parseTimestamp(opts.toDatetime) })
  if (opts.shiftBy !== undefined) {
    if (!/^[+-]?\d+$/.test(opts.shiftBy)) throw usageError(`--shift-by must be an integer, got '${opts.shiftBy}'`)
    chosen.push({ kind: 'shift', by: Number(opts.shiftBy) })
  }
  if (chosen.length !== 1) throw usageError('give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by')
  return chosen[0]
}

/** `orders` or `orders:0,2` */
function parseTopicSpec(spec: string): { topic: string; partitions: number[] | null } {
  const colon = spec.lastIndexOf(':')
  if (colon === -1) return { topic: spec, partitions: null }
  const partitions = spec
    .slice(colon + 1)
    .split(',')
    .map((p) => {
      if (!/^\d+$/.test(p)) throw usageError(`invalid partition '${p}' in --topic ${spec}`)
      return Number(p)
    })
  return { topic: spec.slice(0, colon), partitions }
}

/**
 * Commits offsets by briefly joining a classic group (as a member that never fetches), so the
 * group records them as a consumer group's, then leaving. An empty KIP-848 consumer group takes
 * them from outside, as Kafka's alterConsumerGroupOffsets does.
 */
async function commitAsMember(g: GlobalOptions, admin: AdminClient, groupId: string, plan: readonly { topic: string; partition: number; target: number }[]): Promise<void> {
  const topics = [...new Set(plan.map((p) => p.topic))]
  const member = new GroupMember(admin.cluster, { groupId, assignors: [rangeAssignor, cooperativeStickyAssignor], timeoutMs: g.timeout })
  try {
    await withDeadline(member.join(topics, new Map()), g.timeout, `joining group '${groupId}'`)
    await member.commit(plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.target })))
  } finally {
    await member.leave()
  }
}

/** The human form of `groups describe`: a summary line, then members and/or partitions. */
async function printGroup(d: GroupReport, membersOnly: boolean): Promise<void> {
  if (d.type === 'share') return printShareGroup(d, membersOnly)
  if (d.type === 'consumer') {
    await writeOut(
      `Group: ${d.group}  State: ${d.state}  Members: ${d.members.length}  Total lag: ${d.totalLag}  Type: consumer  ` +
        `Group epoch: ${d.groupEpoch}  Assignment epoch: ${d.assignmentEpoch}  Assignor: ${d.assignor || '-'}\n`,
    )
    if (d.members.length > 0) {
      await writeOut(
        formatTable(
          ['MEMBER-ID', 'INSTANCE-ID', 'CLIENT-ID', 'HOST', 'EPOCH', 'SUBSCRIPTION', 'ASSIGNMENT', 'TARGET-ASSIGNMENT'],
          d.members.map((m) => [
            m.memberId,
            m.instanceId,
            m.clientId,
            m.host,
            m.memberEpoch,
            [...m.subscribedTopics, ...(m.subscribedTopicRegex === null ? [] : [`/${m.subscribedTopicRegex}/`])].join(',') || '-',
            assignmentText(m.assignment),
            assignmentText(m.targetAssignment),
          ]),
          [undefined, undefined, undefined, undefined, 'right'],
        ),
      )
    }
    if (membersOnly || d.partitions.length === 0) return
    if (d.members.length > 0) await writeOut('\n')
  } else {
    await writeOut(`Group: ${d.group}  State: ${d.state}  Members: ${d.members.length}  Total lag: ${d.totalLag}  Type: classic\n`)
    if (membersOnly) {
      await writeOut(formatTable(['MEMBER-ID', 'CLIENT-ID', 'HOST', 'ASSIGNMENT'], d.members.map((m) => [m.memberId, m.clientId, m.host, assignmentText(m.assignment)])))
      return
    }
  }
  if (d.partitions.length === 0) return
  await writeOut(
    formatTable(
      ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
      d.partitions.map((r) => [r.topic, r.partition, r.committedOffset, r.logEndOffset, r.lag, r.memberId, r.host, r.clientId]),
      [undefined, 'right', 'right', 'right', 'right', 'left', 'left', 'left'],
    ),
  )
}

async function printShareGroup(d: ShareGroupReport, membersOnly: boolean): Promise<void> {
  await writeOut(
    `Group: ${d.group}  State: ${d.state}  Members: ${d.members.length}  Total lag: ${d.totalLag}  Type: share  ` +
      `Group epoch: ${d.groupEpoch}  Assignment epoch: ${d.assignmentEpoch}  Assignor: ${d.assignor || '-'}\n`,
  )
  if (d.members.length > 0) {
    await writeOut(
      formatTable(
        ['MEMBER-ID', 'CLIENT-ID', 'HOST', 'EPOCH', 'SUBSCRIPTION', 'ASSIGNMENT'],
        d.members.map((m) => [m.memberId, m.clientId, m.host, m.memberEpoch, m.subscribedTopics.join(',') || '-', assignmentText(m.assignment)]),
        [undefined, undefined, undefined, 'right'],
      ),
    )
  }
  if (membersOnly || d.partitions.length === 0) return
  if (d.members.length > 0) await writeOut('\n')
  await writeOut(
    formatTable(
      ['TOPIC', 'PARTITION', 'START-OFFSET', 'LOG-END-OFFSET', 'LAG', 'IN-FLIGHT', 'AVAILABLE', 'MEMBERS'],
      d.partitions.map((r) => [r.topic, r.partition, r.startOffset, r.logEndOffset, r.lag, r.inFlight, r.available, r.members]),
      [undefined, 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    ),
  )
}

export function registerGroups(program: Command): void {
  const groups = program
    .command('groups')
    .description('list, describe, reset and delete consumer groups and share groups')
    .addHelpText('after', `
Examples:
  $ samsa groups list
  $ samsa groups describe billing
  $ samsa groups reset-offsets billing --topic orders --to-earliest --execute
  $ samsa groups delete billing`)

  groups
    .command('list')
    .description('list consumer groups with their state and member count')
    .addHelpText('after', '\nExamples:\n  $ samsa groups list\n  $ samsa groups list --json')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (admin) => {
        const listed = (await admin.listGroups()).sort((a, b) => a.groupId.localeCompare(b.groupId))
        // ListGroups v5 names each group's type; KIP-848 groups are described with their own API.
        const consumerIds = listed.filter((l) => l.type === 'consumer').map((l) => l.groupId)
        const shareIds = listed.filter((l) => l.type === 'share').map((l) => l.groupId)
        const classicIds = listed.filter((l) => l.type !== 'consumer' && l.type !== 'share').map((l) => l.groupId)
        const byId = new Map<string, { state: string; members: number }>()
        if (classicIds.length > 0) for (const d of await admin.describeGroups(classicIds)) if (d.error === null) byId.set(d.groupId, { state: d.state, members: d.members.length })
        if (consumerIds.length > 0) for (const d of await admin.describeConsumerGroups(consumerIds)) if (d.error === null) byId.set(d.groupId, { state: d.state, members: d.members.length })
        if (shareIds.length > 0) for (const d of await admin.describeShareGroups(shareIds)) if (d.error === null) byId.set(d.groupId, { state: d.state, members: d.members.length })
        const rows = listed.map((l) => ({
          group: l.groupId,
          state: byId.get(l.groupId)?.state ?? (l.state || 'Unknown'),
          members: byId.get(l.groupId)?.members ?? 0,
          type: l.type || null,
          protocolType: l.protocolType,
        }))
        if (g.json) for (const r of rows) await writeOut(jsonLine(r))
        else if (rows.length > 0) {
          await writeOut(formatTable(['GROUP', 'STATE', 'MEMBERS', 'TYPE', 'PROTOCOL-TYPE'], rows.map((r) => [r.group, r.state, r.members, r.type, r.protocolType || '-'])))
        }
      })
    })

  groups
    .command('describe')
    .argument('<group...>', 'group id(s)')
    .description('members, assignments, committed offsets, end offsets and lag per partition')
    .option('--members', 'list members and their assignments instead of partitions', false)
    .addHelpText(
      'after',
      `
A consumer group of the KIP-848 protocol (type consumer) also shows its group epoch and
assignment epoch, and each member's epoch, subscription, assignment and target assignment (what
the broker's assignor wants it to own once it has reconciled); a classic group shows its members'
assignments. A share group (KIP-932, type share) shows its members and their assignments (members
share partitions), and per partition the share-partition start offset (below it every record is
acknowledged), the log end offset, the lag between them (records not yet acknowledged, in-flight
ones included), IN-FLIGHT (records acquired by members and not yet acknowledged), AVAILABLE
(records inside the in-flight window waiting to be delivered again; '-' for both when the
partition has no state or the broker does not report them) and how many members are assigned the
partition.

Examples:
  $ samsa groups describe billing
  $ samsa groups describe billing --members
  $ samsa groups describe billing --json | jq .totalLag`,
    )
    .action(async (ids: string[], opts: { members: boolean }, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (admin) => {
        let first = true
        for (const id of ids) {
          const d = await describeGroupReport(admin, id)
          if (g.json) {
            await writeOut(jsonLine(d))
            continue
          }
          if (!first) await writeOut('\n')
          first = false
          await printGroup(d, opts.members)
        }
      })
    })

  groups
    .command('reset-offsets')
    .argument('<group>', 'group id')
    .description("move a group's committed offsets, or a share group's start offsets (the group must have no active members)")
    .option('-t, --topic <topic[:p,p]>', 'topic, optionally with partitions; repeatable', (v: string, prev: string[]) => [...prev, v], [])
    .option('--all-topics', 'every topic the group has committed offsets for', false)
    .option('--to-earliest', 'to the earliest available offset', false)
    .option('--to-latest', 'to the log end offset', false)
    .option('--to-offset <n>', 'to offset n (clamped to the available range)')
    .option('--to-datetime <time>', 'to the first offset at or after <time> (ISO-8601, epoch ms, -1h)')
    .option('--shift-by <n>', 'move the committed offset by n (negative moves back)')
    .option('--dry-run', 'show the new offsets without applying them (the default)', false)
    .option('--execute', 'apply the new offsets', false)
    .addHelpText(
      'after',
      `
Examples:
  $ samsa groups reset-offsets billing --topic orders --to-earliest            # show the plan
  $ samsa groups reset-offsets billing --topic orders --to-earliest --execute
  $ samsa groups reset-offsets billing --topic orders:0,1 --shift-by -100 --execute
  $ samsa groups reset-offsets billing --all-topics --to-datetime -2h --execute
  $ samsa groups reset-offsets workers --topic jobs --to-latest --execute   # a share group

For a share group the share-partition start offset moves (AlterShareGroupOffsets): records from
there on are delivered again, those before it never; --all-topics means every topic the share
group has state for.`,
    )
    .action(async (groupId: string, opts: ResetOptions, cmd: Command) => {
      const g = globalOptions(cmd)
      if (opts.dryRun && opts.execute) throw usageError('--dry-run and --execute cannot be combined')
      if (opts.topic.length === 0 && !opts.allTopics) throw usageError('give --topic <topic> or --all-topics')
      const strategy = resetStrategy(opts)
      await withAdmin(g, async (admin) => {
        const share = await describeShareGroup(admin, groupId)
        const description = share ?? (await describeConsumerGroup(admin, groupId)) ?? (await describeClassicGroup(admin, groupId))
        const kip848 = 'groupEpoch' in description
        if (opts.execute && description.members.length > 0) {
          throw new CliError(
            `group '${groupId}' is not empty (state ${description.state}, ${description.members.length} member(s)); stop its consumers before resetting offsets`,
          )
        }
        // A share group's position is its share-partition start offset.
        const committed = share !== null ? await shareStartOffsets(admin, groupId) : await committedOffsets(admin, groupId, [])
        const specs = opts.allTopics ? [...committed.keys()].sort().map((topic) => ({ topic, partitions: null as number[] | null })) : opts.topic.map(parseTopicSpec)
        if (specs.length === 0) throw new CliError(`group '${groupId}' has no committed offsets to reset`)
        await requireTopics(admin, [...new Set(specs.map((s) => s.topic))])
        const plan: { topic: string; partition: number; current: number | null; target: number }[] = []
        for (const spec of specs) {
          const offsets = await admin.topicOffsets(spec.topic)
          const byTime = strategy.kind === 'datetime' ? await admin.listOffsets(spec.topic, strategy.timestamp) : null
          for (const o of offsets) {
            if (spec.partitions !== null && !spec.partitions.includes(o.partition)) continue
            const { low, high } = o
            const current = committed.get(spec.topic)?.get(o.partition) ?? null
            let target: number
            switch (strategy.kind) {
              case 'earliest':
                target = low
                break
              case 'latest':
                target = high
                break
              case 'offset':
                target = strategy.offset
                break
              case 'datetime':
                // No record at or after the time: the log end.
                target = (byTime?.get(o.partition) ?? -1) < 0 ? high : byTime!.get(o.partition)!
                break
              case 'shift':
                target = (current ?? low) + strategy.by
                break
            }
            plan.push({ topic: spec.topic, partition: o.partition, current, target: Math.min(Math.max(target, low), high) })
          }
          if (spec.partitions !== null) {
            const missing = spec.partitions.filter((p) => !offsets.some((o) => o.partition === p))
            if (missing.length > 0) throw new CliError(`topic '${spec.topic}' has no partition ${missing.join(', ')}`)
          }
        }
        if (opts.execute && share !== null) await admin.alterShareGroupOffsets(groupId, plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.target })))
        else if (opts.execute && kip848) await admin.alterOffsets(groupId, plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.target })))
        else if (opts.execute) await commitAsMember(g, admin, groupId, plan)
        if (g.json) {
          for (const p of plan) await writeOut(jsonLine({ group: groupId, ...p, executed: opts.execute }))
        } else {
          await writeOut(
            formatTable(
              ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'],
              plan.map((p) => [groupId, p.topic, p.partition, p.current, p.target]),
              [undefined, undefined, 'right', 'right', 'right'],
            ),
          )
          if (!opts.execute) process.stderr.write('dry run: nothing changed; add --execute to apply\n')
        }
      })
    })

  groups
    .command('delete')
    .argument('<group...>', 'group id(s)')
    .description('delete groups and their committed offsets (each group must have no active members)')
    .addHelpText('after', '\nExamples:\n  $ samsa groups delete billing\n  $ samsa groups delete old-a old-b')
    .action(async (ids: string[], _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (admin) => {
        const failures = [...(await admin.deleteGroups(ids))]
          .filter(([, error]) => error !== null)
          .map(([groupId, error]) => ({ groupId, error: groupError(error!, `deleting group '${groupId}'`) }))
        const failed = new Set(failures.map((f) => f.groupId))
        for (const id of ids) {
          if (failed.has(id)) continue
          await writeOut(g.json ? jsonLine({ group: id, deleted: true }) : `deleted group '${id}'\n`)
        }
        if (failures.length > 0) {
          const lines = failures.map((f) => {
            const type = f.error.type
            if (type === 'NON_EMPTY_GROUP') return `group '${f.groupId}' is not empty (it has active members)`
            if (type === 'GROUP_ID_NOT_FOUND') return `unknown group '${f.groupId}'`
            return `cannot delete group '${f.groupId}': ${describeError(f.error).message}`
          })
          throw new CliError(lines.join('; '), ExitCode.Failure)
        }
      })
    })
}
