// The share-partition state machine's dead-letter hold and retry back-off, on a hand-moved clock:
// a record rejected or exhausted with a dead-letter topic is held (not acquirable, persisted as
// Available, the SPSO stops at it) until its write settles it, archived or Available again; a
// record given back (released, lock expired, member gone) waits out its back-off while records
// behind it are acquired, within the window limit.
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../protocol/errors.js'
import {
  AcknowledgeType,
  RecordState,
  SharePartition,
  type ArchivedRecords,
  type OfferedBatch,
  type SharePartitionSettings,
} from '../../../broker/share/share-partition.js'

const { Accept, Release, Reject } = AcknowledgeType

function setup(over: Partial<SharePartitionSettings> = {}) {
  let now = 1_000_000
  const archived: ArchivedRecords[] = []
  const held: Array<{ records: ArchivedRecords; token: string }> = []
  const sp = new SharePartition(
    {
      now: () => now,
      lockDurationMs: () => 30_000,
      deliveryCountLimit: 3,
      maxRecordLocks: 2000,
      onArchive: (r) => archived.push(r),
      onDeadLetter: (records, token) => held.push({ records, token }),
      ...over,
    },
    { startOffset: 0, stateEpoch: 0, stateBatches: [] },
  )
  return { sp, archived, held, advance: (ms: number) => void (now += ms) }
}

function log(...ranges: Array<[number, number]>): OfferedBatch[] {
  return ranges.map(([baseOffset, lastOffset]) => ({ baseOffset, lastOffset, deliverable: true }))
}

const ack = (firstOffset: number, lastOffset: number, ...acknowledgeTypes: number[]) => ({ firstOffset, lastOffset, acknowledgeTypes })

describe('SharePartition dead-letter hold', () => {
  it('a rejected record is held until its write lands, then archived and passed by the SPSO', () => {
    const { sp, archived, held } = setup({ deadLetters: () => true })
    sp.acquire('m1', log([0, 1]), 10)
    expect(sp.acknowledge('m1', [ack(0, 1, Reject, Accept)])).toBe(ErrorCode.NONE)
    expect(held.map((h) => h.records)).toEqual([{ firstOffset: 0, lastOffset: 0, deliveryCount: 1, reason: 'rejected' }])
    expect(archived).toEqual([])
    // Held: not acquirable, persisted as Available (a crash re-delivers it), the SPSO waits.
    expect(sp.acquire('m2', log([0, 1]), 10)).toEqual([])
    expect(sp.snapshot().stateBatches[0]).toEqual({ firstOffset: 0, lastOffset: 0, deliveryState: RecordState.Available, deliveryCount: 1 })
    expect(sp.startOffset).toBe(0)
    // Nobody can acknowledge it meanwhile, not even its last holder.
    expect(sp.acknowledge('m1', [ack(0, 0, Accept)])).toBe(ErrorCode.INVALID_RECORD_STATE)
    expect(sp.settleDeadLetter(0, held[0]!.token, true)).toBe(true)
    expect(archived).toEqual([{ firstOffset: 0, lastOffset: 0, deliveryCount: 1, reason: 'rejected' }])
    expect(sp.startOffset).toBe(2)
    // Settling twice changes nothing.
    expect(sp.settleDeadLetter(0, held[0]!.token, true)).toBe(false)
  })

  it('a failed write makes the record Available again; it is delivered again and may be held again', () => {
    const { sp, held, archived } = setup({ deadLetters: () => true })
    sp.acquire('m1', log([0, 0]), 10)
    for (let n = 1; n <= 3; n++) {
      sp.acknowledge('m1', [ack(0, 0, Release)])
      if (n < 3) expect(sp.acquire('m1', log([0, 0]), 10)).toEqual([{ firstOffset: 0, lastOffset: 0, deliveryCount: n + 1 }])
    }
    expect(held.map((h) => h.records.reason)).toEqual(['delivery-limit'])
    expect(sp.settleDeadLetter(0, held[0]!.token, false)).toBe(true)
    expect(sp.stateOf(0)).toEqual({ state: RecordState.Available, deliveryCount: 3, memberId: null })
    expect(sp.acquire('m2', log([0, 0]), 10)).toEqual([{ firstOffset: 0, lastOffset: 0, deliveryCount: 4 }])
    sp.acknowledge('m2', [ack(0, 0, Release)])
    expect(held.map((h) => h.records)).toEqual([
      { firstOffset: 0, lastOffset: 0, deliveryCount: 3, reason: 'delivery-limit' },
      { firstOffset: 0, lastOffset: 0, deliveryCount: 4, reason: 'delivery-limit' },
    ])
    // The first write's late answer is for a hold that is over.
    expect(sp.settleDeadLetter(0, held[0]!.token, true)).toBe(false)
    expect(sp.settleDeadLetter(0, held[1]!.token, true)).toBe(true)
    expect(archived.map((a) => a.reason)).toEqual(['delivery-limit'])
    expect(sp.startOffset).toBe(1)
  })

  it('a reset while a write is in flight drops the hold; the late answer changes nothing', () => {
    const { sp, held } = setup({ deadLetters: () => true })
    sp.acquire('m1', log([0, 0]), 10)
    sp.acknowledge('m1', [ack(0, 0, Reject)])
    sp.reset(0)
    expect(sp.settleDeadLetter(0, held[0]!.token, true)).toBe(false)
    expect(sp.acquire('m1', log([0, 0]), 10)).toEqual([{ firstOffset: 0, lastOffset: 0, deliveryCount: 1 }])
  })

  it('without a dead-letter topic a reject archives at once', () => {
    const { sp, held, archived } = setup({ deadLetters: () => false })
    sp.acquire('m1', log([0, 0]), 10)
    sp.acknowledge('m1', [ack(0, 0, Reject)])
    expect(held).toEqual([])
    expect(archived.map((a) => a.reason)).toEqual(['rejected'])
  })
})

