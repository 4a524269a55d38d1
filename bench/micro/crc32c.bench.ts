// CRC-32C throughput on 1 MiB: the native (SSE4.2 / ARMv8 CRC) library against the JS table
// implementation, in one run so the ratio is comparable.
//   npm run build && node dist/bench/micro/crc32c.bench.js
import { randomBytes } from 'node:crypto'
import { Bench } from 'tinybench'
import { crc32c, crc32cIsNative, crc32cTable } from '../../protocol/crc32c.js'

const SIZE = 1 << 20
const data = randomBytes(SIZE)
let sink = 0

const bench = new Bench({ name: 'crc32c 1 MiB', time: 1000 })
bench
  .add('native (@node-rs/crc32)', () => {
    sink ^= crc32c(data)
  })
  .add('table (slicing-by-8 JS)', () => {
    sink ^= crc32cTable(data)
  })

await bench.run()

const mibPerSec: number[] = []
for (const task of bench.tasks) {
  const r = task.result
  if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`)
  const rate = SIZE / (1 << 20) / (r.period / 1000)
  mibPerSec.push(rate)
  console.log(`${task.name.padEnd(26)} ${rate.toFixed(0).padStart(7)} MiB/s  (${(r.period * 1000).toFixed(1)} us per MiB)`)
}
console.log(`native/table ratio: ${(mibPerSec[0]! / mibPerSec[1]!).toFixed(1)}x  (native loaded: ${crc32cIsNative}, sink ${sink & 1})`)
