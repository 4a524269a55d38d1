import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { batchSizeAt, readBaseOffset } from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { resolveLogConfig, type LogConfig } from '../../storage/log-config.js'

export function tempDir(prefix = 'samsa-storage-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

/** A batch of `count` records with values `v<i>` and the given timestamps (default: base + i). */
export function batch(count: number, opts: { timestamps?: number[]; valueSize?: number; base?: number } = {}): Buffer {
  const records = []
  for (let i = 0; i < count; i++) {
    const value = opts.valueSize !== undefined ? Buffer.alloc(opts.valueSize, i % 251) : `v${i}`
    records.push({ key: null, value, headers: [], timestamp: opts.timestamps?.[i] ?? (opts.base ?? Date.now()) + i })
  }
  return encodeBatch(records)
}

export function config(overrides: Record<string, string> = {}): LogConfig {
  return resolveLogConfig({}, overrides)
}

/** Offsets of every record in a run of batches. */
export function recordOffsets(records: Uint8Array): number[] {
  const out: number[] = []
  for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) {
    for (const r of iterateRecords(records, pos)) out.push(r.offset)
  }
  return out
}

/** Base offsets of the batches in a run. */
export function batchBases(records: Uint8Array): number[] {
  const out: number[] = []
  for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) out.push(readBaseOffset(records, pos))
  return out
}

/** Deterministic PRNG (mulberry32) so failures reproduce from the seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Every record offset from logStartOffset to the log end, paging through segments. */
export async function readAllOffsets(log: { logStartOffset: number; logEndOffset: number; read(o: number, m: number): Promise<{ records: Uint8Array }> }): Promise<number[]> {
  const out: number[] = []
  let next = log.logStartOffset
  while (next < log.logEndOffset) {
    const offs = recordOffsets((await log.read(next, 1 << 20)).records).filter((o) => o >= next)
    if (offs.length === 0) break
    out.push(...offs)
    next = offs[offs.length - 1]! + 1
  }
  return out
}
