// Long polling for Fetch: a fetch that found fewer than minBytes parks here until one of its
// partitions receives an append or its maxWaitMs passes. All parked fetches share one timer armed
// for the earliest deadline, so a busy broker does not create a timer per request.
import type { PartitionLog } from '../storage/partition-log.js'

interface Waiter {
  deadline: number
  keys: string[]
  resolve: () => void
}

export class FetchWaiters {
  private readonly byPartition = new Map<string, Set<Waiter>>()
  private readonly subscriptions = new Map<string, () => void>()
  private readonly all = new Set<Waiter>()
  private timer: NodeJS.Timeout | undefined
  private timerDeadline = Number.POSITIVE_INFINITY

  /** Resolves on the next append to any of `logs`, or after `maxWaitMs`. Never rejects. */
  wait(logs: readonly PartitionLog[], maxWaitMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (maxWaitMs <= 0 || logs.length === 0) {
        resolve()
        return
      }
      const waiter: Waiter = { deadline: Date.now() + maxWaitMs, keys: [], resolve }
      for (const log of logs) {
        const key = `${log.topic}\u0000${log.partition}`
        waiter.keys.push(key)
        let set = this.byPartition.get(key)
        if (!set) {
          set = new Set()
          this.byPartition.set(key, set)
        }
        set.add(waiter)
        if (!this.subscriptions.has(key)) {
          this.subscriptions.set(key, log.addAppendListener(() => this.wake(key)))
        }
      }
      this.all.add(waiter)
      this.arm(waiter.deadline)
    })
  }

  /** Releases every parked fetch now (shutdown). */
  wakeAll(): void {
    for (const w of [...this.all]) this.finish(w)
  }

  close(): void {
    this.wakeAll()
    for (const unsubscribe of this.subscriptions.values()) unsubscribe()
    this.subscriptions.clear()
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  private wake(key: string): void {
    const set = this.byPartition.get(key)
    if (!set || set.size === 0) return
    for (const w of [...set]) this.finish(w)
  }

  private finish(w: Waiter): void {
    if (!this.all.delete(w)) return
    for (const key of w.keys) {
      const set = this.byPartition.get(key)
      if (!set) continue
      set.delete(w)
      if (set.size === 0) {
        this.byPartition.delete(key)
        // Keep the append subscription: partitions that are fetched once are usually fetched again.
      }
    }
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
