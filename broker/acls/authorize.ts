// What handlers call to check a request against the ACLs (Kafka's AuthHelper): each answers for the
// request's principal and client host, and allows everything when no authorizer is configured.
import { ErrorCode } from '../../protocol/errors.js'
import type { RequestContext } from '../handler.js'
import { AclOperation, CLUSTER_NAME, ResourceType, SUPPORTED_OPERATIONS } from './acl-types.js'

export { AclOperation as Op, ResourceType as Resource } from './acl-types.js'

/** May the caller do `op` on the resource? */
export function authorize(ctx: RequestContext, op: number, resourceType: number, name: string): boolean {
  const a = ctx.broker.authorizer
  return a === undefined || a.authorize(ctx.principal, ctx.clientHost, op, resourceType, name)
}

export function authorizeCluster(ctx: RequestContext, op: number): boolean {
  return authorize(ctx, op, ResourceType.CLUSTER, CLUSTER_NAME)
}

/** May the caller do `op` on at least one resource of the type? */
export function authorizeByResourceType(ctx: RequestContext, op: number, resourceType: number): boolean {
  const a = ctx.broker.authorizer
  return a === undefined || a.authorizeByResourceType(ctx.principal, ctx.clientHost, op, resourceType)
}

/**
 * The authorized-operations bitfield of a Metadata, DescribeGroups or DescribeCluster answer;
 * without an authorizer, every operation the resource type supports.
 */
export function authorizedOperations(ctx: RequestContext, resourceType: number, name: string): number {
  const a = ctx.broker.authorizer
  if (a !== undefined) return a.authorizedOperations(ctx.principal, ctx.clientHost, resourceType, name)
  let bits = 0
  for (const op of SUPPORTED_OPERATIONS[resourceType] ?? []) bits |= 1 << op
  return bits
}

/**
 * The cluster's authorized-operations bitfield (Metadata, DescribeCluster): 0 for a caller that
 * may not DESCRIBE the cluster, as Kafka answers.
 */
export function clusterAuthorizedOperations(ctx: RequestContext): number {
  return authorizeCluster(ctx, AclOperation.DESCRIBE) ? authorizedOperations(ctx, ResourceType.CLUSTER, CLUSTER_NAME) : 0
}

/** The bitfield a response carries when the client did not ask for it (Kafka: Integer.MIN_VALUE). */
export const OPERATIONS_NOT_REQUESTED = -2147483648

/** Splits named things (topics, groups) into those the caller may `op` and those it may not. */
export function splitAuthorized<T extends { name: string }>(ctx: RequestContext, op: number, resourceType: number, items: readonly T[]): [allowed: T[], denied: T[]] {
  if (ctx.broker.authorizer === undefined) return [items as T[], []]
  const allowed: T[] = []
  const denied: T[] = []
  for (const t of items) (authorize(ctx, op, resourceType, t.name) ? allowed : denied).push(t)
  return [allowed, denied]
}

/** `errorCode` for every partition of `topics`, as OffsetCommit-like responses carry it. */
export function topicErrors(
  topics: ReadonlyArray<{ name: string; partitions: ReadonlyArray<{ partitionIndex: number }> }>,
  errorCode: number,
): Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }> {
  return topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) }))
}

// ConfigResource.Type codes of DescribeConfigs and (Incremental)AlterConfigs.
const CONFIG_TOPIC = 2
const CONFIG_BROKER = 4
const CONFIG_BROKER_LOGGER = 8
const CONFIG_GROUP = 32

/**
 * NONE, or the error for a config resource the caller may not `op` (DESCRIBE_CONFIGS or
 * ALTER_CONFIGS): brokers and their loggers check the cluster, topics and groups themselves.
 */
export function configResourceError(ctx: RequestContext, op: number, configResourceType: number, name: string): number {
  switch (configResourceType) {
    case CONFIG_BROKER:
    case CONFIG_BROKER_LOGGER:
      return authorizeCluster(ctx, op) ? ErrorCode.NONE : ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    case CONFIG_TOPIC:
      return authorize(ctx, op, ResourceType.TOPIC, name) ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED
    case CONFIG_GROUP:
      return authorize(ctx, op, ResourceType.GROUP, name) ? ErrorCode.NONE : ErrorCode.GROUP_AUTHORIZATION_FAILED
    default:
      return authorizeCluster(ctx, op) ? ErrorCode.NONE : ErrorCode.CLUSTER_AUTHORIZATION_FAILED
  }
}
