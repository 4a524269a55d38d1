// The per-request cost of the metrics hooks: what one Produce request adds on the broker's path
// (requestDone for its API and version, messagesIn for its topic) with the Prometheus metrics
// against NO_METRICS, in one run. The figure to compare is the difference, against the tens of
// microseconds a Produce request takes end to end.
//   npm run build && node dist/bench/micro/metrics-hooks.bench.js
import { Bench } from 'tinybench'
import { PrometheusMetrics } from '../../broker/http/prometheus.js'
import { NO_METRICS, type BrokerMetrics } from '../../broker/metrics.js'

const prometheus = new PrometheusMetrics({ broker: () => undefined, connections: () => new Map() })
const topics = Array.from({ length: 16 }, (_, i) => `topic-${i}`)
let i = 0

function oneProduce(m: BrokerMetrics): void {
  const t = topics[i++ & 15]!
  m.messagesIn(t, 10, 1100)
  m.requestDone(0, 9, 0.8)
}

const bench = new Bench({ name: 'metrics hooks per Produce request', time: 1000 })
bench.add('NO_METRICS', () => oneProduce(NO_METRICS)).add('PrometheusMetrics', () => oneProduce(prometheus))
await bench.run()

const ns: number[] = []
for (const task of bench.tasks) {
  const r = task.result
  if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`)
  ns.push(r.period * 1e6)
  console.log(`${task.name.padEnd(20)} ${(r.period * 1e6).toFixed(0).padStart(6)} ns per request`)
}
console.log(`added per request: ${(ns[1]! - ns[0]!).toFixed(0)} ns`)
const text = await prometheus.scrape()
console.log(`a scrape of ${text.length} bytes`)
