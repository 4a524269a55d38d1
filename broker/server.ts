// The TCP front door: accepts connections up to max.connections (and max.connections.per.ip for
// each client address), closes idle ones, and shuts down gracefully (stop accepting, answer what is
// in flight, then close the logs cleanly).
import net from 'node:net'
import type { Logger } from 'pino'
import { Connection } from './connection.js'
import { ConnectionQuotas, type ConnectionQuotaSettings } from './connection-quotas.js'
import type { Router } from './router.js'

export interface ServerOptions extends ConnectionQuotaSettings {
  host: string
  port: number
  maxRequestBytes: number
  /** Read on every accept, so a dynamic change of max.connections applies at once. */
  maxConnections: () => number
  idleTimeoutMs: number
  maxInFlightPerConnection: number
  logger: Logger
}

export class TcpServer {
  private readonly server: net.Server
  private readonly connections = new Set<Connection>()
  private idleTimer: NodeJS.Timeout | undefined
  private readonly quotas: ConnectionQuotas

  constructor(
    private readonly router: Router,
    private readonly opts: ServerOptions,
  ) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket))
    this.quotas = new ConnectionQuotas(opts, opts.logger)
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err)
      this.server.once('error', onError)
      this.server.listen({ host: this.opts.host, port: this.opts.port }, () => {
        this.server.off('error', onError)
        this.server.on('error', (err) => this.opts.logger.error({ err }, 'server error'))
        const addr = this.server.address() as net.AddressInfo
        this.startIdleTimer()
        resolve({ host: addr.address, port: addr.port })
      })
    })
  }

  get connectionCount(): number {
    return this.connections.size
  }

  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes every socket. */
  async close(graceMs = 5000): Promise<void> {
    if (this.idleTimer) clearInterval(this.idleTimer)
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const c of this.connections) c.stopReading()
    const idle = Promise.all([...this.connections].map((c) => c.whenIdle()))
    let timer: NodeJS.Timeout | undefined
    await Promise.race([idle, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))])
    if (timer) clearTimeout(timer)
    for (const c of this.connections) c.close()
    await closed
  }

  private accept(socket: net.Socket): void {
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
    const conn = new Connection(
      socket,
      this.router,
      {
        maxRequestBytes: this.opts.maxRequestBytes,
        maxInFlight: this.opts.maxInFlightPerConnection,
        logger: this.opts.logger,
      },
      (c) => {
        this.connections.delete(c)
        this.quotas.remove(address)
      },
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
