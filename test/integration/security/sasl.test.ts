// SASL over real sockets: kafkajs with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 over SSL;
// kafka-python with PLAIN and SCRAM over SASL_PLAINTEXT (v0 handshakes with bare tokens);
// confluent-kafka and kcat with SCRAM over SASL_SSL. Hostile clients: wrong passwords (answered
// late, slower each time, the connection then closed), requests before authentication, frames
// declaring 2 GiB, an expired session (KIP-368); others keep being served and nothing is written.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { withOfflineCredentials } from '../../../broker/security/offline-credentials.js'
import { makeCredential } from '../../../broker/security/scram-credentials.js'
import { saslClient, type SaslCredentials } from '../../../broker/client/sasl.js'
import { ApiKey } from '../../../protocol/generated/index.js'
import { ErrorCode } from '../../../protocol/errors.js'
import type { ApiVersionsResponse } from '../../../protocol/generated/api-versions.js'
import type { MetadataResponse } from '../../../protocol/generated/metadata.js'
import type { SaslHandshakeResponse } from '../../../protocol/generated/sasl-handshake.js'
import type { SaslAuthenticateResponse } from '../../../protocol/generated/sasl-authenticate.js'
import { makePki, sslConfig, type TestPki } from '../../helpers/certs.js'
import { kafkaClient } from '../../helpers/broker.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { WireClient, createTopics } from '../../helpers/wire.js'
import { PYTHON, probeKcat, probePythonModule } from '../../helpers/external-clients.js'
import { run } from '../../helpers/run.js'
import { sleep, waitFor } from '../../helpers/wait.js'

let dir: string
let dataDir: string
let pki: TestPki
let broker: RunningBroker
const port = (name: string) => broker.listeners.find((l) => l.name === name)!.port
const MECHANISMS = 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512'

beforeAll(async () => {
  dir = await makeTempDir('samsa-sasl-')
  dataDir = `${dir}/data`
  pki = makePki(dir)
  await withOfflineCredentials(dataDir, async (store) => {
    await store.alter({
      upsertions: [
        { user: 'alice', mechanism: 'SCRAM-SHA-256', credential: await makeCredential('SCRAM-SHA-256', 'alice-secret') },
        { user: 'alice', mechanism: 'SCRAM-SHA-512', credential: await makeCredential('SCRAM-SHA-512', 'alice-secret', 8192) },
        { user: 'bob', mechanism: 'SCRAM-SHA-256', credential: await makeCredential('SCRAM-SHA-256', 'bob-secret') },
      ],
    })
  })
  broker = await startBroker({
    dataDir,
    logLevel: 'silent',
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': MECHANISMS,
      'connections.max.reauth.ms': '3600000',
      'group.initial.rebalance.delay.ms': '0',
      ...sslConfig(pki),
    },
  })
})

afterAll(async () => {
  await broker?.stop()
  await removeDir(dir)
})

const ca = () => readFileSync(pki.caFile, 'utf8')

async function roundTrip(address: string, extra: Record<string, unknown>, topic: string): Promise<string[]> {
  const kafka = kafkaClient(address, { ...extra, retry: { retries: 0 } })
  const admin = kafka.admin()
  const producer = kafka.producer()
  const consumer = kafka.consumer({ groupId: `g-${topic}` })
  try {
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    await producer.connect()
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const seen: string[] = []
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) })
    await waitFor(() => seen.length >= 2, { timeoutMs: 20_000 })
    return seen
  } finally {
    await consumer.disconnect().catch(() => {})
    await producer.disconnect().catch(() => {})
    await admin.disconnect().catch(() => {})
  }
}

