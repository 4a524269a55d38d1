// Offsets of KIP-848 consumer groups (member epochs on OffsetCommit, OffsetFetch, TxnOffsetCommit)
// and what the shell does for them: conversion of empty groups between the classic and consumer
// kinds, ListGroups and DescribeGroups, DeleteGroups and OffsetDelete.
import { beforeEach, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../protocol/errors.js'
import type { GroupCoordinator } from '../../../broker/groups/coordinator.js'
import type { OffsetCommitParams } from '../../../broker/groups/types.js'
import { Clock, heartbeat, MutableCatalog, newConsumerCoordinator, settle, SimulatedConsumer } from './consumer-helpers.js'
import { join, resolvedNow } from './helpers.js'

let clock: Clock
let catalog: MutableCatalog
let c: GroupCoordinator

beforeEach(() => {
  clock = new Clock()
  catalog = new MutableCatalog()
  catalog.add('t', 2)
  catalog.add('other', 1)
  c = newConsumerCoordinator(clock, catalog)
})

function commit(overrides: Partial<OffsetCommitParams>): OffsetCommitParams {
  return {
    groupId: 'g',
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    reportUnknownGroup: true,
    apiVersion: 9,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 10, committedLeaderEpoch: -1, committedMetadata: null }] }],
    ...overrides,
  }
}

const firstError = (r: Array<{ partitions: Array<{ errorCode: number }> }>) => r[0]!.partitions[0]!.errorCode

describe('consumer-group offsets', () => {
  it('OffsetCommit checks the member epoch', async () => {
    const a = new SimulatedConsumer(c, ['t'])
    a.beat()
    expect(firstError(await c.commitOffsets(commit({ memberId: a.memberId, generationId: a.memberEpoch })))).toBe(ErrorCode.NONE)
    expect(firstError(await c.commitOffsets(commit({ memberId: a.memberId, generationId: a.memberEpoch + 1 })))).toBe(ErrorCode.STALE_MEMBER_EPOCH)
    expect(firstError(await c.commitOffsets(commit({ memberId: 'stranger', generationId: 1 })))).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    expect(firstError(await c.commitOffsets(commit({ memberId: a.memberId, generationId: a.memberEpoch, apiVersion: 8 })))).toBe(
      ErrorCode.UNSUPPORTED_VERSION,
    )
    // Without member id and epoch, only an empty group takes commits.
    expect(firstError(await c.commitOffsets(commit({})))).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    a.leave()
    expect(firstError(await c.commitOffsets(commit({})))).toBe(ErrorCode.NONE)
  })

  it('a commit at the epoch before a heartbeat answer moved the member passes for the partitions it owned since then (KIP-1251)', async () => {
    const a = new SimulatedConsumer(c, ['t'])
    a.beat()
    const before = a.memberEpoch
    expect(a.count()).toBe(2)
    // b joins: a gives one partition up and both move to a later epoch.
    const b = new SimulatedConsumer(c, ['t'])
    b.beat()
    settle(c, [a, b])
    expect(a.memberEpoch).toBeGreaterThan(before)
    expect([a.count(), b.count()]).toEqual([1, 1])
    const kept = [...a.owned.values()][0]![0]!
    const given = 1 - kept
    const at = (offset: number, ...partitions: number[]) => [
      { name: 't', partitions: partitions.map((partitionIndex) => ({ partitionIndex, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null })) },
    ]
    const errors = (r: Array<{ partitions: Array<{ errorCode: number }> }>) => r[0]!.partitions.map((x) => x.errorCode)
    // a, still at its earlier epoch (the answer that moved it has not reached it): the partition it
    // kept passes, the one it gave up does not.
    expect(errors(await c.commitOffsets(commit({ memberId: a.memberId, generationId: before, topics: at(5, kept, given) })))).toEqual([
      ErrorCode.NONE,
      ErrorCode.STALE_MEMBER_EPOCH,
    ])
    // b was given its partition after that epoch: a commit of it at that epoch is refused, at b's own it passes.
    expect(errors(await c.commitOffsets(commit({ memberId: b.memberId, generationId: before, topics: at(6, given) })))).toEqual([ErrorCode.STALE_MEMBER_EPOCH])
    expect(errors(await c.commitOffsets(commit({ memberId: b.memberId, generationId: b.memberEpoch, topics: at(7, given) })))).toEqual([ErrorCode.NONE])
    // An epoch later than the member's is refused whole.
    expect(errors(await c.commitOffsets(commit({ memberId: a.memberId, generationId: a.memberEpoch + 1, topics: at(8, kept) })))).toEqual([
      ErrorCode.STALE_MEMBER_EPOCH,
    ])
    const committed = c.fetchOffsets('g', [{ name: 't', partitionIndexes: [kept, given] }]).topics[0]!.partitions.map((x) => x.committedOffset)
    expect(committed).toEqual([5, 7])
    // TxnOffsetCommit follows the same rule.
    const txn = await c.commitTransactionalOffsets({ groupId: 'g', producerId: 1, producerEpoch: 0, generationId: before, memberId: a.memberId, groupInstanceId: null, topics: at(9, kept, given) })
    expect(errors(txn)).toEqual([ErrorCode.NONE, ErrorCode.STALE_MEMBER_EPOCH])
  })

  it('OffsetFetch v9 checks the member epoch; an admin fetch does not', async () => {
    const a = new SimulatedConsumer(c, ['t'])
    a.beat()
    await c.commitOffsets(commit({ memberId: a.memberId, generationId: a.memberEpoch }))
    const topics = [{ name: 't', partitionIndexes: [0] }]
    expect(c.fetchOffsets('g', topics, false, { memberId: a.memberId, memberEpoch: a.memberEpoch }).topics[0]!.partitions[0]!.committedOffset).toBe(10)
    expect(c.fetchOffsets('g', topics, false, { memberId: a.memberId, memberEpoch: 7 }).errorCode).toBe(ErrorCode.STALE_MEMBER_EPOCH)
    expect(c.fetchOffsets('g', topics, false, { memberId: 'stranger', memberEpoch: 1 }).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    expect(c.fetchOffsets('g', topics, false, { memberId: null, memberEpoch: -1 }).errorCode).toBe(ErrorCode.NONE)
    expect(c.fetchOffsets('g', topics).topics[0]!.partitions[0]!.committedOffset).toBe(10)
  })

  it('TxnOffsetCommit checks the member epoch', async () => {
    const a = new SimulatedConsumer(c, ['t'])
    a.beat()
    const txn = (generationId: number, memberId: string) =>
      c.commitTransactionalOffsets({
        groupId: 'g',
        producerId: 1,
        producerEpoch: 0,
        generationId,
        memberId,
        groupInstanceId: null,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }],
      })
    expect(firstError(await txn(a.memberEpoch, a.memberId))).toBe(ErrorCode.NONE)
    expect(firstError(await txn(a.memberEpoch + 3, a.memberId))).toBe(ErrorCode.STALE_MEMBER_EPOCH)
    expect(firstError(await txn(1, 'stranger'))).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
  })

  it('OffsetDelete removes offsets of topics the running group does not subscribe to; DeleteGroups needs it empty', async () => {
    const a = new SimulatedConsumer(c, ['t'])
    a.leave()
    await c.commitOffsets(commit({ topics: [{ name: 'other', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }] }))
    const b = new SimulatedConsumer(c, ['t'])
    b.beat()
    const r = await c.deleteOffsets('g', [
      { name: 't', partitions: [{ partitionIndex: 0 }] },
      { name: 'other', partitions: [{ partitionIndex: 0 }] },
    ])
    expect(r.errorCode).toBe(ErrorCode.NONE)
    expect(r.topics.map((t) => t.partitions[0]!.errorCode)).toEqual([ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE])
    expect((await c.deleteGroups(['g']))[0]!.errorCode).toBe(ErrorCode.NON_EMPTY_GROUP)
    b.leave()
    expect((await c.deleteGroups(['g']))[0]!.errorCode).toBe(ErrorCode.NONE)
    expect(c.consumerGroup('g')).toBeUndefined()
  })
})

