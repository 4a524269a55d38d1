// Writes a run as JSON (everything), a markdown table (for the README) and an SVG chart drawn by
// hand: horizontal throughput bars next to the ceilings, and latency percentiles on a log scale.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { MiB, type Percentiles, type RunReport, type ScalePoint, type ScaleReport } from './results.js'

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const ms = (n: number) => (n < 10 ? fmt(n, 2) : n < 100 ? fmt(n, 1) : fmt(n, 0))
const pct = (p: Percentiles | undefined) => (p ? `${ms(p.p50)} / ${ms(p.p99)} / ${ms(p.p999)}` : '')

export function markdown(r: RunReport): string {
  const out: string[] = []
  out.push(`Run ${r.date} (${r.mode} mode) on ${r.host.cpus} cores (${r.host.cpuModel}), ${fmt(r.host.memGiB)} GiB RAM, Node ${r.host.node}, Linux ${r.host.kernel}; 1-min load average at start ${fmt(r.host.load1, 2)}. Brokers, load generators and clients share the machine.`)
  out.push('')
  out.push('| ceiling | MiB/s | how |')
  out.push('|---|---:|---|')
  for (const c of r.ceilings) out.push(`| ${c.name} | ${fmt(c.mibPerSec)} | ${c.note} |`)
  out.push('')
  if (r.rows.length > 0) {
    out.push('| system | client | workload | acknowledged when | records/s | MiB/s | publish p50 / p99 / p99.9 ms | end-to-end p50 / p99 / p99.9 ms | server CPU | server RSS max MiB |')
    out.push('|---|---|---|---|---:|---:|---|---|---:|---:|')
  }
  for (const row of r.rows) {
    out.push(`| ${row.system} | ${row.client} | ${row.workload} | ${row.durability} | ${fmt(row.recordsPerSec)} | ${fmt(row.mibPerSec, 1)} | ${pct(row.publishMs)} | ${pct(row.e2eMs)} | ${row.server ? `${fmt(row.server.cpuPct)}%` : ''} | ${row.server ? fmt(row.server.rssMaxMiB) : ''} |`)
  }
  const noted = r.rows.filter((row) => row.note)
  if (noted.length > 0) {
    out.push('')
    for (const row of noted) out.push(`- ${row.system}, ${row.client}, ${row.workload}, ${row.durability}: ${row.note}`)
  }
  if (r.rebalance !== undefined && r.rebalance.length > 0) {
    const first = r.rebalance[0]!
    out.push('')
    out.push(`Consumer-group rebalancing with ${first.client}: ${first.members} members on ${first.partitions} partitions, each processing at most ${fmt(first.memberRecordsPerSec)} records/s; heartbeats every second under every protocol.`)
    out.push('')
    out.push('| group protocol | assignor | join to consuming, median (max) ms | steady records/s | rolling restart s | records in restart | records/s in restart | restart / steady | re-read records |')
    out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|')
    for (const x of r.rebalance) {
      out.push(`| ${x.protocol} | ${x.assignor} | ${fmt(median(x.joinMs))} (${fmt(Math.max(...x.joinMs))}) | ${fmt(x.steadyRecordsPerSec)} | ${fmt(x.restartSeconds, 1)} | ${fmt(x.restartRecords)} | ${fmt(x.restartRecordsPerSec)} | ${fmt(x.restartRecordsPerSec / x.steadyRecordsPerSec, 2)} | ${fmt(x.rereadRecords)} |`)
    }
  }
  if (r.scale !== undefined && r.scale.points.length > 0) out.push('', ...scaleMarkdown(r.scale))
  if (r.startup) {
    const t = r.startup.toListeningMs
    out.push('')
    out.push(`\`samsa serve\` start-up to "listening on": ${t.map((x) => `${fmt(x)} ms`).join(', ')} (median ${fmt(median(t))} ms); idle RSS ${fmt(r.startup.idleRssMiB, 1)} MiB.`)
  }
  if (r.ratios.length > 0) {
    out.push('')
    out.push('| ratio | value | from |')
    out.push('|---|---:|---|')
    for (const q of r.ratios) out.push(`| ${q.name} | ${fmt(q.value, 2)} | ${q.detail} |`)
  }
  if (r.skipped.length > 0) {
    out.push('')
    for (const s of r.skipped) out.push(`- not measured: ${s}`)
  }
  return out.join('\n') + '\n'
}

