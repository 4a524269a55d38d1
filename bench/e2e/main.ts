// End-to-end benchmark: Samsa next to Redis Streams and NATS JetStream, and next to the machine's
// own ceilings (loopback TCP, sequential disk writes), all measured in one run so the ratios hold
// even on a shared, noisy machine. Workloads follow the OpenMessaging Benchmark: 1 topic x 16
// partitions, 1 KiB and 100 B records at max rate, a fixed 50k records/s for latency, and a
// consumer reading a backlog. Every system is started here on 127.0.0.1 and stopped at the end.
// Two Samsa sections compare Samsa with itself: compaction (the cleaner next to a plain copy of
// the same bytes; produce latency with the cleaner working and idle) and security (TLS next to
// plain TCP; SCRAM logins next to plain connections).
//
//   npm run bench [-- --quick] [--only samsa,redis,nats,clients,compaction,security,rebalance,sendfile,share,scale] [--out-dir DIR]
//                 [--render RUN.json] [--in-process-latency] [--share-baseline OTHER/dist/cli/main.js]
//
// The fixed-rate latency runs put the producer and the consumer in child processes of their own, so
// the harness's event loop is not in the figures; --in-process-latency adds the older runs with both
// ends in the harness process next to them, for comparison. `rebalance` measures consumer groups
// under the classic (eager and cooperative) and KIP-848 protocols with librdkafka (rebalance.ts);
// `share` measures share groups as a work queue next to a classic group and RabbitMQ (share.ts;
// --share-baseline runs its share-group figures against another build too, in the same run);
// `scale` the broker's RSS and throughput as partitions, connections and producers grow (scale.ts).
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { dirtyBackgroundBytes, diskCeiling, loopbackCeiling, parallelSyncCeiling, sustainedDiskCeiling } from './ceilings.js'
import { runFixedRate, runFixedRateSplit, type FixedRateResult } from './fixed-rate.js'
import { natsAvailable, natsConsume, natsPublish, natsRateTarget, startNats } from './nats.js'
import { kafkajsConsume, kafkajsProduce, platformaticConsume, platformaticProduce } from './node-clients.js'
import { ProcSampler, stopService, type ResourceUsage } from './procs.js'
import { findRdkafkaPerformance, rdkafkaConsume, rdkafkaProduce } from './rdkafka.js'
import { median, writeReport } from './report.js'
import { ratios, SENDFILE_LOOPBACK } from './ratios.js'
import { benchRebalance } from './rebalance.js'
import { redisAvailable, redisBenchmarkXadd, redisConsume, redisRateTarget, startRedis, streamLengths } from './redis.js'
import { MiB, type Row, type RunReport } from './results.js'
import { alterTopic, createTopic, deleteTopic, measureStartup, samsaRateTarget, startSamsa, wireFetch, wireProduce, type SamsaServer } from './samsa.js'
import { cleanerThroughput, watchCleaning } from './compaction.js'
import { plainConnects, scramLogins, startSecureSamsa } from './security.js'
import { benchShare } from './share.js'
import { benchScale } from './scale.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.resolve(here, '../../..')

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'out-dir': { type: 'string' },
    render: { type: 'string' },
    'in-process-latency': { type: 'boolean', default: false },
    'share-baseline': { type: 'string' },
  },
})

const QUICK = flags.quick!
const IN_PROCESS_LATENCY = flags['in-process-latency']!
const S = QUICK
  ? { runSeconds: 3, latencySeconds: 5, latencyWarmupSeconds: 2, backlogBytes: 256 * MiB, loopbackSeconds: 2, diskSeconds: 2, diskMaxBytes: 512 * MiB, startupAttempts: 3, consumeSeconds: 15, cleanerBytes: 64 * MiB, cleanerBacklogMaxBytes: 1024 * MiB, loginSeconds: 3, rebalanceSteadySeconds: 3, shareRecords: 50_000 }
  : { runSeconds: 15, latencySeconds: 30, latencyWarmupSeconds: 5, backlogBytes: 2048 * MiB, loopbackSeconds: 5, diskSeconds: 5, diskMaxBytes: 4096 * MiB, startupAttempts: 5, consumeSeconds: 90, cleanerBytes: 256 * MiB, cleanerBacklogMaxBytes: 4096 * MiB, loginSeconds: 5, rebalanceSteadySeconds: 10, shareRecords: 200_000 }
const PARTITIONS = 16
const RATE = 50_000
/** The share section's work-queue latency rate: moderate, as a work queue runs. */
const SHARE_RATE = 2_000
const WIRE = { connections: 4, depth: 8, batchBytes: 64 * 1024 }
const only = new Set((flags.only ?? 'samsa,redis,nats,clients,compaction,security,rebalance,sendfile,share,scale').split(','))
/** The scale section's curves; counts above 1,000 partitions are measured idle only. */
const SCALE = { partitionCounts: [1, 100, 1000, 10_000], maxLoadedPartitions: 1000, connectionCounts: [1, 100, 1000], producerCounts: [1, 4, 16] }
/** Connections a login loop keeps going at once. */
const LOGIN_CONCURRENCY = 8
const outDir = path.resolve(flags['out-dir'] ?? path.join(ROOT, 'bench/results'))

