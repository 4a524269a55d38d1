// What `samsa groups describe` reports about a share group (KIP-932): its members with their
// epochs, subscriptions and assignments (ShareGroupDescribe; every member of a share group may be
// assigned the same partition), and per partition the share-partition start offset
// (DescribeShareGroupOffsets), the log end offset and the lag between them: records not yet
// acknowledged, those in flight (acquired by a member) included. How many records are acquired
// and how many wait inside the window to be delivered again come from Samsa's own tagged field on
// DescribeShareGroupOffsets (protocol/samsa-share-in-flight.ts); a broker without it, or a
// partition without state, shows none.

import { KafkaProtocolError, UnsupportedApiError, type AdminClient, type ShareGroupDescription, type ShareStartOffset } from '../../broker/client/admin-client.js'
import { ErrorCode, type ErrorCodeName } from '../../protocol/errors.js'

export interface ShareMemberInfo {
  memberId: string
  clientId: string
  host: string
  rackId: string | null
  memberEpoch: number
  subscribedTopics: string[]
  assignment: Record<string, number[]>
}

export interface SharePartitionLag {
  topic: string
  partition: number
  /** Null when the partition has no share state yet (nobody has read it in this group). */
  startOffset: number | null
  logEndOffset: number
  lag: number | null
  /** Records acquired by members and not yet acknowledged; null when unknown (no state, or not sent). */
  inFlight: number | null
  /** Records inside the window waiting to be delivered again; null when unknown. */
  available: number | null
  /** How many members are assigned the partition. */
  members: number
}

export interface ShareGroupReport {
  group: string
  type: 'share'
  state: string
  groupEpoch: number
  assignmentEpoch: number
  assignor: string
  members: ShareMemberInfo[]
  partitions: SharePartitionLag[]
  totalLag: number
}

/** The group as a share group, or null when it is not one (or the broker has no share groups). */
export async function describeShareGroup(admin: AdminClient, groupId: string): Promise<ShareGroupDescription | null> {
  let described: ShareGroupDescription
  try {
    described = (await admin.describeShareGroups([groupId]))[0]
  } catch (err) {
    if (err instanceof UnsupportedApiError) return null
    throw err
  }
  if (described.error === 'GROUP_ID_NOT_FOUND') return null
  if (described.error !== null) throw new KafkaProtocolError(ErrorCode[described.error as ErrorCodeName] ?? ErrorCode.UNKNOWN_SERVER_ERROR, `describing group '${groupId}'`)
  return described
}

/** Start offsets of every partition the group has share state for, by topic. */
export async function shareStartOffsets(admin: AdminClient, groupId: string, topics: readonly string[] | null = null): Promise<Map<string, Map<number, number>>> {
  const out = new Map<string, Map<number, number>>()
  for (const [topic, ps] of await sharePartitionStates(admin, groupId, topics)) out.set(topic, new Map([...ps].map(([p, o]) => [p, o.startOffset])))
  return out
}

/** Start offset, and in-flight counts when the broker sends them, of every partition with share state, by topic. */
async function sharePartitionStates(admin: AdminClient, groupId: string, topics: readonly string[] | null = null): Promise<Map<string, Map<number, ShareStartOffset>>> {
  const out = new Map<string, Map<number, ShareStartOffset>>()
  for (const o of await admin.describeShareGroupOffsets(groupId, topics)) {
    if (o.error !== null || o.startOffset < 0) continue
    let m = out.get(o.topic)
    if (m === undefined) out.set(o.topic, (m = new Map()))
    m.set(o.partition, o)
  }
  return out
}

export async function shareGroupReport(admin: AdminClient, d: ShareGroupDescription): Promise<ShareGroupReport> {
  const members: ShareMemberInfo[] = d.members.map((m) => ({
    memberId: m.memberId,
    clientId: m.clientId,
    host: m.clientHost,
    rackId: m.rackId,
    memberEpoch: m.memberEpoch,
    subscribedTopics: m.subscribedTopicNames,
    assignment: Object.fromEntries(m.assignment.map((a) => [a.topic, a.partitions])),
  }))
  const assigned = new Map<string, number>()
  for (const m of members) for (const [t, ps] of Object.entries(m.assignment)) for (const p of ps) assigned.set(`${t}/${p}`, (assigned.get(`${t}/${p}`) ?? 0) + 1)
  const starts = await sharePartitionStates(admin, d.groupId)
  const topics = [...new Set([...starts.keys(), ...members.flatMap((m) => Object.keys(m.assignment))])].sort()
  const partitions: SharePartitionLag[] = []
  for (const topic of topics) {
    for (const o of await admin.topicOffsets(topic)) {
      const state = starts.get(topic)?.get(o.partition)
      const n = assigned.get(`${topic}/${o.partition}`) ?? 0
      if (state === undefined && n === 0) continue
      partitions.push({
        topic,
        partition: o.partition,
        startOffset: state?.startOffset ?? null,
        logEndOffset: o.high,
        lag: state === undefined ? null : Math.max(0, o.high - state.startOffset),
        inFlight: state?.inFlight?.acquired ?? null,
        available: state?.inFlight?.available ?? null,
        members: n,
      })
    }
  }
  return {
    group: d.groupId,
    type: 'share',
    state: d.state,
    groupEpoch: d.groupEpoch,
    assignmentEpoch: d.assignmentEpoch,
    assignor: d.assignor,
    members,
    partitions,
    totalLag: partitions.reduce((n, r) => n + (r.lag ?? 0), 0),
  }
}
