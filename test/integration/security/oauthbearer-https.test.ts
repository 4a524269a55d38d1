// OAUTHBEARER with the key set behind https: a broker in a child process (so that
// NODE_EXTRA_CA_CERTS, read at process start, can make it trust the test CA) fetches its JWKS from
// an https server on 127.0.0.1 and verifies tokens with it.
import { readFileSync } from 'node:fs'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiKey } from '../../../protocol/generated/index.js'
import { ErrorCode } from '../../../protocol/errors.js'
import type { SaslHandshakeResponse } from '../../../protocol/generated/sasl-handshake.js'
import type { SaslAuthenticateResponse } from '../../../protocol/generated/sasl-authenticate.js'
import { KEY_PASSWORD, makePki, type TestPki } from '../../helpers/certs.js'
import { ensureBuilt as ensureBrokerBuilt, startChildBroker } from '../../helpers/child-broker.js'
import { AUDIENCE, ISSUER, type TestIdp, oauthBearerMessage, startTestIdp } from '../../helpers/oauth.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { WireClient } from '../../helpers/wire.js'

let dir: string
let pki: TestPki
let idp: TestIdp

beforeAll(async () => {
  dir = await makeTempDir('samsa-oauth-https-')
  pki = makePki(dir)
  idp = await startTestIdp(dir)
})

afterAll(async () => {
  await idp?.close()
  await removeDir(dir)
})

describe('OAUTHBEARER with a JWKS over https', () => {
  it('verifies tokens against keys fetched from an https endpoint the broker trusts (NODE_EXTRA_CA_CERTS)', async () => {
    await ensureBrokerBuilt()
    const keystore = readFileSync(pki.keystoreFile, 'utf8')
    const jwks = await (await fetch(idp.jwksUrl)).text()
    const server = https.createServer({ key: keystore, passphrase: KEY_PASSWORD, cert: keystore }, (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(jwks))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const saved = process.env.NODE_EXTRA_CA_CERTS
    process.env.NODE_EXTRA_CA_CERTS = pki.caFile
    const child = await startChildBroker(`${dir}/https-data`, {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'OAUTHBEARER',
      'sasl.oauthbearer.jwks.endpoint.url': `https://localhost:${(server.address() as AddressInfo).port}/jwks.json`,
      'sasl.oauthbearer.expected.audience': AUDIENCE,
      'sasl.oauthbearer.expected.issuer': ISSUER,
    }).finally(() => {
      if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS
      else process.env.NODE_EXTRA_CA_CERTS = saved
    })
    try {
      const login = async (token: string) => {
        const c = await WireClient.connect(child.address)
        try {
          expect((await c.request<SaslHandshakeResponse>(ApiKey.SaslHandshake, 1, { mechanism: 'OAUTHBEARER' })).body.errorCode).toBe(ErrorCode.NONE)
          return (await c.request<SaslAuthenticateResponse>(ApiKey.SaslAuthenticate, 2, { authBytes: oauthBearerMessage(token) })).body
        } finally {
          c.close()
        }
      }
      expect((await login(await idp.jwt('alice'))).errorCode, child.output()).toBe(ErrorCode.NONE)
      expect((await login(await idp.jwt('alice', {}, 'rogue'))).errorMessage).toBe('{"status":"invalid_token"}')
    } finally {
      await child.stop()
      await new Promise((resolve) => server.close(resolve))
    }
  }, 30_000)
})
