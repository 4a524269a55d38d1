// Child process: publishes at a fixed rate, stamping records with epoch milliseconds, and prints one
// JSON line (ProducerReport) with its publish latency and its own event-loop delay.
//
//   node rate-producer.js '<SplitArgs JSON>'
import { epochNow, loopDelayMonitor, publishAtRate, type ProducerReport, type SplitArgs } from './fixed-rate.js'
import { openRateTarget } from './rate-targets.js'

const args = JSON.parse(process.argv[2]!) as SplitArgs
const target = await openRateTarget(args.spec)
const loop = loopDelayMonitor()
const result = await publishAtRate(target, args.ratePerSec, args.seconds, args.drainMs, epochNow, undefined, args.warmupSeconds)
const report: ProducerReport = { ...result, loopDelayP99Ms: loop.stopP99Ms() }
await target.close()
process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(0))