const t0 = performance.now()
function progress(msg: string): void {
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`)
}

const rows: Row[] = []
const skipped: string[] = []
const stops: Array<() => Promise<void>> = []

function throughputRow(base: Omit<Row, 'recordsPerSec' | 'mibPerSec'>, records: number, seconds: number, server?: ResourceUsage): Row {
  const recordsPerSec = seconds > 0 ? records / seconds : 0
  const row: Row = { ...base, recordsPerSec, mibPerSec: (recordsPerSec * base.recordBytes) / MiB, server }
  rows.push(row)
  progress(`  ${base.system} / ${base.client} / ${base.workload} / ${base.durability}: ${Math.round(recordsPerSec).toLocaleString('en-US')} records/s, ${row.mibPerSec.toFixed(1)} MiB/s${server ? `, server CPU ${server.cpuPct.toFixed(0)}%, RSS ${server.rssMaxMiB.toFixed(0)} MiB` : ''}`)
  return row
}

function latencyRow(system: string, client: string, durability: string, r: FixedRateResult, server: ResourceUsage, extraNote?: string): void {
  const notes = r.producerLoopDelayP99Ms === undefined
    ? [`producer and consumer in the harness process, its event-loop delay p99 ${r.harnessLoopDelayP99Ms.toFixed(1)} ms`]
    : [`producer and consumer in their own processes, event-loop delay p99 ${r.producerLoopDelayP99Ms.toFixed(1)} / ${r.consumerLoopDelayP99Ms!.toFixed(1)} ms`]
  if (r.failed > 0) notes.push(`${r.failed} of ${r.sent} rejected (${r.lastError})`)
  if (r.acked + r.failed < r.sent) notes.push(`${r.sent - r.acked - r.failed} of ${r.sent} not acknowledged in time`)
  if (r.received < r.acked) notes.push(`${r.acked - r.received} acknowledged records not consumed in time`)
  if (extraNote !== undefined) notes.push(extraNote)
  const note = notes.join('; ')
  rows.push({ system, client, workload: 'latency-50k', recordBytes: 1024, durability, recordsPerSec: r.achievedPerSec, mibPerSec: (r.achievedPerSec * 1024) / MiB, publishMs: r.publishMs, e2eMs: r.e2eMs, server, note })
  progress(`  ${system} / ${durability} at ${RATE}/s: publish p50 ${r.publishMs.p50.toFixed(2)} p99 ${r.publishMs.p99.toFixed(2)} p99.9 ${r.publishMs.p999.toFixed(2)} ms; end-to-end p50 ${r.e2eMs.p50.toFixed(2)} p99 ${r.e2eMs.p99.toFixed(2)} p99.9 ${r.e2eMs.p999.toFixed(2)} ms (${note})`)
}

/** Runs one workload with the server sampled; a failure is recorded and the run goes on. */
async function measured<T>(label: string, pid: number, f: () => Promise<T>): Promise<{ value: T; usage: ResourceUsage } | undefined> {
  progress(`${label}...`)
  const sampler = new ProcSampler(pid).start()
  try {
    const value = await f()
    return { value, usage: sampler.stop() }
  } catch (err) {
    sampler.stop()
    skipped.push(`${label}: ${(err as Error).message.split('\n')[0]}`)
    progress(`  failed: ${(err as Error).message.split('\n')[0]}`)
    return undefined
  }
}

/** One system failing to start or fill its backlog must not cost the other systems' figures. */
/**
 * Waits for the kernel to write back dirty pages (sync(1)), so a measurement does not compete with
 * the writeback of whatever ran before it, in this run or outside it.
 */
function settleDisk(): void {
  const t = performance.now()
  spawnSync('sync', { stdio: 'ignore' })
  const ms = performance.now() - t
  if (ms > 200) progress(`  (waited ${(ms / 1000).toFixed(1)} s for dirty pages to be written back)`)
}

async function guard(system: string, f: () => Promise<void>): Promise<void> {
  try {
    await f()
  } catch (err) {
    skipped.push(`${system}: ${(err as Error).message.split('\n')[0]}`)
    progress(`${system} aborted: ${(err as Error).message.split('\n')[0]}`)
  }
}

async function benchSamsa(work: string): Promise<void> {
  progress(`samsa start-up (${S.startupAttempts} fresh starts)...`)
  report.startup = await measureStartup((i) => mkdtempSync(path.join(work, `startup-${i}-`)), S.startupAttempts)
  progress(`  to listening: median ${median(report.startup.toListeningMs).toFixed(0)} ms; idle RSS ${report.startup.idleRssMiB.toFixed(1)} MiB`)

  const samsa = await startSamsa(mkdtempSync(path.join(work, 'samsa-')))
  stops.push(() => stopService(samsa.service.child))
  const pid = samsa.service.pid
  const rdk = findRdkafkaPerformance()
  if (typeof rdk !== 'string') skipped.push(`rdkafka_performance: ${rdk.missing}`)

  // Latency first, on a fresh broker, so the max-rate runs' data and garbage do not colour it.
  for (const acks of [1, -1]) {
    const durability = acks === 1 ? 'acks=1' : 'acks=all (fsync)'
    const topic = `latency-${acks === 1 ? '1' : 'all'}`
    await createTopic(samsa, topic, PARTITIONS)
    const spec = { system: 'samsa', host: samsa.host, port: samsa.port, topic, partitions: PARTITIONS, recordBytes: 1024, acks } as const
    const m = await measured(`samsa: ${RATE}/s fixed rate, ${durability}, ${S.latencySeconds}s, producer and consumer processes`, pid, () => runFixedRateSplit(spec, RATE, S.latencySeconds, undefined, S.latencyWarmupSeconds))
    if (m) latencyRow('Samsa', 'samsa wire client', durability, m.value, m.usage)
    if (IN_PROCESS_LATENCY) {
      await createTopic(samsa, `${topic}-in-process`, PARTITIONS)
      const m = await measured(`samsa: ${RATE}/s fixed rate, ${durability}, ${S.latencySeconds}s, in the harness process`, pid, async () => runFixedRate(await samsaRateTarget(samsa, `${topic}-in-process`, PARTITIONS, 1024, acks), RATE, S.latencySeconds, undefined, S.latencyWarmupSeconds))
      if (m) latencyRow('Samsa', 'samsa wire client (in harness process)', durability, m.value, m.usage)
    }
  }

  const cases = [[1024, 1], [1024, -1], [100, 1], [100, -1]] as const
  for (const [size, acks] of cases) {
    const durability = acks === 1 ? 'acks=1' : 'acks=all (fsync)'
    const workload = size === 1024 ? 'produce-1k' : 'produce-100b'
    if (typeof rdk === 'string') {
      const topic = `rdk-${size}-${acks === 1 ? '1' : 'all'}`
      await createTopic(samsa, topic, PARTITIONS)
      const m = await measured(`samsa: rdkafka_performance ${workload} ${durability}`, pid, () => rdkafkaProduce(rdk, samsa.bootstrap, topic, size, acks, S.runSeconds))
      if (m) throughputRow({ system: 'Samsa', client: 'rdkafka_performance', workload, recordBytes: size, durability, note: m.value.failed ? `${m.value.failed} failed` : undefined }, m.value.delivered, m.value.seconds, m.usage)
      await deleteTopic(samsa, topic)
    }
    const topic = `wire-${size}-${acks === 1 ? '1' : 'all'}`
    await createTopic(samsa, topic, PARTITIONS)
    const m = await measured(`samsa: wire generator ${workload} ${durability}`, pid, () => wireProduce(samsa, topic, PARTITIONS, size, acks, S.runSeconds, WIRE))
    if (m) throughputRow({ system: 'Samsa', client: 'samsa wire generator', workload, recordBytes: size, durability }, m.value.records, m.value.seconds, m.usage)
    await deleteTopic(samsa, topic)
  }

  if (only.has('clients')) {
    for (const [name, produce] of [['kafkajs', kafkajsProduce], ['@platformatic/kafka', platformaticProduce]] as const) {
      const topic = `${name.replace(/\W/g, '')}-1024-1`
      await createTopic(samsa, topic, PARTITIONS)
      const m = await measured(`samsa: ${name} producer produce-1k acks=1`, pid, () => produce(samsa.bootstrap, topic, PARTITIONS, 1024, 1, S.runSeconds))
      if (m) throughputRow({ system: 'Samsa', client: name, workload: 'produce-1k', recordBytes: 1024, durability: 'acks=1' }, m.value.records, m.value.seconds, m.usage)
      await deleteTopic(samsa, topic)
    }
  }

  await samsaBacklog(samsa, typeof rdk === 'string' ? rdk : undefined)
  await stopService(samsa.service.child)
}

async function samsaBacklog(samsa: SamsaServer, rdk: string | undefined): Promise<void> {
  const topic = 'backlog'
  await createTopic(samsa, topic, PARTITIONS)
  const want = Math.floor(S.backlogBytes / 1024)
  progress(`samsa: writing a ${(S.backlogBytes / MiB).toFixed(0)} MiB backlog of 1 KiB records...`)
  const fill = await wireProduce(samsa, topic, PARTITIONS, 1024, 1, S.consumeSeconds * 2, WIRE, want)
  const records = fill.records
  progress(`  ${records.toLocaleString('en-US')} records in ${fill.seconds.toFixed(1)} s`)
  const base = { system: 'Samsa', workload: 'consume-backlog', recordBytes: 1024, durability: `${(records * 1024 / MiB).toFixed(0)} MiB backlog` }
  const pid = samsa.service.pid
  const w = await measured('samsa: wire generator fetch of the backlog', pid, () => wireFetch(samsa, topic, PARTITIONS, WIRE.connections, S.consumeSeconds, Infinity))
  if (w) throughputRow({ ...base, client: 'samsa wire generator' }, w.value.records, w.value.seconds, w.usage)
  if (rdk) {
    const r = await measured('samsa: rdkafka_performance consumer of the backlog', pid, () => rdkafkaConsume(rdk, samsa.bootstrap, topic, 'bench-rdk', records, S.consumeSeconds))
    if (r) throughputRow({ ...base, client: 'rdkafka_performance' }, r.value.records, r.value.seconds, r.usage)
  }
  if (only.has('clients')) {
    const k = await measured('samsa: kafkajs consumer of the backlog', pid, () => kafkajsConsume(samsa.bootstrap, topic, 'bench-kafkajs', records, S.consumeSeconds))
    if (k) throughputRow({ ...base, client: 'kafkajs', note: k.value.records < records ? `read ${k.value.records} of ${records} before the time limit` : undefined }, k.value.records, k.value.seconds, k.usage)
    const p = await measured('samsa: @platformatic/kafka consumer of the backlog', pid, () => platformaticConsume(samsa.bootstrap, topic, 'bench-platformatic', records, S.consumeSeconds))
    if (p) throughputRow({ ...base, client: '@platformatic/kafka', note: p.value.records < records ? `read ${p.value.records} of ${records} before the time limit` : undefined }, p.value.records, p.value.seconds, p.usage)
  }
}

/**
 * Compaction: the cleaner's throughput next to a sequential copy of the same files, then produce
 * latency at the fixed rate on a broker whose cleaner is idle, and again while it compacts a
 * backlog sized from that throughput to outlast the run.
 */
async function benchCompaction(work: string): Promise<void> {
  progress(`compaction: cleaning ${(S.cleanerBytes / MiB).toFixed(0)} MiB of keyed 200 B records, next to a sequential read + write of the same segment files...`)
  const c = await cleanerThroughput(work, S.cleanerBytes)
  const dirtyMiB = c.dirtyBytes / MiB
  const cleanerMiBps = dirtyMiB / c.cleanSeconds
  report.ceilings.push({ name: 'disk read + write of the dirty log', mibPerSec: dirtyMiB / c.copySeconds, note: `sequential 1 MiB reads and writes of the ${dirtyMiB.toFixed(0)} MiB of segment files cleaned next, fsync per file; page cache warm` })
  rows.push({
    system: 'Samsa', client: 'log cleaner (in harness process)', workload: 'compaction', recordBytes: 200, durability: `${dirtyMiB.toFixed(0)} MiB dirty log -> ${(c.afterBytes / MiB).toFixed(1)} MiB, fsynced`,
    recordsPerSec: c.records / c.cleanSeconds, mibPerSec: cleanerMiBps, note: 'MiB/s of dirty log (segment bytes, not payload): offset map pass and rewrite',
  })
  progress(`  cleaner ${cleanerMiBps.toFixed(0)} MiB/s, sequential read + write ${(dirtyMiB / c.copySeconds).toFixed(0)} MiB/s`)

  const dataDir = mkdtempSync(path.join(work, 'samsa-compaction-'))
  const samsa = await startSamsa(dataDir, [], { 'log.cleaner.backoff.ms': '200' })
  stops.push(() => stopService(samsa.service.child))
  const pid = samsa.service.pid
  // Meant to keep the cleaner busy through consumer start-up, warm-up and the measured run: three
  // times what the harness cleaned in that time, since the broker's batches (64 KiB requests) clean
  // faster than the harness's 16-record ones. The note on the row says how long it really took.
  const runSeconds = S.latencyWarmupSeconds + S.latencySeconds + 2
  const backlogBytes = Math.min(S.cleanerBacklogMaxBytes, Math.max(256 * MiB, Math.ceil(3 * cleanerMiBps * runSeconds) * MiB))
  await createTopic(samsa, 'state', 1, { 'cleanup.policy': 'delete', 'segment.bytes': String(32 * MiB) })
  progress(`compaction: writing a ${(backlogBytes / MiB).toFixed(0)} MiB backlog of keyed 200 B records, not yet compacted...`)
  await wireProduce(samsa, 'state', 1, 200, 1, S.consumeSeconds * 4, { ...WIRE, keys: 20_000 }, Math.floor(backlogBytes / 222))
  settleDisk()
  for (const cleaning of [false, true]) {
    const durability = cleaning ? `acks=1, cleaner compacting ${(backlogBytes / MiB).toFixed(0)} MiB` : 'acks=1, cleaner idle'
    const topic = cleaning ? 'latency-cleaning' : 'latency-idle'
    await createTopic(samsa, topic, PARTITIONS)
    let watch: ReturnType<typeof watchCleaning> | undefined
    if (cleaning) {
      await alterTopic(samsa, 'state', { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.01' })
      watch = watchCleaning(path.join(dataDir, 'state-0'))
    }
    const spec = { system: 'samsa', host: samsa.host, port: samsa.port, topic, partitions: PARTITIONS, recordBytes: 1024, acks: 1 } as const
    const started = performance.now()
    const m = await measured(`samsa: ${RATE}/s fixed rate, ${durability}, ${S.latencySeconds}s`, pid, () => runFixedRateSplit(spec, RATE, S.latencySeconds, undefined, S.latencyWarmupSeconds))
    const ranSeconds = (performance.now() - started) / 1000
    let note: string | undefined
    if (watch) {
      // Let the cleaner finish, so the report can say how much of the run it covered.
      const w = await watch.quiet(3000, 120_000)
      note = w.firstChangeSeconds === undefined
        ? 'the cleaner changed nothing during the run'
        : `the cleaner took the partition from ${(w.beforeBytes / MiB).toFixed(0)} to ${(w.afterBytes / MiB).toFixed(1)} MiB, its first swap ${w.firstChangeSeconds.toFixed(1)} s (after mapping the whole backlog) and its last ${w.lastChangeSeconds!.toFixed(1)} s after the change to compact; the fixed-rate run took ${ranSeconds.toFixed(1)} s from then, its last ${S.latencySeconds} s measured`
    }
    if (m) latencyRow('Samsa', 'samsa wire client', durability, m.value, m.usage, note)
    await deleteTopic(samsa, topic)
  }
  await stopService(samsa.service.child)
}

/** TLS next to plain TCP on one broker, workload by workload; SCRAM logins next to plain connections. */
async function benchSecurity(work: string): Promise<void> {
  const certDir = mkdtempSync(path.join(work, 'certs-'))
  const secure = await startSecureSamsa(mkdtempSync(path.join(work, 'samsa-security-')), certDir)
  stops.push(() => stopService(secure.plain.service.child))
  const pid = secure.plain.service.pid
  const both = [['plaintext', secure.plain], ['TLS', secure.tls]] as const
  for (const [label, s] of both) {
    const topic = `latency-${label}`
    await createTopic(secure.plain, topic, PARTITIONS)
    const spec = { system: 'samsa', host: s.host, port: s.port, topic, partitions: PARTITIONS, recordBytes: 1024, acks: 1, security: s.security } as const
    const m = await measured(`samsa (${label}): ${RATE}/s fixed rate, acks=1, ${S.latencySeconds}s`, pid, () => runFixedRateSplit(spec, RATE, S.latencySeconds, undefined, S.latencyWarmupSeconds))
    if (m) latencyRow('Samsa', `samsa wire client (${label})`, 'acks=1', m.value, m.usage)
    await deleteTopic(secure.plain, topic)
  }
  // Throughput pairs alternate (a b b a), so load that drifts during the pair weighs on both alike.
  for (const [label] of both) await createTopic(secure.plain, `produce-${label}`, PARTITIONS)
  const produced = await abba('wire generator produce-1k acks=1', pid, both.map(([label, s]) => [label, async () => {
    const r = await wireProduce(s, `produce-${label}`, PARTITIONS, 1024, 1, S.runSeconds / 2, WIRE)
    return { count: r.records, seconds: r.seconds }
  }] as const))
  produced.forEach((m, i) => m && throughputRow({ system: 'Samsa', client: `samsa wire generator (${both[i]![0]})`, workload: 'produce-1k', recordBytes: 1024, durability: 'acks=1', note: ABBA_NOTE }, m.count, m.seconds, m.usage))
  for (const [label] of both) await deleteTopic(secure.plain, `produce-${label}`)
  await createTopic(secure.plain, 'backlog', PARTITIONS)
  progress(`samsa (security): writing a ${(S.backlogBytes / MiB).toFixed(0)} MiB backlog of 1 KiB records...`)
  const fill = await wireProduce(secure.plain, 'backlog', PARTITIONS, 1024, 1, S.consumeSeconds * 2, WIRE, Math.floor(S.backlogBytes / 1024))
  const fetched = await abba('wire generator fetch of the backlog', pid, both.map(([label, s]) => [label, async () => {
    const r = await wireFetch(s, 'backlog', PARTITIONS, WIRE.connections, S.consumeSeconds, Infinity)
    return { count: r.records, seconds: r.seconds }
  }] as const))
  fetched.forEach((m, i) => m && throughputRow({ system: 'Samsa', client: `samsa wire generator (${both[i]![0]})`, workload: 'consume-backlog', recordBytes: 1024, durability: `${((fill.records * 1024) / MiB).toFixed(0)} MiB backlog`, note: ABBA_NOTE }, m.count, m.seconds, m.usage))
  const connections = await abba(`connections, ${LOGIN_CONCURRENCY} at a time`, pid, [
    ['plain: connect, ApiVersions, close', async () => {
      const r = await plainConnects(secure.plain, S.loginSeconds / 2, LOGIN_CONCURRENCY)
      return { count: r.connects, seconds: r.seconds }
    }],
    ['SCRAM-SHA-256: connect, handshake, two SCRAM round trips, close', async () => {
      const r = await scramLogins(secure.sasl, S.loginSeconds / 2, LOGIN_CONCURRENCY)
      return { count: r.logins, seconds: r.seconds }
    }],
  ])
  if (connections[0]) loginRow('connect + ApiVersions + close', 'PLAINTEXT', connections[0].count, connections[0].seconds, connections[0].usage)
  if (connections[1]) loginRow('SCRAM-SHA-256 login + close', 'SASL_PLAINTEXT', connections[1].count, connections[1].seconds, connections[1].usage)
  await stopService(secure.plain.service.child)
}

const ABBA_NOTE = 'two runs of each of the pair, in the order a b b a, added up'

/**
 * Fetch with sendfile next to the copying path: two brokers, one started with SAMSA_SENDFILE=0,
 * each with the same backlog, read in turns (a b b a) by the wire generator and rdkafka_performance.
 */
async function benchSendfile(work: string): Promise<void> {
  const sides = [
    ['sendfile', await startSamsa(mkdtempSync(path.join(work, 'samsa-sendfile-')))],
    ['copy', await startSamsa(mkdtempSync(path.join(work, 'samsa-copy-')), [], {}, undefined, { ...process.env, SAMSA_SENDFILE: '0' })],
  ] as const
  for (const [, s] of sides) stops.push(() => stopService(s.service.child))
  const pids = sides.map(([, s]) => s.service.pid)
  let records = 0
  for (const [label, s] of sides) {
    await createTopic(s, 'backlog', PARTITIONS)
    progress(`samsa (${label}): writing a ${(S.backlogBytes / MiB).toFixed(0)} MiB backlog of 1 KiB records...`)
    records = (await wireProduce(s, 'backlog', PARTITIONS, 1024, 1, S.consumeSeconds * 2, WIRE, Math.floor(S.backlogBytes / 1024))).records
  }
  settleDisk()
  // On a shared machine the loopback ceiling moves with the load, by several times within a
  // minute; measured before every fetch run and once after the last, each run is compared with the
  // mean of the two measured around it.
  const loops: number[] = []
  const timeline: Array<{ loop: number } | { run: string; mibPerSec: number }> = []
  const loopback = async () => {
    const c = await loopbackCeiling(S.loopbackSeconds, WIRE.connections)
    loops.push(c.mibPerSec)
    timeline.push({ loop: c.mibPerSec })
    progress(`  loopback TCP: ${c.mibPerSec.toFixed(0)} MiB/s`)
  }
  const ran = (run: string, count: number, seconds: number) => timeline.push({ run, mibPerSec: seconds > 0 ? (count * 1024) / MiB / seconds : 0 })
  const base = { system: 'Samsa', workload: 'consume-backlog', recordBytes: 1024, durability: `${((records * 1024) / MiB).toFixed(0)} MiB backlog`, note: ABBA_NOTE }
  try {
    const wire = await abba('wire generator fetch of the backlog', pids, sides.map(([label, s]) => [label, async () => {
      const r = await wireFetch(s, 'backlog', PARTITIONS, WIRE.connections, S.consumeSeconds, Infinity)
      ran(`samsa wire generator (${label})`, r.records, r.seconds)
      return { count: r.records, seconds: r.seconds }
    }] as const), loopback)
    wire.forEach((m, i) => m && throughputRow({ ...base, client: `samsa wire generator (${sides[i]![0]})` }, m.count, m.seconds, m.usage))
    const rdk = findRdkafkaPerformance()
    if (typeof rdk !== 'string') return
    let group = 0
    const viaRdk = await abba('rdkafka_performance consumer of the backlog', pids, sides.map(([label, s]) => [label, async () => {
      const r = await rdkafkaConsume(rdk, s.bootstrap, 'backlog', `bench-rdk-${label}-${group++}`, records, S.consumeSeconds)
      ran(`rdkafka_performance (${label})`, r.records, r.seconds)
      return { count: r.records, seconds: r.seconds }
    }] as const), loopback)
    viaRdk.forEach((m, i) => m && throughputRow({ ...base, client: `rdkafka_performance (${sides[i]![0]})` }, m.count, m.seconds, m.usage))
  } finally {
    if (loops.length > 0) {
      await loopback()
      report.ceilings.push({ name: SENDFILE_LOOPBACK, mibPerSec: loops.reduce((a, b) => a + b, 0) / loops.length, note: `mean of ${loops.length} runs of ${S.loopbackSeconds} s, one before each fetch run of the sendfile section and one after the last: ${loops.map((x) => x.toFixed(0)).join(', ')}` })
      bracketedRatios(timeline)
    }
  }
}

type PairRun = () => Promise<{ count: number; seconds: number }>

/**
 * Each fetch run over the mean of the loopback runs just before and just after it; per client and
 * side, the mean of its runs' ratios, with every run's ratio in the detail.
 */
function bracketedRatios(timeline: ReadonlyArray<{ loop: number } | { run: string; mibPerSec: number }>): void {
  const per = new Map<string, number[]>()
  timeline.forEach((t, i) => {
    if (!('run' in t)) return
    const before = timeline.slice(0, i).reverse().find((x) => 'loop' in x)
    const after = timeline.slice(i + 1).find((x) => 'loop' in x)
    const around = [before, after].flatMap((x) => (x !== undefined && 'loop' in x ? [x.loop] : []))
    if (around.length === 0) return
    const list = per.get(t.run) ?? []
    list.push(t.mibPerSec / (around.reduce((a, b) => a + b, 0) / around.length))
    per.set(t.run, list)
  })
  for (const [run, xs] of per) {
    report.ratios.push({ name: `Samsa consume backlog / loopback TCP just before and after each run, ${run}`, value: xs.reduce((a, b) => a + b, 0) / xs.length, detail: `mean of ${xs.length} runs: ${xs.map((x) => x.toFixed(2)).join(', ')}` })
  }
}

/**
 * Runs the two of a pair in the order a b b a and adds up each one's count, seconds and server
 * usage (CPU weighted by time); undefined for one whose run failed.
 */
async function abba(what: string, pid: number | readonly number[], pair: ReadonlyArray<readonly [string, PairRun]>, before?: () => Promise<void>): Promise<Array<{ count: number; seconds: number; usage: ResourceUsage } | undefined>> {
  const totals = pair.map(() => ({ count: 0, seconds: 0, cpuSeconds: 0, rssMaxMiB: 0, rssEndMiB: 0, failed: false }))
  for (const i of [0, 1, 1, 0]) {
    const [label, run] = pair[i]!
    await before?.()
    const m = await measured(`samsa: ${what} (${label})`, typeof pid === 'number' ? pid : pid[i]!, run)
    const t = totals[i]!
    if (m === undefined) {
      t.failed = true
      continue
    }
    t.count += m.value.count
    t.seconds += m.value.seconds
    t.cpuSeconds += (m.usage.cpuPct / 100) * m.value.seconds
    t.rssMaxMiB = Math.max(t.rssMaxMiB, m.usage.rssMaxMiB)
    t.rssEndMiB = m.usage.rssEndMiB
  }
  return totals.map((t) => (t.failed || t.seconds === 0 ? undefined : { count: t.count, seconds: t.seconds, usage: { cpuPct: (t.cpuSeconds / t.seconds) * 100, rssMaxMiB: t.rssMaxMiB, rssEndMiB: t.rssEndMiB } }))
}

function loginRow(what: string, listener: string, count: number, seconds: number, server: ResourceUsage): void {
  const perSec = count / seconds
  rows.push({ system: 'Samsa', client: `${what}, ${LOGIN_CONCURRENCY} at a time`, workload: 'connections', recordBytes: 0, durability: listener, recordsPerSec: perSec, mibPerSec: 0, server, note: `connections per second in the records/s column; ${ABBA_NOTE}` })
  progress(`  ${what}: ${Math.round(perSec).toLocaleString('en-US')}/s, server CPU ${server.cpuPct.toFixed(0)}%`)
}

async function benchRedis(work: string): Promise<void> {
  const missing = redisAvailable()
  if (missing) {
    skipped.push(`Redis Streams: ${missing}`)
    return
  }
  for (const fsync of ['everysec', 'always'] as const) {
    const redis = await startRedis(mkdtempSync(path.join(work, `redis-${fsync}-`)), fsync)
    stops.push(() => stopService(redis.service.child))
    const pid = redis.service.pid
    const durability = `AOF appendfsync ${fsync}`
    // Latency first, on a fresh server, before max-rate runs grow the AOF and trigger rewrites.
    const spec = { system: 'redis', port: redis.port, streams: PARTITIONS, recordBytes: 1024 } as const
    const lat = await measured(`redis (${fsync}): ${RATE}/s fixed rate, ${S.latencySeconds}s, producer and consumer processes`, pid, () => runFixedRateSplit(spec, RATE, S.latencySeconds, undefined, S.latencyWarmupSeconds))
    if (lat) latencyRow('Redis Streams', 'RESP pipeliner (XADD / XREADGROUP)', durability, lat.value, lat.usage)
    if (IN_PROCESS_LATENCY) {
      const lat = await measured(`redis (${fsync}): ${RATE}/s fixed rate, ${S.latencySeconds}s, in the harness process`, pid, async () => runFixedRate(await redisRateTarget(redis.port, PARTITIONS, 1024), RATE, S.latencySeconds, undefined, S.latencyWarmupSeconds))
      if (lat) latencyRow('Redis Streams', 'RESP pipeliner (in harness process)', durability, lat.value, lat.usage)
    }
    for (const size of [1024, 100]) {
      const workload = size === 1024 ? 'produce-1k' : 'produce-100b'
      const m = await measured(`redis (${fsync}): redis-benchmark XADD ${workload}`, pid, () => redisBenchmarkXadd(redis.port, PARTITIONS, size, S.runSeconds, 2_000_000_000))
      if (m) throughputRow({ system: 'Redis Streams', client: 'redis-benchmark -P 64', workload, recordBytes: size, durability }, m.value.records, m.value.seconds, m.usage)
    }
    if (fsync === 'everysec') await redisBacklog(redis.port, pid)
    await stopService(redis.service.child)
  }
}

async function redisBacklog(port: number, pid: number): Promise<void> {
  const { RespClient } = await import('./resp.js')
  const c = await RespClient.connect(port)
  await c.command('FLUSHALL')
  c.close()
  const want = Math.floor(S.backlogBytes / 1024)
  progress(`redis: writing a ${(S.backlogBytes / MiB).toFixed(0)} MiB backlog of 1 KiB records...`)
  await redisBenchmarkXadd(port, PARTITIONS, 1024, S.consumeSeconds * 2, want)
  const records = await streamLengths(port, PARTITIONS)
  const m = await measured('redis: XREADGROUP of the backlog', pid, () => redisConsume(port, PARTITIONS, 'backlog', records, S.consumeSeconds))
  if (m) throughputRow({ system: 'Redis Streams', client: 'RESP pipeliner (XREADGROUP)', workload: 'consume-backlog', recordBytes: 1024, durability: `${(records * 1024 / MiB).toFixed(0)} MiB backlog` }, m.value.records, m.value.seconds, m.usage)
}

async function benchNats(work: string): Promise<void> {
  const missing = natsAvailable()
  if (missing) {
    skipped.push(`NATS JetStream: ${missing}`)
    return
  }
  const nats = await startNats(mkdtempSync(path.join(work, 'nats-')))
  stops.push(() => stopService(nats.service.child))
  const pid = nats.service.pid
  const durability = 'file storage, stored (default sync)'
  const lat = await measured(`nats: ${RATE}/s fixed rate, ${S.latencySeconds}s`, pid, async () => runFixedRate(await natsRateTarget(nats.port, 'lat', PARTITIONS, 1024), RATE, S.latencySeconds, undefined, S.latencyWarmupSeconds))
  if (lat) latencyRow('NATS JetStream', 'NATS pipeliner', durability, lat.value, lat.usage)
  for (const size of [1024, 100]) {
    const workload = size === 1024 ? 'produce-1k' : 'produce-100b'
    const m = await measured(`nats: JetStream publish ${workload}`, pid, () => natsPublish(nats.port, `p${size}`, PARTITIONS, size, S.runSeconds, Infinity))
    if (m) throughputRow({ system: 'NATS JetStream', client: 'NATS pipeliner', workload, recordBytes: size, durability }, m.value.records, m.value.seconds, m.usage)
  }
  const want = Math.floor(S.backlogBytes / 1024)
  progress(`nats: writing a ${(S.backlogBytes / MiB).toFixed(0)} MiB backlog of 1 KiB records...`)
  const fill = await natsPublish(nats.port, 'backlog', PARTITIONS, 1024, S.consumeSeconds * 2, want)
  const m = await measured('nats: pull consumer of the backlog', pid, () => natsConsume(nats.port, 'backlog', fill.records, S.consumeSeconds))
  if (m) throughputRow({ system: 'NATS JetStream', client: 'NATS pipeliner (pull consumer)', workload: 'consume-backlog', recordBytes: 1024, durability: `${(fill.records * 1024 / MiB).toFixed(0)} MiB backlog` }, m.value.records, m.value.seconds, m.usage)
  await stopService(nats.service.child)
}

async function benchShareSection(work: string): Promise<void> {
  await benchShare(work, { records: S.shareRecords, rate: SHARE_RATE, latencySeconds: S.latencySeconds, warmupSeconds: S.latencyWarmupSeconds, baselineCli: flags['share-baseline'] }, { progress, skipped, stops, rows })
}

async function benchScaleSection(work: string): Promise<void> {
  const rdk = findRdkafkaPerformance()
  const settings = { ...SCALE, runSeconds: S.runSeconds, backlogBytes: S.backlogBytes, consumeSeconds: S.consumeSeconds, idleSeconds: 2 }
  report.scale = await benchScale(work, settings, { progress, skipped, stops, settleDisk, rdkafka: typeof rdk === 'string' ? rdk : undefined })
}

async function benchRebalanceSection(work: string): Promise<void> {
  report.rebalance = await benchRebalance(work, S.rebalanceSteadySeconds, { progress, skipped, stops })
}

const report: RunReport = {
  date: new Date().toISOString(),
  mode: QUICK ? 'quick' : 'full',
  host: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memGiB: os.totalmem() / 1024 ** 3,
    node: process.version,
    kernel: os.release(),
    load1: os.loadavg()[0]!,
  },
  settings: { ...S, partitions: PARTITIONS, fixedRatePerSec: RATE, shareRatePerSec: SHARE_RATE, wireConnections: WIRE.connections, wireDepth: WIRE.depth, wireBatchBytes: WIRE.batchBytes },
  ceilings: [],
  rows,
  skipped,
  ratios: [],
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'samsa-e2e-'))
  const cleanup = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {})
    rmSync(work, { recursive: true, force: true })
  }
  const onSignal = () => void cleanup().then(() => process.exit(130))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  progress(`${report.mode} mode; work directory ${work}; ${report.host.cpus} cores, load average ${report.host.load1.toFixed(2)}`)
  try {
    settleDisk()
    progress('ceiling: loopback TCP...')
    report.ceilings.push(await loopbackCeiling(S.loopbackSeconds, WIRE.connections))
    progress('ceiling: sequential disk writes...')
    // The page-cache figure stops at half the dirty-page threshold: past it, writes run at the device's pace.
    const pageCacheBytes = Math.min(S.diskMaxBytes, (dirtyBackgroundBytes() ?? 2 * S.diskMaxBytes) / 2)
    report.ceilings.push(diskCeiling(work, S.diskSeconds, pageCacheBytes, 1024 * 1024, false))
    report.ceilings.push(diskCeiling(work, S.diskSeconds, S.diskMaxBytes, 64 * 1024, true))
    report.ceilings.push(diskCeiling(work, S.diskSeconds, S.diskMaxBytes, 1024 * 1024, true))
    progress('ceiling: sustained disk writes, past the dirty-page threshold...')
    const sustained = sustainedDiskCeiling(work, S.diskSeconds, S.diskMaxBytes)
    if (sustained) report.ceilings.push(sustained)
    else skipped.push('disk write sustained, buffered: dirty-page threshold unknown or not enough free space')
    report.ceilings.push(await parallelSyncCeiling(work, S.diskSeconds, 4, 8 * 1024 * 1024))
    for (const c of report.ceilings) progress(`  ${c.name}: ${c.mibPerSec.toFixed(0)} MiB/s (${c.note})`)
    const sections = [
      ['samsa', 'Samsa', benchSamsa],
      ['compaction', 'Samsa compaction', benchCompaction],
      ['security', 'Samsa security', benchSecurity],
      ['rebalance', 'Samsa consumer groups', benchRebalanceSection],
      ['sendfile', 'Samsa sendfile', benchSendfile],
      ['share', 'Samsa share groups and RabbitMQ', benchShareSection],
      ['scale', 'Samsa scale curves', benchScaleSection],
      ['redis', 'Redis Streams', benchRedis],
      ['nats', 'NATS JetStream', benchNats],
    ] as const
    for (const [name, system, bench] of sections) {
      if (!only.has(name)) continue
      settleDisk()
      await guard(system, () => bench(work))
    }
  } finally {
    await cleanup()
  }
  ratios(report, LOGIN_CONCURRENCY)
  mkdirSync(outDir, { recursive: true })
  // A run of some parts only is named after them, so it does not stand in for a whole run.
  const stem = report.date.slice(0, 10) + (QUICK ? '-quick' : '') + (flags.only ? `-${[...only].join('-')}` : '')
  const files = writeReport(outDir, stem, report)
  for (const q of report.ratios) progress(`ratio: ${q.name} = ${q.value.toFixed(2)} (${q.detail})`)
  progress(`wrote ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`)
  // kafkajs and platformatic can leave sockets or timers behind after close.
  process.exit(0)
}

if (flags.render) {
  // Re-draws the markdown table and chart of an earlier run from its JSON, without measuring.
  const { readFileSync } = await import('node:fs')
  const file = path.resolve(flags.render)
  const files = writeReport(path.dirname(file), path.basename(file, '.json'), JSON.parse(readFileSync(file, 'utf8')) as RunReport)
  progress(`wrote ${files.join(', ')}`)
} else await main()
