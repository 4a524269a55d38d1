// How an OAUTHBEARER token becomes a principal, one validator per listener, configured under
// Kafka's keys (each may be set as listener.name.<l>.oauthbearer.<key> or listener.name.<l>.<key>):
//
// - sasl.oauthbearer.jwks.endpoint.url set: the token must be a JWT signed by a key of that JSON
//   Web Key Set (asymmetric algorithms only: RS*, PS*, ES*, EdDSA), with an `exp`, an `nbf` and
//   `iat` not in the future, `aud` among sasl.oauthbearer.expected.audience and `iss` equal to
//   sasl.oauthbearer.expected.issuer, all within sasl.oauthbearer.clock.skew.seconds. As in
//   Kafka since it began to require them, a broker without an expected audience or issuer refuses
//   to start unless sasl.oauthbearer.allow.unverified.audience / .issuer says so.
// - sasl.oauthbearer.unsecured.enable=true (Samsa's key): unsigned JWTs (`alg: none`), as Kafka's
//   default OAuthBearerUnsecuredValidatorCallbackHandler accepts them. For development only; off
//   unless set.
//
// The principal is the sasl.oauthbearer.sub.claim.name claim (`sub`). A listener that enables
// OAUTHBEARER with neither (or both) refuses to start.
//
// jose does the signature, key selection and standard-claim work: JWS parsing and key matching
// by kid/alg/kty/use are where hand-written verifiers go wrong, and jose is small, has no
// dependencies and is widely reviewed.
import type { Logger } from 'pino'
import { errors, jwtVerify, type JWTPayload } from 'jose'
import type { BrokerConfig } from '../../config.js'
import { configError, listenerConfig, mechanismConfig, usesSasl, type ListenerEndpoint } from '../listeners.js'
import { JwksSource } from './jwks.js'

export type TokenCheck = { ok: true; principal: string; expiresAtMs: number } | { ok: false; reason: string }

export interface OAuthBearerValidator {
  /** The principal and expiry of a token, or why it is refused; the reason never holds the token. */
  validate(token: string): Promise<TokenCheck>
  close(): void
}

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']

interface ClaimRules {
  subClaim: string
  skewSeconds: number
}

/** A validator for each SASL listener whose sasl.enabled.mechanisms has OAUTHBEARER, by name. */
export async function oauthBearerValidators(config: BrokerConfig, listeners: ListenerEndpoint[], logger: Logger): Promise<Map<string, OAuthBearerValidator>> {
  const out = new Map<string, OAuthBearerValidator>()
  try {
    for (const l of listeners) {
      if (!usesSasl(l.securityProtocol)) continue
      const mechanisms = listenerConfig(config, l.name, 'sasl.enabled.mechanisms').split(',').map((m) => m.trim().toUpperCase())
      if (mechanisms.includes('OAUTHBEARER')) out.set(l.name, await createOAuthBearerValidator(config, l.name, logger))
    }
  } catch (err) {
    for (const v of out.values()) v.close()
    throw err
  }
  return out
}

/** The listener's OAUTHBEARER validator from the configuration; throws ECONFIG errors. */
export async function createOAuthBearerValidator(config: BrokerConfig, listenerName: string, logger: Logger): Promise<OAuthBearerValidator> {
  const get = (key: string) => mechanismConfig(config, listenerName, 'OAUTHBEARER', key).trim()
  const where = `listener ${listenerName}`
  const url = get('sasl.oauthbearer.jwks.endpoint.url')
  const unsecured = get('sasl.oauthbearer.unsecured.enable').toLowerCase() === 'true'
  const whole = (key: string): number => {
    const n = Number(get(key))
    if (!Number.isInteger(n) || n < 0) throw configError(`${where}: ${key} must be a whole number, at least 0, got "${get(key)}"`)
    return n
  }
  const skewSeconds = whole('sasl.oauthbearer.clock.skew.seconds')
  const rules: ClaimRules = { subClaim: get('sasl.oauthbearer.sub.claim.name') || 'sub', skewSeconds }
  if (url === '' && !unsecured) {
    throw configError(`${where}: OAUTHBEARER is enabled but sasl.oauthbearer.jwks.endpoint.url is not set (or, for unsigned development tokens only, sasl.oauthbearer.unsecured.enable=true)`)
  }
  if (url !== '' && unsecured) throw configError(`${where}: sasl.oauthbearer.jwks.endpoint.url and sasl.oauthbearer.unsecured.enable=true exclude each other`)
  if (unsecured) {
    logger.warn({ listener: listenerName }, 'OAUTHBEARER accepts unsigned tokens (sasl.oauthbearer.unsecured.enable=true): anyone can log in as anyone')
    return new UnsecuredValidator(rules)
  }
  let jwksUrl: URL
  try {
    jwksUrl = new URL(url)
  } catch {
    throw configError(`${where}: sasl.oauthbearer.jwks.endpoint.url "${url}" is not a URL`)
  }
  if (!['file:', 'http:', 'https:'].includes(jwksUrl.protocol)) throw configError(`${where}: sasl.oauthbearer.jwks.endpoint.url must be file://, http:// or https://, got ${jwksUrl.protocol}`)
  const audience = get('sasl.oauthbearer.expected.audience').split(',').map((a) => a.trim()).filter((a) => a !== '')
  const issuer = get('sasl.oauthbearer.expected.issuer')
  if (audience.length === 0 && get('sasl.oauthbearer.allow.unverified.audience') !== 'true') {
    throw configError(`${where}: OAUTHBEARER needs sasl.oauthbearer.expected.audience (or sasl.oauthbearer.allow.unverified.audience=true)`)
  }
  if (issuer === '' && get('sasl.oauthbearer.allow.unverified.issuer') !== 'true') {
    throw configError(`${where}: OAUTHBEARER needs sasl.oauthbearer.expected.issuer (or sasl.oauthbearer.allow.unverified.issuer=true)`)
  }
  const jwks = new JwksSource({
    url: jwksUrl,
    refreshMs: whole('sasl.oauthbearer.jwks.endpoint.refresh.ms'),
    retryBackoffMs: Math.max(1, whole('sasl.oauthbearer.jwks.endpoint.retry.backoff.ms')),
    retryBackoffMaxMs: whole('sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms'),
    logger,
  })
  try {
    await jwks.start()
  } catch (err) {
    throw configError(`${where}: cannot load the JSON Web Key Set ${url}: ${(err as Error).message}`)
  }
  return new JwtValidator(jwks, rules, audience, issuer)
}

