// A minimal pipelining Kafka wire client for load generation: sends pre-encoded request frames and
// matches responses in order. It does the least work per request so the broker is what is measured.
import net from 'node:net'
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'
import type { ApiDescriptor } from '../../protocol/types.js'
import { encodeRequestHeader } from '../../protocol/generated/request-header.js'
import { requestHeaderVersion, responseHeaderVersion } from '../../protocol/generated/index.js'

export class WireClient {
  private readonly socket: net.Socket
  private buffered: Buffer[] = []
  private size = 0
  private readonly waiting: Array<(frame: Buffer) => void> = []
  private correlationId = 0

  private constructor(socket: net.Socket) {
    this.socket = socket
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
  }

  static connect(host: string, port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port }, () => resolve(new WireClient(s)))
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

  /** Sends a pre-encoded frame and resolves with the raw response body (after its header). */
  sendRaw(frame: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      this.waiting.push(resolve)
      this.socket.write(frame)
    })
  }

  async request<Req, Res>(api: ApiDescriptor<Req, Res>, version: number, body: Req): Promise<Res> {
    const frame = WireClient.frame(api, version, body, ++this.correlationId)
    const response = await this.sendRaw(frame)
    const r = new Reader(response, responseHeaderVersion(api.apiKey, version) >= 1 ? 5 : 4)
    if (responseHeaderVersion(api.apiKey, version) >= 1) r.offset = 4 + skipTags(response, 4)
    const res = api.decodeResponse(r, version)
    if (r.bad) throw new Error(`malformed ${api.name} response: ${r.error}`)
    return res
  }

  close(): void {
    this.socket.destroy()
  }

  private onData(chunk: Buffer): void {
    this.buffered.push(chunk)
    this.size += chunk.length
    for (;;) {
      if (this.size < 4) return
      let head = this.buffered[0]!
      if (head.length < 4) {
        head = Buffer.concat(this.buffered)
        this.buffered = [head]
      }
      const len = head.readInt32BE(0)
      if (this.size < 4 + len) return
      const all = this.buffered.length === 1 ? head : Buffer.concat(this.buffered)
      const frame = all.subarray(4, 4 + len)
      const rest = all.subarray(4 + len)
      this.buffered = rest.length > 0 ? [rest] : []
      this.size = rest.length
      this.waiting.shift()?.(frame)
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
