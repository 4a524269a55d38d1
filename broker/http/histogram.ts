// A Prometheus histogram whose observe() is a few array writes: each label set's series is made
// once and kept by the caller, and the cumulative buckets are only built when scraped. prom-client's
// Histogram hashes its labels on every observation (about a microsecond), which a request path
// should not pay. It registers with a prom-client Registry as any metric does (name, help, type,
// get()).
import type { MetricValueWithName, Registry } from 'prom-client'

/** What a Registry reads from a metric when it writes the text format. */
interface Collected {
  name: string
  help: string
  type: 'histogram'
  aggregator: 'sum'
  values: Array<MetricValueWithName<string>>
}

export class HistogramSeries {
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length)
  }

  observe(value: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    if (i < bounds.length) this.counts[i]!++
    this.sum += value
    this.count++
  }
}

export class FastHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly all = new Map<string, HistogramSeries>()

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never)
  }

  /** The series of a label set, made on first use; keep it and observe() on it. */
  series(labels: Readonly<Record<string, string>> = {}): HistogramSeries {
    const key = JSON.stringify(labels)
    let s = this.all.get(key)
    if (s === undefined) {
      s = new HistogramSeries(labels, this.bounds)
      this.all.set(key, s)
    }
    return s
  }

  get seriesList(): Iterable<HistogramSeries> {
    return this.all.values()
  }

  async get(): Promise<Collected> {
    const values: Array<MetricValueWithName<string>> = []
    for (const s of this.all.values()) {
      let cumulative = 0
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i]!
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: this.bounds[i]! }, value: cumulative })
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count })
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum })
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count })
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values }
  }

  reset(): void {
    this.all.clear()
  }
}
