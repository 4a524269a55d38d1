// What one append costs the event loop when its write is a synchronous pwrite on the loop
// (poolWriteMinBytes Infinity) and when it is a pwritev on the libuv pool (0), for batches of
// 1 KiB to 1 MiB, in the same run: the loop thread's CPU time (user + system, from
// /proc/self/task/<pid>/stat) per append, and the wall time. Appends are awaited one at a time
// ("1 in flight"), and 16 at a time ("16 in flight"), where the pool side writes what queued
// behind the write in flight as one. Each case starts after a `sync`, the two sides in turns
// first. Up to 256 MiB (or the given size) per case, at most 40,000
// appends. Linux only (reads /proc).
//   npm run build && node dist/bench/micro/append-write.bench.js [MiB per case]
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { resolveLogConfig } from '../../storage/log-config.js'
import { PartitionLog } from '../../storage/partition-log.js'

const TOTAL = Number(process.argv[2] ?? 256) * (1 << 20)
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-append-write-bench-'))
const CLOCK_TICKS = 100

function loopCpuSeconds(): number {
  const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

function makeBatches(bytes: number, n: number): Buffer[] {
  const value = Buffer.alloc(Math.min(1024, bytes - 80), 7)
  const count = Math.max(1, Math.floor(bytes / (value.length + 16)))
  // Each append in flight needs bytes of its own: the log patches offsets into them.
  return Array.from({ length: n }, () => encodeBatch(Array.from({ length: count }, () => ({ key: null, value, headers: [], timestamp: Date.now() }))))
}

async function run(poolWriteMinBytes: number, batchBytes: number, inFlight: number): Promise<{ cpuUs: number; wallUs: number }> {
  const dir = path.join(root, `log-${poolWriteMinBytes}-${batchBytes}-${inFlight}`)
  const log = PartitionLog.open({ dir, topic: 'bench', partition: 0, config: resolveLogConfig({}, { 'segment.bytes': String(1 << 30) }), poolWriteMinBytes })
  const batches = makeBatches(batchBytes, inFlight)
  // The kernel writes back what the case before dirtied first, so it does not throttle this one.
  spawnSync('sync', { stdio: 'ignore' })
  // Small batches are capped by count, so a case takes seconds rather than minutes.
  const appends = Math.max(inFlight, Math.min(40_000, Math.floor(TOTAL / batches[0]!.length)))
  const cpu0 = loopCpuSeconds()
  const t0 = performance.now()
  let started = 0
  await Promise.all(
    batches.map(async (b) => {
      while (started < appends) {
        started++
        await log.append(b)
      }
    }),
  )
  const wallUs = ((performance.now() - t0) * 1000) / appends
  const cpuUs = ((loopCpuSeconds() - cpu0) * 1e6) / appends
  await log.close()
  fs.rmSync(dir, { recursive: true, force: true })
  return { cpuUs, wallUs }
}

try {
  const rows: string[] = []
  for (const inFlight of [1, 16]) {
    for (const kib of [1, 16, 64, 256, 1024]) {
      // Alternate which goes first.
      const first = kib % 2 === 0 ? 'loop' : 'pool'
      const a = await run(first === 'loop' ? Infinity : 0, kib * 1024, inFlight)
      const b = await run(first === 'loop' ? 0 : Infinity, kib * 1024, inFlight)
      const [loop, pool] = first === 'loop' ? [a, b] : [b, a]
      rows.push(
        `| ${kib} KiB | ${inFlight} | ${loop.cpuUs.toFixed(1)} | ${pool.cpuUs.toFixed(1)} | ${(pool.cpuUs / loop.cpuUs).toFixed(2)} | ${loop.wallUs.toFixed(1)} | ${pool.wallUs.toFixed(1)} |`,
      )
    }
  }
  process.stdout.write(
    [
      `Event-loop CPU per append, loop writes vs pool writes (${TOTAL / (1 << 20)} MiB per case, ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)})`,
      '',
      '| batch | in flight | loop: loop CPU us | pool: loop CPU us | pool / loop | loop: wall us | pool: wall us |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
    ].join('\n'),
  )
} finally {
  fs.rmSync(root, { recursive: true, force: true })
}
