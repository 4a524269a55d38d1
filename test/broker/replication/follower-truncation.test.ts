// Where a follower cuts its log for the leader's OffsetForLeaderEpoch answer (KIP-101, KIP-279),
// on a real epoch cache: the common case, a leader that never had the follower's epoch, rounds
// when the follower lacks the leader's epoch, and the fallbacks to the high watermark.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { nodeFileIO } from '../../../storage/file-io.js'
import { LeaderEpochCache } from '../../../storage/leader-epoch-cache.js'
import { truncationFor, type FollowerLog } from '../../../broker/replication/follower-truncation.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

async function follower(entries: Array<[number, number]>, logEndOffset: number, highWatermark = 0): Promise<FollowerLog> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samsa-trunc-'))
  dirs.push(dir)
  const leaderEpochs = new LeaderEpochCache(nodeFileIO, dir)
  for (const [epoch, start] of entries) await leaderEpochs.assign(epoch, start)
  return { logEndOffset, highWatermark, logStartOffset: 0, replicated: true, leaderEpochs }
}

describe('follower truncation', () => {
  it('cuts at the end of its own latest epoch on the leader', async () => {
    // follower: epoch 1 from 0, epoch 2 from 10, log end 15; the leader ended epoch 2 at 12
    const log = await follower([[1, 0], [2, 10]], 15)
    expect(truncationFor(log, 2, 2, 12)).toEqual({ offset: 12, done: true })
    // the leader has more of epoch 2 than the follower: nothing to cut
    expect(truncationFor(log, 2, 2, 20)).toEqual({ offset: 15, done: true })
  })

  it('cuts at the smaller end when the leader answers with an older epoch the follower also has', async () => {
    // follower led epoch 3 (offsets 10..) that the leader never saw; the leader knows epoch 2 up to 10
    const log = await follower([[2, 0], [3, 10]], 18)
    expect(truncationFor(log, 3, 2, 10)).toEqual({ offset: 10, done: true })
  })

  it('takes another round when the leader names an epoch the follower never had (KIP-279)', async () => {
    // follower epochs 1 and 3; the leader answers epoch 2 (ending at 14), which the follower lacks
    const log = await follower([[1, 0], [3, 8]], 20)
    expect(truncationFor(log, 3, 2, 14)).toEqual({ offset: 8, done: false })
  })

  it('falls back to the high watermark when the leader knows no epoch at or below the one asked', async () => {
    const log = await follower([[4, 0]], 30, 22)
    expect(truncationFor(log, 4, -1, -1)).toEqual({ offset: 22, done: true })
  })

  it('keeps only what was known committed when the follower has no epochs at all', async () => {
    const log = await follower([], 30, 7)
    expect(truncationFor(log, -1, -1, -1)).toEqual({ offset: 7, done: true })
    expect(truncationFor({ ...log, replicated: false }, -1, -1, -1)).toEqual({ offset: 0, done: true })
  })
})
