// The consumer group's target assignment (KIP-848): which topics the members' subscriptions resolve
// to right now, and the assignment the group's server assignor computes for them. Kafka bumps the
// group epoch when the subscribed topics' metadata changes (partitions added, a topic deleted or
// recreated, a regex resolved to other topics); `resolveSubscriptions` gives what the comparison
// needs. The assignor is the one most members ask for, else the broker's first.
import { EMPTY_ASSIGNMENT } from './consumer-assignment.js'
import type { ConsumerGroup, TopicMetadata } from './consumer-group.js'
import type { ConsumerMember } from './consumer-member.js'
import type { AssignorMember, ServerAssignor } from './assignors/assignor.js'
import type { TopicCatalog } from './types.js'

/**
 * The existing topics any member subscribes to, by name or through its regex as last resolved
 * (a regex not resolved yet contributes nothing; see consumer-regex.ts).
 */
export function resolveSubscriptions(group: ConsumerGroup, catalog: TopicCatalog | undefined): Map<string, TopicMetadata> {
  const out = new Map<string, TopicMetadata>()
  if (catalog?.topicId === undefined) return out
  const add = (name: string): void => {
    if (out.has(name)) return
    const topicId = catalog.topicId!(name)
    const partitions = catalog.partitionCount(name)
    if (topicId !== undefined && partitions !== undefined) out.set(name, { topicId, partitions })
  }
  for (const m of group.members.values()) {
    for (const name of m.subscribedTopicNames) add(name)
    if (m.subscribedTopicRegex !== null) for (const name of group.regexes.topics.get(m.subscribedTopicRegex) ?? []) add(name)
  }
  return out
}

export function sameMetadata(a: ReadonlyMap<string, TopicMetadata>, b: ReadonlyMap<string, TopicMetadata>): boolean {
  if (a.size !== b.size) return false
  for (const [name, t] of a) {
    const u = b.get(name)
    if (u === undefined || u.topicId !== t.topicId || u.partitions !== t.partitions) return false
  }
  return true
}

/** Bumps the group epoch and computes the target assignment at it. */
export function bumpGroupEpoch(group: ConsumerGroup, catalog: TopicCatalog | undefined, assignors: readonly ServerAssignor[]): void {
  group.groupEpoch++
  const metadata = resolveSubscriptions(group, catalog)
  group.subscriptionMetadata = metadata
  for (const [name, t] of metadata) group.topicNames.set(t.topicId, name)
  const assignor = chooseAssignor(group, assignors)
  const topics = new Map<string, number>()
  for (const t of metadata.values()) topics.set(t.topicId, t.partitions)
  const members: AssignorMember[] = [...group.members.values()].map((m) => ({
    memberId: m.memberId,
    rackId: m.rackId,
    topicIds: topicIdsOf(group, m, metadata),
    previous: group.targetOf(m.memberId),
  }))
  const target = assignor.assign(members, topics)
  group.targetAssignment.clear()
  for (const m of members) group.targetAssignment.set(m.memberId, target.get(m.memberId) ?? EMPTY_ASSIGNMENT)
  group.assignmentEpoch = group.groupEpoch
  group.assignorName = assignor.name
}

function topicIdsOf(group: ConsumerGroup, m: ConsumerMember, metadata: ReadonlyMap<string, TopicMetadata>): Set<string> {
  const ids = new Set<string>()
  const add = (name: string): void => {
    const t = metadata.get(name)
    if (t !== undefined) ids.add(t.topicId)
  }
  for (const name of m.subscribedTopicNames) add(name)
  if (m.subscribedTopicRegex !== null) for (const name of group.regexes.topics.get(m.subscribedTopicRegex) ?? []) add(name)
  return ids
}

function chooseAssignor(group: ConsumerGroup, assignors: readonly ServerAssignor[]): ServerAssignor {
  const votes = new Map<string, number>()
  for (const m of group.members.values()) if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1)
  let best = assignors[0]!
  let bestVotes = 0
  for (const a of assignors) {
    const n = votes.get(a.name) ?? 0
    if (n > bestVotes) {
      best = a
      bestVotes = n
    }
  }
  return best
}
