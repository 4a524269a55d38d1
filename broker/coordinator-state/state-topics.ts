// The internal topics coordinators keep their state in (__consumer_offsets, ...), and where each
// is led. A single broker creates such a topic the first time a coordinator needs it (as Kafka
// creates __consumer_offsets on the first FindCoordinator) and leads every partition of it; a
// broker of a cluster creates it in etcd like any topic, with the configured replication factor,
// and serves the partitions the controller makes it lead: the roles the cluster hands out pass
// through here (roles()), so a partition's state is loaded on becoming its leader and given up on
// becoming a follower or on losing it.
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import type { LogManager } from '../../storage/log-manager.js'
import type { BrokerEndpoint, PartitionState, ReplicaRoles } from '../cluster/partition-state.js'
import { toKafkaError } from '../errors.js'
import { StateTopic, type StateReplication } from './state-topic.js'

export const OFFSETS_TOPIC = '__consumer_offsets'

export interface InternalTopicSpec {
  name: string
  partitions: number
  replicationFactor: number
  configs: Record<string, string>
}

/** What cluster mode offers: the topics in etcd and their leaders. */
export interface ClusterTopics {
  topicExists(name: string): boolean
  /** The topic's partition count as created, if it exists. */
  partitionCount(name: string): number | undefined
  /** Creates the topic in etcd; rejects with a KafkaError (INVALID_REPLICATION_FACTOR, ...). */
  createTopic(spec: InternalTopicSpec): Promise<void>
  /** The partition's leader as clients on `listener` reach it; undefined while it has none. */
  leaderOf(name: string, partition: number, listener: string): { nodeId: number; host: string; port: number } | undefined
}

export interface CoordinatorTopicsOptions {
  logs: LogManager
  logger: Logger
  /** How long a state write waits for the in-sync replicas. */
  writeTimeoutMs: number
}

interface Hosted {
  spec: InternalTopicSpec
  state: StateTopic
  /** Creation (and, on a single broker, loading) in flight or done. */
  ready?: Promise<void>
  lastWarning: number
}

export class CoordinatorTopics {
  private readonly hosted = new Map<string, Hosted>()
  private cluster: ClusterTopics | undefined
  private replication: StateReplication | undefined
  private closed = false
  /** A single broker reading its internal topics back after it started serving (loadLocalInBackground). */
  private local: 'loading' | 'failed' | 'loaded' = 'loaded'

  constructor(private readonly opts: CoordinatorTopicsOptions) {}

  /** Declares an internal topic; its state machine is set on the returned topic by its owner. */
  add(spec: InternalTopicSpec): StateTopic {
    const state = new StateTopic({
      name: spec.name,
      partitions: spec.partitions,
      logs: this.opts.logs,
      logger: this.opts.logger,
      writeTimeoutMs: this.opts.writeTimeoutMs,
      replication: { waitForIsr: (...args) => (this.replication === undefined ? Promise.resolve(ErrorCode.NONE) : this.replication.waitForIsr(...args)) },
    })
    // A single broker creates the topic when something is first written to it: until then there is
    // nothing to read, so every key is served here at once.
    state.setBeforeWrite(() => (this.cluster === undefined ? this.ensure(spec.name) : undefined))
    this.hosted.set(spec.name, { spec, state, lastWarning: 0 })
    return state
  }

  isInternal(topic: string): boolean {
    return this.hosted.has(topic)
  }

  /** Cluster mode from here on: topics are created in etcd and partitions led as the controller says. */
  useCluster(cluster: ClusterTopics, replication: StateReplication): void {
    this.cluster = cluster
    this.replication = replication
  }

  /** A single broker: loads the internal topics already on disk. */
  async loadLocal(): Promise<void> {
    for (const h of this.hosted.values()) if (this.opts.logs.getTopic(h.spec.name) !== undefined) await this.ensure(h.spec.name)
  }

  /**
   * A single broker that already serves: runs `load` (loadLocal and what must follow it before a
   * coordinator answers) while every key answers COORDINATOR_LOAD_IN_PROGRESS, which clients
   * retry, as Kafka's coordinators answer while their partitions load. Should it fail, the keys
   * answer COORDINATOR_NOT_AVAILABLE until a restart: nothing is served from state not read back.
   */
  async loadLocalInBackground(load: () => Promise<void>): Promise<void> {
    this.local = 'loading'
    const started = Date.now()
    try {
      await load()
      this.local = 'loaded'
      this.opts.logger.info({ ms: Date.now() - started }, 'coordinators loaded their state')
    } catch (err) {
      this.local = 'failed'
      this.opts.logger.error({ err }, 'reading the coordinators\' state failed; they stay unavailable until the broker restarts')
    }
  }

