// Partition sizes on disk through DescribeLogDirs (API key 35), which kafkajs does not expose.
// A small raw client: ApiVersions v0 to pick a version, then DescribeLogDirs v1 (classic
// encoding) or v2-v4 (flexible encoding). Returns null when the broker does not offer it.

import net from 'node:net'

const API_VERSIONS = 18
const DESCRIBE_LOG_DIRS = 35

class Cursor {
  pos = 0
  constructor(readonly buf: Buffer) {}
  int8(): number {
    return this.buf.readInt8(this.pos++)
  }
  int16(): number {
    const v = this.buf.readInt16BE(this.pos)
    this.pos += 2
    return v
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }
  int64(): number {
    const v = this.buf.readBigInt64BE(this.pos)
    this.pos += 8
    return Number(v)
  }
  uvarint(): number {
    let value = 0
    let shift = 0
    for (;;) {
      const b = this.buf[this.pos++]
      if (b === undefined) throw new RangeError('truncated varint')
      value += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return value
      shift += 7
    }
  }
  string(flexible: boolean): string {
    const len = flexible ? this.uvarint() - 1 : this.int16()
    if (len < 0) return ''
    const s = this.buf.toString('utf8', this.pos, this.pos + len)
    this.pos += len
    return s
  }
  arrayLength(flexible: boolean): number {
    return flexible ? this.uvarint() - 1 : this.int32()
  }
  skipTags(flexible: boolean): void {
    if (!flexible) return
    for (let n = this.uvarint(); n > 0; n--) {
      this.uvarint()
      this.pos += this.uvarint()
    }
  }
}

function uvarintBytes(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}

function stringBytes(s: string, flexible: boolean): Buffer {
  const body = Buffer.from(s, 'utf8')
  if (flexible) return Buffer.concat([Buffer.from(uvarintBytes(body.length + 1)), body])
  const len = Buffer.alloc(2)
  len.writeInt16BE(body.length)
  return Buffer.concat([len, body])
}

function int16(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeInt16BE(n)
  return b
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}

function frame(apiKey: number, version: number, correlationId: number, clientId: string, flexibleHeader: boolean, body: Buffer): Buffer {
  const header = Buffer.concat([
    int16(apiKey),
    int16(version),
    int32(correlationId),
    // The header's client id keeps the classic int16 length even in flexible versions.
    stringBytes(clientId, false),
    flexibleHeader ? Buffer.from([0]) : Buffer.alloc(0),
  ])
  return Buffer.concat([int32(header.length + body.length), header, body])
}

/** Sends frames in order over one connection, resolving each response body (after the correlation id). */
function exchange(host: string, port: number, timeoutMs: number, frames: Buffer[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port })
    const responses: Buffer[] = []
    let pending: Buffer = Buffer.alloc(0)
    const timer = setTimeout(() => fail(new Error('DescribeLogDirs timed out')), timeoutMs)
    const fail = (err: Error) => {
      clearTimeout(timer)
      socket.destroy()
      reject(err)
    }
    socket.on('connect', () => socket.write(frames[0]))
    socket.on('error', fail)
    socket.on('close', () => fail(new Error('connection closed before the response')))
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = pending.readInt32BE(0)
        responses.push(pending.subarray(8, 4 + size))
        pending = pending.subarray(4 + size)
        if (responses.length === frames.length) {
          clearTimeout(timer)
          socket.removeAllListeners('close')
          socket.destroy()
          resolve(responses)
          return
        }
        socket.write(frames[responses.length])
      }
    })
  })
}

function pickVersion(apiVersionsBody: Buffer): number | null {
  const c = new Cursor(apiVersionsBody)
  if (c.int16() !== 0) return null
  for (let n = c.int32(); n > 0; n--) {
    const key = c.int16()
    const min = c.int16()
    const max = c.int16()
    if (key !== DESCRIBE_LOG_DIRS) continue
    if (min <= 1 && max >= 1) return 1
    if (max >= 2) return Math.min(max, 4)
    return null
  }
  return null
}

export interface TopicPartitions {
  topic: string
  partitions: number[]
}

/** Map of `topic/partition` to bytes on disk, or null if the broker does not report sizes. */
export async function describeLogDirs(
  address: string,
  clientId: string,
  timeoutMs: number,
  topics: readonly TopicPartitions[],
): Promise<Map<string, number> | null> {
  const sep = address.lastIndexOf(':')
  const host = address.slice(0, sep)
  const port = Number(address.slice(sep + 1))
  const [versions] = await exchange(host, port, timeoutMs, [frame(API_VERSIONS, 0, 1, clientId, false, Buffer.alloc(0))])
  const version = pickVersion(versions)
  if (version === null) return null
  const flexible = version >= 2

  const parts: Buffer[] = [flexible ? Buffer.from(uvarintBytes(topics.length + 1)) : int32(topics.length)]
  for (const t of topics) {
    parts.push(stringBytes(t.topic, flexible))
    parts.push(flexible ? Buffer.from(uvarintBytes(t.partitions.length + 1)) : int32(t.partitions.length))
    for (const p of t.partitions) parts.push(int32(p))
    if (flexible) parts.push(Buffer.from([0]))
  }
  if (flexible) parts.push(Buffer.from([0]))
  const [body] = await exchange(host, port, timeoutMs, [frame(DESCRIBE_LOG_DIRS, version, 2, clientId, flexible, Buffer.concat(parts))])

  const c = new Cursor(body)
  c.skipTags(flexible)
  c.int32()
  if (version >= 3 && c.int16() !== 0) return null
  const sizes = new Map<string, number>()
  for (let r = c.arrayLength(flexible); r > 0; r--) {
    const errorCode = c.int16()
    c.string(flexible)
    for (let t = c.arrayLength(flexible); t > 0; t--) {
      const name = c.string(flexible)
      for (let p = c.arrayLength(flexible); p > 0; p--) {
        const partition = c.int32()
        const size = c.int64()
        c.int64()
        const isFuture = c.int8() !== 0
        c.skipTags(flexible)
        if (errorCode === 0 && !isFuture) {
          const key = `${name}/${partition}`
          sizes.set(key, (sizes.get(key) ?? 0) + size)
        }
      }
      c.skipTags(flexible)
    }
    if (version >= 4) {
      c.int64()
      c.int64()
    }
    c.skipTags(flexible)
  }
  return sizes
}
