// The controller's leader and ISR decisions for one partition, as pure functions of its state and
// of which brokers are up. Kafka's rules: a leader is chosen from the ISR, in replica order (the
// first replica is the preferred leader); a broker that died leaves the ISR, except that the ISR
// never becomes empty (its last member is remembered, so the partition comes back when that broker
// does); outside the ISR only when unclean leader election is on, and then the ISR restarts with
// the new leader alone. Each leader change bumps the leader epoch; each change bumps the
// partition epoch.
import type { PartitionState } from './partition-state.js'

export interface BrokerLiveness {
  /** Registered (its lease is alive). */
  live(nodeId: number): boolean
  /** Live but stopping: leads nothing it can hand over, and leaves the ISR. */
  shuttingDown(nodeId: number): boolean
}

/**
 * The state after accounting for dead and stopping brokers, or undefined when nothing changes.
 * Used when a broker's lease expires, when one asks to shut down, when one comes back (an offline
 * partition gets its leader), and when a controller takes over.
 */
export function reconcile(state: PartitionState, brokers: BrokerLiveness, unclean: boolean): PartitionState | undefined {
  const candidate = (id: number) => brokers.live(id) && !brokers.shuttingDown(id)
  let isr = state.isr.filter(candidate)
  if (isr.length === 0) isr = state.isr.filter((id) => brokers.live(id))
  if (isr.length === 0) isr = [...state.isr]
  let leader = state.leader
  if (leader === -1 || !candidate(leader)) {
    const elected = state.replicas.find((r) => isr.includes(r) && candidate(r))
    if (elected !== undefined) leader = elected
    else if (leader !== -1 && brokers.live(leader)) {
      // A stopping leader with no one to take over keeps leading until it is gone.
    } else if (unclean && state.replicas.some(candidate)) {
      leader = state.replicas.find(candidate)!
      isr = [leader]
    } else leader = -1
  }
  if (leader !== -1 && !isr.includes(leader)) isr = [leader, ...isr]
  return changed(state, leader, isr)
}

/** Leadership back to the preferred replica when it is up and in sync; undefined when not possible or already so. */
export function preferredLeader(state: PartitionState, brokers: BrokerLiveness): PartitionState | undefined {
  const preferred = state.replicas[0]
  if (preferred === undefined || preferred === state.leader) return undefined
  if (!brokers.live(preferred) || brokers.shuttingDown(preferred) || !state.isr.includes(preferred)) return undefined
  return changed(state, preferred, state.isr)
}

/** A partition's first state: the first live replica leads, every live replica is in sync. */
export function initialState(topic: string, topicId: string, partition: number, replicas: number[]): PartitionState {
  return { topic, topicId, partition, replicas, isr: [...replicas], leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0 }
}

function changed(state: PartitionState, leader: number, isr: number[]): PartitionState | undefined {
  const sameIsr = isr.length === state.isr.length && isr.every((id, i) => id === state.isr[i])
  if (leader === state.leader && sameIsr) return undefined
  return {
    ...state,
    leader,
    isr,
    leaderEpoch: leader === state.leader ? state.leaderEpoch : state.leaderEpoch + 1,
    partitionEpoch: state.partitionEpoch + 1,
  }
}
