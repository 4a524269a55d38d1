// ACLs for principals taken from client certificates: kafkajs clients over mTLS as User:alice,
// User:bob and the super user User:admin (ssl.principal.mapping.rules keeps the CN). alice may
// write and read one topic with one group; bob may do nothing; a DENY added at run time takes
// alice's WRITE away on the next request.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { makePki, sslConfig, type TestPki } from '../../helpers/certs.js'
import { kafkaClient } from '../../helpers/broker.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { waitFor } from '../../helpers/wait.js'

const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs

let dir: string
let pki: TestPki
let broker: RunningBroker

function client(name: string) {
  const cert = pki.clientCert(name, `/O=Acme/CN=${name}`)
  const ssl = { ca: readFileSync(pki.caFile, 'utf8'), cert: readFileSync(cert.certFile, 'utf8'), key: readFileSync(cert.keyFile, 'utf8'), servername: 'localhost' }
  return kafkaClient(`localhost:${broker.listeners.find((l) => l.name === 'MTLS')!.port}`, { ssl, retry: { retries: 0 } })
}

const allow = (principal: string, resourceType: number, resourceName: string, operation: number, permissionType: number = AclPermissionTypes.ALLOW) => ({
  resourceType,
  resourceName,
  resourcePatternType: ResourcePatternTypes.LITERAL,
  principal,
  host: '*',
  operation,
  permissionType,
})

/** The Kafka error a kafkajs call failed with (kafkajs may wrap it in a non-retriable error). */
async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
    return undefined
  } catch (err) {
    const e = err as { type?: string; cause?: { type?: string } }
    return e.type ?? e.cause?.type
  }
}

beforeAll(async () => {
  dir = await makeTempDir('samsa-acl-mtls-')
  pki = makePki(dir)
  broker = await startBroker({
    dataDir: dir,
    logLevel: 'silent',
    config: {
      listeners: 'MTLS://127.0.0.1:0',
      'listener.security.protocol.map': 'MTLS:SSL',
      ...sslConfig(pki),
      'ssl.client.auth': 'required',
      'ssl.principal.mapping.rules': 'RULE:^CN=([a-z]+),.*$/$1/',
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

describe('ACLs for certificate principals (kafkajs over mTLS)', () => {
  it('lets each principal do what its ACLs allow, and a DENY applies on the next request', async () => {
    const admin = client('admin').admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'orders' }, { topic: 'payments' }] })
    await admin.createAcls({
      acl: [
        allow('User:alice', AclResourceTypes.TOPIC, 'orders', AclOperationTypes.WRITE),
        allow('User:alice', AclResourceTypes.TOPIC, 'orders', AclOperationTypes.READ),
        allow('User:alice', AclResourceTypes.GROUP, 'billing', AclOperationTypes.READ),
      ],
    })

    const alice = client('alice')
    const producer = alice.producer()
    await producer.connect()
    await producer.send({ topic: 'orders', messages: [{ value: 'o1' }, { value: 'o2' }] })
    const consumer = alice.consumer({ groupId: 'billing' })
    await consumer.connect()
    await consumer.subscribe({ topic: 'orders', fromBeginning: true })
    const seen: string[] = []
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) })
    await waitFor(() => seen.length >= 2, { timeoutMs: 20_000 })
    await consumer.disconnect()
    expect(seen).toEqual(['o1', 'o2'])
    const aliceAdmin = alice.admin()
    await aliceAdmin.connect()
    expect(await aliceAdmin.listTopics()).toEqual(['orders'])

    const bob = client('bob')
    const bobAdmin = bob.admin()
    await bobAdmin.connect()
    expect(await bobAdmin.listTopics()).toEqual([])
    const bobProducer = bob.producer()
    await bobProducer.connect()
    expect(await refusal(bobProducer.send({ topic: 'orders', messages: [{ value: 'b' }] }))).toBe('TOPIC_AUTHORIZATION_FAILED')
    // FindCoordinator answers bob GROUP_AUTHORIZATION_FAILED, which kafkajs reports as no coordinator.
    await expect(bobAdmin.fetchOffsets({ groupId: 'billing', topics: ['orders'] })).rejects.toMatchObject({ name: 'KafkaJSGroupCoordinatorNotFound' })
    const anyAcl = { resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }
    expect(await refusal(bobAdmin.describeAcls(anyAcl))).toBe('CLUSTER_AUTHORIZATION_FAILED')

    await admin.createAcls({ acl: [allow('User:alice', AclResourceTypes.TOPIC, 'orders', AclOperationTypes.WRITE, AclPermissionTypes.DENY)] })
    expect(await refusal(producer.send({ topic: 'orders', messages: [{ value: 'o3' }] }))).toBe('TOPIC_AUTHORIZATION_FAILED')
    // READ is untouched by a DENY of WRITE.
    expect(await aliceAdmin.fetchOffsets({ groupId: 'billing', topics: ['orders'] })).toMatchObject([{ topic: 'orders', partitions: [{ partition: 0, offset: '2' }] }])

    for (const c of [producer, bobProducer, aliceAdmin, bobAdmin, admin]) await c.disconnect()
  }, 60_000)
})
