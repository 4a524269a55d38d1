// AdminState: the small documents that admin requests write and every request reads: the ACL
// bindings, the SCRAM credentials, each group's config overrides and the dynamic broker configs,
// each a JSON value under a key of metadata-keys.ts. A single broker keeps them in its metadata
// store (LocalAdminState, below); a cluster keeps them in etcd (broker/cluster/etcd-admin-state.ts)
// so that every broker reads the same ones.
//
// Reads are synchronous, from memory: authorization and logins consult them on every request.
// A change is a read-modify-write: `change` gets the current value and returns the next one
// (undefined deletes the key); where another writer can race, it may be called again with the value
// that writer left. Listeners hear of every key that changed, whoever changed it.
import type { MetadataStore } from './metadata-store.js'

export interface AdminState {
  get<T>(key: string): T | undefined
  /** Keys holding a value that start with `prefix`. */
  keys(prefix: string): string[]
  /** Commits change(current); resolves with the value stored. */
  update<T>(key: string, change: (current: T | undefined) => T | undefined): Promise<T | undefined>
  onChange(listener: (key: string) => void): void
  close(): Promise<void>
}

/** The metadata store's kv space. One process owns it; changes run one at a time, in order. */
export class LocalAdminState implements AdminState {
  private chain: Promise<unknown> = Promise.resolve()
  private readonly listeners: Array<(key: string) => void> = []

  constructor(private readonly metadata: MetadataStore) {}

  get<T>(key: string): T | undefined {
    return this.metadata.get<T>(key)
  }

  keys(prefix: string): string[] {
    return this.metadata.kvKeys(prefix)
  }

  update<T>(key: string, change: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    const run = this.chain.then(async () => {
      const current = this.metadata.get<T>(key)
      const next = change(current)
      if (sameValue(current, next)) return current
      if (next === undefined) await this.metadata.delete(key)
      else await this.metadata.put(key, next)
      for (const l of this.listeners) l(key)
      return next
    })
    this.chain = run.catch(() => undefined)
    return run
  }

  onChange(listener: (key: string) => void): void {
    this.listeners.push(listener)
  }

  async close(): Promise<void> {
    await this.chain
  }
}

/** Whether two JSON values are the same (a change that leaves a value as it was writes nothing). */
export function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b))
}
