// Kafka's ACL vocabulary, with the codes the wire protocol carries (org.apache.kafka.common.acl and
// org.apache.kafka.common.resource): resource types, pattern types, operations and permissions,
// which operations each resource type supports, and the implications between operations.

export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const

export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const

export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const

export const AclPermissionType = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const

/** The one cluster resource's name. */
export const CLUSTER_NAME = 'kafka-cluster'
/** A literal resource name or principal/host that matches every one. */
export const WILDCARD = '*'
export const WILDCARD_PRINCIPAL = 'User:*'

const { READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE } = AclOperation

/** Operations that may be granted on each resource type (Kafka's AclEntry.supportedOperations). */
export const SUPPORTED_OPERATIONS: Readonly<Record<number, readonly number[]>> = {
  [ResourceType.TOPIC]: [READ, WRITE, CREATE, DESCRIBE, DELETE, ALTER, DESCRIBE_CONFIGS, ALTER_CONFIGS],
  [ResourceType.GROUP]: [READ, DESCRIBE, DELETE, DESCRIBE_CONFIGS, ALTER_CONFIGS],
  [ResourceType.CLUSTER]: [CREATE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALTER, DESCRIBE],
  [ResourceType.TRANSACTIONAL_ID]: [DESCRIBE, WRITE],
  [ResourceType.DELEGATION_TOKEN]: [DESCRIBE],
  [ResourceType.USER]: [AclOperation.CREATE_TOKENS, AclOperation.DESCRIBE_TOKENS],
}

/**
 * Operations an ALLOW of `op` also grants: DESCRIBE comes with READ, WRITE, DELETE and ALTER;
 * DESCRIBE_CONFIGS with ALTER_CONFIGS; ALL grants everything.
 */
export function allowImplies(granted: number, requested: number): boolean {
  if (granted === AclOperation.ALL || granted === requested) return true
  if (requested === DESCRIBE) return granted === READ || granted === WRITE || granted === DELETE || granted === ALTER
  if (requested === DESCRIBE_CONFIGS) return granted === ALTER_CONFIGS
  return false
}

/** A DENY of `op` refuses `requested` (only the operation itself, or ALL). */
export function denyCovers(denied: number, requested: number): boolean {
  return denied === AclOperation.ALL || denied === requested
}

// ---- names, as kafka-acls.sh and Kafka's toString() spell them ----

const names = (o: Record<string, number>): Map<number, string> => new Map(Object.entries(o).map(([k, v]) => [v, k]))
const RESOURCE_NAMES = names(ResourceType)
const PATTERN_NAMES = names(PatternType)
const OPERATION_NAMES = names(AclOperation)
const PERMISSION_NAMES = names(AclPermissionType)

export const resourceTypeName = (code: number): string => RESOURCE_NAMES.get(code) ?? 'UNKNOWN'
export const patternTypeName = (code: number): string => PATTERN_NAMES.get(code) ?? 'UNKNOWN'
export const operationName = (code: number): string => OPERATION_NAMES.get(code) ?? 'UNKNOWN'
export const permissionTypeName = (code: number): string => PERMISSION_NAMES.get(code) ?? 'UNKNOWN'

/** Parses an operation as kafka-acls.sh takes it: `Read`, `IdempotentWrite`, `DESCRIBE_CONFIGS`. */
export function parseOperation(s: string): number | undefined {
  const key = s.replace(/([a-z])([A-Z])/g, '$1_$2').replace(/[-\s]/g, '_').toUpperCase()
  const code = (AclOperation as Record<string, number>)[key]
  return code === undefined || code === AclOperation.UNKNOWN ? undefined : code
}

export function parsePatternType(s: string): number | undefined {
  const code = (PatternType as Record<string, number>)[s.toUpperCase()]
  return code === undefined || code === PatternType.UNKNOWN ? undefined : code
}
