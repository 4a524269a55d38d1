// The workload: idempotent producers writing unique values (kafkajs, idempotent with acks=all, one
// send in flight each; and librdkafka through confluent-kafka for Python), a librdkafka consumer
// reading every partition while faults are injected, and the final read of every partition from
// offset 0 by plain Fetch from its leader. Everything lands in one History for the checker.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import kafkajs from 'kafkajs'
import { batchSizeAt } from '../../protocol/record-batch.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import type { History } from './checker.js'

const { Kafka, logLevel } = kafkajs
const here = path.dirname(fileURLToPath(import.meta.url))
export const PYTHON = process.env.SAMSA_PYTHON ?? '/usr/bin/python3'
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export function emptyHistory(): History {
  return { attempts: new Map(), acks: new Map(), failed: new Set(), finalLog: new Map(), liveReads: [], replicaLogs: new Map(), epochBumps: new Map() }
}

export interface WorkloadOptions {
  bootstrap: string[]
  topic: string
  partitions: number
  kafkajsProducers: number
  /** librdkafka producer rate, values per second (0: none). */
  librdkafkaRate: number
  random: () => number
  /** Where the Python processes' stderr (librdkafka's log, with its `eos` debug context) goes. */
  logDir: string
}

/** Resolves with `p`, or with `undefined` once `ms` pass (leaving `p` to settle unobserved). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout | undefined
  return Promise.race([p.finally(() => clearTimeout(t)), new Promise<undefined>((r) => (t = setTimeout(() => r(undefined), ms)))])
}

export class Workload {
  readonly history = emptyHistory()
  /** Why sends failed, by error name. */
  readonly errors = new Map<string, number>()
  private stopping = false
  private readonly running: Array<Promise<void>> = []
  private readonly children: ChildProcess[] = []

  constructor(private readonly opts: WorkloadOptions) {}

  start(): void {
    for (let i = 0; i < this.opts.kafkajsProducers; i++) this.running.push(this.kafkajsProducer(`k${i}`))
    if (this.opts.librdkafkaRate > 0) this.running.push(this.librdkafkaProducer('r0'))
    this.running.push(this.librdkafkaConsumer())
  }

  /** Stops sending, waits for sends in flight to settle (or be abandoned), and stops the consumer. */
  async stop(): Promise<void> {
    this.stopping = true
    for (const c of this.children) c.stdin?.end()
    await Promise.all(this.running)
  }

  /** Runs librdkafka.py with `args` beside the rest of the workload, until the workload stops. */
  startPython(args: string[], onLine: (msg: Record<string, unknown>) => void): void {
    this.running.push(this.spawnPython(args, onLine))
  }

  countError(name: string): void {
    this.errors.set(name, (this.errors.get(name) ?? 0) + 1)
  }

  /**
   * One kafkajs producer after another: each sends batches of 1-3 values to a random partition,
   * awaiting each acknowledgement. After a failed send the producer is replaced (a new producer id),
   * so a client that gave up on a sequence number never reuses it for other values.
   */
  private async kafkajsProducer(label: string): Promise<void> {
    const { topic, partitions, random } = this.opts
    const kafka = new Kafka({ clientId: `chaos-${label}`, brokers: this.opts.bootstrap, logLevel: logLevel.NOTHING, connectionTimeout: 3000, requestTimeout: 10_000 })
    for (let gen = 0; !this.stopping; gen++) {
      const name = `${label}.${gen}`
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: { retries: 6, initialRetryTime: 200, maxRetryTime: 2000 } })
      const connected = await within(producer.connect().then(() => true, () => false), 30_000)
      if (connected !== true) {
        this.countError('kafkajs connect failed')
        void producer.disconnect().catch(() => {})
        await sleep(500)
        continue
      }
      for (let seq = 0; !this.stopping; ) {
        const partition = Math.floor(random() * partitions)
        const values: string[] = []
        for (let n = 1 + Math.floor(random() * 3); n > 0; n--, seq++) {
          const value = `${name}-${seq}`
          values.push(value)
          this.history.attempts.set(value, { producer: name, seq, partition })
        }
        let outcome: 'acked' | 'failed' | undefined
        const send = producer.send({ topic, acks: -1, timeout: 10_000, messages: values.map((value) => ({ partition, value })) }).then(
          (metadata) => {
            if (outcome !== undefined) return
            outcome = 'acked'
            const r = metadata.find((m) => m.partition === partition)!
            values.forEach((v, i) => this.history.acks.set(v, { partition: r.partition, offset: Number(r.baseOffset) + i }))
          },
          (err: Error & { type?: string }) => {
            if (outcome !== undefined) return
            outcome = 'failed'
            for (const v of values) this.history.failed.add(v)
            this.countError(`kafkajs ${err.type ?? err.name}`)
          },
        )
        await within(send, 60_000)
        if (outcome === undefined) {
          outcome = 'failed'
          for (const v of values) this.history.failed.add(v)
          this.countError('kafkajs send abandoned after 60 s')
        }
        if (outcome === 'failed') break
      }
      await within(producer.disconnect().catch(() => {}), 10_000)
    }
  }

  spawnPython(args: string[], onLine: (msg: Record<string, unknown>) => void): Promise<void> {
    const child = spawn(PYTHON, [path.join(here, 'librdkafka.py'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.children.push(child)
    let stderr = ''
    const log = createWriteStream(path.join(this.opts.logDir, `librdkafka-${args[0]}.log`), { flags: 'a' })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000)
      log.write(d)
    })
    child.on('close', () => log.end())
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        onLine(JSON.parse(line) as Record<string, unknown>)
      } catch {
        this.countError(`librdkafka output not JSON: ${line.slice(0, 80)}`)
      }
    })
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        if (this.stopping) {
          // Flushing has 30 s; after that the process is stopped and its sends stay unresolved.
          setTimeout(() => child.kill('SIGKILL'), 45_000).unref()
          clearInterval(timer)
        }
      }, 500)
      child.on('exit', (code, signal) => {
        clearInterval(timer)
        if (code !== 0) this.countError(`librdkafka ${args[0]} exited (${code ?? signal}): ${stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('%')).slice(-3).join(' | ')}`)
        resolve()
      })
    })
  }

  private librdkafkaProducer(label: string): Promise<void> {
    const { bootstrap, topic, partitions, librdkafkaRate } = this.opts
    return this.spawnPython(['produce', bootstrap.join(','), topic, String(partitions), String(librdkafkaRate), label], (m) => {
      if (typeof m.a === 'string') this.history.attempts.set(m.a, { producer: m.g as string, seq: m.s as number, partition: m.p as number, at: m.t as number })
      else if (typeof m.bump === 'string') this.history.epochBumps.set(m.bump, [...(this.history.epochBumps.get(m.bump) ?? []), m.t as number])
      else if (typeof m.k === 'string') this.history.acks.set(m.k, { partition: m.p as number, offset: typeof m.o === 'number' ? m.o : -1 })
      else if (typeof m.f === 'string') {
        this.history.failed.add(m.f)
        this.countError(`librdkafka ${m.e as string}`)
      } else if (typeof m.fatal === 'string') this.countError(`librdkafka fatal ${m.fatal}`)
    })
  }

  private librdkafkaConsumer(): Promise<void> {
    const { bootstrap, topic, partitions } = this.opts
    return this.spawnPython(['consume', bootstrap.join(','), topic, String(partitions)], (m) => {
      if (typeof m.v === 'string') this.history.liveReads.push([m.p as number, m.o as number, m.v])
      else if (typeof m.err === 'string') this.countError(`librdkafka consumer ${m.err}`)
    })
  }
}

/**
 * The records of one replica as its broker left them on disk (the broker stopped): every segment
 * of `dataDir/topic-partition`, in base-offset order, up to the last whole batch.
 */
export async function readReplicaLog(dataDir: string, topic: string, partition: number): Promise<Array<[number, string]>> {
  const dir = path.join(dataDir, `${topic}-${partition}`)
  const segments = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.log')).sort()
  const records: Array<[number, string]> = []
  for (const segment of segments) {
    const bytes = await readFile(path.join(dir, segment))
    // A batch is at least 61 bytes; its size is known from the first 12.
    for (let pos = 0; pos + 61 <= bytes.length; ) {
      const size = batchSizeAt(bytes, pos)
      if (size < 61 || pos + size > bytes.length) break
      for (const r of iterateRecords(bytes, pos)) records.push([Number(r.offset), Buffer.from(r.value!).toString()])
      pos += size
    }
  }
  return records
}
