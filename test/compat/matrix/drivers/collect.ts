// Gathers records a push-style consumer delivers until enough have arrived.
import type { SeenRecord } from '../client-ops.js'
import { DEFAULT_OP_TIMEOUT_MS } from '../client-ops.js'

export class Collector {
  readonly records: SeenRecord[] = []
  private wake: (() => void) | null = null
  private failure: Error | null = null

  push(r: SeenRecord): void {
    this.records.push(r)
    this.wake?.()
  }

  /** A client error ends the wait early with that error. */
  fail(err: unknown): void {
    this.failure = err instanceof Error ? err : new Error(String(err))
    this.wake?.()
  }

  /** Resolves once `count` records arrived; rejects with what was seen when time runs out. */
  async until(count: number, what: string, timeoutMs = DEFAULT_OP_TIMEOUT_MS): Promise<SeenRecord[]> {
    const deadline = Date.now() + timeoutMs
    while (this.records.length < count && !this.failure) {
      const left = deadline - Date.now()
      if (left <= 0) break
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.wake = () => {
          clearTimeout(t)
          resolve()
        }
      })
      this.wake = null
    }
    if (this.failure) throw this.failure
    if (this.records.length < count) {
      throw new Error(`${what}: ${this.records.length} of ${count} records within ${timeoutMs} ms (offsets ${this.records.map((r) => r.offset).join(',') || 'none'})`)
    }
    return this.records
  }
}
