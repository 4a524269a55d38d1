import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { Compression, batchSizeAt, readBaseOffset, readBaseTimestamp, readAttributes, readLastOffset, readRecordCount, compressionOf } from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { FaultyFileIO, type FileIO, nodeFileIO } from '../../storage/file-io.js'
import { CLEANER_OFFSET_CHECKPOINT, LogCleaner, cleanableRange } from '../../storage/log-cleaner.js'
import { LogManager } from '../../storage/log-manager.js'
import { PartitionLog } from '../../storage/partition-log.js'
import { applyRetention } from '../../storage/retention.js'
import { model, readAll, type Written } from './compaction-model.js'
import { config, tempDir } from './helpers.js'

const dirs: string[] = []
const logs: PartitionLog[] = []
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close().catch(() => {})
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

interface Put {
  key: number
  /** null: a tombstone */
  value: string | null
}
const T0 = 1_700_000_000_000
const compactConfig = (extra: Record<string, string> = {}) =>
  config({ 'cleanup.policy': 'compact', 'segment.bytes': '600', 'min.cleanable.dirty.ratio': '0.01', ...extra })

function openLog(dir: string, io: FileIO = nodeFileIO, extra: Record<string, string> = {}): PartitionLog {
  const log = PartitionLog.open({ dir, topic: 't', partition: 0, config: compactConfig(extra), io })
  logs.push(log)
  return log
}

/** Appends `batches` (each a run of puts) with codecs cycling; returns every record written. */
async function write(log: PartitionLog, batches: Put[][]): Promise<Written[]> {
  const out: Written[] = []
  const codecs = [Compression.None, Compression.Gzip, Compression.None, Compression.Lz4]
  let i = 0
  let n = 0
  for (const b of batches) {
    const records = b.map((p) => ({ key: `k${p.key}`, value: p.value, timestamp: T0 + log.logEndOffset * 10 + i++ }))
    const { baseOffset } = await log.append(encodeBatch(records, { compression: codecs[n++ % codecs.length] }))
    records.forEach((r, n) => out.push({ offset: baseOffset + n, key: r.key, value: r.value, timestamp: r.timestamp }))
  }
  return out
}

async function cleanUntilDone(log: PartitionLog, cleaner: LogCleaner): Promise<number> {
  let rounds = 0
  while ((await cleaner.runOnce()) > 0) rounds++
  return rounds
}

const putsArb = fc.array(
  fc.array(fc.record({ key: fc.integer({ min: 0, max: 7 }), value: fc.option(fc.string({ maxLength: 12 }), { freq: 5, nil: null }) }), { minLength: 1, maxLength: 5 }),
  { minLength: 1, maxLength: 40 },
)

