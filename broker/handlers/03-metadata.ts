// Metadata (key 3). v1 makes a null topic list mean "all" (v0: empty means all); v4 lets the
// client forbid auto-creation; v8 adds authorized operations; v10 topic ids; v12 lookup by id.
// Single broker: this node leads every partition at leader epoch 0 with itself as the only replica.
// Cluster mode: the brokers, leaders, replicas and ISRs are the etcd metadata's (metadata-view.ts);
// auto-creation places replicas as CreateTopics does and answers LEADER_NOT_AVAILABLE until the
// new topic's partitions are seen, and while etcd does not answer (Kafka's answer while a creation
// is pending; clients ask again).
// ACLs: a listing shows only topics the caller may DESCRIBE; a named topic it may not describe gets
// TOPIC_AUTHORIZATION_FAILED; auto-creation needs CREATE on the cluster or the topic.
import { MetadataApi, type MetadataResponse } from '../../protocol/generated/metadata.js'
import { ErrorCode } from '../../protocol/errors.js'
import { isInternalTopic } from '../coordinator-state/internal-topics.js'
import type { TopicRecord } from '../../storage/metadata-store.js'
import type { BrokerContext } from '../context.js'
import { toKafkaError } from '../errors.js'
import { defineHandler, type RequestContext } from '../handler.js'
import { authorize, authorizeCluster, authorizedOperations, clusterAuthorizedOperations, Op, OPERATIONS_NOT_REQUESTED, Resource } from '../acls/authorize.js'
import { clusterTopicEntry, topicById } from '../cluster/metadata-view.js'

type TopicEntry = MetadataResponse['topics'][number]

const ZERO_UUID = '00000000-0000-0000-0000-000000000000'
const NOT_REQUESTED = OPERATIONS_NOT_REQUESTED

export default defineHandler({
  api: MetadataApi,
  versions: [0, 12],
  async handle(req, ctx): Promise<MetadataResponse> {
    const b = ctx.broker
    const v = ctx.apiVersion
    const cluster = b.cluster
    const topicOps = (name: string) => (req.includeTopicAuthorizedOperations ? authorizedOperations(ctx, Resource.TOPIC, name) : NOT_REQUESTED)
    const describable = (name: string) => authorize(ctx, Op.DESCRIBE, Resource.TOPIC, name)
    const allTopics = req.topics === null || (v === 0 && req.topics.length === 0)
    const topics: TopicEntry[] = []
    if (allTopics) {
      for (const t of listTopics(b)) if (describable(t.name)) topics.push(describeTopic(b, t, topicOps(t.name)))
    } else {
      const autoCreate = b.config.getBool('auto.create.topics.enable') && (v < 4 || req.allowAutoTopicCreation)
      for (const requested of req.topics!) {
        if (requested.name === null || requested.name === '') {
          const t = requested.topicId === ZERO_UUID ? undefined : cluster ? topicById(cluster.image, requested.topicId) : b.logs.getTopicById(requested.topicId)
          if (t && !describable(t.name)) topics.push(errorTopic(null, requested.topicId, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
          else topics.push(t ? describeTopic(b, t, topicOps(t.name)) : errorTopic(null, requested.topicId, ErrorCode.UNKNOWN_TOPIC_ID))
          continue
        }
        if (!describable(requested.name)) topics.push(errorTopic(requested.name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
        else topics.push(await lookupOrCreate(ctx, requested.name, autoCreate, topicOps(requested.name)))
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: cluster
        ? cluster.brokersFor(ctx.listenerName)
        : [{ nodeId: b.nodeId, host: ctx.session.listener.advertisedHost, port: ctx.session.listener.advertisedPort, rack: null }],
      clusterId: b.clusterId,
      controllerId: cluster ? cluster.image.controllerId : b.nodeId,
      topics,
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? clusterAuthorizedOperations(ctx) : NOT_REQUESTED,
    }
  },
})

async function lookupOrCreate(ctx: RequestContext, name: string, autoCreate: boolean, ops: number): Promise<TopicEntry> {
  const b = ctx.broker
  const existing = b.cluster ? b.cluster.image.topics.get(name)?.value : b.logs.getTopic(name)
  if (existing) return describeTopic(b, existing, ops)
  if (!autoCreate) return errorTopic(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  if (!authorizeCluster(ctx, Op.CREATE) && !authorize(ctx, Op.CREATE, Resource.TOPIC, name)) {
    return errorTopic(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED)
  }
  if (b.cluster) {
    try {
      await b.cluster.admin.createTopic({ name, partitions: b.config.getInt('num.partitions'), replicationFactor: b.config.getInt('default.replication.factor'), configs: {} })
      b.logger.info({ topic: name }, 'auto-created topic in the cluster')
    } catch (err) {
      const code = toKafkaError(err).code
      if (code === ErrorCode.REQUEST_TIMED_OUT) return errorTopic(name, ZERO_UUID, ErrorCode.LEADER_NOT_AVAILABLE)
      if (code !== ErrorCode.TOPIC_ALREADY_EXISTS) return errorTopic(name, ZERO_UUID, code)
    }
    const seen = b.cluster.image.topics.get(name)?.value
    return seen && b.cluster.image.partitionsOf(name).length === seen.partitions ? describeTopic(b, seen, ops) : errorTopic(name, ZERO_UUID, ErrorCode.LEADER_NOT_AVAILABLE)
  }
  try {
    const created = await b.logs.createTopic(name, b.config.getInt('num.partitions'), {})
    b.logger.info({ topic: name, partitions: created.partitions }, 'auto-created topic')
    return describeTopic(b, created, ops)
  } catch (err) {
    const again = b.logs.getTopic(name) // a concurrent request created it first
    if (again) return describeTopic(b, again, ops)
    return errorTopic(name, ZERO_UUID, toKafkaError(err).code)
  }
}

function listTopics(b: BrokerContext): Array<{ name: string; topicId: string; partitions: number }> {
  return b.cluster ? [...b.cluster.image.topics.values()].map((t) => t.value) : b.logs.listTopics()
}

function describeTopic(b: BrokerContext, t: Pick<TopicRecord, 'name' | 'topicId' | 'partitions'>, ops: number): TopicEntry {
  if (b.cluster) {
    const spec = b.cluster.image.topics.get(t.name)?.value
    if (spec) return clusterTopicEntry(b.cluster.image, spec, ops)
  }
  const partitions: TopicEntry['partitions'] = []
  for (let i = 0; i < t.partitions; i++) {
    partitions.push({
      errorCode: ErrorCode.NONE,
      partitionIndex: i,
      leaderId: b.nodeId,
      leaderEpoch: 0,
      replicaNodes: [b.nodeId],
      isrNodes: [b.nodeId],
      offlineReplicas: [],
    })
  }
  return { errorCode: ErrorCode.NONE, name: t.name, topicId: t.topicId, isInternal: isInternalTopic(t.name), partitions, topicAuthorizedOperations: ops }
}

function errorTopic(name: string | null, topicId: string, errorCode: number): TopicEntry {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: NOT_REQUESTED }
}
