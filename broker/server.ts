// The TCP front door: one server socket per listener, accepts connections up to max.connections
// (and max.connections.per.ip for each client address) across all of them, closes idle ones, and
// shuts down gracefully (stop accepting, answer what is in flight, then close the logs cleanly).
import net from 'node:net'
import type { Logger } from 'pino'
import type { SendfileFn } from '../storage/file-slice.js'
import { Connection } from './connection.js'
import { ConnectionQuotas, type ConnectionQuotaSettings } from './connection-quotas.js'
import type { Router } from './router.js'
import type { BrokerMetrics } from './metrics.js'
import type { BoundListener, ListenerEndpoint } from './security/listeners.js'
import { ConnectionSession } from './security/session.js'
import type { TlsListener } from './security/tls.js'


export interface ServerOptions extends ConnectionQuotaSettings {
  listeners: ListenerEndpoint[]
  /** The advertised addresses of the bound listeners (their ports known once bound). */
  advertise: (bound: ListenerEndpoint[]) => BoundListener[]
  /** TLS for SSL and SASL_SSL listeners, by listener name. */
  tls?: ReadonlyMap<string, TlsListener>
  maxRequestBytes: number
  /** sasl.server.max.receive.size of a listener, by listener name. */
  maxUnauthenticatedBytes: (listenerName: string) => number
  /** Read on every accept, so a dynamic change of max.connections applies at once. */
  maxConnections: () => number
  idleTimeoutMs: number
  maxInFlightPerConnection: number
  logger: Logger
  metrics?: BrokerMetrics
  /** Fetch responses' file ranges go out with this on plain TCP connections (storage/file-slice.ts). */
  sendfile?: SendfileFn
}

export class TcpServer {
  private readonly servers: net.Server[]
  private readonly connections = new Set<Connection>()
  private idleTimer: NodeJS.Timeout | undefined
  private readonly quotas: ConnectionQuotas
  private bound: BoundListener[] = []

  constructor(
    private readonly router: Router,
    private readonly opts: ServerOptions,
  ) {
    this.servers = opts.listeners.map((l, i) => {
      const accept = (socket: net.Socket) => this.accept(socket, i)
      return opts.tls?.get(l.name)?.createServer(accept) ?? net.createServer({ noDelay: true }, accept)
    })
    this.quotas = new ConnectionQuotas(opts, opts.logger)
  }

  /** Binds every listener; resolves with them as bound (port 0 replaced by the port picked). */
  async listen(): Promise<BoundListener[]> {
    const endpoints: ListenerEndpoint[] = []
    try {
      for (let i = 0; i < this.servers.length; i++) endpoints.push(await this.listenOne(this.servers[i]!, this.opts.listeners[i]!))
    } catch (err) {
      for (const s of this.servers) if (s.listening) s.close()
      throw err
    }
    this.bound = this.opts.advertise(endpoints)
    this.startIdleTimer()
    return this.bound
  }

  private listenOne(server: net.Server, l: ListenerEndpoint): Promise<ListenerEndpoint> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err)
      server.once('error', onError)
      server.listen({ host: l.host === '' ? undefined : l.host, port: l.port }, () => {
        server.off('error', onError)
        server.on('error', (err) => this.opts.logger.error({ err, listener: l.name }, 'server error'))
        const addr = server.address() as net.AddressInfo
        resolve({ ...l, host: addr.address, port: addr.port })
      })
    })
  }

  get connectionCount(): number {
    return this.connections.size
  }

  /** Open connections by listener name, every listener included (Kafka's connection-count). */
  connectionsByListener(): Map<string, number> {
    const out = new Map<string, number>(this.opts.listeners.map((l) => [l.name, 0]))
    for (const c of this.connections) out.set(c.session.listenerName, (out.get(c.session.listenerName) ?? 0) + 1)
    return out
  }

  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes every socket. */
  async close(graceMs = 5000): Promise<void> {
    if (this.idleTimer) clearInterval(this.idleTimer)
    const closed = Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    for (const c of this.connections) c.stopReading()
    const idle = Promise.all([...this.connections].map((c) => c.whenIdle()))
    let timer: NodeJS.Timeout | undefined
    await Promise.race([idle, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))])
    if (timer) clearTimeout(timer)
    for (const c of this.connections) c.close()
    await closed
  }

  private accept(socket: net.Socket, listener: number): void {
    const max = this.opts.maxConnections()
    if (this.connections.size >= max) {
      this.opts.logger.warn({ client: socket.remoteAddress, max }, 'connection limit reached')
      socket.destroy()
      return
    }
    const address = socket.remoteAddress ?? ''
    if (!this.quotas.tryAdd(address)) {
      this.opts.logger.warn({ client: address, max: this.quotas.limitFor(address) }, 'connection limit for this address reached')
      socket.destroy()
      return
    }
    const listenerEndpoint = this.opts.listeners[listener]!
    const session = new ConnectionSession(this.bound[listener] ?? { ...listenerEndpoint, advertisedHost: listenerEndpoint.host, advertisedPort: listenerEndpoint.port }, address)
    const tls = this.opts.tls?.get(listenerEndpoint.name)
    if (tls !== undefined && session.sasl === 'none') {
      const principal = tls.principal(socket)
      if (principal === undefined) {
        this.opts.logger.warn({ client: address, listener: listenerEndpoint.name }, 'no ssl.principal.mapping.rules rule applies to the client certificate; closing')
        this.quotas.remove(address)
        socket.destroy()
        return
      }
      session.principal = principal
    }
    const conn = new Connection(
      socket,
      this.router,
      {
        maxRequestBytes: this.opts.maxRequestBytes,
        maxUnauthenticatedBytes: this.opts.maxUnauthenticatedBytes(listenerEndpoint.name),
        maxInFlight: this.opts.maxInFlightPerConnection,
        logger: this.opts.logger,
        metrics: this.opts.metrics,
        sendfile: this.opts.sendfile,
      },
      (c) => {
        this.connections.delete(c)
        this.quotas.remove(address)
      },
      session,
    )
    this.connections.add(conn)
  }

  private startIdleTimer(): void {
    const idle = this.opts.idleTimeoutMs
    if (!(idle > 0) || !Number.isFinite(idle)) return
    this.idleTimer = setInterval(
      () => {
        const cutoff = Date.now() - idle
        for (const c of this.connections) {
          if (c.inFlight === 0 && c.lastActivity < cutoff) c.close('idle timeout')
        }
      },
      Math.min(Math.max(idle / 4, 100), 30_000),
    )
    this.idleTimer.unref()
  }
}
