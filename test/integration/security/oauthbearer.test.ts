// SASL OAUTHBEARER over real sockets, with keys made and JWTs signed at test time; one listener
// (SASL_SSL) verifies against a JWKS served over HTTP on 127.0.0.1, another (FILEKEYS) against a
// JWKS file and takes the principal from a `client_id` claim. kafkajs produces and consumes as the
// token's user, is refused for a bad signature, an expired token, a wrong audience or issuer and
// an unsigned token, and re-authenticates on the same connection when its token runs out; on the
// wire the session lifetime is the token's remaining lifetime when that is less than
// connections.max.reauth.ms. Brokers with OAUTHBEARER but no way to check tokens refuse to start;
// unsigned tokens are accepted only with sasl.oauthbearer.unsecured.enable=true.
import tls from 'node:tls'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { ApiKey } from '../../../protocol/generated/index.js'
import { ErrorCode } from '../../../protocol/errors.js'
import type { MetadataResponse } from '../../../protocol/generated/metadata.js'
import type { SaslHandshakeResponse } from '../../../protocol/generated/sasl-handshake.js'
import type { SaslAuthenticateResponse } from '../../../protocol/generated/sasl-authenticate.js'
import { makePki, sslConfig, type TestPki } from '../../helpers/certs.js'
import { kafkaClient } from '../../helpers/broker.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { WireClient } from '../../helpers/wire.js'
import { sleep, waitFor } from '../../helpers/wait.js'
import { AUDIENCE, ISSUER, type TestIdp, nowSeconds as now, oauthBearerMessage as firstMessage, startTestIdp, unsignedJwt } from '../../helpers/oauth.js'

let dir: string
let pki: TestPki
let broker: RunningBroker
let idp: TestIdp
const port = (name: string) => broker.listeners.find((l) => l.name === name)!.port
const ca = () => readFileSync(pki.caFile, 'utf8')
const jwt = (...args: Parameters<TestIdp['jwt']>) => idp.jwt(...args)

beforeAll(async () => {
  dir = await makeTempDir('samsa-oauth-')
  pki = makePki(dir)
  idp = await startTestIdp(dir)
  broker = await startBroker({
    dataDir: `${dir}/data`,
    logLevel: 'silent',
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,FILEKEYS://127.0.0.1:0',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,FILEKEYS:SASL_PLAINTEXT',
      'sasl.enabled.mechanisms': 'OAUTHBEARER',
      'listener.name.sasl_ssl.oauthbearer.sasl.oauthbearer.jwks.endpoint.url': idp.jwksUrl,
      'listener.name.filekeys.sasl.oauthbearer.jwks.endpoint.url': idp.jwksFileUrl,
      'listener.name.filekeys.sasl.oauthbearer.sub.claim.name': 'client_id',
      'sasl.oauthbearer.expected.audience': `other,${AUDIENCE}`,
      'sasl.oauthbearer.expected.issuer': ISSUER,
      'connections.max.reauth.ms': '3600000',
      'connection.failed.authentication.delay.ms': '1',
      // alice is the only SASL user who may do anything; the PLAINTEXT listener looks on.
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:alice;User:ANONYMOUS',
      'group.initial.rebalance.delay.ms': '0',
      ...sslConfig(pki),
    },
  })
})

afterAll(async () => {
  await broker?.stop()
  await idp?.close()
  await removeDir(dir)
})

const oauthClient = (provider: () => Promise<{ value: string }>, extra: Record<string, unknown> = {}) =>
  kafkaClient(`localhost:${port('SASL_SSL')}`, { ssl: { ca: ca(), servername: 'localhost' }, sasl: { mechanism: 'oauthbearer', oauthBearerProvider: provider }, retry: { retries: 0 }, ...extra })

/** Whether `topic` exists, as the PLAINTEXT listener sees it. */
async function topicExists(topic: string): Promise<boolean> {
  const c = await WireClient.connect(`127.0.0.1:${port('PLAINTEXT')}`)
  try {
    const md = await c.request<MetadataResponse>(ApiKey.Metadata, 12, {
      topics: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    })
    return md.body.topics[0]!.errorCode === ErrorCode.NONE
  } finally {
    c.close()
  }
}

/** Handshake v1 and one SaslAuthenticate v2 with an OAUTHBEARER client first message. */
async function login(c: WireClient, message: Buffer): Promise<SaslAuthenticateResponse> {
  const hs = await c.request<SaslHandshakeResponse>(ApiKey.SaslHandshake, 1, { mechanism: 'OAUTHBEARER' })
  expect(hs.body.errorCode).toBe(ErrorCode.NONE)
  return (await c.request<SaslAuthenticateResponse>(ApiKey.SaslAuthenticate, 2, { authBytes: message })).body
}

