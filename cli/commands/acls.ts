// `samsa acls list|add|remove`: ACL bindings through DescribeAcls, CreateAcls and DeleteAcls, with
// kafka-acls.sh's options: --allow-principal / --deny-principal with --allow-host / --deny-host,
// --operation, and the resource as --topic, --group, --cluster, --transactional-id,
// --delegation-token or --user-principal, under --resource-pattern-type (literal by default).

import type { Command } from 'commander'
import type { AclBinding, AclBindingFilter } from '../../broker/client/admin-client.js'
import {
  AclOperation,
  AclPermissionType,
  CLUSTER_NAME,
  operationName,
  parseOperation,
  parsePatternType,
  patternTypeName,
  PatternType,
  permissionTypeName,
  ResourceType,
  resourceTypeName,
  SUPPORTED_OPERATIONS,
} from '../../broker/acls/acl-types.js'
import { globalOptions, withAdmin } from '../lib/client.js'
import { collectList } from '../lib/config-pairs.js'
import { usageError } from '../lib/errors.js'
import { writeOut } from '../lib/output.js'
import { formatTable, jsonLine } from '../lib/table.js'

interface AclOptions {
  allowPrincipal: string[]
  denyPrincipal: string[]
  allowHost: string[]
  denyHost: string[]
  principal: string[]
  operation: string[]
  topic: string[]
  group: string[]
  cluster?: boolean
  transactionalId: string[]
  delegationToken: string[]
  userPrincipal: string[]
  resourcePatternType: string
  producer?: boolean
  consumer?: boolean
  idempotent?: boolean
  force?: boolean
}

export interface AclRow {
  resourceType: string
  resourceName: string
  patternType: string
  principal: string
  host: string
  operation: string
  permissionType: string
}

export function aclRow(b: AclBinding): AclRow {
  return {
    resourceType: resourceTypeName(b.resourceType),
    resourceName: b.resourceName,
    patternType: patternTypeName(b.patternType),
    principal: b.principal,
    host: b.host,
    operation: operationName(b.operation),
    permissionType: permissionTypeName(b.permissionType),
  }
}

function resources(opts: AclOptions): Array<{ resourceType: number; resourceName: string }> {
  return [
    ...opts.topic.map((resourceName) => ({ resourceType: ResourceType.TOPIC, resourceName })),
    ...opts.group.map((resourceName) => ({ resourceType: ResourceType.GROUP, resourceName })),
    ...(opts.cluster ? [{ resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_NAME }] : []),
    ...opts.transactionalId.map((resourceName) => ({ resourceType: ResourceType.TRANSACTIONAL_ID, resourceName })),
    ...opts.delegationToken.map((resourceName) => ({ resourceType: ResourceType.DELEGATION_TOKEN, resourceName })),
    ...opts.userPrincipal.map((resourceName) => ({ resourceType: ResourceType.USER, resourceName })),
  ]
}

function patternType(opts: AclOptions, forFilter: boolean): number {
  const code = parsePatternType(opts.resourcePatternType)
  const allowed = forFilter ? [PatternType.LITERAL, PatternType.PREFIXED, PatternType.ANY, PatternType.MATCH] : [PatternType.LITERAL, PatternType.PREFIXED]
  if (code === undefined || !(allowed as number[]).includes(code)) {
    throw usageError(`--resource-pattern-type must be ${allowed.map((c) => patternTypeName(c).toLowerCase()).join(', ')}, got '${opts.resourcePatternType}'`)
  }
  return code
}

function operations(opts: AclOptions): number[] {
  if (opts.operation.length === 0) return [AclOperation.ALL]
  return opts.operation.map((o) => {
    const code = parseOperation(o)
    if (code === undefined || code === AclOperation.ANY) throw usageError(`unknown --operation '${o}'`)
    return code
  })
}

/** The (principal, host, permission) entries --allow-principal / --deny-principal describe. */
function entries(opts: AclOptions): Array<{ principal: string; host: string; permissionType: number }> {
  const out: Array<{ principal: string; host: string; permissionType: number }> = []
  const add = (principals: string[], hosts: string[], permissionType: number) => {
    for (const principal of principals) {
      if (!principal.includes(':')) throw usageError(`principal '${principal}' must be TYPE:NAME, as User:alice`)
      for (const host of hosts.length === 0 ? ['*'] : hosts) out.push({ principal, host, permissionType })
    }
  }
  add(opts.allowPrincipal, opts.allowHost, AclPermissionType.ALLOW)
  add(opts.denyPrincipal, opts.denyHost, AclPermissionType.DENY)
  return out
}

