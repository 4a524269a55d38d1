import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { PartitionLog } from '../../storage/partition-log.js'
import { ProducerStateManager, incrementSequence, snapshotFileName } from '../../storage/producer-state.js'
import { nodeFileIO } from '../../storage/file-io.js'
import { batch, config, readAllOffsets, tempDir } from './helpers.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

function partitionDir(): string {
  const root = tempDir()
  dirs.push(root)
  return path.join(root, 't-0')
}

const INT32_MAX = 2147483647

interface PBatch {
  pid: number
  epoch?: number
  seq: number
  count?: number
  txn?: boolean
  ts?: number
}

function pbatch(o: PBatch): Buffer {
  const n = o.count ?? 1
  const ts = o.ts ?? Date.now()
  return encodeBatch(
    Array.from({ length: n }, (_, i) => ({ value: `p${o.pid}-s${o.seq + i}`, timestamp: ts })),
    { producerId: o.pid, producerEpoch: o.epoch ?? 0, baseSequence: o.seq, transactional: o.txn ?? false },
  )
}

function open(dir: string, opts: { clean?: boolean; segmentBytes?: number } = {}): PartitionLog {
  const overrides: Record<string, string> = { 'index.interval.bytes': '128' }
  if (opts.segmentBytes !== undefined) overrides['segment.bytes'] = String(opts.segmentBytes)
  return PartitionLog.open({ dir, topic: 't', partition: 0, config: config(overrides), hadCleanShutdown: opts.clean ?? false })
}

async function kafkaErrorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    return (err as { kafkaError?: string }).kafkaError ?? String(err)
  }
  return 'NONE'
}

/** Leaves the log as kill -9 would: nothing flushed or snapshotted at close, files as written. */
function crash(log: PartitionLog): void {
  log.closeForDelete()
}

