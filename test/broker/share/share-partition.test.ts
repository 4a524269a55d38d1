// The share-partition state machine (KIP-932) on a hand-moved clock: acquisition and its lock,
// the delivery limit, the window limit, every acknowledgement type, hostile acknowledgements that
// must leave the state unharmed, the SPSO moving past finished records, and snapshots.
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../protocol/errors.js'
import {
  AcknowledgeType,
  RecordState,
  SharePartition,
  validateAcknowledgementBatches,
  type ArchivedRecords,
  type OfferedBatch,
  type SharePartitionSettings,
} from '../../../broker/share/share-partition.js'

const { Accept, Release, Reject, Gap } = AcknowledgeType

function setup(over: Partial<SharePartitionSettings> = {}, startOffset = 0) {
  let now = 1_000_000
  const archived: ArchivedRecords[] = []
  const sp = new SharePartition(
    {
      now: () => now,
      lockDurationMs: () => 30_000,
      deliveryCountLimit: 5,
      maxRecordLocks: 2000,
      onArchive: (r) => archived.push(r),
      ...over,
    },
    { startOffset, stateEpoch: 0, stateBatches: [] },
  )
  return { sp, archived, advance: (ms: number) => void (now += ms) }
}

/** One batch per offset range, all deliverable. */
function log(...ranges: Array<[number, number]>): OfferedBatch[] {
  return ranges.map(([baseOffset, lastOffset]) => ({ baseOffset, lastOffset, deliverable: true }))
}

const ack = (firstOffset: number, lastOffset: number, ...acknowledgeTypes: number[]) => ({ firstOffset, lastOffset, acknowledgeTypes })

