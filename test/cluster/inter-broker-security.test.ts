// Broker-to-broker traffic over a secured inter-broker listener with ACLs on: three brokers and a
// real etcd, clients on a SASL_PLAINTEXT listener (CLIENT) and the brokers on a SASL_SSL one
// (BROKER), where each broker logs in to the others with SCRAM-SHA-512 as User:broker after
// checking their certificate. Users and ACLs are written into the brokers' data directories before
// they start, and the first to join brings them into etcd. Two such clusters:
//
// - User:broker is a super user and broker 3 has a wrong password: broker 3 never enters the ISR of
//   a partition another broker leads, says why in its log, and keeps running, while the others
//   replicate acks=all writes among themselves.
// - User:broker starts without any ACL: the leaders refuse its replica fetches (the followers
//   leave the ISR and log why) until CLUSTER_ACTION on the cluster is granted, after which they
//   rejoin the ISR. Then acks=all writes and a transaction across partitions led by different
//   brokers (WriteTxnMarkers between brokers), read back read_committed, all as User:alice, who
//   holds only ACLs on her topic, group and transactional id.
//
// And a cluster half way through switching inter.broker.listener.name from a plaintext listener
// to the SASL_SSL one, where each broker connects to the others' listener of the name it is set
// to, as Kafka's brokers do during such a rolling change.
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs, { type SASLOptions } from 'kafkajs'
import { etcdMissing, TestCluster, withAdmin, type ClusterBroker } from './harness.js'
import { waitFor } from '../helpers/wait.js'
import { makePki, sslConfig, type TestPki } from '../helpers/certs.js'
import { removeDir } from '../helpers/temp-dir.js'
import { acquireDataDirLock, releaseDataDirLock } from '../../storage/data-dir-lock.js'
import { METADATA_DIR } from '../../storage/log-manager.js'
import { MetadataStore } from '../../storage/metadata-store.js'
import { AclStore, type AclBinding } from '../../storage/acl-store.js'
import { LocalAdminState } from '../../storage/admin-state.js'
import { ScramCredentialStore, makeCredential } from '../../broker/security/scram-credentials.js'
import { AclOperation as Op, AclPermissionType, PatternType, ResourceType, CLUSTER_NAME } from '../../broker/acls/acl-types.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import { CreateAclsApi } from '../../protocol/generated/create-acls.js'
import { ErrorCode } from '../../protocol/errors.js'

const { Kafka, logLevel } = kafkajs
const TOPIC = 'ib-orders'
const GROUP = 'ib-billing'
const TXN_ID = 'ib-tx'
const PASSWORDS = { admin: 'admin-secret', alice: 'alice-secret', broker: 'broker-secret' }

function allow(principal: string, resourceType: number, resourceName: string, operation: number): AclBinding {
  return { resourceType, resourceName, patternType: PatternType.LITERAL, principal, host: '*', operation, permissionType: AclPermissionType.ALLOW }
}

/** Alice may produce (transactionally) to and consume from her topic, and nothing else. */
const ALICE_ACLS: AclBinding[] = [
  allow('User:alice', ResourceType.TOPIC, TOPIC, Op.WRITE),
  allow('User:alice', ResourceType.TOPIC, TOPIC, Op.READ),
  allow('User:alice', ResourceType.GROUP, GROUP, Op.READ),
  allow('User:alice', ResourceType.TRANSACTIONAL_ID, TXN_ID, Op.WRITE),
]
const BROKER_CLUSTER_ACTION = allow('User:broker', ResourceType.CLUSTER, CLUSTER_NAME, Op.CLUSTER_ACTION)

const USERS = Promise.all(
  Object.entries(PASSWORDS).map(async ([user, password]) => ({ user, mechanism: 'SCRAM-SHA-512' as const, credential: await makeCredential('SCRAM-SHA-512', password) })),
)

/**
 * Writes SCRAM users and ACL bindings into a broker's data directory while no broker runs on it.
 * Whichever broker joins the cluster first brings them into etcd; every directory holds the same
 * values, so the others agree with what they find there.
 */