describe('idempotent appends', () => {
  it('answers a retried batch with its original offsets without writing it again', async () => {
    const log = open(partitionDir())
    expect((await log.append(pbatch({ pid: 7, seq: 0, count: 3 }))).baseOffset).toBe(0)
    expect((await log.append(batch(2))).baseOffset).toBe(3)
    expect((await log.append(pbatch({ pid: 7, seq: 3, count: 2 }))).baseOffset).toBe(5)
    const retry = await log.append(pbatch({ pid: 7, seq: 0, count: 3 }))
    expect(retry).toMatchObject({ baseOffset: 0, lastOffset: 2 })
    const retry2 = await log.append(pbatch({ pid: 7, seq: 3, count: 2 }))
    expect(retry2).toMatchObject({ baseOffset: 5, lastOffset: 6 })
    expect(log.logEndOffset).toBe(7)
    expect(await readAllOffsets(log)).toEqual([0, 1, 2, 3, 4, 5, 6])
    await log.close()
  })

  it('rejects a sequence gap and a stale epoch, leaving the log unchanged', async () => {
    const log = open(partitionDir())
    await log.append(pbatch({ pid: 1, epoch: 2, seq: 0, count: 2 }))
    expect(await kafkaErrorOf(log.append(pbatch({ pid: 1, epoch: 2, seq: 3 })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    expect(await kafkaErrorOf(log.append(pbatch({ pid: 1, epoch: 1, seq: 2 })))).toBe('INVALID_PRODUCER_EPOCH')
    expect(log.logEndOffset).toBe(2)
    // the in-order batch still goes through after the rejections
    expect((await log.append(pbatch({ pid: 1, epoch: 2, seq: 2 }))).baseOffset).toBe(2)
    await log.close()
  })

  it('requires a bumped epoch to start at sequence 0, and then forgets the old epoch', async () => {
    const log = open(partitionDir())
    await log.append(pbatch({ pid: 3, epoch: 0, seq: 0, count: 4 }))
    expect(await kafkaErrorOf(log.append(pbatch({ pid: 3, epoch: 1, seq: 4 })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    expect((await log.append(pbatch({ pid: 3, epoch: 1, seq: 0 }))).baseOffset).toBe(4)
    expect(await kafkaErrorOf(log.append(pbatch({ pid: 3, epoch: 0, seq: 4 })))).toBe('INVALID_PRODUCER_EPOCH')
    expect(log.producerState.entry(3)).toMatchObject({ producerEpoch: 1 })
    await log.close()
  })

  it('accepts any first sequence from a producer it does not know', async () => {
    const log = open(partitionDir())
    expect((await log.append(pbatch({ pid: 11, seq: 4242, count: 2 }))).baseOffset).toBe(0)
    expect((await log.append(pbatch({ pid: 11, seq: 4244 }))).baseOffset).toBe(2)
    await log.close()
  })

  it('wraps sequences at Int32.MAX', async () => {
    expect(incrementSequence(INT32_MAX - 1, 3)).toBe(1)
    const log = open(partitionDir())
    await log.append(pbatch({ pid: 5, seq: INT32_MAX - 1, count: 2 }))
    expect((await log.append(pbatch({ pid: 5, seq: 0, count: 2 }))).baseOffset).toBe(2)
    // a batch spanning the wrap is recognised as a duplicate by its wrapped last sequence
    await log.append(pbatch({ pid: 6, seq: INT32_MAX - 1, count: 3 }))
    expect((await log.append(pbatch({ pid: 6, seq: INT32_MAX - 1, count: 3 }))).baseOffset).toBe(4)
    expect((await log.append(pbatch({ pid: 6, seq: 1 }))).baseOffset).toBe(7)
    await log.close()
  })

  it('remembers only the last five batches of a producer', async () => {
    const log = open(partitionDir())
    for (let s = 0; s < 6; s++) await log.append(pbatch({ pid: 2, seq: s }))
    expect((await log.append(pbatch({ pid: 2, seq: 1 }))).baseOffset).toBe(1)
    expect(await kafkaErrorOf(log.append(pbatch({ pid: 2, seq: 0 })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    expect(log.logEndOffset).toBe(6)
    await log.close()
  })

  it('rejects a non-transactional write while the producer has a transaction open, and multi-batch producer appends', async () => {
    const log = open(partitionDir())
    await log.append(pbatch({ pid: 9, seq: 0, txn: true }))
    expect(await kafkaErrorOf(log.append(pbatch({ pid: 9, seq: 1 })))).toBe('INVALID_TXN_STATE')
    const two = Buffer.concat([pbatch({ pid: 10, seq: 0 }), pbatch({ pid: 10, seq: 1 })])
    expect(await kafkaErrorOf(log.append(two))).toBe('INVALID_RECORD')
    expect(log.logEndOffset).toBe(1)
    await log.close()
  })
})

describe('producer state snapshots and rebuild', () => {
  it('writes a snapshot at the log end on clean close and restores from it without replay', async () => {
    const dir = partitionDir()
    const log = open(dir)
    await log.append(pbatch({ pid: 4, epoch: 3, seq: 0, count: 5 }))
    await log.append(pbatch({ pid: 8, seq: 0, txn: true }))
    await log.close()
    expect(fs.existsSync(path.join(dir, snapshotFileName(6)))).toBe(true)
    // The snapshot alone restores the state: remove the data the replay would need.
    const ps = new ProducerStateManager({ dir, io: nodeFileIO })
    expect(ps.loadLatestSnapshot(6)).toBe(6)
    expect(ps.entry(4)).toMatchObject({ producerEpoch: 3, batches: [{ firstSeq: 0, lastSeq: 4, firstOffset: 0, lastOffset: 4 }] })
    expect(ps.firstUnstableOffset()).toBe(5)

    const reopened = open(dir, { clean: true })
    expect((await reopened.append(pbatch({ pid: 4, epoch: 3, seq: 0, count: 5 }))).baseOffset).toBe(0)
    expect(reopened.lastStableOffset).toBe(5)
    await reopened.close()
  })

  it('rebuilds after an unclean stop by replaying batches after the newest snapshot', async () => {
    const dir = partitionDir()
    const log = open(dir, { segmentBytes: 400 })
    let seq = 0
    for (let i = 0; i < 12; i++) {
      await log.append(pbatch({ pid: 1, seq, count: 2 }))
      seq += 2
    }
    expect(log.segmentCount).toBeGreaterThan(2)
    const snapshots = fs.readdirSync(dir).filter((n) => n.endsWith('.snapshot'))
    expect(snapshots.length).toBeGreaterThan(0)
    await log.append(pbatch({ pid: 2, seq: 0, txn: true }))
    const txnFirst = log.logEndOffset - 1
    await log.append(pbatch({ pid: 1, seq, count: 2 }))
    const leo = log.logEndOffset
    crash(log)

    const reopened = open(dir)
    expect(reopened.logEndOffset).toBe(leo)
    // the last batch, written after the newest snapshot, is known again: its retry is a duplicate
    expect((await reopened.append(pbatch({ pid: 1, seq, count: 2 }))).baseOffset).toBe(leo - 2)
    expect(await kafkaErrorOf(reopened.append(pbatch({ pid: 1, seq: seq + 5 })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    expect(reopened.lastStableOffset).toBe(txnFirst)
    expect(reopened.logEndOffset).toBe(leo)
    await reopened.close()
  })

  it('drops snapshots beyond a truncated log end and rebuilds from what remains', async () => {
    const dir = partitionDir()
    const log = open(dir)
    await log.append(pbatch({ pid: 1, seq: 0, count: 3 }))
    await log.append(pbatch({ pid: 1, seq: 3, count: 3 }))
    await log.truncateTo(3)
    expect(await kafkaErrorOf(log.append(pbatch({ pid: 1, seq: 6 })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    expect((await log.append(pbatch({ pid: 1, seq: 3, count: 3 }))).baseOffset).toBe(3)
    await log.close()
    // a stale snapshot claiming more than the log holds must not be trusted
    fs.copyFileSync(path.join(dir, snapshotFileName(6)), path.join(dir, snapshotFileName(60)))
    const reopened = open(dir, { clean: true })
    expect(fs.existsSync(path.join(dir, snapshotFileName(60)))).toBe(false)
    expect(reopened.producerState.entry(1)?.batches.at(-1)).toMatchObject({ lastSeq: 5, lastOffset: 5 })
    await reopened.close()
  })

  it('ignores a corrupt snapshot and replays the log instead', async () => {
    const dir = partitionDir()
    const log = open(dir)
    await log.append(pbatch({ pid: 12, seq: 0, count: 2 }))
    await log.close()
    const file = path.join(dir, snapshotFileName(2))
    const bytes = fs.readFileSync(file)
    bytes[bytes.length - 1]! ^= 0xff
    fs.writeFileSync(file, bytes)
    const reopened = open(dir, { clean: true })
    expect((await reopened.append(pbatch({ pid: 12, seq: 0, count: 2 }))).baseOffset).toBe(0)
    await reopened.close()
  })

  it('closes without rewriting a snapshot the state has not changed since', async () => {
    const dir = partitionDir()
    const log = open(dir)
    await log.append(pbatch({ pid: 3, seq: 0, count: 2 }))
    await log.close()
    const file = path.join(dir, snapshotFileName(2))
    const written = fs.statSync(file).ino
    const reopened = open(dir, { clean: true })
    await reopened.close()
    // the same file: not replaced through a temporary file and a rename
    expect(fs.statSync(file).ino).toBe(written)
    const third = open(dir, { clean: true })
    expect((await third.append(pbatch({ pid: 3, seq: 0, count: 2 }))).baseOffset).toBe(0)
    await third.append(pbatch({ pid: 3, seq: 2 }))
    await third.close()
    expect(fs.existsSync(path.join(dir, snapshotFileName(3)))).toBe(true)
  })

  it('closes a partition never written without a snapshot, and one written with one', async () => {
    const dir = partitionDir()
    await open(dir).close()
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.snapshot'))).toEqual([])
    const reopened = open(dir, { clean: true })
    expect(reopened.logEndOffset).toBe(0)
    await reopened.append(batch(1))
    await reopened.close()
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.snapshot'))).toEqual([snapshotFileName(1)])
  })

  it('rewrites the snapshot at close when producers expired since it was written', async () => {
    const dir = partitionDir()
    const ts = Date.now()
    const log = open(dir)
    await log.append(pbatch({ pid: 1, seq: 10, ts }))
    await log.close()
    const reopened = PartitionLog.open({ dir, topic: 't', partition: 0, config: config(), hadCleanShutdown: true, producerIdExpirationMs: 1000 })
    expect(reopened.removeExpiredProducers(ts + 1000)).toBe(1)
    await reopened.close()
    const ps = new ProducerStateManager({ dir, io: nodeFileIO })
    expect(ps.loadLatestSnapshot(1)).toBe(1)
    expect(ps.entry(1)).toBeUndefined()
  })

  it('expires producers idle longer than producer.id.expiration.ms unless a transaction is open', async () => {
    const dir = partitionDir()
    const log = PartitionLog.open({ dir, topic: 't', partition: 0, config: config(), producerIdExpirationMs: 1000 })
    const ts = Date.now()
    await log.append(pbatch({ pid: 1, seq: 10, ts }))
    await log.append(pbatch({ pid: 2, seq: 0, ts, txn: true }))
    expect(log.removeExpiredProducers(ts + 999)).toBe(0)
    expect(log.removeExpiredProducers(ts + 1000)).toBe(1)
    expect(log.producerState.entry(1)).toBeUndefined()
    expect(log.producerState.entry(2)).toBeDefined()
    // expired: its next batch is accepted at any sequence, as from a new producer
    expect((await log.append(pbatch({ pid: 1, seq: 500, ts }))).baseOffset).toBe(2)
    await log.close()
  })
})

describe('transactional retries', () => {
  const marker = (pid: number, commit: boolean) => ({ producerId: pid, producerEpoch: 0, coordinatorEpoch: 0, commit })

  it('answers a retry within the open transaction with its original offsets', async () => {
    const log = open(partitionDir())
    await log.append(pbatch({ pid: 4, seq: 0, txn: true }))
    await log.append(batch(1))
    expect((await log.append(pbatch({ pid: 4, seq: 0, txn: true }))).baseOffset).toBe(0)
    expect(log.logEndOffset).toBe(2)
    await log.close()
  })

  it.each([
    ['aborted', false],
    ['committed', true],
  ])('refuses the sequences of a batch whose transaction was %s: they are new data, not a retry', async (_, commit) => {
    const log = open(partitionDir())
    await log.append(pbatch({ pid: 4, seq: 0, count: 2, txn: true }))
    await log.appendTxnMarker(marker(4, commit))
    // The next transaction's record under sequences already used: acknowledging it with the old
    // batch's offsets would leave it out of the log while its transaction commits.
    expect(await kafkaErrorOf(log.append(pbatch({ pid: 4, seq: 0, count: 2, txn: true })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    expect(await kafkaErrorOf(log.append(pbatch({ pid: 4, seq: 1, txn: true })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    expect(log.logEndOffset).toBe(3)
    expect((await log.append(pbatch({ pid: 4, seq: 2, txn: true }))).baseOffset).toBe(3)
    // and once that transaction is open, the earlier transaction's sequences are still not its own
    expect(await kafkaErrorOf(log.append(pbatch({ pid: 4, seq: 0, count: 2, txn: true })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    expect(log.logEndOffset).toBe(4)
    await log.close()
  })

  it('refuses them on a follower promoted to leader, whose producer state came from replication', async () => {
    // The shape of a lost transactional record under fault injection: the old leader appends the
    // record and the follower copies it, the client never hears back and takes its sequence back,
    // the transaction is aborted at the new leader, and the client's next transaction sends a new
    // record under the same sequence there.
    const leader = open(partitionDir())
    const follower = open(partitionDir())
    follower.follower = true
    await leader.append(pbatch({ pid: 6, epoch: 3, seq: 125, txn: true }))
    await leader.appendTxnMarker({ ...marker(6, true), producerEpoch: 3 })
    await leader.append(pbatch({ pid: 6, epoch: 3, seq: 126, txn: true }))
    expect(follower.appendAsFollower((await leader.read(0, 1 << 20)).records)).toBe(3)
    follower.follower = false
    await follower.appendTxnMarker({ ...marker(6, false), producerEpoch: 3 })
    expect(await kafkaErrorOf(follower.append(pbatch({ pid: 6, epoch: 3, seq: 126, txn: true })))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER')
    expect(follower.logEndOffset).toBe(4)
    await leader.close()
    await follower.close()
  })
})