describe('log cleaner', () => {
  it('keeps the latest record per key with original offsets and timestamps (property)', async () => {
    await fc.assert(
      fc.asyncProperty(putsArb, fc.integer({ min: 5, max: 12 }), async (batches, mapKeys) => {
        const dir = tempDir()
        dirs.push(dir)
        const log = openLog(path.join(dir, 't-0'))
        const written = await write(log, batches)
        // A map holding a handful of keys forces several rounds, each cleaning what it covers.
        const small = new LogCleaner({ dataDir: dir, io: nodeFileIO, logger: silent, logs: () => [log], dedupeBufferSize: Math.ceil((mapKeys * 24) / 0.9) })
        await cleanUntilDone(log, small)
        const end = small.checkpoint(log) ?? 0
        expect(end).toBeLessThanOrEqual(log.activeSegment.baseOffset)
        // Everything below the active segment is covered once no more rounds run.
        if (log.segmentCount > 1) expect(end).toBe(log.activeSegment.baseOffset)
        const got = await readAll(log)
        expect(got).toEqual(model(written, end))
        for (let i = 1; i < got.length; i++) expect(got[i]!.offset).toBeGreaterThan(got[i - 1]!.offset)
        // Past delete.retention.ms the cleaned tombstones go, and nothing else.
        const later = Date.now() + 86_400_000
        while ((await small.runOnce(later)) > 0);
        expect(await readAll(log)).toEqual(model(written, end).filter((w) => w.value !== null || w.offset >= end))
        await log.close()
      }),
      { numRuns: 25 },
    )
  }, 120_000)

  it('re-encodes with the batch codec and shrinks the log; nothing in the active segment is touched', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const log = openLog(path.join(dir, 't-0'))
    const batches: Put[][] = []
    for (let i = 0; i < 40; i++) batches.push([{ key: i % 3, value: `value-${i}-${'x'.repeat(40)}` }, { key: (i + 1) % 3, value: `v${i}` }])
    const written = await write(log, batches)
    const before = log.sizeInBytes
    const activeBase = log.activeSegment.baseOffset
    const cleaner = new LogCleaner({ dataDir: dir, io: nodeFileIO, logger: silent, logs: () => [log], dedupeBufferSize: 1 << 20 })
    expect(await cleaner.runOnce()).toBe(1)
    expect(log.sizeInBytes).toBeLessThan(before / 4)
    expect(await readAll(log)).toEqual(model(written, activeBase))
    expect(written.filter((w) => w.offset >= activeBase)).toEqual((await readAll(log)).filter((w) => w.offset >= activeBase))
    // Batches kept their codecs (every other one was compressed).
    // Each surviving batch keeps the codec it was written with (two records a batch, codecs cycling).
    const written4 = [Compression.None, Compression.Gzip, Compression.None, Compression.Lz4]
    const codecs = new Set<number>()
    for (let next = 0; next < activeBase; ) {
      const res = await log.read(next, 1 << 20)
      for (let p = 0; p < res.records.length; p += batchSizeAt(res.records, p)) {
        const codec = compressionOf(readAttributes(res.records, p))
        expect(codec).toBe(written4[(readBaseOffset(res.records, p) / 2) % 4])
        codecs.add(codec)
        next = readLastOffset(res.records, p) + 1
      }
      res.release()
    }
    expect(codecs.size).toBeGreaterThan(1)
    expect(cleaner.state(log)!.bytesReclaimed).toBeGreaterThan(0)
    // Nothing dirty is left: a second pass does nothing.
    expect(await cleaner.runOnce()).toBe(0)
  })

  it('a consumer positioned on a removed offset continues at the next surviving one', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const log = openLog(path.join(dir, 't-0'))
    const written = await write(log, Array.from({ length: 30 }, (_, i) => [{ key: i % 2, value: `v${i}` }]))
    const cleaner = new LogCleaner({ dataDir: dir, io: nodeFileIO, logger: silent, logs: () => [log], dedupeBufferSize: 1 << 20 })
    await cleaner.runOnce()
    const kept = model(written, cleaner.checkpoint(log)!)
    const removed = written.find((w) => !kept.includes(w))!
    const res = await log.read(removed.offset, 1 << 20)
    const offsets = [...iterateRecords(res.records, 0)].map((r) => r.offset)
    res.release()
    expect(offsets[0]).toBe(kept.find((k) => k.offset > removed.offset)!.offset)
  })

  it('respects min.compaction.lag.ms, max.compaction.lag.ms, the dirty ratio and cleanup.policy', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const log = openLog(path.join(dir, 't-0'), nodeFileIO, { 'min.compaction.lag.ms': String(10 * 365 * 86_400_000) })
    await write(log, Array.from({ length: 30 }, (_, i) => [{ key: i % 2, value: `v${i}` }]))
    const cleaner = new LogCleaner({ dataDir: dir, io: nodeFileIO, logger: silent, logs: () => [log], dedupeBufferSize: 1 << 20 })
    expect(cleanableRange(log, undefined, Date.now()).dirtyBytes).toBe(0)
    expect(await cleaner.runOnce()).toBe(0)
    // cleanup.policy applies at run time.
    log.config = compactConfig({ 'cleanup.policy': 'delete' })
    expect(await cleaner.runOnce()).toBe(0)
    log.config = compactConfig({ 'min.cleanable.dirty.ratio': '0.9' })
    expect(cleanableRange(log, undefined, Date.now()).dirtyRatio).toBe(1)
    expect(await cleaner.runOnce()).toBe(1)
    // A little more: dirty, but far below the ratio.
    await write(log, Array.from({ length: 8 }, (_, i) => [{ key: i % 2, value: `late${i}` }]))
    const range = cleanableRange(log, cleaner.checkpoint(log), Date.now())
    expect(range.dirtyBytes).toBeGreaterThan(0)
    expect(range.dirtyRatio).toBeLessThan(0.9)
    expect(await cleaner.runOnce()).toBe(0)
    // max.compaction.lag.ms: the dirty records (timestamps of 2023) are overdue.
    log.config = compactConfig({ 'min.cleanable.dirty.ratio': '0.9', 'max.compaction.lag.ms': '60000' })
    expect(await cleaner.runOnce()).toBe(1)
  })

  it('tombstones stay for delete.retention.ms after the cleaning that first kept them, then go (delete horizon in the batch)', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const log = openLog(path.join(dir, 't-0'), nodeFileIO, { 'delete.retention.ms': '60000' })
    const batches: Put[][] = []
    for (let i = 0; i < 20; i++) batches.push([{ key: i % 4, value: `v${i}` }])
    batches.push([{ key: 1, value: null }], [{ key: 2, value: null }])
    for (let i = 0; i < 12; i++) batches.push([{ key: 0, value: `late${i}` }])
    const written = await write(log, batches)
    const end = log.activeSegment.baseOffset
    const cleaner = new LogCleaner({ dataDir: dir, io: nodeFileIO, logger: silent, logs: () => [log], dedupeBufferSize: 1 << 20 })
    const now = Date.now()
    expect(await cleaner.runOnce(now)).toBe(1)
    const firstPass = await readAll(log)
    expect(firstPass).toEqual(model(written, end))
    expect(firstPass.filter((r) => r.value === null).map((r) => r.key)).toEqual(['k1', 'k2'])
    // The tombstones' batches carry the horizon: attribute bit 6, baseTimestamp now + 60 s.
    const tomb = firstPass.find((r) => r.value === null)!
    const res = await log.read(tomb.offset, 1 << 20)
    expect(readAttributes(res.records, 0) & 0x40).toBe(0x40)
    expect(readBaseTimestamp(res.records, 0)).toBe(now + 60_000)
    res.release()
    expect(cleaner.state(log)!.deleteHorizonMs).toBe(now + 60_000)
    // Before the horizon nothing happens; at it, the tombstones go and the rest stays.
    expect(await cleaner.runOnce(now + 59_999)).toBe(0)
    expect(await readAll(log)).toEqual(firstPass)
    expect(await cleaner.runOnce(now + 60_000)).toBe(1)
    expect(await readAll(log)).toEqual(firstPass.filter((r) => r.value !== null))
    expect(cleaner.state(log)!.deleteHorizonMs).toBe(-1)
  })

  it('compact,delete: retention drops old segments and the cleaner compacts what remains', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const log = openLog(path.join(dir, 't-0'), nodeFileIO, { 'cleanup.policy': 'compact,delete', 'retention.bytes': '1800' })
    const cleaner = new LogCleaner({ dataDir: dir, io: nodeFileIO, logger: silent, logs: () => [log], dedupeBufferSize: 1 << 20 })
    const written = await write(log, Array.from({ length: 30 }, (_, i) => [{ key: i % 3, value: `v${i}` }]))
    await cleaner.runOnce()
    const more = await write(log, Array.from({ length: 60 }, (_, i) => [{ key: i % 5, value: `w${i}` }]))
    expect(applyRetention(log)).toBeGreaterThan(0)
    const start = log.logStartOffset
    expect(start).toBeGreaterThan(cleaner.checkpoint(log)!)
    expect(await cleaner.runOnce()).toBe(1)
    const end = cleaner.checkpoint(log)!
    expect(end).toBe(log.activeSegment.baseOffset)
    const got = await readAll(log)
    // What survives is what compaction keeps of the records from the log start on.
    const fromStart = [...written, ...more].filter((w) => w.offset >= start)
    expect(got).toEqual(model(fromStart, end))
  })

  it('keeps the last batch of each producer, so a retry after cleaning and a restart is still a duplicate', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const logDir = path.join(dir, 't-0')
    let log = openLog(logDir)
    const producerBatch = (seq: number) =>
      encodeBatch([{ key: 'k0', value: `p${seq}`, timestamp: T0 + seq }], { producerId: 4000, producerEpoch: 0, baseSequence: seq })
    const offsets: number[] = []
    for (let seq = 0; seq < 6; seq++) offsets.push((await log.append(producerBatch(seq))).baseOffset)
    await write(log, Array.from({ length: 30 }, (_, i) => [{ key: 0, value: `plain${i}` }]))
    const cleaner = new LogCleaner({ dataDir: dir, io: nodeFileIO, logger: silent, logs: () => [log], dedupeBufferSize: 1 << 20 })
    expect(await cleaner.runOnce()).toBe(1)
    // Its records are all superseded; the last batch stays as an empty batch (Kafka's RETAIN_EMPTY).
    expect((await readAll(log)).filter((r) => /^p\d/.test(r.value!))).toEqual([])
    const res = await log.read(offsets[5]!, 1 << 20)
    expect([readBaseOffset(res.records, 0), readLastOffset(res.records, 0), readRecordCount(res.records, 0)]).toEqual([offsets[5], offsets[5], 0])
    res.release()
    await log.close()
    log = openLog(logDir)
    const retry = await log.append(producerBatch(5))
    expect(retry.baseOffset).toBe(offsets[5])
    const end = log.logEndOffset
    await expect(log.append(producerBatch(6))).resolves.toMatchObject({ baseOffset: end })
  })

  it('removes the batches of aborted transactions and compacts committed ones, keeping the markers', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const log = openLog(path.join(dir, 't-0'))
    const txnBatch = (pid: number, seq: number, value: string) =>
      encodeBatch([{ key: 'k0', value, timestamp: T0 + seq }], { producerId: pid, producerEpoch: 0, baseSequence: seq, transactional: true })
    for (let seq = 0; seq < 3; seq++) await log.append(txnBatch(5000, seq, `aborted${seq}`))
    log.roll()
    await log.appendTxnMarker({ producerId: 5000, producerEpoch: 0, coordinatorEpoch: 0, commit: false })
    await log.append(txnBatch(6000, 0, 'committed'))
    await log.appendTxnMarker({ producerId: 6000, producerEpoch: 0, coordinatorEpoch: 0, commit: true })
    await log.append(txnBatch(5000, 3, 'later'))
    await log.appendTxnMarker({ producerId: 5000, producerEpoch: 0, coordinatorEpoch: 0, commit: true })
    await write(log, Array.from({ length: 20 }, (_, i) => [{ key: 1 + (i % 2), value: `plain${i}` }]))
    const values = async () => {
      const out: string[] = []
      for (let next = 0; next < log.logEndOffset; ) {
        const res = await log.read(next, 1 << 20)
        if (res.records.length === 0) break
        for (let p = 0; p < res.records.length; p += batchSizeAt(res.records, p)) {
          if ((readAttributes(res.records, p) & 0x20) !== 0) out.push('<marker>')
          else for (const r of iterateRecords(res.records, p)) out.push(Buffer.from(r.value!).toString())
          next = readLastOffset(res.records, p) + 1
        }
        res.release()
      }
      return out.filter((v) => !v.startsWith('plain'))
    }
    expect(await values()).toEqual(['aborted0', 'aborted1', 'aborted2', '<marker>', 'committed', '<marker>', 'later', '<marker>'])
    const cleaner = new LogCleaner({ dataDir: dir, io: nodeFileIO, logger: silent, logs: () => [log], dedupeBufferSize: 1 << 20 })
    expect(await cleaner.runOnce()).toBe(1)
    // 'committed' is superseded by 'later' (same key); the markers stay while their transactions had data.
    expect(await values()).toEqual(['<marker>', '<marker>', 'later', '<marker>'])
  })

  it('log.cleaner.io.max.bytes.per.second holds a cleaning to its rate', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const log = openLog(path.join(dir, 't-0'), nodeFileIO, { 'segment.bytes': '4000' })
    await write(log, Array.from({ length: 100 }, (_, i) => [{ key: i % 3, value: `${i}-${'y'.repeat(100)}` }, { key: 3, value: `${i}` }]))
    const dirty = log.sizeInBytes - log.activeSegment.size
    expect(dirty).toBeGreaterThan(10_000)
    const cleaner = new LogCleaner({ dataDir: dir, io: nodeFileIO, logger: silent, logs: () => [log], dedupeBufferSize: 1 << 20, maxIoBytesPerSecond: 10_000 })
    const t = Date.now()
    expect(await cleaner.runOnce()).toBe(1)
    // Mapping and rewriting read the dirty bytes twice: at 10 kB/s that is over two seconds.
    expect(Date.now() - t).toBeGreaterThan(((2 * dirty) / 10_000) * 1000 - 500)
  })

  it('the checkpoint survives a restart, in Kafka\'s format', async () => {
    const dataDir = tempDir()
    dirs.push(dataDir)
    let m = await LogManager.open({ dataDir, brokerConfig: { 'log.cleaner.backoff.ms': '3600000' } })
    await m.createTopic('c', 1, { 'cleanup.policy': 'compact', 'segment.bytes': '600', 'min.cleanable.dirty.ratio': '0.01' })
    const written = await write(m.partition('c', 0)!, Array.from({ length: 30 }, (_, i) => [{ key: i % 4, value: `v${i}` }]))
    expect(await m.cleaner!.runOnce()).toBe(1)
    const end = m.cleaner!.checkpoint(m.partition('c', 0)!)!
    expect(end).toBeGreaterThan(0)
    await m.close()
    expect(fs.readFileSync(path.join(dataDir, CLEANER_OFFSET_CHECKPOINT), 'utf8')).toBe(`0\n1\nc 0 ${end}\n`)
    m = await LogManager.open({ dataDir, brokerConfig: { 'log.cleaner.backoff.ms': '3600000' } })
    try {
      const log = m.partition('c', 0)!
      expect(m.cleaner!.checkpoint(log)).toBe(end)
      expect(await readAll(log)).toEqual(model(written, end))
      expect(await m.cleaner!.runOnce()).toBe(0)
    } finally {
      await m.close()
    }
  })
})

