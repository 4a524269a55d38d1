// One client connection: splits the byte stream into length-prefixed frames, hands each to the
// router, and writes responses back in request order (clients pipeline several requests and match
// responses by position as much as by correlation id).
//
// Requests of one connection may be handled concurrently, but the router starts them in arrival
// order, so appends from pipelined Produce requests reach a partition in the order they were sent.
//
// A client that does not read its responses cannot make the broker buffer without bound. The
// connection's output budget is its socket's write high-water mark: reading pauses while more
// unsent response bytes than that are queued, and resumes on 'drain'. It also pauses while too many
// responses are pending, and behind a request whose response may be large (Fetch, see HandlerDef
// largeResponse): the next such request is not started until the previous one's response has been
// handed to the socket, so pipelined fetches cannot read the log many times over before anything
// is sent; as Kafka's broker does for every request.
//
// Fetch responses on plain TCP may carry record batches as file ranges, sent from the segment
// files with sendfile(2) in order with everything else (socket-output.ts); while a range waits for
// a slow reader, reading pauses as it does behind a full write buffer.
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { SendfileFn } from '../storage/file-slice.js'
import type { Logger } from 'pino'
import { Writer } from '../protocol/writer.js'
import { BufferPool } from '../storage/buffer-pool.js'
import { LeasedResponse } from './handler.js'
import type { Router, Pending } from './router.js'
import type { BrokerMetrics } from './metrics.js'
import { type ConnectionSession, plaintextSession } from './security/session.js'
import { SocketOutput } from './socket-output.js'

export interface ConnectionOptions {
  maxRequestBytes: number
  /**
   * The largest frame read before a SASL listener's client has authenticated
   * (sasl.server.max.receive.size), so an unauthenticated peer cannot make the broker buffer a
   * large request.
   */
  maxUnauthenticatedBytes: number
  maxInFlight: number
  logger: Logger
  /** Request counts and times (Kafka's RequestMetrics); NO_METRICS skips the clock. */
  metrics?: BrokerMetrics
  /** Sends Fetch responses' file ranges with this (plain TCP sockets only); absent: they are copied. */
  sendfile?: SendfileFn
}

interface Slot {
  pending: Pending
  done: boolean
  response: unknown
  /** Pooled memory the response views, released once the socket has taken the response. */
  held: LeasedResponse<unknown> | undefined
  /** The pooled buffer holding the request, returned to the pool once the request is answered. */
  lease: Buffer | undefined
  /** performance.now() when the request was read, when metrics are on. */
  started: number
}

/**
 * Buffers for frames that span socket chunks, shared by all connections. Such frames are mostly
 * Produce requests of 16 KiB to 1 MiB; a fresh allocation for each one is external memory that
 * makes V8 run a full collection every few dozen megabytes.
 */
const frameBuffers = new BufferPool(16 * 1024, 4 * 1024 * 1024, 32 * 1024 * 1024)

export class Connection {
  readonly clientHost: string
  readonly session: ConnectionSession
  lastActivity = Date.now()
  private chunks: Buffer[] = []
  private buffered = 0
  private readonly slots: Slot[] = []
  private readonly writer = new Writer(64 * 1024)
  private closed = false
  private paused = false
  private draining = false
  /** The request with a large response whose response is not yet written, if any. */
  private largeInFlight: Slot | undefined
  /** Parsing stopped at a large-response request, waiting for largeInFlight to be written. */
  private waitingForLarge = false
  private corked = false
  private idleWaiters: Array<() => void> = []
  private readonly timed: boolean
  private readonly output: SocketOutput

