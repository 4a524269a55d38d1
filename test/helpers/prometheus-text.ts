// Reads Prometheus text exposition into series -> value, keyed as the text spells them with the
// labels sorted: `name{a="1",b="2"}`, so a test can look a series up whatever the label order.
export type Series = Map<string, number>

export function parsePrometheusText(text: string): Series {
  const out: Series = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels = m[3] === undefined || m[3] === '' ? [] : [...m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`)
    out.set(seriesKey(m[1]!, labels), Number(m[4]))
  }
  return out
}

/** The key of a series: `series('x_total', { topic: 't' })` -> `x_total{topic="t"}`. */
export function series(name: string, labels: Record<string, string | number> = {}): string {
  return seriesKey(
    name,
    Object.entries(labels).map(([k, v]) => `${k}="${v}"`),
  )
}

function seriesKey(name: string, labels: string[]): string {
  return labels.length === 0 ? name : `${name}{${[...labels].sort().join(',')}}`
}

/** Sum of every series of `name` whose labels include all of `labels`. */
export function sumOf(s: Series, name: string, labels: Record<string, string | number> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  let total = 0
  for (const [key, value] of s) {
    const brace = key.indexOf('{')
    const n = brace < 0 ? key : key.slice(0, brace)
    if (n !== name) continue
    const have = brace < 0 ? [] : key.slice(brace + 1, -1).split(',')
    if (want.every((w) => have.includes(w))) total += value
  }
  return total
}
