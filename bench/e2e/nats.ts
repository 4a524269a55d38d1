// NATS JetStream as a peer, spoken to over the plain NATS text protocol (no client library): one
// stream per workload with subjects <stream>.<partition>, file storage. Publishes carry a reply
// subject so JetStream acknowledges each stored message; acknowledgements on one connection for
// one stream come back in publish order, so they are matched first in, first out. A push consumer
// (ack none) serves the latency run and a pull consumer (batches, no_wait) reads the backlog.
import { existsSync } from 'node:fs'
import net from 'node:net'
import { readStamp, stamp, type RateTarget } from './fixed-rate.js'
import { freePort, sleep, startService, type Service } from './procs.js'

const NATS_SERVER = '/usr/sbin/nats-server'

export function natsAvailable(): string | null {
  return existsSync(NATS_SERVER) || existsSync('/usr/bin/nats-server') ? null : 'nats-server not installed (apt-get install -y nats-server)'
}

export interface NatsServer {
  service: Service
  port: number
}

export async function startNats(dir: string): Promise<NatsServer> {
  const port = await freePort()
  const bin = existsSync(NATS_SERVER) ? NATS_SERVER : '/usr/bin/nats-server'
  const service = await startService(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], /Server is ready/)
  return { service, port }
}

type OnMsg = (subject: string, payload: Buffer, status: string | null) => void

const CRLF = Buffer.from('\r\n')

