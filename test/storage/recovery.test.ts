import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { batchSizeAt, readBaseOffset } from '../../protocol/record-batch.js'
import { PartitionLog } from '../../storage/partition-log.js'
import { segmentFileName } from '../../storage/segment.js'
import type { Logger } from '../../storage/logger.js'
import { batch, config, recordOffsets, rng, tempDir } from './helpers.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

const cfg = config({ 'index.interval.bytes': '256' })

function partitionDir(): string {
  const root = tempDir()
  dirs.push(root)
  return path.join(root, 't-0')
}

function captureLogger(): Logger & { warnings: Array<{ obj: object; msg?: string }> } {
  const warnings: Array<{ obj: object; msg?: string }> = []
  const noop = (): void => {}
  return { debug: noop, info: noop, error: noop, warn: (obj, msg) => void warnings.push({ obj, msg }), warnings }
}

/** Writes batches of varied size and returns their start positions and base offsets. */
async function fill(dir: string, batches: number, seed: number): Promise<{ positions: number[]; bases: number[]; size: number; leo: number }> {
  const r = rng(seed)
  const log = PartitionLog.open({ dir, topic: 't', partition: 0, config: cfg })
  for (let i = 0; i < batches; i++) await log.append(batch(1 + Math.floor(r() * 6), { valueSize: Math.floor(r() * 300) }))
  const leo = log.logEndOffset
  await log.close()
  const file = fs.readFileSync(path.join(dir, segmentFileName(0, '.log')))
  const positions: number[] = []
  const bases: number[] = []
  for (let pos = 0; pos < file.length; pos += batchSizeAt(file, pos)) {
    positions.push(pos)
    bases.push(readBaseOffset(file, pos))
  }
  return { positions, bases, size: file.length, leo }
}

function reopenUnclean(dir: string, logger?: Logger): PartitionLog {
  return PartitionLog.open({ dir, topic: 't', partition: 0, config: cfg, recoveryPoint: 0, hadCleanShutdown: false, logger })
}

async function allOffsets(log: PartitionLog): Promise<number[]> {
  const out: number[] = []
  let next = log.logStartOffset
  while (next < log.logEndOffset) {
    const offs = recordOffsets((await log.read(next, 4096)).records).filter((o) => o >= next)
    out.push(...offs)
    next = offs[offs.length - 1]! + 1
  }
  return out
}

describe('recovery after an unclean stop', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`truncates at the last valid batch after garbage from a random position (seed ${seed})`, async () => {
      const dir = partitionDir()
      const { positions, bases, size } = await fill(dir, 60, seed)
      const r = rng(seed * 7919)
      const at = Math.floor(r() * size)
      const file = path.join(dir, segmentFileName(0, '.log'))
      const data = fs.readFileSync(file)
      // Every byte from `at` on differs from the original, so the first bad byte is exactly `at`.
      for (let i = at; i < data.length; i++) data[i] = data[i]! ^ (1 + Math.floor(r() * 255))
      fs.writeFileSync(file, data)
      let k = positions.length - 1
      while (positions[k]! > at) k--
      const logger = captureLogger()
      const log = reopenUnclean(dir, logger)
      expect(fs.statSync(file).size).toBe(positions[k])
      expect(log.logEndOffset).toBe(bases[k])
      expect(await allOffsets(log)).toEqual(Array.from({ length: bases[k]! }, (_, i) => i))
      expect(logger.warnings.some((w) => /truncated/.test(w.msg ?? ''))).toBe(true)
      // the log keeps working after recovery
      expect((await log.append(batch(2))).baseOffset).toBe(bases[k])
      await log.close()
    })
  }

  it('drops a torn final batch', async () => {
    const dir = partitionDir()
    const { positions, bases } = await fill(dir, 30, 11)
    const file = path.join(dir, segmentFileName(0, '.log'))
    const last = positions[positions.length - 1]!
    fs.truncateSync(file, last + 20)
    const log = reopenUnclean(dir)
    expect(fs.statSync(file).size).toBe(last)
    expect(log.logEndOffset).toBe(bases[bases.length - 1])
    await log.close()
  })

  it('drops a zero-filled tail', async () => {
    const dir = partitionDir()
    const { size, leo } = await fill(dir, 30, 12)
    const file = path.join(dir, segmentFileName(0, '.log'))
    fs.appendFileSync(file, Buffer.alloc(8192))
    const log = reopenUnclean(dir)
    expect(fs.statSync(file).size).toBe(size)
    expect(log.logEndOffset).toBe(leo)
    await log.close()
  })

  it('drops segments after a corrupt one and keeps offsets contiguous', async () => {
    const dir = partitionDir()
    const small = config({ 'segment.bytes': '2000', 'index.interval.bytes': '256' })
    const log = PartitionLog.open({ dir, topic: 't', partition: 0, config: small })
    for (let i = 0; i < 60; i++) await log.append(batch(3, { valueSize: 40 }))
    const segs = log.segmentList.map((s) => s.baseOffset)
    await log.close()
    expect(segs.length).toBeGreaterThan(4)
    const victim = segs[2]!
    const file = path.join(dir, segmentFileName(victim, '.log'))
    const data = fs.readFileSync(file)
    data[100] = data[100]! ^ 0xff
    fs.writeFileSync(file, data)
    const again = PartitionLog.open({ dir, topic: 't', partition: 0, config: small, recoveryPoint: segs[1]!, hadCleanShutdown: false })
    expect(again.segmentList.map((s) => s.baseOffset)).toEqual(segs.slice(0, 3))
    expect(again.logEndOffset).toBeLessThan(segs[3]!)
    expect(await allOffsets(again)).toEqual(Array.from({ length: again.logEndOffset }, (_, i) => i))
    for (const base of segs.slice(3)) expect(fs.existsSync(path.join(dir, segmentFileName(base, '.log')))).toBe(false)
    await again.close()
  })
})

