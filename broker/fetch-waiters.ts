// Long polling for Fetch: a fetch that found fewer than minBytes parks here until one of its
// partitions receives an append or its maxWaitMs passes. All parked fetches share one timer armed
// for the earliest deadline, so a busy broker does not create a timer per request. Shutdown closes
// the waiters: every parked fetch is released, and a fetch must not park again once `closed` is true
// (a wait then resolves at once, so a fetch that looped on it would spin until its deadline).
import type { PartitionLog } from '../storage/partition-log.js'

interface Waiter {
  deadline: number
  logs: readonly PartitionLog[]
  resolve: () => void
}

export class FetchWaiters {
  /**
   * Parked fetches per partition, keyed by the log object itself: a topic deleted and created again
   * under the same name gets new logs, which must get their own append subscription. Entries go
   * with their logs; the sets stay once created, since a partition fetched once is usually fetched
   * again.
   */
  private readonly byLog = new WeakMap<PartitionLog, Set<Waiter>>()
  private readonly all = new Set<Waiter>()
  private _closed = false
  private timer: NodeJS.Timeout | undefined
  private timerDeadline = Number.POSITIVE_INFINITY

  /** Resolves on the next append to any of `logs`, or after `maxWaitMs`. Never rejects. */
  wait(logs: readonly PartitionLog[], maxWaitMs: number): Promise<void> {
    return new Promise((resolve) => {
      // No logs (an empty fetch session) still waits out maxWaitMs, on the shared timer.
      if (maxWaitMs <= 0 || this._closed) {
        resolve()
        return
      }
      const waiter: Waiter = { deadline: Date.now() + maxWaitMs, logs, resolve }
      for (const log of logs) (this.byLog.get(log) ?? this.subscribe(log)).add(waiter)
      this.all.add(waiter)
      this.arm(waiter.deadline)
    })
  }

  /** The parked set of a log seen for the first time, released by each append to it. */
  private subscribe(log: PartitionLog): Set<Waiter> {
    const parked = new Set<Waiter>()
    this.byLog.set(log, parked)
    log.addAppendListener(() => {
      if (parked.size > 0) for (const w of [...parked]) this.finish(w)
    })
    return parked
  }

  /** Fetches parked now (Kafka's fetch purgatory size). */
  get parked(): number {
    return this.all.size
  }

  /** True once shut down: fetches answer with what they have instead of waiting. */
  get closed(): boolean {
    return this._closed
  }

  /** Releases every parked fetch now and lets none park again (shutdown). */
  close(): void {
    this._closed = true
    for (const w of [...this.all]) this.finish(w)
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  private finish(w: Waiter): void {
    if (!this.all.delete(w)) return
    for (const log of w.logs) this.byLog.get(log)?.delete(w)
    w.resolve()
  }

  private arm(deadline: number): void {
    if (deadline >= this.timerDeadline && this.timer) return
    if (this.timer) clearTimeout(this.timer)
    this.timerDeadline = deadline
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, deadline - Date.now()))
    this.timer.unref()
  }

  private onTimer(): void {
    this.timer = undefined
    this.timerDeadline = Number.POSITIVE_INFINITY
    const now = Date.now()
    let next = Number.POSITIVE_INFINITY
    for (const w of [...this.all]) {
      if (w.deadline <= now) this.finish(w)
      else if (w.deadline < next) next = w.deadline
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next)
  }
}