describe('SharePartition', () => {
  it('acquires new records with delivery count 1 and whole batches up to maxRecords', () => {
    const { sp } = setup()
    expect(sp.acquire('a', log([0, 4], [5, 9], [10, 14]), 7)).toEqual([{ firstOffset: 0, lastOffset: 9, deliveryCount: 1 }])
    expect(sp.endOffset).toBe(10)
    expect(sp.nextFetchOffset()).toBe(10)
    // Another member gets what follows, not what a itself holds.
    expect(sp.acquire('b', log([0, 4], [5, 9], [10, 14]), 100)).toEqual([{ firstOffset: 10, lastOffset: 14, deliveryCount: 1 }])
    expect(sp.stateOf(3)).toEqual({ state: RecordState.Acquired, deliveryCount: 1, memberId: 'a' })
  })

  it('Accept acknowledges, Reject and Gap archive, Release makes records available again; the SPSO follows', () => {
    const { sp, archived } = setup()
    sp.acquire('a', log([0, 9]), 100)
    expect(sp.acknowledge('a', [ack(0, 3, Accept), ack(4, 6, Reject, Gap, Accept), ack(7, 7, Release)])).toBe(ErrorCode.NONE)
    expect(sp.startOffset).toBe(7)
    expect(archived).toEqual([
      { firstOffset: 4, lastOffset: 4, deliveryCount: 1, reason: 'rejected' },
      { firstOffset: 5, lastOffset: 5, deliveryCount: 1, reason: 'gap' },
    ])
    expect(sp.stateOf(7)).toEqual({ state: RecordState.Available, deliveryCount: 1, memberId: null })
    expect(sp.nextFetchOffset()).toBe(7)
    // Redelivered: its count moves to 2, and the records behind it are still held by a.
    expect(sp.acquire('b', log([7, 7], [8, 9]), 100)).toEqual([{ firstOffset: 7, lastOffset: 7, deliveryCount: 2 }])
    expect(sp.acknowledge('a', [ack(8, 9, Accept)])).toBe(ErrorCode.NONE)
    expect(sp.startOffset).toBe(7)
    expect(sp.acknowledge('b', [ack(7, 7, Accept)])).toBe(ErrorCode.NONE)
    expect(sp.startOffset).toBe(10)
  })

  it('an acquisition lock that runs out returns the records, and a late acknowledgement is refused', () => {
    const { sp, advance } = setup()
    sp.acquire('a', log([0, 4]), 100)
    advance(29_999)
    expect(sp.expireLocks()).toBe(0)
    advance(1)
    expect(sp.acknowledge('a', [ack(0, 4, Accept)])).toBe(ErrorCode.INVALID_RECORD_STATE)
    expect(sp.stateOf(0)).toEqual({ state: RecordState.Available, deliveryCount: 1, memberId: null })
    expect(sp.acquire('b', log([0, 4]), 100)).toEqual([{ firstOffset: 0, lastOffset: 4, deliveryCount: 2 }])
  })

  it('archives a record delivered delivery.count.limit times instead of releasing it', () => {
    const { sp, archived, advance } = setup({ deliveryCountLimit: 3 })
    for (let i = 1; i <= 3; i++) {
      expect(sp.acquire('a', log([0, 1]), 100)).toEqual([{ firstOffset: 0, lastOffset: 1, deliveryCount: i }])
      if (i < 3) expect(sp.acknowledge('a', [ack(0, 1, Release)])).toBe(ErrorCode.NONE)
    }
    advance(30_000)
    sp.expireLocks()
    expect(archived.map((r) => r.reason)).toEqual(['delivery-limit', 'delivery-limit'])
    expect(archived[0]!.deliveryCount).toBe(3)
    expect(sp.startOffset).toBe(2)
    expect(sp.acquire('a', log([0, 1]), 100)).toEqual([])
  })

  it('stops at group.share.partition.max.record.locks offsets in flight', () => {
    const { sp } = setup({ maxRecordLocks: 10 })
    expect(sp.acquire('a', log([0, 19]), 100)).toEqual([{ firstOffset: 0, lastOffset: 9, deliveryCount: 1 }])
    expect(sp.canAcquire()).toBe(false)
    expect(sp.acquire('b', log([10, 19]), 100)).toEqual([])
    expect(sp.acknowledge('a', [ack(0, 4, Accept)])).toBe(ErrorCode.NONE)
    expect(sp.canAcquire()).toBe(true)
    expect(sp.acquire('b', log([10, 19]), 100)).toEqual([{ firstOffset: 10, lastOffset: 14, deliveryCount: 1 }])
  })

  it('refuses hostile acknowledgements and leaves the state as it was', () => {
    const { sp } = setup()
    sp.acquire('a', log([0, 9]), 100)
    sp.acquire('b', log([10, 14]), 100)
    const before = sp.snapshot()
    const states = () => Array.from({ length: 15 }, (_, o) => sp.stateOf(o))
    const held = states()
    // Never delivered, another member's, one good batch beside a bad one (all or nothing), done with.
    expect(sp.acknowledge('a', [ack(15, 20, Accept)])).toBe(ErrorCode.INVALID_RECORD_STATE)
    expect(sp.acknowledge('a', [ack(8, 11, Accept)])).toBe(ErrorCode.INVALID_RECORD_STATE)
    expect(sp.acknowledge('a', [ack(0, 1, Accept), ack(12, 12, Accept)])).toBe(ErrorCode.INVALID_RECORD_STATE)
    expect(sp.acknowledge('stranger', [ack(0, 0, Accept)])).toBe(ErrorCode.INVALID_RECORD_STATE)
    expect(sp.acknowledge('a', [ack(0, 0, Accept)])).toBe(ErrorCode.NONE)
    expect(sp.acknowledge('a', [ack(0, 0, Accept)])).toBe(ErrorCode.INVALID_RECORD_STATE)
    expect(sp.acknowledge('a', [ack(-5, 0, Accept)])).toBe(ErrorCode.INVALID_RECORD_STATE)
    expect(states().slice(1)).toEqual(held.slice(1))
    expect(sp.snapshot().startOffset).toBe(before.startOffset + 1)
  })

  it('validates acknowledgement batches as Kafka does (INVALID_REQUEST)', () => {
    expect(validateAcknowledgementBatches([ack(0, 3, Accept), ack(4, 5, Accept, Release)])).toBe(ErrorCode.NONE)
    expect(validateAcknowledgementBatches([ack(5, 4, Accept)])).toBe(ErrorCode.INVALID_REQUEST)
    expect(validateAcknowledgementBatches([ack(0, 3, Accept), ack(3, 5, Accept)])).toBe(ErrorCode.INVALID_REQUEST)
    expect(validateAcknowledgementBatches([ack(4, 5, Accept), ack(0, 1, Accept)])).toBe(ErrorCode.INVALID_REQUEST)
    expect(validateAcknowledgementBatches([ack(0, 3)])).toBe(ErrorCode.INVALID_REQUEST)
    expect(validateAcknowledgementBatches([ack(0, 3, Accept, Accept)])).toBe(ErrorCode.INVALID_REQUEST)
    expect(validateAcknowledgementBatches([ack(0, 0, 4)])).toBe(ErrorCode.INVALID_REQUEST)
    expect(validateAcknowledgementBatches([ack(0, 0, -1)])).toBe(ErrorCode.INVALID_REQUEST)
  })

  it('archives undeliverable batches (control, aborted) without acquiring them', () => {
    const { sp, archived } = setup()
    const acquired = sp.acquire('a', [{ baseOffset: 0, lastOffset: 2, deliverable: false }, { baseOffset: 3, lastOffset: 4, deliverable: true }], 100)
    expect(acquired).toEqual([{ firstOffset: 3, lastOffset: 4, deliveryCount: 1 }])
    expect(archived.every((r) => r.reason === 'skipped')).toBe(true)
    expect(sp.startOffset).toBe(3)
  })

  it('releases what a member holds when it goes, and snapshots Acquired as Available with its count', () => {
    const { sp } = setup({}, 100)
    sp.acquire('a', log([100, 104]), 100)
    sp.acquire('b', log([105, 109]), 100)
    sp.acknowledge('b', [ack(105, 106, Accept), ack(107, 107, Reject)])
    expect(sp.releaseMember('a')).toBe(5)
    sp.acquire('c', log([100, 101]), 2)
    expect(sp.snapshot()).toEqual({
      startOffset: 100,
      stateEpoch: 0,
      stateBatches: [
        { firstOffset: 100, lastOffset: 101, deliveryState: RecordState.Available, deliveryCount: 2 },
        { firstOffset: 102, lastOffset: 104, deliveryState: RecordState.Available, deliveryCount: 1 },
        { firstOffset: 105, lastOffset: 106, deliveryState: RecordState.Acknowledged, deliveryCount: 1 },
        { firstOffset: 107, lastOffset: 107, deliveryState: RecordState.Archived, deliveryCount: 1 },
        { firstOffset: 108, lastOffset: 109, deliveryState: RecordState.Available, deliveryCount: 1 },
      ],
    })
    // Restored from its snapshot: nothing is acquired, counts are kept.
    const restored = new SharePartition({ now: () => 0, lockDurationMs: () => 1, deliveryCountLimit: 5, maxRecordLocks: 2000 }, sp.snapshot())
    expect(restored.stateOf(100)).toEqual({ state: RecordState.Available, deliveryCount: 2, memberId: null })
    expect(restored.nextFetchOffset()).toBe(100)
    expect(restored.endOffset).toBe(110)
    expect(restored.acquire('d', log([100, 109]), 100)).toEqual([
      { firstOffset: 100, lastOffset: 101, deliveryCount: 3 },
      { firstOffset: 102, lastOffset: 104, deliveryCount: 2 },
      { firstOffset: 108, lastOffset: 109, deliveryCount: 2 },
    ])
  })

  it('tells a fetch where it may stop reading: after maxRecords acquirable records, within the window', () => {
    const { sp } = setup({ maxRecordLocks: 100 })
    // Nothing in flight: maxRecords new records past the SPEO.
    expect(sp.acquisitionEnd(30)).toBe(30)
    sp.acquire('a', log([0, 9], [10, 19]), 20)
    expect(sp.acknowledge('a', [ack(2, 4, Release), ack(8, 8, Release)])).toBe(ErrorCode.NONE)
    // Four Available in flight (2-4, 8), then new records from 20 on.
    expect(sp.acquisitionEnd(3)).toBe(5)
    expect(sp.acquisitionEnd(4)).toBe(9)
    expect(sp.acquisitionEnd(10)).toBe(26)
    // Never past SPSO + max.record.locks.
    expect(sp.acquisitionEnd(1000)).toBe(100)
  })
})