describe('index files', () => {
  async function build(dir: string): Promise<{ leo: number; reads: number[][] }> {
    const log = PartitionLog.open({ dir, topic: 't', partition: 0, config: cfg })
    for (let i = 0; i < 80; i++) await log.append(batch(2, { valueSize: 50, timestamps: [1000 + i * 10, 1000 + i * 10 + 5] }))
    const reads: number[][] = []
    for (let off = 0; off < log.logEndOffset; off += 7) reads.push(recordOffsets((await log.read(off, 1)).records))
    const leo = log.logEndOffset
    await log.close()
    return { leo, reads }
  }

  async function checkSame(dir: string, expected: { leo: number; reads: number[][] }, logger: Logger): Promise<PartitionLog> {
    const log = PartitionLog.open({ dir, topic: 't', partition: 0, config: cfg, hadCleanShutdown: true, logger })
    expect(log.logEndOffset).toBe(expected.leo)
    const reads: number[][] = []
    for (let off = 0; off < log.logEndOffset; off += 7) reads.push(recordOffsets((await log.read(off, 1)).records))
    expect(reads).toEqual(expected.reads)
    expect(await log.offsetForTimestamp(1000 + 40 * 10 + 3)).toEqual({ offset: 81, timestamp: 1405 })
    return log
  }

  it('trims index files on close to whole entries', async () => {
    const dir = partitionDir()
    await build(dir)
    const index = fs.statSync(path.join(dir, segmentFileName(0, '.index'))).size
    const time = fs.statSync(path.join(dir, segmentFileName(0, '.timeindex'))).size
    expect(index).toBeGreaterThan(0)
    expect(index % 8).toBe(0)
    expect(index).toBeLessThan(10 * 1024 * 1024)
    expect(time % 12).toBe(0)
    expect(time).toBeGreaterThan(0)
  })

  it('preallocates the active segment index to segment.index.bytes', () => {
    const dir = partitionDir()
    const log = PartitionLog.open({ dir, topic: 't', partition: 0, config: config({ 'segment.index.bytes': '4096' }) })
    expect(fs.statSync(path.join(dir, segmentFileName(0, '.index'))).size).toBe(4096)
    expect(fs.statSync(path.join(dir, segmentFileName(0, '.timeindex'))).size).toBe(4092)
    log.closeForDelete()
  })

  it('reopens a partition closed empty without rebuilding its indexes', async () => {
    const dir = partitionDir()
    await PartitionLog.open({ dir, topic: 't', partition: 0, config: cfg }).close()
    expect(fs.statSync(path.join(dir, segmentFileName(0, '.timeindex'))).size).toBe(0)
    const logger = captureLogger()
    const log = PartitionLog.open({ dir, topic: 't', partition: 0, config: cfg, hadCleanShutdown: true, logger })
    expect(logger.warnings).toEqual([])
    await log.append(batch(2, { timestamps: [500, 700] }))
    expect(await log.offsetForTimestamp(600)).toEqual({ offset: 1, timestamp: 700 })
    await log.close()
  })

  it('rebuilds missing index files', async () => {
    const dir = partitionDir()
    const expected = await build(dir)
    fs.unlinkSync(path.join(dir, segmentFileName(0, '.index')))
    fs.unlinkSync(path.join(dir, segmentFileName(0, '.timeindex')))
    const logger = captureLogger()
    const log = await checkSame(dir, expected, logger)
    expect(logger.warnings.some((w) => /rebuilding/.test(w.msg ?? ''))).toBe(true)
    await log.close()
    expect(fs.statSync(path.join(dir, segmentFileName(0, '.index'))).size).toBeGreaterThan(0)
  })

  it('rebuilds an index whose size is not a whole number of entries', async () => {
    const dir = partitionDir()
    const expected = await build(dir)
    fs.appendFileSync(path.join(dir, segmentFileName(0, '.index')), Buffer.from([1, 2, 3]))
    const logger = captureLogger()
    const log = await checkSame(dir, expected, logger)
    expect(logger.warnings.length).toBeGreaterThan(0)
    await log.close()
  })

  it('rebuilds an index with garbage entries', async () => {
    const dir = partitionDir()
    const expected = await build(dir)
    const file = path.join(dir, segmentFileName(0, '.index'))
    const data = fs.readFileSync(file)
    data.fill(0xab, 8)
    fs.writeFileSync(file, data)
    const logger = captureLogger()
    const log = await checkSame(dir, expected, logger)
    expect(logger.warnings.length).toBeGreaterThan(0)
    await log.close()
  })
})
