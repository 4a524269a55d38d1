// Protocol-level load generator: pre-encoded Produce requests over several pipelined connections
// against a broker in its own process, then Fetch of everything written, each next to the loopback
// TCP ceiling measured in the same run.
//
//   node dist/bench/load/main.js [--seconds 5] [--connections 4] [--depth 8] [--only SIZE:ACKS] [--fetch no] [--out FILE]
//
// Each row also reports the broker's and the generator's CPU over the phase (% of one core), so a
// saturated generator shows up instead of passing for a slow broker. SAMSA_BENCH_PROF=DIR writes a
// CPU profile of the broker; SAMSA_BENCH_NODE_FLAGS passes flags to it (e.g. --trace-gc).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { CreateTopicsApi } from '../../protocol/generated/create-topics.js'
import { ProduceApi } from '../../protocol/generated/produce.js'
import { FetchApi, type FetchRequest } from '../../protocol/generated/fetch.js'
import { connect, frame } from './connection.js'
import { serveNodeFlags } from '../../cli/node-flags.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const args = new Map<string, string>()
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '')
const SECONDS = Number(args.get('seconds') ?? 5)
const CONNECTIONS = Number(args.get('connections') ?? 4)
const DEPTH = Number(args.get('depth') ?? 8)
const PARTITIONS = 16
const BATCH_BYTES = 64 * 1024

function startChild(script: string, extra: string[] = []): Promise<{ child: ChildProcess; host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const brokerFlags: string[] = []
    if (script === 'broker-child.js') {
      // SAMSA_BENCH_PROF=DIR writes a CPU profile of the broker; SAMSA_BENCH_NODE_FLAGS adds flags
      // such as --trace-gc.
      // The node flags `npm start` runs the broker with (cli/node-flags.ts).
      brokerFlags.push(...serveNodeFlags())
      if (process.env.SAMSA_BENCH_PROF) brokerFlags.push('--cpu-prof', '--cpu-prof-dir', process.env.SAMSA_BENCH_PROF)
      if (process.env.SAMSA_BENCH_NODE_FLAGS) brokerFlags.push(...process.env.SAMSA_BENCH_NODE_FLAGS.split(' ').filter(Boolean))
    }
    const child = spawn(process.execPath, [...brokerFlags, path.join(here, script), ...extra], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    let listening = false
    child.stdout!.on('data', (d: Buffer) => {
      // After its address line, whatever the child prints (warnings, --trace-gc) goes to stderr.
      if (listening) {
        process.stderr.write(d)
        return
      }
      out += d.toString()
      const m = /listening on (.+):(\d+)/.exec(out)
      if (m) {
        listening = true
        resolve({ child, host: m[1]!, port: Number(m[2]) })
      }
    })
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)))
  })
}

async function loopbackCeiling(): Promise<number> {
  const sink = await startChild('sink-child.js')
  const chunk = Buffer.alloc(256 * 1024, 7)
  const sockets = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => new Promise<net.Socket>((r) => {
      const s = net.connect(sink.port, sink.host, () => r(s))
    })),
  )
  let bytes = 0
  const end = Date.now() + SECONDS * 1000
  await Promise.all(
    sockets.map(async (s) => {
      while (Date.now() < end) {
        if (!s.write(chunk)) await new Promise((r) => s.once('drain', r))
        bytes += chunk.length
      }
      s.destroy()
    }),
  )
  sink.child.kill('SIGTERM')
  return bytes / SECONDS
}

interface Result {
  workload: string
  mbPerSec: number
  recordsPerSec: number
  ratioToLoopback: number
  /** CPU over the phase in % of one core: tells whether the broker or the generator is saturated. */
  brokerCpu: number
  generatorCpu: number
}

/** utime + stime of a process in ms, from /proc (Linux); NaN elsewhere. */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  } catch {
    return Number.NaN
  }
}

/** Runs a phase and measures the broker's and this process's CPU over it. */
async function measured<T>(brokerPid: number, phase: () => Promise<T>): Promise<{ value: T; brokerCpu: number; generatorCpu: number }> {
  const b0 = processCpuMs(brokerPid)
  const g0 = process.cpuUsage()
  const t0 = performance.now()
  const value = await phase()
  const wall = performance.now() - t0
  const g = process.cpuUsage(g0)
  return { value, brokerCpu: ((processCpuMs(brokerPid) - b0) / wall) * 100, generatorCpu: ((g.user + g.system) / 1000 / wall) * 100 }
}

async function produceLoad(host: string, port: number, topic: string, recordSize: number, acks: number) {
  const perBatch = Math.max(1, Math.floor(BATCH_BYTES / (recordSize + 10)))
  const value = Buffer.alloc(recordSize, 97)
  const frames = Array.from({ length: PARTITIONS }, (_, p) =>
    frame(ProduceApi, 9, {
      transactionalId: null,
      acks,
      timeoutMs: 30000,
      topicData: [{ name: topic, partitionData: [{ index: p, records: encodeBatch(Array.from({ length: perBatch }, () => ({ value }))) }] }],
    }),
  )
  const batchBytes = frames[0]!.length
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => connect(host, port)))
  let batches = 0
  const end = Date.now() + SECONDS * 1000
  const started = Date.now()
  await Promise.all(
    clients.flatMap((c, ci) =>
      Array.from({ length: DEPTH }, async (_, d) => {
        let i = ci * DEPTH + d
        while (Date.now() < end) {
          await c.sendFrame(frames[i++ % PARTITIONS]!)
          batches++
        }
      }),
    ),
  )
  const elapsed = (Date.now() - started) / 1000
  for (const c of clients) c.close()
  return { bytes: (batches * batchBytes) / elapsed, records: (batches * perBatch) / elapsed }
}