/** Handshake v1 and SaslAuthenticate v2 on a wire connection; the last response. */
async function login(c: WireClient, creds: SaslCredentials): Promise<SaslAuthenticateResponse> {
  const hs = await c.request<SaslHandshakeResponse>(ApiKey.SaslHandshake, 1, { mechanism: creds.mechanism })
  expect(hs.body.errorCode).toBe(ErrorCode.NONE)
  const client = saslClient(creds)
  let token: Buffer | null = client.start()
  for (;;) {
    const { body } = await c.request<SaslAuthenticateResponse>(ApiKey.SaslAuthenticate, 2, { authBytes: token })
    if (body.errorCode !== ErrorCode.NONE) return body
    token = client.respond(Buffer.from(body.authBytes))
    if (token === null) return body
  }
}

/** A broker with one SASL_PLAINTEXT listener and one user, made offline in a fresh data directory. */
async function startUserBroker(user: string, password: string, config: Record<string, string>) {
  const ownDir = await makeTempDir('samsa-sasl-own-')
  await withOfflineCredentials(ownDir, async (store) => {
    const upsertions = []
    for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) upsertions.push({ user, mechanism, credential: await makeCredential(mechanism, password) })
    await store.alter({ upsertions })
  })
  const b = await startBroker({ dataDir: ownDir, logLevel: 'silent', config: { listeners: 'SASL_PLAINTEXT://127.0.0.1:0', ...config } })
  return {
    broker: b,
    async stop() {
      await b.stop()
      await removeDir(ownDir)
    },
  }
}

const apiVersions = (c: WireClient) => c.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })
const metadata = (c: WireClient, topics: string[] | null = null) =>
  c.request<MetadataResponse>(ApiKey.Metadata, 12, { topics: topics?.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })) ?? null, allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false })

describe('SASL with kafkajs over SSL', () => {
  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`${mechanism}: produces and consumes`, async () => {
      const extra = { ssl: { ca: ca(), servername: 'localhost' }, sasl: { mechanism, username: 'alice', password: 'alice-secret' } }
      expect(await roundTrip(`localhost:${port('SASL_SSL')}`, extra, `sasl-${mechanism}`)).toEqual(['a', 'b'])
    }, 40_000)
  }

  it('refuses a wrong password and a mechanism the user has no credential for', async () => {
    const attempt = async (mechanism: 'plain' | 'scram-sha-512', username: string, password: string) => {
      const admin = kafkaClient(`localhost:${port('SASL_SSL')}`, { ssl: { ca: ca(), servername: 'localhost' }, sasl: { mechanism, username, password } as never, retry: { retries: 0 } }).admin()
      try {
        await admin.connect()
        return 'connected'
      } catch (err) {
        return (err as Error).name
      } finally {
        await admin.disconnect().catch(() => {})
      }
    }
    expect(await attempt('plain', 'alice', 'wrong')).toBe('KafkaJSSASLAuthenticationError')
    expect(await attempt('scram-sha-512', 'alice', 'wrong')).toBe('KafkaJSSASLAuthenticationError')
    expect(await attempt('scram-sha-512', 'bob', 'bob-secret')).toBe('KafkaJSSASLAuthenticationError')
    expect(await attempt('scram-sha-512', 'nobody', 'x')).toBe('KafkaJSSASLAuthenticationError')
  }, 40_000)
})

