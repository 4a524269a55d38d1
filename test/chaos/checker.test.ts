// The fault-injection checker on small hand-made histories: a clean one passes, and each kind of
// anomaly is found where it was put, so a run that reports 0 anomalies means what it says.
import { describe, expect, it } from 'vitest'
import { check, countByKind, type Attempt, type History } from './checker.js'

/** Producer `a` sends a-0..a-3 to partition 0, producer `b` sends b-0..b-1 to partition 1; all acknowledged in order. */
function clean(): History {
  const attempts = new Map<string, Attempt>()
  const acks = new Map<string, { partition: number; offset: number }>()
  const p0: Array<[number, string]> = []
  const p1: Array<[number, string]> = []
  for (let seq = 0; seq < 4; seq++) {
    attempts.set(`a-${seq}`, { producer: 'a', seq, partition: 0 })
    acks.set(`a-${seq}`, { partition: 0, offset: seq })
    p0.push([seq, `a-${seq}`])
  }
  for (let seq = 0; seq < 2; seq++) {
    attempts.set(`b-${seq}`, { producer: 'b', seq, partition: 1 })
    acks.set(`b-${seq}`, { partition: 1, offset: seq })
    p1.push([seq, `b-${seq}`])
  }
  return {
    attempts,
    acks,
    failed: new Set(),
    finalLog: new Map([[0, { records: p0, highWatermark: 4 }], [1, { records: p1, highWatermark: 2 }]]),
    liveReads: [[0, 0, 'a-0'], [0, 1, 'a-1'], [1, 0, 'b-0']],
    replicaLogs: new Map([[2, new Map([[0, [...p0]], [1, [...p1]]])]]),
  }
}

function kinds(h: History) {
  const counts = countByKind(check(h).anomalies)
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0))
}

describe('chaos checker', () => {
  it('finds nothing wrong in a clean history, and counts its operations', () => {
    const v = check(clean())
    expect(v.anomalies).toEqual([])
    expect(v.figures).toEqual({ attempted: 6, acknowledged: 6, acknowledgedWithoutOffset: 0, failed: 0, failedButWritten: 0, unresolved: 0, records: 6, liveReads: 3 })
  })

  it('accepts a failed send whether or not its value was written', () => {
    const h = clean()
    h.attempts.set('a-4', { producer: 'a', seq: 4, partition: 0 })
    h.attempts.set('a-5', { producer: 'a', seq: 5, partition: 0 })
    h.failed.add('a-4').add('a-5')
    h.finalLog.get(0)!.records.push([4, 'a-4'])
    h.finalLog.get(0)!.highWatermark = 5
    h.replicaLogs.get(2)!.get(0)!.push([4, 'a-4'])
    const v = check(h)
    expect(v.anomalies).toEqual([])
    expect(v.figures.failedButWritten).toBe(1)
  })

  it('finds an acknowledged value missing from the log', () => {
    const h = clean()
    h.finalLog.get(0)!.records.splice(2)
    h.finalLog.get(0)!.highWatermark = 2
    h.replicaLogs.get(2)!.get(0)!.splice(2)
    expect(kinds(h)).toEqual({ lost: 2 })
    expect(check(h).anomalies[0]).toMatchObject({ kind: 'lost', partition: 0, offset: 2, value: 'a-2' })
  })

  it('finds a value acknowledged at one offset and stored at another', () => {
    const h = clean()
    h.acks.set('a-3', { partition: 0, offset: 7 })
    h.acks.set('b-0', { partition: 0, offset: -1 })
    h.acks.set('b-1', { partition: 1, offset: -1 })
    expect(kinds(h)).toEqual({ 'wrong-offset': 2 })
  })

  it('finds a value written twice, and a value nobody sent', () => {
    const h = clean()
    h.finalLog.get(1)!.records.push([2, 'a-1'], [3, 'zz'])
    h.finalLog.get(1)!.highWatermark = 4
    h.replicaLogs.clear()
    expect(kinds(h)).toEqual({ duplicate: 1, unexpected: 1 })
  })

  it('finds one producer\'s values out of order within a partition', () => {
    const h = clean()
    const r = h.finalLog.get(0)!.records
    ;[r[1], r[2]] = [[1, 'a-2'], [2, 'a-1']]
    // The acknowledgements agree with the log, so only the order is wrong.
    h.acks.set('a-1', { partition: 0, offset: 2 })
    h.acks.set('a-2', { partition: 0, offset: 1 })
    h.liveReads = []
    h.replicaLogs.clear()
    expect(kinds(h)).toEqual({ order: 1 })
  })

  it('finds offsets that skip, and records that stop short of the high watermark', () => {
    const h = clean()
    h.finalLog.get(0)!.records[3] = [4, 'a-3']
    h.acks.set('a-3', { partition: 0, offset: 4 })
    h.finalLog.get(0)!.highWatermark = 5
    h.finalLog.get(1)!.highWatermark = 3
    h.replicaLogs.clear()
    expect(kinds(h)).toEqual({ 'offset-gap': 2 })
  })

  it('finds a consumer that read a value the final log does not hold there', () => {
    const h = clean()
    h.liveReads.push([1, 1, 'x'], [1, 1, 'x'], [1, 5, 'b-1'])
    expect(kinds(h)).toEqual({ 'divergent-read': 2 })
  })

  it('finds a replica whose log is not the leader\'s: a record differs, one is missing, one is extra', () => {
    const h = clean()
    const replica = h.replicaLogs.get(2)!
    replica.get(0)![1] = [1, 'a-9']
    replica.get(1)!.pop()
    h.replicaLogs.set(3, new Map([[0, [...h.finalLog.get(0)!.records, [4, 'a-4']]]]))
    expect(kinds(h)).toEqual({ 'replica-divergence': 3 })
  })
})
