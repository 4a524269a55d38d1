// The seam between cluster metadata (which broker leads, follows or holds nothing for each
// partition, decided by the controller and stored in etcd) and replication (followers fetching
// from leaders, the high watermark, the ISR). Single-broker mode implements none of it: every
// partition is led by this node at leader epoch 0 with itself as the only replica.

/** One broker of the cluster, as registered under its lease. */
export interface BrokerEndpoint {
  nodeId: number
  /** The listener other brokers fetch from (replication), host and port. */
  host: string
  port: number
  rack: string | null
}

/** The controller's decision for one partition, as stored (and compare-and-set) in etcd. */
export interface PartitionState {
  topic: string
  topicId: string
  partition: number
  /** Every replica, preferred leader first. */
  replicas: number[]
  /** In-sync replicas; always holds the leader while it has one. */
  isr: number[]
  /** -1 while the partition has no live leader (offline). */
  leader: number
  /** Bumped on every leader change; fences old leaders and their followers. */
  leaderEpoch: number
  /** Bumped on every change of the state (leader, ISR or replicas); an ISR change names the epoch it was made from. */
  partitionEpoch: number
  /**
   * A reassignment in flight (KIP-455): replicas being added (following, catching up) and being
   * removed once every added one is in sync. Absent or empty when none is.
   */
  addingReplicas?: number[]
  removingReplicas?: number[]
}

/** What the metadata side tells the replication side this broker must be for a partition. */
export interface ReplicaRoles {
  /** Lead the partition from state.leaderEpoch: record the epoch's start offset, serve produce and fetch. */
  becomeLeader(state: PartitionState): Promise<void>
  /** Follow `leader`: truncate as KIP-101 defines (OffsetForLeaderEpoch), then fetch from it. */
  becomeFollower(state: PartitionState, leader: BrokerEndpoint): Promise<void>
  /** Stop serving and replicating the partition; delete its log when it left this broker. */
  stopReplica(topic: string, partition: number, deleteLog: boolean): Promise<void>
}

/** What the replication side asks of the metadata side (Kafka's AlterPartition). */
export interface IsrChanges {
  /**
   * Propose a new ISR for a partition this broker leads. Resolves with the committed state, or
   * rejects with a KafkaError (FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION) when leaderEpoch or
   * partitionEpoch are no longer current.
   */
  alterIsr(topic: string, partition: number, leaderEpoch: number, partitionEpoch: number, isr: number[]): Promise<PartitionState>
}
