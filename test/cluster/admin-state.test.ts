// ACLs, SCRAM credentials, group configs and dynamic broker configs in a three-broker cluster live
// in etcd: what is created through one broker applies on the others (a kafkajs SASL user is
// refused, then let in, by an ACL made elsewhere; a SCRAM user made through one broker logs in
// on another), and a broker whose data directory is wiped comes back with all of it. A data
// directory that was a single broker's brings its state along when it is the first to hold any;
// later ones do not override the cluster's. While etcd is down, logins and authorization go on
// from the last state seen and changes answer REQUEST_TIMED_OUT.
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { Kafka } from 'kafkajs'
import { randomBytes } from 'node:crypto'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'
import { removeDir } from '../helpers/temp-dir.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import { makeCredential, saltPassword, ScramCredentialStore } from '../../broker/security/scram-credentials.js'
import { acquireDataDirLock, releaseDataDirLock } from '../../storage/data-dir-lock.js'
import { METADATA_DIR } from '../../storage/log-manager.js'
import { withOfflineCredentials } from '../../broker/security/offline-credentials.js'
import { MetadataStore } from '../../storage/metadata-store.js'
import { LocalAdminState } from '../../storage/admin-state.js'
import { AclStore } from '../../storage/acl-store.js'
import { BROKER_DYNAMIC_CONFIG_KEY, groupConfigKey } from '../../storage/metadata-keys.js'
import { CreateAclsApi } from '../../protocol/generated/create-acls.js'
import { AlterUserScramCredentialsApi } from '../../protocol/generated/alter-user-scram-credentials.js'
import { IncrementalAlterConfigsApi } from '../../protocol/generated/incremental-alter-configs.js'
import { DescribeConfigsApi } from '../../protocol/generated/describe-configs.js'
import { ErrorCode } from '../../protocol/errors.js'
import { ConfigSource } from '../../broker/topic-configs.js'

const { Kafka: KafkaClient, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs

const SASL = 'SASL_PLAINTEXT'
const GROUP = 32
const BROKER = 4

/** A request with Samsa's own client (kafkajs has no SCRAM or incremental-config admin calls). */
async function onBroker<T>(address: string, fn: (c: BrokerConnection) => Promise<T>): Promise<T> {
  const c = await BrokerConnection.connect(address, { clientId: 'admin-state-test', connectTimeoutMs: 5_000, requestTimeoutMs: 10_000 })
  try {
    return await fn(c)
  } finally {
    c.close()
  }
}

/** What a single broker on `dataDir` would have stored: a SCRAM user, its ACLs, dynamic configs and a group's config. */
async function seedSingleBrokerState(dataDir: string, username: string, acls: Array<{ topic: string; operation: number }>, configs: Record<string, string>): Promise<void> {
  acquireDataDirLock(dataDir)
  const metadata = MetadataStore.open(path.join(dataDir, METADATA_DIR))
  try {
    const state = new LocalAdminState(metadata)
    await new ScramCredentialStore(state).alter({ upsertions: [{ user: username, mechanism: 'SCRAM-SHA-256', credential: await makeCredential('SCRAM-SHA-256', `${username}-secret`) }] })
    await new AclStore(state).add(acls.map((a) => ({ resourceType: 2, resourceName: a.topic, patternType: 3, principal: `User:${username}`, host: '*', operation: a.operation, permissionType: 3 })))
    await state.update(BROKER_DYNAMIC_CONFIG_KEY, () => configs)
    await state.update(groupConfigKey(`${username}-group`), () => ({ 'share.auto.offset.reset': 'earliest' }))
  } finally {
    await metadata.close()
    releaseDataDirLock(dataDir)
  }
}

/** The Kafka error type a kafkajs call failed with, or undefined when it succeeded. */
async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
    return undefined
  } catch (err) {
    const e = err as { type?: string; cause?: { type?: string } }
    return e.type ?? e.cause?.type ?? String(err)
  }
}

