// Where produced batches are copied into the page cache: on the broker's event loop (a synchronous
// pwrite per append, as before writes could go to the pool: SAMSA_POOL_WRITE_MIN_BYTES=Infinity),
// on the libuv pool (one pwritev per partition in flight, everything queued behind it in the next:
// =0), and split by size (writes of 64 KiB or more on the pool, smaller ones on the loop). Three
// `samsa serve` children on one machine, driven in rotating rounds with the same loads so drift on
// a shared machine hits all alike; each run gets a fresh topic, deleted after it, and the kernel
// writes back its dirty pages (`sync`) before the next. Reported per side: median MiB/s, the
// broker's event-loop thread CPU (its main thread's user + system time over the run, from
// /proc/<pid>/task/<pid>/stat: the share of the run the loop was running, as event-loop
// utilization counts it, since a page-cache write is CPU time too) in % of one core and in CPU
// milliseconds per MiB produced, and the whole process's CPU per MiB; and the ratios to the loop
// side. On a machine shared with other work the rates follow how much CPU each broker gets; the
// CPU per MiB is the steadier figure.
//
//   npm run bench:produce-writes [-- --rounds 5 --seconds 3 --out bench/results/DATE-produce-writes.md]
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { loopbackCeiling } from './ceilings.js'
import { median } from './report.js'
import { cpuSeconds, stopService } from './procs.js'
import { findRdkafkaPerformance, rdkafkaProduce } from './rdkafka.js'
import { createTopic, deleteTopic, startSamsa, wireProduce, type SamsaServer, type WireLoad } from './samsa.js'

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    out: { type: 'string' },
    only: { type: 'string' },
  },
})
const ROUNDS = Number(flags.rounds)
const SECONDS = Number(flags.seconds)
const CLOCK_TICKS = 100

const SIDES = { loop: 'Infinity', pool: '0', split: '65536' } as const
type Side = keyof typeof SIDES
const ORDER: Side[] = ['loop', 'pool', 'split']

interface Load {
  name: string
  partitions: number
  recordBytes: number
  acks: number
  /** The wire generator's shape; rdkafka_performance when absent. */
  wire?: WireLoad
}

const WIRE: WireLoad = { connections: 4, depth: 8, batchBytes: 64 * 1024 }
const LOADS: Load[] = [
  { name: 'rdkafka_performance, 1 KiB, acks=1, 16 partitions', partitions: 16, recordBytes: 1024, acks: 1 },
  { name: 'rdkafka_performance, 1 KiB, acks=all, 16 partitions', partitions: 16, recordBytes: 1024, acks: -1 },
  { name: 'wire, 1 KiB in 64 KiB batches, acks=1, 16 partitions', partitions: 16, recordBytes: 1024, acks: 1, wire: WIRE },
  { name: 'wire, 1 KiB in 64 KiB batches, acks=all, 16 partitions', partitions: 16, recordBytes: 1024, acks: -1, wire: WIRE },
  { name: 'wire, 1 KiB in 64 KiB batches, acks=1, 1 partition', partitions: 1, recordBytes: 1024, acks: 1, wire: WIRE },
  // A fast producer's batches: rdkafka_performance lingers 5 ms, so at hundreds of MiB/s over 16
  // partitions each batch is a few hundred KiB.
  { name: 'wire, 1 KiB in 256 KiB batches, acks=1, 16 partitions', partitions: 16, recordBytes: 1024, acks: 1, wire: { connections: 4, depth: 4, batchBytes: 256 * 1024 } },
  { name: 'wire, 100 B in 1 KiB batches, acks=1, 16 partitions', partitions: 16, recordBytes: 100, acks: 1, wire: { connections: 4, depth: 8, batchBytes: 1024 } },
]

