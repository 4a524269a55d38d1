// A fake Kafka broker for client tests: frames requests, decodes them with the generated codecs,
// and sends back whatever the test answers, encoded the same way. ApiVersions is answered from the
// ranges the test advertises; a request above the advertised ApiVersions range gets
// UNSUPPORTED_VERSION in a v0 response, as Kafka does (KIP-511).
import net from 'node:net'
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'
import { ErrorCode } from '../../protocol/errors.js'
import { apis, decodeRequestHeader, encodeResponseHeader, requestHeaderVersion, responseHeaderVersion, ApiKey } from '../../protocol/generated/index.js'
import { defaultApiVersionsResponse, encodeApiVersionsResponse } from '../../protocol/generated/api-versions.js'

export interface FakeRequest {
  apiKey: number
  version: number
  clientId: string | null
  /** The decoded request; null for ApiVersions. */
  body: any
}

export interface FakeBrokerOptions {
  /** API key -> [min, max] to advertise; read again for every ApiVersions request. */
  versions: () => Iterable<readonly [number, readonly [number, number]]>
  /**
   * The response body for a request other than ApiVersions; a Buffer is sent verbatim as the body
   * (malformed responses), undefined sends nothing (request timeouts).
   */
  answer: (req: FakeRequest) => unknown
  /** Sees every request, ApiVersions included, before it is answered. */
  onRequest?: (req: FakeRequest) => void
}

export interface FakeBroker {
  port: number
  address: string
  close(): Promise<void>
}

export async function startFakeBroker(opts: FakeBrokerOptions): Promise<FakeBroker> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let pending = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0))
        pending = pending.subarray(4 + frame.length)
        const reply = answer(opts, frame)
        if (reply === undefined) continue
        const size = Buffer.alloc(4)
        size.writeInt32BE(reply.length)
        socket.write(Buffer.concat([size, reply]))
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}

/** The framed response to one request frame, or undefined for none. */
function answer(opts: FakeBrokerOptions, frame: Buffer): Buffer | undefined {
  const apiKey = frame.readInt16BE(0)
  const version = frame.readInt16BE(2)
  const r = new Reader(frame)
  const header = decodeRequestHeader(r, requestHeaderVersion(apiKey, version))
  const w = new Writer()
  if (apiKey === ApiKey.ApiVersions) {
    opts.onRequest?.({ apiKey, version, clientId: header.clientId, body: null })
    const versions = new Map(opts.versions())
    const own = versions.get(ApiKey.ApiVersions) ?? [0, 4]
    const res = defaultApiVersionsResponse()
    res.apiKeys = [...versions].map(([k, [min, max]]) => ({ apiKey: k, minVersion: min, maxVersion: max }))
    encodeResponseHeader(w, 0, { correlationId: header.correlationId })
    if (version > own[1]) {
      res.errorCode = ErrorCode.UNSUPPORTED_VERSION
      encodeApiVersionsResponse(w, 0, res)
    } else {
      encodeApiVersionsResponse(w, version, res)
    }
    return w.toBuffer()
  }
  const api = apis.get(apiKey)
  if (api === undefined) throw new Error(`fake broker: no codec for API ${apiKey}`)
  const body = api.decodeRequest(r, version)
  if (r.bad) throw new Error(`fake broker: could not decode ${api.name} v${version}`)
  const req = { apiKey, version, clientId: header.clientId, body }
  opts.onRequest?.(req)
  const res = opts.answer(req)
  if (res === undefined) return undefined
  encodeResponseHeader(w, responseHeaderVersion(apiKey, version), { correlationId: header.correlationId })
  if (Buffer.isBuffer(res)) w.writeRaw(res)
  else api.encodeResponse(w, version, res)
  return w.toBuffer()
}
