// What `samsa groups describe` reports about a group of either kind. A KIP-848 consumer group is
// described with ConsumerGroupDescribe (epochs, subscriptions, assignment and target assignment
// per member); a classic group, or a broker without that API, with DescribeGroups. As Kafka's
// admin client does, ConsumerGroupDescribe goes first and GROUP_ID_NOT_FOUND (not a consumer
// group) falls back to ShareGroupDescribe (share-group-description.ts), then DescribeGroups.
// Committed offsets, log end offsets and lag are the same for consumer and classic groups.

import { KafkaProtocolError, UnsupportedApiError, type AdminClient, type ConsumerGroupDescription, type GroupDescription, type TopicPartitionList } from '../../broker/client/admin-client.js'
import { ErrorCode, type ErrorCodeName } from '../../protocol/errors.js'
import { CliError } from './errors.js'
import { describeShareGroup, shareGroupReport, type ShareGroupReport } from './share-group-description.js'

export interface MemberInfo {
  memberId: string
  clientId: string
  host: string
  assignment: Record<string, number[]>
}

/** A consumer-group member: what classic members show, plus the KIP-848 fields. */
export interface ConsumerMemberInfo extends MemberInfo {
  instanceId: string | null
  memberEpoch: number
  subscribedTopics: string[]
  subscribedTopicRegex: string | null
  targetAssignment: Record<string, number[]>
}

export interface PartitionLag {
  topic: string
  partition: number
  committedOffset: number | null
  logEndOffset: number
  lag: number | null
  memberId: string | null
  clientId: string | null
  host: string | null
}

interface Described {
  group: string
  state: string
  partitions: PartitionLag[]
  totalLag: number
}

export interface ClassicGroupReport extends Described {
  type: 'classic'
  protocolType: string
  protocol: string
  members: MemberInfo[]
}

export interface ConsumerGroupReport extends Described {
  type: 'consumer'
  groupEpoch: number
  assignmentEpoch: number
  assignor: string
  members: ConsumerMemberInfo[]
}

export type GroupReport = ClassicGroupReport | ConsumerGroupReport | ShareGroupReport

/** A Kafka error name as a KafkaProtocolError, whose `type` the CLI explains. */
export function groupError(name: string, context: string): KafkaProtocolError {
  return new KafkaProtocolError(ErrorCode[name as ErrorCodeName] ?? ErrorCode.UNKNOWN_SERVER_ERROR, context)
}

/** The classic group as its coordinator describes it; a coordinator error is thrown. */
export async function describeClassicGroup(admin: AdminClient, groupId: string): Promise<GroupDescription> {
  const description = (await admin.describeGroups([groupId]))[0]
  if (description.error !== null) throw groupError(description.error, `describing group '${groupId}'`)
  return description
}

/** The group as a KIP-848 consumer group, or null when it is not one (or the broker has no such groups). */
export async function describeConsumerGroup(admin: AdminClient, groupId: string): Promise<ConsumerGroupDescription | null> {
  let described: ConsumerGroupDescription
  try {
    described = (await admin.describeConsumerGroups([groupId]))[0]
  } catch (err) {
    if (err instanceof UnsupportedApiError) return null
    throw err
  }
  if (described.error === 'GROUP_ID_NOT_FOUND') return null
  if (described.error !== null) throw groupError(described.error, `describing group '${groupId}'`)
  return described
}

/** Committed offsets for every existing topic the group has touched, plus `extraTopics`. */
export async function committedOffsets(admin: AdminClient, groupId: string, extraTopics: Iterable<string>): Promise<Map<string, Map<number, number>>> {
  const topics = new Set([...(await admin.listTopics()).filter((t) => !t.startsWith('__')), ...extraTopics])
  const result = new Map<string, Map<number, number>>()
  if (topics.size === 0) return result
  for (const c of await admin.fetchOffsets(groupId, null)) {
    if (c.offset < 0 || !topics.has(c.topic)) continue
    let m = result.get(c.topic)
    if (m === undefined) result.set(c.topic, (m = new Map()))
    m.set(c.partition, c.offset)
  }
  return result
}

