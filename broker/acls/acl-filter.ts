// ACL filters (Kafka's AclBindingFilter) for DescribeAcls and DeleteAcls, and the checks a new
// binding must pass before CreateAcls stores it. A filter's null name, principal or host and its
// ANY codes match everything; pattern type MATCH finds the bindings that would apply to the named
// resource (literal by name or `*`, prefixed by prefix), ANY those with the name under any pattern.
import type { AclBinding } from '../../storage/acl-store.js'
import { AclOperation, AclPermissionType, CLUSTER_NAME, PatternType, ResourceType } from './acl-types.js'

export interface AclFilter {
  resourceType: number
  resourceName: string | null
  patternType: number
  principal: string | null
  host: string | null
  operation: number
  permissionType: number
}

/** Why the filter cannot be used, or undefined. */
export function invalidFilter(f: AclFilter): string | undefined {
  if (f.resourceType === ResourceType.UNKNOWN || !known(ResourceType, f.resourceType)) return 'Unknown resourceTypeFilter.'
  if (f.patternType === PatternType.UNKNOWN || !known(PatternType, f.patternType)) return 'Unknown patternTypeFilter.'
  if (f.operation === AclOperation.UNKNOWN || !known(AclOperation, f.operation)) return 'Unknown operationFilter.'
  if (f.permissionType === AclPermissionType.UNKNOWN || !known(AclPermissionType, f.permissionType)) return 'Unknown permissionTypeFilter.'
  return undefined
}

export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false
  if (!patternMatches(f, b)) return false
  if (f.principal !== null && f.principal !== b.principal) return false
  if (f.host !== null && f.host !== b.host) return false
  if (f.operation !== AclOperation.ANY && f.operation !== b.operation) return false
  return f.permissionType === AclPermissionType.ANY || f.permissionType === b.permissionType
}

function patternMatches(f: AclFilter, b: AclBinding): boolean {
  const name = f.resourceName
  switch (f.patternType) {
    case PatternType.ANY:
      return name === null || name === b.resourceName
    case PatternType.MATCH:
      if (name === null) return true
      if (b.patternType === PatternType.PREFIXED) return name.startsWith(b.resourceName)
      return b.resourceName === name || b.resourceName === '*'
    default:
      return f.patternType === b.patternType && (name === null || name === b.resourceName)
  }
}

/** Why CreateAcls must refuse the binding, or undefined (Kafka's AclControlManager checks). */
export function invalidBinding(b: AclBinding): string | undefined {
  if (!known(ResourceType, b.resourceType) || b.resourceType === ResourceType.ANY || b.resourceType === ResourceType.UNKNOWN) {
    return 'Invalid resourceType'
  }
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) return 'Invalid patternType'
  if (!known(AclOperation, b.operation) || b.operation === AclOperation.ANY || b.operation === AclOperation.UNKNOWN) return 'Invalid operation'
  if (b.permissionType !== AclPermissionType.ALLOW && b.permissionType !== AclPermissionType.DENY) return 'Invalid permissionType'
  if (b.resourceName === '') return 'Resource name should not be empty'
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME) {
    return `The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`
  }
  if (!/^[^:]+:.*$/.test(b.principal)) return `Could not parse principal from \`${b.principal}\` (no colon is present separating the principal type from the principal name)`
  if (b.host === '') return 'Invalid empty host'
  return undefined
}

function known(codes: Record<string, number>, code: number): boolean {
  return Object.values(codes).includes(code)
}
