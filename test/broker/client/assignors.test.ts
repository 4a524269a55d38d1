// The range and cooperative-sticky assignors on hand-built subscriptions: Kafka's range layout,
// balance, stickiness, and KIP-429's rule that a partition changing hands is assigned to
// nobody in the round that takes it from its owner.
import { describe, expect, it } from 'vitest'
import type { GroupMemberSubscription } from '../../../broker/client/assignor.js'
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, type TopicPartitions } from '../../../broker/client/consumer-protocol.js'
import { cooperativeStickyAssignor } from '../../../broker/client/cooperative-sticky-assignor.js'
import { rangeAssignor } from '../../../broker/client/range-assignor.js'

function member(memberId: string, topics: string[], owned: Record<string, number[]> = {}, generationId = -1): GroupMemberSubscription {
  return { memberId, groupInstanceId: null, subscription: { topics, ownedPartitions: new Map(Object.entries(owned)), generationId, userData: null } }
}

const plain = (a: Map<string, TopicPartitions>) => Object.fromEntries([...a].map(([m, tp]) => [m, Object.fromEntries(tp)]))

function allOf(a: Map<string, TopicPartitions>): string[] {
  return [...a.values()].flatMap((tp) => [...tp].flatMap(([t, ps]) => ps.map((p) => `${t}-${p}`))).sort()
}

describe('range assignor', () => {
  it('gives each member a contiguous range per topic, the first ones one more', () => {
    const out = rangeAssignor.assign([member('b', ['t', 'u']), member('a', ['t', 'u']), member('c', ['t'])], new Map([['t', 7], ['u', 2]]))
    expect(plain(out)).toEqual({ a: { t: [0, 1, 2], u: [0] }, b: { t: [3, 4], u: [1] }, c: { t: [5, 6] } })
  })
})

describe('cooperative-sticky assignor', () => {
  it('balances a fresh group', () => {
    const out = cooperativeStickyAssignor.assign([member('a', ['t']), member('b', ['t'])], new Map([['t', 6]]))
    expect(allOf(out)).toHaveLength(6)
    expect([...out.values()].map((tp) => tp.get('t')!.length)).toEqual([3, 3])
  })

  it('keeps owned partitions and withholds the ones that move for a second round', () => {
    const partitions = new Map([['t', 6]])
    const first = cooperativeStickyAssignor.assign(
      [member('a', ['t'], { t: [0, 1, 2] }, 1), member('b', ['t'], { t: [3, 4, 5] }, 1), member('c', ['t'])],
      partitions,
    )
    // Nothing owned changes hands in this round: a and b keep two each, c gets nothing yet.
    expect(first.get('a')!.get('t')!.length).toBe(2)
    expect(first.get('b')!.get('t')!.length).toBe(2)
    expect(first.get('c')!.size).toBe(0)
    for (const p of first.get('a')!.get('t')!) expect([0, 1, 2]).toContain(p)
    for (const p of first.get('b')!.get('t')!) expect([3, 4, 5]).toContain(p)
    // Second round: a and b own only what they kept; the released two go to c.
    const second = cooperativeStickyAssignor.assign(
      [member('a', ['t'], { t: first.get('a')!.get('t')! }, 2), member('b', ['t'], { t: first.get('b')!.get('t')! }, 2), member('c', ['t'], {}, 2)],
      partitions,
    )
    expect(second.get('a')).toEqual(first.get('a'))
    expect(second.get('b')).toEqual(first.get('b'))
    expect(second.get('c')!.get('t')!.length).toBe(2)
    expect(allOf(second)).toEqual(['t-0', 't-1', 't-2', 't-3', 't-4', 't-5'])
  })

  it('trusts the newer generation when two members claim one partition', () => {
    const out = cooperativeStickyAssignor.assign([member('a', ['t'], { t: [0] }, 1), member('b', ['t'], { t: [0] }, 2)], new Map([['t', 2]]))
    expect(out.get('b')!.get('t')).toEqual([0])
    expect(out.get('a')!.get('t')).toEqual([1])
  })

  it('balances members with different subscriptions', () => {
    const out = cooperativeStickyAssignor.assign([member('a', ['t', 'u']), member('b', ['t'])], new Map([['t', 4], ['u', 2]]))
    expect(allOf(out)).toHaveLength(6)
    expect(out.get('b')!.get('u')).toBeUndefined()
    expect([...out.values()].map((tp) => [...tp.values()].flat().length)).toEqual([3, 3])
  })
})

describe('consumer protocol bytes', () => {
  it('round-trips a subscription with owned partitions and an assignment', () => {
    const s = decodeSubscription(encodeSubscription({ topics: ['t'], ownedPartitions: new Map([['t', [1, 2]]]), generationId: 7, userData: null }))
    expect(s.topics).toEqual(['t'])
    expect([...s.ownedPartitions]).toEqual([['t', [1, 2]]])
    expect(s.generationId).toBe(7)
    expect([...decodeAssignment(encodeAssignment(new Map([['t', [2, 0]]])))]).toEqual([['t', [0, 2]]])
    expect(decodeAssignment(new Uint8Array(0)).size).toBe(0)
  })
})
