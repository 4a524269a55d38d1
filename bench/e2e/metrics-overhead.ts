// What the metrics cost: produce throughput of a broker with the HTTP endpoint on (counters and
// request histograms updated on every request, /metrics scraped every second) next to one
// without, both `samsa serve` children on one machine, measured in alternating rounds of the same
// load so drift on a shared machine hits both alike. Two loads: 1 KiB records in 64 KiB batches
// (bytes-bound), and 100 B records in 1 KiB batches (request-bound: the per-request hooks matter
// most there). Reports each side's median records/s and the ratio on/off.
//
//   npm run bench:metrics [-- --rounds 5 --seconds 3]
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { median } from './report.js'
import { freePort, stopService } from './procs.js'
import { createTopic, startSamsa, wireProduce, type SamsaServer } from './samsa.js'

const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '3' } } })
const ROUNDS = Number(flags.rounds)
const SECONDS = Number(flags.seconds)
const PARTITIONS = 16

const LOADS = [
  { name: '1 KiB records, 64 KiB batches, acks=1', recordBytes: 1024, acks: 1, load: { connections: 4, depth: 8, batchBytes: 64 * 1024 } },
  { name: '100 B records, 1 KiB batches, acks=1', recordBytes: 100, acks: 1, load: { connections: 4, depth: 8, batchBytes: 1024 } },
]

/** Scrapes /metrics every second until stopped; returns how many scrapes succeeded. */
function scraper(url: string): { stop(): Promise<number> } {
  let scrapes = 0
  let running = true
  const loop = (async () => {
    while (running) {
      const res = await fetch(url)
      await res.text()
      if (res.ok) scrapes++
      await new Promise((r) => setTimeout(r, 1000))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return scrapes
    },
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-metrics-'))
  const httpPort = await freePort()
  const off = await startSamsa(path.join(root, 'off'))
  const on = await startSamsa(path.join(root, 'on'), ['--http-port', String(httpPort)])
  const metricsUrl = `http://127.0.0.1:${httpPort}/metrics`
  const results: string[] = []
  try {
    for (const [i, w] of LOADS.entries()) {
      const topic = `metrics-overhead-${i}`
      await createTopic(off, topic, PARTITIONS)
      await createTopic(on, topic, PARTITIONS)
      const rates: Record<'off' | 'on', number[]> = { off: [], on: [] }
      let scrapes = 0
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate which side goes first, so neither always runs on a warmer page cache.
        const order: Array<['off' | 'on', SamsaServer]> = r % 2 === 0 ? [['off', off], ['on', on]] : [['on', on], ['off', off]]
        for (const [side, server] of order) {
          const s = side === 'on' ? scraper(metricsUrl) : undefined
          const res = await wireProduce(server, topic, PARTITIONS, w.recordBytes, w.acks, SECONDS, w.load)
          if (s !== undefined) scrapes += await s.stop()
          rates[side].push(res.records / res.seconds)
          process.stderr.write(`${w.name} round ${r + 1} ${side}: ${Math.round(res.records / res.seconds)} records/s\n`)
        }
      }
      const offRate = median(rates.off)
      const onRate = median(rates.on)
      results.push(`| ${w.name} | ${Math.round(offRate).toLocaleString('en')} | ${Math.round(onRate).toLocaleString('en')} | ${(onRate / offRate).toFixed(3)} | ${scrapes} |`)
    }
  } finally {
    await stopService(off.service.child)
    await stopService(on.service.child)
    rmSync(root, { recursive: true, force: true })
  }
  process.stdout.write(
    [
      `Produce throughput, metrics off vs on (median of ${ROUNDS} alternating rounds of ${SECONDS} s, ${PARTITIONS} partitions, ${os.cpus().length} cores)`,
      '',
      '| load | off records/s | on records/s | on/off | scrapes |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...results,
      '',
    ].join('\n'),
  )
}

await main()