describe('SASL on the wire', () => {
  it('authenticates as the user, reports the session lifetime, then serves requests', async () => {
    const c = await WireClient.connect(`127.0.0.1:${port('SASL_PLAINTEXT')}`)
    expect((await apiVersions(c)).body.apiKeys.some((k) => k.apiKey === ApiKey.SaslAuthenticate)).toBe(true)
    const done = await login(c, { mechanism: 'SCRAM-SHA-256', username: 'bob', password: 'bob-secret' })
    expect(done.errorCode).toBe(ErrorCode.NONE)
    expect(done.sessionLifetimeMs).toBe(3_600_000)
    expect((await metadata(c)).body.brokers[0]).toMatchObject({ port: port('SASL_PLAINTEXT') })
    c.close()
  })

  it('closes a connection that sends other requests before authenticating, and writes nothing', async () => {
    const c = await WireClient.connect(`127.0.0.1:${port('SASL_PLAINTEXT')}`)
    expect((await apiVersions(c)).body.errorCode).toBe(0)
    await c.write(c.frame(ApiKey.Metadata, 12, (w) => {
      w.writeUnsignedVarInt(2)
      w.writeUuid('00000000-0000-0000-0000-000000000000')
      w.writeCompactNullableString('created-before-auth')
      w.writeUnsignedVarInt(0)
      w.writeBool(true)
      w.writeBool(false)
      w.writeUnsignedVarInt(0)
    }))
    expect(await c.readFrame(5000)).toBeNull()
    // A handshake without SaslAuthenticate is not enough either.
    const d = await WireClient.connect(`127.0.0.1:${port('SASL_PLAINTEXT')}`)
    expect((await d.request<SaslHandshakeResponse>(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })).body.errorCode).toBe(0)
    await d.write(d.frame(ApiKey.ApiVersions, 0, () => {}))
    await d.write(d.frame(ApiKey.Metadata, 0, (w) => w.writeArrayLength(0)))
    expect(await d.closedWithin(5000)).toBe(true)
    const plain = await WireClient.connect(`127.0.0.1:${port('PLAINTEXT')}`)
    const md = await plain.request<MetadataResponse>(ApiKey.Metadata, 12, {
      topics: [{ name: 'created-before-auth', topicId: '00000000-0000-0000-0000-000000000000' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    })
    expect(md.body.topics[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    plain.close()
  })

  it('answers an unsupported mechanism with the enabled ones', async () => {
    const c = await WireClient.connect(`127.0.0.1:${port('SASL_PLAINTEXT')}`)
    const hs = await c.request<SaslHandshakeResponse>(ApiKey.SaslHandshake, 1, { mechanism: 'GSSAPI' })
    expect(hs.body).toEqual({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: MECHANISMS.split(',') })
    c.close()
  })

  it('answers wrong passwords late, slower each time, closes them, and keeps serving others', async () => {
    // A broker of its own: failures from this address in other tests would lengthen the delays.
    const own = await startUserBroker('alice', 'alice-secret', { 'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512' })
    try {
      await wrongPasswords(own.broker.address)
    } finally {
      await own.stop()
    }
  }, 30_000)

  async function wrongPasswords(address: string): Promise<void> {
    const durations: number[] = []
    for (let i = 0; i < 4; i++) {
      const c = await WireClient.connect(address)
      const t0 = Date.now()
      const r = await login(c, { mechanism: i % 2 === 0 ? 'PLAIN' : 'SCRAM-SHA-512', username: 'alice', password: `guess-${i}` })
      durations.push(Date.now() - t0)
      expect(r.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED)
      expect(r.errorMessage).toMatch(/invalid credentials/)
      expect(r.errorMessage).not.toContain(`guess-${i}`)
      expect(await c.closedWithin(3000)).toBe(true)
    }
    expect(durations[0]).toBeGreaterThanOrEqual(90)
    expect(durations[3]).toBeGreaterThanOrEqual(750)
    expect(durations[3]!).toBeGreaterThan(durations[0]! * 3)
    // A good login meanwhile is not slowed down.
    const ok = await WireClient.connect(address)
    const t0 = Date.now()
    expect((await login(ok, { mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' })).errorCode).toBe(ErrorCode.NONE)
    expect(Date.now() - t0).toBeLessThan(1000)
    ok.close()
  }

  it('closes connections declaring a 2 GiB frame before authentication, with and without a v0 handshake', async () => {
    const c = await WireClient.connect(`127.0.0.1:${port('SASL_PLAINTEXT')}`)
    await c.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]))
    expect(await c.closedWithin(3000)).toBe(true)
    const d = await WireClient.connect(`127.0.0.1:${port('SASL_PLAINTEXT')}`)
    expect((await d.request<SaslHandshakeResponse>(ApiKey.SaslHandshake, 0, { mechanism: 'PLAIN' })).body.errorCode).toBe(0)
    await d.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]))
    expect(await d.closedWithin(3000)).toBe(true)
    const ok = await WireClient.connect(`127.0.0.1:${port('SASL_PLAINTEXT')}`)
    expect((await login(ok, { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'alice-secret' })).errorCode).toBe(ErrorCode.NONE)
    ok.close()
  })

  it('reads sasl.server.max.receive.size and connections.max.reauth.ms per listener', async () => {
    const own = await startUserBroker('dave', 'dave-secret', {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0,SMALL://127.0.0.1:0',
      'listener.security.protocol.map': 'SASL_PLAINTEXT:SASL_PLAINTEXT,SMALL:SASL_PLAINTEXT',
      'sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.small.sasl.server.max.receive.size': '1024',
      'listener.name.small.connections.max.reauth.ms': '5000',
      'listener.name.small.plain.connections.max.reauth.ms': '7000',
      'connections.max.reauth.ms': '9000',
    })
    try {
      const address = (name: string) => own.broker.listeners.find((l) => l.name === name)!.address
      // An ApiVersions request of about 1.5 KiB: under the default cap, over the SMALL listener's.
      const big = (c: WireClient) => c.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 'a'.repeat(1500), clientSoftwareVersion: '1' })
      const wide = await WireClient.connect(address('SASL_PLAINTEXT'))
      expect((await big(wide)).body.errorCode).toBe(ErrorCode.NONE)
      expect((await login(wide, { mechanism: 'PLAIN', username: 'dave', password: 'dave-secret' })).sessionLifetimeMs).toBe(9000)
      wide.close()
      const small = await WireClient.connect(address('SMALL'))
      await expect(big(small)).rejects.toThrow()
      expect(await small.closedWithin(3000)).toBe(true)
      const ok = await WireClient.connect(address('SMALL'))
      expect((await login(ok, { mechanism: 'PLAIN', username: 'dave', password: 'dave-secret' })).sessionLifetimeMs).toBe(7000)
      // Once authenticated, the cap is socket.request.max.bytes again.
      expect((await big(ok)).body.errorCode).toBe(ErrorCode.NONE)
      ok.close()
    } finally {
      await own.stop()
    }
  })

  it('authorizes requests as the authenticated user (User:<name>) when ACLs are on', async () => {
    const own = await startUserBroker('alice', 'alice-secret', {
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:alice',
    })
    try {
      const alice = await WireClient.connect(own.broker.address)
      expect((await login(alice, { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' })).errorCode).toBe(ErrorCode.NONE)
      expect((await createTopics(alice, [{ name: 'by-alice', partitions: 1 }])).has('by-alice')).toBe(true)
      // alice, a super user, may add bob; bob has no ACLs and may not create topics.
      const salt = Buffer.alloc(16, 7)
      const { saltPassword } = await import('../../../broker/security/scram-credentials.js')
      const alter = await alice.request<{ results: Array<{ errorCode: number }> }>(ApiKey.AlterUserScramCredentials, 0, {
        deletions: [],
        upsertions: [{ name: 'bob', mechanism: 1, iterations: 4096, salt, saltedPassword: await saltPassword('SCRAM-SHA-256', 'bob-secret', salt, 4096) }],
      })
      expect(alter.body.results[0]!.errorCode).toBe(ErrorCode.NONE)
      const bob = await WireClient.connect(own.broker.address)
      expect((await login(bob, { mechanism: 'PLAIN', username: 'bob', password: 'bob-secret' })).errorCode).toBe(ErrorCode.NONE)
      await expect(createTopics(bob, [{ name: 'by-bob', partitions: 1 }])).rejects.toThrow(`by-bob error ${ErrorCode.TOPIC_AUTHORIZATION_FAILED}`)
      const denied = await bob.request<{ errorCode: number }>(ApiKey.DescribeUserScramCredentials, 0, { users: null })
      expect(denied.body.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
      alice.close()
      bob.close()
    } finally {
      await own.stop()
    }
  })

  it('closes a connection whose session expired (connections.max.reauth.ms), and not one that re-authenticated', async () => {
    const own = await startUserBroker('carol', 'carol-secret', { 'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256', 'connections.max.reauth.ms': '600' })
    const short = own.broker
    try {
      const creds = { mechanism: 'PLAIN', username: 'carol', password: 'carol-secret' } as const
      const expiring = await WireClient.connect(short.address)
      const renewing = await WireClient.connect(short.address)
      expect((await login(expiring, creds)).sessionLifetimeMs).toBe(600)
      expect((await login(renewing, creds)).errorCode).toBe(ErrorCode.NONE)
      expect((await metadata(expiring, [])).body.brokers).toHaveLength(1)
      await sleep(350)
      expect((await login(renewing, { ...creds, mechanism: 'SCRAM-SHA-256' })).errorCode).toBe(ErrorCode.NONE)
      await sleep(400)
      expect((await metadata(renewing, [])).body.brokers).toHaveLength(1)
      await expiring.write(expiring.frame(ApiKey.ApiVersions, 0, () => {}))
      await expiring.write(expiring.frame(ApiKey.Metadata, 0, (w) => w.writeArrayLength(0)))
      expect(await expiring.closedWithin(3000)).toBe(true)
      renewing.close()
    } finally {
      await own.stop()
    }
  })
})

const kafkaPython = probePythonModule('kafka')
describe.skipIf(kafkaPython.skip)('SASL with kafka-python over SASL_PLAINTEXT', () => {
  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']) {
    it(`${mechanism}: produces and consumes; a wrong password fails`, async () => {
      const conf = (password: string) => ({
        bootstrap_servers: `127.0.0.1:${port('SASL_PLAINTEXT')}`,
        security_protocol: 'SASL_PLAINTEXT',
        sasl_mechanism: mechanism,
        sasl_plain_username: 'alice',
        sasl_plain_password: password,
      })
      const topic = `kp-${mechanism.toLowerCase()}`
      const ok = await run(PYTHON, ['test/integration/python/secure-roundtrip.py', 'kafka-python', topic, JSON.stringify(conf('alice-secret'))], { timeoutMs: 60_000 })
      expect(JSON.parse(ok.stdout), ok.stderr).toEqual({ values: ['one', 'two', 'three'] })
      const bad = await run(PYTHON, ['test/integration/python/secure-roundtrip.py', 'kafka-python', topic, JSON.stringify(conf('nope'))], { timeoutMs: 60_000 })
      expect(JSON.parse(bad.stdout).error, bad.stderr).toBeDefined()
    }, 130_000)
  }
})

const confluent = probePythonModule('confluent_kafka')
describe.skipIf(confluent.skip)('SASL_SSL with librdkafka', () => {
  it('confluent-kafka with SCRAM-SHA-512 produces and consumes', async () => {
    const conf = {
      'bootstrap.servers': `localhost:${port('SASL_SSL')}`,
      'security.protocol': 'SASL_SSL',
      'ssl.ca.location': pki.caFile,
      'sasl.mechanism': 'SCRAM-SHA-512',
      'sasl.username': 'alice',
      'sasl.password': 'alice-secret',
    }
    const r = await run(PYTHON, ['test/integration/python/secure-roundtrip.py', 'confluent-kafka', 'sasl-confluent', JSON.stringify(conf)], { timeoutMs: 60_000 })
    expect(JSON.parse(r.stdout), r.stderr).toEqual({ values: ['one', 'two', 'three'] })
  }, 70_000)

  it.skipIf(probeKcat().skip)('kcat with SCRAM-SHA-256 lists metadata, and fails with a wrong password', async () => {
    const args = (password: string) => ['-b', `localhost:${port('SASL_SSL')}`, '-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${pki.caFile}`, '-X', 'sasl.mechanism=SCRAM-SHA-256', '-X', 'sasl.username=bob', '-X', `sasl.password=${password}`, '-m', '10', '-L']
    const ok = await run('kcat', args('bob-secret'))
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toContain(`broker 1 at 127.0.0.1:${port('SASL_SSL')}`)
    const bad = await run('kcat', args('wrong'), { timeoutMs: 30_000 })
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/auth/i)
  }, 60_000)
})

