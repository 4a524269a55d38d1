// How busy the event loop has been lately: event-loop utilization (the share of time spent running
// callbacks rather than waiting for I/O), sampled at most every 100 ms. Work that can either run on
// the loop or be handed to the libuv pool uses it to choose: a lone request is served soonest on
// the loop, while a saturated loop gains from moving large copies to other cores.
import { performance, type EventLoopUtilization } from 'node:perf_hooks'

const SAMPLE_MS = 100
/** Utilization above which the loop counts as busy. */
export const BUSY_UTILIZATION = 0.75

let last: EventLoopUtilization = performance.eventLoopUtilization()
let lastAt = performance.now()
let busy = false
let forced: boolean | undefined

/** Pins the answer of loopIsBusy() (undefined: measure again), for tests of both code paths. */
export function forceLoopBusy(value: boolean | undefined): void {
  forced = value
}

/** True when the loop was busy over the last sample period (~100 ms). */
export function loopIsBusy(): boolean {
  if (forced !== undefined) return forced
  const now = performance.now()
  if (now - lastAt >= SAMPLE_MS) {
    const current = performance.eventLoopUtilization()
    busy = performance.eventLoopUtilization(current, last).utilization > BUSY_UTILIZATION
    last = current
    lastAt = now
  }
  return busy
}
