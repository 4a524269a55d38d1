// Which replica a consumer should fetch a partition from (KIP-392), chosen by the partition's
// leader under replica.selector.class. Without a selector every consumer reads from the leader.
// With Kafka's RackAwareReplicaSelector, a consumer that names its rack (Fetch v11 rack_id, the
// client's client.rack) is sent to a replica in that rack: the leader when it is there, else the
// most caught-up replica there (largest log end offset, then the most recently caught up, then the
// largest node id); a consumer in a rack without a replica, or naming none, stays on the leader.
//
// The candidates are the leader's business (LeaderPartition.readReplicaCandidates): as in Kafka,
// only in-sync followers whose log holds the fetch offset, so a consumer is never sent to a replica
// that lags behind the one it came from.

/** Kafka's class name for the rack-aware selector, accepted as replica.selector.class. */
export const RACK_AWARE_REPLICA_SELECTOR = 'org.apache.kafka.common.replica.RackAwareReplicaSelector'

/** One replica as the selector sees it. */
export interface ReplicaView {
  nodeId: number
  rack: string | null
  logEndOffset: number
  /** Milliseconds since the replica last caught up with the leader's log end (0 for the leader). */
  timeSinceLastCaughtUpMs: number
}

export interface ReplicaSelector {
  /** The replica the consumer in `clientRack` ('' when it names none) should read from. */
  select(clientRack: string, leader: ReplicaView, candidates: readonly ReplicaView[]): ReplicaView
}

const rackAware: ReplicaSelector = {
  select(clientRack, leader, candidates) {
    if (clientRack === '') return leader
    if (leader.rack === clientRack) return leader
    let best: ReplicaView | undefined
    for (const r of candidates) {
      if (r.rack !== clientRack) continue
      if (best === undefined || mostCaughtUp(r, best) > 0) best = r
    }
    return best ?? leader
  },
}

/** Positive when `a` is more caught up than `b` (Kafka's ReplicaView comparator). */
function mostCaughtUp(a: ReplicaView, b: ReplicaView): number {
  if (a.logEndOffset !== b.logEndOffset) return a.logEndOffset - b.logEndOffset
  if (a.timeSinceLastCaughtUpMs !== b.timeSinceLastCaughtUpMs) return b.timeSinceLastCaughtUpMs - a.timeSinceLastCaughtUpMs
  return a.nodeId - b.nodeId
}

/**
 * The selector replica.selector.class names: undefined for none (every consumer reads from the
 * leader); throws for a class Samsa does not implement, as Kafka fails to start on one it cannot load.
 */
export function replicaSelectorFor(className: string): ReplicaSelector | undefined {
  const name = className.trim()
  if (name === '') return undefined
  if (name === RACK_AWARE_REPLICA_SELECTOR) return rackAware
  throw new Error(`replica.selector.class: unknown selector ${name}; use ${RACK_AWARE_REPLICA_SELECTOR} or leave it unset`)
}
