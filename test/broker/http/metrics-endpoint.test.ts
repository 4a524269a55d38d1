// The HTTP endpoint's /metrics after real kafkajs traffic: per-topic message and byte counters,
// request counts and latency histograms per API and version, log gauges per partition, consumer
// lag computed on the broker, connections per listener, fsync timings and Node's own metrics;
// and the /healthz and /readyz probes.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Consumer } from 'kafkajs'
import { pino } from 'pino'
import { BrokerConfig, startBroker, type RunningBroker } from '../../../broker/index.js'
import { HttpEndpoint } from '../../../broker/http/endpoint.js'
import { PrometheusMetrics } from '../../../broker/http/prometheus.js'
import { kafkaClient } from '../../helpers/broker.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { waitFor } from '../../helpers/wait.js'
import { parsePrometheusText, series, sumOf, type Series } from '../../helpers/prometheus-text.js'

let dir: string
let broker: RunningBroker
const TOPIC = 'metrics-orders'

async function scrape(): Promise<Series> {
  const res = await fetch(`${broker.http!.url}/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
  return parsePrometheusText(await res.text())
}

beforeAll(async () => {
  dir = await makeTempDir('samsa-metrics-')
  broker = await startBroker({ dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent', http: { port: 0 }, config: { 'group.initial.rebalance.delay.ms': '0' } })
})

afterAll(async () => {
  await broker?.stop()
  await removeDir(dir)
})

describe('HTTP endpoint', () => {
  it('answers the probes', async () => {
    const health = await fetch(`${broker.http!.url}/healthz`)
    expect(health.status).toBe(200)
    const ready = await fetch(`${broker.http!.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ ready: true, nodeId: broker.nodeId, clusterId: broker.clusterId })
  })

  it('is live but not ready while the broker starts', async () => {
    const metrics = new PrometheusMetrics({ broker: () => undefined, connections: () => new Map() })
    const logger = pino({ level: 'silent' })
    const starting = new HttpEndpoint({ port: 0, host: '127.0.0.1' }, { config: new BrokerConfig({}), logger, metrics, broker: () => undefined, requireLogin: false })
    await starting.listen()
    try {
      expect((await fetch(`${starting.url}/healthz`)).status).toBe(200)
      expect((await fetch(`${starting.url}/readyz`)).status).toBe(503)
      expect((await fetch(`${starting.url}/api/topics`)).status).toBe(503)
      const s = parsePrometheusText(await (await fetch(`${starting.url}/metrics`)).text())
      expect(s.get(series('kafka_server_kafkaserver_brokerstate'))).toBe(0)
    } finally {
      await starting.close()
    }
  })

  it('has every broker metric listed in the README', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    const names = new PrometheusMetrics({ broker: () => undefined, connections: () => new Map() }).registry.getMetricsAsArray().map((m) => m.name)
    const ours = names.filter((n) => n.startsWith('kafka_'))
    expect(ours.length).toBeGreaterThan(15)
    expect(ours.filter((n) => !readme.includes(`\`${n}\``))).toEqual([])
  })

  it('keeps the console read-only unless actions are allowed', async () => {
    const res = await fetch(`${broker.http!.url}/api/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'nope' }) })
    expect(res.status).toBe(403)
    expect((await fetch(`${broker.http!.url}/api/topics/${TOPIC}`, { method: 'DELETE' })).status).toBe(403)
    expect(broker.http).toBeDefined()
    const topics = (await (await fetch(`${broker.http!.url}/api/topics`)).json()) as Array<{ name: string }>
    expect(topics.map((t) => t.name)).not.toContain('nope')
  })

  it('binds nothing unless asked', async () => {
    const plain = await startBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent' })
    try {
      expect(plain.http).toBeUndefined()
    } finally {
      await plain.stop()
    }
  })

  it('counts produced and fetched records per topic, requests per API, and lag per group', async () => {
    const kafka = kafkaClient(broker.address, { clientId: 'metrics-test' })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }] })
    await admin.disconnect()
    const before = await scrape()
    const producesBefore = sumOf(before, 'kafka_network_requestmetrics_requests_total', { request: 'Produce' })

    const producer = kafka.producer()
    await producer.connect()
    // Three Produce requests (acks=all: each waits for an fsync): 5 + 3 records, then 2 more after the group commits.
    await producer.send({ topic: TOPIC, messages: Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `a-${i}` })) })
    await producer.send({ topic: TOPIC, messages: Array.from({ length: 3 }, (_, i) => ({ partition: 1, value: `b-${i}` })) })

    const consumer: Consumer = kafka.consumer({ groupId: 'metrics-group', maxWaitTimeInMs: 5000 })
    await consumer.connect()
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
    let seen = 0
    await consumer.run({ autoCommitInterval: 100, eachMessage: async () => void seen++ })
    await waitFor(() => seen === 8, { what: '8 records consumed' })
    // The consumer's committed offsets reach the log ends, and its next fetch parks waiting for data.
    let s = await waitFor(
      async () => {
        const m = await scrape()
        const committed = sumOf(m, 'kafka_consumergroup_current_offset', { consumergroup: 'metrics-group', topic: TOPIC })
        return committed === 8 && m.get(series('kafka_server_delayedoperationpurgatory_purgatorysize', { delayedOperation: 'Fetch' }))! >= 1 ? m : undefined
      },
      { what: 'offsets committed and a fetch parked' },
    )
    expect(s.get(series('kafka_consumergroup_members', { consumergroup: 'metrics-group' }))).toBe(1)
    // The console's API shows the member with its assignment.
    const group = (await (await fetch(`${broker.http!.url}/api/groups/metrics-group`)).json()) as { members: Array<{ clientId: string; assignment: Array<{ topic: string; partitions: number[] }> }> }
    expect(group.members).toEqual([expect.objectContaining({ clientId: 'metrics-test', assignment: [{ topic: TOPIC, partitions: [0, 1] }] })])
    await consumer.stop()
    await consumer.disconnect()
    await producer.send({ topic: TOPIC, messages: [{ partition: 0, value: 'c-0' }, { partition: 1, value: 'c-1' }] })

    s = await scrape()
    expect(s.get(series('kafka_server_brokertopicmetrics_messagesin_total', { topic: TOPIC }))).toBe(10)
    expect(s.get(series('kafka_server_brokertopicmetrics_messagesin_total'))).toBe(10)
    // Every appended byte is in the log (only Produce writes this topic).
    const logSize = sumOf(s, 'kafka_log_log_size', { topic: TOPIC })
    expect(logSize).toBeGreaterThan(10 * 3)
    expect(s.get(series('kafka_server_brokertopicmetrics_bytesin_total', { topic: TOPIC }))).toBe(logSize)
    // The consumer read the first eight records, whose batches are what the log held then.
    const bytesOut = s.get(series('kafka_server_brokertopicmetrics_bytesout_total', { topic: TOPIC }))!
    expect(bytesOut).toBeGreaterThan(0)
    expect(bytesOut).toBeLessThan(logSize)

    expect(s.get(series('kafka_log_log_logendoffset', { topic: TOPIC, partition: 0 }))).toBe(6)
    expect(s.get(series('kafka_log_log_logendoffset', { topic: TOPIC, partition: 1 }))).toBe(4)
    expect(s.get(series('kafka_log_log_logstartoffset', { topic: TOPIC, partition: 0 }))).toBe(0)
    expect(s.get(series('kafka_log_log_numlogsegments', { topic: TOPIC, partition: 1 }))).toBe(1)
    expect(s.get(series('kafka_consumergroup_lag', { consumergroup: 'metrics-group', topic: TOPIC, partition: 0 }))).toBe(1)
    expect(s.get(series('kafka_consumergroup_lag', { consumergroup: 'metrics-group', topic: TOPIC, partition: 1 }))).toBe(1)
    expect(s.get(series('kafka_consumergroup_current_offset', { consumergroup: 'metrics-group', topic: TOPIC, partition: 0 }))).toBe(5)

    // Three Produce requests, each counted once under its version, and timed once in the histogram.
    expect(sumOf(s, 'kafka_network_requestmetrics_requests_total', { request: 'Produce' }) - producesBefore).toBe(3)
    const versions = [...s.keys()].filter((k) => k.startsWith('kafka_network_requestmetrics_requests_total{request="Produce"'))
    expect(versions.length).toBeGreaterThan(0)
    for (const key of versions) {
      const version = /version="(\d+)"/.exec(key)![1]!
      expect(s.get(series('kafka_network_requestmetrics_totaltimems_count', { request: 'Produce', version }))).toBe(s.get(key))
      expect(s.get(series('kafka_network_requestmetrics_totaltimems_bucket', { request: 'Produce', version, le: '+Inf' }))).toBe(s.get(key))
    }
    expect(sumOf(s, 'kafka_network_requestmetrics_requests_total', { request: 'Fetch' })).toBeGreaterThan(0)
    expect(sumOf(s, 'kafka_network_requestmetrics_requests_total', { request: 'ApiVersions' })).toBeGreaterThan(0)
    expect(s.get(series('kafka_log_logflushstats_logflushrateandtimems_count'))).toBeGreaterThanOrEqual(3)
    expect(s.get(series('kafka_server_socket_server_metrics_connection_count', { listener: 'PLAINTEXT' }))).toBeGreaterThanOrEqual(1)
    expect(s.get(series('kafka_server_kafkaserver_brokerstate'))).toBe(3)
    expect(s.get(series('process_resident_memory_bytes'))).toBeGreaterThan(0)
    expect([...s.keys()].some((k) => k.startsWith('nodejs_eventloop_lag_p99_seconds'))).toBe(true)
    // The console's message browser: from the end, from a time, from an offset.
    type Page = { start: number; next: number; messages: Array<{ offset: number; value: string }> }
    const page = async (q: string): Promise<Page> => (await (await fetch(`${broker.http!.url}/api/topics/${TOPIC}/messages?${q}`)).json()) as Page
    const text = (p: Page) => p.messages.map((m) => `${m.offset}:${Buffer.from(m.value, 'base64').toString()}`)
    expect(text(await page('partition=0&from=end&limit=2'))).toEqual(['4:a-4', '5:c-0'])
    expect(text(await page('partition=1&offset=1&limit=2'))).toEqual(['1:b-1', '2:b-2'])
    expect((await page('partition=1&offset=1&limit=2')).next).toBe(3)
    expect(text(await page(`partition=1&timestamp=${Date.now() + 3_600_000}`))).toEqual([])
    expect(text(await page('partition=1&timestamp=0&limit=1'))).toEqual(['0:b-0'])
    expect((await fetch(`${broker.http!.url}/api/topics/${TOPIC}/messages?partition=7`)).status).toBe(404)
    await producer.disconnect()
  })

  it('forgets a deleted topic', async () => {
    const kafka = kafkaClient(broker.address)
    const admin = kafka.admin()
    await admin.connect()
    await admin.deleteTopics({ topics: [TOPIC] })
    await admin.disconnect()
    const s = await scrape()
    expect([...s.keys()].filter((k) => k.includes(`topic="${TOPIC}"`))).toEqual([])
    expect(s.get(series('kafka_server_brokertopicmetrics_messagesin_total'))).toBe(10)
  })
})