function byTopic(list: readonly TopicPartitionList[]): Record<string, number[]> {
  return Object.fromEntries(list.map((a) => [a.topic, [...a.partitions].sort((x, y) => x - y)]))
}

function classicMembers(description: GroupDescription): MemberInfo[] {
  return description.members.map((m) => ({
    memberId: m.memberId,
    clientId: m.clientId,
    host: m.clientHost,
    assignment: Object.fromEntries((m.assignment ?? []).map((a) => [a.topic, a.partitions])),
  }))
}

function consumerMembers(description: ConsumerGroupDescription): ConsumerMemberInfo[] {
  return description.members.map((m) => ({
    memberId: m.memberId,
    instanceId: m.instanceId,
    clientId: m.clientId,
    host: m.clientHost,
    memberEpoch: m.memberEpoch,
    subscribedTopics: m.subscribedTopicNames,
    subscribedTopicRegex: m.subscribedTopicRegex,
    assignment: byTopic(m.assignment),
    targetAssignment: byTopic(m.targetAssignment),
  }))
}

/** Committed offset, log end and lag of every partition the group owns or has committed. */
async function partitionLags(admin: AdminClient, groupId: string, members: readonly MemberInfo[]): Promise<{ rows: PartitionLag[]; committed: number }> {
  const owner = new Map<string, MemberInfo>()
  for (const m of members) for (const [t, ps] of Object.entries(m.assignment)) for (const p of ps) owner.set(`${t}/${p}`, m)
  const assignedTopics = new Set(members.flatMap((m) => Object.keys(m.assignment)))
  const committed = await committedOffsets(admin, groupId, assignedTopics)
  const rows: PartitionLag[] = []
  for (const topic of [...new Set([...committed.keys(), ...assignedTopics])].sort()) {
    for (const o of await admin.topicOffsets(topic)) {
      const c = committed.get(topic)?.get(o.partition)
      const m = owner.get(`${topic}/${o.partition}`)
      if (c === undefined && m === undefined) continue
      rows.push({
        topic,
        partition: o.partition,
        committedOffset: c ?? null,
        logEndOffset: o.high,
        lag: c === undefined ? null : Math.max(0, o.high - c),
        memberId: m?.memberId ?? null,
        clientId: m?.clientId ?? null,
        host: m?.host ?? null,
      })
    }
  }
  return { rows, committed: committed.size }
}

/** One group of whichever kind, with its members and per-partition lag. */
export async function describeGroupReport(admin: AdminClient, groupId: string): Promise<GroupReport> {
  const consumer = await describeConsumerGroup(admin, groupId)
  if (consumer !== null) {
    const members = consumerMembers(consumer)
    const { rows } = await partitionLags(admin, groupId, members)
    return {
      group: groupId,
      type: 'consumer',
      state: consumer.state,
      groupEpoch: consumer.groupEpoch,
      assignmentEpoch: consumer.assignmentEpoch,
      assignor: consumer.assignor,
      members,
      partitions: rows,
      totalLag: rows.reduce((n, r) => n + (r.lag ?? 0), 0),
    }
  }
  const share = await describeShareGroup(admin, groupId)
  if (share !== null) return shareGroupReport(admin, share)
  const description = await describeClassicGroup(admin, groupId)
  const members = classicMembers(description)
  const { rows, committed } = await partitionLags(admin, groupId, members)
  if (description.state === 'Dead' && members.length === 0 && committed === 0) throw new CliError(`unknown group '${groupId}'`)
  return {
    group: groupId,
    type: 'classic',
    state: description.state,
    protocolType: description.protocolType,
    protocol: description.protocol,
    members,
    partitions: rows,
    totalLag: rows.reduce((n, r) => n + (r.lag ?? 0), 0),
  }
}

/** `orders:0,1 payments:2`, or '-' for nothing. */
export function assignmentText(assignment: Record<string, number[]>): string {
  return (
    Object.entries(assignment)
      .map(([t, ps]) => `${t}:${[...ps].sort((a, b) => a - b).join(',')}`)
      .join(' ') || '-'
  )
}
