// Fixtures for the KIP-848 consumer-group tests: a topic catalog the test can change, and a
// simulated consumer that follows the protocol the way a real client does (it drops revoked
// partitions as soon as an answer takes them away, reports what it owns, and adopts the epoch it
// is given), on a coordinator driven by a hand-moved clock.
import { expect } from 'vitest'
import { GroupCoordinator } from '../../../broker/groups/coordinator.js'
import type { ConsumerHeartbeatParams, ConsumerHeartbeatResult, GroupCoordinatorConfig, TopicCatalog } from '../../../broker/groups/types.js'
import { ErrorCode } from '../../../protocol/errors.js'
import { Clock, MemoryOffsetStore } from './helpers.js'

export class MutableCatalog implements TopicCatalog {
  readonly topics = new Map<string, { topicId: string; partitions: number }>()

  add(name: string, partitions: number): string {
    const topicId = `id-${name}-${this.topics.size}`
    this.topics.set(name, { topicId, partitions })
    return topicId
  }

  partitionCount(topic: string): number | undefined {
    return this.topics.get(topic)?.partitions
  }

  topicId(topic: string): string | undefined {
    return this.topics.get(topic)?.topicId
  }

  topicNames(): Iterable<string> {
    return this.topics.keys()
  }
}

export function newConsumerCoordinator(
  clock: Clock,
  catalog: MutableCatalog,
  config: Partial<GroupCoordinatorConfig> = {},
): GroupCoordinator {
  return new GroupCoordinator({
    store: new MemoryOffsetStore(),
    logs: catalog,
    config: { groupInitialRebalanceDelayMs: 0, ...config },
    now: clock.now,
    autoTick: false,
  })
}

export function heartbeat(overrides: Partial<ConsumerHeartbeatParams>): ConsumerHeartbeatParams {
  return {
    groupId: 'g',
    memberId: '',
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30_000,
    subscribedTopicNames: null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: [],
    clientId: 'client',
    clientHost: '/127.0.0.1',
    apiVersion: 1,
    ...overrides,
  }
}

let nextId = 0

/** A consumer as a real client behaves: it owns exactly the last assignment it was given. */
export class SimulatedConsumer {
  readonly memberId: string
  memberEpoch = 0
  /** topicId -> partitions it consumes now. */
  owned = new Map<string, number[]>()
  /** Whether `owned` changed since it last reported it. */
  private dirty = true
  last: ConsumerHeartbeatResult | null = null

  /** A new subscription to send with the next heartbeat. */
  private resubscribe: string[] | null = null

  constructor(
    private readonly coordinator: GroupCoordinator,
    public topics: string[] | null,
    readonly opts: { instanceId?: string; regex?: string; assignor?: string; groupId?: string } = {},
  ) {
    this.memberId = `member-${++nextId}`
  }

  subscribe(topics: string[]): void {
    this.topics = topics
    this.resubscribe = topics
  }

  /** One heartbeat; applies the answer. */
  beat(): ConsumerHeartbeatResult {
    const joining = this.memberEpoch === 0
    const r = this.coordinator.consumerGroupHeartbeat(
      heartbeat({
        groupId: this.opts.groupId ?? 'g',
        memberId: this.memberId,
        memberEpoch: this.memberEpoch,
        instanceId: this.opts.instanceId ?? null,
        rebalanceTimeoutMs: joining ? 30_000 : -1,
        subscribedTopicNames: joining ? this.topics : this.resubscribe,
        subscribedTopicRegex: joining ? (this.opts.regex ?? null) : null,
        serverAssignor: joining ? (this.opts.assignor ?? null) : null,
        topicPartitions: joining ? [] : this.dirty ? this.ownedList() : null,
      }),
    )
    this.last = r
    this.dirty = false
    this.resubscribe = null
    if (r.errorCode === ErrorCode.FENCED_MEMBER_EPOCH || r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
      // The client gives up everything and rejoins.
      this.owned = new Map()
      this.memberEpoch = 0
      this.dirty = true
      return r
    }
    expect(r.errorCode, r.errorMessage ?? '').toBe(ErrorCode.NONE)
    this.memberEpoch = r.memberEpoch
    if (r.assignment !== null) {
      this.owned = new Map(r.assignment.map((t) => [t.topicId, [...t.partitions]]))
      this.dirty = true
    }
    return r
  }

  leave(epoch: -1 | -2 = -1): ConsumerHeartbeatResult {
    const r = this.coordinator.consumerGroupHeartbeat(
      heartbeat({ groupId: this.opts.groupId ?? 'g', memberId: this.memberId, memberEpoch: epoch, instanceId: this.opts.instanceId ?? null, topicPartitions: null }),
    )
    this.owned = new Map()
    return r
  }

  count(): number {
    let n = 0
    for (const ps of this.owned.values()) n += ps.length
    return n
  }

  private ownedList(): Array<{ topicId: string; partitions: number[] }> {
    return [...this.owned].map(([topicId, partitions]) => ({ topicId, partitions }))
  }
}

/**
 * The invariant: no partition is consumed by two members, neither as the clients see it nor in
 * the coordinator's ownership index, and every partition a client consumes is one the coordinator
 * counts as that member's.
 */
export function assertSingleOwnership(coordinator: GroupCoordinator, consumers: readonly SimulatedConsumer[], groupId = 'g'): void {
  const seen = new Map<string, string>()
  const group = coordinator.consumerGroup(groupId)
  for (const c of consumers) {
    for (const [topicId, partitions] of c.owned) {
      for (const p of partitions) {
        const key = `${topicId}\u0000${p}`
        const other = seen.get(key)
        if (other !== undefined) throw new Error(`partition ${topicId}-${p} consumed by ${other} and ${c.memberId}`)
        seen.set(key, c.memberId)
        const serverOwner = group?.ownerOf(topicId, p)
        if (group?.members.has(c.memberId) && serverOwner !== c.memberId) {
          throw new Error(`partition ${topicId}-${p} consumed by ${c.memberId} but owned by ${serverOwner}`)
        }
      }
    }
  }
}

/** Heartbeats every consumer in turn until nothing changes, checking the invariant after each. */
export function settle(coordinator: GroupCoordinator, consumers: readonly SimulatedConsumer[], rounds = 10): void {
  for (let i = 0; i < rounds; i++) {
    for (const c of consumers) {
      c.beat()
      assertSingleOwnership(coordinator, consumers)
    }
  }
}

export { Clock }