describe.skipIf(etcdMissing !== undefined)('admin state in etcd (three brokers)', () => {
  let cluster: TestCluster
  // The PLAINTEXT listener is User:ANONYMOUS, a super user: the tests' admin and replication.
  const plain = (nodeId: number): Kafka => new KafkaClient({ clientId: 'admin', brokers: [cluster.address(nodeId)], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } })
  const user = (nodeId: number, username: string, password: string): Kafka =>
    new KafkaClient({
      clientId: username,
      brokers: [cluster.listenerAddress(nodeId, SASL)],
      sasl: { mechanism: 'scram-sha-256', username, password },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    })
  const loginWorks = async (nodeId: number, username: string, password: string): Promise<boolean> => {
    const a = user(nodeId, username, password).admin()
    try {
      await a.connect()
      await a.listTopics()
      return true
    } catch {
      return false
    } finally {
      await a.disconnect()
    }
  }
  /** AlterUserScramCredentials through broker `nodeId`: the user's error code. */
  const upsertUser = async (nodeId: number, name: string, password: string): Promise<number> => {
    const salt = randomBytes(24)
    const salted = await saltPassword('SCRAM-SHA-256', password, salt, 4096)
    const res = await onBroker(cluster.address(nodeId), (c) =>
      c.request(AlterUserScramCredentialsApi, 0, { deletions: [], upsertions: [{ name, mechanism: 1, iterations: 4096, salt, saltedPassword: salted }] }),
    )
    expect(res.results.map((r) => r.user)).toEqual([name])
    return res.results[0]!.errorCode
  }
  const createUser = async (nodeId: number, name: string, password: string): Promise<void> => {
    expect(await upsertUser(nodeId, name, password)).toBe(ErrorCode.NONE)
  }
  const produceAs = (nodeId: number, username: string, topic: string): Promise<string | undefined> => {
    const producer = user(nodeId, username, `${username}-secret`).producer()
    return refusal(
      (async () => {
        await producer.connect()
        try {
          await producer.send({ topic, messages: [{ value: 'x' }] })
        } finally {
          await producer.disconnect()
        }
      })(),
    )
  }
  /** share.auto.offset.reset of `group` as broker `nodeId` describes it. */
  const groupConfigOn = (nodeId: number, group: string) =>
    onBroker(cluster.address(nodeId), async (c) => {
      const res = await c.request(DescribeConfigsApi, 4, { resources: [{ resourceType: GROUP, resourceName: group, configurationKeys: ['share.auto.offset.reset'] }], includeSynonyms: false, includeDocumentation: false })
      return res.results[0]!.configs[0]?.value
    })
  /** max.connections.per.ip as broker `nodeId` describes itself: value@source. */
  const brokerConfigOn = (nodeId: number) =>
    onBroker(cluster.address(nodeId), async (c) => {
      const res = await c.request(DescribeConfigsApi, 4, { resources: [{ resourceType: BROKER, resourceName: String(nodeId), configurationKeys: ['max.connections.per.ip'] }], includeSynonyms: false, includeDocumentation: false })
      const entry = res.results[0]!.configs[0]
      return entry === undefined ? undefined : `${entry.value}@${entry.configSource}`
    })
  const aliceWritesOrders = {
    resourceType: AclResourceTypes.TOPIC,
    resourceName: 'orders',
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: AclOperationTypes.WRITE,
    permissionType: AclPermissionTypes.ALLOW,
  }

  beforeAll(async () => {
    cluster = await TestCluster.start(3, {
      listeners: `PLAINTEXT://127.0.0.1:0,${SASL}://127.0.0.1:0`,
      'inter.broker.listener.name': 'PLAINTEXT',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-256',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:ANONYMOUS',
    }, {
      // Broker 1's directory was a single broker's, with a user, an ACL and a dynamic config.
      prepare: async (b) => {
        if (b.nodeId === 1) await seedSingleBrokerState(b.dataDir, 'dave', [{ topic: 'legacy', operation: AclOperationTypes.WRITE }], { 'max.connections.per.ip': '777' })
      },
    })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('a data directory that was a single broker\'s brings its user, ACLs and own configs into the cluster', async () => {
    // Brokers 2 and 3 started alongside broker 1 and may have loaded etcd before it copied: their
    // watches bring the copy.
    await waitFor(() => loginWorks(3, 'dave', 'dave-secret'), { what: 'dave logging in on broker 3' })
    const described = await waitFor(async () => {
      const d = await withAdmin(plain(2), (a) =>
        a.describeAcls({ resourceType: AclResourceTypes.TOPIC, resourceName: 'legacy', resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }),
      )
      return d.resources.length > 0 ? d : undefined
    }, { what: 'the legacy ACL on broker 2' })
    expect(described.resources).toEqual([expect.objectContaining({ resourceName: 'legacy', acls: [expect.objectContaining({ principal: 'User:dave', operation: AclOperationTypes.WRITE })] })])
    // Its dynamic configs were that broker's own: broker 1 keeps them, the others do not get them.
    expect(await brokerConfigOn(1)).toBe(`777@${ConfigSource.DYNAMIC_BROKER_CONFIG}`)
    expect(await brokerConfigOn(2)).not.toContain('777')
    await waitFor(async () => (await groupConfigOn(3, 'dave-group')) === 'earliest', { what: 'dave-group\'s config on broker 3' })
  }, 25_000)

  it('a SCRAM user created through broker 2 logs in on broker 3', async () => {
    expect(await loginWorks(3, 'carol', 'carol-secret')).toBe(false)
    await createUser(2, 'carol', 'carol-secret')
    await waitFor(() => loginWorks(3, 'carol', 'carol-secret'), { what: 'carol logging in on broker 3' })
    expect(await loginWorks(3, 'carol', 'wrong')).toBe(false)
  }, 25_000)

  it('an ACL created through broker 1 admits a SASL user on broker 2; described and deleted through the others', async () => {
    await createUser(1, 'alice', 'alice-secret')
    await withAdmin(plain(1), (a) => a.createTopics({ topics: [{ topic: 'orders', replicaAssignment: [{ partition: 0, replicas: [2] }] }], waitForLeaders: true }))
    await waitFor(() => loginWorks(2, 'alice', 'alice-secret'), { what: 'alice logging in on broker 2' })
    expect(await produceAs(2, 'alice', 'orders')).toBe('TOPIC_AUTHORIZATION_FAILED')

    await withAdmin(plain(1), (a) => a.createAcls({ acl: [aliceWritesOrders] }))
    await waitFor(async () => (await produceAs(2, 'alice', 'orders')) === undefined, { what: 'alice producing on broker 2' })

    const described = await withAdmin(plain(2), (a) =>
      a.describeAcls({ resourceType: AclResourceTypes.TOPIC, resourceName: 'orders', resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }),
    )
    expect(described.resources).toEqual([expect.objectContaining({ resourceName: 'orders', acls: [expect.objectContaining({ principal: 'User:alice', operation: AclOperationTypes.WRITE })] })])

    const deleted = await withAdmin(plain(3), (a) => a.deleteAcls({ filters: [{ ...aliceWritesOrders }] }))
    expect(deleted.filterResponses[0]!.matchingAcls).toHaveLength(1)
    await waitFor(async () => (await produceAs(2, 'alice', 'orders')) === 'TOPIC_AUTHORIZATION_FAILED', { what: 'alice refused again on broker 2' })
    await withAdmin(plain(3), (a) => a.createAcls({ acl: [aliceWritesOrders] }))
  }, 25_000)

  it('ACLs created at once through all three brokers are all kept', async () => {
    const bindings = (nodeId: number) =>
      Array.from({ length: 20 }, (_, i) => ({ ...aliceWritesOrders, resourceName: `race-${nodeId}-${i}`, operation: AclOperationTypes.READ }))
    // One CreateAcls per binding, all in flight together, so the brokers' writes interleave.
    await Promise.all([1, 2, 3].map((nodeId) => withAdmin(plain(nodeId), (a) => Promise.all(bindings(nodeId).map((acl) => a.createAcls({ acl: [acl] }))))))
    const names = async (nodeId: number) => {
      const d = await withAdmin(plain(nodeId), (a) =>
        a.describeAcls({ resourceType: AclResourceTypes.TOPIC, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }),
      )
      return d.resources.map((r) => r.resourceName).filter((n) => n.startsWith('race-')).sort()
    }
    const expected = [1, 2, 3].flatMap((id) => bindings(id).map((b) => b.resourceName)).sort()
    for (const nodeId of [1, 2, 3]) await waitFor(async () => JSON.stringify(await names(nodeId)) === JSON.stringify(expected), { what: `every race- ACL on broker ${nodeId}` })
  }, 25_000)

  it('a group config set through broker 1 and a <default> broker config set through broker 3 read back on the others', async () => {
    const altered = await onBroker(cluster.address(1), (c) =>
      c.request(IncrementalAlterConfigsApi, 1, {
        resources: [{ resourceType: GROUP, resourceName: 'billing', configs: [{ name: 'share.auto.offset.reset', configOperation: 0, value: 'earliest' }] }],
        validateOnly: false,
      }),
    )
    expect(altered.responses[0]!.errorCode).toBe(ErrorCode.NONE)
    await waitFor(async () => (await groupConfigOn(3, 'billing')) === 'earliest', { what: 'the group config on broker 3' })

    const defaults = await onBroker(cluster.address(3), (c) =>
      c.request(IncrementalAlterConfigsApi, 1, { resources: [{ resourceType: BROKER, resourceName: '', configs: [{ name: 'max.connections.per.ip', configOperation: 0, value: '4321' }] }], validateOnly: false }),
    )
    expect(defaults.responses[0]!.errorCode).toBe(ErrorCode.NONE)
    await waitFor(async () => (await brokerConfigOn(2)) === `4321@${ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG}`, { what: 'the default broker config on broker 2' })

    // Broker 2's own value wins over the default there, and only there.
    const own = await onBroker(cluster.address(2), (c) =>
      c.request(IncrementalAlterConfigsApi, 1, { resources: [{ resourceType: BROKER, resourceName: '2', configs: [{ name: 'max.connections.per.ip', configOperation: 0, value: '999' }] }], validateOnly: false }),
    )
    expect(own.responses[0]!.errorCode).toBe(ErrorCode.NONE)
    expect(await brokerConfigOn(2)).toBe(`999@${ConfigSource.DYNAMIC_BROKER_CONFIG}`)
    expect(await brokerConfigOn(3)).toBe(`4321@${ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG}`)
  }, 25_000)

  it('broker 1 restarted on an empty data directory still has the ACLs and users', async () => {
    await cluster.stopBroker(1)
    const dir = cluster.broker(1).dataDir
    await removeDir(dir)
    await mkdir(dir, { recursive: true })
    await cluster.startBroker(1)
    const described = await withAdmin(plain(1), (a) =>
      a.describeAcls({ resourceType: AclResourceTypes.TOPIC, resourceName: 'orders', resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }),
    )
    expect(described.resources).toEqual([expect.objectContaining({ resourceName: 'orders', acls: [expect.objectContaining({ principal: 'User:alice' })] })])
    expect(await loginWorks(1, 'alice', 'alice-secret')).toBe(true)
  }, 25_000)

  it('a data directory joining later keeps its own users out: the cluster\'s apply', async () => {
    const b = await cluster.addBroker(4)
    await seedSingleBrokerState(b.dataDir, 'eve', [], {})
    await cluster.startBroker(4)
    try {
      expect(await loginWorks(4, 'carol', 'carol-secret')).toBe(true)
      expect(await loginWorks(4, 'eve', 'eve-secret')).toBe(false)
      expect(b.child!.output()).toContain('differs from the cluster')
    } finally {
      await cluster.stopBroker(4)
    }
    // Nor can users be written into it offline any more: they would never be read.
    await expect(withOfflineCredentials(b.dataDir, async () => {})).rejects.toThrow(/belongs to the cluster at etcd prefix \/samsa-test/)
  }, 25_000)

  it('while etcd is down, logins and ACLs work from the last state and changes answer REQUEST_TIMED_OUT', async () => {
    await cluster.etcd.kill()
    try {
      expect(await loginWorks(3, 'carol', 'carol-secret')).toBe(true)
      const described = await withAdmin(plain(2), (a) =>
        a.describeAcls({ resourceType: AclResourceTypes.TOPIC, resourceName: 'orders', resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }),
      )
      expect(described.resources).toHaveLength(1)
      const [acl, user, group] = await Promise.all([
        onBroker(cluster.address(2), (c) =>
          c.request(CreateAclsApi, 3, { creations: [{ resourceType: 2, resourceName: 'other', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: AclOperationTypes.READ, permissionType: 3 }] }),
        ),
        upsertUser(3, 'frank', 'frank-secret'),
        onBroker(cluster.address(1), (c) =>
          c.request(IncrementalAlterConfigsApi, 1, {
            resources: [{ resourceType: GROUP, resourceName: 'billing', configs: [{ name: 'share.auto.offset.reset', configOperation: 0, value: 'latest' }] }],
            validateOnly: false,
          }),
        ),
      ])
      expect(acl.results[0]!.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT)
      expect(user).toBe(ErrorCode.REQUEST_TIMED_OUT)
      expect(group.responses[0]!.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT)
    } finally {
      await cluster.etcd.run()
    }
    // The brokers' etcd clients reconnect on their own; the change goes through once they have.
    await waitFor(async () => (await upsertUser(3, 'frank', 'frank-secret')) === ErrorCode.NONE, { what: 'creating frank after etcd is back', timeoutMs: 15_000 })
    await waitFor(() => loginWorks(1, 'frank', 'frank-secret'), { what: 'frank logging in on broker 1 after etcd is back' })
  }, 28_000)
})
