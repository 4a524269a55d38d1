// SASL OAUTHBEARER (RFC 7628, Kafka's KIP-255), server side: one client message,
// `n,[a=authzid],^Aauth=Bearer <token>^A[key=value^A...]^A`, whose token the listener's validator
// turns into a principal (oauthbearer-validator.ts). Extensions other than `auth` are accepted and
// ignored, as Kafka's own validators do; an authorization id other than the token's principal is
// refused, as in Kafka.
//
// A refused token gets RFC 7628's error, `{"status":"invalid_token"}`, as Kafka words it. Kafka
// sends it as a challenge, waits for the client's %x01, then fails the SaslAuthenticate with that
// text as its error message. Samsa sends that failure at once: Java clients and librdkafka report
// it the same way, and kafkajs, which never answers a challenge, reports an authentication error
// instead of a connection closed under its next request.
import type { SaslServer, SaslStep } from './server.js'
import type { OAuthBearerValidator } from './oauthbearer-validator.js'

export const INVALID_TOKEN = '{"status":"invalid_token"}'

export class OAuthBearerServer implements SaslServer {
  readonly mechanism = 'OAUTHBEARER'
  private done = false

  constructor(private readonly validator: OAuthBearerValidator) {}

  async evaluate(message: Buffer): Promise<SaslStep> {
    if (this.done) return { kind: 'failed', reason: 'OAUTHBEARER takes a single message' }
    this.done = true
    const parsed = parseClientFirstMessage(message.toString('utf8'))
    if (typeof parsed === 'string') return { kind: 'failed', reason: parsed }
    const check = await this.validator.validate(parsed.token)
    if (!check.ok) return { kind: 'failed', reason: check.reason, clientMessage: INVALID_TOKEN }
    if (parsed.authzid !== '' && parsed.authzid !== check.principal) {
      const reason = `Authentication failed: Client requested an authorization id (${parsed.authzid}) that is different from the token's principal name (${check.principal})`
      return { kind: 'failed', reason, clientMessage: reason }
    }
    return { kind: 'complete', token: Buffer.alloc(0), user: check.principal, expiresAtMs: check.expiresAtMs }
  }
}

export interface ClientFirstMessage {
  authzid: string
  token: string
  extensions: Map<string, string>
}

const KEY_VALUE = /^([A-Za-z]+)=([\x21-\x7E \t\r\n]*)$/
/** RFC 6750's b64token after the scheme, which is matched without regard to case. */
const BEARER = /^bearer +([-A-Za-z0-9._~+/]+=*)$/i

/** The message's parts, or why it is malformed. */
export function parseClientFirstMessage(text: string): ClientFirstMessage | string {
  const m = /^[ny],(a=[^,]*)?,\x01([^]*)\x01$/.exec(text)
  if (m === null) return 'invalid OAUTHBEARER client first message'
  const authzid = (m[1]?.slice(2) ?? '').replace(/=2C/g, ',').replace(/=3D/g, '=')
  const pairs = m[2]!.split('\x01')
  // Each key=value pair ends with ^A, so the last piece is empty.
  if (pairs.pop() !== '') return 'invalid OAUTHBEARER client first message'
  let token: string | undefined
  const extensions = new Map<string, string>()
  for (const pair of pairs) {
    const kv = KEY_VALUE.exec(pair)
    if (kv === null) return 'invalid OAUTHBEARER key-value pair'
    if (kv[1] !== 'auth') {
      extensions.set(kv[1]!, kv[2]!)
      continue
    }
    const bearer = BEARER.exec(kv[2]!)
    if (token !== undefined || bearer === null) return 'invalid OAUTHBEARER auth value: not one "Bearer <token>"'
    token = bearer[1]!
  }
  if (token === undefined) return 'OAUTHBEARER client first message without auth=Bearer'
  return { authzid, token, extensions }
}
