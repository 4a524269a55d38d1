// Share groups (KIP-932) as a work queue, next to a classic consumer group and next to RabbitMQ.
//
// Throughput: a backlog of `records` 1 KiB records on one partition, consumed by a share group of
// 1, 4 and 16 members (the project's ShareConsumer, explicit acknowledgement, every record
// accepted), each run a fresh group from the earliest offset; next to a classic group of 16
// members on a 16-partition topic holding the same number of records; and RabbitMQ (when
// installed) with a durable queue holding the same records, persistent, refilled before each run,
// consumed by 1, 4 and 16 consumers with manual acks. Records/s from the first record any
// consumer received to the last (so group joining before the first delivery is not counted; the
// time from "go" to the first record is in the row's note).
//
// Work-queue latency: a producer in the harness process at a fixed `rate` of 1 KiB records, each
// stamped with its intended send time (Samsa: acks=all, which fsyncs; RabbitMQ: persistent with
// publisher confirms), 4 consumers in processes of their own acknowledging every record. The
// end-to-end column is stamp -> ack: Samsa's ack time is when the ShareAcknowledge answer arrived
// (commitSync after each poll); RabbitMQ's is when basic.ack was handed to the socket (AMQP 0-9-1
// does not confirm consumer acks). Stamp -> delivery is in the note.
//
// Consumers run in child processes (share-worker.ts), at most 4, each consumer with its own
// connections: 16 consumers are 4 processes of 4. On a 2-core machine 4 processes already
// oversubscribe the cores the broker needs, which weighs on both systems alike.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { AdminClient, AlterConfigOp, ConfigResourceType } from '../../broker/client/admin-client.js'
import { epochNow, histogram, percentiles, publishAtRate, toUs, type RateTarget } from './fixed-rate.js'
import { ProcSampler, stopService, type ResourceUsage } from './procs.js'
import { declareQueue, fillQueue, rabbitAvailable, rabbitRateTarget, startRabbit } from './rabbitmq.js'
import { MiB, type Percentiles, type Row } from './results.js'
import { createTopic, SAMSA_CLI, samsaRateTarget, startSamsa, wireProduce, type SamsaServer } from './samsa.js'
import type { ShareWorkerArgs, ShareWorkerReport } from './share-worker.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const RECORD_BYTES = 1024
const CONSUMER_COUNTS = [1, 4, 16] as const
const CLASSIC_PARTITIONS = 16
const LATENCY_CONSUMERS = 4
const MAX_PROCESSES = 4
/** Records per ShareFetch (Kafka's max.poll.records default) and RabbitMQ's prefetch per consumer. */
const BATCH = 500
const RUN_TIMEOUT_MS = 180_000

export interface ShareSettings {
  records: number
  rate: number
  latencySeconds: number
  warmupSeconds: number
  /** Another build's dist/cli/main.js: its share-group runs go first, as system 'Samsa (baseline)'. */
  baselineCli?: string
}

export interface ShareContext {
  progress(msg: string): void
  skipped: string[]
  stops: Array<() => Promise<void>>
  rows: Row[]
}

interface ConsumeResult {
  records: number
  batches: number
  seconds: number
  firstRecordMs: number
  deliverMs: number[]
  ackMs: number[]
  loopDelayP99Ms: number
  errors: string[]
}

export async function benchShare(work: string, s: ShareSettings, ctx: ShareContext): Promise<void> {
  if (s.baselineCli !== undefined) await benchSamsaShare(work, s, ctx, { system: BASELINE, cli: s.baselineCli, classic: false })
  await benchSamsaShare(work, s, ctx, { system: 'Samsa', cli: SAMSA_CLI, classic: true })
  const missing = await rabbitAvailable()
  if (missing) {
    ctx.skipped.push(`RabbitMQ: ${missing}`)
    return
  }
  await benchRabbit(work, s, ctx)
}

/** The system name of rows measured against --share-baseline's build. */
export const BASELINE = 'Samsa (baseline)'

interface SamsaBuild {
  system: string
  cli: string
  /** Whether to measure the classic group too (the same for both builds). */
  classic: boolean
}

