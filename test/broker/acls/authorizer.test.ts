import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MetadataStore } from '../../../storage/metadata-store.js'
import { AclStore, type AclBinding } from '../../../storage/acl-store.js'
import { LocalAdminState } from '../../../storage/admin-state.js'
import { BrokerConfig } from '../../../broker/config.js'
import { Authorizer, authorizerEnabled } from '../../../broker/acls/authorizer.js'
import { AclOperation as Op, AclPermissionType, PatternType, ResourceType, CLUSTER_NAME, parseOperation } from '../../../broker/acls/acl-types.js'
import { filterMatches, invalidBinding } from '../../../broker/acls/acl-filter.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'

const ALICE = 'User:alice'
const BOB = 'User:bob'
const HOST = '10.0.0.1'

function acl(p: Partial<AclBinding> & { operation: number }): AclBinding {
  return {
    resourceType: ResourceType.TOPIC,
    resourceName: 'orders',
    patternType: PatternType.LITERAL,
    principal: ALICE,
    host: '*',
    permissionType: AclPermissionType.ALLOW,
    ...p,
  }
}

describe('Authorizer', () => {
  let dir: string
  let meta: MetadataStore
  let store: AclStore
  let config: BrokerConfig
  let authz: Authorizer

  beforeEach(async () => {
    dir = await makeTempDir('samsa-acl-')
    meta = MetadataStore.open(dir)
    store = new AclStore(new LocalAdminState(meta))
    config = new BrokerConfig({ 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer' })
    authz = new Authorizer(store, config)
  })
  afterEach(async () => {
    await meta.close()
    await removeDir(dir)
  })

  const may = (principal: string, op: number, name = 'orders', type: number = ResourceType.TOPIC, host = HOST) => authz.authorize(principal, host, op, type, name)

  it('denies a resource without ACLs unless allow.everyone.if.no.acl.found', () => {
    expect(may(ALICE, Op.READ)).toBe(false)
    config.setDynamic('allow.everyone.if.no.acl.found', 'true')
    expect(may(ALICE, Op.READ)).toBe(true)
  })

  it('an ACL on the resource for someone else still closes it when allow.everyone.if.no.acl.found is set', async () => {
    config.setDynamic('allow.everyone.if.no.acl.found', 'true')
    await store.add([acl({ principal: BOB, operation: Op.READ })])
    expect(may(ALICE, Op.READ)).toBe(false)
    expect(may(BOB, Op.READ)).toBe(true)
  })

  it('READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; nothing else is implied', async () => {
    for (const op of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER]) {
      await store.remove(() => true)
      await store.add([acl({ operation: op })])
      expect(may(ALICE, Op.DESCRIBE), `DESCRIBE from ${op}`).toBe(true)
      expect(may(ALICE, Op.DESCRIBE_CONFIGS), `DESCRIBE_CONFIGS from ${op}`).toBe(false)
    }
    await store.remove(() => true)
    await store.add([acl({ operation: Op.ALTER_CONFIGS })])
    expect(may(ALICE, Op.DESCRIBE_CONFIGS)).toBe(true)
    expect(may(ALICE, Op.DESCRIBE)).toBe(false)
    await store.remove(() => true)
    await store.add([acl({ operation: Op.READ })])
    expect(may(ALICE, Op.WRITE)).toBe(false)
  })

  it('ALL grants every operation; a DENY beats any ALLOW, and a DENY of READ does not deny DESCRIBE', async () => {
    await store.add([acl({ operation: Op.ALL }), acl({ operation: Op.READ, permissionType: AclPermissionType.DENY })])
    expect(may(ALICE, Op.WRITE)).toBe(true)
    expect(may(ALICE, Op.READ)).toBe(false)
    expect(may(ALICE, Op.DESCRIBE)).toBe(true)
    await store.add([acl({ operation: Op.ALL, permissionType: AclPermissionType.DENY, resourceName: '*' })])
    expect(may(ALICE, Op.WRITE)).toBe(false)
  })

  it('PREFIXED patterns match names that start with them; the literal * matches every name', async () => {
    await store.add([acl({ operation: Op.READ, resourceName: 'sales-', patternType: PatternType.PREFIXED })])
    expect(may(ALICE, Op.READ, 'sales-eu')).toBe(true)
    expect(may(ALICE, Op.READ, 'sales')).toBe(false)
    expect(may(ALICE, Op.READ, 'marketing')).toBe(false)
    await store.add([acl({ operation: Op.WRITE, resourceName: '*' })])
    expect(may(ALICE, Op.WRITE, 'marketing')).toBe(true)
    await store.add([acl({ operation: Op.READ, resourceName: 'sales-eu', permissionType: AclPermissionType.DENY, patternType: PatternType.PREFIXED })])
    expect(may(ALICE, Op.READ, 'sales-eu-1')).toBe(false)
    expect(may(ALICE, Op.READ, 'sales-us')).toBe(true)
  })

  it('matches principals and hosts exactly or by wildcard', async () => {
    await store.add([acl({ operation: Op.READ, host: '10.0.0.1' }), acl({ operation: Op.WRITE, principal: 'User:*', host: '10.0.0.2' })])
    expect(may(ALICE, Op.READ, 'orders', ResourceType.TOPIC, '10.0.0.1')).toBe(true)
    expect(may(ALICE, Op.READ, 'orders', ResourceType.TOPIC, '10.0.0.9')).toBe(false)
    expect(may(BOB, Op.READ, 'orders', ResourceType.TOPIC, '10.0.0.1')).toBe(false)
    expect(may(BOB, Op.WRITE, 'orders', ResourceType.TOPIC, '10.0.0.2')).toBe(true)
    expect(may(BOB, Op.WRITE, 'orders', ResourceType.TOPIC, '10.0.0.1')).toBe(false)
  })

  it('super users may do anything, even against a DENY', async () => {
    await store.add([acl({ operation: Op.ALL, permissionType: AclPermissionType.DENY, principal: 'User:*' })])
    config.setDynamic('super.users', 'User:admin;User:ops')
    expect(may('User:ops', Op.DELETE)).toBe(true)
    expect(may('User:admin', Op.ALTER, CLUSTER_NAME, ResourceType.CLUSTER)).toBe(true)
    expect(may(ALICE, Op.READ)).toBe(false)
  })

  it('resource types are kept apart', async () => {
    await store.add([acl({ operation: Op.READ, resourceType: ResourceType.GROUP })])
    expect(may(ALICE, Op.READ, 'orders', ResourceType.GROUP)).toBe(true)
    expect(may(ALICE, Op.READ, 'orders', ResourceType.TOPIC)).toBe(false)
  })

  it('authorizeByResourceType: some ALLOW of the type not covered by a DENY', async () => {
    expect(authz.authorizeByResourceType(ALICE, HOST, Op.WRITE, ResourceType.TOPIC)).toBe(false)
    await store.add([acl({ operation: Op.WRITE, resourceName: 'sales-eu' })])
    expect(authz.authorizeByResourceType(ALICE, HOST, Op.WRITE, ResourceType.TOPIC)).toBe(true)
    expect(authz.authorizeByResourceType(BOB, HOST, Op.WRITE, ResourceType.TOPIC)).toBe(false)
    await store.add([acl({ operation: Op.WRITE, resourceName: 'sales', patternType: PatternType.PREFIXED, permissionType: AclPermissionType.DENY })])
    expect(authz.authorizeByResourceType(ALICE, HOST, Op.WRITE, ResourceType.TOPIC)).toBe(false)
  })

  it('the authorized-operations bitfield lists exactly the allowed operations of the type', async () => {
    await store.add([acl({ operation: Op.READ }), acl({ operation: Op.ALTER_CONFIGS })])
    const bits = authz.authorizedOperations(ALICE, HOST, ResourceType.TOPIC, 'orders')
    expect(bits).toBe((1 << Op.READ) | (1 << Op.DESCRIBE) | (1 << Op.ALTER_CONFIGS) | (1 << Op.DESCRIBE_CONFIGS))
  })

  it('applies a change to the next check and keeps the bindings across a reopen', async () => {
    await store.add([acl({ operation: Op.READ })])
    expect(may(ALICE, Op.READ)).toBe(true)
    await store.remove((b) => b.operation === Op.READ)
    expect(may(ALICE, Op.READ)).toBe(false)
    await store.add([acl({ operation: Op.WRITE }), acl({ operation: Op.WRITE })])
    expect(store.list()).toHaveLength(1)
    await meta.close()
    meta = MetadataStore.open(dir)
    const reopened = new Authorizer(new AclStore(new LocalAdminState(meta)), config)
    expect(reopened.authorize(ALICE, HOST, Op.WRITE, ResourceType.TOPIC, 'orders')).toBe(true)
  })
})

describe('ACL vocabulary', () => {
  it('authorizer.class.name accepts Kafka\'s authorizers and Samsa\'s, refuses others, and is off when empty', () => {
    expect(authorizerEnabled('')).toBe(false)
    expect(authorizerEnabled('org.apache.kafka.metadata.authorizer.StandardAuthorizer')).toBe(true)
    expect(authorizerEnabled('kafka.security.authorizer.AclAuthorizer')).toBe(true)
    expect(authorizerEnabled('samsa.security.Authorizer')).toBe(true)
    expect(() => authorizerEnabled('com.example.Custom')).toThrow(/unknown authorizer/)
  })

  it('parses operations as kafka-acls.sh spells them', () => {
    expect(parseOperation('Read')).toBe(Op.READ)
    expect(parseOperation('IdempotentWrite')).toBe(Op.IDEMPOTENT_WRITE)
    expect(parseOperation('DESCRIBE_CONFIGS')).toBe(Op.DESCRIBE_CONFIGS)
    expect(parseOperation('Fly')).toBeUndefined()
  })

  it('filters: MATCH finds what applies to a name, ANY a name under any pattern, LITERAL only that pattern', () => {
    const literal = acl({ operation: Op.READ, resourceName: 'sales-eu' })
    const prefixed = acl({ operation: Op.READ, resourceName: 'sales-', patternType: PatternType.PREFIXED })
    const wildcard = acl({ operation: Op.READ, resourceName: '*' })
    const f = (patternType: number, resourceName: string | null) => ({
      resourceType: ResourceType.TOPIC, resourceName, patternType, principal: null, host: null, operation: Op.ANY, permissionType: AclPermissionType.ANY,
    })
    expect([literal, prefixed, wildcard].map((b) => filterMatches(f(PatternType.MATCH, 'sales-eu'), b))).toEqual([true, true, true])
    expect([literal, prefixed, wildcard].map((b) => filterMatches(f(PatternType.ANY, 'sales-'), b))).toEqual([false, true, false])
    expect([literal, prefixed, wildcard].map((b) => filterMatches(f(PatternType.LITERAL, null), b))).toEqual([true, false, true])
    expect(filterMatches({ ...f(PatternType.ANY, null), principal: BOB }, literal)).toBe(false)
  })

  it('refuses bindings Kafka refuses', () => {
    expect(invalidBinding(acl({ operation: Op.READ }))).toBeUndefined()
    expect(invalidBinding(acl({ operation: Op.ANY }))).toMatch(/operation/)
    expect(invalidBinding(acl({ operation: Op.READ, patternType: PatternType.MATCH }))).toMatch(/patternType/)
    expect(invalidBinding(acl({ operation: Op.READ, principal: 'alice' }))).toMatch(/principal/)
    expect(invalidBinding(acl({ operation: Op.ALTER, resourceType: ResourceType.CLUSTER, resourceName: 'x' }))).toMatch(/kafka-cluster/)
  })
})
