// Client telemetry in Prometheus text: each pushed OpenTelemetry metric as a family named after it
// with dots as underscores (org.apache.kafka.producer.node.request.latency.avg becomes
// org_apache_kafka_producer_node_request_latency_avg), labelled with the client's id, its
// instance id and the point's attributes (node_id, topic, ...).
import type { ClientSeries } from '../telemetry/client-telemetry.js'

const promName = (s: string): string => {
  const n = s.replace(/[^a-zA-Z0-9_:]/g, '_')
  return /^[0-9]/.test(n) ? `_${n}` : n
}
const labelName = (s: string): string => {
  const n = s.replace(/[^a-zA-Z0-9_]/g, '_')
  return /^[0-9]/.test(n) || n.startsWith('__') ? `_${n.replace(/^_+/, '')}` : n
}
const escapeValue = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')

/** Families in name order, series as pushed; empty for no series. */
export function clientMetricsText(series: readonly ClientSeries[]): string {
  const families = new Map<string, ClientSeries[]>()
  for (const s of series) {
    const name = promName(s.name)
    let list = families.get(name)
    if (list === undefined) families.set(name, (list = []))
    list.push(s)
  }
  const lines: string[] = []
  for (const name of [...families.keys()].sort()) {
    const list = families.get(name)!
    lines.push(`# HELP ${name} ${escapeHelp(list[0]!.description || 'Pushed by clients (KIP-714)')}`)
    lines.push(`# TYPE ${name} ${list[0]!.kind === 'counter' ? 'counter' : 'gauge'}`)
    for (const s of list) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${labelName(k)}="${escapeValue(v)}"`)
        .join(',')
      lines.push(`${name}{${labels}} ${Number.isFinite(s.value) ? s.value : s.value > 0 ? '+Inf' : s.value < 0 ? '-Inf' : 'NaN'}`)
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}
