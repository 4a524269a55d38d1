// The server-side assignors on their own: uniform balances and keeps previous partitions where it
// can; range cuts each topic into contiguous ranges in member-id order.
import { describe, expect, it } from 'vitest'
import type { Assignment } from '../../../../broker/groups/consumer-assignment.js'
import { partitionCount } from '../../../../broker/groups/consumer-assignment.js'
import type { AssignorMember } from '../../../../broker/groups/assignors/assignor.js'
import { serverAssignors } from '../../../../broker/groups/assignors/index.js'
import { RangeAssignor } from '../../../../broker/groups/assignors/range.js'
import { UniformAssignor } from '../../../../broker/groups/assignors/uniform.js'

const member = (memberId: string, topics: string[], previous: Assignment = new Map()): AssignorMember => ({
  memberId,
  rackId: null,
  topicIds: new Set(topics),
  previous,
})

function owners(result: Map<string, Assignment>): Map<string, string> {
  const out = new Map<string, string>()
  for (const [m, a] of result) {
    for (const [t, set] of a) {
      for (const p of set) {
        const key = `${t}-${p}`
        expect(out.has(key), `${key} assigned twice`).toBe(false)
        out.set(key, m)
      }
    }
  }
  return out
}

describe('uniform assignor', () => {
  const uniform = new UniformAssignor()

  it('balances within one partition and assigns every partition once', () => {
    const topics = new Map([['t', 7], ['u', 4]])
    const result = uniform.assign([member('a', ['t', 'u']), member('b', ['t', 'u']), member('c', ['t', 'u'])], topics)
    expect(owners(result).size).toBe(11)
    const counts = [...result.values()].map(partitionCount).sort()
    expect(counts).toEqual([3, 4, 4])
  })

  it('keeps previous partitions when a member joins and moves only what it must', () => {
    const topics = new Map([['t', 6]])
    const first = uniform.assign([member('a', ['t']), member('b', ['t'])], topics)
    const second = uniform.assign([member('a', ['t'], first.get('a')), member('b', ['t'], first.get('b')), member('c', ['t'])], topics)
    const before = owners(first)
    const after = owners(second)
    let moved = 0
    for (const [p, m] of after) if (before.get(p) !== m) moved++
    expect(moved).toBe(2)
    expect([...second.values()].map(partitionCount)).toEqual([2, 2, 2])
  })

  it('gives a topic only to its subscribers', () => {
    const result = uniform.assign([member('a', ['t']), member('b', ['u'])], new Map([['t', 3], ['u', 3]]))
    expect([...result.get('a')!.keys()]).toEqual(['t'])
    expect([...result.get('b')!.keys()]).toEqual(['u'])
  })
})

describe('range assignor', () => {
  it('cuts each topic into contiguous ranges, co-partitioned topics alike', () => {
    const result = new RangeAssignor().assign([member('b', ['t', 'u']), member('a', ['t', 'u'])], new Map([['t', 5], ['u', 5]]))
    expect([...result.get('a')!.get('t')!]).toEqual([0, 1, 2])
    expect([...result.get('a')!.get('u')!]).toEqual([0, 1, 2])
    expect([...result.get('b')!.get('t')!]).toEqual([3, 4])
  })
})

describe('group.consumer.assignors', () => {
  it("accepts the short names and Kafka's class names, and refuses others", () => {
    expect(serverAssignors(['range', 'org.apache.kafka.coordinator.group.assignor.UniformAssignor']).map((a) => a.name)).toEqual(['range', 'uniform'])
    expect(() => serverAssignors(['sticky'])).toThrow(/unknown assignor/)
  })
})
