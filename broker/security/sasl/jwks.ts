// The JSON Web Key Set that OAUTHBEARER tokens are verified against, from
// sasl.oauthbearer.jwks.endpoint.url: a `file://` path or an `http(s)://` endpoint. As Kafka's
// RefreshingHttpsJwks, the set is loaded again every sasl.oauthbearer.jwks.endpoint.refresh.ms,
// and at once when a token names a key it does not hold (at most once every
// MIN_UNKNOWN_KEY_RELOAD_MS, so tokens with made-up key ids cannot keep the provider busy), so a
// provider's key rotation is picked up. A failed load keeps the keys held and is
// retried after sasl.oauthbearer.jwks.endpoint.retry.backoff.ms, doubling up to .backoff.max.ms.
//
// A file that cannot be read when the broker starts is a configuration error; an endpoint that
// does not answer then is not (the provider may be down for a moment): tokens are refused until a
// retry succeeds.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'

const MIN_UNKNOWN_KEY_RELOAD_MS = 10_000
const FETCH_TIMEOUT_MS = 10_000
/** Node's longest timer; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface JwksOptions {
  url: URL
  refreshMs: number
  retryBackoffMs: number
  retryBackoffMaxMs: number
  logger: Logger
}

export class JwksSource {
  private keys: JWTVerifyGetKey | undefined
  /** When a token with an unknown key last made the set load again. */
  private unknownKeyReloadAt = Number.NEGATIVE_INFINITY
  private loading: Promise<boolean> | undefined
  private refreshTimer: NodeJS.Timeout | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private backoffMs: number
  private closed = false

  constructor(private readonly opts: JwksOptions) {
    this.backoffMs = Math.min(opts.retryBackoffMs, MAX_TIMER_MS)
  }

  /** Loads the keys once; throws only for a file that cannot be read or parsed. */
  async start(): Promise<void> {
    if (this.opts.url.protocol === 'file:') {
      this.install(await this.read())
    } else if (!(await this.reload())) {
      this.opts.logger.warn({ jwks: this.opts.url.href }, 'JWKS endpoint not reachable at startup; OAUTHBEARER tokens are refused until it answers')
    }
    if (this.opts.refreshMs > 0 && Number.isSafeInteger(this.opts.refreshMs)) {
      this.refreshTimer = setInterval(() => void this.reload(), Math.min(this.opts.refreshMs, MAX_TIMER_MS))
      this.refreshTimer.unref()
    }
  }

  /** The key for a token's header, for jose's jwtVerify. */
  readonly key: JWTVerifyGetKey = async (header, token) => {
    if (this.keys === undefined) await this.reload()
    if (this.keys === undefined) throw new errors.JWKSNoMatchingKey('no JSON Web Key Set loaded yet')
    try {
      return await this.keys(header, token)
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey) || Date.now() - this.unknownKeyReloadAt < MIN_UNKNOWN_KEY_RELOAD_MS) throw err
      this.unknownKeyReloadAt = Date.now()
      await this.reload()
      return this.keys(header, token)
    }
  }

  close(): void {
    this.closed = true
    clearInterval(this.refreshTimer)
    clearTimeout(this.retryTimer)
  }

  /** Loads the set again; concurrent callers share one load. Resolves false when it failed. */
  private reload(): Promise<boolean> {
    this.loading ??= this.load().finally(() => (this.loading = undefined))
    return this.loading
  }

  private async load(): Promise<boolean> {
    try {
      this.install(this.opts.url.protocol === 'file:' ? await this.read() : await this.fetch())
      this.backoffMs = Math.min(this.opts.retryBackoffMs, MAX_TIMER_MS)
      clearTimeout(this.retryTimer)
      this.retryTimer = undefined
      return true
    } catch (err) {
      this.opts.logger.warn({ jwks: this.opts.url.href, err: (err as Error).message, retryInMs: this.backoffMs }, 'loading the JSON Web Key Set failed; keeping the keys held')
      if (!this.closed && this.retryTimer === undefined) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined
          void this.reload()
        }, this.backoffMs)
        this.retryTimer.unref()
        this.backoffMs = Math.min(this.backoffMs * 2, Math.max(this.opts.retryBackoffMaxMs, this.opts.retryBackoffMs), MAX_TIMER_MS)
      }
      return false
    }
  }

  private install(set: unknown): void {
    // createLocalJWKSet checks the shape ({"keys": [...]}) and throws on anything else.
    this.keys = createLocalJWKSet(set as JSONWebKeySet)
  }

  private async read(): Promise<unknown> {
    const file = fileURLToPath(this.opts.url)
    return JSON.parse(await readFile(file, 'utf8'))
  }

  private async fetch(): Promise<unknown> {
    const res = await fetch(this.opts.url, { headers: { accept: 'application/json, application/jwk-set+json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
    if (res.status !== 200) throw new Error(`HTTP ${res.status} from the JWKS endpoint`)
    return res.json()
  }
}
