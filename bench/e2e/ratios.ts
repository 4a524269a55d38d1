// The ratios a run reports: each figure over what it is compared with in the same run (a ceiling,
// another system, or Samsa itself under other settings), the only figures that compare across runs.
import { BASELINE } from './share.js'
import { median } from './report.js'
import type { Row, RunReport } from './results.js'

/** The loopback ceiling measured around the sendfile section's fetch runs (main.ts). */
export const SENDFILE_LOOPBACK = 'loopback TCP, around the sendfile fetch runs'

function find(rows: readonly Row[], system: string, client: string, workload: string, durability: string): Row | undefined {
  return rows.find((r) => r.system === system && r.client === client && r.workload === workload && r.durability === durability)
}

/** The run's ratios: each figure next to the ceiling or the other system it is compared with. */
export function ratios(report: RunReport, loginConcurrency: number): void {
  const rows = report.rows
  const loop = report.ceilings.find((c) => c.name === 'loopback TCP')?.mibPerSec
  const add = (name: string, a: number | undefined, b: number | undefined, detail: string) => {
    if (a !== undefined && b !== undefined && b > 0) report.ratios.push({ name, value: a / b, detail })
  }
  const rdk1 = find(rows, 'Samsa', 'rdkafka_performance', 'produce-1k', 'acks=1')
  const rdkAll = find(rows, 'Samsa', 'rdkafka_performance', 'produce-1k', 'acks=all (fsync)')
  const wire1 = find(rows, 'Samsa', 'samsa wire generator', 'produce-1k', 'acks=1')
  const wireAll = find(rows, 'Samsa', 'samsa wire generator', 'produce-1k', 'acks=all (fsync)')
  const redis1 = find(rows, 'Redis Streams', 'redis-benchmark -P 64', 'produce-1k', 'AOF appendfsync everysec')
  const redisAlways = find(rows, 'Redis Streams', 'redis-benchmark -P 64', 'produce-1k', 'AOF appendfsync always')
  add('Samsa produce 1 KiB acks=1 / loopback TCP', rdk1?.mibPerSec, loop, 'rdkafka_performance')
  add('Samsa produce 1 KiB acks=1 / loopback TCP', wire1?.mibPerSec, loop, 'samsa wire generator')
  // What a producer can keep up once the page cache stops absorbing writes.
  const sustained = report.ceilings.find((c) => c.name === 'disk write sustained, fdatasync')?.mibPerSec
  add('Samsa produce 1 KiB acks=1 / disk write sustained (4 files + fdatasync)', rdk1?.mibPerSec, sustained, 'rdkafka_performance')
  add('Samsa produce 1 KiB acks=all / disk write sustained (4 files + fdatasync)', rdkAll?.mibPerSec, sustained, 'rdkafka_performance')
  add('Samsa produce 1 KiB acks=1 / Redis Streams XADD (everysec)', rdk1?.mibPerSec, redis1?.mibPerSec, 'rdkafka_performance vs redis-benchmark')
  add('Samsa produce 1 KiB acks=all / Redis Streams XADD (always)', rdkAll?.mibPerSec, redisAlways?.mibPerSec, 'rdkafka_performance vs redis-benchmark')
  add('Samsa produce 1 KiB acks=all / acks=1', rdkAll?.mibPerSec, rdk1?.mibPerSec, 'rdkafka_performance')
  add('Samsa produce 1 KiB acks=all / acks=1', wireAll?.mibPerSec, wire1?.mibPerSec, 'samsa wire generator')
  // librdkafka sends requests of up to 1 MiB per partition; the 1 MiB fdatasync ceiling is its match.
  const syncCeiling = report.ceilings.find((c) => c.name === 'disk write + fdatasync' && c.note.startsWith('1024 KiB'))?.mibPerSec
  add('Samsa produce 1 KiB acks=all / disk write 1 MiB + fdatasync', rdkAll?.mibPerSec, syncCeiling, 'rdkafka_performance')
  for (const client of ['samsa wire generator', 'rdkafka_performance']) {
    const c = rows.find((r) => r.system === 'Samsa' && r.client === client && r.workload === 'consume-backlog')
    add('Samsa consume backlog / loopback TCP', c?.mibPerSec, loop, client)
  }
  // The sendfile section's runs against the loopback measured around them when there is one.
  const fetchLoop = report.ceilings.find((c) => c.name === SENDFILE_LOOPBACK)?.mibPerSec ?? loop
  const loopName = report.ceilings.some((c) => c.name === SENDFILE_LOOPBACK) ? 'loopback TCP around the runs' : 'loopback TCP'
  for (const client of ['samsa wire generator', 'rdkafka_performance']) {
    const side = (label: string) => rows.find((r) => r.client === `${client} (${label})` && r.workload === 'consume-backlog')
    add(`Samsa consume backlog with sendfile / ${loopName}`, side('sendfile')?.mibPerSec, fetchLoop, client)
    add(`Samsa consume backlog without sendfile / ${loopName}`, side('copy')?.mibPerSec, fetchLoop, client)
    add('Samsa consume backlog, sendfile / copy', side('sendfile')?.mibPerSec, side('copy')?.mibPerSec, `${client}, two brokers read in turns`)
    // The broker's CPU time per byte sent: what sendfile saves, whatever share of the cores the clients got.
    const cpuPerMiB = (r: Row | undefined) => (r?.server && r.mibPerSec > 0 ? r.server.cpuPct / r.mibPerSec : undefined)
    add('Samsa broker CPU per MiB fetched, sendfile / copy', cpuPerMiB(side('sendfile')), cpuPerMiB(side('copy')), client)
  }
  const rc = rows.find((r) => r.system === 'Redis Streams' && r.workload === 'consume-backlog')
  const sc = rows.find((r) => r.system === 'Samsa' && r.client === 'rdkafka_performance' && r.workload === 'consume-backlog')
  add('Samsa consume backlog / Redis Streams XREADGROUP', sc?.mibPerSec, rc?.mibPerSec, 'rdkafka_performance vs RESP pipeliner')
  const lat = find(rows, 'Samsa', 'samsa wire client', 'latency-50k', 'acks=1')
  const rlat = find(rows, 'Redis Streams', 'RESP pipeliner (XADD / XREADGROUP)', 'latency-50k', 'AOF appendfsync everysec')
  if (lat?.e2eMs) report.ratios.push({ name: 'Samsa end-to-end p99 at 50k/s, acks=1 (ms)', value: lat.e2eMs.p99, detail: 'samsa wire client' })
  add('Samsa / Redis Streams end-to-end p99 at 50k/s', lat?.e2eMs?.p99, rlat?.e2eMs?.p99, 'acks=1 vs appendfsync everysec')
  const cleaner = rows.find((r) => r.workload === 'compaction')
  const copy = report.ceilings.find((c) => c.name === 'disk read + write of the dirty log')
  add('Samsa log cleaner / sequential read + write of the same bytes', cleaner?.mibPerSec, copy?.mibPerSec, 'MiB/s of dirty log, harness process, page cache warm')
  // A latency run with nothing acknowledged has no percentiles to compare.
  const measuredLatency = (r: Row | undefined) => (r?.publishMs?.count && r.e2eMs?.count ? r : undefined)
  const idle = measuredLatency(rows.find((r) => r.workload === 'latency-50k' && r.durability === 'acks=1, cleaner idle'))
  const busy = measuredLatency(rows.find((r) => r.workload === 'latency-50k' && r.durability.startsWith('acks=1, cleaner compacting')))
  add('Samsa publish p99 at 50k/s, cleaner compacting / idle', busy?.publishMs?.p99, idle?.publishMs?.p99, `${busy?.publishMs?.p99.toFixed(2)} vs ${idle?.publishMs?.p99.toFixed(2)} ms`)
  add('Samsa end-to-end p99 at 50k/s, cleaner compacting / idle', busy?.e2eMs?.p99, idle?.e2eMs?.p99, `${busy?.e2eMs?.p99.toFixed(2)} vs ${idle?.e2eMs?.p99.toFixed(2)} ms`)
  const over = (label: string, workload: string) => rows.find((r) => r.client.endsWith(`(${label})`) && r.workload === workload)
  add('Samsa produce 1 KiB acks=1, TLS / plaintext', over('TLS', 'produce-1k')?.mibPerSec, over('plaintext', 'produce-1k')?.mibPerSec, 'samsa wire generator, one broker, both listeners')
  add('Samsa consume backlog, TLS / plaintext', over('TLS', 'consume-backlog')?.mibPerSec, over('plaintext', 'consume-backlog')?.mibPerSec, 'samsa wire generator, one broker, both listeners')
  const tlsLat = measuredLatency(over('TLS', 'latency-50k'))
  const plainLat = measuredLatency(over('plaintext', 'latency-50k'))
  if (tlsLat?.e2eMs) report.ratios.push({ name: 'Samsa end-to-end p99 at 50k/s over TLS, acks=1 (ms)', value: tlsLat.e2eMs.p99, detail: 'samsa wire client' })
  add('Samsa end-to-end p99 at 50k/s, TLS / plaintext', tlsLat?.e2eMs?.p99, plainLat?.e2eMs?.p99, `${tlsLat?.e2eMs?.p99.toFixed(2)} vs ${plainLat?.e2eMs?.p99.toFixed(2)} ms`)
  const scram = rows.find((r) => r.workload === 'connections' && r.durability === 'SASL_PLAINTEXT')
  const plainConn = rows.find((r) => r.workload === 'connections' && r.durability === 'PLAINTEXT')
  if (scram) report.ratios.push({ name: 'SCRAM-SHA-256 logins per second', value: scram.recordsPerSec, detail: `${loginConcurrency} at a time, salted password cached by the client` })
  add('SCRAM-SHA-256 logins / plain connections (per second)', scram?.recordsPerSec, plainConn?.recordsPerSec, 'plain: connect, ApiVersions, close')
  const eager = report.rebalance?.find((x) => x.assignor.startsWith('range'))
  const coop = report.rebalance?.find((x) => x.assignor === 'cooperative-sticky')
  const kip848 = report.rebalance?.find((x) => x.protocol === 'consumer')
  for (const [name, x] of [['KIP-848 consumer protocol', kip848], ['classic cooperative-sticky', coop]] as const) {
    add(`records/s during a rolling restart: ${name} / classic eager (range)`, x?.restartRecordsPerSec, eager?.restartRecordsPerSec, 'librdkafka, 3 members, 12 partitions')
    add(`join to consuming, median: classic eager (range) / ${name}`, eager && median(eager.joinMs), x && median(x.joinMs), 'librdkafka, 3 members, 12 partitions')
  }
  // Share groups as a work queue (share.ts): records/s over the classic group and over RabbitMQ.
  const queue = (system: string, prefix: string) => rows.find((r) => r.workload === 'work-queue-1k' && r.system === system && r.client.startsWith(prefix))
  const classic16 = queue('Samsa', 'samsa Consumer x 16')
  for (const n of [1, 4, 16]) {
    const share = queue('Samsa', `samsa ShareConsumer x ${n},`)
    add(`share group, ${n} consumer(s) on 1 partition / classic group, 16 on 16 partitions (records/s)`, share?.recordsPerSec, classic16?.recordsPerSec, 'the project\'s clients, explicit accept')
    add(`Samsa share group / RabbitMQ, ${n} consumer(s) (records/s)`, share?.recordsPerSec, queue('RabbitMQ', `amqplib x ${n},`)?.recordsPerSec, 'a backlog of the same records; explicit accept vs manual ack')
  }
  // --share-baseline: the same share runs against another build, in the same run.
  for (const n of [1, 4, 16]) {
    const before = queue(BASELINE, `samsa ShareConsumer x ${n},`)
    if (before === undefined) continue
    add(`share group, ${n} consumer(s): this build / baseline build (records/s)`, queue('Samsa', `samsa ShareConsumer x ${n},`)?.recordsPerSec, before.recordsPerSec, 'the same client, backlog and machine, one after the other')
    add(`baseline build: share group, ${n} consumer(s) / classic group, 16 on 16 partitions (records/s)`, before.recordsPerSec, classic16?.recordsPerSec, 'the classic group measured on this build')
    add(`baseline build: Samsa share group / RabbitMQ, ${n} consumer(s) (records/s)`, before.recordsPerSec, queue('RabbitMQ', `amqplib x ${n},`)?.recordsPerSec, 'a backlog of the same records; explicit accept vs manual ack')
  }
  const baseLat = rows.find((r) => r.workload.startsWith('work-queue-latency') && r.system === BASELINE)
  const shareLat = rows.find((r) => r.workload.startsWith('work-queue-latency') && r.system === 'Samsa')
  if (baseLat !== undefined) {
    add('work-queue publish -> ack p50, this build / baseline build', shareLat?.e2eMs?.p50, baseLat.e2eMs?.p50, `${shareLat?.e2eMs?.p50.toFixed(2)} vs ${baseLat.e2eMs?.p50.toFixed(2)} ms`)
    add('work-queue publish -> ack p99, this build / baseline build', shareLat?.e2eMs?.p99, baseLat.e2eMs?.p99, `${shareLat?.e2eMs?.p99.toFixed(2)} vs ${baseLat.e2eMs?.p99.toFixed(2)} ms`)
  }
  const rabbitLat = rows.find((r) => r.workload.startsWith('work-queue-latency') && r.system === 'RabbitMQ')
  add('work-queue publish -> ack p50, Samsa share group / RabbitMQ', shareLat?.e2eMs?.p50, rabbitLat?.e2eMs?.p50, `${shareLat?.e2eMs?.p50.toFixed(2)} vs ${rabbitLat?.e2eMs?.p50.toFixed(2)} ms`)
  add('work-queue publish -> ack p99, Samsa share group / RabbitMQ', shareLat?.e2eMs?.p99, rabbitLat?.e2eMs?.p99, `${shareLat?.e2eMs?.p99.toFixed(2)} vs ${rabbitLat?.e2eMs?.p99.toFixed(2)} ms`)
  if (report.startup) {
    report.ratios.push({ name: 'samsa serve start-up to listening (ms, median)', value: median(report.startup.toListeningMs), detail: `${report.startup.toListeningMs.length} fresh starts` })
    report.ratios.push({ name: 'samsa serve idle RSS (MiB)', value: report.startup.idleRssMiB, detail: '1 s after listening' })
  }
}
