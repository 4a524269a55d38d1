import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isControl, readAttributes, batchSizeAt } from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { ControlType, readControlRecord } from '../../protocol/control-records.js'
import { nodeFileIO } from '../../storage/file-io.js'
import { PartitionLog } from '../../storage/partition-log.js'
import { segmentFileName } from '../../storage/segment.js'
import { ABORTED_TXN_SIZE, TxnIndex } from '../../storage/txn-index.js'
import { batch, config, tempDir } from './helpers.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

function partitionDir(): string {
  const root = tempDir()
  dirs.push(root)
  return path.join(root, 't-0')
}

function txnBatch(pid: number, seq: number, count = 1, epoch = 0): Buffer {
  return encodeBatch(
    Array.from({ length: count }, (_, i) => ({ value: `${pid}:${seq + i}` })),
    { producerId: pid, producerEpoch: epoch, baseSequence: seq, transactional: true },
  )
}

function open(dir: string, opts: { clean?: boolean; segmentBytes?: number } = {}): PartitionLog {
  const overrides: Record<string, string> = {}
  if (opts.segmentBytes !== undefined) overrides['segment.bytes'] = String(opts.segmentBytes)
  return PartitionLog.open({ dir, topic: 't', partition: 0, config: config(overrides), hadCleanShutdown: opts.clean ?? false })
}

describe('TxnIndex', () => {
  it("stores Kafka's 34-byte AbortedTxn entries and reads them back", () => {
    const dir = partitionDir()
    fs.mkdirSync(dir, { recursive: true })
    const file = path.join(dir, segmentFileName(0, '.txnindex'))
    const idx = new TxnIndex(nodeFileIO, file)
    expect(fs.existsSync(file)).toBe(false)
    idx.append({ producerId: 2 ** 40 + 3, firstOffset: 5, lastOffset: 9, lastStableOffset: 10 })
    idx.append({ producerId: 4, firstOffset: 7, lastOffset: 20, lastStableOffset: 12 })
    idx.close()
    const raw = fs.readFileSync(file)
    expect(raw.length).toBe(2 * ABORTED_TXN_SIZE)
    expect(ABORTED_TXN_SIZE).toBe(34)
    expect(raw.readInt16BE(0)).toBe(0)
    expect(raw.readBigInt64BE(2)).toBe(BigInt(2 ** 40 + 3))
    expect(raw.readBigInt64BE(10)).toBe(5n)
    expect(raw.readBigInt64BE(18)).toBe(9n)
    expect(raw.readBigInt64BE(26)).toBe(10n)

    const again = new TxnIndex(nodeFileIO, file)
    expect(again.all()).toEqual([
      { producerId: 2 ** 40 + 3, firstOffset: 5, lastOffset: 9, lastStableOffset: 10 },
      { producerId: 4, firstOffset: 7, lastOffset: 20, lastStableOffset: 12 },
    ])
    const out: Array<{ producerId: number }> = []
    // [10, 15): the first ended at 9, before the range; the second overlaps it
    again.collect(10, 15, out as never)
    expect(out.map((e) => e.producerId)).toEqual([4])
    again.truncateTo(20)
    expect(again.all()).toHaveLength(1)
    again.close()
    expect(fs.statSync(file).size).toBe(ABORTED_TXN_SIZE)
  })

  it('ignores a torn trailing entry', () => {
    const dir = partitionDir()
    fs.mkdirSync(dir, { recursive: true })
    const file = path.join(dir, segmentFileName(0, '.txnindex'))
    const idx = new TxnIndex(nodeFileIO, file)
    idx.append({ producerId: 1, firstOffset: 0, lastOffset: 3, lastStableOffset: 4 })
    idx.close()
    fs.appendFileSync(file, Buffer.alloc(10, 1))
    const again = new TxnIndex(nodeFileIO, file)
    expect(again.all()).toHaveLength(1)
    again.close()
    expect(fs.statSync(file).size).toBe(ABORTED_TXN_SIZE)
  })
})

