// replication-offset-checkpoint on its own: Kafka's text format byte for byte, what a restart reads
// back (bounded by the log), and what a write carries for partitions replication has not taken up.
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { nodeFileIO } from '../../storage/file-io.js'
import { HighWatermarkCheckpoint, REPLICATION_OFFSET_CHECKPOINT, type HighWatermarkSource } from '../../storage/high-watermark-checkpoint.js'
import { tempDir } from './helpers.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

function dataDir(): string {
  const d = tempDir()
  dirs.push(d)
  return d
}

function log(topic: string, partition: number, o: Partial<HighWatermarkSource> = {}): HighWatermarkSource {
  return { topic, partition, replicated: true, highWatermark: 0, logStartOffset: 0, logEndOffset: 100, ...o }
}

describe('HighWatermarkCheckpoint', () => {
  it('writes Kafka\'s format: version 0, the count, then one `topic partition offset` line each', async () => {
    const dir = dataDir()
    await new HighWatermarkCheckpoint(nodeFileIO, dir).write([log('orders', 0, { highWatermark: 1520 }), log('orders', 1, { highWatermark: 977 }), log('audit.log-x', 12, { highWatermark: 0 })])
    expect(fs.readFileSync(path.join(dir, REPLICATION_OFFSET_CHECKPOINT), 'utf8')).toBe('0\n3\norders 0 1520\norders 1 977\naudit.log-x 12 0\n')
    await new HighWatermarkCheckpoint(nodeFileIO, dir).write([])
    expect(fs.readFileSync(path.join(dir, REPLICATION_OFFSET_CHECKPOINT), 'utf8')).toBe('0\n0\n')
  })

  it('restores what it wrote, bounded by the log start and end', async () => {
    const dir = dataDir()
    fs.writeFileSync(path.join(dir, REPLICATION_OFFSET_CHECKPOINT), '0\n3\norders 0 1520\norders 1 40\norders 2 7\n')
    const cp = new HighWatermarkCheckpoint(nodeFileIO, dir)
    expect(cp.restoredHighWatermark(log('orders', 0, { logEndOffset: 2000 }))).toBe(1520)
    // A log shorter than its checkpoint (its unflushed tail was lost): at most the log end.
    expect(cp.restoredHighWatermark(log('orders', 0, { logEndOffset: 1000 }))).toBe(1000)
    expect(cp.restoredHighWatermark(log('orders', 1, { logStartOffset: 50, logEndOffset: 90 }))).toBe(50)
    // No entry: the log start.
    expect(cp.restoredHighWatermark(log('orders', 3, { logStartOffset: 12 }))).toBe(12)
    expect(cp.restoredHighWatermark(log('other', 0))).toBe(0)
  })

  it('carries restored values of partitions replication has not taken up, and drops partitions that are gone', async () => {
    const dir = dataDir()
    fs.writeFileSync(path.join(dir, REPLICATION_OFFSET_CHECKPOINT), '0\n3\norders 0 1520\norders 1 40\ngone 0 5\n')
    const cp = new HighWatermarkCheckpoint(nodeFileIO, dir)
    await cp.write([
      log('orders', 0, { replicated: false, highWatermark: 3000, logEndOffset: 3000 }),
      log('orders', 1, { highWatermark: 60 }),
      log('fresh', 0, { replicated: false, highWatermark: 9, logEndOffset: 9 }),
    ])
    expect(fs.readFileSync(path.join(dir, REPLICATION_OFFSET_CHECKPOINT), 'utf8')).toBe('0\n2\norders 0 1520\norders 1 60\n')
  })

  it('treats a malformed file as empty (every partition starts from its log start)', () => {
    const dir = dataDir()
    fs.writeFileSync(path.join(dir, REPLICATION_OFFSET_CHECKPOINT), '0\n2\norders 0 15\norders one\n')
    expect(new HighWatermarkCheckpoint(nodeFileIO, dir).restoredHighWatermark(log('orders', 0, { logStartOffset: 3 }))).toBe(3)
  })
})
