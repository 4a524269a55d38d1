// Online conversion between the classic and consumer kinds of a group with members (KIP-848
// upgrade and downgrade, group.consumer.migration.policy). Upgrade: a Stable classic group of the
// "consumer" protocol type becomes a consumer group when a consumer-protocol member joins; each
// classic member keeps its member id, its partitions (from its assignment) and its generation as
// its epoch, and goes on speaking the classic protocol. Downgrade: when the last consumer-protocol
// member leaves a group whose remaining members all speak the classic protocol, the group becomes
// classic again with the members' current assignments and at once prepares a rebalance, so the
// members rejoin the classic way. Empty groups convert whatever the policy (consumer-kind.ts and
// classic-kind.ts do that).
import { ClassicGroup } from './classic-group.js'
import { ClassicMember } from './classic-member.js'
import { EMPTY_ASSIGNMENT } from './consumer-assignment.js'
import { ConsumerGroup } from './consumer-group.js'
import { ConsumerMember } from './consumer-member.js'
import { byTopicId, decodeAssignment, decodeSubscription, encodeAssignment } from './consumer-protocol-bytes.js'
import { CONSUMER_PROTOCOL_TYPE } from './consumer-subscription.js'
import { resolveSubscriptions } from './consumer-target.js'
import type { Group } from './group.js'
import type { ConsumerMigrationPolicy, TopicCatalog } from './types.js'

export function upgradeAllowed(policy: ConsumerMigrationPolicy): boolean {
  return policy === 'upgrade' || policy === 'bidirectional'
}

export function downgradeAllowed(policy: ConsumerMigrationPolicy): boolean {
  return policy === 'downgrade' || policy === 'bidirectional'
}

/** The consumer group a classic group becomes, or null when it cannot be converted now. */
export function classicToConsumer(group: Group, now: number, catalog: TopicCatalog | undefined): ConsumerGroup | null {
  if (!(group instanceof ClassicGroup) || !group.is('Stable') || group.protocolType !== CONSUMER_PROTOCOL_TYPE || group.protocolName === null) return null
  const out = new ConsumerGroup(group.groupId, now)
  try {
    for (const m of group.members.values()) {
      const sub = decodeSubscription(m.metadataFor(group.protocolName))
      const assigned = decodeAssignment(m.assignment)
      if (sub === null || assigned === null) return null
      const member = new ConsumerMember(m.memberId)
      member.instanceId = m.groupInstanceId
      member.clientId = m.clientId
      member.clientHost = m.clientHost
      member.rebalanceTimeoutMs = m.rebalanceTimeoutMs
      member.subscribedTopicNames = sub.topics
      member.rackId = sub.rackId
      member.classic = { sessionTimeoutMs: m.sessionTimeoutMs, protocols: m.protocols, version: sub.version }
      member.sessionDeadline = m.heartbeatDeadline
      out.addMember(member)
      // Throws if the leader handed one partition to two members: such a group is not converted.
      out.setAssignment(member, {
        state: 'stable',
        memberEpoch: group.generationId,
        previousMemberEpoch: -1,
        assigned: byTopicId(assigned, catalog),
        pendingRevocation: EMPTY_ASSIGNMENT,
      })
      out.targetAssignment.set(member.memberId, member.assigned)
    }
  } catch {
    return null
  }
  out.groupEpoch = group.generationId
  out.assignmentEpoch = group.generationId
  out.subscriptionMetadata = resolveSubscriptions(out, catalog)
  for (const [name, t] of out.subscriptionMetadata) out.topicNames.set(t.topicId, name)
  return out
}

/** Whether the group has members and all of them speak the classic protocol. */
export function onlyClassicMembers(group: ConsumerGroup): boolean {
  if (group.members.size === 0) return false
  for (const m of group.members.values()) if (m.classic === null) return false
  return true
}

/**
 * The classic group (state Stable, at the group epoch) a consumer group of classic members
 * becomes; null when the members share no protocol (the group then stays a consumer group).
 */
export function consumerToClassic(group: ConsumerGroup, now: number): ClassicGroup | null {
  const out = new ClassicGroup(group.groupId, now)
  for (const m of group.members.values()) {
    const classic = m.classic!
    const member = new ClassicMember(
      m.memberId,
      m.instanceId,
      m.clientId,
      m.clientHost,
      m.rebalanceTimeoutMs,
      classic.sessionTimeoutMs,
      CONSUMER_PROTOCOL_TYPE,
      classic.protocols,
    )
    member.assignment = encodeAssignment(m.assigned, group.topicNames, classic.version)
    member.heartbeatDeadline = m.sessionDeadline
    out.add(member, null)
  }
  const members = [...out.members.values()]
  const shared = members.length > 0 && members[0]!.protocols.some((p) => members.every((m) => m.protocols.some((q) => q.name === p.name)))
  if (!shared) return null
  out.generationId = group.groupEpoch
  out.protocolName = out.selectProtocol()
  out.state = 'Stable'
  return out
}
