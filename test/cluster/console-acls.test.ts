// The console of one broker of a cluster with SASL and ACLs: it asks the other brokers as the
// brokers' own (super) user, so what each caller sees and may do must still be cut to that caller's
// ACLs. Alice may DESCRIBE and READ one topic and DESCRIBE one group, and nothing more; the admin
// is a super user. Both ask broker 1's console about topics led by brokers 2 and 3 and about
// groups, whose coordinators may be anywhere.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'
import { acquireDataDirLock, releaseDataDirLock } from '../../storage/data-dir-lock.js'
import { METADATA_DIR } from '../../storage/log-manager.js'
import { MetadataStore } from '../../storage/metadata-store.js'
import { AclStore, type AclBinding } from '../../storage/acl-store.js'
import { LocalAdminState } from '../../storage/admin-state.js'
import { ScramCredentialStore, makeCredential } from '../../broker/security/scram-credentials.js'
import { withAdminClient } from '../../broker/client/admin-client.js'
import { AclOperation as Op, AclPermissionType, PatternType, ResourceType } from '../../broker/acls/acl-types.js'

const { Kafka, logLevel } = kafkajs
const PASSWORDS = { admin: 'admin-secret', alice: 'alice-secret', broker: 'broker-secret' }
type User = keyof typeof PASSWORDS

const allow = (resourceType: number, resourceName: string, operation: number): AclBinding => ({
  resourceType,
  resourceName,
  patternType: PatternType.LITERAL,
  principal: 'User:alice',
  host: '*',
  operation,
  permissionType: AclPermissionType.ALLOW,
})
const ALICE_ACLS = [allow(ResourceType.TOPIC, 'visible', Op.DESCRIBE), allow(ResourceType.TOPIC, 'visible', Op.READ), allow(ResourceType.GROUP, 'alice-group', Op.DESCRIBE)]

/** SCRAM users and Alice's ACLs in a data directory before its broker starts; the first to join brings them into etcd. */
async function seed(dataDir: string): Promise<void> {
  acquireDataDirLock(dataDir)
  const metadata = MetadataStore.open(path.join(dataDir, METADATA_DIR))
  try {
    const state = new LocalAdminState(metadata)
    const users = await Promise.all(Object.entries(PASSWORDS).map(async ([user, password]) => ({ user, mechanism: 'SCRAM-SHA-512' as const, credential: await makeCredential('SCRAM-SHA-512', password) })))
    await new ScramCredentialStore(state).alter({ upsertions: users })
    await new AclStore(state).add(ALICE_ACLS)
  } finally {
    await metadata.close()
    releaseDataDirLock(dataDir)
  }
}

const jaas = (user: User) => `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${PASSWORDS[user]}";`

