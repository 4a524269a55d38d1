// Live rates as small inline SVG charts: a rolling window of samples per series, drawn as a
// polyline scaled to its own maximum. No library: a sparkline is a few lines of SVG, and the
// console must work offline with nothing fetched from elsewhere.

const NS = 'http://www.w3.org/2000/svg'

/** Samples of a counter, turned into per-second rates between consecutive samples. */
export class RateSeries {
  constructor(size = 60) {
    this.size = size
    this.last = undefined
    this.rates = []
  }

  /** Adds a counter reading taken at `at` (ms); returns the newest rate or null for the first. */
  add(value, at) {
    let rate = null
    if (this.last !== undefined && at > this.last.at) {
      rate = Math.max(0, value - this.last.value) / ((at - this.last.at) / 1000)
      this.rates.push(rate)
      if (this.rates.length > this.size) this.rates.shift()
    }
    this.last = { value, at }
    return rate
  }
}

/** A gauge's readings (lag), kept as they are. */
export class GaugeSeries {
  constructor(size = 60) {
    this.size = size
    this.rates = []
  }

  add(value) {
    this.rates.push(value)
    if (this.rates.length > this.size) this.rates.shift()
    return value
  }
}

/** An SVG sparkline of `values`, described for screen readers by `label`. */
export function sparkline(values, label, { width = 160, height = 32 } = {}) {
  const svg = document.createElementNS(NS, 'svg')
  svg.setAttribute('width', String(width))
  svg.setAttribute('height', String(height))
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
  svg.setAttribute('role', 'img')
  svg.setAttribute('class', 'spark')
  const title = document.createElementNS(NS, 'title')
  title.textContent = label
  svg.append(title)
  svg.setAttribute('aria-label', label)
  const base = document.createElementNS(NS, 'line')
  base.setAttribute('x1', '0')
  base.setAttribute('x2', String(width))
  base.setAttribute('y1', String(height - 1))
  base.setAttribute('y2', String(height - 1))
  base.setAttribute('class', 'spark-base')
  svg.append(base)
  if (values.length > 1) {
    const max = Math.max(...values, 1e-9)
    const step = width / (values.length - 1)
    const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`)
    const line = document.createElementNS(NS, 'polyline')
    line.setAttribute('points', points.join(' '))
    line.setAttribute('class', 'spark-line')
    svg.append(line)
  }
  return svg
}

export function formatRate(n) {
  if (n === null || n === undefined) return '–'
  return n >= 100 ? String(Math.round(n)) : n.toFixed(1)
}
