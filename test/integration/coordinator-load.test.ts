// A single broker restarting on a directory with __consumer_offsets serves before it has read its
// internal topics back: until they are read, group requests answer COORDINATOR_LOAD_IN_PROGRESS
// (which clients retry) and never an answer made from state not read yet, such as no committed
// offsets. FindCoordinator names the broker meanwhile, as Kafka's does.
import { afterAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { ErrorCode } from '../../protocol/errors.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { FindCoordinatorResponse } from '../../protocol/generated/find-coordinator.js'
import type { OffsetCommitResponse } from '../../protocol/generated/offset-commit.js'
import type { OffsetFetchResponse } from '../../protocol/generated/offset-fetch.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { createTopics, WireClient } from '../helpers/wire.js'

const GROUPS = 40
const PARTITIONS = 4

describe('coordinator state read back after a restart', () => {
  let dataDir = ''
  let broker: RunningBroker | undefined
  afterAll(async () => {
    await broker?.stop()
    if (dataDir) await removeDir(dataDir)
  })

  const start = (): Promise<RunningBroker> => startBroker({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' })

  it('answers COORDINATOR_LOAD_IN_PROGRESS until the committed offsets are read, then the offsets', async () => {
    dataDir = await makeTempDir('samsa-coordinator-load-')
    broker = await start()
    let c = await WireClient.connect(broker.address)
    try {
      await createTopics(c, [{ name: 'orders', partitions: PARTITIONS }])
      for (let g = 0; g < GROUPS; g++) {
        const res = await c.request<OffsetCommitResponse>(ApiKey.OffsetCommit, 8, {
          groupId: `group-${g}`,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          retentionTimeMs: -1,
          topics: [{ name: 'orders', partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partitionIndex: p, committedOffset: 1000 * g + p, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null })) }],
        })
        expect(res.body.topics[0]!.partitions.map((p) => p.errorCode)).toEqual(new Array(PARTITIONS).fill(0))
      }
    } finally {
      c.close()
    }
    await broker.stop()

    broker = await start()
    c = await WireClient.connect(broker.address)
    const other = await WireClient.connect(broker.address)
    try {
      // Asked at once, on its own connection: answered with this broker, loaded or not.
      const found = other.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 3, { key: 'group-0', keyType: 0, coordinatorKeys: [] })
      const pending = new Set(Array.from({ length: GROUPS }, (_, g) => g))
      while (pending.size > 0) {
        for (const g of [...pending]) {
          const res = await c.request<OffsetFetchResponse>(ApiKey.OffsetFetch, 7, { groupId: `group-${g}`, topics: null, groups: [], requireStable: false })
          if (res.body.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) continue
          expect(res.body.errorCode).toBe(ErrorCode.NONE)
          const offsets = res.body.topics.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.committedOffset]))
          expect(offsets).toEqual(Array.from({ length: PARTITIONS }, (_, p) => ['orders', p, 1000 * g + p]))
          pending.delete(g)
        }
      }
      expect([(await found).body.errorCode, (await found).body.nodeId]).toEqual([ErrorCode.NONE, broker.nodeId])
    } finally {
      c.close()
      other.close()
    }
  })
})
