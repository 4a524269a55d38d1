// ReplicaRoles that only records what this broker was told to be for each partition. Cluster mode
// uses it while no replication is wired in: leadership is decided and visible to clients, but
// followers copy nothing, so only replication factor 1 keeps data on more than one failure.
import type { BrokerEndpoint, PartitionState, ReplicaRoles } from './partition-state.js'

export type RecordedRole = { role: 'leader'; leaderEpoch: number } | { role: 'follower'; leaderEpoch: number; leader: BrokerEndpoint }

export class RecordedRoles implements ReplicaRoles {
  readonly roles = new Map<string, RecordedRole>()

  async becomeLeader(state: PartitionState): Promise<void> {
    this.roles.set(`${state.topic}/${state.partition}`, { role: 'leader', leaderEpoch: state.leaderEpoch })
  }

  async becomeFollower(state: PartitionState, leader: BrokerEndpoint): Promise<void> {
    this.roles.set(`${state.topic}/${state.partition}`, { role: 'follower', leaderEpoch: state.leaderEpoch, leader })
  }

  async stopReplica(topic: string, partition: number): Promise<void> {
    this.roles.delete(`${topic}/${partition}`)
  }
}