async function seed(dataDir: string, acls: AclBinding[]): Promise<void> {
  acquireDataDirLock(dataDir)
  const metadata = MetadataStore.open(path.join(dataDir, METADATA_DIR))
  try {
    const state = new LocalAdminState(metadata)
    await new ScramCredentialStore(state).alter({ upsertions: await USERS })
    await new AclStore(state).add(acls)
  } finally {
    await metadata.close()
    releaseDataDirLock(dataDir)
  }
}

function brokerConfig(pki: TestPki, superUsers: string): Record<string, string> {
  return {
    listeners: 'CLIENT://127.0.0.1:0,BROKER://127.0.0.1:0',
    'listener.security.protocol.map': 'CLIENT:SASL_PLAINTEXT,BROKER:SASL_SSL',
    'inter.broker.listener.name': 'BROKER',
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
    'listener.name.broker.scram-sha-512.sasl.jaas.config': jaas('broker', PASSWORDS.broker),
    ...sslConfig(pki),
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users': superUsers,
    'replica.lag.time.max.ms': '2000',
    'replica.fetch.backoff.ms': '200',
    'group.initial.rebalance.delay.ms': '0',
  }
}

function jaas(username: string, password: string): string {
  return `org.apache.kafka.common.security.scram.ScramLoginModule required username="${username}" password="${password}";`
}

function kafka(cluster: TestCluster, user: 'admin' | 'alice') {
  const sasl: SASLOptions = { mechanism: 'scram-sha-512', username: user, password: PASSWORDS[user] }
  return new Kafka({ clientId: `ib-${user}`, brokers: cluster.bootstrap(), sasl, logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } })
}

function plainKafka(cluster: TestCluster) {
  return new Kafka({ clientId: 'ib-plain', brokers: cluster.bootstrap(), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } })
}

