import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../protocol/errors.js'
import type { GroupCoordinator } from '../../../broker/groups/coordinator.js'
import type { JoinGroupParams, JoinGroupResult } from '../../../broker/groups/types.js'
import { Clock, join, newCoordinator, resolvedNow, settled, subscription } from './helpers.js'

const bytes = (s: string) => new Uint8Array(Buffer.from(s))

/** Joins one new member and completes its rebalance; returns the JoinGroup answer. */
async function joinAlone(c: GroupCoordinator, params: Partial<JoinGroupParams> = {}): Promise<JoinGroupResult> {
  const p = c.joinGroup(join(params))
  c.tick()
  return resolvedNow(p)
}

/** Two members in generation `n`, the first one leading, both synced: a Stable group. */
async function stableGroupOfTwo(c: GroupCoordinator): Promise<{ a: string; b: string; generationId: number }> {
  const first = await joinAlone(c, { clientId: 'a' })
  await resolvedNow(c.syncGroup({ groupId: 'g', generationId: first.generationId, memberId: first.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }))
  const bJoin = c.joinGroup(join({ clientId: 'b' }))
  expect(c.heartbeat({ groupId: 'g', generationId: first.generationId, memberId: first.memberId, groupInstanceId: null })).toBe(ErrorCode.REBALANCE_IN_PROGRESS)
  const aJoin = c.joinGroup(join({ clientId: 'a', memberId: first.memberId }))
  const [aRes, bRes] = [await resolvedNow(aJoin), await resolvedNow(bJoin)]
  const aSync = c.syncGroup({
    groupId: 'g',
    generationId: aRes.generationId,
    memberId: aRes.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [
      { memberId: aRes.memberId, assignment: bytes('A') },
      { memberId: bRes.memberId, assignment: bytes('B') },
    ],
  })
  await resolvedNow(aSync)
  await resolvedNow(c.syncGroup({ groupId: 'g', generationId: bRes.generationId, memberId: bRes.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }))
  return { a: aRes.memberId, b: bRes.memberId, generationId: aRes.generationId }
}

