import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DescriptorCache, FileHandle } from '../../storage/file-handle.js'
import { nodeFileIO, type FileIO } from '../../storage/file-io.js'
import { tempDir } from './helpers.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

/** nodeFileIO counting open descriptors; opens fail with EMFILE beyond `max`. */
function countingIO(max = Infinity): FileIO & { open: FileIO['open']; held: Set<number> } {
  const held = new Set<number>()
  return {
    ...nodeFileIO,
    held,
    open(file, flags) {
      if (held.size >= max) throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' })
      const fd = nodeFileIO.open(file, flags)
      held.add(fd)
      return fd
    },
    close(fd) {
      held.delete(fd)
      nodeFileIO.close(fd)
    },
  }
}

function files(n: number): string[] {
  const dir = tempDir()
  dirs.push(dir)
  return Array.from({ length: n }, (_, i) => {
    const f = path.join(dir, `f${i}`)
    fs.writeFileSync(f, `file ${i}`)
    return f
  })
}

function readAll(io: FileIO, h: FileHandle): string {
  const buf = Buffer.alloc(16)
  const n = io.read(h.fd(), buf, 0, 16, 0)
  return buf.subarray(0, n).toString()
}

describe('FileHandle and DescriptorCache', () => {
  it('keeps at most `limit` descriptors open and reopens evicted files on use', () => {
    const io = countingIO()
    const cache = new DescriptorCache(4)
    const handles = files(20).map((f) => new FileHandle(io, f, { cache }))
    for (let round = 0; round < 3; round++) {
      handles.forEach((h, i) => expect(readAll(io, h)).toBe(`file ${i}`))
      expect(io.held.size).toBeLessThanOrEqual(4)
      expect(cache.size).toBe(io.held.size)
    }
    for (const h of handles) h.close()
    expect(io.held.size).toBe(0)
  })

  it('never evicts or closes a pinned descriptor before its work is done', async () => {
    const io = countingIO()
    const cache = new DescriptorCache(2)
    const [first, ...rest] = files(6).map((f) => new FileHandle(io, f, { cache }))
    const pin = first!.pin()
    for (const h of rest) readAll(io, h)
    expect(io.held.has(pin.fd)).toBe(true)
    first!.close()
    // Still the same open file for the pinned work, so its number cannot have been reused.
    expect(io.held.has(pin.fd)).toBe(true)
    expect(readAll(io, first!)).toBe('file 0')
    first!.unpin(pin)
    expect(io.held.has(pin.fd)).toBe(false)
    expect(() => first!.fd()).toThrow(/EBADF/)
  })

  it('a sync queued before close runs on the descriptor it was issued for', async () => {
    const io = countingIO()
    const cache = new DescriptorCache(8)
    const [f] = files(1)
    const h = new FileHandle(io, f!, { cache })
    const synced = h.sync()
    h.close()
    await synced
    expect(io.held.size).toBe(0)
  })

  it('lowers its limit and closes idle descriptors when the process runs out (EMFILE)', () => {
    const io = countingIO(5)
    const cache = new DescriptorCache(100)
    const handles = files(12).map((f) => new FileHandle(io, f, { cache }))
    handles.forEach((h, i) => expect(readAll(io, h)).toBe(`file ${i}`))
    expect(io.held.size).toBeLessThanOrEqual(5)
    expect(cache.limit).toBeLessThan(100)
  })
})
