// Partition reassignment as Kafka's controller does it (KIP-455), as pure functions of a
// partition's state. Starting one sets the replicas to the union of the target and the current
// replicas (target first, so the target's first replica becomes the preferred leader) and records
// which replicas are being added and removed: the added ones become followers and catch up. Once
// every target replica is in the ISR, completion sets the replicas to the target, drops the
// removed ones from the ISR, and elects a leader from the target when the current one is leaving;
// the role applier then stops the removed replicas and deletes their logs. Cancelling puts the
// original replicas back (the added ones stop and lose their logs). A new target for a partition
// already moving starts from the original replicas, as Kafka's does.
import type { BrokerLiveness } from './elections.js'
import type { PartitionState } from './partition-state.js'

/** Replicas before the reassignment started: the current ones without those being added. */
export function originalReplicas(s: PartitionState): number[] {
  const adding = s.addingReplicas ?? []
  return s.replicas.filter((id) => !adding.includes(id))
}

export function reassigning(s: PartitionState): boolean {
  return (s.addingReplicas?.length ?? 0) > 0 || (s.removingReplicas?.length ?? 0) > 0
}

/** The state that starts moving `s` to `target` (already checked: non-empty, distinct, registered brokers). */
export function startReassignment(s: PartitionState, target: readonly number[]): PartitionState {
  const original = originalReplicas(s)
  const adding = target.filter((id) => !original.includes(id))
  const removing = original.filter((id) => !target.includes(id))
  const replicas = [...target, ...original.filter((id) => !target.includes(id))]
  const isr = s.isr.filter((id) => replicas.includes(id))
  const next: PartitionState = { ...s, replicas, isr, partitionEpoch: s.partitionEpoch + 1 }
  delete next.addingReplicas
  delete next.removingReplicas
  if (adding.length > 0) next.addingReplicas = adding
  if (removing.length > 0) next.removingReplicas = removing
  return next
}

/** The state with the reassignment cancelled: the original replicas, in their order, and their ISR. */
export function cancelReassignment(s: PartitionState, brokers: BrokerLiveness): PartitionState {
  return settle(s, originalReplicas(s), brokers)
}

/** The state that finishes the reassignment once every target replica is in sync; undefined before. */
export function completeReassignment(s: PartitionState, brokers: BrokerLiveness): PartitionState | undefined {
  if (!reassigning(s)) return undefined
  const removing = s.removingReplicas ?? []
  const target = s.replicas.filter((id) => !removing.includes(id))
  if (!target.every((id) => s.isr.includes(id))) return undefined
  return settle(s, target, brokers)
}

/** Replicas set to `replicas`, the ISR cut to them, and a leader among them when the current one is out. */
function settle(s: PartitionState, replicas: number[], brokers: BrokerLiveness): PartitionState {
  let isr = s.isr.filter((id) => replicas.includes(id))
  let leader = s.leader
  if (!replicas.includes(leader)) {
    const candidate = (id: number) => isr.includes(id) && brokers.live(id) && !brokers.shuttingDown(id)
    leader = replicas.find(candidate) ?? replicas.find((id) => isr.includes(id) && brokers.live(id)) ?? -1
  }
  // An ISR is never empty: with no in-sync replica left among them, the leader (if any) alone.
  if (isr.length === 0 && leader !== -1) isr = [leader]
  const next: PartitionState = {
    ...s,
    replicas,
    isr,
    leader,
    leaderEpoch: leader === s.leader ? s.leaderEpoch : s.leaderEpoch + 1,
    partitionEpoch: s.partitionEpoch + 1,
  }
  delete next.addingReplicas
  delete next.removingReplicas
  return next
}
