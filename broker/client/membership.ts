// What the consumer needs from its group, whichever protocol the group speaks: the classic one
// (JoinGroup and SyncGroup rounds, group-member.ts) or KIP-848's (ConsumerGroupHeartbeat,
// consumer-group-member.ts). Kafka's consumer splits the same way: ClassicKafkaConsumer with its
// ConsumerCoordinator, AsyncKafkaConsumer with its ConsumerMembershipManager.
//
// A membership learns in the background that the group moved (a rebalance began, an assignment
// arrived, the member was fenced) and only says so. The consumer's poll then calls rebalance(),
// and the membership moves partitions through the PartitionOwner: revoked ones are committed and
// given up before anything is acknowledged to the group, new ones start at their committed offsets.

import { fetchOffsets, type TopicPartitionOffset } from './admin-groups.js'
import type { Cluster } from './cluster.js'
import type { TopicPartitions } from './consumer-protocol.js'

/** Committed offset per partition per topic; partitions without one are absent. */
export type CommittedOffsets = Map<string, Map<number, number>>

/** classic: JoinGroup/SyncGroup with client-side assignors; consumer: KIP-848, assigned by the broker. */
export type GroupProtocol = 'classic' | 'consumer'

/** Who the member is in the group, as Kafka's ConsumerGroupMetadata. */
export interface GroupMetadata {
  groupId: string
  /** The classic generation, or the KIP-848 member epoch. */
  generationId: number
  memberId: string
  groupInstanceId: string | null
}

/** The consumer's side of a rebalance. */
export interface PartitionOwner {
  /** What the member reads (or has paused) now. */
  owned(): TopicPartitions
  /** Commits the positions (with auto-commit), stops reading, then reports the partitions revoked. */
  revoke(partitions: TopicPartitions): Promise<void>
  /** Stops reading partitions that already belong to someone else: nothing is committed. */
  lose(partitions: TopicPartitions): void
  /** Starts reading at the committed offsets, else the reset policy. */
  start(partitions: TopicPartitions): Promise<void>
  /** After each completed step, with the generation (or member epoch) the assignment belongs to. */
  joined(generationId: number): void
}

export interface Membership {
  readonly groupId: string
  readonly protocol: GroupProtocol
  /** A failure nothing recovers from, thrown from the next poll. */
  readonly fatal: Error | null
  /** The group moved on: the next poll must call rebalance(). */
  readonly rebalanceNeeded: boolean
  subscribe(subscription: Subscription): void
  /** Moves the member to its next assignment, revoking first. */
  rebalance(owner: PartitionOwner): Promise<void>
  /** Commits as the current generation or member epoch. */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>
  committed(partitions: TopicPartitions): Promise<CommittedOffsets>
  metadata(): GroupMetadata
  /** Called whenever rebalanceNeeded becomes true (or a fatal error is set); null stops it. */
  whenRebalanceNeeded(fn: (() => void) | null): void
  /** Stops a rebalance that waits on the coordinator; the member stays to leave. */
  abandonJoin(): void
  /** Leaves the group and closes the member's connections. */
  leave(): Promise<void>
}

/** Topic names, or (KIP-848 only) a regular expression the broker matches against topic names. */
export type Subscription = { topics: readonly string[] } | { regex: string }

/** Partitions in `a` but not in `b`. */
export function minus(a: TopicPartitions, b: TopicPartitions): TopicPartitions {
  const out: TopicPartitions = new Map()
  for (const [topic, ps] of a) {
    const other = b.get(topic) ?? []
    const left = ps.filter((p) => !other.includes(p))
    if (left.length > 0) out.set(topic, left)
  }
  return out
}

/** The group's committed offsets of these partitions (OffsetFetch), without retries. */
export async function fetchCommitted(cluster: Cluster, groupId: string, partitions: TopicPartitions): Promise<CommittedOffsets> {
  const out: CommittedOffsets = new Map()
  for (const c of await fetchOffsets(cluster, groupId, [...partitions.keys()])) {
    if (c.offset < 0 || !partitions.get(c.topic)?.includes(c.partition)) continue
    let m = out.get(c.topic)
    if (m === undefined) out.set(c.topic, (m = new Map()))
    m.set(c.partition, c.offset)
  }
  return out
}
