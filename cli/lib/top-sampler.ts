// What `samsa top` shows, sampled twice and differenced: per topic the records appended (sum of
// the partitions' end offsets) and the records consumed by groups (sum of committed offsets), per
// group its lag. Samples come either from the admin API of any Kafka cluster (ListOffsets and
// OffsetFetch) or from a Samsa broker's /metrics, whose counters also carry bytes in and out.
import type { AdminClient } from '../../broker/client/admin-client.js'
import { CliError } from './errors.js'

export interface TopicSample {
  /** Records appended so far: the sum of the partitions' end offsets, or messagesin_total. */
  records: number
  /** Records consumed by groups so far: the sum of their committed offsets on the topic. */
  consumed: number
  bytesIn: number | null
  bytesOut: number | null
}

export interface GroupSample {
  lag: number
  partitions: number
}

export interface Sample {
  at: number
  topics: Map<string, TopicSample>
  groups: Map<string, GroupSample>
}

export interface TopicRate {
  topic: string
  inPerSec: number
  consumedPerSec: number
  bytesInPerSec: number | null
  bytesOutPerSec: number | null
  records: number
}

export interface GroupLag {
  group: string
  lag: number
  partitions: number
  /** Positive while the group falls behind, negative while it catches up (records per second). */
  lagChangePerSec: number | null
}

/** One sample through the admin API: ListOffsets for every partition, OffsetFetch for every group. */
export async function sampleAdmin(admin: AdminClient, includeInternal = false): Promise<Sample> {
  const names = (await admin.listTopics()).filter((t) => includeInternal || !t.startsWith('__'))
  const ends = new Map<string, Map<number, number>>()
  await Promise.all(
    names.map(async (t) => {
      ends.set(t, new Map((await admin.topicOffsets(t, 0)).map((o) => [o.partition, o.high])))
    }),
  )
  const topics = new Map<string, TopicSample>()
  for (const [t, m] of ends) topics.set(t, { records: [...m.values()].reduce((a, b) => a + b, 0), consumed: 0, bytesIn: null, bytesOut: null })
  const groups = new Map<string, GroupSample>()
  const listed = (await admin.listGroups()).filter((g) => g.protocolType === 'consumer' || g.protocolType === '' || g.type === 'consumer' || g.type === 'classic')
  await Promise.all(
    listed.map(async (g) => {
      const offsets = await admin.fetchOffsets(g.groupId, null).catch(() => [])
      let lag = 0
      let partitions = 0
      for (const c of offsets) {
        const end = ends.get(c.topic)?.get(c.partition)
        if (c.offset < 0 || end === undefined) continue
        lag += Math.max(0, end - c.offset)
        partitions++
        topics.get(c.topic)!.consumed += c.offset
      }
      if (partitions > 0) groups.set(g.groupId, { lag, partitions })
    }),
  )
  return { at: Date.now(), topics, groups }
}

/** One sample from a Samsa broker's /metrics (Kafka's JMX-exporter names, kafka_exporter's for lag). */
export async function sampleMetrics(url: string, authorization?: string, includeInternal = false): Promise<Sample> {
  const res = await fetch(url, authorization === undefined ? {} : { headers: { authorization } })
  if (!res.ok) throw new CliError(`${url} answered ${res.status} ${res.statusText}`)
  const topics = new Map<string, TopicSample>()
  const groups = new Map<string, GroupSample>()
  const topic = (t: string): TopicSample => {
    let s = topics.get(t)
    if (s === undefined) topics.set(t, (s = { records: 0, consumed: 0, bytesIn: 0, bytesOut: 0 }))
    return s
  }
  const consumed = new Map<string, number>()
  for (const { name, labels, value } of parsePrometheusSamples(await res.text())) {
    const t = labels.topic
    if (t !== undefined && !includeInternal && t.startsWith('__')) continue
    if (name === 'kafka_server_brokertopicmetrics_messagesin_total' && t !== undefined) topic(t).records = value
    else if (name === 'kafka_server_brokertopicmetrics_bytesin_total' && t !== undefined) topic(t).bytesIn = value
    else if (name === 'kafka_server_brokertopicmetrics_bytesout_total' && t !== undefined) topic(t).bytesOut = value
    else if (name === 'kafka_consumergroup_lag' && labels.consumergroup !== undefined) {
      const g = groups.get(labels.consumergroup) ?? { lag: 0, partitions: 0 }
      g.lag += value
      g.partitions++
      groups.set(labels.consumergroup, g)
    } else if (name === 'kafka_consumergroup_current_offset' && t !== undefined) consumed.set(t, (consumed.get(t) ?? 0) + value)
  }
  for (const [t, c] of consumed) topic(t).consumed = c
  return { at: Date.now(), topics, groups }
}

/** Rates between two samples; a topic or group only in the newer one has no rate yet. */
export function rates(prev: Sample, next: Sample): { topics: TopicRate[]; groups: GroupLag[] } {
  const secs = Math.max(0.001, (next.at - prev.at) / 1000)
  const per = (a: number | null, b: number | null | undefined) => (a === null || b === null || b === undefined ? null : Math.max(0, a - b) / secs)
  const topics = [...next.topics].map(([topic, s]) => {
    const p = prev.topics.get(topic)
    return {
      topic,
      inPerSec: per(s.records, p?.records) ?? 0,
      consumedPerSec: per(s.consumed, p?.consumed) ?? 0,
      bytesInPerSec: per(s.bytesIn, p?.bytesIn),
      bytesOutPerSec: per(s.bytesOut, p?.bytesOut),
      records: s.records,
    }
  })
  topics.sort((a, b) => b.inPerSec + b.consumedPerSec - (a.inPerSec + a.consumedPerSec) || a.topic.localeCompare(b.topic))
  const groups = [...next.groups].map(([group, g]) => {
    const p = prev.groups.get(group)
    return { group, lag: g.lag, partitions: g.partitions, lagChangePerSec: p === undefined ? null : (g.lag - p.lag) / secs }
  })
  groups.sort((a, b) => b.lag - a.lag || a.group.localeCompare(b.group))
  return { topics, groups }
}

/** Prometheus text exposition, one sample per line; comments and blank lines skipped. */
export function parsePrometheusSamples(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out: Array<{ name: string; labels: Record<string, string>; value: number }> = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line)
    if (m === null) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    out.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return out
}
