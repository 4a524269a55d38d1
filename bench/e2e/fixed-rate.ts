// A fixed-rate publisher and a consumer that records how long each record took to arrive.
//
// Each record carries its intended send time (start + i / rate) as a float64 in its first 8 bytes.
// Latency is measured from that intended time, not from when the timer happened to fire, so a
// stalled sender shows up in the figures instead of silently lowering the rate (coordinated
// omission). Records due since the last tick go out together: at most one tick (~1 ms) of batching.
//
// Two ways to run it. `runFixedRateSplit` puts the producer and the consumer in child processes of
// their own (rate-producer.ts, rate-consumer.ts), stamping epoch milliseconds with sub-ms precision
// (performance.timeOrigin + performance.now(), one clock for every process on the machine), so
// neither end shares an event loop with the other or with the harness. `runFixedRate` keeps both in
// the calling process on performance.now(), for targets without a child-process driver.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import hdr from 'hdr-histogram-js'
import type { ClientSecurity } from '../../broker/client/connection.js'
import type { Percentiles } from './results.js'

/** A target as JSON, for a child process to open with rate-targets.ts (the harness prepared it). */
export type RateTargetSpec =
  | { system: 'samsa'; host: string; port: number; topic: string; partitions: number; recordBytes: number; acks: number; security?: ClientSecurity }
  | { system: 'redis'; port: number; streams: number; recordBytes: number }

export interface RateTarget {
  /** Publishes one record per entry of `due` (intended send times, ms); resolves when all are acknowledged. */
  publish(due: Float64Array): Promise<void>
  /** Starts delivering consumed records' stamps to `onStamp`; resolves once the consumer is positioned. */
  subscribe(onStamp: (stamp: number) => void): Promise<void>
  close(): Promise<void>
}

export interface FixedRateResult {
  sent: number
  acked: number
  /** Records whose publish was rejected, and the last rejection. */
  failed: number
  lastError: string
  received: number
  publishMs: Percentiles
  e2eMs: Percentiles
  achievedPerSec: number
  /** p99 event-loop delay of the harness process, ms: its own share of the tail when it measures. */
  harnessLoopDelayP99Ms: number
  /** Set when producer and consumer ran in their own processes: their p99 event-loop delays, ms. */
  producerLoopDelayP99Ms?: number
  consumerLoopDelayP99Ms?: number
}

/** What the producer child prints as its last stdout line. */
export interface ProducerReport {
  sent: number
  acked: number
  failed: number
  lastError: string
  publishMs: Percentiles
  loopDelayP99Ms: number
}

/** What the consumer child prints as its last stdout line. */
export interface ConsumerReport {
  received: number
  e2eMs: Percentiles
  loopDelayP99Ms: number
}

const MAX_PER_PUBLISH = 256

export type Histogram = ReturnType<typeof histogram>

export function histogram() {
  // Microsecond resolution up to 60 s.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
}

export function percentiles(h: Histogram): Percentiles {
  const ms = (us: number) => us / 1000
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    count: h.totalCount,
  }
}

/** Milliseconds to the histogram's microseconds, clamped into its range. */
export const toUs = (ms: number) => Math.max(1, Math.min(60_000_000, Math.round(ms * 1000)))

/** Epoch milliseconds with sub-millisecond precision; comparable across processes on one machine. */
export const epochNow = () => performance.timeOrigin + performance.now()

export function loopDelayMonitor() {
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  return { stopP99Ms: () => (h.disable(), h.percentile(99) / 1e6) }
}

/**
 * The publishing half: sends `ratePerSec` records for `seconds` on the `clock`, then waits up to
 * `drainMs` for outstanding acknowledgements. `onAcked` sees every acknowledged batch.
 */
/**
 * Publishes `ratePerSec` records for `warmupSeconds` and then for `seconds`. Warm-up records (JIT,
 * first segment and index pages, connection buffers) carry their intended time negated, so that
 * consumers skip them, and count in no figure.
 */
export async function publishAtRate(target: RateTarget, ratePerSec: number, seconds: number, drainMs: number, clock: () => number, onAcked: (acked: number) => void = () => {}, warmupSeconds = 0): Promise<Omit<ProducerReport, 'loopDelayP99Ms'>> {
  const pub = histogram()
  let next = 0
  let acked = 0
  let failed = 0
  let lastError = ''
  const warmup = Math.floor(ratePerSec * warmupSeconds)
  const total = warmup + Math.floor(ratePerSec * seconds)
  const start = clock() + 5
  const inflight = new Set<Promise<void>>()
  while (next < total) {
    const now = clock()
    // After a stall many records are due at once; cap one publish so a batch stays well under
    // the 1 MiB default message size limit of Kafka-compatible brokers. A batch never mixes
    // warm-up and measured records.
    const limit = next < warmup ? warmup : total
    const dueCount = Math.min(MAX_PER_PUBLISH, Math.min(limit, Math.floor(((now - start) / 1000) * ratePerSec)) - next)
    if (dueCount > 0) {
      const measured = next >= warmup
      const due = new Float64Array(dueCount)
      for (let i = 0; i < dueCount; i++) {
        const intended = start + ((next + i) * 1000) / ratePerSec
        due[i] = measured ? intended : -intended
      }
      next += dueCount
      const p = target.publish(due).then(
        () => {
          if (!measured) return
          const t = clock()
          acked += due.length
          for (let i = 0; i < due.length; i++) pub.recordValue(toUs(t - due[i]!))
          onAcked(acked)
        },
        (err: Error) => {
          if (measured) failed += due.length
          lastError = err.message
        },
      )
      inflight.add(p)
      void p.finally(() => inflight.delete(p))
    }
    if (dueCount < MAX_PER_PUBLISH) await new Promise((r) => setTimeout(r, 1))
  }
  const drainEnd = performance.now() + drainMs
  while (inflight.size > 0 && performance.now() < drainEnd) await new Promise((r) => setTimeout(r, 5))
  return { sent: total - warmup, acked, failed, lastError, publishMs: percentiles(pub) }
}

