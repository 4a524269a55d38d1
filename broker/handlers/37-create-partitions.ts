// CreatePartitions (key 37). v1 only changes throttling; v2 is flexible; v3 may throttle (never
// here). Partition counts only grow. Manual assignments must give one replica per new partition,
// on this broker: there is no other. validateOnly is honoured; a topic named twice is refused.
// max.broker.partitions bounds the result (INVALID_PARTITIONS / POLICY_VIOLATION, as CreateTopics).
// Cluster mode: only the controller adds partitions (NOT_CONTROLLER elsewhere), placing their
// replicas as CreateTopics does, or as assigned (any live brokers, the topic's replication factor).
// ACLs: ALTER on the topic (TOPIC_AUTHORIZATION_FAILED).
import { CreatePartitionsApi, type CreatePartitionsRequest, type CreatePartitionsResponse } from '../../protocol/generated/create-partitions.js'
import { ErrorCode } from '../../protocol/errors.js'
import { isUnexpected, toKafkaError } from '../errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

type Result = CreatePartitionsResponse['results'][number]
type Assignments = NonNullable<CreatePartitionsRequest['topics'][number]['assignments']>

export default defineHandler({
  api: CreatePartitionsApi,
  versions: [0, 3],
  async handle(req, ctx): Promise<CreatePartitionsResponse> {
    const b = ctx.broker
    const counts = new Map<string, number>()
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1)
    const results: Result[] = []
    const cluster = b.cluster
    for (const t of req.topics) {
      const result: Result = { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null }
      results.push(result)
      const refuse = (errorCode: number, errorMessage: string): void => {
        result.errorCode = errorCode
        result.errorMessage = errorMessage
      }
      if (counts.get(t.name)! > 1) {
        refuse(ErrorCode.INVALID_REQUEST, 'Duplicate topic in request.')
        continue
      }
      if (!authorize(ctx, Op.ALTER, Resource.TOPIC, t.name)) {
        refuse(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.')
        continue
      }
      if (cluster && !cluster.controller.isActive) {
        refuse(ErrorCode.NOT_CONTROLLER, `Broker ${b.nodeId} is not the controller.`)
        continue
      }
      const topic = cluster ? cluster.image.topics.get(t.name)?.value : b.logs.getTopic(t.name)
      if (!topic) {
        refuse(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${t.name}' does not exist.`)
        continue
      }
      if (t.count < topic.partitions) {
        refuse(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${topic.partitions} partitions, which is higher than the requested ${t.count}.`)
        continue
      }
      if (t.count === topic.partitions) {
        refuse(ErrorCode.INVALID_PARTITIONS, `Topic already has ${topic.partitions} partitions.`)
        continue
      }
      try {
        b.logs.checkPartitionLimit(t.name, t.count, t.count - topic.partitions)
      } catch (err) {
        const f = toKafkaError(err)
        refuse(f.code, f.message)
        continue
      }
      if (cluster) {
        const assignments = t.assignments?.map((a) => a.brokerIds)
        try {
          if (req.validateOnly) cluster.admin.placement({ name: t.name, partitions: t.count - topic.partitions, replicationFactor: cluster.image.partition(t.name, 0)?.value.replicas.length ?? 1, configs: {}, assignments })
          else await cluster.admin.createPartitions(t.name, t.count, assignments, cluster.controller.guard())
        } catch (err) {
          const f = toKafkaError(err)
          refuse(f.code, f.message)
        }
        continue
      }
      const problem = t.assignments === null ? undefined : assignmentProblem(t.assignments, t.count - topic.partitions, b.nodeId)
      if (problem) {
        refuse(ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem)
        continue
      }
      if (req.validateOnly) continue
      try {
        await b.logs.createPartitions(t.name, t.count)
        b.logger.info({ topic: t.name, from: topic.partitions, to: t.count }, 'created partitions')
      } catch (err) {
        const f = toKafkaError(err)
        if (isUnexpected(f)) b.logger.error({ topic: t.name, err }, 'create partitions failed')
        refuse(f.code, f.message)
      }
    }
    return { throttleTimeMs: 0, results }
  },
})

function assignmentProblem(assignments: Assignments, added: number, nodeId: number): string | undefined {
  if (assignments.length !== added) {
    return `Attempted to add ${added} additional partition(s), but only ${assignments.length} assignment(s) were supplied.`
  }
  for (const a of assignments) {
    const stranger = a.brokerIds.find((id) => id !== nodeId)
    if (stranger !== undefined) return `The manual partition assignment includes broker ${stranger}, but no such broker is registered.`
    if (a.brokerIds.length !== 1) {
      return `The manual partition assignment includes a partition with ${a.brokerIds.length} replica(s), but this is not consistent with previous partitions, which have 1 replica(s).`
    }
  }
  return undefined
}
