// Log cleaner throughput: one cleaning of a compacted partition (dirty section mapped, every
// inactive segment rewritten and swapped), in MiB/s of dirty log, next to a plain sequential read
// and write of the same bytes (the floor any rewrite pays). The same measurement runs in
// `npm run bench` (bench/e2e/compaction.ts); this runs it alone, with a choice of size and codec.
//   npm run build && node dist/bench/storage/cleaner.bench.js [sizeMiB] [codec: none|lz4|zstd] [dir]
import os from 'node:os'
import { Compression } from '../../protocol/record-batch.js'
import { cleanerThroughput } from '../e2e/compaction.js'

const size = Number(process.argv[2] ?? 256) * (1 << 20)
const codecName = process.argv[3] ?? 'none'
const codec = { none: Compression.None, lz4: Compression.Lz4, zstd: Compression.Zstd }[codecName] ?? Compression.None
const r = await cleanerThroughput(process.argv[4] ?? os.tmpdir(), size, codec)
const mib = (bytes: number, s: number): string => (bytes / (1 << 20) / s).toFixed(0)
console.log(`partition of ${(r.dirtyBytes / (1 << 20)).toFixed(0)} MiB, ${r.records} records, codec ${codecName}; after cleaning ${(r.afterBytes / (1 << 20)).toFixed(1)} MiB`)
console.log(`sequential read+write: ${(r.copySeconds * 1000).toFixed(0)} ms (${mib(r.dirtyBytes, r.copySeconds)} MiB/s)`)
console.log(`cleaner:               ${(r.cleanSeconds * 1000).toFixed(0)} ms (${mib(r.dirtyBytes, r.cleanSeconds)} MiB/s, ${(r.records / r.cleanSeconds).toFixed(0)} records/s)`)
console.log(`cleaner / read+write:  ${(r.copySeconds / r.cleanSeconds).toFixed(2)}`)
