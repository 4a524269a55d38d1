// The fault-injection checker on small hand-made histories: a clean one passes, and each kind of
// anomaly is found where it was put, so a run that reports 0 anomalies means what it says.
import { describe, expect, it } from 'vitest'
import { check, countByKind, type Attempt, type History } from './checker.js'
import { checkTxns, countTxnByKind, type TxnHistory } from './checker-txn.js'

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
    epochBumps: new Map(),
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
    expect(v.figures).toEqual({ attempted: 6, acknowledged: 6, acknowledgedWithoutOffset: 0, failed: 0, failedButWritten: 0, unresolved: 0, duplicatesAfterEpochBump: 0, records: 6, liveReads: 3 })
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

  it('allows a value written twice by a producer that bumped its epoch after attempting it, and only that', () => {
    const h = clean()
    h.attempts.set('a-0', { producer: 'a', seq: 0, partition: 0, at: 1000 })
    h.attempts.set('a-1', { producer: 'a', seq: 1, partition: 0, at: 3000 })
    h.epochBumps.set('a', [2000])
    // a-0 sent again after the bump (allowed, and its second place is not held to the order);
    // a-1 was attempted after the bump, so its second copy is a duplicate.
    h.finalLog.get(0)!.records.push([4, 'a-0'], [5, 'a-1'])
    h.finalLog.get(0)!.highWatermark = 6
    h.replicaLogs.clear()
    h.liveReads = []
    expect(kinds(h)).toEqual({ duplicate: 1, order: 1 })
    expect(check(h).anomalies.find((a) => a.kind === 'duplicate')!.value).toBe('a-1')
    expect(check(h).figures.duplicatesAfterEpochBump).toBe(1)
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

/**
 * Transactions t1 (committed, partitions 0 and 1), t2 (aborted on purpose, 0 and 2) and t3 (commit
 * failed: unknown, written in full); the group committed 5 then 9 on partition 0, and OffsetFetch
 * saw -1, 5 and 9 in turn.
 */
function cleanTxns(): TxnHistory {
  return {
    txns: [
      { id: 't1', intent: 'commit', outcome: 'committed', values: [[0, 't1-0'], [1, 't1-1']] },
      { id: 't2', intent: 'abort', outcome: 'aborted', values: [[0, 't2-0'], [2, 't2-1']] },
      { id: 't3', intent: 'commit', outcome: 'unknown', values: [[1, 't3-0'], [2, 't3-1']] },
    ],
    committedReads: [[0, 0, 't1-0'], [1, 0, 't1-1'], [2, 3, 't3-1']],
    // Offsets leave room for the aborted values and the control records.
    finalCommitted: new Map([[0, [[0, 't1-0']]], [1, [[0, 't1-1'], [3, 't3-0']]], [2, [[3, 't3-1']]]]),
    openAtEnd: new Map(),
    commits: [
      { partition: 0, offset: 5, sentAt: 100, ackedAt: 110 },
      { partition: 0, offset: 9, sentAt: 200, ackedAt: 210 },
    ],
    observations: [
      { sentAt: 50, answeredAt: 60, offsets: new Map([[0, -1]]) },
      { sentAt: 150, answeredAt: 160, offsets: new Map([[0, 5]]) },
      { sentAt: 250, answeredAt: 260, offsets: new Map([[0, 9]]) },
    ],
  }
}

function txnKinds(h: TxnHistory) {
  return Object.fromEntries(Object.entries(countTxnByKind(checkTxns(h).anomalies)).filter(([, n]) => n > 0))
}

describe('chaos checker: transactions and committed offsets', () => {
  it('finds nothing wrong in a clean history, and counts its operations', () => {
    const v = checkTxns(cleanTxns())
    expect(v.anomalies).toEqual([])
    expect(v.figures).toEqual({ transactions: 3, committed: 1, aborted: 1, unknown: 1, unknownCommitted: 1, committedReads: 3, finalCommittedRecords: 4, offsetCommits: 2, offsetCommitsAcked: 2, offsetFetches: 3 })
  })

  it('accepts a transaction of unknown outcome that is wholly absent', () => {
    const h = cleanTxns()
    h.finalCommitted.set(1, [[0, 't1-1']])
    h.finalCommitted.set(2, [])
    h.committedReads.pop()
    expect(checkTxns(h).anomalies).toEqual([])
    expect(checkTxns(h).figures.unknownCommitted).toBe(0)
  })

  it('finds a read_committed consumer that read an aborted value', () => {
    const h = cleanTxns()
    h.committedReads.push([0, 1, 't2-0'])
    h.finalCommitted.get(0)!.push([1, 't2-0'])
    expect(txnKinds(h)).toEqual({ 'aborted-read': 1, 'aborted-visible': 1 })
  })

  it('finds an aborted value in the final read, also when the abort itself failed or followed a failed commit', () => {
    const h = cleanTxns()
    h.txns[1]!.outcome = 'unknown'
    h.txns.push({ id: 't4', intent: 'commit', outcome: 'aborted', values: [[0, 't4-0'], [1, 't4-1']] })
    h.finalCommitted.get(2)!.push([6, 't2-1'])
    h.finalCommitted.get(1)!.push([6, 't4-1'])
    expect(txnKinds(h)).toEqual({ 'aborted-visible': 2 })
  })

  it('finds a committed transaction partly or wholly missing, and one of unknown outcome partly present', () => {
    const h = cleanTxns()
    h.txns.push({ id: 't5', intent: 'commit', outcome: 'committed', values: [[0, 't5-0'], [2, 't5-1']] })
    h.txns.push({ id: 't6', intent: 'commit', outcome: 'committed', values: [[1, 't6-0'], [2, 't6-1']] })
    h.finalCommitted.get(0)!.push([4, 't5-0'])
    h.finalCommitted.set(2, [])
    h.committedReads.pop()
    expect(txnKinds(h)).toEqual({ 'txn-partial': 2, 'txn-lost': 1 })
    expect(checkTxns(h).anomalies.map((a) => a.detail.split(/[ :]/)[0])).toEqual(['t3', 't5', 't6'])
  })

  it('finds a transactional value twice, and a read the final read contradicts', () => {
    const h = cleanTxns()
    h.finalCommitted.get(2)!.push([4, 't1-0'])
    h.committedReads.push([1, 3, 't1-1'])
    expect(txnKinds(h)).toEqual({ 'txn-duplicate': 1, 'txn-divergent-read': 1 })
  })

  it('finds a transaction left open, and leaves what lies past its partition\'s last stable offset unjudged', () => {
    const h = cleanTxns()
    h.txns.push({ id: 't7', intent: 'commit', outcome: 'committed', values: [[0, 't7-0'], [2, 't7-1']] })
    h.finalCommitted.get(0)!.push([4, 't7-0'])
    h.openAtEnd.set(2, { lastStableOffset: 5, highWatermark: 9 })
    expect(txnKinds(h)).toEqual({ 'txn-open': 1 })
  })

  it('finds committed offsets going backwards, and a commit lost', () => {
    const h = cleanTxns()
    h.observations.push({ sentAt: 300, answeredAt: 310, offsets: new Map([[0, 5]]) })
    h.observations.push({ sentAt: 320, answeredAt: 330, offsets: new Map([[0, -1]]) })
    expect(txnKinds(h)).toEqual({ 'offset-regress': 2 })
  })

  it('accepts an older offset while a newer commit is in flight, and any offset a failed commit wrote', () => {
    const h = cleanTxns()
    // Sent before the commit of 9 was acknowledged: 5 or 9 are both right.
    h.observations.push({ sentAt: 205, answeredAt: 215, offsets: new Map([[0, 5]]) })
    // A commit of 7 that failed (perhaps written): 7 may show up at any time after it was sent.
    h.commits.push({ partition: 0, offset: 7, sentAt: 220, ackedAt: undefined })
    h.observations.push({ sentAt: 400, answeredAt: 410, offsets: new Map([[0, 7]])})
    // A later acknowledged commit of a lower offset (a consumer that seeks back) replaces 9.
    h.commits.push({ partition: 0, offset: 3, sentAt: 500, ackedAt: 510 })
    h.observations.push({ sentAt: 600, answeredAt: 610, offsets: new Map([[0, 3]]) })
    expect(checkTxns(h).anomalies).toEqual([])
  })
})
