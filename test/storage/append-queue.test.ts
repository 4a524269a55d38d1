// The append queue of PartitionLog: offsets in call order, one write per partition in flight with
// what queued behind it written together, reads and the log end offset moving only once a write
// has landed, rolls waiting for the write in flight, and a failed write answering it and every
// append behind it with an error. A FileIO whose pwritev waits at a gate lets each test choose
// the interleaving.
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { batchSizeAt } from '../../protocol/record-batch.js'
import { KafkaStorageError } from '../../storage/errors.js'
import { nodeFileIO, type FileIO } from '../../storage/file-io.js'
import { PartitionLog } from '../../storage/partition-log.js'
import { batch, config, recordOffsets, tempDir } from './helpers.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

/** nodeFileIO whose pwritev, while `gated`, waits until release() (or fails with fail()). */
class GatedIO {
  gated = false
  writes = 0
  private parked: Array<{ go: () => void; fail: (err: Error) => void }> = []
  readonly io: FileIO = {
    ...nodeFileIO,
    writevAsync: async (fd, bufs, position) => {
      this.writes++
      if (this.gated) await new Promise<void>((go, fail) => this.parked.push({ go, fail }))
      return nodeFileIO.writevAsync(fd, bufs, position)
    },
  }
  get waiting(): number {
    return this.parked.length
  }
  release(): void {
    for (const p of this.parked.splice(0)) p.go()
  }
  fail(code: string): void {
    const err = Object.assign(new Error(`${code}: injected`), { code })
    for (const p of this.parked.splice(0)) p.fail(err)
  }
}

/** Where writes go: 'pool' every one, 'loop' none (the default), 'split' from 64 KiB. */
type Writes = 'pool' | 'loop' | 'split'
const MIN_BYTES: Record<Writes, number> = { pool: 0, loop: Infinity, split: 64 * 1024 }

function open(dir: string, io: FileIO, overrides: Record<string, string> = {}, writes: Writes = 'pool', clean = true): PartitionLog {
  const recovery = clean ? {} : { recoveryPoint: 0 }
  return PartitionLog.open({ dir, topic: 't', partition: 0, config: config(overrides), io, poolWriteMinBytes: MIN_BYTES[writes], hadCleanShutdown: clean, ...recovery })
}

function setup(overrides: Record<string, string> = {}, writes: Writes = 'pool'): { dir: string; gate: GatedIO; log: PartitionLog } {
  const root = tempDir()
  dirs.push(root)
  const dir = path.join(root, 't-0')
  const gate = new GatedIO()
  return { dir, gate, log: open(dir, gate.io, overrides, writes) }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 2))
  expect(check()).toBe(true)
}

/** Every record's offset and value, from the log start. */
async function contents(log: PartitionLog): Promise<Array<[number, string]>> {
  const res = await log.read(log.logStartOffset, 1 << 26)
  const out: Array<[number, string]> = []
  for (let pos = 0; pos < res.records.length; pos += batchSizeAt(res.records, pos)) {
    for (const r of iterateRecords(res.records, pos)) out.push([r.offset, Buffer.from(r.value!).toString()])
  }
  res.release()
  return out
}

/** A batch whose records are named `${tag}-${i}`. */
function named(tag: string, count: number, valueSize = 0): Buffer {
  return encodeBatch(Array.from({ length: count }, (_, i) => ({ key: null, value: `${tag}-${i}`.padEnd(valueSize, '.'), headers: [], timestamp: Date.now() })))
}

/** Settles into 'ok' or the error, so a test can see that nothing resolved. */
function outcome<T>(p: Promise<T>): { state: 'pending' | 'ok' | 'failed'; value?: T; error?: unknown; done: Promise<void> } {
  const o: { state: 'pending' | 'ok' | 'failed'; value?: T; error?: unknown; done: Promise<void> } = { state: 'pending', done: Promise.resolve() }
  o.done = p.then(
    (v) => {
      o.state = 'ok'
      o.value = v
    },
    (e: unknown) => {
      o.state = 'failed'
      o.error = e
    },
  )
  return o
}

