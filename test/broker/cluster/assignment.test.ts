// Replica placement: balanced leaders and replicas, rack spreading, replication factor bounds.
import { describe, expect, it } from 'vitest'
import { assignReplicas, ReplicationFactorError } from '../../../broker/cluster/assignment.js'

const brokers = (n: number, racks?: string[]) => Array.from({ length: n }, (_, i) => ({ nodeId: i + 1, rack: racks?.[i] ?? null }))

function count(values: number[]): Map<number, number> {
  const m = new Map<number, number>()
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1)
  return m
}

describe('assignReplicas', () => {
  it('gives every broker the same number of leaders and of replicas', () => {
    for (let start = 0; start < 3; start++) {
      const placed = assignReplicas(brokers(3), 6, 3, { startIndex: start, replicaShift: start })
      expect(placed).toHaveLength(6)
      for (const r of placed) expect(new Set(r).size).toBe(3)
      expect([...count(placed.map((r) => r[0]!)).values()]).toEqual([2, 2, 2])
      expect([...count(placed.flat()).values()]).toEqual([6, 6, 6])
    }
    const placed = assignReplicas(brokers(5), 10, 2, { startIndex: 1, replicaShift: 3 })
    expect([...count(placed.map((r) => r[0]!)).values()].every((n) => n === 2)).toBe(true)
    expect([...count(placed.flat()).values()].every((n) => n === 4)).toBe(true)
  })

  it('puts the replicas of a partition on different racks while racks remain', () => {
    const racked = brokers(6, ['a', 'a', 'b', 'b', 'c', 'c'])
    const rackOf = new Map(racked.map((b) => [b.nodeId, b.rack]))
    for (let start = 0; start < 6; start++) {
      for (const r of assignReplicas(racked, 12, 3, { startIndex: start, replicaShift: start })) {
        expect(new Set(r.map((id) => rackOf.get(id))).size).toBe(3)
      }
    }
    // RF 4 on three racks: every rack used, one twice, no broker twice.
    for (const r of assignReplicas(racked, 6, 4, { startIndex: 2, replicaShift: 1 })) {
      expect(new Set(r).size).toBe(4)
      expect(new Set(r.map((id) => rackOf.get(id))).size).toBe(3)
    }
  })

  it('continues the rotation for added partitions', () => {
    const all = assignReplicas(brokers(3), 6, 2, { startIndex: 0, replicaShift: 0 })
    const tail = assignReplicas(brokers(3), 3, 2, { startIndex: 0, replicaShift: 0, firstPartition: 3 })
    expect(tail).toEqual(all.slice(3))
  })

  it('refuses a replication factor above the brokers or below one', () => {
    expect(() => assignReplicas(brokers(3), 1, 4)).toThrow(ReplicationFactorError)
    expect(() => assignReplicas(brokers(3), 1, 4)).toThrow('Replication factor: 4 larger than available brokers: 3.')
    expect(() => assignReplicas(brokers(3), 1, 0)).toThrow(ReplicationFactorError)
    expect(assignReplicas(brokers(1), 2, 1)).toEqual([[1], [1]])
  })
})
