// Child process: consumes the fixed-rate records and records end-to-end latency against the epoch
// stamps the producer process wrote. Prints {"ready":true} once positioned; after the harness
// writes {"acked":N} to stdin, waits for N records (or the drain time) and prints one JSON line
// (ConsumerReport).
//
//   node rate-consumer.js '<SplitArgs JSON>'
import { epochNow, histogram, loopDelayMonitor, percentiles, toUs, type ConsumerReport, type SplitArgs } from './fixed-rate.js'
import { openRateTarget } from './rate-targets.js'

const args = JSON.parse(process.argv[2]!) as SplitArgs
const target = await openRateTarget(args.spec)
const e2e = histogram()
let received = 0
await target.subscribe((stamp) => {
  if (stamp < 0) return // warm-up
  received++
  e2e.recordValue(toUs(epochNow() - stamp))
})
const loop = loopDelayMonitor()
process.stdout.write('{"ready":true}\n')

let input = ''
const acked = await new Promise<number>((resolve, reject) => {
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (d: string) => {
    input += d
    const nl = input.indexOf('\n')
    if (nl >= 0) resolve((JSON.parse(input.slice(0, nl)) as { acked: number }).acked)
  })
  // The harness going away without a word means the run was abandoned.
  process.stdin.once('end', () => reject(new Error('stdin closed before the acknowledged count arrived')))
})
const drainEnd = performance.now() + args.drainMs
while (received < acked && performance.now() < drainEnd) await new Promise((r) => setTimeout(r, 5))
const report: ConsumerReport = { received, e2eMs: percentiles(e2e), loopDelayP99Ms: loop.stopP99Ms() }
await target.close()
process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(0))
