// The broker's HTTP endpoint (`samsa serve --http-port`): Prometheus metrics at /metrics, probes
// at /healthz and /readyz, the web console at / with its JSON API under /api/. Off unless a port
// is given. Plain node:http: a handful of GET routes, four static files and a few small JSON
// actions need no framework.
//
// Security follows the broker's: with `tls`, the endpoint speaks HTTPS with the listeners'
// keystore (ssl.keystore.location, or listener.name.http.ssl.* to give it its own), client
// certificates included. When any Kafka listener uses SASL, every route but the probes asks for
// HTTP basic credentials, checked against the stored SCRAM credentials (a client certificate that
// maps to a principal serves too). The console and API are read-only unless `allowActions`, and
// with an authorizer every read and action is checked against the ACLs for the principal.
import http from 'node:http'
import type net from 'node:net'
import tls from 'node:tls'
import type { Logger } from 'pino'
import type { BrokerConfig } from '../config.js'
import type { BrokerContext } from '../context.js'
import { TlsListener } from '../security/tls.js'
import { ANONYMOUS } from '../security/session.js'
import { BasicAuth } from './basic-auth.js'
import { ConsoleApi, type Caller } from './console-api.js'
import { ClusterConsoleSource, type InterBrokerReach } from './console-cluster.js'
import { send, sendApi, sendAsset } from './http-util.js'
import type { PrometheusMetrics } from './prometheus.js'

/** The name HTTP metrics and per-listener TLS overrides use (listener.name.http.ssl.*). */
export const HTTP_LISTENER = 'HTTP'

export interface HttpOptions {
  port: number
  /** Interface to bind; default the broker's host. */
  host?: string
  /** HTTPS with the broker's keystore. */
  tls?: boolean
  /** Allow the console's actions (create and delete topics, alter topic configs, produce test records); read-only otherwise. */
  allowActions?: boolean
  /** How often clients push their metrics (KIP-714); default 60000. */
  clientTelemetryIntervalMs?: number
}

export interface HttpDeps {
  config: BrokerConfig
  logger: Logger
  metrics: PrometheusMetrics
  /** The broker once it serves (logs loaded, listeners bound); undefined while starting or stopping. */
  broker(): BrokerContext | undefined
  /** True when a Kafka listener uses SASL: the endpoint then asks for credentials. */
  requireLogin: boolean
  /** Cluster mode: how the console reaches the other brokers (their inter-broker listener). */
  interBroker?: InterBrokerReach
}

export class HttpEndpoint {
  private readonly sockets = new Set<net.Socket>()
  private readonly basic = new BasicAuth()
  private readonly api: ConsoleApi
  private readonly source: ClusterConsoleSource
  private readonly server: http.Server
  private readonly outer: net.Server
  private readonly tls: TlsListener | undefined
  host = ''
  port = 0

  constructor(
    private readonly opts: HttpOptions & { host: string },
    private readonly deps: HttpDeps,
  ) {
    this.source = new ClusterConsoleSource(deps.broker, deps.interBroker)
    this.api = new ConsoleApi(this.source, opts.allowActions === true)
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        deps.logger.error({ err, url: req.url }, 'HTTP request failed')
        if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n')
        else res.destroy()
      })
    })
    if (opts.tls === true) {
      this.tls = new TlsListener(deps.config, { name: HTTP_LISTENER, securityProtocol: 'SSL', host: opts.host, port: opts.port }, deps.logger)
      this.outer = this.tls.createServer((socket) => this.server.emit('connection', socket))
    } else {
      this.outer = this.server
    }
    this.outer.on('connection', (s: net.Socket) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
  }

  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host
    return `${this.tls ? 'https' : 'http'}://${host}:${this.port}`
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.outer.once('error', reject)
      this.outer.listen({ host: this.opts.host, port: this.opts.port }, () => {
        this.outer.off('error', reject)
        this.outer.on('error', (err) => this.deps.logger.error({ err }, 'HTTP server error'))
        const addr = this.outer.address() as net.AddressInfo
        this.host = addr.address
        this.port = addr.port
        resolve()
      })
    })
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.outer.close(() => resolve()))
    for (const s of this.sockets) s.destroy()
    await closed
    await this.source.close()
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const path = url.pathname
    if (path === '/healthz') return send(res, 200, 'text/plain', 'ok\n')
    if (path === '/readyz') return this.ready(res)
    const caller = await this.login(req, res)
    if (caller === undefined) return
    if (path === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n')
      return send(res, 200, this.deps.metrics.contentType, await this.deps.metrics.scrape())
    }
    if (path.startsWith('/api/')) return this.apiCall(req, res, url, caller)
    if (!sendAsset(req, res, path)) send(res, 404, 'text/plain', 'not found\n')
  }

  /** Logs loaded and listeners bound (a broker still recovering its logs, or stopping, is not ready). */
  private ready(res: http.ServerResponse): void {
    const b = this.deps.broker()
    if (b === undefined) return send(res, 503, 'application/json', JSON.stringify({ ready: false, reason: 'starting or stopping' }) + '\n')
    send(res, 200, 'application/json', JSON.stringify({ ready: true, nodeId: b.nodeId, clusterId: b.clusterId }) + '\n')
  }

  /** Who is calling, or undefined once a 401 or 503 has been sent. */
  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<Caller | undefined> {
    const clientHost = req.socket.remoteAddress ?? ''
    const certPrincipal = this.tls !== undefined && req.socket instanceof tls.TLSSocket ? this.tls.principal(req.socket) : undefined
    if (!this.deps.requireLogin) return { principal: certPrincipal ?? ANONYMOUS, clientHost }
    if (certPrincipal !== undefined && certPrincipal !== ANONYMOUS) return { principal: certPrincipal, clientHost }
    const b = this.deps.broker()
    if (b === undefined) {
      send(res, 503, 'text/plain', 'broker starting\n')
      return undefined
    }
    const outcome = await this.basic.check(req.headers.authorization, clientHost, b)
    if (outcome.ok) return { principal: `User:${outcome.user}`, clientHost }
    if (req.headers.authorization !== undefined) {
      this.deps.metrics.authentication(HTTP_LISTENER, false)
      this.deps.logger.warn({ client: clientHost, reason: outcome.reason }, 'HTTP basic authentication failed')
    }
    res.setHeader('www-authenticate', 'Basic realm="samsa", charset="UTF-8"')
    send(res, 401, 'text/plain', 'authentication required\n')
    return undefined
  }

  private async apiCall(req: http.IncomingMessage, res: http.ServerResponse, url: URL, caller: Caller): Promise<void> {
    if (this.deps.broker() === undefined) return send(res, 503, 'application/json', JSON.stringify({ error: 'broker starting' }) + '\n')
    await sendApi(this.api, req, res, url, caller)
  }
}
