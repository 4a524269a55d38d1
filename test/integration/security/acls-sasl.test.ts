// ACLs for SASL users: kafkajs clients log in over SASL_PLAINTEXT as alice (PLAIN), bob
// (SCRAM-SHA-256) and the super user admin (SCRAM-SHA-512); an unauthenticated client on the
// PLAINTEXT listener is User:ANONYMOUS. Each may do exactly what its ACLs allow, prefixed patterns
// and transactional ids included; `samsa acls` logs in with --command-config.
import { writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { withOfflineCredentials } from '../../../broker/security/offline-credentials.js'
import { makeCredential } from '../../../broker/security/scram-credentials.js'
import { kafkaClient } from '../../helpers/broker.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { waitFor } from '../../helpers/wait.js'
import { ensureBuilt, jsonLines, samsa } from '../../cli/harness.js'

const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs

let dir: string
let broker: RunningBroker
const port = (name: string) => broker.listeners.find((l) => l.name === name)!.port

type Mechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512'
const login = (username: string, mechanism: Mechanism) =>
  kafkaClient(`127.0.0.1:${port('SASL_PLAINTEXT')}`, { sasl: { mechanism, username, password: `${username}-secret` } as any })

const acl = (principal: string, resourceType: number, resourceName: string, operation: number, resourcePatternType: number = ResourcePatternTypes.LITERAL) => ({
  resourceType,
  resourceName,
  resourcePatternType,
  principal,
  host: '*',
  operation,
  permissionType: AclPermissionTypes.ALLOW,
})

/** The Kafka error a kafkajs call failed with (kafkajs may wrap it in a non-retriable error). */
async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
    return undefined
  } catch (err) {
    const e = err as { type?: string; cause?: { type?: string } }
    return e.type ?? e.cause?.type ?? String(err)
  }
}

beforeAll(async () => {
  dir = await makeTempDir('samsa-acl-sasl-')
  await withOfflineCredentials(dir, async (store) => {
    await store.alter({
      upsertions: [
        { user: 'alice', mechanism: 'SCRAM-SHA-256', credential: await makeCredential('SCRAM-SHA-256', 'alice-secret') },
        { user: 'bob', mechanism: 'SCRAM-SHA-256', credential: await makeCredential('SCRAM-SHA-256', 'bob-secret') },
        { user: 'admin', mechanism: 'SCRAM-SHA-512', credential: await makeCredential('SCRAM-SHA-512', 'admin-secret') },
      ],
    })
  })
  broker = await startBroker({
    dataDir: dir,
    logLevel: 'silent',
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:admin',
      'group.initial.rebalance.delay.ms': '0',
    },
  })
}, 60_000)

afterAll(async () => {
  await broker?.stop()
  await removeDir(dir)
})