  constructor(
    readonly socket: Socket,
    private readonly router: Router,
    private readonly opts: ConnectionOptions,
    private readonly onClose: (c: Connection) => void,
    session?: ConnectionSession,
  ) {
    this.clientHost = socket.remoteAddress ?? 'unknown'
    this.session = session ?? plaintextSession(this.clientHost)
    this.timed = opts.metrics?.enabled === true
    const fd = (socket as TLSSocket).encrypted === true || opts.sendfile === undefined ? -1 : SocketOutput.descriptor(socket)
    this.session.sendfile = fd >= 0
    this.output = new SocketOutput(
      socket,
      fd,
      opts.sendfile,
      (err) => {
        opts.logger.debug({ err, client: this.clientHost }, 'sendfile failed; closing connection')
        this.close()
      },
      () => this.maybeResume(),
    )
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('drain', () => this.maybeResume())
    socket.on('error', (err) => {
      opts.logger.debug({ err, client: this.clientHost }, 'connection error')
    })
    socket.on('close', () => {
      this.closed = true
      this.chunks = []
      this.buffered = 0
      this.output.abort()
      // Answered but never written: nothing of theirs reached the socket.
      for (const slot of this.slots.splice(0)) slot.held?.release()
      for (const w of this.idleWaiters.splice(0)) w()
      onClose(this)
    })
  }

  /** The authenticated principal ("User:alice"); User:ANONYMOUS until authentication succeeds. */
  get principal(): string {
    return this.session.principal
  }

  get inFlight(): number {
    return this.slots.length
  }

  /** Stops reading new requests; in-flight ones still get their responses. */
  stopReading(): void {
    this.draining = true
    if (!this.closed) this.socket.pause()
  }

