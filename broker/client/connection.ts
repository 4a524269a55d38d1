// One client-side TCP connection to a Kafka-compatible broker: frames requests with the
// generated request header, matches responses by correlation id (a broker answers in order,
// but matching by id keeps a stray or late frame from being handed to the wrong caller), and
// decodes them with the generated codecs. Admin traffic is a handful of requests, so each
// request carries its own timer.

import net from 'node:net'
import type { ApiDescriptor } from '../../protocol/types.js'
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'
import { decodeResponseHeader, encodeRequestHeader, requestHeaderVersion, responseHeaderVersion } from '../../protocol/generated/index.js'
import { BrokerConnectionError, BrokerUnreachableError, MalformedResponseError } from './errors.js'

export interface ConnectOptions {
  clientId: string
  connectTimeoutMs: number
  requestTimeoutMs: number
}

interface Pending {
  resolve: (frame: Buffer) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

/** `host:port`, `[v6addr]:port`; a missing port means 9092. */
export function parseAddress(address: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(address)
  if (bracketed !== null) return { host: bracketed[1], port: bracketed[2] === undefined ? 9092 : Number(bracketed[2]) }
  const colon = address.indexOf(':')
  // A second colon without brackets is a bare IPv6 address, which has no port.
  if (colon === -1 || address.indexOf(':', colon + 1) !== -1) return { host: address, port: 9092 }
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) }
}

export class BrokerConnection {
  private readonly pending = new Map<number, Pending>()
  private nextCorrelationId = 1
  private buffered: Buffer | null = null
  /** Size of the frame being collected in `chunks`, or 0. */
  private waitingFor = 0
  private chunks: Buffer[] = []
  private chunkBytes = 0
  private closedError: Error | null = null

  private constructor(
    readonly address: string,
    private readonly socket: net.Socket,
    private readonly opts: ConnectOptions,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', (err) => this.fail(new BrokerConnectionError(address, `lost connection to broker at ${address}: ${err.message}`, { cause: err })))
    socket.on('close', () => this.fail(new BrokerConnectionError(address, `broker at ${address} closed the connection`)))
  }

  static connect(address: string, opts: ConnectOptions): Promise<BrokerConnection> {
    const { host, port } = parseAddress(address)
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port })
      socket.setNoDelay(true)
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new BrokerUnreachableError(address, 'ETIMEDOUT'))
      }, opts.connectTimeoutMs)
      const onError = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        socket.destroy()
        reject(new BrokerUnreachableError(address, err.code, { cause: err }))
      }
      socket.once('error', onError)
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.off('error', onError)
        resolve(new BrokerConnection(address, socket, opts))
      })
    })
  }

  /** Sends one request at `version` and resolves to the decoded response body. */
  async request<Req, Res>(api: ApiDescriptor<Req, Res>, version: number, body: Req): Promise<Res> {
    const frame = await this.roundTrip(api, version, body)
    const r = new Reader(frame)
    decodeResponseHeader(r, responseHeaderVersion(api.apiKey, version))
    const res = api.decodeResponse(r, version)
    if (r.bad) throw new MalformedResponseError(this.address, `malformed ${api.name} v${version} response from ${this.address}: ${r.error}`)
    return res
  }

  /** The raw response frame (correlation id first), for callers that must inspect it before decoding. */
  roundTrip<Req>(api: ApiDescriptor<Req, unknown>, version: number, body: Req): Promise<Buffer> {
    if (this.closedError !== null) return Promise.reject(this.closedError)
    const correlationId = this.nextCorrelationId++
    const w = new Writer(512)
    const size = w.reserveInt32()
    encodeRequestHeader(w, requestHeaderVersion(api.apiKey, version), {
      requestApiKey: api.apiKey,
      requestApiVersion: version,
      correlationId,
      clientId: this.opts.clientId,
    })
    api.encodeRequest(w, version, body)
    w.patchInt32(size, w.length - 4)
    const bytes = w.toBuffer()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId)
        reject(new BrokerConnectionError(this.address, `${api.name} request to ${this.address} timed out after ${this.opts.requestTimeoutMs} ms`))
      }, this.opts.requestTimeoutMs)
      this.pending.set(correlationId, { resolve, reject, timer })
      this.socket.write(bytes)
    })
  }

  close(): void {
    this.fail(new BrokerConnectionError(this.address, `connection to ${this.address} was closed`))
  }

  private onData(chunk: Buffer): void {
    // Chunks of a large response are collected and joined once the whole frame is here, so a
    // response of n chunks costs one copy, not n.
    if (this.buffered !== null && this.waitingFor > 0) {
      this.chunks.push(chunk)
      this.chunkBytes += chunk.length
      if (this.chunkBytes < this.waitingFor) return
      chunk = Buffer.concat(this.chunks, this.chunkBytes)
      this.chunks = []
      this.chunkBytes = 0
      this.buffered = null
    }
    let buf = this.buffered === null ? chunk : Buffer.concat([this.buffered, chunk])
    this.waitingFor = 0
    while (buf.length >= 4) {
      const size = buf.readInt32BE(0)
      if (size < 4) {
        this.fail(new MalformedResponseError(this.address, `broker at ${this.address} sent a frame of ${size} bytes`))
        return
      }
      if (buf.length < 4 + size) {
        this.waitingFor = 4 + size
        break
      }
      const frame = buf.subarray(4, 4 + size)
      buf = buf.subarray(4 + size)
      const correlationId = frame.readInt32BE(0)
      const p = this.pending.get(correlationId)
      if (p === undefined) continue
      this.pending.delete(correlationId)
      clearTimeout(p.timer)
      p.resolve(frame)
    }
    this.buffered = buf.length === 0 ? null : buf
    if (this.buffered !== null && this.waitingFor > 0) {
      this.chunks = [this.buffered]
      this.chunkBytes = this.buffered.length
    }
  }

  private fail(err: Error): void {
    if (this.closedError === null) this.closedError = err
    this.socket.destroy()
    for (const p of this.pending.values()) {
      clearTimeout(p.timer)
      p.reject(err)
    }
    this.pending.clear()
  }
}
