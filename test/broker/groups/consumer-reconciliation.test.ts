// KIP-848 reconciliation on the coordinator with an injected clock: members joining, leaving,
// timing out, changing subscription, static members restarting. After every heartbeat the test
// checks that no partition is consumed by two members.
import pino from 'pino'
import { beforeEach, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../protocol/errors.js'
import { GroupCoordinator } from '../../../broker/groups/coordinator.js'
import { DEFAULT_REBALANCE_TIMEOUT_MS } from '../../../broker/groups/consumer-member.js'
import { REGEX_REFRESH_INTERVAL_MS } from '../../../broker/groups/consumer-regex.js'
import { assertSingleOwnership, Clock, heartbeat, MutableCatalog, newConsumerCoordinator, settle, SimulatedConsumer } from './consumer-helpers.js'
import { MemoryOffsetStore } from './helpers.js'

let clock: Clock
let catalog: MutableCatalog
let c: GroupCoordinator

beforeEach(() => {
  clock = new Clock()
  catalog = new MutableCatalog()
  catalog.add('t', 6)
  c = newConsumerCoordinator(clock, catalog)
})

describe('ConsumerGroupHeartbeat reconciliation', () => {
  it('a joining member gets partitions only after the owner revoked them', () => {
    const a = new SimulatedConsumer(c, ['t'])
    a.beat()
    expect(a.count()).toBe(6)
    expect(a.memberEpoch).toBe(1)
    const group = c.consumerGroup('g')!
    expect(group.state).toBe('Stable')

    const b = new SimulatedConsumer(c, ['t'])
    b.beat()
    // b is at the new epoch but its partitions are still a's.
    expect(b.memberEpoch).toBe(2)
    expect(b.count()).toBe(0)
    expect(group.groupEpoch).toBe(2)
    expect(group.state).toBe('Reconciling')
    assertSingleOwnership(c, [a, b])

    // a learns it must give up three partitions; it stays at epoch 1 until it has.
    a.beat()
    expect(a.count()).toBe(3)
    expect(a.memberEpoch).toBe(1)
    expect(group.members.get(a.memberId)!.state).toBe('unrevoked_partitions')
    assertSingleOwnership(c, [a, b])
    b.beat()
    expect(b.count()).toBe(0)

    // a acknowledges (reports what it owns now) and moves to epoch 2; b then gets the rest.
    a.beat()
    expect(a.memberEpoch).toBe(2)
    b.beat()
    expect(b.count()).toBe(3)
    assertSingleOwnership(c, [a, b])
    expect(group.state).toBe('Stable')
  })

  it('a member leaving hands its partitions to the others at a new epoch', () => {
    const members = [0, 1, 2].map(() => new SimulatedConsumer(c, ['t']))
    settle(c, members)
    expect(members.map((m) => m.count())).toEqual([2, 2, 2])
    const leaving = members.pop()!
    expect(leaving.leave().memberEpoch).toBe(-1)
    settle(c, members)
    expect(members.map((m) => m.count()).sort()).toEqual([3, 3])
    expect(c.consumerGroup('g')!.groupEpoch).toBe(4)
  })

  it('a member whose session expires is removed and its partitions move', () => {
    const a = new SimulatedConsumer(c, ['t'])
    const b = new SimulatedConsumer(c, ['t'])
    settle(c, [a, b])
    clock.advance(30_000)
    a.beat()
    clock.advance(20_000)
    c.tick()
    expect(c.consumerGroup('g')!.members.has(b.memberId)).toBe(false)
    b.owned = new Map() // b's client finds out it was fenced when it next heartbeats
    settle(c, [a])
    expect(a.count()).toBe(6)
    expect(b.beat().errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
  })

  it('a member that does not revoke within its rebalance timeout is removed', () => {
    const a = new SimulatedConsumer(c, ['t'])
    a.beat()
    const b = new SimulatedConsumer(c, ['t'])
    b.beat()
    // a is told to revoke but never acknowledges: it heartbeats without reporting.
    c.consumerGroupHeartbeat(heartbeat({ memberId: a.memberId, memberEpoch: 1, rebalanceTimeoutMs: -1, topicPartitions: null }))
    for (let i = 0; i < 6; i++) {
      clock.advance(5_000)
      c.consumerGroupHeartbeat(heartbeat({ memberId: a.memberId, memberEpoch: 1, rebalanceTimeoutMs: -1, topicPartitions: null }))
      b.beat()
    }
    clock.advance(5_000)
    c.tick()
    expect(c.consumerGroup('g')!.members.has(a.memberId)).toBe(false)
    b.beat()
    b.beat()
    expect(b.count()).toBe(6)
  })

  it('logs once a member that still owes revoked partitions a session timeout after being asked', () => {
    const lines: string[] = []
    const logged = new GroupCoordinator({
      store: new MemoryOffsetStore(),
      logs: catalog,
      config: { groupInitialRebalanceDelayMs: 0, consumerSessionTimeoutMs: 6_000 },
      now: clock.now,
      autoTick: false,
      logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
    })
    const a = new SimulatedConsumer(logged, ['t'])
    a.beat()
    const b = new SimulatedConsumer(logged, ['t'])
    b.beat()
    // a is told to revoke and heartbeats on without saying what it owns.
    const quiet = () => logged.consumerGroupHeartbeat(heartbeat({ memberId: a.memberId, memberEpoch: 1, rebalanceTimeoutMs: -1, topicPartitions: null }))
    quiet()
    const slow = () => lines.map((l) => JSON.parse(l) as { msg: string; memberId: string; pending: number }).filter((l) => l.msg === 'member has not given up revoked partitions yet')
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000)
      quiet()
      logged.tick()
    }
    expect(slow()).toEqual([])
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000)
      quiet()
      logged.tick()
    }
    expect(slow()).toMatchObject([{ memberId: a.memberId, pending: 3 }])
    // Once it reports owning only what it keeps, it moves on.
    const member = logged.consumerGroup('g')!.members.get(a.memberId)!
    const kept = [...member.assigned].map(([topicId, partitions]) => ({ topicId, partitions: [...partitions] }))
    logged.consumerGroupHeartbeat(heartbeat({ memberId: a.memberId, memberEpoch: 1, rebalanceTimeoutMs: -1, topicPartitions: kept }))
    expect(member.state).toBe('stable')
    clock.advance(10_000)
    logged.tick()
    expect(slow()).toHaveLength(1)
  })

  it('a subscription change moves partitions through revocation', () => {
    catalog.add('u', 4)
    const a = new SimulatedConsumer(c, ['t'])
    const b = new SimulatedConsumer(c, ['t'])
    settle(c, [a, b])
    const epoch = c.consumerGroup('g')!.groupEpoch
    // b moves to topic u: it first gives up its partitions of t and only then moves on.
    b.subscribe(['u'])
    b.beat()
    expect(c.consumerGroup('g')!.groupEpoch).toBe(epoch + 1)
    expect(b.memberEpoch).toBe(epoch)
    expect(b.count()).toBe(0)
    assertSingleOwnership(c, [a, b])
    settle(c, [a, b])
    expect(a.owned.get(catalog.topicId('t')!)!.length).toBe(6)
    expect(b.owned.get(catalog.topicId('u')!)!.length).toBe(4)
    expect(b.owned.has(catalog.topicId('t')!)).toBe(false)
  })

  it('a static member restarting under a new member id keeps its partitions and epoch', () => {
    const a = new SimulatedConsumer(c, ['t'], { instanceId: 'a' })
    const b = new SimulatedConsumer(c, ['t'], { instanceId: 'b' })
    settle(c, [a, b])
    const before = [...a.owned]
    const group = c.consumerGroup('g')!
    const epoch = group.groupEpoch
    expect(a.leave(-2).memberEpoch).toBe(-2)
    // Nobody else gets its partitions while it is away.
    settle(c, [b])
    expect(b.count()).toBe(3)
    const a2 = new SimulatedConsumer(c, ['t'], { instanceId: 'a' })
    a2.beat()
    expect([...a2.owned]).toEqual(before)
    expect(a2.memberEpoch).toBe(epoch)
    expect(group.groupEpoch).toBe(epoch)
    settle(c, [a2, b])
    expect(group.state).toBe('Stable')
    // The old member id is fenced.
    const old = c.consumerGroupHeartbeat(heartbeat({ memberId: a.memberId, memberEpoch: epoch, instanceId: 'a', rebalanceTimeoutMs: -1, topicPartitions: null }))
    expect(old.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID)
  })

  it('a static member not released answers UNRELEASED_INSTANCE_ID; its session expiry frees the instance', () => {
    const a = new SimulatedConsumer(c, ['t'], { instanceId: 'a' })
    a.beat()
    const a2 = new SimulatedConsumer(c, ['t'], { instanceId: 'a' })
    expect(c.consumerGroupHeartbeat(heartbeat({ memberId: a2.memberId, instanceId: 'a', subscribedTopicNames: ['t'] })).errorCode).toBe(
      ErrorCode.UNRELEASED_INSTANCE_ID,
    )
    a.leave(-2)
    clock.advance(45_000)
    c.tick()
    expect(c.consumerGroup('g')!.members.size).toBe(0)
  })

  it('fences stale and unknown members', () => {
    const a = new SimulatedConsumer(c, ['t'])
    a.beat()
    const ahead = c.consumerGroupHeartbeat(heartbeat({ memberId: a.memberId, memberEpoch: 5, rebalanceTimeoutMs: -1, topicPartitions: null }))
    expect(ahead.errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH)
    const unknown = c.consumerGroupHeartbeat(heartbeat({ memberId: 'nobody', memberEpoch: 1, rebalanceTimeoutMs: -1, topicPartitions: null }))
    expect(unknown.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    const noGroup = c.consumerGroupHeartbeat(heartbeat({ groupId: 'other', memberId: 'x', memberEpoch: 3, topicPartitions: null }))
    expect(noGroup.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
    // A fenced member rejoins with epoch 0 and starts over.
    a.memberEpoch = 0
    a.owned = new Map()
    a.beat()
    expect(a.count()).toBe(6)
  })

  it('accepts the previous epoch from a member that lost the answer carrying the new one', () => {
    const a = new SimulatedConsumer(c, ['t'])
    a.beat()
    const b = new SimulatedConsumer(c, ['t'])
    b.beat()
    a.beat()
    a.beat() // acknowledged: a is now at epoch 2
    const group = c.consumerGroup('g')!
    expect(group.members.get(a.memberId)!.memberEpoch).toBe(2)
    const owned = [...a.owned].map(([topicId, partitions]) => ({ topicId, partitions }))
    const r = c.consumerGroupHeartbeat(heartbeat({ memberId: a.memberId, memberEpoch: 1, rebalanceTimeoutMs: -1, topicPartitions: owned }))
    expect(r.errorCode).toBe(ErrorCode.NONE)
    expect(r.memberEpoch).toBe(2)
  })

  it('validates requests as Kafka does', () => {
    const bad = (o: Parameters<typeof heartbeat>[0]) => c.consumerGroupHeartbeat(heartbeat({ memberId: 'm', subscribedTopicNames: ['t'], ...o })).errorCode
    expect(bad({ memberId: '' })).toBe(ErrorCode.INVALID_REQUEST)
    expect(bad({ memberId: '', apiVersion: 0 })).toBe(ErrorCode.NONE)
    expect(bad({ groupId: '' })).toBe(ErrorCode.INVALID_REQUEST)
    expect(bad({ subscribedTopicNames: null })).toBe(ErrorCode.INVALID_REQUEST)
    expect(bad({ topicPartitions: null })).toBe(ErrorCode.INVALID_REQUEST)
    expect(bad({ topicPartitions: [{ topicId: 'id-t-0', partitions: [0] }] })).toBe(ErrorCode.INVALID_REQUEST)
    expect(bad({ rebalanceTimeoutMs: -1, topicPartitions: [{ topicId: 'id-t-0', partitions: [0] }] })).toBe(ErrorCode.INVALID_REQUEST)
    expect(bad({ memberEpoch: -3 })).toBe(ErrorCode.INVALID_REQUEST)
    expect(bad({ serverAssignor: 'sticky' })).toBe(ErrorCode.UNSUPPORTED_ASSIGNOR)
    expect(bad({ subscribedTopicRegex: '(?=t)t' })).toBe(ErrorCode.INVALID_REGULAR_EXPRESSION)
    expect(bad({ subscribedTopicRegex: 't[' })).toBe(ErrorCode.INVALID_REGULAR_EXPRESSION)
  })

  it('takes a join without a rebalance timeout as a rejoin (more lenient than Kafka, for librdkafka)', () => {
    // librdkafka's heartbeat right after its own leave: epoch 0, no rebalance timeout, no
    // subscription, no owned partitions.
    const bare = (memberId: string, o: Parameters<typeof heartbeat>[0] = {}) =>
      c.consumerGroupHeartbeat(heartbeat({ memberId, rebalanceTimeoutMs: -1, topicPartitions: null, ...o }))
    const first = c.consumerGroupHeartbeat(heartbeat({ memberId: 'a', rebalanceTimeoutMs: 45_000, subscribedTopicNames: ['t'] }))
    expect(first.assignment!.flatMap((t) => t.partitions)).toHaveLength(6)
    const group = c.consumerGroup('g')!

    // Known: it keeps its subscription and rebalance timeout and gets its partitions again.
    const again = bare('a')
    expect(again.errorCode).toBe(ErrorCode.NONE)
    expect(again.memberEpoch).toBeGreaterThan(0)
    expect(again.assignment!.flatMap((t) => t.partitions).sort()).toEqual([0, 1, 2, 3, 4, 5])
    expect(group.members.get('a')!.rebalanceTimeoutMs).toBe(45_000)
    expect(group.members.get('a')!.subscribedTopicNames).toEqual(['t'])

    // Unknown, naming nothing: UNKNOWN_MEMBER_ID (the client rejoins in full), and no member added.
    const unknown = bare('gone')
    expect(unknown.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    expect(group.members.has('gone')).toBe(false)
    expect(c.consumerGroupHeartbeat(heartbeat({ groupId: 'none', memberId: 'x', rebalanceTimeoutMs: -1, topicPartitions: null })).errorCode).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    )
    expect(c.consumerGroup('none')).toBeUndefined()

    // Unknown, naming a subscription: it joins with the default rebalance timeout.
    const joined = bare('new', { subscribedTopicNames: ['t'] })
    expect(joined.errorCode).toBe(ErrorCode.NONE)
    expect(group.members.get('new')!.rebalanceTimeoutMs).toBe(DEFAULT_REBALANCE_TIMEOUT_MS)
    expect(group.members.get('new')!.subscribedTopicNames).toEqual(['t'])
  })

  it('returns the configured heartbeat interval and a v0 member id chosen by the coordinator', () => {
    const c2 = newConsumerCoordinator(clock, catalog, { consumerHeartbeatIntervalMs: 1234 })
    const r = c2.consumerGroupHeartbeat(heartbeat({ apiVersion: 0, subscribedTopicNames: ['t'] }))
    expect(r.errorCode).toBe(ErrorCode.NONE)
    expect(r.heartbeatIntervalMs).toBe(1234)
    expect(r.memberId).toMatch(/.{8,}/)
  })
})

