// Scale curves: what one broker costs, and what it delivers, as partitions, connections and
// producers grow. Every broker here is a `samsa serve` child of its own, so the RSS read from
// /proc/<pid>/status is the broker's alone.
//
// - Partitions (1, 100, 1,000, and 10,000 idle): a fresh broker per count. Idle RSS, descriptors
//   and CPU before and after creating one topic of that many partitions; produce-1k acks=1 into it
//   (wire generator, capped at the run's backlog size) and a fetch of what was written, from offset
//   0 (up to 1,000 partitions); then a clean stop and a restart on the same directory: time to
//   stop, time to "listening on" and idle RSS with the partitions loaded from disk.
// - Connections (1, 100, 1,000): one broker; idle RSS and descriptors with that many open
//   connections (each has sent one ApiVersions), then produce-1k acks=1 over that many connections,
//   one request in flight on each.
// - Producers (1, 4, 16): rdkafka_performance processes producing 1 KiB acks=1 at the same time into
//   one 16-partition topic; records/s added up over the processes.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { ApiVersionsApi } from '../../protocol/generated/api-versions.js'
import { connect } from '../load/connection.js'
import { ProcSampler, rssMiB, sleep, stopService, type ResourceUsage } from './procs.js'
import { rdkafkaProduce } from './rdkafka.js'
import { MiB, type ScalePoint, type ScaleReport } from './results.js'
import { createTopic, deleteTopic, startSamsa, wireFetch, wireProduce, type SamsaServer, type WireLoad } from './samsa.js'

export interface ScaleSettings {
  partitionCounts: readonly number[]
  /** Counts above this are measured idle only (creation, RSS, restart). */
  maxLoadedPartitions: number
  connectionCounts: readonly number[]
  producerCounts: readonly number[]
  runSeconds: number
  /** The produce runs stop once this much is written, so the fetch after them reads a bounded backlog. */
  backlogBytes: number
  consumeSeconds: number
  /** How long idle figures are sampled. */
  idleSeconds: number
}

export interface ScaleContext {
  progress: (msg: string) => void
  skipped: string[]
  stops: Array<() => Promise<void>>
  settleDisk: () => void
  /** rdkafka_performance's path, or undefined when it is missing (the producer curve is then skipped). */
  rdkafka: string | undefined
}

const WIRE: WireLoad = { connections: 4, depth: 8, batchBytes: 64 * 1024 }
/** Enough for the largest idle count; the broker's default (4,000) would refuse 10,000. */
const SETTINGS = { 'max.broker.partitions': '20000' }
const STOP_GRACE_MS = 120_000

/** Open file descriptors of `pid` (sockets, segment files, the metadata store, pipes). */
function descriptors(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return 0
  }
}

/** RSS and CPU of an idle broker, sampled for `seconds` after a second's settling. */
async function idle(pid: number, seconds: number): Promise<{ rssMiB: number; cpuPct: number; fds: number }> {
  await sleep(1000)
  const sampler = new ProcSampler(pid).start()
  await sleep(seconds * 1000)
  const u = sampler.stop()
  return { rssMiB: u.rssEndMiB, cpuPct: u.cpuPct, fds: descriptors(pid) }
}

async function sampled<T>(pid: number, f: () => Promise<T>): Promise<{ value: T; usage: ResourceUsage }> {
  const sampler = new ProcSampler(pid).start()
  try {
    return { value: await f(), usage: sampler.stop() }
  } catch (err) {
    sampler.stop()
    throw err
  }
}

export async function benchScale(work: string, s: ScaleSettings, ctx: ScaleContext): Promise<ScaleReport> {
  const report: ScaleReport = { points: [] }
  for (const n of s.partitionCounts) {
    ctx.settleDisk()
    report.points.push(await partitionsPoint(work, n, s, ctx))
  }
  ctx.settleDisk()
  report.points.push(...(await connectionPoints(work, s, ctx)))
  ctx.settleDisk()
  report.points.push(...(await producerPoints(work, s, ctx)))
  return report
}