async function benchSamsaShare(work: string, s: ShareSettings, ctx: ShareContext, build: SamsaBuild): Promise<void> {
  const samsa = await startSamsa(mkdtempSync(path.join(work, 'samsa-share-')), [], {}, undefined, undefined, build.cli)
  ctx.stops.push(() => stopService(samsa.service.child))
  const pid = samsa.service.pid
  const address = `${samsa.host}:${samsa.port}`
  const admin = new AdminClient({ bootstrap: [address] })
  const earliest = (group: string) => admin.incrementalAlterConfigs({ type: ConfigResourceType.Group, name: group }, [{ name: 'share.auto.offset.reset', op: AlterConfigOp.Set, value: 'earliest' }])
  try {
    // Latency first, on a fresh broker.
    await createTopic(samsa, 'work-latency', 1)
    await earliest('share-latency')
    const target = await samsaRateTarget(samsa, 'work-latency', 1, RECORD_BYTES, -1)
    await latencyRun(ctx, build.system, 'samsa ShareConsumer, explicit accept + commitSync', 'acks=all (fsync); ack = ShareAcknowledge answered', pid, target, { kind: 'share', consumers: LATENCY_CONSUMERS, address, source: 'work-latency', group: 'share-latency', latency: true, batch: BATCH }, s)

    ctx.progress(`share: writing ${s.records.toLocaleString('en-US')} records of 1 KiB to a 1-partition topic and to a ${CLASSIC_PARTITIONS}-partition topic...`)
    await createTopic(samsa, 'work-1', 1)
    await createTopic(samsa, 'work-16', CLASSIC_PARTITIONS)
    const load = { connections: 4, depth: 8, batchBytes: 64 * 1024 }
    const one = await wireProduce(samsa, 'work-1', 1, RECORD_BYTES, 1, 300, load, s.records)
    const sixteen = await wireProduce(samsa, 'work-16', CLASSIC_PARTITIONS, RECORD_BYTES, 1, 300, load, s.records)
    for (const n of CONSUMER_COUNTS) {
      const group = `share-${n}`
      await earliest(group)
      await throughputRun(ctx, build.system, `samsa ShareConsumer x ${n}, explicit accept`, `share group, 1 partition, ${n} consumers`, pid, { kind: 'share', consumers: n, address, source: 'work-1', group, latency: false, batch: BATCH }, one.records)
    }
    if (build.classic) await throughputRun(ctx, build.system, `samsa Consumer x ${CLASSIC_PARTITIONS}, classic group (range)`, `classic group, ${CLASSIC_PARTITIONS} partitions, ${CLASSIC_PARTITIONS} consumers`, pid, { kind: 'classic', consumers: CLASSIC_PARTITIONS, address, source: 'work-16', group: 'classic-16', latency: false, batch: BATCH }, sixteen.records)
  } finally {
    await admin.close()
    await stopService(samsa.service.child)
  }
}

async function benchRabbit(work: string, s: ShareSettings, ctx: ShareContext): Promise<void> {
  ctx.progress('rabbitmq: starting a node...')
  let rabbit: Awaited<ReturnType<typeof startRabbit>>
  try {
    rabbit = await startRabbit(mkdtempSync(path.join(work, 'rabbitmq-')))
  } catch (err) {
    ctx.skipped.push(`RabbitMQ: could not start: ${(err as Error).message.split('\n')[0]}`)
    return
  }
  ctx.stops.push(() => rabbit.stop())
  const durability = 'durable queue, persistent, publisher confirms'
  try {
    await declareQueue(rabbit.url, 'work-latency')
    const target = await rabbitRateTarget(rabbit.url, 'work-latency', RECORD_BYTES)
    await latencyRun(ctx, 'RabbitMQ', `amqplib, prefetch ${BATCH}, manual ack`, `${durability}; ack = basic.ack written`, rabbit.pid, target, { kind: 'amqp', consumers: LATENCY_CONSUMERS, address: rabbit.url, source: 'work-latency', group: '', latency: true, batch: BATCH }, s)
    for (const n of CONSUMER_COUNTS) {
      const queue = `work-${n}`
      await declareQueue(rabbit.url, queue)
      ctx.progress(`rabbitmq: publishing ${s.records.toLocaleString('en-US')} persistent records of 1 KiB to ${queue} (confirms)...`)
      const fill = await fillQueue(rabbit.url, queue, s.records, RECORD_BYTES)
      await throughputRun(ctx, 'RabbitMQ', `amqplib x ${n}, prefetch ${BATCH}, manual ack`, `${durability}, ${n} consumers`, rabbit.pid, { kind: 'amqp', consumers: n, address: rabbit.url, source: queue, group: '', latency: false, batch: BATCH }, fill.records, `filled at ${Math.round(fill.records / fill.seconds).toLocaleString('en-US')} records/s`)
    }
  } finally {
    await rabbit.stop()
  }
}