const mibps = (x: { records: number; seconds: number } | undefined) => (x && x.seconds > 0 ? fmt((x.records * 1024) / MiB / x.seconds) : '')
const opt = (n: number | undefined, digits = 0) => (n === undefined ? '' : fmt(n, digits))
/** KiB of RSS each added partition or connection costs, from the same broker before and after. */
const perUnit = (p: ScalePoint, rss: number | undefined) => (rss === undefined || p.baseRssMiB === undefined ? '' : fmt(((rss - p.baseRssMiB) * 1024) / p.n, 1))

function scaleMarkdown(s: ScaleReport): string[] {
  const out: string[] = []
  const parts = s.points.filter((p) => p.axis === 'partitions')
  const notes: string[] = []
  if (parts.length > 0) {
    out.push('Scale: partitions of one topic, a fresh broker per count. RSS in MiB; "before" is the same broker before CreateTopics; produce-1k acks=1 and the fetch of what it wrote by the wire generator (4 connections).')
    out.push('')
    out.push('| partitions | CreateTopics ms | idle RSS before / after | KiB per partition | descriptors before / after | idle CPU | produce MiB/s (CPU, RSS max) | fetch MiB/s (CPU, RSS max) | RSS after the runs | clean stop ms | restart to listening ms | idle RSS after restart |')
    out.push('|---:|---:|---|---:|---|---:|---|---|---:|---:|---:|---:|')
    for (const p of parts) {
      const run = (x: ScalePoint['produce']) => (x ? `${mibps(x)} (${fmt(x.server.cpuPct)}%, ${fmt(x.server.rssMaxMiB)})` : 'idle only')
      if (p.note !== undefined) notes.push(`${fmt(p.n)} partitions: ${p.note}`)
      out.push(`| ${fmt(p.n)} | ${opt(p.createMs)} | ${opt(p.baseRssMiB, 1)} / ${opt(p.idleRssMiB, 1)} | ${perUnit(p, p.idleRssMiB)} | ${opt(p.baseFds)} / ${opt(p.fds)} | ${opt(p.idleCpuPct, 1)}% | ${run(p.produce)} | ${run(p.fetch)} | ${opt(p.loadedRssMiB, 1)} | ${opt(p.stopMs)} | ${opt(p.restartMs)} | ${opt(p.restartRssMiB, 1)} |`)
    }
  }
  if (notes.length > 0) out.push('', ...notes.map((n) => `- ${n}`))
  const conns = s.points.filter((p) => p.axis === 'connections')
  if (conns.length > 0) {
    out.push('', 'Scale: connections to one broker (16 partitions). Idle: each connection has sent one ApiVersions; produce-1k acks=1 with one 64 KiB request in flight on each connection.')
    out.push('')
    out.push('| connections | idle RSS before / with them | KiB per connection | descriptors before / with them | produce MiB/s | server CPU | RSS max |')
    out.push('|---:|---|---:|---|---:|---:|---:|')
    for (const p of conns) out.push(`| ${fmt(p.n)} | ${opt(p.baseRssMiB, 1)} / ${opt(p.idleRssMiB, 1)} | ${perUnit(p, p.idleRssMiB)} | ${opt(p.baseFds)} / ${opt(p.fds)} | ${mibps(p.produce)} | ${p.produce ? `${fmt(p.produce.server.cpuPct)}%` : ''} | ${p.produce ? fmt(p.produce.server.rssMaxMiB) : ''} |`)
  }
  const prods = s.points.filter((p) => p.axis === 'producers')
  if (prods.length > 0) {
    out.push('', 'Scale: rdkafka_performance producers at once (1 KiB, acks=1, linger 5 ms), one 16-partition topic; records/s added up.')
    out.push('')
    out.push('| producers | MiB/s | server CPU | RSS max | note |')
    out.push('|---:|---:|---:|---:|---|')
    for (const p of prods) out.push(`| ${fmt(p.n)} | ${mibps(p.produce)} | ${p.produce ? `${fmt(p.produce.server.cpuPct)}%` : ''} | ${p.produce ? fmt(p.produce.server.rssMaxMiB) : ''} | ${p.note ?? ''} |`)
  }
  return out
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!
}

const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

const COLORS: Record<string, string> = { Samsa: '#2b6cb0', 'Redis Streams': '#c53030', 'NATS JetStream': '#2f855a', ceiling: '#718096' }

