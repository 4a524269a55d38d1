// The broker's metrics in Prometheus form, named as Kafka's JMX exporter (the Strimzi and
// Confluent rule sets) names the MBeans they correspond to, so existing dashboards and alerts
// find them: kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=T becomes
// kafka_server_brokertopicmetrics_messagesin_total{topic="T"}. Consumer lag uses kafka_exporter's
// names (kafka_consumergroup_lag), since Kafka itself publishes none.
//
// Cost on the request path: per-topic totals are plain numbers in a map, copied into the
// counters when scraped; request and flush timings go into histogram series made once per
// (API, version), whose observe() is a few array writes (histogram.ts). Everything else (log sizes, offsets, lag, connections, purgatory)
// is read from the broker at scrape time by collect callbacks.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import { apis } from '../../protocol/generated/index.js'
import type { BrokerContext } from '../context.js'
import type { BrokerMetrics } from '../metrics.js'
import { FastHistogram, type HistogramSeries } from './histogram.js'
import { clientMetricsText } from './client-metrics-text.js'

/** What the scrape-time gauges read; undefined while the broker is still starting. */
export interface ScrapeSource {
  broker(): BrokerContext | undefined
  /** Open client connections by listener name. */
  connections(): ReadonlyMap<string, number>
}

interface TopicTotals {
  messagesIn: number
  bytesIn: number
  bytesOut: number
}

let processMetrics: Registry | undefined

/**
 * prom-client's process and Node metrics (RSS, CPU, heap, event-loop delay, GC), one set per
 * process: they watch the process, not a broker, and their observers are never stopped, so
 * brokers started and stopped in one process (tests, embedding) share them.
 */
function processRegistry(): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry()
    collectDefaultMetrics({ register: processMetrics })
  }
  return processMetrics
}

/** Milliseconds: Kafka's request and flush times are in ms, and the exporter keeps the unit in the name. */
const MS_BUCKETS = [0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000]

export class PrometheusMetrics implements BrokerMetrics {
  readonly enabled = true
  readonly registry = new Registry()
  private readonly topics = new Map<string, TopicTotals>()
  private readonly all: TopicTotals = { messagesIn: 0, bytesIn: 0, bytesOut: 0 }
  /** Request time series by (apiKey << 8 | version); their counts are also requests_total. */
  private readonly requestSeries = new Map<number, HistogramSeries>()
  private readonly requestTime: FastHistogram
  private readonly flushTime: HistogramSeries
  private readonly auth: { ok: Counter<'listener'>; failed: Counter<'listener'> }
  private produceWaitingNow = 0

  constructor(private readonly source: ScrapeSource) {
    const registers = [this.registry]
    this.topicCounter('messagesin', 'Records appended by Produce requests', (t) => t.messagesIn)
    this.topicCounter('bytesin', 'Record bytes appended by Produce requests', (t) => t.bytesIn)
    this.topicCounter('bytesout', 'Record bytes sent to consumers in Fetch responses (replication not counted)', (t) => t.bytesOut)
    const requestTime = (this.requestTime = new FastHistogram(
      'kafka_network_requestmetrics_totaltimems',
      'Milliseconds from a request arriving to its response being written, by API and version',
      MS_BUCKETS,
      this.registry,
    ))
    new Counter({
      name: 'kafka_network_requestmetrics_requests_total',
      help: 'Requests answered, by API and version',
      labelNames: ['request', 'version'],
      registers,
      collect() {
        this.reset()
        for (const s of requestTime.seriesList) this.inc(s.labels, s.count)
      },
    })
    this.flushTime = new FastHistogram('kafka_log_logflushstats_logflushrateandtimems', 'Milliseconds per log fsync', MS_BUCKETS, this.registry).series()
    this.auth = {
      ok: new Counter({ name: 'kafka_server_socket_server_metrics_successful_authentication_total', help: 'SASL logins that succeeded, by listener', labelNames: ['listener'], registers }),
      failed: new Counter({ name: 'kafka_server_socket_server_metrics_failed_authentication_total', help: 'SASL logins that failed, by listener', labelNames: ['listener'], registers }),
    }
    this.scrapeGauges()
  }