/** Producer and consumer in this process, on performance.now(). */
export async function runFixedRate(target: RateTarget, ratePerSec: number, seconds: number, drainMs = 5000, warmupSeconds = 0): Promise<FixedRateResult> {
  const e2e = histogram()
  let received = 0
  await target.subscribe((stamp) => {
    if (stamp < 0) return // warm-up
    received++
    e2e.recordValue(toUs(performance.now() - stamp))
  })
  const loop = loopDelayMonitor()
  const drainStart = performance.now()
  const p = await publishAtRate(target, ratePerSec, seconds, drainMs, () => performance.now(), undefined, warmupSeconds)
  const drainEnd = drainStart + (warmupSeconds + seconds) * 1000 + drainMs
  while (received < p.acked && performance.now() < drainEnd) await new Promise((r) => setTimeout(r, 5))
  const harnessLoopDelayP99Ms = loop.stopP99Ms()
  await target.close()
  return { ...p, received, e2eMs: percentiles(e2e), achievedPerSec: p.acked / seconds, harnessLoopDelayP99Ms }
}

const here = path.dirname(fileURLToPath(import.meta.url))

/** A child node process speaking one JSON line per message on stdout; stderr passes through. */
function child(script: string, arg: unknown) {
  // Single-threaded GC for the measuring processes too: on a small machine V8's GC helper threads
  // would compete with the system under test for the same cores.
  const proc = spawn(process.execPath, ['--single-threaded-gc', path.join(here, script), JSON.stringify(arg)], { stdio: ['pipe', 'pipe', 'inherit'] })
  let buf = ''
  const waiters: Array<(line: string) => void> = []
  const lines: string[] = []
  let exit: string | undefined
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      const w = waiters.shift()
      if (w) w(line)
      else lines.push(line)
    }
  })
  const failures: Array<(err: Error) => void> = []
  proc.once('exit', (code, signal) => {
    exit = `${script} exited (${code ?? signal})`
    for (const f of failures.splice(0)) f(new Error(exit))
  })
  return {
    proc,
    /** The next stdout line parsed as JSON; rejects if the child exits first or after `timeoutMs`. */
    next<T>(timeoutMs: number): Promise<T> {
      if (lines.length > 0) return Promise.resolve(JSON.parse(lines.shift()!) as T)
      if (exit) return Promise.reject(new Error(exit))
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${script}: no report within ${timeoutMs} ms`)), timeoutMs)
        failures.push((err) => (clearTimeout(timer), reject(err)))
        waiters.push((line) => {
          clearTimeout(timer)
          try {
            resolve(JSON.parse(line) as T)
          } catch (err) {
            reject(err as Error)
          }
        })
      })
    },
    kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    },
  }
}

export interface SplitArgs {
  spec: RateTargetSpec
  ratePerSec: number
  seconds: number
  /** Published first at the same rate and left out of every figure. */
  warmupSeconds: number
  drainMs: number
}

/**
 * Producer and consumer each in a child process. The consumer subscribes first and says so; the
 * producer then runs and reports; the consumer is told how many records were acknowledged and
 * reports once it has seen them all or the drain time runs out.
 */
export async function runFixedRateSplit(spec: RateTargetSpec, ratePerSec: number, seconds: number, drainMs = 5000, warmupSeconds = 0): Promise<FixedRateResult> {
  const args: SplitArgs = { spec, ratePerSec, seconds, warmupSeconds, drainMs }
  const consumer = child('rate-consumer.js', args)
  let producer: ReturnType<typeof child> | undefined
  try {
    await consumer.next<{ ready: true }>(20_000)
    const loop = loopDelayMonitor()
    producer = child('rate-producer.js', args)
    const p = await producer.next<ProducerReport>((warmupSeconds + seconds) * 1000 + drainMs + 20_000)
    consumer.proc.stdin!.end(JSON.stringify({ acked: p.acked }) + '\n')
    const c = await consumer.next<ConsumerReport>(drainMs + 10_000)
    return {
      sent: p.sent, acked: p.acked, failed: p.failed, lastError: p.lastError, received: c.received,
      publishMs: p.publishMs, e2eMs: c.e2eMs, achievedPerSec: p.acked / seconds,
      harnessLoopDelayP99Ms: loop.stopP99Ms(), producerLoopDelayP99Ms: p.loopDelayP99Ms, consumerLoopDelayP99Ms: c.loopDelayP99Ms,
    }
  } finally {
    producer?.kill()
    consumer.kill()
  }
}

/** Writes the stamp into the first 8 bytes of `value`. */
export function stamp(value: Buffer, t: number): void {
  value.writeDoubleLE(t, 0)
}

const stampBytes = new Uint8Array(8)
const stampFloat = new Float64Array(stampBytes.buffer)

/** Reads a stamp written by `stamp` (little-endian float64) without allocating. */
export function readStamp(value: Uint8Array, pos = 0): number {
  for (let i = 0; i < 8; i++) stampBytes[i] = value[pos + i]!
  return stampFloat[0]!
}
