// Child process of the share section: runs `consumers` consumers of one kind, each with its own
// connections, and reports what they consumed. Prints {"ready":true} once every consumer is
// connected; starts consuming (subscribing) when the harness writes "go" to stdin; prints
// {"n":count} every 100 ms; on "stop" closes its consumers and prints one ShareWorkerReport line.
//
// Kinds:
// - share: the project's ShareConsumer, explicit acknowledgement, every record accepted. In
//   throughput mode the acceptances ride on the next ShareFetch (the client's usual path); in
//   latency mode each poll's acceptances go at once with commitSync, and a record's ack time is
//   when the broker's ShareAcknowledge answer arrived.
// - classic: the project's Consumer in a classic group (range assignor), from the earliest offset,
//   auto-commit every 5 s.
// - amqp: amqplib, one connection and channel per consumer, basic.qos prefetch, manual basic.ack
//   per message. AMQP 0-9-1 does not confirm consumer acks, so a record's ack time is when
//   channel.ack() has handed the ack to the socket.
//
//   node share-worker.js '<ShareWorkerArgs JSON>'
import { Consumer } from '../../broker/client/consumer.js'
import { ShareConsumer } from '../../broker/client/share-consumer.js'
import { epochNow, loopDelayMonitor, readStamp } from './fixed-rate.js'
import { amqpConnect, type AmqpConnection } from './rabbitmq.js'

export interface ShareWorkerArgs {
  kind: 'share' | 'classic' | 'amqp'
  consumers: number
  /** host:port for Samsa, an amqp:// URL for RabbitMQ. */
  address: string
  /** Topic or queue. */
  source: string
  /** Share or classic group id. */
  group: string
  /** latency: read each record's stamp and keep delivery and ack latencies. */
  latency: boolean
  /** Records per fetch (Samsa) / prefetch (RabbitMQ). */
  batch: number
}

export interface ShareWorkerReport {
  count: number
  /** Polls that returned records (Samsa) / deliveries (RabbitMQ: one record each). */
  batches: number
  /** Epoch ms of the first and last record received, over all this process's consumers. */
  firstMs: number
  lastMs: number
  /** Latency mode: stamp to delivery, and stamp to ack, per measured record, in ms. */
  deliverMs: number[]
  ackMs: number[]
  loopDelayP99Ms: number
  errors: string[]
}

const args = JSON.parse(process.argv[2]!) as ShareWorkerArgs
let count = 0
let batches = 0
let firstMs = Infinity
let lastMs = 0
let running = true
const deliverMs: number[] = []
const ackMs: number[] = []
const errors: string[] = []

function received(n: number): number {
  const t = epochNow()
  count += n
  batches++
  if (firstMs === Infinity) firstMs = t
  lastMs = t
  return t
}

function latency(value: Buffer | null, deliveredAt: number, ackedAt: number): void {
  if (!args.latency || value === null || value.length < 8) return
  const s = readStamp(value)
  if (s < 0) return // warm-up
  deliverMs.push(Math.round((deliveredAt - s) * 1000) / 1000)
  ackMs.push(Math.round((ackedAt - s) * 1000) / 1000)
}

interface Runner {
  start(): Promise<void>
  stop(): Promise<void>
}

function shareRunner(): Runner {
  const c = new ShareConsumer({ bootstrap: [args.address], groupId: args.group, acknowledgementMode: 'explicit', maxWaitMs: 100, maxRecords: args.batch })
  let loop: Promise<void> = Promise.resolve()
  return {
    async start() {
      await c.connect()
      loop = (async () => {
        await gate
        c.subscribe([args.source])
        while (running) {
          const records = await c.poll()
          if (records.length === 0) continue
          const t = received(records.length)
          for (const r of records) c.acknowledge(r, 'accept')
          if (args.latency) {
            const results = await c.commitSync()
            const acked = epochNow()
            for (const res of results) if (res.error) errors.push(res.error.message)
            for (const r of records) latency(r.value, t, acked)
          }
        }
      })().catch((err: Error) => void errors.push(err.message))
    },
    async stop() {
      await loop
      await c.close()
    },
  }
}

function classicRunner(): Runner {
  const c = new Consumer({ bootstrap: [args.address], groupId: args.group, offsetReset: 'earliest', maxWaitMs: 100 })
  let loop: Promise<void> = Promise.resolve()
  return {
    async start() {
      await c.connect()
      loop = (async () => {
        await gate
        c.subscribe([args.source])
        while (running) {
          const records = await c.poll()
          if (records.length > 0) received(records.length)
        }
      })().catch((err: Error) => void errors.push(err.message))
    },
    async stop() {
      c.wakeup()
      await loop
      await c.close()
    },
  }
}

function amqpRunner(): Runner {
  let conn: AmqpConnection | undefined
  return {
    async start() {
      conn = await amqpConnect(args.address)
      const ch = await conn.createChannel()
      await ch.prefetch(args.batch)
      void gate.then(() =>
        ch.consume(args.source, (msg) => {
          if (msg === null) return
          const t = received(1)
          ch.ack(msg)
          latency(msg.content, t, epochNow())
        }, { noAck: false }).catch((err: Error) => void errors.push(err.message)),
      )
    },
    async stop() {
      await conn?.close().catch(() => undefined)
    },
  }
}

let open: () => void = () => {}
const gate = new Promise<void>((resolve) => (open = resolve))
const make = args.kind === 'share' ? shareRunner : args.kind === 'classic' ? classicRunner : amqpRunner
const runners = Array.from({ length: args.consumers }, make)
await Promise.all(runners.map((r) => r.start()))
const loop = loopDelayMonitor()
process.stdout.write('{"ready":true}\n')
const ticker = setInterval(() => process.stdout.write(`{"n":${count}}\n`), 100)

let input = ''
process.stdin.setEncoding('utf8')
await new Promise<void>((resolve) => {
  process.stdin.on('data', (d: string) => {
    input += d
    if (input.includes('go\n')) open()
    if (input.includes('stop\n')) resolve()
  })
  process.stdin.once('end', () => resolve())
})
running = false
clearInterval(ticker)
await Promise.race([Promise.all(runners.map((r) => r.stop())), new Promise((r) => setTimeout(r, 5000))])
const report: ShareWorkerReport = { count, batches, firstMs, lastMs, deliverMs, ackMs, loopDelayP99Ms: loop.stopP99Ms(), errors: errors.slice(0, 5) }
process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(0))
