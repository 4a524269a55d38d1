// Replica placement for new partitions, Kafka's algorithm (AdminUtils.assignReplicasToBrokers):
// partition p's first replica (its preferred leader) is broker (p + start) mod n, so leadership
// spreads evenly; the other replicas follow at a shift that grows every n partitions, so replica
// sets differ as well. With racks, brokers are first ordered so racks alternate, and each further
// replica goes to a rack that holds none of the partition's replicas yet while such a rack exists.

export interface PlacementBroker {
  nodeId: number
  rack: string | null
}

export class ReplicationFactorError extends Error {}

export interface PlacementOptions {
  /** Index of the first partition being placed (CreatePartitions continues a topic). */
  firstPartition?: number
  /** Where the rotation starts; random unless given (tests fix it). */
  startIndex?: number
  /** Shift of the second replica; random unless given. */
  replicaShift?: number
}

/** Replicas for partitions firstPartition .. firstPartition + count - 1, preferred leader first. */
export function assignReplicas(brokers: readonly PlacementBroker[], count: number, replicationFactor: number, opts: PlacementOptions = {}): number[][] {
  if (replicationFactor < 1) throw new ReplicationFactorError('Replication factor must be larger than 0.')
  if (replicationFactor > brokers.length) {
    throw new ReplicationFactorError(`Replication factor: ${replicationFactor} larger than available brokers: ${brokers.length}.`)
  }
  const sorted = [...brokers].sort((a, b) => a.nodeId - b.nodeId)
  const racked = sorted.every((b) => b.rack !== null && b.rack !== '')
  const list = racked ? rackAlternated(sorted) : sorted
  const n = list.length
  const start = opts.startIndex ?? Math.floor(Math.random() * n)
  let shift = opts.replicaShift ?? Math.floor(Math.random() * n)
  const rackCount = new Set(list.map((b) => b.rack)).size
  const out: number[][] = []
  let p = Math.max(0, opts.firstPartition ?? 0)
  for (let i = 0; i < count; i++, p++) {
    if (p > 0 && p % n === 0) shift++
    const first = (p + start) % n
    const replicas = [list[first]!]
    if (!racked) {
      for (let j = 0; j < replicationFactor - 1; j++) replicas.push(list[replicaIndex(first, shift, j, n)]!)
    } else {
      const racks = new Set([list[first]!.rack])
      let k = 0
      while (replicas.length < replicationFactor) {
        const candidate = list[replicaIndex(first, shift, k++, n)]!
        const rackFree = !racks.has(candidate.rack) || racks.size === rackCount
        if (rackFree && !replicas.includes(candidate)) {
          replicas.push(candidate)
          racks.add(candidate.rack)
        }
      }
    }
    out.push(replicas.map((b) => b.nodeId))
  }
  return out
}

function replicaIndex(first: number, shift: number, j: number, n: number): number {
  if (n === 1) return first
  return (first + 1 + ((shift + j) % (n - 1))) % n
}

/** Brokers ordered so consecutive ones are on different racks: a1, b1, c1, a2, b2, ... */
function rackAlternated(brokers: readonly PlacementBroker[]): PlacementBroker[] {
  const byRack = new Map<string, PlacementBroker[]>()
  for (const b of brokers) {
    const list = byRack.get(b.rack!) ?? []
    list.push(b)
    byRack.set(b.rack!, list)
  }
  const racks = [...byRack.keys()].sort()
  const out: PlacementBroker[] = []
  for (let round = 0; out.length < brokers.length; round++) {
    for (const r of racks) {
      const b = byRack.get(r)![round]
      if (b !== undefined) out.push(b)
    }
  }
  return out
}