describe('subscriptions and topic metadata', () => {
  it('a regex is resolved after the heartbeat that brings it and follows topics created later', () => {
    const a = new SimulatedConsumer(c, ['lit'], { regex: 'ev-.*' })
    catalog.add('lit', 1)
    catalog.add('ev-1', 2)
    a.beat()
    // As in Kafka, the regex is resolved off the heartbeat path: the first answer has the literal
    // topic only, the regex's topics come once the coordinator has resolved it.
    expect(a.count()).toBe(1)
    const group = c.consumerGroup('g')!
    expect(group.regexes.due).toBe(true)
    c.tick()
    settle(c, [a])
    expect(a.count()).toBe(3)
    const epoch = group.groupEpoch
    catalog.add('ev-2', 3)
    catalog.add('other', 3)
    settle(c, [a])
    c.tick()
    // Resolved again only once the refresh interval has passed.
    expect(group.groupEpoch).toBe(epoch)
    clock.advance(REGEX_REFRESH_INTERVAL_MS)
    a.beat()
    c.tick()
    settle(c, [a])
    expect(group.groupEpoch).toBe(epoch + 1)
    expect(a.count()).toBe(6)
    catalog.topics.get('ev-1')!.partitions = 4
    settle(c, [a])
    expect(group.groupEpoch).toBe(epoch + 2)
    expect(a.count()).toBe(8)
    // A deleted topic leaves the assignment.
    catalog.topics.delete('ev-2')
    settle(c, [a])
    expect(a.count()).toBe(5)
  })

  it('a regex nobody subscribes to any more is resolved afresh when a member brings it back', () => {
    catalog.add('ev-1', 2)
    const a = new SimulatedConsumer(c, null, { regex: 'ev-.*' })
    a.beat()
    c.tick()
    settle(c, [a])
    expect(a.count()).toBe(2)
    a.leave()
    const b = new SimulatedConsumer(c, null, { regex: 'ev-.*' })
    b.beat()
    expect(b.count()).toBe(0)
    c.tick()
    settle(c, [b])
    expect(b.count()).toBe(2)
  })

  it('the range assignor is used when members ask for it', () => {
    const a = new SimulatedConsumer(c, ['t'], { assignor: 'range' })
    const b = new SimulatedConsumer(c, ['t'], { assignor: 'range' })
    settle(c, [a, b])
    const group = c.consumerGroup('g')!
    expect(group.assignorName).toBe('range')
    const t = catalog.topicId('t')!
    const first = [a, b].sort((x, y) => (x.memberId < y.memberId ? -1 : 1))[0]!
    expect(first.owned.get(t)).toEqual([0, 1, 2])
  })
})

describe('random membership changes', () => {
  it('never lets two members consume one partition', () => {
    catalog.add('u', 5)
    let seed = 42
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const live: SimulatedConsumer[] = []
    for (let step = 0; step < 400; step++) {
      const r = random()
      if ((r < 0.15 && live.length < 6) || live.length === 0) {
        live.push(new SimulatedConsumer(c, random() < 0.5 ? ['t'] : ['t', 'u']))
      } else if (r < 0.22 && live.length > 0) {
        live.splice(Math.floor(random() * live.length), 1)[0]!.leave()
      } else if (r < 0.26 && live.length > 0) {
        // A member goes silent until its session expires.
        const gone = live.splice(Math.floor(random() * live.length), 1)[0]!
        clock.advance(46_000)
        for (const m of live) m.beat()
        c.tick()
        gone.owned = new Map()
      } else {
        live[Math.floor(random() * live.length)]!.beat()
      }
      clock.advance(100)
      assertSingleOwnership(c, live)
    }
    settle(c, live)
    const total = live.reduce((n, m) => n + m.count(), 0)
    const wantsU = live.some((m) => m.topics!.includes('u'))
    expect(total).toBe(6 + (wantsU ? 5 : 0))
  })
})