async function throughputRun(ctx: ShareContext, system: string, client: string, durability: string, pid: number, args: ShareWorkerArgs, expected: number, extraNote?: string): Promise<void> {
  ctx.progress(`${system}: ${client}, ${expected.toLocaleString('en-US')} records...`)
  const sampler = new ProcSampler(pid).start()
  let r: ConsumeResult
  try {
    r = await consume(args, expected)
  } catch (err) {
    sampler.stop()
    ctx.skipped.push(`${system} ${client}: ${(err as Error).message.split('\n')[0]}`)
    ctx.progress(`  failed: ${(err as Error).message}`)
    return
  }
  const server = sampler.stop()
  const perSec = r.seconds > 0 ? r.records / r.seconds : 0
  const perBatch = args.kind === 'amqp' ? '' : `; ${(r.records / Math.max(1, r.batches)).toFixed(0)} records per poll`
  const notes = [`${processesFor(args.consumers)} consumer processes${perBatch}; first record ${(r.firstRecordMs / 1000).toFixed(2)} s after the start; consumer event-loop delay p99 ${r.loopDelayP99Ms.toFixed(1)} ms`]
  if (r.records < expected) notes.push(`only ${r.records} of ${expected} records consumed in ${RUN_TIMEOUT_MS / 1000} s`)
  if (r.records > expected) notes.push(`${r.records - expected} records delivered twice`)
  if (r.errors.length > 0) notes.push(`errors: ${r.errors.join('; ')}`)
  if (extraNote) notes.push(extraNote)
  ctx.rows.push({ system, client, workload: 'work-queue-1k', recordBytes: RECORD_BYTES, durability, recordsPerSec: perSec, mibPerSec: (perSec * RECORD_BYTES) / MiB, server, note: notes.join('; ') })
  ctx.progress(`  ${Math.round(perSec).toLocaleString('en-US')} records/s (${r.records} in ${r.seconds.toFixed(2)} s), server CPU ${server.cpuPct.toFixed(0)}%`)
}

async function latencyRun(ctx: ShareContext, system: string, client: string, durability: string, pid: number, target: RateTarget, args: ShareWorkerArgs, s: ShareSettings): Promise<void> {
  ctx.progress(`${system}: work-queue latency at ${s.rate}/s, ${LATENCY_CONSUMERS} consumers, ${s.warmupSeconds} s warm-up + ${s.latencySeconds} s...`)
  const total = Math.floor(s.rate * (s.warmupSeconds + s.latencySeconds))
  const sampler = new ProcSampler(pid).start()
  let published: Awaited<ReturnType<typeof publishAtRate>> | undefined
  let r: ConsumeResult
  try {
    r = await consume(args, total, async () => {
      published = await publishAtRate(target, s.rate, s.latencySeconds, 10_000, epochNow, () => {}, s.warmupSeconds)
    })
  } catch (err) {
    sampler.stop()
    ctx.skipped.push(`${system} work-queue latency: ${(err as Error).message.split('\n')[0]}`)
    ctx.progress(`  failed: ${(err as Error).message}`)
    return
  } finally {
    await target.close()
  }
  const server = sampler.stop()
  const ack = hist(r.ackMs)
  const deliver = hist(r.deliverMs)
  const notes = [`end-to-end = stamp to ack; stamp to delivery p50 / p99 / p99.9 ${deliver.p50.toFixed(2)} / ${deliver.p99.toFixed(2)} / ${deliver.p999.toFixed(2)} ms`, `${LATENCY_CONSUMERS} consumers in ${processesFor(LATENCY_CONSUMERS)} processes, event-loop delay p99 ${r.loopDelayP99Ms.toFixed(1)} ms`]
  if (published && published.failed > 0) notes.push(`${published.failed} publishes failed (${published.lastError})`)
  if (r.records < total) notes.push(`${total - r.records} of ${total} records not consumed in time`)
  if (r.errors.length > 0) notes.push(`errors: ${r.errors.join('; ')}`)
  ctx.rows.push({ system, client, workload: `work-queue-latency-${s.rate / 1000}k`, recordBytes: RECORD_BYTES, durability, recordsPerSec: s.rate, mibPerSec: (s.rate * RECORD_BYTES) / MiB, publishMs: published?.publishMs, e2eMs: ack, server, note: notes.join('; ') })
  ctx.progress(`  publish p99 ${published?.publishMs.p99.toFixed(2)} ms; publish -> ack p50 ${ack.p50.toFixed(2)} p99 ${ack.p99.toFixed(2)} ms; -> delivery p50 ${deliver.p50.toFixed(2)} p99 ${deliver.p99.toFixed(2)} ms`)
}