describe('GroupCoordinator: join and sync', () => {
  it('asks a new dynamic member for a member id first (KIP-394), then elects it leader', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const first = await resolvedNow(c.joinGroup(join({ requireKnownMemberId: true, clientId: 'app' })))
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED)
    expect(first.memberId).toMatch(/^app-[0-9a-f-]{36}$/)
    expect(c.group('g')!.pendingMembers.has(first.memberId)).toBe(true)

    const second = c.joinGroup(join({ requireKnownMemberId: true, memberId: first.memberId }))
    // The initial rebalance delay (0 here) still ends on the timer, not inside the request.
    expect(await settled(second)).toBe('pending')
    c.tick()
    const res = await resolvedNow(second)
    expect(res).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, protocolName: 'range', protocolType: 'consumer', leader: first.memberId, memberId: first.memberId })
    expect(res.members.map((m) => m.memberId)).toEqual([first.memberId])
    expect(c.group('g')!.state).toBe('CompletingRebalance')

    const sync = await resolvedNow(c.syncGroup({ groupId: 'g', generationId: 1, memberId: first.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: first.memberId, assignment: bytes('all') }] }))
    expect(sync.errorCode).toBe(ErrorCode.NONE)
    expect(Buffer.from(sync.assignment).toString()).toBe('all')
    expect(c.group('g')!.state).toBe('Stable')
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: first.memberId, groupInstanceId: null })).toBe(ErrorCode.NONE)
  })

  it('extends group.initial.rebalance.delay.ms while new members keep arriving', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock, { groupInitialRebalanceDelayMs: 3000 })
    const a = c.joinGroup(join({ clientId: 'a' }))
    clock.advance(1000)
    const b = c.joinGroup(join({ clientId: 'b' }))
    clock.advance(2000)
    c.tick()
    expect(await settled(a)).toBe('pending')
    clock.advance(2999)
    c.tick()
    expect(await settled(a)).toBe('pending')
    clock.advance(1)
    c.tick()
    const [ra, rb] = [await resolvedNow(a), await resolvedNow(b)]
    expect(ra.generationId).toBe(1)
    expect(rb.generationId).toBe(1)
    expect(ra.leader).toBe(ra.memberId)
    expect(ra.members).toHaveLength(2)
    expect(rb.members).toHaveLength(0)
  })

  it('rebalances a Stable group when a member joins; followers wait for the leader in SyncGroup', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const first = await joinAlone(c, { clientId: 'a' })
    await resolvedNow(c.syncGroup({ groupId: 'g', generationId: 1, memberId: first.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }))

    const bJoin = c.joinGroup(join({ clientId: 'b' }))
    expect(c.group('g')!.state).toBe('PreparingRebalance')
    expect(await settled(bJoin)).toBe('pending')
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: first.memberId, groupInstanceId: null })).toBe(ErrorCode.REBALANCE_IN_PROGRESS)
    const aJoin = c.joinGroup(join({ clientId: 'a', memberId: first.memberId }))
    const [ra, rb] = [await resolvedNow(aJoin), await resolvedNow(bJoin)]
    expect(ra.generationId).toBe(2)
    expect(rb.generationId).toBe(2)
    expect(ra.leader).toBe(first.memberId)
    expect(rb.leader).toBe(first.memberId)
    expect(ra.members.map((m) => m.memberId).sort()).toEqual([ra.memberId, rb.memberId].sort())

    const bSync = c.syncGroup({ groupId: 'g', generationId: 2, memberId: rb.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })
    expect(await settled(bSync)).toBe('pending')
    // The old generation is fenced and offsets cannot be committed before the assignment arrives.
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: ra.memberId, groupInstanceId: null })).toBe(ErrorCode.ILLEGAL_GENERATION)
    const commit = await c.commitOffsets({ groupId: 'g', generationId: 2, memberId: rb.memberId, groupInstanceId: null, retentionTimeMs: -1, reportUnknownGroup: false, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }] })
    expect(commit[0]!.partitions[0]!.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS)

    const aSync = c.syncGroup({ groupId: 'g', generationId: 2, memberId: ra.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: ra.memberId, assignment: bytes('A') }, { memberId: rb.memberId, assignment: bytes('B') }] })
    expect(Buffer.from((await resolvedNow(aSync)).assignment).toString()).toBe('A')
    const bRes = await resolvedNow(bSync)
    expect(bRes.errorCode).toBe(ErrorCode.NONE)
    expect(Buffer.from(bRes.assignment).toString()).toBe('B')
    expect(c.group('g')!.state).toBe('Stable')
  })

  it('selects the protocol all members support with the most votes, and refuses incompatible members', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock, {}, undefined)
    const m = (...names: string[]) => names.map((name) => ({ name, metadata: bytes(name) }))
    const a = c.joinGroup(join({ clientId: 'a', protocols: m('roundrobin', 'range', 'sticky') }))
    const b = c.joinGroup(join({ clientId: 'b', protocols: m('sticky', 'range') }))
    const d = c.joinGroup(join({ clientId: 'd', protocols: m('range', 'sticky') }))
    const e = c.joinGroup(join({ clientId: 'e', protocols: m('sticky', 'range') }))
    const f = c.joinGroup(join({ clientId: 'f', protocols: m('sticky', 'range', 'roundrobin') }))
    // Members arrived during the (zero) initial delay, so it runs once more before completing.
    c.tick()
    expect(await settled(a)).toBe('pending')
    c.tick()
    const results = await Promise.all([a, b, d, e, f])
    // roundrobin is not supported by b and d; of range and sticky, range gets a's and d's votes,
    // sticky gets b's, e's and f's.
    expect(new Set(results.map((r) => r.protocolName))).toEqual(new Set(['sticky']))
    const leader = results.find((r) => r.members.length > 0)!
    expect(Buffer.from(leader.members.find((x) => x.memberId === results[0]!.memberId)!.metadata).toString()).toBe('sticky')

    expect((await resolvedNow(c.joinGroup(join({ protocols: m('roundrobin') })))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    expect((await resolvedNow(c.joinGroup(join({ protocolType: 'connect', protocols: m('sticky') })))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    expect((await resolvedNow(c.joinGroup(join({ groupId: 'other', protocolType: '' })))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
  })

  it('rejects bad session timeouts, empty group ids, unknown members and full groups', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock, { groupMaxSize: 1 })
    expect((await resolvedNow(c.joinGroup(join({ sessionTimeoutMs: 5999 })))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT)
    expect((await resolvedNow(c.joinGroup(join({ sessionTimeoutMs: 1_800_001 })))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT)
    expect((await resolvedNow(c.joinGroup(join({ groupId: '' })))).errorCode).toBe(ErrorCode.INVALID_GROUP_ID)
    expect((await resolvedNow(c.joinGroup(join({ groupId: 'nope', memberId: 'ghost' })))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    await joinAlone(c)
    expect((await resolvedNow(c.joinGroup(join()))).errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED)
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: 'ghost', groupInstanceId: null })).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    expect(c.heartbeat({ groupId: 'nope', generationId: 1, memberId: 'ghost', groupInstanceId: null })).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    expect((await resolvedNow(c.syncGroup({ groupId: 'g', generationId: 1, memberId: 'ghost', groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
  })

  it('answers SyncGroup with REBALANCE_IN_PROGRESS while the group prepares a rebalance', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const { a, generationId } = await stableGroupOfTwo(c)
    c.joinGroup(join({ clientId: 'c' }))
    const sync = await resolvedNow(c.syncGroup({ groupId: 'g', generationId, memberId: a, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }))
    expect(sync.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS)
  })

  it('answers a JoinGroup superseded by a newer one from the same member', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const { a, b } = await stableGroupOfTwo(c)
    const first = c.joinGroup(join({ clientId: 'a', memberId: a }))
    const second = c.joinGroup(join({ clientId: 'a', memberId: a }))
    expect((await resolvedNow(first)).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS)
    expect(await settled(second)).toBe('pending')
    const bRejoin = c.joinGroup(join({ clientId: 'b', memberId: b }))
    expect((await resolvedNow(second)).generationId).toBe(3)
    expect((await resolvedNow(bRejoin)).generationId).toBe(3)
  })
})

describe('GroupCoordinator: timeouts', () => {
  it('removes a member whose session expires and rebalances the rest', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const { a, b, generationId } = await stableGroupOfTwo(c)
    clock.advance(6000)
    expect(c.heartbeat({ groupId: 'g', generationId, memberId: a, groupInstanceId: null })).toBe(ErrorCode.NONE)
    clock.advance(4000)
    c.tick()
    expect(c.group('g')!.has(b)).toBe(false)
    expect(c.group('g')!.state).toBe('PreparingRebalance')
    expect(c.heartbeat({ groupId: 'g', generationId, memberId: a, groupInstanceId: null })).toBe(ErrorCode.REBALANCE_IN_PROGRESS)
    const rejoin = await resolvedNow(c.joinGroup(join({ clientId: 'a', memberId: a })))
    expect(rejoin.generationId).toBe(generationId + 1)
    expect(rejoin.members.map((m) => m.memberId)).toEqual([a])
  })

  it('does not expire members while they wait for the rebalance to complete', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const { a, b } = await stableGroupOfTwo(c)
    const aJoin = c.joinGroup(join({ clientId: 'a', memberId: a }))
    clock.advance(9000)
    expect(c.heartbeat({ groupId: 'g', generationId: 2, memberId: b, groupInstanceId: null })).toBe(ErrorCode.REBALANCE_IN_PROGRESS)
    clock.advance(9000)
    c.tick()
    expect(c.group('g')!.has(a)).toBe(true)
    const bJoin = c.joinGroup(join({ clientId: 'b', memberId: b }))
    expect((await resolvedNow(aJoin)).generationId).toBe(3)
    expect((await resolvedNow(bJoin)).generationId).toBe(3)
  })

  it('drops members that do not rejoin within the rebalance timeout', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const { a, b } = await stableGroupOfTwo(c)
    const cJoin = c.joinGroup(join({ clientId: 'c', rebalanceTimeoutMs: 20_000 }))
    const aJoin = c.joinGroup(join({ clientId: 'a', memberId: a }))
    // b stays alive by heartbeating but never rejoins.
    for (let t = 0; t < 25_000; t += 5000) {
      clock.advance(5000)
      expect(c.heartbeat({ groupId: 'g', generationId: 2, memberId: b, groupInstanceId: null })).toBe(ErrorCode.REBALANCE_IN_PROGRESS)
      c.tick()
      expect(await settled(aJoin)).toBe('pending')
    }
    clock.advance(4999)
    c.tick()
    expect(await settled(aJoin)).toBe('pending')
    clock.advance(1)
    c.tick()
    const [ra, rc] = [await resolvedNow(aJoin), await resolvedNow(cJoin)]
    expect(ra.generationId).toBe(3)
    expect(ra.members.map((m) => m.memberId).sort()).toEqual([a, rc.memberId].sort())
    expect(c.heartbeat({ groupId: 'g', generationId: 3, memberId: b, groupInstanceId: null })).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
  })

  it('removes members that do not SyncGroup within the rebalance timeout', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const { a, b } = await stableGroupOfTwo(c)
    const aJoin = c.joinGroup(join({ clientId: 'a', memberId: a }))
    const bJoin = c.joinGroup(join({ clientId: 'b', memberId: b }))
    const ra = await resolvedNow(aJoin)
    await resolvedNow(bJoin)
    await resolvedNow(c.syncGroup({ groupId: 'g', generationId: ra.generationId, memberId: a, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }))
    clock.advance(5000)
    expect(c.heartbeat({ groupId: 'g', generationId: ra.generationId, memberId: a, groupInstanceId: null })).toBe(ErrorCode.NONE)
    clock.advance(25_000)
    expect(c.heartbeat({ groupId: 'g', generationId: ra.generationId, memberId: a, groupInstanceId: null })).toBe(ErrorCode.NONE)
    c.tick()
    expect(c.group('g')!.has(b)).toBe(false)
    expect(c.group('g')!.state).toBe('PreparingRebalance')
  })

  it('forgets a pending member id that is not used within the session timeout', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const first = await resolvedNow(c.joinGroup(join({ requireKnownMemberId: true })))
    expect(c.group('g')!.size).toBe(1)
    clock.advance(10_000)
    c.tick()
    expect(c.group('g')!.size).toBe(0)
    const late = await resolvedNow(c.joinGroup(join({ requireKnownMemberId: true, memberId: first.memberId })))
    expect(late.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
  })

  it('expires a new member stuck in JoinGroup after five minutes', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const { a, b } = await stableGroupOfTwo(c)
    const cJoin = c.joinGroup(join({ clientId: 'c', rebalanceTimeoutMs: 600_000 }))
    const aJoin = c.joinGroup(join({ clientId: 'a', memberId: a, rebalanceTimeoutMs: 600_000 }))
    for (let i = 0; i < 30; i++) {
      clock.advance(10_000)
      c.heartbeat({ groupId: 'g', generationId: 2, memberId: b, groupInstanceId: null })
      c.tick()
    }
    expect((await resolvedNow(cJoin)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    expect(await settled(aJoin)).toBe('pending')
  })
})

describe('GroupCoordinator: leave and static membership', () => {
  it('leaves in batches (v3+), answering per member', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const { a, b } = await stableGroupOfTwo(c)
    const res = c.leaveGroup('g', [
      { memberId: b, groupInstanceId: null },
      { memberId: 'ghost', groupInstanceId: null },
    ])
    expect(res.errorCode).toBe(ErrorCode.NONE)
    expect(res.members.map((m) => m.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID])
    expect(c.group('g')!.state).toBe('PreparingRebalance')
    const ra = await resolvedNow(c.joinGroup(join({ clientId: 'a', memberId: a })))
    expect(ra.members.map((m) => m.memberId)).toEqual([a])
    expect(c.leaveGroup('g', [{ memberId: a, groupInstanceId: null }]).members[0]!.errorCode).toBe(ErrorCode.NONE)
    expect(c.group('g')!.state).toBe('Empty')
    expect(c.leaveGroup('nope', [{ memberId: a, groupInstanceId: null }]).members[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
  })

  it('completes the rebalance as soon as the last missing member leaves', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const { a, b } = await stableGroupOfTwo(c)
    const aJoin = c.joinGroup(join({ clientId: 'a', memberId: a }))
    expect(await settled(aJoin)).toBe('pending')
    c.leaveGroup('g', [{ memberId: b, groupInstanceId: null }])
    expect((await resolvedNow(aJoin)).members.map((m) => m.memberId)).toEqual([a])
  })

  it('lets a static member restart without a rebalance and fences its old member id (KIP-345)', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const first = await joinAlone(c, { groupInstanceId: 'pod-1', requireKnownMemberId: true })
    expect(first.errorCode).toBe(ErrorCode.NONE)
    expect(first.memberId).toMatch(/^pod-1-/)
    const s = await resolvedNow(c.syncGroup({ groupId: 'g', generationId: 1, memberId: first.memberId, groupInstanceId: 'pod-1', protocolType: null, protocolName: null, assignments: [{ memberId: first.memberId, assignment: bytes('P') }] }))
    expect(s.errorCode).toBe(ErrorCode.NONE)

    const again = await resolvedNow(c.joinGroup(join({ groupInstanceId: 'pod-1' })))
    expect(again.errorCode).toBe(ErrorCode.NONE)
    expect(again.memberId).not.toBe(first.memberId)
    expect(again.generationId).toBe(1)
    // The old leader id is returned so the restarted leader does not reassign a Stable group.
    expect(again.leader).toBe(first.memberId)
    expect(again.skipAssignment).toBe(false)
    expect(c.group('g')!.state).toBe('Stable')

    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: first.memberId, groupInstanceId: 'pod-1' })).toBe(ErrorCode.FENCED_INSTANCE_ID)
    expect((await resolvedNow(c.joinGroup(join({ groupInstanceId: 'pod-1', memberId: first.memberId })))).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID)
    const sync = await resolvedNow(c.syncGroup({ groupId: 'g', generationId: 1, memberId: again.memberId, groupInstanceId: 'pod-1', protocolType: null, protocolName: null, assignments: [] }))
    expect(Buffer.from(sync.assignment).toString()).toBe('P')
    const commit = await c.commitOffsets({ groupId: 'g', generationId: 1, memberId: first.memberId, groupInstanceId: 'pod-1', retentionTimeMs: -1, reportUnknownGroup: false, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }] })
    expect(commit[0]!.partitions[0]!.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID)

    // JoinGroup v9 clients are told they lead but need not assign.
    const v9 = await resolvedNow(c.joinGroup(join({ groupInstanceId: 'pod-1', supportSkippingAssignment: true })))
    expect(v9.leader).toBe(v9.memberId)
    expect(v9.skipAssignment).toBe(true)
    expect(v9.members.map((m) => m.memberId)).toEqual([v9.memberId])
  })

  it('keeps a static member that misses a rebalance and lets it leave by instance id', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const s1 = await joinAlone(c, { groupInstanceId: 'pod-1', clientId: 's1' })
    await resolvedNow(c.syncGroup({ groupId: 'g', generationId: 1, memberId: s1.memberId, groupInstanceId: 'pod-1', protocolType: null, protocolName: null, assignments: [] }))
    const dyn = c.joinGroup(join({ clientId: 'd' }))
    clock.advance(30_000)
    c.heartbeat({ groupId: 'g', generationId: 1, memberId: s1.memberId, groupInstanceId: 'pod-1' })
    c.tick()
    const rd = await resolvedNow(dyn)
    expect(rd.generationId).toBe(2)
    expect(c.group('g')!.has(s1.memberId)).toBe(true)

    expect(c.leaveGroup('g', [{ memberId: 'wrong', groupInstanceId: 'pod-1' }]).members[0]!.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID)
    expect(c.leaveGroup('g', [{ memberId: '', groupInstanceId: 'pod-9' }]).members[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    expect(c.leaveGroup('g', [{ memberId: '', groupInstanceId: 'pod-1' }]).members[0]!.errorCode).toBe(ErrorCode.NONE)
    expect(c.group('g')!.has(s1.memberId)).toBe(false)
    expect(c.group('g')!.staticMembers.size).toBe(0)
  })

  it('answers waiting requests with NOT_COORDINATOR on close', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const p = c.joinGroup(join())
    c.close()
    expect((await resolvedNow(p)).errorCode).toBe(ErrorCode.NOT_COORDINATOR)
    expect(c.heartbeat({ groupId: 'g', generationId: 1, memberId: 'x', groupInstanceId: null })).toBe(ErrorCode.NOT_COORDINATOR)
  })
})

