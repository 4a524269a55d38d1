// KIP-368 re-authentication by librdkafka 2.15 (through @confluentinc/kafka-javascript, in
// .cache/ckjs; Debian's librdkafka 2.0 predates it): its token refresh callback hands out JWTs of
// about 3 s, the broker reports what is left of each as the session lifetime, and the producer
// keeps its one connection past several token lifetimes by logging in again on it. Were the
// session not renewed, the broker would close the connection and librdkafka would connect anew.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { AUDIENCE, ISSUER, type TestIdp, nowSeconds, startTestIdp } from '../../helpers/oauth.js'
import { isCI } from '../../helpers/external-clients.js'
import { sleep, waitFor } from '../../helpers/wait.js'

type Callback = (err: { message: string } | null | undefined) => void
interface Producer {
  connect(opts: object, cb: Callback): void
  disconnect(cb: Callback): void
  setPollInterval(ms: number): void
  produce(topic: string, partition: number, value: Buffer): void
  on(event: 'delivery-report', fn: (err: { message: string } | null) => void): void
  on(event: 'event.stats', fn: (stats: { message: string }) => void): void
}
interface RdKafka {
  librdkafkaVersion: string
  Producer: new (config: Record<string, unknown>) => Producer
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
function load(): RdKafka | string {
  try {
    return createRequire(path.join(ROOT, '.cache/ckjs/package.json'))('@confluentinc/kafka-javascript') as RdKafka
  } catch (err) {
    return `cannot load @confluentinc/kafka-javascript from .cache/ckjs (${(err as Error).message.split('\n')[0]}); test/compat/matrix/install-confluent-javascript.sh installs it`
  }
}
const rd = load()

let dir: string
let broker: RunningBroker
let idp: TestIdp

beforeAll(async () => {
  if (typeof rd === 'string') return
  dir = await makeTempDir('samsa-oauth-reauth-')
  idp = await startTestIdp(dir)
  broker = await startBroker({
    dataDir: `${dir}/data`,
    logLevel: 'silent',
    config: {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'OAUTHBEARER',
      'sasl.oauthbearer.jwks.endpoint.url': idp.jwksUrl,
      'sasl.oauthbearer.expected.audience': AUDIENCE,
      'sasl.oauthbearer.expected.issuer': ISSUER,
      'connections.max.reauth.ms': '3600000',
    },
  })
})

afterAll(async () => {
  await broker?.stop()
  await idp?.close()
  if (dir !== undefined) await removeDir(dir)
})

describe.skipIf(typeof rd === 'string' && !isCI)(`OAUTHBEARER re-authentication with librdkafka${typeof rd === 'string' ? ` [skipped: ${rd}]` : ''}`, () => {
  it('keeps one connection past several token lifetimes by re-authenticating with fresh tokens', async () => {
    if (typeof rd === 'string') throw new Error(rd)
    let tokens = 0
    let connects = 0
    const delivered: Array<string | null> = []
    const producer = new rd.Producer({
      'bootstrap.servers': broker.address,
      'security.protocol': 'SASL_PLAINTEXT',
      'sasl.mechanism': 'OAUTHBEARER',
      'broker.address.family': 'v4',
      'statistics.interval.ms': 200,
      dr_cb: true,
      'linger.ms': 0,
      oauthbearer_token_refresh_cb: (_config: string, cb: (err: Error | null, token?: object) => void) => {
        tokens++
        const exp = nowSeconds() + 3
        idp.jwt('alice', { exp }).then((tokenValue) => cb(null, { tokenValue, lifetime: exp * 1000, principal: 'alice' }), (err: Error) => cb(err))
      },
    })
    producer.on('delivery-report', (err) => void delivered.push(err === null ? null : err.message))
    producer.on('event.stats', (s) => {
      const brokers = Object.values((JSON.parse(s.message) as { brokers: Record<string, { nodeid: number; connects: number }> }).brokers)
      connects = brokers.reduce((n, b) => n + (b.connects ?? 0), 0)
    })
    await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(new Error(err.message)) : resolve())))
    producer.setPollInterval(50)
    try {
      producer.produce('oauth-reauth-rdk', 0, Buffer.from('0'))
      await waitFor(() => delivered.length === 1 && connects > 0, { timeoutMs: 10_000 })
      const connectsAtStart = connects
      const tokensAtStart = tokens
      // Over two token lifetimes: each session ends unless renewed on the same connection.
      for (let i = 1; i <= 7; i++) {
        await sleep(1000)
        producer.produce('oauth-reauth-rdk', 0, Buffer.from(String(i)))
      }
      await waitFor(() => delivered.length === 8, { timeoutMs: 10_000 })
      await sleep(400)
      expect(delivered.every((e) => e === null), JSON.stringify(delivered)).toBe(true)
      expect(tokens).toBeGreaterThanOrEqual(tokensAtStart + 2)
      expect(connects).toBe(connectsAtStart)
    } finally {
      await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
    }
  }, 30_000)
})
