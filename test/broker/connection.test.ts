import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { Connection } from '../../broker/connection.js'
import type { Pending, Router } from '../../broker/router.js'
import type { Writer } from '../../protocol/writer.js'
import { LeasedResponse } from '../../broker/handler.js'

/** The parts of a net.Socket a Connection uses; data is pushed in with `feed`. */
class FakeSocket extends EventEmitter {
  remoteAddress = '127.0.0.1'
  writableNeedDrain = false
  corks = 0
  /** Each uncork that sent something: the bytes that went out together. */
  sends: Buffer[] = []
  private pendingWrites: Array<{ chunk: Uint8Array; cb?: () => void }> = []
  destroyed = false

  setNoDelay(): void {}
  pause(): void {}
  resume(): void {}
  cork(): void {
    this.corks++
  }
  uncork(): void {
    if (this.corks === 0) return
    this.corks--
    if (this.corks === 0) this.send()
  }
  write(chunk: Uint8Array, cb?: () => void): boolean {
    this.pendingWrites.push({ chunk, cb })
    if (this.corks === 0) this.send()
    return true
  }
  destroy(): void {
    this.destroyed = true
    this.emit('close')
  }
  feed(...chunks: Buffer[]): void {
    for (const c of chunks) this.emit('data', c)
  }
  private send(): void {
    if (this.pendingWrites.length === 0) return
    const writes = this.pendingWrites.splice(0)
    this.sends.push(Buffer.concat(writes.map((w) => w.chunk)))
    // As the kernel would: the bytes are taken, then the callbacks run.
    for (const w of writes) w.cb?.()
  }
}

interface Routed {
  /** The frame as the router saw it (a view the connection may reuse). */
  frame: Buffer
  /** Its bytes when routed. */
  copy: Buffer
  resolve: (response: unknown) => void
}

/**
 * Routes every frame to a pending result the test resolves; the response is the frame's first
 * byte. Frames filled with 9 (API key 0x0909) have large responses.
 */
function fakeRouter(keepsRequestBytes: boolean) {
  const LARGE = 0x0909
  const routed: Routed[] = []
  const router = {
    route(frame: Buffer): Pending {
      let resolve!: (r: unknown) => void
      const result = new Promise((r) => (resolve = r))
      routed.push({ frame, copy: Buffer.from(frame), resolve })
      const largeResponse = frame.length >= 2 && frame.readInt16BE(0) === LARGE
      return { kind: 'ok', api: {} as never, apiName: 'Fake', apiVersion: 0, correlationId: 0, result, keepsRequestBytes, largeResponse }
    },
    largeResponse(apiKey: number): boolean {
      return apiKey === LARGE
    },
    encode(_w: Writer, _p: Pending, response: unknown): Uint8Array[] {
      return response as Uint8Array[]
    },
  }
  return { router: router as unknown as Router, routed }
}

function frame(size: number, fill: number): Buffer {
  const b = Buffer.alloc(4 + size, fill)
  b.writeInt32BE(size, 0)
  return b
}

function connect(keepsRequestBytes: boolean) {
  const socket = new FakeSocket()
  const { router, routed } = fakeRouter(keepsRequestBytes)
  const conn = new Connection(socket as unknown as Socket, router, { maxRequestBytes: 8 << 20, maxUnauthenticatedBytes: 524288, maxInFlight: 100, logger: pino({ level: 'silent' }) }, () => {})
  return { socket, conn, routed }
}

/** Past the end of the current poll round, when corked responses go out. */
const tick = () => new Promise<void>((r) => setImmediate(() => setImmediate(r)))

