// A TCP proxy between a client and a broker that loses chosen Produce responses: it forwards the
// request, then cuts the client's connection instead of relaying the answer, so the client must
// retry a batch the broker has already appended.
import net from 'node:net'
import { ApiKey } from '../../protocol/generated/index.js'

/**
 * A TCP proxy that forwards both ways and, for the Produce requests whose ordinal is in `drop`,
 * forwards the request and then cuts the client's connection instead of relaying the response.
 */
export class DroppingProxy {
  readonly server = net.createServer((client) => this.onClient(client))
  target = 0
  produceRequests = 0
  dropped = 0
  private readonly sockets = new Set<net.Socket>()

  constructor(private readonly drop: Set<number>) {}

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as net.AddressInfo).port)))
  }

  private onClient(client: net.Socket): void {
    const upstream = net.connect({ host: '127.0.0.1', port: this.target })
    this.sockets.add(client).add(upstream)
    let pending = Buffer.alloc(0)
    let cut = false
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = 4 + pending.readInt32BE(0)
        const frame = pending.subarray(0, size)
        pending = pending.subarray(size)
        upstream.write(frame)
        if (frame.readInt16BE(4) === ApiKey.Produce) {
          this.produceRequests++
          if (this.drop.has(this.produceRequests)) cut = true
        }
      }
    })
    upstream.on('data', (chunk: Buffer) => {
      if (cut) {
        // the broker has answered (and appended); the client never hears of it
        this.dropped++
        client.destroy()
        upstream.destroy()
        return
      }
      client.write(chunk)
    })
    const close = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', close).on('close', close)
    upstream.on('error', close).on('close', close)
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}
