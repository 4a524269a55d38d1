// Which ConsumerGroupHeartbeats change the group: those are answered only after
// group.coordinator.append.linger.ms, as Kafka answers a heartbeat once the records it wrote for it
// are flushed (broker/handlers/68-consumer-group-heartbeat.ts), while a heartbeat that changes
// nothing is answered at once.
import { beforeEach, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../protocol/errors.js'
import type { GroupCoordinator } from '../../../broker/groups/coordinator.js'
import { Clock, heartbeat, MutableCatalog, newConsumerCoordinator, SimulatedConsumer } from './consumer-helpers.js'

let c: GroupCoordinator

beforeEach(() => {
  const catalog = new MutableCatalog()
  catalog.add('a', 2)
  catalog.add('b', 2)
  c = newConsumerCoordinator(new Clock(), catalog)
})

describe('ConsumerGroupHeartbeat: changedGroup', () => {
  it('is set for a join, a subscription change, the end of a revocation and a leave, not for a plain heartbeat', () => {
    const m = new SimulatedConsumer(c, ['a', 'b'])
    expect(m.beat().changedGroup).toBe(true) // join: assigned a and b at epoch 1
    expect(m.beat().changedGroup).toBe(false) // reports owning what it was given: nothing new

    m.subscribe(['b'])
    const revoke = m.beat()
    expect(revoke.changedGroup).toBe(true) // new subscription: a is taken away
    expect(revoke.assignment?.map((t) => t.partitions.length)).toEqual([2])
    expect(m.beat().changedGroup).toBe(true) // reports a revoked: moves to the new epoch
    expect(m.beat().changedGroup).toBe(false)

    expect(m.leave().changedGroup).toBe(true)
  })

  it('is not set for a refused heartbeat', () => {
    const unknown = c.consumerGroupHeartbeat(heartbeat({ memberId: 'nobody', memberEpoch: 3, rebalanceTimeoutMs: -1, topicPartitions: null }))
    expect(unknown.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
    expect(unknown.changedGroup).toBe(false)
    const invalid = c.consumerGroupHeartbeat(heartbeat({ memberId: 'm', memberEpoch: 0, subscribedTopicNames: ['a'], topicPartitions: null }))
    expect(invalid.errorCode).toBe(ErrorCode.INVALID_REQUEST)
    expect(invalid.changedGroup).toBe(false)
  })
})
