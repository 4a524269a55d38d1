// The client side of SASL PLAIN, SCRAM-SHA-256/512 (RFC 4616, RFC 5802/7677) and OAUTHBEARER
// (RFC 7628), token by token, independent of how tokens travel (SaslAuthenticate requests or bare
// frames).
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'

export type SaslMechanismName = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER'

export type SaslCredentials =
  | { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
  /** A bearer token (a JWT) obtained elsewhere. */
  | { mechanism: 'OAUTHBEARER'; token: string }

export interface SaslClient {
  /** The first token. */
  start(): Buffer
  /** The reply to a server token, or null when the exchange is complete (after checking it). */
  respond(challenge: Buffer): Buffer | null
}

export function saslClient(c: SaslCredentials): SaslClient {
  if (c.mechanism === 'OAUTHBEARER') {
    return {
      start: () => Buffer.from(`n,,\x01auth=Bearer ${c.token}\x01\x01`, 'utf8'),
      // A server that refuses the token may first send its error as a challenge (RFC 7628 3.2.2);
      // the client answers %x01 and gets the failure.
      respond: (challenge) => (challenge.length === 0 ? null : Buffer.from([1])),
    }
  }
  if (c.mechanism === 'PLAIN') {
    return { start: () => Buffer.from(`\u0000${c.username}\u0000${c.password}`, 'utf8'), respond: () => null }
  }
  return new ScramClient(c.mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512', c.username, c.password)
}

class ScramClient implements SaslClient {
  private readonly nonce = randomBytes(24).toString('base64url')
  private clientFirstBare = ''
  private serverSignature: Buffer | undefined

  constructor(
    private readonly hash: 'sha256' | 'sha512',
    private readonly username: string,
    private readonly password: string,
  ) {}

  start(): Buffer {
    const name = this.username.replace(/=/g, '=3D').replace(/,/g, '=2C')
    this.clientFirstBare = `n=${name},r=${this.nonce}`
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8')
  }

  respond(challenge: Buffer): Buffer | null {
    const text = challenge.toString('utf8')
    if (this.serverSignature !== undefined) {
      const m = /(?:^|,)v=([^,]*)/.exec(text)
      if (m === null) throw new Error(`SCRAM authentication failed: ${/(?:^|,)e=([^,]*)/.exec(text)?.[1] ?? 'no server signature'}`)
      const got = Buffer.from(m[1]!, 'base64')
      if (got.length !== this.serverSignature.length || !timingSafeEqual(got, this.serverSignature)) throw new Error('SCRAM server signature mismatch')
      return null
    }
    const attrs = new Map(text.split(',').map((p) => [p[0]!, p.slice(2)] as const))
    const nonce = attrs.get('r') ?? ''
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64')
    const iterations = Number(attrs.get('i'))
    if (!nonce.startsWith(this.nonce) || !(iterations > 0)) throw new Error('invalid SCRAM server-first message')
    const salted = pbkdf2Sync(Buffer.from(this.password.normalize('NFKC'), 'utf8'), salt, iterations, this.hash === 'sha256' ? 32 : 64, this.hash)
    const clientKey = createHmac(this.hash, salted).update('Client Key').digest()
    const storedKey = createHash(this.hash).update(clientKey).digest()
    const withoutProof = `c=biws,r=${nonce}`
    const authMessage = `${this.clientFirstBare},${text},${withoutProof}`
    const signature = createHmac(this.hash, storedKey).update(authMessage).digest()
    for (let i = 0; i < clientKey.length; i++) clientKey[i]! ^= signature[i]!
    this.serverSignature = createHmac(this.hash, createHmac(this.hash, salted).update('Server Key').digest()).update(authMessage).digest()
    return Buffer.from(`${withoutProof},p=${clientKey.toString('base64')}`, 'utf8')
  }
}