const silent = { debug() {}, info() {}, warn() {}, error() {} } as never

/** Stops the world at the n-th file change (write, fsync, rename, unlink, truncate), as a kill -9 would. */
class KillAt implements FileIO {
  private left: number
  killed = false
  changes = 0
  /** Counting starts here: opening the log is not part of the round. */
  armed = false
  constructor(
    private readonly inner: FaultyFileIO,
    at: number,
  ) {
    this.left = at
  }
  private step(): void {
    if (this.killed) throw new Error('killed')
    if (!this.armed) return
    this.changes++
    if (--this.left === 0) {
      this.killed = true
      throw new Error('killed')
    }
  }
  private alive(): void {
    if (this.killed) throw new Error('killed')
  }
  open: FileIO['open'] = (f, fl) => (this.alive(), this.inner.open(f, fl))
  close: FileIO['close'] = (fd) => this.inner.close(fd)
  read: FileIO['read'] = (...a) => (this.alive(), this.inner.read(...a))
  readAsync: FileIO['readAsync'] = (...a) => (this.alive(), this.inner.readAsync(...a))
  write: FileIO['write'] = (...a) => (this.step(), this.inner.write(...a))
  writevAsync: FileIO['writevAsync'] = async (...a) => (this.step(), this.inner.writevAsync(...a))
  fsync: FileIO['fsync'] = async (fd) => (this.step(), this.inner.fsync(fd))
  fdatasync: FileIO['fdatasync'] = async (fd) => (this.step(), this.inner.fdatasync(fd))
  fsyncDir: FileIO['fsyncDir'] = async (d) => (this.step(), this.inner.fsyncDir(d))
  ftruncate: FileIO['ftruncate'] = (...a) => (this.step(), this.inner.ftruncate(...a))
  fsize: FileIO['fsize'] = (fd) => this.inner.fsize(fd)
  rename: FileIO['rename'] = (a, b) => (this.step(), this.inner.rename(a, b))
  unlink: FileIO['unlink'] = (f) => (this.step(), this.inner.unlink(f))
  readdir: FileIO['readdir'] = (d) => this.inner.readdir(d)
  stat: FileIO['stat'] = (f) => this.inner.stat(f)
  mkdir: FileIO['mkdir'] = (d) => this.inner.mkdir(d)
  rm: FileIO['rm'] = (t) => this.inner.rm(t)
  readFile: FileIO['readFile'] = (f) => this.inner.readFile(f)
  statfs: FileIO['statfs'] = (d) => this.inner.statfs(d)
}

