// The checker's second half: transactions, read_committed reads and a consumer group's committed
// offsets. Like checker.ts it judges a history after the run; values are unique strings.
//
//   aborted-read      a read_committed consumer read a value of a transaction its producer aborted
//   aborted-visible   the final read_committed read of the transactional topic holds such a value
//   txn-lost          a transaction whose commit was acknowledged has none of its values in the final read
//   txn-partial       a transaction has some of its values in the final read and not others (whatever
//                     its outcome: committed, aborted or unknown, it must be all or nothing)
//   txn-duplicate     a transactional value appears more than once in the final read
//   txn-divergent-read a read_committed consumer read a value at an offset the final read holds differently
//   txn-open          a partition's last stable offset stays below its high watermark once every
//                     producer has stopped and transaction.timeout.ms has passed (a transaction never
//                     ended); values missing from such a partition are not judged, as the final read
//                     stops at the last stable offset
//   offset-regress    OffsetFetch answered a committed offset that an acknowledged commit had already
//                     replaced before the OffsetFetch was sent (committed offsets went backwards or
//                     a commit was lost)
//
// Which outcomes are ambiguous, as in Jepsen: a transaction is aborted with EndTxn(abort) (on purpose,
// or after a send or a commit failed),
// and Kafka never commits a transaction without EndTxn(commit), so an aborted transaction's values
// must never be visible, whether the abort was acknowledged or failed (a failed abort leaves the
// transaction to the coordinator's timeout, which aborts it). A commit that failed (timed out, the
// connection dropped, the coordinator moved) has an unknown outcome: all of its values or none. A
// commit of offsets that failed may still have been written: it is a write that may take effect
// at any time after it was sent, so an OffsetFetch answering its offset is never held against the
// broker.

export type TxnIntent = 'commit' | 'abort'
/** What the client saw: EndTxn acknowledged (committed or aborted), or anything else (unknown). */
export type TxnOutcome = 'committed' | 'aborted' | 'unknown'

export interface Txn {
  id: string
  intent: TxnIntent
  outcome: TxnOutcome
  /** The values sent in it, with their partitions (sends that failed included: they may be in the log). */
  values: Array<[partition: number, value: string]>
}

/** One OffsetCommit of the group, from the time it was sent to the time its answer came (undefined: it failed). */
export interface OffsetCommit {
  partition: number
  offset: number
  sentAt: number
  ackedAt: number | undefined
}

/** One OffsetFetch of the group: committed offset per partition (-1: none), with when it was sent and answered. */
export interface OffsetObservation {
  sentAt: number
  answeredAt: number
  offsets: Map<number, number>
}

export interface TxnHistory {
  txns: Txn[]
  /** What read_committed consumers read while faults were injected. */
  committedReads: Array<[partition: number, offset: number, value: string]>
  /** Per partition, what a read_committed read from offset 0 returns once every transaction is over. */
  finalCommitted: Map<number, Array<[offset: number, value: string]>>
  /** Per partition whose last stable offset was still below its high watermark at the final read: both. */
  openAtEnd: Map<number, { lastStableOffset: number; highWatermark: number }>
  commits: OffsetCommit[]
  observations: OffsetObservation[]
}

export type TxnAnomalyKind = 'aborted-read' | 'aborted-visible' | 'txn-lost' | 'txn-partial' | 'txn-duplicate' | 'txn-divergent-read' | 'txn-open' | 'offset-regress'
export const TXN_ANOMALY_KINDS: readonly TxnAnomalyKind[] = ['aborted-read', 'aborted-visible', 'txn-lost', 'txn-partial', 'txn-duplicate', 'txn-divergent-read', 'txn-open', 'offset-regress']

export interface TxnAnomaly {
  kind: TxnAnomalyKind
  partition?: number
  offset?: number
  value?: string
  detail: string
}

export interface TxnVerdict {
  anomalies: TxnAnomaly[]
  figures: {
    transactions: number
    committed: number
    aborted: number
    /** Commit or abort failed: the outcome the client saw is unknown. */
    unknown: number
    /** Of those, how many turned out committed (every value visible). */
    unknownCommitted: number
    committedReads: number
    finalCommittedRecords: number
    offsetCommits: number
    offsetCommitsAcked: number
    offsetFetches: number
  }
}

