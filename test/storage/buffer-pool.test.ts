import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BufferPool } from '../../storage/buffer-pool.js'
import { PartitionLog } from '../../storage/partition-log.js'
import { batch, config, recordOffsets, tempDir } from './helpers.js'

const KB = 1024

describe('BufferPool', () => {
  it('hands a released buffer to the next lease of a similar size', () => {
    const pool = new BufferPool(64 * KB, 1024 * KB, 4096 * KB)
    const a = pool.lease(100 * KB)
    expect(a.length).toBe(100 * KB)
    expect(pool.owns(a)).toBe(true)
    pool.release(a.subarray(10, 20))
    expect(pool.owns(a)).toBe(false)
    expect(pool.stats.buffers).toBe(1)
    const b = pool.lease(90 * KB)
    expect(b.buffer).toBe(a.buffer)
    expect(b.length).toBe(90 * KB)
    expect(pool.stats.buffers).toBe(0)
  })

  it('never gives one buffer to two leases: a second release, or a release of a foreign buffer, is ignored', () => {
    const pool = new BufferPool(64 * KB, 1024 * KB, 4096 * KB)
    const a = pool.lease(64 * KB)
    pool.release(a)
    pool.release(a)
    pool.release(Buffer.alloc(64 * KB))
    expect(pool.stats.buffers).toBe(1)
    const b = pool.lease(64 * KB)
    const c = pool.lease(64 * KB)
    expect(b.buffer).toBe(a.buffer)
    expect(c.buffer).not.toBe(b.buffer)
  })

  it('does not pool sizes outside its range, nor serve a small lease from a much larger buffer', () => {
    const pool = new BufferPool(64 * KB, 1024 * KB, 4096 * KB)
    const small = pool.lease(1 * KB)
    const huge = pool.lease(2048 * KB)
    expect(pool.owns(small)).toBe(false)
    expect(pool.owns(huge)).toBe(false)
    const big = pool.lease(1000 * KB)
    pool.release(big)
    expect(pool.lease(100 * KB).buffer).not.toBe(big.buffer)
    expect(pool.lease(600 * KB).buffer).toBe(big.buffer)
  })

  it('keeps at most maxFreeBytes in free buffers', () => {
    const pool = new BufferPool(64 * KB, 1024 * KB, 256 * KB)
    const leases = Array.from({ length: 6 }, () => pool.lease(64 * KB))
    for (const b of leases) pool.release(b)
    expect(pool.stats.buffers).toBe(4)
    expect(pool.stats.bytes).toBe(256 * KB)
  })
})

describe('LogSegment reads through the read pool', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
  })

  it('returns exactly the stored batches when read buffers are released and reused between reads', async () => {
    const root = tempDir()
    dirs.push(root)
    const log = PartitionLog.open({ dir: path.join(root, 't-0'), topic: 't', partition: 0, config: config({ 'segment.bytes': String(256 * KB) }) })
    const stored: Buffer[] = []
    for (let i = 0; i < 300; i++) {
      const b = batch(1 + (i % 7), { valueSize: 200 + (i % 13) * 50 })
      await log.append(b)
      stored.push(Buffer.from(b))
    }
    const expected = Buffer.concat(stored)
    expect(log.segmentCount).toBeGreaterThan(1)
    // Page through everything with read sizes that cross pooled sizes; each page is checked and
    // released before the next read, so later reads land in the memory of earlier ones.
    let next = 0
    let pos = 0
    let reused = 0
    const seen = new Set<ArrayBufferLike>()
    for (const maxBytes of [70 * KB, 200 * KB, 90 * KB, 400 * KB, 65 * KB, 1024 * KB, 130 * KB]) {
      if (next >= log.logEndOffset) break
      const r = log.readSync(next, maxBytes)
      expect(r.records.length).toBeGreaterThan(0)
      expect(Buffer.from(r.records).equals(expected.subarray(pos, pos + r.records.length))).toBe(true)
      if (seen.has(r.records.buffer)) reused++
      seen.add(r.records.buffer)
      pos += r.records.length
      const offs = recordOffsets(r.records)
      next = offs[offs.length - 1]! + 1
      r.release()
      expect(r.records.length).toBe(0)
    }
    expect(reused).toBeGreaterThan(0)
    await log.close()
  })

  it('keeps an unreleased read intact while later reads use the pool', async () => {
    const root = tempDir()
    dirs.push(root)
    const log = PartitionLog.open({ dir: path.join(root, 't-0'), topic: 't', partition: 0, config: config() })
    for (let i = 0; i < 100; i++) await log.append(batch(5, { valueSize: 500 }))
    const held = log.readSync(0, 100 * KB).records
    const copy = Buffer.from(held)
    for (let i = 0; i < 20; i++) log.readSync(i * 5, 100 * KB).release()
    expect(Buffer.from(held).equals(copy)).toBe(true)
    await log.close()
  })

  it('gives a read\'s buffer back once, however often the read is released', async () => {
    const root = tempDir()
    dirs.push(root)
    const log = PartitionLog.open({ dir: path.join(root, 't-0'), topic: 't', partition: 0, config: config() })
    for (let i = 0; i < 100; i++) await log.append(batch(5, { valueSize: 500 }))
    const first = log.readSync(0, 100 * KB)
    const memory = first.records.buffer
    first.release()
    const second = log.readSync(0, 100 * KB)
    expect(second.records.buffer).toBe(memory)
    first.release()
    const third = log.readSync(0, 100 * KB)
    expect(third.records.buffer).not.toBe(memory)
    expect(Buffer.from(second.records).equals(Buffer.from(third.records))).toBe(true)
    await log.close()
  })
})