describe('Connection framing', () => {
  it('reassembles frames split at every kind of boundary, in order', async () => {
    const { socket, routed } = connect(true)
    const frames = [frame(10, 1), frame(70_000, 2), frame(3, 3), frame(200_000, 4), frame(0, 5)]
    const all = Buffer.concat(frames)
    // Cut points inside size prefixes, inside bodies and exactly on frame boundaries.
    const cuts = [2, 14, 20, 40_000, 70_014, 70_016, 70_021, 150_000, all.length - 2]
    let at = 0
    for (const c of cuts) {
      socket.feed(all.subarray(at, c))
      at = c
    }
    socket.feed(all.subarray(at))
    expect(routed.map((r) => r.copy.length)).toEqual([10, 70_000, 3, 200_000, 0])
    routed.forEach((r, i) => expect(r.copy.every((b) => b === i + 1)).toBe(true))
  })

  it('reuses the memory of a spanning frame only after its request is answered, when the router allows it', async () => {
    const { socket, routed } = connect(false)
    const send = (fill: number) => {
      const f = frame(100_000, fill)
      socket.feed(f.subarray(0, 60_000), f.subarray(60_000))
    }
    send(1)
    send(2)
    // Both in flight: the second frame must not have been copied over the first.
    expect(routed[1]!.frame.buffer).not.toBe(routed[0]!.frame.buffer)
    expect(routed[0]!.frame.equals(routed[0]!.copy)).toBe(true)
    routed[0]!.resolve([Buffer.from('a')])
    await tick()
    send(3)
    expect(routed[2]!.frame.buffer).toBe(routed[0]!.frame.buffer)
    expect(routed[1]!.frame.equals(routed[1]!.copy)).toBe(true)
  })

  it('never reuses the memory of a request whose handler may keep views of it', async () => {
    const { socket, routed } = connect(true)
    for (let i = 1; i <= 4; i++) {
      const f = frame(100_000, i)
      socket.feed(f.subarray(0, 50_000), f.subarray(50_000))
      routed[i - 1]!.resolve([Buffer.from([i])])
      await tick()
    }
    routed.forEach((r) => expect(r.frame.equals(r.copy)).toBe(true))
    expect(new Set(routed.map((r) => r.frame.buffer)).size).toBe(4)
  })
})

describe('Connection responses', () => {
  it('answers in request order and sends the responses of one poll round together', async () => {
    const { socket, routed } = connect(true)
    socket.feed(Buffer.concat([frame(1, 1), frame(1, 2), frame(1, 3)]))
    routed[2]!.resolve([Buffer.from('c')])
    routed[1]!.resolve([Buffer.from('b')])
    await Promise.resolve()
    expect(socket.sends).toEqual([])
    routed[0]!.resolve([Buffer.from('a')])
    await tick()
    expect(socket.sends.map((s) => s.toString())).toEqual(['abc'])
  })

  it('releases the pooled memory a response carries once the socket has its bytes', async () => {
    const { socket, routed } = connect(true)
    socket.feed(frame(1, 1))
    const records = Buffer.alloc(100_000, 7)
    let released = 0
    routed[0]!.resolve(new LeasedResponse([Buffer.from('head'), records], [{ release: () => released++ }]))
    await Promise.resolve()
    expect(released).toBe(0)
    await tick()
    expect(socket.sends[0]!.length).toBe(4 + 100_000)
    expect(released).toBe(1)
  })

  it('releases the pooled memory of responses that are never written', async () => {
    const { socket, conn, routed } = connect(true)
    socket.feed(frame(1, 1), frame(1, 2), frame(1, 3))
    const released: number[] = []
    const leased = (n: number) => new LeasedResponse([Buffer.from([n])], [{ release: () => released.push(n) }])
    // The second is answered but waits behind the first; the third is answered after the close.
    routed[1]!.resolve(leased(2))
    await Promise.resolve()
    conn.close()
    expect(released).toEqual([2])
    routed[2]!.resolve(leased(3))
    routed[0]!.resolve(leased(1))
    await tick()
    expect(released.sort()).toEqual([1, 2, 3])
    expect(socket.sends).toEqual([])
  })

  it('starts a request with a large response only once the previous one\'s response is written', async () => {
    const { socket, routed } = connect(true)
    socket.feed(Buffer.concat([frame(10, 9), frame(10, 1), frame(10, 9), frame(10, 2)]))
    // The second large request waits, and what follows it waits behind it.
    expect(routed.map((r) => r.copy[0])).toEqual([9, 1])
    routed[1]!.resolve([Buffer.from('b')])
    await tick()
    expect(routed).toHaveLength(2)
    routed[0]!.resolve([Buffer.from('a')])
    await tick()
    expect(socket.sends.map((s) => s.toString())).toEqual(['ab'])
    expect(routed.map((r) => r.copy[0])).toEqual([9, 1, 9, 2])
  })

  it('sends what is already answered before closing', async () => {
    const { socket, conn, routed } = connect(true)
    socket.feed(frame(1, 1))
    routed[0]!.resolve([Buffer.from('x')])
    await Promise.resolve()
    await Promise.resolve()
    conn.close()
    expect(socket.sends.map((s) => s.toString())).toEqual(['x'])
    expect(socket.destroyed).toBe(true)
  })
})