/** The bindings `samsa acls add` creates: every resource x principal/host x operation. */
export function bindingsToAdd(opts: AclOptions): AclBinding[] {
  if (opts.producer || opts.consumer) return roleBindings(opts)
  const rs = resources(opts)
  if (rs.length === 0) throw usageError('name a resource: --topic, --group, --cluster, --transactional-id, --delegation-token or --user-principal')
  const es = entries(opts)
  if (es.length === 0) throw usageError('name who: --allow-principal or --deny-principal')
  const ops = operations(opts)
  const pattern = patternType(opts, false)
  const out: AclBinding[] = []
  for (const r of rs) {
    const supported = SUPPORTED_OPERATIONS[r.resourceType] ?? []
    for (const op of ops) {
      if (op !== AclOperation.ALL && !supported.includes(op)) {
        throw usageError(`${resourceTypeName(r.resourceType)} supports only ${supported.map(operationName).join(', ')}, not ${operationName(op)}`)
      }
      for (const e of es) out.push({ ...r, patternType: pattern, operation: op, ...e })
    }
  }
  return out
}

/**
 * kafka-acls.sh's --producer (WRITE, DESCRIBE and CREATE on the topics; WRITE and DESCRIBE on the
 * transactional ids; IDEMPOTENT_WRITE on the cluster with --idempotent) and --consumer (READ and
 * DESCRIBE on the topics, READ on the groups).
 */
function roleBindings(opts: AclOptions): AclBinding[] {
  const { READ, WRITE, CREATE, DESCRIBE, IDEMPOTENT_WRITE } = AclOperation
  const sets: Array<[number, string[], number[]]> = []
  if (opts.topic.length === 0) throw usageError('--producer and --consumer need --topic')
  if (opts.producer) {
    sets.push([ResourceType.TOPIC, opts.topic, [WRITE, DESCRIBE, CREATE]], [ResourceType.TRANSACTIONAL_ID, opts.transactionalId, [WRITE, DESCRIBE]])
    if (opts.idempotent) sets.push([ResourceType.CLUSTER, [CLUSTER_NAME], [IDEMPOTENT_WRITE]])
  }
  if (opts.consumer) {
    if (opts.group.length === 0) throw usageError('--consumer needs --group')
    sets.push([ResourceType.TOPIC, opts.topic, [READ, DESCRIBE]], [ResourceType.GROUP, opts.group, [READ]])
  }
  const es = entries(opts)
  if (es.length === 0) throw usageError('name who: --allow-principal or --deny-principal')
  const pattern = patternType(opts, false)
  const out: AclBinding[] = []
  const seen = new Set<string>()
  for (const [resourceType, names, ops] of sets) {
    for (const resourceName of names) {
      const p = resourceType === ResourceType.CLUSTER ? PatternType.LITERAL : pattern
      for (const operation of ops) {
        for (const e of es) {
          const key = `${resourceType}/${resourceName}/${operation}/${e.principal}/${e.host}/${e.permissionType}`
          if (!seen.has(key)) out.push({ resourceType, resourceName, patternType: p, operation, ...e })
          seen.add(key)
        }
      }
    }
  }
  return out
}

/** The filters `samsa acls remove` / `list` send; without principals, everything on the resources. */
export function filtersFor(opts: AclOptions): AclBindingFilter[] {
  const rs = resources(opts)
  const pattern = rs.length === 0 ? PatternType.ANY : patternType(opts, true)
  const targets = rs.length === 0 ? [{ resourceType: ResourceType.ANY, resourceName: null }] : rs
  const es = entries(opts)
  const whom =
    es.length > 0
      ? es.flatMap((e) => operations(opts).map((operation) => ({ ...e, operation: opts.operation.length === 0 ? AclOperation.ANY : operation })))
      : (opts.principal.length > 0 ? opts.principal : [null]).map((principal) => ({ principal, host: null, permissionType: AclPermissionType.ANY, operation: AclOperation.ANY }))
  return targets.flatMap((t) => whom.map((w) => ({ ...t, patternType: pattern, ...w })))
}

