// A fixed-rate publisher with a consumer in the same process, so both ends read one clock.
//
// Each record carries its intended send time (start + i / rate) as a float64 in its first 8 bytes.
// Latency is measured from that intended time, not from when the timer happened to fire, so a
// stalled sender shows up in the figures instead of silently lowering the rate (coordinated
// omission). Records due since the last tick go out together: at most one tick (~1 ms) of batching.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import hdr from 'hdr-histogram-js'
import type { Percentiles } from './results.js'

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
  /** p99 event-loop delay of this (the measuring) process, ms: the harness's own share of the tail. */
  harnessLoopDelayP99Ms: number
}

const MAX_PER_PUBLISH = 256

function histogram() {
  // Microsecond resolution up to 60 s.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
}

function percentiles(h: ReturnType<typeof histogram>): Percentiles {
  const ms = (us: number) => us / 1000
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    count: h.totalCount,
  }
}

export async function runFixedRate(target: RateTarget, ratePerSec: number, seconds: number, drainMs = 5000): Promise<FixedRateResult> {
  const pub = histogram()
  const e2e = histogram()
  let received = 0
  let sent = 0
  let acked = 0
  let failed = 0
  let lastError = ''
  const toUs = (ms: number) => Math.max(1, Math.min(60_000_000, Math.round(ms * 1000)))
  await target.subscribe((stamp) => {
    received++
    e2e.recordValue(toUs(performance.now() - stamp))
  })
  const loopDelay = monitorEventLoopDelay({ resolution: 1 })
  loopDelay.enable()
  const total = Math.floor(ratePerSec * seconds)
  const start = performance.now() + 5
  const inflight = new Set<Promise<void>>()
  while (sent < total) {
    const now = performance.now()
    // After a stall many records are due at once; cap one publish so a batch stays well under
    // the 1 MiB default message size limit of Kafka-compatible brokers.
    const dueCount = Math.min(MAX_PER_PUBLISH, Math.min(total, Math.floor(((now - start) / 1000) * ratePerSec)) - sent)
    if (dueCount > 0) {
      const due = new Float64Array(dueCount)
      for (let i = 0; i < dueCount; i++) due[i] = start + ((sent + i) * 1000) / ratePerSec
      sent += dueCount
      const p = target.publish(due).then(
        () => {
          const t = performance.now()
          acked += due.length
          for (let i = 0; i < due.length; i++) pub.recordValue(toUs(t - due[i]!))
        },
        (err: Error) => {
          failed += due.length
          lastError = err.message
        },
      )
      inflight.add(p)
      void p.finally(() => inflight.delete(p))
    }
    if (dueCount < MAX_PER_PUBLISH) await new Promise((r) => setTimeout(r, 1))
  }
  const drainEnd = performance.now() + drainMs
  while ((inflight.size > 0 || received < acked) && performance.now() < drainEnd) {
    await new Promise((r) => setTimeout(r, 5))
  }
  loopDelay.disable()
  await target.close()
  return { sent, acked, failed, lastError, received, publishMs: percentiles(pub), e2eMs: percentiles(e2e), achievedPerSec: acked / seconds, harnessLoopDelayP99Ms: loopDelay.percentile(99) / 1e6 }
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