export function svg(r: RunReport): string {
  const lat = r.rows.filter((x) => x.workload === 'latency-50k' && x.e2eMs)
  const latLabel = (x: (typeof lat)[number], kind: string) => `${x.system} · ${x.client} · ${x.durability} · ${kind}`
  const bars: Array<{ label: string; value: number; color: string }> = [
    ...r.ceilings.map((c) => ({ label: c.name, value: c.mibPerSec, color: COLORS.ceiling! })),
    // Connection rows count connections, not bytes: they are in the table, not among the bars.
    ...r.rows.filter((x) => x.workload !== 'latency-50k' && x.workload !== 'connections' && !x.workload.startsWith('work-queue-latency')).map((x) => ({ label: `${x.system} · ${x.client} · ${x.workload} · ${x.durability}`, value: x.mibPerSec, color: COLORS[x.system] ?? '#555' })),
  ]
  // Label column sized to the longest label (about 6.2 px per character at 11 px sans-serif).
  const longest = Math.max(...bars.map((b) => b.label.length), ...lat.map((x) => latLabel(x, 'end-to-end').length))
  const labelW = Math.ceil(longest * 6.2) + 16
  const barMax = 520
  const W = labelW + barMax + 110
  const rowH = 20
  const parts: string[] = []
  let y = 30
  parts.push(`<text x="10" y="${y}" font-size="16" font-weight="bold">Throughput (MiB/s of payload; ceilings in grey) — ${esc(r.date.slice(0, 10))}, ${r.mode} mode, ${r.host.cpus} cores shared</text>`)
  y += 14
  const maxV = Math.max(1, ...bars.map((b) => b.value))
  for (const b of bars) {
    const w = Math.max(1, (b.value / maxV) * barMax)
    parts.push(`<text x="${labelW - 6}" y="${y + 14}" font-size="11" text-anchor="end">${esc(b.label)}</text>`)
    parts.push(`<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${b.color}"/>`)
    parts.push(`<text x="${(labelW + w + 4).toFixed(1)}" y="${y + 14}" font-size="11">${fmt(b.value)}</text>`)
    y += rowH
  }
  if (lat.length > 0) {
    y += 30
    parts.push(`<text x="10" y="${y}" font-size="16" font-weight="bold">Latency at a fixed 50,000 records/s of 1 KiB (ms, log scale): p50, p99, p99.9</text>`)
    y += 14
    const all = lat.flatMap((x) => [x.publishMs!, x.e2eMs!]).flatMap((p) => [p.p50, p.p99, p.p999])
    const lo = Math.log10(Math.max(0.01, Math.min(...all) / 2))
    const hi = Math.log10(Math.max(...all) * 2)
    const scale = (v: number) => ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * barMax
    const shades = ['55', '99', 'ff']
    for (const x of lat) {
      for (const [kind, p] of [['publish', x.publishMs!], ['end-to-end', x.e2eMs!]] as const) {
        parts.push(`<text x="${labelW - 6}" y="${y + 22}" font-size="11" text-anchor="end">${esc(latLabel(x, kind))}</text>`)
        ;[p.p50, p.p99, p.p999].forEach((v, i) => {
          const w = Math.max(1, scale(v))
          const color = COLORS[x.system] ?? '#555555'
          parts.push(`<rect x="${labelW}" y="${y + 2 + i * 10}" width="${w.toFixed(1)}" height="9" fill="${color}" fill-opacity="${parseInt(shades[i]!, 16) / 255}"/>`)
          parts.push(`<text x="${(labelW + w + 4).toFixed(1)}" y="${y + 10 + i * 10}" font-size="9">${['p50', 'p99', 'p99.9'][i]} ${ms(v)}</text>`)
        })
        y += 34
      }
    }
    // Decade grid lines make the log scale readable.
    for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
      const gx = labelW + scale(10 ** d)
      parts.push(`<line x1="${gx.toFixed(1)}" y1="${y}" x2="${gx.toFixed(1)}" y2="${y + 6}" stroke="#333"/><text x="${gx.toFixed(1)}" y="${y + 18}" font-size="10" text-anchor="middle">${10 ** d} ms</text>`)
    }
    y += 20
  }
  y += 16
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`
}

/** Writes <stem>.json, <stem>.md and <stem>.svg into `dir`; returns their paths. */
export function writeReport(dir: string, stem: string, r: RunReport): string[] {
  const files = [path.join(dir, `${stem}.json`), path.join(dir, `${stem}.md`), path.join(dir, `${stem}.svg`)]
  writeFileSync(files[0]!, JSON.stringify(r, null, 2) + '\n')
  writeFileSync(files[1]!, markdown(r))
  writeFileSync(files[2]!, svg(r))
  return files
}