describe('ACLs for SASL users (kafkajs)', () => {
  it('alice, bob and the anonymous principal each get what their ACLs allow', async () => {
    const admin = login('admin', 'scram-sha-512').admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'ledger-eu' }, { topic: 'ledger-us' }, { topic: 'hr' }] })
    await admin.createAcls({
      acl: [
        acl('User:alice', AclResourceTypes.TOPIC, 'ledger-', AclOperationTypes.WRITE, ResourcePatternTypes.PREFIXED),
        acl('User:alice', AclResourceTypes.TOPIC, 'ledger-eu', AclOperationTypes.READ),
        acl('User:alice', AclResourceTypes.GROUP, 'audit', AclOperationTypes.READ),
        acl('User:bob', AclResourceTypes.TOPIC, 'hr', AclOperationTypes.DESCRIBE),
      ],
    })

    const alice = login('alice', 'plain')
    const producer = alice.producer({ idempotent: true })
    await producer.connect()
    await producer.send({ topic: 'ledger-eu', messages: [{ value: 'e1' }] })
    await producer.send({ topic: 'ledger-us', messages: [{ value: 'u1' }] })
    const consumer = alice.consumer({ groupId: 'audit' })
    await consumer.connect()
    await consumer.subscribe({ topic: 'ledger-eu', fromBeginning: true })
    const seen: string[] = []
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) })
    await waitFor(() => seen.length >= 1, { timeoutMs: 20_000 })
    await consumer.disconnect()
    expect(seen).toEqual(['e1'])
    const aliceAdmin = alice.admin()
    await aliceAdmin.connect()
    // WRITE implies DESCRIBE: both ledger topics are listed; hr is not.
    expect((await aliceAdmin.listTopics()).sort()).toEqual(['ledger-eu', 'ledger-us'])
    // A transactional producer needs WRITE on its transactional id: DESCRIBE lets it find the
    // coordinator (kafkajs reports a refused FindCoordinator as no coordinator), not start.
    await admin.createAcls({ acl: [acl('User:alice', AclResourceTypes.TRANSACTIONAL_ID, 'alice-tx', AclOperationTypes.DESCRIBE)] })
    const txProducer = alice.producer({ transactionalId: 'alice-tx', idempotent: true, maxInFlightRequests: 1 })
    await txProducer.connect()
    expect(await refusal(txProducer.transaction())).toBe('TRANSACTIONAL_ID_AUTHORIZATION_FAILED')
    await txProducer.disconnect().catch(() => {})
    await admin.createAcls({ acl: [acl('User:alice', AclResourceTypes.TRANSACTIONAL_ID, 'alice-', AclOperationTypes.WRITE, ResourcePatternTypes.PREFIXED)] })
    const txAgain = alice.producer({ transactionalId: 'alice-tx', idempotent: true, maxInFlightRequests: 1 })
    await txAgain.connect()
    const tx = await txAgain.transaction()
    await tx.send({ topic: 'ledger-us', messages: [{ value: 'u2' }] })
    await tx.commit()
    await txAgain.disconnect()

    const bob = login('bob', 'scram-sha-256')
    const bobAdmin = bob.admin()
    await bobAdmin.connect()
    expect(await bobAdmin.listTopics()).toEqual(['hr'])
    const bobProducer = bob.producer()
    await bobProducer.connect()
    expect(await refusal(bobProducer.send({ topic: 'hr', messages: [{ value: 'b' }] }))).toBe('TOPIC_AUTHORIZATION_FAILED')
    expect(await refusal(bobProducer.send({ topic: 'ledger-eu', messages: [{ value: 'b' }] }))).toBe('TOPIC_AUTHORIZATION_FAILED')

    const anonymous = kafkaClient(`127.0.0.1:${port('PLAINTEXT')}`, { retry: { retries: 0 } }).admin()
    await anonymous.connect()
    expect(await anonymous.listTopics()).toEqual([])

    for (const c of [producer, bobProducer, aliceAdmin, bobAdmin, anonymous, admin]) await c.disconnect()
  }, 90_000)

  it('samsa acls logs in with --command-config: the super user administers, bob is refused', async () => {
    ensureBuilt()
    const config = (user: string, mechanism: string) => {
      const file = `${dir}/${user}.properties`
      writeFileSync(file, `security.protocol=SASL_PLAINTEXT\nsasl.mechanism=${mechanism}\nsasl.username=${user}\nsasl.password=${user}-secret\n`)
      return file
    }
    const b = ['--bootstrap-server', `127.0.0.1:${port('SASL_PLAINTEXT')}`]
    const asAdmin = ['--command-config', config('admin', 'SCRAM-SHA-512')]
    const added = await samsa([...b, ...asAdmin, 'acls', 'add', '--allow-principal', 'User:carol', '--consumer', '--topic', 'hr', '--group', 'people'])
    expect(added.stderr).toBe('')
    expect(added.code).toBe(0)
    const listed = await samsa([...b, ...asAdmin, '--json', 'acls', 'list', '--principal', 'User:carol'])
    expect(jsonLines<{ resourceName: string; operation: string }>(listed.stdout).map((r) => `${r.resourceName} ${r.operation}`).sort()).toEqual(['hr DESCRIBE', 'hr READ', 'people READ'])
    const asBob = await samsa([...b, '--command-config', config('bob', 'SCRAM-SHA-256'), 'acls', 'list'])
    expect(asBob.code).not.toBe(0)
    expect(asBob.stderr).toMatch(/CLUSTER_AUTHORIZATION_FAILED/)
  }, 60_000)
})