async function partitionsPoint(work: string, n: number, s: ScaleSettings, ctx: ScaleContext): Promise<ScalePoint> {
  const dir = mkdtempSync(path.join(work, `scale-p${n}-`))
  let samsa = await startSamsa(dir, [], SETTINGS)
  ctx.stops.push(() => stopService(samsa.service.child))
  const point: ScalePoint = { axis: 'partitions', n }
  try {
    const base = await idle(samsa.service.pid, s.idleSeconds)
    point.baseRssMiB = base.rssMiB
    point.baseFds = base.fds
    ctx.progress(`scale: ${n.toLocaleString('en-US')} partitions: creating the topic...`)
    const t = performance.now()
    await createTopic(samsa, 'scale', n)
    point.createMs = performance.now() - t
    const after = await idle(samsa.service.pid, s.idleSeconds)
    Object.assign(point, { idleRssMiB: after.rssMiB, idleCpuPct: after.cpuPct, fds: after.fds })
    ctx.progress(`  created in ${point.createMs.toFixed(0)} ms; idle RSS ${base.rssMiB.toFixed(1)} -> ${after.rssMiB.toFixed(1)} MiB, descriptors ${base.fds} -> ${after.fds}, idle CPU ${after.cpuPct.toFixed(1)}%`)
    if (n <= s.maxLoadedPartitions) {
      const maxRecords = Math.floor(s.backlogBytes / 1024)
      const p = await sampled(samsa.service.pid, () => wireProduce(samsa, 'scale', n, 1024, 1, s.runSeconds, WIRE, maxRecords))
      point.produce = { records: p.value.records, seconds: p.value.seconds, server: p.usage }
      ctx.progress(`  produce-1k acks=1: ${mibps(p.value.records, p.value.seconds)} MiB/s, server CPU ${p.usage.cpuPct.toFixed(0)}%, RSS max ${p.usage.rssMaxMiB.toFixed(0)} MiB`)
      ctx.settleDisk()
      const f = await sampled(samsa.service.pid, () => wireFetch(samsa, 'scale', n, WIRE.connections, s.consumeSeconds, Infinity))
      point.fetch = { records: f.value.records, seconds: f.value.seconds, server: f.usage }
      ctx.progress(`  fetch of the ${(p.value.records / 1024).toFixed(0)} MiB written: ${mibps(f.value.records, f.value.seconds)} MiB/s, server CPU ${f.usage.cpuPct.toFixed(0)}%, RSS max ${f.usage.rssMaxMiB.toFixed(0)} MiB`)
      point.loadedRssMiB = rssMiB(samsa.service.pid)
    }
    // A clean stop closes every partition (indexes trimmed, a producer-state snapshot each); a
    // killed broker would make the restart below a recovery, which is not what it measures.
    const stopping = performance.now()
    await stopService(samsa.service.child, STOP_GRACE_MS)
    point.stopMs = performance.now() - stopping
    if (samsa.service.child.signalCode === 'SIGKILL') point.note = `not stopped within ${STOP_GRACE_MS / 1000} s: killed, so the restart recovered the log`
    samsa = await startSamsa(dir, [], SETTINGS)
    point.restartMs = samsa.service.startMs
    const restarted = await idle(samsa.service.pid, s.idleSeconds)
    point.restartRssMiB = restarted.rssMiB
    ctx.progress(`  stop ${point.stopMs.toFixed(0)} ms; restart to listening ${point.restartMs.toFixed(0)} ms; idle RSS ${restarted.rssMiB.toFixed(1)} MiB`)
  } finally {
    await stopService(samsa.service.child, STOP_GRACE_MS)
    rmSync(dir, { recursive: true, force: true })
  }
  return point
}

