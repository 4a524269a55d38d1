// The ACL authorizer, as Kafka's StandardAuthorizer decides: super users may do anything; otherwise
// the bindings whose pattern matches the resource (LITERAL by name or the `*` wildcard, PREFIXED by
// prefix) and whose principal and host match the caller's (or are the `User:*` / `*` wildcards)
// decide, a DENY of the operation (or ALL) beating any ALLOW; an ALLOW grants the operations it
// implies (acl-types.ts). A resource with no binding at all is allowed only when
// allow.everyone.if.no.acl.found is true.
//
// Enforcement is on when authorizer.class.name names one of AUTHORIZER_CLASS_NAMES. Bindings live
// in the AclStore; a change there applies to the next request (the index is rebuilt lazily).
import type { AclBinding, AclStore } from '../../storage/acl-store.js'
import type { BrokerConfig } from '../config.js'
import {
  AclPermissionType,
  allowImplies,
  denyCovers,
  PatternType,
  SUPPORTED_OPERATIONS,
  WILDCARD,
  WILDCARD_PRINCIPAL,
} from './acl-types.js'

/**
 * Values of authorizer.class.name that switch enforcement on: Kafka's two authorizers, so a
 * server.properties written for Kafka carries over, and Samsa's own name for the same thing.
 */
export const AUTHORIZER_CLASS_NAMES: readonly string[] = [
  'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
  'kafka.security.authorizer.AclAuthorizer',
  'samsa.security.Authorizer',
]

/** Whether `className` (authorizer.class.name) turns ACLs on; throws for a name Samsa does not know. */
export function authorizerEnabled(className: string): boolean {
  if (className.trim() === '') return false
  if (AUTHORIZER_CLASS_NAMES.includes(className.trim())) return true
  throw new Error(`authorizer.class.name: unknown authorizer ${className}; use one of ${AUTHORIZER_CLASS_NAMES.join(', ')}`)
}

interface TypeIndex {
  literal: Map<string, AclBinding[]>
  prefixed: AclBinding[]
  all: AclBinding[]
}

export class Authorizer {
  private index = new Map<number, TypeIndex>()
  private indexedVersion = -1
  private superUsersText = ''
  private superUsers = new Set<string>()

  constructor(
    readonly store: AclStore,
    private readonly config: BrokerConfig,
  ) {}

  authorize(principal: string, host: string, op: number, resourceType: number, name: string): boolean {
    if (this.isSuperUser(principal)) return true
    const t = this.typeIndex(resourceType)
    let verdict = NO_ACL
    if (t !== undefined) {
      verdict = decide(t.literal.get(name), principal, host, op, verdict)
      if (name !== WILDCARD) verdict = decide(t.literal.get(WILDCARD), principal, host, op, verdict)
      for (let i = 0; i < t.prefixed.length && verdict !== DENIED; i++) {
        const b = t.prefixed[i]!
        if (name.startsWith(b.resourceName)) verdict = decideOne(b, principal, host, op, verdict)
      }
    }
    if (verdict === NO_ACL) return this.config.getBool('allow.everyone.if.no.acl.found')
    return verdict === ALLOWED
  }

  /**
   * Whether the caller may do `op` on at least one resource of the type (Kafka's
   * authorizeByResourceType): some ALLOW of it for the caller that no DENY of theirs covers.
   */
  authorizeByResourceType(principal: string, host: string, op: number, resourceType: number): boolean {
    if (this.isSuperUser(principal)) return true
    const t = this.typeIndex(resourceType)
    if (t === undefined) return this.config.getBool('allow.everyone.if.no.acl.found')
    const deniedLiteral = new Set<string>()
    const deniedPrefixes: string[] = []
    for (const b of t.all) {
      if (b.permissionType !== AclPermissionType.DENY || !denyCovers(b.operation, op) || !matchesCaller(b, principal, host)) continue
      if (b.patternType === PatternType.PREFIXED) deniedPrefixes.push(b.resourceName)
      else deniedLiteral.add(b.resourceName)
    }
    if (deniedLiteral.has(WILDCARD)) return false
    for (const b of t.all) {
      if (b.permissionType !== AclPermissionType.ALLOW || !allowImplies(b.operation, op) || !matchesCaller(b, principal, host)) continue
      if (deniedPrefixes.some((p) => b.resourceName.startsWith(p))) continue
      if (b.patternType === PatternType.LITERAL && deniedLiteral.has(b.resourceName)) continue
      return true
    }
    return false
  }

  /** The operations the caller may do on the resource, as the bitfield Kafka's responses carry. */
  authorizedOperations(principal: string, host: string, resourceType: number, name: string): number {
    let bits = 0
    for (const op of SUPPORTED_OPERATIONS[resourceType] ?? []) {
      if (this.authorize(principal, host, op, resourceType, name)) bits |= 1 << op
    }
    return bits
  }

  private isSuperUser(principal: string): boolean {
    const text = this.config.get('super.users')
    if (text !== this.superUsersText) {
      this.superUsersText = text
      this.superUsers = new Set(text.split(';').map((s) => s.trim()).filter((s) => s !== ''))
    }
    return this.superUsers.has(principal)
  }

  private typeIndex(resourceType: number): TypeIndex | undefined {
    if (this.indexedVersion !== this.store.version) {
      const index = new Map<number, TypeIndex>()
      for (const b of this.store.list()) {
        let t = index.get(b.resourceType)
        if (t === undefined) index.set(b.resourceType, (t = { literal: new Map(), prefixed: [], all: [] }))
        t.all.push(b)
        if (b.patternType === PatternType.PREFIXED) t.prefixed.push(b)
        else {
          const list = t.literal.get(b.resourceName)
          if (list === undefined) t.literal.set(b.resourceName, [b])
          else list.push(b)
        }
      }
      this.index = index
      this.indexedVersion = this.store.version
    }
    return this.index.get(resourceType)
  }
}

// What the bindings seen so far say: none applies to the resource; some do, none allows; one
// allows; one denies (final: a DENY wins).
const NO_ACL = 0
const NOT_ALLOWED = 1
const ALLOWED = 2
const DENIED = 3

function decide(list: readonly AclBinding[] | undefined, principal: string, host: string, op: number, verdict: number): number {
  if (list === undefined) return verdict
  for (let i = 0; i < list.length && verdict !== DENIED; i++) verdict = decideOne(list[i]!, principal, host, op, verdict)
  return verdict
}

function decideOne(b: AclBinding, principal: string, host: string, op: number, verdict: number): number {
  if (verdict === NO_ACL) verdict = NOT_ALLOWED
  if (!matchesCaller(b, principal, host)) return verdict
  if (b.permissionType === AclPermissionType.DENY) return denyCovers(b.operation, op) ? DENIED : verdict
  return allowImplies(b.operation, op) ? ALLOWED : verdict
}

function matchesCaller(b: AclBinding, principal: string, host: string): boolean {
  return (b.principal === principal || b.principal === WILDCARD_PRINCIPAL) && (b.host === host || b.host === WILDCARD)
}
