// A minimal pipelining RESP2 client: commands are written as they come, replies are matched in
// order. The parser is resumable token by token, so a 16 MiB XREADGROUP reply arriving in 64 KiB
// chunks is parsed once, not re-scanned per chunk; bulk strings are views of the socket chunks.
import net from 'node:net'

export type RespValue = string | number | Buffer | null | RespValue[] | Error

interface Frame {
  items: RespValue[]
  remaining: number
}

export class RespClient {
  private readonly socket: net.Socket
  private leftover: Buffer | null = null
  private readonly stack: Frame[] = []
  private readonly waiting: Array<{ resolve: (v: RespValue) => void; reject: (e: Error) => void }> = []
  private failed: Error | null = null

  private constructor(socket: net.Socket) {
    this.socket = socket
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', (err) => this.fail(err))
    socket.on('close', () => this.fail(new Error('connection closed')))
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(new RespClient(s)))
      s.once('error', reject)
    })
  }

  /** Encodes a command; arguments that are Buffers are copied into the frame once. */
  static encode(args: Array<string | Buffer>): Buffer {
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
    for (const a of args) {
      const b = typeof a === 'string' ? Buffer.from(a) : a
      parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF)
    }
    return Buffer.concat(parts)
  }

  command(...args: Array<string | Buffer>): Promise<RespValue> {
    return this.sendEncoded(RespClient.encode(args), 1).then((r) => r[0]!)
  }

  /** Writes an already-encoded frame holding `count` commands; resolves with their replies. */
  sendEncoded(frame: Buffer, count: number): Promise<RespValue[]> {
    if (this.failed) return Promise.reject(this.failed)
    const replies: RespValue[] = []
    const all = new Promise<RespValue[]>((resolve, reject) => {
      for (let i = 0; i < count; i++) {
        this.waiting.push({
          resolve: (v) => {
            replies.push(v)
            if (replies.length === count) resolve(replies)
          },
          reject,
        })
      }
    })
    this.socket.write(frame)
    return all
  }

  close(): void {
    this.socket.destroy()
  }

  private fail(err: Error): void {
    if (this.failed) return
    this.failed = err
    for (const w of this.waiting.splice(0)) w.reject(err)
  }

  private onData(chunk: Buffer): void {
    let buf = chunk
    if (this.leftover) {
      buf = Buffer.concat([this.leftover, chunk])
      this.leftover = null
    }
    let pos = 0
    while (pos < buf.length) {
      const lineEnd = buf.indexOf(CRLF, pos + 1)
      if (lineEnd < 0) break
      const type = buf[pos]
      let value: RespValue
      let next = lineEnd + 2
      if (type === 0x24 /* $ */) {
        const len = Number(buf.toString('latin1', pos + 1, lineEnd))
        if (len < 0) value = null
        else {
          if (next + len + 2 > buf.length) break
          value = buf.subarray(next, next + len)
          next += len + 2
        }
      } else if (type === 0x2a /* * */) {
        const n = Number(buf.toString('latin1', pos + 1, lineEnd))
        pos = next
        if (n > 0) {
          this.stack.push({ items: [], remaining: n })
          continue
        }
        this.deliver(n < 0 ? null : [])
        continue
      } else if (type === 0x3a /* : */) value = Number(buf.toString('latin1', pos + 1, lineEnd))
      else if (type === 0x2d /* - */) value = new Error(buf.toString('utf8', pos + 1, lineEnd))
      else value = buf.toString('utf8', pos + 1, lineEnd)
      pos = next
      this.deliver(value)
    }
    if (pos < buf.length) this.leftover = buf.subarray(pos)
  }

  private deliver(value: RespValue): void {
    let v = value
    for (;;) {
      const top = this.stack.at(-1)
      if (!top) {
        this.waiting.shift()?.resolve(v)
        return
      }
      top.items.push(v)
      if (--top.remaining > 0) return
      this.stack.pop()
      v = top.items
    }
  }
}

const CRLF = Buffer.from('\r\n')
