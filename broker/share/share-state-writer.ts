// Persists share-partition states with group commit, as the log's appends share one fsync: every
// state changed while a write is in flight waits for the next one, which carries the latest
// snapshot of each (a later snapshot contains everything an earlier one did). A caller's promise
// resolves once a transaction holding its snapshot, or a later one, has committed; a failed commit
// rejects every caller whose snapshot it held, and the state stays pending for the next write.
import type { ShareStateRecord } from '../../storage/metadata-store.js'

/**
 * Where share-partition states are kept: the share coordinator (share-persister.ts), or any store
 * holding them all (listShareStates then names every one, and there is nothing to read).
 */
export interface ShareStateStore {
  writeShareStates(entries: ReadonlyMap<string, ShareStateRecord | null>): Promise<void>
  /** The states known at start. */
  listShareStates(): Array<{ key: string; value: ShareStateRecord }>
  /** A store that may hold more than it listed: each key's state, null when it has none. */
  readShareStates?(keys: readonly string[]): Promise<Map<string, ShareStateRecord | null>>
  /** Gives the keys without state an initial one (start offset -1, resolved by their leader). */
  initializeShareStates?(keys: readonly string[]): Promise<void>
}

interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
}

export class ShareStateWriter {
  private pending = new Map<string, ShareStateRecord | null>()
  private waiters: Waiter[] = []
  private writing: Promise<void> | null = null
  /** Transactions committed, for tests and metrics: fewer than writes when writes were grouped. */
  commits = 0

  constructor(private readonly store: ShareStateStore) {}

  /** Stores `value` under `key` (null deletes it); resolves once committed. */
  write(key: string, value: ShareStateRecord | null): Promise<void> {
    this.pending.set(key, value)
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }))
    if (this.writing === null) this.flush()
    return done
  }

  /** Resolves when nothing is pending or being written. */
  async idle(): Promise<void> {
    while (this.writing !== null) await this.writing.catch(() => {})
  }

  private flush(): void {
    const entries = this.pending
    const waiters = this.waiters
    this.pending = new Map()
    this.waiters = []
    this.writing = this.store.writeShareStates(entries).then(
      () => {
        this.commits++
        for (const w of waiters) w.resolve()
      },
      (err: unknown) => {
        // Not written: what is still newer stays pending; the rest goes back for the next write.
        for (const [k, v] of entries) if (!this.pending.has(k)) this.pending.set(k, v)
        for (const w of waiters) w.reject(err)
      },
    )
    this.writing.finally(() => {
      this.writing = null
      if (this.waiters.length > 0) this.flush()
    })
  }
}
