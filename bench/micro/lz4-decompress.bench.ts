// LZ4 frame decompression, the codec cost of validating an lz4 batch on produce: lz4-napi's
// native frame decoder next to protocol/lz4-frame.ts (what decompress() uses), in one run, on
// the records sections of three batches of 1 KiB records (half random, half repeated): about
// 16 KiB, 100 KiB and 1 MiB. zstd's decompress() is measured on the same sections for scale.
// Medians per call next to means: on a shared machine the mean also measures preemption and GC.
//   npm run build && node dist/bench/micro/lz4-decompress.bench.js
import { randomBytes } from 'node:crypto'
import { decompressFrameSync } from 'lz4-napi'
import { Bench } from 'tinybench'
import { Codec, compress, decompress } from '../../protocol/compression.js'
import { BATCH_HEADER_SIZE } from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'

const VALUE_SIZE = 1024
const now = Date.now()

function recordsSection(count: number): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({
    key: `key-${i}`,
    value: Buffer.concat([randomBytes(VALUE_SIZE / 2), Buffer.alloc(VALUE_SIZE / 2, i & 0xff)]),
    timestamp: now + i,
  }))
  return encodeBatch(records).subarray(BATCH_HEADER_SIZE)
}

const sizes = [
  ['16 records', recordsSection(16)],
  ['100 records', recordsSection(100)],
  ['1024 records', recordsSection(1024)],
] as const

let sink = 0
const bench = new Bench({ name: 'lz4 decompression', time: 1500 })
for (const [name, plain] of sizes) {
  const lz4 = compress(Codec.Lz4, plain)
  const zstd = compress(Codec.Zstd, plain)
  if (Buffer.compare(decompress(Codec.Lz4, lz4), plain) !== 0) throw new Error('lz4-frame.ts disagrees')
  if (Buffer.compare(decompressFrameSync(lz4), plain) !== 0) throw new Error('lz4-napi disagrees')
  console.log(`${name}: ${plain.length} B, lz4 ${lz4.length} B (block size id ${(lz4[5]! >> 4) & 7}), zstd ${zstd.length} B`)
  bench.add(`${name}: lz4-napi`, () => {
    sink += decompressFrameSync(lz4).length
  })
  bench.add(`${name}: lz4-frame.ts`, () => {
    sink += decompress(Codec.Lz4, lz4).length
  })
  bench.add(`${name}: zstd`, () => {
    sink += decompress(Codec.Zstd, zstd).length
  })
}

await bench.run()

const medians = new Map<string, number>()
const means = new Map<string, number>()
for (const task of bench.tasks) {
  const r = task.result
  if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`)
  medians.set(task.name, r.latency.p50)
  means.set(task.name, r.period)
}
console.log(`${''.padEnd(28)} ${'median'.padStart(10)} ${'MiB/s'.padStart(7)} ${'mean'.padStart(10)}`)
for (const [name, plain] of sizes) {
  for (const which of ['lz4-napi', 'lz4-frame.ts', 'zstd']) {
    const median = medians.get(`${name}: ${which}`)!
    const mibs = plain.length / 2 ** 20 / (median / 1000)
    const mean = means.get(`${name}: ${which}`)!
    console.log(`${`${name}: ${which}`.padEnd(28)} ${(median * 1000).toFixed(1).padStart(7)} us ${mibs.toFixed(0).padStart(7)} ${(mean * 1000).toFixed(1).padStart(7)} us`)
  }
  const ratio = (m: Map<string, number>): string => (m.get(`${name}: lz4-napi`)! / m.get(`${name}: lz4-frame.ts`)!).toFixed(2)
  console.log(`${name}: lz4-napi / lz4-frame.ts time, median ${ratio(medians)}x, mean ${ratio(means)}x`)
}
console.log(`sink ${sink & 1}`)
