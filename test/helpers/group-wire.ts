// Consumer-group requests at exact versions over the project's client connection, for tests that
// play a member no real client would (one that joins and then goes silent) or that look at a
// group from outside. Every call opens its own connection: a JoinGroup or SyncGroup may park for
// a whole rebalance, and a request behind it on the same connection would wait with it. The
// member metadata and assignments are the client's consumer-protocol codecs.
import type { ApiDescriptor } from '../../protocol/types.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import { decodeAssignment, encodeAssignment, encodeSubscription } from '../../broker/client/consumer-protocol.js'
import { DescribeGroupsApi } from '../../protocol/generated/describe-groups.js'
import { HeartbeatApi } from '../../protocol/generated/heartbeat.js'
import { JoinGroupApi, type JoinGroupResponse } from '../../protocol/generated/join-group.js'
import { SyncGroupApi, type SyncGroupResponse } from '../../protocol/generated/sync-group.js'
import { ErrorCode } from '../../protocol/errors.js'

async function once<Req, Res>(address: string, api: ApiDescriptor<Req, Res>, version: number, body: Req, timeoutMs = 60_000): Promise<Res> {
  const c = await BrokerConnection.connect(address, { clientId: 'samsa-wire-test', connectTimeoutMs: 10_000, requestTimeoutMs: timeoutMs })
  try {
    return await c.request(api, version, body)
  } finally {
    c.close()
  }
}

/** ConsumerProtocolSubscription v0 bytes (int16 version prefix), what kafkajs and Kafka 2.3 send. */
export function subscriptionBytes(topics: string[]): Uint8Array {
  return encodeSubscription({ topics, ownedPartitions: new Map(), generationId: -1, userData: null }, 0)
}

export function assignmentBytes(assigned: Record<string, number[]>): Uint8Array {
  return encodeAssignment(new Map(Object.entries(assigned)), 0)
}

/** Partitions per topic of a ConsumerProtocolAssignment; empty bytes mean nothing assigned. */
export function assignedPartitions(bytes: Uint8Array): Record<string, number[]> {
  return Object.fromEntries(decodeAssignment(bytes))
}

export interface DescribedMember {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  /** Decoded from the member's assignment; filled only when the group is Stable. */
  assignment: Record<string, number[]>
}

export interface DescribedGroup {
  errorCode: number
  state: string
  protocolType: string
  protocol: string
  members: DescribedMember[]
}

/** DescribeGroups v4 (the first version with group.instance.id) for one group. */
export async function describeGroup(address: string, groupId: string): Promise<DescribedGroup> {
  const res = await once(address, DescribeGroupsApi, 4, { groups: [groupId], includeAuthorizedOperations: false })
  const g = res.groups[0]
  if (!g) throw new Error(`DescribeGroups answered no group for ${groupId}`)
  return {
    errorCode: g.errorCode,
    state: g.groupState,
    protocolType: g.protocolType,
    protocol: g.protocolData,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      assignment: g.protocolType === 'consumer' ? assignedPartitions(m.memberAssignment) : {},
    })),
  }
}

export interface WireMemberOptions {
  groupId: string
  topics: string[]
  /** Must be one the real clients in the group also offer, e.g. kafkajs's "RoundRobinAssigner". */
  protocolName: string
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  groupInstanceId?: string | null
}

/**
 * A group member driven request by request. Nothing happens behind the test's back: no
 * heartbeats unless `heartbeat()` is called, no SyncGroup unless `sync()` is called.
 */
export class WireMember {
  memberId = ''
  generationId = -1
  leader = ''
  /** The member metadata the leader received, when this member led the last join. */
  members: JoinGroupResponse['members'] = []

  constructor(
    private readonly address: string,
    readonly opts: WireMemberOptions,
  ) {}

  /**
   * JoinGroup v5; a new member retries once with the id handed out by MEMBER_ID_REQUIRED.
   * Resolves with the final response, whatever its error code.
   */
  async join(timeoutMs = 60_000): Promise<JoinGroupResponse> {
    for (let attempt = 0; ; attempt++) {
      const res = await once(
        this.address,
        JoinGroupApi,
        5,
        {
          groupId: this.opts.groupId,
          sessionTimeoutMs: this.opts.sessionTimeoutMs,
          rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs,
          memberId: this.memberId,
          groupInstanceId: this.opts.groupInstanceId ?? null,
          protocolType: 'consumer',
          protocols: [{ name: this.opts.protocolName, metadata: subscriptionBytes(this.opts.topics) }],
          reason: null,
        },
        timeoutMs,
      )
      if (res.errorCode === ErrorCode.MEMBER_ID_REQUIRED && attempt === 0) {
        this.memberId = res.memberId
        continue
      }
      if (res.errorCode === ErrorCode.NONE) {
        this.memberId = res.memberId
        this.generationId = res.generationId
        this.leader = res.leader
        this.members = res.members
      }
      return res
    }
  }

  async sync(assignments: Array<{ memberId: string; assignment: Uint8Array }> = []): Promise<SyncGroupResponse> {
    return once(this.address, SyncGroupApi, 3, {
      groupId: this.opts.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.opts.groupInstanceId ?? null,
      protocolType: null,
      protocolName: null,
      assignments,
    })
  }

  async heartbeat(): Promise<number> {
    const res = await once(this.address, HeartbeatApi, 3, {
      groupId: this.opts.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.opts.groupInstanceId ?? null,
    })
    return res.errorCode
  }
}