async function printBindings(bindings: readonly AclBinding[], json: boolean): Promise<void> {
  const rows = bindings.map(aclRow)
  if (json) {
    for (const r of rows) await writeOut(jsonLine(r))
  } else if (rows.length > 0) {
    await writeOut(
      formatTable(
        ['RESOURCE-TYPE', 'NAME', 'PATTERN', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION'],
        rows.map((r) => [r.resourceType, r.resourceName, r.patternType, r.principal, r.host, r.operation, r.permissionType]),
      ),
    )
  }
}

/** Repeatable options whose values may hold commas (principals such as User:CN=alice,O=acme). */
function repeat(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

function aclOptions(cmd: Command): Command {
  return cmd
    .option('--allow-principal <principal>', 'principal to allow, as User:alice (repeatable)', repeat, [])
    .option('--deny-principal <principal>', 'principal to deny (repeatable)', repeat, [])
    .option('--allow-host <host>', 'host the allowed principals may connect from (default *)', collectList, [])
    .option('--deny-host <host>', 'host the denied principals are denied from (default *)', collectList, [])
    .option('--operation <op>', 'Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All (repeatable)', collectList, [])
    .option('--topic <topic>', 'topic resource (repeatable)', collectList, [])
    .option('--group <group>', 'consumer group resource (repeatable)', collectList, [])
    .option('--cluster', 'the cluster resource')
    .option('--transactional-id <id>', 'transactional id resource (repeatable)', collectList, [])
    .option('--delegation-token <id>', 'delegation token resource (repeatable)', collectList, [])
    .option('--user-principal <principal>', 'user resource (repeatable)', repeat, [])
    .option('--resource-pattern-type <type>', 'literal or prefixed; list and remove also take any and match', 'literal')
    .option('--producer', 'the ACLs a producer needs: WRITE, DESCRIBE, CREATE on --topic; WRITE, DESCRIBE on --transactional-id')
    .option('--consumer', 'the ACLs a consumer needs: READ, DESCRIBE on --topic; READ on --group')
    .option('--idempotent', 'with --producer: IDEMPOTENT_WRITE on the cluster')
}

export function registerAcls(program: Command): void {
  const acls = program
    .command('acls')
    .description("list, add and remove ACLs, with kafka-acls.sh's options")
    .addHelpText(
      'after',
      `
Examples:
  $ samsa acls add --allow-principal User:alice --operation Read --operation Describe --topic orders
  $ samsa acls add --allow-principal User:etl --operation Write --topic sales- --resource-pattern-type prefixed
  $ samsa acls add --deny-principal User:mallory --deny-host 10.0.0.9 --operation All --topic '*'
  $ samsa acls add --allow-principal User:app --producer --topic orders --transactional-id app-tx
  $ samsa acls add --allow-principal User:app --consumer --topic orders --group billing
  $ samsa acls list --topic orders
  $ samsa acls remove --allow-principal User:alice --operation Read --topic orders`,
    )

  aclOptions(acls.command('list').description('ACL bindings, all or those on the named resources'))
    .option('--principal <principal>', 'only bindings of this principal (repeatable)', repeat, [])
    .action(async (opts: AclOptions, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (client) => {
        const found = (await Promise.all(filtersFor(opts).map((f) => client.describeAcls(f)))).flat()
        await printBindings(found, g.json)
      })
    })

  aclOptions(acls.command('add').description('create ACL bindings: every resource x principal x host x operation'))
    .action(async (opts: AclOptions, cmd: Command) => {
      const g = globalOptions(cmd)
      const bindings = bindingsToAdd({ ...opts, principal: [] })
      await withAdmin(g, async (client) => {
        await client.createAcls(bindings)
        await printBindings(bindings, g.json)
      })
    })

  aclOptions(acls.command('remove').description('delete matching ACL bindings (without principals: every binding on the resources)'))
    .option('--force', 'accepted for kafka-acls.sh compatibility; samsa never asks')
    .action(async (opts: AclOptions, cmd: Command) => {
      const g = globalOptions(cmd)
      if (resources(opts).length === 0) throw usageError('name a resource to remove ACLs from')
      await withAdmin(g, async (client) => {
        const removed = await client.deleteAcls(filtersFor({ ...opts, principal: [] }))
        await printBindings(removed, g.json)
      })
    })
}
