// Log cleaner throughput: one cleaning of a compacted partition (dirty section mapped, every
// inactive segment rewritten and swapped), in MiB/s of dirty log, next to a plain sequential read
// and write of the same bytes (the floor any rewrite pays). Keys are drawn from a key space a tenth
// of the record count, so about nine records in ten are superseded; batches of 16 records of 200 B.
// The data is in the page cache, so this measures CPU cost, not disk reads.
//   npm run build && node dist/bench/storage/cleaner.bench.js [sizeMiB] [codec: none|lz4|zstd]
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Compression } from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { nodeFileIO } from '../../storage/file-io.js'
import { LogCleaner } from '../../storage/log-cleaner.js'
import { resolveLogConfig } from '../../storage/log-config.js'
import { PartitionLog } from '../../storage/partition-log.js'

const size = Number(process.argv[2] ?? 256) * (1 << 20)
const codecName = process.argv[3] ?? 'none'
const codec = { none: Compression.None, lz4: Compression.Lz4, zstd: Compression.Zstd }[codecName] ?? Compression.None
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-cleaner-bench-'))
const dir = path.join(root, 'bench-0')
const config = resolveLogConfig({}, { 'cleanup.policy': 'compact', 'segment.bytes': String(64 << 20), 'min.cleanable.dirty.ratio': '0.01' })
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never
const mib = (bytes: number, ms: number): string => (bytes / (1 << 20) / (ms / 1000)).toFixed(0)

try {
  const log = PartitionLog.open({ dir, topic: 'bench', partition: 0, config })
  const value = Buffer.alloc(200, 7)
  let n = 0
  let estimate = 0
  const records = 16
  while (estimate < size) {
    const batch = encodeBatch(
      Array.from({ length: records }, () => ({ key: `key-${Math.floor(Math.random() * (size / 2300))}`, value, headers: [], timestamp: Date.now() + n++ })),
      { compression: codec },
    )
    log.appendSync(batch)
    estimate += batch.length
  }
  log.roll()
  await log.flush()
  const dirty = log.sizeInBytes

  // Baseline: read every segment file and write it out again, sequentially, then fsync.
  let t = process.hrtime.bigint()
  const buf = Buffer.allocUnsafe(1 << 20)
  for (const seg of log.segmentList) {
    const src = fs.openSync(seg.logFile, 'r')
    const dst = fs.openSync(seg.logFile + '.copy', 'w')
    for (let pos = 0; ; ) {
      const got = fs.readSync(src, buf, 0, buf.length, pos)
      if (got === 0) break
      fs.writeSync(dst, buf, 0, got, pos)
      pos += got
    }
    fs.fsyncSync(dst)
    fs.closeSync(src)
    fs.closeSync(dst)
    fs.unlinkSync(seg.logFile + '.copy')
  }
  const copyMs = Number(process.hrtime.bigint() - t) / 1e6

  const cleaner = new LogCleaner({ dataDir: root, io: nodeFileIO, logger: silent, logs: () => [log], dedupeBufferSize: 128 << 20 })
  t = process.hrtime.bigint()
  await cleaner.runOnce()
  const cleanMs = Number(process.hrtime.bigint() - t) / 1e6
  console.log(`partition of ${(dirty / (1 << 20)).toFixed(0)} MiB, ${n} records, codec ${codecName}; after cleaning ${(log.sizeInBytes / (1 << 20)).toFixed(1)} MiB`)
  console.log(`sequential read+write: ${copyMs.toFixed(0)} ms (${mib(dirty, copyMs)} MiB/s)`)
  console.log(`cleaner:               ${cleanMs.toFixed(0)} ms (${mib(dirty, cleanMs)} MiB/s, ${((n / cleanMs) * 1000).toFixed(0)} records/s)`)
  await log.close()
} finally {
  fs.rmSync(root, { recursive: true, force: true })
}
