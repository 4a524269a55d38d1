// AclStore: the ACL bindings, kept in the metadata store's kv space under ACLS_KEY as one array
// (an ACL list is small: a few hundred bindings is a large deployment). Bindings are plain records
// with Kafka's codes; what they mean is the authorizer's business. Every change is committed before
// it resolves, and `version` moves with it so readers that index the list know to rebuild.
//
// Concurrency: one process owns the store; changes run one at a time in the order they are made.
import { ACLS_KEY } from './metadata-keys.js'
import type { MetadataStore } from './metadata-store.js'

export interface AclBinding {
  resourceType: number
  resourceName: string
  patternType: number
  principal: string
  host: string
  operation: number
  permissionType: number
}

export class AclStore {
  private bindings: readonly AclBinding[]
  private chain: Promise<unknown> = Promise.resolve()
  /** Moves on every change. */
  version = 0

  constructor(private readonly metadata: MetadataStore) {
    this.bindings = Object.freeze((metadata.get<AclBinding[]>(ACLS_KEY) ?? []).map((b) => Object.freeze({ ...b })))
  }

  list(): readonly AclBinding[] {
    return this.bindings
  }

  /** Adds the bindings not already present; returns them in the order given. */
  add(bindings: readonly AclBinding[]): Promise<void> {
    return this.change((current) => {
      const next = [...current]
      const seen = new Set(current.map(bindingKey))
      for (const b of bindings) {
        const k = bindingKey(b)
        if (seen.has(k)) continue
        seen.add(k)
        next.push(Object.freeze({ ...b }))
      }
      return next
    })
  }

  /** Removes every binding for which `victim` is true; returns the removed ones. */
  async remove(victim: (b: AclBinding) => boolean): Promise<AclBinding[]> {
    const removed: AclBinding[] = []
    await this.change((current) => current.filter((b) => (victim(b) ? (removed.push(b), false) : true)))
    return removed
  }

  private change(f: (current: readonly AclBinding[]) => readonly AclBinding[]): Promise<void> {
    const run = this.chain.then(async () => {
      const next = Object.freeze(f(this.bindings))
      if (next.length === this.bindings.length && next.every((b, i) => b === this.bindings[i])) return
      await this.metadata.put(ACLS_KEY, next)
      this.bindings = next
      this.version++
    })
    this.chain = run.catch(() => undefined)
    return run
  }
}

function bindingKey(b: AclBinding): string {
  return JSON.stringify([b.resourceType, b.resourceName, b.patternType, b.principal, b.host, b.operation, b.permissionType])
}