class NatsConnection {
  private leftover: Buffer | null = null
  private readonly subs = new Map<string, OnMsg>()
  private nextSid = 1
  private pong: (() => void) | null = null
  private inboxSeq = 0

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true)
    socket.on('data', (c: Buffer) => this.onData(c))
    socket.on('error', () => {})
  }

  static async connect(port: number): Promise<NatsConnection> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s))
      s.once('error', reject)
    })
    const c = new NatsConnection(socket)
    socket.write('CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1}\r\n')
    await c.flush()
    return c
  }

  /** Round trip through the server: everything written before has been processed. */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.pong = resolve
      this.socket.write('PING\r\n')
    })
  }

  subscribe(subject: string, onMsg: OnMsg): void {
    const sid = String(this.nextSid++)
    this.subs.set(sid, onMsg)
    this.socket.write(`SUB ${subject} ${sid}\r\n`)
  }

  write(frame: Buffer | string): void {
    this.socket.write(frame)
  }

  /** JetStream API call: JSON in, JSON out. */
  async request(subject: string, body: unknown, timeoutMs = 10000): Promise<any> {
    const inbox = `_INBOX.req.${this.inboxSeq++}`
    const reply = new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no reply to ${subject}`)), timeoutMs)
      this.subscribe(inbox, (_s, payload) => {
        clearTimeout(t)
        resolve(payload)
      })
    })
    const payload = Buffer.from(JSON.stringify(body))
    this.socket.write(`PUB ${subject} ${inbox} ${payload.length}\r\n`)
    this.socket.write(Buffer.concat([payload, CRLF]))
    const res = JSON.parse((await reply).toString())
    if (res.error) throw new Error(`${subject}: ${res.error.description ?? JSON.stringify(res.error)}`)
    return res
  }

  close(): void {
    this.socket.destroy()
  }

  private onData(chunk: Buffer): void {
    let buf = chunk
    if (this.leftover) {
      buf = Buffer.concat([this.leftover, chunk])
      this.leftover = null
    }
    let pos = 0
    while (pos < buf.length) {
      const lineEnd = buf.indexOf(CRLF, pos)
      if (lineEnd < 0) break
      const c0 = buf[pos]
      if (c0 === 0x4d /* MSG */ || c0 === 0x48 /* HMSG */) {
        const parts = buf.toString('latin1', pos, lineEnd).split(' ')
        const isH = c0 === 0x48
        const total = Number(parts.at(-1))
        const hdrLen = isH ? Number(parts.at(-2)) : 0
        const start = lineEnd + 2
        if (start + total + 2 > buf.length) break
        let status: string | null = null
        if (isH) {
          const firstLine = buf.toString('latin1', start, buf.indexOf(CRLF, start))
          const m = /^NATS\/1\.0 (\d{3})/.exec(firstLine)
          if (m) status = m[1]!
        }
        this.subs.get(parts[2]!)?.(parts[1]!, buf.subarray(start + hdrLen, start + total), status)
        pos = start + total + 2
        continue
      }
      const line = buf.toString('latin1', pos, lineEnd)
      pos = lineEnd + 2
      if (line === 'PING') this.socket.write('PONG\r\n')
      else if (line === 'PONG') {
        const p = this.pong
        this.pong = null
        p?.()
      } else if (line.startsWith('-ERR')) process.stderr.write(`nats: ${line}\n`)
    }
    if (pos < buf.length) this.leftover = buf.subarray(pos)
  }
}

async function createStream(c: NatsConnection, name: string): Promise<void> {
  await c.request(`$JS.API.STREAM.CREATE.${name}`, { name, subjects: [`${name}.>`], storage: 'file', retention: 'limits', discard: 'old', num_replicas: 1 })
}

/** FIFO acknowledgement counter for publishes made with one reply subject. */
class AckQueue {
  private readonly waiting: Array<{ left: number; resolve: () => void; reject: (e: Error) => void }> = []
  errors = 0

  expect(n: number): Promise<void> {
    return new Promise((resolve, reject) => this.waiting.push({ left: n, resolve, reject }))
  }

  onAck(payload: Buffer): void {
    // A stored message is acknowledged with {"stream":...,"seq":n}; a failure carries "error".
    if (payload.includes('"error"')) this.errors++
    const head = this.waiting[0]
    if (!head) return
    if (--head.left === 0) {
      this.waiting.shift()
      head.resolve()
    }
  }
}

function publishFrame(subject: string, reply: string, value: Buffer, count: number): Buffer {
  const head = Buffer.from(`PUB ${subject} ${reply} ${value.length}\r\n`)
  const one = head.length + value.length + 2
  const frame = Buffer.allocUnsafe(one * count)
  for (let i = 0; i < count; i++) {
    head.copy(frame, i * one)
    value.copy(frame, i * one + head.length)
    CRLF.copy(frame, i * one + head.length + value.length)
  }
  return frame
}

/**
 * Publishes at max rate over 2 connections, each keeping 16 frames of 64 publishes in flight,
 * until `seconds` pass or `maxRecords` are acknowledged.
 */
export async function natsPublish(port: number, stream: string, partitions: number, recordBytes: number, seconds: number, maxRecords: number): Promise<{ records: number; seconds: number }> {
  const admin = await NatsConnection.connect(port)
  await createStream(admin, stream)
  admin.close()
  const PER_FRAME = 64
  const DEPTH = 16
  const value = Buffer.alloc(recordBytes, 99)
  let records = 0
  let issued = 0
  const conns = await Promise.all([0, 1].map(() => NatsConnection.connect(port)))
  const started = performance.now()
  const end = started + seconds * 1000
  try {
    await Promise.all(
      conns.map(async (c, ci) => {
        const acks = new AckQueue()
        c.subscribe(`_INBOX.ack.${ci}`, (_s, payload) => acks.onAck(payload))
        await c.flush()
        const frames = Array.from({ length: partitions }, (_, p) => publishFrame(`${stream}.${p}`, `_INBOX.ack.${ci}`, value, PER_FRAME))
        await Promise.all(
          Array.from({ length: DEPTH }, async (_, d) => {
            let i = ci * DEPTH + d
            while (performance.now() < end && issued < maxRecords) {
              issued += PER_FRAME
              const done = acks.expect(PER_FRAME)
              c.write(frames[i++ % partitions]!)
              await done
              records += PER_FRAME
            }
          }),
        )
        if (acks.errors > 0) throw new Error(`${acks.errors} publishes rejected`)
      }),
    )
  } finally {
    for (const c of conns) c.close()
  }
  return { records, seconds: (performance.now() - started) / 1000 }
}

/** Reads a stream from the start with a pull consumer, one batch always requested ahead. */
export async function natsConsume(port: number, stream: string, maxRecords: number, seconds: number): Promise<{ records: number; seconds: number }> {
  const c = await NatsConnection.connect(port)
  const BATCH = 2000
  try {
    await c.request(`$JS.API.CONSUMER.DURABLE.CREATE.${stream}.reader`, { stream_name: stream, config: { durable_name: 'reader', deliver_policy: 'all', ack_policy: 'none' } })
    let records = 0
    let requested = 0
    let first = 0
    let last = 0
    const pull = Buffer.from(JSON.stringify({ batch: BATCH, no_wait: true }))
    const next = () => {
      requested += BATCH
      c.write(`PUB $JS.API.CONSUMER.MSG.NEXT.${stream}.reader _INBOX.pull ${pull.length}\r\n`)
      c.write(Buffer.concat([pull, CRLF]))
    }
    const deadline = performance.now() + seconds * 1000
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, seconds * 1000)
      const finish = () => {
        clearTimeout(timer)
        resolve()
      }
      c.subscribe('_INBOX.pull', (_s, _payload, status) => {
        if (status !== null) {
          // 404 / 408: nothing more to deliver for this request.
          if (status === '404' || status === '408') finish()
          return
        }
        if (first === 0) first = performance.now()
        records++
        last = performance.now()
        if (records >= maxRecords || performance.now() > deadline) finish()
        else if (records > requested - BATCH) next()
      })
      next()
      next()
    })
    return { records, seconds: first === 0 ? 0 : (last - first) / 1000 }
  } finally {
    c.close()
  }
}

/** Fixed-rate target: each tick's records go to the next subject; a push consumer reads them back. */
export async function natsRateTarget(port: number, stream: string, partitions: number, recordBytes: number): Promise<RateTarget> {
  const producer = await NatsConnection.connect(port)
  const consumer = await NatsConnection.connect(port)
  await createStream(producer, stream)
  const acks = new AckQueue()
  producer.subscribe('_INBOX.lat', (_s, payload) => acks.onAck(payload))
  await producer.flush()
  const value = Buffer.alloc(recordBytes, 97)
  let next = 0
  return {
    async publish(due) {
      const head = Buffer.from(`PUB ${stream}.${next++ % partitions} _INBOX.lat ${recordBytes}\r\n`)
      const one = head.length + recordBytes + 2
      const frame = Buffer.allocUnsafe(one * due.length)
      for (let i = 0; i < due.length; i++) {
        head.copy(frame, i * one)
        const v = frame.subarray(i * one + head.length, i * one + head.length + recordBytes)
        value.copy(v)
        stamp(v, due[i]!)
        CRLF.copy(frame, i * one + head.length + recordBytes)
      }
      const done = acks.expect(due.length)
      producer.write(frame)
      await done
    },
    async subscribe(onStamp) {
      consumer.subscribe('_DELIVER.lat', (_s, payload, status) => {
        if (status === null && payload.length >= 8) onStamp(readStamp(payload))
      })
      await consumer.flush()
      await consumer.request(`$JS.API.CONSUMER.CREATE.${stream}`, { stream_name: stream, config: { deliver_subject: '_DELIVER.lat', deliver_policy: 'new', ack_policy: 'none', replay_policy: 'instant' } })
    },
    async close() {
      await sleep(10)
      producer.close()
      consumer.close()
    },
  }
}
