// Record iteration over one batch of 1000 records with 100-byte values, uncompressed and lz4.
// The lz4 figure includes decompressing the records section, as a consumer-side decode would.
//   npm run build && node dist/bench/micro/records.bench.js
import { randomBytes } from 'node:crypto'
import { Bench } from 'tinybench'
import { Compression, scanBatches } from '../../protocol/record-batch.js'
import { encodeBatch, type RecordInput } from '../../protocol/record-batch-builder.js'
import { iterateRecords } from '../../protocol/record-reader.js'

const COUNT = 1000
const now = Date.now()
// half random, half repeated, so lz4 has something to do without being degenerate
const records: RecordInput[] = Array.from({ length: COUNT }, (_, i) => ({
  key: `key-${i}`,
  value: Buffer.concat([randomBytes(50), Buffer.alloc(50, i & 0xff)]),
  timestamp: now + i,
}))
const plain = encodeBatch(records)
const lz4 = encodeBatch(records, { compression: Compression.Lz4 })

let sink = 0
function walk(batch: Buffer): void {
  for (const r of iterateRecords(batch)) sink += r.value!.length
}

const bench = new Bench({ name: 'record iteration', time: 1000 })
bench
  .add('iterate uncompressed', () => walk(plain))
  .add('iterate lz4', () => walk(lz4))
  .add('encodeBatch uncompressed', () => {
    sink += encodeBatch(records).length
  })
  .add('encodeBatch lz4', () => {
    sink += encodeBatch(records, { compression: Compression.Lz4 }).length
  })
  .add('scanBatches (header + CRC)', () => {
    sink += scanBatches(plain).ok ? 1 : 0
  })

await bench.run()

console.log(`batch: ${COUNT} records, ${plain.length} bytes uncompressed, ${lz4.length} bytes lz4`)
for (const task of bench.tasks) {
  const r = task.result
  if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`)
  const batchesPerSec = 1000 / r.period
  console.log(
    `${task.name.padEnd(28)} ${(batchesPerSec * COUNT / 1e6).toFixed(2).padStart(6)} M records/s  ` +
      `(${(r.period * 1000).toFixed(1)} us per batch)`,
  )
}
console.log(`sink ${sink & 1}`)
