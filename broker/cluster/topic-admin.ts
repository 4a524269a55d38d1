// Topic creation, deletion and growth as etcd transactions: the topic's key and every partition's
// key are written together, each only if still absent (or still at the revision read), so two
// brokers racing to create a topic cannot both win and a deletion never removes a newer topic.
// The controller runs these for CreateTopics, DeleteTopics and CreatePartitions (with its guard,
// so a deposed controller writes nothing); any broker may run createTopic for auto-creation.
import { randomUUID } from 'node:crypto'
import { ErrorCode } from '../../protocol/errors.js'
import { validateTopicName } from '../../storage/topic-creation.js'
import { KafkaError } from '../errors.js'
import { assignReplicas, ReplicationFactorError } from './assignment.js'
import type { ClusterImage } from './cluster-image.js'
import { initialState } from './elections.js'
import type { EtcdStore, GuardedWrite } from './etcd-store.js'
import { partitionKey, topicKey, type TopicSpec } from './keys.js'

export interface NewTopic {
  name: string
  partitions: number
  replicationFactor: number
  configs: Record<string, string>
  /** Manual placement, one replica list per partition; replaces partitions and replicationFactor. */
  assignments?: number[][]
}

export type Guard = Array<{ key: string; expect: string }>

/** An etcd failure (unreachable, timed out) as the retriable error Kafka's controller gives when it cannot commit. */
export function unreachable(err: unknown): KafkaError {
  if (err instanceof KafkaError) return err
  return new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `The cluster metadata store did not answer: ${(err as Error).message}`)
}

export class TopicAdmin {
  constructor(
    private readonly store: EtcdStore,
    private readonly image: ClusterImage,
  ) {}

  /** The replica lists a topic would get; throws INVALID_REPLICATION_FACTOR / INVALID_REPLICA_ASSIGNMENT. */
  placement(t: NewTopic, firstPartition = 0): number[][] {
    if (t.assignments !== undefined) {
      this.checkAssignments(t.assignments)
      return t.assignments
    }
    const brokers = this.image.liveBrokers().filter((b) => !this.image.shuttingDown.has(b.nodeId))
    try {
      return assignReplicas(brokers, t.partitions, t.replicationFactor, { firstPartition })
    } catch (err) {
      if (err instanceof ReplicationFactorError) throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, err.message)
      throw err
    }
  }

  async createTopic(t: NewTopic, guard: Guard = []): Promise<TopicSpec> {
    // Every broker creates each topic in etcd locally, so a name its log directory cannot hold
    // (INVALID_TOPIC_EXCEPTION) must never get there: auto-creation by Metadata comes here too.
    validateTopicName(t.name)
    if (this.image.topics.has(t.name)) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`)
    const replicas = this.placement(t)
    const spec: TopicSpec = { name: t.name, topicId: randomUUID(), partitions: replicas.length, configs: t.configs, createdAt: Date.now() }
    const writes: GuardedWrite[] = [{ key: topicKey(t.name), expect: 'absent', value: JSON.stringify(spec) }]
    replicas.forEach((r, p) => writes.push({ key: partitionKey(t.name, p), expect: 'absent', value: JSON.stringify(initialState(t.name, spec.topicId, p, r)) }))
    if (!(await this.store.writeIf(writes, guard).catch((err: unknown) => Promise.reject(unreachable(err))))) {
      const exists = (await this.store.get(topicKey(t.name))) !== undefined
      if (exists) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`)
      throw new KafkaError(ErrorCode.NOT_CONTROLLER, 'This broker is no longer the controller.')
    }
    return spec
  }

  async deleteTopic(name: string, guard: Guard = []): Promise<void> {
    const topic = this.image.topics.get(name)
    if (topic === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' does not exist.`)
    const writes: GuardedWrite[] = [{ key: topicKey(name), expect: topic.modRevision, value: null }]
    for (let p = 0; p < topic.value.partitions; p++) {
      const state = this.image.partition(name, p)
      if (state !== undefined) writes.push({ key: partitionKey(name, p), expect: state.modRevision, value: null })
    }
    if (!(await this.store.writeIf(writes, guard).catch((err: unknown) => Promise.reject(unreachable(err))))) {
      throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `Topic '${name}' changed while it was being deleted; try again.`)
    }
  }

  async createPartitions(name: string, count: number, assignments: number[][] | undefined, guard: Guard = []): Promise<void> {
    const topic = this.image.topics.get(name)
    if (topic === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`)
    const from = topic.value.partitions
    const rf = this.image.partition(name, 0)?.value.replicas.length ?? 1
    const added = count - from
    if (assignments !== undefined && assignments.length !== added) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Attempted to add ${added} additional partition(s), but only ${assignments.length} assignment(s) were supplied.`)
    }
    if (assignments?.some((a) => a.length !== rf)) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Inconsistent replication factor between partitions, partition 0 has ${rf}.`)
    }
    const replicas = this.placement({ name, partitions: added, replicationFactor: rf, configs: {}, assignments }, from)
    const spec: TopicSpec = { ...topic.value, partitions: count }
    const writes: GuardedWrite[] = [{ key: topicKey(name), expect: topic.modRevision, value: JSON.stringify(spec) }]
    replicas.forEach((r, i) => writes.push({ key: partitionKey(name, from + i), expect: 'absent', value: JSON.stringify(initialState(name, spec.topicId, from + i, r)) }))
    if (!(await this.store.writeIf(writes, guard).catch((err: unknown) => Promise.reject(unreachable(err))))) {
      throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `Topic '${name}' changed while partitions were being added; try again.`)
    }
  }

  /** Replaces the topic's config overrides in etcd (every broker applies them from its watch). */
  async alterConfigs(name: string, configs: Record<string, string>): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored = await this.store.get(topicKey(name)).catch((err: unknown) => Promise.reject(unreachable(err)))
      if (stored === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${name} does not exist`)
      const spec: TopicSpec = { ...(JSON.parse(stored.value) as TopicSpec), configs }
      const written = await this.store.writeIf([{ key: topicKey(name), expect: stored.modRevision, value: JSON.stringify(spec) }]).catch((err: unknown) => Promise.reject(unreachable(err)))
      if (written) return
    }
    throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `Topic '${name}' kept changing while its configs were being altered; try again.`)
  }

  private checkAssignments(assignments: number[][]): void {
    const rf = assignments[0]?.length ?? 0
    for (const replicas of assignments) {
      if (replicas.length === 0 || replicas.length !== rf) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Every partition needs the same, non-zero number of replicas.')
      if (new Set(replicas).size !== replicas.length) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'A partition names the same broker twice.')
      const unknown = replicas.find((id) => !this.image.isLive(id))
      if (unknown !== undefined) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker ${unknown}, but no such broker is registered.`)
    }
  }
}