/** CPU seconds of one thread (the event loop is the main thread: tid = pid). */
function threadCpuSeconds(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

interface Run {
  records: number
  seconds: number
  /** Wall seconds from the first request to the end of the run's totals. */
  wall: number
  loopCpu: number
  processCpu: number
}

async function runOnce(server: SamsaServer, load: Load, topic: string, rdkafka: string | undefined): Promise<Run> {
  await createTopic(server, topic, load.partitions)
  const pid = server.service.pid
  const loop0 = threadCpuSeconds(pid, pid)
  const proc0 = cpuSeconds(pid)
  const t0 = performance.now()
  let records: number
  let seconds: number
  if (load.wire !== undefined) {
    const res = await wireProduce(server, topic, load.partitions, load.recordBytes, load.acks, SECONDS, load.wire)
    records = res.records
    seconds = res.seconds
  } else {
    const res = await rdkafkaProduce(rdkafka!, server.bootstrap, topic, load.recordBytes, load.acks, SECONDS)
    if (res.failed > 0) throw new Error(`${res.failed} deliveries failed`)
    records = res.delivered
    seconds = res.seconds
  }
  const wall = (performance.now() - t0) / 1000
  const run = { records, seconds, wall, loopCpu: (threadCpuSeconds(pid, pid) - loop0) / wall, processCpu: (cpuSeconds(pid) - proc0) / wall }
  await deleteTopic(server, topic)
  spawnSync('sync', { stdio: 'ignore' })
  return run
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`
}

async function main(): Promise<void> {
  const found = findRdkafkaPerformance()
  const rdkafka = typeof found === 'string' ? found : undefined
  const only = flags.only
  const loads = LOADS.filter((l) => (l.wire !== undefined || rdkafka !== undefined) && (only === undefined || l.name.includes(only)))
  const root = mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-writes-'))
  const servers = {} as Record<Side, SamsaServer>
  for (const side of ORDER) servers[side] = await startSamsa(path.join(root, side), [], {}, undefined, { ...process.env, SAMSA_POOL_WRITE_MIN_BYTES: SIDES[side] })
  const lines: string[] = []
  const startLoad = os.loadavg()[0]!
  let loopback = 0
  try {
    loopback = (await loopbackCeiling(SECONDS, 4)).mibPerSec
    process.stderr.write(`loopback ${Math.round(loopback)} MiB/s\n`)
    let n = 0
    for (const load of loads) {
      const runs: Record<Side, Run[]> = { loop: [], pool: [], split: [] }
      for (let r = 0; r < ROUNDS; r++) {
        // Rotate which side goes first, so none always runs right after another's writeback.
        for (let k = 0; k < ORDER.length; k++) {
          const side = ORDER[(r + k) % ORDER.length]!
          const run = await runOnce(servers[side], load, `writes-${n++}`, rdkafka)
          runs[side].push(run)
          process.stderr.write(`${load.name} round ${r + 1} ${side}: ${Math.round(run.records / run.seconds)} records/s, loop ${pct(run.loopCpu)}, process ${pct(run.processCpu)}\n`)
        }
      }
      const rate = (s: Side) => median(runs[s].map((x) => x.records / x.seconds))
      const mib = (s: Side) => (rate(s) * load.recordBytes) / (1 << 20)
      const mibOf = (x: Run) => (x.records * load.recordBytes) / (1 << 20)
      const loopCpu = (s: Side) => median(runs[s].map((x) => x.loopCpu))
      // CPU over the run's wall time, times that time, per MiB: milliseconds of CPU per MiB.
      const loopMsPerMiB = (s: Side) => median(runs[s].map((x) => (x.loopCpu * x.wall * 1000) / mibOf(x)))
      const procMsPerMiB = (s: Side) => median(runs[s].map((x) => (x.processCpu * x.wall * 1000) / mibOf(x)))
      const each = (f: (s: Side) => string) => ORDER.map(f).join(' / ')
      const num = (x: number) => (x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(1))
      lines.push(
        `| ${load.name} | ${each((s) => num(mib(s)))} | **${(rate('pool') / rate('loop')).toFixed(2)}** / ${(rate('split') / rate('loop')).toFixed(2)} | ${each((s) => (mib(s) / loopback).toFixed(2))} | ${each((s) => pct(loopCpu(s)))} | ${each((s) => num(loopMsPerMiB(s)))} | **${(loopMsPerMiB('pool') / loopMsPerMiB('loop')).toFixed(2)}** | ${each((s) => num(procMsPerMiB(s)))} |`,
      )
    }
  } finally {
    for (const side of ORDER) await stopService(servers[side].service.child)
    rmSync(root, { recursive: true, force: true })
  }
  const text = [
    `Produce writes on the event loop (loop), on the libuv pool (pool), and split by size (64 KiB or more on the pool): median of ${ROUNDS} rotating rounds of ${SECONDS} s; ${os.cpus().length} cores, load average ${startLoad.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end; loopback TCP ceiling ${Math.round(loopback).toLocaleString('en')} MiB/s.`,
    '',
    '| load | MiB/s, loop / pool / split | rate pool / loop, split / loop | share of loopback, loop / pool / split | event-loop thread CPU, loop / pool / split | event-loop CPU ms per MiB, loop / pool / split | loop CPU per MiB, pool / loop | broker CPU ms per MiB, loop / pool / split |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...lines,
    '',
  ].join('\n')
  process.stdout.write(text)
  if (flags.out !== undefined) writeFileSync(flags.out, text)
}

await main()