describe.skipIf(etcdMissing !== undefined)('the console of a cluster broker with ACLs (three brokers, etcd)', () => {
  let cluster: TestCluster
  let consoleUrl: string

  const kafka = () =>
    new Kafka({
      clientId: 'console-acls-test',
      brokers: cluster.bootstrap(),
      sasl: { mechanism: 'scram-sha-512', username: 'admin', password: PASSWORDS.admin },
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
    })

  async function call(user: User, method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { authorization: `Basic ${Buffer.from(`${user}:${PASSWORDS[user]}`).toString('base64')}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(`${consoleUrl}/api/${apiPath}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    return { status: res.status, body: await res.json() }
  }
  const get = (user: User, apiPath: string) => call(user, 'GET', apiPath)

  beforeAll(async () => {
    cluster = await TestCluster.start(
      3,
      {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
        'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
        'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config': jaas('broker'),
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'super.users': 'User:admin;User:broker',
        'group.initial.rebalance.delay.ms': '0',
        // A small __consumer_offsets comes up sooner on a busy machine.
        'offsets.topic.num.partitions': '6',
      },
      { http: 'actions', prepare: (b) => seed(b.dataDir) },
    )
    consoleUrl = cluster.broker(1).child!.httpUrl!
    await withAdmin(kafka(), async (a) => {
      await a.createTopics({
        topics: [
          { topic: 'visible', replicaAssignment: [{ partition: 0, replicas: [2, 3] }] },
          { topic: 'hidden', replicaAssignment: [{ partition: 0, replicas: [3, 2] }] },
        ],
        waitForLeaders: true,
      })
      const producer = kafka().producer()
      await producer.connect()
      await producer.send({ topic: 'visible', acks: -1, messages: ['a', 'b', 'c'].map((value) => ({ value })) })
      await producer.send({ topic: 'hidden', acks: -1, messages: [{ value: 'secret' }] })
      await producer.disconnect()
    })
    // Groups with committed offsets and no members: one Alice may describe, one she may not.
    await withAdminClient({ bootstrap: cluster.bootstrap(), security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-512', username: 'admin', password: PASSWORDS.admin } } }, async (a) => {
      // COORDINATOR_NOT_AVAILABLE until __consumer_offsets is created and has its leaders.
      const commit = (groupId: string, offsets: Array<{ topic: string; partition: number; offset: number }>) =>
        waitFor(async () => (await a.alterOffsets(groupId, offsets), true), { timeoutMs: 20_000, intervalMs: 200, what: `offsets of ${groupId} committed` })
      await commit('alice-group', [
        { topic: 'visible', partition: 0, offset: 1 },
        { topic: 'hidden', partition: 0, offset: 0 },
      ])
      await commit('admin-group', [{ topic: 'visible', partition: 0, offset: 2 }])
    })
  }, 60_000)

  afterAll(async () => {
    await cluster?.stop()
  })

  it('shows the super user every topic and group of the cluster', async () => {
    const topics = (await get('admin', 'topics')).body as Array<{ name: string; records: number }>
    expect(topics.filter((t) => !t.name.startsWith('__')).map((t) => [t.name, t.records])).toEqual([
      ['hidden', 1],
      ['visible', 3],
    ])
    const groups = (await get('admin', 'groups')).body as Array<{ groupId: string }>
    expect(groups.map((g) => g.groupId).sort()).toEqual(['admin-group', 'alice-group'])
    const g = (await get('admin', 'groups/alice-group')).body as { offsets: Array<{ topic: string; lag: number }> }
    expect(g.offsets.map((o) => [o.topic, o.lag])).toEqual([
      ['hidden', 1],
      ['visible', 2],
    ])
  })

  it("cuts what another broker answers to Alice's ACLs", async () => {
    const topics = (await get('alice', 'topics')).body as Array<{ name: string }>
    expect(topics.map((t) => t.name)).toEqual(['visible'])
    expect((await get('alice', 'topics/hidden')).status).toBe(404)
    expect((await get('alice', 'topics/hidden/messages?partition=0')).status).toBe(404)
    const page = (await get('alice', 'topics/visible/messages?partition=0&from=start')).body as { messages: Array<{ value: string }> }
    expect(page.messages.map((m) => Buffer.from(m.value, 'base64').toString())).toEqual(['a', 'b', 'c'])
    const groups = (await get('alice', 'groups')).body as Array<{ groupId: string }>
    expect(groups.map((g) => g.groupId)).toEqual(['alice-group'])
    expect((await get('alice', 'groups/admin-group')).status).toBe(404)
    const g = (await get('alice', 'groups/alice-group')).body as { offsets: Array<{ topic: string; lag: number }> }
    expect(g.offsets.map((o) => [o.topic, o.lag])).toEqual([['visible', 2]])
  })

  it("refuses Alice's actions her ACLs do not allow, though the brokers' user could", async () => {
    expect((await call('alice', 'POST', 'topics', { name: 'alice-made' })).status).toBe(403)
    expect((await call('alice', 'DELETE', 'topics/visible')).status).toBe(403)
    expect((await call('alice', 'POST', 'topics/visible/messages', { value: 'x' })).status).toBe(403)
    const meta = await withAdmin(kafka(), (a) => a.fetchTopicMetadata())
    expect(meta.topics.map((t) => t.name)).not.toContain('alice-made')
    expect((await get('admin', 'topics/visible')).body).toMatchObject({ records: 3 })
  })
})
