// The leader's high watermark and acks=all against ISR changes whose answer is lost. The ISR
// changes go to a compare-and-set store in memory standing in for etcd, which can write a change
// and then fail to answer, as an etcd request that times out after its write committed does.
import fs from 'node:fs'
import path from 'node:path'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../protocol/errors.js'
import { KafkaError } from '../../../broker/errors.js'
import type { IsrChanges, PartitionState } from '../../../broker/cluster/partition-state.js'
import { LeaderPartition } from '../../../broker/replication/leader-partition.js'
import { PartitionLog } from '../../../storage/partition-log.js'
import { batch, config, tempDir } from '../../storage/helpers.js'

const dirs: string[] = []
const logs: PartitionLog[] = []
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close()
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

/** One partition's state under compare-and-set, as the controller and leaders share it in etcd. */
class StateStore implements IsrChanges {
  /** What the next alterIsr does: answer, write and then fail (answer lost), or fail without writing. */
  next: 'answer' | 'lose-answer' | 'unreachable' | 'ineligible' = 'answer'
  proposals = 0

  constructor(public state: PartitionState) {}

  async alterIsr(_topic: string, _partition: number, leaderEpoch: number, partitionEpoch: number, isr: number[]): Promise<PartitionState> {
    this.proposals++
    const mode = this.next
    this.next = 'answer'
    if (mode === 'unreachable') throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'the cluster metadata store did not answer')
    if (mode === 'ineligible') throw new KafkaError(ErrorCode.INELIGIBLE_REPLICA, 'not live')
    if (leaderEpoch !== this.state.leaderEpoch) throw new KafkaError(ErrorCode.FENCED_LEADER_EPOCH, 'fenced')
    if (partitionEpoch !== this.state.partitionEpoch) throw new KafkaError(ErrorCode.INVALID_UPDATE_VERSION, 'stale')
    this.state = { ...this.state, isr, partitionEpoch: partitionEpoch + 1 }
    if (mode === 'lose-answer') throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'the cluster metadata store did not answer')
    return this.state
  }
}

async function setup(): Promise<{ store: StateStore; log: PartitionLog; leader: LeaderPartition }> {
  const root = tempDir()
  dirs.push(root)
  const log = PartitionLog.open({ dir: path.join(root, 't-0'), topic: 't', partition: 0, config: config(), hadCleanShutdown: false })
  logs.push(log)
  // As the replica manager makes it leader: replication owns the high watermark.
  log.setHighWatermark(0)
  log.leaderEpoch = 4
  await log.leaderEpochs.assign(4, 0)
  // Broker 3 is out of the ISR; 1 leads, 2 follows in sync.
  const store = new StateStore({ topic: 't', topicId: 'id', partition: 0, replicas: [3, 1, 2], isr: [1, 2], leader: 1, leaderEpoch: 4, partitionEpoch: 10 })
  const leader = new LeaderPartition(store.state, log, { nodeId: 1, isrChanges: store, logger: pino({ level: 'silent' }), replicaLagTimeMaxMs: () => 10_000 })
  await log.append(batch(3))
  leader.onFollowerFetch(2, 3)
  return { store, log, leader }
}

const settle = () => new Promise<void>((r) => setImmediate(r))

describe('ISR expansion whose answer is lost', () => {
  it('keeps waiting for the added replica: the store may hold it in the ISR, and the controller may elect it', async () => {
    const { store, log, leader } = await setup()
    expect(log.highWatermark).toBe(3)
    // Broker 3 caught up: the leader proposes it; the store writes it and the answer is lost.
    store.next = 'lose-answer'
    leader.onFollowerFetch(3, 3)
    await settle()
    expect(store.state.isr).toEqual([1, 2, 3])
    expect(leader.state.isr).toEqual([1, 2])
    // More records; broker 2 has them, broker 3 does not.
    await log.append(batch(2))
    const acked = leader.waitForIsr(5, 60_000, () => 2)
    leader.onFollowerFetch(2, 5)
    // Broker 3, first in replica order and in the stored ISR, would be the controller's choice if
    // broker 1 died now: the records it lacks are not committed.
    expect(log.highWatermark).toBe(3)
    // The metadata brings the written state; broker 3 fetches them: committed, acknowledged.
    leader.update(store.state)
    expect(log.highWatermark).toBe(3)
    leader.onFollowerFetch(3, 5)
    expect(log.highWatermark).toBe(5)
    expect(await acked).toBe(ErrorCode.NONE)
    leader.close()
  })

  it('proposes the change again when no answer came and nothing was written, and then counts the committed ISR', async () => {
    const { store, log, leader } = await setup()
    store.next = 'unreachable'
    leader.onFollowerFetch(3, 3)
    await settle()
    expect(store.proposals).toBe(1)
    await log.append(batch(1))
    leader.onFollowerFetch(2, 4)
    expect(log.highWatermark).toBe(3)
    // The next ISR check after the retry pause proposes the same change again; this time it is answered.
    leader.maybeShrinkIsr(Date.now() + 1000)
    await settle()
    expect(store.proposals).toBe(2)
    expect(leader.state.isr).toEqual([1, 2, 3])
    expect(leader.state.partitionEpoch).toBe(11)
    leader.onFollowerFetch(3, 4)
    expect(log.highWatermark).toBe(4)
    leader.close()
  })

  it('stops counting the replica once the store refused it outright', async () => {
    const { store, log, leader } = await setup()
    store.next = 'ineligible'
    leader.onFollowerFetch(3, 3)
    await settle()
    await log.append(batch(1))
    leader.onFollowerFetch(2, 4)
    expect(log.highWatermark).toBe(4)
    expect(leader.state.isr).toEqual([1, 2])
    leader.close()
  })

  it('counts what a shrink keeps as soon as it is refused, since the committed ISR is the larger', async () => {
    const { store, log, leader } = await setup()
    // Broker 2 stops fetching; past replica.lag.time.max.ms the leader drops it, and the answer is lost.
    await log.append(batch(1))
    store.next = 'lose-answer'
    leader.maybeShrinkIsr(Date.now() + 20_000)
    await settle()
    expect(store.state.isr).toEqual([1])
    // Until the metadata says otherwise, broker 2 still holds the high watermark back.
    expect(log.highWatermark).toBe(3)
    leader.update(store.state)
    expect(log.highWatermark).toBe(4)
    leader.close()
  })
})
