// A TCP proxy on a fixed loopback port in front of one endpoint (a broker listener, or etcd for one
// broker), so the nemesis can partition the network without root: cut() destroys every proxied
// connection and refuses new ones (accepted, then closed at once, as a dropped route looks to a
// client whose connect succeeded through a load balancer), heal() lets connections through again.
// The upstream port may change (a broker restarted on an ephemeral port); retarget() follows it.
import net from 'node:net'

export class CuttableProxy {
  private readonly server: net.Server
  private readonly open = new Set<net.Socket>()
  private cutNow = false

  private constructor(
    readonly port: number,
    private upstreamPort: number,
    server: net.Server,
  ) {
    this.server = server
  }

  /** Listens on 127.0.0.1:`port` (0 for any free port) and forwards to 127.0.0.1:`upstreamPort`. */
  static async start(port: number, upstreamPort: number): Promise<CuttableProxy> {
    let proxy: CuttableProxy | undefined
    const server = net.createServer((client) => proxy!.accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: '127.0.0.1', port }, () => resolve())
    })
    proxy = new CuttableProxy((server.address() as net.AddressInfo).port, upstreamPort, server)
    return proxy
  }

  get isCut(): boolean {
    return this.cutNow
  }

  retarget(upstreamPort: number): void {
    this.upstreamPort = upstreamPort
  }

  /** Drops every connection through the proxy and refuses new ones until heal(). */
  cut(): void {
    this.cutNow = true
    for (const s of this.open) s.destroy()
    this.open.clear()
  }

  heal(): void {
    this.cutNow = false
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: net.Socket): void {
    if (this.cutNow) {
      client.destroy()
      return
    }
    const upstream = net.connect({ host: '127.0.0.1', port: this.upstreamPort })
    const pair = [client, upstream]
    for (const s of pair) {
      this.open.add(s)
      s.setNoDelay(true)
      s.on('error', () => {})
      s.on('close', () => {
        this.open.delete(s)
        for (const other of pair) other.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  }
}
