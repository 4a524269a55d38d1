// Classic and consumer-protocol members sharing one group (KIP-848 online upgrade and downgrade):
// a classic group with members becomes a consumer group when a consumer-protocol member joins,
// its classic members keep working through JoinGroup/SyncGroup/Heartbeat, and it becomes classic
// again when the last consumer-protocol member leaves. The ownership invariant is checked across
// both kinds of member at every step.
import { beforeEach, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../protocol/errors.js'
import type { GroupCoordinator } from '../../../broker/groups/coordinator.js'
import type { ConsumerMigrationPolicy } from '../../../broker/groups/types.js'
import { Clock, heartbeat, MutableCatalog, newConsumerCoordinator, SimulatedConsumer } from './consumer-helpers.js'
import { join, subscription } from './helpers.js'
import { assignedPartitions, assignmentBytes } from '../../helpers/group-wire.js'

let clock: Clock
let catalog: MutableCatalog
let c: GroupCoordinator

/** An eager classic consumer (kafkajs-like): it gives up everything before it rejoins. */
class ClassicConsumer {
  memberId = ''
  generationId = -1
  owned: number[] = []

  async join(leaderAssigns = false): Promise<number> {
    this.owned = []
    const p = c.joinGroup(join({ memberId: this.memberId, protocols: [{ name: 'range', metadata: subscription(['t']) }] }))
    c.tick()
    const r = await p
    if (r.errorCode !== ErrorCode.NONE) return r.errorCode
    this.memberId = r.memberId
    this.generationId = r.generationId
    const isLeader = r.leader === this.memberId
    const s = await c.syncGroup({
      groupId: 'g',
      generationId: r.generationId,
      memberId: this.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: r.protocolName,
      assignments: isLeader && leaderAssigns ? [{ memberId: this.memberId, assignment: assignmentBytes({ t: [0, 1, 2, 3, 4, 5] }) }] : [],
    })
    if (s.errorCode !== ErrorCode.NONE) return s.errorCode
    this.owned = assignedPartitions(s.assignment)['t'] ?? []
    return ErrorCode.NONE
  }

  /** A heartbeat; on REBALANCE_IN_PROGRESS it rejoins at once. */
  async beat(): Promise<number> {
    const e = c.heartbeat({ groupId: 'g', generationId: this.generationId, memberId: this.memberId, groupInstanceId: null })
    if (e === ErrorCode.REBALANCE_IN_PROGRESS) return this.join(true)
    return e
  }
}

function assertDisjoint(classic: ClassicConsumer[], consumers: SimulatedConsumer[]): void {
  const seen = new Set<number>()
  const tid = catalog.topicId('t')!
  const all = [...classic.map((m) => m.owned), ...consumers.map((m) => m.owned.get(tid) ?? [])]
  for (const owned of all) {
    for (const p of owned) {
      expect(seen.has(p), `partition ${p} owned twice`).toBe(false)
      seen.add(p)
    }
  }
}

async function settleAll(classic: ClassicConsumer[], consumers: SimulatedConsumer[]): Promise<void> {
  for (let i = 0; i < 6; i++) {
    for (const m of classic) {
      expect(await m.beat()).toBe(ErrorCode.NONE)
      assertDisjoint(classic, consumers)
    }
    for (const m of consumers) {
      m.beat()
      assertDisjoint(classic, consumers)
    }
  }
}

function setup(policy: ConsumerMigrationPolicy = 'bidirectional'): void {
  clock = new Clock()
  catalog = new MutableCatalog()
  catalog.add('t', 6)
  c = newConsumerCoordinator(clock, catalog, { consumerMigrationPolicy: policy })
}

describe('mixed classic and consumer-protocol members', () => {
  beforeEach(() => setup())

  it('upgrades online, shares the partitions, and downgrades when the consumer member leaves', async () => {
    const a = new ClassicConsumer()
    expect(await a.join(true)).toBe(ErrorCode.NONE)
    expect(a.owned).toEqual([0, 1, 2, 3, 4, 5])
    expect(c.listGroups()[0]!.groupType).toBe('classic')

    const b = new SimulatedConsumer(c, ['t'])
    b.beat()
    expect(c.listGroups()[0]!.groupType).toBe('consumer')
    expect(b.count()).toBe(0) // a still owns everything
    assertDisjoint([a], [b])
    await settleAll([a], [b])
    expect(a.owned.length).toBe(3)
    expect(b.count()).toBe(3)
    const group = c.consumerGroup('g')!
    expect(group.state).toBe('Stable')
    expect(c.consumerGroupDescribe(['g'])[0]!.members.length).toBe(2)

    // A classic member commits with its epoch as the generation.
    const commit = await c.commitOffsets({
      groupId: 'g',
      generationId: a.generationId,
      memberId: a.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      reportUnknownGroup: false,
      apiVersion: 8,
      topics: [{ name: 't', partitions: [{ partitionIndex: a.owned[0]!, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
    })
    expect(commit[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE)

    // A second classic member joins the consumer group.
    const d = new ClassicConsumer()
    expect(await d.join()).toBe(ErrorCode.NONE)
    await settleAll([a, d], [b])
    expect([a.owned.length, d.owned.length, b.count()]).toEqual([2, 2, 2])

    // The last consumer-protocol member leaves: the group is classic again and rebalances.
    b.leave()
    expect(c.listGroups()[0]!.groupType).toBe('classic')
    expect(c.group('g')!.state).toBe('PreparingRebalance')
    const rejoinA = a.beat()
    const rejoinD = d.beat()
    expect(await rejoinA).toBe(ErrorCode.NONE)
    expect(await rejoinD).toBe(ErrorCode.NONE)
    expect(c.group('g')!.state).toBe('Stable')
    assertDisjoint([a, d], [])
  })

  it('a classic member that leaves hands its partitions to the others', async () => {
    const a = new ClassicConsumer()
    await a.join(true)
    const b = new SimulatedConsumer(c, ['t'])
    b.beat()
    await settleAll([a], [b])
    const left = c.leaveGroup('g', [{ memberId: a.memberId, groupInstanceId: null }])
    expect(left.members[0]!.errorCode).toBe(ErrorCode.NONE)
    a.owned = []
    await settleAll([], [b])
    expect(b.count()).toBe(6)
    expect(c.listGroups()[0]!.groupType).toBe('consumer')
  })

  it('a classic member heartbeating an old generation is told ILLEGAL_GENERATION', async () => {
    const a = new ClassicConsumer()
    await a.join(true)
    new SimulatedConsumer(c, ['t']).beat()
    expect(c.heartbeat({ groupId: 'g', generationId: a.generationId + 5, memberId: a.memberId, groupInstanceId: null })).toBe(ErrorCode.ILLEGAL_GENERATION)
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: 'nobody', groupInstanceId: null })).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
  })
})

describe('group.consumer.migration.policy', () => {
  it('disabled: a classic group with members stays classic', async () => {
    setup('disabled')
    const a = new ClassicConsumer()
    await a.join(true)
    const r = c.consumerGroupHeartbeat(heartbeat({ memberId: 'x', subscribedTopicNames: ['t'] }))
    expect(r.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
    expect(c.group('g')!.members.size).toBe(1)
  })

  it('upgrade only: the group stays a consumer group when the consumer member leaves', async () => {
    setup('upgrade')
    const a = new ClassicConsumer()
    await a.join(true)
    const b = new SimulatedConsumer(c, ['t'])
    b.beat()
    await settleAll([a], [b])
    b.leave()
    expect(c.listGroups()[0]!.groupType).toBe('consumer')
    await settleAll([a], [])
    expect(a.owned.length).toBe(6)
  })
})

describe('downgrade needs a shared protocol', () => {
  it('classic members with no protocol in common keep the group a consumer group', async () => {
    setup()
    const a = new ClassicConsumer()
    await a.join(true)
    const b = new SimulatedConsumer(c, ['t'])
    b.beat()
    const other = await c.joinGroup(join({ protocols: [{ name: 'roundrobin', metadata: subscription(['t']) }] }))
    expect(other.errorCode).toBe(ErrorCode.NONE)
    b.leave()
    expect(c.listGroups()[0]!.groupType).toBe('consumer')
    expect(c.consumerGroup('g')!.members.size).toBe(2)
  })
})
