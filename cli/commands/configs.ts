import type { Command } from 'commander'
import type { AdminClient } from '../../broker/client/admin-client.js'
import { globalOptions, requireTopics, withAdmin } from '../lib/client.js'
import { alterEntity, describeEntity, isNonDefault, parseEntityType, sourceName, type EntityType } from '../lib/configs.js'
import { collectList, collectPairs } from '../lib/config-pairs.js'
import { CliError, usageError } from '../lib/errors.js'
import { writeOut } from '../lib/output.js'
import { formatTable, jsonLine } from '../lib/table.js'

interface EntityOptions {
  entityType: string
  entityName?: string
}

async function resolveEntity(admin: AdminClient, opts: EntityOptions): Promise<{ type: EntityType; name: string }> {
  const type = parseEntityType(opts.entityType)
  if (type === 'group') {
    // Kafka's group configs (KIP-848, KIP-932): a group need not exist to be configured.
    if (opts.entityName === undefined) throw usageError('--entity-name <group> is required for groups')
    return { type, name: opts.entityName }
  }
  if (type === 'topic') {
    if (opts.entityName === undefined) throw usageError('--entity-name <topic> is required for topics')
    await requireTopics(admin, [opts.entityName])
    return { type, name: opts.entityName }
  }
  const { brokers, controllerId } = await admin.metadata([])
  if (opts.entityName === undefined) return { type, name: String(controllerId >= 0 ? controllerId : (brokers[0]?.nodeId ?? 1)) }
  if (!brokers.some((b) => String(b.nodeId) === opts.entityName)) {
    throw new CliError(`unknown broker '${opts.entityName}' (brokers: ${brokers.map((b) => b.nodeId).join(', ')})`)
  }
  return { type, name: opts.entityName }
}

export function registerConfigs(program: Command): void {
  const configs = program
    .command('configs')
    .description('describe and alter topic and broker configs')
    .addHelpText('after', `
Examples:
  $ samsa configs describe --entity-type topic --entity-name orders
  $ samsa configs describe --entity-type broker --all
  $ samsa configs alter --entity-type topic --entity-name orders --add-config retention.ms=600000
  $ samsa configs alter --entity-type broker --entity-name 1 --delete-config log.retention.ms
  $ samsa configs alter --entity-type group --entity-name workers --add-config share.auto.offset.reset=earliest`)

  configs
    .command('describe')
    .description('show configs (by default only those not at their built-in default)')
    .requiredOption('--entity-type <topic|broker|group>', 'what to describe')
    .option('--entity-name <name>', 'topic name, broker id (brokers default to the controller) or group id')
    .option('--all', 'include configs at their default value', false)
    .addHelpText('after', '\nExamples:\n  $ samsa configs describe --entity-type topic --entity-name orders\n  $ samsa configs describe --entity-type broker --entity-name 1 --all --json')
    .action(async (opts: EntityOptions & { all: boolean }, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (admin) => {
        const entity = await resolveEntity(admin, opts)
        const entries = (await describeEntity(admin, entity.type, entity.name)).filter((e) => opts.all || isNonDefault(e))
        const rows = entries.map((e) => ({
          name: e.name,
          value: e.isSensitive ? null : e.value,
          source: sourceName(e.source),
          sensitive: e.isSensitive,
          readOnly: e.readOnly,
        }))
        if (g.json) {
          for (const r of rows) await writeOut(jsonLine({ entityType: entity.type, entityName: entity.name, ...r }))
          return
        }
        if (rows.length === 0) {
          process.stderr.write(`${entity.type} '${entity.name}' has no non-default configs (use --all to see every config)\n`)
          return
        }
        await writeOut(
          formatTable(
            ['NAME', 'VALUE', 'SOURCE', 'READ-ONLY'],
            rows.map((r) => [r.name, r.sensitive ? '(sensitive)' : r.value, r.source, r.readOnly ? 'yes' : 'no']),
            ['left', 'left', 'left', 'left'],
          ),
        )
      })
    })

  configs
    .command('alter')
    .description('set or remove config overrides')
    .requiredOption('--entity-type <topic|broker|group>', 'what to alter')
    .option('--entity-name <name>', 'topic name, broker id (brokers default to the controller) or group id')
    .option('--add-config <key=value>', 'set a config, repeatable or comma-separated', collectPairs, [])
    .option('--delete-config <key>', 'remove an override, repeatable or comma-separated', collectList, [])
    .option('--dry-run', 'validate on the broker without applying', false)
    .addHelpText('after', '\nExamples:\n  $ samsa configs alter --entity-type topic --entity-name orders --add-config retention.ms=600000,segment.bytes=1048576\n  $ samsa configs alter --entity-type topic --entity-name orders --delete-config retention.ms')
    .action(async (opts: EntityOptions & { addConfig: [string, string][]; deleteConfig: string[]; dryRun: boolean }, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (admin) => {
        const entity = await resolveEntity(admin, opts)
        const changes = await alterEntity(admin, entity.type, entity.name, opts.addConfig, opts.deleteConfig, opts.dryRun)
        for (const c of changes) {
          if (g.json) await writeOut(jsonLine({ entityType: entity.type, entityName: entity.name, ...c, dryRun: opts.dryRun }))
          else await writeOut(`${opts.dryRun ? '(dry run) ' : ''}${entity.type} ${entity.name}: ${c.key} ${c.after === null ? 'removed' : `= ${c.after}`}\n`)
        }
      })
    })
}