describe('the append queue', () => {
  it('gives offsets in call order, writes what queued behind the write in flight as one, and shows nothing before it lands', async () => {
    const { log, gate } = setup()
    await log.append(named('warm', 1))
    gate.gated = true
    gate.writes = 0
    const first = outcome(log.append(named('a', 2)))
    await until(() => gate.waiting === 1)
    const behind = ['b', 'c', 'd', 'e'].map((tag) => outcome(log.append(named(tag, 3))))
    // Nothing of it is visible yet: neither the log end nor a read moves.
    expect(log.logEndOffset).toBe(1)
    expect((await contents(log)).map(([o]) => o)).toEqual([0])
    expect(first.state).toBe('pending')
    gate.release()
    await until(() => gate.waiting === 1) // the four queued appends, in one write
    expect(first.state).toBe('ok')
    expect(first.value!.baseOffset).toBe(1)
    expect(log.logEndOffset).toBe(3)
    expect(behind.every((o) => o.state === 'pending')).toBe(true)
    gate.release()
    await Promise.all(behind.map((o) => o.done))
    expect(gate.writes).toBe(2)
    expect(behind.map((o) => o.value!.baseOffset)).toEqual([3, 6, 9, 12])
    const expected: Array<[number, string]> = [[0, 'warm-0'], [1, 'a-0'], [2, 'a-1']]
    for (const [k, tag] of ['b', 'c', 'd', 'e'].entries()) for (let i = 0; i < 3; i++) expected.push([3 + 3 * k + i, `${tag}-${i}`])
    expect(await contents(log)).toEqual(expected)
    await log.close()
  })

  it('a failed write rejects it and every append queued behind it; what was acknowledged before stays', async () => {
    const { dir, log, gate } = setup()
    await log.append(named('ok', 2), { durable: true })
    gate.gated = true
    const failed = outcome(log.append(named('x', 2)))
    await until(() => gate.waiting === 1)
    const behind = [outcome(log.append(named('y', 1), { durable: true })), outcome(log.append(named('z', 1)))]
    gate.fail('EIO')
    await Promise.all([failed.done, ...behind.map((o) => o.done)])
    for (const o of [failed, ...behind]) {
      expect(o.state).toBe('failed')
      expect(o.error).toBeInstanceOf(KafkaStorageError)
    }
    expect(log.offline).toBe(true)
    expect(log.offlineForSpace).toBe(false)
    expect(log.logEndOffset).toBe(2)
    await expect(log.append(named('after', 1))).rejects.toBeInstanceOf(KafkaStorageError)
    await log.close()
    const again = open(dir, nodeFileIO, {}, 'pool', false)
    expect(await contents(again)).toEqual([[0, 'ok-0'], [1, 'ok-1']])
    await again.close()
  })

  it('a full disk refusing the write in flight fails the queue behind it; once recovered, appends resume at the same offset', async () => {
    const { log, gate } = setup()
    await log.append(named('ok', 2))
    gate.gated = true
    const failed = outcome(log.append(named('x', 2)))
    await until(() => gate.waiting === 1)
    const behind = outcome(log.append(named('y', 1)))
    gate.fail('ENOSPC')
    await Promise.all([failed.done, behind.done])
    expect([failed.state, behind.state]).toEqual(['failed', 'failed'])
    expect(log.offlineForSpace).toBe(true)
    gate.gated = false
    log.recoverFromFullDisk()
    expect(log.offline).toBe(false)
    expect((await log.append(named('again', 1), { durable: true })).baseOffset).toBe(2)
    expect(await contents(log)).toEqual([[0, 'ok-0'], [1, 'ok-1'], [2, 'again-0']])
    await log.close()
  })

  it('answers a retried producer batch only once the original, still in flight, is written', async () => {
    const { log, gate } = setup()
    const producerBatch = () => encodeBatch([{ key: null, value: 'p0', headers: [], timestamp: Date.now() }], { producerId: 7, producerEpoch: 0, baseSequence: 0 })
    gate.gated = true
    const original = outcome(log.append(producerBatch()))
    await until(() => gate.waiting === 1)
    const retry = outcome(log.append(producerBatch()))
    await new Promise((r) => setTimeout(r, 20))
    expect(retry.state).toBe('pending')
    gate.release()
    await Promise.all([original.done, retry.done])
    expect(original.value!.baseOffset).toBe(0)
    expect(retry.value!.baseOffset).toBe(0)
    expect(log.logEndOffset).toBe(1)
    await log.close()
  })

  it('close() writes what is queued before it flushes', async () => {
    const { dir, log } = setup()
    const pending = Array.from({ length: 20 }, (_, i) => log.append(named(`c${i}`, 2)))
    await log.close()
    expect((await Promise.all(pending)).map((r) => r.baseOffset)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i))
    const again = open(dir, nodeFileIO)
    expect(again.logEndOffset).toBe(40)
    await again.close()
  })

  for (const mode of ['pool', 'loop'] as const) {
    it(`rolls between writes, never under one: segments, indexes and a recovery agree (${mode})`, async () => {
      const { dir, log } = setup({ 'segment.bytes': '4000', 'index.interval.bytes': '300' }, mode)
      // Fired without waiting, each with its own bytes: rolls come due while writes are in flight.
      const results = await Promise.all(Array.from({ length: 120 }, (_, i) => log.append(named(`r${i}`, 1 + (i % 4), 60))))
      let next = 0
      for (const [i, r] of results.entries()) {
        expect(r.baseOffset).toBe(next)
        next += 1 + (i % 4)
      }
      expect(log.logEndOffset).toBe(next)
      expect(log.segmentCount).toBeGreaterThan(5)
      const segs = log.segmentList
      for (let i = 0; i + 1 < segs.length; i++) {
        expect(segs[i]!.size).toBeLessThanOrEqual(4000)
        expect(segs[i]!.nextOffset).toBe(segs[i + 1]!.baseOffset)
      }
      // Every offset is found from its index entry.
      for (let o = 0; o < next; o += 7) {
        const got = recordOffsets((await log.read(o, 1)).records)
        expect(got[0]).toBeLessThanOrEqual(o)
        expect(got).toContain(o)
      }
      const before = await contents(log)
      const count = log.segmentCount
      await log.close()
      const again = open(dir, nodeFileIO, {}, mode, false)
      expect(again.segmentCount).toBe(count)
      expect(await contents(again)).toEqual(before)
      await again.close()
    })
  }

  it('split by size, a small write is done on the loop before append() returns, a large one on the pool', async () => {
    const { log, gate } = setup({}, 'split')
    const small = log.append(batch(3))
    expect(log.logEndOffset).toBe(3)
    await small
    expect(gate.writes).toBe(0)
    const large = log.append(batch(4, { valueSize: MIN_BYTES.split / 4 }))
    expect(log.logEndOffset).toBe(3)
    await large
    expect(log.logEndOffset).toBe(7)
    expect(gate.writes).toBe(1)
    await log.close()
  })
})
