// ACL administration with kafkajs' admin client: CreateAcls, DescribeAcls and DeleteAcls round
// trip, the bindings survive a restart, and enforcement follows them at once. Without an
// authorizer the ACL APIs answer SECURITY_DISABLED, as Kafka's do.
import { afterAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { kafkaClient, startTestBroker } from '../helpers/broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'

const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs

const AUTHORIZER = { 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer' }

describe('ACL administration (kafkajs)', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c()
  })

  it('answers SECURITY_DISABLED without an authorizer', async () => {
    const tb = await startTestBroker()
    cleanups.push(() => tb.stop())
    const admin = kafkaClient(tb.address).admin()
    await admin.connect()
    try {
      await expect(
        admin.describeAcls({
          resourceType: AclResourceTypes.ANY,
          resourcePatternType: ResourcePatternTypes.ANY,
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ANY,
        }),
      ).rejects.toMatchObject({ type: 'SECURITY_DISABLED' })
    } finally {
      await admin.disconnect()
    }
  })

  it('creates, describes and deletes ACLs; they survive a restart and apply at once', async () => {
    const dataDir = await makeTempDir('samsa-acls-')
    cleanups.push(() => removeDir(dataDir))
    const start = (config: Record<string, string>) => startBroker({ dataDir, host: '127.0.0.1', port: 0, config: { ...AUTHORIZER, ...config }, logLevel: 'silent' })

    // First run: the anonymous principal is a super user, so it may set the ACLs up.
    let broker: RunningBroker = await start({ 'super.users': 'User:ANONYMOUS' })
    let admin = kafkaClient(broker.address).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'orders' }, { topic: 'payments' }] })
    const readOrders = {
      resourceType: AclResourceTypes.TOPIC,
      resourceName: 'orders',
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: 'User:ANONYMOUS',
      host: '*',
      operation: AclOperationTypes.READ,
      permissionType: AclPermissionTypes.ALLOW,
    }
    const denyPay = { ...readOrders, resourceName: 'pay', resourcePatternType: ResourcePatternTypes.PREFIXED, operation: AclOperationTypes.ALL, permissionType: AclPermissionTypes.DENY }
    const clusterDescribe = { ...readOrders, resourceType: AclResourceTypes.CLUSTER, resourceName: 'kafka-cluster', operation: AclOperationTypes.ALTER }
    const doomed = { ...readOrders, principal: 'User:mallory' }
    await admin.createAcls({ acl: [readOrders, denyPay, clusterDescribe, doomed] })

    const described = await admin.describeAcls({
      resourceType: AclResourceTypes.TOPIC,
      resourceName: 'orders',
      resourcePatternType: ResourcePatternTypes.LITERAL,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    })
    expect(described.resources).toEqual([
      {
        resourceType: AclResourceTypes.TOPIC,
        resourceName: 'orders',
        resourcePatternType: ResourcePatternTypes.LITERAL,
        acls: [
          { principal: 'User:ANONYMOUS', host: '*', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW },
          { principal: 'User:mallory', host: '*', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW },
        ],
      },
    ])
    // MATCH finds every binding that applies to a name: the prefixed DENY applies to 'payments'.
    const matching = await admin.describeAcls({
      resourceType: AclResourceTypes.TOPIC,
      resourceName: 'payments',
      resourcePatternType: ResourcePatternTypes.MATCH,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    })
    expect(matching.resources.map((r) => [r.resourceName, r.resourcePatternType])).toEqual([['pay', ResourcePatternTypes.PREFIXED]])

    const deleted = await admin.deleteAcls({
      filters: [{ resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, principal: 'User:mallory', operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }],
    })
    expect(deleted.filterResponses).toHaveLength(1)
    expect(deleted.filterResponses[0]!.errorCode).toBe(0)
    expect(deleted.filterResponses[0]!.matchingAcls).toMatchObject([{ principal: 'User:mallory', resourceName: 'orders', operation: AclOperationTypes.READ }])
    await admin.disconnect()
    await broker.stop()

    // Second run: no super users. What the anonymous principal may do now comes from the ACLs
    // stored in the first run.
    broker = await start({})
    cleanups.push(() => broker.stop())
    admin = kafkaClient(broker.address).admin()
    await admin.connect()
    try {
      // ALTER on the cluster (kept across the restart) implies DESCRIBE: the listing is allowed.
      const all = await admin.describeAcls({
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      })
      const flat = all.resources.flatMap((r) => r.acls.map((a) => `${r.resourceName}/${a.principal}/${a.operation}/${a.permissionType}`)).sort()
      expect(flat).toEqual(['kafka-cluster/User:ANONYMOUS/7/3', 'orders/User:ANONYMOUS/3/3', 'pay/User:ANONYMOUS/2/2'])

      // READ on 'orders' implies DESCRIBE: the topic is listed; 'payments' is hidden.
      const topics = await admin.listTopics()
      expect(topics).toEqual(['orders'])
      const producer = kafkaClient(broker.address, { retry: { retries: 0 } }).producer()
      await producer.connect()
      try {
        await expect(producer.send({ topic: 'orders', messages: [{ value: 'x' }] })).rejects.toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED' })
        // Granting WRITE applies to the next request, without a restart.
        await admin.createAcls({ acl: [{ ...readOrders, operation: AclOperationTypes.WRITE }] })
        await expect(producer.send({ topic: 'orders', messages: [{ value: 'x' }] })).resolves.toBeDefined()
      } finally {
        await producer.disconnect()
      }
    } finally {
      await admin.disconnect()
    }
  })
})
