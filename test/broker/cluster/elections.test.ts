// The controller's leader and ISR rules, on partition states.
import { describe, expect, it } from 'vitest'
import { initialState, preferredLeader, reconcile } from '../../../broker/cluster/elections.js'
import type { PartitionState } from '../../../broker/cluster/partition-state.js'

const up = (live: number[], stopping: number[] = []) => ({ live: (id: number) => live.includes(id), shuttingDown: (id: number) => stopping.includes(id) })
const state = (over: Partial<PartitionState>): PartitionState => ({ ...initialState('t', 'id', 0, [1, 2, 3]), ...over })

describe('reconcile', () => {
  it('changes nothing while every replica is up', () => {
    expect(reconcile(state({}), up([1, 2, 3]), false)).toBeUndefined()
  })

  it('elects the next in-sync replica in replica order when the leader dies, and drops it from the ISR', () => {
    const next = reconcile(state({ leaderEpoch: 4, partitionEpoch: 7 }), up([2, 3]), false)
    expect(next).toMatchObject({ leader: 2, isr: [2, 3], leaderEpoch: 5, partitionEpoch: 8 })
  })

  it('never elects a replica outside the ISR unless unclean election is on', () => {
    const s = state({ leader: 1, isr: [1] })
    expect(reconcile(s, up([2, 3]), false)).toMatchObject({ leader: -1, isr: [1], leaderEpoch: 1 })
    expect(reconcile(s, up([2, 3]), true)).toMatchObject({ leader: 2, isr: [2], leaderEpoch: 1 })
  })

  it('brings an offline partition back when its last in-sync replica returns', () => {
    const offline = state({ leader: -1, isr: [1], leaderEpoch: 1, partitionEpoch: 1 })
    expect(reconcile(offline, up([2, 3]), false)).toBeUndefined()
    expect(reconcile(offline, up([1, 2, 3]), false)).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 2, partitionEpoch: 2 })
  })

  it('shrinks the ISR when a follower dies, keeping leader and leader epoch', () => {
    expect(reconcile(state({ leaderEpoch: 3 }), up([1, 2]), false)).toMatchObject({ leader: 1, isr: [1, 2], leaderEpoch: 3, partitionEpoch: 1 })
  })

  it('moves leadership off a broker shutting down, and keeps it there when no one else is in sync', () => {
    expect(reconcile(state({}), up([1, 2, 3], [1]), false)).toMatchObject({ leader: 2, isr: [2, 3] })
    expect(reconcile(state({ isr: [1] }), up([1, 2, 3], [1]), false)).toBeUndefined()
  })
})

describe('preferredLeader', () => {
  it('moves leadership back to the first replica once it is in sync', () => {
    const moved = state({ leader: 2, isr: [2, 3], leaderEpoch: 1, partitionEpoch: 1 })
    expect(preferredLeader(moved, up([1, 2, 3]))).toBeUndefined()
    const back = preferredLeader({ ...moved, isr: [2, 3, 1] }, up([1, 2, 3]))
    expect(back).toMatchObject({ leader: 1, leaderEpoch: 2, partitionEpoch: 2 })
    expect(preferredLeader(state({}), up([1, 2, 3]))).toBeUndefined()
  })
})
