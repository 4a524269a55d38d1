// A minimal pipelining Kafka wire client for load generation: sends pre-encoded request frames and
// matches responses in order. It does the least work per request so the broker is what is measured:
// the socket reads straight into one growable buffer per connection (Node's `onread`), so a
// response costs no allocation and no copy beyond the kernel's, and each response is handed to its
// waiter synchronously as a view that is only valid during that call.
import net from 'node:net'
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'
import type { ApiDescriptor } from '../../protocol/types.js'
import { encodeRequestHeader } from '../../protocol/generated/request-header.js'
import { requestHeaderVersion, responseHeaderVersion } from '../../protocol/generated/index.js'

const MIN_READ = 256 * 1024

/** Called with a response body (after the size prefix); the view is reused once it returns. */
type Waiter = (frame: Buffer) => void

export class WireClient {
  private readonly socket: net.Socket
  private buf = Buffer.allocUnsafeSlow(4 * MIN_READ)
  /** Bytes of buf holding received data not yet handed out. */
  private filled = 0
  private readonly waiting: Waiter[] = []
  private correlationId = 0

  private constructor(socket: net.Socket) {
    this.socket = socket
    socket.setNoDelay(true)
  }

  static connect(host: string, port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      let client: WireClient | undefined
      const s = net.connect({
        host,
        port,
        onread: {
          // Asked for again after every read: the free tail of the assembly buffer.
          buffer: () => (client ? client.readTarget() : Buffer.allocUnsafe(MIN_READ)),
          callback: (n: number, into: Uint8Array) => {
            client!.onRead(n, into)
            return true
          },
        },
      })
      client = new WireClient(s)
      s.once('connect', () => resolve(client!))
      s.once('error', reject)
    })
  }

  /** Encodes a full request frame (size, header, body) once, for repeated sending. */
  static frame<Req>(api: ApiDescriptor<Req, unknown>, version: number, body: Req, correlationId = 1): Buffer {
    const w = new Writer(1024)
    const h = w.reserveInt32()
    const start = w.length
    encodeRequestHeader(w, requestHeaderVersion(api.apiKey, version), {
      requestApiKey: api.apiKey,
      requestApiVersion: version,
      correlationId,
      clientId: 'samsa-bench',
    })
    api.encodeRequest(w, version, body)
    w.patchInt32(h, w.length - start)
    return w.toBuffer()
  }

  /** Sends a pre-encoded frame and resolves with a copy of the raw response body (after its size). */
  sendRaw(frame: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      this.waiting.push((response) => resolve(Buffer.from(response)))
      this.socket.write(frame)
    })
  }

  /**
   * Sends a request and resolves with what `consume` returns for the decoded response. `consume`
   * runs while the response's bytes are valid; byte fields of the response must not outlive it.
   */
  requestWith<Req, Res, T>(api: ApiDescriptor<Req, Res>, version: number, body: Req, consume: (res: Res) => T): Promise<T> {
    return this.send(api, version, body, false, consume)
  }

  /**
   * Sends a request and resolves with the decoded response, decoded from a copy so that its byte
   * fields stay valid. requestWith() avoids the copy.
   */
  request<Req, Res>(api: ApiDescriptor<Req, Res>, version: number, body: Req): Promise<Res> {
    return this.send(api, version, body, true, (res) => res)
  }

  private send<Req, Res, T>(api: ApiDescriptor<Req, Res>, version: number, body: Req, copy: boolean, consume: (res: Res) => T): Promise<T> {
    const frame = WireClient.frame(api, version, body, ++this.correlationId)
    return new Promise((resolve, reject) => {
      this.waiting.push((view) => {
        const response = copy ? Buffer.from(view) : view
        const r = new Reader(response, 4)
        if (responseHeaderVersion(api.apiKey, version) >= 1) r.offset = 4 + skipTags(response, 4)
        const res = api.decodeResponse(r, version)
        if (r.bad) {
          reject(new Error(`malformed ${api.name} response: ${r.error}`))
          return
        }
        try {
          resolve(consume(res))
        } catch (err) {
          reject(err)
        }
      })
      this.socket.write(frame)
    })
  }

  close(): void {
    this.socket.destroy()
  }

  private readTarget(): Buffer {
    if (this.buf.length - this.filled < MIN_READ) this.grow(this.filled + MIN_READ)
    return this.buf.subarray(this.filled)
  }

  private grow(need: number): void {
    let size = this.buf.length
    while (size < need) size *= 2
    const next = Buffer.allocUnsafeSlow(size)
    this.buf.copy(next, 0, 0, this.filled)
    this.buf = next
  }

  private onRead(n: number, into: Uint8Array): void {
    if (into.buffer !== this.buf.buffer || into.byteOffset !== this.filled) {
      // The first read lands in the buffer given before this client existed.
      if (this.buf.length - this.filled < n) this.grow(this.filled + n)
      this.buf.set(into.subarray(0, n), this.filled)
    }
    this.filled += n
    const buf = this.buf
    let pos = 0
    while (this.filled - pos >= 4) {
      const len = buf.readInt32BE(pos)
      if (this.filled - pos < 4 + len) {
        // Make room for the whole frame now, so the rest is read in place.
        if (pos === 0 && 4 + len > buf.length) this.grow(4 + len)
        break
      }
      this.waiting.shift()?.(buf.subarray(pos + 4, pos + 4 + len))
      pos += 4 + len
    }
    if (pos > 0) {
      this.buf.copyWithin(0, pos, this.filled)
      this.filled -= pos
      if (this.filled >= 4) {
        const len = this.buf.readInt32BE(0)
        if (4 + len > this.buf.length) this.grow(4 + len)
      }
    }
  }
}

/** Length of an (empty) tagged-field section at `pos`: one varint of 0 in practice. */
function skipTags(buf: Buffer, pos: number): number {
  const r = new Reader(buf, pos)
  const n = r.readUnsignedVarInt()
  for (let i = 0; i < n; i++) {
    r.readUnsignedVarInt()
    r.skip(r.readUnsignedVarInt())
  }
  return r.offset - pos
}
