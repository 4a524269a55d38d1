// ListPartitionReassignments (key 46). v0 only (flexible). Cluster mode: the controller lists every
// partition being reassigned (all topics for null, else the named partitions; unknown names and
// partitions not moving are skipped, not errors), each with its replicas and the replicas being
// added and removed; another broker answers NOT_CONTROLLER. A single broker never moves a replica,
// so, as Kafka's controller answers when no reassignment is ongoing, the list is empty. ACLs:
// DESCRIBE on the cluster.
import {
  ListPartitionReassignmentsApi,
  type ListPartitionReassignmentsResponse,
} from '../../protocol/generated/list-partition-reassignments.js'
import { ErrorCode } from '../../protocol/errors.js'
import { reassigning } from '../cluster/reassignment.js'
import { defineHandler } from '../handler.js'
import { authorizeCluster, Op } from '../acls/authorize.js'

export default defineHandler({
  api: ListPartitionReassignmentsApi,
  versions: [0, 0],
  handle(req, ctx): ListPartitionReassignmentsResponse {
    const refuse = (errorCode: number): ListPartitionReassignmentsResponse => ({ throttleTimeMs: 0, errorCode, errorMessage: null, topics: [] })
    if (!authorizeCluster(ctx, Op.DESCRIBE)) return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    const cluster = ctx.broker.cluster
    if (!cluster) return refuse(ErrorCode.NONE)
    if (!cluster.controller.isActive) return refuse(ErrorCode.NOT_CONTROLLER)
    const image = cluster.image
    const wanted = req.topics ?? [...image.topics.keys()].sort().map((name) => ({ name, partitionIndexes: null }))
    const topics: ListPartitionReassignmentsResponse['topics'] = []
    for (const t of wanted) {
      const states = image.partitionsOf(t.name).filter((s) => reassigning(s) && (t.partitionIndexes === null || t.partitionIndexes.includes(s.partition)))
      if (states.length === 0) continue
      topics.push({
        name: t.name,
        partitions: states.map((s) => ({ partitionIndex: s.partition, replicas: s.replicas, addingReplicas: s.addingReplicas ?? [], removingReplicas: s.removingReplicas ?? [] })),
      })
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics }
  },
})
