// Runs one SASL token through the connection's mechanism, for SaslAuthenticate requests and for
// the bare tokens that follow a v0 SaslHandshake. Success sets the connection's principal and
// when its session ends (KIP-368): after connections.max.reauth.ms, or when the credential
// expires (an OAUTHBEARER token's `exp`) if that comes first, as in Kafka. Failure is logged
// with the client's address and the reason, never the token, and answered only after
// connection.failed.authentication.delay.ms, doubled for each recent failure from the same
// address (up to 64 times), so guessing passwords is slow however many connections are used;
// the connection is then closed.
import type { Logger } from 'pino'
import type { BrokerConfig } from '../../config.js'
import type { BrokerMetrics } from '../../metrics.js'
import { listenerConfig, mechanismConfig } from '../listeners.js'
import { type ScramCredentialStore, isScramMechanism } from '../scram-credentials.js'
import type { ConnectionSession } from '../session.js'
import type { OAuthBearerValidator } from './oauthbearer-validator.js'
import { OAuthBearerServer } from './oauthbearer.js'
import { PlainServer } from './plain.js'
import { ScramServer } from './scram.js'
import type { SaslServer } from './server.js'

export const SUPPORTED_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const

export interface SaslDeps {
  config: BrokerConfig
  credentials: ScramCredentialStore
  failedLogins: FailedLogins
  logger: Logger
  /** Counts logins by outcome (failed_authentication_total); none when absent. */
  metrics?: BrokerMetrics
}

/** What the mechanisms check credentials against. */
export interface MechanismDeps {
  credentials: ScramCredentialStore
  /** OAUTHBEARER validators by listener name, made at startup for the listeners enabling it. */
  oauthBearer: ReadonlyMap<string, OAuthBearerValidator>
}

/** The listener's sasl.enabled.mechanisms that Samsa implements, in the configured order. */
export function enabledMechanisms(config: BrokerConfig, listenerName: string): string[] {
  return listenerConfig(config, listenerName, 'sasl.enabled.mechanisms')
    .split(',')
    .map((m) => m.trim().toUpperCase())
    .filter((m) => (SUPPORTED_MECHANISMS as readonly string[]).includes(m))
}

/**
 * The mechanisms a listener offers: the enabled ones, less OAUTHBEARER when it has no validator
 * (enabled by a dynamic change of sasl.enabled.mechanisms after startup).
 */
export function offeredMechanisms(config: BrokerConfig, listenerName: string, deps: MechanismDeps): string[] {
  return enabledMechanisms(config, listenerName).filter((m) => m !== 'OAUTHBEARER' || deps.oauthBearer.has(listenerName))
}

export function saslServer(mechanism: string, listenerName: string, deps: MechanismDeps): SaslServer {
  if (mechanism === 'PLAIN') return new PlainServer(deps.credentials)
  if (isScramMechanism(mechanism)) return new ScramServer(mechanism, deps.credentials)
  const validator = mechanism === 'OAUTHBEARER' ? deps.oauthBearer.get(listenerName) : undefined
  if (validator !== undefined) return new OAuthBearerServer(validator)
  throw new Error(`unsupported SASL mechanism ${mechanism}`)
}

export type AuthOutcome = { ok: true; token: Buffer; sessionLifetimeMs: number } | { ok: false; message: string }

export async function authenticate(session: ConnectionSession, token: Buffer, deps: SaslDeps): Promise<AuthOutcome> {
  const server = session.server
  if (server === undefined) return fail(session, deps, 'no SASL mechanism chosen', 0)
  const step = await server.evaluate(token)
  if (step.kind === 'challenge') return { ok: true, token: step.token, sessionLifetimeMs: 0 }
  if (step.kind === 'failed') return fail(session, deps, step.reason, deps.config.getInt('connection.failed.authentication.delay.ms'), step.clientMessage)
  const principal = `User:${step.user}`
  const reauthenticating = session.principal !== 'User:ANONYMOUS' && session.sasl !== 'handshake'
  if (reauthenticating && principal !== session.principal) {
    return fail(session, deps, `re-authentication as ${principal} on a connection of ${session.principal}`, 0)
  }
  const reauthMs = Number(mechanismConfig(deps.config, session.listenerName, server.mechanism, 'connections.max.reauth.ms'))
  const lifetime = sessionLifetime(reauthMs, step.expiresAtMs, Date.now())
  session.principal = principal
  session.sasl = 'complete'
  session.server = undefined
  session.sessionExpiresAt = lifetime > 0 ? Date.now() + lifetime : Number.POSITIVE_INFINITY
  deps.metrics?.authentication(session.listenerName, true)
  deps.logger.debug({ client: session.clientHost, principal, mechanism: server.mechanism }, 'SASL authentication succeeded')
  return { ok: true, token: step.token, sessionLifetimeMs: lifetime }
}

/**
 * Milliseconds the session may last (0: no limit): connections.max.reauth.ms, or what is left of
 * the credential when that is less. A credential accepted within the clock skew but already
 * past its expiry gets 1 ms, not 0, which would tell the client its session never ends.
 */
export function sessionLifetime(reauthMs: number, expiresAtMs: number | undefined, now: number): number {
  const configured = reauthMs > 0 && Number.isSafeInteger(reauthMs) ? reauthMs : 0
  if (expiresAtMs === undefined) return configured
  const left = Math.max(1, Math.floor(expiresAtMs - now))
  return configured > 0 ? Math.min(configured, left) : left
}

async function fail(session: ConnectionSession, deps: SaslDeps, reason: string, baseDelayMs: number, clientMessage?: string): Promise<AuthOutcome> {
  const mechanism = session.server?.mechanism ?? 'none'
  session.sasl = 'failed'
  session.server = undefined
  session.closeAfterResponses = true
  deps.metrics?.authentication(session.listenerName, false)
  const delay = deps.failedLogins.record(session.clientHost, baseDelayMs)
  deps.logger.warn({ client: session.clientHost, listener: session.listenerName, mechanism, reason, delayMs: delay }, 'SASL authentication failed')
  if (delay > 0) await new Promise((r) => setTimeout(r, delay))
  const message = clientMessage ?? `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`
  return { ok: false, message }
}

/** Recent failed logins by client address, for the growing delay. */
export class FailedLogins {
  private readonly recent = new Map<string, { count: number; last: number }>()

  constructor(private readonly windowMs = 60_000) {}

  /** Counts a failure from `host` and returns how long to wait before answering it. */
  record(host: string, baseDelayMs: number): number {
    const now = Date.now()
    if (this.recent.size > 10_000) this.prune(now)
    const prev = this.recent.get(host)
    const count = prev !== undefined && now - prev.last < this.windowMs ? prev.count + 1 : 1
    this.recent.set(host, { count, last: now })
    return baseDelayMs * 2 ** Math.min(count - 1, 6)
  }

  private prune(now: number): void {
    for (const [host, e] of this.recent) if (now - e.last >= this.windowMs) this.recent.delete(host)
  }
}