  /**
   * Makes sure the topic exists: on a single broker created and loaded when this resolves; in a
   * cluster created in etcd (leaders are elected and loads start as the roles arrive).
   */
  ensure(name: string): Promise<void> {
    const h = this.hosted.get(name)
    if (h === undefined) return Promise.reject(new Error(`${name} is not an internal topic`))
    if (h.ready !== undefined) return h.ready
    const ready = (this.cluster === undefined ? this.createLocal(h) : this.createInCluster(h)).catch((err: unknown) => {
      // Tried again on the next request.
      if (h.ready === ready) h.ready = undefined
      throw err
    })
    h.ready = ready
    return ready
  }

  /**
   * NONE when this broker serves `key`'s partition of the topic now, else the error to answer
   * (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS). A single broker serves every key once what
   * it stored is read back (a topic not created yet holds nothing).
   */
  refusal(name: string, key: string): number {
    const h = this.hosted.get(name)!
    if (this.closed) return ErrorCode.NOT_COORDINATOR
    if (this.cluster === undefined) {
      if (this.local === 'loaded') return ErrorCode.NONE
      return this.local === 'loading' ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.COORDINATOR_NOT_AVAILABLE
    }
    return h.state.refusalFor(key)
  }

  /** A single broker still reading its internal topics back (ListGroups answers COORDINATOR_LOAD_IN_PROGRESS then, as Kafka's). */
  get loadingLocal(): boolean {
    return !this.closed && this.cluster === undefined && this.local === 'loading'
  }

  /**
   * FindCoordinator in cluster mode: the leader of `key`'s partition, or the error to answer
   * (COORDINATOR_NOT_AVAILABLE while the topic is being created or the partition has no leader).
   */
  coordinator(name: string, key: string, listener: string): { nodeId: number; host: string; port: number } | number {
    const h = this.hosted.get(name)!
    const cluster = this.cluster
    if (cluster === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (!cluster.topicExists(name)) {
      this.ensure(name).catch((err: unknown) => this.warn(h, err))
      return ErrorCode.COORDINATOR_NOT_AVAILABLE
    }
    this.followPartitionCount(h)
    return cluster.leaderOf(name, h.state.partitionFor(key), listener) ?? ErrorCode.COORDINATOR_NOT_AVAILABLE
  }

  /** The cluster's partition roles, passed on, with the internal topics' loads and unloads. */
  roles(inner: ReplicaRoles): ReplicaRoles {
    return {
      becomeLeader: async (state: PartitionState) => {
        await inner.becomeLeader(state)
        const h = this.hosted.get(state.topic)
        if (h === undefined) return
        this.followPartitionCount(h)
        // Loaded in the background: the roles of other partitions need not wait for it.
        void h.state.elect(state.partition, state.leaderEpoch)
      },
      becomeFollower: async (state: PartitionState, leader: BrokerEndpoint) => {
        this.hosted.get(state.topic)?.state.resign(state.partition)
        await inner.becomeFollower(state, leader)
      },
      stopReplica: async (topic: string, partition: number, deleteLog: boolean) => {
        this.hosted.get(topic)?.state.resign(partition)
        await inner.stopReplica(topic, partition, deleteLog)
      },
    }
  }

  close(): void {
    this.closed = true
    for (const h of this.hosted.values()) h.state.close()
  }

  private async createLocal(h: Hosted): Promise<void> {
    const { name, partitions, configs } = h.spec
    // The log manager opens the internal topics' partitions after the broker serves.
    await this.opts.logs.whenOpen()
    if (this.opts.logs.getTopic(name) === undefined) {
      await this.opts.logs.createTopic(name, partitions, configs)
      this.opts.logger.info({ topic: name, partitions }, 'created an internal topic')
    }
    const local = this.opts.logs.getTopic(name)!
    if (local.partitions !== partitions) {
      this.opts.logger.warn({ topic: name, partitions: local.partitions, configured: partitions }, 'an internal topic keeps the partition count it was created with')
      h.state.setPartitions(local.partitions)
    }
    for (let p = 0; p < local.partitions; p++) await h.state.elect(p, 0)
  }

  private async createInCluster(h: Hosted): Promise<void> {
    const cluster = this.cluster!
    if (cluster.topicExists(h.spec.name)) return
    try {
      await cluster.createTopic(h.spec)
      this.opts.logger.info({ topic: h.spec.name, partitions: h.spec.partitions, replicationFactor: h.spec.replicationFactor }, 'created an internal topic in the cluster')
    } catch (err) {
      if (toKafkaError(err).code !== ErrorCode.TOPIC_ALREADY_EXISTS) throw err
    }
  }

  /** Keys are placed over the partitions the topic was created with, whatever is configured now. */
  private followPartitionCount(h: Hosted): void {
    const count = this.cluster?.partitionCount(h.spec.name)
    if (count !== undefined && count !== h.state.partitions) h.state.setPartitions(count)
  }

  private warn(h: Hosted, err: unknown): void {
    const now = Date.now()
    if (now - h.lastWarning < 10_000) return
    h.lastWarning = now
    this.opts.logger.warn({ topic: h.spec.name, replicationFactor: h.spec.replicationFactor, reason: toKafkaError(err).message }, 'cannot create an internal topic yet; its coordinators are not available')
  }
}