class JwtValidator implements OAuthBearerValidator {
  constructor(
    private readonly jwks: JwksSource,
    private readonly rules: ClaimRules,
    private readonly audience: string[],
    private readonly issuer: string,
  ) {}

  async validate(token: string): Promise<TokenCheck> {
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, this.jwks.key, {
        algorithms: ALGORITHMS,
        audience: this.audience.length > 0 ? this.audience : undefined,
        issuer: this.issuer !== '' ? this.issuer : undefined,
        clockTolerance: this.rules.skewSeconds,
        requiredClaims: ['exp'],
      }))
    } catch (err) {
      // jose's messages name the check that failed and never include the token.
      return { ok: false, reason: err instanceof errors.JOSEError ? `${err.code}: ${err.message}` : `token rejected: ${(err as Error).message}` }
    }
    return checkClaims(payload, this.rules)
  }

  close(): void {
    this.jwks.close()
  }
}

/** Kafka's unsecured validator: `base64url(header).base64url(claims).` with `alg: none`. */
class UnsecuredValidator implements OAuthBearerValidator {
  constructor(private readonly rules: ClaimRules) {}

  async validate(token: string): Promise<TokenCheck> {
    const parts = token.split('.')
    if (parts.length !== 3 || parts[2] !== '') return { ok: false, reason: 'an unsecured token is header.claims. with an empty signature' }
    const header = decodePart(parts[0]!)
    const claims = decodePart(parts[1]!)
    if (header === undefined || claims === undefined) return { ok: false, reason: 'token header or claims are not base64url-encoded JSON objects' }
    if (header['alg'] !== 'none') return { ok: false, reason: 'an unsecured token must have alg "none"' }
    return checkClaims(claims, this.rules)
  }

  close(): void {}
}

/**
 * The claims both validators read: `exp` (required), `nbf` and `iat` (when present), and the
 * principal. jose has checked exp and nbf of signed tokens already; checking again is cheap.
 */
function checkClaims(claims: JWTPayload, rules: ClaimRules): TokenCheck {
  const now = Date.now() / 1000
  const skew = rules.skewSeconds
  const date = (name: string): number | undefined | null => {
    const v = claims[name]
    return v === undefined ? undefined : typeof v === 'number' && Number.isFinite(v) ? v : null
  }
  const exp = date('exp')
  const nbf = date('nbf')
  const iat = date('iat')
  if (exp === undefined) return { ok: false, reason: 'missing required "exp" claim' }
  if (exp === null || nbf === null || iat === null) return { ok: false, reason: '"exp", "nbf" and "iat" must be numeric dates' }
  if (exp <= now - skew) return { ok: false, reason: 'token expired ("exp" claim)' }
  if (nbf !== undefined && nbf > now + skew) return { ok: false, reason: 'token not valid yet ("nbf" claim)' }
  if (iat !== undefined && iat > now + skew) return { ok: false, reason: 'token issued in the future ("iat" claim)' }
  const principal = claims[rules.subClaim]
  if (typeof principal !== 'string' || principal.trim() === '') return { ok: false, reason: `missing or empty "${rules.subClaim}" claim (sasl.oauthbearer.sub.claim.name)` }
  return { ok: true, principal: principal.trim(), expiresAtMs: exp * 1000 }
}

function decodePart(part: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) return undefined
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