describe('transactions in a partition log', () => {
  it('tracks the last stable offset and indexes aborted transactions', async () => {
    const log = open(partitionDir())
    await log.append(txnBatch(1, 0, 2)) // 0-1, pid 1
    await log.append(batch(1)) // 2, plain
    await log.append(txnBatch(2, 0, 2)) // 3-4, pid 2
    expect(log.lastStableOffset).toBe(0)
    await log.append(txnBatch(1, 2, 1)) // 5
    const abort = await log.appendTxnMarker({ producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: false })
    expect(abort.baseOffset).toBe(6)
    // pid 2's transaction is still open
    expect(log.lastStableOffset).toBe(3)
    expect(log.abortedTransactions(0, log.logEndOffset)).toEqual([{ producerId: 1, firstOffset: 0, lastOffset: 6, lastStableOffset: 3 }])
    expect(log.abortedTransactions(7, log.logEndOffset)).toEqual([])
    await log.appendTxnMarker({ producerId: 2, producerEpoch: 0, coordinatorEpoch: 0, commit: true })
    expect(log.lastStableOffset).toBe(log.highWatermark)
    expect(log.abortedTransactions(0, log.logEndOffset)).toHaveLength(1)

    // the markers are control batches in the log, read back like any batch
    const read = log.readSync(6, 1 << 20)
    const types: number[] = []
    for (let pos = 0; pos < read.records.length; pos += batchSizeAt(read.records, pos)) {
      expect(isControl(readAttributes(read.records, pos))).toBe(true)
      for (const r of iterateRecords(read.records, pos)) types.push(readControlRecord(r)!.type)
    }
    expect(types).toEqual([ControlType.Abort, ControlType.Commit])
    await log.close()
  })

  it('fences a marker from an older epoch and accepts a bumped one that clears the old sequence', async () => {
    const log = open(partitionDir())
    await log.append(txnBatch(1, 0, 1, 3))
    await expect(log.appendTxnMarker({ producerId: 1, producerEpoch: 2, coordinatorEpoch: 0, commit: true })).rejects.toMatchObject({
      kafkaError: 'INVALID_PRODUCER_EPOCH',
    })
    // the coordinator fences by aborting with epoch+1; the old epoch can no longer write
    await log.appendTxnMarker({ producerId: 1, producerEpoch: 4, coordinatorEpoch: 0, commit: false })
    await expect(log.append(txnBatch(1, 1, 1, 3))).rejects.toMatchObject({ kafkaError: 'INVALID_PRODUCER_EPOCH' })
    expect((await log.append(txnBatch(1, 0, 1, 4))).baseOffset).toBe(2)
    expect(log.abortedTransactions(0, 10)).toEqual([{ producerId: 1, firstOffset: 0, lastOffset: 1, lastStableOffset: 2 }])
    await log.close()
  })

  it('rebuilds open transactions and lost index entries after an unclean stop', async () => {
    const dir = partitionDir()
    const log = open(dir, { segmentBytes: 300 })
    for (let i = 0; i < 4; i++) await log.append(batch(2, { valueSize: 40 }))
    await log.append(txnBatch(1, 0, 2))
    await log.append(txnBatch(2, 0, 1))
    await log.appendTxnMarker({ producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: false })
    const aborted = log.abortedTransactions(0, log.logEndOffset)
    expect(aborted).toHaveLength(1)
    const lso = log.lastStableOffset
    const leo = log.logEndOffset
    log.closeForDelete()
    // lose every txn index, as if the crash came before they reached the disk
    for (const name of fs.readdirSync(dir)) if (name.endsWith('.txnindex')) fs.rmSync(path.join(dir, name))

    const reopened = open(dir)
    expect(reopened.logEndOffset).toBe(leo)
    expect(reopened.lastStableOffset).toBe(lso)
    expect(reopened.abortedTransactions(0, reopened.logEndOffset)).toEqual(aborted)
    await reopened.appendTxnMarker({ producerId: 2, producerEpoch: 0, coordinatorEpoch: 0, commit: true })
    expect(reopened.lastStableOffset).toBe(reopened.highWatermark)
    await reopened.close()
  })

  it('rejects control batches from the append path', async () => {
    const log = open(partitionDir())
    const control = encodeBatch([{ key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }], {
      producerId: 1,
      producerEpoch: 0,
      baseSequence: -1,
      transactional: true,
      control: true,
    })
    await expect(log.append(control)).rejects.toMatchObject({ kafkaError: 'INVALID_RECORD' })
    expect(log.logEndOffset).toBe(0)
    await log.close()
  })
})
