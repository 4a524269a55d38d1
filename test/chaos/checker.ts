// The checker, in the manner of Jepsen's Kafka workload: given what the producers attempted and saw
// acknowledged, what consumers read while faults were injected, and every partition read from
// offset 0 once the cluster has healed, it lists each anomaly by kind. Values are unique strings,
// so a value names one send of one producer.
//
//   lost          an acknowledged value is not in the final log
//   wrong-offset  an acknowledged value is in the log, but not at the partition and offset acknowledged
//   duplicate     a value appears more than once in the final logs (idempotence broken). Not counted:
//                 a value of a producer that bumped its epoch (KIP-360) after the value was attempted.
//                 librdkafka's idempotent producer bumps its epoch when messages time out, and the
//                 messages it then sends again under the new epoch restart at sequence 0, so a broker
//                 cannot tell them from new ones: librdkafka documents duplicates in that case
//                 (confluentinc/librdkafka#4953). Such values count in figures.duplicatesAfterEpochBump,
//                 and only their first place is held to the order check.
//   unexpected    the log holds a value no producer sent
//   order         a producer's values in one partition are not in the order it sent them
//   offset-gap    a partition's offsets are not 0, 1, 2, ... up to its high watermark
//   divergent-read a consumer read a value at an offset that the final log holds differently, or not at all
//                 (a read past the high watermark of data that was later truncated)
//   replica-divergence  a replica's log on disk, once the cluster has settled and gone quiet, is not
//                 the leader's: a record differs, is missing, or lies beyond the high watermark

export interface Attempt {
  /** One producer instance: values from one label carry increasing seq in the order sent. */
  producer: string
  seq: number
  partition: number
  /** When it was attempted (ms since the epoch), where known. */
  at?: number
}

export interface Ack {
  partition: number
  /** -1 when the client did not learn it (librdkafka acknowledges a message implicitly, with no
   *  offset, when a later batch of the same producer is acknowledged after the first timed out). */
  offset: number
}

export interface History {
  attempts: Map<string, Attempt>
  acks: Map<string, Ack>
  /** Values whose send ended in an error: perhaps written, perhaps not (indeterminate). */
  failed: Set<string>
  /** Per partition, every record read from offset 0 up to the high watermark, in order. */
  finalLog: Map<number, { records: Array<[offset: number, value: string]>; highWatermark: number }>
  /** What consumers read while the nemesis ran: partition, offset, value. */
  liveReads: Array<[partition: number, offset: number, value: string]>
  /** Per broker and partition, the records of its replica as read from its disk after the run. */
  replicaLogs: Map<number, Map<number, Array<[offset: number, value: string]>>>
  /** Per producer (Attempt.producer), when it bumped its epoch (ms since the epoch). */
  epochBumps: Map<string, number[]>
}

export type AnomalyKind = 'lost' | 'wrong-offset' | 'duplicate' | 'unexpected' | 'order' | 'offset-gap' | 'divergent-read' | 'replica-divergence'
export const ANOMALY_KINDS: readonly AnomalyKind[] = ['lost', 'wrong-offset', 'duplicate', 'unexpected', 'order', 'offset-gap', 'divergent-read', 'replica-divergence']

export interface Anomaly {
  kind: AnomalyKind
  partition: number
  offset?: number
  value?: string
  detail: string
}

export interface Verdict {
  anomalies: Anomaly[]
  figures: {
    attempted: number
    acknowledged: number
    /** Acknowledged with no offset (librdkafka's implicit acknowledgement): checked for presence only. */
    acknowledgedWithoutOffset: number
    failed: number
    /** Failed sends whose value is in the log all the same. */
    failedButWritten: number
    /** Sends still in flight at the end (neither acknowledged nor failed). */
    unresolved: number
    /** Values written more than once by a producer that bumped its epoch after attempting them (not anomalies). */
    duplicatesAfterEpochBump: number
    records: number
    liveReads: number
  }
}

