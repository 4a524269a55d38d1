// AlterPartitionReassignments (key 45). v0 only (flexible). Cluster mode: only the controller
// answers (NOT_CONTROLLER elsewhere); it starts each partition's move to its target replicas, or
// cancels it for null replicas, and the move completes once every target replica is in sync
// (broker/cluster/reassignment.ts). A single broker has one place for every replica, so it answers as Kafka's controller does when nothing can move: a partition whose
// target is this broker alone already has it (no change, no error); any other broker id, an empty
// list or a repeated id is INVALID_REPLICA_ASSIGNMENT; cancelling (null replicas) finds
// NO_REASSIGNMENT_IN_PROGRESS; an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION. Kafka's
// wording is kept. ACLs: ALTER on the cluster.
import {
  AlterPartitionReassignmentsApi,
  type AlterPartitionReassignmentsResponse,
} from '../../protocol/generated/alter-partition-reassignments.js'
import { ErrorCode } from '../../protocol/errors.js'
import { toKafkaError } from '../errors.js'
import { defineHandler } from '../handler.js'
import { authorizeCluster, Op } from '../acls/authorize.js'

type PartitionResult = AlterPartitionReassignmentsResponse['responses'][number]['partitions'][number]

export default defineHandler({
  api: AlterPartitionReassignmentsApi,
  versions: [0, 0],
  async handle(req, ctx): Promise<AlterPartitionReassignmentsResponse> {
    const b = ctx.broker
    const refuse = (errorCode: number, errorMessage: string | null = null): AlterPartitionReassignmentsResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, responses: [] })
    if (!authorizeCluster(ctx, Op.ALTER)) return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    const cluster = b.cluster
    if (cluster) {
      if (!cluster.controller.isActive) return refuse(ErrorCode.NOT_CONTROLLER, `Broker ${b.nodeId} is not the controller.`)
      const responses: AlterPartitionReassignmentsResponse['responses'] = []
      for (const t of req.topics) {
        const wanted = t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas }))
        let results: Array<{ errorCode: number; errorMessage: string | null }>
        try {
          results = await cluster.controller.reassign(wanted)
        } catch (err) {
          const e = toKafkaError(err)
          results = wanted.map(() => ({ errorCode: e.code, errorMessage: e.message }))
        }
        responses.push({ name: t.name, partitions: t.partitions.map((p, i) => ({ partitionIndex: p.partitionIndex, ...results[i]! })) })
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses }
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      responses: req.topics.map((t) => {
        const topic = b.logs.getTopic(t.name)
        return {
          name: t.name,
          partitions: t.partitions.map((p): PartitionResult => {
            const fail = (errorCode: number, errorMessage: string): PartitionResult => ({ partitionIndex: p.partitionIndex, errorCode, errorMessage })
            if (topic === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unable to find a topic named ${t.name}.`)
            if (p.partitionIndex < 0 || p.partitionIndex >= topic.partitions) {
              return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unable to find partition ${t.name}:${p.partitionIndex}.`)
            }
            if (p.replicas === null) return fail(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'No partition reassignment is in progress.')
            const problem = replicasProblem(p.replicas, b.nodeId)
            if (problem !== undefined) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem)
            return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null }
          }),
        }
      }),
    }
  },
})

/** Kafka's validateManualPartitionAssignment, with this broker the only one registered. */
function replicasProblem(replicas: readonly number[], nodeId: number): string | undefined {
  if (replicas.length === 0) return 'The manual partition assignment includes an empty replica list.'
  const sorted = [...replicas].sort((x, y) => x - y)
  for (let i = 0; i < sorted.length; i++) {
    const id = sorted[i]!
    if (id !== nodeId) return `The manual partition assignment includes broker ${id}, but no such broker is registered.`
    if (i > 0 && id === sorted[i - 1]) return `The manual partition assignment includes the broker ${id} more than once.`
  }
  return undefined
}
