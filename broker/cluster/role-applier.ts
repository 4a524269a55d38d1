// Turns the partition states in etcd into this broker's roles: for each partition it replicates,
// becomeLeader when it is the leader (again whenever the state moves on, e.g. the controller
// shrank the ISR: same leader epoch, newer partition epoch), becomeFollower of the leader's
// endpoint (again when the leader or its address changes), stopReplica when it is neither, deleting
// the data when the broker is no replica any more (also data, found at start, of a replica that
// moved away while the broker was down). Every topic in the cluster is kept in the local LogManager
// (with the cluster's topic id), replicated here or not, so topic-level requests (configs, group
// offsets) answer the same on every broker.
// Changes are applied one at a time, in the order the watch saw them. While etcd is unreachable no
// change arrives, and every role stays as it is (cluster-node.ts says why that is safe).
import type { Logger } from 'pino'
import type { LogManager } from '../../storage/log-manager.js'
import type { ClusterImage } from './cluster-image.js'
import { endpointFor, type TopicSpec } from './keys.js'
import type { PartitionState, ReplicaRoles } from './partition-state.js'

interface AppliedRole {
  role: 'leader' | 'follower'
  leaderEpoch: number
  partitionEpoch: number
  /** host:port followed, for a follower. */
  leaderAddress?: string
}

export class RoleApplier {
  private readonly applied = new Map<string, AppliedRole>()
  private queue: Promise<void> = Promise.resolve()
  /** Roles are applied only once the broker has registered; until then changes only update the image. */
  private active = false

  constructor(
    private readonly nodeId: number,
    private readonly image: ClusterImage,
    private readonly logs: LogManager,
    private readonly roles: ReplicaRoles,
    private readonly logger: Logger,
    /** This broker's inter-broker listener: followers fetch from the leader's listener of that name. */
    private readonly listenerName?: string,
  ) {}

  /** Starts applying roles, from the whole current image. */
  start(): Promise<void> {
    this.active = true
    return this.enqueue(() => this.applyAllNow())
  }

  /** Applies every topic and partition (at start, and after a broker's address changed). */
  applyAll(): Promise<void> {
    return this.enqueue(() => this.applyAllNow())
  }

  private async applyAllNow(): Promise<void> {
    // One topic or partition that cannot be applied must not keep the broker from the roles of all
    // the others after it.
    const each = async (what: Record<string, unknown>, work: () => Promise<void>): Promise<void> => {
      await work().catch((err: unknown) => this.logger.error({ err, ...what }, 'applying cluster metadata failed'))
    }
    for (const { value } of this.image.topics.values()) await each({ topic: value.name }, () => this.ensureTopic(value))
    for (const { value } of [...this.image.allPartitions()]) await each({ topic: value.topic, partition: value.partition }, () => this.applyPartition(value))
  }

  topicChanged(name: string, spec: TopicSpec | undefined): Promise<void> {
    return this.enqueue(async () => {
      if (spec !== undefined) await this.ensureTopic(spec)
      else await this.removeTopic(name)
    })
  }

  partitionChanged(state: PartitionState): Promise<void> {
    return this.enqueue(async () => {
      const spec = this.image.topics.get(state.topic)?.value
      if (spec !== undefined) await this.ensureTopic(spec)
      await this.applyPartition(state)
    })
  }

  /** Partitions this broker leads now, as applied. */
  ledPartitions(): number {
    let n = 0
    for (const a of this.applied.values()) if (a.role === 'leader') n++
    return n
  }

  /** Waits for every change queued so far. */
  settled(): Promise<void> {
    return this.queue
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    if (!this.active) return this.queue
    const next = this.queue.then(work).catch((err: unknown) => this.logger.error({ err }, 'applying cluster metadata failed'))
    this.queue = next
    return next
  }

  private async ensureTopic(spec: TopicSpec): Promise<void> {
    let local = this.logs.getTopic(spec.name)
    if (local !== undefined && local.topicId !== spec.topicId) {
      // The topic was deleted and created again while this broker was away: the old data goes.
      this.logger.info({ topic: spec.name, stale: local.topicId, current: spec.topicId }, 'replacing a local topic the cluster recreated')
      await this.removeTopic(spec.name)
      local = undefined
    }
    if (local === undefined) {
      await this.logs.createTopic(spec.name, spec.partitions, spec.configs, spec.topicId)
      return
    }
    if (local.partitions < spec.partitions) await this.logs.createPartitions(spec.name, spec.partitions)
    if (!sameConfigs(local.configs, spec.configs)) await this.logs.alterTopicConfigs(spec.name, spec.configs)
  }

  private async removeTopic(name: string): Promise<void> {
    const local = this.logs.getTopic(name)
    if (local === undefined) return
    // Replication stops; the files go with the topic below.
    for (let p = 0; p < local.partitions; p++) {
      const key = `${name}/${p}`
      if (this.applied.delete(key)) await this.roles.stopReplica(name, p, false)
    }
    await this.logs.deleteTopic(name)
  }

  private async applyPartition(s: PartitionState): Promise<void> {
    const key = `${s.topic}/${s.partition}`
    const last = this.applied.get(key)
    if (s.leader === this.nodeId) {
      if (last?.role === 'leader' && last.leaderEpoch === s.leaderEpoch && last.partitionEpoch === s.partitionEpoch) return
      this.applied.set(key, { role: 'leader', leaderEpoch: s.leaderEpoch, partitionEpoch: s.partitionEpoch })
      await this.roles.becomeLeader(s)
      return
    }
    const registration = s.leader === -1 ? undefined : this.image.brokers.get(s.leader)
    if (s.replicas.includes(this.nodeId) && registration !== undefined) {
      const leader = endpointFor(registration, this.listenerName)
      const address = `${leader.host}:${leader.port}`
      if (last?.role === 'follower' && last.leaderEpoch === s.leaderEpoch && last.leaderAddress === address) {
        last.partitionEpoch = s.partitionEpoch
        return
      }
      this.applied.set(key, { role: 'follower', leaderEpoch: s.leaderEpoch, partitionEpoch: s.partitionEpoch, leaderAddress: address })
      await this.roles.becomeFollower(s, leader)
      return
    }
    if (last !== undefined) {
      this.applied.delete(key)
      await this.roles.stopReplica(s.topic, s.partition, !s.replicas.includes(this.nodeId))
      return
    }
    // Data of a partition this broker is no replica of: it moved away while this broker was down.
    const local = this.logs.partition(s.topic, s.partition)
    if (!s.replicas.includes(this.nodeId) && local !== undefined && local.logEndOffset > 0) {
      this.logger.info({ topic: s.topic, partition: s.partition, replicas: s.replicas }, 'deleting the data of a replica moved away while this broker was down')
      await this.roles.stopReplica(s.topic, s.partition, true)
    }
  }
}

function sameConfigs(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k])
}
