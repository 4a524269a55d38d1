// SASL PLAIN (RFC 4616): one message, `authzid NUL authcid NUL password`, checked against the
// user's stored SCRAM credential, so no password file exists. As in Kafka, an authorization id
// other than the user itself is refused.
import { type ScramCredentialStore, verifyPassword } from '../scram-credentials.js'
import type { SaslServer, SaslStep } from './server.js'

export class PlainServer implements SaslServer {
  readonly mechanism = 'PLAIN'
  private done = false

  constructor(private readonly credentials: ScramCredentialStore) {}

  async evaluate(token: Buffer): Promise<SaslStep> {
    if (this.done) return { kind: 'failed', reason: 'PLAIN takes a single message' }
    this.done = true
    const first = token.indexOf(0)
    const second = first < 0 ? -1 : token.indexOf(0, first + 1)
    if (first < 0 || second < 0) return { kind: 'failed', reason: 'invalid PLAIN message' }
    const authzid = token.subarray(0, first).toString('utf8')
    const user = token.subarray(first + 1, second).toString('utf8')
    const password = token.subarray(second + 1).toString('utf8')
    if (user === '' || password === '') return { kind: 'failed', reason: 'PLAIN user name and password must not be empty' }
    if (authzid !== '' && authzid !== user) return { kind: 'failed', reason: 'authorization id differs from the user name' }
    const stored = this.credentials.any(user)
    // An unknown user costs the same work as a wrong password.
    const ok = stored === undefined ? (await verifyPassword('SCRAM-SHA-512', UNKNOWN_USER, password), false) : await verifyPassword(stored.mechanism, stored.credential, password)
    return ok ? { kind: 'complete', token: Buffer.alloc(0), user } : { kind: 'failed', reason: 'invalid credentials' }
  }
}

const UNKNOWN_USER = { salt: Buffer.alloc(32).toString('base64'), storedKey: Buffer.alloc(64).toString('base64'), serverKey: '', iterations: 4096 }