export function check(h: History): Verdict {
  const anomalies: Anomaly[] = []
  // Where each value sits in the final logs (every place, to see duplicates).
  const where = new Map<string, Ack[]>()
  const at = new Map<number, Map<number, string>>()
  let records = 0
  for (const [partition, log] of [...h.finalLog].sort((a, b) => a[0] - b[0])) {
    const byOffset = new Map<number, string>()
    at.set(partition, byOffset)
    let expected = 0
    for (const [offset, value] of log.records) {
      records++
      if (offset !== expected) {
        anomalies.push({ kind: 'offset-gap', partition, offset, detail: `offset ${offset} follows ${expected - 1} (expected ${expected})` })
      }
      expected = offset + 1
      byOffset.set(offset, value)
      const places = where.get(value) ?? []
      places.push({ partition, offset })
      where.set(value, places)
    }
    if (expected !== log.highWatermark) {
      anomalies.push({ kind: 'offset-gap', partition, offset: expected, detail: `records end at ${expected - 1} but the high watermark is ${log.highWatermark}` })
    }
  }

  let duplicatesAfterEpochBump = 0
  const bumpDuplicates = new Set<string>()
  for (const [value, places] of where) {
    const attempt = h.attempts.get(value)
    if (attempt === undefined) {
      for (const p of places) anomalies.push({ kind: 'unexpected', ...p, value, detail: 'no producer sent this value' })
      continue
    }
    if (places.length > 1 && bumpedAfter(h, attempt)) {
      duplicatesAfterEpochBump++
      bumpDuplicates.add(value)
    } else if (places.length > 1) {
      anomalies.push({ kind: 'duplicate', ...places[1]!, value, detail: `${value} at ${places.map((p) => `${p.partition}@${p.offset}`).join(', ')}` })
    }
  }

  for (const [value, ack] of h.acks) {
    const places = where.get(value)
    if (places === undefined) {
      anomalies.push({ kind: 'lost', ...ack, value, detail: `acknowledged at ${ack.partition}@${ack.offset}, ${describeSlot(at, ack)}` })
    } else if (!places.some((p) => p.partition === ack.partition && (p.offset === ack.offset || ack.offset < 0))) {
      anomalies.push({ kind: 'wrong-offset', ...ack, value, detail: `acknowledged at ${ack.partition}@${ack.offset}, found at ${places.map((p) => `${p.partition}@${p.offset}`).join(', ')}` })
    }
  }

  // Per producer and partition, seq must rise with the offset.
  for (const [partition, log] of h.finalLog) {
    const last = new Map<string, { seq: number; offset: number; value: string }>()
    for (const [offset, value] of log.records) {
      const a = h.attempts.get(value)
      if (a === undefined) continue
      if (bumpDuplicates.has(value) && where.get(value)![0]!.offset !== offset) continue
      const prev = last.get(a.producer)
      if (prev !== undefined && a.seq <= prev.seq) {
        anomalies.push({ kind: 'order', partition, offset, value, detail: `${value} (seq ${a.seq}) after ${prev.value} (seq ${prev.seq}) at ${prev.offset}` })
      }
      last.set(a.producer, { seq: a.seq, offset, value })
    }
  }

  const divergent = new Set<string>()
  for (const [partition, offset, value] of h.liveReads) {
    const final = at.get(partition)?.get(offset)
    if (final === value) continue
    const key = `${partition}@${offset}:${value}`
    if (divergent.has(key)) continue
    divergent.add(key)
    anomalies.push({ kind: 'divergent-read', partition, offset, value, detail: `read ${value} at ${partition}@${offset}, the final log holds ${final ?? 'nothing'} there` })
  }

  for (const [nodeId, partitions] of h.replicaLogs) {
    for (const [partition, records] of partitions) {
      const leader = at.get(partition)
      const highWatermark = h.finalLog.get(partition)?.highWatermark ?? 0
      const held = new Set<number>()
      let differs = false
      for (const [offset, value] of records) {
        held.add(offset)
        const expected = leader?.get(offset)
        if (expected === value || differs) continue
        differs = true
        anomalies.push({ kind: 'replica-divergence', partition, offset, value, detail: `broker ${nodeId} holds ${value} at ${partition}@${offset}, the leader ${expected ?? `nothing (high watermark ${highWatermark})`}` })
      }
      const missing = [...(leader?.keys() ?? [])].filter((o) => !held.has(o))
      if (missing.length > 0) {
        anomalies.push({ kind: 'replica-divergence', partition, offset: missing[0], detail: `broker ${nodeId} lacks ${missing.length} record(s) the leader holds, from offset ${missing[0]}` })
      }
    }
  }

  let failedButWritten = 0
  for (const v of h.failed) if (where.has(v)) failedButWritten++
  let unresolved = 0
  for (const v of h.attempts.keys()) if (!h.acks.has(v) && !h.failed.has(v)) unresolved++
  return {
    anomalies,
    figures: {
      attempted: h.attempts.size,
      acknowledged: h.acks.size,
      acknowledgedWithoutOffset: [...h.acks.values()].filter((a) => a.offset < 0).length,
      failed: h.failed.size,
      failedButWritten,
      unresolved,
      duplicatesAfterEpochBump,
      records,
      liveReads: h.liveReads.length,
    },
  }
}

function bumpedAfter(h: History, a: Attempt): boolean {
  return a.at !== undefined && (h.epochBumps.get(a.producer) ?? []).some((t) => t >= a.at!)
}

function describeSlot(at: Map<number, Map<number, string>>, ack: Ack): string {
  const v = at.get(ack.partition)?.get(ack.offset)
  return v === undefined ? 'the final log has no record there' : `the final log holds ${v} there`
}

/** Counts by kind, every kind present (0 when none). */
export function countByKind(anomalies: Anomaly[]): Record<AnomalyKind, number> {
  const out = Object.fromEntries(ANOMALY_KINDS.map((k) => [k, 0])) as Record<AnomalyKind, number>
  for (const a of anomalies) out[a.kind]++
  return out
}