async function connectionPoints(work: string, s: ScaleSettings, ctx: ScaleContext): Promise<ScalePoint[]> {
  const samsa = await startSamsa(mkdtempSync(path.join(work, 'scale-c-')), [], SETTINGS)
  ctx.stops.push(() => stopService(samsa.service.child))
  const pid = samsa.service.pid
  const points: ScalePoint[] = []
  try {
    await createTopic(samsa, 'warm', 16)
    // One short run first, so the first point does not pay the JIT's warm-up.
    await wireProduce(samsa, 'warm', 16, 1024, 1, 1, WIRE, Math.floor(64 * MiB / 1024))
    await deleteTopic(samsa, 'warm')
    for (const n of s.connectionCounts) {
      const base = await idle(pid, s.idleSeconds)
      const open = await openConnections(samsa, n)
      const held = await idle(pid, s.idleSeconds)
      for (const c of open) c.close()
      const point: ScalePoint = { axis: 'connections', n, baseRssMiB: base.rssMiB, baseFds: base.fds, idleRssMiB: held.rssMiB, idleCpuPct: held.cpuPct, fds: held.fds }
      ctx.progress(`scale: ${n.toLocaleString('en-US')} idle connections: RSS ${base.rssMiB.toFixed(1)} -> ${held.rssMiB.toFixed(1)} MiB, descriptors ${base.fds} -> ${held.fds}`)
      const topic = `c${n}`
      await createTopic(samsa, topic, 16)
      const p = await sampled(pid, () => wireProduce(samsa, topic, 16, 1024, 1, s.runSeconds, { connections: n, depth: 1, batchBytes: 64 * 1024 }))
      point.produce = { records: p.value.records, seconds: p.value.seconds, server: p.usage }
      ctx.progress(`  produce-1k acks=1 over ${n} connections, one 64 KiB request in flight on each: ${mibps(p.value.records, p.value.seconds)} MiB/s, server CPU ${p.usage.cpuPct.toFixed(0)}%, RSS max ${p.usage.rssMaxMiB.toFixed(0)} MiB`)
      await deleteTopic(samsa, topic)
      ctx.settleDisk()
      points.push(point)
    }
  } finally {
    await stopService(samsa.service.child)
  }
  return points
}

/** Opens `n` connections, each answered one ApiVersions, a few dozen at a time. */
async function openConnections(s: SamsaServer, n: number): Promise<Array<{ close(): void }>> {
  const open: Array<{ close(): void }> = []
  try {
    for (let i = 0; i < n; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => connect(s.host, s.port)))
      open.push(...batch)
      await Promise.all(batch.map((c) => c.request(ApiVersionsApi, 3, { clientSoftwareName: 'samsa-bench', clientSoftwareVersion: '0' })))
    }
    return open
  } catch (err) {
    for (const c of open) c.close()
    throw err
  }
}

async function producerPoints(work: string, s: ScaleSettings, ctx: ScaleContext): Promise<ScalePoint[]> {
  const rdk = ctx.rdkafka
  if (rdk === undefined) {
    ctx.skipped.push('scale, producers: rdkafka_performance not found')
    return []
  }
  const samsa = await startSamsa(mkdtempSync(path.join(work, 'scale-prod-')), [], SETTINGS)
  ctx.stops.push(() => stopService(samsa.service.child))
  const pid = samsa.service.pid
  const points: ScalePoint[] = []
  try {
    for (const n of s.producerCounts) {
      const topic = `producers-${n}`
      await createTopic(samsa, topic, 16)
      const p = await sampled(pid, () => Promise.all(Array.from({ length: n }, () => rdkafkaProduce(rdk, samsa.bootstrap, topic, 1024, 1, s.runSeconds))))
      const records = p.value.reduce((a, r) => a + r.delivered, 0)
      const seconds = Math.max(...p.value.map((r) => r.seconds))
      const failed = p.value.reduce((a, r) => a + r.failed, 0)
      points.push({ axis: 'producers', n, produce: { records, seconds, server: p.usage }, note: failed > 0 ? `${failed} failed` : undefined })
      ctx.progress(`scale: ${n} rdkafka_performance producers at once: ${mibps(records, seconds)} MiB/s, server CPU ${p.usage.cpuPct.toFixed(0)}%, RSS max ${p.usage.rssMaxMiB.toFixed(0)} MiB`)
      await deleteTopic(samsa, topic)
      ctx.settleDisk()
    }
  } finally {
    await stopService(samsa.service.child)
  }
  return points
}

const mibps = (records: number, seconds: number) => (seconds > 0 ? (records * 1024) / MiB / seconds : 0).toFixed(0)