export function checkTxns(h: TxnHistory): TxnVerdict {
  const anomalies: TxnAnomaly[] = []
  const aborted = (t: Txn | undefined) => t !== undefined && (t.intent === 'abort' || t.outcome === 'aborted')
  const why = (t: Txn) => (t.outcome === 'aborted' ? 'abort acknowledged' : t.intent === 'abort' ? 'abort failed' : `commit failed, then abort acknowledged`)
  const txnOf = new Map<string, Txn>()
  for (const t of h.txns) for (const [, v] of t.values) txnOf.set(v, t)

  const where = new Map<string, Array<[number, number]>>()
  const at = new Map<number, Map<number, string>>()
  let finalCommittedRecords = 0
  for (const [partition, records] of h.finalCommitted) {
    const byOffset = new Map<number, string>()
    at.set(partition, byOffset)
    for (const [offset, value] of records) {
      finalCommittedRecords++
      byOffset.set(offset, value)
      where.set(value, [...(where.get(value) ?? []), [partition, offset]])
    }
  }
  for (const [value, places] of where) {
    if (places.length > 1) anomalies.push({ kind: 'txn-duplicate', partition: places[1]![0], offset: places[1]![1], value, detail: `${value} at ${places.map(([p, o]) => `${p}@${o}`).join(', ')}` })
    const t = txnOf.get(value)
    if (aborted(t)) {
      anomalies.push({ kind: 'aborted-visible', partition: places[0]![0], offset: places[0]![1], value, detail: `${value} of ${t!.id}, aborted (${why(t!)})` })
    }
  }

  const seen = new Set<string>()
  for (const [partition, offset, value] of h.committedReads) {
    const t = txnOf.get(value)
    if (aborted(t) && !seen.has(value)) {
      seen.add(value)
      anomalies.push({ kind: 'aborted-read', partition, offset, value, detail: `read_committed consumer read ${value} of ${t!.id}, aborted (${why(t!)})` })
    }
    const final = at.get(partition)?.get(offset)
    const key = `${partition}@${offset}:${value}`
    if (final !== value && !seen.has(key)) {
      seen.add(key)
      anomalies.push({ kind: 'txn-divergent-read', partition, offset, value, detail: `read ${value} at ${partition}@${offset}, the final read_committed read holds ${final ?? 'nothing'} there` })
    }
  }

  for (const [partition, { lastStableOffset, highWatermark }] of h.openAtEnd) {
    anomalies.push({ kind: 'txn-open', partition, offset: lastStableOffset, detail: `last stable offset ${lastStableOffset} below the high watermark ${highWatermark} after every producer stopped` })
  }
  let unknownCommitted = 0
  for (const t of h.txns) {
    // What lies past a stuck last stable offset cannot be read committed: not judged.
    if (t.values.some(([p, v]) => h.openAtEnd.has(p) && !where.has(v))) continue
    const present = t.values.filter(([, v]) => where.has(v))
    if (t.outcome === 'unknown' && t.values.length > 0 && present.length === t.values.length) unknownCommitted++
    if (aborted(t) || present.length === t.values.length) continue
    if (present.length > 0) {
      const missing = t.values.filter(([, v]) => !where.has(v))
      anomalies.push({ kind: 'txn-partial', partition: missing[0]![0], value: missing[0]![1], detail: `${t.id} (${t.outcome}): ${present.length} of ${t.values.length} values visible; missing ${missing.map(([p, v]) => `${v}@p${p}`).join(', ')}` })
    } else if (t.outcome === 'committed') {
      anomalies.push({ kind: 'txn-lost', partition: t.values[0]![0], value: t.values[0]![1], detail: `${t.id}: commit acknowledged, none of its ${t.values.length} values visible` })
    }
  }

  anomalies.push(...checkOffsets(h.commits, h.observations))

  return {
    anomalies,
    figures: {
      transactions: h.txns.length,
      committed: h.txns.filter((t) => t.outcome === 'committed').length,
      aborted: h.txns.filter((t) => t.outcome === 'aborted').length,
      unknown: h.txns.filter((t) => t.outcome === 'unknown').length,
      unknownCommitted,
      committedReads: h.committedReads.length,
      finalCommittedRecords,
      offsetCommits: h.commits.length,
      offsetCommitsAcked: h.commits.filter((c) => c.ackedAt !== undefined).length,
      offsetFetches: h.observations.length,
    },
  }
}

/**
 * Each partition's committed offset is a register written by OffsetCommit and read by OffsetFetch.
 * A read may answer the offset of commit `w` if `w` was sent before the read was answered and `w`
 * was not replaced before the read was sent: no acknowledged commit `w2` was sent after `w` was
 * acknowledged and itself acknowledged before the read was sent. A failed commit is never
 * acknowledged, so never replaced. A read answering "none" (-1) is a read of the initial state,
 * replaced by any acknowledged commit.
 */
export function checkOffsets(commits: OffsetCommit[], observations: OffsetObservation[]): TxnAnomaly[] {
  const anomalies: TxnAnomaly[] = []
  const byPartition = new Map<number, OffsetCommit[]>()
  for (const c of commits) byPartition.set(c.partition, [...(byPartition.get(c.partition) ?? []), c])
  for (const obs of observations) {
    for (const [partition, offset] of obs.offsets) {
      const cs = byPartition.get(partition) ?? []
      // The latest send time of a commit acknowledged before this read was sent: any write
      // acknowledged before that send time was replaced.
      let replacedBefore = -Infinity
      let latest: OffsetCommit | undefined
      for (const c of cs) {
        if (c.ackedAt !== undefined && c.ackedAt < obs.sentAt && c.sentAt > replacedBefore) {
          replacedBefore = c.sentAt
          latest = c
        }
      }
      if (latest === undefined) continue
      const explained = cs.some((c) => c.offset === offset && c.sentAt < obs.answeredAt && (c.ackedAt === undefined || c.ackedAt >= replacedBefore))
      if (explained) continue
      const detail = offset < latest.offset ? 'went backwards' : 'differs'
      anomalies.push({
        kind: 'offset-regress',
        partition,
        offset,
        detail: `OffsetFetch sent at ${obs.sentAt} answered ${offset} (${detail}); the commit of ${latest.offset} was acknowledged at ${latest.ackedAt}, and no commit of ${offset} explains it`,
      })
    }
  }
  return anomalies
}

/** Counts by kind, every kind present (0 when none). */
export function countTxnByKind(anomalies: TxnAnomaly[]): Record<TxnAnomalyKind, number> {
  const out = Object.fromEntries(TXN_ANOMALY_KINDS.map((k) => [k, 0])) as Record<TxnAnomalyKind, number>
  for (const a of anomalies) out[a.kind]++
  return out
}
