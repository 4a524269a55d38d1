// Partition reassignment (KIP-455) on partition states: starting, completing and cancelling.
import { describe, expect, it } from 'vitest'
import { initialState } from '../../../broker/cluster/elections.js'
import type { PartitionState } from '../../../broker/cluster/partition-state.js'
import { cancelReassignment, completeReassignment, originalReplicas, reassigning, startReassignment } from '../../../broker/cluster/reassignment.js'

const up = (live: number[], stopping: number[] = []) => ({ live: (id: number) => live.includes(id), shuttingDown: (id: number) => stopping.includes(id) })
const all = up([1, 2, 3, 4])
const state = (over: Partial<PartitionState>): PartitionState => ({ ...initialState('t', 'id', 0, [1, 2]), ...over })

describe('startReassignment', () => {
  it('sets the replicas to the target followed by the leaving ones, and records adding and removing', () => {
    const s = startReassignment(state({ partitionEpoch: 3 }), [2, 3])
    expect(s).toMatchObject({ replicas: [2, 3, 1], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 4, addingReplicas: [3], removingReplicas: [1] })
    expect(reassigning(s)).toBe(true)
    expect(originalReplicas(s)).toEqual([2, 1])
  })

  it('a new target while one is in flight starts from the original replicas', () => {
    const s = startReassignment(startReassignment(state({}), [2, 3]), [1, 4])
    expect(s).toMatchObject({ replicas: [1, 4, 2], addingReplicas: [4], removingReplicas: [2] })
  })

  it('a reorder of the same replicas adds and removes nothing', () => {
    const s = startReassignment(state({}), [2, 1])
    expect(s.replicas).toEqual([2, 1])
    expect(reassigning(s)).toBe(false)
  })
})

describe('completeReassignment', () => {
  it('waits until every target replica is in the ISR', () => {
    expect(completeReassignment(startReassignment(state({}), [2, 3]), all)).toBeUndefined()
  })

  it('switches to the target and elects a leader from it when the old leader leaves', () => {
    const moving = { ...startReassignment(state({ leaderEpoch: 2, partitionEpoch: 5 }), [2, 3]), isr: [1, 2, 3] }
    const done = completeReassignment(moving, all)!
    expect(done).toMatchObject({ replicas: [2, 3], isr: [2, 3], leader: 2, leaderEpoch: 3, partitionEpoch: 7 })
    expect(done.addingReplicas).toBeUndefined()
    expect(done.removingReplicas).toBeUndefined()
  })

  it('keeps the leader and its epoch when it stays', () => {
    const moving = { ...startReassignment(state({ leaderEpoch: 2 }), [1, 3]), isr: [1, 2, 3] }
    expect(completeReassignment(moving, all)).toMatchObject({ replicas: [1, 3], isr: [1, 3], leader: 1, leaderEpoch: 2 })
  })

  it('elects a live, not stopping, target replica', () => {
    const moving = { ...startReassignment(state({}), [2, 3]), isr: [1, 2, 3] }
    expect(completeReassignment(moving, up([1, 2, 3], [2]))).toMatchObject({ leader: 3 })
  })

  it('does nothing for a partition not being reassigned', () => {
    expect(completeReassignment(state({}), all)).toBeUndefined()
  })
})

describe('cancelReassignment', () => {
  it('goes back to the original replicas, dropping the added ones from the ISR', () => {
    const moving = { ...startReassignment(state({ partitionEpoch: 1 }), [2, 3]), isr: [1, 2, 3] }
    const back = cancelReassignment(moving, all)
    // In the order they had during the move (the current replicas without the added ones); the leader stays.
    expect(back).toMatchObject({ replicas: [2, 1], isr: [1, 2], leader: 1, leaderEpoch: 0, partitionEpoch: 3 })
    expect(reassigning(back)).toBe(false)
  })

  it('elects an original replica when an added one had become the leader', () => {
    const moving = { ...startReassignment(state({}), [3, 4]), isr: [1, 3, 4], leader: 3, leaderEpoch: 1 }
    expect(cancelReassignment(moving, all)).toMatchObject({ replicas: [1, 2], isr: [1], leader: 1, leaderEpoch: 2 })
  })
})
