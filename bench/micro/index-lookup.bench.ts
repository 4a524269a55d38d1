// Random reads by offset: OffsetIndex.lookup alone, and PartitionLog.read (index lookup, batch
// walk, pread) of a 16 KiB fetch at random offsets over a 256 MiB partition of 1 KiB batches.
//   npm run build && node dist/bench/micro/index-lookup.bench.js
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Bench } from 'tinybench'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { resolveLogConfig } from '../../storage/log-config.js'
import { PartitionLog } from '../../storage/partition-log.js'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-lookup-bench-'))
try {
  const log = PartitionLog.open({
    dir: path.join(root, 'bench-0'),
    topic: 'bench',
    partition: 0,
    config: resolveLogConfig({}, { 'segment.bytes': String(64 << 20) }),
  })
  const value = Buffer.alloc(900, 3)
  const template = encodeBatch([{ key: null, value, headers: [], timestamp: Date.now() }])
  const total = 256 << 20
  for (let written = 0; written < total; written += template.length) await log.append(template)
  const leo = log.logEndOffset
  const active = log.activeSegment
  let sink = 0
  const bench = new Bench({ name: 'lookups', time: 1500 })
  bench
    .add('OffsetIndex.lookup (active segment)', () => {
      sink ^= active.offsetIndex.lookup(active.baseOffset + Math.floor(Math.random() * (leo - active.baseOffset))).position
    })
    .add('PartitionLog.read 16 KiB at a random offset', () => {
      sink ^= log.readSync(Math.floor(Math.random() * leo), 16384).records.length
    })
  await bench.run()
  console.log(`partition: ${leo} batches in ${log.segmentCount} segments`)
  for (const t of bench.tasks) {
    const r = t.result
    if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state}`)
    console.log(`${t.name.padEnd(46)} ${(1000 / r.period).toFixed(0).padStart(10)} ops/s`)
  }
  if (sink === 0.5) console.log(sink)
  log.closeForDelete()
} finally {
  fs.rmSync(root, { recursive: true, force: true })
}
