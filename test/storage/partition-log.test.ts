import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { PartitionLog } from '../../storage/partition-log.js'
import { nodeFileIO, type FileIO } from '../../storage/file-io.js'
import { ASYNC_READ_MIN_BYTES } from '../../storage/segment.js'
import { OffsetOutOfRangeError } from '../../storage/errors.js'
import { batch, batchBases, config, recordOffsets, tempDir } from './helpers.js'

const dirs: string[] = []
function open(overrides: Record<string, string> = {}, extra: Partial<Parameters<typeof PartitionLog.open>[0]> = {}): PartitionLog {
  const root = tempDir()
  dirs.push(root)
  return PartitionLog.open({ dir: path.join(root, 't-0'), topic: 't', partition: 0, config: config(overrides), ...extra })
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

describe('PartitionLog append and read', () => {
  it('assigns contiguous offsets and reads whole batches across many segment rolls', async () => {
    const log = open({ 'segment.bytes': '1000', 'index.interval.bytes': '300' })
    let expected = 0
    for (let i = 0; i < 200; i++) {
      const n = 1 + (i % 5)
      const res = await log.append(batch(n))
      expect(res.baseOffset).toBe(expected)
      expect(res.lastOffset).toBe(expected + n - 1)
      expect(res.logAppendTime).toBe(-1)
      expected += n
    }
    expect(log.logEndOffset).toBe(expected)
    expect(log.highWatermark).toBe(expected)
    expect(log.segmentCount).toBeGreaterThan(10)
    // every offset is reachable, and a read starting inside a batch returns that batch
    for (let off = 0; off < expected; off++) {
      const r = await log.read(off, 1)
      const offs = recordOffsets(r.records)
      expect(offs[0]).toBeLessThanOrEqual(off)
      expect(offs).toContain(off)
    }
    // reading everything in pages yields each offset exactly once
    const seen: number[] = []
    let next = 0
    while (next < expected) {
      const r = await log.read(next, 700)
      expect(r.records.length).toBeLessThanOrEqual(700)
      const offs = recordOffsets(r.records).filter((o) => o >= next)
      seen.push(...offs)
      next = offs[offs.length - 1]! + 1
    }
    expect(seen).toEqual(Array.from({ length: expected }, (_, i) => i))
    await log.close()
  })

  it('honours maxBytes with whole batches and returns an oversized first batch only with minOneBatch', async () => {
    const log = open()
    const sizes: number[] = []
    for (let i = 0; i < 10; i++) {
      const b = batch(3, { valueSize: 100 })
      sizes.push(b.length)
      await log.append(b)
    }
    const r = await log.read(0, sizes[0]! * 3 + 10)
    expect(batchBases(r.records)).toEqual([0, 3, 6])
    expect(r.records.length).toBe(sizes[0]! * 3)
    const one = await log.read(4, 10)
    expect(batchBases(one.records)).toEqual([3])
    const none = await log.read(4, 10, { minOneBatch: false })
    expect(none.records.length).toBe(0)
    const capped = await log.read(0, 1 << 20, { maxOffset: 6 })
    expect(batchBases(capped.records)).toEqual([0, 3])
    const atEnd = await log.read(30, 1000)
    expect(atEnd.records.length).toBe(0)
    expect(atEnd.highWatermark).toBe(30)
    await expect(log.read(31, 1000)).rejects.toBeInstanceOf(OffsetOutOfRangeError)
    await log.close()
  })

  it('reopens cleanly with the same offsets and content', async () => {
    const root = tempDir()
    dirs.push(root)
    const dir = path.join(root, 't-0')
    const cfg = config({ 'segment.bytes': '1500' })
    const log = PartitionLog.open({ dir, topic: 't', partition: 0, config: cfg })
    for (let i = 0; i < 50; i++) await log.append(batch(2))
    const before = Buffer.from((await log.read(0, 1 << 20)).records)
    await log.close()
    const again = PartitionLog.open({ dir, topic: 't', partition: 0, config: cfg, hadCleanShutdown: true })
    expect(again.logEndOffset).toBe(100)
    const after = Buffer.from((await again.read(0, 1 << 20)).records)
    expect(after.equals(before.subarray(0, after.length))).toBe(true)
    expect((await again.append(batch(1))).baseOffset).toBe(100)
    await again.close()
  })
})

describe('PartitionLog timestamps', () => {
  it('finds the earliest offset with timestamp >= T on non-monotonic timestamps across segments', async () => {
    const log = open({ 'segment.bytes': '600', 'index.interval.bytes': '100' })
    // batch i holds two records; timestamps jump around
    const stamps = [
      [100, 300],
      [200, 150],
      [500, 120],
      [400, 450],
      [90, 80],
      [700, 600],
      [650, 10],
    ]
    for (const ts of stamps) await log.append(batch(2, { timestamps: ts }))
    const all = stamps.flat()
    const expectFor = (t: number): { offset: number; timestamp: number } | null => {
      const i = all.findIndex((ts) => ts >= t)
      return i < 0 ? null : { offset: i, timestamp: all[i]! }
    }
    for (const t of [0, 80, 100, 101, 150, 160, 300, 301, 450, 460, 500, 501, 600, 650, 651, 700, 701]) {
      expect(await log.offsetForTimestamp(t), `T=${t}`).toEqual(expectFor(t))
    }
    expect(log.maxTimestampOffset()).toEqual({ offset: 10, timestamp: 700 })
    await log.close()
  })

  it('stamps LogAppendTime on every batch when asked', async () => {
    const log = open()
    const res = await log.append(Buffer.concat([batch(2), batch(3)]), { logAppendTime: 1_234_567 })
    expect(res).toMatchObject({ baseOffset: 0, lastOffset: 4, logAppendTime: 1_234_567 })
    expect(await log.offsetForTimestamp(1_234_567)).toEqual({ offset: 0, timestamp: 1_234_567 })
    expect(await log.offsetForTimestamp(1_234_568)).toBeNull()
    await log.close()
  })
})

describe('PartitionLog deleteRecords and truncation', () => {
  it('moves logStartOffset and deletes whole segments below it, never the active one', async () => {
    const log = open({ 'segment.bytes': '500' })
    for (let i = 0; i < 30; i++) await log.append(batch(2, { valueSize: 30 }))
    const before = log.segmentCount
    const cut = log.segmentList[3]!.baseOffset + 1
    expect(await log.deleteRecordsBefore(cut)).toBe(cut)
    expect(log.logStartOffset).toBe(cut)
    expect(log.segmentCount).toBe(before - 3)
    await expect(log.read(cut - 1, 100)).rejects.toBeInstanceOf(OffsetOutOfRangeError)
    expect(recordOffsets((await log.read(cut, 1)).records)).toContain(cut)
    await expect(log.deleteRecordsBefore(log.highWatermark + 1)).rejects.toBeInstanceOf(OffsetOutOfRangeError)
    expect(await log.deleteRecordsBefore(-1)).toBe(60)
    expect(log.segmentCount).toBe(1)
    expect((await log.read(60, 100)).records.length).toBe(0)
    await log.close()
  })

  it('truncates to an offset, dropping later segments, and appends continue from there', async () => {
    const log = open({ 'segment.bytes': '500' })
    for (let i = 0; i < 30; i++) await log.append(batch(2, { valueSize: 30 }))
    await log.truncateTo(21)
    expect(log.logEndOffset).toBe(20)
    expect(log.segmentList[log.segmentList.length - 1]!.nextOffset).toBe(20)
    expect((await log.append(batch(1))).baseOffset).toBe(20)
    const offs: number[] = []
    let next = 0
    while (next < log.logEndOffset) {
      const o = recordOffsets((await log.read(next, 10_000)).records).filter((x) => x >= next)
      offs.push(...o)
      next = o[o.length - 1]! + 1
    }
    expect(offs).toEqual(Array.from({ length: 21 }, (_, i) => i))
    await log.close()
  })

  it('notifies append listeners and stops after unsubscribe', async () => {
    const log = open()
    let calls = 0
    const off = log.addAppendListener(() => calls++)
    await log.append(batch(1))
    off()
    await log.append(batch(1))
    expect(calls).toBe(1)
    await log.close()
  })

  it('rejects malformed input without changing the log', async () => {
    const log = open({ 'max.message.bytes': '1000' })
    await expect(log.append(batch(2).subarray(0, 40))).rejects.toMatchObject({ kafkaError: 'CORRUPT_MESSAGE' })
    await expect(log.append(batch(1, { valueSize: 2000 }))).rejects.toMatchObject({ kafkaError: 'MESSAGE_TOO_LARGE' })
    expect(log.logEndOffset).toBe(0)
    expect(log.offline).toBe(false)
    await log.close()
  })
})

describe('PartitionLog reads on the thread pool', () => {
  /** nodeFileIO whose pool reads wait for release(), and which records every close. */
  function gatedIO() {
    const closed: number[] = []
    const readFds: number[] = []
    const gates: Array<() => void> = []
    const io: FileIO = {
      ...nodeFileIO,
      close: (fd) => {
        closed.push(fd)
        nodeFileIO.close(fd)
      },
      readAsync: async (fd, buf, offset, length, position) => {
        readFds.push(fd)
        await new Promise<void>((r) => gates.push(r))
        return nodeFileIO.readAsync(fd, buf, offset, length, position)
      },
    }
    return { io, closed, readFds, gates, release: () => gates.splice(0).forEach((g) => g()) }
  }

  it('reads large ranges on the pool with the same result as a synchronous read', async () => {
    const log = open()
    for (let i = 0; i < 40; i++) await log.append(batch(10, { valueSize: 1000 }))
    expect(log.activeSegment.size).toBeGreaterThan(ASYNC_READ_MIN_BYTES)
    const sync = log.readSync(0, 1 << 20)
    const pooled = await log.read(0, 1 << 20)
    expect(Buffer.from(pooled.records).equals(Buffer.from(sync.records))).toBe(true)
    expect(recordOffsets(pooled.records)).toEqual(Array.from({ length: 400 }, (_, i) => i))
    await log.close()
  })

  it('keeps a segment file open until a pool read of it is done, even when the segment is deleted meanwhile', async () => {
    const g = gatedIO()
    const log = open({ 'segment.bytes': String(1 << 20) }, { io: g.io })
    for (let i = 0; i < 40; i++) await log.append(batch(10, { valueSize: 1000 }))
    const expected = Buffer.from(log.readSync(0, 1 << 20).records)
    const seg = log.activeSegment
    const pending = log.read(0, 1 << 20)
    await new Promise((r) => setImmediate(r))
    expect(g.gates.length).toBe(1) // the read is parked on the pool
    const fd = g.readFds[0]!
    seg.delete()
    expect(fs.existsSync(seg.logFile)).toBe(false)
    // The descriptor must survive: closing it now could hand its number to another file.
    expect(g.closed).not.toContain(fd)
    g.release()
    const got = await pending
    expect(Buffer.from(got.records).equals(expected)).toBe(true)
    expect(g.closed).toContain(fd)
  })
})