  requestDone(apiKey: number, apiVersion: number, ms: number): void {
    const key = (apiKey << 8) | apiVersion
    let series = this.requestSeries.get(key)
    if (series === undefined) {
      series = this.requestTime.series({ request: apis.get(apiKey)?.name ?? String(apiKey), version: String(apiVersion) })
      this.requestSeries.set(key, series)
    }
    series.observe(ms)
  }

  messagesIn(topic: string, messages: number, bytes: number): void {
    const t = this.totals(topic)
    t.messagesIn += messages
    t.bytesIn += bytes
    this.all.messagesIn += messages
    this.all.bytesIn += bytes
  }

  bytesOut(topic: string, bytes: number): void {
    this.totals(topic).bytesOut += bytes
    this.all.bytesOut += bytes
  }

  produceWaiting(delta: number): void {
    this.produceWaitingNow += delta
  }

  flushDone(ms: number): void {
    this.flushTime.observe(ms)
  }

  authentication(listener: string, ok: boolean): void {
    ;(ok ? this.auth.ok : this.auth.failed).inc({ listener })
  }

  /** The text exposition of every metric, the clients' pushed ones (KIP-714) last. */
  async scrape(): Promise<string> {
    const text = await Registry.merge([processRegistry(), this.registry]).metrics()
    const pushed = this.source.broker()?.telemetry?.series()
    return pushed === undefined || pushed.length === 0 ? text : `${text}\n${clientMetricsText(pushed)}`
  }

  get contentType(): string {
    return this.registry.contentType
  }

  private totals(topic: string): TopicTotals {
    let t = this.topics.get(topic)
    if (t === undefined) {
      t = { messagesIn: 0, bytesIn: 0, bytesOut: 0 }
      this.topics.set(topic, t)
    }
    return t
  }

  /**
   * A per-topic counter, plus the broker-wide series without a topic label (as the MBean without a
   * topic key is exported). Topics deleted since the last scrape lose their series, as Kafka
   * removes their MBeans.
   */
  private topicCounter(name: string, help: string, value: (t: TopicTotals) => number): void {
    const metrics = this
    new Counter({
      name: `kafka_server_brokertopicmetrics_${name}_total`,
      help,
      labelNames: ['topic'],
      registers: [this.registry],
      collect() {
        const logs = metrics.source.broker()?.logs
        this.reset()
        this.inc(value(metrics.all))
        for (const [topic, t] of metrics.topics) {
          if (logs !== undefined && logs.getTopic(topic) === undefined) metrics.topics.delete(topic)
          else this.inc({ topic }, value(t))
        }
      },
    })
  }

  private scrapeGauges(): void {
    const registers = [this.registry]
    const source = this.source
    const metrics = this
    new Gauge({
      name: 'kafka_server_kafkaserver_brokerstate',
      help: 'Broker state: 3 running, 0 not yet (starting)',
      registers,
      collect() {
        this.set(source.broker() === undefined ? 0 : 3)
      },
    })
    new Gauge({
      name: 'kafka_server_delayedoperationpurgatory_purgatorysize',
      help: 'Requests parked: Fetch waiting for data, Produce (acks=all) waiting for fsync',
      labelNames: ['delayedOperation'],
      registers,
      collect() {
        this.set({ delayedOperation: 'Fetch' }, source.broker()?.fetchWaiters.parked ?? 0)
        this.set({ delayedOperation: 'Produce' }, metrics.produceWaitingNow)
      },
    })
    new Gauge({
      name: 'kafka_server_socket_server_metrics_connection_count',
      help: 'Open client connections, by listener',
      labelNames: ['listener'],
      registers,
      collect() {
        this.reset()
        for (const [listener, n] of source.connections()) this.set({ listener }, n)
      },
    })
    new Gauge({
      name: 'kafka_server_replicamanager_partitioncount',
      help: 'Partitions on this broker',
      registers,
      collect() {
        this.set(source.broker()?.logs.partitionCount ?? 0)
      },
    })
    new Gauge({
      name: 'kafka_server_client_metrics_instance_count',
      help: 'Client instances pushing telemetry (KIP-714)',
      registers,
      collect() {
        this.set(source.broker()?.telemetry?.clientCount ?? 0)
      },
    })
    this.partitionGauges()
    this.lagGauges()
    this.cleanerGauges()
  }

