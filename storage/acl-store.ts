// AclStore: the ACL bindings, kept in the admin state under ACLS_KEY as one array (an ACL list is
// small: a few hundred bindings is a large deployment). Bindings are plain records with Kafka's
// codes; what they mean is the authorizer's business. Every change is committed before it
// resolves, and `version` moves with every change, made here or (in a cluster) through another
// broker, so readers that index the list know to rebuild.
import type { AdminState } from './admin-state.js'
import { ACLS_KEY } from './metadata-keys.js'

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
  private bindings: readonly AclBinding[] = []
  /** Moves on every change. */
  version = 0

  constructor(private readonly state: AdminState) {
    this.reload()
    state.onChange((key) => {
      if (key === ACLS_KEY) this.reload()
    })
  }

  list(): readonly AclBinding[] {
    return this.bindings
  }

  /** Adds the bindings not already present. */
  async add(bindings: readonly AclBinding[]): Promise<void> {
    if (bindings.length === 0) return
    await this.state.update<AclBinding[]>(ACLS_KEY, (current = []) => {
      const next = [...current]
      const seen = new Set(current.map(bindingKey))
      for (const b of bindings) {
        const k = bindingKey(b)
        if (seen.has(k)) continue
        seen.add(k)
        next.push({ ...b })
      }
      return next
    })
  }

  /** Removes every binding for which `victim` is true; returns the removed ones. */
  async remove(victim: (b: AclBinding) => boolean): Promise<AclBinding[]> {
    let removed: AclBinding[] = []
    await this.state.update<AclBinding[]>(ACLS_KEY, (current = []) => {
      // Called again when another broker changed the list meanwhile: count only the last pass.
      removed = []
      return current.filter((b) => (victim(b) ? (removed.push(b), false) : true))
    })
    return removed
  }

  private reload(): void {
    this.bindings = Object.freeze((this.state.get<AclBinding[]>(ACLS_KEY) ?? []).map((b) => Object.freeze({ ...b })))
    this.version++
  }
}

function bindingKey(b: AclBinding): string {
  return JSON.stringify([b.resourceType, b.resourceName, b.patternType, b.principal, b.host, b.operation, b.permissionType])
}
