// `samsa acls list|add|remove` against an in-process broker with ACLs enforced; the anonymous
// principal is a super user so the commands may administer. Enforcement of what they store is
// tested in test/integration/acls-*.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import type { AclRow } from '../../cli/commands/acls.js'
import { ensureBuilt, jsonLines, samsa } from './harness.js'

const AUTHORIZER = { 'authorizer.class.name': 'samsa.security.Authorizer', 'super.users': 'User:ANONYMOUS' }

describe('samsa acls', () => {
  let broker: RunningBroker
  let b: string[]
  beforeAll(async () => {
    ensureBuilt()
    broker = await startBroker({ port: 0, config: AUTHORIZER, logLevel: 'silent' })
    b = ['--bootstrap-server', broker.address]
  })
  afterAll(async () => {
    await broker?.stop()
  })

  it('adds, lists and removes bindings with kafka-acls.sh options', async () => {
    const add = await samsa([...b, '--json', 'acls', 'add', '--allow-principal', 'User:alice', '--allow-principal', 'User:CN=bob,O=acme', '--operation', 'Read', '--operation', 'Describe', '--topic', 'orders'])
    expect(add.stderr).toBe('')
    expect(add.code).toBe(0)
    expect(jsonLines<AclRow>(add.stdout)).toHaveLength(4)

    const prefixed = await samsa([...b, 'acls', 'add', '--deny-principal', 'User:mallory', '--deny-host', '10.0.0.9', '--operation', 'IdempotentWrite', '--cluster'])
    expect(prefixed.code).toBe(0)
    const etl = await samsa([...b, 'acls', 'add', '--allow-principal', 'User:etl', '--operation', 'Write', '--topic', 'sales-', '--resource-pattern-type', 'prefixed', '--group', 'etl'])
    // Write is not an operation of groups: refused before anything is sent.
    expect(etl.code).not.toBe(0)
    expect(etl.stderr).toMatch(/GROUP supports only/)

    const all = await samsa([...b, '--json', 'acls', 'list'])
    expect(all.code).toBe(0)
    const rows = jsonLines<AclRow>(all.stdout).map((r) => `${r.resourceType}:${r.resourceName}:${r.patternType} ${r.principal}@${r.host} ${r.permissionType} ${r.operation}`).sort()
    expect(rows).toEqual([
      'CLUSTER:kafka-cluster:LITERAL User:mallory@10.0.0.9 DENY IDEMPOTENT_WRITE',
      'TOPIC:orders:LITERAL User:CN=bob,O=acme@* ALLOW DESCRIBE',
      'TOPIC:orders:LITERAL User:CN=bob,O=acme@* ALLOW READ',
      'TOPIC:orders:LITERAL User:alice@* ALLOW DESCRIBE',
      'TOPIC:orders:LITERAL User:alice@* ALLOW READ',
    ])

    const human = await samsa([...b, 'acls', 'list', '--topic', 'orders', '--principal', 'User:alice'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^RESOURCE-TYPE\s+NAME\s+PATTERN\s+PRINCIPAL\s+HOST\s+OPERATION\s+PERMISSION\n/)
    expect(human.stdout.trim().split('\n')).toHaveLength(3)

    const removed = await samsa([...b, '--json', 'acls', 'remove', '--allow-principal', 'User:alice', '--operation', 'Read', '--topic', 'orders', '--force'])
    expect(removed.code).toBe(0)
    expect(jsonLines<AclRow>(removed.stdout).map((r) => `${r.principal} ${r.operation}`)).toEqual(['User:alice READ'])

    // Without principals, remove takes every binding on the resource.
    const wipe = await samsa([...b, '--json', 'acls', 'remove', '--topic', 'orders'])
    expect(jsonLines<AclRow>(wipe.stdout)).toHaveLength(3)
    const left = await samsa([...b, '--json', 'acls', 'list'])
    expect(jsonLines<AclRow>(left.stdout).map((r) => r.principal)).toEqual(['User:mallory'])
  })

  it('--producer and --consumer add the bindings kafka-acls.sh adds for them', async () => {
    const r = await samsa([...b, '--json', 'acls', 'add', '--allow-principal', 'User:app', '--producer', '--consumer', '--topic', 'events', '--group', 'billing', '--transactional-id', 'app-tx'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const listed = await samsa([...b, '--json', 'acls', 'list', '--principal', 'User:app'])
    expect(jsonLines<AclRow>(listed.stdout).map((x) => `${x.resourceType}:${x.resourceName} ${x.operation}`).sort()).toEqual([
      'GROUP:billing READ',
      'TOPIC:events CREATE',
      'TOPIC:events DESCRIBE',
      'TOPIC:events READ',
      'TOPIC:events WRITE',
      'TRANSACTIONAL_ID:app-tx DESCRIBE',
      'TRANSACTIONAL_ID:app-tx WRITE',
    ])
    const noGroup = await samsa([...b, 'acls', 'add', '--allow-principal', 'User:app', '--consumer', '--topic', 'events'])
    expect(noGroup.code).not.toBe(0)
    expect(noGroup.stderr).toMatch(/--group/)
  })

  it('reports the refusal of a broker without an authorizer', async () => {
    const plain = await startBroker({ port: 0, logLevel: 'silent' })
    try {
      const r = await samsa(['--bootstrap-server', plain.address, 'acls', 'list'])
      expect(r.code).not.toBe(0)
      expect(r.stderr).toMatch(/SECURITY_DISABLED/)
    } finally {
      await plain.stop()
    }
  })
})