function hist(values: number[]): Percentiles {
  const h = histogram()
  for (const v of values) h.recordValue(toUs(v))
  return percentiles(h)
}

const processesFor = (consumers: number) => Math.min(consumers, MAX_PROCESSES)

/**
 * Starts the worker processes, lets them go together, runs `during` (the latency run's producer),
 * and stops them once `expected` records were consumed (or the run times out).
 */
async function consume(args: ShareWorkerArgs, expected: number, during?: () => Promise<void>): Promise<ConsumeResult> {
  const procs = processesFor(args.consumers)
  const workers: Worker[] = []
  try {
    for (let i = 0; i < procs; i++) {
      const consumers = Math.floor(args.consumers / procs) + (i < args.consumers % procs ? 1 : 0)
      workers.push(new Worker({ ...args, consumers }))
    }
    await Promise.all(workers.map((w) => w.ready))
    const go = epochNow()
    for (const w of workers) w.send('go')
    const deadline = performance.now() + RUN_TIMEOUT_MS
    const producing = during?.()
    while (workers.reduce((a, w) => a + w.count, 0) < expected && performance.now() < deadline && workers.every((w) => w.alive)) await new Promise((r) => setTimeout(r, 20))
    await producing
    // The last progress line may trail the count by 100 ms; stopping reports exact counts.
    for (const w of workers) w.send('stop')
    const reports = await Promise.all(workers.map((w) => w.report))
    // A process whose consumers got nothing sent no first time (JSON has no Infinity).
    const active = reports.filter((r) => r.count > 0)
    const first = Math.min(...active.map((r) => r.firstMs))
    const last = Math.max(...active.map((r) => r.lastMs))
    return {
      records: reports.reduce((a, r) => a + r.count, 0),
      batches: reports.reduce((a, r) => a + r.batches, 0),
      seconds: Number.isFinite(first) ? (last - first) / 1000 : 0,
      firstRecordMs: Number.isFinite(first) ? first - go : NaN,
      deliverMs: reports.flatMap((r) => r.deliverMs),
      ackMs: reports.flatMap((r) => r.ackMs),
      loopDelayP99Ms: Math.max(...reports.map((r) => r.loopDelayP99Ms)),
      errors: reports.flatMap((r) => r.errors),
    }
  } finally {
    for (const w of workers) w.kill()
  }
}

class Worker {
  readonly child: ChildProcess
  readonly ready: Promise<void>
  readonly report: Promise<ShareWorkerReport>
  count = 0
  alive = true

  constructor(args: ShareWorkerArgs) {
    this.child = spawn(process.execPath, ['--single-threaded-gc', path.join(here, 'share-worker.js'), JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'inherit'] })
    let buf = ''
    let onReady: () => void = () => {}
    let onReport: (r: ShareWorkerReport) => void = () => {}
    let fail: (err: Error) => void = () => {}
    this.ready = new Promise((resolve, reject) => ((onReady = resolve), (fail = reject)))
    this.report = new Promise((resolve, reject) => {
      onReport = resolve
      const prev = fail
      fail = (err) => (prev(err), reject(err))
    })
    this.report.catch(() => {})
    this.child.stdout!.setEncoding('utf8')
    this.child.stdout!.on('data', (d: string) => {
      buf += d
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as { ready?: boolean; n?: number } & Partial<ShareWorkerReport>
        buf = buf.slice(nl + 1)
        if (line.ready) onReady()
        else if (line.n !== undefined) this.count = line.n
        else if (line.count !== undefined) onReport(line as ShareWorkerReport)
      }
    })
    this.child.once('exit', (code, signal) => {
      this.alive = false
      fail(new Error(`consumer process exited (${code ?? signal})`))
    })
  }

  send(line: string): void {
    if (this.alive) this.child.stdin!.write(line + '\n')
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL')
  }
}