describe('SharePartition retry back-off', () => {
  const backoff = (n: number): number => Math.min(1000, 100 * 2 ** (n - 1))

  it('a released or lock-expired record is not acquirable before its back-off; records behind it are', () => {
    const { sp, advance } = setup({ retryDelayMs: backoff, deliveryCountLimit: 10 })
    sp.acquire('m1', log([0, 2]), 1) // one batch: offsets 0-2
    sp.acknowledge('m1', [ack(0, 2, Release, Accept, Accept)])
    expect(sp.nextFetchOffset()).toBe(3)
    expect(sp.acquire('m1', log([0, 2], [3, 3]), 10)).toEqual([{ firstOffset: 3, lastOffset: 3, deliveryCount: 1 }])
    // The waiting record holds the SPSO.
    expect(sp.startOffset).toBe(0)
    advance(99)
    expect(sp.retryDue()).toBe(false)
    expect(sp.acquire('m1', log([0, 2]), 10)).toEqual([])
    advance(1)
    expect(sp.retryDue()).toBe(true)
    expect(sp.nextFetchOffset()).toBe(0)
    expect(sp.acquire('m1', log([0, 2]), 10)).toEqual([{ firstOffset: 0, lastOffset: 0, deliveryCount: 2 }])
    // Second delivery's lock runs out: 200 ms this time.
    advance(30_000)
    expect(sp.expireLocks()).toBe(2)
    advance(199)
    expect(sp.acquire('m2', log([0, 2]), 10)).toEqual([])
    advance(1)
    expect(sp.acquire('m2', log([0, 2]), 10)).toEqual([{ firstOffset: 0, lastOffset: 0, deliveryCount: 3 }])
  })

  it('a waiting record counts against the window: nothing past SPSO + max.record.locks is acquired', () => {
    const { sp, advance } = setup({ retryDelayMs: backoff, maxRecordLocks: 3 })
    sp.acquire('m1', log([0, 2]), 10)
    sp.acknowledge('m1', [ack(0, 2, Release, Accept, Accept)])
    expect(sp.canAcquire()).toBe(false)
    expect(sp.acquire('m1', log([3, 5]), 10)).toEqual([])
    advance(100)
    expect(sp.canAcquire()).toBe(true)
    expect(sp.acquire('m1', log([0, 0]), 10)).toEqual([{ firstOffset: 0, lastOffset: 0, deliveryCount: 2 }])
    sp.acknowledge('m1', [ack(0, 0, Accept)])
    expect(sp.startOffset).toBe(3)
    expect(sp.acquire('m1', log([3, 5]), 10)).toEqual([{ firstOffset: 3, lastOffset: 5, deliveryCount: 1 }])
  })
})
