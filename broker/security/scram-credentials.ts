// SCRAM credentials (RFC 5802, RFC 7677) as Kafka keeps them: per user and mechanism a random
// salt, an iteration count and the two keys derived from the salted password, StoredKey =
// H(HMAC(SaltedPassword, "Client Key")) and ServerKey = HMAC(SaltedPassword, "Server Key").
// The password itself is never stored; it is enough to verify a SCRAM proof or a PLAIN password.
//
// All credentials live under one admin-state key (storage/metadata-keys.ts): in the broker's
// metadata store, or in a cluster in etcd. A cluster holds a few hundred users at most, and every
// change rewrites the record in one commit.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import type { AdminState } from '../../storage/admin-state.js'
import { SCRAM_CREDENTIALS_KEY } from '../../storage/metadata-keys.js'

export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const
export type ScramMechanism = (typeof SCRAM_MECHANISMS)[number]

/** Kafka's bounds for SCRAM iterations (ScramMechanism.minIterations, and AlterUserScramCredentials' maximum). */
export const MIN_ITERATIONS = 4096
export const MAX_ITERATIONS = 16384

export interface ScramCredential {
  /** base64 */
  salt: string
  storedKey: string
  serverKey: string
  iterations: number
}

type Stored = Record<string, Partial<Record<ScramMechanism, ScramCredential>>>

const pbkdf2Async = promisify(pbkdf2)

export function isScramMechanism(m: string): m is ScramMechanism {
  return (SCRAM_MECHANISMS as readonly string[]).includes(m)
}

/** The hash of a mechanism, as node:crypto names it. */
export function scramHash(m: ScramMechanism): 'sha256' | 'sha512' {
  return m === 'SCRAM-SHA-256' ? 'sha256' : 'sha512'
}

/** Kafka's ScramMechanism type codes in DescribeUserScramCredentials / AlterUserScramCredentials. */
export function scramMechanismCode(m: ScramMechanism): number {
  return m === 'SCRAM-SHA-256' ? 1 : 2
}

export function scramMechanismOfCode(code: number): ScramMechanism | undefined {
  return code === 1 ? 'SCRAM-SHA-256' : code === 2 ? 'SCRAM-SHA-512' : undefined
}

export async function saltPassword(m: ScramMechanism, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  const hash = scramHash(m)
  return pbkdf2Async(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, hash === 'sha256' ? 32 : 64, hash)
}

/** The stored form of a salted password (AlterUserScramCredentials carries the salted password). */
export function credentialFromSaltedPassword(m: ScramMechanism, salt: Buffer, saltedPassword: Buffer, iterations: number): ScramCredential {
  const hash = scramHash(m)
  const clientKey = createHmac(hash, saltedPassword).update('Client Key').digest()
  return {
    salt: salt.toString('base64'),
    storedKey: createHash(hash).update(clientKey).digest('base64'),
    serverKey: createHmac(hash, saltedPassword).update('Server Key').digest('base64'),
    iterations,
  }
}

export async function makeCredential(m: ScramMechanism, password: string, iterations = MIN_ITERATIONS, salt = randomBytes(32)): Promise<ScramCredential> {
  return credentialFromSaltedPassword(m, salt, await saltPassword(m, password, salt, iterations), iterations)
}

/** True when `password` is the one `credential` was made from (PLAIN logins). */
export async function verifyPassword(m: ScramMechanism, credential: ScramCredential, password: string): Promise<boolean> {
  const salted = await saltPassword(m, password, Buffer.from(credential.salt, 'base64'), credential.iterations)
  const expected = credentialFromSaltedPassword(m, Buffer.alloc(0), salted, credential.iterations)
  return timingSafeEqual(Buffer.from(expected.storedKey, 'base64'), Buffer.from(credential.storedKey, 'base64'))
}

export class ScramCredentialStore {
  constructor(private readonly state: AdminState) {}

  private all(): Stored {
    return this.state.get<Stored>(SCRAM_CREDENTIALS_KEY) ?? {}
  }

  get(user: string, m: ScramMechanism): ScramCredential | undefined {
    return this.all()[user]?.[m]
  }

  /** Any credential of `user`, the strongest first (PLAIN logins). */
  any(user: string): { mechanism: ScramMechanism; credential: ScramCredential } | undefined {
    const entry = this.all()[user]
    for (const mechanism of ['SCRAM-SHA-512', 'SCRAM-SHA-256'] as const) {
      const credential = entry?.[mechanism]
      if (credential !== undefined) return { mechanism, credential }
    }
    return undefined
  }

  /** Users with at least one credential, sorted, with their mechanisms and iteration counts. */
  users(): Array<{ user: string; credentials: Array<{ mechanism: ScramMechanism; iterations: number }> }> {
    return Object.entries(this.all())
      .filter(([, byMech]) => Object.keys(byMech).length > 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([user, byMech]) => ({
        user,
        credentials: SCRAM_MECHANISMS.filter((m) => byMech[m] !== undefined).map((m) => ({ mechanism: m, iterations: byMech[m]!.iterations })),
      }))
  }

  /** Applies deletions then upsertions in one commit. */
  async alter(changes: { deletions?: Array<{ user: string; mechanism: ScramMechanism }>; upsertions?: Array<{ user: string; mechanism: ScramMechanism; credential: ScramCredential }> }): Promise<void> {
    await this.state.update<Stored>(SCRAM_CREDENTIALS_KEY, (current = {}) => {
      const all = structuredClone(current)
      for (const d of changes.deletions ?? []) {
        const entry = all[d.user]
        if (entry === undefined) continue
        delete entry[d.mechanism]
        if (Object.keys(entry).length === 0) delete all[d.user]
      }
      for (const u of changes.upsertions ?? []) (all[u.user] ??= {})[u.mechanism] = u.credential
      return all
    })
  }
}
