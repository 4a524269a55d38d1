// CreateTopics (key 19). v1 validateOnly; v4 lets partitions / replication factor be -1 (broker
// default); v5 flexible, and the response carries the created topic's configs; v7 topic ids.
// Single broker: the replication factor must be 1 and manual assignments may only name this node.
// Cluster mode: only the controller creates (others answer NOT_CONTROLLER, and clients ask the
// controller Metadata names); replicas are placed by broker/cluster/assignment.ts or as assigned,
// INVALID_REPLICATION_FACTOR when there are fewer live brokers than asked for.
// max.broker.partitions bounds the partitions: INVALID_PARTITIONS for a topic larger than it,
// POLICY_VIOLATION for one that does not fit next to the others (validateOnly checks it too).
// ACLs: CREATE on the cluster or on the topic (TOPIC_AUTHORIZATION_FAILED).
import { CreateTopicsApi, type CreateTopicsResponse } from '../../protocol/generated/create-topics.js'
import { ErrorCode } from '../../protocol/errors.js'
import { validateTopicConfigs } from '../../storage/log-config.js'
import { validateTopicName } from '../../storage/topic-creation.js'
import { toKafkaError } from '../errors.js'
import { defineHandler } from '../handler.js'
import { authorize, authorizeCluster, Op, Resource } from '../acls/authorize.js'
import { describeTopicConfigs } from '../topic-configs.js'

type Result = CreateTopicsResponse['topics'][number]

const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

export default defineHandler({
  api: CreateTopicsApi,
  versions: [2, 7],
  async handle(req, ctx): Promise<CreateTopicsResponse> {
    const b = ctx.broker
    const counts = new Map<string, number>()
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1)
    const topics: Result[] = []
    const mayCreate = authorizeCluster(ctx, Op.CREATE)
    const cluster = b.cluster
    for (const t of req.topics) {
      const fail = (errorCode: number, errorMessage: string | null): Result => ({
        name: t.name,
        topicId: ZERO_UUID,
        errorCode,
        errorMessage,
        topicConfigErrorCode: 0,
        numPartitions: -1,
        replicationFactor: -1,
        configs: null,
      })
      if (counts.get(t.name)! > 1) {
        topics.push(fail(ErrorCode.INVALID_REQUEST, `Create topics request from client contains a duplicate topic ${t.name}`))
        continue
      }
      if (!mayCreate && !authorize(ctx, Op.CREATE, Resource.TOPIC, t.name)) {
        topics.push(fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.'))
        continue
      }
      try {
        validateTopicName(t.name)
      } catch (err) {
        topics.push(fail(ErrorCode.INVALID_TOPIC_EXCEPTION, (err as Error).message))
        continue
      }
      if (cluster && !cluster.controller.isActive) {
        topics.push(fail(ErrorCode.NOT_CONTROLLER, `Broker ${b.nodeId} is not the controller.`))
        continue
      }
      if (cluster ? cluster.image.topics.has(t.name) : b.logs.getTopic(t.name)) {
        topics.push(fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`))
        continue
      }
      let partitions = t.numPartitions
      if (t.assignments.length > 0) {
        if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
          topics.push(fail(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set.'))
          continue
        }
        const bad = t.assignments.find((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== b.nodeId)
        const indexes = t.assignments.map((a) => a.partitionIndex).sort((x, y) => x - y)
        if ((bad && !cluster) || indexes.some((p, i) => p !== i)) {
          topics.push(fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Replica assignments must place partitions 0..n-1 on broker ${b.nodeId} only.`))
          continue
        }
        partitions = t.assignments.length
      }
      if (partitions === -1) partitions = b.config.getInt('num.partitions')
      if (partitions < 1) {
        topics.push(fail(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.'))
        continue
      }
      try {
        b.logs.checkPartitionLimit(t.name, partitions, partitions)
      } catch (err) {
        const f = toKafkaError(err)
        topics.push(fail(f.code, f.message))
        continue
      }
      let rf = t.replicationFactor === -1 ? b.config.getInt('default.replication.factor') : t.replicationFactor
      if (t.assignments.length > 0) rf = t.assignments[0]!.brokerIds.length
      if (!cluster && t.assignments.length === 0 && rf !== 1) {
        topics.push(
          fail(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            rf < 1
              ? 'Replication factor must be larger than 0.'
              : `Replication factor: ${rf} larger than available brokers: 1.`,
          ),
        )
        continue
      }
      const configs: Record<string, string> = {}
      let configProblem: string | undefined
      for (const c of t.configs) {
        if (c.value === null) configProblem = `Null value not supported for topic configs: ${c.name}`
        else configs[c.name] = c.value
      }
      if (configProblem) {
        topics.push(fail(ErrorCode.INVALID_REQUEST, configProblem))
        continue
      }
      try {
        validateTopicConfigs(configs)
      } catch (err) {
        topics.push(fail(ErrorCode.INVALID_CONFIG, (err as Error).message))
        continue
      }
      let topicId = ZERO_UUID
      const wanted = {
        name: t.name,
        partitions,
        replicationFactor: rf,
        configs,
        assignments: t.assignments.length > 0 ? [...t.assignments].sort((x, y) => x.partitionIndex - y.partitionIndex).map((a) => a.brokerIds) : undefined,
      }
      if (cluster) {
        try {
          if (req.validateOnly) cluster.admin.placement(wanted)
          else topicId = (await cluster.admin.createTopic(wanted, cluster.controller.guard())).topicId
        } catch (err) {
          const f = toKafkaError(err)
          topics.push(fail(f.code, f.message))
          continue
        }
      } else if (!req.validateOnly) {
        try {
          const created = await b.logs.createTopic(t.name, partitions, configs)
          topicId = created.topicId
          b.logger.info({ topic: t.name, partitions, configs }, 'created topic')
        } catch (err) {
          const f = toKafkaError(err)
          topics.push(fail(f.code, f.message))
          continue
        }
      }
      // The created topic's configs are shown only to a caller that may describe them.
      const configsShown = authorize(ctx, Op.DESCRIBE_CONFIGS, Resource.TOPIC, t.name)
      topics.push({
        name: t.name,
        topicId,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        topicConfigErrorCode: configsShown ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED,
        numPartitions: partitions,
        replicationFactor: cluster ? rf : 1,
        configs: (configsShown ? describeTopicConfigs(b, configs) : []).map((c) => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          configSource: c.source,
          isSensitive: c.sensitive,
        })),
      })
    }
    return { throttleTimeMs: 0, topics }
  },
})