  /** Resolves once every accepted request has been answered (or the socket is gone). */
  whenIdle(): Promise<void> {
    if (this.slots.length === 0 || this.closed) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  close(reason?: string): void {
    if (this.closed) return
    if (reason) this.opts.logger.debug({ client: this.clientHost, reason }, 'closing connection')
    this.closed = true
    // Responses already encoded are still handed to the kernel before the socket goes.
    if (this.corked) this.uncork()
    this.socket.destroy()
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = Date.now()
    this.chunks.push(chunk)
    this.buffered += chunk.length
    this.parseFrames()
  }

  private parseFrames(): void {
    while (!this.closed && !this.paused && this.buffered >= 4) {
      const head = this.head()
      const size = head.readInt32BE(0)
      const max = this.session.authenticated ? this.opts.maxRequestBytes : Math.min(this.opts.maxRequestBytes, this.opts.maxUnauthenticatedBytes)
      if (size < 0 || size > max) {
        this.opts.logger.warn(
          { client: this.clientHost, size, max },
          'request size outside limits; closing connection',
        )
        this.close()
        return
      }
      if (this.buffered < 4 + size) return
      if (this.largeInFlight !== undefined && size >= 2 && this.router.largeResponse(head.readInt16BE(4))) {
        this.waitingForLarge = true
        this.pause()
        return
      }
      const spans = this.chunks[0]!.length < 4 + size
      const frame = this.take(4 + size, spans).subarray(4)
      this.dispatch(frame, spans)
      if (this.slots.length >= this.opts.maxInFlight) this.pause()
    }
  }

  /** The first bytes buffered: the size prefix, and the API key when that much has arrived. */
  private head(): Buffer {
    const first = this.chunks[0]!
    if (first.length >= 6 || this.chunks.length === 1) return first
    return Buffer.concat(this.chunks, Math.min(this.buffered, 8))
  }

  /**
   * Removes the next n bytes and returns them: a view when they lie in one chunk, else a copy,
   * into a buffer of frameBuffers when `pooled`.
   */
  private take(n: number, pooled: boolean): Buffer {
    const first = this.chunks[0]!
    let out: Buffer
    if (first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
    } else {
      out = pooled ? frameBuffers.lease(n) : Buffer.allocUnsafe(n)
      let filled = 0
      while (filled < n) {
        const c = this.chunks[0]!
        const want = n - filled
        if (c.length <= want) {
          c.copy(out, filled)
          filled += c.length
          this.chunks.shift()
        } else {
          c.copy(out, filled, 0, want)
          this.chunks[0] = c.subarray(want)
          filled += want
        }
      }
    }
    this.buffered -= n
    return out
  }

  private dispatch(frame: Buffer, leased: boolean): void {
    const pending =
      this.session.sasl === 'raw' ? this.router.saslToken(frame, this.session) : this.router.route(frame, this.clientHost, this.session.principal, this.session)
    if (pending.kind === 'close') {
      this.opts.logger.warn({ client: this.clientHost, reason: pending.reason }, 'bad request; closing connection')
      this.close()
      return
    }
    // Requests whose handler may keep views of their bytes give up the pooled buffer for good.
    const lease = leased && !pending.keepsRequestBytes ? frame : undefined
    const slot: Slot = { pending, done: false, response: undefined, held: undefined, lease, started: this.timed ? performance.now() : 0 }
    this.slots.push(slot)
    if (pending.largeResponse) this.largeInFlight = slot
    const result = pending.result
    if (result instanceof Promise) {
      result.then(
        (res) => this.complete(slot, res),
        (err: unknown) => {
          this.opts.logger.error({ err, api: pending.apiName, client: this.clientHost }, 'request handler failed')
          this.close()
        },
      )
    } else {
      this.complete(slot, result)
    }
  }

  private complete(slot: Slot, result: unknown): void {
    slot.done = true
    if (result instanceof LeasedResponse) {
      slot.held = result
      slot.response = result.response
    } else {
      slot.response = result
    }
    if (slot.lease !== undefined) {
      frameBuffers.release(slot.lease)
      slot.lease = undefined
    }
    if (this.closed) {
      slot.held?.release()
      slot.held = undefined
      return
    }
    if (slot === this.slots[0]) this.flush()
  }

  private flush(): void {
    if (this.closed) return
    let wrote = false
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!
      if (slot === this.largeInFlight) {
        // Written below; the next large request may start once the write buffer allows.
        this.largeInFlight = undefined
        this.waitingForLarge = false
      }
      if (this.timed && slot.pending.kind === 'ok') this.opts.metrics!.requestDone(slot.pending.api.apiKey, slot.pending.apiVersion, performance.now() - slot.started)
      if (slot.response === null) continue // acks=0: no response on the wire
      if (!wrote) {
        this.corkUntilPollEnds()
        wrote = true
      }
      let chunks: Uint8Array[]
      try {
        chunks = this.router.encode(this.writer, slot.pending, slot.response)
      } catch (err) {
        this.opts.logger.error({ err, api: slot.pending.apiName }, 'could not encode response')
        slot.held?.release()
        this.close()
        return
      }
      const held = slot.held
      const last = chunks.length - 1
      for (let i = 0; i < last; i++) this.output.write(chunks[i]!)
      // Write callbacks run in order, so the last one means the kernel has the whole response.
      if (held === undefined) this.output.write(chunks[last]!)
      else this.output.write(chunks[last]!, () => held.release())
    }
    if (this.session.closeAfterResponses && this.slots.length === 0) {
      this.endAfterWrites()
      return
    }
    if (wrote && (this.socket.writableNeedDrain || this.output.pending)) this.pause()
    if (this.slots.length === 0) for (const w of this.idleWaiters.splice(0)) w()
    this.maybeResume()
  }

  /** Closes once what is written has been sent (a refused login gets its answer first). */
  private endAfterWrites(): void {
    this.stopReading()
    this.closed = true
    this.socket.end()
    setTimeout(() => this.socket.destroy(), 1000).unref()
    for (const w of this.idleWaiters.splice(0)) w()
  }

  /**
   * Holds responses in the socket until the event loop has handled every read of this poll round,
   * so responses to requests that arrived together leave in one writev instead of one write each.
   */
  private corkUntilPollEnds(): void {
    if (this.corked) return
    this.corked = true
    this.socket.cork()
    setImmediate(this.uncork)
  }

  private readonly uncork = (): void => {
    this.corked = false
    this.socket.uncork()
  }

  private pause(): void {
    if (this.paused) return
    this.paused = true
    this.socket.pause()
  }

  private maybeResume(): void {
    if (!this.paused || this.closed || this.draining) return
    // A full write buffer resumes on 'drain'; too many pending responses, or a large response not
    // yet written, resume in flush().
    if (this.slots.length >= this.opts.maxInFlight || this.socket.writableNeedDrain || this.output.pending || this.waitingForLarge) return
    this.paused = false
    this.socket.resume()
    this.parseFrames()
  }
}
