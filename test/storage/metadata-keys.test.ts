import { describe, expect, it } from 'vitest'
import {
  BROKER_DYNAMIC_CONFIG_KEY,
  CLUSTER_ID_KEY,
  committedOffsetKey,
  groupConfigKey,
  groupOfCommittedOffsetKey,
  groupOffsetsRange,
  parseCommittedOffsetKey,
  pendingTxnOffsetsKey,
  PRODUCER_ID_NEXT_BLOCK_KEY,
  TRANSACTIONAL_IDS_KEY,
  transactionStateKey,
} from '../../storage/metadata-keys.js'

// The stored strings are a file format: existing data directories hold exactly these.
describe('metadata key space', () => {
  it('spells every stored key as earlier versions wrote it', () => {
    expect(CLUSTER_ID_KEY).toBe('cluster.id')
    expect(BROKER_DYNAMIC_CONFIG_KEY).toBe('broker.dynamic-config')
    expect(groupConfigKey('g/1 x')).toBe('group.config/g%2F1%20x')
    expect(PRODUCER_ID_NEXT_BLOCK_KEY).toBe('txn.producer-id.next-block')
    expect(TRANSACTIONAL_IDS_KEY).toBe('txn.ids')
    expect(transactionStateKey('tx/1')).toBe('txn.state/tx%2F1')
    expect(pendingTxnOffsetsKey()).toBe('groups.pending-txn-offsets')
    expect(committedOffsetKey('g/1', 'orders', 3)).toBe('g%2F1/orders/3')
  })

  it('reads committed-offset keys back', () => {
    const key = committedOffsetKey('g\u0000/é', 'a.b-c_d', 12)
    expect(parseCommittedOffsetKey('g\u0000/é', key)).toEqual({ topic: 'a.b-c_d', partition: 12 })
    expect(groupOfCommittedOffsetKey(key)).toBe('g\u0000/é')
    const { start, end } = groupOffsetsRange('g')
    expect(key >= start && key < end).toBe(false)
    expect(committedOffsetKey('g', 't', 0) >= start && committedOffsetKey('g', 't', 0) < end).toBe(true)
    expect(committedOffsetKey('g0', 't', 0) >= end).toBe(true)
  })
})
