// This broker's copy of the cluster metadata in etcd: loaded whole at start, then kept current by
// one watch on the prefix. Each entry keeps the mod revision it was read at, which is what a
// compare-and-set of that key compares. Pure data: no I/O here.
import {
  BROKERS_PREFIX,
  CLUSTER_ID_KEY,
  CONTROLLER_KEY,
  PARTITIONS_PREFIX,
  SHUTDOWN_PREFIX,
  TOPICS_PREFIX,
  endpointFor,
  type BrokerRegistration,
  type TopicSpec,
} from './keys.js'
import type { BrokerEndpoint, PartitionState } from './partition-state.js'

export interface Versioned<T> {
  value: T
  modRevision: string
}

/** What one key's change was, for those who react to it. */
export type ImageChange =
  | { kind: 'broker'; nodeId: number; registration: BrokerRegistration | undefined }
  | { kind: 'controller'; nodeId: number }
  | { kind: 'shutdown'; nodeId: number; requested: boolean }
  | { kind: 'topic'; name: string; spec: TopicSpec | undefined }
  | { kind: 'partition'; topic: string; partition: number; state: PartitionState | undefined }
  | { kind: 'other' }

export class ClusterImage {
  clusterId: string | undefined
  /** -1 while no broker holds the election. */
  controllerId = -1
  readonly brokers = new Map<number, BrokerRegistration>()
  readonly shuttingDown = new Set<number>()
  readonly topics = new Map<string, Versioned<TopicSpec>>()
  private readonly partitionStates = new Map<string, Map<number, Versioned<PartitionState>>>()

  /** Applies one key's new value (null: deleted). Keys are relative to the prefix. */
  apply(key: string, value: string | null, modRevision: string): ImageChange {
    if (key === CLUSTER_ID_KEY) {
      if (value !== null) this.clusterId = value
      return { kind: 'other' }
    }
    if (key === CONTROLLER_KEY) {
      this.controllerId = value === null ? -1 : Number(value)
      return { kind: 'controller', nodeId: this.controllerId }
    }
    if (key.startsWith(BROKERS_PREFIX)) {
      const nodeId = Number(key.slice(BROKERS_PREFIX.length))
      if (value === null) this.brokers.delete(nodeId)
      else this.brokers.set(nodeId, JSON.parse(value) as BrokerRegistration)
      return { kind: 'broker', nodeId, registration: this.brokers.get(nodeId) }
    }
    if (key.startsWith(SHUTDOWN_PREFIX)) {
      const nodeId = Number(key.slice(SHUTDOWN_PREFIX.length))
      if (value === null) this.shuttingDown.delete(nodeId)
      else this.shuttingDown.add(nodeId)
      return { kind: 'shutdown', nodeId, requested: value !== null }
    }
    if (key.startsWith(TOPICS_PREFIX)) {
      const name = key.slice(TOPICS_PREFIX.length)
      if (value === null) this.topics.delete(name)
      else this.topics.set(name, { value: JSON.parse(value) as TopicSpec, modRevision })
      return { kind: 'topic', name, spec: this.topics.get(name)?.value }
    }
    if (key.startsWith(PARTITIONS_PREFIX)) {
      const rest = key.slice(PARTITIONS_PREFIX.length)
      const slash = rest.lastIndexOf('/')
      const topic = rest.slice(0, slash)
      const partition = Number(rest.slice(slash + 1))
      let states = this.partitionStates.get(topic)
      if (value === null) {
        states?.delete(partition)
        if (states?.size === 0) this.partitionStates.delete(topic)
        return { kind: 'partition', topic, partition, state: undefined }
      }
      if (states === undefined) this.partitionStates.set(topic, (states = new Map()))
      const state = JSON.parse(value) as PartitionState
      states.set(partition, { value: state, modRevision })
      return { kind: 'partition', topic, partition, state }
    }
    return { kind: 'other' }
  }

  /** Every key this image holds a value for (relative to the prefix). */
  keys(): string[] {
    const out: string[] = []
    if (this.clusterId !== undefined) out.push(CLUSTER_ID_KEY)
    if (this.controllerId !== -1) out.push(CONTROLLER_KEY)
    for (const id of this.brokers.keys()) out.push(`${BROKERS_PREFIX}${id}`)
    for (const id of this.shuttingDown) out.push(`${SHUTDOWN_PREFIX}${id}`)
    for (const name of this.topics.keys()) out.push(`${TOPICS_PREFIX}${name}`)
    for (const { value } of this.allPartitions()) out.push(`${PARTITIONS_PREFIX}${value.topic}/${value.partition}`)
    return out
  }

  partition(topic: string, partition: number): Versioned<PartitionState> | undefined {
    return this.partitionStates.get(topic)?.get(partition)
  }

  /** The topic's partition states in index order (only those present). */
  partitionsOf(topic: string): PartitionState[] {
    const states = this.partitionStates.get(topic)
    if (states === undefined) return []
    return [...states.values()].map((v) => v.value).sort((a, b) => a.partition - b.partition)
  }

  *allPartitions(): Iterable<Versioned<PartitionState>> {
    for (const states of this.partitionStates.values()) yield* states.values()
  }

  /** Where the partition's leader takes `listenerName` (its first listener without one); undefined while it has none. */
  leaderEndpoint(topic: string, partition: number, listenerName: string | undefined): BrokerEndpoint | undefined {
    const leader = this.partition(topic, partition)?.value.leader
    const reg = leader === undefined || leader < 0 ? undefined : this.brokers.get(leader)
    return reg === undefined ? undefined : endpointFor(reg, listenerName)
  }

  /** Live (registered and unfenced) brokers in node id order. */
  liveBrokers(): BrokerRegistration[] {
    return [...this.brokers.values()].filter((b) => b.fenced !== true).sort((a, b) => a.nodeId - b.nodeId)
  }

  isLive(nodeId: number): boolean {
    const b = this.brokers.get(nodeId)
    return b !== undefined && b.fenced !== true
  }
}
