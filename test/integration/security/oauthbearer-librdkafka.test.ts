// SASL OAUTHBEARER with librdkafka: confluent-kafka (python) hands a signed JWT from its oauth_cb
// over SASL_SSL and produces and consumes; kcat's built-in unsecured token (alg none) is refused
// by a listener that verifies signatures and served by one with sasl.oauthbearer.unsecured.enable.
// Debian's librdkafka (2.0) does not re-authenticate (KIP-368); oauthbearer.test.ts covers that
// with kafkajs and on the wire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { makePki, sslConfig, type TestPki } from '../../helpers/certs.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { AUDIENCE, ISSUER, type TestIdp, startTestIdp } from '../../helpers/oauth.js'
import { PYTHON, probeKcat, probePythonModule } from '../../helpers/external-clients.js'
import { run } from '../../helpers/run.js'

let dir: string
let pki: TestPki
let broker: RunningBroker
let idp: TestIdp
const port = (name: string) => broker.listeners.find((l) => l.name === name)!.port

beforeAll(async () => {
  dir = await makeTempDir('samsa-oauth-rdk-')
  pki = makePki(dir)
  idp = await startTestIdp(dir)
  broker = await startBroker({
    dataDir: `${dir}/data`,
    logLevel: 'silent',
    config: {
      listeners: 'SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'OAUTHBEARER',
      'sasl.oauthbearer.jwks.endpoint.url': idp.jwksUrl,
      'sasl.oauthbearer.expected.audience': AUDIENCE,
      'sasl.oauthbearer.expected.issuer': ISSUER,
      ...sslConfig(pki),
    },
  })
})

afterAll(async () => {
  await broker?.stop()
  await idp?.close()
  await removeDir(dir)
})

describe.skipIf(probePythonModule('confluent_kafka').skip)('OAUTHBEARER with confluent-kafka', () => {
  it('produces and consumes over SASL_SSL with a signed JWT from oauth_cb', async () => {
    const conf = {
      'bootstrap.servers': `localhost:${port('SASL_SSL')}`,
      'security.protocol': 'SASL_SSL',
      'ssl.ca.location': pki.caFile,
      'sasl.mechanism': 'OAUTHBEARER',
      'oauth_cb.token': await idp.jwt('alice'),
    }
    const r = await run(PYTHON, ['test/integration/python/secure-roundtrip.py', 'confluent-kafka', 'oauth-confluent', JSON.stringify(conf)], { timeoutMs: 30_000 })
    expect(JSON.parse(r.stdout), r.stderr).toEqual({ values: ['one', 'two', 'three'] })
  }, 40_000)
})

describe.skipIf(probeKcat().skip)('OAUTHBEARER with kcat', () => {
  it('the built-in unsecured token is refused by a JWKS listener and served with sasl.oauthbearer.unsecured.enable=true', async () => {
    const unsecured = await startBroker({
      logLevel: 'silent',
      config: { listeners: 'SASL_PLAINTEXT://127.0.0.1:0', 'sasl.enabled.mechanisms': 'OAUTHBEARER', 'sasl.oauthbearer.unsecured.enable': 'true' },
    })
    const kcat = (address: string) =>
      run('kcat', ['-b', address, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanism=OAUTHBEARER', '-X', 'enable.sasl.oauthbearer.unsecure.jwt=true', '-X', 'sasl.oauthbearer.config=principal=alice', '-m', '3', '-L'], { timeoutMs: 20_000 })
    try {
      const [ok, refused] = await Promise.all([kcat(unsecured.address), kcat(`127.0.0.1:${port('SASL_PLAINTEXT')}`)])
      expect(ok.code, ok.stderr).toBe(0)
      expect(ok.stdout).toContain(`broker 1 at ${unsecured.address}`)
      expect(refused.code).not.toBe(0)
      expect(refused.stderr).toContain('invalid_token')
    } finally {
      await unsecured.stop()
    }
  }, 30_000)
})