describe('log cleaner crash safety', () => {
  it('a kill -9 at every file change of a cleaning round loses no kept record and duplicates none', async () => {
    const batches: Put[][] = Array.from({ length: 40 }, (_, i) => [
      { key: i % 5, value: i % 7 === 0 ? null : `v${i}` },
      { key: (i * 3) % 5, value: `w${i}` },
    ])
    // A dry run counts the file changes of one round.
    const count = async (at: number): Promise<{ killed: boolean; changes: number; written: Written[]; end: number; dir: string }> => {
      const dir = tempDir()
      dirs.push(dir)
      const logDir = path.join(dir, 't-0')
      const setup = openLog(logDir)
      const written = await write(setup, batches)
      const end = setup.activeSegment.baseOffset
      await setup.close()
      const faulty = new FaultyFileIO()
      const kill = new KillAt(faulty, at)
      const log = openLog(logDir, kill)
      const cleaner = new LogCleaner({ dataDir: dir, io: kill, logger: silent, logs: () => [log], dedupeBufferSize: 1 << 20 })
      kill.armed = true
      await cleaner.runOnce().catch(() => 0)
      if (kill.killed) faulty.crash()
      return { killed: kill.killed, changes: kill.changes, written, end, dir }
    }
    const dry = await count(Number.MAX_SAFE_INTEGER)
    expect(dry.changes).toBeGreaterThan(5)
    for (let at = 1; at <= dry.changes; at++) {
      const run = await count(at)
      expect(run.killed).toBe(true)
      const reopened = PartitionLog.open({ dir: path.join(run.dir, 't-0'), topic: 't', partition: 0, config: compactConfig(), recoveryPoint: 0 })
      logs.push(reopened)
      const got = await readAll(reopened)
      const kept = model(run.written, run.end)
      // Every record compaction keeps is there, once; whatever else is there is an original record.
      for (const k of kept) expect(got.filter((g) => g.offset === k.offset)).toEqual([k])
      for (const g of got) expect(run.written).toContainEqual(g)
      for (let i = 1; i < got.length; i++) expect(got[i]!.offset).toBeGreaterThan(got[i - 1]!.offset)
      expect(fs.readdirSync(path.join(run.dir, 't-0')).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap'))).toEqual([])
      // And the next round finishes the job.
      const cleaner = new LogCleaner({ dataDir: run.dir, io: nodeFileIO, logger: silent, logs: () => [reopened], dedupeBufferSize: 1 << 20 })
      await cleaner.runOnce()
      expect(await readAll(reopened)).toEqual(kept)
    }
  }, 120_000)
})
