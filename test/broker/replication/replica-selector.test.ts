// replica.selector.class: Kafka's RackAwareReplicaSelector rules (the leader when it shares the
// client's rack, or when no candidate does; else the most caught-up candidate there) and the names
// Samsa accepts.
import { describe, expect, it } from 'vitest'
import { RACK_AWARE_REPLICA_SELECTOR, replicaSelectorFor, type ReplicaView } from '../../../broker/replication/replica-selector.js'

const replica = (nodeId: number, rack: string | null, logEndOffset = 100, timeSinceLastCaughtUpMs = 0): ReplicaView => ({ nodeId, rack, logEndOffset, timeSinceLastCaughtUpMs })

describe('replica selectors', () => {
  const selector = replicaSelectorFor(RACK_AWARE_REPLICA_SELECTOR)!
  const leader = replica(1, 'a')

  it('sends a client to a replica in its rack, and keeps it on the leader otherwise', () => {
    expect(selector.select('b', leader, [replica(2, 'b'), replica(3, 'c')]).nodeId).toBe(2)
    expect(selector.select('c', leader, [replica(2, 'b'), replica(3, 'c')]).nodeId).toBe(3)
    expect(selector.select('a', leader, [replica(2, 'a'), replica(3, 'c')]).nodeId).toBe(1)
    expect(selector.select('z', leader, [replica(2, 'b'), replica(3, 'c')]).nodeId).toBe(1)
    expect(selector.select('', leader, [replica(2, ''), replica(3, null)]).nodeId).toBe(1)
    expect(selector.select('b', leader, []).nodeId).toBe(1)
  })

  it('picks the most caught-up replica of the rack: log end, then the latest caught up, then the largest id', () => {
    expect(selector.select('b', leader, [replica(2, 'b', 90), replica(3, 'b', 95), replica(4, 'c', 100)]).nodeId).toBe(3)
    expect(selector.select('b', leader, [replica(2, 'b', 100, 10), replica(3, 'b', 100, 500)]).nodeId).toBe(2)
    expect(selector.select('b', leader, [replica(3, 'b'), replica(2, 'b')]).nodeId).toBe(3)
  })

  it('has none by default and refuses a class it does not implement', () => {
    expect(replicaSelectorFor('')).toBeUndefined()
    expect(replicaSelectorFor('  ')).toBeUndefined()
    expect(() => replicaSelectorFor('com.example.NearestSelector')).toThrow(/replica.selector.class/)
  })
})
