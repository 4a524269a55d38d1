// One client-side TCP connection to a Kafka-compatible broker. Requests are pipelined; a broker
// answers in order, so the waiting requests form a queue, and each response is matched to its
// request by correlation id (a late frame for a request that already timed out is dropped, not
// handed to the wrong caller).
//
// The socket reads straight into one growable buffer (Node's `onread`), so receiving a response
// costs no allocation: `requestWith` decodes it in place and hands the caller a view that is valid
// only during its callback; `request` decodes from a copy so the result may be kept. Timeouts use
// one timer per connection armed for the oldest waiting request, not one timer per request.

import net from 'node:net'
import tls from 'node:tls'
import type { ApiDescriptor } from '../../protocol/types.js'
import { ErrorCode } from '../../protocol/errors.js'
import { SaslHandshakeApi } from '../../protocol/generated/sasl-handshake.js'
import { SaslAuthenticateApi } from '../../protocol/generated/sasl-authenticate.js'
import { saslClient, type SaslCredentials } from './sasl.js'
import { BrokerConnectionError, BrokerUnreachableError, MalformedResponseError, SaslAuthenticationError } from './errors.js'
import { CORRELATION_ID_OFFSET, decodeResponseFrame, encodeRequestFrame } from './request-frame.js'

export interface ConnectOptions {
  clientId: string
  connectTimeoutMs: number
  requestTimeoutMs: number
  /** TLS and SASL, as Kafka's security.protocol names them; plain TCP without. */
  security?: ClientSecurity
}

export interface ClientSecurity {
  protocol: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL'
  /** CA, client certificate and key for SSL and SASL_SSL. */
  tls?: tls.ConnectionOptions
  /** Mechanism and credentials for SASL_PLAINTEXT and SASL_SSL. */
  sasl?: SaslCredentials
}

interface Waiting {
  correlationId: number
  /** Date.now() after which the request fails. */
  deadline: number
  what: string
  /** Called with the response frame (correlation id first); the view is reused once it returns. */
  onFrame: (frame: Buffer) => void
  reject: (err: Error) => void
}