const metadata = (c: WireClient) => c.request<MetadataResponse>(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })

describe('OAUTHBEARER with kafkajs over SASL_SSL', () => {
  it('produces and consumes as the token subject; another subject is authenticated but not authorized', async () => {
    const kafka = oauthClient(async () => ({ value: await jwt('alice') }))
    const producer = kafka.producer()
    const consumer = kafka.consumer({ groupId: 'oauth-g' })
    try {
      await producer.connect()
      await producer.send({ topic: 'oauth-rt', messages: [{ value: 'a' }, { value: 'b' }] })
      await consumer.connect()
      await consumer.subscribe({ topic: 'oauth-rt', fromBeginning: true })
      const seen: string[] = []
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) })
      await waitFor(() => seen.length >= 2, { timeoutMs: 15_000 })
      expect(seen).toEqual(['a', 'b'])
    } finally {
      await consumer.disconnect().catch(() => {})
      await producer.disconnect().catch(() => {})
    }
    const mallory = oauthClient(async () => ({ value: await jwt('mallory') })).producer()
    try {
      await mallory.connect()
      await expect(mallory.send({ topic: 'oauth-by-mallory', messages: [{ value: 'x' }] })).rejects.toThrow()
    } finally {
      await mallory.disconnect().catch(() => {})
    }
    expect(await topicExists('oauth-by-mallory')).toBe(false)
  }, 25_000)

  it('refuses a bad signature, an expired token, a wrong audience or issuer and an unsigned token, and writes nothing', async () => {
    const bad: Record<string, () => Promise<string>> = {
      'bad signature': () => jwt('alice', {}, 'rogue'),
      expired: () => jwt('alice', { iat: now() - 900, exp: now() - 120 }),
      'wrong audience': () => jwt('alice', { aud: 'someone-else' }),
      'wrong issuer': () => jwt('alice', { iss: 'https://evil.example.test' }),
      'no exp': () => jwt('alice', { exp: undefined }),
      unsigned: async () => unsignedJwt('alice'),
    }
    for (const [what, make] of Object.entries(bad)) {
      const token = await make()
      const producer = oauthClient(async () => ({ value: token })).producer()
      const outcome = await producer.connect().then(
        () => producer.send({ topic: 'oauth-refused', messages: [{ value: 'x' }] }).then(() => 'sent'),
        (err: Error) => `${err.name}: ${err.message}`,
      )
      await producer.disconnect().catch(() => {})
      expect(outcome, what).toMatch(/^KafkaJSSASLAuthenticationError: .*\{"status":"invalid_token"\}/)
    }
    expect(await topicExists('oauth-refused')).toBe(false)
  }, 25_000)

  it('re-authenticates on the same connection with a new token before the old one expires', async () => {
    let tokens = 0
    let sockets = 0
    const socketFactory = ({ host, port: p, ssl, onConnect }: { host: string; port: number; ssl: tls.ConnectionOptions; onConnect: () => void }) => {
      sockets++
      return tls.connect({ host, port: p, servername: host, ...ssl }, onConnect)
    }
    // Tokens of 2 to 3 s; kafkajs re-authenticates when less than 2 s of the session is left.
    const kafka = oauthClient(
      async () => {
        tokens++
        return { value: await jwt('alice', { exp: now() + 3 }) }
      },
      { socketFactory, reauthenticationThreshold: 2000 },
    )
    const producer = kafka.producer()
    try {
      await producer.connect()
      await producer.send({ topic: 'oauth-reauth', messages: [{ value: '0' }] })
      const socketsAtStart = sockets
      expect(socketsAtStart).toBeGreaterThan(0)
      const tokensAtStart = tokens
      // Past the first token's expiry.
      for (let i = 1; i <= 6; i++) {
        await sleep(550)
        await producer.send({ topic: 'oauth-reauth', messages: [{ value: String(i) }] })
      }
      expect(tokens).toBeGreaterThan(tokensAtStart)
      expect(sockets).toBe(socketsAtStart)
    } finally {
      await producer.disconnect().catch(() => {})
    }
  }, 25_000)
})

