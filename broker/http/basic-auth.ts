// HTTP basic authentication against the broker's SCRAM credentials, the same users and passwords
// SASL PLAIN and SCRAM logins use (`samsa users add`), so the endpoint has no password file of
// its own. Checking a password costs a PBKDF2 of 4096+ iterations, so a header that passed is
// remembered (by its hash) for a minute; a changed or removed credential is refused once that
// minute is over. A failure waits connection.failed.authentication.delay.ms, doubled for each
// recent failure from the same address, as a failed SASL login does.
import { createHash } from 'node:crypto'
import type { BrokerContext } from '../context.js'
import { verifyPassword } from '../security/scram-credentials.js'

const REMEMBER_MS = 60_000
const REMEMBER_MAX = 1000

export type BasicAuthOutcome = { ok: true; user: string } | { ok: false; reason: string }

export class BasicAuth {
  private readonly passed = new Map<string, { user: string; until: number }>()

  async check(header: string | undefined, clientHost: string, b: BrokerContext): Promise<BasicAuthOutcome> {
    if (header === undefined || !/^basic /i.test(header)) return { ok: false, reason: 'no credentials' }
    const digest = createHash('sha256').update(header).digest('base64')
    const now = Date.now()
    const known = this.passed.get(digest)
    if (known !== undefined && known.until > now) return { ok: true, user: known.user }
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    const user = colon < 0 ? '' : decoded.slice(0, colon)
    const password = colon < 0 ? '' : decoded.slice(colon + 1)
    const stored = user === '' ? undefined : b.scramCredentials.any(user)
    if (stored !== undefined && password !== '' && (await verifyPassword(stored.mechanism, stored.credential, password))) {
      if (this.passed.size >= REMEMBER_MAX) this.passed.clear()
      this.passed.set(digest, { user, until: now + REMEMBER_MS })
      return { ok: true, user }
    }
    const delay = b.failedLogins.record(clientHost, b.config.getInt('connection.failed.authentication.delay.ms'))
    if (delay > 0) await new Promise((r) => setTimeout(r, delay))
    return { ok: false, reason: stored === undefined ? 'unknown user' : 'wrong password' }
  }
}
