// The leader-epoch-checkpoint file and the epoch cache (KIP-101/279 answers), and a partition log
// appending as a follower and truncating: batches keep the leader's offsets and epochs.
import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FaultyFileIO, nodeFileIO } from '../../storage/file-io.js'
import { LEADER_EPOCH_CHECKPOINT, LeaderEpochCache, formatEpochCheckpoint, parseEpochCheckpoint } from '../../storage/leader-epoch-cache.js'
import { PartitionLog } from '../../storage/partition-log.js'
import { readPartitionLeaderEpoch, batchSizeAt } from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { batch, batchBases, config, recordOffsets, tempDir } from './helpers.js'

const dirs: string[] = []
function dir(): string {
  const d = tempDir('samsa-epochs-')
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

describe('leader-epoch-checkpoint', () => {
  it('is written in Kafka format and read back after a reopen', async () => {
    const d = dir()
    const cache = new LeaderEpochCache(nodeFileIO, d)
    await cache.assign(0, 0)
    await cache.assign(3, 120)
    await cache.assign(5, 400)
    expect(fs.readFileSync(path.join(d, LEADER_EPOCH_CHECKPOINT), 'utf8')).toBe('0\n3\n0 0\n3 120\n5 400\n')
    expect(fs.existsSync(path.join(d, LEADER_EPOCH_CHECKPOINT + '.tmp'))).toBe(false)
    const again = new LeaderEpochCache(nodeFileIO, d)
    expect(again.all).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 120 },
      { epoch: 5, startOffset: 400 },
    ])
  })

  it('keeps the old file whole when the write of a new one fails', async () => {
    const d = dir()
    const io = new FaultyFileIO()
    const cache = new LeaderEpochCache(io, d)
    await cache.assign(1, 10)
    io.failNextSync()
    await expect(cache.assign(2, 20)).rejects.toThrow()
    expect(fs.readFileSync(path.join(d, LEADER_EPOCH_CHECKPOINT), 'utf8')).toBe('0\n1\n1 10\n')
    expect(fs.existsSync(path.join(d, LEADER_EPOCH_CHECKPOINT + '.tmp'))).toBe(false)
    // the next change writes everything known, the entry whose write failed included
    await cache.assign(3, 30)
    expect(parseEpochCheckpoint(fs.readFileSync(path.join(d, LEADER_EPOCH_CHECKPOINT)))).toEqual([
      { epoch: 1, startOffset: 10 },
      { epoch: 2, startOffset: 20 },
      { epoch: 3, startOffset: 30 },
    ])
  })

  it('ignores a malformed or foreign file rather than trusting part of it', () => {
    expect(parseEpochCheckpoint(Buffer.from('1\n1\n0 0\n'))).toEqual([])
    expect(parseEpochCheckpoint(Buffer.from('0\n2\n0 0\n'))).toEqual([])
    expect(parseEpochCheckpoint(Buffer.from('0\n2\n4 10\n2 20\n'))).toEqual([])
    expect(parseEpochCheckpoint(Buffer.from('0\n1\nx 0\n'))).toEqual([])
    expect(parseEpochCheckpoint(formatEpochCheckpoint([{ epoch: 2, startOffset: 7 }]))).toEqual([{ epoch: 2, startOffset: 7 }])
  })
})

describe('LeaderEpochCache answers', () => {
  it('gives the start of the next epoch, the log end for the latest, and -1/-1 past it', async () => {
    const cache = new LeaderEpochCache(nodeFileIO, dir())
    expect(cache.endOffsetFor(0, 50)).toEqual({ epoch: -1, startOffset: -1 })
    await cache.assign(1, 0)
    await cache.assign(2, 100)
    await cache.assign(4, 250)
    expect(cache.endOffsetFor(1, 300)).toEqual({ epoch: 1, startOffset: 100 })
    expect(cache.endOffsetFor(2, 300)).toEqual({ epoch: 2, startOffset: 250 })
    // epoch 3 never wrote: the largest epoch below it, ending where 4 starts (KIP-279)
    expect(cache.endOffsetFor(3, 300)).toEqual({ epoch: 2, startOffset: 250 })
    expect(cache.endOffsetFor(4, 300)).toEqual({ epoch: 4, startOffset: 300 })
    expect(cache.endOffsetFor(0, 300)).toEqual({ epoch: 0, startOffset: 0 })
    expect(cache.endOffsetFor(9, 300)).toEqual({ epoch: -1, startOffset: -1 })
  })

  it('drops contradicted entries on assign and truncates from either end', async () => {
    const cache = new LeaderEpochCache(nodeFileIO, dir())
    await cache.assign(1, 0)
    await cache.assign(2, 100)
    await cache.assign(3, 200)
    // an older epoch at a later offset: the entries it contradicts go, as in Kafka
    await cache.assign(2, 150)
    expect(cache.all).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 150 },
    ])
    await cache.assign(3, 200)
    await cache.truncateFromEnd(200)
    expect(cache.all.map((e) => e.epoch)).toEqual([1, 2])
    await cache.truncateFromStart(160)
    expect(cache.all).toEqual([{ epoch: 2, startOffset: 160 }])
  })
})

