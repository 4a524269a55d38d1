// Log compaction in the end-to-end run.
//
// Cleaner throughput: one cleaning of a partition written in the run's work directory (so on the
// disk the brokers use), in MiB/s of dirty log, next to a plain sequential read and write of the
// same segment files with an fsync at the end, the floor any rewrite pays. Keys come from a space
// a tenth of the record count, so about nine records in ten are superseded; batches of 16 records
// of 200 B. The data was just written and sits in the page cache: this is the cleaner's CPU cost
// next to the copy's, not the disk's read speed. Runs in the harness process, which is otherwise
// idle meanwhile.
//
// Produce latency while the broker's cleaner works: watchCleaning follows the size of a compacted
// partition's segment files in the broker's data directory while a fixed-rate run goes on, so the
// report can say whether the cleaner was busy for the whole measured window.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { Compression } from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { nodeFileIO } from '../../storage/file-io.js'
import { LogCleaner } from '../../storage/log-cleaner.js'
import { resolveLogConfig } from '../../storage/log-config.js'
import { PartitionLog } from '../../storage/partition-log.js'

const silent = { debug() {}, info() {}, warn() {}, error() {} } as never

export interface CleanerThroughput {
  /** Bytes of the segment files cleaned (the whole log but its empty active segment). */
  dirtyBytes: number
  records: number
  /** Size of the log after cleaning. */
  afterBytes: number
  /** Sequential read + write + fsync of the same segment files. */
  copySeconds: number
  cleanSeconds: number
}

/** Writes a partition of about `bytes` under `dir`, copies its segments, then cleans it. */
export async function cleanerThroughput(dir: string, bytes: number, codec: Compression = Compression.None): Promise<CleanerThroughput> {
  const root = fs.mkdtempSync(path.join(dir, 'cleaner-'))
  try {
    const config = resolveLogConfig({}, { 'cleanup.policy': 'compact', 'segment.bytes': String(64 << 20), 'min.cleanable.dirty.ratio': '0.01' })
    const log = PartitionLog.open({ dir: path.join(root, 'bench-0'), topic: 'bench', partition: 0, config })
    const value = Buffer.alloc(200, 7)
    const keySpace = Math.max(1, Math.floor(bytes / 2300))
    let records = 0
    let written = 0
    while (written < bytes) {
      const batch = encodeBatch(
        Array.from({ length: 16 }, () => ({ key: `key-${Math.floor(Math.random() * keySpace)}`, value, headers: [], timestamp: Date.now() + records++ })),
        { compression: codec },
      )
      await log.append(batch)
      written += batch.length
    }
    log.roll()
    await log.flush()
    const dirtyBytes = log.sizeInBytes
    spawnSync('sync', { stdio: 'ignore' })

    let t = performance.now()
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
    }
    const copySeconds = (performance.now() - t) / 1000
    for (const seg of log.segmentList) fs.rmSync(seg.logFile + '.copy', { force: true })
    spawnSync('sync', { stdio: 'ignore' })

    const cleaner = new LogCleaner({ dataDir: root, io: nodeFileIO, logger: silent, logs: () => [log], dedupeBufferSize: 128 << 20 })
    t = performance.now()
    if ((await cleaner.runOnce()) !== 1) throw new Error('the cleaner did not clean the partition')
    const cleanSeconds = (performance.now() - t) / 1000
    const afterBytes = log.sizeInBytes
    await log.close()
    return { dirtyBytes, records, afterBytes, copySeconds, cleanSeconds }
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
}

/** Total size of a partition directory's segment files, in bytes. */
export function segmentBytes(partitionDir: string): number {
  let total = 0
  for (const name of fs.readdirSync(partitionDir)) if (name.endsWith('.log')) total += fs.statSync(path.join(partitionDir, name)).size
  return total
}

export interface CleaningWatch {
  /** Size of the partition's segment files when watching began and at the end. */
  beforeBytes: number
  afterBytes: number
  /** Seconds after watching began of the first and the last size change; undefined when it never changed. */
  firstChangeSeconds?: number
  lastChangeSeconds?: number
}

/**
 * Samples the size of `partitionDir`'s segment files every 100 ms; each swap of a cleaned group
 * shows as a drop, so the first and last change bound the cleaner's work. quiet() resolves once
 * the size has not changed for `quietMs` after a first change (or after `timeoutMs`), and stops.
 */
export function watchCleaning(partitionDir: string): { quiet(quietMs: number, timeoutMs: number): Promise<CleaningWatch> } {
  const started = performance.now()
  const seconds = () => (performance.now() - started) / 1000
  const beforeBytes = segmentBytes(partitionDir)
  let last = beforeBytes
  let firstChangeSeconds: number | undefined
  let lastChangeSeconds: number | undefined
  const sample = () => {
    let now: number
    try {
      now = segmentBytes(partitionDir)
    } catch {
      return // a file went away between the listing and the stat: the next sample sees the swap
    }
    if (now !== last) {
      firstChangeSeconds ??= seconds()
      lastChangeSeconds = seconds()
      last = now
    }
  }
  const timer = setInterval(sample, 100)
  return {
    async quiet(quietMs, timeoutMs) {
      const deadline = performance.now() + timeoutMs
      while (performance.now() < deadline && (lastChangeSeconds === undefined || seconds() - lastChangeSeconds < quietMs / 1000)) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      clearInterval(timer)
      sample()
      return { beforeBytes, afterBytes: last, firstChangeSeconds, lastChangeSeconds }
    },
  }
}