describe('OAUTHBEARER on the wire', () => {
  it('reports the token remaining lifetime as the session lifetime when it is less than connections.max.reauth.ms', async () => {
    const c = await WireClient.connect(`127.0.0.1:${port('FILEKEYS')}`)
    const token = await jwt('ignored', { client_id: 'alice', exp: now() + 120 }, 'ec')
    const r = await login(c, firstMessage(token))
    expect(r.errorCode).toBe(ErrorCode.NONE)
    expect(r.sessionLifetimeMs).toBeGreaterThan(100_000)
    expect(r.sessionLifetimeMs).toBeLessThanOrEqual(120_000)
    expect((await metadata(c)).body.brokers).toHaveLength(1)
    c.close()
    const d = await WireClient.connect(`127.0.0.1:${port('FILEKEYS')}`)
    const long = await jwt('ignored', { client_id: 'alice', exp: now() + 7200 }, 'ec')
    expect((await login(d, firstMessage(long))).sessionLifetimeMs).toBe(3_600_000)
    d.close()
  })

  it('answers a refused token with RFC 7628 invalid_token, a malformed message generically, and closes', async () => {
    const c = await WireClient.connect(`127.0.0.1:${port('FILEKEYS')}`)
    // Signed by the RSA key of the other listener's JWKS, which this listener does not hold.
    const r = await login(c, firstMessage(await jwt('alice', { client_id: 'alice' })))
    expect(r).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: '{"status":"invalid_token"}' })
    expect(await c.closedWithin(3000)).toBe(true)
    const d = await WireClient.connect(`127.0.0.1:${port('FILEKEYS')}`)
    const m = await login(d, Buffer.from('n,,auth=Bearer x'))
    expect(m.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED)
    expect(m.errorMessage).toMatch(/invalid credentials with SASL mechanism OAUTHBEARER/)
    expect(await d.closedWithin(3000)).toBe(true)
    const e = await WireClient.connect(`127.0.0.1:${port('FILEKEYS')}`)
    const token = await jwt('x', { client_id: 'alice' }, 'ec')
    const a = await login(e, firstMessage(token, 'bob'))
    expect(a.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED)
    expect(a.errorMessage).toMatch(/authorization id \(bob\).*principal name \(alice\)/)
    e.close()
  })

  it('takes the token as a bare frame after a v0 SaslHandshake, and closes when it is refused', async () => {
    const bare = async (token: string): Promise<{ reply: Buffer | null; c: WireClient }> => {
      const c = await WireClient.connect(`127.0.0.1:${port('FILEKEYS')}`)
      expect((await c.request<SaslHandshakeResponse>(ApiKey.SaslHandshake, 0, { mechanism: 'OAUTHBEARER' })).body.errorCode).toBe(ErrorCode.NONE)
      const message = firstMessage(token)
      const size = Buffer.alloc(4)
      size.writeInt32BE(message.length)
      await c.write(Buffer.concat([size, message]))
      return { reply: await c.readFrame(5000), c }
    }
    const ok = await bare(await jwt('x', { client_id: 'alice' }, 'ec'))
    expect(ok.reply).toEqual(Buffer.alloc(0))
    expect((await metadata(ok.c)).body.brokers).toHaveLength(1)
    ok.c.close()
    const refused = await bare(await jwt('x', { client_id: 'alice', aud: 'elsewhere' }, 'ec'))
    expect(refused.reply).toBeNull()
    expect(await refused.c.closedWithin(3000)).toBe(true)
  })

  it('closes a connection whose token ran out, and not one that re-authenticated with a new token', async () => {
    const short = async () => jwt('x', { client_id: 'alice', exp: now() + 2 }, 'ec')
    const expiring = await WireClient.connect(`127.0.0.1:${port('FILEKEYS')}`)
    const renewing = await WireClient.connect(`127.0.0.1:${port('FILEKEYS')}`)
    const first = await login(expiring, firstMessage(await short()))
    expect(first.sessionLifetimeMs).toBeGreaterThan(0)
    expect(first.sessionLifetimeMs).toBeLessThanOrEqual(2000)
    expect((await login(renewing, firstMessage(await short()))).errorCode).toBe(ErrorCode.NONE)
    const fresh = await jwt('x', { client_id: 'alice' }, 'ec')
    expect((await login(renewing, firstMessage(fresh))).sessionLifetimeMs).toBeGreaterThan(500_000)
    await sleep(2100)
    expect((await metadata(renewing)).body.brokers).toHaveLength(1)
    await expiring.write(expiring.frame(ApiKey.Metadata, 0, (w) => w.writeArrayLength(0)))
    expect(await expiring.closedWithin(3000)).toBe(true)
    // Another user's token may not take over the connection.
    const other = await jwt('x', { client_id: 'mallory' }, 'ec')
    expect((await login(renewing, firstMessage(other))).errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED)
    renewing.close()
  })
})

