// TLS and SASL/SCRAM in the end-to-end run: one broker with a PLAINTEXT, an SSL and a SASL_PLAINTEXT
// listener, so the same workload runs over plain TCP and over TLS side by side against the same
// process, and SCRAM-SHA-256 logins run next to plain connection set-ups.
//
// Certificates are made with openssl in the run's work directory (a CA and a broker certificate
// for 127.0.0.1); the SCRAM user is written into the data directory before the broker starts.
//
// The login loop does what a client does on every connection (TCP connect, SaslHandshake, the two
// SCRAM round trips, checking the server's signature) but salts the password once per salt, as a
// client with a cached salted password would: PBKDF2 is the client's cost, 4096 iterations of it
// per login would make this measure the load generator, not the broker.
import { execFileSync } from 'node:child_process'
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { ClientSecurity } from '../../broker/client/connection.js'
import { withOfflineCredentials } from '../../broker/security/offline-credentials.js'
import { makeCredential } from '../../broker/security/scram-credentials.js'
import { ApiVersionsApi } from '../../protocol/generated/api-versions.js'
import { SaslAuthenticateApi } from '../../protocol/generated/sasl-authenticate.js'
import { SaslHandshakeApi } from '../../protocol/generated/sasl-handshake.js'
import { connect } from '../load/connection.js'
import { startSamsa, type SamsaServer } from './samsa.js'

export const SCRAM_USER = { username: 'bench', password: 'bench-secret' }

export interface SecureSamsa {
  plain: SamsaServer
  tls: SamsaServer
  sasl: SamsaServer
}