  /** kafka.log:type=LogCleanerManager,name=max-dirty-percent|time-since-last-run-ms|uncleanable-partitions-count */
  private cleanerGauges(): void {
    const source = this.source
    const each: Array<[string, string, (s: ReturnType<NonNullable<BrokerContext['logs']['cleaner']>['summary']>) => number]> = [
      ['max_dirty_percent', 'Dirty percentage of the dirtiest compacted log at the last cleaner pass', (s) => s.maxDirtyPercent],
      ['time_since_last_run_ms', 'Milliseconds since the log cleaner last looked for logs to clean', (s) => s.timeSinceLastRunMs],
      ['uncleanable_partitions_count', 'Compacted partitions the log cleaner leaves alone after a failure', (s) => s.uncleanablePartitions],
    ]
    for (const [name, help, value] of each) {
      new Gauge({
        name: `kafka_log_logcleanermanager_${name}`,
        help,
        registers: [this.registry],
        collect() {
          const cleaner = source.broker()?.logs.cleaner
          this.set(cleaner === undefined ? 0 : value(cleaner.summary()))
        },
      })
    }
  }

  /** kafka.log:type=Log,name=Size|NumLogSegments|LogStartOffset|LogEndOffset,topic=T,partition=P */
  private partitionGauges(): void {
    const source = this.source
    const each: Array<[string, string, (log: NonNullable<ReturnType<BrokerContext['logs']['partition']>>) => number]> = [
      ['size', 'Bytes in the partition log', (l) => l.sizeInBytes],
      ['numlogsegments', 'Segments of the partition log', (l) => l.segmentCount],
      ['logstartoffset', 'First offset of the partition log', (l) => l.logStartOffset],
      ['logendoffset', 'Next offset of the partition log', (l) => l.logEndOffset],
    ]
    for (const [name, help, value] of each) {
      new Gauge({
        name: `kafka_log_log_${name}`,
        help,
        labelNames: ['topic', 'partition'],
        registers: [this.registry],
        collect() {
          this.reset()
          const logs = source.broker()?.logs
          if (logs === undefined) return
          for (const log of logs.partitions()) this.set({ topic: log.topic, partition: String(log.partition) }, value(log))
        },
      })
    }
  }

  /** Committed offsets and lag of every group, computed against the log end offsets when scraped. */
  private lagGauges(): void {
    const source = this.source
    const labelNames = ['consumergroup', 'topic', 'partition'] as const
    const each: Array<[string, string, (r: GroupOffset) => number]> = [
      ['kafka_consumergroup_current_offset', 'Committed offset of a consumer group on a partition', (r) => r.offset],
      ['kafka_consumergroup_lag', 'Records between a consumer group committed offset and the partition end', (r) => r.lag],
    ]
    for (const [name, help, value] of each) {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset()
          for (const r of groupOffsets(source.broker())) this.set({ consumergroup: r.group, topic: r.topic, partition: String(r.partition) }, value(r))
        },
      })
    }
    new Gauge({
      name: 'kafka_consumergroup_members',
      help: 'Members of a consumer group',
      labelNames: ['consumergroup'],
      registers: [this.registry],
      collect() {
        this.reset()
        const b = source.broker()
        if (b === undefined) return
        for (const g of b.groups.listGroups()) this.set({ consumergroup: g.groupId }, groupMembers(b, g.groupId, g.groupType))
      },
    })
  }
}

export interface GroupOffset {
  group: string
  topic: string
  partition: number
  offset: number
  lag: number
}

/** Every group's committed offsets with their lag (end offset minus committed, never below 0). */
export function groupOffsets(b: BrokerContext | undefined): GroupOffset[] {
  if (b === undefined) return []
  const out: GroupOffset[] = []
  for (const g of b.groups.listGroups()) {
    for (const t of b.groups.fetchOffsets(g.groupId, null).topics) {
      for (const p of t.partitions) {
        if (p.committedOffset < 0) continue
        // Offsets left behind by a deleted topic have no lag to report.
        const log = b.logs.partition(t.name, p.partitionIndex)
        if (log === undefined) continue
        out.push({ group: g.groupId, topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, lag: Math.max(0, log.highWatermark - p.committedOffset) })
      }
    }
  }
  return out
}

/** How many members a group has, whichever kind it is. */
export function groupMembers(b: BrokerContext, groupId: string, groupType: string): number {
  if (groupType === 'consumer') return b.groups.consumerGroupDescribe([groupId])[0]?.members.length ?? 0
  return b.groups.describeGroup(groupId).members.length
}
