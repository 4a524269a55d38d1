// A stand-in OAuth identity provider for OAUTHBEARER tests: RSA (RS256) and EC (ES256) signing
// keys made at test time, the RSA key's JWKS served over HTTP on 127.0.0.1 and the EC key's
// written to a file, and JWTs signed with either (or with a key in no JWKS). No key is committed.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { writeFileSync } from 'node:fs'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose'

export const ISSUER = 'https://idp.example.test'
export const AUDIENCE = 'samsa'

/** `rsa2` is served only after rotate(); `rogue` is in no JWKS but claims the RSA key's kid. */
export type SigningKey = 'rsa' | 'rsa2' | 'ec' | 'rogue'

export interface TestIdp {
  /** JWKS of the RSA key, over HTTP. */
  jwksUrl: string
  /** JWKS of the EC key, as a file:// URL. */
  jwksFileUrl: string
  /** A JWT for `sub` with good claims for 10 minutes, changed by `claims`. */
  jwt(sub: string, claims?: JWTPayload, key?: SigningKey): Promise<string>
  /** Serves a second RSA key (kid rsa-2) next to the first, as a provider rotating its keys. */
  rotate(): void
  /** While false, the HTTP JWKS endpoint answers 503. */
  available: boolean
  close(): Promise<void>
}

export const nowSeconds = () => Math.floor(Date.now() / 1000)

/** What Kafka's unsecured login module makes: `alg: none` and an empty signature. */
export function unsignedJwt(sub: string, lifetimeSeconds = 600): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${part({ alg: 'none' })}.${part({ sub, iat: nowSeconds(), exp: nowSeconds() + lifetimeSeconds })}.`
}

/** RFC 7628's client first message. */
export function oauthBearerMessage(token: string, authzid = ''): Buffer {
  return Buffer.from(`n,${authzid === '' ? '' : `a=${authzid}`},\x01auth=Bearer ${token}\x01\x01`)
}

export async function startTestIdp(dir: string): Promise<TestIdp> {
  const rsa = await generateKeyPair('RS256')
  const ec = await generateKeyPair('ES256')
  const rsa2 = await generateKeyPair('RS256')
  const rogue = await generateKeyPair('RS256')
  const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }
  const rsa2Jwk = { ...(await exportJWK(rsa2.publicKey)), kid: 'rsa-2', alg: 'RS256', use: 'sig' }
  const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' }
  const served: object[] = [rsaJwk]
  const server = createServer((req, res) => {
    if (req.url !== '/jwks.json') return void res.writeHead(404).end()
    if (!idp.available) return void res.writeHead(503).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const file = `${dir}/jwks.json`
  writeFileSync(file, JSON.stringify({ keys: [ecJwk] }))
  const keys: Record<SigningKey, { key: CryptoKey; kid: string; alg: string }> = {
    rsa: { key: rsa.privateKey, kid: 'rsa-1', alg: 'RS256' },
    rsa2: { key: rsa2.privateKey, kid: 'rsa-2', alg: 'RS256' },
    ec: { key: ec.privateKey, kid: 'ec-1', alg: 'ES256' },
    rogue: { key: rogue.privateKey, kid: 'rsa-1', alg: 'RS256' },
  }
  const idp: TestIdp = {
    available: true,
    jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    jwksFileUrl: `file://${file}`,
    jwt(sub, claims = {}, key = 'rsa') {
      const k = keys[key]
      const payload = { sub, aud: AUDIENCE, iss: ISSUER, iat: nowSeconds(), exp: nowSeconds() + 600, ...claims }
      return new SignJWT(payload).setProtectedHeader({ alg: k.alg, kid: k.kid, typ: 'JWT' }).sign(k.key)
    },
    rotate: () => void served.push(rsa2Jwk),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
  return idp
}
