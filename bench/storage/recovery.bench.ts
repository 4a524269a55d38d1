// Open time of one partition after a clean stop and after an unclean one (full validation of
// every batch past the recovery point: length, magic, CRC-32C, contiguous offsets, index rebuild).
// The data is in the page cache, so this measures CPU cost, not disk reads.
//   npm run build && node dist/bench/storage/recovery.bench.js [sizeMiB]
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { resolveLogConfig } from '../../storage/log-config.js'
import { PartitionLog } from '../../storage/partition-log.js'

const size = Number(process.argv[2] ?? 1024) * (1 << 20)
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-recovery-bench-'))
const dir = path.join(root, 'bench-0')
const config = resolveLogConfig({}, {})
try {
  const log = PartitionLog.open({ dir, topic: 'bench', partition: 0, config })
  const value = Buffer.alloc(1000, 5)
  const template = encodeBatch(Array.from({ length: 16 }, () => ({ key: null, value, headers: [], timestamp: Date.now() })))
  for (let written = 0; written < size; written += template.length) await log.append(template)
  const leo = log.logEndOffset
  await log.close()
  let t = process.hrtime.bigint()
  const clean = PartitionLog.open({ dir, topic: 'bench', partition: 0, config, hadCleanShutdown: true })
  const cleanMs = Number(process.hrtime.bigint() - t) / 1e6
  await clean.close()
  t = process.hrtime.bigint()
  const unclean = PartitionLog.open({ dir, topic: 'bench', partition: 0, config, recoveryPoint: 0, hadCleanShutdown: false })
  const uncleanMs = Number(process.hrtime.bigint() - t) / 1e6
  if (unclean.logEndOffset !== leo) throw new Error(`recovered ${unclean.logEndOffset}, expected ${leo}`)
  console.log(`partition of ${(size / (1 << 20)).toFixed(0)} MiB, ${leo} records in 16 KiB batches`)
  console.log(`clean open:   ${cleanMs.toFixed(1)} ms`)
  console.log(`unclean open: ${uncleanMs.toFixed(0)} ms (${(size / (1 << 20) / (uncleanMs / 1000)).toFixed(0)} MiB/s)`)
  unclean.closeForDelete()
} finally {
  fs.rmSync(root, { recursive: true, force: true })
}