async function fetchLoad(host: string, port: number, topic: string) {
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => connect(host, port)))
  let bytes = 0
  const started = Date.now()
  const deadline = started + SECONDS * 4 * 1000
  await Promise.all(
    clients.map(async (c, ci) => {
      const mine = Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => p % CONNECTIONS === ci)
      const offsets = new Map(mine.map((p) => [p, 0]))
      while (Date.now() < deadline) {
        const req: FetchRequest = {
          clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 1,
          maxBytes: 8 * 1024 * 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: '', forgottenTopicsData: [],
          topics: [{ topic, topicId: '00000000-0000-0000-0000-000000000000', partitions: mine.map((p) => ({
            partition: p, currentLeaderEpoch: -1, fetchOffset: offsets.get(p)!, lastFetchedEpoch: -1, logStartOffset: -1,
            partitionMaxBytes: 2 * 1024 * 1024, replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
          })) }],
        }
        // The records are views of the client's receive buffer: walk them inside the callback.
        const got = await c.requestWith(FetchApi, 11, req, (res) => {
          let got = 0
          for (const t of res.responses) for (const p of t.partitions) {
            const rec = p.records
            if (!rec || rec.length === 0) continue
            got += rec.length
            // Advance past the last whole batch returned.
            let pos = 0
            let next = offsets.get(p.partitionIndex)!
            const view = Buffer.from(rec.buffer, rec.byteOffset, rec.length)
            while (pos + 61 <= view.length) {
              const len = view.readInt32BE(pos + 8)
              if (pos + 12 + len > view.length) break
              next = Number(view.readBigInt64BE(pos)) + view.readInt32BE(pos + 23) + 1
              pos += 12 + len
            }
            offsets.set(p.partitionIndex, next)
          }
          return got
        })
        bytes += got
        if (got === 0) break
      }
    }),
  )
  const elapsed = (Date.now() - started) / 1000
  for (const c of clients) c.close()
  return bytes / elapsed
}

async function main(): Promise<void> {
  const MB = 1024 * 1024
  console.error(`loopback ceiling (${CONNECTIONS} connections, ${SECONDS}s)...`)
  const ceiling = await loopbackCeiling()
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'samsa-load-'))
  const broker = await startChild('broker-child.js', [dataDir])
  const admin = await connect(broker.host, broker.port)
  const pid = broker.child.pid!
  const results: Result[] = []
  try {
    const only = args.get('only') // e.g. 100:1 or 1024:-1
    for (const [recordSize, acks] of [[1024, 1], [1024, -1], [100, 1], [100, -1]] as const) {
      if (only && only !== `${recordSize}:${acks}`) continue
      const topic = `load-${recordSize}-${acks === -1 ? 'all' : acks}`
      await admin.request(CreateTopicsApi, 7, {
        topics: [{ name: topic, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 10000,
        validateOnly: false,
      })
      console.error(`produce ${recordSize} B records, acks=${acks}...`)
      const m = await measured(pid, () => produceLoad(broker.host, broker.port, topic, recordSize, acks))
      const r = m.value
      results.push({
        workload: `produce ${recordSize} B, acks=${acks === -1 ? 'all' : acks}`,
        mbPerSec: r.bytes / MB,
        recordsPerSec: r.records,
        ratioToLoopback: r.bytes / ceiling,
        brokerCpu: m.brokerCpu,
        generatorCpu: m.generatorCpu,
      })
      if (recordSize === 1024 && acks === 1 && args.get('fetch') !== 'no') {
        console.error('fetch everything written...')
        const fm = await measured(pid, () => fetchLoad(broker.host, broker.port, topic))
        const f = fm.value
        results.push({
          workload: 'fetch (1 KiB records)',
          mbPerSec: f / MB,
          recordsPerSec: f / 1034,
          ratioToLoopback: f / ceiling,
          brokerCpu: fm.brokerCpu,
          generatorCpu: fm.generatorCpu,
        })
      }
    }
  } finally {
    admin.close()
    broker.child.kill('SIGTERM')
    await new Promise((r) => broker.child.once('exit', r))
    rmSync(dataDir, { recursive: true, force: true })
  }
  console.log(`loopback TCP ceiling: ${(ceiling / MB).toFixed(0)} MB/s (${CONNECTIONS} connections)`)
  console.log('| workload | MB/s | records/s | of loopback | broker CPU | generator CPU |')
  console.log('|---|---:|---:|---:|---:|---:|')
  for (const r of results) {
    console.log(
      `| ${r.workload} | ${r.mbPerSec.toFixed(0)} | ${Math.round(r.recordsPerSec).toLocaleString('en-US')} | ${(r.ratioToLoopback * 100).toFixed(0)}% | ${r.brokerCpu.toFixed(0)}% | ${r.generatorCpu.toFixed(0)}% |`,
    )
  }
  const out = args.get('out')
  if (out) writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), seconds: SECONDS, connections: CONNECTIONS, depth: DEPTH, loopbackBytesPerSec: ceiling, results }, null, 2))
}

await main()
