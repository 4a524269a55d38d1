import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { PartitionLog } from '../../storage/partition-log.js'
import { FaultyFileIO, nodeFileIO, type FileIO } from '../../storage/file-io.js'
import { NotLeaderError } from '../../storage/errors.js'
import { KafkaStorageError } from '../../storage/errors.js'
import { segmentFileName } from '../../storage/segment.js'
import { batch, config, recordOffsets, tempDir } from './helpers.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

function setup(overrides: Record<string, string> = {}): { dir: string; io: FaultyFileIO; log: PartitionLog } {
  const root = tempDir()
  dirs.push(root)
  const dir = path.join(root, 't-0')
  const io = new FaultyFileIO()
  const log = PartitionLog.open({ dir, topic: 't', partition: 0, config: config(overrides), io })
  return { dir, io, log }
}

async function eventually(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

function reopen(dir: string, recoveryPoint = 0): PartitionLog {
  return PartitionLog.open({ dir, topic: 't', partition: 0, config: config(), recoveryPoint, hadCleanShutdown: false })
}

async function offsets(log: PartitionLog): Promise<number[]> {
  return recordOffsets((await log.read(log.logStartOffset, 1 << 24)).records)
}

describe('durable appends', () => {
  it('resolve after an fsync that covers them and advance the recovery point', async () => {
    const { log, io } = setup()
    const before = io.stats.syncs
    const res = await log.append(batch(3), { durable: true })
    expect(res.lastOffset).toBe(2)
    expect(io.stats.syncs).toBeGreaterThan(before)
    expect(log.recoveryPoint).toBe(3)
    await log.append(batch(1))
    expect(log.recoveryPoint).toBe(3)
    await log.close()
  })

  it('share fsyncs between concurrent appenders (group commit)', async () => {
    const { log, io } = setup()
    await log.flush()
    const before = io.stats.syncs
    const results = await Promise.all(Array.from({ length: 64 }, () => log.append(batch(1), { durable: true })))
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 64 }, (_, i) => i))
    // one fsync for the first appender, one for everyone who arrived while it ran
    expect(io.stats.syncs - before).toBeLessThanOrEqual(4)
    expect(log.recoveryPoint).toBe(64)
    await log.close()
  })

  it('flush.messages triggers a background flush', async () => {
    const { log } = setup({ 'flush.messages': '5' })
    for (let i = 0; i < 4; i++) await log.append(batch(1))
    await new Promise((r) => setTimeout(r, 20))
    expect(log.recoveryPoint).toBe(0)
    await log.append(batch(1))
    await eventually(() => log.recoveryPoint === 5)
    await log.close()
  })

  it('flush.ms flushes data older than the interval', async () => {
    const { log } = setup({ 'flush.ms': '10' })
    await log.append(batch(2))
    await new Promise((r) => setTimeout(r, 20))
    log.maybeFlushByTime(Date.now())
    await eventually(() => log.recoveryPoint === 2)
    await log.close()
  })
})