describe('group kinds sharing one namespace', () => {
  it('an empty classic group becomes a consumer group, keeping its offsets, and back on JoinGroup', async () => {
    await c.commitOffsets(commit({ apiVersion: 8 }))
    expect(c.listGroups().map((g) => g.groupType)).toEqual(['classic'])
    const a = new SimulatedConsumer(c, ['t'])
    a.beat()
    expect(a.count()).toBe(2)
    expect(c.listGroups([], ['consumer'])).toEqual([{ groupId: 'g', protocolType: 'consumer', groupState: 'Stable', groupType: 'consumer' }])
    expect(c.listGroups([], ['classic'])).toEqual([])
    expect(c.fetchOffsets('g', [{ name: 't', partitionIndexes: [0] }]).topics[0]!.partitions[0]!.committedOffset).toBe(10)

    // Classic members of another protocol type cannot share a consumer group.
    expect((await resolvedNow(c.joinGroup(join({ protocolType: 'connect' })))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    // DescribeGroups (v0-5) shows a consumer group as Dead, as Kafka does; ConsumerGroupDescribe describes it.
    expect(c.describeGroup('g')).toMatchObject({ errorCode: ErrorCode.NONE, groupState: 'Dead', members: [] })
    expect(c.consumerGroupDescribe(['g'])[0]!.members.map((m) => m.memberId)).toEqual([a.memberId])

    a.leave()
    const joined = c.joinGroup(join())
    c.tick()
    expect((await joined).errorCode).toBe(ErrorCode.NONE)
    expect(c.listGroups().map((g) => g.groupType)).toEqual(['classic'])
    expect(c.fetchOffsets('g', [{ name: 't', partitionIndexes: [0] }]).topics[0]!.partitions[0]!.committedOffset).toBe(10)
  })

  it('a consumer-protocol member cannot join a classic group in the middle of a rebalance', async () => {
    const joined = c.joinGroup(join())
    c.tick()
    await joined
    const r = c.consumerGroupHeartbeat(heartbeat({ memberId: 'x', subscribedTopicNames: ['t'] }))
    expect(r.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
    expect(c.group('g')!.members.size).toBe(1)
    expect(c.consumerGroupDescribe(['g'])[0]!.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
  })
})
