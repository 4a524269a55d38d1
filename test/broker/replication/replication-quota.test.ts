// The replication quota's sliding-window rate and the throttled-replica lists it is applied to.
import { describe, expect, it } from 'vitest'
import { ReplicationQuota } from '../../../broker/replication/replication-quota.js'
import { ThrottledReplicas, throttledPartitions } from '../../../broker/replication/throttled-replicas.js'
import { configDef } from '../../../storage/config-defs.js'

const KIB = 1024

function quota(limit: number, windows = 3, windowMs = 1000): { q: ReplicationQuota; setLimit: (n: number) => void } {
  let current = limit
  return { q: new ReplicationQuota(() => current, () => windows, () => windowMs), setLimit: (n) => (current = n) }
}

describe('ReplicationQuota', () => {
  it('measures bytes over the samples in the window, never over less than all but the current one', () => {
    const { q } = quota(100 * KIB)
    q.record(100 * KIB, 0)
    // A fresh quota spreads its first bytes over (windows - 1) windows: 100 KiB over 2 s.
    expect(q.rate(0)).toBe(50 * KIB)
    q.record(100 * KIB, 1500)
    expect(q.rate(1500)).toBe(100 * KIB)
    // 2.5 s after the first sample: both still count, over the 2.5 s they span.
    expect(q.rate(2500)).toBeCloseTo((200 * KIB * 1000) / 2500)
    // The first sample has left the 3 s window; the second is spread over the 2 s minimum.
    expect(q.rate(3000)).toBe(50 * KIB)
    expect(q.rate(4600)).toBe(0)
  })

  it('is exceeded above its limit, and free again once the window has moved on', () => {
    const { q } = quota(100 * KIB)
    q.record(150 * KIB, 0)
    expect(q.exceeded(0)).toBe(false) // 75 KiB/s
    q.record(100 * KIB, 500)
    expect(q.exceeded(500)).toBe(true) // 125 KiB/s
    expect(q.exceeded(2400)).toBe(true) // 250 KiB over 2.4 s
    expect(q.exceeded(2600)).toBe(false) // over 2.6 s: below 100 KiB/s
    // Held to its limit: recording only while not exceeded lets through about limit * elapsed.
    let sent = 0
    for (let t = 3000; t < 13_000; t += 50) {
      if (q.exceeded(t)) continue
      q.record(16 * KIB, t)
      sent += 16 * KIB
    }
    expect(sent).toBeGreaterThan(10 * 100 * KIB * 0.8)
    expect(sent).toBeLessThanOrEqual((10 + 2) * 100 * KIB + 16 * KIB)
  })

  it('never throttles at Long.MAX_VALUE, and takes a changed limit at once', () => {
    const { q, setLimit } = quota(Number('9223372036854775807'))
    q.record(1 << 30, 0)
    expect(q.exceeded(0)).toBe(false)
    setLimit(1024)
    expect(q.exceeded(0)).toBe(true)
    setLimit(Number.POSITIVE_INFINITY)
    expect(q.exceeded(0)).toBe(false)
  })
})

describe('throttled replica lists', () => {
  it('reads the pairs naming this broker, or every partition for *', () => {
    expect(throttledPartitions('0:1,1:2, 2:1', 1)).toEqual(new Set([0, 2]))
    expect(throttledPartitions('0:1,1:2', 3)).toEqual(new Set())
    expect(throttledPartitions('*', 3)).toBe('all')
    expect(throttledPartitions('', 3)).toEqual(new Set())
    const lookup = new ThrottledReplicas(2)
    expect(lookup.includes('0:1,1:2', 1)).toBe(true)
    expect(lookup.includes('0:1,1:2', 0)).toBe(false)
    expect(lookup.includes('*', 7)).toBe(true)
    expect(lookup.includes(undefined, 0)).toBe(false)
  })

  it('accepts only * or partition:broker pairs as the topic configs', () => {
    for (const name of ['leader.replication.throttled.replicas', 'follower.replication.throttled.replicas']) {
      const validate = configDef('topic', name)!.validate!
      expect(validate('*')).toBeUndefined()
      expect(validate('')).toBeUndefined()
      expect(validate('0:1,1:2')).toBeUndefined()
      expect(validate('0:1,x')).toMatch(/\[partitionId\]:\[brokerId\]/)
      expect(validate('0-1')).toMatch(/\[partitionId\]:\[brokerId\]/)
    }
  })
})