describe('I/O faults', () => {
  it('a durable append truncated away before its fsync answers NOT_LEADER_OR_FOLLOWER and leaves the partition online', async () => {
    // Real files; fsyncs wait while the gate is shut, so the truncation surely comes first.
    let open: () => void = () => {}
    let gate: Promise<void> | undefined
    const held = <T>(f: () => Promise<T>): Promise<T> => (gate === undefined ? f() : gate.then(f))
    const io: FileIO = { ...nodeFileIO, fsync: (fd) => held(() => nodeFileIO.fsync(fd)), fdatasync: (fd) => held(() => nodeFileIO.fdatasync(fd)), fsyncDir: (d) => held(() => nodeFileIO.fsyncDir(d)) }
    const root = tempDir()
    dirs.push(root)
    const log = PartitionLog.open({ dir: path.join(root, 't-0'), topic: 't', partition: 0, config: config(), io })
    await log.append(batch(2), { durable: true })
    gate = new Promise((resolve) => (open = resolve))
    const pending = log.append(batch(1), { durable: true })
    await eventually(() => log.logEndOffset === 3)
    await log.truncateTo(2)
    const err = await pending.then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(NotLeaderError)
    expect(err).toMatchObject({ kafkaError: 'NOT_LEADER_OR_FOLLOWER' })
    open()
    gate = undefined
    expect(log.offline).toBe(false)
    expect(await offsets(log)).toEqual([0, 1])
    await log.close()
  })

  it('a failed fsync rejects every waiting durable append and takes the partition offline', async () => {
    const { log, io } = setup()
    await log.append(batch(1), { durable: true })
    io.failNextSync()
    const results = await Promise.allSettled([log.append(batch(1), { durable: true }), log.append(batch(1), { durable: true })])
    for (const r of results) {
      expect(r.status).toBe('rejected')
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(KafkaStorageError)
    }
    expect(log.offline).toBe(true)
    expect(log.recoveryPoint).toBe(1)
    await expect(log.append(batch(1))).rejects.toMatchObject({ kafkaError: 'KAFKA_STORAGE_ERROR' })
    await expect(log.read(0, 100)).rejects.toMatchObject({ kafkaError: 'KAFKA_STORAGE_ERROR' })
    await expect(log.close()).resolves.toBeUndefined()
  })

  it('a failed write rejects the append, keeps offsets unassigned, and goes offline', async () => {
    const { dir, log, io } = setup()
    await log.append(batch(2))
    io.failNextWrite()
    await expect(log.append(batch(2), { durable: true })).rejects.toBeInstanceOf(KafkaStorageError)
    expect(log.offline).toBe(true)
    expect(log.logEndOffset).toBe(2)
    await log.close()
    const again = reopen(dir)
    expect(await offsets(again)).toEqual([0, 1])
    await again.close()
  })

  it('a short write followed by an error never reports success and leaves no torn batch', async () => {
    const { dir, log, io } = setup()
    await log.append(batch(2), { durable: true })
    io.shortNextWrite(30)
    await expect(log.append(batch(3, { valueSize: 100 }))).rejects.toBeInstanceOf(KafkaStorageError)
    expect(log.offline).toBe(true)
    await log.close()
    const again = reopen(dir)
    expect(again.logEndOffset).toBe(2)
    expect(await offsets(again)).toEqual([0, 1])
    await again.close()
  })

  it('a partition a full disk took offline comes back in place: the torn write is gone, appends resume', async () => {
    const { log, io } = setup()
    await log.append(batch(2), { durable: true })
    await log.append(batch(1)) // acknowledged, not yet fsynced
    io.shortNextWrite(30)
    await expect(log.append(batch(3, { valueSize: 100 }))).rejects.toBeInstanceOf(KafkaStorageError)
    expect(log.offlineForSpace).toBe(true)
    await expect(log.append(batch(1))).rejects.toBeInstanceOf(KafkaStorageError)
    log.recoverFromFullDisk()
    expect(log.offline).toBe(false)
    expect(log.logEndOffset).toBe(3)
    expect((await log.append(batch(2), { durable: true })).baseOffset).toBe(3)
    expect(log.recoveryPoint).toBe(5)
    expect(await offsets(log)).toEqual([0, 1, 2, 3, 4])
    await log.close()
  })

  it('only a full disk is recovered in place: an I/O error keeps the partition offline until a restart', async () => {
    const { log, io } = setup()
    await log.append(batch(2), { durable: true })
    io.failNextWrite() // EIO
    await expect(log.append(batch(1))).rejects.toBeInstanceOf(KafkaStorageError)
    expect(log.offline).toBe(true)
    expect(log.offlineForSpace).toBe(false)
    log.recoverFromFullDisk()
    expect(log.offline).toBe(true)
    await log.close()
  })

  it('a power loss keeps every durable append; a torn unsynced tail is truncated on recovery', async () => {
    for (const torn of [0, 17, 100, 1000]) {
      const { dir, log, io } = setup()
      const durable: number[] = []
      for (let i = 0; i < 20; i++) {
        const r = await log.append(batch(2, { valueSize: 40 }), { durable: i % 3 === 0 })
        if (i % 3 === 0) durable.push(r.lastOffset)
      }
      const lastDurable = durable[durable.length - 1]!
      io.crash((file) => (file.endsWith('.log') ? torn : 0))
      const again = reopen(dir)
      const got = await offsets(again)
      expect(again.logEndOffset).toBeGreaterThan(lastDurable)
      expect(got).toEqual(Array.from({ length: again.logEndOffset }, (_, i) => i))
      const size = fs.statSync(path.join(dir, segmentFileName(0, '.log'))).size
      expect(size).toBeGreaterThan(0)
      await again.close()
    }
  })

  it('stays online when a segment whose fsync is still queued is deleted by DeleteRecords', async () => {
    // fsyncs wait here until released, so the interleaving is the test's to choose
    const gates: Array<() => void> = []
    let gated = false
    const gate = () => (gated ? new Promise<void>((r) => gates.push(r)) : Promise.resolve())
    const io: FileIO = {
      ...nodeFileIO,
      fsync: async (fd) => {
        await gate()
        return nodeFileIO.fsync(fd)
      },
      fdatasync: async (fd) => {
        await gate()
        return nodeFileIO.fdatasync(fd)
      },
    }
    const root = tempDir()
    dirs.push(root)
    const log = PartitionLog.open({ dir: path.join(root, 't-0'), topic: 't', partition: 0, config: config({ 'segment.bytes': '2000' }), io })
    await log.append(batch(3, { valueSize: 500 }))
    const first = log.activeSegment
    gated = true
    const flushed = log.flush() // the first segment's fsync is now queued behind the gate
    await eventually(() => gates.length > 0)
    await log.append(batch(3, { valueSize: 500 })) // rolls: the first segment is no longer active
    expect(log.activeSegment).not.toBe(first)
    await log.deleteRecordsBefore(log.highWatermark) // deletes the first segment, closing its file
    expect(log.segmentList).not.toContain(first)
    gated = false
    for (const release of gates.splice(0)) release() // the queued fsync now meets a closed descriptor
    await flushed
    expect(log.offline).toBe(false)
    // and the partition still takes durable appends
    expect((await log.append(batch(1), { durable: true })).baseOffset).toBe(6)
    await log.close()
  })
})

