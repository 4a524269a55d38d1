// The web console on its own, in front of any Kafka cluster (`samsa console`): the same static
// files and JSON API as the broker's endpoint, over the admin client's source. Nothing here logs
// anyone in: the cluster authorizes every request against the client's own credentials, so the
// server binds to 127.0.0.1 unless told otherwise, and stays read-only unless actions are allowed.
import http from 'node:http'
import type net from 'node:net'
import { ConsoleApi } from './console-api.js'
import type { ConsoleSource } from './console-source.js'
import { send, sendApi, sendAsset } from './http-util.js'

export interface ConsoleServerOptions {
  host: string
  port: number
  allowActions: boolean
  /** Shown as the caller: who the cluster sees (the SASL user of --command-config, or ANONYMOUS). */
  principal: string
  onError?: (err: unknown) => void
}

export class ConsoleServer {
  private readonly server: http.Server
  private readonly api: ConsoleApi
  private readonly sockets = new Set<net.Socket>()
  host = ''
  port = 0

  constructor(
    private readonly source: ConsoleSource,
    private readonly opts: ConsoleServerOptions,
  ) {
    this.api = new ConsoleApi(source, opts.allowActions)
    this.server = http.createServer({ maxHeaderSize: 16 * 1024 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        opts.onError?.(err)
        if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n')
        else res.destroy()
      })
    })
    this.server.on('connection', (s: net.Socket) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
  }

  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host
    return `http://${host}:${this.port}`
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen({ host: this.opts.host, port: this.opts.port }, () => {
        this.server.off('error', reject)
        const addr = this.server.address() as net.AddressInfo
        this.host = addr.address
        this.port = addr.port
        resolve()
      })
    })
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of this.sockets) s.destroy()
    await closed
    await this.source.close?.()
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/healthz') return send(res, 200, 'text/plain', 'ok\n')
    if (url.pathname.startsWith('/api/')) return sendApi(this.api, req, res, url, { principal: this.opts.principal, clientHost: req.socket.remoteAddress ?? '' })
    if (!sendAsset(req, res, url.pathname)) send(res, 404, 'text/plain', 'not found\n')
  }
}
