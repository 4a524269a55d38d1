// The cleaner's run-time settings and what it reports: log.cleaner.threads (logs cleaned at once,
// 0 pauses), log.cleaner.dedupe.buffer.size changed at run time, the uncleanable reason, and
// cleaner-state.json, which `samsa topics describe --data-dir` reads.
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { batchSizeAt, readLastOffset } from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { CLEANER_STATE_FILE, CleanerStateFile } from '../../storage/cleaner-state.js'
import { type FileIO, nodeFileIO } from '../../storage/file-io.js'
import { LogCleaner } from '../../storage/log-cleaner.js'
import { LogManager } from '../../storage/log-manager.js'
import { PartitionLog } from '../../storage/partition-log.js'
import { config, tempDir } from './helpers.js'

const dirs: string[] = []
const open: PartitionLog[] = []
afterEach(async () => {
  for (const l of open.splice(0)) await l.close().catch(() => {})
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

const silent = { debug() {}, info() {}, warn() {}, error() {} } as never
const T0 = 1_700_000_000_000

async function dirtyLog(dir: string, topic: string, io: FileIO = nodeFileIO): Promise<PartitionLog> {
  const log = PartitionLog.open({
    dir: path.join(dir, `${topic}-0`),
    topic,
    partition: 0,
    io,
    config: config({ 'cleanup.policy': 'compact', 'segment.bytes': '500', 'min.cleanable.dirty.ratio': '0.01' }),
  })
  open.push(log)
  for (let i = 0; i < 40; i++) await log.append(encodeBatch([{ key: `k${i % 3}`, value: `v${i}`, timestamp: T0 + i }, { key: `j${i % 2}`, value: `w${i}`, timestamp: T0 + i }]))
  return log
}

/** Records which cleaned files are opened and which swaps are committed, in order. */
function tracing(events: string[]): FileIO {
  return {
    ...nodeFileIO,
    open: (file, flags) => {
      if (file.endsWith('.log.cleaned')) events.push(`open ${path.basename(path.dirname(file))}`)
      return nodeFileIO.open(file, flags)
    },
    rename: (from, to) => {
      if (to.endsWith('.log.swap')) events.push(`swap ${path.basename(path.dirname(to))}`)
      nodeFileIO.rename(from, to)
    },
  }
}

describe('log cleaner settings and state', () => {
  it('log.cleaner.threads: two threads clean two logs at once, one cleans them in turn, none pauses cleaning', async () => {
    for (const threads of [1, 2]) {
      const dir = tempDir()
      dirs.push(dir)
      const events: string[] = []
      const io = tracing(events)
      const logs = [await dirtyLog(dir, 'a', io), await dirtyLog(dir, 'b', io)]
      const cleaner = new LogCleaner({ dataDir: dir, io, logger: silent, logs: () => logs, dedupeBufferSize: 1 << 20, threads })
      expect(await cleaner.runOnce()).toBe(2)
      const firstSwapOfA = events.indexOf('swap a-0')
      const firstOpenOfB = events.indexOf('open b-0')
      // One thread finishes a's first group before b's cleaning starts; two start b while a is under way.
      if (threads === 1) expect(firstOpenOfB).toBeGreaterThan(events.lastIndexOf('swap a-0'))
      else expect(firstOpenOfB).toBeLessThan(firstSwapOfA)
    }
    const dir = tempDir()
    dirs.push(dir)
    const log = await dirtyLog(dir, 'c')
    const cleaner = new LogCleaner({ dataDir: dir, io: nodeFileIO, logger: silent, logs: () => [log], dedupeBufferSize: 1 << 20, threads: 0 })
    expect(await cleaner.runOnce()).toBe(0)
    cleaner.reconfigure({ threads: 1 })
    expect(await cleaner.runOnce()).toBe(1)
  })

  it('an offset map too small for a batch makes the partition uncleanable, with the reason, until the buffer grows', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const log = await dirtyLog(dir, 'd')
    // 24 bytes: one key, and every batch holds two.
    const cleaner = new LogCleaner({ dataDir: dir, io: nodeFileIO, logger: silent, logs: () => [log], dedupeBufferSize: 24 })
    expect(await cleaner.runOnce()).toBe(0)
    expect(cleaner.state(log)!.uncleanableReason).toMatch(/offset map too small .*log\.cleaner\.dedupe\.buffer\.size/)
    expect(new CleanerStateFile(nodeFileIO, dir).read()!.partitions[0]!.uncleanableReason).toMatch(/offset map too small/)
    expect(await cleaner.runOnce()).toBe(0)
    // Kafka's LogCleanerManager gauges, as /metrics publishes them.
    expect(cleaner.summary()).toMatchObject({ maxDirtyPercent: 0, uncleanablePartitions: 1 })
    cleaner.reconfigure({ dedupeBufferSize: 1 << 20 })
    expect(cleaner.summary().uncleanablePartitions).toBe(0)
    expect(await cleaner.runOnce()).toBe(1)
    expect(cleaner.state(log)!.uncleanableReason).toBeUndefined()
    expect(cleaner.summary()).toMatchObject({ maxDirtyPercent: 100, uncleanablePartitions: 0 })
  })

  it('cleaner-state.json holds each compacted partition as of the last pass; dynamic broker settings reach the cleaner', async () => {
    const dataDir = tempDir()
    dirs.push(dataDir)
    const m = await LogManager.open({ dataDir, brokerConfig: { 'log.cleaner.backoff.ms': '3600000', 'log.cleaner.threads': '0' } })
    try {
      await m.createTopic('c', 1, { 'cleanup.policy': 'compact', 'segment.bytes': '500', 'min.cleanable.dirty.ratio': '0.01' })
      await m.createTopic('plain', 1, {})
      const log = m.partition('c', 0)!
      for (let i = 0; i < 40; i++) await log.append(encodeBatch([{ key: `k${i % 3}`, value: `v${i}`, timestamp: T0 + i }]))
      const before = log.sizeInBytes
      expect(await m.cleaner!.runOnce()).toBe(0)
      let state = new CleanerStateFile(nodeFileIO, dataDir).read()!
      expect(state.partitions).toHaveLength(1)
      expect(state.partitions[0]).toMatchObject({ topic: 'c', partition: 0, firstDirtyOffset: 0, lastRunMs: -1, bytesReclaimed: 0 })
      expect(state.partitions[0]!.dirtyRatio).toBe(1)
      m.setBrokerConfig({ 'log.cleaner.backoff.ms': '3600000', 'log.cleaner.threads': '1' })
      const started = Date.now()
      expect(await m.cleaner!.runOnce()).toBe(1)
      expect(fs.existsSync(path.join(dataDir, CLEANER_STATE_FILE))).toBe(true)
      state = new CleanerStateFile(nodeFileIO, dataDir).read()!
      const p = state.partitions[0]!
      expect(p.firstDirtyOffset).toBe(log.activeSegment.baseOffset)
      expect(p.dirtyRatio).toBe(0)
      expect(p.lastRunMs).toBeGreaterThanOrEqual(started)
      expect(p.bytesReclaimed).toBe(before - log.sizeInBytes)
      expect(p.bytesReclaimed).toBeGreaterThan(0)
      expect(p.recordsRemoved).toBeGreaterThan(0)
      expect(p.uncleanableReason).toBeUndefined()
    } finally {
      await m.close()
    }
  })

  it('a deleted topic leaves the cleaner checkpoint, so one created again under its name is cleaned from the start', async () => {
    const dataDir = tempDir()
    dirs.push(dataDir)
    const m = await LogManager.open({ dataDir, brokerConfig: { 'log.cleaner.backoff.ms': '3600000' } })
    const configs = { 'cleanup.policy': 'compact', 'segment.bytes': '500', 'min.cleanable.dirty.ratio': '0.01' }
    const fill = async () => {
      const log = m.partition('r', 0)!
      for (let i = 0; i < 60; i++) await log.append(encodeBatch([{ key: `${i < 30 ? 'a' : 'b'}${i % 3}`, value: `v${i}`, timestamp: T0 + i }]))
      return log
    }
    try {
      await m.createTopic('r', 1, configs)
      await fill()
      expect(await m.cleaner!.runOnce()).toBe(1)
      expect(fs.readFileSync(path.join(dataDir, 'cleaner-offset-checkpoint'), 'utf8')).toMatch(/^r 0 \d+$/m)
      await m.deleteTopic('r')
      expect(fs.readFileSync(path.join(dataDir, 'cleaner-offset-checkpoint'), 'utf8')).toBe('0\n0\n')
      await m.createTopic('r', 1, configs)
      const log = await fill()
      expect(await m.cleaner!.runOnce()).toBe(1)
      // Every key below the active segment is down to its latest record, the a-keys too.
      const keys: string[] = []
      for (let next = 0; next < log.activeSegment.baseOffset; ) {
        const res = await log.read(next, 1 << 20)
        for (let p = 0; p < res.records.length; p += batchSizeAt(res.records, p)) {
          for (const r of iterateRecords(res.records, p)) if (r.offset < log.activeSegment.baseOffset) keys.push(Buffer.from(r.key!).toString())
          next = readLastOffset(res.records, p) + 1
        }
        res.release()
      }
      expect(keys.filter((k) => k.startsWith('a')).sort()).toEqual(['a0', 'a1', 'a2'])
    } finally {
      await m.close()
    }
  })
})
