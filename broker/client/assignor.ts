// A partition assignor runs on the group leader: from every member's subscription and the
// partition counts of the subscribed topics it decides who reads what. Its `name` is the
// protocol name members vote for in JoinGroup, so it must match other clients' spelling
// ("range", "cooperative-sticky") for them to share a group.

import type { Subscription, TopicPartitions } from './consumer-protocol.js'

export interface GroupMemberSubscription {
  memberId: string
  /** Kafka sorts members by their static id when they have one. */
  groupInstanceId: string | null
  subscription: Subscription
}

/**
 * Eager: a member gives up all its partitions before every rebalance. Cooperative (KIP-429):
 * members keep what they own across a rebalance; a partition moving between members is first
 * revoked from its owner (which then rejoins) and assigned in a second round.
 */
export type RebalanceProtocol = 'eager' | 'cooperative'

export interface Assignor {
  readonly name: string
  readonly rebalanceProtocol: RebalanceProtocol
  /** Partitions per member id; every member gets an entry, possibly empty. */
  assign(members: readonly GroupMemberSubscription[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartitions>
}

/** Members in the order Kafka's assignors walk them: by static id, else member id. */
export function sortMembers(members: readonly GroupMemberSubscription[]): GroupMemberSubscription[] {
  const key = (m: GroupMemberSubscription) => m.groupInstanceId ?? m.memberId
  return [...members].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}

/** Adds a partition to a member's assignment. */
export function addPartition(assignment: TopicPartitions, topic: string, partition: number): void {
  const list = assignment.get(topic)
  if (list === undefined) assignment.set(topic, [partition])
  else list.push(partition)
}

/** Sorts each topic's partitions and drops empty topics, for stable assignment bytes. */
export function normalize(assignment: TopicPartitions): TopicPartitions {
  const out: TopicPartitions = new Map()
  for (const topic of [...assignment.keys()].sort()) {
    const ps = assignment.get(topic)!
    if (ps.length > 0) out.set(topic, [...ps].sort((a, b) => a - b))
  }
  return out
}