describe('GroupCoordinator: offsets', () => {
  const commitOne = (c: GroupCoordinator, over: Partial<Parameters<GroupCoordinator['commitOffsets']>[0]> = {}, offset = 42, topic = 't', metadata: string | null = 'meta') =>
    c.commitOffsets({
      groupId: 'g',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      reportUnknownGroup: false,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: 3, committedMetadata: metadata }] }],
      ...over,
    })

  it('stores simple commits (generation -1) and fetches them back, one topic or all', async () => {
    const clock = new Clock()
    const { coordinator: c, store } = newCoordinator(clock)
    expect((await commitOne(c))[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE)
    await commitOne(c, {}, 7, 'u', null)
    expect(store.groups.get('g')!.size).toBe(2)
    const one = c.fetchOffsets('g', [{ name: 't', partitionIndexes: [0, 1] }])
    expect(one.topics[0]!.partitions).toEqual([
      { partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: 3, metadata: 'meta', errorCode: ErrorCode.NONE },
      { partitionIndex: 1, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE },
    ])
    const all = c.fetchOffsets('g', null)
    expect(all.topics.map((t) => [t.name, t.partitions[0]!.committedOffset, t.partitions[0]!.metadata])).toEqual([
      ['t', 42, 'meta'],
      ['u', 7, ''],
    ])
    expect(c.fetchOffsets('unknown', null).topics).toEqual([])
    expect(c.listGroups().map((g) => [g.groupId, g.groupState, g.protocolType])).toEqual([['g', 'Empty', '']])
  })

  it('checks members and generations of an active group', async () => {
    const clock = new Clock()
    const { coordinator: c } = newCoordinator(clock)
    const { a, generationId } = await stableGroupOfTwo(c)
    const code = async (over: Parameters<typeof commitOne>[1]) => (await commitOne(c, over))[0]!.partitions[0]!.errorCode
    expect(await code({})).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    expect(await code({ generationId, memberId: 'ghost' })).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    expect(await code({ generationId: generationId - 1, memberId: a })).toBe(ErrorCode.ILLEGAL_GENERATION)
    expect(await code({ generationId, memberId: a })).toBe(ErrorCode.NONE)
    expect(await code({ groupId: 'nope', generationId: 3, memberId: 'x' })).toBe(ErrorCode.ILLEGAL_GENERATION)
    expect(await code({ groupId: 'nope', generationId: 3, memberId: 'x', reportUnknownGroup: true })).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
    expect(c.group('nope')).toBeUndefined()
    // A commit from a member during PreparingRebalance is accepted and counts as a heartbeat.
    c.joinGroup(join({ clientId: 'c' }))
    clock.advance(9000)
    expect(await code({ generationId, memberId: a })).toBe(ErrorCode.NONE)
    clock.advance(9000)
    c.tick()
    expect(c.group('g')!.has(a)).toBe(true)
  })

  it('refuses unknown partitions and oversized metadata per partition; reports store failures', async () => {
    const clock = new Clock()
    const { coordinator: c, store } = newCoordinator(clock)
    const res = await c.commitOffsets({
      groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, reportUnknownGroup: false,
      topics: [
        { name: 't', partitions: [
          { partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: 'x'.repeat(4097) },
          { partitionIndex: 6, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null },
          { partitionIndex: 1, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null },
        ] },
        { name: 'missing-topic', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] },
      ],
    })
    expect(res.map((t) => t.partitions.map((p) => p.errorCode))).toEqual([
      [ErrorCode.OFFSET_METADATA_TOO_LARGE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NONE],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ])
    expect([...store.groups.get('g')!.keys()]).toEqual(['t\u00001'])
    store.failNextCommit = true
    expect((await commitOne(c))[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR)
  })

  it('expires offsets of an empty group after offsets.retention.minutes, then the group', async () => {
    const clock = new Clock()
    const { coordinator: c, store } = newCoordinator(clock, { offsetsRetentionMinutes: 60 })
    const { a, b, generationId } = await stableGroupOfTwo(c)
    await commitOne(c, { generationId, memberId: a })
    clock.advance(2 * 3_600_000)
    c.heartbeat({ groupId: 'g', generationId, memberId: a, groupInstanceId: null })
    c.heartbeat({ groupId: 'g', generationId, memberId: b, groupInstanceId: null })
    // Stable and still subscribed to t: nothing expires however old the commit is.
    expect(await c.expireOffsets()).toBe(0)
    c.leaveGroup('g', [{ memberId: a, groupInstanceId: null }, { memberId: b, groupInstanceId: null }])
    expect(c.group('g')!.state).toBe('Empty')
    clock.advance(3_599_999)
    expect(await c.expireOffsets()).toBe(0)
    clock.advance(1)
    expect(await c.expireOffsets()).toBe(1)
    expect(store.groups.has('g')).toBe(false)
    expect(c.group('g')).toBeUndefined()
  })

  it('expires offsets of unsubscribed topics in a Stable consumer group, and honours explicit retention', async () => {
    const clock = new Clock()
    const { coordinator: c, store } = newCoordinator(clock, { offsetsRetentionMinutes: 60 })
    const { a, generationId } = await stableGroupOfTwo(c)
    await commitOne(c, { generationId, memberId: a }, 1, 't')
    await commitOne(c, { generationId, memberId: a }, 1, 'old-topic')
    await commitOne(c, { groupId: 'simple', retentionTimeMs: 1000 }, 1, 't')
    clock.advance(1000)
    expect(await c.expireOffsets()).toBe(1)
    expect(store.groups.has('simple')).toBe(false)
    clock.advance(3_600_000)
    expect(await c.expireOffsets()).toBe(1)
    expect([...store.groups.get('g')!.keys()]).toEqual(['t\u00000'])
  })

  it('deletes offsets only for topics the group does not subscribe to (KIP-496)', async () => {
    const clock = new Clock()
    const { coordinator: c, store } = newCoordinator(clock)
    const { a, generationId } = await stableGroupOfTwo(c)
    await commitOne(c, { generationId, memberId: a }, 1, 't')
    await commitOne(c, { generationId, memberId: a }, 1, 'u')
    const res = await c.deleteOffsets('g', [
      { name: 't', partitions: [{ partitionIndex: 0 }] },
      { name: 'u', partitions: [{ partitionIndex: 0 }] },
      { name: 'missing', partitions: [{ partitionIndex: 0 }] },
    ])
    expect(res.errorCode).toBe(ErrorCode.NONE)
    expect(res.topics.map((t) => t.partitions[0]!.errorCode)).toEqual([ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
    expect([...store.groups.get('g')!.keys()]).toEqual(['t\u00000'])
    expect((await c.deleteOffsets('nope', [])).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
  })
})

describe('GroupCoordinator: administration', () => {
  it('describes, lists with filters and deletes groups', async () => {
    const clock = new Clock()
    const { coordinator: c, store } = newCoordinator(clock)
    const { a, b } = await stableGroupOfTwo(c)
    const d = c.describeGroup('g')
    expect(d).toMatchObject({ errorCode: ErrorCode.NONE, groupState: 'Stable', protocolType: 'consumer', protocolData: 'range' })
    const byId = new Map(d.members.map((m) => [m.memberId, m]))
    expect(byId.get(a)!.clientId).toBe('a')
    expect(byId.get(a)!.clientHost).toBe('/127.0.0.1')
    expect(Buffer.from(byId.get(b)!.memberAssignment).toString()).toBe('B')
    expect(Buffer.from(byId.get(b)!.memberMetadata)).toEqual(Buffer.from(subscription(['t'])))
    expect(c.describeGroup('nope')).toMatchObject({ errorCode: ErrorCode.NONE, groupState: 'Dead', members: [] })

    await c.commitOffsets({ groupId: 'simple', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, reportUnknownGroup: false, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }] })
    expect(c.listGroups().map((g) => g.groupId).sort()).toEqual(['g', 'simple'])
    expect(c.listGroups(['stable']).map((g) => g.groupId)).toEqual(['g'])
    expect(c.listGroups(['Empty'], ['Classic']).map((g) => g.groupId)).toEqual(['simple'])
    expect(c.listGroups([], ['consumer'])).toEqual([])

    expect(await c.deleteGroups(['g', 'simple', 'nope'])).toEqual([
      { groupId: 'g', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'simple', errorCode: ErrorCode.NONE },
      { groupId: 'nope', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ])
    expect(store.groups.has('simple')).toBe(false)
    expect(c.listGroups().map((g) => g.groupId)).toEqual(['g'])
  })

  it('brings groups that only have stored offsets back as Empty groups', async () => {
    const clock = new Clock()
    const { coordinator: first, store } = newCoordinator(clock)
    await first.commitOffsets({ groupId: 'kept', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, reportUnknownGroup: false, topics: [{ name: 't', partitions: [{ partitionIndex: 2, committedOffset: 9, committedLeaderEpoch: -1, committedMetadata: null }] }] })
    first.close()
    const { coordinator: second } = newCoordinator(clock, {}, store)
    expect(second.listGroups().map((g) => [g.groupId, g.groupState])).toEqual([['kept', 'Empty']])
    expect(second.fetchOffsets('kept', [{ name: 't', partitionIndexes: [2] }]).topics[0]!.partitions[0]!.committedOffset).toBe(9)
  })
})
