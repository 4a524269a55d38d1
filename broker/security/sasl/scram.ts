// SASL SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), server side, as Kafka's
// ScramSaslServer: client-first (`n,,n=user,r=nonce`), server-first (`r=nonce+ours,s=salt,
// i=iterations`), client-final (`c=biws,r=...,p=proof`), server-final (`v=signature`). Channel
// binding is not supported (gs2 flag `n` or `y`). An unknown user gets a made-up salt and fails
// at the proof, so the exchange does not tell which users exist.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { type ScramCredential, type ScramCredentialStore, type ScramMechanism, MIN_ITERATIONS, scramHash } from '../scram-credentials.js'
import type { SaslServer, SaslStep } from './server.js'

type State = 'first' | 'final' | 'done'

export class ScramServer implements SaslServer {
  private state: State = 'first'
  private user = ''
  private credential: ScramCredential | undefined
  private clientFirstBare = ''
  private serverFirst = ''
  private nonce = ''
  private gs2Header = ''

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly credentials: ScramCredentialStore,
  ) {}

  evaluate(token: Buffer): SaslStep {
    const message = token.toString('utf8')
    if (this.state === 'first') return this.first(message)
    if (this.state === 'final') return this.final(message)
    return { kind: 'failed', reason: 'SCRAM exchange already finished' }
  }

  private first(message: string): SaslStep {
    this.state = 'final'
    const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/.exec(message)
    if (m === null) return { kind: 'failed', reason: 'invalid SCRAM client-first message' }
    if (m[1]!.startsWith('p=')) return { kind: 'failed', reason: 'SCRAM channel binding is not supported' }
    this.gs2Header = `${m[1]},${m[2] ?? ''},`
    this.clientFirstBare = m[3]!
    const attrs = parseAttributes(this.clientFirstBare)
    const user = attrs.get('n')
    const clientNonce = attrs.get('r')
    if (user === undefined || clientNonce === undefined || clientNonce === '') return { kind: 'failed', reason: 'invalid SCRAM client-first message' }
    this.user = user.replace(/=2C/g, ',').replace(/=3D/g, '=')
    const authzid = m[2]?.slice(2)
    if (authzid !== undefined && authzid !== '' && authzid !== this.user) return { kind: 'failed', reason: 'authorization id differs from the user name' }
    this.credential = this.credentials.get(this.user, this.mechanism)
    const salt = this.credential?.salt ?? createHash('sha256').update(`samsa-unknown-user:${this.user}`).digest('base64')
    const iterations = this.credential?.iterations ?? MIN_ITERATIONS
    this.nonce = clientNonce + randomBytes(18).toString('base64url')
    this.serverFirst = `r=${this.nonce},s=${salt},i=${iterations}`
    return { kind: 'challenge', token: Buffer.from(this.serverFirst, 'utf8') }
  }

  private final(message: string): SaslStep {
    this.state = 'done'
    const proofAt = message.lastIndexOf(',p=')
    if (proofAt < 0) return { kind: 'failed', reason: 'invalid SCRAM client-final message' }
    const withoutProof = message.slice(0, proofAt)
    const attrs = parseAttributes(withoutProof)
    // Kafka's check is endsWith: librdkafka before 2.1 sends its own nonce in front of ours again.
    if (!(attrs.get('r') ?? '').endsWith(this.nonce)) return { kind: 'failed', reason: 'SCRAM nonce mismatch' }
    if (attrs.get('c') !== Buffer.from(this.gs2Header, 'utf8').toString('base64')) return { kind: 'failed', reason: 'SCRAM channel binding mismatch' }
    const credential = this.credential
    if (credential === undefined) return { kind: 'failed', reason: 'invalid credentials' }
    const hash = scramHash(this.mechanism)
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`
    const storedKey = Buffer.from(credential.storedKey, 'base64')
    const proof = Buffer.from(message.slice(proofAt + 3), 'base64')
    const signature = createHmac(hash, storedKey).update(authMessage).digest()
    if (proof.length !== signature.length) return { kind: 'failed', reason: 'invalid credentials' }
    for (let i = 0; i < proof.length; i++) proof[i]! ^= signature[i]!
    if (!timingSafeEqual(createHash(hash).update(proof).digest(), storedKey)) return { kind: 'failed', reason: 'invalid credentials' }
    const serverSignature = createHmac(hash, Buffer.from(credential.serverKey, 'base64')).update(authMessage).digest('base64')
    return { kind: 'complete', token: Buffer.from(`v=${serverSignature}`, 'utf8'), user: this.user }
  }
}

function parseAttributes(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    if (eq === 1) out.set(part[0]!, part.slice(2))
  }
  return out
}
