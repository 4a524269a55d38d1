// ACL administration through CreateAcls (30), DescribeAcls (29) and DeleteAcls (31), sent to the
// bootstrap broker (any broker answers for the cluster's ACLs). Bindings and filters use Kafka's
// codes (broker/acls/acl-types.ts); an error for the whole request is thrown as KafkaProtocolError.

import { ErrorCode, errorName } from '../../protocol/errors.js'
import { CreateAclsApi } from '../../protocol/generated/create-acls.js'
import { DescribeAclsApi } from '../../protocol/generated/describe-acls.js'
import { DeleteAclsApi } from '../../protocol/generated/delete-acls.js'
import type { Cluster } from './cluster.js'
import { KafkaProtocolError } from './errors.js'

export interface AclBinding {
  resourceType: number
  resourceName: string
  patternType: number
  principal: string
  host: string
  operation: number
  permissionType: number
}

/** Null name, principal or host match any; ANY (1) codes match any. */
export interface AclBindingFilter {
  resourceType: number
  resourceName: string | null
  patternType: number
  principal: string | null
  host: string | null
  operation: number
  permissionType: number
}

/** Creates the bindings; throws for the first one the broker refused. */
export async function createAcls(cluster: Cluster, bindings: readonly AclBinding[]): Promise<void> {
  const session = await cluster.bootstrap()
  const res = await session.send(
    CreateAclsApi,
    { creations: bindings.map((b) => ({ ...b, resourcePatternType: b.patternType })) },
    session.version(CreateAclsApi),
  )
  const failed = res.results.find((r) => r.errorCode !== ErrorCode.NONE)
  if (failed) throw new KafkaProtocolError(failed.errorCode, `CreateAcls at ${session.address}`, failed.errorMessage)
}

/** Every binding that matches the filter. */
export async function describeAcls(cluster: Cluster, filter: AclBindingFilter): Promise<AclBinding[]> {
  const session = await cluster.bootstrap()
  const res = await session.send(
    DescribeAclsApi,
    {
      resourceTypeFilter: filter.resourceType,
      resourceNameFilter: filter.resourceName,
      patternTypeFilter: filter.patternType,
      principalFilter: filter.principal,
      hostFilter: filter.host,
      operation: filter.operation,
      permissionType: filter.permissionType,
    },
    session.version(DescribeAclsApi),
  )
  if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, `DescribeAcls at ${session.address}`, res.errorMessage)
  return res.resources.flatMap((r) =>
    r.acls.map((a) => ({
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      patternType: r.patternType,
      principal: a.principal,
      host: a.host,
      operation: a.operation,
      permissionType: a.permissionType,
    })),
  )
}

/** Deletes every binding matching any of the filters; returns those deleted. */
export async function deleteAcls(cluster: Cluster, filters: readonly AclBindingFilter[]): Promise<AclBinding[]> {
  const session = await cluster.bootstrap()
  const res = await session.send(
    DeleteAclsApi,
    {
      filters: filters.map((f) => ({
        resourceTypeFilter: f.resourceType,
        resourceNameFilter: f.resourceName,
        patternTypeFilter: f.patternType,
        principalFilter: f.principal,
        hostFilter: f.host,
        operation: f.operation,
        permissionType: f.permissionType,
      })),
    },
    session.version(DeleteAclsApi),
  )
  const failed = res.filterResults.find((r) => r.errorCode !== ErrorCode.NONE)
  if (failed) throw new KafkaProtocolError(failed.errorCode, `DeleteAcls at ${session.address}`, failed.errorMessage)
  return res.filterResults.flatMap((r) =>
    r.matchingAcls.map((a) => {
      if (a.errorCode !== ErrorCode.NONE) throw new Error(`DeleteAcls at ${session.address}: ${errorName(a.errorCode)}`)
      const { resourceType, resourceName, patternType, principal, host, operation, permissionType } = a
      return { resourceType, resourceName, patternType, principal, host, operation, permissionType }
    }),
  )
}