/** A CA and a broker certificate for 127.0.0.1 under `dir`; returns the keystore and the CA file. */
export function makeCertificates(dir: string): { keystore: string; ca: string } {
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Samsa bench CA'])
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=localhost'])
  execFileSync('sh', ['-c', 'printf "subjectAltName=DNS:localhost,IP:127.0.0.1\\n" > san.ext'], { cwd: dir })
  openssl(['x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '1', '-out', 'broker.pem', '-days', '2', '-extfile', 'san.ext'])
  const keystore = path.join(dir, 'broker-keystore.pem')
  execFileSync('sh', ['-c', 'cat broker.key broker.pem > broker-keystore.pem'], { cwd: dir })
  return { keystore, ca: path.join(dir, 'ca.pem') }
}

/** Starts a broker with the three listeners and a SCRAM-SHA-256 user; `settings` as for startSamsa. */
export async function startSecureSamsa(dataDir: string, certDir: string, settings: Record<string, string> = {}): Promise<SecureSamsa> {
  const { keystore, ca } = makeCertificates(certDir)
  const credential = await makeCredential('SCRAM-SHA-256', SCRAM_USER.password)
  await withOfflineCredentials(dataDir, (store) => store.alter({ upsertions: [{ user: SCRAM_USER.username, mechanism: 'SCRAM-SHA-256', credential }] }))
  const plain = await startSamsa(
    dataDir,
    [],
    {
      listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-256',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': keystore,
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': ca,
      ...settings,
    },
    /listening on (\S+):(\d+)\nlistening on SSL:\/\/(\S+):(\d+)\nlistening on SASL_PLAINTEXT:\/\/(\S+):(\d+)/,
  )
  const m = plain.service.match
  const tlsSecurity: ClientSecurity = { protocol: 'SSL', tls: { ca: readFileSync(ca, 'utf8') } }
  const saslSecurity: ClientSecurity = { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-256', ...SCRAM_USER } }
  return {
    plain,
    tls: { ...plain, host: m[3]!, port: Number(m[4]), bootstrap: `${m[3]}:${m[4]}`, security: tlsSecurity },
    sasl: { ...plain, host: m[5]!, port: Number(m[6]), bootstrap: `${m[5]}:${m[6]}`, security: saslSecurity },
  }
}

/** SCRAM-SHA-256 client exchange (RFC 5802) with the salted password cached per salt and iteration count. */
class ScramLogin {
  private readonly salted = new Map<string, Buffer>()

  constructor(private readonly password: string) {}

  async login(s: SamsaServer): Promise<void> {
    const conn = await connect(s.host, s.port)
    try {
      const hs = await conn.request(SaslHandshakeApi, 1, { mechanism: 'SCRAM-SHA-256' })
      if (hs.errorCode !== 0) throw new Error(`SaslHandshake: error ${hs.errorCode}`)
      const nonce = randomBytes(24).toString('base64url')
      const clientFirstBare = `n=${SCRAM_USER.username},r=${nonce}`
      const first = await conn.request(SaslAuthenticateApi, 1, { authBytes: Buffer.from(`n,,${clientFirstBare}`) })
      if (first.errorCode !== 0) throw new Error(`SaslAuthenticate: ${first.errorMessage ?? first.errorCode}`)
      const serverFirst = Buffer.from(first.authBytes).toString('utf8')
      const attrs = new Map(serverFirst.split(',').map((p) => [p[0]!, p.slice(2)] as const))
      const key = `${attrs.get('s')}:${attrs.get('i')}`
      let salted = this.salted.get(key)
      if (salted === undefined) {
        salted = pbkdf2Sync(this.password, Buffer.from(attrs.get('s')!, 'base64'), Number(attrs.get('i')), 32, 'sha256')
        this.salted.set(key, salted)
      }
      const clientKey = createHmac('sha256', salted).update('Client Key').digest()
      const storedKey = createHash('sha256').update(clientKey).digest()
      const withoutProof = `c=biws,r=${attrs.get('r')}`
      const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`
      const signature = createHmac('sha256', storedKey).update(authMessage).digest()
      for (let i = 0; i < clientKey.length; i++) clientKey[i]! ^= signature[i]!
      const final = await conn.request(SaslAuthenticateApi, 1, { authBytes: Buffer.from(`${withoutProof},p=${clientKey.toString('base64')}`) })
      if (final.errorCode !== 0) throw new Error(`SaslAuthenticate: ${final.errorMessage ?? final.errorCode}`)
      const serverSignature = createHmac('sha256', createHmac('sha256', salted).update('Server Key').digest()).update(authMessage).digest()
      const v = /(?:^|,)v=([^,]*)/.exec(Buffer.from(final.authBytes).toString('utf8'))?.[1]
      if (v === undefined || !timingSafeEqual(Buffer.from(v, 'base64'), serverSignature)) throw new Error('SCRAM server signature mismatch')
    } finally {
      conn.close()
    }
  }
}

/** `concurrency` loops of connect + SCRAM login + close for `seconds`; returns completed logins. */
export async function scramLogins(s: SamsaServer, seconds: number, concurrency: number): Promise<{ logins: number; seconds: number }> {
  const client = new ScramLogin(SCRAM_USER.password)
  return loop(seconds, concurrency, () => client.login(s)).then(({ count, seconds }) => ({ logins: count, seconds }))
}

/** The same loop with plain TCP connections answering one ApiVersions: the cost of a connection alone. */
export async function plainConnects(s: SamsaServer, seconds: number, concurrency: number): Promise<{ connects: number; seconds: number }> {
  return loop(seconds, concurrency, async () => {
    const conn = await connect(s.host, s.port)
    try {
      const res = await conn.request(ApiVersionsApi, 3, { clientSoftwareName: 'samsa-bench', clientSoftwareVersion: '1' })
      if (res.errorCode !== 0) throw new Error(`ApiVersions: error ${res.errorCode}`)
    } finally {
      conn.close()
    }
  }).then(({ count, seconds }) => ({ connects: count, seconds }))
}

async function loop(seconds: number, concurrency: number, once: () => Promise<void>): Promise<{ count: number; seconds: number }> {
  let count = 0
  const started = performance.now()
  const end = started + seconds * 1000
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await once()
        count++
      }
    }),
  )
  return { count, seconds: (performance.now() - started) / 1000 }
}
