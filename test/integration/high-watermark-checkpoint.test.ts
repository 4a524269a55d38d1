// The high watermark checkpoint (replication-offset-checkpoint) between in-process brokers over real
// sockets, with the roles the metadata side would give: the leader writes its high watermark while
// it runs, in Kafka's file format, and after a restart starts from it rather than from its log
// start. Records it wrote past the high watermark (acks=1 while an in-sync follower was away) stay
// hidden from consumers, Fetch and ListOffsets alike, and ListOffsets for the latest offset answers
// OFFSET_NOT_AVAILABLE (KIP-207) until the follower has fetched in the new epoch.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BrokerConnection } from '../../broker/client/connection.js'
import { ErrorCode } from '../../protocol/errors.js'
import { ListOffsetsApi } from '../../protocol/generated/list-offsets.js'
import { REPLICATION_OFFSET_CHECKPOINT } from '../../storage/high-watermark-checkpoint.js'
import { kafkaClient } from '../helpers/broker.js'
import { readPartition } from '../helpers/read-partition.js'
import { MemoryIsrChanges, ReplicatedNode, assignRoles, partitionState, produceRaw, until } from '../helpers/replicated-brokers.js'

const nodes: ReplicatedNode[] = []
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.destroy()
})

const CONFIG = { 'replica.high.watermark.checkpoint.interval.ms': '100' }

async function checkpointText(node: ReplicatedNode): Promise<string | undefined> {
  return readFile(path.join(node.dataDir, REPLICATION_OFFSET_CHECKPOINT), 'utf8').catch(() => undefined)
}

describe('high watermark checkpoint', () => {
  it('a restarted leader starts from its checkpointed high watermark and shows nothing past it until its follower fetches', async () => {
    const isr = new MemoryIsrChanges()
    const a = await ReplicatedNode.start(1, isr, CONFIG)
    nodes.push(a)
    const b = await ReplicatedNode.start(2, isr, CONFIG)
    nodes.push(b)
    const topic = 'hw-restart'
    for (const n of [a, b]) {
      const admin = kafkaClient(n.address).admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
      await admin.disconnect()
    }
    const s1 = partitionState(topic, { leader: 1, isr: [1, 2], replicas: [1, 2], leaderEpoch: 1 })
    isr.set(s1)
    await assignRoles([a, b], s1)
    expect((await produceRaw(a.address, topic, ['c0', 'c1', 'c2', 'c3', 'c4'], -1)).errorCode).toBe(ErrorCode.NONE)

    // The follower goes but stays in the ISR (replica.lag.time.max.ms has not passed): acks=1
    // records go past the high watermark, which stays at 5.
    await b.stop()
    await new Promise((r) => setTimeout(r, 20))
    const uncommittedFrom = Date.now()
    expect((await produceRaw(a.address, topic, ['u5', 'u6', 'u7'], 1)).errorCode).toBe(ErrorCode.NONE)
    // Kafka's format: version 0, the entry count, then `topic partition offset`, written while running.
    await until('the periodic checkpoint', async () => (await checkpointText(a)) === `0\n1\n${topic} 0 5\n`)

    await a.stop()
    await a.restart()
    await b.restart()
    const s2 = partitionState(topic, { leader: 1, isr: [1, 2], replicas: [1, 2], leaderEpoch: 2 })
    isr.set(s2)
    await a.replicas.becomeLeader(s2)
    expect(a.replicas.leaderOf(topic, 0)!.log.logEndOffset).toBe(8)

    // Consumers read the committed records and nothing after them.
    const read = await readPartition(a.address, topic, 0)
    expect(read.highWatermark).toBe(5)
    expect(read.records).toEqual([[0, 'c0'], [1, 'c1'], [2, 'c2'], [3, 'c3'], [4, 'c4']])

    const conn = await BrokerConnection.connect(a.address, { clientId: 't', connectTimeoutMs: 5000, requestTimeoutMs: 10_000 })
    const listOffset = (timestamp: number) =>
      conn.request(ListOffsetsApi, 7, { replicaId: -1, isolationLevel: 0, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: 2, timestamp, maxNumOffsets: 1 }] }] })
        .then((r) => r.topics[0]!.partitions[0]!)
    try {
      // The epoch started at 8, above the high watermark: the latest offset is not known yet.
      expect((await listOffset(-1)).errorCode).toBe(ErrorCode.OFFSET_NOT_AVAILABLE)
      // Neither a timestamp nor the max timestamp points past the high watermark.
      expect((await listOffset(uncommittedFrom)).errorCode).toBe(ErrorCode.OFFSET_NOT_AVAILABLE)
      expect((await listOffset(-3)).errorCode).toBe(ErrorCode.OFFSET_NOT_AVAILABLE)
      expect(await listOffset(0)).toMatchObject({ errorCode: ErrorCode.NONE, offset: 0 })

      // The follower fetches in the new epoch: everything is committed and visible.
      await b.replicas.becomeFollower(s2, a.endpoint)
      await until('the latest offset known again', async () => (await listOffset(-1)).errorCode === ErrorCode.NONE)
      expect(await listOffset(-1)).toMatchObject({ offset: 8, leaderEpoch: 2 })
      expect(await listOffset(uncommittedFrom)).toMatchObject({ errorCode: ErrorCode.NONE, offset: 5 })
    } finally {
      conn.close()
    }
    expect((await readPartition(a.address, topic, 0)).records.map(([, v]) => v)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'u5', 'u6', 'u7'])
    await until('the checkpoint to follow', async () => (await checkpointText(a)) === `0\n1\n${topic} 0 8\n`)
  }, 30_000)
})