describe('OAUTHBEARER key sets', () => {
  it('picks up a key the provider adds when a token names it', async () => {
    idp.rotate()
    const producer = oauthClient(async () => ({ value: await jwt('alice', {}, 'rsa2') })).producer()
    try {
      await producer.connect()
      await producer.send({ topic: 'oauth-rotated', messages: [{ value: 'x' }] })
    } finally {
      await producer.disconnect().catch(() => {})
    }
    expect(await topicExists('oauth-rotated')).toBe(true)
  })

  it('starts while the JWKS endpoint is down, refuses tokens until it answers, then accepts them', async () => {
    idp.available = false
    const b = await startBroker({
      logLevel: 'silent',
      config: {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        'sasl.enabled.mechanisms': 'OAUTHBEARER',
        'sasl.oauthbearer.jwks.endpoint.url': idp.jwksUrl,
        'sasl.oauthbearer.expected.audience': AUDIENCE,
        'sasl.oauthbearer.expected.issuer': ISSUER,
        'connection.failed.authentication.delay.ms': '1',
      },
    })
    try {
      const c = await WireClient.connect(b.address)
      expect((await login(c, firstMessage(await jwt('alice')))).errorMessage).toBe('{"status":"invalid_token"}')
      c.close()
      idp.available = true
      const d = await WireClient.connect(b.address)
      expect((await login(d, firstMessage(await jwt('alice')))).errorCode).toBe(ErrorCode.NONE)
      d.close()
    } finally {
      idp.available = true
      await b.stop()
    }
  })
})

describe('OAUTHBEARER configuration', () => {
  const start = (config: Record<string, string>) =>
    startBroker({ dataDir: undefined, logLevel: 'silent', config: { listeners: 'SASL_PLAINTEXT://127.0.0.1:0', 'sasl.enabled.mechanisms': 'PLAIN,OAUTHBEARER', ...config } })

  it('refuses to start without a JWKS or the unsecured flag, without an expected audience or issuer, or with an unreadable JWKS file', async () => {
    await expect(start({})).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringMatching(/OAUTHBEARER is enabled but sasl\.oauthbearer\.jwks\.endpoint\.url is not set/) })
    const keys = { 'sasl.oauthbearer.jwks.endpoint.url': idp.jwksFileUrl }
    await expect(start({ ...keys, 'sasl.oauthbearer.expected.issuer': ISSUER })).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringMatching(/expected\.audience/) })
    await expect(start({ ...keys, 'sasl.oauthbearer.expected.audience': AUDIENCE })).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringMatching(/expected\.issuer/) })
    const verified = { ...keys, 'sasl.oauthbearer.expected.audience': AUDIENCE, 'sasl.oauthbearer.expected.issuer': ISSUER }
    await expect(start({ ...verified, 'sasl.oauthbearer.clock.skew.seconds': 'soon' })).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringMatching(/clock\.skew\.seconds must be a whole number/) })
    await expect(start({ ...verified, 'sasl.oauthbearer.unsecured.enable': 'true' })).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringMatching(/exclude each other/) })
    await expect(start({ 'sasl.oauthbearer.jwks.endpoint.url': `file://${dir}/missing.json`, 'sasl.oauthbearer.allow.unverified.audience': 'true', 'sasl.oauthbearer.allow.unverified.issuer': 'true' })).rejects.toMatchObject({
      code: 'ECONFIG',
      message: expect.stringMatching(/cannot load the JSON Web Key Set/),
    })
  })

  it('accepts unsigned tokens only with sasl.oauthbearer.unsecured.enable=true', async () => {
    // The README's example: a key set for the broker, unsigned tokens on one listener.
    const b = await start({
      'sasl.oauthbearer.jwks.endpoint.url': idp.jwksFileUrl,
      'sasl.oauthbearer.expected.audience': AUDIENCE,
      'sasl.oauthbearer.expected.issuer': ISSUER,
      'listener.name.sasl_plaintext.oauthbearer.sasl.oauthbearer.jwks.endpoint.url': '',
      'listener.name.sasl_plaintext.oauthbearer.sasl.oauthbearer.unsecured.enable': 'true',
    })
    try {
      const c = await WireClient.connect(b.address)
      expect((await login(c, firstMessage(unsignedJwt('carol')))).errorCode).toBe(ErrorCode.NONE)
      c.close()
      // A signature is no substitute for alg none here, and an expired unsigned token is refused.
      const d = await WireClient.connect(b.address)
      expect((await login(d, firstMessage(unsignedJwt('carol', -120)))).errorMessage).toBe('{"status":"invalid_token"}')
      d.close()
      const e = await WireClient.connect(b.address)
      expect((await login(e, firstMessage(await jwt('carol')))).errorMessage).toBe('{"status":"invalid_token"}')
      e.close()
    } finally {
      await b.stop()
    }
  })
})

