// SASL OAUTHBEARER with other clients: confluent-kafka (python, librdkafka) hands a signed JWT
// from its oauth_cb over SASL_SSL and produces and consumes; kcat's built-in unsecured token (alg
// none) is refused by a listener that verifies signatures and served by one with
// sasl.oauthbearer.unsecured.enable; samsa's --command-config reads a token file.
// Debian's librdkafka (2.0) does not re-authenticate (KIP-368); librdkafka 2.15 does, in
// oauthbearer-reauth-librdkafka.test.ts.
import { writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { makePki, sslConfig, type TestPki } from '../../helpers/certs.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { AUDIENCE, ISSUER, type TestIdp, nowSeconds as now, startTestIdp } from '../../helpers/oauth.js'
import { ensureBuilt, samsa } from '../../cli/harness.js'
import { WireClient } from '../../helpers/wire.js'
import { ApiKey } from '../../../protocol/generated/index.js'
import { ErrorCode } from '../../../protocol/errors.js'
import type { MetadataResponse } from '../../../protocol/generated/metadata.js'
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
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'OAUTHBEARER',
      'sasl.oauthbearer.jwks.endpoint.url': idp.jwksUrl,
      'sasl.oauthbearer.expected.audience': AUDIENCE,
      'sasl.oauthbearer.expected.issuer': ISSUER,
      ...sslConfig(pki),
    },
  })
})

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

describe('samsa --command-config with OAUTHBEARER', () => {
  it('logs in with a token file, is refused with an expired one, and sends librdkafka-style unsigned tokens', async () => {
    ensureBuilt()
    const config = (name: string, lines: string[]) => {
      const file = `${dir}/${name}.properties`
      writeFileSync(file, ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=OAUTHBEARER', ...lines, ''].join('\n'))
      return file
    }
    const tokenFile = (name: string, token: string) => {
      writeFileSync(`${dir}/${name}.jwt`, `${token}\n`)
      return `sasl.oauthbearer.token.endpoint.url=file://${dir}/${name}.jwt`
    }
    const b = ['--bootstrap-server', `127.0.0.1:${port('SASL_PLAINTEXT')}`]
    const good = config('good', [tokenFile('good', await idp.jwt('alice'))])
    const created = await samsa([...b, '--command-config', good, 'topics', 'create', 'oauth-cli'])
    expect(created.stderr).toBe('')
    expect(created.code).toBe(0)
    expect(await topicExists('oauth-cli')).toBe(true)
    const expired = config('expired', [tokenFile('expired', await idp.jwt('alice', { iat: now() - 900, exp: now() - 120 }))])
    const refused = await samsa([...b, '--command-config', expired, 'topics', 'create', 'oauth-cli-expired'])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain('{"status":"invalid_token"}')
    // An unsigned token is sent as librdkafka makes it, and this listener refuses it.
    const unsigned = config('unsigned', ['enable.sasl.oauthbearer.unsecure.jwt=true', 'sasl.oauthbearer.config=principal=alice'])
    const unsignedRefused = await samsa([...b, '--command-config', unsigned, 'topics', 'create', 'oauth-cli-unsigned'])
    expect(unsignedRefused.stderr).toContain('{"status":"invalid_token"}')
    expect(await topicExists('oauth-cli-expired')).toBe(false)
    expect(await topicExists('oauth-cli-unsigned')).toBe(false)
  }, 30_000)
})