const MIN_READ = 64 * 1024

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
  private waiting: Waiting[] = []
  /** Index of the oldest waiting request in `waiting`. */
  private head = 0
  private nextCorrelationId = 1
  private buf = Buffer.allocUnsafeSlow(4 * MIN_READ)
  /** Bytes of `buf` received and not yet handed out. */
  private filled = 0
  private timer: NodeJS.Timeout | null = null
  private closedError: Error | null = null

  private constructor(
    readonly address: string,
    private readonly socket: net.Socket | tls.TLSSocket,
    private readonly opts: ConnectOptions,
  ) {
    socket.on('error', (err) => this.fail(new BrokerConnectionError(address, `lost connection to broker at ${address}: ${err.message}`, { cause: err })))
    socket.on('close', () => this.fail(new BrokerConnectionError(address, `broker at ${address} closed the connection`)))
  }

  static async connect(address: string, opts: ConnectOptions): Promise<BrokerConnection> {
    const protocol = opts.security?.protocol ?? 'PLAINTEXT'
    const conn = protocol === 'SSL' || protocol === 'SASL_SSL' ? await BrokerConnection.connectTls(address, opts) : await BrokerConnection.connectTcp(address, opts)
    if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
      const sasl = opts.security?.sasl
      if (sasl === undefined) {
        conn.close()
        throw new BrokerConnectionError(address, `security.protocol=${protocol} needs sasl.mechanism, sasl.username and sasl.password`)
      }
      try {
        await conn.authenticate(sasl)
      } catch (err) {
        conn.close()
        throw err
      }
    }
    return conn
  }

  private static connectTls(address: string, opts: ConnectOptions): Promise<BrokerConnection> {
    const { host, port } = parseAddress(address)
    return new Promise((resolve, reject) => {
      let conn: BrokerConnection | undefined
      const socket = tls.connect({ host, port, servername: net.isIP(host) === 0 ? host : undefined, ...opts.security?.tls })
      socket.setNoDelay(true)
      // TLS sockets do not read into a caller's buffer: each decrypted chunk is copied in.
      socket.on('data', (chunk: Buffer) => conn?.onRead(chunk.length, chunk))
      const failure = (err: NodeJS.ErrnoException): Error =>
        err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' ? new BrokerUnreachableError(address, err.code, { cause: err }) : new BrokerConnectionError(address, `TLS connection to ${address} failed: ${err.message}`, { cause: err })
      settleConnect(socket, 'secureConnect', address, opts.connectTimeoutMs, failure, () => (conn = new BrokerConnection(address, socket, opts)), resolve, reject)
    })
  }

  /** SaslHandshake v1 then SaslAuthenticate until the mechanism is done. */
  private async authenticate(creds: SaslCredentials): Promise<void> {
    const hs = await this.request(SaslHandshakeApi, 1, { mechanism: creds.mechanism })
    if (hs.errorCode !== ErrorCode.NONE) {
      throw new SaslAuthenticationError(this.address, `broker at ${this.address} does not offer SASL ${creds.mechanism} (offers ${hs.mechanisms.join(', ') || 'none'})`)
    }
    const client = saslClient(creds)
    let token: Buffer | null = client.start()
    while (token !== null) {
      const res = await this.request(SaslAuthenticateApi, 1, { authBytes: token })
      if (res.errorCode !== ErrorCode.NONE) {
        throw new SaslAuthenticationError(this.address, `SASL authentication to ${this.address} failed: ${res.errorMessage ?? `error ${res.errorCode}`}`)
      }
      try {
        token = client.respond(Buffer.from(res.authBytes))
      } catch (err) {
        throw new SaslAuthenticationError(this.address, `SASL authentication to ${this.address} failed: ${(err as Error).message}`, { cause: err })
      }
    }
  }

  private static connectTcp(address: string, opts: ConnectOptions): Promise<BrokerConnection> {
    const { host, port } = parseAddress(address)
    return new Promise((resolve, reject) => {
      let conn: BrokerConnection | undefined
      const socket = net.connect({
        host,
        port,
        onread: {
          // Asked again before every read: the free tail of the assembly buffer.
          buffer: () => (conn === undefined ? Buffer.allocUnsafe(MIN_READ) : conn.readTarget()),
          callback: (n: number, into: Uint8Array) => {
            conn?.onRead(n, into)
            return true
          },
        },
      })
      socket.setNoDelay(true)
      const failure = (err: NodeJS.ErrnoException): Error => new BrokerUnreachableError(address, err.code, { cause: err })
      settleConnect(socket, 'connect', address, opts.connectTimeoutMs, failure, () => (conn = new BrokerConnection(address, socket, opts)), resolve, reject)
    })
  }

  get clientId(): string {
    return this.opts.clientId
  }

  /** Sends one request at `version` and resolves to the decoded response body, free to keep. */
  request<Req, Res>(api: ApiDescriptor<Req, Res>, version: number, body: Req): Promise<Res> {
    return this.requestWith(api, version, body, (res) => res, true)
  }

  /**
   * Sends one request and resolves to what `consume` returns for the decoded response. Byte
   * fields of the response are views of the receive buffer, valid only while `consume` runs,
   * unless `copy` is set.
   */
  requestWith<Req, Res, T>(api: ApiDescriptor<Req, Res>, version: number, body: Req, consume: (res: Res) => T, copy = false): Promise<T> {
    const correlationId = this.nextCorrelationId++
    const frame = encodeRequestFrame(api, version, body, correlationId, this.opts.clientId)
    return new Promise((resolve, reject) => {
      this.enqueue(frame, correlationId, `${api.name}`, reject, (view) => {
        const res = decodeResponseFrame(api, version, copy ? Buffer.from(view) : view)
        if (res.error !== null) {
          reject(new MalformedResponseError(this.address, `malformed ${api.name} v${version} response from ${this.address}: ${res.error}`))
          return
        }
        try {
          resolve(consume(res.body))
        } catch (err) {
          reject(err as Error)
        }
      })
    })
  }

  /** The raw response frame (correlation id first, copied), for callers that must inspect it before decoding. */
  roundTrip<Req>(api: ApiDescriptor<Req, unknown>, version: number, body: Req): Promise<Buffer> {
    const correlationId = this.nextCorrelationId++
    return this.sendFrame(encodeRequestFrame(api, version, body, correlationId, this.opts.clientId), api.name)
  }

  /**
   * Sends a pre-encoded request frame (see request-frame.ts) and resolves to a copy of its
   * response frame. The frame may be sent many times: responses are matched in order.
   */
  sendFrame(frame: Buffer, what = 'request'): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.enqueue(frame, frame.readInt32BE(CORRELATION_ID_OFFSET), what, reject, (view) => resolve(Buffer.from(view)))
    })
  }

  /** Sends a request the broker does not answer (Produce with acks=0); resolves once written. */
  sendOneWay<Req>(api: ApiDescriptor<Req, unknown>, version: number, body: Req): Promise<void> {
    if (this.closedError !== null) return Promise.reject(this.closedError)
    const frame = encodeRequestFrame(api, version, body, this.nextCorrelationId++, this.opts.clientId)
    return new Promise((resolve, reject) => this.socket.write(frame, (err) => (err ? reject(this.closedError ?? err) : resolve())))
  }

  close(): void {
    this.fail(new BrokerConnectionError(this.address, `connection to ${this.address} was closed`))
  }

  private enqueue(frame: Buffer, correlationId: number, what: string, reject: (err: Error) => void, onFrame: (frame: Buffer) => void): void {
    if (this.closedError !== null) {
      reject(this.closedError)
      return
    }
    const wasIdle = this.head === this.waiting.length
    this.waiting.push({ correlationId, deadline: Date.now() + this.opts.requestTimeoutMs, what, onFrame, reject })
    if (this.timer === null) this.timer = setTimeout(() => this.expire(), this.opts.requestTimeoutMs)
    else if (wasIdle) this.timer.ref()
    this.socket.write(frame)
  }

  /** Fails every request past its deadline and re-arms the timer for the oldest one left. */
  private expire(): void {
    this.timer = null
    const now = Date.now()
    while (this.head < this.waiting.length && this.waiting[this.head]!.deadline <= now) {
      const w = this.waiting[this.head++]!
      w.reject(new BrokerConnectionError(this.address, `${w.what} request to ${this.address} timed out after ${this.opts.requestTimeoutMs} ms`))
    }
    this.compact()
    if (this.head < this.waiting.length) this.timer = setTimeout(() => this.expire(), this.waiting[this.head]!.deadline - now)
  }

  private compact(): void {
    if (this.head === this.waiting.length) {
      this.waiting = []
      this.head = 0
    } else if (this.head > 1024) {
      this.waiting = this.waiting.slice(this.head)
      this.head = 0
    }
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
      // The first read lands in the buffer handed out before this connection existed.
      if (this.buf.length - this.filled < n) this.grow(this.filled + n)
      this.buf.set(into.subarray(0, n), this.filled)
    }
    this.filled += n
    const buf = this.buf
    let pos = 0
    while (this.filled - pos >= 4) {
      const size = buf.readInt32BE(pos)
      if (size < 4) {
        this.fail(new MalformedResponseError(this.address, `broker at ${this.address} sent a frame of ${size} bytes`))
        return
      }
      if (this.filled - pos < 4 + size) {
        // Make room for the whole frame now, so the rest is read in place.
        if (pos === 0 && 4 + size > buf.length) this.grow(4 + size)
        break
      }
      this.deliver(buf.subarray(pos + 4, pos + 4 + size))
      if (this.closedError !== null) return
      pos += 4 + size
    }
    if (pos > 0) {
      this.buf.copyWithin(0, pos, this.filled)
      this.filled -= pos
      if (this.filled >= 4) {
        const size = this.buf.readInt32BE(0)
        if (4 + size > this.buf.length) this.grow(4 + size)
      }
    }
  }

  private deliver(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0)
    let i = this.head
    while (i < this.waiting.length && this.waiting[i]!.correlationId !== correlationId) i++
    // Not waited for: the answer to a request that already timed out.
    if (i === this.waiting.length) return
    // Brokers answer in order, so requests before this one will never be answered.
    while (this.head < i) {
      const skipped = this.waiting[this.head++]!
      skipped.reject(new MalformedResponseError(this.address, `broker at ${this.address} answered a later request before ${skipped.what}`))
    }
    const w = this.waiting[this.head++]!
    // The timer stays armed (it finds nothing to expire, or re-arms for the next request), but
    // does not keep the process alive while nothing waits.
    this.compact()
    if (this.head === this.waiting.length) this.timer?.unref()
    w.onFrame(frame)
  }

  private fail(err: Error): void {
    if (this.closedError === null) this.closedError = err
    this.socket.destroy()
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const waiting = this.waiting.slice(this.head)
    this.waiting = []
    this.head = 0
    for (const w of waiting) w.reject(err)
  }
}

/** Settles a connection attempt: the socket's ready event makes the connection; an error or the connect timeout refuses it. */
function settleConnect(
  socket: net.Socket,
  readyEvent: 'connect' | 'secureConnect',
  address: string,
  timeoutMs: number,
  failure: (err: NodeJS.ErrnoException) => Error,
  ready: () => BrokerConnection,
  resolve: (conn: BrokerConnection) => void,
  reject: (err: Error) => void,
): void {
  const timer = setTimeout(() => {
    socket.destroy()
    reject(new BrokerUnreachableError(address, 'ETIMEDOUT'))
  }, timeoutMs)
  const onError = (err: NodeJS.ErrnoException): void => {
    clearTimeout(timer)
    socket.destroy()
    reject(failure(err))
  }
  socket.once('error', onError)
  socket.once(readyEvent, () => {
    clearTimeout(timer)
    socket.off('error', onError)
    resolve(ready())
  })
}