async function partitions(cluster: TestCluster) {
  return withAdmin(kafka(cluster, 'admin'), async (a) => (await a.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions)
}

async function createTopic(cluster: TestCluster, numPartitions: number): Promise<void> {
  await withAdmin(kafka(cluster, 'admin'), (a) =>
    a.createTopics({ topics: [{ topic: TOPIC, numPartitions, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }], waitForLeaders: true }),
  )
}

/** The log lines (pino JSON) of a broker child whose message matches. */
function logLines(b: ClusterBroker, pattern: RegExp): string[] {
  return (b.child?.output() ?? '').split('\n').filter((l) => pattern.test(l))
}

/** Sends CreateAcls to one broker as the admin; the cluster keeps it in etcd for every broker. */
async function grantOn(address: string, binding: AclBinding): Promise<void> {
  const conn = await BrokerConnection.connect(address, {
    clientId: 'ib-admin',
    connectTimeoutMs: 5000,
    requestTimeoutMs: 10_000,
    security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-512', username: 'admin', password: PASSWORDS.admin } },
  })
  try {
    const res = await conn.request(CreateAclsApi, 3, {
      creations: [{ resourceType: binding.resourceType, resourceName: binding.resourceName, resourcePatternType: binding.patternType, principal: binding.principal, host: binding.host, operation: binding.operation, permissionType: binding.permissionType }],
    })
    expect(res.results.map((r) => r.errorCode)).toEqual([ErrorCode.NONE])
  } finally {
    conn.close()
  }
}

describe.skipIf(etcdMissing !== undefined)('inter-broker SASL_SSL with ACLs (three brokers, etcd)', () => {
  let pkiDir: string
  let pki: TestPki
  beforeAll(() => {
    pkiDir = mkdtempSync(path.join(os.tmpdir(), 'samsa-ib-pki-'))
    pki = makePki(pkiDir)
  })
  afterAll(async () => {
    await removeDir(pkiDir)
  })

  describe('brokers switching inter.broker.listener.name one at a time', () => {
    let cluster: TestCluster
    beforeAll(async () => {
      // Brokers 1 and 2 have moved to the SASL_SSL listener; broker 3 still names the plaintext one.
      const config = {
        listeners: 'PLAIN://127.0.0.1:0,SECURE://127.0.0.1:0',
        'listener.security.protocol.map': 'PLAIN:PLAINTEXT,SECURE:SASL_SSL',
        'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
        'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
        'listener.name.secure.scram-sha-512.sasl.jaas.config': jaas('broker', PASSWORDS.broker),
        ...sslConfig(pki),
      }
      cluster = await TestCluster.start(3, config, {
        prepare: (b) => seed(b.dataDir, []),
        nodeConfig: (nodeId) => ({ 'inter.broker.listener.name': nodeId === 3 ? 'PLAIN' : 'SECURE' }),
      })
      await withAdmin(plainKafka(cluster), (a) =>
        a.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '3' }] }], waitForLeaders: true }),
      )
    }, 60_000)
    afterAll(async () => {
      await cluster?.stop()
    })

    it("reach each other on the listener named by their own setting, whatever the other's", async () => {
      const ps = await withAdmin(plainKafka(cluster), async (a) => (await a.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions)
      // Broker 3 leads a partition (brokers 1 and 2 fetch from its SECURE listener) and follows
      // others (it fetches from their PLAIN listener).
      expect(new Set(ps.map((p) => p.leader))).toEqual(new Set([1, 2, 3]))
      // min.insync.replicas=3: each write is acknowledged only once both followers have it.
      const producer = plainKafka(cluster).producer({ allowAutoTopicCreation: false, retry: { retries: 2 } })
      await producer.connect()
      try {
        for (const p of ps) {
          const [res] = await producer.send({ topic: TOPIC, acks: -1, timeout: 10_000, messages: [{ partition: p.partitionId, value: `to-${p.leader}` }] })
          expect(res!.errorCode).toBe(0)
        }
      } finally {
        await producer.disconnect()
      }
      const offsets = await withAdmin(plainKafka(cluster), (a) => a.fetchTopicOffsets(TOPIC))
      expect(offsets.map((o) => Number(o.high))).toEqual([1, 1, 1])
    }, 60_000)
  })

  describe('a broker with a wrong inter-broker password', () => {
    let cluster: TestCluster
    beforeAll(async () => {
      cluster = await TestCluster.start(3, brokerConfig(pki, 'User:admin;User:broker'), {
        prepare: (b) => seed(b.dataDir, ALICE_ACLS),
        nodeConfig: (nodeId): Record<string, string> => (nodeId === 3 ? { 'listener.name.broker.scram-sha-512.sasl.jaas.config': jaas('broker', 'not-the-password') } : {}),
      })
      await createTopic(cluster, 3)
    }, 60_000)
    afterAll(async () => {
      await cluster?.stop()
    })

    it('never enters the ISR of partitions others lead, says why, and keeps running', async () => {
      const broker3 = cluster.broker(3)
      // Created with every replica in the ISR, a partition led elsewhere drops broker 3 once it
      // has not fetched for replica.lag.time.max.ms.
      await waitFor(async () => {
        const ps = await partitions(cluster)
        const elsewhere = ps.filter((p) => p.leader !== 3)
        return elsewhere.length > 0 && elsewhere.every((p) => p.leader > 0 && !p.isr.includes(3) && p.isr.length === 2)
      }, { timeoutMs: 15_000, what: 'broker 3 out of the ISR of the partitions brokers 1 and 2 lead' })
      // It keeps trying, and says why each time, until its credentials are fixed.
      await waitFor(() => logLines(broker3, /cannot log in to broker [12] as broker/).length >= 3, { timeoutMs: 15_000, what: 'broker 3 logging its failed logins' })
      const line = JSON.parse(logLines(broker3, /cannot log in to broker/)[0]!) as { level: number; msg: string }
      expect(line.level).toBeGreaterThanOrEqual(50)
      expect(line.msg).toMatch(/SASL authentication to 127\.0\.0\.1:\d+ failed/)
      expect(line.msg).toMatch(/sasl\.jaas\.config/)
      expect(broker3.child!.proc.exitCode).toBeNull()
      const ps = await partitions(cluster)
      expect(ps.filter((p) => p.leader !== 3).every((p) => !p.isr.includes(3))).toBe(true)
      // The brokers with the right password replicate among themselves.
      const producer = kafka(cluster, 'alice').producer({ allowAutoTopicCreation: false })
      await producer.connect()
      try {
        const target = ps.find((p) => p.leader !== 3)!.partitionId
        const [res] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition: target, value: 'x' }] })
        expect(res!.errorCode).toBe(0)
      } finally {
        await producer.disconnect()
      }
    }, 60_000)
  })

  describe('a broker principal granted CLUSTER_ACTION while the cluster runs', () => {
    let cluster: TestCluster
    beforeAll(async () => {
      cluster = await TestCluster.start(3, brokerConfig(pki, 'User:admin'), { prepare: (b) => seed(b.dataDir, ALICE_ACLS) })
      await createTopic(cluster, 3)
    }, 60_000)
    afterAll(async () => {
      await cluster?.stop()
    })

    it('has its replica fetches refused until CLUSTER_ACTION is granted', async () => {
      // Created with every replica in the ISR, each partition drops its followers once they have
      // not fetched for replica.lag.time.max.ms.
      const refused = await waitFor(async () => {
        const ps = await partitions(cluster)
        return ps.length === 3 && ps.every((p) => p.leader > 0 && p.isr.length === 1) ? ps : undefined
      }, { timeoutMs: 15_000, what: 'every partition down to its leader alone in the ISR' })
      expect(refused.map((p) => p.isr)).toEqual(refused.map((p) => [p.leader]))
      for (const f of cluster.brokers) {
        const lines = await waitFor(() => {
          const l = logLines(f, /refuses to let this broker replicate/)
          return l.length > 0 ? l : undefined
        }, { what: `broker ${f.nodeId} logging the refusal` })
        expect(lines[0]).toContain('TOPIC_AUTHORIZATION_FAILED')
        expect(lines[0]).toContain('CLUSTER_ACTION')
      }

      // Granted CLUSTER_ACTION on the cluster (and nothing on the topic) through one broker, every
      // follower catches up.
      await grantOn(cluster.address(1), BROKER_CLUSTER_ACTION)
      await waitFor(async () => (await partitions(cluster)).every((p) => p.isr.length === 3), { timeoutMs: 15_000, what: 'every follower back in the ISR' })
    }, 60_000)

    it('replicates acks=all writes and transaction markers for a client that may touch only its own topic', async () => {
      const full = await waitFor(async () => {
        const ps = await partitions(cluster)
        return ps.length === 3 && ps.every((p) => p.leader > 0 && p.isr.length === 3) ? ps : undefined
      }, { timeoutMs: 15_000, what: 'every partition with a leader and three in-sync replicas' })
      // The partitions are led by different brokers, so the transaction's markers cross brokers.
      expect(new Set(full.map((p) => p.leader)).size).toBeGreaterThan(1)

      const alice = kafka(cluster, 'alice')
      const producer = alice.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 })
      await producer.connect()
      const sent: string[] = []
      try {
        for (let i = 0; i < 30; i++) {
          const value = `plain-${i}`
          await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition: i % 3, value }] })
          sent.push(value)
        }
      } finally {
        await producer.disconnect()
      }
      const txProducer = alice.producer({ transactionalId: TXN_ID, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
      await txProducer.connect()
      try {
        const tx = await txProducer.transaction()
        const values = [0, 1, 2].map((p) => `tx-${p}`)
        await tx.send({ topic: TOPIC, acks: -1, messages: values.map((value, partition) => ({ partition, value })) })
        await tx.commit()
        sent.push(...values)
      } finally {
        await txProducer.disconnect()
      }

      // Every partition's high watermark covers its records: all three replicas have them.
      const after = await partitions(cluster)
      expect(after.map((p) => p.isr.length)).toEqual([3, 3, 3])
      const offsets = await withAdmin(kafka(cluster, 'admin'), (a) => a.fetchTopicOffsets(TOPIC))
      // 10 records and one transaction of one record plus its commit marker per partition.
      expect(offsets.map((o) => Number(o.high)).sort()).toEqual([12, 12, 12])

      // read_committed: the transaction's records show only once every partition has its marker.
      const consumer = alice.consumer({ groupId: GROUP })
      const seen: string[] = []
      await consumer.connect()
      try {
        await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
        await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) })
        await waitFor(() => seen.length >= sent.length, { timeoutMs: 20_000, what: `${sent.length} records consumed` })
      } finally {
        await consumer.disconnect()
      }
      expect([...seen].sort()).toEqual([...sent].sort())
    }, 60_000)
  })
})
