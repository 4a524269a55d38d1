// Produce validation of one batch of 100 records with 1 KiB values: the full check the log's
// validator makes (framing, CRC, client rules, every record walked, compressed batches inflated
// first) next to the header + CRC check produce made before it (scanBatches), in one run. For the
// compressed batches, inflating the records alone is measured too, to show what the codec costs.
//   npm run build && node dist/bench/micro/produce-validation.bench.js
import { randomBytes } from 'node:crypto'
import { Bench } from 'tinybench'
import { decompress } from '../../protocol/compression.js'
import { BATCH_HEADER_SIZE, Compression, compressionOf, readAttributes, scanBatches } from '../../protocol/record-batch.js'
import { encodeBatch, type RecordInput } from '../../protocol/record-batch-builder.js'
import { DEFAULT_LOG_CONFIG } from '../../storage/log-config.js'
import { validateRecords } from '../../storage/log-validator.js'

const COUNT = 100
const VALUE_SIZE = 1024
const now = Date.now()
// half random, half repeated, so the codecs have something to do without being degenerate
const records: RecordInput[] = Array.from({ length: COUNT }, (_, i) => ({
  key: `key-${i}`,
  value: Buffer.concat([randomBytes(VALUE_SIZE / 2), Buffer.alloc(VALUE_SIZE / 2, i & 0xff)]),
  timestamp: now + i,
}))
const batches = [
  ['uncompressed', encodeBatch(records)],
  ['lz4', encodeBatch(records, { compression: Compression.Lz4 })],
  ['zstd', encodeBatch(records, { compression: Compression.Zstd })],
] as const

let sink = 0
const bench = new Bench({ name: 'produce validation', time: 1500 })
for (const [name, batch] of batches) {
  bench.add(`${name}: header + CRC`, () => {
    sink += scanBatches(batch).ok ? 1 : 0
  })
  bench.add(`${name}: full validation`, () => {
    sink += validateRecords(batch, DEFAULT_LOG_CONFIG, { now }).ok ? 1 : 0
  })
  const codec = compressionOf(readAttributes(batch))
  if (codec !== Compression.None) {
    bench.add(`${name}: inflate only`, () => {
      sink += decompress(codec, batch.subarray(BATCH_HEADER_SIZE)).length
    })
  }
}

await bench.run()

console.log(`batch: ${COUNT} records of ${VALUE_SIZE} B; ${batches.map(([n, b]) => `${n} ${b.length} B`).join(', ')}`)
const periods = new Map<string, number>()
for (const task of bench.tasks) {
  const r = task.result
  if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`)
  periods.set(task.name, r.period)
  const perSec = 1000 / r.period
  console.log(
    `${task.name.padEnd(30)} ${((perSec * COUNT) / 1e6).toFixed(2).padStart(7)} M records/s  ` +
      `${((perSec * COUNT * VALUE_SIZE) / 2 ** 20).toFixed(0).padStart(6)} MiB/s  (${(r.period * 1000).toFixed(1)} us per batch)`,
  )
}
for (const [name] of batches) {
  const ratio = periods.get(`${name}: full validation`)! / periods.get(`${name}: header + CRC`)!
  console.log(`${name}: full validation takes ${ratio.toFixed(2)}x the time of header + CRC`)
}
console.log(`sink ${sink & 1}`)