describe('PartitionLog as a follower', () => {
  it('appends the leader batches with their offsets and epochs, and truncation cuts the epochs too', async () => {
    const leader = PartitionLog.open({ dir: path.join(dir(), 't-0'), topic: 't', partition: 0, config: config() })
    const follower = PartitionLog.open({ dir: path.join(dir(), 't-0'), topic: 't', partition: 0, config: config() })
    leader.leaderEpoch = 3
    await leader.leaderEpochs.assign(3, 0)
    await leader.append(batch(4))
    leader.leaderEpoch = 5
    await leader.leaderEpochs.assign(5, 4)
    await leader.append(batch(2))
    const fetched = (await leader.read(0, 1 << 20)).records
    expect(follower.appendAsFollower(fetched)).toBe(6)
    expect(recordOffsets((await follower.read(0, 1 << 20)).records)).toEqual([0, 1, 2, 3, 4, 5])
    const epochs: number[] = []
    const stored = (await follower.read(0, 1 << 20)).records
    for (let p = 0; p < stored.length; p += batchSizeAt(stored, p)) epochs.push(readPartitionLeaderEpoch(stored, p))
    expect(epochs).toEqual([3, 5])
    expect(follower.leaderEpochs.all).toEqual(leader.leaderEpochs.all)
    await follower.leaderEpochs.flushed()
    await follower.truncateTo(4)
    expect(follower.logEndOffset).toBe(4)
    expect(follower.leaderEpochs.all).toEqual([{ epoch: 3, startOffset: 0 }])
    await leader.close()
    await follower.close()
  })

  it('refuses a batch that overlaps what it has, and leaves a partial trailing batch for later', async () => {
    const follower = PartitionLog.open({ dir: path.join(dir(), 't-0'), topic: 't', partition: 0, config: config() })
    const first = encodeBatch([{ key: null, value: 'a', headers: [], timestamp: Date.now() }], { baseOffset: 0 })
    const second = encodeBatch([{ key: null, value: 'b', headers: [], timestamp: Date.now() }], { baseOffset: 1 })
    const joined = Buffer.concat([first, second.subarray(0, second.length - 3)])
    expect(follower.appendAsFollower(joined)).toBe(1)
    expect(() => follower.appendAsFollower(first)).toThrow(/does not follow/)
    expect(follower.appendAsFollower(second)).toBe(2)
    expect(batchBases((await follower.read(0, 1 << 20)).records)).toEqual([0, 1])
    await follower.close()
  })

  it('refuses appends other than the leader batches while it follows', async () => {
    const log = PartitionLog.open({ dir: path.join(dir(), 't-0'), topic: 't', partition: 0, config: config() })
    log.follower = true
    await expect(log.append(batch(1))).rejects.toThrow(/follower/)
    await expect(log.appendTxnMarker({ producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: true })).rejects.toThrow(/follower/)
    expect(log.logEndOffset).toBe(0)
    log.follower = false
    expect((await log.append(batch(1))).baseOffset).toBe(0)
    await log.close()
  })

  it('carries producer state and transaction markers: a retry is recognised and an abort indexed on the follower', async () => {
    const leader = PartitionLog.open({ dir: path.join(dir(), 't-0'), topic: 't', partition: 0, config: config() })
    const follower = PartitionLog.open({ dir: path.join(dir(), 't-0'), topic: 't', partition: 0, config: config() })
    const rec = (v: string) => ({ key: null, value: v, headers: [], timestamp: Date.now() })
    const idem = () => encodeBatch([rec('a'), rec('b')], { producerId: 7, producerEpoch: 0, baseSequence: 0 })
    await leader.append(idem())
    await leader.append(encodeBatch([rec('t')], { producerId: 9, producerEpoch: 0, baseSequence: 0, transactional: true }))
    expect(follower.appendAsFollower((await leader.read(0, 1 << 20)).records)).toBe(3)
    // an open transaction holds the last stable offset on the follower too
    follower.setHighWatermark(3)
    expect(follower.lastStableOffset).toBe(2)
    await leader.appendTxnMarker({ producerId: 9, producerEpoch: 0, coordinatorEpoch: 0, commit: false })
    follower.appendAsFollower((await leader.read(3, 1 << 20)).records)
    follower.setHighWatermark(follower.logEndOffset)
    expect(follower.lastStableOffset).toBe(4)
    expect(follower.abortedTransactions(0, 4)).toEqual(leader.abortedTransactions(0, 4))
    expect(follower.abortedTransactions(0, 4)).toHaveLength(1)
    // promoted, it answers the producer's retry with the original offsets instead of writing it twice
    follower.follower = false
    const retry = await follower.append(idem())
    expect([retry.baseOffset, retry.lastOffset]).toEqual([0, 1])
    expect(follower.logEndOffset).toBe(4)
    await leader.close()
    await follower.close()
  })
})
